"""The 我推荐我评议身边好人 flow: nominations, transitions, endorsements, reviewers, scores and the queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import volreg
from volreg.nominating import next_statuses

# A timetable for walking one nomination through every stage (registry zone, Asia/Shanghai).
T = {
    "submitted": "2024-03-01 09:00",
    "verified": "2024-03-02 09:00",
    "public_review": "2024-03-03 09:00",
    "closes": "2024-03-10 09:00",
    "expert_review": "2024-03-10 09:00",
    "publicity": "2024-03-12 09:00",
    "decide": "2024-03-19 09:00",
}
STAGES = ("submitted", "verified", "public_review", "expert_review", "publicity")


@pytest.fixture
def nominee(registry: volreg.Registry) -> volreg.Person:
    """The nominee."""
    return registry.add_person("王小明", birth_date="1975-04-01")


@pytest.fixture
def nominator(registry: volreg.Registry) -> volreg.Person:
    """A neighbour who nominates."""
    return registry.add_person("李四")


@pytest.fixture
def expert(registry: volreg.Registry) -> volreg.Person:
    """An expert reviewer with no link to anyone."""
    return registry.add_person("专家甲")


@pytest.fixture
def walk(registry: volreg.Registry, nominee: volreg.Person, nominator: volreg.Person,
         expert: volreg.Person) -> Callable[..., volreg.Nomination]:
    """Make a 中国好人 nomination and move it up to ``status`` along the timetable."""

    def make(status: str = "submitted", **overrides: Any) -> volreg.Nomination:
        overrides.setdefault("category", "助人为乐")
        overrides.setdefault("nominator", nominator)
        overrides.setdefault("period", "2024-Q1")
        nomination = registry.nominate("中国好人", overrides.pop("nominee", nominee), at=T["submitted"], **overrides)
        for stage in STAGES[1: STAGES.index(status) + 1]:
            if stage == "public_review":
                nomination = registry.advance(nomination, stage, by="文明办", at=T[stage], closes=T["closes"])
                continue
            if stage == "publicity":
                if not registry.reviewers(nomination):
                    registry.assign_reviewer(nomination, expert, by="文明办", at=T["expert_review"])
                registry.score(nomination, expert, 90, at=T["expert_review"])
            nomination = registry.advance(nomination, stage, by="文明办", at=T[stage])
        return nomination

    return make


def _table(registry: volreg.Registry, table: str) -> list[tuple]:
    return [tuple(r) for r in registry.db.execute(f"SELECT * FROM [{table}] ORDER BY rowid").fetchall()]


# -- the flow ----------------------------------------------------------------------------------------


def test_full_flow_end_to_end(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                              nominee: volreg.Person, expert: volreg.Person) -> None:
    """One nomination from submission to award: every step recorded, the honour linked to it."""
    nomination = walk("publicity")
    assert "publicity" == nomination.status
    assert "2024-03-19 09:00" == f"{nomination.publicity_closes:%Y-%m-%d %H:%M}"  # 公示: 7 days by default
    decided = registry.decide(nomination, awarded=True, by="文明办", on="2024-03-19", at=T["decide"],
                              note="公示无异议")
    assert ("awarded", True) == (decided.status, decided.final)
    honour = registry.honour_record(decided.honour_record)
    assert (decided.id, nominee.id, "2024-Q1", "helping_others") == (
        honour.nomination, honour.recipient, honour.period, honour.category)
    steps = registry.transitions(decided)
    assert [
        (None, "submitted"), ("submitted", "verified"), ("verified", "public_review"),
        ("public_review", "expert_review"), ("expert_review", "publicity"), ("publicity", "awarded"),
    ] == [(s.from_status, s.to_status) for s in steps]
    assert ["文明办"] * 5 == [s.by for s in steps[1:]]
    assert "公示无异议" == steps[-1].note
    assert [90.0] == [s.total for s in registry.scores(decided)]
    assert ["王小明"] == volreg.honour_roll(registry, honour="中国好人").column("recipient_name")


def test_not_selected_after_publicity_or_by_the_experts(registry: volreg.Registry,
                                                       walk: Callable[..., volreg.Nomination]) -> None:
    """A nomination can end not selected after publicity, or straight from expert review."""
    after = registry.decide(walk("publicity"), awarded=False, by="文明办", at=T["decide"])
    assert ("not_selected", None) == (after.status, after.honour_record)
    experts = registry.advance(walk("expert_review", nominee={"name": "赵六"}), "not_selected", by="专家组",
                               at=T["publicity"])
    assert "not_selected" == experts.status
    assert 0 == len(registry.db.execute("SELECT * FROM honours").fetchall())


ALLOWED = {(s, t) for s in STAGES for t in next_statuses(s)}
FORBIDDEN = [
    (s, t) for s in (*STAGES, "awarded", "not_selected", "rejected", "withdrawn")
    for t in volreg.model.NOMINATION_STATUSES if (s, t) not in ALLOWED
]


def _reach(registry: volreg.Registry, walk: Callable[..., volreg.Nomination], status: str) -> volreg.Nomination:
    if status in STAGES:
        return walk(status)
    if status in ("awarded", "not_selected"):
        return registry.decide(walk("publicity"), awarded=status == "awarded", by="x", at=T["decide"])
    return registry.advance(walk("verified"), status, by="x", note="重复推荐", at=T["verified"])


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_every_forbidden_transition_is_refused(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                                               current: str, target: str) -> None:
    """Each move the flow does not allow raises ForbiddenTransition and changes nothing."""
    nomination = _reach(registry, walk, current)
    before = (_table(registry, "nominations"), _table(registry, "nomination_transitions"), _table(registry, "honours"))
    with pytest.raises(volreg.ForbiddenTransition) as caught:
        if target == "awarded":
            registry.decide(nomination, awarded=True, by="x", at="2024-04-01")
        else:
            registry.advance(nomination, target, by="x", note="理由", at="2024-04-01",
                             closes="2024-04-08" if target == "public_review" else None)
    assert (current, target, "transition") == (caught.value.current, caught.value.target, caught.value.rule)
    assert before == (
        _table(registry, "nominations"), _table(registry, "nomination_transitions"), _table(registry, "honours"))


def test_forbidden_transitions_cover_skips_and_finals() -> None:
    """The table of forbidden moves includes skipping a stage, going back, and leaving a final status."""
    assert {("submitted", "public_review"), ("publicity", "expert_review"), ("awarded", "withdrawn"),
            ("rejected", "verified"), ("submitted", "awarded")} <= set(FORBIDDEN)
    assert ("submitted", "submitted") in FORBIDDEN


@pytest.mark.parametrize("status", ["submitted", "verified", "public_review", "expert_review", "publicity"])
def test_withdraw_and_reject_from_any_open_stage(registry: volreg.Registry,
                                                 walk: Callable[..., volreg.Nomination], status: str) -> None:
    """A nomination that is not final can be withdrawn, or rejected with a reason."""
    nomination = walk(status)
    with pytest.raises(volreg.InvalidValue, match="reason"):
        registry.advance(nomination, "rejected", by="文明办", at="2024-03-20")
    rejected = registry.advance(nomination, "rejected", by="文明办", note="事迹不实", at="2024-03-20")
    assert ("rejected", "事迹不实") == (rejected.status, rejected.reason)
    other = registry.advance(walk(status, nominee={"name": "赵六"}), "withdrawn", by="赵六", at="2024-03-20")
    assert "withdrawn" == other.status


def test_windows_must_close_before_moving_on(registry: volreg.Registry,
                                            walk: Callable[..., volreg.Nomination], expert: volreg.Person) -> None:
    """Expert review waits for public review to close; publicity needs a score; a decision waits for 公示."""
    in_review = walk("public_review")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.advance(in_review, "expert_review", by="x", at="2024-03-09 23:59")
    assert "public_review_open" == caught.value.rule
    experts = registry.advance(in_review, "expert_review", by="x", at=T["closes"])
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.advance(experts, "publicity", by="x", at=T["publicity"])
    assert "expert_scores" == caught.value.rule
    registry.assign_reviewer(experts, expert, by="x", at=T["publicity"])
    registry.score(experts, expert, 80, at=T["publicity"])
    notice = registry.advance(experts, "publicity", by="x", at=T["publicity"], closes="2024-03-15 09:00")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.decide(notice, awarded=True, by="x", at="2024-03-15 08:59")
    assert "publicity_open" == caught.value.rule
    with pytest.raises(volreg.InvalidValue) as invalid:
        registry.advance(walk("verified", nominee={"name": "赵六"}), "public_review", by="x", at=T["public_review"])
    assert "closes" == invalid.value.field


def test_steps_cannot_go_back_in_time(registry: volreg.Registry, walk: Callable[..., volreg.Nomination]) -> None:
    """A step dated before the previous one is refused."""
    with pytest.raises(volreg.InvalidValue) as caught:
        registry.advance(walk("verified"), "withdrawn", by="x", at="2024-03-01 08:00")
    assert "at" == caught.value.field


def test_decision_rechecks_title_rules(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                                       nominee: volreg.Person) -> None:
    """If the nominee got the title meanwhile, the award is refused and the nomination stays in publicity."""
    nomination = walk("publicity")
    registry.award("中国好人", nominee, category="助人为乐", period="2024-Q1", awarded_on="2024-03-15")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.decide(nomination, awarded=True, by="x", at=T["decide"])
    assert "once" == caught.value.rule
    assert "publicity" == registry.nomination(nomination).status


# -- nominating rules --------------------------------------------------------------------------------


def test_self_and_organisation_nominators(registry: volreg.Registry, nominee: volreg.Person,
                                          community: volreg.Organisation) -> None:
    """The nominator is a person, an organisation, or the nominee."""
    own = registry.nominate("中国好人", nominee, category="助人为乐", nominator="self", at=T["submitted"])
    same = registry.nominate("中国好人", nominee, category="助人为乐", nominator=nominee, at=T["submitted"])
    org = registry.nominate("中国好人", nominee, category="助人为乐", nominator=community, at=T["submitted"])
    assert [("self", nominee.id), ("self", nominee.id), ("organisation", community.id)] == [
        (n.nominator_kind, n.nominator) for n in (own, same, org)]
    assert "2024-Q1" == own.period


def test_good_youth_nomination_checks_age(registry: volreg.Registry, nominator: volreg.Person) -> None:
    """新时代好少年 nominees must be 6–18 on the nomination date."""
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.nominate("新时代好少年", {"name": "小红", "birth_date": "2004-01-01"}, category=None,
                          nominator=nominator, at="2024-05-01")
    assert "age" == caught.value.rule
    assert 0 == len(_table(registry, "nominations"))
    youth = registry.nominate("新时代好少年", {"name": "小明", "birth_date": "2012-01-01"}, category=None,
                              nominator="self", at="2024-05-01")
    assert ("2024", "self") == (youth.period, youth.nominator_kind)


def test_nominating_a_holder_of_a_once_title_is_refused(registry: volreg.Registry, nominee: volreg.Person,
                                                        nominator: volreg.Person) -> None:
    """Someone who holds 中国好人 cannot be nominated for it again."""
    registry.award("中国好人", nominee, category="助人为乐", period="2023-Q4", awarded_on="2023-12-01")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.nominate("中国好人", nominee, category="助人为乐", nominator=nominator, at=T["submitted"])
    assert "once" == caught.value.rule


def test_duplicate_nominations_are_kept_and_shown_together(registry: volreg.Registry,
                                                           nominee: volreg.Person, community: volreg.Organisation,
                                                           nominator: volreg.Person) -> None:
    """Two nominations of one nominee for one period are both kept, never merged."""
    first = registry.nominate("中国好人", nominee, category="助人为乐", nominator=nominator, at=T["submitted"])
    second = registry.nominate("中国好人", nominee, category="见义勇为", nominator=community, at="2024-03-02")
    registry.nominate("中国好人", {"name": "赵六"}, category="助人为乐", nominator=nominator, at=T["submitted"])
    assert [first.id, second.id] == [n.id for n in registry.nominations_of(nominee)]
    assert [[first.id, second.id]] == [[n.id for n in group] for group in registry.duplicate_nominations()]
    assert [{"nominations": 3, "nominees": 2, "endorsements": 0}] == volreg.nominations(registry).to_dicts()


# -- endorsements ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "accepted"),
    [("2024-03-03 08:59", False), ("2024-03-03 09:00", True), ("2024-03-10 08:59", True),
     ("2024-03-10 09:00", False)],
)
def test_endorsement_window_is_half_open(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                                         at: str, accepted: bool) -> None:
    """Endorsements count from the moment review opens until (not including) the moment it closes."""
    nomination = walk("public_review")
    if accepted:
        assert 1 == registry.endorse(nomination, "wx-openid-1", at=at)
    else:
        with pytest.raises(volreg.RuleViolation) as caught:
            registry.endorse(nomination, "wx-openid-1", at=at)
        assert "public_review_window" == caught.value.rule
        assert 0 == registry.endorsement_count(nomination)


@pytest.mark.parametrize("status", ["submitted", "verified", "expert_review"])
def test_endorsement_outside_public_review_is_refused(registry: volreg.Registry,
                                                      walk: Callable[..., volreg.Nomination], status: str) -> None:
    """Before or after public review, no endorsement is accepted."""
    with pytest.raises(volreg.RuleViolation):
        registry.endorse(walk(status), "13800000000", at="2024-03-05")


def test_one_endorsement_per_voter_stored_as_a_digest(registry: volreg.Registry,
                                                      walk: Callable[..., volreg.Nomination],
                                                      nominator: volreg.Person) -> None:
    """A voter endorses a nomination once; only a keyed digest of who they are is stored."""
    nomination = walk("public_review")
    assert 1 == registry.endorse(nomination, "13800000000", at="2024-03-05")
    assert 2 == registry.endorse(nomination, nominator, at="2024-03-05", comment="值得推荐")
    with pytest.raises(volreg.Duplicate):
        registry.endorse(nomination, " 13800000000 ", at="2024-03-06")
    assert 2 == registry.endorsement_count(nomination)
    other = walk("public_review", nominee={"name": "赵六"})
    assert 1 == registry.endorse(other, "13800000000", at="2024-03-05")
    stored = repr(_table(registry, "endorsements")) + repr(_table(registry, "journal"))
    assert "13800000000" not in stored
    assert nominator.id not in repr(_table(registry, "endorsements"))


# -- reviewers and conflicts of interest -------------------------------------------------------------


def test_each_conflict_of_interest_kind_is_refused(registry: volreg.Registry,
                                                   walk: Callable[..., volreg.Nomination],
                                                   nominee: volreg.Person, nominator: volreg.Person,
                                                   community: volreg.Organisation,
                                                   make_volunteer: Callable[..., volreg.Volunteer]) -> None:
    """The nominee, the nominator, a family member and a colleague are each refused, with the kind named."""
    nomination = walk("expert_review")
    spouse = registry.add_person("李芳")
    registry.add_family("王小明家庭", members=[nominee, spouse])
    school = registry.add_organisation("嘉峪关市第一中学", kind="school")
    registry.add_membership(nominee, school, role="教师")
    colleague = registry.add_person("同事")
    registry.add_membership(colleague, school)
    cases = {nominee.id: {"nominee"}, nominator.id: {"nominator"}, spouse.id: {"family_member"},
             colleague.id: {"same_organisation"}}
    for reviewer, kinds in cases.items():
        before = _table(registry, "reviewer_assignments")
        with pytest.raises(volreg.ReviewerConflict) as caught:
            registry.assign_reviewer(nomination, reviewer, by="文明办", at=T["publicity"])
        assert kinds == set(caught.value.kinds)
        assert "conflict_of_interest" == caught.value.rule
        assert before == _table(registry, "reviewer_assignments")
    volunteer = make_volunteer("社区志愿者")
    registry.add_membership(nominee, community)
    assert ["same_organisation"] == [c.kind for c in registry.conflicts_of_interest(nomination, volunteer)]


def test_members_of_the_nominating_organisation_and_nominated_family(
        registry: volreg.Registry, walk: Callable[..., volreg.Nomination], community: volreg.Organisation,
        make_volunteer: Callable[..., volreg.Volunteer]) -> None:
    """Someone in the nominating organisation has a nominator conflict; a family nominee's members too."""
    by_org = walk("submitted", nominator=community)
    volunteer = make_volunteer("社区干部")
    assert ["nominator"] == [c.kind for c in registry.conflicts_of_interest(by_org, volunteer)]
    family = registry.add_family("张家", members=[{"name": "张大"}])
    registry.add_edition("全国文明家庭", 3, year=2024)
    family_nomination = registry.nominate("全国文明家庭", family, category=None, nominator=community, edition=3,
                                          at="2024-03-01")
    assert ["family_member"] == [c.kind for c in registry.conflicts_of_interest(family_nomination, family.members[0])]


