"""Several processes writing to one registry file at once: nothing lost, nothing doubled, races lost cleanly.

Four writers (separate processes, ``spawn``) each log their share of service records, verify a quarter of
them, nominate and endorse, after first racing each other on the same record and the same nominations. The
size of each share is ``WRITES`` (2,000, the figure the issue asks for; ``--soak`` multiplies it by five).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import workers
from strategies import id_number

import volreg


def _shared(directory: Path) -> tuple[str, dict[str, Any]]:
    """A registry file with the volunteers, activity and nominations the writers share, ids in a dict."""
    path = str(directory / "city.db")
    registry = volreg.open(path, key=workers.KEY)
    org = registry.add_organisation("新华社区", kind="community")
    volunteers = [registry.register_volunteer(f"志愿者{n}", id_number=id_number(n), organisation=org,
                                              registered_on="2023-01-01") for n in range(workers.VOLUNTEERS)]
    activity = registry.add_activity("全年志愿服务", category="敬老助老", organiser=org,
                                     start="2024-01-01 00:00", end="2024-12-31 00:00")
    nominator = registry.add_person("推荐人")
    race_record = registry.log_service(volunteers[0], activity, start="2024-12-30 10:00", minutes=30)
    race_correct = registry.log_service(volunteers[1], activity, start="2024-12-30 10:00", minutes=30)

    def nominate(name: str) -> volreg.Nomination:
        return registry.nominate("中国好人", {"name": name, "birth_date": "1960-01-01"}, category="助人为乐",
                                 nominator=nominator, period="2024-Q1", at="2024-03-01 09:00")

    race_nomination = nominate("甲")
    open_nomination = nominate("乙")
    registry.advance(open_nomination, "verified", by="文明办", at="2024-03-02 09:00")
    registry.advance(open_nomination, "public_review", by="文明办", at="2024-05-01 09:00", closes="2030-01-01")
    race_decision = nominate("丙")
    expert = registry.add_person("专家")
    registry.advance(race_decision, "verified", by="文明办", at="2024-03-02 09:00")
    registry.advance(race_decision, "public_review", by="文明办", at="2024-03-03 09:00", closes="2024-03-10 09:00")
    registry.advance(race_decision, "expert_review", by="文明办", at="2024-03-10 09:00")
    registry.assign_reviewer(race_decision, expert, by="文明办", at="2024-03-10 09:00")
    registry.score(race_decision, expert, 90, at="2024-03-11 09:00")
    registry.advance(race_decision, "publicity", by="文明办", at="2024-03-12 09:00")
    registry.close()
    return path, {
        "volunteers": [v.id for v in volunteers], "activity": activity.id, "nominator": nominator.id,
        "race_record": race_record.id, "race_correct": race_correct.id, "race_nomination": race_nomination.id,
        "open_nomination": open_nomination.id, "race_decision": race_decision.id,
    }


def _run_writers(path: str, world: dict[str, Any], per_writer: int) -> dict[int, dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    barrier = ctx.Barrier(workers.RACERS)
    processes = [ctx.Process(target=workers.writer, args=(path, n, per_writer, world, barrier, queue))
                 for n in range(workers.RACERS)]
    for process in processes:
        process.start()
    reports = dict(queue.get(timeout=600) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert 0 == process.exitcode
    return reports


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, writes: int) -> tuple[str, dict[str, Any], dict[int, dict[str, Any]]]:
    """Run the four writers once (the tests of this module each check one part of the outcome)."""
    path, world = _shared(tmp_path_factory.mktemp("concurrency"))
    return path, world, _run_writers(path, world, writes)


def test_concurrent_writers(run: tuple[str, dict[str, Any], dict[int, dict[str, Any]]], writes: int) -> None:
    """Every write of four processes is present exactly once; none was refused as locked; the file is sound."""
    path, world, reports = run
    for report in reports.values():
        assert report["unexpected"] is None, report["unexpected"]  # "database is locked" would show here
        assert writes == len(report["records"])
    registry = volreg.open(path, key=workers.KEY)
    rows = registry.db.execute(
        "SELECT id, status, minutes FROM service_records WHERE activity = ? AND start >= '2024-01-01' "
        "AND start < '2024-12-30'", [world["activity"]]).fetchall()
    written = [r for report in reports.values() for r in report["records"]]
    assert sorted(written) == sorted(r[0] for r in rows)
    assert len(written) == len(set(written))
    verified = {r for report in reports.values() for r in report["verified"]}
    assert verified == {r[0] for r in rows if r[1] == "verified"}
    assert 4 * writes * 30 == sum(r[2] for r in rows)  # every record 30 minutes, none twice
    per_volunteer = volreg.hours(registry, by="volunteer", status=("pending", "verified"), start="2024-01-01",
                                 end="2024-12-30")
    assert 4 * writes == sum(r["records"] for r in per_volunteer)
    nominations = [n for report in reports.values() for n in report["nominations"]]
    assert len(nominations) == registry.db.execute(
        "SELECT count(*) FROM nominations WHERE period = '2024-Q2'").fetchone()[0]
    voters = [v for report in reports.values() for v in report["voters"]]
    assert len(voters) + 1 == registry.endorsement_count(world["open_nomination"])  # + the one race winner
    assert "ok" == workers.integrity(path)
    registry.close()


@pytest.mark.parametrize("race, loser", [
    ("verify", "RuleViolation"),
    ("correct", "RuleViolation"),
    ("endorse", "Duplicate"),
    ("advance", "ForbiddenTransition"),
    ("decide", "ForbiddenTransition"),
])
def test_races_have_one_winner(run: tuple[str, dict[str, Any], dict[int, dict[str, Any]]], race: str,
                               loser: str) -> None:
    """Processes racing on one item: exactly one wins, each other gets a clear volreg error, nothing counts twice."""
    path, world, reports = run
    outcomes = [outcome for report in reports.values() for name, outcome in report["races"] if name == race]
    assert workers.RACERS == len(outcomes)
    assert 1 == outcomes.count("won"), outcomes
    assert {loser} == {o.split(":")[0] for o in outcomes if o != "won"}, outcomes
    registry = volreg.open(path, key=workers.KEY)
    if race == "verify":
        assert 1 == Counter(c.action for c in registry.history(world["race_record"]))["verify"]
    if race == "correct":
        versions = registry.service_versions(world["race_correct"])
        assert ["superseded", "pending"] == [v.status for v in versions]
    if race == "advance":
        steps = [t.to_status for t in registry.transitions(world["race_nomination"])]
        assert ["submitted", "verified"] == steps
    if race == "decide":
        honours = registry.db.execute("SELECT count(*) FROM honours WHERE nomination = ?",
                                      [world["race_decision"]]).fetchone()[0]
        assert 1 == honours
    registry.close()


def test_a_lock_held_past_the_busy_timeout_is_a_volreg_error(tmp_path: Path) -> None:
    """When another process holds the write lock too long the write is refused as volreg.Busy, not "locked"."""
    import sqlite3

    path = str(tmp_path / "busy.db")
    registry = volreg.open(path, key=workers.KEY)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    registry.db.execute("PRAGMA busy_timeout = 50")  # the test does not wait the real 30 s
    before = list(registry.db.iterdump())
    with pytest.raises(volreg.Busy, match="busy"):
        registry.add_organisation("新华社区", kind="community")
    holder.execute("ROLLBACK")
    holder.close()
    assert before == list(registry.db.iterdump())
    assert "新华社区" == registry.add_organisation("新华社区", kind="community").name  # and works once free
    registry.close()
