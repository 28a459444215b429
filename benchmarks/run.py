"""Time volreg's query functions against the same questions written by hand in SQL, on one generated file.

    python benchmarks/run.py /tmp/volreg-city.db [--runs 5] [--insert-rows 2000000]

For each question: the median of ``--runs`` runs of the volreg call (its rows fully built) and of the hand
SQL through the standard ``sqlite3`` module on the same file (its rows fetched), the ratio volreg ÷ hand SQL,
and the rows returned; the two answers are checked to agree first.  The hand SQL is what a careful notebook
user writes over ``service_records`` and the other base tables, using the indexes there are (``--plans``
prints each one's ``EXPLAIN QUERY PLAN``).

Then: the service-record import through ``volreg.import_file(kind="service_records")`` (when that kind
exists) against a plain ``executemany`` of the same rows into the same schema, with and without the
summary triggers, in records/s and peak RSS; and opening a registry plus its first query, cold (a new process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import volreg  # noqa: E402

KEY = "volreg-benchmark-key"
YEAR = ("2024-01-01", "2025-01-01")
YEAR_UTC = ("2023-12-31T16:00:00Z", "2024-12-31T16:00:00Z")


def utc_bounds(conn: sqlite3.Connection) -> tuple[str, str]:
    """The year 2024 in Asia/Shanghai as the UTC text the ledger stores."""
    sample = conn.execute("SELECT start_utc FROM service_records LIMIT 1").fetchone()
    if sample and sample[0].endswith("+00:00"):
        return ("2023-12-31T16:00:00+00:00", "2024-12-31T16:00:00+00:00")
    return YEAR_UTC


def questions(registry: volreg.Registry, conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Each question: volreg's call, the hand SQL and its parameters, and how to compare the answers."""
    top_volunteer = conn.execute(
        "SELECT volunteer FROM service_records WHERE status = 'verified' GROUP BY volunteer "
        "ORDER BY sum(minutes) DESC, volunteer LIMIT 1").fetchone()[0]
    district = conn.execute(
        "SELECT o.id FROM organisations o WHERE o.kind = 'district' ORDER BY o.id LIMIT 1").fetchone()[0]
    since, until = utc_bounds(conn)
    subtree = ("WITH RECURSIVE subtree(id) AS (SELECT id FROM organisations WHERE id = ? "
               "UNION SELECT o.id FROM organisations o JOIN subtree s ON o.parent = s.id) ")
    limits = [round(h * 60) for h in registry.settings.star_thresholds]
    star = "(" + " + ".join(f"(m >= {limit})" for limit in limits) + ")"
    duck_star = "(" + " + ".join(f"CAST(m >= {limit} AS INTEGER)" for limit in limits) + ")"
    PANDAS["star levels of everyone"] = _pd_stars(limits)
    return [
        dict(name="one volunteer's hours in a year",
             volreg=lambda: volreg.hours(registry, volunteer=top_volunteer, start=YEAR[0], end=YEAR[1]),
             sql="SELECT coalesce(sum(minutes), 0), count(*) FROM service_records WHERE volunteer = ? "
                 "AND start_utc >= ? AND start_utc < ? AND status = 'verified'",
             params=[top_volunteer, since, until], cols=("minutes", "records")),
        dict(name="hours per volunteer in a year",
             volreg=lambda: volreg.hours(registry, by="volunteer", start=YEAR[0], end=YEAR[1]),
             sql="SELECT volunteer, sum(minutes), count(*) FROM service_records WHERE status = 'verified' "
                 "AND start_utc >= ? AND start_utc < ? GROUP BY volunteer",
             params=[since, until], cols=("volunteer", "minutes", "records"), unordered=True),
        dict(name="hours per organisation subtree per month",
             volreg=lambda: volreg.hours(registry, by="month", organisation=district),
             sql=subtree + "SELECT substr(r.start, 1, 7) AS month, sum(r.minutes), count(*), "
                 "count(DISTINCT r.volunteer) FROM service_records r JOIN activities a ON a.id = r.activity "
                 "WHERE r.status = 'verified' AND a.organiser IN (SELECT id FROM subtree) GROUP BY month "
                 "ORDER BY month",
             params=[district], cols=("month", "minutes", "records", "volunteers")),
        dict(name="hours per organisation per month", headline=True,
             volreg=lambda: volreg.hours(registry, by=("organisation", "month")),
             sql="SELECT a.organiser, substr(r.start, 1, 7) AS month, sum(r.minutes), count(*), "
                 "count(DISTINCT r.volunteer) FROM service_records r JOIN activities a ON a.id = r.activity "
                 "WHERE r.status = 'verified' GROUP BY a.organiser, month",
             params=[], cols=("organisation", "month", "minutes", "records", "volunteers"), unordered=True),
        dict(name="hours per studio per month", headline=True,
             volreg=lambda: volreg.hours(registry, by=("studio", "month")),
             sql="SELECT a.studio, substr(r.start, 1, 7) AS month, sum(r.minutes), count(*), "
                 "count(DISTINCT r.volunteer) FROM service_records r JOIN activities a ON a.id = r.activity "
                 "WHERE r.status = 'verified' GROUP BY a.studio, month",
             params=[], cols=("studio", "month", "minutes", "records", "volunteers"), unordered=True),
        dict(name="top 100 volunteers", headline=True,
             volreg=lambda: volreg.hours(registry, by="volunteer", top=100),
             sql="SELECT r.volunteer, sum(r.minutes) AS m, count(*) FROM service_records r "
                 "JOIN volunteers v ON v.id = r.volunteer WHERE r.status = 'verified' "
                 "GROUP BY r.volunteer ORDER BY m DESC, v.number LIMIT 100",
             duck="SELECT r.volunteer, sum(r.minutes) AS m, count(*) FROM service_records r "
                  "JOIN volunteers v ON v.id = r.volunteer WHERE r.status = 'verified' "
                  "GROUP BY r.volunteer, v.number ORDER BY m DESC, v.number LIMIT 100",
             params=[], cols=("volunteer", "minutes", "records"), ranked=True),
        dict(name="star levels of everyone",
             volreg=lambda: volreg.star_levels(registry),
             sql=f"SELECT volunteer, {star} FROM (SELECT v.id AS volunteer, coalesce(sum(r.minutes), 0) AS m "
                 "FROM volunteers v LEFT JOIN service_records r ON r.volunteer = v.id AND r.status = 'verified' "
                 "GROUP BY v.id)",
             duck=f"SELECT volunteer, {duck_star} FROM (SELECT v.id AS volunteer, coalesce(sum(r.minutes), 0) AS m "
                  "FROM volunteers v LEFT JOIN service_records r ON r.volunteer = v.id AND r.status = 'verified' "
                  "GROUP BY v.id)",
             params=[], cols=("volunteer", "star"), unordered=True),
        dict(name="activity counts per studio and category", headline=True,
             volreg=lambda: volreg.activity_counts(registry, by=("studio", "category")),
             sql="SELECT a.studio, a.category, count(DISTINCT a.id), count(DISTINCT r.volunteer), count(r.id), "
                 "coalesce(sum(r.minutes), 0) FROM activities a LEFT JOIN service_records r "
                 "ON r.activity = a.id AND r.status = 'verified' GROUP BY a.studio, a.category",
             params=[], cols=("studio", "category", "activities", "participants", "service_records", "minutes"),
             unordered=True),
        dict(name="nomination counts per category and status",
             volreg=lambda: volreg.nominations(registry, by=("category", "status")),
             sql="SELECT category, status, count(*) FROM nominations GROUP BY category, status "
                 "ORDER BY category, status",
             params=[], cols=("category", "status", "nominations")),
        dict(name="honour roll of one title",
             volreg=lambda: volreg.honour_roll(registry, honour="china_good_person", include_counted=False),
             sql="SELECT h.id FROM honours h JOIN people p ON p.id = h.person WHERE h.honour = ? "
                 "ORDER BY h.year, h.period, h.awarded_on, p.name, h.id",
             params=["china_good_person"], cols=("id",), ranked=True),
    ]


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        clock = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - clock)
    return statistics.median(times), result


