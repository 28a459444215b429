"""The service-hour ledger: recording, refusals, the verification workflow, corrections and voids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import volreg
from volreg import Conflict, InvalidValue, NotFound, RuleViolation


@pytest.fixture
def volunteer(make_volunteer: Callable[..., volreg.Volunteer]) -> volreg.Volunteer:
    """One active volunteer registered on 2023-01-01."""
    return make_volunteer("李雷")


@pytest.fixture
def activity(make_activity: Callable[..., volreg.Activity]) -> volreg.Activity:
    """A volunteer-service activity on 2024-03-05 09:00–17:00."""
    return make_activity()


def table(registry: volreg.Registry) -> list[dict[str, Any]]:
    """Every row of the ledger, to prove a refused write changed nothing."""
    return list(registry.db.query("SELECT * FROM service_records ORDER BY rowid"))


def total(registry: volreg.Registry, **filters: Any) -> int:
    """Grand total of minutes through the public query function."""
    return int(volreg.hours(registry, **filters)[0]["minutes"])


# -- recording ---------------------------------------------------------------------------------------


def test_log_with_end_computes_minutes(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                       activity: volreg.Activity) -> None:
    """Start and end give whole minutes; the record starts pending and is not late."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 11:30",
                                  by="新华社区", recorded_at="2024-03-05 18:00")
    assert 150 == record.minutes
    assert "pending" == record.status
    assert record.late is False
    assert record.id == record.lineage
    assert record == registry.service_record(record.id)
    assert 2.5 == record.hours


def test_log_with_minutes_only(registry: volreg.Registry, volunteer: volreg.Volunteer,
                               activity: volreg.Activity) -> None:
    """Minutes alone are kept; the record has no end."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=45)
    assert (45, None) == (record.minutes, record.end)


def test_minutes_shorter_than_the_span_count_as_given(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                      activity: volreg.Activity) -> None:
    """A break inside the span: the minutes given are what count."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00",
                                  minutes=150)
    assert 150 == record.minutes


def test_shift_over_midnight(registry: volreg.Registry, volunteer: volreg.Volunteer,
                             make_activity: Callable[..., volreg.Activity]) -> None:
    """22:00 → 02:00 the next day is 240 minutes, and 20:00 → 00:00 is 240, never negative."""
    night = make_activity("平安建设夜间巡逻", category="平安建设", start="2024-06-01 20:00", end="2024-06-02 06:00")
    first = registry.log_service(volunteer, night, start="2024-06-01 22:00", end="2024-06-02 02:00")
    other = registry.log_service(volunteer, night, start="2024-06-02 02:00", end="2024-06-02 04:00")
    assert (240, 120) == (first.minutes, other.minutes)
    second = registry.add_activity("夜班", category="平安建设", start="2024-06-03 20:00", end="2024-06-04 01:00",
                                   organiser=night.organiser)
    assert 240 == registry.log_service(volunteer, second, start="2024-06-03 20:00", end="2024-06-04 00:00").minutes


def test_dst_spring_forward_in_berlin() -> None:
    """01:49 → 03:15 on 2024-03-31 in Europe/Berlin is 26 real minutes (the clock skips 02:00–03:00)."""
    reg = volreg.open(":memory:", timezone="Europe/Berlin", key="test-key-k-16byte")
    org = reg.add_organisation("Verein", kind="association")
    vol = reg.register_volunteer("Anna", id_number="11010519491231002X", organisation=org, registered_on="2024-01-01")
    act = reg.add_activity("Nachtdienst", category="public_safety", organiser=org,
                           start="2024-03-31 00:00", end="2024-03-31 06:00")
    record = reg.log_service(vol, act, start="2024-03-31 01:49", end="2024-03-31 03:15")
    assert 26 == record.minutes
    assert 26 == volreg.hours(reg, status="pending")[0]["minutes"]
    with pytest.raises(InvalidValue, match="'start' must be a time that exists"):
        reg.log_service(vol, act, start="2024-03-31 02:30", end="2024-03-31 04:00")


def test_dst_fall_back_in_berlin() -> None:
    """00:30 → 03:30 on 2024-10-27 in Europe/Berlin is 240 real minutes (the clock repeats 02:00–03:00)."""
    reg = volreg.open(":memory:", timezone="Europe/Berlin", key="test-key-k-16byte")
    org = reg.add_organisation("Verein", kind="association")
    vol = reg.register_volunteer("Anna", id_number="11010519491231002X", organisation=org, registered_on="2024-01-01")
    act = reg.add_activity("Nachtdienst", category="public_safety", organiser=org,
                           start="2024-10-27 00:00", end="2024-10-27 06:00")
    assert 240 == reg.log_service(vol, act, start="2024-10-27 00:30", end="2024-10-27 03:30").minutes


