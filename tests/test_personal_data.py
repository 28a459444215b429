"""Personal data, checked on raw bytes: no ID number in clear anywhere, voters only as digests, and
anonymisation that leaves no trace of the person while every statistic stays the same."""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from factories import make_id_number

import volreg

NAME = "欧阳明月"
"""The person who asks to be forgotten: a name nothing else in the registry contains."""
PHONE = "13912345678"


def _raw(path: Path) -> bytes:
    """The database file and its WAL, as bytes on disk (what a thief of the disk would read)."""
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(str(path) + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


def _forms(id_number: str) -> list[bytes]:
    return [id_number.encode(), id_number.lower().encode(), id_number.encode("utf-16-le")]


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A file registry (key in its key file) with volunteers typed in and imported, service, honours,
    nominations, endorsements and a family; ``ids`` lists every ID number used, valid or not."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    registry = volreg.open(str(path))
    org = registry.add_organisation("新华社区", kind="community")
    ids = [make_id_number(birth="19800101") for _ in range(25)]
    subject = registry.register_volunteer(NAME, id_number=ids[0], phone=PHONE, organisation=org,
                                          registered_on="2023-01-01", area="镜铁区")
    others = [registry.register_volunteer(f"志愿者{n}", id_number=ids[n], phone=f"1381234{n:04d}", organisation=org,
                                          registered_on="2023-01-01") for n in range(1, 5)]
    roster = tmp_path / "roster.csv"
    with open(roster, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["姓名", "身份证号", "手机", "注册日期"])
        out.writerows([f"导入{n}", ids[n], f"1370000{n:04d}", "2023-01-01"] for n in range(5, 25))
        out.writerow(["坏行", ids[5][:17] + ("0" if ids[5][17] != "0" else "1"), "", "2023-01-01"])  # bad check
    report = volreg.import_file(registry, roster, kind="volunteers", mode="valid_rows")
    assert 20 == report.created
    activity = registry.add_activity("学雷锋志愿服务", category="敬老助老", organiser=org,
                                     start="2024-03-05 08:00", end="2024-03-05 18:00")
    for n, volunteer in enumerate([subject, *others]):
        record = registry.log_service(volunteer, activity, start=f"2024-03-05 {9 + n:02d}:00", minutes=45,
                                      note=f"{volunteer.name}签到")
        registry.verify_service(record, by="审核员")
    registry.define_honour("xiongguan_good_person", "雄关好人", level="city")
    registry.award("雄关好人", subject.person, category="助人为乐", period="2024", awarded_on="2024-03-01",
                   deed=f"{NAME}（电话{PHONE}）常年照顾孤寡老人")
    family = registry.add_family(f"{NAME}家庭", members=[subject.person, others[0].person])
    nomination = registry.nominate("中国好人", subject.person, category="助人为乐", nominator=others[1].person,
                                   period="2024-Q1", at="2024-03-01 09:00", deed=f"推荐{NAME}：{PHONE}")
    registry.advance(nomination, "verified", by="文明办", at="2024-03-02 09:00", note=f"核实{NAME}事迹")
    registry.advance(nomination, "public_review", by="文明办", at="2024-03-03 09:00", closes="2099-01-01")
    voters = ["13700009999", ids[3], "wx:ouyang-fan"]  # a phone, an ID number, an account: none stored elsewhere
    for voter in voters:
        registry.endorse(nomination, voter, at="2024-03-04 09:00", comment=f"支持{NAME}")
    refused = []
    for attempt in (
        lambda: registry.register_volunteer("重复", id_number=ids[1], organisation=org),
        lambda: registry.add_person("坏号", id_number=ids[2][:17] + ("0" if ids[2][17] != "0" else "1")),
        lambda: registry.register_volunteer("十五岁", id_number=make_id_number(birth="20150101")),
        lambda: registry.register_volunteer("号码", id_number=ids[24], number=ids[23]),
        lambda: registry.endorse(nomination, voters[1], at="2024-03-04 09:00"),
    ):
        with pytest.raises(volreg.VolregError) as caught:
            attempt()
        refused.append(caught.value)
    return {"registry": registry, "path": path, "ids": ids, "subject": subject, "others": others,
            "family": family, "nomination": nomination, "voters": voters, "refused": refused, "org": org,
            "activity": activity}


def test_no_id_number_in_clear_anywhere(city: dict[str, Any], tmp_path: Path) -> None:
    """Database, WAL, archives with and without personal fields, result exports, reprs and error messages."""
    registry: volreg.Registry = city["registry"]
    places: dict[str, bytes] = {"database and WAL": _raw(city["path"])}
    for personal in (True, False):
        archive = tmp_path / f"archive-{personal}.jsonl"
        volreg.export_registry(registry, archive, personal=personal)
        places[f"archive personal={personal}"] = archive.read_bytes()
    for result in (volreg.hours(registry, by="volunteer"), volreg.honour_roll(registry),
                   volreg.star_levels(registry)):
        buffer = io.StringIO()
        result.to_csv(buffer)
        places["result export"] = places.get("result export", b"") + buffer.getvalue().encode() + \
            result.to_json().encode()
    objects = [*registry.people(), *registry.volunteers(), registry.nomination(city["nomination"]),
               *registry.history(city["subject"].person), *registry.history(city["subject"].id)]
    places["reprs"] = "".join(repr(o) + str(o) for o in objects).encode()
    places["error messages"] = "".join(f"{e!s}{e!r}{e.args}" for e in city["refused"]).encode()
    report = volreg.import_file(registry, Path(__file__).parent / "data" / "volunteers.csv", kind="volunteers",
                                mode="all_or_nothing")
    places["import report"] = (str(report) + repr(report)).encode()
    for number in city["ids"]:
        for form in _forms(number):
            for where, data in places.items():
                assert form not in data, f"ID number {number[:6]}… in clear in {where}"
    assert Path(str(city["path"]) + "-wal").exists()  # the WAL really was searched while it held data


def test_key_file_is_owner_only(city: dict[str, Any]) -> None:
    """The key file beside the database is readable and writable by its owner only."""
    key = Path(str(city["path"]) + ".key")
    assert 0o600 == stat.S_IMODE(os.stat(key).st_mode)


def test_endorsement_voters_are_digests(city: dict[str, Any]) -> None:
    """Voters are stored as keyed digests: no voter's text is in the table or anywhere in the file."""
    registry: volreg.Registry = city["registry"]
    stored = [r[0] for r in registry.db.execute("SELECT voter FROM endorsements")]
    assert len(city["voters"]) == len(stored)
    assert all(len(v) == 64 and set(v) <= set("0123456789abcdef") for v in stored)
    raw = _raw(city["path"])
    for voter in city["voters"]:
        assert voter.encode() not in raw


def _statistics(registry: volreg.Registry, city: dict[str, Any]) -> dict[str, Any]:
    def plain(result: volreg.Result, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if not k.endswith("_name") and k not in drop} for row in result]

    return {
        "hours": plain(volreg.hours(registry, by="volunteer")),
        "hours by organisation": plain(volreg.hours(registry, by=("organisation", "month"))),
        "stars": plain(volreg.star_levels(registry)),
        "nominations": plain(volreg.nominations(registry, by=("honour", "status"))),
        "funnel": plain(volreg.nomination_funnel(registry)),
        "endorsements": registry.endorsement_count(city["nomination"]),
        "honour roll": len(volreg.honour_roll(registry)),
        "activities": plain(volreg.activity_counts(registry, by="organisation")),
        "families": len(list(registry.families())),
        "volunteers": len(list(registry.volunteers())),
    }


def test_anonymise_leaves_no_trace_and_every_statistic(city: dict[str, Any]) -> None:
    """After anonymising, no table and no byte of the file or WAL holds the name, ID or phone; totals stay."""
    registry: volreg.Registry = city["registry"]
    subject: volreg.Volunteer = city["subject"]
    before = _statistics(registry, city)
    assert NAME.encode() in _raw(city["path"])  # the test can see the name before
    registry.anonymise(subject.person, by="文明办", note="本人申请注销")
    assert before == _statistics(registry, city)
    secrets = [NAME, PHONE, "139****5678", city["ids"][0], city["ids"][0][:6] + "********" + city["ids"][0][-4:],
               city["ids"][0].lower()]
    dump = "\n".join(registry.db.iterdump())
    raw = _raw(city["path"])
    for secret in secrets:
        assert secret not in dump, f"{secret[:2]}… left in a table"
        assert secret.encode() not in raw, f"{secret[:2]}… left in the file or its WAL"
    assert "anonymised" == registry.volunteer(subject).status
    assert registry.person_by_id_number(city["ids"][0]) is None
    assert "ok" == registry.db.execute("PRAGMA integrity_check").fetchone()[0]
