"""The summary tables (migration m005) agree with the records after any writes, and every fast path answers
exactly what the query on the records answers."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ACTIVITY_DAYS, SLOTS, VOLUNTEERS, build_world

import volreg
from volreg.base import new_id
from volreg.erasure import pseudonym
from volreg.model import ServiceRecord
from volreg.store import bulk, summaries
from volreg.store.summaries import insert_records
from volreg.timeutil import get_zone

SUMMARY_TABLES = ("summary_volunteer_months", "summary_volunteer_years", "summary_volunteers", "summary_groups",
                  "summary_group_members", "organisation_tree", "summary_unserved")

# A volunteer's number and their person's name, looked up afresh (the summaries keep a copy beside each row).
_LABEL = ("(SELECT v.number FROM volunteers v WHERE v.id = r.volunteer), "
          "(SELECT p.name FROM volunteers v JOIN people p ON p.id = v.person WHERE v.id = r.volunteer)")
# The records of an organisation's subtree: each record once for its organiser and every organisation above it,
# found by walking up the parents (not through the closure the summaries keep).
_SUBTREE = ("WITH RECURSIVE up(organisation, ancestor) AS (SELECT id, id FROM organisations UNION ALL "
            "SELECT up.organisation, o.parent FROM up JOIN organisations o ON o.id = up.ancestor "
            "WHERE o.parent IS NOT NULL) "
            "SELECT r.status, 'subtree', up.ancestor, '', substr(r.start, 1, 7), r.volunteer, sum(r.minutes), count(*) "
            "FROM service_records r JOIN activities a ON a.id = r.activity JOIN up ON up.organisation = a.organiser "
            "GROUP BY 1, 2, 3, 4, 5, 6")

# What each summary table must hold, computed from the records alone.
EXPECTED = {
    "summary_volunteer_months": "SELECT status, volunteer, substr(start, 1, 7), sum(minutes), count(*) "
    "FROM service_records GROUP BY 1, 2, 3",
    "summary_volunteer_years": "SELECT r.status, CAST(substr(r.start, 1, 4) AS INTEGER), r.volunteer, sum(r.minutes), "
    f"count(*), {_LABEL} FROM service_records r GROUP BY 1, 2, 3",
    "summary_volunteers": f"SELECT r.status, r.volunteer, sum(r.minutes), count(*), {_LABEL} "
    "FROM service_records r GROUP BY 1, 2",
    # The closure of the tree, walked from each organisation up through its parents.
    "organisation_tree": "WITH RECURSIVE up(ancestor, descendant, depth) AS (SELECT id, id, 0 FROM organisations "
    "UNION ALL SELECT o.parent, up.descendant, up.depth + 1 FROM up JOIN organisations o ON o.id = up.ancestor "
    "WHERE o.parent IS NOT NULL) SELECT ancestor, descendant, depth FROM up",
    "summary_group_members": " UNION ALL ".join(
        f"SELECT r.status, '{name}', {k1}, {k2}, {month}, r.volunteer, sum(r.minutes), count(*) "
        "FROM service_records r JOIN activities a ON a.id = r.activity GROUP BY 1, 2, 3, 4, 5, 6"
        for name, k1, k2, month in (
            ("organisation", "coalesce(a.organiser, '')", "''", "substr(r.start, 1, 7)"),
            ("studio", "coalesce(a.studio, '')", "''", "substr(r.start, 1, 7)"),
            ("studio_category", "coalesce(a.studio, '')", "coalesce(a.category, '')", "''"),
        )
    ),
    "subtree members": _SUBTREE,
    "summary_unserved": "SELECT v.id, v.number, p.name FROM volunteers v JOIN people p ON p.id = v.person "
    "WHERE v.id NOT IN (SELECT volunteer FROM service_records WHERE status = 'verified')",
}
COLUMNS = {
    "summary_volunteer_months": "status, volunteer, month, minutes, records",
    "summary_volunteer_years": "status, year, volunteer, minutes, records, number, name",
    "summary_volunteers": "status, volunteer, minutes, records, number, name",
    "organisation_tree": "ancestor, descendant, depth",
    "summary_group_members": "status, grouping, k1, k2, month, volunteer, minutes, records",
    "summary_groups": "status, grouping, k1, k2, month, minutes, records, volunteers",
    "summary_unserved": "volunteer, number, name",
}


def assert_summaries_exact(registry: volreg.Registry) -> None:
    """Every summary table holds exactly what the records say, and no empty rows."""
    for table in SUMMARY_TABLES:
        query = _groups_query() if table == "summary_groups" else EXPECTED[table]
        expected = sorted(tuple(r) for r in registry.db.execute(query).fetchall())
        if table == "summary_group_members":
            expected = sorted(expected + [tuple(r) for r in registry.db.execute(EXPECTED["subtree members"])])
        stored = sorted(tuple(r) for r in registry.db.execute(f"SELECT {COLUMNS[table]} FROM {table}").fetchall())
        assert expected == stored, table
    assert registry.db.execute("SELECT count(*) FROM summary_delta").fetchone()[0] == 0
    assert [(1, 0)] == registry.db.execute("SELECT id, bulk FROM summary_control").fetchall()


def _groups_query() -> str:
    parts = EXPECTED["summary_group_members"].split(" UNION ALL ")
    named = [
        p.replace("SELECT r.status, ", "SELECT r.status AS status, ", 1)
        .replace(", r.volunteer, sum(r.minutes), count(*)", ", r.volunteer AS volunteer, sum(r.minutes) AS minutes, "
                 "count(*) AS records")
        for p in parts
    ]
    for n, (name, k1, k2, month) in enumerate((
        ("organisation", "coalesce(a.organiser, '')", "''", "substr(r.start, 1, 7)"),
        ("studio", "coalesce(a.studio, '')", "''", "substr(r.start, 1, 7)"),
        ("studio_category", "coalesce(a.studio, '')", "coalesce(a.category, '')", "''"),
    )):
        named[n] = named[n].replace(
            f"'{name}', {k1}, {k2}, {month},", f"'{name}' AS grouping, {k1} AS k1, {k2} AS k2, {month} AS month,"
        )
    subtree = EXPECTED["subtree members"].replace(
        "SELECT r.status, 'subtree', up.ancestor, '', substr(r.start, 1, 7), r.volunteer, sum(r.minutes), count(*)",
        "SELECT r.status AS status, 'subtree' AS grouping, up.ancestor AS k1, '' AS k2, substr(r.start, 1, 7) AS month, "
        "r.volunteer AS volunteer, sum(r.minutes) AS minutes, count(*) AS records")
    recursive, _, members = subtree.partition(") SELECT ")
    return (
        f"{recursive}) SELECT status, grouping, k1, k2, month, sum(minutes), sum(records), count(*) FROM ("
        + " UNION ALL ".join([*named, "SELECT " + members]) + ") GROUP BY 1, 2, 3, 4, 5"
    )


def questions(registry: volreg.Registry) -> list[tuple[str, Any]]:
    """Every question a fast path answers, and some it must hand back to the records."""
    city = next(registry.organisations(kind="city_office"))
    community = next(registry.organisations(kind="community"))
    studio = next(registry.studios())
    volunteer = next(registry.volunteers())
    year = {"start": "2024-01-01", "end": "2025-01-01"}
    out: list[tuple[str, Any]] = []
    for by in [(), "volunteer", ("volunteer", "year"), ("year", "volunteer"), "month", "quarter", "year",
               ("organisation", "month"), ("month", "organisation"), "organisation", ("organisation", "year"),
               ("studio", "month"), "studio", ("studio", "quarter"), ("organisation", "studio"), "day",
               ("category", "month")]:
        out.append((f"hours by={by}", lambda by=by: volreg.hours(registry, by=by)))
        out.append((f"hours by={by} 2024", lambda by=by: volreg.hours(registry, by=by, **year)))
        out.append((f"hours by={by} top", lambda by=by: volreg.hours(registry, by=by, top=2)))
        out.append((f"hours by={by} all", lambda by=by: volreg.hours(
            registry, by=by, status=("verified", "pending", "rejected", "superseded", "void"))))
    out += [
        ("one volunteer", lambda: volreg.hours(registry, volunteer=volunteer, **year)),
        ("one volunteer by month", lambda: volreg.hours(registry, by="month", volunteer=volunteer)),
        ("subtree by month", lambda: volreg.hours(registry, by="month", organisation=city)),
        ("subtree by month in 2024", lambda: volreg.hours(registry, by="month", organisation=city, **year)),
        ("subtree in total", lambda: volreg.hours(registry, organisation=community)),
        ("subtree by quarter", lambda: volreg.hours(registry, by="quarter", organisation=city)),
        ("subtree by month, every status", lambda: volreg.hours(
            registry, by="month", organisation=city, status=("verified", "pending", "rejected", "superseded", "void"))),
        ("subtree top months", lambda: volreg.hours(registry, by="month", organisation=city, top=2)),
        ("subtree activities", lambda: volreg.activity_counts(registry, by="category", organisation=city)),
        ("volunteers in a year", lambda: volreg.hours(registry, by="volunteer", start="2024-01-01", end="2025-01-01")),
        ("volunteers in two years", lambda: volreg.hours(registry, by=("volunteer", "year"), start="2023-01-01",
                                                          end="2025-01-01")),
        ("pending volunteers in a year", lambda: volreg.hours(registry, by="volunteer", status="pending", **year)),
        ("stars by default", lambda: volreg.star_levels(registry)),
        ("subtree by org month", lambda: volreg.hours(registry, by=("organisation", "month"), organisation=community)),
        ("studio by month", lambda: volreg.hours(registry, by="month", studio=studio, start="2024-02-01")),
        ("mid-month range", lambda: volreg.hours(registry, by="volunteer", start="2024-01-15 08:30")),
        ("pending by studio", lambda: volreg.hours(registry, by=("studio", "month"), status="pending")),
        ("category filter", lambda: volreg.hours(registry, by="month", category="敬老助老")),
        ("by category", lambda: volreg.hours(registry, by="category")),
        ("by category and month", lambda: volreg.hours(registry, by=("category", "month"))),
        ("by month and category", lambda: volreg.hours(registry, by=("month", "category"))),
        ("by category in a year", lambda: volreg.hours(registry, by="category", **year)),
        ("by category and quarter, every status", lambda: volreg.hours(
            registry, by=("category", "quarter"), status=("verified", "pending", "rejected", "superseded", "void"))),
        ("top categories", lambda: volreg.hours(registry, by="category", top=2)),
        ("pending by category", lambda: volreg.hours(registry, by="category", status="pending")),
        ("as_of", lambda: volreg.hours(registry, by="volunteer", as_of="2030-01-01")),
        ("stars", lambda: volreg.star_levels(registry, thresholds=(1, 2))),
        ("eligible", lambda: volreg.eligible(registry, volreg.rules.STARS, on="2024-12-31")),
    ]
    for by in [(), "studio", "category", ("studio", "category"), ("category", "studio"), ("studio", "month"),
               "organisation", ("organisation", "category")]:
        out.append((f"activity_counts by={by}", lambda by=by: volreg.activity_counts(registry, by=by)))
    out.append(("activity_counts filtered", lambda: volreg.activity_counts(registry, by="studio", studio=studio)))
    return out


def assert_fast_paths_agree(registry: volreg.Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each question gets the same columns and rows with the summaries as without them."""
    for name, ask in questions(registry):
        registry.session.summaries = True
        fast = ask()
        registry.session.summaries = False
        slow = ask()
        registry.session.summaries = True
        assert slow.columns == fast.columns, name
        assert slow.to_dicts() == fast.to_dicts(), name


