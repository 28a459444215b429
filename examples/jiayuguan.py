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
CATEGORIES = ("助人为乐", "见义勇为", "诚实守信", "敬业奉献", "孝老爱亲")
# The 事迹 of each category, as the online hall of deeds (事迹展馆) shows them (fictional, like the names).
DEEDS = {
    "助人为乐": "十余年如一日义务照顾社区孤寡老人，自费为困难家庭送去米面油，带动邻里组成爱心帮扶小组。",
    "见义勇为": "在讨赖河边听到呼救，不顾个人安危跳入冰冷河水，救起两名落水儿童。",
    "诚实守信": "经营小店二十年从不缺斤短两，丈夫病故后坚持替他还清全部欠款，被乡邻称为“守信大姐”。",
    "敬业奉献": "扎根戈壁一线三十年，带领班组攻克多项技术难题，累计义务为职工培训上千课时。",
    "孝老爱亲": "悉心照料瘫痪在床的婆婆十八年，端水喂饭、擦身按摩，从无怨言，家庭和睦温馨。",
}
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
                    self.communities.append(reg.add_organisation(
                        community, kind="community", parent=s, id=f"org-jyg-c{len(self.communities) + 1:02d}"))
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
                serial = len(self.volunteers) + len(people) + 1
                born = date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
                registered = date(2021, 1, 1) + timedelta(days=rng.randrange(700))
                phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
                people.append(
                    self.reg.register_volunteer(
                        fictional_name(rng), id_number=self.person_id(born), phone=phone,
                        organisation=org, registered_on=registered, consent=rng.random() < 0.7,
                        id=f"vol-jyg-{serial:04d}",
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
                                    established_on="2019-06-01", id=f"stu-jyg-{n + 1}")
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

    # -- honours and nominations ---------------------------------------------------------------------

    def new_person(self, born: date, *, consent: bool = True, name: str | None = None) -> volreg.Person:
        return self.reg.add_person(name or fictional_name(self.rng), id_number=self.person_id(born), consent=consent)

    def adult(self) -> volreg.Person:
        rng = self.rng
        return self.new_person(date(rng.randint(1950, 1995), rng.randint(1, 12), rng.randint(1, 28)),
                               consent=rng.random() < 0.8)

    def titles(self) -> None:
        """The city's and the province's own titles, beside the national ones volreg ships."""
        reg = self.reg
        reg.define_honour("xiongguan_good_person", "雄关好人", level="city", cadence="edition",
                          counted_from=("中国好人",))
        reg.define_honour("gansu_good_person", "甘肃好人", level="provincial", cadence="annual",
                          counts_as=("雄关好人",), counted_from=("中国好人",))
        reg.define_honour("jiayuguan_moral_model", "嘉峪关市道德模范", level="city", cadence="edition")
        reg.define_honour("jiayuguan_good_youth", "新时代嘉峪关好少年", level="city", cadence="annual",
                          categories=(), age=(6, 18))
        reg.define_honour("gansu_good_youth", "新时代甘肃好少年", level="provincial", cadence="annual",
                          categories=(), age=(6, 18))
        reg.define_honour("jiayuguan_civilised_family", "嘉峪关市文明家庭", level="city", recipient="family",
                          cadence="annual", categories=())

    def moral_models(self) -> None:
        """Six editions (届) of the city's 道德模范: ten winners and two nomination awards (提名奖) each."""
        for number, year in enumerate((2012, 2014, 2016, 2018, 2020, 2023), 1):
            ceremony = date(year, 9, 20)
            edition = self.reg.add_edition("嘉峪关市道德模范", number, year=year, ceremony_on=ceremony,
                                           title=f"嘉峪关市第{'一二三四五六'[number - 1]}届道德模范")
            for n in range(12):
                # The latest edition's first winner has an interview on record, for the hall of deeds.
                links = [("道德模范访谈", f"https://www.example.cn/jyg/models/{number}-{n}")] if n == 0 else []
                self.reg.award("嘉峪关市道德模范", self.adult(), category=CATEGORIES[n % 5], edition=edition,
                               awarded_on=ceremony, grade="winner" if n < 10 else "nomination_award",
                               deed=DEEDS[CATEGORIES[n % 5]], links=links)

    def good_people(self) -> None:
        """雄关好人 release ceremonies 1–4 (2020–2023), eight each; some went on to 甘肃好人 and 中国好人."""
        for number in range(1, 5):
            year = 2019 + number
            ceremony = date(year, 12, 10)
            edition = self.reg.add_edition("雄关好人", number, year=year, ceremony_on=ceremony,
                                           title=f"第{'一二三四五'[number - 1]}期雄关好人发布仪式")
            for n in range(8):
                honour = self.reg.award("雄关好人", self.adult(), category=CATEGORIES[n % 5], edition=edition,
                                        awarded_on=ceremony, deed=DEEDS[CATEGORIES[n % 5]])
                if n == 0:
                    provincial = self.reg.promote(honour, "甘肃好人", awarded_on=date(year + 1, 5, 20))
                    if number == 1:
                        self.reg.promote(provincial, "中国好人", awarded_on=date(year + 1, 11, 30),
                                         period=f"{year + 1}-Q4")

    def good_youth(self) -> None:
        """25 city-level 新时代嘉峪关好少年 in 2024; two of them became 新时代甘肃好少年."""
        rng = self.rng
        for n in range(25):
            born = date(rng.randint(2007, 2016), rng.randint(1, 12), rng.randint(1, 28))
            youth = self.new_person(born, consent=n % 3 != 0)
            honour = self.reg.award("新时代嘉峪关好少年", youth, period="2024", awarded_on="2024-06-01",
                                    deed="品学兼优，热心志愿服务。")
            if n in (3, 17):
                self.reg.promote(honour, "新时代甘肃好少年", awarded_on="2024-10-15", period="2024")

    def families(self) -> None:
        """Four 文明家庭 in 2024."""
        for n in range(4):
            head = self.adult()
            family = self.reg.add_family(f"{head.name}家庭", members=[head, self.adult()], consent=n != 3)
            self.reg.award("嘉峪关市文明家庭", family, period="2024", awarded_on="2024-05-15",
                           deed="家风淳朴，邻里和睦。")

    def nomination_round(self) -> None:
        """我推荐我评议身边好人 for the 5th 雄关好人 (2024), through every stage of the flow.

        14 nominations: one withdrawn (a duplicate of another), two rejected at 初审, three not selected by the
        experts, eight awarded at the 5th release ceremony.
        """
        reg, rng = self.reg, self.rng
        edition = reg.add_edition("雄关好人", 5, year=2024, ceremony_on=date(2024, 9, 1), title="第五期雄关好人发布仪式")
        experts = [self.new_person(date(1965 + n, 3, 1)) for n in range(3)]
        nominees = [self.adult() for _ in range(13)]
        office = "嘉峪关市文明办"
        nominations = []
        for n, nominee in enumerate(nominees):
            nominator: Any = self.communities[n] if n % 2 else self.adult()
            nominations.append(reg.nominate("雄关好人", nominee, category=CATEGORIES[n % 5], nominator=nominator,
                                            edition=edition, deed="身边好人好事。", by=office,
                                            at=datetime(2024, 6, 1 + n, 10)))
        # The same nominee put forward twice: both are kept; the second is withdrawn.
        duplicate = reg.nominate("雄关好人", nominees[0], category=CATEGORIES[0], nominator=nominees[0],
                                 edition=edition, deed="自荐。", by=nominees[0], at=datetime(2024, 6, 20, 9))
        reg.advance(duplicate, "withdrawn", by=nominees[0], note="与社区推荐重复", at=datetime(2024, 6, 21, 9))
        for n, nomination in enumerate(nominations):
            if n in (11, 12):
                reg.advance(nomination, "rejected", by=office, note="事迹核实不符", at=datetime(2024, 6, 25, 9))
                continue
            reg.advance(nomination, "verified", by=office, at=datetime(2024, 6, 25, 9))
            reg.advance(nomination, "public_review", by=office, opens=datetime(2024, 7, 1, 0),
                        closes=datetime(2024, 7, 15, 0), at=datetime(2024, 7, 1, 0))
            for voter in range(rng.randint(20, 80)):
                reg.endorse(nomination, f"wx-user-{voter:04d}", at=datetime(2024, 7, 2 + voter % 12, 12))
            reg.advance(nomination, "expert_review", by=office, at=datetime(2024, 7, 16, 9))
            for expert in experts:
                reg.assign_reviewer(nomination, expert, by=office, at=datetime(2024, 7, 16, 10))
                reg.score(nomination, expert, 95 - 3 * n + rng.randint(0, 4), by=expert, at=datetime(2024, 7, 20, 10))
            if n >= 8:
                reg.advance(nomination, "not_selected", by=office, note="专家评审未入选", at=datetime(2024, 7, 25, 9))
                continue
            reg.advance(nomination, "publicity", by=office, at=datetime(2024, 8, 1, 9))
            reg.decide(nomination, awarded=True, by=office, on="2024-09-01", at=datetime(2024, 9, 1, 9))


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
        b.titles()
        b.moral_models()
        b.good_people()
        b.good_youth()
        b.families()
        b.nomination_round()
    registry.session.optimize()   # statistics for the query planner after a bulk build
    return registry


def _studio_activities(registry: volreg.Registry) -> list[tuple[str, int]]:
    rows = volreg.activity_counts(registry, by="studio", start="2024-01-01", end="2025-01-01")
    return [(r["studio_name"], r["activities"]) for r in rows if r["studio"] is not None]


def figures(registry: volreg.Registry) -> dict[str, Any]:
    """The report's figures as data, each computed with volreg's public query functions and reads."""
    city = next(registry.organisations(kind="city_office"))
    communities = {o.id: o.name for o in registry.organisations(kind="community")}
    monthly = volreg.hours(registry, by=("organisation", "month"), organisation=city,
                           start="2024-01-01", end="2025-01-01")
    top = volreg.hours(registry, by="volunteer", top=10)
    stars = {r["volunteer"]: r for r in volreg.star_levels(registry)}
    youth = volreg.honour_roll(registry, honour="新时代嘉峪关好少年", year=2024, public=True)
    return {
        "studio_activities": _studio_activities(registry),
        "moral_lectures_2024": volreg.activity_counts(
            registry, kind="moral_lecture", start="2024-01-01", end="2025-01-01")[0]["activities"],
        "lei_feng_day": volreg.activity_counts(registry, by="theme", start="2024-03-05", end="2024-03-06"),
        "editions": {
            title: [(e.number, e.year, e.title) for e in registry.editions(title)]
            for title in ("嘉峪关市道德模范", "雄关好人")
        },
        "good_youth_2024": [(r["recipient_name"], r["promoted_to"]) for r in youth],
        "good_youth_promoted": [r["recipient_name"] for r in volreg.honour_roll(
            registry, honour="新时代甘肃好少年", year=2024, public=True)],
        "community_month_hours": [
            (communities[r["organisation"]], r["month"], r["minutes"]) for r in monthly
            if r["organisation"] in communities
        ],
        "top_ten": [
            (r["volunteer_number"], r["volunteer_name"], r["hours"], stars[r["volunteer"]]["star"]) for r in top
        ],
        "funnel": volreg.nomination_funnel(registry, honour="雄关好人", year=2024)[0],
    }


def report(registry: volreg.Registry) -> str:
    """The figures the city report states, as text."""
    f = figures(registry)
    out = ["好人品牌工作室: activities in 2024"]
    out += [f"  {name}: {count}" for name, count in f["studio_activities"]]
    out.append(f"  total: {sum(count for _, count in f['studio_activities'])}")
    out.append(f"道德讲堂 sessions in 2024: {f['moral_lectures_2024']}")
    out.append("学雷锋纪念日 (2024-03-05), activities by theme:")
    out += [f"  {r['theme'] or '(none)'}: {r['activities']} activities, {r['participants']} volunteers"
            for r in f["lei_feng_day"]]
    for title, editions in f["editions"].items():
        out.append(f"{title}: {len(editions)} editions held")
        out += [f"  {number}. {name} ({year})" for number, year, name in editions]
    out.append(f"新时代嘉峪关好少年 2024: {len(f['good_youth_2024'])} honourees (names masked without consent)")
    out.append("  " + "、".join(name for name, _ in f["good_youth_2024"]))
    out.append(f"  promoted to 新时代甘肃好少年: {'、'.join(f['good_youth_promoted'])}")
    out.append("Verified hours by community and month, 2024:")
    months = sorted({m for _, m, _ in f["community_month_hours"]})
    table: dict[str, dict[str, int]] = {}
    for name, month, minutes in f["community_month_hours"]:
        table.setdefault(name, {})[month] = minutes
    out.append("  " + "社区" + " " * 8 + "".join(m[5:].rjust(7) for m in months) + "total".rjust(9))
    for name in sorted(table):
        row = table[name]
        out.append("  " + name + " " * (12 - 2 * len(name)) + "".join(
            f"{row.get(m, 0) / 60:7.1f}" for m in months) + f"{sum(row.values()) / 60:9.1f}")
    out.append("Top ten volunteers (all verified hours) and star levels:")
    out += [f"  {number} {name}: {hours:.2f} h, {'★' * star or '-'}" for number, name, hours, star in f["top_ten"]]
    funnel = f["funnel"]
    out.append("我推荐我评议身边好人 → 第五期雄关好人 (2024), nomination funnel:")
    out.append("  " + " → ".join(f"{stage} {funnel[stage]}" for stage in (
        "submitted", "verified", "public_review", "expert_review", "publicity", "awarded")))
    out.append(f"  not selected {funnel['not_selected']}, rejected {funnel['rejected']}, "
               f"withdrawn {funnel['withdrawn']}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Build the example (in memory, or in the file named by the first argument) and print the report."""
    path = argv[1] if len(argv) > 1 else ":memory:"
    # A file registry gets its key file (DB.key) beside it, so the command line opens it as it is.
    registry = volreg.open(path)
    if next(registry.organisations(), None) is not None:
        print(f"{path} already holds a registry; give a new file name", file=sys.stderr)
        return 1
    build(registry)
    print(report(registry))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

__all__ = ["build", "figures", "report", "main"]
