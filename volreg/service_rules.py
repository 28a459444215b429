"""The rules of the service ledger, as plain functions that every write path calls.

:meth:`volreg.Registry.log_service` and :meth:`~volreg.Registry.correct_service` call them for one record;
the ``service_records`` import kind calls the same functions for each row of a file (and checks overlap and
the day total against the rows it has staged as well). A set-based path can mirror them rule by rule:

- :func:`service_fields`: one version's own fields — the activity carries hours (volunteer service), times
  read in the home zone, whole positive minutes of at most 24 h, nothing in the future, service within the
  activity's span, the volunteer registered and active that day, an entry time not before the service
  ended, lateness (志愿服务记录与证明出具办法 Art 11: 10 working days);
- :func:`overlap_conflict`: a timed record must not overlap another live timed record of the volunteer
  (half-open intervals); records of a *day* (a date and a duration with no clock time, as sign-in sheets
  and national-platform exports give them) have no clock time, so they never overlap anything;
- :func:`check_day_total`: instead, the minutes of a volunteer's live records on one day (day records plus
  timed records starting that day) may not exceed 24 hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from .errors import Conflict, InvalidValue, RuleViolation, VolregError
from .model import SERVICE_SOURCES, Activity, Volunteer
from .store import service as ledger
from .store.db import Store
from .timeutil import from_text, minutes_between, parse_date, parse_datetime, to_utc_text
from .workdays import add_working_days

__all__ = [
    "MAX_MINUTES",
    "DAY_MINUTES",
    "service_fields",
    "overlap_conflict",
    "check_overlap",
    "check_day_total",
    "check_day_minutes",
    "day_bounds",
    "day_of",
    "Refusals",
]

MAX_MINUTES = 24 * 60
"""The longest one record may be: a longer stretch is entered as several records (one per day)."""

DAY_MINUTES = 24 * 60
"""The most service one volunteer may give on one day, day records and timed records together."""


def _shown(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends (its next day's start), in ``zone`` (DST-aware)."""
    first = datetime.combine(day, time(0), tzinfo=zone)
    last = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return first, last


def day_of(moment: datetime, zone: tzinfo) -> date:
    """The local day an instant falls on."""
    return moment.astimezone(zone).date()


def service_fields(
    who: Volunteer,
    act: Activity,
    *,
    start: Any,
    end: Any,
    minutes: Any,
    on: Any = None,
    source: Any,
    recorded_at: Any,
    first_recorded: datetime | None,
    now: datetime,
    zone: tzinfo,
    late_after_working_days: int,
    every: bool = False,
) -> dict[str, Any]:
    """Check one version's own fields and return them normalised (every rule but overlap and day total).

    Give ``start`` (with ``end`` and/or ``minutes``) for a timed record, or ``on`` (a day) with ``minutes``
    for a record of a day. The result holds ``volunteer``, ``activity``, ``start`` (local midnight for a day
    record), ``end``, ``minutes``, ``day`` (the date of a day record, else None), ``source``, ``recorded_at``,
    ``late`` and ``interval_end`` (the end, or start + minutes; a day record's is the end of its day).

    With ``every=True`` (imports) each rule that can be checked is, and several refusals come together as
    :class:`Refusals`; otherwise the first refusal is raised.

    Raises:
        InvalidValue: unreadable or inconsistent times, bad minutes, the future, outside the activity.
        RuleViolation: the activity is not volunteer service; the volunteer was not active that day.
        Refusals: (``every=True``) more than one of these.
    """
    if source not in SERVICE_SOURCES:
        raise InvalidValue("source", f"must be one of {', '.join(SERVICE_SOURCES)}", source)
    found: list[VolregError] = []

    def keep(error: VolregError) -> None:
        if not every:
            raise error
        found.append(error)

    if act.kind != "volunteer_service":
        keep(RuleViolation(
            "volunteer_service",
            f"activity {act.id!r} is a {act.kind}, not volunteer service; only volunteer service carries hours",
        ))
    try:
        begins, ends, interval_end, minutes, day = _times(start, end, minutes, on, zone)
    except VolregError as error:
        keep(error)
        raise (found[0] if len(found) == 1 else Refusals(found)) from None  # the rules below need the times
    if day is not None:
        if day > now.astimezone(zone).date():
            keep(InvalidValue("on", "must not be in the future", day.isoformat()))
    elif begins > now:
        keep(InvalidValue("start", "must not be in the future", shown=_shown(begins)))
    elif interval_end > now:
        keep(InvalidValue("end", "must not be in the future: record service once it has happened",
                          shown=_shown(interval_end)))
    for rule, args in ((check_within, (act, begins, interval_end, day)), (check_active, (who, day or begins.date()))):
        try:
            rule(*args)  # type: ignore[operator]
        except VolregError as error:
            keep(error)
    entered = now
    try:
        entered = now if recorded_at is None else parse_datetime(recorded_at, zone, "recorded_at")
        if entered > now:
            raise InvalidValue("recorded_at", "must not be in the future", shown=_shown(entered))
        # A day record's service ended some time that day: it may be entered from the day's start on.
        earliest = begins if day is not None else interval_end
        if entered < earliest:
            raise InvalidValue("recorded_at", f"must not be before the service ended ({_shown(earliest)})",
                               shown=_shown(entered))
    except VolregError as error:
        keep(error)
    if found:
        raise found[0] if len(found) == 1 else Refusals(found)
    assert act.end is not None
    deadline = add_working_days(act.end.date(), late_after_working_days)
    late = (first_recorded or entered).astimezone(zone).date() > deadline
    return {
        "volunteer": who.id,
        "activity": act.id,
        "start": begins,
        "end": ends,
        "minutes": minutes,
        "day": day,
        "source": source,
        "recorded_at": entered,
        "late": late,
        "interval_end": interval_end,
    }


