"""Merging duplicate people: everything moves, the tombstone resolves, refusals change nothing, totals stay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import make_id_number
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ACTIVITY_DAYS, VOLUNTEERS, build_world, record_specs
from test_summaries import assert_summaries_exact

import volreg
from volreg.merging import document_of


def without_document(registry: volreg.Registry, person: Any) -> None:
    """Make a person as a sign-in sheet would: no identity document on record (set up directly)."""
    pid = getattr(person, "person", None) or getattr(person, "id", person)
    columns = registry.db["people"].columns_dict
    values = {"id_digest": None, "id_masked": None}
    if "id_type" in columns:
        values["id_type"] = "none"
    registry.db["people"].update(pid, values)


def dump(registry: volreg.Registry) -> list[str]:
    """The whole database as SQL text, to compare before and after a refused merge."""
    return list(registry.db.iterdump())


def log(registry: volreg.Registry, volunteer: Any, activity: Any, start: str, minutes: int, *,
        verified: bool = True) -> volreg.ServiceRecord:
    """A record entered on the day it happened (so it is never late), verified unless asked not to."""
    record = registry.log_service(volunteer, activity, start=start, minutes=minutes, recorded_at=start[:10] + " 23:00")
    return registry.verify_service(record, by="审核员") if verified else record


def totals(registry: volreg.Registry) -> dict[str, Any]:
    """What every query function answers in total (only the grouping by person may change with a merge)."""
    def col(result: volreg.Result, name: str) -> list[Any]:
        return [row[name] for row in result]

    return {
        "hours": [(r["minutes"], r["records"]) for r in volreg.hours(registry)],
        "hours_by_month": [(r["month"], r["minutes"], r["records"]) for r in volreg.hours(registry, by="month")],
        "hours_by_org": sorted((r["organisation"], r["minutes"], r["records"])
                               for r in volreg.hours(registry, by="organisation")),
        "pending": [(r["minutes"], r["records"]) for r in volreg.hours(registry, status="pending")],
        "activities": [(r["activities"], r["minutes"], r["service_records"])
                       for r in volreg.activity_counts(registry, by="studio")],
        "nominations": [(r["nominations"], r["endorsements"]) for r in volreg.nominations(registry)],
        "honour_roll": len(volreg.honour_roll(registry)),
        "star_hours": sum(round(h * 60) for h in col(volreg.star_levels(registry), "hours")),
    }


@pytest.fixture
def world(registry: volreg.Registry) -> dict[str, Any]:
    """Two records of one person, each with records, memberships, families, honours and nominations."""
    reg = registry
    city = reg.add_organisation("嘉峪关市文明办", kind="city_office")
    xinhua = reg.add_organisation("新华社区", kind="community", parent=city)
    changcheng = reg.add_organisation("长城社区", kind="community", parent=city)
    reg.define_honour("xiongguan_good_person", "雄关好人", level="city", categories=())
    reg.define_honour("volunteer_star", "志愿之星", level="city", categories=(), once=False)
    keep = reg.register_volunteer("王小明", id_number=make_id_number(), organisation=xinhua,
                                  registered_on="2023-05-01", skills=["急救"])
    dup = reg.register_volunteer("王小明", id_number=make_id_number(), organisation=changcheng,
                                 registered_on="2022-03-01", phone="13812345678", skills=["摄影", "急救"])
    without_document(reg, dup)
    other = reg.add_person("李评审")
    third = reg.add_person("赵好人")
    act1 = reg.add_activity("学雷锋", category="敬老助老", organiser=xinhua, start="2024-03-05 08:00",
                            end="2024-03-05 17:00")
    act2 = reg.add_activity("文明出行", category="环保公益", organiser=changcheng, start="2024-04-01 08:00",
                            end="2024-04-01 17:00")
    records = {
        "keep": log(reg, keep, act1, "2024-03-05 08:00", 120),
        "dup": log(reg, dup, act1, "2024-03-05 10:00", 90),
        "dup_pending": log(reg, dup, act2, "2024-04-01 09:00", 60, verified=False),
    }
    records["dup_corrected"] = reg.correct_service(records["dup"], by="审核员", reason="更正", minutes=100)
    reg.add_membership(keep.person, xinhua)
    reg.add_membership(dup.person, xinhua, role="队长")
    reg.add_membership(dup.person, changcheng, role="队员")
    both = reg.add_family("王家", members=[keep.person, dup.person])
    dup_family = reg.add_family("王小明家庭", members=[dup.person, other])
    studio = reg.add_studio("王小明爱心工作室", founder=dup.person, organisation=xinhua)
    honours = {
        "keep": reg.award("雄关好人", keep.person, awarded_on="2023-09-01"),
        "dup": reg.award("志愿之星", dup.person, awarded_on="2024-09-01"),
    }
    as_nominee = reg.nominate("志愿之星", dup.person, category=None, nominator=city, at="2024-06-01 09:00")
    as_nominator = reg.nominate("志愿之星", third, category=None, nominator=dup.person, at="2024-06-01 09:00")
    reviewed = reg.nominate("志愿之星", other, category=None, nominator=city, at="2024-06-01 09:00")
    for n in (as_nominee, reviewed):
        reg.advance(n, "verified", by="文明办", at="2024-06-02 09:00")
        reg.advance(n, "public_review", by="文明办", at="2024-06-03 09:00", closes="2024-06-10 00:00")
    reg.endorse(as_nominee, dup.person, at="2024-06-04 09:00")       # a vote as the person: a digest of the id
    reg.endorse(reviewed, dup.person, at="2024-06-04 09:00")
    reg.endorse(reviewed, keep.person, at="2024-06-04 10:00")         # the kept person voted too
    reg.advance(reviewed, "expert_review", by="文明办", at="2024-06-11 09:00")
    reg.assign_reviewer(reviewed, third, by="文明办", at="2024-06-11 10:00")
    reg.score(reviewed, third, 88, by=third, at="2024-06-12 10:00")
    assigned_dup = reg.nominate("志愿之星", reg.add_person("钱某"), category=None, nominator=city,
                                at="2024-06-01 09:00")
    reg.advance(assigned_dup, "verified", by="文明办", at="2024-06-02 09:00")
    reg.advance(assigned_dup, "public_review", by="文明办", at="2024-06-03 09:00", closes="2024-06-10 00:00")
    reg.advance(assigned_dup, "expert_review", by="文明办", at="2024-06-11 09:00")
    reg.assign_reviewer(assigned_dup, dup.person, by="文明办", at="2024-06-11 10:00")
    reg.score(assigned_dup, dup.person, 75, by=dup.person, at="2024-06-12 10:00")
    return dict(city=city, xinhua=xinhua, changcheng=changcheng, keep=keep, dup=dup, other=other, third=third,
                act1=act1, act2=act2, records=records, both=both, dup_family=dup_family, studio=studio,
                honours=honours, as_nominee=as_nominee, as_nominator=as_nominator, reviewed=reviewed,
                assigned_dup=assigned_dup)


def test_a_merge_moves_everything_and_keeps_every_total(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Records, registration, memberships, families, studio, honours, nominations, reviews and votes move."""
    keep, dup = world["keep"], world["dup"]
    assert [] == volreg.check(registry)
    before = totals(registry)
    versions = {r["id"]: (r["minutes"], r["status"], r["lineage"])
                for r in registry.session.rows("SELECT * FROM service_records")}

    kept = registry.merge_people(keep.person, dup.person, by="文明办", reason="同一人两次登记")

    assert keep.person == kept.id and (dup.person,) == kept.merged_from
    assert "13812345678" == kept.phone and "王小明" == kept.name           # a blank filled from the duplicate
    assert before == totals(registry)
    assert [] == volreg.check(registry)
    assert_summaries_exact(registry)
    # Every record version moved to the kept registration, with its minutes, status and lineage unchanged.
    after = {r["id"]: (r["minutes"], r["status"], r["lineage"], r["volunteer"])
             for r in registry.session.rows("SELECT * FROM service_records")}
    assert versions == {k: v[:3] for k, v in after.items()}
    assert {keep.id} == {v[3] for v in after.values()}
    assert ["superseded", "verified"] == [v.status for v in registry.service_versions(world["records"]["dup_corrected"])]
    # One registration: the earlier date, both skills, the kept organisation and number.
    merged = registry.volunteer(keep.id)
    assert (keep.number, "2022-03-01", ("急救", "摄影"), world["xinhua"].id) == (
        merged.number, merged.registered_on.isoformat(), merged.skills, merged.organisation)
    assert [keep.id] == [v.id for v in registry.volunteers()]
    # The duplicate's number and id still find the kept registration.
    assert keep.id == registry.volunteer(dup.number).id == registry.volunteer(dup.id).id
    # Memberships: the kept person's own row wins, its blank role takes the duplicate's.
    assert [("changcheng", "队员"), ("xinhua", "队长")] == sorted(
        ("xinhua" if r["organisation"] == world["xinhua"].id else "changcheng", r["role"])
        for r in registry.session.rows("SELECT * FROM memberships WHERE person = ?", [keep.person]))
    assert 0 == registry.session.scalar("SELECT count(*) FROM memberships WHERE person = ?", [dup.person])
    assert [keep.person] == list(registry.family(world["both"]).members)
    assert keep.person in registry.family(world["dup_family"]).members
    assert keep.person == registry.studio(world["studio"]).founder
    assert {world["honours"]["keep"].id, world["honours"]["dup"].id} == {h.id for h in registry.honours_of(keep.person)}
    assert [world["as_nominee"].id] == [n.id for n in registry.nominations_of(keep.person)]
    assert keep.person == registry.nomination(world["as_nominator"]).nominator
    assert [keep.person] == [a.reviewer for a in registry.reviewers(world["assigned_dup"])]
    assert [keep.person] == [s.reviewer for s in registry.scores(world["assigned_dup"])]
    # Votes cast as the duplicate now count as the kept person's, unless the kept person voted too.
    with pytest.raises(volreg.Duplicate):
        registry.endorse(world["as_nominee"], keep.person, at="2024-06-05 09:00")
    assert 2 == registry.endorsement_count(world["reviewed"])


