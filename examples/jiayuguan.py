"""The Jiayuguan example registry: a city's volunteer service and honour roll, modelled on a city report.

Run it with ``python examples/jiayuguan.py [DB]``: it builds the registry (in memory, or in the SQLite file
``DB``) and prints, through volreg's public query functions only, the figures the report states: activities
per studio, the honour editions held, the 2024 新时代好少年 and the two promoted, hours by community and month,
the top ten volunteers with their star levels, and the nomination funnel.

All people are fictional; their resident ID numbers are valid in form (region 620200, Jiayuguan) and made
up, generated from a fixed seed so that every run builds the same registry.
"""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, timedelta
from typing import Any

import volreg
from volreg.personal import _check_char

SEED = 2024

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红梅鹏飞建国志强海燕晓东婷雪建华晨阳浩然子涵欣怡宇轩梓萱雨桐"

DISTRICTS = {
    "雄关区": {"新华街道": ["新华南社区", "新华北社区", "胜利社区"], "五一街道": ["五一社区", "建设社区", "朝阳社区"]},
    "镜铁区": {"峪苑街道": ["峪苑社区", "迎宾社区", "光明社区"], "前进街道": ["前进社区", "和诚社区", "兰新社区"]},
    "长城区": {"长城街道": ["长城社区", "关城社区", "明珠社区"], "钢城街道": ["钢城社区", "嘉北社区", "紫轩社区"]},
}
SCHOOLS = ["嘉峪关市第一中学", "嘉峪关市酒钢三中", "嘉峪关市实验小学"]

STUDIOS = [
    # name, founder, focus category, activities in 2024
    ("梅建国移风易俗工作室", "梅建国", "移风易俗", 26),
    ("卢芳爱心公益工作室", "卢芳", "爱心助学", 25),
    ("王秀兰健康义诊工作室", "王秀兰", "健康义诊", 24),
    ("张志强应急救援工作室", "张志强", "应急救援", 23),
    ("李红梅环保公益工作室", "李红梅", "环保公益", 24),
]
LEI_FENG_THEMES = [("党的创新理论宣讲", "理论宣讲"), ("敬老助老", "敬老助老"), ("关爱残疾人", "关爱残疾人"), ("平安建设", "平安建设")]


def id_number(rng: random.Random, born: date) -> str:
    """A made-up resident ID number of valid form for someone born on ``born`` in Jiayuguan."""
    body = f"620200{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + _check_char(body)


def fictional_name(rng: random.Random) -> str:
    """A made-up two- or three-character name."""
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


