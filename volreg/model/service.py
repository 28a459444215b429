"""Service records: one version of a volunteer's service in an activity, in whole minutes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import attrs

from ..timeutil import from_text

__all__ = ["SERVICE_SOURCES", "SERVICE_STATUSES", "LIVE_STATUSES", "ServiceRecord"]

SERVICE_STATUSES = ("pending", "verified", "rejected", "superseded", "void")
"""A record version's statuses. Only ``verified`` minutes count by default."""

LIVE_STATUSES = ("pending", "verified")
"""Statuses of a version that still stands: it occupies the volunteer's time and may be corrected or voided."""

SERVICE_SOURCES = ("organiser", "self", "check_in", "import")
"""Who produced a record: the organising body (谁组织谁记录), the volunteer, a check-in, or an import."""


def _required(value: datetime | None) -> datetime:
    assert value is not None
    return value


@attrs.frozen
class ServiceRecord:
    """One version of a service record.

    Records are never overwritten: a correction closes this version (``status`` ``superseded``) and adds a
    new one whose ``supersedes`` names it; all versions of one record share ``lineage``.

    Attributes:
        id: this version's id.
        lineage: the id of the first version; the same for every correction of it.
        supersedes: the version this one replaces, or None for the first version.
        volunteer: the volunteer's id.
        activity: the activity's id.
        start: when the service began (aware, in the registry's time zone).
        end: when it ended, or None when only ``minutes`` were given.
        minutes: the service time in whole minutes (服务时间).
        status: one of :data:`SERVICE_STATUSES`.
        source: one of :data:`SERVICE_SOURCES`.
        recorded_at: when the record was entered (a sign-in sheet typed in later keeps its true time).
        recorded_by: who entered it.
        verified_at, verified_by: when and by whom it was verified, if it was.
        closed_at, closed_by: when and by whom it was rejected, superseded or voided, if it was.
        reason: why it was rejected, corrected or voided.
        late: entered more than ``settings.late_after_working_days`` working days after its activity ended.
        note: free text.
        external_id: the id a source system gave it, if any.
        day: for a record of a day (a date and a duration, no clock time), that day; ``start`` is then the
            day's first instant and ``end`` is None. None for a timed record.
    """

    id: str
    lineage: str
    volunteer: str
    activity: str
    start: datetime
    minutes: int
    recorded_at: datetime
    end: datetime | None = None
    supersedes: str | None = None
    status: str = "pending"
    source: str = "organiser"
    recorded_by: str | None = None
    verified_at: datetime | None = None
    verified_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    reason: str = ""
    late: bool = False
    note: str = ""
    external_id: str | None = None
    day: date | None = None

    @property
    def hours(self) -> float:
        """The service time in hours, rounded to two decimals, for display only (sum ``minutes``)."""
        return round(self.minutes / 60, 2)

    @property
    def live(self) -> bool:
        """Whether this version still stands (pending or verified)."""
        return self.status in LIVE_STATUSES

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> ServiceRecord:
        """Build from a stored row, reading times in the registry's zone."""
        return cls(
            id=row["id"],
            lineage=row["lineage"],
            supersedes=row["supersedes"],
            volunteer=row["volunteer"],
            activity=row["activity"],
            start=_required(from_text(row["start"], zone)),
            end=from_text(row["end"], zone),
            minutes=int(row["minutes"]),
            status=row["status"],
            source=row["source"],
            recorded_at=_required(from_text(row["recorded_at"], zone)),
            recorded_by=row["recorded_by"],
            verified_at=from_text(row["verified_at"], zone),
            verified_by=row["verified_by"],
            closed_at=from_text(row["closed_at"], zone),
            closed_by=row["closed_by"],
            reason=row["reason"] or "",
            late=bool(row["late"]),
            note=row["note"] or "",
            external_id=row["external_id"],
            day=None if not row.get("day") else date.fromisoformat(row["day"]),
        )
