"""Inserting a batch of new service records, with the summaries brought up to date once per batch.

The per-row triggers of ``m005_summaries`` keep the summary tables exact for every write, but cost about
seven times the insert itself.  For a batch (the ``service_records`` import kind, the benchmark generator),
:func:`insert_records` switches the insert trigger off (``summary_control.bulk``, migration
``m007_bulk_summaries``), inserts the rows with one ``executemany``, and adds exactly those rows to each
summary table with one set-based ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``, the same
arithmetic as the triggers' (and as m005's backfill).  All of it runs in one savepoint inside the caller's
transaction, so the switch is never seen set by another connection and a failure anywhere leaves the
records and the summaries as they were.

It is a function rather than a context manager on purpose: between switching the trigger off and applying
the batch, nothing but the insert may touch ``service_records`` (an update of a row of the batch would go
through the update trigger and then be counted again from its new values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .db import Store

__all__ = ["insert_records"]

# The batch is read by rowid range only: ``NOT INDEXED`` and ``CROSS JOIN`` keep SQLite from planning a scan
# of the status index or of every activity, which it otherwise picks for a bound parameter it cannot see.
# The batch is every row whose rowid is above the largest one before the insert: ``service_records`` has no
# AUTOINCREMENT, so SQLite gives new rows max(rowid) + 1, and no other connection can write meanwhile (we
# hold the write lock).  The one exception (the largest rowid already at 2**63 - 1, when SQLite picks random
# free rowids) is detected by counting, and the batch then goes through the triggers instead.
_VOLUNTEER_MONTHS = (
    "INSERT INTO summary_volunteer_months (status, volunteer, month, minutes, records) "
    "SELECT status, volunteer, substr(start, 1, 7), sum(minutes), count(*) FROM service_records NOT INDEXED "
    "WHERE rowid > ? GROUP BY 1, 2, 3 "
    "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records"
)
_VOLUNTEERS = (
    "INSERT INTO summary_volunteers (status, volunteer, minutes, records) "
    "SELECT status, volunteer, sum(minutes), count(*) FROM service_records NOT INDEXED WHERE rowid > ? "
    "GROUP BY 1, 2 "
    "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records"
)
_GROUPINGS = (
    ("organisation", "coalesce(a.organiser, '')", "''", "substr(r.start, 1, 7)"),
    ("studio", "coalesce(a.studio, '')", "''", "substr(r.start, 1, 7)"),
    ("studio_category", "coalesce(a.studio, '')", "coalesce(a.category, '')", "''"),
)
_BATCH_MEMBERS = "temp.volreg_bulk_members"
_MAKE_BATCH_MEMBERS = (
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_members (status TEXT, grouping TEXT, k1 TEXT, k2 TEXT, "
    "month TEXT, volunteer TEXT, minutes INTEGER, records INTEGER)"
)
# Each (group, volunteer) pair of the batch with its minutes and records; the activity's keys are read as
# they stand now, as the insert trigger reads them.
_FILL_BATCH_MEMBERS = f"INSERT INTO {_BATCH_MEMBERS} " + " UNION ALL ".join(
    f"SELECT r.status, '{name}', {k1}, {k2}, {month}, r.volunteer, sum(r.minutes), count(*) "
    "FROM service_records AS r NOT INDEXED CROSS JOIN activities a ON a.id = r.activity WHERE r.rowid > ? "
    "GROUP BY 1, 3, 4, 5, 6"
    for name, k1, k2, month in _GROUPINGS
)
# A volunteer joins a group's distinct count when the batch brings their first record to it: read before
# the members are updated.
_GROUPS = (
    "INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers) "
    "SELECT b.status, b.grouping, b.k1, b.k2, b.month, sum(b.minutes), sum(b.records), "
    "sum(NOT EXISTS (SELECT 1 FROM summary_group_members m WHERE m.status = b.status AND m.grouping = b.grouping "
    "AND m.k1 = b.k1 AND m.k2 = b.k2 AND m.month = b.month AND m.volunteer = b.volunteer)) "
    f"FROM {_BATCH_MEMBERS} b WHERE true GROUP BY 1, 2, 3, 4, 5 "
    "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records, "
    "volunteers = volunteers + excluded.volunteers"
)
_MEMBERS = (
    "INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records) "
    f"SELECT status, grouping, k1, k2, month, volunteer, minutes, records FROM {_BATCH_MEMBERS} WHERE true "
    "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records"
)


class _NotContiguous(Exception):
    """The new rows did not get the rowids above the old maximum; undo and take the per-row path."""


def insert_records(store: Store, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new service-record rows (sharing their columns) and add them to the summaries set-based.

    Args:
        store: the registry's store; called inside its write transaction or on its own.
        rows: complete ``service_records`` rows, none of which exists yet.

    Raises:
        Conflict: a row breaks a constraint of the table; nothing is written.
    """
    if not rows:
        return
    conn = store.db.conn
    try:
        with store.write():
            before = conn.execute("SELECT coalesce(max(rowid), 0) FROM service_records").fetchone()[0]
            conn.execute("INSERT OR REPLACE INTO summary_control (id, bulk) VALUES (1, 1)")
            store.insert_many("service_records", rows)
            added = conn.execute("SELECT count(*) FROM service_records WHERE rowid > ?", [before]).fetchone()[0]
            if added != len(rows):
                raise _NotContiguous
            conn.execute(_VOLUNTEER_MONTHS, [before])
            conn.execute(_VOLUNTEERS, [before])
            conn.execute(_MAKE_BATCH_MEMBERS)
            conn.execute(_FILL_BATCH_MEMBERS, [before] * len(_GROUPINGS))
            conn.execute(_GROUPS)
            conn.execute(_MEMBERS)
            conn.execute(f"DELETE FROM {_BATCH_MEMBERS}")
            conn.execute("UPDATE summary_control SET bulk = 0 WHERE id = 1")
    except _NotContiguous:
        with store.write():
            store.insert_many("service_records", rows)