operations = st.lists(
    st.one_of(
        st.tuples(st.just("log"), st.integers(0, VOLUNTEERS - 1), st.integers(0, len(ACTIVITY_DAYS) - 1),
                  st.integers(0, SLOTS - 1), st.integers(1, 120)),
        st.tuples(st.sampled_from(("verify", "reject", "void")), st.integers(0, 40)),
        st.tuples(st.just("correct"), st.integers(0, 40), st.integers(1, 59)),
        st.tuples(st.just("move"), st.integers(0, len(ACTIVITY_DAYS) - 1), st.integers(0, 2)),
        st.tuples(st.just("organisation"), st.integers(0, 5)),
        st.tuples(st.just("reparent"), st.integers(0, 5), st.integers(0, 6)),
        st.tuples(st.just("organiser"), st.integers(0, len(ACTIVITY_DAYS) - 1), st.integers(0, 6)),
        st.tuples(st.just("rename"), st.integers(0, VOLUNTEERS - 1), st.integers(0, 3)),
        st.tuples(st.just("anonymise"), st.integers(0, VOLUNTEERS - 1)),
        st.tuples(st.just("merge"), st.integers(0, VOLUNTEERS - 1), st.integers(0, VOLUNTEERS - 1)),
        st.tuples(st.just("merge_into_new"), st.integers(0, VOLUNTEERS - 1)),
        st.tuples(
            st.sampled_from(("bulk", "bulk_fails", "bulk_abandoned", "batches", "batches_abandoned")),
            st.lists(st.tuples(st.integers(0, VOLUNTEERS - 1), st.integers(0, len(ACTIVITY_DAYS) - 1),
                               st.integers(0, SLOTS - 1), st.integers(1, 120),
                               st.sampled_from(("pending", "verified"))), min_size=1, max_size=8),
        ),
    ),
    max_size=30,
)
"""Random writes: log, verify, reject, void, correct (minutes), move an activity to another studio or
organiser, add an organisation under another, move an organisation (with its subtree) under another or to the
root (a move under itself is refused), rename, anonymise or merge volunteers' people (into a new volunteer without a document, whose registration
takes over the records, or into a new person without a registration, which moves the registration to them), and batches
through the bulk path (written; failing mid-batch on a duplicate id; rolled back by the caller; written as several
batches of one transaction whose summaries wait for its commit, one batch failing in between, or all abandoned)."""


