"""volreg.hours(): grouping, filters, periods in local time, top-N, as_of, exactness, one SQL statement."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from factories import plan_of, traced
from hypothesis import HealthCheck, given, settings
from strategies import build_world, groupings, log_specs, record_specs

import volreg
from volreg import InvalidValue, NotFound
from volreg.timeutil import now

VERIFIER = "新华社区审核员"


@pytest.fixture
def world(registry: volreg.Registry) -> tuple[list[volreg.Volunteer], list[volreg.Activity]]:
    """Three volunteers and five activities across two organisations, two studios and three categories."""
    return build_world(registry)


def verified(registry: volreg.Registry, volunteer: Any, activity: Any, start: str, minutes: int) -> volreg.ServiceRecord:
    """Log and verify one record."""
    return registry.verify_service(
        registry.log_service(volunteer, activity, start=start, minutes=minutes), by=VERIFIER
    )


def instant(registry: volreg.Registry) -> datetime:
    """The current instant, returned only once the clock has moved past it, so later writes are later."""
    moment = now(registry.zone)
    while now(registry.zone) <= moment:
        time.sleep(0.0005)
    return moment


def test_grand_total_row_when_empty(registry: volreg.Registry) -> None:
    """No ``by`` gives exactly one row, zeros included."""
    result = volreg.hours(registry)
    assert ("minutes", "hours", "records", "volunteers") == result.columns
    assert [{"minutes": 0, "hours": 0.0, "records": 0, "volunteers": 0}] == result.to_dicts()


def test_thousand_records_of_twenty_minutes_are_exact(registry: volreg.Registry,
                                                      make_volunteer: Callable[..., volreg.Volunteer],
                                                      make_activity: Callable[..., volreg.Activity]) -> None:
    """1,000 × 20 minutes is exactly 20,000 minutes and 333.33 hours, never a float sum."""
    act = make_activity(start="2024-03-01 00:00", end="2024-03-03 00:00")
    for v in range(10):
        vol = make_volunteer(f"志愿者{v}")
        for n in range(100):
            start = datetime(2024, 3, 1) + timedelta(minutes=20 * n)
            verified(registry, vol, act, start.isoformat(sep=" "), 20)
    row = volreg.hours(registry)[0]
    assert (20_000, 333.33, 1000, 10) == (row["minutes"], row["hours"], row["records"], row["volunteers"])
    assert isinstance(row["minutes"], int)


@given(specs=record_specs, by=groupings)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_grand_total_equals_the_sum_of_any_grouping(specs: list[Any], by: list[str]) -> None:
    """For any records and any grouping, the rows add up to the grand total (minutes and records)."""
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    volunteers, activities = build_world(registry)
    log_specs(registry, volunteers, activities, specs)
    for status in ("verified", "pending", ("verified", "pending", "rejected")):
        grand = volreg.hours(registry, status=status)[0]
        rows = volreg.hours(registry, by=by, status=status)
        assert grand["minutes"] == sum(r["minutes"] for r in rows)
        assert grand["records"] == sum(r["records"] for r in rows)
    expected = sum(m for _, _, _, m, s in specs if s == "verified")
    assert expected == volreg.hours(registry)[0]["minutes"]


def test_columns_of_every_dimension(registry: volreg.Registry, world: Any) -> None:
    """Group columns come first with a name beside each id; the volunteer row carries the number."""
    volunteers, activities = world
    verified(registry, volunteers[0], activities[2], "2024-03-31 09:00", 30)
    result = volreg.hours(registry, by=("volunteer", "organisation", "studio", "activity", "category",
                                        "year", "quarter", "month", "day"))
    assert (
        "volunteer", "volunteer_name", "volunteer_number", "organisation", "organisation_name", "studio",
        "studio_name", "activity", "activity_name", "category", "category_name", "year", "quarter", "month",
        "day", "minutes", "hours", "records", "volunteers",
    ) == result.columns
    row = result[0]
    assert {
        "volunteer": volunteers[0].id, "volunteer_name": "志愿者0", "volunteer_number": volunteers[0].number,
        "organisation": activities[2].organiser, "organisation_name": "嘉峪关市文明办",
        "studio": activities[2].studio, "studio_name": "（无工作室）", "activity": activities[2].id,
        "activity_name": "活动2", "category": "education_aid", "category_name": "爱心助学", "year": 2024,
        "quarter": "2024-Q1", "month": "2024-03", "day": "2024-03-31", "minutes": 30, "hours": 0.5,
        "records": 1, "volunteers": 1,
    } == dict(row)


def test_periods_use_the_local_start(registry: volreg.Registry, make_volunteer: Callable[..., volreg.Volunteer],
                                     make_activity: Callable[..., volreg.Activity]) -> None:
    """A record starting 23:30 on 31 March in Shanghai (15:30 UTC) counts in March, Q1, 2024-03-31."""
    vol = make_volunteer()
    act = make_activity(start="2024-03-31 20:00", end="2024-04-01 04:00")
    verified(registry, vol, act, "2024-03-31 23:30", 120)
    verified(registry, vol, act, "2024-04-01 01:30", 60)
    assert [("2024-03", 120), ("2024-04", 60)] == [(r["month"], r["minutes"]) for r in volreg.hours(registry, by="month")]
    assert [("2024-Q1", 120), ("2024-Q2", 60)] == [
        (r["quarter"], r["minutes"]) for r in volreg.hours(registry, by="quarter")
    ]
    assert [(2024, 180)] == [(r["year"], r["minutes"]) for r in volreg.hours(registry, by="year")]


def test_start_end_is_half_open_in_local_time(registry: volreg.Registry, world: Any) -> None:
    """``start`` is included and ``end`` excluded; dates are local midnights; a record counts where it starts."""
    volunteers, activities = world
    verified(registry, volunteers[0], activities[0], "2023-12-31 16:00", 60)
    verified(registry, volunteers[0], activities[1], "2024-01-15 08:00", 30)
    verified(registry, volunteers[0], activities[2], "2024-03-31 08:00", 15)
    assert 30 == volreg.hours(registry, start="2024-01-01", end="2024-03-31")[0]["minutes"]
    assert 45 == volreg.hours(registry, start="2024-01-01")[0]["minutes"]
    assert 60 == volreg.hours(registry, end="2024-01-01")[0]["minutes"]
    assert 30 == volreg.hours(registry, start="2024-01-15 08:00", end="2024-01-15 08:01")[0]["minutes"]
    assert 0 == volreg.hours(registry, start="2024-01-15 08:01", end="2024-03-31 08:00")[0]["minutes"]


def test_filters(registry: volreg.Registry, world: Any) -> None:
    """Each filter once: volunteer (id or number), organisation subtree, studio, activity, category label."""
    volunteers, activities = world
    verified(registry, volunteers[0], activities[0], "2023-12-31 08:00", 10)  # city, studio 0, 敬老助老
    verified(registry, volunteers[1], activities[1], "2024-01-15 08:00", 20)  # community, studio 1, 环保公益
    verified(registry, volunteers[2], activities[2], "2024-03-31 08:00", 40)  # city, no studio, education_aid
    verified(registry, volunteers[0], activities[3], "2024-04-01 08:00", 80)  # community, studio 0, 敬老助老
    city, community = activities[0].organiser, activities[1].organiser

    def minutes(**filters: Any) -> int:
        return int(volreg.hours(registry, **filters)[0]["minutes"])

    assert 90 == minutes(volunteer=volunteers[0])
    assert 90 == minutes(volunteer=volunteers[0].number)
    assert 150 == minutes(organisation=city)  # the city office and everything under it
    assert 100 == minutes(organisation=community)
    assert 90 == minutes(studio=activities[0].studio)
    assert 20 == minutes(activity=activities[1])
    assert 90 == minutes(category="敬老助老")
    assert 90 == minutes(category="elderly_care")
    assert 80 == minutes(category="敬老助老", organisation=community)
    by_org = volreg.hours(registry, by="organisation")
    assert {city: 50, community: 100} == {r["organisation"]: r["minutes"] for r in by_org}
    by_studio = volreg.hours(registry, by="studio")
    assert {None: 40, activities[0].studio: 90, activities[1].studio: 20} == {
        r["studio"]: r["minutes"] for r in by_studio
    }


def test_top_n_with_stable_ties(registry: volreg.Registry, world: Any) -> None:
    """``top`` keeps the largest groups by minutes; ties are ordered by the group columns (volunteer number)."""
    volunteers, activities = world
    verified(registry, volunteers[2], activities[1], "2024-01-15 08:00", 60)
    verified(registry, volunteers[1], activities[1], "2024-01-15 08:00", 30)
    verified(registry, volunteers[0], activities[1], "2024-01-15 08:00", 30)
    top = volreg.hours(registry, by="volunteer", top=2)
    assert [volunteers[2].id, volunteers[0].id] == top.column("volunteer")
    assert [60, 30] == top.column("minutes")
    assert 3 == len(volreg.hours(registry, by="volunteer", top=10))


def test_as_of_reproduces_the_past(registry: volreg.Registry, world: Any) -> None:
    """As of each past instant, the totals are what they were then; later writes are not seen."""
    volunteers, activities = world
    record = registry.log_service(volunteers[0], activities[1], start="2024-01-15 08:00", minutes=120)
    t_logged = instant(registry)
    registry.verify_service(record, by=VERIFIER)
    t_verified = instant(registry)
    fixed = registry.correct_service(record, by=VERIFIER, reason="更正时长", minutes=90)
    t_corrected = instant(registry)
    registry.void_service(fixed, by=VERIFIER, reason="重复")
    t_voided = instant(registry)

    def at(moment: Any, status: Any = "verified") -> int:
        return int(volreg.hours(registry, as_of=moment, status=status)[0]["minutes"])

    assert (0, 120) == (at(t_logged), at(t_logged, "pending"))
    assert (120, 0) == (at(t_verified), at(t_verified, "pending"))
    assert (90, 120) == (at(t_corrected), at(t_corrected, "superseded"))
    assert (0, 90) == (at(t_voided), at(t_voided, "void"))
    assert 0 == at("2024-01-01")
    assert at(t_voided) == volreg.hours(registry)[0]["minutes"]
    assert at(t_corrected, ("verified", "pending")) == 90


def test_as_of_respects_a_backdated_entry_time(registry: volreg.Registry, world: Any) -> None:
    """A sign-in sheet typed in later keeps its stated entry time; it is verified only when verified."""
    volunteers, activities = world
    record = registry.log_service(volunteers[0], activities[1], start="2024-01-15 08:00", minutes=60,
                                  recorded_at="2024-01-15 18:00")
    assert 0 == volreg.hours(registry, as_of="2024-01-15 17:59", status="pending")[0]["minutes"]
    assert 60 == volreg.hours(registry, as_of="2024-01-15 18:00", status="pending")[0]["minutes"]
    registry.verify_service(record, by=VERIFIER)
    assert 0 == volreg.hours(registry, as_of="2024-01-16")[0]["minutes"]


def test_one_sql_statement_per_call(registry: volreg.Registry, world: Any) -> None:
    """The whole query is one statement: SQLite does the adding, not Python."""
    volunteers, activities = world
    verified(registry, volunteers[0], activities[1], "2024-01-15 08:00", 60)
    with traced(registry) as statements:
        volreg.hours(registry, by=("organisation", "month"), start="2024-01-01", top=5, as_of="2030-01-01")
    queries = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert 1 == len(queries)
    assert queries[0].startswith("SELECT")


@pytest.mark.parametrize(
    ("error", "match", "kwargs"),
    [
        (InvalidValue, "'by' must name dimensions among", {"by": "week"}),
        (InvalidValue, "'by' must not repeat", {"by": ("year", "year")}),
        (InvalidValue, "'status' must be one of", {"status": "approved"}),
        (InvalidValue, "'top' must be a positive whole number", {"top": 0}),
        (InvalidValue, "'start' must be a date and time", {"start": "yesterday"}),
        (NotFound, "no organisation with id 'org-x'", {"organisation": "org-x"}),
        (NotFound, "no volunteer", {"volunteer": "V-404"}),
        (InvalidValue, "'category' must be a category", {"category": "弹琴"}),
    ],
)
def test_bad_arguments(registry: volreg.Registry, error: type[Exception], match: str, kwargs: dict[str, Any]) -> None:
    """A bad argument is named, rather than answered with a silent zero."""
    with pytest.raises(error, match=match):
        volreg.hours(registry, **kwargs)


def test_result_exports_neutralise_formulas(registry: volreg.Registry,
                                            make_volunteer: Callable[..., volreg.Volunteer],
                                            make_activity: Callable[..., volreg.Activity]) -> None:
    """A volunteer named like a formula cannot run in a spreadsheet; minutes stay exact in CSV."""
    vol = make_volunteer("=HYPERLINK(1)")
    verified(registry, vol, make_activity(), "2024-03-05 09:00", 20)
    out = io.StringIO()
    volreg.hours(registry, by="volunteer").to_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert ("'=HYPERLINK(1)", "20", "0.33") == (rows[0]["volunteer_name"], rows[0]["minutes"], rows[0]["hours"])
    assert "20" in str(volreg.hours(registry))


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Shanghai"])
def test_a_span_counts_the_records_starting_in_it_whatever_the_zone(tmp_path: Any, zone: str) -> None:
    """A span that is not whole months is answered from the records, read through a range of the status
    index widened to whole local days: in zones 14 hours ahead of and 11 hours behind UTC, where a record's
    local date is not its UTC date, exactly the records starting inside the span count."""
    registry = volreg.open(tmp_path / "r.db", key="k" * 32, timezone=zone)
    office = registry.add_organisation("社区")
    volunteer = registry.register_volunteer("王小明", id_type="none", registered_on="2024-01-01")
    activity = registry.add_activity("夜间巡逻", category="敬老助老", start="2024-03-04 20:00",
                                     end="2024-03-07 04:00", organiser=office)
    starts = ["2024-03-04 23:30", "2024-03-05 00:00", "2024-03-05 23:30", "2024-03-06 00:00", "2024-03-06 01:00"]
    for n, start in enumerate(starts):
        record = registry.log_service(volunteer, activity, start=start, minutes=10 + n)
        registry.verify_service(record, by="社区")
    for since, until, expected in [("2024-03-05 00:00", "2024-03-06 00:00", 10 + 1 + 10 + 2),
                                   ("2024-03-05 00:01", "2024-03-06 00:01", 10 + 2 + 10 + 3),
                                   ("2024-03-04 23:00", "2024-03-06 02:00", sum(10 + n for n in range(5)))]:
        assert expected == volreg.hours(registry, start=since, end=until)[0]["minutes"], (since, until)
    with traced(registry) as statements:
        volreg.hours(registry, by="day", start="2024-03-05 00:00", end="2024-03-06 00:00").tuples()
    query = next(s for s in statements if "FROM service_records r" in s)
    plan = plan_of(registry, query)
    assert any("INDEX service_records_status (status=? AND start>? AND start<?)" in step for step in plan), plan
    registry.close()


def test_hours_per_category_over_all_time_come_from_the_summaries(registry: volreg.Registry, world: Any) -> None:
    """Hours per category, unfiltered, add up the studio-and-category summaries (5.5 s → 0.1 s at city scale);
    ``tests/test_summaries.py`` checks they equal the recount. A span or a period has no such summary."""
    volunteers, activities = world
    verified(registry, volunteers[0], activities[1], "2024-01-15 08:00", 60)
    for by, summarised in [("category", True), (("category", "month"), False)]:
        with traced(registry) as statements:
            volreg.hours(registry, by=by).tuples()
        query = next(s for s in statements if "SELECT" in s and "sqlite_temp_master" not in s)
        assert ("summary_group_members" in query) == summarised, (by, query)
        assert ("FROM service_records" in query) != summarised, (by, query)
