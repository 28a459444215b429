"""SQL for the service ledger (table ``service_records``): reads the registry's rules need; no rules here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

from ..timeutil import to_text, to_utc_text
from .db import Store

__all__ = ["overlapping", "minutes_starting", "lineage_rows", "record_rows", "first_recorded_at", "close", "batch_facts",
           "record_row"]

_LIVE = "('pending', 'verified')"


def overlapping(store: Store, volunteer: str, start_utc: str, end_utc: str, *, exclude: str | None = None) -> dict[str, Any] | None:
    """The earliest live timed version of ``volunteer`` whose interval meets ``[start_utc, end_utc)``, if any.

    Intervals are half-open, so one that ends exactly when the other starts does not overlap it. Records of
    a day (``day`` set) have no clock time and are left out. ``exclude`` leaves out one version (the one
    being corrected).
    """
    return store.one(
        f"SELECT * FROM service_records WHERE volunteer = ? AND status IN {_LIVE} "
        "AND start_utc < ? AND end_utc > ? AND id IS NOT ? AND day IS NULL ORDER BY start_utc, id LIMIT 1",
        [volunteer, end_utc, start_utc, exclude],
    )


def minutes_starting(store: Store, volunteer: str, first_utc: str, last_utc: str, *, exclude: str | None = None) -> int:
    """The minutes of ``volunteer``'s live versions that start in ``[first_utc, last_utc)`` (one local day)."""
    return int(store.scalar(
        f"SELECT coalesce(sum(minutes), 0) FROM service_records WHERE volunteer = ? AND status IN {_LIVE} "
        "AND start_utc >= ? AND start_utc < ? AND id IS NOT ?",
        [volunteer, first_utc, last_utc, exclude],
    ) or 0)


def record_row(record: Any, zone: tzinfo) -> dict[str, Any]:
    """The stored row of a :class:`volreg.model.ServiceRecord` version (times as local and UTC text)."""
    day = record.day
    interval_end = record.end or record.start + timedelta(minutes=record.minutes)

    def utc(moment: datetime | None) -> str | None:
        return None if moment is None else to_utc_text(moment)

    return {
        "id": record.id,
        "lineage": record.lineage,
        "supersedes": record.supersedes,
        "volunteer": record.volunteer,
        "activity": record.activity,
        "start": to_text(record.start, zone),
        "end": None if record.end is None else to_text(record.end, zone),
        "start_utc": to_utc_text(record.start),
        # Always filled, so that overlap checks see a minutes-only record as [start, start + minutes); a day
        # record's is never compared (it has no clock time).
        "end_utc": to_utc_text(interval_end),
        "minutes": record.minutes,
        "status": record.status,
        "source": record.source,
        "recorded_at": to_utc_text(record.recorded_at),
        "recorded_by": record.recorded_by,
        "verified_at": utc(record.verified_at),
        "verified_by": record.verified_by,
        "closed_at": utc(record.closed_at),
        "closed_by": record.closed_by,
        "reason": record.reason,
        "late": int(record.late),
        "note": record.note,
        "external_id": record.external_id,
        "day": None if day is None else day.isoformat(),
    }


def lineage_rows(store: Store, lineage: str) -> Iterator[dict[str, Any]]:
    """Every version of one record, in the order they were written."""
    return store.rows("SELECT * FROM service_records WHERE lineage = ? ORDER BY rowid", [lineage])


def first_recorded_at(store: Store, lineage: str) -> str | None:
    """When the first version of a record was entered (UTC text)."""
    return store.scalar("SELECT recorded_at FROM service_records WHERE id = ?", [lineage])


def record_rows(
    store: Store,
    *,
    volunteer: str | None = None,
    activity: str | None = None,
    statuses: tuple[str, ...] = (),
) -> Iterator[dict[str, Any]]:
    """Record versions ordered by start, optionally of one volunteer, one activity, some statuses."""
    where, params = [], []
    if volunteer is not None:
        where.append("volunteer = ?")
        params.append(volunteer)
    if activity is not None:
        where.append("activity = ?")
        params.append(activity)
    if statuses:
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    sql = "SELECT * FROM service_records"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return store.rows(sql + " ORDER BY start_utc, rowid", params)


def close(store: Store, id: str, *, status: str, at: str, by: str | None, reason: str) -> None:
    """Close a live version: it becomes ``rejected``, ``superseded`` or ``void`` at instant ``at``."""
    store.db.execute(
        "UPDATE service_records SET status = ?, closed_at = ?, closed_by = ?, reason = ? "
        f"WHERE id = ? AND status IN {_LIVE}",
        [status, at, by, reason, id],
    )