def _times(start: Any, end: Any, minutes: Any, on: Any,
           zone: tzinfo) -> tuple[datetime, datetime | None, datetime, int, date | None]:
    """(begins, end, interval end, minutes, day) of one version, with the rules of its times and minutes."""
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0):
        raise InvalidValue("minutes", "must be a positive whole number", minutes)
    if minutes is not None and minutes > MAX_MINUTES:
        raise InvalidValue("minutes", f"must be at most {MAX_MINUTES} (24 h) for one record", minutes)
    if on is not None:
        if start is not None or end is not None:
            raise InvalidValue("on", "must not be given with 'start' or 'end': a record is of a day (on and "
                                     "minutes) or timed (start, and end or minutes)", str(on))
        if minutes is None:
            raise InvalidValue("minutes", "must be given with 'on' (the service time of that day)", None)
        day = parse_date(on, "on")
        begins, day_end = day_bounds(day, zone)
        return begins, None, day_end, minutes, day
    if start is None:
        raise InvalidValue("start", "must be given, or 'on' (a day) with 'minutes'", None)
    begins = parse_datetime(start, zone, "start")
    if end is None and minutes is None:
        raise InvalidValue("end", "must be given, or 'minutes' must be", None)
    if end is None:
        assert minutes is not None
        return begins, None, begins + timedelta(minutes=minutes), minutes, None
    ends = parse_datetime(end, zone, "end")
    span = minutes_between(begins, ends)
    if ends <= begins:
        raise InvalidValue("end", "must be after 'start'", shown=f"{_shown(begins)} → {_shown(ends)}")
    if span > MAX_MINUTES:
        raise InvalidValue("end", f"must be at most 24 h after 'start' ({span} minutes)",
                           shown=f"{_shown(begins)} → {_shown(ends)}")
    if span < 1:
        raise InvalidValue("end", "must be at least one whole minute after 'start'",
                           shown=f"{begins:%H:%M:%S} → {ends:%H:%M:%S}")
    if minutes is not None and minutes > span:
        raise InvalidValue("minutes", f"must be at most the {span} minutes from 'start' to 'end'", minutes)
    return begins, ends, ends, span if minutes is None else minutes, None


class Refusals(VolregError, ValueError):
    """Several rules refused one version at once (``service_fields(..., every=True)``, used by imports).

    Attributes:
        errors: each refusal, in the order the rules are checked.
    """

    def __init__(self, errors: list[VolregError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in errors))


