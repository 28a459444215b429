"""The service-hour ledger: recording, verifying and correcting service records.

Rules and their sources:

- Service time is the time actually given, in whole minutes; hours are derived (志愿服务记录与证明出具办法,
  Art 7). A duration is computed on timezone-aware datetimes, so midnight and DST changes are right.
- The organisation that ran an activity records and certifies it (谁组织谁记录，谁记录谁证明); other sources
  (the volunteer, a check-in, an import) are kept apart in ``source``.
- Service data is recorded within 10 working days after the activity ends (Art 11): a later entry is kept
  but marked ``late``; working days come from :mod:`volreg.workdays`.
- A correction leaves a trace (Art 13): versions are never overwritten; a correction closes the old
  version and adds a new one, and a void closes a version without a successor.

Every version carries the instants that let :func:`volreg.hours` see the ledger as it stood at any time:
``recorded_at``, ``verified_at`` and ``closed_at`` (UTC text, so text order is time order).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .base import RegistryBase, actor_text, clean_text, new_id
from .errors import Conflict, InvalidValue, NotFound, RuleViolation
from .model import LIVE_STATUSES, SERVICE_SOURCES, SERVICE_STATUSES, Activity, ServiceRecord, Volunteer
from .queries.sql import names_of
from .store import service as ledger
from .timeutil import from_text, minutes_between, to_text, to_utc_text
from .workdays import add_working_days

__all__ = ["ServiceMixin", "MAX_MINUTES"]

MAX_MINUTES = 24 * 60
"""The longest one record may be: a longer stretch is entered as several records (one per day)."""

_CORRECTABLE = ("volunteer", "activity", "start", "end", "minutes", "note", "source")


def _actor(by: Any) -> str | None:
    return actor_text(by)


def _shown(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValue("reason", "must say why, as non-empty text", reason)
    return clean_text(reason, "reason", 2000, required=True)


def _note(note: Any) -> str:
    return clean_text(note, "note", 2000)


class ServiceMixin(RegistryBase):
    """Writes and reads of service records."""

    if TYPE_CHECKING:  # provided by the directory and activities mixins of the Registry

        def volunteer(self, id: Any) -> Volunteer: ...

        def activity(self, id: Any) -> Activity: ...

    # -- recording ----------------------------------------------------------------------------------

    def log_service(
        self,
        volunteer: Any,
        activity: Any,
        *,
        start: Any,
        end: Any = None,
        minutes: int | None = None,
        by: Any = None,
        source: str = "organiser",
        note: str = "",
        recorded_at: Any = None,
    ) -> ServiceRecord:
        """Record a volunteer's service in an activity; the record starts ``pending``.

        Give ``start`` with ``end`` (minutes are computed on aware datetimes, so a shift over midnight or
        across a DST change is right), with ``minutes``, or with both when breaks make the time given
        shorter than the span (the span is what counts for overlap; ``minutes`` is what counts as hours).

        Args:
            volunteer: the volunteer (object, id or public number).
            activity: a ``volunteer_service`` activity (object or id) whose time span holds the service.
            start: when the service began; naive values are in the registry's time zone.
            end: when it ended; must be after ``start`` and at most 24 hours later.
            minutes: the time given, a positive whole number of at most 1440.
            by: who records it (a person, organisation, id or free text), for the record and the journal.
            source: ``organiser`` (谁组织谁记录), ``self``, ``check_in`` or ``import``.
            note: free text.
            recorded_at: when the record was entered (default now): a sign-in sheet typed in later keeps
                its true entry time. Not in the future, not before the service ended.

        Returns:
            The new record; ``.late`` is set when it was entered more than
            ``settings.late_after_working_days`` working days after the activity ended.

        Raises:
            InvalidValue: unreadable or inconsistent times, bad minutes, a start or end in the future,
                service outside the activity's time span, an unknown source.
            NotFound: no such volunteer or activity.
            RuleViolation: the activity is not volunteer service, or the volunteer was not registered
                and active on that date.
            Conflict: the interval overlaps another live record of the volunteer (the error's ``other``
                names it).
        """
        with self._store.write() as store:
            fields = self._check_service(
                volunteer, activity, start=start, end=end, minutes=minutes, source=source,
                recorded_at=recorded_at, exclude=None, first_recorded=None,
            )
            record = ServiceRecord(
                id=new_id("svc"), lineage="", status="pending", recorded_by=_actor(by), note=_note(note), **fields
            )
            record = attrs.evolve(record, lineage=record.id)
            store.insert("service_records", self._service_row(record))
            self._journal("create", "service_record", record.id, by=by, after=record)
        return record

    def _check_service(
        self,
        volunteer: Any,
        activity: Any,
        *,
        start: Any,
        end: Any,
        minutes: Any,
        source: Any,
        recorded_at: Any,
        exclude: str | None,
        first_recorded: datetime | None,
    ) -> dict[str, Any]:
        """Validate one version's fields; return them normalised (the rules of the module docstring)."""
        if source not in SERVICE_SOURCES:
            raise InvalidValue("source", f"must be one of {', '.join(SERVICE_SOURCES)}", source)
        who = self.volunteer(volunteer)
        act = self.activity(activity)
        fields = self._service_fields(who, act, start=start, end=end, minutes=minutes, source=source,
                                      recorded_at=recorded_at, first_recorded=first_recorded)
        other = ledger.overlapping(
            self._store, who.id, to_utc_text(fields["start"]), to_utc_text(fields["interval_end"]), exclude=exclude
        )
        if other is not None:
            raise self._overlap(who, fields, other)
        del fields["interval_end"]
        return fields

    def _service_fields(
        self,
        who: Volunteer,
        act: Activity,
        *,
        start: Any,
        end: Any,
        minutes: Any,
        source: str,
        recorded_at: Any,
        first_recorded: datetime | None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Every rule of one version except overlap with other records, on a resolved volunteer and activity.

        Bulk imports call this with cached volunteers and activities and check overlap against the ledger
        and their own unwritten batch; ``interval_end`` (the end, or start + minutes) is returned for that.
        """
        if act.kind != "volunteer_service":
            raise RuleViolation(
                "volunteer_service",
                f"activity {act.id!r} is a {act.kind}, not volunteer service; only volunteer service carries hours",
            )
        begins = self._when(start, "start")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0):
            raise InvalidValue("minutes", "must be a positive whole number", minutes)
        if minutes is not None and minutes > MAX_MINUTES:
            raise InvalidValue("minutes", f"must be at most {MAX_MINUTES} (24 h) for one record", minutes)
        if end is None and minutes is None:
            raise InvalidValue("end", "must be given, or 'minutes' must be", None)
        ends = None if end is None else self._when(end, "end")
        if ends is not None:
            span = minutes_between(begins, ends)
            if ends <= begins:
                raise InvalidValue("end", "must be after 'start'", shown=f"{_shown(begins)} → {_shown(ends)}")
            if span > MAX_MINUTES:
                raise InvalidValue(
                    "end", f"must be at most 24 h after 'start' ({span} minutes)",
                    shown=f"{_shown(begins)} → {_shown(ends)}",
                )
            if span < 1:
                raise InvalidValue("end", "must be at least one whole minute after 'start'",
                                   shown=f"{begins:%H:%M:%S} → {ends:%H:%M:%S}")
            if minutes is not None and minutes > span:
                raise InvalidValue("minutes", f"must be at most the {span} minutes from 'start' to 'end'", minutes)
            minutes = span if minutes is None else minutes
            interval_end = ends
        else:
            assert minutes is not None
            interval_end = begins + timedelta(minutes=minutes)
        now = self._now() if now is None else now
        if begins > now:
            raise InvalidValue("start", "must not be in the future", shown=_shown(begins))
        if interval_end > now:
            raise InvalidValue("end", "must not be in the future: record service once it has happened",
                               shown=_shown(interval_end))
        self._check_within(act, begins, interval_end)
        self._check_active(who, begins)
        entered = now if recorded_at is None else self._when(recorded_at, "recorded_at")
        if entered > now:
            raise InvalidValue("recorded_at", "must not be in the future", shown=_shown(entered))
        if entered < interval_end:
            raise InvalidValue("recorded_at", f"must not be before the service ended ({_shown(interval_end)})",
                               shown=_shown(entered))
        assert act.end is not None
        deadline = add_working_days(act.end.date(), self.settings.late_after_working_days)
        late = (first_recorded or entered).astimezone(self.zone).date() > deadline
        return {
            "volunteer": who.id,
            "activity": act.id,
            "start": begins,
            "end": ends,
            "minutes": minutes,
            "source": source,
            "recorded_at": entered,
            "late": late,
            "interval_end": interval_end,
        }

    def _overlap(self, who: Volunteer, fields: dict[str, Any], other: dict[str, Any]) -> Conflict:
        """The refusal of a version whose interval meets ``other``, a live record of the same volunteer."""
        theirs = from_text(other["start"], self.zone)
        assert theirs is not None
        return Conflict(
            f"the service {_shown(fields['start'])} → {_shown(fields['interval_end'])} overlaps record "
            f"{other['id']!r} ({_shown(theirs)}, {other['minutes']} minutes, {other['status']}) of volunteer {who.id!r}",
            other=other["id"],
        )

    def _check_within(self, act: Activity, begins: datetime, ends: datetime) -> None:
        assert act.start is not None and act.end is not None
        if begins < act.start or ends > act.end:
            raise InvalidValue(
                "start" if begins < act.start else "end",
                f"must lie within activity {act.id!r}'s time span {_shown(act.start)} → {_shown(act.end)}",
                shown=f"{_shown(begins)} → {_shown(ends)}",
            )

    def _check_active(self, who: Volunteer, begins: datetime) -> None:
        # Only the current status and the day it began are stored: service before that day is taken to
        # have been given while the previous (active) status held.
        day = begins.date()
        if day < who.registered_on:
            raise RuleViolation(
                "registered",
                f"volunteer {who.id!r} registered on {who.registered_on}, after the service on {day}",
            )
        inactive_since = who.status_since or who.registered_on
        if who.status == "anonymised" or (who.status != "active" and day >= inactive_since):
            raise RuleViolation(
                "active", f"volunteer {who.id!r} is {who.status} since {inactive_since}, so not on {day}"
            )

    def _service_row(self, record: ServiceRecord) -> dict[str, Any]:
        interval_end = record.end or record.start + timedelta(minutes=record.minutes)

        def utc(moment: datetime | None) -> str | None:
            return None if moment is None else to_utc_text(moment)

        return {
            "id": record.id,
            "lineage": record.lineage,
            "supersedes": record.supersedes,
            "volunteer": record.volunteer,
            "activity": record.activity,
            "start": to_text(record.start, self.zone),
            "end": None if record.end is None else to_text(record.end, self.zone),
            "start_utc": to_utc_text(record.start),
            # Always filled, so that overlap checks see a minutes-only record as [start, start + minutes).
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
        }

    # -- the workflow -----------------------------------------------------------------------------------

    def _live(self, record: Any, action: str) -> ServiceRecord:
        current = self.service_record(record)
        if current.status not in LIVE_STATUSES:
            successor = next((v.id for v in self.service_versions(current) if v.live), None)
            hint = f"; its current version is {successor!r}" if successor else ""
            raise RuleViolation(
                "live_record", f"service record {current.id!r} is {current.status} and cannot be {action}{hint}"
            )
        return current

    def verify_service(self, record: Any, *, by: Any) -> ServiceRecord:
        """Verify a pending record, so that its minutes count.

        Args:
            record: the record (object or id).
            by: who verifies (the organisation that ran the activity, or its officer).

        Returns:
            The record, now ``verified``.

        Raises:
            NotFound: no such record.
            InvalidValue: ``by`` is missing.
            RuleViolation: the record is not pending, or ``by`` is the volunteer themself.
        """
        actor = self._acting(by)
        # The status is read inside the write lock: of two processes verifying (or verifying and rejecting)
        # one record at once, the second sees the first's result and is refused.
        with self._store.write() as store:
            old = self.service_record(record)
            if old.status != "pending":
                raise RuleViolation("pending", f"service record {old.id!r} is {old.status}; "
                                    "only pending records are verified")
            self._not_self(old, actor)
            new = attrs.evolve(old, status="verified", verified_at=self._now(), verified_by=actor)
            store.update("service_records", old.id, {
                "status": "verified", "verified_at": to_utc_text(self._required(new.verified_at)), "verified_by": actor,
            })
            self._journal("verify", "service_record", old.id, by=by, before=old, after=new)
        return new

    def reject_service(self, record: Any, *, by: Any, reason: str) -> ServiceRecord:
        """Reject a pending record; it is kept, with the reason, and never counts.

        Raises:
            NotFound: no such record.
            InvalidValue: ``by`` or ``reason`` is missing.
            RuleViolation: the record is not pending (void a verified record instead).
        """
        actor = self._acting(by)
        why = _reason(reason)
        with self._store.write() as store:
            old = self.service_record(record)
            if old.status != "pending":
                raise RuleViolation("pending", f"service record {old.id!r} is {old.status}; "
                                    "only pending records are rejected")
            new = attrs.evolve(old, status="rejected", closed_at=self._now(), closed_by=actor, reason=why)
            ledger.close(store, old.id, status="rejected", at=to_utc_text(self._required(new.closed_at)),
                         by=actor, reason=why)
            self._journal("reject", "service_record", old.id, by=by, before=old, after=new, note=why)
        return new

    def void_service(self, record: Any, *, by: Any, reason: str) -> ServiceRecord:
        """Withdraw a live record (pending or verified): it stays in the ledger, closed, and stops counting.

        Raises:
            NotFound: no such record.
            InvalidValue: ``by`` or ``reason`` is missing.
            RuleViolation: the record is already rejected, superseded or void.
        """
        actor = self._acting(by)
        why = _reason(reason)
        with self._store.write() as store:
            old = self._live(record, "voided")
            new = attrs.evolve(old, status="void", closed_at=self._now(), closed_by=actor, reason=why)
            ledger.close(store, old.id, status="void", at=to_utc_text(self._required(new.closed_at)),
                         by=actor, reason=why)
            self._journal("void", "service_record", old.id, by=by, before=old, after=new, note=why)
        return new

    def correct_service(self, record: Any, *, by: Any, reason: str, **changes: Any) -> ServiceRecord:
        """Correct a live record: the old version is kept as ``superseded`` and a new version replaces it.

        Changes are merged over the old version: giving ``minutes`` alone drops the old ``end``; giving
        ``end`` alone recomputes the minutes; giving ``start`` alone keeps the old ``end`` (or minutes).
        The new version keeps the old one's status (a corrected verified record stays verified, verified
        now by ``by``: the organisation checks and fixes it, Art 13) and its lateness is judged from when
        the first version was entered. Every rule of :meth:`log_service` is checked again.

        Args:
            record: the record (object or id).
            by: who corrects it.
            reason: why, kept on both versions and in the journal.
            **changes: any of ``volunteer``, ``activity``, ``start``, ``end``, ``minutes``, ``note``, ``source``.

        Returns:
            The new version (``.supersedes`` names the old one; ``.lineage`` is shared).

        Raises:
            NotFound, InvalidValue, RuleViolation, Conflict: as for :meth:`log_service`; also an unknown
                field, no change at all, or a record that is not live.
        """
        actor = self._acting(by)
        why = _reason(reason)
        for name in changes:
            if name not in _CORRECTABLE:
                raise InvalidValue(name, f"cannot be corrected (only {', '.join(_CORRECTABLE)})", changes[name])
        if not changes:
            raise InvalidValue("changes", "must change at least one field", {})
        with self._store.write() as store:
            old = self._live(record, "corrected")
            merged: dict[str, Any] = {
                "volunteer": old.volunteer, "activity": old.activity, "start": old.start,
                "end": old.end, "minutes": None if old.end is not None else old.minutes,
                "source": old.source,
            }
            if "minutes" in changes and "end" not in changes:
                merged["end"] = None
            if "end" in changes and "minutes" not in changes:
                merged["minutes"] = None
            merged.update({k: v for k, v in changes.items() if k != "note"})
            first = from_text(ledger.first_recorded_at(store, old.lineage), self.zone)
            fields = self._check_service(
                **merged, recorded_at=None, exclude=old.id, first_recorded=first,
            )
            now = fields["recorded_at"]
            verified = old.status == "verified"
            new = ServiceRecord(
                id=new_id("svc"), lineage=old.lineage, supersedes=old.id, status=old.status,
                recorded_by=actor, verified_at=now if verified else None, verified_by=actor if verified else None,
                reason=why, note=_note(changes.get("note", old.note)), external_id=None, **fields,
            )
            if attrs.evolve(new, id=old.id, supersedes=old.supersedes, recorded_at=old.recorded_at,
                            recorded_by=old.recorded_by, verified_at=old.verified_at,
                            verified_by=old.verified_by, reason=old.reason, late=old.late) == old:
                raise InvalidValue("changes", "must differ from the record", changes)
            # The old version closes at the instant the new one is verified, so no as-of query sees both.
            ledger.close(store, old.id, status="superseded", at=to_utc_text(now), by=actor, reason=why)
            store.insert("service_records", self._service_row(new))
            closed = attrs.evolve(old, status="superseded", closed_at=now, closed_by=actor, reason=why)
            self._journal("correct", "service_record", old.id, by=by, before=old, after=closed, note=why)
            self._journal("create", "service_record", new.id, by=by, after=new, note=why)
        return new

    def _acting(self, by: Any) -> str:
        actor = _actor(by)
        if actor is None or not actor.strip():
            raise InvalidValue("by", "must name who acts", by)
        return actor

    def _not_self(self, record: ServiceRecord, actor: str) -> None:
        who = self.volunteer(record.volunteer)
        if actor in (who.id, who.person, who.number):
            raise RuleViolation(
                "self_verification", f"volunteer {who.id!r} cannot verify their own service record {record.id!r}"
            )

    @staticmethod
    def _required(moment: datetime | None) -> datetime:
        assert moment is not None
        return moment

    # -- reads -----------------------------------------------------------------------------------------

    def service_record(self, id: Any) -> ServiceRecord:
        """The service record version with this id.

        Raises:
            NotFound: no such record.
        """
        row = self._store.get("service_records", getattr(id, "id", id))
        if row is None:
            raise NotFound("service record", getattr(id, "id", id))
        return ServiceRecord.from_row(row, self.zone)

    def service_records(
        self, *, volunteer: Any = None, activity: Any = None, status: str | tuple[str, ...] | None = None
    ) -> Iterator[ServiceRecord]:
        """Service record versions ordered by start.

        Args:
            volunteer: only this volunteer's (object, id or number).
            activity: only this activity's.
            status: only these statuses (default: all, superseded versions included).

        Raises:
            NotFound: unknown volunteer or activity.
            InvalidValue: an unknown status.
        """
        statuses = names_of(status, "status")
        for name in statuses:
            if name not in SERVICE_STATUSES:
                raise InvalidValue("status", f"must be one of {', '.join(SERVICE_STATUSES)}", name)
        rows = ledger.record_rows(
            self._store,
            volunteer=None if volunteer is None else self.volunteer(volunteer).id,
            activity=None if activity is None else self._ref(activity, "activity", "activities"),
            statuses=statuses,
        )
        return (ServiceRecord.from_row(r, self.zone) for r in rows)

    def service_versions(self, record: Any) -> list[ServiceRecord]:
        """Every version of a record (any of its versions may be given), oldest first.

        Raises:
            NotFound: no such record.
        """
        lineage = self.service_record(record).lineage
        return [ServiceRecord.from_row(r, self.zone) for r in ledger.lineage_rows(self._store, lineage)]