def test_override_is_recorded_with_its_reason(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                                             nominee: volreg.Person) -> None:
    """An administrator may override a conflict with a reason; the reason is kept and journaled."""
    nomination = walk("expert_review")
    school = registry.add_organisation("嘉峪关市第一中学", kind="school")
    registry.add_membership(nominee, school)
    colleague = registry.add_person("同事")
    registry.add_membership(colleague, school)
    with pytest.raises(volreg.InvalidValue, match="reason"):
        registry.assign_reviewer(nomination, colleague, by="admin", override=" ")
    with pytest.raises(volreg.ReviewerConflict):
        registry.assign_reviewer(nomination, colleague, by="admin", override={"nominator": "无关"})
    assignment = registry.assign_reviewer(nomination, colleague, by="admin",
                                          override={"same_organisation": "全市仅此一名该领域专家"}, at=T["publicity"])
    assert [("same_organisation", "全市仅此一名该领域专家")] == [(c.kind, c.reason) for c in assignment.overrides]
    assert assignment == registry.reviewers(nomination)[0]
    note = [c.note for c in registry.history(nomination.id) if c.action == "assign_reviewer"]
    assert ["override same_organisation: 全市仅此一名该领域专家"] == note
    assert 70.0 == registry.score(nomination, colleague, 70, at=T["publicity"]).total


