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

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from . import service_rules as rules
from .base import RegistryBase, actor_text, clean_text, public_view
from .errors import InvalidValue, NotFound, RuleViolation
from .model import LIVE_STATUSES, SERVICE_SOURCES, SERVICE_STATUSES, Activity, ServiceRecord, Volunteer
from .queries.sql import names_of
from .service_rules import MAX_MINUTES
from .store import service as ledger
from .text import ordered_id
from .timeutil import from_text, to_utc_text

__all__ = ["ServiceMixin", "MAX_MINUTES"]

_CORRECTABLE = ("volunteer", "activity", "start", "end", "minutes", "on", "note", "source")


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
        start: Any = None,
        end: Any = None,
        minutes: int | None = None,
        on: Any = None,
        by: Any = None,
        source: str = "organiser",
        note: str = "",
        recorded_at: Any = None,
    ) -> ServiceRecord:
        """Record a volunteer's service in an activity; the record starts ``pending``.

        Give ``start`` with ``end`` (minutes are computed on aware datetimes, so a shift over midnight or
        across a DST change is right), with ``minutes``, or with both when breaks make the time given
        shorter than the span (the span is what counts for overlap; ``minutes`` is what counts as hours).
        Or give a day with no clock time, ``on="2026-08-20", minutes=165``, as sign-in sheets record it:
        such a record never overlaps another by clock, but a volunteer's minutes on one day (day records and
        timed records together) may not exceed 24 hours; it counts in its day, month, quarter and year.

        Args:
            volunteer: the volunteer (object, id or public number).
            activity: a ``volunteer_service`` activity (object or id) whose time span holds the service.
            start: when the service began; naive values are in the registry's time zone.
            on: instead of ``start``/``end``: the day the service was given (a day of the activity).
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
            Conflict: the interval overlaps another live timed record of the volunteer (the error's
                ``other`` names it).
            RuleViolation: (rule ``day_total``) the volunteer's minutes that day would exceed 24 hours.
        """
        with self._store.write() as store:
            fields = self._check_service(
                volunteer, activity, start=start, end=end, minutes=minutes, on=on, source=source,
                recorded_at=recorded_at, exclude=None, first_recorded=None,
            )
            record = ServiceRecord(
                id=ordered_id("svc"), lineage="", status="pending", recorded_by=_actor(by), note=_note(note), **fields
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
        on: Any = None,
    ) -> dict[str, Any]:
        """Validate one version by the ledger's rules (:mod:`volreg.service_rules`); return its fields."""
        if source not in SERVICE_SOURCES:
            raise InvalidValue("source", f"must be one of {', '.join(SERVICE_SOURCES)}", source)
        who = self.volunteer(volunteer)
        act = self.activity(activity)
        fields = rules.service_fields(
            who, act, start=start, end=end, minutes=minutes, on=on, source=source, recorded_at=recorded_at,
            first_recorded=first_recorded, now=self._now(), zone=self.zone,
            late_after_working_days=self.settings.late_after_working_days,
        )
        rules.check_overlap(self._store, who, fields, self.zone, exclude=exclude)
        rules.check_day_total(self._store, who, fields, self.zone, exclude=exclude)
        del fields["interval_end"]
        return fields

    def _service_row(self, record: ServiceRecord) -> dict[str, Any]:
        return ledger.record_row(record, self.zone)

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

    def _as_written(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The journal view of a record version as a batch wrote it (``item``: a history row of a journal
        item): its stored values with the status and verifier it was written with and not yet closed."""
        row = self._store.get("service_records", item["entity_id"])
        if row is None:
            return {"id": item["entity_id"]}
        record = ServiceRecord.from_row(row, self.zone)
        verified = item["item_status"] == "verified"
        written = attrs.evolve(record, status=item["item_status"], verified_by=item["item_verified_by"],
                               verified_at=from_text(item["at"], self.zone) if verified else None,
                               closed_at=None, closed_by=None, reason="")
        return public_view(written)

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
            **changes: any of ``volunteer``, ``activity``, ``start``, ``end``, ``minutes``, ``on`` (a day:
                the record becomes a record of that day), ``note``, ``source``; a record of a day stays one
                unless given a ``start``.

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
                "source": old.source, "on": None,
            }
            if old.day is not None:  # a record of a day stays one unless given a clock time
                merged.update(start=None, end=None, on=old.day, minutes=old.minutes)
                if "start" in changes:
                    merged["on"] = None
            if "on" in changes:
                merged.update(start=None, end=None, minutes=old.minutes)
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
                id=ordered_id("svc"), lineage=old.lineage, supersedes=old.id, status=old.status,
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
