"""``volreg.check``: problems that got into the registry anyway, found and named; and ``volreg check DB``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import plan_of, traced

import volreg
from volreg.cli import cli


@pytest.fixture
def world(registry: volreg.Registry, make_volunteer: Callable[..., volreg.Volunteer],
          make_activity: Callable[..., volreg.Activity], community: volreg.Organisation) -> dict[str, Any]:
    """A clean registry: a volunteer with a verified record, an adult honouree, a nomination in expert review."""
    volunteer = make_volunteer("王小明")
    activity = make_activity()
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 11:00",
                                  recorded_at="2024-03-06 09:00")
    registry.verify_service(record, by="审核员")
    lecture = make_activity("道德讲堂", kind="moral_lecture", category="道德教育")
    adult = registry.add_person("李四", birth_date="1970-01-01")
    registry.define_honour("xiongguan_good_person", "雄关好人", level="city")
    honour = registry.award("雄关好人", adult, category="助人为乐", period="2024", awarded_on="2024-03-01")
    nominee = registry.add_person("赵五", birth_date="1960-01-01")
    registry.add_membership(nominee, community)
    expert = registry.add_person("专家")
    nomination = registry.nominate("中国好人", nominee, category="助人为乐", nominator="self", period="2024-Q1",
                                   at="2024-03-01 09:00")
    registry.advance(nomination, "verified", by="文明办", at="2024-03-02 09:00")
    registry.advance(nomination, "public_review", by="文明办", at="2024-03-03 09:00", closes="2024-03-10 09:00")
    registry.advance(nomination, "expert_review", by="文明办", at="2024-03-10 09:00")
    registry.assign_reviewer(nomination, expert, by="文明办", at="2024-03-10 09:00")
    return {"volunteer": volunteer, "activity": activity, "record": record, "lecture": lecture, "adult": adult,
            "honour": honour, "nomination": nomination, "expert": expert, "community": community}


def _copy_record(registry: volreg.Registry, record: str, **changes: Any) -> None:
    """Insert a copy of a service record straight into the table, as an older version might have."""
    row = dict(next(registry.db.query("SELECT * FROM service_records WHERE id = ?", [record])))
    row.update(changes)
    row.setdefault("lineage", row["id"])
    registry.db["service_records"].insert(row)


def _codes(registry: volreg.Registry) -> list[tuple[str, str, str]]:
    return [(p.code, p.entity, p.id) for p in volreg.check(registry)]


def test_a_clean_registry_has_no_problems(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Everything written through the registry's own methods passes every check."""
    assert [] == volreg.check(registry)


def test_late_record(registry: volreg.Registry, world: dict[str, Any], make_volunteer: Any) -> None:
    """A record entered more than 10 working days after the activity (2024-03-05 → 2024-03-19) is reported."""
    late = registry.log_service(make_volunteer("迟到"), world["activity"], start="2024-03-05 09:00", minutes=60,
                                recorded_at="2024-03-20 09:00")
    problems = volreg.check(registry)
    assert [("late", "service_record", late.id)] == [(p.code, p.entity, p.id) for p in problems]
    assert "2024-03-19" in problems[0].message