def test_scoring_rules(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                       expert: volreg.Person, nominee: volreg.Person) -> None:
    """Scores follow the title's weighted rubric, only from assigned reviewers, only in expert review."""
    registry.update_honour("中国好人", rubric={"deeds": 3, "influence": 1})
    nomination = walk("expert_review")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.score(nomination, expert, {"deeds": 90, "influence": 50})
    assert "assigned" == caught.value.rule
    registry.assign_reviewer(nomination, expert, by="admin", at=T["publicity"])
    assert 80.0 == registry.score(nomination, expert, {"deeds": 90, "influence": 50}, at=T["publicity"]).total
    for bad in ({"deeds": 90}, {"deeds": 90, "influence": 101}, 90):
        with pytest.raises(volreg.InvalidValue):
            registry.score(nomination, expert, bad)
    # A conflict that arises after assignment blocks scoring.
    registry.add_family("王家", members=[nominee, expert])
    with pytest.raises(volreg.ReviewerConflict):
        registry.score(nomination, expert, {"deeds": 60, "influence": 60})
    assert [80.0] == [s.total for s in registry.scores(nomination)]
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.score(walk("verified", nominee={"name": "赵六"}), expert, {"deeds": 1, "influence": 1})
    assert "expert_review" == caught.value.rule


# -- queries ---------------------------------------------------------------------------------------


