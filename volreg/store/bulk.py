"""Writing batches of new service records, and adding them to the summaries set-based, once per transaction.

What the summaries hold is described in :mod:`volreg.store.summaries`; the per-row triggers that keep them
otherwise are in :mod:`volreg.store.summary_triggers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import Conflict

if TYPE_CHECKING:
    from .db import Store

__all__ = ["BulkInsert", "insert_records", "rebuild", "waiting", "BATCH_READS"]

# A batch is every row whose rowid is above the largest one before it: ``service_records`` has no AUTOINCREMENT,
# so SQLite gives new rows max(rowid) + 1, and no other connection can write meanwhile (we hold the write lock).
# The one exception (the largest rowid already at 2**63 - 1, when SQLite picks random free rowids) is detected
# by counting, and the rows then go through the triggers instead.
#
# The new rows are read once, by rowid range (``NOT INDEXED`` and ``CROSS JOIN`` keep SQLite from planning a
# scan of the status index or of every activity, which it otherwise picks for a bound parameter it cannot see),
# and added up per status, volunteer, month and activity into ``temp.volreg_bulk_cells`` with the activity's
# keys as they stand now (as the insert trigger reads them); every summary is then added up from those cells.
_CELLS = "temp.volreg_bulk_cells"
_MEMBERS_OF_BATCH = "temp.volreg_bulk_members"
_PENDING = "temp.volreg_bulk_pending"
_MAKE_BATCH = (
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_cells (status TEXT, volunteer TEXT, month TEXT, organiser TEXT, "
    "studio TEXT, category TEXT, minutes INTEGER, records INTEGER)",
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_members (status TEXT, grouping TEXT, k1 TEXT, k2 TEXT, "
    "month TEXT, volunteer TEXT, minutes INTEGER, records INTEGER)",
    # At most one row: the largest rowid before the first batch waiting, after the last, and how many.
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_pending (since INTEGER NOT NULL, last INTEGER NOT NULL, "
    "count INTEGER NOT NULL)",
)
_FILL_CELLS = (
    f"INSERT INTO {_CELLS} SELECT r.status, r.volunteer, substr(r.start, 1, 7), coalesce(a.organiser, ''), "
    "coalesce(a.studio, ''), coalesce(a.category, ''), sum(r.minutes), count(*) "
    "FROM service_records AS r NOT INDEXED CROSS JOIN activities a ON a.id = r.activity WHERE r.rowid > ? "
    "GROUP BY r.status, r.volunteer, 3, r.activity"
)
_ADD = "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records"
_VOLUNTEER_MONTHS = (
    "INSERT INTO summary_volunteer_months (status, volunteer, month, minutes, records) "
    f"SELECT status, volunteer, month, sum(minutes), sum(records) FROM {_CELLS} WHERE true GROUP BY 1, 2, 3 {_ADD}"
)
# These two tables keep each volunteer's number and name beside the minutes. A new row is written with them
# here (the volunteer looked up once per row, as the label trigger would), so the trigger, which fills them
# only when they are missing, does not update every new row a second time; a volunteer that cannot be found
# leaves them NULL, and the trigger then behaves as for any other insert.
_LABELS = ("LEFT JOIN volunteers v INDEXED BY volunteers_id_cover ON v.id = c.volunteer "
           "LEFT JOIN people p INDEXED BY people_name_cover ON p.id = v.person")
_VOLUNTEER_YEARS = (
    "INSERT INTO summary_volunteer_years (status, year, volunteer, minutes, records, number, name) "
    "SELECT c.status, c.year, c.volunteer, c.minutes, c.records, v.number, p.name FROM ("
    "SELECT status, CAST(substr(month, 1, 4) AS INTEGER) AS year, volunteer, sum(minutes) AS minutes, "
    f"sum(records) AS records FROM {_CELLS} GROUP BY 1, 2, 3) c {_LABELS} WHERE true {_ADD}"
)
_VOLUNTEERS = (
    "INSERT INTO summary_volunteers (status, volunteer, minutes, records, number, name) "
    "SELECT c.status, c.volunteer, c.minutes, c.records, v.number, p.name FROM ("
    "SELECT status, volunteer, sum(minutes) AS minutes, sum(records) AS records "
    f"FROM {_CELLS} GROUP BY 1, 2) c {_LABELS} WHERE true {_ADD}"
)
_GROUPINGS = (
    ("organisation", "organiser", "''", "month"),
    ("studio", "studio", "''", "month"),
    ("studio_category", "studio", "category", "''"),
)
# Each (group, volunteer) pair of the batch with its minutes and records; each record also counts in the
# subtree of every organisation above its organiser (itself included).
_FILL_BATCH_MEMBERS = f"INSERT INTO {_MEMBERS_OF_BATCH} " + " UNION ALL ".join(
    f"SELECT status, '{name}', {k1}, {k2}, {month}, volunteer, sum(minutes), sum(records) FROM {_CELLS} "
    "GROUP BY 1, 3, 4, 5, 6"
    for name, k1, k2, month in _GROUPINGS
) + (
    " UNION ALL SELECT c.status, 'subtree', t.ancestor, '', c.month, c.volunteer, sum(c.minutes), sum(c.records) "
    f"FROM {_CELLS} c CROSS JOIN organisation_tree t ON t.descendant = c.organiser GROUP BY 1, 3, 5, 6"
)
# A volunteer joins a group's distinct count when the batch brings their first record to it: read before
# the members are updated.
_GROUPS = (
    "INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers) "
    "SELECT b.status, b.grouping, b.k1, b.k2, b.month, sum(b.minutes), sum(b.records), "
    "sum(NOT EXISTS (SELECT 1 FROM summary_group_members m WHERE m.status = b.status AND m.grouping = b.grouping "
    "AND m.k1 = b.k1 AND m.k2 = b.k2 AND m.month = b.month AND m.volunteer = b.volunteer)) "
    f"FROM {_MEMBERS_OF_BATCH} b WHERE true GROUP BY 1, 2, 3, 4, 5 "
    "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records, "
    "volunteers = volunteers + excluded.volunteers"
)
_MEMBERS = (
    "INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records) "
    f"SELECT status, grouping, k1, k2, month, volunteer, minutes, records FROM {_MEMBERS_OF_BATCH} WHERE true {_ADD}"
)
BATCH_READS = (_FILL_CELLS,)
"""The statements of :class:`BulkInsert` that read the new records (their plans must read only those)."""


def _pending(conn: Any) -> tuple[int, int, int] | None:
    """What waits on this connection (since, last, count), or None; the temporary tables made if need be."""
    for statement in _MAKE_BATCH:
        conn.execute(statement)
    row = conn.execute(f"SELECT since, last, count FROM {_PENDING}").fetchone()
    return None if row is None else (row[0], row[1], row[2])


def waiting(store: Store) -> bool:
    """Whether records that :meth:`BulkInsert.insert` wrote on this thread's connection still wait for their
    summaries (until :meth:`BulkInsert.apply`, at the latest just before the transaction commits).

    Meanwhile the summaries lack them, so a question asked on this connection (from an import's progress
    hook, say) must recount the records instead; other connections see neither the records nor the
    summaries until the commit, which adds both at once.
    """
    if store.scalar("SELECT 1 FROM sqlite_temp_master WHERE name = 'volreg_bulk_pending'") is None:
        return False
    return store.scalar(f"SELECT 1 FROM {_PENDING} LIMIT 1") is not None


class _NotContiguous(Exception):
    """The new rows did not get the rowids above the old maximum; undo and take the per-row path."""


class BulkInsert:
    """New service records written in batches, and added to the summaries once, set-based, for all of them.

    :meth:`insert` writes a batch with the per-row insert trigger dropped (any ``AFTER INSERT`` trigger, even
    one whose ``WHEN`` is false, doubles the cost of an insert) and recreated exactly as it was stored, in one
    savepoint, so that no other connection ever sees the table without it.  The summaries of every batch
    written so far are added at :meth:`apply`, which runs by itself just before the write transaction
    commits (:meth:`Store.before_commit <volreg.store.db.Store.before_commit>`) and whenever
    :attr:`apply_every` records wait: a large import adds up its file in a few large steps instead of once
    per batch.

    What is waiting is kept in the connection's temporary ``volreg_bulk_pending`` table, so it rolls back
    with the records: a savepoint or transaction undone takes its batches with it.  Until :meth:`apply`,
    nothing but :meth:`insert` may write service records or change an activity's keys (the triggers would
    count, or move, minutes the summaries do not hold yet): call :meth:`apply` first.  A record inserted by
    anything else meanwhile is noticed and refused as a :class:`~volreg.Conflict`, so the transaction rolls
    back instead of counting it twice.
    """

    apply_every: ClassVar[int] = 200_000
    """Records that may wait at most: once as many have been written, :meth:`insert` applies them, so the
    memory of the summaries' sorting (each ``GROUP BY`` may hold up to the page cache) stays bounded however
    large the file."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __eq__(self, other: object) -> bool:
        # Equal for one store, so that Store.before_commit keeps one apply per transaction, whoever asked.
        return isinstance(other, BulkInsert) and other.store is self.store

    def __hash__(self) -> int:
        return id(self.store)

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write complete ``service_records`` rows (sharing their columns), none of which exists yet.

        Raises:
            Conflict: a row breaks a constraint of the table, or a record was written by something else
                since the last batch; nothing of this batch is written.
        """
        if not rows:
            return
        store = self.store
        conn = store.db.conn
        try:
            with store.write():
                pending = _pending(conn)
                before = conn.execute("SELECT coalesce(max(rowid), 0) FROM service_records").fetchone()[0]
                if pending is not None and before != pending[1]:
                    raise Conflict("service records were written while earlier batches of new records waited "
                                   "for their summaries; nothing of this batch is written")
                trigger = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                       "AND name = 'summary_record_insert'").fetchone()
                if trigger is not None:
                    conn.execute("DROP TRIGGER summary_record_insert")
                store.insert_many("service_records", rows)
                if trigger is not None:
                    conn.execute(trigger[0])
                added = conn.execute("SELECT count(*) FROM service_records WHERE rowid > ?", [before]).fetchone()[0]
                if added != len(rows):
                    raise _NotContiguous
                last = conn.execute("SELECT max(rowid) FROM service_records").fetchone()[0]
                if pending is None:
                    conn.execute(f"INSERT INTO {_PENDING} (since, last, count) VALUES (?, ?, ?)",
                                 [before, last, len(rows)])
                else:
                    conn.execute(f"UPDATE {_PENDING} SET last = ?, count = count + ?", [last, len(rows)])
                store.before_commit(self.apply)
                if (pending[2] if pending is not None else 0) + len(rows) >= self.apply_every:
                    self.apply()
        except _NotContiguous:
            with store.write():
                self.apply()
                store.insert_many("service_records", rows)

    def apply(self) -> None:
        """Add every record written by :meth:`insert` and not yet applied to the summaries (if any).

        Raises:
            Conflict: the records above the batches' first rowid are not exactly the batches' (something
                else wrote records meanwhile); the caller's transaction must roll back.
        """
        conn = self.store.db.conn
        with self.store.write():
            pending = _pending(conn)
            if pending is None:
                return
            since, _, count = pending
            found = conn.execute("SELECT count(*) FROM service_records WHERE rowid > ?", [since]).fetchone()[0]
            if found != count:
                raise Conflict(f"{found - count} service record(s) were written while {count} new records waited "
                               "for their summaries; the summaries would count them twice")
            conn.execute(_FILL_CELLS, [since])
            conn.execute(_VOLUNTEER_MONTHS)
            conn.execute(_VOLUNTEER_YEARS)
            conn.execute(_VOLUNTEERS)
            conn.execute(_FILL_BATCH_MEMBERS)
            conn.execute(_GROUPS)
            conn.execute(_MEMBERS)
            for table in (_CELLS, _MEMBERS_OF_BATCH, _PENDING):
                conn.execute(f"DELETE FROM {table}")


def insert_records(store: Store, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new service-record rows (sharing their columns) and add them to the summaries set-based.

    One :class:`BulkInsert` of one batch, applied at once, all in one savepoint inside the caller's
    transaction: a failure anywhere leaves the records and the summaries as they were.

    Args:
        store: the registry's store; called inside its write transaction or on its own.
        rows: complete ``service_records`` rows, none of which exists yet.

    Raises:
        Conflict: a row breaks a constraint of the table; nothing is written.
    """
    if not rows:
        return
    with store.write():
        bulk = BulkInsert(store)
        bulk.insert(rows)
        bulk.apply()