def bulk_rows(registry: volreg.Registry, world: tuple[list[Any], list[Any]],
              specs: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Stored rows for a batch of new records, built by the registry's own row builder."""
    volunteers, activities = world
    zone = get_zone(registry.settings.timezone)
    rows = []
    for v, a, slot, minutes, status in specs:
        day = datetime.fromisoformat(ACTIVITY_DAYS[a])
        start = datetime(day.year, day.month, day.day, 8 + slot, tzinfo=zone)
        rid = new_id("svc")
        rows.append(registry._service_row(ServiceRecord(
            id=rid, lineage=rid, volunteer=volunteers[v].id, activity=activities[a].id, start=start,
            minutes=min(minutes, 60), recorded_at=start + timedelta(days=1), status=status, source="import",
            verified_at=start + timedelta(days=2) if status == "verified" else None,
            verified_by="审核员" if status == "verified" else None,
        )))
    return rows


def apply(registry: volreg.Registry, world: tuple[list[Any], list[Any]], ops: list[tuple[Any, ...]]) -> None:
    """Run the operations; those the ledger's rules refuse (a second verification, an overlap) are skipped."""
    volunteers, activities = world
    studios = [s.id for s in registry.studios()] + [None]
    logged: list[str] = []
    for op in ops:
        try:
            if op[0] == "log":
                _, v, a, slot, minutes = op
                day = ACTIVITY_DAYS[a]
                record = registry.log_service(volunteers[v], activities[a], start=f"{day} {8 + slot:02d}:00",
                                              minutes=min(minutes, 60))
                logged.append(record.id)
            elif op[0] == "bulk":
                rows = bulk_rows(registry, world, op[1])
                insert_records(registry._store, rows)
                logged += [row["id"] for row in rows]
            elif op[0] == "bulk_fails":
                rows = bulk_rows(registry, world, op[1])
                insert_records(registry._store, [*rows, rows[0]])  # the repeated id fails at the last row
            elif op[0] in ("batches", "batches_abandoned"):
                # Batches of one transaction, their summaries added once before it commits; the second batch
                # repeats an id and fails alone (its savepoint rolls back, with what it added to the waiting).
                rows = bulk_rows(registry, world, op[1])
                batches = bulk.BulkInsert(registry._store)
                with registry.transaction():
                    batches.insert(rows[: len(rows) // 2])
                    with contextlib.suppress(volreg.VolregError):
                        batches.insert([*rows[len(rows) // 2:], rows[0]])
                    batches.insert(rows[len(rows) // 2:])
                    if op[0] == "batches_abandoned":
                        raise RuntimeError("abandon")
                logged += [row["id"] for row in rows]
            elif op[0] == "bulk_abandoned":
                with registry.transaction():
                    insert_records(registry._store, bulk_rows(registry, world, op[1]))
                    raise RuntimeError("abandon")
            elif op[0] in ("organisation", "reparent"):
                organisations = [o.id for o in registry.organisations()]
                if op[0] == "organisation":
                    registry.add_organisation(f"组织{len(organisations)}", parent=organisations[op[1] % len(organisations)])
                else:
                    parent = None if op[2] >= len(organisations) else organisations[op[2]]
                    with registry.transaction():
                        registry.db.execute("UPDATE organisations SET parent = ? WHERE id = ?",
                                            [parent, organisations[op[1] % len(organisations)]])
            elif op[0] == "organiser":
                organisations = [o.id for o in registry.organisations()]
                registry.db.execute("UPDATE activities SET organiser = ? WHERE id = ?",
                                    [organisations[op[2] % len(organisations)], activities[op[1]].id])
            elif op[0] == "rename":
                registry.update_person(volunteers[op[1]].person, name=f"改名{op[2]}")
            elif op[0] == "anonymise":
                registry.anonymise(volunteers[op[1]].person)
            elif op[0] == "merge":
                # A registration without a document takes over another one: its records change volunteer.
                twin = registry.register_volunteer(f"同名{op[1]}", id_type="none", registered_on="2023-01-01")
                registry.log_service(twin, activities[op[2] % len(activities)], start=f"{ACTIVITY_DAYS[op[2]]} 16:00",
                                     minutes=30)
                registry.merge_people(twin.person, volunteers[op[1]].person, by="管理员", reason="重复")
                volunteers[op[1]] = registry.volunteer(twin.id)
            elif op[0] == "merge_into_new":
                kept = registry.add_person(f"新人{op[1]}")
                registry.merge_people(kept, volunteers[op[1]].person, by="管理员", reason="重复")
                volunteers[op[1]] = registry.volunteer(volunteers[op[1]].id)
            elif op[0] == "move":
                # An import may change an activity's studio (volreg.io.kinds updates the row in place).
                registry.db.execute("UPDATE activities SET studio = ? WHERE id = ?", [studios[op[2]], activities[op[1]].id])
            elif logged:
                record = logged[op[1] % len(logged)]
                if op[0] == "verify":
                    registry.verify_service(record, by="审核员")
                elif op[0] == "reject":
                    registry.reject_service(record, by="审核员", reason="不符")
                elif op[0] == "void":
                    registry.void_service(record, by="审核员", reason="撤回")
                else:
                    logged.append(registry.correct_service(record, by="审核员", reason="更正", minutes=op[2]).id)
        except (volreg.VolregError, RuntimeError, sqlite3.IntegrityError):
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_summaries_match_the_records_after_random_writes(ops: list[tuple[Any, ...]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """After any mix of logs, verifications, rejections, voids, corrections, moved activities and bulk
    batches (some failing, some rolled back), the summaries equal a recount of the records and every query
    answers the same with or without them."""
    with volreg.open(":memory:", key="test-key-16-bytes") as registry:
        world = build_world(registry)
        apply(registry, world, ops)
        assert_summaries_exact(registry)
        assert_fast_paths_agree(registry, monkeypatch)


def test_hours_without_round_equal_round() -> None:
    """The hours the fast paths compute without ROUND are the very floats ROUND(minutes / 60.0, 2) gives."""
    conn = sqlite3.connect(":memory:")
    differ = conn.execute(
        "WITH RECURSIVE n(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM n WHERE m < 1000000) "
        f"SELECT count(*), min(m) FROM n WHERE {summaries.hours_expr('m')} IS NOT ROUND(m / 60.0, 2)").fetchone()
    assert (0, None) == differ
    assert [0.0, 0.02, 0.03, 1.0, 2.52] == [conn.execute(f"SELECT {summaries.hours_expr(str(m))}").fetchone()[0]
                                           for m in (0, 1, 2, 60, 151)]


def test_a_failed_write_leaves_the_summaries_as_they_were(registry: volreg.Registry) -> None:
    """A rolled-back transaction rolls back its summary changes too."""
    volunteers, activities = build_world(registry)
    registry.verify_service(registry.log_service(volunteers[0], activities[1], start="2024-01-15 08:00", minutes=60),
                            by="审核员")
    before = volreg.hours(registry, by="volunteer").to_dicts()
    with pytest.raises(RuntimeError), registry.transaction():
        registry.log_service(volunteers[1], activities[1], start="2024-01-15 08:00", minutes=30)
        raise RuntimeError("abandon")
    assert before == volreg.hours(registry, by="volunteer").to_dicts()
    assert_summaries_exact(registry)


def _before_m015(registry: volreg.Registry) -> None:
    """Make a registry look as it was written before m015: no subtree rows, no number and name on the
    volunteer summaries, the indexes of m014 and none of the triggers m015 added (the others are
    reinstalled by m015 as they are today, so nothing may write before the registry is opened again)."""
    db = registry.db
    for name in ("summary_people_name", "summary_volunteer_label", "summary_volunteers_label",
                 "summary_volunteer_years_label", "summary_unserved_registered", "summary_unserved_gone",
                 "summary_unserved_served", "summary_unserved_unserved"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE summary_unserved")
    for index in ("summary_volunteers_stars", "summary_volunteer_years_number"):
        db.execute(f"DROP INDEX {index}")
    for table in ("summary_volunteers", "summary_volunteer_years"):
        for column in ("number", "name"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.execute("CREATE INDEX summary_volunteers_minutes ON summary_volunteers(status, minutes, volunteer, records)")
    db.execute("CREATE INDEX summary_volunteer_years_cover ON summary_volunteer_years(status, year, volunteer, minutes, "
               "records)")
    for table in ("summary_group_members", "summary_groups"):
        db.execute(f"DELETE FROM {table} WHERE grouping = 'subtree'")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm015_query_summaries'")


def test_an_upgraded_database_gets_its_summaries_from_the_existing_records(tmp_path: Any) -> None:
    """Migration m005 backfills the summaries from the records a database already holds."""
    path = tmp_path / "old.db"
    with volreg.open(path, key="test-key-16-bytes") as registry:
        volunteers, activities = build_world(registry)
        for n, volunteer in enumerate(volunteers):
            record = registry.log_service(volunteer, activities[n], start=f"{ACTIVITY_DAYS[n]} 09:00", minutes=45 + n)
            if n:
                registry.verify_service(record, by="审核员")
        # Make it look like a database written before m005: no summaries, no triggers.
        _before_m015(registry)
        for name in ("summary_record_insert", "summary_record_delete", "summary_record_update",
                     "summary_activity_update", "summary_activity_rekey", "summary_delta_apply"):
            registry.db.execute(f"DROP TRIGGER {name}")
        for table in ("summary_volunteer_months", "summary_volunteers", "summary_groups", "summary_group_members",
                      "summary_delta"):
            registry.db.execute(f"DROP TABLE {table}")
        registry.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm005_summaries'")
    with volreg.open(path, key="test-key-16-bytes") as registry:
        assert_summaries_exact(registry)
        assert 2 == volreg.hours(registry).to_dicts()[0]["volunteers"]


def test_an_upgraded_database_gets_its_year_summary_and_closure(tmp_path: Any) -> None:
    """Migration m014 backfills the year summary and the organisation closure, and installs the triggers
    that keep them: writes after the upgrade keep every summary exact."""
    path = tmp_path / "old.db"
    with volreg.open(path, key="test-key-16-bytes") as registry:
        volunteers, activities = build_world(registry)
        for n, volunteer in enumerate(volunteers):
            registry.verify_service(registry.log_service(volunteer, activities[n], start=f"{ACTIVITY_DAYS[n]} 09:00",
                                                         minutes=30 + n), by="审核员")
        _before_m015(registry)
        for name in ("organisation_tree_insert", "organisation_tree_reparent", "organisation_tree_rekey",
                     "organisation_tree_delete"):
            registry.db.execute(f"DROP TRIGGER {name}")
        for index in ("summary_volunteer_years_cover", "summary_volunteers_cover", "summary_groups_cover", "volunteers_number_cover",
                      "volunteers_id_cover", "people_name_cover"):
            registry.db.execute(f"DROP INDEX {index}")
        for table in ("summary_volunteer_years", "organisation_tree"):
            registry.db.execute(f"DROP TABLE {table}")
        registry.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_speed'")
    with volreg.open(path, key="test-key-16-bytes") as registry:
        assert_summaries_exact(registry)
        street = registry.add_organisation("街道", kind="street", parent=next(registry.organisations(kind="city_office")))
        registry.db.execute("UPDATE organisations SET parent = ? WHERE kind = 'community'", [street.id])
        registry.log_service(volunteers[0], activities[4], start=f"{ACTIVITY_DAYS[4]} 12:00", minutes=20)
        assert_summaries_exact(registry)
        assert 3 == registry.db.execute("SELECT count(*) FROM organisation_tree WHERE descendant = ?",
                                        [next(registry.organisations(kind="community")).id]).fetchone()[0]


def test_moving_an_organisation_moves_its_volunteers_between_the_subtrees_above(registry: volreg.Registry) -> None:
    """A community moved out from under the city takes its volunteers out of the city's month (the city keeps
    its own), and back under it brings them back; the counts agree with a recount each time."""
    volunteers, activities = build_world(registry)
    city = next(registry.organisations(kind="city_office"))
    community = next(registry.organisations(kind="community"))
    january = registry.add_activity("市级活动", category="敬老助老", start="2024-01-20 08:00", end="2024-01-20 17:00",
                                    organiser=city)
    for volunteer, activity, day in ((volunteers[0], activities[1], "2024-01-15"), (volunteers[1], january, "2024-01-20")):
        registry.verify_service(registry.log_service(volunteer, activity, start=f"{day} 09:00", minutes=60), by="审核员")

    def january_at_city() -> tuple[int, int]:
        row = volreg.hours(registry, by="month", organisation=city, start="2024-01-01", end="2024-02-01")[0]
        return row["minutes"], row["volunteers"]

    assert (120, 2) == january_at_city()
    registry.db.execute("UPDATE organisations SET parent = NULL WHERE id = ?", [community.id])
    assert (60, 1) == january_at_city()
    assert_summaries_exact(registry)
    registry.db.execute("UPDATE organisations SET parent = ? WHERE id = ?", [city.id, community.id])
    assert (120, 2) == january_at_city()
    assert_summaries_exact(registry)


def test_names_beside_the_totals_follow_renames_anonymisation_and_merges(registry: volreg.Registry) -> None:
    """Star levels and a year's volunteers show each volunteer's current name and number after their person is
    renamed, anonymised, merged into a new person (the registration moves) or merged away (another
    registration takes over their records)."""
    volunteers, activities = build_world(registry)
    for n, volunteer in enumerate(volunteers):
        registry.verify_service(registry.log_service(volunteer, activities[1], start=f"{ACTIVITY_DAYS[1]} {9 + n}:00",
                                                     minutes=30 + n), by="审核员")

    def names() -> set[tuple[Any, ...]]:
        year = volreg.hours(registry, by="volunteer", start="2024-01-01", end="2025-01-01")
        stars = {(r["volunteer"], r["volunteer_name"]) for r in volreg.star_levels(registry)}
        assert stars >= {(r["volunteer"], r["volunteer_name"]) for r in year}
        return {(r["volunteer"], r["volunteer_name"], r["volunteer_number"]) for r in year}

    registry.update_person(volunteers[0].person, name="改名")
    assert (volunteers[0].id, "改名", volunteers[0].number) in names()
    kept = registry.add_person("新人")
    registry.merge_people(kept, volunteers[1].person, by="管理员", reason="重复")
    assert (volunteers[1].id, "新人", volunteers[1].number) in names()
    twin = registry.register_volunteer("同名", id_type="none", registered_on="2023-01-01")
    registry.merge_people(twin.person, volunteers[2].person, by="管理员", reason="重复")
    assert (twin.id, "同名", twin.number) in names()
    registry.anonymise(twin.person)
    assert {r[1] for r in names()} == {"改名", "新人", pseudonym(twin.person)}
    assert_summaries_exact(registry)


def test_a_volunteer_whose_verified_service_is_voided_is_listed_last_again(registry: volreg.Registry) -> None:
    """Star levels list volunteers without verified service after everyone else, by number: one whose only
    verified record is voided moves back there."""
    volunteers, activities = build_world(registry)
    record = registry.log_service(volunteers[2], activities[1], start=f"{ACTIVITY_DAYS[1]} 09:00", minutes=45)
    registry.verify_service(record, by="审核员")
    assert [volunteers[2].id, volunteers[0].id, volunteers[1].id] == volreg.star_levels(registry).column("volunteer")
    registry.void_service(record, by="审核员", reason="撤回")
    assert [v.id for v in volunteers] == volreg.star_levels(registry).column("volunteer")
    assert_summaries_exact(registry)


def test_an_organisation_cannot_be_moved_under_itself(registry: volreg.Registry) -> None:
    """Moving an organisation under one of its own descendants is refused and changes nothing."""
    build_world(registry)
    city = next(registry.organisations(kind="city_office"))
    community = next(registry.organisations(kind="community"))
    before = registry.db.execute("SELECT * FROM organisation_tree ORDER BY 1, 2").fetchall()
    with pytest.raises(sqlite3.IntegrityError, match="under itself"):
        registry.db.execute("UPDATE organisations SET parent = ? WHERE id = ?", [community.id, city.id])
    assert before == registry.db.execute("SELECT * FROM organisation_tree ORDER BY 1, 2").fetchall()
    assert_summaries_exact(registry)


def test_a_bulk_import_then_corrections_and_voids_keeps_the_summaries_exact(registry: volreg.Registry,
                                                                          tmp_path: Any) -> None:
    """Records imported in batches (set-based summaries) and then verified, corrected and voided one by one
    (the triggers) leave summaries equal to a recount; a failed import leaves them as they were."""
    volunteers, activities = build_world(registry)
    lines = ["志愿者编号,活动,开始时间,分钟,审核状态"]
    for n in range(40):
        v, a, slot = n % VOLUNTEERS, n // VOLUNTEERS % len(ACTIVITY_DAYS), n // (VOLUNTEERS * len(ACTIVITY_DAYS))
        lines.append(f"{volunteers[v].number},{activities[a].id},{ACTIVITY_DAYS[a]} {8 + slot:02d}:00,"
                     f"{30 + n},{'已审核' if n % 3 else '待审核'}")
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="service_records", batch_size=7)
    assert (40, ()) == (report.created, report.problems)
    assert_summaries_exact(registry)
    records = [r[0] for r in registry.db.execute("SELECT id FROM service_records ORDER BY rowid").fetchall()]
    registry.verify_service(records[0], by="审核员")
    registry.correct_service(records[1], by="审核员", reason="更正", minutes=15)
    registry.void_service(records[2], by="审核员", reason="撤回")
    registry.reject_service(records[3], by="审核员", reason="不符")
    assert_summaries_exact(registry)
    before = volreg.hours(registry, by=("studio", "month")).to_dicts()
    # A second file whose last row overlaps an earlier one: all_or_nothing writes nothing, summaries included.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"志愿者编号,活动,开始时间,分钟\n{volunteers[0].number},{activities[0].id},"
                   f"{ACTIVITY_DAYS[0]} 15:00,30\n{volunteers[0].number},{activities[0].id},"
                   f"{ACTIVITY_DAYS[0]} 15:10,30\n", encoding="utf-8")
    assert not volreg.import_file(registry, bad, kind="service_records").written
    assert before == volreg.hours(registry, by=("studio", "month")).to_dicts()
    assert_summaries_exact(registry)


def test_the_bulk_path_reads_only_the_new_rows(registry: volreg.Registry) -> None:
    """Every statement of the bulk path reads the batch by rowid range, never a scan of the records or of the
    activities (at city scale such a plan turns a batch of 500 records into a 2,000,000-row scan)."""
    for statement in bulk._MAKE_BATCH:
        registry.db.execute(statement)
    for sql in bulk.BATCH_READS:
        plan = [row[-1] for row in registry.db.execute("EXPLAIN QUERY PLAN " + sql, [0] * sql.count("?"))]
        assert not [step for step in plan if step.startswith("SCAN")], plan
        assert any("rowid>?" in step for step in plan), plan


def test_a_batch_without_contiguous_rowids_goes_through_the_triggers(registry: volreg.Registry) -> None:
    """When the largest rowid is taken, SQLite picks random free rowids; the bulk path notices and falls back."""
    world = build_world(registry)
    first = registry.log_service(world[0][0], world[1][0], start=f"{ACTIVITY_DAYS[0]} 08:00", minutes=30)
    registry.db.execute("UPDATE service_records SET rowid = 9223372036854775807 WHERE id = ?", [first.id])
    insert_records(registry._store, bulk_rows(registry, world, [(1, 1, 0, 40, "verified"), (2, 2, 1, 50, "pending")]))
    assert 3 == registry.db.execute("SELECT count(*) FROM service_records").fetchone()[0]
    assert_summaries_exact(registry)


def test_a_batch_leaves_the_insert_trigger_as_it_was(registry: volreg.Registry) -> None:
    """The bulk path drops the per-row insert trigger for its batch (any AFTER INSERT trigger doubles the
    cost of an insert) and recreates it exactly: after a batch, after a failed batch, and for later writes."""
    world = build_world(registry)

    def trigger() -> list[tuple[str, str]]:
        return registry.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                   "AND tbl_name = 'service_records' ORDER BY name").fetchall()

    before = trigger()
    assert "summary_record_insert" in [name for name, _ in before]
    rows = bulk_rows(registry, world, [(1, 1, 0, 40, "verified"), (2, 2, 1, 50, "pending")])
    insert_records(registry._store, rows)
    assert trigger() == before
    with pytest.raises(volreg.VolregError):
        insert_records(registry._store, [*bulk_rows(registry, world, [(0, 2, 2, 30, "verified")]), rows[0]])
    assert trigger() == before
    registry.log_service(world[0][0], world[1][0], start=f"{ACTIVITY_DAYS[0]} 08:00", minutes=30)  # the trigger counts it
    assert_summaries_exact(registry)


def test_batches_of_one_transaction_reach_the_summaries_once_before_it_commits(registry: volreg.Registry) -> None:
    """Batches written by one BulkInsert wait for the commit and are then added together; a record written
    by anything else in between is refused rather than counted twice, and nothing of the transaction stays."""
    world = build_world(registry)
    first = bulk_rows(registry, world, [(1, 1, 0, 40, "verified"), (2, 2, 1, 50, "pending")])
    second = bulk_rows(registry, world, [(0, 1, 2, 20, "verified"), (1, 0, 3, 30, "verified")])
    batches = bulk.BulkInsert(registry._store)
    with registry.transaction():
        batches.insert(first)
        batches.insert(second)
        waiting = registry.db.execute("SELECT count(*) FROM summary_volunteer_months").fetchone()[0]
        assert 0 == waiting  # nothing added yet: the summaries of both batches wait for the commit
    assert 4 == registry.db.execute("SELECT count(*) FROM service_records").fetchone()[0]
    assert_summaries_exact(registry)

    before = volreg.hours(registry, by="volunteer").to_dicts()
    third = bulk_rows(registry, world, [(0, 2, 0, 45, "pending")])
    with pytest.raises(volreg.Conflict, match="written while"), registry.transaction():
        batches.insert(third)
        registry.log_service(world[0][2], world[1][0], start=f"{ACTIVITY_DAYS[0]} 08:00", minutes=30)
        batches.insert(bulk_rows(registry, world, [(2, 1, 1, 25, "pending")]))
    assert 4 == registry.db.execute("SELECT count(*) FROM service_records").fetchone()[0]
    assert before == volreg.hours(registry, by="volunteer").to_dicts()

    # Applied on demand (the importer does so before it changes a record it wrote earlier), then committed.
    with registry.transaction():
        batches.insert(third)
        batches.apply()
        verified = registry.verify_service(third[0]["id"], by="审核员")
        registry.void_service(verified, by="审核员", reason="撤回")
    assert_summaries_exact(registry)


def test_the_store_runs_what_waits_for_the_commit_once_and_drops_it_on_rollback(registry: volreg.Registry) -> None:
    """Store.before_commit: an action runs once, inside the transaction, just before the outermost commit;
    it is dropped unrun when the transaction rolls back, and runs at once outside a transaction."""
    store = registry._store
    ran: list[str] = []
    store.execute("CREATE TEMP TABLE waited (n INTEGER)")

    def note() -> None:
        ran.append("ran")
        store.execute("INSERT INTO temp.waited VALUES (1)")

    with store.write():
        store.before_commit(note)
        store.before_commit(note)  # the same action again: once is enough
        with store.write():
            store.before_commit(note)
        assert [] == ran
    assert ["ran"] == ran
    assert 1 == store.scalar("SELECT count(*) FROM temp.waited")
    with pytest.raises(RuntimeError), store.write():
        store.before_commit(note)
        raise RuntimeError("abandon")
    with store.write():
        pass
    assert ["ran"] == ran  # dropped with its transaction, not run by the next one
    store.before_commit(note)  # outside a transaction: at once
    assert ["ran", "ran"] == ran


def test_an_import_that_verifies_a_record_between_its_batches_keeps_the_summaries_exact(
        registry: volreg.Registry, tmp_path: Any) -> None:
    """An all-or-nothing import adds its batches to the summaries once, at the end; a row that verifies a
    record imported before first brings the summaries up to date, so nothing is counted twice."""
    volunteers, activities = build_world(registry)
    header = "志愿者编号,活动,开始时间,分钟,审核状态"
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(f"{header}\n{volunteers[0].number},{activities[4].id},{ACTIVITY_DAYS[4]} 8:00,30,待审核\n",
                       encoding="utf-8")
    assert volreg.import_file(registry, earlier, kind="service_records").ok
    lines = [header]
    for n, day in enumerate(ACTIVITY_DAYS[:4]):
        for v, who in enumerate(volunteers):
            lines.append(f"{who.number},{activities[n].id},{day} {8 + v}:00,{30 + n},待审核")
    lines.insert(7, f"{volunteers[0].number},{activities[4].id},{ACTIVITY_DAYS[4]} 8:00,30,已审核")  # verifies
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="service_records", batch_size=4)
    assert report.ok and (12, 1) == (report.created, report.updated), report
    assert_summaries_exact(registry)
    verified = volreg.hours(registry, by="volunteer", status="verified").to_dicts()
    assert [(volunteers[0].id, 30)] == [(r["volunteer"], r["minutes"]) for r in verified]
    again = volreg.import_file(registry, path, kind="service_records", batch_size=4)
    assert (0, 0, 13) == (again.created, again.updated, again.skipped)
    assert_summaries_exact(registry)


def test_a_record_of_an_earlier_batch_changed_by_a_later_row_is_counted_once(
        registry: volreg.Registry, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the rows an import remembers (two million), a repeated row is matched against the registry, where
    an earlier batch of the same import wrote it: verifying it first adds the waiting batches."""
    from volreg.io import run

    monkeypatch.setattr(run, "_SEEN_LIMIT", 0)
    volunteers, activities = build_world(registry)
    lines = ["志愿者编号,活动,开始时间,分钟,审核状态"]
    for n, day in enumerate(ACTIVITY_DAYS[:3]):
        for v, who in enumerate(volunteers):
            lines.append(f"{who.number},{activities[n].id},{day} {8 + v}:00,{30 + n},待审核")
    lines.append(f"{volunteers[0].number},{activities[0].id},{ACTIVITY_DAYS[0]} 8:00,30,已审核")  # line 2, verified
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="service_records", batch_size=3)
    assert report.ok and (9, 1) == (report.created, report.updated), report
    assert_summaries_exact(registry)


def test_a_reader_during_a_large_import_sees_the_registry_before_it_then_exact_summaries(tmp_path: Any) -> None:
    """While an all-or-nothing import has written batches whose summaries wait for its commit, another
    connection (another thread, its own snapshot) sees the registry as it was, summaries and records
    agreeing; once the import commits, it sees the new records with their summaries."""
    import threading

    path = tmp_path / "reg.db"
    with volreg.open(path, key="test-key-16-bytes") as registry:
        volunteers, activities = build_world(registry)
        registry.log_service(volunteers[0], activities[0], start=f"{ACTIVITY_DAYS[0]} 08:00", minutes=30)
        lines = ["志愿者编号,活动,开始时间,分钟"]
        for n, day in enumerate(ACTIVITY_DAYS):
            for v, who in enumerate(volunteers):
                lines.append(f"{who.number},{activities[n].id},{day} {10 + v}:00,{20 + n}")
        csv = tmp_path / "records.csv"
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        before = volreg.hours(registry, by="volunteer").to_dicts()
        halfway, seen = threading.Event(), threading.Event()
        waiting: list[Any] = []

        def follow(done: int, total: int | None) -> None:
            if done == 10:  # two batches of four are written, their summaries waiting
                waiting.append(registry.db.execute("SELECT count FROM temp.volreg_bulk_pending").fetchone())
                halfway.set()
                assert seen.wait(30)

        importer = threading.Thread(target=lambda: volreg.import_file(
            registry, csv, kind="service_records", batch_size=4, progress=follow))
        importer.start()
        assert halfway.wait(30)
        assert [(8,)] == [tuple(row) for row in waiting]
        with volreg.open(path, key="test-key-16-bytes", readonly=True) as reader:
            assert before == volreg.hours(reader, by="volunteer").to_dicts()
            assert 1 == reader.db.execute("SELECT count(*) FROM service_records").fetchone()[0]
        seen.set()
        importer.join(30)
        assert 16 == registry.db.execute("SELECT count(*) FROM service_records").fetchone()[0]
        assert_summaries_exact(registry)
        with volreg.open(path, key="test-key-16-bytes", readonly=True) as reader:
            assert volreg.hours(registry, by="volunteer").to_dicts() == volreg.hours(reader, by="volunteer").to_dicts()


def test_batches_are_applied_along_the_way_past_a_bound(registry: volreg.Registry,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Once apply_every records wait, the next batch adds them (the memory of the sorting stays bounded);
    the rest wait for the commit, and the summaries end exact."""
    monkeypatch.setattr(bulk.BulkInsert, "apply_every", 3)
    world = build_world(registry)
    batches = bulk.BulkInsert(registry._store)
    with registry.transaction():
        batches.insert(bulk_rows(registry, world, [(0, 0, 0, 40, "verified"), (1, 1, 1, 50, "pending")]))
        assert 0 == registry.db.execute("SELECT count(*) FROM summary_volunteers").fetchone()[0]
        batches.insert(bulk_rows(registry, world, [(2, 2, 2, 30, "verified")]))  # three wait: applied
        assert 3 == registry.db.execute("SELECT sum(records) FROM summary_volunteers").fetchone()[0]
        batches.insert(bulk_rows(registry, world, [(0, 3, 3, 20, "pending")]))
        assert 3 == registry.db.execute("SELECT sum(records) FROM summary_volunteers").fetchone()[0]
    assert_summaries_exact(registry)


def test_rebuild_recomputes_the_closure_and_every_summary_from_the_rows(registry: volreg.Registry) -> None:
    """bulk.rebuild gives the same summaries as the triggers kept, whatever the tables held before."""
    volunteers, activities = build_world(registry)
    for n, who in enumerate(volunteers):
        record = registry.log_service(who, activities[n], start=f"{ACTIVITY_DAYS[n]} 09:00", minutes=40 + n)
        if n:
            registry.verify_service(record, by="审核员")
    kept = {t: sorted(map(tuple, registry.db.execute(f"SELECT * FROM {t}").fetchall())) for t in SUMMARY_TABLES}
    with registry.transaction():
        for table in ("organisation_tree", "summary_group_members", "summary_unserved"):
            registry.db.execute(f"DELETE FROM {table} WHERE rowid % 2 = 0")
        registry.db.execute("UPDATE summary_volunteers SET minutes = minutes + 7")
    bulk.rebuild(registry._store)
    assert_summaries_exact(registry)
    assert kept == {t: sorted(map(tuple, registry.db.execute(f"SELECT * FROM {t}").fetchall())) for t in SUMMARY_TABLES}