def test_counts_and_funnel_on_a_hand_built_case(registry: volreg.Registry, walk: Callable[..., volreg.Nomination],
                                                community: volreg.Organisation) -> None:
    """Seven nominations of six nominees (乙 twice, for two titles); the counts are written out literally."""
    registry.define_honour("xiongguan_good_person", "雄关好人", level="city")
    a = walk("publicity")                                            # 助人为乐, person nominator
    registry.decide(a, awarded=True, by="x", at=T["decide"])          # → awarded
    b = walk("public_review", nominee={"name": "乙"}, category="见义勇为")
    registry.endorse(b, "v1", at="2024-03-04")
    registry.endorse(b, "v2", at="2024-03-04")
    registry.endorse(b, "v3", at="2024-03-04")
    c = walk("expert_review", nominee={"name": "丙"})
    registry.advance(c, "rejected", by="x", note="事迹不实", at=T["publicity"])
    walk("verified", nominee={"name": "丁"}, category="见义勇为", nominator=community)
    d = walk("submitted", nominee={"name": "戊"})
    registry.advance(d, "withdrawn", by="戊", at=T["verified"])
    registry.nominate("雄关好人", b.nominee, category="见义勇为", nominator="self", period="2024",
                      at="2024-04-01")
    registry.nominate("雄关好人", {"name": "己"}, category="孝老爱亲", nominator=community, period="2024",
                      at="2024-04-01")

    assert [
        {"honour": "china_good_person", "honour_name": "中国好人", "nominations": 5, "nominees": 5, "endorsements": 3},
        {"honour": "xiongguan_good_person", "honour_name": "雄关好人", "nominations": 2, "nominees": 2,
         "endorsements": 0},
    ] == volreg.nominations(registry, by="honour").to_dicts()
    assert [
        {"category": "bravery", "category_name": "见义勇为", "nominator_kind": "organisation", "nominations": 1,
         "nominees": 1, "endorsements": 0},
        {"category": "bravery", "category_name": "见义勇为", "nominator_kind": "person", "nominations": 1,
         "nominees": 1, "endorsements": 3},
        {"category": "bravery", "category_name": "见义勇为", "nominator_kind": "self", "nominations": 1,
         "nominees": 1, "endorsements": 0},
        {"category": "filial_piety", "category_name": "孝老爱亲", "nominator_kind": "organisation",
         "nominations": 1, "nominees": 1, "endorsements": 0},
        {"category": "helping_others", "category_name": "助人为乐", "nominator_kind": "person", "nominations": 3,
         "nominees": 3, "endorsements": 0},
    ] == volreg.nominations(registry, by=("category", "nominator_kind")).to_dicts()
    assert [{"nominations": 7, "nominees": 6, "endorsements": 3}] == volreg.nominations(registry).to_dicts()
    assert [{"status": "public_review", "nominations": 1, "nominees": 1, "endorsements": 3},
            {"status": "submitted", "nominations": 2, "nominees": 2, "endorsements": 0}] == volreg.nominations(
        registry, status=["submitted", "public_review"], by="status").to_dicts()
    assert [{"nominations": 2, "nominees": 2, "endorsements": 3}] == volreg.nominations(
        registry, category="见义勇为", honour="中国好人").to_dicts()

    funnel = volreg.nomination_funnel(registry, by="honour").to_dicts()
    assert [
        {"honour": "china_good_person", "honour_name": "中国好人", "nominations": 5, "submitted": 5, "verified": 4,
         "public_review": 3, "expert_review": 2, "publicity": 1, "awarded": 1, "not_selected": 0, "rejected": 1,
         "withdrawn": 1},
        {"honour": "xiongguan_good_person", "honour_name": "雄关好人", "nominations": 2, "submitted": 2,
         "verified": 0, "public_review": 0, "expert_review": 0, "publicity": 0, "awarded": 0, "not_selected": 0,
         "rejected": 0, "withdrawn": 0},
    ] == funnel
    assert [{"level": "city", "nominations": 2}, {"level": "national", "nominations": 5}] == [
        {"level": r["level"], "nominations": r["nominations"]}
        for r in volreg.nomination_funnel(registry, by="level")]


