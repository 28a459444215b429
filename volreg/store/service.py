"""SQL for the service ledger (table ``service_records``): reads the registry's rules need; no rules here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

from ..timeutil import to_text, to_utc_text
from .db import Store

__all__ = ["overlapping", "minutes_starting", "lineage_rows", "record_rows", "first_recorded_at", "close",
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