def test_the_tombstone_resolves_to_the_kept_person(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """The old id answers the kept person, says it was merged, and holds no personal data any more."""
    keep, dup = world["keep"], world["dup"]
    registry.merge_people(keep.person, dup.person, by="文明办", reason="同一人")
    found = registry.person(dup.person)
    assert keep.person == found.id and dup.person in found.merged_from
    assert [keep.person] == [p.id for p in registry.people(name="王小明")]
    tomb = registry.session.one("SELECT * FROM people WHERE id = ?", [dup.person])
    assert tomb is not None
    assert (keep.person, "", None, "") == (tomb["merged_into"], tomb["name"], tomb["phone"], tomb["area"])
    # Writes naming the old id reach the kept person.
    registry.update_person(dup.person, area="新华路", by="文明办")
    assert "新华路" == registry.person(keep.person).area
    again = registry.log_service(dup.number, world["act2"], start="2024-04-01 12:00", minutes=30,
                                 recorded_at="2024-04-01 23:00")
    assert keep.id == again.volunteer


def test_the_merged_person_gets_stars_and_awards_from_the_combined_hours(registry: volreg.Registry) -> None:
    """60 h and 50 h on two records of one person make one volunteer of 110 h: one star, PVSA bronze."""
    org = registry.add_organisation("新华社区", kind="community")
    a = registry.register_volunteer("张三", id_number=make_id_number("19800101"), organisation=org,
                                    registered_on="2024-01-01")
    b = registry.register_volunteer("张三", id_number=make_id_number("19800101"), organisation=org,
                                    registered_on="2024-01-01")
    without_document(registry, b)
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 12) for d in (5, 15, 25)]
    for n, day in enumerate(days[:22]):
        act = registry.add_activity(f"活动{n}", category="敬老助老", organiser=org, start=f"{day} 07:00",
                                    end=f"{day} 19:00")
        log(registry, a if n < 12 else b, act, f"{day} 07:00", 300)
    rule = volreg.rules.PVSA
    stars = {r["volunteer"]: (r["hours"], r["star"]) for r in volreg.star_levels(registry)}
    assert {a.id: (60.0, 0), b.id: (50.0, 0)} == stars
    assert {None} == {r["level"] for r in volreg.eligible(registry, rule, on="2024-12-31")}

    registry.merge_people(a.person, b.person, by="文明办", reason="同一人")

    assert [(a.id, 110.0, 1)] == [(r["volunteer"], r["hours"], r["star"]) for r in volreg.star_levels(registry)]
    assert [(a.id, rule.levels[0])] == [(r["volunteer"], r["level"]) for r in volreg.eligible(registry, rule,
                                                                                                on="2024-12-31")]


