"""Service of a day: a date and a duration with no clock time, as sign-in sheets record it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import volreg


@pytest.fixture
def month_activity(make_activity):
    """A volunteer-service activity running the whole of March 2024."""
    return make_activity("三月学雷锋", start="2024-03-01 00:00", end="2024-04-01 00:00")


def test_day_records_never_overlap_and_count_in_their_day(registry, make_volunteer, month_activity):
    """Two shifts of one day recorded without times are both kept; hours() puts them in their day."""
    vol = make_volunteer()
    first = registry.log_service(vol, month_activity, on="2024-03-05", minutes=165)
    second = registry.log_service(vol, month_activity, on="2024-03-05", minutes=90)
    assert (date(2024, 3, 5), None, 165) == (first.day, first.end, first.minutes)
    assert "2024-03-05T00:00:00+08:00" == second.start.isoformat()
    for record in (first, second):
        registry.verify_service(record, by="新华社区")
    by_day = volreg.hours(registry, by="day")
    assert [("2024-03-05", 255)] == [(r["day"], r["minutes"]) for r in by_day]
    assert 255 == volreg.hours(registry, start="2024-03-05", end="2024-03-06")[0]["minutes"]
    assert 0 == volreg.hours(registry, start="2024-03-06", end="2024-03-07")[0]["minutes"]


def test_a_day_holds_at_most_24_hours(registry, make_volunteer, month_activity):
    """Day records and timed records of one day together may not exceed 24 h; the refusal writes nothing."""
    vol = make_volunteer()
    registry.log_service(vol, month_activity, on="2024-03-05", minutes=1000)
    registry.log_service(vol, month_activity, start="2024-03-05 20:00", end="2024-03-05 23:00")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.log_service(vol, month_activity, on="2024-03-05", minutes=261)
    assert "day_total" == caught.value.rule and "1441 minutes" in str(caught.value)
    registry.log_service(vol, month_activity, on="2024-03-05", minutes=260)
    with pytest.raises(volreg.RuleViolation, match="day_total"):
        registry.log_service(vol, month_activity, start="2024-03-05 08:00", minutes=1)
    assert 3 == len(list(registry.service_records(volunteer=vol)))


def test_a_day_record_does_not_block_a_timed_one(registry, make_volunteer, month_activity):
    """A timed shift at any time of a day that has a day record is not an overlap."""
    vol = make_volunteer()
    registry.log_service(vol, month_activity, on="2024-03-05", minutes=600)
    timed = registry.log_service(vol, month_activity, start="2024-03-05 00:00", end="2024-03-05 02:00")
    assert timed.day is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"on": "2024-03-05"}, "minutes"),
        ({"on": "2024-03-05", "minutes": 60, "start": "2024-03-05 09:00"}, "on"),
        ({"on": "2024-04-02", "minutes": 60}, "on"),
        ({"on": "2099-01-01", "minutes": 60}, "on"),
        ({"on": "2024-03-05", "minutes": 1441}, "minutes"),
        ({"minutes": 60}, "start"),
    ],
)
def test_bad_day_records_are_refused(registry, make_volunteer, month_activity, kwargs, field):
    """A day needs minutes, no clock time, a day of the activity, not in the future, at most 24 h."""
    vol = make_volunteer()
    with pytest.raises(volreg.InvalidValue) as caught:
        registry.log_service(vol, month_activity, **kwargs)
    assert field == caught.value.field


def test_corrections_and_as_of_treat_day_records_in_their_day(registry, make_volunteer, month_activity):
    """A corrected day record stays a record of its day; as_of sees the ledger as it stood."""
    vol = make_volunteer()
    record = registry.log_service(vol, month_activity, on="2024-03-05", minutes=120)
    registry.verify_service(record, by="新华社区")
    fixed = registry.correct_service(record, by="新华社区", reason="更正", minutes=150)
    assert (date(2024, 3, 5), 150) == (fixed.day, fixed.minutes)
    moved = registry.correct_service(fixed, by="新华社区", reason="日期填错", on="2024-03-06")
    assert (date(2024, 3, 6), 150) == (moved.day, moved.minutes)
    assert [("2024-03-06", 150)] == [(r["day"], r["minutes"]) for r in volreg.hours(registry, by="day")]
    assert 120 == volreg.hours(registry, as_of=fixed.recorded_at - timedelta(microseconds=1))[0]["minutes"]


def test_a_90_row_date_and_hours_sheet_is_exact_to_the_minute(registry, make_volunteer, month_activity, tmp_path):
    """90 sign-in rows with a date and hours and no times, several per volunteer per day, all go in, the
    totals exact to the minute; a re-import changes nothing."""
    vols = [make_volunteer(f"志愿者{n}") for n in range(3)]
    hours = ["2.5", "1.25", "3", "0.75", "4", "1.5", "2"]
    lines = ["志愿者编号,活动编号,服务日期,服务时长（小时）"]
    expected: dict[str, int] = {}
    for n in range(90):
        vol = vols[n % 3]
        day = date(2024, 3, 1) + timedelta(days=n // 9)    # nine rows a day: three shifts per volunteer
        shift = hours[(n // 3) % 7]                          # a volunteer's three shifts of a day differ
        lines.append(f"{vol.number},{month_activity.id},{day:%Y/%m/%d},{shift}")
        expected[vol.number] = expected.get(vol.number, 0) + int(float(shift) * 60)
    path = tmp_path / "sign-in.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="service_records", defaults={"status": "verified"},
                                mode="valid_rows")
    assert (90, 90, ()) == (report.rows, report.created, report.problems)
    got = {r["volunteer_number"]: r["minutes"] for r in volreg.hours(registry, by="volunteer")}
    assert expected == got
    assert sum(expected.values()) == volreg.hours(registry)[0]["minutes"]
    before = list(registry.db.conn.iterdump())
    again = volreg.import_file(registry, path, kind="service_records", defaults={"status": "verified"})
    assert (0, 0, 0) == (again.created, again.updated, len(again.problems))
    assert before == list(registry.db.conn.iterdump())


def test_an_import_day_total_over_24_hours_names_the_lines(registry, make_volunteer, month_activity, tmp_path):
    """Rows of one volunteer and day adding up to more than 24 h: the row that crosses the limit is refused."""
    vol = make_volunteer()
    path = tmp_path / "s.csv"
    path.write_text("volunteer_number,activity,date,hours\n"
                    f"{vol.number},{month_activity.id},2024-03-05,12\n"
                    f"{vol.number},{month_activity.id},2024-03-05,10\n"
                    f"{vol.number},{month_activity.id},2024-03-05,3\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="service_records", mode="valid_rows")
    assert 2 == report.created
    [problem] = report.problems
    assert 4 == problem.line and "day_total" in problem.message


def test_check_sees_day_records_in_their_day(registry, make_volunteer, month_activity):
    """check() does not call two shifts of one day an overlap, and flags a day over 24 h that got in anyway."""
    vol = make_volunteer()
    first = registry.log_service(vol, month_activity, on="2024-03-05", minutes=700)
    registry.log_service(vol, month_activity, on="2024-03-05", minutes=700)
    assert [] == [p for p in volreg.check(registry) if p.code != "late"]    # entered long after March 2024
    registry.session.store.db.execute("UPDATE service_records SET minutes = 800 WHERE id = ?", [first.id])
    assert ["day_total"] == [p.code for p in volreg.check(registry) if p.code != "late"]
