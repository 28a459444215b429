"""Loading past rounds of nominations: how far each got, without inventing reviewers, scores or windows."""

from __future__ import annotations

import pytest

import volreg
from volreg.io.honour_kinds import STAGE_LABELS


@pytest.fixture
def round_file(registry, city, tmp_path):
    """A closed 2024 round of 中国好人 with every stage, in Chinese and English labels."""
    rows = [
        ("N-1", "甲", "已推荐", ""), ("N-2", "乙", "初审通过", "2024-04-10"), ("N-3", "丙", "评议", ""),
        ("N-4", "丁", "expert_review", ""), ("N-5", "戊", "公示", "2024-05-20"), ("N-6", "己", "当选", "2024-06-30"),
        ("N-7", "庚", "winner", "2024-06-30"), ("N-8", "辛", "未当选", "2024-06-30"),
    ]
    lines = ["外部编号,被推荐人,荣誉称号,类别,推荐单位,推荐时间,阶段,阶段日期"]
    lines += [f"{x},{n},中国好人,助人为乐,嘉峪关市文明办,2024-04-02,{s},{d}" for x, n, s, d in rows]
    path = tmp_path / "round.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_past_round_loads_with_its_funnel(registry, round_file):
    """Each stage is recorded as reached; the closed round ends short ones not_selected; the funnel counts
    every stage reached; no endorsement, reviewer, score or window is made up."""
    report = volreg.import_file(registry, round_file, kind="nominations", create_people=True)
    assert (8, 8, ()) == (report.created, report.people_created, report.problems)
    [row] = volreg.nomination_funnel(registry, honour="中国好人", year=2024)
    assert (8, 8, 7, 6, 5, 3, 2, 6) == (row["nominations"], row["submitted"], row["verified"],
                                         row["public_review"], row["expert_review"], row["publicity"],
                                         row["awarded"], row["not_selected"])
    for table in ("endorsements", "reviewer_assignments", "review_scores"):
        assert 0 == registry.session.scalar(f"SELECT count(*) FROM {table}")
    assert 2 == len(volreg.honour_roll(registry, honour="中国好人"))
    two = next(n for n in registry.nominations_of(next(iter(registry.people(name="乙")))))
    steps = registry.transitions(two)
    assert [("submitted", None), ("not_selected", "submitted")] == [(t.to_status, t.from_status) for t in steps]
    assert "2024-04-10" == f"{steps[1].at:%Y-%m-%d}" and "reached verified" in steps[1].note
    assert None is two.review_opens and None is two.publicity_opens


def test_reimporting_a_past_round_changes_nothing(registry, round_file):
    """A second import of the round is a no-op; a different stage for a known nomination is a problem."""
    volreg.import_file(registry, round_file, kind="nominations", create_people=True)
    before = list(registry.db.conn.iterdump())
    again = volreg.import_file(registry, round_file, kind="nominations", create_people=True)
    assert (0, 0, 8, ()) == (again.created, again.updated, again.skipped, again.problems)
    assert before == list(registry.db.conn.iterdump())
    changed = round_file.read_text(encoding="utf-8").replace("N-1,甲,中国好人,助人为乐,嘉峪关市文明办,2024-04-02,已推荐",
                                                             "N-1,甲,中国好人,助人为乐,嘉峪关市文明办,2024-04-02,公示")
    round_file.write_text(changed, encoding="utf-8")
    report = volreg.import_file(registry, round_file, kind="nominations", create_people=True)
    [problem] = report.problems
    assert 2 == problem.line and "阶段" == problem.column


def test_an_open_round_keeps_the_stage(registry, city):
    """In a round not yet over, a nomination stays at the stage it reached."""
    person = registry.add_person("王秀兰")
    today = registry.session.now()
    nomination = registry.nominate("中国好人", person, category="助人为乐", nominator=city, at=today)
    loaded = registry.record_past_stage(nomination, "public_review", by="文明办", at=today)
    assert "public_review" == loaded.status
    with pytest.raises(volreg.RuleViolation, match="past_stage"):
        registry.record_past_stage(nomination, "verified", by="文明办")


def test_stage_labels_cover_the_flow():
    """Every Chinese stage name of the flow is known."""
    assert {"已推荐", "初审通过", "评议", "专家评审", "公示", "当选", "未当选"} <= set(STAGE_LABELS)