def test_back_to_back_records_do_not_overlap(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                             activity: volreg.Activity) -> None:
    """Half-open intervals: 09:00–12:00 and 12:00–14:00 are both accepted."""
    registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    registry.log_service(volunteer, activity, start="2024-03-05 12:00", end="2024-03-05 14:00")
    assert 2 == len(list(registry.service_records(volunteer=volunteer)))


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        ("2024-03-05 11:59", "2024-03-05 13:00", None),  # starts inside the other
        ("2024-03-05 08:00", "2024-03-05 09:01", None),  # ends inside the other
        ("2024-03-05 09:30", "2024-03-05 10:00", None),  # inside the other
        ("2024-03-05 09:00", None, 1),  # minutes-only, same start
        ("2024-03-05 08:30", None, 31),  # minutes-only reaching into the other
    ],
)
def test_overlap_is_refused_naming_the_other(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                             make_activity: Callable[..., volreg.Activity],
                                             start: str, end: str | None, minutes: int | None) -> None:
    """An interval meeting another live record of the same volunteer is refused; the error names it."""
    act = make_activity(start="2024-03-05 08:00", end="2024-03-05 17:00")
    first = registry.log_service(volunteer, act, start="2024-03-05 09:00", end="2024-03-05 12:00")
    before = table(registry)
    with pytest.raises(Conflict, match=first.id) as caught:
        registry.log_service(volunteer, act, start=start, end=end, minutes=minutes)
    assert first.id == caught.value.other
    assert before == table(registry)


def test_overlap_with_another_activity_is_refused(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                  activity: volreg.Activity,
                                                  make_activity: Callable[..., volreg.Activity]) -> None:
    """One person cannot serve two activities at once."""
    other = make_activity("另一场")
    registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    with pytest.raises(Conflict):
        registry.log_service(volunteer, other, start="2024-03-05 10:00", end="2024-03-05 11:00")


