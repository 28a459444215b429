"""Code run by the worker processes of the embedding tests (importable by name, as ``spawn`` needs).

Every worker reports through its exit code and a queue, never shared memory: exit 0 when every write it was
asked for landed, 2 when a non-volreg exception escaped, 3 when a volreg error refused a write.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import traceback
from typing import Any

import workers

import volreg

KEY = workers.KEY


def setup(path: str) -> dict[str, Any]:
    """A registry file with 8 volunteers and a year-long activity; returns their ids (the registry stays open)."""
    from strategies import id_number  # Hypothesis: imported only where needed (spawned workers start faster)

    registry = volreg.open(path, key=KEY)
    org = registry.add_organisation("新华社区", kind="community")
    volunteers = [registry.register_volunteer(f"志愿者{n}", id_number=id_number(n), organisation=org,
                                              registered_on="2023-01-01") for n in range(workers.VOLUNTEERS)]
    activity = registry.add_activity("全年志愿服务", category="敬老助老", organiser=org,
                                     start="2024-01-01 00:00", end="2024-12-31 00:00")
    return {"registry": registry, "volunteers": [v.id for v in volunteers], "activity": activity.id}


def log_share(registry: volreg.Registry, world: dict[str, Any], number: int, count: int) -> None:
    """Log writer ``number``'s ``count`` records (one slot each, so no two overlap)."""
    for n in range(count):
        who, start = workers.slot(number, n, count)
        registry.log_service(world["volunteers"][who], world["activity"], start=start, minutes=30,
                             by=f"录入{number}")


def _exit_for(run: Any) -> None:
    try:
        run()
    except volreg.VolregError:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(3)
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(2)


def open_and_log(path: str, world: dict[str, Any], number: int, count: int) -> None:
    """A worker that opens the file itself, logs its share and closes (fork or spawn)."""
    def run() -> None:
        registry = volreg.open(path, key=KEY)
        log_share(registry, world, number, count)
        registry.close()
    _exit_for(run)


def serve_with_inherited(registry: volreg.Registry, world: dict[str, Any], number: int, count: int) -> None:
    """A pre-fork server's worker: it serves with the registry object the master opened before forking."""
    def run() -> None:
        log_share(registry, world, number, count)
        volreg.hours(registry)  # a read between writes, as a request handler would
    _exit_for(run)


def hold_write_lock(path: str, ready: Any, release: Any, seconds: float) -> None:
    """Hold a write transaction on ``path`` (an uncommitted row in it) until ``release`` is set or
    ``seconds`` pass, then roll it back."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO registry_meta (key, value) VALUES ('held', 'uncommitted')")
    ready.set()
    deadline = time.monotonic() + seconds
    while not release.is_set() and time.monotonic() < deadline:
        release.wait(0.05)
    conn.execute("ROLLBACK")
    conn.close()


def count(path: str, table: str = "service_records") -> int:
    """Rows of ``table`` in the file, read by a fresh plain sqlite3 connection."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])
    finally:
        conn.close()