_BATCH_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS import_service_batch (
    n INTEGER PRIMARY KEY,      -- the record's place in its batch (the file's order)
    volunteer TEXT NOT NULL,
    activity TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    end_utc TEXT NOT NULL,      -- the end, or start + minutes
    after_utc TEXT NOT NULL,    -- 24 hours before the start: no record that overlaps starts earlier
    day TEXT,                   -- the date of a record of a day (no clock time), else NULL
    minutes INTEGER NOT NULL,
    day_first_utc TEXT NOT NULL,  -- the local day the record counts towards, as a UTC interval
    day_last_utc TEXT NOT NULL
)"""


def batch_facts(store: Store, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """What the ledger rules need to know about a batch of new records, read set-based in a few statements.

    ``rows`` are ``(n, volunteer, activity, start_utc, end_utc, after_utc, day, minutes, day_first_utc,
    day_last_utc)``, staged into a temporary table (emptied again before returning). The result holds:

    - ``same``: n → the id of a stored version with the same volunteer, activity and start (and, for a record
      of a day, the same day and minutes): the record's content identity, any status.
    - ``overlap``: n → ``(id, start, minutes, status)`` of the earliest live timed version the timed record
      ``n`` overlaps (half-open intervals).
    - ``held``: (volunteer, day_first_utc) → live minutes already stored on that local day (a day with none
      is left out).
    - ``earlier``: n → the batch's earlier timed records (their n, in order) whose interval meets timed
      record ``n``'s: a self-join; which of them count depends on which were accepted.
    """
    conn = store.db.conn
    conn.execute(_BATCH_TABLE)
    conn.execute("CREATE INDEX IF NOT EXISTS temp.import_service_batch_volunteer "
                 "ON import_service_batch(volunteer, start_utc)")
    conn.execute("DELETE FROM temp.import_service_batch")
    try:
        conn.executemany("INSERT INTO temp.import_service_batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        same: dict[int, str] = {}
        for n, id in conn.execute(
                "SELECT b.n, s.id FROM temp.import_service_batch b CROSS JOIN service_records s "
                "ON s.volunteer = b.volunteer AND s.start_utc = b.start_utc "
                "WHERE s.activity = b.activity AND s.day IS b.day AND (b.day IS NULL OR s.minutes = b.minutes) "
                "ORDER BY b.n, s.start_utc"):
            same.setdefault(n, id)
        overlap: dict[int, tuple[str, str, int, str]] = {}
        for n, id, start, minutes, status in conn.execute(
                # One index range per row, found by a correlated subquery: as a plain join SQLite builds a
                # Bloom filter over the whole ledger for every batch.
                "SELECT b.n, s.id, s.start, s.minutes, s.status FROM temp.import_service_batch b "
                "CROSS JOIN service_records s ON s.rowid = (SELECT x.rowid FROM service_records x "
                "WHERE x.volunteer = b.volunteer AND x.start_utc < b.end_utc AND x.start_utc > b.after_utc "
                f"AND x.end_utc > b.start_utc AND x.status IN {_LIVE} AND x.day IS NULL "
                "ORDER BY x.start_utc LIMIT 1) WHERE b.day IS NULL"):
            overlap.setdefault(n, (id, start, minutes, status))
        # Only the days that hold minutes come back (most of a batch's days hold none: a dict entry each
        # cost as much as the statement).
        held = {(volunteer, first): int(total) for volunteer, first, total in conn.execute(
            "SELECT volunteer, day_first_utc, total FROM (SELECT g.volunteer, g.day_first_utc, "
            "(SELECT sum(s.minutes) FROM service_records s "
            f"WHERE s.volunteer = g.volunteer AND s.status IN {_LIVE} AND s.start_utc >= g.day_first_utc "
            "AND s.start_utc < g.day_last_utc) AS total "
            "FROM (SELECT DISTINCT volunteer, day_first_utc, day_last_utc FROM temp.import_service_batch) g) "
            "WHERE total IS NOT NULL")}
        earlier: dict[int, list[int]] = {}
        for n, other in conn.execute(
                "SELECT b.n, a.n FROM temp.import_service_batch b JOIN temp.import_service_batch a "
                "ON a.volunteer = b.volunteer AND a.start_utc < b.end_utc AND a.start_utc > b.after_utc "
                "WHERE b.day IS NULL AND a.day IS NULL AND a.n < b.n AND a.end_utc > b.start_utc "
                "ORDER BY b.n, a.n"):
            earlier.setdefault(n, []).append(other)
    finally:
        conn.execute("DELETE FROM temp.import_service_batch")
    return {"same": same, "overlap": overlap, "held": held, "earlier": earlier}