def test_other_volunteers_and_closed_records_do_not_block(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                          make_volunteer: Callable[..., volreg.Volunteer],
                                                          activity: volreg.Activity) -> None:
    """Another volunteer may serve at the same time; a rejected or void record frees the time."""
    first = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    registry.log_service(make_volunteer("韩梅梅"), activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    registry.reject_service(first, by="审核员", reason="签到表无此人")
    second = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    registry.void_service(second, by="审核员", reason="重复录入")
    registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")


# -- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "match", "kwargs"),
    [
        (InvalidValue, "'end' must be after 'start'", {"start": "2024-03-05 10:00", "end": "2024-03-05 09:00"}),
        (InvalidValue, "'end' must be after 'start'", {"start": "2024-03-05 10:00", "end": "2024-03-05 10:00"}),
        (InvalidValue, "'end' must be given, or 'minutes' must be", {"start": "2024-03-05 10:00"}),
        (InvalidValue, "'minutes' must be a positive whole number", {"start": "2024-03-05 10:00", "minutes": 0}),
        (InvalidValue, "'minutes' must be a positive whole number", {"start": "2024-03-05 10:00", "minutes": -30}),
        (InvalidValue, "'minutes' must be a positive whole number", {"start": "2024-03-05 10:00", "minutes": 1.5}),
        (InvalidValue, "'minutes' must be a positive whole number", {"start": "2024-03-05 10:00", "minutes": "60"}),
        (InvalidValue, "'minutes' must be a positive whole number", {"start": "2024-03-05 10:00", "minutes": True}),
        (InvalidValue, "'minutes' must be at most 1440", {"start": "2024-03-05 10:00", "minutes": 1441}),
        (InvalidValue, "'minutes' must be at most the 60 minutes",
         {"start": "2024-03-05 10:00", "end": "2024-03-05 11:00", "minutes": 61}),
        (InvalidValue, "'start' must lie within activity", {"start": "2024-03-05 08:59", "end": "2024-03-05 10:00"}),
        (InvalidValue, "'end' must lie within activity", {"start": "2024-03-05 16:00", "end": "2024-03-05 17:01"}),
        (InvalidValue, "'end' must lie within activity", {"start": "2024-03-05 16:00", "minutes": 61}),
        (InvalidValue, "'source' must be one of", {"start": "2024-03-05 10:00", "minutes": 60, "source": "phone"}),
        (InvalidValue, "'start' must be a date and time", {"start": "soon", "minutes": 60}),
        (InvalidValue, "'recorded_at' must not be before the service ended",
         {"start": "2024-03-05 10:00", "minutes": 60, "recorded_at": "2024-03-05 10:30"}),
        (InvalidValue, "'recorded_at' must not be in the future",
         {"start": "2024-03-05 10:00", "minutes": 60, "recorded_at": "2999-01-01"}),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                       activity: volreg.Activity, error: type[Exception],
                                                       match: str, kwargs: dict[str, Any]) -> None:
    """Each refusal names the field and the rule, and leaves the ledger and journal as they were."""
    journal = list(registry.db.query("SELECT * FROM journal"))
    with pytest.raises(error, match=match):
        registry.log_service(volunteer, activity, **kwargs)
    assert [] == table(registry)
    assert journal == list(registry.db.query("SELECT * FROM journal"))


def test_record_over_24_hours_is_refused(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                         make_activity: Callable[..., volreg.Activity]) -> None:
    """One record of more than 24 h is refused even inside a long activity."""
    camp = make_activity("应急救援演练", category="应急救援", start="2024-05-01 08:00", end="2024-05-03 08:00")
    with pytest.raises(InvalidValue, match="'end' must be at most 24 h after 'start'"):
        registry.log_service(volunteer, camp, start="2024-05-01 08:00", end="2024-05-02 08:01")
    assert 1440 == registry.log_service(volunteer, camp, start="2024-05-01 08:00", end="2024-05-02 08:00").minutes


def test_start_in_the_future_is_refused(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                        make_activity: Callable[..., volreg.Activity]) -> None:
    """Service is recorded once it has happened."""
    future = make_activity(start="2999-03-05 09:00", end="2999-03-05 17:00")
    with pytest.raises(InvalidValue, match="'start' must not be in the future"):
        registry.log_service(volunteer, future, start="2999-03-05 09:00", end="2999-03-05 10:00")
    assert [] == table(registry)


def test_activity_that_is_not_volunteer_service_is_refused(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                           make_activity: Callable[..., volreg.Activity]) -> None:
    """A 道德讲堂 session carries no service hours."""
    lecture = make_activity("道德讲堂", kind="moral_lecture", category="道德教育")
    with pytest.raises(RuleViolation, match="not volunteer service") as caught:
        registry.log_service(volunteer, lecture, start="2024-03-05 09:00", minutes=60)
    assert "volunteer_service" == caught.value.rule
    assert [] == table(registry)


def test_volunteer_not_yet_registered_is_refused(registry: volreg.Registry,
                                                 make_volunteer: Callable[..., volreg.Volunteer],
                                                 activity: volreg.Activity) -> None:
    """Service before the registration date is refused."""
    late_joiner = make_volunteer("王五", registered_on="2024-03-06")
    with pytest.raises(RuleViolation, match="registered on 2024-03-06"):
        registry.log_service(late_joiner, activity, start="2024-03-05 09:00", minutes=60)


def test_volunteer_not_active_is_refused(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                         activity: volreg.Activity) -> None:
    """A volunteer suspended since before the service is refused; service before suspension is accepted."""
    registry.set_volunteer_status(volunteer, "suspended", on="2024-03-05")
    with pytest.raises(RuleViolation, match="is suspended since 2024-03-05") as caught:
        registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=60)
    assert "active" == caught.value.rule
    registry.set_volunteer_status(volunteer, "withdrawn", on="2024-03-06")
    assert 60 == registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=60).minutes


def test_unknown_volunteer_or_activity(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                       activity: volreg.Activity) -> None:
    """Unknown references raise NotFound."""
    with pytest.raises(NotFound, match="no volunteer with id 'vol-nobody'"):
        registry.log_service("vol-nobody", activity, start="2024-03-05 09:00", minutes=60)
    with pytest.raises(NotFound, match="no activity"):
        registry.log_service(volunteer, "act-nothing", start="2024-03-05 09:00", minutes=60)
    with pytest.raises(NotFound, match="no service record"):
        registry.verify_service("svc-nothing", by="审核员")