_CLOSURE = (
    "WITH RECURSIVE t(ancestor, descendant, depth) AS (SELECT id, id, 0 FROM organisations UNION ALL "
    "SELECT t.ancestor, o.id, t.depth + 1 FROM t JOIN organisations o ON o.parent = t.descendant "
    "WHERE t.depth < 1000) "
    "INSERT INTO organisation_tree (ancestor, descendant, depth) SELECT ancestor, descendant, min(depth) "
    "FROM t GROUP BY ancestor, descendant"
)
_UNSERVED_ALL = (
    "INSERT OR REPLACE INTO summary_unserved (volunteer, number, name) SELECT v.id, v.number, p.name "
    "FROM volunteers v JOIN people p ON p.id = v.person WHERE NOT EXISTS "
    "(SELECT 1 FROM summary_volunteers g WHERE g.status = 'verified' AND g.volunteer = v.id)"
)
_DERIVED = ("summary_volunteer_months", "summary_volunteer_years", "summary_volunteers", "summary_group_members",
            "summary_groups", "summary_unserved", "organisation_tree")


def rebuild(store: Store) -> None:
    """Recompute the closure of the organisation tree and every service summary from the rows themselves.

    For rows that did not reach them through the triggers in a meaningful order: an archive written before
    the closure and the subtree summaries existed lists an organisation moved under a later one before its
    new parent, so the closure (and the subtree rows built on it) would miss ancestors.  One transaction;
    the answers afterwards equal a recount of the records.
    """
    conn = store.db.conn
    with store.write():
        for table in _DERIVED:
            conn.execute(f"DELETE FROM {table}")  # the volunteer summaries first: their delete trigger refills
        conn.execute(_CLOSURE)                     # summary_unserved, emptied after them
        low, high, count = conn.execute(
            "SELECT coalesce(min(rowid), 1) - 1, max(rowid), count(*) FROM service_records").fetchone()
        if count:
            # Every record waits, as if one batch had written them all, and is added up once.
            if _pending(conn) is not None:
                conn.execute(f"DELETE FROM {_PENDING}")
            conn.execute(f"INSERT INTO {_PENDING} (since, last, count) VALUES (?, ?, ?)", [low, high, count])
            BulkInsert(store).apply()
        conn.execute(_UNSERVED_ALL)
