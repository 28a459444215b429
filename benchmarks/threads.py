"""Threads sharing one registry: a connection per thread (volreg's choice) against one serialised connection.

Four threads each log ``--records`` service records into one file and ask ``hours()`` every fifth write; then
one thread holds a write transaction for half a second while another asks ``hours()``. Printed: the wall time
of the mixed load and how long that read waited. Run from a checkout::

    python benchmarks/threads.py --records 150 --runs 2
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlite_utils import Database  # noqa: E402

import volreg  # noqa: E402

THREADS = 4
KEY = "threads-benchmark-key"


def _world(path: Path) -> tuple[list[str], str]:
    with volreg.open(path, key=KEY) as registry:
        org = registry.add_organisation("新华社区", kind="community")
        volunteers = [registry.register_volunteer(f"志愿者{n}", id_number=_id_number(n), organisation=org,
                                                  registered_on="2023-01-01").id for n in range(8)]
        activity = registry.add_activity("全年志愿服务", category="敬老助老", organiser=org,
                                         start="2024-01-01 00:00", end="2024-12-31 00:00").id
    return volunteers, activity


def _id_number(n: int) -> str:
    body = f"62020019800101{n:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _start(g: int) -> str:
    return f"2024-{1 + g // 8 // 24 // 28:02d}-{1 + g // 8 // 24 % 28:02d} {g // 8 % 24:02d}:00"


def run(mode: str, records: int) -> tuple[float, float]:
    """One measurement: (seconds for the mixed load, seconds a read waited behind a transaction)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "threads.db"
        volunteers, activity = _world(path)
        if mode == "serialised":
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            registry = volreg.Registry(Database(conn), key=KEY)
        else:
            registry = volreg.open(path, key=KEY)

        def work(k: int) -> None:
            for n in range(records):
                g = k * records + n
                registry.log_service(volunteers[g % 8], activity, start=_start(g), minutes=30)
                if n % 5 == 0:
                    volreg.hours(registry, by="volunteer")

        began = time.perf_counter()
        threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mixed = time.perf_counter() - began
        entered, done = threading.Event(), threading.Event()

        def long_write() -> None:
            with registry.transaction():
                registry.add_organisation("长事务", kind="community")
                entered.set()
                done.wait(0.5)

        writer = threading.Thread(target=long_write)
        writer.start()
        entered.wait()
        began = time.perf_counter()
        volreg.hours(registry)
        waited = time.perf_counter() - began
        done.set()
        writer.join()
        registry.close()
        return mixed, waited


def main() -> None:
    """Print both modes' timings, alternating, ``--runs`` times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=150)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.runs):
        for mode in ("per-thread", "serialised"):
            mixed, waited = run(mode, args.records)
            print(f"{mode:10s}  {THREADS}x{args.records} writes with reads: {mixed:6.2f} s   "
                  f"a read during another thread's write transaction waited {waited * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
