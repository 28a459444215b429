"""The set-based service-record import agrees with the row-by-row one on random files.

Both paths run on the same random small CSV (valid rows, overlapping rows, records of a day, unknown and
inactive volunteers, unknown and non-service activities, repeated rows and external ids, rows outside the
activity's span, rows already in the ledger) into two copies of one registry file, with the same mode,
dry-run flag and batch size; the registries (records, statuses, minutes, summaries, journal) and the reports
(counts, and problems as line, column and rule) must be the same.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import build_world

import volreg
from volreg.io import service_kind

KEY = "test-key-16-bytes"
SUMMARY_TABLES = ("summary_volunteer_months", "summary_volunteer_years", "summary_volunteers", "summary_groups",
                  "summary_group_members", "summary_unserved")
# Everything of a record but its id and the instants of the import itself (which differ between two runs).
RECORD_COLUMNS = ("volunteer", "activity", "start", "end", "start_utc", "end_utc", "minutes", "status", "source",
                  "recorded_by", "verified_by", "closed_by", "reason", "late", "note", "external_id", "day")
HEADER = ("外部编号", "志愿者编号", "活动", "日期", "开始时间", "结束时间", "服务时长", "审核状态")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """A registry file to copy for each run: the shared world, a suspended volunteer, a lecture (not
    volunteer service) and a few records already in the ledger; plus the numbers and ids rows may name."""
    path = tmp_path_factory.mktemp("set-based") / "template.db"
    registry = volreg.open(path, key=KEY)
    volunteers, activities = build_world(registry)
    registry.set_volunteer_status(volunteers[2], "suspended", on="2024-03-01")
    lecture = registry.add_activity("道德讲堂", category="敬老助老", start="2024-01-15 08:00", end="2024-01-15 17:00",
                                    organiser=activities[0].organiser, kind="moral_lecture")
    held = registry.log_service(volunteers[0], activities[0], start="2023-12-31 09:00", end="2023-12-31 10:00")
    registry.log_service(volunteers[1], activities[1], on="2024-01-15", minutes=600)
    registry.verify_service(held, by="新华社区")
    registry.log_service(volunteers[1], activities[3], start="2024-04-01 13:00", minutes=60)
    names = {
        "volunteers": [registry.volunteer(v.id).number for v in volunteers] + ["V-NOBODY"],
        "activities": [a.id for a in activities] + [lecture.id, "act-nowhere"],
        "days": ["2023-12-31", "2024-01-15", "2024-03-31", "2024-04-01", "2024-10-27"],
    }
    registry.close()
    return path, names


row_specs = st.lists(
    st.tuples(
        st.sampled_from((0, 0, 0, 1, 1, 2, 3)),  # volunteer (2: suspended from 2024-03-01, 3: unknown)
        st.sampled_from((0, 0, 0, 1, 1, 2, 3, 4, 5, 6)),  # activity (5: a lecture, 6: unknown); mostly one
        st.sampled_from((0, 0, 0, 0, 1, 2, 3, 4)),  # day: 0 the activity's own, else that of activity n
        st.one_of(st.none(), st.integers(6, 13)),  # start hour (6, 7: before the span); None: a day record
        st.sampled_from((15, 30, 60, 90, 150, 300)),  # minutes of a timed record
        st.sampled_from(("1", "2.5", "8", "12", "20")),  # hours of a record of a day
        st.sampled_from(("已审核", "待审核", "")),
        st.one_of(st.none(), st.none(), st.integers(0, 20)),  # external id (some repeat)
    ),
    min_size=1,
    max_size=14,
)
repeats = st.lists(st.integers(0, 13), max_size=3)
"""Rows copied again later in the file (a repeated row)."""


def write_csv(path: Path, names: dict[str, list[str]], specs: list[tuple], again: list[int]) -> None:
    rows = []
    for vol, act, day_n, hour, minutes, hours, status, external in specs:
        day = names["days"][act if act < 5 and day_n == 0 else day_n]
        if hour is None:
            start = end = ""
            duration = hours
        else:
            start = f"{hour:02d}:{7 * (minutes % 3):02d}"
            finish = hour * 60 + 7 * (minutes % 3) + minutes
            end = f"{finish // 60:02d}:{finish % 60:02d}" if finish < 24 * 60 else ""
            duration = "" if end else str(minutes / 60)
        rows.append(["" if external is None else f"E{external}", names["volunteers"][vol], names["activities"][act],
                     day, start, end, duration, status])
    rows += [list(rows[n]) for n in again if n < len(rows)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def rule(message: str) -> str:
    """A problem's rule: its message without record ids and without where an earlier row of the file was
    written (which depends only on where batches end)."""
    if "overlaps record" in message:
        return "overlap"
    if "more than 24 h" in message:
        return "day_total"
    return re.sub(r"svc\S*", "ID", message)


def state(path: Path) -> dict[str, object]:
    registry = volreg.open(path, key=KEY)
    try:
        db = registry.db
        out: dict[str, object] = {
            "records": sorted(db.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM service_records").fetchall(),
                              key=repr),
            "journal": sorted(db.execute("SELECT i.line, i.status, i.verified_by, j.action, j.actor FROM journal_items i "
                                         "JOIN journal j ON j.seq = i.seq").fetchall(), key=repr),
            "identity": sorted(db.execute("SELECT kind, source, key FROM import_identity").fetchall()),
        }
        for table in SUMMARY_TABLES:
            out[table] = sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        out["hours"] = sorted(map(tuple, volreg.hours(registry, by=("volunteer", "month"),
                                                    status=("verified", "pending")).tuples()), key=repr)
        return out
    finally:
        registry.close()


def run(template: Path, folder: Path, csv_path: Path, name: str, *, per_row: bool, **options: object):
    target = folder / f"{name}.db"
    shutil.copyfile(template, target)
    registry = volreg.open(target, key=KEY)
    try:
        report = volreg.import_file(registry, csv_path, kind="service_records", progress=False,
                                    _per_row=per_row, **options)
    finally:
        registry.close()
    return report, state(target)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Pinned: a row refused by a rule (before the activity starts), then a row that overlaps only that one and
# so is accepted; then a timed and a day record filling one day past 24 h; then a repeated row.
@example(specs=[(0, 0, 0, 7, 90, "1", "", None), (0, 0, 0, 8, 60, "1", "", None)], again=[],
         mode="valid_rows", dry_run=False, batch_size=5)
@example(specs=[(1, 1, 1, 9, 300, "1", "已审核", None), (1, 1, 1, None, 60, "12", "", 3),
                (1, 1, 1, 14, 60, "1", "", None)], again=[2], mode="valid_rows", dry_run=False, batch_size=2)
# Pinned: one time slot of one activity for an active volunteer, then for one suspended before it (the rules
# of a slot are worked out once: the volunteer's own must still be checked per row).
@example(specs=[(0, 2, 0, 9, 60, "1", "", None), (2, 2, 0, 9, 60, "1", "", None),
                (1, 2, 0, None, 60, "2.5", "", None), (2, 2, 0, None, 60, "2.5", "", None)], again=[],
         mode="valid_rows", dry_run=False, batch_size=4)
@given(specs=row_specs, again=repeats, mode=st.sampled_from(("all_or_nothing", "valid_rows")),
       dry_run=st.booleans(), batch_size=st.integers(1, 6))
def test_set_based_and_row_by_row_imports_agree(template, specs, again, mode, dry_run, batch_size):
    path, names = template
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        csv_path = folder / "records.csv"
        write_csv(csv_path, names, specs, again)
        options = {"mode": mode, "dry_run": dry_run, "batch_size": batch_size}
        fast, fast_state = run(path, folder, csv_path, "set", per_row=False, **options)
        slow, slow_state = run(path, folder, csv_path, "row", per_row=True, **options)
    counts = ("rows", "created", "updated", "skipped", "written", "problems_left_out")
    assert [getattr(fast, c) for c in counts] == [getattr(slow, c) for c in counts]
    assert [(p.line, p.column, rule(p.message)) for p in fast.problems] == \
        [(p.line, p.column, rule(p.message)) for p in slow.problems]
    assert fast_state == slow_state


@pytest.mark.parametrize("shape_limit", [None, 1])
def test_the_compared_files_exercise_every_rule(template, tmp_path, monkeypatch, shape_limit):
    """One fixed file meets each rule the random files are drawn to meet, so the comparison above is not
    vacuous: an overlap within the file and with the ledger, a day over 24 h, an unknown and a suspended
    volunteer, a lecture, an unknown activity, a row outside the span, a repeated row.
    Also with the shape caches cleared after every row or two (their bound, met early)."""
    if shape_limit is not None:
        monkeypatch.setattr(service_kind, "_SHAPE_LIMIT", shape_limit)
    path, names = template
    specs = [
        (0, 0, 0, 8, 90, "1", "已审核", None),     # overlaps the ledger's 09:00–10:00
        (0, 0, 0, 12, 60, "1", "", None),          # good
        (0, 0, 0, 12, 90, "1", "", 1),             # overlaps the row before (same start, other minutes)
        (1, 1, 1, None, 60, "20", "", None),       # 600 + 1200 minutes on 2024-01-15
        (3, 0, 0, 12, 60, "1", "", None),          # unknown volunteer
        (2, 4, 4, 9, 60, "1", "", None),           # suspended since 2024-03-01
        (0, 5, 1, 9, 60, "1", "", None),           # a lecture
        (0, 6, 1, 9, 60, "1", "", None),           # unknown activity
        (0, 1, 1, 16, 150, "1", "", None),         # ends after the activity
        (1, 2, 2, None, 60, "2.5", "待审核", None),  # good day record
    ]
    csv_path = tmp_path / "records.csv"
    write_csv(csv_path, names, specs, [1])
    fast, fast_state = run(path, tmp_path, csv_path, "set", per_row=False, mode="valid_rows")
    slow, slow_state = run(path, tmp_path, csv_path, "row", per_row=True, mode="valid_rows")
    assert fast_state == slow_state
    found = [(p.line, rule(p.message)) for p in fast.problems]
    assert found == [(p.line, rule(p.message)) for p in slow.problems]
    assert [line for line, _ in found] == [2, 4, 5, 6, 7, 8, 9, 10, 12]
    assert (found[0][1], found[1][1], found[2][1]) == ("overlap", "overlap", "day_total")
    assert "repeats line 3" in found[-1][1]
    assert (fast.created, fast.rows) == (2, 11)


def test_set_based_import_keeps_each_records_history(template, tmp_path):
    """The journal rows of a batch are written at once, and each record's history still shows its import."""
    path, names = template
    csv_path = tmp_path / "records.csv"
    write_csv(csv_path, names, [(0, 2, 2, 9, 60, "1", "已审核", 7), (1, 2, 2, None, 60, "2.5", "", None)], [])
    target = tmp_path / "one.db"
    shutil.copyfile(path, target)
    registry = volreg.open(target, key=KEY)
    report = volreg.import_file(registry, csv_path, kind="service_records", progress=False)
    assert (report.created, report.problems) == (2, ())
    for record in registry.service_records(activity=names["activities"][2]):
        changes = registry.history(record.id)
        assert [c.action for c in changes] == ["create"]
        assert changes[0].actor == "import records.csv"
    registry.close()