def test_a_registration_date_between_the_two_still_counts(registry: volreg.Registry) -> None:
    """The merged registration dates from the earlier one, so as-of stars on a day between include it."""
    org = registry.add_organisation("新华社区", kind="community")
    early = registry.register_volunteer("张三", id_number=make_id_number(), organisation=org, registered_on="2023-01-01")
    late = registry.register_volunteer("张三", id_number=make_id_number(), organisation=org, registered_on="2024-06-01")
    without_document(registry, early)
    registry.merge_people(late.person, early.person, by="文明办", reason="同一人")
    assert [late.id] == [r["volunteer"] for r in volreg.star_levels(registry, as_of="2024-01-01 12:00")]


def test_the_document_moves_when_the_kept_person_has_none(registry: volreg.Registry) -> None:
    """The kept person takes the duplicate's document, so looking it up finds the kept person."""
    number = make_id_number()
    sheet = registry.add_person("王小明", phone="13812345678")
    carded = registry.add_person("王小明", id_number=number)
    registry.merge_people(sheet, carded, by="文明办", reason="同一人")
    assert sheet.id == registry.person_by_id_number(number).id
    with pytest.raises(volreg.Duplicate, match=sheet.id):
        registry.add_person("王小明", id_number=number)
    volunteer = registry.register_volunteer("王小明", id_number=number, registered_on="2024-01-01")
    assert sheet.id == volunteer.person