def test_volunteer_by_public_number(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                    activity: volreg.Activity) -> None:
    """The public volunteer number is accepted wherever a volunteer is asked for."""
    record = registry.log_service(volunteer.number, activity, start="2024-03-05 09:00", minutes=60)
    assert volunteer.id == record.volunteer


def test_a_new_volunteer_number_follows_the_largest_of_its_form_and_never_reuses_a_merged_one(
        registry: volreg.Registry) -> None:
    """Numbers are V<year> and six digits, one more than the largest such number held or merged away; numbers
    of another form (imported, longer, with letters, lower case) neither block nor shape the sequence."""
    def register(name: str, number: str | None = None) -> volreg.Volunteer:
        return registry.register_volunteer(name, id_type="none", registered_on="2024-05-01", number=number)

    assert "V2024000001" == register("一").number
    for odd in ("V20249999999", "V2024abcdef", "v2024999999", "V202400001", "V2025000007", "V2024 99999"):
        register(f"导入{odd}", odd)
    assert "V2024000002" == register("二").number
    register("三", "V2024000041")
    kept, twin = register("四"), register("五")
    assert "V2024000043" == twin.number
    registry.merge_people(kept.person, twin.person, by="管理员", reason="重复")
    assert "V2024000044" == register("六").number  # 43 still finds the merged registration
    assert "V2025000008" == registry.register_volunteer("七", id_type="none", registered_on="2025-02-01").number


# -- lateness: 10 working days, China's calendar ------------------------------------------------------------


@pytest.mark.parametrize(("expected", "entered"), [(False, "2024-10-16 23:59"), (True, "2024-10-17 00:00")])
def test_late_across_national_day(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                  make_activity: Callable[..., volreg.Activity], expected: bool, entered: str) -> None:
    """An activity ending Friday 2024-09-27 is on time when entered 2024-10-16 and late on 2024-10-17."""
    act = make_activity(start="2024-09-27 09:00", end="2024-09-27 17:00")
    record = registry.log_service(volunteer, act, start="2024-09-27 09:00", minutes=120, recorded_at=entered)
    assert expected == record.late
    assert expected == registry.service_record(record.id).late


def test_late_limit_is_a_setting(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                 make_activity: Callable[..., volreg.Activity]) -> None:
    """A registry with a 5-working-day rule marks 2024-10-11 late for the same activity (10-10 is the 5th)."""
    registry.configure(late_after_working_days=5)
    act = make_activity(start="2024-09-27 09:00", end="2024-09-27 17:00")
    assert registry.log_service(volunteer, act, start="2024-09-27 09:00", minutes=60,
                                recorded_at="2024-10-11 09:00").late


# -- workflow --------------------------------------------------------------------------------------------


def test_only_verified_minutes_count(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                     activity: volreg.Activity) -> None:
    """Pending minutes are not in the default total until verified; rejected minutes never are."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=90, source="self")
    other = registry.log_service(volunteer, activity, start="2024-03-05 13:00", minutes=30, source="self")
    assert 0 == total(registry)
    assert 120 == total(registry, status="pending")
    verified = registry.verify_service(record, by="org-officer")
    registry.reject_service(other, by="org-officer", reason="未到场")
    assert ("verified", "org-officer") == (verified.status, verified.verified_by)
    assert 90 == total(registry)
    assert 30 == total(registry, status="rejected")
    assert "未到场" == registry.service_record(other.id).reason


def test_workflow_refusals(registry: volreg.Registry, volunteer: volreg.Volunteer,
                           activity: volreg.Activity) -> None:
    """Verify and reject only pending records; acting needs a name and a reason; no self-verification."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=90, source="self")
    with pytest.raises(RuleViolation, match="cannot verify their own"):
        registry.verify_service(record, by=volunteer)
    with pytest.raises(InvalidValue, match="'by' must name who acts"):
        registry.verify_service(record, by=None)
    with pytest.raises(InvalidValue, match="'reason' must say why"):
        registry.reject_service(record, by="审核员", reason=" ")
    registry.verify_service(record, by="审核员")
    with pytest.raises(RuleViolation, match="only pending records are verified"):
        registry.verify_service(record, by="审核员")
    with pytest.raises(RuleViolation, match="only pending records are rejected"):
        registry.reject_service(record, by="审核员", reason="x")


# -- corrections and voids -----------------------------------------------------------------------------------