def _built(result: volreg.Result) -> volreg.Result:
    """The result with every row read (a lazy result reads only its first page until asked)."""
    result.tuples()
    return result


def _plain(value: Any) -> Any:
    """A peer's value as Python: numpy numbers as int/float, missing values as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def compare(question: dict[str, Any], result: volreg.Result, rows: list[tuple], peer: str = "hand SQL") -> None:
    """Raise AssertionError when volreg's rows and a peer's rows differ."""
    mine = [tuple(row[c] for c in question["cols"]) for row in result]
    theirs = [tuple(_plain(v) for v in r) for r in rows]
    if question.get("unordered") or (peer != "hand SQL" and not question.get("ranked")):
        mine, theirs = sorted(mine, key=repr), sorted(theirs, key=repr)
    if mine != theirs:
        raise AssertionError(f"{question['name']}: volreg and {peer} disagree "
                             f"({len(mine)} vs {len(theirs)} rows; first {mine[:2]} vs {theirs[:2]})")


def run_queries(path: Path, runs: int, plans: bool = False, peers: bool = False) -> list[dict[str, Any]]:
    """Time and check every question; return one row per question.

    With ``peers``, DuckDB (every table the questions read copied into memory first, not timed) and pandas
    (the same tables as DataFrames) answer each question too, in the same process, checked equal first.
    """
    registry = volreg.open(path, key=KEY)
    conn = sqlite3.connect(path)
    out = []
    tables = load_peers(conn) if peers else None
    for q in questions(registry, conn):
        if plans:
            print(q["name"], file=sys.stderr)
            for row in conn.execute("EXPLAIN QUERY PLAN " + q["sql"], q["params"]):
                print("   ", row[-1], file=sys.stderr)
        mine_t, mine = median_time(lambda q=q: _built(q["volreg"]()), runs)
        hand_t, rows = median_time(lambda q=q: conn.execute(q["sql"], q["params"]).fetchall(), runs)
        compare(q, mine, rows)
        row = {"question": q["name"], "volreg_ms": mine_t * 1000, "sql_ms": hand_t * 1000,
               "ratio": mine_t / hand_t if hand_t else float("inf"), "rows": len(mine),
               "headline": bool(q.get("headline"))}
        if tables is not None:
            duck, frames = tables
            sql = q.get("duck", q["sql"])
            duck_t, duck_rows = median_time(lambda sql=sql, q=q, duck=duck: duck.execute(sql, q["params"]).fetchall(), runs)
            compare(q, mine, duck_rows, "DuckDB")
            panda_t, panda_rows = median_time(lambda q=q, frames=frames: PANDAS[q["name"]](frames, q["params"]), runs)
            compare(q, mine, panda_rows, "pandas")
            row.update(duck_ms=duck_t * 1000, pandas_ms=panda_t * 1000, duck_ratio=mine_t / duck_t)
        first_t, _ = median_time(lambda q=q: q["volreg"]()[:100], runs)
        row["first_ms"] = first_t * 1000
        out.append(row)
    conn.close()
    registry.close()
    return out


# -- peers: DuckDB with the tables in memory, and pandas -------------------------------------------------------

PEER_TABLES = {
    "service_records": "id, volunteer, activity, status, start, start_utc, minutes",
    "activities": "id, organiser, studio, category",
    "volunteers": "id, number, person",
    "people": "id, name",
    "organisations": "id, parent, kind",
    "nominations": "id, category, status",
    "honours": "id, honour, person, year, period, awarded_on",
}
"""The columns of each table the questions read: what an analyst would load."""


def load_peers(conn: sqlite3.Connection) -> tuple[Any, dict[str, Any]]:
    """The tables as pandas DataFrames and as DuckDB in-memory tables (loading not timed)."""
    try:
        import duckdb
        import pandas
    except ImportError:
        raise SystemExit("--peers needs duckdb and pandas: pip install -e '.[bench]'") from None
    duck = duckdb.connect()
    frames = {}
    for name, columns in PEER_TABLES.items():
        frame = pandas.read_sql_query(f"SELECT {columns} FROM [{name}]", conn)
        frames[name] = frame
        duck.register("frame", frame)
        duck.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        duck.unregister("frame")
    duck.execute("ANALYZE")
    return duck, frames


def _verified_with_activity(f: dict[str, Any]) -> Any:
    records = f["service_records"]
    verified = records[records.status == "verified"]
    return verified.merge(f["activities"], left_on="activity", right_on="id", suffixes=("", "_a"))


def _pd_groups(frame: Any, keys: list[str]) -> list[tuple]:
    grouped = frame.groupby(keys, dropna=False).agg(m=("minutes", "sum"), n=("minutes", "size"),
                                                    v=("volunteer", "nunique"))
    return [(*(k if isinstance(k, tuple) else (k,)), m, n, v) for k, m, n, v in grouped.itertuples()]


def _pd_one(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    r = f["service_records"]
    r = r[(r.volunteer == p[0]) & (r.start_utc >= p[1]) & (r.start_utc < p[2]) & (r.status == "verified")]
    return [(int(r.minutes.sum()), len(r))]


def _pd_per_volunteer(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    r = f["service_records"]
    r = r[(r.status == "verified") & (r.start_utc >= p[0]) & (r.start_utc < p[1])]
    grouped = r.groupby("volunteer").minutes.agg(["sum", "size"])
    return list(grouped.itertuples())


def _pd_subtree(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    orgs = f["organisations"]
    children: dict[Any, list[Any]] = {}
    for org, parent in zip(orgs.id, orgs.parent, strict=True):
        children.setdefault(parent, []).append(org)
    under, todo = set(), [p[0]]
    while todo:
        org = todo.pop()
        if org not in under:
            under.add(org)
            todo += children.get(org, [])
    r = _verified_with_activity(f)
    r = r[r.organiser.isin(under)].assign(month=lambda x: x.start.str[:7])
    return _pd_groups(r, ["month"])


def _pd_by(key: str) -> Callable[[dict[str, Any], list[Any]], list[tuple]]:
    def ask(f: dict[str, Any], p: list[Any]) -> list[tuple]:
        r = _verified_with_activity(f).assign(month=lambda x: x.start.str[:7])
        return _pd_groups(r, [key, "month"])
    return ask


def _pd_top(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    r = f["service_records"]
    totals = r[r.status == "verified"].groupby("volunteer").minutes.agg(["sum", "size"]).reset_index()
    totals = totals.merge(f["volunteers"], left_on="volunteer", right_on="id")
    totals = totals.sort_values(["sum", "number"], ascending=[False, True]).head(100)
    return list(totals[["volunteer", "sum", "size"]].itertuples(index=False))


def _pd_stars(limits: list[int]) -> Callable[[dict[str, Any], list[Any]], list[tuple]]:
    def ask(f: dict[str, Any], p: list[Any]) -> list[tuple]:
        r = f["service_records"]
        totals = r[r.status == "verified"].groupby("volunteer").minutes.sum()
        minutes = totals.reindex(f["volunteers"].id, fill_value=0)
        stars = sum((minutes >= limit).astype(int) for limit in limits)
        return list(zip(minutes.index, stars, strict=True))
    return ask


def _pd_activity_counts(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    r = f["service_records"]
    joined = f["activities"].merge(r[r.status == "verified"], left_on="id", right_on="activity", how="left",
                                   suffixes=("", "_r"))
    grouped = joined.groupby(["studio", "category"], dropna=False).agg(
        a=("id", "nunique"), v=("volunteer", "nunique"), n=("id_r", "count"), m=("minutes", "sum"))
    return [(s, c, a, v, n, int(m)) for (s, c), a, v, n, m in grouped.itertuples()]


def _pd_nominations(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    grouped = f["nominations"].groupby(["category", "status"], dropna=False).size()
    return [(c, s, n) for (c, s), n in grouped.items()]


def _pd_roll(f: dict[str, Any], p: list[Any]) -> list[tuple]:
    h = f["honours"]
    h = h[h.honour == p[0]].merge(f["people"], left_on="person", right_on="id", suffixes=("", "_p"))
    h = h.sort_values(["year", "period", "awarded_on", "name", "id"])
    return [(i,) for i in h.id]


PANDAS: dict[str, Callable[[dict[str, Any], list[Any]], list[tuple]]] = {
    "one volunteer's hours in a year": _pd_one,
    "hours per volunteer in a year": _pd_per_volunteer,
    "hours per organisation subtree per month": _pd_subtree,
    "hours per organisation per month": _pd_by("organiser"),
    "hours per studio per month": _pd_by("studio"),
    "top 100 volunteers": _pd_top,
    "activity counts per studio and category": _pd_activity_counts,
    "nomination counts per category and status": _pd_nominations,
    "honour roll of one title": _pd_roll,
}
"""Each question in pandas, as an analyst would write it (stars are added per registry thresholds)."""


# -- import and cold open, each in its own process so peak RSS is its own -------------------------------

_INSERT_CHILD = r"""
import json, resource, sqlite3, sys, time
sys.path.insert(0, {root!r})
import volreg
source, target, rows, triggers, cache, bulk = {source!r}, {target!r}, {rows}, {triggers}, {cache}, {bulk}
registry = volreg.open(target, key="benchmark-key-x-16")
if not triggers:
    for (name,) in registry.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'summary_%'").fetchall():
        registry.db.execute(f"DROP TRIGGER {{name}}")
