"""SQL for the service ledger (table ``service_records``): reads the registry's rules need; no rules here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .db import Store

__all__ = ["overlapping", "lineage_rows", "record_rows", "first_recorded_at", "close"]

_LIVE = "('pending', 'verified')"


def overlapping(store: Store, volunteer: str, start_utc: str, end_utc: str, *, exclude: str | None = None) -> dict[str, Any] | None:
    """The earliest live version of ``volunteer`` whose interval meets ``[start_utc, end_utc)``, if any.

    Intervals are half-open, so one that ends exactly when the other starts does not overlap it.
    ``exclude`` leaves out one version (the one being corrected).
    """
    return store.one(
        f"SELECT * FROM service_records WHERE volunteer = ? AND status IN {_LIVE} "
        "AND start_utc < ? AND end_utc > ? AND id IS NOT ? ORDER BY start_utc, id LIMIT 1",
        [volunteer, end_utc, start_utc, exclude],
    )


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