def test_correction_supersedes_and_keeps_history(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                 activity: volreg.Activity) -> None:
    """A correction makes a new version; totals change; the old version and the reason stay."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    registry.verify_service(record, by="审核员")
    assert 180 == total(registry)
    new = registry.correct_service(record, by="审核员", reason="志愿者申请更正：10点到场", start="2024-03-05 10:00")
    assert (120, "verified", record.id, record.id) == (new.minutes, new.status, new.supersedes, new.lineage)
    assert 120 == total(registry)
    old = registry.service_record(record.id)
    assert ("superseded", "志愿者申请更正：10点到场", 180) == (old.status, old.reason, old.minutes)
    assert [record.id, new.id] == [v.id for v in registry.service_versions(new)]
    assert ["create", "verify", "correct"] == [c.action for c in registry.history(record.id)]
    assert "志愿者申请更正：10点到场" == registry.history(new.id)[0].note
    with pytest.raises(RuleViolation, match=f"its current version is '{new.id}'"):
        registry.correct_service(record, by="审核员", reason="again", minutes=30)


def test_correction_merges_changes(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                   activity: volreg.Activity) -> None:
    """Minutes alone drop the end; end alone recomputes minutes; the old record does not block the new."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    by_minutes = registry.correct_service(record, by="审核员", reason="扣除路途时间", minutes=150)
    assert (150, None) == (by_minutes.minutes, by_minutes.end)
    by_end = registry.correct_service(by_minutes, by="审核员", reason="按签退时间", end="2024-03-05 13:00")
    assert 240 == by_end.minutes
    assert "pending" == by_end.status


def test_correction_is_checked_like_a_new_record(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                 activity: volreg.Activity) -> None:
    """A correction that breaks a rule, changes nothing or names an unknown field is refused, writing nothing."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", end="2024-03-05 12:00")
    other = registry.log_service(volunteer, activity, start="2024-03-05 13:00", end="2024-03-05 14:00")
    before = table(registry)
    with pytest.raises(Conflict, match=other.id):
        registry.correct_service(record, by="审核员", reason="x", end="2024-03-05 13:30")
    with pytest.raises(InvalidValue, match="'end' must lie within"):
        registry.correct_service(record, by="审核员", reason="x", end="2024-03-05 18:00")
    with pytest.raises(InvalidValue, match="'status' cannot be corrected"):
        registry.correct_service(record, by="审核员", reason="x", status="verified")
    with pytest.raises(InvalidValue, match="'changes' must differ"):
        registry.correct_service(record, by="审核员", reason="x", start="2024-03-05 09:00")
    with pytest.raises(InvalidValue, match="'changes' must change at least one field"):
        registry.correct_service(record, by="审核员", reason="x")
    assert before == table(registry)


def test_correction_keeps_lateness_of_the_first_entry(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                                      make_activity: Callable[..., volreg.Activity]) -> None:
    """Correcting a timely record today does not make it late: lateness is judged by the first entry."""
    act = make_activity(start="2024-09-27 09:00", end="2024-09-27 17:00")
    record = registry.log_service(volunteer, act, start="2024-09-27 09:00", minutes=60, recorded_at="2024-09-28")
    assert registry.correct_service(record, by="审核员", reason="时长有误", minutes=90).late is False


def test_void_withdraws_and_keeps_history(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                          activity: volreg.Activity) -> None:
    """A void stops a verified record counting; the record and the reason remain."""
    record = registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=60)
    registry.verify_service(record, by="审核员")
    assert 60 == total(registry)
    voided = registry.void_service(record, by="审核员", reason="重复录入")
    assert ("void", "重复录入") == (voided.status, voided.reason)
    assert 0 == total(registry)
    assert 60 == total(registry, status="void")
    assert ["create", "verify", "void"] == [c.action for c in registry.history(record.id)]
    with pytest.raises(RuleViolation, match="is void and cannot be voided"):
        registry.void_service(record, by="审核员", reason="again")


def test_service_records_filters(registry: volreg.Registry, volunteer: volreg.Volunteer,
                                 make_volunteer: Callable[..., volreg.Volunteer], activity: volreg.Activity) -> None:
    """Reading records by volunteer and status."""
    mine = registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=60)
    registry.log_service(make_volunteer("韩梅梅"), activity, start="2024-03-05 09:00", minutes=60)
    assert [mine.id] == [r.id for r in registry.service_records(volunteer=volunteer)]
    assert 2 == len(list(registry.service_records(activity=activity, status="pending")))
    with pytest.raises(InvalidValue, match="'status' must be one of"):
        list(registry.service_records(status="approved"))