class Builder:
    """Builds the example registry step by step; each step uses volreg's public write methods only."""

    def __init__(self, registry: volreg.Registry, seed: int = SEED) -> None:
        self.reg = registry
        self.rng = random.Random(seed)
        self.communities: list[volreg.Organisation] = []
        self.members: dict[str, list[volreg.Volunteer]] = {}
        self.volunteers: list[volreg.Volunteer] = []
        self.studios: list[volreg.Studio] = []
        self.used_ids: set[str] = set()

    # -- organisations and people ------------------------------------------------------------------

    def organisations(self) -> None:
        reg = self.reg
        self.city = reg.add_organisation("嘉峪关市文明办", kind="city_office")
        self.association = reg.add_organisation("嘉峪关市志愿服务联合会", kind="association", parent=self.city)
        self.station_team = reg.add_organisation("嘉峪关火车站志愿服务队", kind="team", parent=self.association)
        for district, streets in DISTRICTS.items():
            d = reg.add_organisation(district, kind="district", parent=self.city)
            for street, communities in streets.items():
                s = reg.add_organisation(street, kind="street", parent=d)
                for community in communities:
                    self.communities.append(reg.add_organisation(community, kind="community", parent=s))
        self.schools = [reg.add_organisation(n, kind="school", parent=self.city) for n in SCHOOLS]

    def person_id(self, born: date) -> str:
        while True:
            number = id_number(self.rng, born)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def volunteers_(self) -> None:
        """Twenty volunteers in each community, at the volunteer association and in the station team."""
        rng = self.rng
        for org in [*self.communities, self.association, self.station_team]:
            people = []
            for _ in range(20):
                born = date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
                registered = date(2021, 1, 1) + timedelta(days=rng.randrange(700))
                phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
                people.append(
                    self.reg.register_volunteer(
                        fictional_name(rng), id_number=self.person_id(born), phone=phone,
                        organisation=org, registered_on=registered, consent=rng.random() < 0.7,
                    )
                )
            self.members[org.id] = people
            self.volunteers.extend(people)

    # -- activities and service -------------------------------------------------------------------------

    def serve(self, activity: volreg.Activity, volunteers: list[volreg.Volunteer], *, verify: bool = True) -> None:
        """Each volunteer serves the whole activity; the organiser records it the next day and verifies it."""
        assert activity.start is not None and activity.end is not None
        recorded = activity.end + timedelta(days=1)
        for volunteer in volunteers:
            record = self.reg.log_service(
                volunteer, activity, start=activity.start, end=activity.end, recorded_at=recorded, by="组织单位"
            )
            if verify:
                self.reg.verify_service(record, by="组织单位")

    def studios_(self) -> None:
        """The five 好人品牌工作室 and their 2024 activities (124 in all)."""
        reg, rng = self.reg, self.rng
        for n, (name, founder, focus, count) in enumerate(STUDIOS):
            team = self.members[self.association.id][4 * n : 4 * n + 4]
            person = reg.add_person(founder, consent=True)
            studio = reg.add_studio(name, founder=person, focus=focus, organisation=self.association,
                                    established_on="2019-06-01")
            self.studios.append(studio)
            days = sorted(rng.sample(range(1, 360), count))
            for n, day in enumerate(days, 1):
                start = datetime(2024, 1, 1, 9) + timedelta(days=day)
                activity = reg.add_activity(
                    f"{focus}活动（第{n}期）", category=focus, studio=studio, organiser=self.association,
                    start=start, end=start + timedelta(hours=3), location="嘉峪关市", content=f"{name}{focus}志愿服务",
                    leader=founder,
                )
                self.serve(activity, team)

    def community_service(self) -> None:
        """A weekly Saturday service in every community through 2023 and 2024; a few regulars give the most."""
        reg, rng = self.reg, self.rng
        weights = [1 / (rank + 1) ** 1.1 for rank in range(20)]
        for org in self.communities:
            first = reg.add_activity(
                "社区常态化志愿服务", category="社区服务", organiser=org,
                start="2023-01-07 09:00", end="2023-01-07 12:00",
                repeat="RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=104",
            )
            members = self.members[org.id]
            for occurrence in reg.activities(series=first.series):
                chosen = [v for v, w in zip(members, weights, strict=True) if rng.random() < min(0.95, w * 1.6)]
                self.serve(occurrence, [v for v in chosen if v.registered_on <= occurrence.start.date()])

    def lei_feng_day(self) -> None:
        """学雷锋纪念日 (5 March 2024): every community runs one activity under one of four themes."""
        for n, org in enumerate(self.communities):
            theme, category = LEI_FENG_THEMES[n % 4]
            activity = self.reg.add_activity(
                f"学雷锋纪念日·{theme}", category=category, theme=theme, organiser=org,
                start="2024-03-05 14:00", end="2024-03-05 17:00", content=f"{theme}志愿服务",
            )
            self.serve(activity, self.members[org.id][:5])

    def spring_travel(self) -> None:
        """温馨春运·文明相伴: daily shifts at the railway station through the 2024 Spring Festival travel season."""
        day = date(2024, 1, 26)
        while day < date(2024, 3, 6):
            activity = self.reg.add_activity(
                "温馨春运·文明相伴", category="文明出行", theme="温馨春运·文明相伴", organiser=self.station_team,
                start=datetime(day.year, day.month, day.day, 8), end=datetime(day.year, day.month, day.day, 12),
                location="嘉峪关火车站", content="旅客引导、爱心帮扶",
            )
            self.serve(activity, self.rng.sample(self.members[self.station_team.id], 3))
            day += timedelta(days=1)

    def moral_lectures(self) -> None:
        """A weekly 道德讲堂 on Friday evenings through 2024, given as a recurrence rule."""
        self.reg.add_activity(
            "道德讲堂", kind="moral_lecture", category="道德教育", theme="奉献、友爱、互助、进步",
            organiser=self.city, start="2024-01-05 19:00", end="2024-01-05 20:30",
            repeat="RRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20241231T235959",
        )


def build(registry: volreg.Registry, *, seed: int = SEED) -> volreg.Registry:
    """Fill ``registry`` with the Jiayuguan example and return it.

    Args:
        registry: an empty registry (in the Asia/Shanghai zone).
        seed: the random seed; the same seed always builds the same registry.
    """
    b = Builder(registry, seed)
    with registry.transaction():
        b.organisations()
        b.volunteers_()
        b.studios_()
        b.community_service()
        b.lei_feng_day()
        b.spring_travel()
        b.moral_lectures()
    return registry


def report(registry: volreg.Registry) -> str:
    """The figures the city report states, as text, computed with the public query functions."""
    out: list[str] = []
    studios = volreg.activity_counts(registry, by="studio", start="2024-01-01", end="2025-01-01")
    studios = [r for r in studios if r["studio"] is not None]
    out.append("好人品牌工作室 activities in 2024")
    out.extend(f"  {r['studio_name']}: {r['activities']}" for r in studios)
    out.append(f"  total: {sum(r['activities'] for r in studios)}")
    lectures = volreg.activity_counts(registry, kind="moral_lecture", start="2024-01-01", end="2025-01-01")
    out.append(f"道德讲堂 sessions in 2024: {lectures[0]['activities']}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Build the example (in memory, or in the file named by the first argument) and print the report."""
    path = argv[1] if len(argv) > 1 else ":memory:"
    registry = volreg.open(path, key="jiayuguan-example")
    build(registry)
    print(report(registry))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

__all__: list[Any] = ["build", "report", "main"]
