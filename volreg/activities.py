"""Activities: volunteer service, 道德讲堂 sessions, ceremonies; recurring series from RFC 5545 rules."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs
from dateutil import rrule, tz

from .base import RegistryBase, clean_text, given_id, new_id
from .errors import InvalidValue
from .model import ACTIVITY_KINDS, Activity
from .store.filters import Filters
from .store.rows import activity_row
from .timeutil import to_text, to_utc_text

__all__ = ["ActivitiesMixin", "expand_rule"]


def _text(value: Any, field: str, limit: int = 2000) -> str:
    return clean_text(value, field, limit)


def expand_rule(rule: str, first: datetime, cap: int) -> list[datetime]:
    """Expand an RFC 5545 recurrence rule into its occurrences' starts.

    The rule runs on wall-clock time in ``first``'s zone, so a weekly 19:00 session stays at 19:00 across a
    DST change.

    Args:
        rule: ``RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=8`` (the ``RRULE:`` prefix is optional; EXDATE lines allowed).
        first: the first occurrence's start (aware).
        cap: the most occurrences allowed.

    Raises:
        InvalidValue: the rule cannot be read, is unbounded (no COUNT or UNTIL), or exceeds ``cap``.
    """
    if not isinstance(rule, str) or not rule.strip():
        raise InvalidValue("repeat", "must be an RFC 5545 rule such as 'RRULE:FREQ=WEEKLY;COUNT=8'", rule)
    text = rule.strip()
    if not any(text.upper().startswith(p) for p in ("RRULE:", "EXDATE", "RDATE", "DTSTART")):
        text = "RRULE:" + text
    zone = first.tzinfo
    naive_first = first.replace(tzinfo=None)
    try:
        parsed = rrule.rrulestr(text, dtstart=naive_first, forceset=True, ignoretz=True)
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidValue("repeat", f"must be a valid RFC 5545 rule ({error})", rule) from None
    rules = [line.split(":", 1)[1] for line in text.upper().splitlines() if line.strip().startswith("RRULE:")]
    if any(not re.search(r"(^|;)(COUNT|UNTIL)=", part) for part in rules):
        # An unbounded rule would expand forever.
        raise InvalidValue("repeat", "must be bounded by COUNT or UNTIL", rule)
    starts = list(itertools.islice(parsed, cap + 1))
    if len(starts) > cap:
        raise InvalidValue("repeat", f"must expand into at most {cap} occurrences", rule)
    if not starts:
        raise InvalidValue("repeat", "must produce at least one occurrence", rule)
    out = []
    for start in starts:
        local = start.replace(tzinfo=zone)
        out.append(tz.resolve_imaginary(local))
    return out


class ActivitiesMixin(RegistryBase):
    """Writes and reads of activities."""

    def add_activity(
        self,
        title: str,
        *,
        category: Any,
        start: Any,
        end: Any,
        organiser: Any,
        kind: str = "volunteer_service",
        studio: Any = None,
        theme: str = "",
        location: str = "",
        content: str = "",
        leader: str = "",
        repeat: str | None = None,
        id: str | None = None,
        by: Any = None,
    ) -> Activity:
        """Add an activity, or a recurring series of them.

        Args:
            title: 活动名称.
            category: a code or label from the registry's activity vocabulary.
            start, end: when it runs (naive values are in the registry's time zone); ``end`` after ``start``.
            organiser: the organisation that runs it, records it and certifies it (谁组织谁记录).
            kind: ``volunteer_service`` (the only kind that carries service hours), ``moral_lecture``
                (道德讲堂), ``ceremony`` or ``other``.
            studio: the 好人品牌工作室 that ran it, if any.
            theme: e.g. ``学雷锋纪念日`` or ``温馨春运·文明相伴``.
            location, content, leader: 地点, 服务内容, 活动负责人.
            repeat: an RFC 5545 rule; the activity then expands into one activity per occurrence, all
                linked to one series. Unbounded rules and rules beyond ``settings.max_occurrences`` are refused.
            id: an id for the (first) activity.
            by: who acts, for the journal.

        Returns:
            The activity (with ``repeat``, the first occurrence; ``.series`` names the series).

        Raises:
            InvalidValue: a blank title, unknown kind or category, unreadable time, end not after start,
                or a bad recurrence rule.
            NotFound: unknown organiser or studio.
        """
        title = _text(title, "title", 300)
        if not title:
            raise InvalidValue("title", "must not be empty", title)
        if kind not in ACTIVITY_KINDS:
            raise InvalidValue("kind", f"must be one of {', '.join(ACTIVITY_KINDS)}", kind)
        code = self._category(category)
        begins = self._when(start, "start")
        ends = self._when(end, "end")
        if ends <= begins:
            raise InvalidValue(
                "end", "must be after 'start'", shown=f"{begins:%Y-%m-%d %H:%M} → {ends:%Y-%m-%d %H:%M}"
            )
        organiser_id = self._ref(organiser, "organisation", "organisations")
        studio_id = None if studio is None else self._ref(studio, "studio", "studios")
        fields: dict[str, Any] = {
            "title": title,
            "kind": kind,
            "category": code,
            "theme": _text(theme, "theme", 200),
            "organiser": organiser_id,
            "studio": studio_id,
            "location": _text(location, "location", 500),
            "content": _text(content, "content"),
            "leader": _text(leader, "leader", 200),
        }
        length = ends.replace(tzinfo=None) - begins.replace(tzinfo=None)
        series_id = None
        starts = [begins]
        if repeat is not None:
            starts = expand_rule(repeat, begins, self.settings.max_occurrences)
            series_id = new_id("ser")
        first_id = given_id(id, "act")
        activities = []
        for n, occurrence_start in enumerate(starts, 1):
            occurrence_end = tz.resolve_imaginary(
                (occurrence_start.replace(tzinfo=None) + length).replace(tzinfo=self.zone)
            )
            activities.append(
                Activity(
                    id=(first_id if n == 1 else new_id("act")),
                    start=occurrence_start.astimezone(self.zone),
                    end=occurrence_end.astimezone(self.zone),
                    series=series_id,
                    occurrence=n if series_id else None,
                    **fields,
                )
            )
        with self._store.write() as store:
            if series_id:
                store.insert(
                    "activity_series",
                    {
                        "id": series_id,
                        "rule": repeat,
                        "first_start": to_text(begins, self.zone),
                        "occurrences": len(activities),
                    },
                )
            store.insert_many("activities", [self._activity_row(a) for a in activities])
            for activity in activities:
                self._journal("create", "activity", activity.id, by=by, after=activity)
        return activities[0]

    def update_activity(self, activity: Any, *, by: Any = None, **changes: Any) -> Activity:
        """Change an activity's ``category``, ``kind``, ``studio``, ``theme``, ``location``, ``content``,
        ``leader`` or ``end``; the journal keeps the old values.

        The start, title and organiser are the activity's identity and are not changed this way.

        Returns:
            The activity as it now is (the same object's values when nothing changed).

        Raises:
            NotFound: no such activity, or an unknown studio.
            InvalidValue: a bad value, an end not after the start, or a field that cannot be changed.
        """
        allowed = ("category", "kind", "studio", "theme", "location", "content", "leader", "end")
        for field in changes:
            if field not in allowed:
                raise InvalidValue(field, f"cannot be changed with update_activity (only {', '.join(allowed)})",
                                   changes[field])
        clean: dict[str, Any] = {}
        if "category" in changes:
            clean["category"] = self._category(changes["category"])
        if "kind" in changes:
            if changes["kind"] not in ACTIVITY_KINDS:
                raise InvalidValue("kind", f"must be one of {', '.join(ACTIVITY_KINDS)}", changes["kind"])
            clean["kind"] = changes["kind"]
        if "studio" in changes:
            clean["studio"] = None if changes["studio"] is None else self._ref(changes["studio"], "studio", "studios")
        for name, limit in (("theme", 200), ("location", 500), ("content", 2000), ("leader", 200)):
            if name in changes:
                clean[name] = _text(changes[name], name, limit)
        if "end" in changes:
            clean["end"] = self._when(changes["end"], "end").astimezone(self.zone)
        with self._store.write() as store:
            old = self.activity(activity)
            assert old.start is not None
            if "end" in clean and clean["end"] <= old.start:
                raise InvalidValue("end", "must be after 'start'",
                                   shown=f"{old.start:%Y-%m-%d %H:%M} → {clean['end']:%Y-%m-%d %H:%M}")
            new = attrs.evolve(old, **clean)
            if new == old:
                return old
            row = self._activity_row(new)
            store.update("activities", old.id, {k: v for k, v in row.items() if k != "id"})
            self._journal("update", "activity", old.id, by=by, before=old, after=new)
        return new

    def _activity_row(self, activity: Activity) -> dict[str, Any]:
        return activity_row(activity, self.zone)

    def activity(self, id: Any) -> Activity:
        """The activity with this id.

        Raises:
            NotFound: no such activity.
        """
        row = self._row("activities", "activity", id)
        return Activity.from_row(row, self.zone)

    def activities(
        self,
        *,
        kind: str | None = None,
        category: Any = None,
        organiser: Any = None,
        studio: Any = None,
        series: str | None = None,
        start: Any = None,
        end: Any = None,
    ) -> Iterator[Activity]:
        """Activities ordered by start time.

        Args:
            kind: only this kind.
            category: only this category (code or label).
            organiser: only those organised by this organisation or any organisation below it.
            studio: only those run by this studio.
            series: only the occurrences of this series.
            start, end: only those starting in this half-open range (registry time zone).
        """
        filters = Filters()
        if organiser is not None:
            filters.within("a.organiser", self._ref(organiser, "organisation", "organisations"))
        if kind is not None:
            if kind not in ACTIVITY_KINDS:
                raise InvalidValue("kind", f"must be one of {', '.join(ACTIVITY_KINDS)}", kind)
            filters.add("a.kind = ?", kind)
        if category is not None:
            filters.add("a.category = ?", self._category(category))
        if studio is not None:
            filters.add("a.studio = ?", self._ref(studio, "studio", "studios"))
        if series is not None:
            filters.add("a.series = ?", clean_text(series, "series", 100, line=True))
        if start is not None:
            filters.add("a.start_utc >= ?", to_utc_text(self._when(start, "start")))
        if end is not None:
            filters.add("a.start_utc < ?", to_utc_text(self._when(end, "end")))
        sql = filters.prefix() + "SELECT a.* FROM activities a" + filters.where() + " ORDER BY a.start_utc, a.id"
        return (Activity.from_row(r, self.zone) for r in self._store.rows(sql, filters.all_params()))
