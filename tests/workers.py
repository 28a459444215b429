"""Code that runs in child processes of the reliability tests (importable by name, as ``spawn`` needs).

Each function opens the registry file itself, as a separate program would, and reports what it did through a
queue or its exit, never through shared memory.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import datetime, timedelta
from typing import Any

import volreg

KEY = "reliability-test-key"
"""The registry key every process uses (as a city's staff would share the key file)."""

BASE = datetime(2024, 1, 1, 0, 0)
"""The start of the year-long activity the writers log service in; slot ``n`` starts ``n`` hours later."""

RACERS = 4
"""Processes in the concurrency test."""


VOLUNTEERS = 8
"""Volunteers the concurrent writers share."""


def hour(n: int) -> str:
    """The start of the ``n``-th hour after :data:`BASE`."""
    return (BASE + timedelta(hours=n)).strftime("%Y-%m-%d %H:%M")


def slot(writer: int, n: int, per_writer: int) -> tuple[int, str]:
    """The volunteer (index) and start of writer ``writer``'s ``n``-th record.

    Record ``g = writer * per_writer + n`` goes to volunteer ``g % 8`` in hour ``g // 8``: all writers share the
    volunteers (so their overlap checks really meet) yet no two records of one volunteer overlap.
    """
    g = writer * per_writer + n
    return g % VOLUNTEERS, hour(g // VOLUNTEERS)


def _attempt(results: list[tuple[str, str]], name: str, action: Any) -> None:
    """Run one racing write; record ``won`` or the volreg error's class (anything else propagates)."""
    try:
        action()
    except volreg.VolregError as error:
        results.append((name, type(error).__name__ + ": " + str(error)))
    else:
        results.append((name, "won"))


def writer(path: str, number: int, per_writer: int, world: dict[str, Any], barrier: Any, queue: Any) -> None:
    """One of the concurrent writers: race on shared items, then log, verify, nominate and endorse its share.

    Puts ``(number, report)`` on ``queue``: the ids it wrote and the outcome of each race.
    """
    report: dict[str, Any] = {"records": [], "verified": [], "nominations": [], "voters": [], "races": [],
                              "unexpected": None}
    try:
        registry = volreg.open(path, key=KEY)
        races: list[tuple[str, str]] = report["races"]
        barrier.wait()  # every writer starts the races at the same moment
        _attempt(races, "verify", lambda: registry.verify_service(world["race_record"], by=f"审核员{number}"))
        _attempt(races, "correct", lambda: registry.correct_service(
            world["race_correct"], by=f"审核员{number}", reason="更正", minutes=10 + number))
        _attempt(races, "endorse", lambda: registry.endorse(world["open_nomination"], "same-voter",
                                                            at="2024-06-01 12:00"))
        _attempt(races, "advance", lambda: registry.advance(world["race_nomination"], "verified",
                                                            by=f"文明办{number}", at="2024-03-02 09:00"))
        _attempt(races, "decide", lambda: registry.decide(world["race_decision"], awarded=True, by=f"文明办{number}",
                                                          at="2024-04-01 09:00", on="2024-04-01"))
        volunteers, activity = world["volunteers"], world["activity"]
        for n in range(per_writer):
            who, start = slot(number, n, per_writer)
            record = registry.log_service(volunteers[who], activity, start=start, minutes=30, by=f"录入{number}")
            report["records"].append(record.id)
            if n % 4 == 0:
                registry.verify_service(record, by=f"审核员{number}")
                report["verified"].append(record.id)
            if n % 100 == 0:
                nomination = registry.nominate(
                    "中国好人", {"name": f"候选人{number}-{n}", "birth_date": "1970-01-01"}, category="助人为乐",
                    nominator=world["nominator"], period="2024-Q2", at="2024-04-02 09:00")
                report["nominations"].append(nomination.id)
            if n % 40 == 0:
                voter = f"voter-{number}-{n}"
                registry.endorse(world["open_nomination"], voter, at="2024-06-01 12:00")
                report["voters"].append(voter)
        registry.close()
    except BaseException as error:  # reported to the parent, which fails the test with it
        report["unexpected"] = f"{type(error).__name__}: {error}"
    queue.put((number, report))


# -- crash safety ------------------------------------------------------------------------------------------


AFTER_COMMIT = "after COMMIT"
"""A kill point: the first statement after the write's ``COMMIT`` (the write is then done)."""


def _die_at(registry: volreg.Registry, kill_at: int | str | None) -> None:
    """Kill this process with SIGKILL when SQLite starts the ``kill_at``-th statement, the statement starting
    with ``kill_at`` (e.g. ``COMMIT``), or the first one after a ``COMMIT`` (:data:`AFTER_COMMIT`)."""
    if kill_at is None:
        return
    seen = [0]
    committed = [False]

    def trace(statement: str) -> None:
        seen[0] += 1
        first = statement.strip().upper()
        if kill_at == AFTER_COMMIT:
            if committed[0]:
                os.kill(os.getpid(), signal.SIGKILL)
            committed[0] = first.startswith("COMMIT")
        elif seen[0] == kill_at or (isinstance(kill_at, str) and first.startswith(kill_at)):
            os.kill(os.getpid(), signal.SIGKILL)

    registry.db.conn.set_trace_callback(trace)


def count_statements(registry: volreg.Registry) -> list[str]:
    """Start recording every statement SQLite runs on this registry's connection; returns the growing list."""
    seen: list[str] = []
    registry.db.conn.set_trace_callback(seen.append)
    return seen


def importer(path: str, file: str, kill_at: int | str | None) -> None:
    """Import ``file`` (volunteers) all-or-nothing, dying at statement ``kill_at``; exit 0 if it finished."""
    registry = volreg.open(path, key=KEY)
    _die_at(registry, kill_at)
    report = volreg.import_file(registry, file, kind="volunteers", mode="all_or_nothing")
    registry.db.execute("SELECT 1")  # the statement after the commit, for AFTER_COMMIT
    registry.db.conn.set_trace_callback(None)
    registry.close()
    raise SystemExit(0 if report.ok else 3)


def corrector(path: str, records: list[str], kill_at: int | str | None) -> None:
    """Correct every record in one ``registry.transaction()``, dying at statement ``kill_at``."""
    registry = volreg.open(path, key=KEY)
    _die_at(registry, kill_at)
    with registry.transaction():
        for n, record in enumerate(records):
            registry.correct_service(record, by="审核员", reason="批量更正", minutes=1 + n % 50)
    registry.db.execute("SELECT 1")
    registry.db.conn.set_trace_callback(None)
    registry.close()


def integrity(path: str) -> str:
    """``PRAGMA integrity_check`` on the file, from a fresh connection."""
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