registry.close()
src = sqlite3.connect(source)
dst = sqlite3.connect(target)
if cache:
    dst.execute(f"PRAGMA cache_size = -{{cache * 1024}}")
dst.execute("PRAGMA foreign_keys = OFF")
for table in ("people", "organisations", "volunteers", "studios", "activities"):
    cols = [r[1] for r in src.execute(f"PRAGMA table_info([{{table}}])")]
    dst.executemany(f"INSERT INTO [{{table}}] VALUES ({{', '.join('?' for _ in cols)}})", src.execute(f"SELECT * FROM [{{table}}]"))
dst.commit()
cols = [r[1] for r in src.execute("PRAGMA table_info(service_records)")]
cursor = src.execute(f"SELECT * FROM service_records ORDER BY rowid LIMIT {{rows}}")
clock = time.perf_counter()
if bulk:
    # volreg.store.bulk.insert_records: the same executemany, the summaries set-based once per chunk.
    from volreg.store.bulk import insert_records
    dst.close()
    registry = volreg.open(target, key="benchmark-key-x-16")
    registry.db.execute(f"PRAGMA cache_size = -{{max(cache, 2) * 1024}}")
    registry.db.execute("PRAGMA foreign_keys = OFF")  # as for the plain executemany
    clock = time.perf_counter()
    with registry.transaction():
        while True:
            chunk = cursor.fetchmany(5000)
            if not chunk:
                break
            insert_records(registry._store, [dict(zip(cols, row)) for row in chunk])
    dst = registry.db.conn