# -- refusals -----------------------------------------------------------------------------------------


def test_refused_two_documents_of_one_type(registry: volreg.Registry) -> None:
    """Two different resident ID numbers are two people."""
    a = registry.add_person("王小明", id_number=make_id_number())
    b = registry.add_person("王小明", id_number=make_id_number())
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=r"different documents of the same type.*\[rule: documents\]"):
        registry.merge_people(a, b, by="文明办", reason="同名")
    assert before == dump(registry)


def test_refused_a_once_title_held_by_both(registry: volreg.Registry) -> None:
    """Merged, one person would hold a title given once twice; the error names both honours."""
    registry.define_honour("xiongguan_good_person", "雄关好人", level="city", categories=())
    a, b = registry.add_person("王小明"), registry.add_person("王小明")
    ha = registry.award("雄关好人", a, awarded_on="2023-09-01")
    hb = registry.award("雄关好人", b, awarded_on="2024-09-01")
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match="given once") as error:
        registry.merge_people(a, b, by="文明办", reason="同名")
    assert ha.id in str(error.value) and hb.id in str(error.value)
    assert before == dump(registry)


def test_refused_overlapping_live_records(registry: volreg.Registry) -> None:
    """Two live records at one time: the error names both, so the office can void one and merge again."""
    org = registry.add_organisation("新华社区", kind="community")
    a = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org, registered_on="2024-01-01")
    b = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org, registered_on="2024-01-01")
    without_document(registry, b)
    act = registry.add_activity("学雷锋", category="敬老助老", organiser=org, start="2024-03-05 08:00",
                                end="2024-03-05 17:00")
    ra = log(registry, a, act, "2024-03-05 09:00", 120)
    rb = log(registry, b, act, "2024-03-05 10:00", 60, verified=False)
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=r"\[rule: overlap\]") as error:
        registry.merge_people(a, b, by="文明办", reason="同一人")
    assert ra.id in str(error.value) and rb.id in str(error.value)
    assert before == dump(registry)
    registry.void_service(rb, by="文明办", reason="重复记录")
    registry.merge_people(a, b, by="文明办", reason="同一人")
    assert 120 == volreg.hours(registry)[0]["minutes"]


def test_back_to_back_records_are_not_an_overlap(registry: volreg.Registry) -> None:
    """Half-open intervals: one record ending when the other starts does not refuse the merge."""
    org = registry.add_organisation("新华社区", kind="community")
    a = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org, registered_on="2024-01-01")
    b = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org, registered_on="2024-01-01")
    without_document(registry, b)
    act = registry.add_activity("学雷锋", category="敬老助老", organiser=org, start="2024-03-05 08:00",
                                end="2024-03-05 17:00")
    log(registry, a, act, "2024-03-05 09:00", 60)
    log(registry, b, act, "2024-03-05 10:00", 60)
    registry.merge_people(a, b, by="文明办", reason="同一人")
    assert [] == volreg.check(registry)


@pytest.mark.parametrize("case", ["self", "into_tombstone", "tombstone_into", "self_by_number"])
def test_refused_self_and_tombstones(registry: volreg.Registry, case: str) -> None:
    """A person into themself, into a tombstone, or a tombstone into anyone is refused, changing nothing."""
    a, b, c = (registry.add_person(n) for n in ("王小明", "王小明", "王小明"))
    registry.merge_people(a, b, by="文明办", reason="同一人")
    keep, dup, rule = {
        "self": (c.id, c.id, "same_person"),
        "into_tombstone": (b.id, c.id, "merged"),
        "tombstone_into": (c.id, b.id, "merged"),
        "self_by_number": (a.id, a.id, "same_person"),
    }[case]
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=rf"\[rule: {rule}\]"):
        registry.merge_people(keep, dup, by="文明办", reason="同一人")
    assert before == dump(registry)


