"""Where the time of ``import_file(kind="service_records")`` goes: wall time per stage, per record.

Usage: ``python benchmarks/import_breakdown.py DB ROWS [empty|city]`` — the same CSV and base registry as
``run.py --import-only`` (``import_csv``, ``prepare_import_target``), one in-process import, each stage timed
by a wrapper (a few hundred nanoseconds per call).  Stages nest: ``flush`` holds converting, settling
(identify and check, with the batch's facts) and writing a batch; what is outside it is reading the file,
the last batch's summaries and the commit.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402

import volreg  # noqa: E402
from volreg.io import handler, service_kind  # noqa: E402
from volreg.io import run as file_run  # noqa: E402
from volreg.store import bulk  # noqa: E402
from volreg.store import db as store_db  # noqa: E402
from volreg.store import service as ledger  # noqa: E402

TIMERS: dict[str, float] = {}
_WRAPPED: list[tuple[Any, str, Any]] = []


def timed(owner: Any, name: str, label: str) -> None:
    original = owner.__dict__[name]
    _WRAPPED.append((owner, name, original))

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        clock = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMERS[label] = TIMERS.get(label, 0.0) + time.perf_counter() - clock

    setattr(owner, name, wrapper)


def main() -> None:
    source, rows = Path(sys.argv[1]), int(sys.argv[2])
    base = sys.argv[3] if len(sys.argv) > 3 else "empty"
    folder = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        csv_path, target = folder / "records.csv", folder / "target.db"
        bench.import_csv(source, rows, csv_path)
        bench.prepare_import_target(source, target, base)
        records = service_kind.ServiceRecordsHandler
        for owner, name, label in (
            (file_run.FileRun, "flush", "flush (convert, settle, write a batch)"),
            (file_run.FileRun, "_convert_batch", "  convert a batch"),
            (records, "convert", "    convert() of the rows"),
            (file_run.FileRun, "_settle", "  settle a batch (identify, check)"),
            (records, "prefetch", "    prefetch (Python and facts)"),
            (ledger, "batch_facts", "      the batch's facts (SQL)"),
            (records, "find", "    find()"),
            (records, "check", "    check()"),
            (bulk.BulkInsert, "insert", "  insert the records"),
            (store_db.Store, "journal_batch", "  journal entry and items"),
            (handler.ImportContext, "remember_many", "  external ids"),
            (bulk.BulkInsert, "apply", "summaries (all batches)"),
        ):
            timed(owner, name, label)
        registry = volreg.open(target, key=bench.KEY)
        clock = time.perf_counter()
        report = volreg.import_file(registry, csv_path, kind="service_records", source="bench")
        total = time.perf_counter() - clock
        registry.close()
        if report.problems:
            raise AssertionError(report.problems[:3])
        print(f"{rows} rows into {base}: {total:.2f} s, {rows / total:,.0f} records/s, {total / rows * 1e6:.1f} µs/record")
        for label, seconds in TIMERS.items():
            print(f"  {label:44s} {seconds:7.3f} s  {seconds / rows * 1e6:6.1f} µs/record")
    finally:
        while _WRAPPED:
            owner, name, original = _WRAPPED.pop()
            setattr(owner, name, original)
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
