"""A process killed (SIGKILL) in the middle of an all-or-nothing write: reopened, the write is all there or absent.

The child kills itself when SQLite starts its N-th statement (a trace callback), so each kill point is exact
and repeatable: the first write, a quarter, half and nine tenths of the way, the ``COMMIT`` itself (not yet
done: absent) and the statement after it (done: present). One more child is killed from outside after a
delay, as a power switch would.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
import workers
from factories import make_id_number

import volreg

ROWS = 300
"""Volunteers in the large import (1,500 with ``--soak``)."""


def _child(target: Any, *args: Any) -> int | None:
    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(target=target, args=args)
    process.start()
    process.join(timeout=300)
    return process.exitcode


def _dump(path: str) -> list[str]:
    registry = volreg.open(path, key=workers.KEY)
    try:
        return list(registry.db.iterdump())
    finally:
        registry.close()


def _roster(directory: Path, rows: int) -> Path:
    file = directory / "roster.csv"
    with open(file, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["姓名", "身份证号", "手机", "注册日期"])
        for n in range(rows):
            number = make_id_number(birth=f"198001{1 + n // 1000:02d}", sequence=n % 1000)  # 3-digit sequences
            out.writerow([f"志愿者{n}", number, f"138{n:08d}", "2023-01-01"])
    return file


def _kill_points(count: int) -> list[Any]:
    """The statements to die at; the last two leave the write done (None: the child is not killed)."""
    return [1, count // 4, count // 2, count * 9 // 10, "COMMIT", workers.AFTER_COMMIT, None]


POINTS = range(7)


@pytest.fixture(scope="module")
def import_setup(tmp_path_factory: pytest.TempPathFactory, soak: bool) -> tuple[Path, Path, int]:
    """A registry template, a roster of volunteers, and how many statements importing it takes."""
    directory = tmp_path_factory.mktemp("crash-import")
    template = directory / "template.db"
    registry = volreg.open(str(template), key=workers.KEY)
    registry.add_organisation("新华社区", kind="community")
    registry.close()
    roster = _roster(directory, 5 * ROWS if soak else ROWS)
    probe = directory / "probe.db"
    probe.write_bytes(template.read_bytes())
    registry = volreg.open(str(probe), key=workers.KEY)
    seen = workers.count_statements(registry)
    assert volreg.import_file(registry, roster, kind="volunteers").ok
    registry.close()
    return template, roster, len(seen)


def _fresh(template: Path, directory: Path, name: str) -> str:
    path = directory / name
    path.write_bytes(template.read_bytes())
    return str(path)


@pytest.mark.parametrize("point", POINTS)
def test_import_killed_is_all_or_nothing(import_setup: tuple[Path, Path, int], tmp_path: Path, point: int) -> None:
    """Killed anywhere in a large all-or-nothing import, the registry holds all of the file or none of it."""
    template, roster, count = import_setup
    rows = sum(1 for _ in open(roster, encoding="utf-8")) - 1
    kill_at = _kill_points(count)[point]
    path = _fresh(template, tmp_path, "city.db")
    before = _dump(path)
    exitcode = _child(workers.importer, path, str(roster), kill_at)
    assert "ok" == workers.integrity(path)
    registry = volreg.open(path, key=workers.KEY)
    volunteers = registry.db.execute("SELECT count(*) FROM volunteers").fetchone()[0]
    registry.close()
    assert (0 if kill_at is None else -9) == exitcode  # it really was killed, at that point
    if kill_at in (None, workers.AFTER_COMMIT):
        assert rows == volunteers
    else:
        assert 0 == volunteers
        assert before == _dump(path)


def test_import_killed_from_outside(import_setup: tuple[Path, Path, int], tmp_path: Path) -> None:
    """A child killed by another process at an arbitrary moment leaves all or nothing, several times over."""
    template, roster, _ = import_setup
    rows = sum(1 for _ in open(roster, encoding="utf-8")) - 1
    ctx = multiprocessing.get_context("spawn")
    for delay in (0.3, 0.6, 0.9):
        path = _fresh(template, tmp_path, f"city-{delay}.db")
        process = ctx.Process(target=workers.importer, args=(path, str(roster), None))
        process.start()
        time.sleep(delay)
        process.kill()
        process.join(timeout=60)
        assert "ok" == workers.integrity(path)
        registry = volreg.open(path, key=workers.KEY)
        assert registry.db.execute("SELECT count(*) FROM volunteers").fetchone()[0] in (0, rows)
        registry.close()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory, soak: bool) -> tuple[Path, list[str], int]:
    """A registry with live service records, their ids, and how many statements correcting them all takes."""
    directory = tmp_path_factory.mktemp("crash-corrections")
    template = directory / "template.db"
    registry = volreg.open(str(template), key=workers.KEY)
    org = registry.add_organisation("新华社区", kind="community")
    volunteer = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org,
                                            registered_on="2023-01-01")
    activity = registry.add_activity("全年志愿服务", category="敬老助老", organiser=org,
                                     start="2024-01-01 00:00", end="2024-12-31 00:00")
    records = []
    with registry.transaction():
        for n in range(500 if soak else 100):
            record = registry.log_service(volunteer, activity, start=workers.hour(n), minutes=60)
            if n % 2:
                record = registry.verify_service(record, by="审核员")
            records.append(record.id)
    registry.close()
    probe = directory / "probe.db"
    probe.write_bytes(template.read_bytes())
    registry = volreg.open(str(probe), key=workers.KEY)
    seen = workers.count_statements(registry)
    with registry.transaction():
        for n, record in enumerate(records):
            registry.correct_service(record, by="审核员", reason="批量更正", minutes=1 + n % 50)
    registry.close()
    return template, records, len(seen)


@pytest.mark.parametrize("point", POINTS)
def test_corrections_killed_are_all_or_nothing(ledger: tuple[Path, list[str], int], tmp_path: Path,
                                               point: int) -> None:
    """Killed in a batch of corrections in one transaction: every record corrected, or every record as it was."""
    template, records, count = ledger
    kill_at = _kill_points(count)[point]
    path = _fresh(template, tmp_path, "city.db")
    before = _dump(path)
    exitcode = _child(workers.corrector, path, records, kill_at)
    assert "ok" == workers.integrity(path)
    registry = volreg.open(path, key=workers.KEY)
    superseded = registry.db.execute("SELECT count(*) FROM service_records WHERE status = 'superseded'").fetchone()[0]
    live_minutes = registry.db.execute(
        "SELECT sum(minutes) FROM service_records WHERE status IN ('pending', 'verified')").fetchone()[0]
    registry.close()
    assert (0 if kill_at is None else -9) == exitcode
    if kill_at in (None, workers.AFTER_COMMIT):
        assert (len(records), sum(1 + n % 50 for n in range(len(records)))) == (superseded, live_minutes)
    else:
        assert (0, 60 * len(records)) == (superseded, live_minutes)
        assert before == _dump(path)