def test_refused_an_anonymised_person_kept_for_one_who_is_not(registry: volreg.Registry) -> None:
    """Personal data must not be tied to an anonymised person; the other way round is fine."""
    a, b = registry.add_person("王小明"), registry.add_person("王小明", phone="13812345678")
    registry.anonymise(a)
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=r"\[rule: anonymised\]"):
        registry.merge_people(a, b, by="文明办", reason="同一人")
    assert before == dump(registry)
    assert b.id == registry.merge_people(b, a, by="文明办", reason="同一人").id


def test_refused_a_merge_that_breaks_a_title_age_rule(registry: volreg.Registry) -> None:
    """A 好少年 honour moved onto a kept person whose birth date makes them an adult is refused."""
    registry.define_honour("good_youth", "嘉峪关好少年", level="city", categories=(), age=(6, 18))
    adult = registry.add_person("王小明", birth_date="1980-01-01")
    youth = registry.add_person("王小明", birth_date="2012-01-01")
    registry.award("嘉峪关好少年", youth, awarded_on="2024-06-01")
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=r"\[rule: honour_rule\]"):
        registry.merge_people(adult, youth, by="文明办", reason="同一人")
    assert before == dump(registry)


def test_refused_a_merge_that_makes_a_reviewer_review_themself(registry: volreg.Registry) -> None:
    """The duplicate reviews the kept person's nomination: merged, they would review themself."""
    registry.define_honour("volunteer_star", "志愿之星", level="city", categories=(), once=False)
    city = registry.add_organisation("文明办", kind="city_office")
    a, b = registry.add_person("王小明"), registry.add_person("王小明")
    n = registry.nominate("志愿之星", a, category=None, nominator=city, at="2024-06-01 09:00")
    registry.advance(n, "verified", by="文明办", at="2024-06-02 09:00")
    registry.advance(n, "public_review", by="文明办", at="2024-06-03 09:00", closes="2024-06-10 00:00")
    registry.advance(n, "expert_review", by="文明办", at="2024-06-11 09:00")
    registry.assign_reviewer(n, b, by="文明办", at="2024-06-11 10:00")
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=r"reviewer .*\(nominee\).*\[rule: reviewer_conflict\]"):
        registry.merge_people(a, b, by="文明办", reason="同一人")
    assert before == dump(registry)


@pytest.mark.parametrize("by, reason, field", [(None, "同一人", "by"), ("文明办", "", "reason"),
                                               ("文明办", None, "reason")])
def test_refused_without_who_or_why(registry: volreg.Registry, by: Any, reason: Any, field: str) -> None:
    """A merge is always attributed and explained."""
    a, b = registry.add_person("王小明"), registry.add_person("王小明")
    before = dump(registry)
    with pytest.raises(volreg.InvalidValue, match=f"'{field}'"):
        registry.merge_people(a, b, by=by, reason=reason)
    with pytest.raises(volreg.NotFound):
        registry.merge_people(a, "per-nobody", by="文明办", reason="同一人")
    assert before == dump(registry)


# -- the journal, numbers, anonymisation ---------------------------------------------------------------