def test_overlap_from_an_older_version(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Two live records of one volunteer at the same time, inserted with SQL, are reported once, naming both."""
    _copy_record(registry, world["record"].id, id="svc-old", lineage="svc-old", start_utc="2024-03-05T02:00:00.000000Z",
                 end_utc="2024-03-05T04:00:00.000000Z", start="2024-03-05T10:00:00+08:00", end=None, minutes=60)
    problems = volreg.check(registry)
    assert [("overlap", "service_record")] == [(p.code, p.entity) for p in problems]
    assert {"svc-old", world["record"].id} == {problems[0].id, problems[0].message.split("'")[1]}


def test_overlap_with_a_record_longer_than_a_day(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """A record spanning three days (only SQL could write it) overlaps one that starts two and a half days
    later: the check compares each record with the ones starting up to the longest span before it, so it is
    still found."""
    _copy_record(registry, world["record"].id, id="svc-long", lineage="svc-long",
                 start_utc="2024-03-02T03:00:00.000000Z", end_utc="2024-03-05T03:00:00.000000Z",
                 start="2024-03-02T11:00:00+08:00", end="2024-03-05T11:00:00+08:00", minutes=1440)
    problems = volreg.check(registry)
    assert [("overlap", "service_record")] == [(p.code, p.entity) for p in problems]
    assert {"svc-long", world["record"].id} == {problems[0].id, problems[0].message.split("'")[1]}


def test_overlaps_are_looked_for_in_one_index_range_per_record(registry: volreg.Registry,
                                                               world: dict[str, Any]) -> None:
    """Each record is compared with the volunteer's records in a bounded range of starts, not with every
    record of the volunteer (which made the check quadratic: 386 s at city scale, 15 s with the bound)."""
    with traced(registry) as statements:
        volreg.check(registry)
    query = next(s for s in statements if "JOIN service_records b ON b.volunteer = a.volunteer" in s)
    plan = plan_of(registry, query)
    assert any("(volunteer=? AND start_utc>? AND start_utc<?)" in step for step in plan), plan


def test_back_to_back_records_do_not_overlap(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Half-open intervals: a record starting when the other ends is fine."""
    _copy_record(registry, world["record"].id, id="svc-next", lineage="svc-next",
                 start_utc="2024-03-05T03:00:00.000000Z", end_utc="2024-03-05T04:00:00.000000Z")
    assert [] == volreg.check(registry)


def test_hours_on_a_moral_lecture(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Hours recorded on a 道德讲堂 (not volunteer service) are reported."""
    _copy_record(registry, world["record"].id, id="svc-lecture", lineage="svc-lecture",
                 activity=world["lecture"].id, start_utc="2024-03-05T05:00:00.000000Z",
                 end_utc="2024-03-05T06:00:00.000000Z")
    assert [("not_service", "service_record", "svc-lecture")] == _codes(registry)


def test_honours_breaking_their_title(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """An age rule added after the award, and a once-only title held twice, are both reported."""
    registry.update_honour("雄关好人", age=(6, 18))
    assert [("honour_rule", "honour", world["honour"].id)] == _codes(registry)
    assert "age" in volreg.check(registry)[0].message
    registry.update_honour("雄关好人", age=None)
    row = dict(next(registry.db.query("SELECT * FROM honours WHERE id = ?", [world["honour"].id])))
    registry.db["honours"].insert({**row, "id": "hon-twice", "period": "2023", "year": 2023})
    problems = volreg.check(registry)
    assert [("honour_rule", "honour", "hon-twice")] == [(p.code, p.entity, p.id) for p in problems]
    assert "once" in problems[0].message


def test_reviewer_with_an_undeclared_conflict(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """A reviewer who joined the nominee's organisation after assignment is reported; an override silences it."""
    registry.add_membership(world["expert"], world["community"])
    problems = volreg.check(registry)
    assert [("reviewer_conflict", "nomination", world["nomination"].id)] == [(p.code, p.entity, p.id) for p in problems]
    assert "same_organisation" in problems[0].message
    registry.db.execute("UPDATE reviewer_assignments SET overrides = ?",
                        [json.dumps([{"kind": "same_organisation", "detail": "x", "reason": "经批准"}])])
    assert [] == volreg.check(registry)


def test_orphans(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Rows pointing at missing rows (foreign keys off, as another tool might write) are reported."""
    registry.db.execute("PRAGMA foreign_keys = OFF")
    _copy_record(registry, world["record"].id, id="svc-orphan", lineage="svc-gone", volunteer="vol-gone",
                 start_utc="2024-03-05T08:00:00.000000Z", end_utc="2024-03-05T08:30:00.000000Z")
    registry.db.execute("INSERT INTO family_members (family, person, role) VALUES ('fam-gone', ?, '')",
                        [world["adult"].id])
    registry.db.execute("PRAGMA foreign_keys = ON")
    problems = [p for p in volreg.check(registry) if p.code == "orphan"]
    found = {(p.entity, p.id) for p in problems}
    assert {("service_records", "svc-orphan"), ("family_members", f"fam-gone/{world['adult'].id}")} == found
    assert any("vol-gone" in p.message for p in problems) and any("svc-gone" in p.message for p in problems)


def test_check_problem_is_public_and_printable() -> None:
    """The problem class is exported and prints as entity id: [code] message."""
    problem = volreg.CheckProblem("late", "service_record", "svc-1", "entered late")
    assert "service_record svc-1: [late] entered late" == str(problem)


def test_cli_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``volreg check DB`` says so when all is well (exit 0) and lists problems as JSON with exit 1."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    registry = volreg.open(str(path))
    org = registry.add_organisation("新华社区", kind="community")
    lecture = registry.add_activity("道德讲堂", kind="moral_lecture", category="道德教育", organiser=org,
                                    start="2024-03-05 19:00", end="2024-03-05 20:00")
    registry.close()
    runner = CliRunner()
    result = runner.invoke(cli, ["check", str(path)], catch_exceptions=False)
    assert (0, f"{path}: no problems\n") == (result.exit_code, result.output)
    registry = volreg.open(str(path))
    registry.db.execute("PRAGMA foreign_keys = OFF")
    registry.db.execute(
        "INSERT INTO service_records (id, lineage, volunteer, activity, start, start_utc, end_utc, minutes, status, "
        "source, recorded_at) VALUES ('svc-x', 'svc-x', 'vol-x', ?, '2024-03-05T19:00:00+08:00', "
        "'2024-03-05T11:00:00.000000Z', '2024-03-05T12:00:00.000000Z', 60, 'verified', 'organiser', "
        "'2024-03-05T12:00:00.000000Z')", [lecture.id])
    registry.close()
    result = runner.invoke(cli, ["check", str(path), "--json"], catch_exceptions=False)
    assert 1 == result.exit_code
    rows = json.loads(result.output)
    assert {("not_service", "svc-x"), ("orphan", "svc-x")} == {(r["code"], r["id"]) for r in rows}


def test_many_holders_of_a_once_only_title_are_fine(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """A once-only title held once each by many people is no problem (the rule is per holder, not per title)."""
    for n in range(3):
        registry.award("雄关好人", registry.add_person(f"好人{n}"), category="助人为乐", period="2024",
                       awarded_on="2024-05-01")
    assert [] == _codes(registry)


def _damaged(tmp_path: Path) -> Path:
    """A registry file with a few hundred people, one of whose table pages is overwritten with garbage."""
    path = tmp_path / "damaged.db"
    registry = volreg.open(str(path), key="test-key-16-bytes")
    with registry.transaction():
        for n in range(300):
            registry.add_person(f"志愿者{n:03d}", phone=f"1381234{n:04d}")
    page_size = registry.db.execute("PRAGMA page_size").fetchone()[0]
    registry.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [r[0] for r in registry.db.execute(
        "SELECT pageno FROM dbstat WHERE name = 'people' AND pagetype = 'leaf' ORDER BY pageno").fetchall()] \
        if registry.db.execute("SELECT 1 FROM pragma_module_list WHERE name = 'dbstat'").fetchone() else []
    root = registry.db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'people'").fetchone()[0]
    registry.close()
    page = pages[len(pages) // 2] if pages else root
    with open(path, "r+b") as handle:
        handle.seek((page - 1) * page_size + 8)
        handle.write(b"\xff\x7f" * 40)  # the cell pointers now point outside the page
    return path


def test_check_reports_a_damaged_page(tmp_path: Path) -> None:
    """quick_check runs first: a damaged page is a `corrupt` problem (the rule checks are skipped)."""
    path = _damaged(tmp_path)
    with volreg.open(str(path), key="test-key-16-bytes") as registry:
        problems = volreg.check(registry)
        assert problems and {"corrupt"} == {p.code for p in problems}
        assert all(p.entity == "database" and "quick_check" in p.message for p in problems)
        full = volreg.check(registry, full=True)
        assert full and all("integrity_check" in p.message for p in full)


def test_cli_check_exits_1_on_a_damaged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`volreg check` (and --full) lists the damage and exits 1; it never says "no problems"."""
    monkeypatch.setenv("VOLREG_KEY", "test-key-16-bytes")
    path = _damaged(tmp_path)
    runner = CliRunner()
    for args in (["check", str(path)], ["check", str(path), "--full"]):
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert 1 == result.exit_code, result.output
        assert "corrupt" in result.output and "no problems" not in result.output