@pytest.mark.parametrize("filters", [{}, {"level": "national"}, {"edition": 1}, {"category": "见义勇为"}])
def test_endorsements_are_counted_from_the_endorsements_not_per_nomination(
        registry: volreg.Registry, walk: Callable[..., volreg.Nomination], filters: dict[str, Any]) -> None:
    """The endorsement count reads the endorsements and finds each one's nomination by key: its cost follows
    the endorsements (none when there are none), not the nominations, whatever the planner would prefer."""
    registry.endorse(walk("public_review"), "v1", at="2024-03-04")
    statements: list[str] = []
    registry.db.conn.set_trace_callback(statements.append)
    try:
        volreg.nominations(registry, by=("category", "status"), **filters).to_dicts()
    finally:
        registry.db.conn.set_trace_callback(None)
    query = next(s for s in statements if "FROM endorsements" in s)
    plan = [row[-1] for row in registry.db.execute("EXPLAIN QUERY PLAN " + query)]
    inner = plan[plan.index(next(step for step in plan if step.startswith("MATERIALIZE y"))) + 1:]
    assert inner[0].startswith("SCAN x"), plan  # the endorsements, in the subquery that counts them
    assert any(step.startswith("SEARCH n") and "(id=?)" in step for step in inner), plan


def test_empty_queries_give_zero_totals(registry: volreg.Registry) -> None:
    """With nothing to count, the totals are zeros, not an empty table or NULLs."""
    assert [{"nominations": 0, "nominees": 0, "endorsements": 0}] == volreg.nominations(registry).to_dicts()
    assert 0 == volreg.nomination_funnel(registry)[0]["awarded"]
    assert [] == volreg.nominations(registry, by="honour").to_dicts()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"by": "nominee"}, volreg.InvalidValue), ({"status": "pending"}, volreg.InvalidValue),
     ({"level": "county"}, volreg.InvalidValue), ({"honour": "中国好任"}, volreg.NotFound),
     ({"category": "勇敢"}, volreg.InvalidValue), ({"year": "2024"}, volreg.InvalidValue)],
)
def test_query_filters_are_checked(registry: volreg.Registry, kwargs: dict, error: type) -> None:
    """A mistyped filter is an error, not an empty answer."""
    with pytest.raises(error):
        volreg.nominations(registry, **kwargs)
    with pytest.raises(error):
        volreg.nomination_funnel(registry, **kwargs)


