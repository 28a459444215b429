"""Importing service records (sign-in sheets, exports of other volunteer systems), a batch at a time.

A service record names its volunteer by volunteer number (志愿者编号), resident ID number (身份证号) or another
document (证件类型 with 证件号码), its
activity by id or external id, and its time by start and end (开始时间/结束时间, or bare times with a 日期
column) and/or hours (服务时长, decimals such as ``1.25`` becoming exact minutes). A status column (审核状态)
of 已审核/verified imports the record verified, by the 审核人 column or else the activity's organiser
(谁组织谁记录，谁记录谁证明); anything else imports it pending.

Every rule of :meth:`volreg.Registry.log_service` applies, through the same functions of
:mod:`volreg.service_rules`, with ``source="import"``; overlap and the day total are checked against the
ledger and against the rows staged earlier in the same batch. Identity without an external id: the same
volunteer, activity and start; a re-imported row that matches a record whose minutes were since corrected is still recognised, because the
superseded version keeps the imported values. A record of a day (a date and hours, no clock time) is the
same volunteer, activity, day and minutes: two shifts of one day with the same hours need external ids.

Speed: a file may hold millions of rows, so per-row work is kept small. Volunteers, activities and parsed
times are looked up once per file and reused (bounded caches); so are the rules of each *shape* of row
(activity, times, minutes, day, entry time), of which only the volunteer's own are checked per row. The rules' reads are set-based: a batch of
converted rows is staged in a temporary table and :func:`volreg.store.service.batch_facts` reads their
identities, their overlaps with the ledger, the ledger's minutes on their days and the overlaps within the
batch (a self-join) in four statements; each row is then accepted or refused in the file's order against
the rows accepted before it. Rows are written with one ``executemany`` per batch (records and their
journal entries) instead of one savepoint per row. ``import_file(..., _per_row=True)`` instead reads the
ledger with one indexed query per row (the results are the same; tests compare the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from .. import service_rules as rules
from ..errors import Conflict, InvalidValue, NotFound, RuleViolation
from ..model import Activity, ServiceRecord, Volunteer
from ..service_rules import MAX_MINUTES
from ..store import service as ledger
from ..store.bulk import BulkInsert
from ..text import ordered_id
from ..timeutil import minutes_between, to_utc_text
from . import values as v
from .importer import Field, ImportContext, KindHandler, register_kind

__all__ = ["ServiceRecordsHandler", "STATUS_LABELS"]

STATUS_LABELS = {
    "pending": "pending", "待审核": "pending", "未审核": "pending", "待认证": "pending", "未认证": "pending",
    "verified": "verified", "已审核": "verified", "审核通过": "verified", "已认证": "verified",
    "已通过": "verified", "通过": "verified",
}
"""How a status cell is read: a record is imported ``pending`` or ``verified``."""

# A row's identity (same volunteer, activity and start) and every record it could overlap, in one query.
# No record is longer than 24 hours (MAX_MINUTES, and a CHECK in the schema), so one that overlaps starts
# less than a day before this one: the lower bound keeps the index range short for volunteers with years
# of records.
_NEARBY = (
    "SELECT id, activity, start_utc, status, start, minutes, day FROM service_records "
    "WHERE volunteer = ? AND start_utc < ? AND start_utc > ? AND end_utc > ? ORDER BY start_utc"
)
_CACHE_LIMIT = 200_000  # entries per look-up cache; cleared when full, so memory stays bounded
_LIVE = ("pending", "verified")


_SHAPE_LIMIT = 20_000
"""Entries of the shape caches (a shape keeps its checked fields and a stored row, about 3 KB): a file whose
every row has its own times gains nothing from them, and must not hold 200,000 of them."""


def _cached(ctx: ImportContext, name: str, limit: int = _CACHE_LIMIT) -> dict[Any, Any]:
    cache = ctx.cache.get(name)
    if cache is None or len(cache) > limit:
        cache = ctx.cache[name] = {}
    return cache


def _day_before(moment: datetime) -> str:
    return to_utc_text(moment - timedelta(minutes=MAX_MINUTES))


def _volunteer(ctx: ImportContext, number: Any, values: Mapping[str, Any]) -> Volunteer:
    """The volunteer a row names (by number, or by document: 证件类型 and 证件号码, or 身份证号), looked up
    once per file; a number and a document must agree."""
    cache = _cached(ctx, "volunteers")
    id_text = values.get("id_number")
    key = (number, id_text, values.get("id_type"), values.get("id_country"))
    who = cache.get(key)
    if who is None:
        if number is not None and id_text is not None:
            found = v.volunteer_ref(ctx, number=number)
            doc = v.document(ctx, values)
            registry = ctx.registry
            who = registry.volunteer(found)
            held = registry.session.scalar("SELECT id_digest FROM people WHERE id = ?", [who.person])
            if doc is None or held != v.document_digest(ctx, doc):
                raise InvalidValue("id_number", f"must be the ID number of volunteer {who.number}",
                                   shown=None if doc is None else doc.masked)
        elif number is not None:
            # The common case, a volunteer id or number, in one query; anything else (an external id, no
            # such volunteer) takes volunteer_ref's longer path and its messages.
            try:
                who = ctx.registry.volunteer(str(number).strip())
            except NotFound:
                who = ctx.registry.volunteer(v.volunteer_ref(ctx, number=number))
        elif values.get("id_type") is None:
            who = ctx.registry.volunteer(v.volunteer_ref(ctx, id_text=id_text))
        else:
            doc = v.document(ctx, values)
            found_id = None if doc is None else ctx.registry.session.scalar(
                "SELECT v.id FROM volunteers v JOIN people p ON p.id = v.person WHERE p.id_digest = ?",
                [v.document_digest(ctx, doc)])
            if found_id is None:
                raise InvalidValue("id_number", "must belong to a registered volunteer",
                                   shown=None if doc is None else doc.masked)
            who = ctx.registry.volunteer(found_id)
        cache[key] = who
    return who


def _activity(ctx: ImportContext, value: Any) -> Activity:
    cache = _cached(ctx, "activities")
    act = cache.get(value)
    if act is None:
        act = cache[value] = ctx.registry.activity(v.activity_ref(ctx, value))
    return act


def _moment(ctx: ImportContext, value: Any, field: str, on: date | None) -> datetime:
    """A time cell, parsed once per distinct value (sign-in sheets repeat the same times)."""
    cache = _cached(ctx, "moments")
    key = (value, field, on)
    moment = cache.get(key)
    if moment is None:
        moment = cache[key] = v.moment(ctx, value, field, on)
    return moment


@attrs.frozen
class _Shape:
    """What the rules made of one shape of record (see :meth:`ServiceRecordsHandler._shape`): the checked
    fields (of the first volunteer met; only their times are read again), the stored row to copy, the day
    the volunteer must be active on, and the local day the record counts on."""

    fields: dict[str, Any]
    row: dict[str, Any]
    active_day: date
    on_day: date


def _minutes_of_hours(ctx: ImportContext, value: Any) -> int:
    """An hours cell as minutes, read once per distinct text (a file repeats a few durations)."""
    if type(value) is not str:
        return v.minutes_from_hours(value)
    cache = _cached(ctx, "hours")
    minutes = cache.get(value)
    if minutes is None:
        minutes = cache[value] = v.minutes_from_hours(value)
    return minutes


def _whole_minutes(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) <= 0:
        raise InvalidValue("minutes", "must be a positive whole number of minutes", text)
    return int(text)


class ServiceRecordsHandler(KindHandler):
    """Service records: 活动 (required); 志愿者编号 or 身份证号; 开始时间 with 结束时间 and/or 服务时长 (hours)
    or 分钟; 日期 (then times may be bare, ``9:00``); 审核状态, 审核人, 录入时间, 备注.

    A row with a 日期 and a 服务时长 (or 分钟) but no 开始时间/结束时间 is a record of that day with no clock
    time (how most sign-in sheets and national-platform exports give service): several such rows of one
    volunteer on one day never overlap, but their minutes on that day may not exceed 24 hours.
    """

    kind = "service_records"
    noun = "service record"
    batched = True
    set_based = True
    fields = (
        Field("volunteer_number"),
        Field("id_number", personal="id_number"),
        Field("id_type"),
        Field("id_country"),
        Field("activity", required=True),
        Field("start"),
        Field("end"),
        Field("date"),
        Field("hours"),
        Field("minutes"),
        Field("status"),
        Field("verifier"),
        Field("recorded_at"),
        Field("note"),
    )

    # -- reading a row ------------------------------------------------------------------------------

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        get = values.get
        if get("volunteer_number") is None and get("id_number") is None:
            raise InvalidValue("volunteer_number", "or 'id_number' (身份证号) must name the volunteer", None)
        who = _volunteer(ctx, get("volunteer_number"), values)
        key = (get("activity"), get("date"), get("start"), get("end"), get("hours"), get("minutes"), get("status"))
        shapes = _cached(ctx, "cell_shapes", _SHAPE_LIMIT)
        when = shapes.get(key)
        if when is None:
            when = self._when(ctx, values)
            if all(cell is None or type(cell) is str for cell in key):  # a cell of another type may read
                shapes[key] = when                                    # otherwise though equal (1 == 1.0)
        return {
            "volunteer": who,
            **when,
            "verifier": None if get("verifier") is None else v.text(values["verifier"], "verifier", 200),
            "recorded_at": None if get("recorded_at") is None else _moment(ctx, values["recorded_at"],
                                                                              "recorded_at", None),
            "note": "" if get("note") is None else v.text(values["note"], "note"),
        }

    @staticmethod
    def _when(ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        """The activity, times, minutes and status of a row: what a file repeats for many volunteers, so
        :meth:`convert` reads it once per distinct set of cells."""
        get = values.get
        act = _activity(ctx, values["activity"])
        on = None if get("date") is None else v.day(ctx, values["date"], "date")
        if get("start") is None:
            if on is None:
                raise InvalidValue("start", "or a date (日期) with hours (服务时长) must say when", None)
            if get("end") is not None:
                raise InvalidValue("end", "must come with a start time (开始时间)", values["end"])
            start = end = None
        else:
            start = _moment(ctx, values["start"], "start", on)
            end = None if get("end") is None else _moment(ctx, values["end"], "end", on)
        minutes = None if get("hours") is None else _minutes_of_hours(ctx, values["hours"])
        if get("minutes") is not None:
            given = _whole_minutes(values["minutes"])
            if minutes is not None and given != minutes:
                raise InvalidValue("minutes", f"must agree with 'hours' ({minutes} minutes)", given)
            minutes = given
        if end is None and minutes is None:
            raise InvalidValue("end" if start is not None else "hours", "or 'hours' (服务时长) must be given"
                               if start is not None else "(服务时长) must be given with a date and no times", None)
        day = on if start is None else None
        status = "pending"
        if get("status") is not None:
            status = v.choice(values["status"], "status", STATUS_LABELS, ())
        return {
            "activity": act,
            "start": start if start is not None else rules.day_bounds(on, ctx.registry.zone)[0],  # type: ignore[arg-type]
            "end": end,
            "minutes": minutes,
            "day": day,
            "effective": minutes if minutes is not None else minutes_between(start, end),  # type: ignore[arg-type]
            "status": status,
        }

    @staticmethod
    def _span(record: Mapping[str, Any]) -> tuple[str, str]:
        start = record["start"]
        end = record["end"] if record["end"] is not None else start + timedelta(minutes=record["effective"])
        return to_utc_text(start), to_utc_text(end)

    # -- identity -------------------------------------------------------------------------------------

    @staticmethod
    def _key(record: Mapping[str, Any], start_utc: str) -> tuple[Any, ...]:
        """A row's content identity: volunteer, activity and start; for a record of a day (no clock time,
        so several shifts of one day share the start), its day and minutes as well."""
        day = record["day"]
        return (record["volunteer"].id, record["activity"].id, start_utc, day,
                None if day is None else record["effective"])

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        who, act = record["volunteer"], record["activity"]
        texts = record.get("texts")
        start_utc, end_utc = self._span(record) if texts is None else texts[:2]
        staged = ctx.cache.get("staged_keys", {}).get(self._key(record, start_utc))
        if staged is not None:
            return str(staged)
        batch = ctx.cache.get("batch")
        if batch is not None:  # set-based: the batch's identities were read at once (prefetch)
            return batch[0]["same"].get(batch[1])
        # One indexed query finds the row's identity (same volunteer, activity and start, any status) and
        # every record it could overlap; check() reuses the rows.
        rows = ctx.registry.session.store.db.conn.execute(
            _NEARBY, [who.id, end_utc, _day_before(record["start"]), start_utc],
        ).fetchall()
        ctx.cache["nearby"] = ((who.id, start_utc, end_utc), rows)
        day = None if record["day"] is None else record["day"].isoformat()
        for row in rows:
            if row[1] == act.id and row[2] == start_utc and row[6] == day and (
                    day is None or row[5] == record["effective"]):
                return str(row[0])
        return None

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        registry = ctx.registry
        staged = ctx.cache.get("staged", {}).get(entity_id)
        if staged is not None:
            if staged != record["effective"]:
                raise InvalidValue("hours", f"must match the earlier row of this file for the same volunteer, "
                                            f"activity and start ({staged} minutes)", record["effective"])
            return False
        old = registry.service_record(entity_id)
        same = (old.volunteer, old.activity, old.start, old.minutes, old.day) == (
            record["volunteer"].id, record["activity"].id, record["start"], record["effective"], record["day"])
        if not same:
            raise InvalidValue(
                "hours", f"must match service record {old.id!r} imported earlier ({old.minutes} minutes from "
                f"{old.start:%Y-%m-%d %H:%M}); change it with registry.correct_service, not by re-importing",
                record["effective"])
        if record["status"] == "verified" and old.status == "pending":
            BulkInsert(registry.session.store).apply()  # the batches written so far, before a record changes
            registry.verify_service(old, by=self._verifier(record))
            return True
        return False

    # -- checking and writing a batch ------------------------------------------------------------------

    @staticmethod
    def _verifier(record: Mapping[str, Any]) -> str:
        return str(record["verifier"] or record["activity"].organiser or "import")

    def _verified_by(self, record: Mapping[str, Any], who: Volunteer) -> str | None:
        """Who verifies a row imported ``verified`` (None for a pending one); never its own volunteer."""
        if record["status"] != "verified":
            return None
        verified_by = self._verifier(record)
        if verified_by in (who.id, who.person, who.number):
            raise RuleViolation("self_verification", f"volunteer {who.id!r} cannot verify their own service record")
        return verified_by

    def check(self, ctx: ImportContext, record: Mapping[str, Any]) -> tuple[str, Any]:
        registry = ctx.registry
        zone = registry.zone
        who: Volunteer = record["volunteer"]
        act: Activity = record["activity"]
        now = ctx.cache.get("now")
        if now is None:
            now = ctx.cache["now"] = registry.session.now()
        batch = ctx.cache.get("batch")
        if batch is not None:  # set-based: the rules of the row's shape, and the batch's facts (prefetch)
            return self._check_shaped(ctx, record, who, self._shape(ctx, record, who, act, now), batch, now)
        day = record["day"]
        fields = self._fields(ctx, record, who, act, now)
        start_utc, end_utc = to_utc_text(fields["start"]), to_utc_text(fields["interval_end"])
        on_day = fields["day"] or rules.day_of(fields["start"], zone)
        totals = ctx.cache.setdefault("day_totals", {})
        intervals: list[Any] = []
        if day is None:
            # The ledger's overlap rule, on the rows find() read, and against the rows staged before this one.
            nearby = ctx.cache.get("nearby")
            if nearby is not None and nearby[0] == (who.id, start_utc, end_utc):
                rows = nearby[1]
            else:
                rows = registry.session.store.db.conn.execute(
                    _NEARBY, [who.id, end_utc, _day_before(fields["start"]), start_utc],
                ).fetchall()
            for row in rows:
                if row[3] in _LIVE and row[6] is None:
                    raise rules.overlap_conflict(who, fields, {"id": row[0], "start": row[4], "minutes": row[5],
                                                               "status": row[3]}, zone)
            intervals = ctx.cache.setdefault("intervals", {}).setdefault(who.id, [])
            for other_start, other_end, other in intervals:
                if other_start < end_utc and other_end > start_utc:
                    raise Conflict(f"{rules.overlap_conflict(who, fields, other, zone)} (staged from line "
                                   f"{other['line']} of this file)", other=other["id"])
        rules.check_day_total(registry.session.store, who, fields, zone, staged=totals.get((who.id, on_day), 0))
        status = record["status"]
        verified_by = self._verified_by(record, who)
        del fields["interval_end"]
        record_id = ordered_id("svc")
        entry = ServiceRecord(
            id=record_id, lineage=record_id, status=status, recorded_by=ctx.actor, note=record["note"],
            verified_at=now if verified_by else None, verified_by=verified_by, **fields,
        )
        row = ledger.record_row(entry, zone)
        # The journal holds one entry per written batch, naming each record, its line and how it was written.
        line = ctx.cache.get("line")
        if day is None:
            intervals.append((start_utc, end_utc, {"id": record_id, "start": row["start"], "minutes": entry.minutes,
                                                   "status": status, "line": line}))
        totals[(who.id, on_day)] = totals.get((who.id, on_day), 0) + entry.minutes
        ctx.cache.setdefault("staged_keys", {})[self._key(record, start_utc)] = record_id
        ctx.cache.setdefault("staged", {})[record_id] = entry.minutes
        return record_id, (row, (record_id, line, status, verified_by))

    @staticmethod
    def _fields(ctx: ImportContext, record: Mapping[str, Any], who: Volunteer, act: Activity,
                now: datetime) -> dict[str, Any]:
        """:func:`volreg.service_rules.service_fields` of a converted row, every rule checked (``every=True``)."""
        day = record["day"]
        return rules.service_fields(
            who, act, start=None if day is not None else record["start"], end=record["end"],
            minutes=record["minutes"], on=day, source="import", recorded_at=record["recorded_at"],
            first_recorded=None, now=now, zone=ctx.registry.zone,
            late_after_working_days=ctx.registry.settings.late_after_working_days, every=True,
        )

    def _shape(self, ctx: ImportContext, record: Mapping[str, Any], who: Volunteer, act: Activity,
               now: datetime) -> _Shape:
        """(Set-based) The rules of :func:`volreg.service_rules.service_fields` for a record, worked out once per
        *shape* (activity, times, minutes, day and entry time: a file repeats a few time slots for many
        volunteers) and checked again per row only where they depend on the volunteer (registered and active
        that day).  A shape is kept only once every rule held for it, so a refused row always meets the full
        check, with the same refusals as the row-by-row path."""
        start, end, at = record["start"], record["end"], record["recorded_at"]
        key = (act.id, start, start.fold, end, None if end is None else end.fold, record["minutes"], record["day"],
               at, None if at is None else at.fold)
        shapes = _cached(ctx, "record_shapes", _SHAPE_LIMIT)
        shape = shapes.get(key)
        if shape is not None:
            rules.check_active(who, shape.active_day)
            return shape
        zone = ctx.registry.zone
        fields = self._fields(ctx, record, who, act, now)
        stored = {name: value for name, value in fields.items() if name != "interval_end"}
        row = ledger.record_row(ServiceRecord(id="", lineage="", **stored), zone)
        shape = shapes[key] = _Shape(fields=fields, row=row, active_day=fields["day"] or fields["start"].date(),
                                     on_day=fields["day"] or rules.day_of(fields["start"], zone))
        return shape

    def _check_shaped(self, ctx: ImportContext, record: Mapping[str, Any], who: Volunteer, shape: _Shape,
                      batch: tuple[Any, int], now: datetime) -> tuple[str, Any]:
        """(Set-based) :meth:`check` of a record whose shape passed :meth:`_shape`: the overlap and day-total
        rules on the batch's facts, self-verification, and the stored row copied from the shape's."""
        facts, n = batch
        fields, row_of_shape = shape.fields, shape.row
        minutes = row_of_shape["minutes"]
        zone = ctx.registry.zone
        accepted = ctx.cache.setdefault("accepted", {})
        totals = ctx.cache.setdefault("day_totals", {})
        line = ctx.cache.get("line")
        timed = row_of_shape["day"] is None
        if timed:
            other = facts["overlap"].get(n)
            if other is not None:
                raise rules.overlap_conflict(who, fields, {"id": other[0], "start": other[1], "minutes": other[2],
                                                           "status": other[3]}, zone)
            for earlier in facts["earlier"].get(n, ()):
                if earlier in accepted:
                    theirs = accepted[earlier]
                    raise Conflict(f"{rules.overlap_conflict(who, fields, theirs, zone)} (staged from line "
                                   f"{theirs['line']} of this file)", other=theirs["id"])
        on_day = shape.on_day
        held = totals.get((who.id, on_day), 0)
        rules.check_day_minutes(who, on_day, facts["held"].get((who.id, record["texts"][4]), 0) + held, minutes)
        status = record["status"]
        verified_by = self._verified_by(record, who)
        record_id = ordered_id("svc")
        row = dict(row_of_shape)
        row["id"] = row["lineage"] = record_id
        row["volunteer"] = who.id
        row["status"] = status
        row["recorded_by"] = ctx.actor
        row["verified_by"] = verified_by
        if verified_by:
            now_text = ctx.cache.get("now_text")
            if now_text is None:
                now_text = ctx.cache["now_text"] = to_utc_text(now)
            row["verified_at"] = now_text
        row["note"] = record["note"]
        if timed:
            accepted[n] = {"id": record_id, "start": row["start"], "minutes": minutes, "status": status, "line": line}
        totals[(who.id, on_day)] = held + minutes
        ctx.cache.setdefault("staged_keys", {})[self._key(record, row["start_utc"])] = record_id
        ctx.cache.setdefault("staged", {})[record_id] = minutes
        return record_id, (row, (record_id, line, status, verified_by))

    def write(self, ctx: ImportContext, staged: list[Any]) -> None:
        """Write a batch of checked records: the rows (:class:`volreg.store.bulk.BulkInsert`: their summaries are
        added set-based, with every other batch of the transaction, before it commits) and one journal entry
        naming the file and every record of the batch with its line."""
        session = ctx.registry.session
        # The summaries of every batch of the transaction are added once, set-based, before it commits.
        BulkInsert(session.store).insert([row for row, _ in staged])
        items = [item for _, item in staged]
        lines = [item[1] for item in items if item[1] is not None]
        session.journal_batch(
            "import", "service_record", ordered_id("imp"), by=ctx.actor, at=ctx.cache.get("now"),
            after={"kind": self.kind, "file": ctx.file, "source": ctx.source, "records": len(items),
                   "first_line": min(lines, default=None), "last_line": max(lines, default=None)},
            items=items)
        for name in ("staged_keys", "staged", "intervals", "nearby", "day_totals", "accepted", "batch"):
            ctx.cache.pop(name, None)

    def warm(self, ctx: ImportContext, rows: list[Mapping[str, Any]]) -> None:
        """Read the volunteers a batch names by number (or id) and the file has not met yet, in one query."""
        cache = _cached(ctx, "volunteers")
        wanted: dict[str, Any] = {}
        for values in rows:
            number = values.get("volunteer_number")
            if number is not None and values.get("id_number") is None and values.get("id_type") is None:
                key = (number, None, None, values.get("id_country"))
                if key not in cache:
                    wanted.setdefault(str(number).strip(), key)
        if not wanted:
            return
        for who in ctx.registry.volunteers(numbers=list(wanted)):
            for text in (who.number, who.id):
                found = wanted.get(text)
                if found is not None:
                    cache[found] = who

    def prefetch(self, ctx: ImportContext, records: list[Mapping[str, Any]]) -> Any:
        """(Set-based) Stage a batch's converted records in a temporary table and read, in a few statements,
        their content identities, the ledger's overlaps and day totals, and the overlaps within the batch
        (:func:`volreg.store.service.batch_facts`); :meth:`find` and :meth:`check` then use these facts.

        Each record gets ``texts``: its times as stored (``start_utc``, ``end_utc``, ``after_utc``, ``day``,
        and its local day's ``first_utc``/``last_utc``), worked out once per distinct start, end, minutes and
        day (a file repeats a few time slots), and used again by :meth:`find` and :meth:`check`."""
        zone = ctx.registry.zone
        shapes = _cached(ctx, "time_texts")
        rows = []
        for n, record in enumerate(records):
            day = record["day"]
            shape = (record["start"], record["start"].fold, record["end"], record["effective"], day)
            texts = shapes.get(shape)
            if texts is None:
                start_utc, end_utc = self._span(record)
                first, last = rules.day_bounds(day or rules.day_of(record["start"], zone), zone)
                texts = shapes[shape] = (start_utc, end_utc, _day_before(record["start"]),
                                         None if day is None else day.isoformat(), to_utc_text(first),
                                         to_utc_text(last))
            record["texts"] = texts  # type: ignore[index]
            rows.append((n, record["volunteer"].id, record["activity"].id, *texts[:3], texts[3],
                         record["effective"], texts[4], texts[5]))
        return ledger.batch_facts(ctx.registry.session.store, rows)


register_kind(ServiceRecordsHandler())