def test_one_journal_entry_per_batch_and_each_records_import_in_its_history(template, tmp_path):
    """An import writes one journal entry per batch, naming the file and its records; each record's history
    shows its creation as written (status and verifier then, its line), even after it was verified."""
    path, names = template
    csv_path = tmp_path / "records.csv"
    write_csv(csv_path, names, [(0, 2, 2, 9, 60, "1", "已审核", 7), (1, 2, 2, None, 60, "2.5", "", None),
                                (0, 2, 2, 11, 30, "1", "", 8)], [])
    target = tmp_path / "batches.db"
    shutil.copyfile(path, target)
    registry = volreg.open(target, key=KEY)
    report = volreg.import_file(registry, csv_path, kind="service_records", progress=False, batch_size=2)
    assert (report.created, report.problems) == (3, ())
    entries = registry.db.execute("SELECT entity_id, after FROM journal WHERE action = 'import'").fetchall()
    assert len(entries) == 2  # batches of two rows: lines 2-3 and line 4
    [first] = registry.history(entries[0][0])
    assert (first.after["file"], first.after["records"], first.after["first_line"], first.after["last_line"]) == (
        "records.csv", 2, 2, 3)
    assert first.actor == "import records.csv"
    by_line = {}
    for record in registry.service_records(activity=names["activities"][2]):
        [change] = registry.history(record.id)
        by_line[change.note] = (record, change)
    assert sorted(by_line) == ["line 2", "line 3", "line 4"]
    verified, change = by_line["line 2"]
    assert (change.action, change.after["status"], change.after["minutes"]) == ("create", "verified", 60)
    assert change.after["verified_by"] == verified.verified_by and change.after["id"] == verified.id
    pending, _ = by_line["line 4"]
    registry.verify_service(pending, by="新华社区")
    created, verify = registry.history(pending.id)
    assert (created.action, created.after["status"], created.after["verified_by"]) == ("create", "pending", None)
    assert (verify.action, verify.after["status"]) == ("verify", "verified")
    registry.close()