def test_a_stale_caller_loses_cleanly(tmp_path: Any) -> None:
    """Two connections act on one nomination: the state is re-read inside the write, so the second gets an error."""
    path = tmp_path / "reg.db"
    first = volreg.open(path, key="test-key-k-16byte")
    second = volreg.open(path, key="test-key-k-16byte")
    try:
        person = first.add_person("王小明")
        nomination = first.nominate("中国好人", person, category="助人为乐", nominator="self", at=T["submitted"])
        stale = second.nomination(nomination.id)
        first.advance(nomination, "withdrawn", by="王小明", at=T["verified"])
        with pytest.raises(volreg.ForbiddenTransition) as caught:
            second.advance(stale, "verified", by="文明办", at=T["verified"])
        assert "withdrawn" == caught.value.current
        assert 2 == len(second.transitions(nomination))
    finally:
        first.close()
        second.close()


# -- the nominee summary (m018) --------------------------------------------------------------------------

_RECOUNT = ("SELECT coalesce(category, ''), status, coalesce(person, family, organisation), count(*) "
            "FROM nominations GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("nominate"), st.integers(0, 4), st.sampled_from(("助人为乐", "见义勇为", "孝老爱亲"))),
    st.tuples(st.sampled_from(("verified", "public_review", "withdrawn", "rejected")), st.integers(0, 20)),
    st.tuples(st.just("merge"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("uncategorised"), st.integers(0, 20)),
), max_size=25))
def test_nominee_summary_equals_a_recount_after_random_writes(ops: list[tuple[Any, ...]]) -> None:
    """summary_nominees holds exactly what the nominations say after nominations, status changes, merged
    nominees and a category removed (as an older row has none); the counts read from it equal a recount."""
    with volreg.open(":memory:", key="test-key-16-bytes") as registry:
        people = [registry.add_person(f"候选人{n}") for n in range(4)]
        group = registry.add_organisation("蓝天救援队", kind="community")
        made: list[str] = []
        for op in ops:
            try:
                if op[0] == "nominate":
                    nominee = group if op[1] == 4 else people[op[1]]
                    made.append(registry.nominate("中国好人", nominee, category=op[2], nominator="self",
                                                  period="2024-Q1", at=T["submitted"]).id)
                elif op[0] == "merge":
                    registry.merge_people(people[op[1]], people[op[2]], by="管理员", reason="重复")
                elif op[0] == "uncategorised" and made:
                    registry.db.execute("UPDATE nominations SET category = NULL WHERE id = ?",
                                        [made[op[1] % len(made)]])
                elif made:
                    extra = {"closes": T["closes"]} if op[0] == "public_review" else (
                        {"note": "不符"} if op[0] == "rejected" else {})
                    registry.advance(made[op[1] % len(made)], op[0], by="文明办", at=T["verified"], **extra)
            except volreg.VolregError:
                pass
        held = [tuple(r) for r in registry.db.execute(
            "SELECT category, status, nominee, nominations FROM summary_nominees ORDER BY 1, 2, 3")]
        assert [tuple(r) for r in registry.db.execute(_RECOUNT)] == held
        fast = volreg.nominations(registry, by=("status", "category")).to_dicts()
        registry.session.summaries = False
        assert volreg.nominations(registry, by=("status", "category")).to_dicts() == fast