else:
    dst.execute("BEGIN")
    while True:
        chunk = cursor.fetchmany(50000)
        if not chunk:
            break
        dst.executemany(f"INSERT INTO service_records VALUES ({{', '.join('?' for _ in cols)}})", chunk)
    dst.execute("COMMIT")
seconds = time.perf_counter() - clock
n = dst.execute("SELECT count(*) FROM service_records").fetchone()[0]
print(json.dumps({{"rows": n, "seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_COLD_CHILD = r"""
import json, sys, time
clock = time.perf_counter()
sys.path.insert(0, {root!r})
import volreg
imported = time.perf_counter()
registry = volreg.open({path!r}, key={key!r})
opened = time.perf_counter()
volreg.hours(registry).to_dicts()
done = time.perf_counter()
print(json.dumps({{"import_s": imported - clock, "open_s": opened - imported, "first_query_s": done - opened}}))
"""


def child(code: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


IMPORT_DAYS = 300
"""New activities for the import benchmark, one a day from 2026-01-05, so no imported record meets an old one."""


def import_csv(source: Path, rows: int, target: Path) -> None:
    """A service-record CSV of ``rows`` new records for the volunteers of ``source``, as an export looks.

    Volunteer ``v``'s ``k``-th record is on day ``(7 v + k // 3) % IMPORT_DAYS``, in slot ``k % 3`` (08:00,
    12:00, 16:00; two hours each), so no two records of one volunteer overlap; 85% are verified.
    """
    conn = sqlite3.connect(source)
    numbers = [r[0] for r in conn.execute("SELECT number FROM volunteers ORDER BY id")]
    conn.close()
    with open(target, "w", encoding="utf-8", newline="") as handle:
        handle.write("外部编号,志愿者编号,活动,开始时间,服务时长,审核状态\n")
        first = _day0()
        for i in range(rows):
            v, k = i % len(numbers), i // len(numbers)
            if k >= 3 * 7:
                raise ValueError(f"at most {21 * len(numbers)} rows for {len(numbers)} volunteers")
            day = first + timedelta(days=(7 * v + k // 3) % IMPORT_DAYS)
            status = "待审核" if i % 20 < 3 else "已审核"
            handle.write(f"I{i:09d},{numbers[v]},act-imp-{(day - first).days:03d},{day} {8 + 4 * (k % 3):02d}:00,"
                         f"2,{status}\n")


def _day0() -> date:
    return date(2026, 1, 5)


def prepare_import_target(source: Path, target: Path, base: str) -> None:
    """``target`` as a registry to import into: a copy of ``source`` (``city``), or a new registry holding
    only its people, organisations, volunteers, studios and activities (``empty``); plus the new activities."""
    if base == "city":
        shutil.copyfile(source, target)
    registry = volreg.open(target, key=KEY)
    if base == "empty":
        registry.db.execute("ATTACH DATABASE ? AS src", [str(source)])
        with registry.transaction():
            for table in ("people", "organisations", "volunteers", "studios", "activities"):
                registry.db.execute(f"INSERT INTO [{table}] SELECT * FROM src.[{table}]")
        registry.db.execute("DETACH DATABASE src")
    organisations = [r[0] for r in registry.db.execute("SELECT id FROM organisations ORDER BY id")]
    with registry.transaction():
        for n in range(IMPORT_DAYS):
            day = _day0() + timedelta(days=n)
            registry.add_activity(f"导入活动{n}", category="敬老助老", start=f"{day} 08:00", end=f"{day} 20:00",
                                  organiser=organisations[n % len(organisations)], id=f"act-imp-{n:03d}")
    registry.db.execute("ANALYZE")
    registry.close()


def import_child(target: str, csv_path: str, profile: str | None, per_row: bool = False) -> dict[str, Any]:
    """(In its own process.) Time ``import_file`` of the CSV into ``target``; peak RSS of the process.
    ``per_row``: the row-by-row checks instead of the set-based ones (for comparison)."""
    import resource

    registry = volreg.open(target, key=KEY)
    clock = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(volreg.import_file, registry, csv_path, kind="service_records", source="bench",
                                  _per_row=per_row)
        profiler.dump_stats(profile)
    else:
        report = volreg.import_file(registry, csv_path, kind="service_records", source="bench", _per_row=per_row)
    seconds = time.perf_counter() - clock
    if report.problems or not report.written:
        raise AssertionError(f"import failed: {report.problems[:3]}")
    registry.close()
    return {"rows": report.created, "seconds": seconds,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


_PLAIN_CHILD = r"""
import json, resource, sqlite3, sys, time
base, imported = {base!r}, {imported!r}
dst = sqlite3.connect(base, isolation_level=None)
for (name,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'summary_%'").fetchall():
    dst.execute(f"DROP TRIGGER {{name}}")
dst.execute("PRAGMA cache_size = -65536")  # the page cache import_file uses
dst.execute("PRAGMA foreign_keys = ON")  # as a registry's connection has it
src = sqlite3.connect(imported)
cols = [r[1] for r in src.execute("PRAGMA table_info(service_records)")]
rows = src.execute(f"SELECT {{', '.join(cols)}} FROM service_records WHERE source = 'import' ORDER BY rowid").fetchall()
sql = f"INSERT INTO service_records ({{', '.join(cols)}}) VALUES ({{', '.join('?' for _ in cols)}})"
clock = time.perf_counter()
dst.execute("BEGIN")
for start in range(0, len(rows), 5000):
    dst.executemany(sql, rows[start:start + 5000])
dst.execute("COMMIT")
seconds = time.perf_counter() - clock
print(json.dumps({{"rows": len(rows), "seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_import(path: Path, rows: int, bases: tuple[str, ...] = ("empty", "city"),
               profile: str | None = None, per_row: bool = False) -> dict[str, Any]:
    """``import_file(kind="service_records")`` of ``rows`` new records into each base, each in its own process;
    then a plain ``executemany`` of the very rows the import wrote (same ids and values) into another copy of
    the same base, with the same indexes and page cache and the summary triggers dropped."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        csv_path = Path(folder) / "records.csv"
        import_csv(path, rows, csv_path)
        for base in bases:
            target = Path(folder) / f"{base}.db"
            prepare_import_target(path, target, base)
            plain = Path(folder) / f"{base}-plain.db"
            shutil.copyfile(target, plain)
            args = [sys.executable, __file__, str(target), "--import-child", str(target), str(csv_path)]
            if profile:
                args += ["--profile", f"{profile}.{base}"]
            if per_row:
                args.append("--per-row")
            done = subprocess.run(args, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"the import child failed:\n{done.stderr}")
            out[f"import_file into {base}"] = json.loads(done.stdout.strip().splitlines()[-1])
            out[f"plain executemany of the same rows into {base}"] = child(
                _PLAIN_CHILD.format(base=str(plain), imported=str(target)))
            for name in (target, plain):
                for suffix in ("", "-wal", "-shm"):
                    Path(str(name) + suffix).unlink(missing_ok=True)
    return out


def run_writes(path: Path, rows: int, cache_mb: int = 0) -> dict[str, Any]:
    """executemany of ``rows`` stored service records into a fresh registry, with and without triggers."""
    import volreg.io.kinds  # noqa: F401
    from volreg.io.importer import HANDLERS

    root = str(Path(__file__).resolve().parents[1])
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        for name, triggers, bulk in (("executemany", False, False), ("executemany+triggers", True, False),
                                     ("insert_records (bulk summaries)", True, True)):
            target = str(Path(folder) / f"copy-{triggers}-{bulk}.db")
            out[name] = child(_INSERT_CHILD.format(
                root=root, source=str(path), target=target, rows=rows, triggers=triggers, cache=cache_mb,
                bulk=bulk))
    if "service_records" in HANDLERS:
        out.update(run_import(path, rows))
    return out


def run_cold(path: Path) -> dict[str, Any]:
    return child(_COLD_CHILD.format(root=str(Path(__file__).resolve().parents[1]), path=str(path), key=KEY))


def table(rows: list[dict[str, Any]]) -> str:
    peers = any("duck_ms" in r for r in rows)
    head = "| question | volreg ms | first 100 rows ms | hand SQL ms | volreg ÷ hand SQL |"
    rule = "|---|---:|---:|---:|---:|"
    if peers:
        head += " DuckDB in memory ms | pandas ms | volreg ÷ DuckDB |"
        rule += "---:|---:|---:|"
    lines = [head + " rows |", rule + "---:|"]
    for r in rows:
        mark = " *" if r["headline"] else ""
        line = (f"| {r['question']}{mark} | {r['volreg_ms']:.1f} | {r['first_ms']:.1f} | {r['sql_ms']:.1f} | "
                f"{r['ratio']:.2f} |")
        if peers:
            line += f" {r['duck_ms']:.1f} | {r['pandas_ms']:.1f} | {r['duck_ratio']:.2f} |"
        lines.append(line + f" {r['rows']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN QUERY PLAN of each hand query")
    parser.add_argument("--peers", action="store_true",
                        help="also time DuckDB (tables in memory) and pandas on the same questions (extra 'bench')")
    parser.add_argument("--insert-rows", type=int, default=0,
                        help="also time executemany of this many stored records into a fresh registry")
    parser.add_argument("--cache-mb", type=int, default=0,
                        help="page cache of the executemany connection (default: SQLite's 2 MB)")
    parser.add_argument("--no-cold", action="store_true")
    parser.add_argument("--import-only", choices=("empty", "city", "both"),
                        help="only time import_file of --insert-rows records (into a new or a copied registry)")
    parser.add_argument("--profile", help="(with --import-only) write cProfile stats to PROFILE.<base>")
    parser.add_argument("--per-row", action="store_true",
                        help="(with --import-only) time the row-by-row checks instead of the set-based ones")
    parser.add_argument("--import-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.import_child:
        print(json.dumps(import_child(*args.import_child, args.profile, args.per_row)))
        return
    if args.import_only:
        bases = ("empty", "city") if args.import_only == "both" else (args.import_only,)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before the import"
              f"{' (row-by-row checks)' if args.per_row else ''}")
        for name, result in run_import(args.db, args.insert_rows or 200_000, bases, args.profile,
                                       args.per_row).items():
            print(f"{name}: {result['rows']} rows in {result['seconds']:.1f} s = "
                  f"{result['rows'] / result['seconds']:,.0f} records/s, peak RSS {result['rss_mb']:.0f} MB")
        return
    conn = sqlite3.connect(args.db)
    records = conn.execute("SELECT count(*) FROM service_records").fetchone()[0]
    meta = conn.execute("SELECT value FROM registry_meta WHERE key = 'benchmark'").fetchone()
    conn.close()
    print(f"{args.db}: {records} record versions ({meta[0] if meta else 'not generated'}); "
          f"{platform.python_implementation()} {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{platform.machine()}, median of {args.runs}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before the queries")
    print(table(run_queries(args.db, args.runs, args.plans, args.peers)))
    print(f"(* headline question: target under 20 ms); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    from volreg.io.importer import HANDLERS

    if "service_records" not in HANDLERS:
        print("import_file: skipped: no service_records import kind")
    if args.insert_rows:
        for name, result in run_writes(args.db, args.insert_rows, args.cache_mb).items():
            if isinstance(result, dict):
                print(f"{name}: {result['rows']} rows in {result['seconds']:.1f} s = "
                      f"{result['rows'] / result['seconds']:,.0f} records/s, peak RSS {result['rss_mb']:.0f} MB")
    if not args.no_cold:
        cold = run_cold(args.db)
        print(f"cold: import volreg {cold['import_s'] * 1000:.0f} ms, open {cold['open_s'] * 1000:.0f} ms, "
              f"first query {cold['first_query_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
