"""The benchmark generator and runner work end to end on a small registry (no timings are asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import generate  # noqa: E402
import run  # noqa: E402


@pytest.mark.parametrize("via", ["api", "direct"])
def test_every_benchmark_question_matches_its_hand_sql(tmp_path: Path, via: str) -> None:
    """A generated registry (through the public API, or the direct row path) answers each benchmark
    question exactly as the hand-written SQL does."""
    path = tmp_path / "bench.db"
    made = generate.generate(path, scale="small", volunteers=120, records=1500, via=via, quiet=True)
    assert made["record_versions"] >= 1500
    rows = run.run_queries(path, runs=1)
    assert 10 == len(rows)
    assert all(r["rows"] > 0 for r in rows), [r["question"] for r in rows if not r["rows"]]


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    """The same seed gives the same records, statuses and minutes."""
    query = "SELECT volunteer, activity, start, minutes, status FROM service_records ORDER BY id"
    answers = []
    for name in ("a.db", "b.db"):
        generate.generate(tmp_path / name, volunteers=60, records=400, via="direct", quiet=True)
        with run.sqlite3.connect(tmp_path / name) as conn:
            answers.append(conn.execute(query).fetchall())
    assert answers[0] == answers[1]
    assert {"pending", "verified", "rejected", "superseded", "void"} == {r[4] for r in answers[0]}


def test_the_skew_is_like_real_volunteering(tmp_path: Path) -> None:
    """A tenth of the volunteers give far more than a tenth of the records."""
    path = tmp_path / "skew.db"
    generate.generate(path, volunteers=200, records=3000, via="direct", quiet=True)
    with run.sqlite3.connect(path) as conn:
        counts = [n for (n,) in conn.execute(
            "SELECT count(*) AS n FROM service_records GROUP BY volunteer ORDER BY n DESC")]
    assert sum(counts[: len(counts) // 10]) > 0.3 * sum(counts)


def test_the_import_benchmark_compares_with_a_plain_insert_of_the_same_rows(tmp_path: Path) -> None:
    """``run.py --import-only both`` imports its CSV into a new and a copied registry, then inserts the very
    rows the import wrote into another copy by plain ``executemany``; each side holds every row."""
    path = tmp_path / "base.db"
    generate.generate(path, volunteers=60, records=300, via="direct", quiet=True)
    results = run.run_import(path, 120, ("empty", "city"))
    assert {name: result["rows"] for name, result in results.items()} == {
        "import_file into empty": 120, "plain executemany of the same rows into empty": 120,
        "import_file into city": 120, "plain executemany of the same rows into city": 120}


def test_the_import_breakdown_times_every_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``import_breakdown.py`` imports the benchmark's CSV and prints a time for each stage it wraps."""
    import import_breakdown

    path = tmp_path / "base.db"
    generate.generate(path, volunteers=60, records=300, via="direct", quiet=True)
    monkeypatch.setattr(sys, "argv", ["import_breakdown.py", str(path), "120", "empty"])
    monkeypatch.setattr(import_breakdown, "TIMERS", {})
    import_breakdown.main()
    out = capsys.readouterr().out
    assert out.startswith("120 rows into empty:")
    for stage in ("convert() of the rows", "check()", "insert the records", "summaries (all batches)",
                  "the batch's facts (SQL)", "journal entry and items", "external ids"):
        assert stage in out