def test_an_upgraded_database_gets_its_nominee_summary_from_the_existing_nominations(tmp_path: Any) -> None:
    """Migration m018 fills summary_nominees from the nominations a registry already holds."""
    path = tmp_path / "old.db"
    with volreg.open(path, key="test-key-16-bytes") as registry:
        people = [registry.add_person(name) for name in ("甲", "乙")]
        for n, category in enumerate(("助人为乐", "见义勇为", "助人为乐")):
            nomination = registry.nominate("中国好人", people[n % 2], category=category, nominator="self",
                                           period="2024-Q1", at=T["submitted"])
            if n:
                registry.advance(nomination, "verified", by="文明办", at=T["verified"])
        expected = volreg.nominations(registry, by=("category", "status")).to_dicts()
        for trigger in ("insert", "delete", "update"):
            registry.db.execute(f"DROP TRIGGER summary_nominees_{trigger}")
        registry.db.execute("DROP TABLE summary_nominees")
        registry.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm018_nomination_summary'")
    with volreg.open(path, key="test-key-16-bytes") as registry:
        assert [tuple(r) for r in registry.db.execute(_RECOUNT)] == [tuple(r) for r in registry.db.execute(
            "SELECT category, status, nominee, nominations FROM summary_nominees ORDER BY 1, 2, 3")]
        assert expected == volreg.nominations(registry, by=("category", "status")).to_dicts()
        assert 3 == len(expected)