def test_external_ids_and_volunteers_are_read_once_per_batch(template, tmp_path):
    """The external ids of a batch and the volunteers it names are each read in one statement, not one per row."""
    path, names = template
    csv_path = tmp_path / "records.csv"
    specs = [(n % 2, 2, 2, 8 + n, 30, "1", "", n) for n in range(6)]
    write_csv(csv_path, names, specs, [])
    target = tmp_path / "reads.db"
    shutil.copyfile(path, target)
    registry = volreg.open(target, key=KEY)
    seen: list[str] = []
    registry.db.conn.set_trace_callback(seen.append)
    report = volreg.import_file(registry, csv_path, kind="service_records", progress=False, batch_size=3)
    registry.db.conn.set_trace_callback(None)
    assert (report.created, report.problems) == (6, ())
    identity = [sql for sql in seen if sql.lstrip().startswith("SELECT") and "import_identity" in sql]
    volunteers = [sql for sql in seen if sql.lstrip().startswith("SELECT") and "FROM volunteers" in sql]
    assert len(identity) == 2  # two batches of three rows
    assert len(volunteers) == 1  # both volunteers are named in the first batch
    registry.close()


def test_set_based_reads_use_the_volunteer_index(template, tmp_path):
    """Each statement that reads the ledger for a batch walks index ranges per staged row: never a scan of
    the ledger, nor a Bloom filter built over it (which cost more than the rest of a batch)."""
    path, names = template
    csv_path = tmp_path / "records.csv"
    write_csv(csv_path, names, [(0, 2, 2, 9, 60, "1", "", None), (1, 2, 2, None, 60, "2.5", "", None)], [])
    target = tmp_path / "plans.db"
    shutil.copyfile(path, target)
    registry = volreg.open(target, key=KEY)
    seen: list[str] = []
    registry.db.conn.set_trace_callback(seen.append)
    volreg.import_file(registry, csv_path, kind="service_records", progress=False)
    registry.db.conn.set_trace_callback(None)
    reads = [sql for sql in seen if sql.lstrip().startswith("SELECT") and "import_service_batch" in sql]
    assert len(reads) == 4
    for sql in reads:
        plan = [row[3] for row in registry.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
        ledger = [step for step in plan if " s " in f" {step} " or " x " in f" {step} "]
        assert ledger or "a.n" in sql, plan
        assert all(step.startswith("SEARCH") for step in ledger), plan
    registry.close()


def test_a_question_asked_during_an_import_counts_the_batches_written_so_far(tmp_path: Path) -> None:
    """The summaries of an import's batches are added when it commits; a question asked in between (from
    the progress hook, on the import's own connection) must still count every record written so far, as a
    recount of the records does, and not only those in the summaries."""
    registry = volreg.open(tmp_path / "r.db", key=KEY)
    volunteers, activities = build_world(registry)
    path = tmp_path / "records.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(12):
            act = activities[n % len(activities)]
            day = act.start.date().isoformat()
            writer.writerow(["", registry.volunteer(volunteers[n % len(volunteers)].id).number, act.id, day,
                             f"{8 + n // len(volunteers)}:00", f"{8 + n // len(volunteers)}:30", "", "已审核"])
    asked: list[tuple[object, object]] = []

    def answers() -> list[object]:
        return [volreg.hours(registry).tuples(), volreg.hours(registry, by=("organisation", "month")).tuples(),
                volreg.hours(registry, by="volunteer").tuples(), volreg.star_levels(registry).tuples(),
                volreg.activity_counts(registry, by=("studio", "category")).tuples()]

    def hook(done: int, total: int | None) -> None:
        if done in (5, 9):
            fast = answers()
            registry.session.summaries = False
            try:
                asked.append((fast, answers()))
            finally:
                registry.session.summaries = True

    report = volreg.import_file(registry, path, kind="service_records", batch_size=2, progress=hook)
    assert (12, ()) == (report.created, report.problems)
    assert 2 == len(asked)
    for fast, recounted in asked:
        assert recounted == fast
    assert 0 < asked[0][1][0][0][0] < asked[1][1][0][0][0]  # the records written so far were counted
    registry.close()