def test_the_journal_names_every_moved_row(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """Both people's history shows the merge, who did it, why, and the ids moved per table."""
    keep, dup = world["keep"], world["dup"]
    registry.merge_people(keep.person, dup.person, by="文明办", reason="同一人两次登记")
    mine, theirs = registry.history(keep.person)[-1], registry.history(dup.person)[-1]
    assert ("merge", "文明办", "同一人两次登记") == (mine.action, mine.actor, mine.note) == (
        theirs.action, theirs.actor, theirs.note)
    assert keep.person == theirs.after["merged_into"] and dup.person == mine.after["merged_from"]
    moved = mine.after["moved"]
    records = {r["id"] for r in registry.session.rows("SELECT id FROM service_records")} - {world["records"]["keep"].id}
    assert records == set(moved["service_records"])
    assert [dup.id] == moved["volunteers"]
    assert {world["honours"]["dup"].id} == set(moved["honours"])
    assert {world["as_nominee"].id} == set(moved["nominations"])
    assert {world["as_nominator"].id} == set(moved["nominations.nominator_person"])
    assert {world["studio"].id} == set(moved["studios"])
    assert {world["assigned_dup"].id} == set(moved["reviewer_assignments"]) == set(moved["review_scores"])
    assert [world["as_nominee"].id] == moved["endorsements"]      # the vote on `reviewed` stayed as cast
    assert 2 == len(moved["family_members"]) == len(moved["memberships"])
    assert "13812345678" not in json.dumps([mine.before, mine.after, theirs.before, theirs.after], ensure_ascii=False)


def test_a_merged_number_is_never_given_out_again(registry: volreg.Registry) -> None:
    """The duplicate's number stays reserved for its alias."""
    a = registry.register_volunteer("王小明", id_number=make_id_number(), registered_on="2024-01-01")
    b = registry.register_volunteer("王小明", id_number=make_id_number(), registered_on="2024-01-01")
    without_document(registry, b)
    registry.merge_people(a, b, by="文明办", reason="同一人")
    c = registry.register_volunteer("李四", id_number=make_id_number(), registered_on="2024-01-01")
    assert b.number < c.number
    with pytest.raises(volreg.Duplicate, match="'number'"):
        registry.register_volunteer("赵五", id_number=make_id_number(), registered_on="2024-01-01", number=b.number)


def test_merging_a_merged_person_again_flattens_the_chain(registry: volreg.Registry) -> None:
    """A merged into B, then B into C: A and B both answer C, and B's old number still works."""
    people = [registry.register_volunteer("王小明", id_number=make_id_number(), registered_on="2024-01-01")
              for _ in range(3)]
    for v in people[:2]:
        without_document(registry, v)
    registry.merge_people(people[1], people[0], by="文明办", reason="同一人")
    registry.merge_people(people[2], people[1], by="文明办", reason="同一人")
    final = people[2]
    assert {final.person} == {registry.person(v.person).id for v in people}
    assert {final.id} == {registry.volunteer(v.number).id for v in people}
    assert sorted([people[0].person, people[1].person]) == sorted(registry.person(final.person).merged_from)
    assert [] == volreg.check(registry)


def test_anonymising_the_kept_person_erases_the_tombstone_history_too(registry: volreg.Registry,
                                                                       world: dict[str, Any]) -> None:
    """The duplicate's journal entries held the same person's data; anonymisation reaches them."""
    keep, dup = world["keep"], world["dup"]
    registry.merge_people(keep.person, dup.person, by="文明办", reason="同一人")
    registry.anonymise(dup.person)       # the old id names the kept person
    assert registry.person(keep.person).anonymised
    for change in registry.history(dup.person) + registry.history(dup.id):
        assert "王小明" not in json.dumps([change.before, change.after], ensure_ascii=False)


def test_an_archive_keeps_merges(registry: volreg.Registry, world: dict[str, Any], tmp_path: Any) -> None:
    """Export and restore: the tombstone and the alias number still resolve."""
    keep, dup = world["keep"], world["dup"]
    registry.merge_people(keep.person, dup.person, by="文明办", reason="同一人")
    path = tmp_path / "backup.jsonl"
    volreg.export_registry(registry, path)
    restored = volreg.import_registry(path, key="test-key-16-bytes")
    assert keep.person == restored.person(dup.person).id
    assert keep.id == restored.volunteer(dup.number).id
    assert [] == volreg.check(restored)


# -- totals over random registries ----------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=record_specs, keep=st.integers(0, VOLUNTEERS - 1), dup=st.integers(0, VOLUNTEERS - 1))
def test_totals_and_check_are_the_same_after_any_merge(specs: list[Any], keep: int, dup: int) -> None:
    """Over random registries: a merge keeps every total and the summaries exact, or changes nothing."""
    registry = volreg.open(":memory:", key="k-key-of-16-bytes")
    volunteers, activities = build_world(registry)
    for v, a, slot, minutes, status in specs:
        day = ACTIVITY_DAYS[a]
        record = registry.log_service(volunteers[v], activities[a], start=f"{day} {8 + slot:02d}:00",
                                      minutes=minutes, recorded_at=f"{day} 23:00")
        if status == "verified":
            registry.verify_service(record, by="审核员")
        elif status == "rejected":
            registry.reject_service(record, by="审核员", reason="test")
    without_document(registry, volunteers[dup])
    before, problems, state = totals(registry), volreg.check(registry), dump(registry)
    try:
        registry.merge_people(volunteers[keep].person, volunteers[dup].person, by="文明办", reason="同一人")
    except volreg.RuleViolation as error:
        assert error.rule in ("same_person", "overlap")
        assert state == dump(registry)
        return
    assert before == totals(registry)
    assert problems == volreg.check(registry)
    assert_summaries_exact(registry)
    assert 1 == len(list(registry.volunteers(person=volunteers[keep].person)))


# -- possible duplicates ------------------------------------------------------------------------------------


def test_possible_duplicates_finds_each_reason_with_masked_names(registry: volreg.Registry) -> None:
    """Each reason is found, scored, and shown without personal data in clear."""
    org = registry.add_organisation("新华社区", kind="community")
    card = registry.register_volunteer("王小明", id_number=make_id_number("19900101"), organisation=org,
                                       registered_on="2024-01-01", phone="13812345678")
    phone = registry.add_person("王小明", phone="13812345678")
    born = registry.add_person("王小明", birth_date="1990-01-01")
    similar = registry.add_person("王晓明")
    registry.add_membership(similar, org)
    registry.add_person("李四", phone="13812345678")          # same phone, other name: not a reason
    found = {(r["person"], r["other"]): r for r in volreg.possible_duplicates(registry, min_score=0)}

    def pair(x: Any, y: Any) -> dict[str, Any]:
        return found[tuple(sorted((x.id if hasattr(x, "id") else x, y.id)))]  # type: ignore[return-value]

    assert ("same_name_phone", 0.9) == (pair(card.person, phone)["reasons"], pair(card.person, phone)["score"])
    assert "same_name_birth_date" == pair(card.person, born)["reasons"]
    assert ("similar_name_same_organisation", 0.5) == (pair(card.person, similar)["reasons"],
                                                       pair(card.person, similar)["score"])
    assert 3 == len(found)
    text = str(volreg.possible_duplicates(registry, min_score=0))
    assert "王小明" not in text and "13812345678" not in text and "王*明" in text
    assert card.number in text
    assert [0.9] == [r["score"] for r in volreg.possible_duplicates(registry, min_score=0.85)]


def test_possible_duplicates_combines_reasons_and_leaves_out_merged_and_two_documents(
        registry: volreg.Registry) -> None:
    """Two reasons score higher than either; a merged person and two different cards are not suggested."""
    org = registry.add_organisation("新华社区", kind="community")
    a = registry.add_person("王小明", phone="13812345678", birth_date="1990-01-01")
    b = registry.add_person("王小明", phone="13812345678", birth_date="1990-01-01")
    registry.add_membership(a, org)
    registry.add_membership(b, org)
    registry.register_volunteer("李四", id_number=make_id_number(), organisation=org, registered_on="2024-01-01",
                                phone="13900001111")
    registry.register_volunteer("李四", id_number=make_id_number(), organisation=org, registered_on="2024-01-01",
                                phone="13900001111")
    [row] = volreg.possible_duplicates(registry)
    assert {a.id, b.id} == {row["person"], row["other"]}
    assert round(1 - 0.1 * 0.2 * 0.4, 2) == row["score"]
    assert ["same_name_phone", "same_name_birth_date", "same_name_same_organisation"] == row["reasons"].split(", ")
    registry.merge_people(a, b, by="文明办", reason="同一人")
    assert [] == list(volreg.possible_duplicates(registry, min_score=0))


@pytest.mark.parametrize("value", [-0.1, 1.5, "0.5", None, True, float("nan")])
def test_possible_duplicates_refuses_a_bad_min_score(registry: volreg.Registry, value: Any) -> None:
    """min_score is a number from 0 to 1."""
    with pytest.raises(volreg.InvalidValue, match="'min_score'"):
        volreg.possible_duplicates(registry, min_score=value)


# -- the command line ---------------------------------------------------------------------------------------


def test_the_command_line_lists_and_merges(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`volreg duplicates` lists the pair masked; `volreg merge` merges it; a refusal is one line, status 1."""
    from click.testing import CliRunner

    from volreg.cli import cli

    monkeypatch.setenv("VOLREG_KEY", "cli-key-of-16-bytes")
    path = tmp_path / "city.db"
    with volreg.open(path) as reg:
        a = reg.add_person("王小明", phone="13812345678")
        b = reg.add_person("王小明", phone="13812345678")
        c = reg.add_person("李四", id_number=make_id_number())
        d = reg.add_person("李四", id_number=make_id_number())
    runner = CliRunner()
    listed = runner.invoke(cli, ["duplicates", str(path), "--json"])
    assert 0 == listed.exit_code, listed.output
    rows = json.loads(listed.output)
    assert [({a.id, b.id}, 0.9, "王*明")] == [({r["person"], r["other"]}, r["score"], r["person_name"]) for r in rows]
    assert "13812345678" not in listed.output and "王小明" not in listed.output
    assert [] == json.loads(runner.invoke(cli, ["duplicates", str(path), "--json", "--min-score", "0.95"]).output)
    refused = runner.invoke(cli, ["merge", str(path), c.id, d.id, "--by", "文明办", "--reason", "同名"])
    assert 1 == refused.exit_code and "[rule: documents]" in refused.output
    merged = runner.invoke(cli, ["merge", str(path), a.id, b.id, "--by", "文明办", "--reason", "同名同手机号"])
    assert 0 == merged.exit_code, merged.output
    assert f"merged {b.id} into {a.id}" in merged.output
    with volreg.open(path) as reg:
        assert a.id == reg.person(b.id).id
        assert "同名同手机号" == reg.history(b.id)[-1].note
    missing = runner.invoke(cli, ["merge", str(path), a.id, b.id, "--by", "文明办"])
    assert 1 == missing.exit_code and "--reason" in missing.output


def test_the_journal_keeps_both_registrations_as_they_were(registry: volreg.Registry, world: dict[str, Any]) -> None:
    """The kept registration's change and the merged one's last state are in their history."""
    keep, dup = world["keep"], world["dup"]
    registry.merge_people(keep.person, dup.person, by="文明办", reason="同一人")
    kept, alias = registry.history(keep.id)[-1], registry.history(dup.id)[-1]
    assert ("2023-05-01", "2022-03-01") == (kept.before["registered_on"], kept.after["registered_on"])
    assert (dup.number, keep.id) == (alias.before["number"], alias.after["merged_into"])


# -- documents of several types ---------------------------------------------------------------------------------


def test_document_of_reads_the_type_where_there_is_one() -> None:
    """A row without an id_type column holds a resident card; type none or no digest is no document."""
    assert ("resident", "d1") == document_of({"id_digest": "d1"})
    assert ("passport", "d1") == document_of({"id_digest": "d1", "id_type": "passport"})
    assert ("resident", "d1") == document_of({"id_digest": "d1", "id_type": None})
    assert None is document_of({"id_digest": None, "id_type": "passport"})
    assert None is document_of({"id_digest": "d1", "id_type": "none"})


def test_a_document_of_another_type_stays_on_the_tombstone_and_finds_the_kept_person(
        registry: volreg.Registry) -> None:
    """Two documents of different types are one person's; the duplicate's still finds the kept person."""
    card = make_id_number()
    kept = registry.add_person("王小明", id_number=card)
    dup = registry.add_person("王小明", id_type="passport", id_number="E12345678", id_country="AU")
    before = dump(registry)
    registry.merge_people(kept, dup, by="文明办", reason="同一人两种证件")
    assert before != dump(registry)
    tomb = registry.session.one("SELECT * FROM people WHERE id = ?", [dup.id])
    assert tomb is not None and tomb["id_digest"] and "" == tomb["name"]
    by_passport = registry.person_by_id_number("E12345678", id_type="passport", id_country="AU")
    assert kept.id == by_passport.id == registry.person_by_id_number(card).id
    volunteer = registry.register_volunteer("王小明", id_type="passport", id_number="E12345678", id_country="AU",
                                            registered_on="2024-01-01")
    assert kept.id == volunteer.person
    registry.anonymise(kept)
    assert None is registry.session.one("SELECT id_digest FROM people WHERE id = ?", [dup.id])["id_digest"]  # type: ignore[index]


def test_imports_and_references_find_the_kept_volunteer(registry: volreg.Registry, tmp_path: Any) -> None:
    """A file naming the merged registration's number, and a family member given by its id, reach the kept one."""
    org = registry.add_organisation("新华社区", kind="community")
    card = make_id_number()
    keep = registry.register_volunteer("王小明", id_number=card, organisation=org, registered_on="2024-01-01")
    dup = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org,
                                      registered_on="2024-01-01")
    without_document(registry, dup)
    registry.merge_people(keep, dup, by="文明办", reason="同一人")
    sheet = tmp_path / "volunteers.csv"
    sheet.write_text(f"姓名,身份证号,志愿者编号,居住区域\n王小明,{card},{dup.number},新华路\n", encoding="utf-8")
    report = volreg.import_file(registry, sheet, kind="volunteers")
    assert [] == list(report.problems)
    assert "新华路" == registry.person(keep.person).area
    family = registry.add_family("王家", members=[dup.id])
    assert [keep.person] == list(family.members)