def check_within(act: Activity, begins: datetime, ends: datetime, day: date | None = None) -> None:
    """Service lies within the activity's time span; a day record's day must meet that span.

    Raises:
        InvalidValue: it does not.
    """
    assert act.start is not None and act.end is not None
    if day is not None:
        if ends <= act.start or begins >= act.end:
            raise InvalidValue("on", f"must be a day of activity {act.id!r}'s time span {_shown(act.start)} → "
                                     f"{_shown(act.end)}", day.isoformat())
        return
    if begins < act.start or ends > act.end:
        raise InvalidValue(
            "start" if begins < act.start else "end",
            f"must lie within activity {act.id!r}'s time span {_shown(act.start)} → {_shown(act.end)}",
            shown=f"{_shown(begins)} → {_shown(ends)}",
        )


def check_active(who: Volunteer, day: date) -> None:
    """The volunteer was registered, and active, on ``day``.

    Only the current status and the day it began are stored: service before that day is taken to have been
    given while the previous (active) status held.

    Raises:
        RuleViolation: not registered yet, or not active then.
    """
    if day < who.registered_on:
        raise RuleViolation(
            "registered", f"volunteer {who.id!r} registered on {who.registered_on}, after the service on {day}")
    inactive_since = who.status_since or who.registered_on
    if who.status == "anonymised" or (who.status != "active" and day >= inactive_since):
        raise RuleViolation("active", f"volunteer {who.id!r} is {who.status} since {inactive_since}, so not on {day}")


def overlap_conflict(who: Volunteer, fields: dict[str, Any], other: dict[str, Any], zone: tzinfo) -> Conflict:
    """The refusal of a timed version whose interval meets ``other``, a live timed record of the volunteer."""
    theirs = from_text(other["start"], zone)
    assert theirs is not None
    return Conflict(
        f"the service {_shown(fields['start'])} → {_shown(fields['interval_end'])} overlaps record "
        f"{other['id']!r} ({_shown(theirs)}, {other['minutes']} minutes, {other['status']}) of volunteer {who.id!r}",
        other=other["id"],
    )


def check_overlap(store: Store, who: Volunteer, fields: dict[str, Any], zone: tzinfo, *,
                  exclude: str | None = None) -> None:
    """A timed version must not overlap another live timed record of the volunteer (day records never do).

    Raises:
        Conflict: naming the other record.
    """
    if fields["day"] is not None:
        return
    other = ledger.overlapping(store, who.id, to_utc_text(fields["start"]), to_utc_text(fields["interval_end"]),
                               exclude=exclude)
    if other is not None:
        raise overlap_conflict(who, fields, other, zone)


def check_day_total(store: Store, who: Volunteer, fields: dict[str, Any], zone: tzinfo, *,
                    exclude: str | None = None, staged: int = 0) -> None:
    """The volunteer's live minutes on the record's day, with this record (and ``staged`` minutes not yet
    written), must not exceed 24 hours.

    Raises:
        RuleViolation: rule ``day_total``.
    """
    day = fields["day"] or day_of(fields["start"], zone)
    first, last = day_bounds(day, zone)
    held = ledger.minutes_starting(store, who.id, to_utc_text(first), to_utc_text(last), exclude=exclude)
    check_day_minutes(who, day, held + staged, int(fields["minutes"]))


def check_day_minutes(who: Volunteer, day: date, held: int, minutes: int) -> None:
    """The day-total rule on numbers already read: ``held`` live minutes on ``day`` (in the ledger and staged)
    plus this record's ``minutes`` must not exceed 24 hours (used by :func:`check_day_total` and by the
    set-based import, which reads ``held`` for a whole batch at once).

    Raises:
        RuleViolation: rule ``day_total``.
    """
    total = held + minutes
    if total > DAY_MINUTES:
        raise RuleViolation(
            "day_total", f"volunteer {who.id!r} would have {total} minutes of service on {day}, more than "
                         f"24 h ({held} already recorded)", total=total)
