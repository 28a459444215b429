"""activity_counts(): how many activities ran, who took part, and the verified service they carried."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidValue
from ..model import ACTIVITY_KINDS
from ..store import summaries
from ..timeutil import parse_datetime, to_utc_text
from .result import Result
from .sql import Filters, check_by, check_registry, no_studio_name, period_expr

__all__ = ["activity_counts", "ACTIVITY_DIMENSIONS"]

ACTIVITY_DIMENSIONS = ("studio", "organisation", "category", "kind", "theme", "year", "quarter", "month")
"""What ``activity_counts(by=...)`` can group by."""

# dimension -> (SELECT expressions as "expr AS name", JOIN needed for the name column)
_GROUPS: dict[str, tuple[list[str], str]] = {
    "studio": (
        ["a.studio AS studio", f"{no_studio_name('a.studio', 'st.name')} AS studio_name"],
        "LEFT JOIN studios st ON st.id = a.studio",
    ),
    "organisation": (
        ["a.organiser AS organisation", "og.name AS organisation_name"],
        "LEFT JOIN organisations og ON og.id = a.organiser",
    ),
    "category": (
        ["a.category AS category", "ct.label AS category_name"],
        "LEFT JOIN categories ct ON ct.code = a.category AND ct.vocabulary = 'activity'",
    ),
    "kind": (["a.kind AS kind"], ""),
    "theme": (["a.theme AS theme"], ""),
}


def activity_counts(
    registry: Any,
    *,
    by: Any = (),
    start: Any = None,
    end: Any = None,
    studio: Any = None,
    organisation: Any = None,
    category: Any = None,
    kind: str | None = None,
    theme: str | None = None,
) -> Result:
    """Count activities, with their participants and verified service, grouped as asked.

    Every occurrence of a recurring series counts as one activity; an activity without service still counts,
    with zero participants.  Only verified service records count (``status = 'verified'``).

    Args:
        registry: the registry to ask.
        by: any of ``"studio"``, ``"organisation"`` (the organiser), ``"category"``, ``"kind"``, ``"theme"``,
            ``"year"``, ``"quarter"``, ``"month"``; none gives one total row.
        start, end: a half-open range on the activities' start (dates or datetimes in the registry's zone).
        studio: only activities run by this studio.
        organisation: only activities organised by this organisation or any organisation below it.
        category: only this category (code or label).
        kind: only this kind (``volunteer_service``, ``moral_lecture``, ``ceremony``, ``other``).
        theme: only this theme, e.g. ``学雷锋纪念日``.

    Returns:
        A :class:`volreg.Result`: the group columns (``studio``/``organisation``/``category`` with a
        ``<dimension>_name`` beside each), then ``activities``, ``participants`` (distinct volunteers with
        verified service), ``service_records``, ``minutes`` and ``hours``; ordered by the group columns.

    Raises:
        InvalidValue: an unknown dimension, kind, category or unreadable date.
        NotFound: an unknown studio or organisation.

    Example:
        >>> activity_counts(registry, by=("studio", "category"), start="2024-01-01", end="2025-01-01")
    """
    check_registry(registry)
    dims = check_by(by, ACTIVITY_DIMENSIONS)
    unfiltered = all(f is None for f in (start, end, studio, organisation, category, kind, theme))
    fast = summaries.activity_counts_sql(dims) if unfiltered else None
    if fast is not None and registry.session.summaries:
        header = [c for d in dims for c in (d, f"{d}_name")]
        header += ["activities", "participants", "service_records", "minutes", "hours"]
        return Result.from_query(registry.session, header, fast)
    filters = Filters()
    if organisation is not None:
        filters.within("a.organiser", registry.session.ref("organisation", organisation))
    if studio is not None:
        filters.add("a.studio = ?", registry.session.ref("studio", studio))
    if category is not None:
        filters.add("a.category = ?", registry.session.category(category))
    if kind is not None:
        if kind not in ACTIVITY_KINDS:
            raise InvalidValue("kind", f"must be one of {', '.join(ACTIVITY_KINDS)}", kind)
        filters.add("a.kind = ?", kind)
    if theme is not None:
        filters.add("a.theme = ?", theme)
    if start is not None:
        filters.add("a.start_utc >= ?", to_utc_text(parse_datetime(start, registry.zone, "start")))
    if end is not None:
        filters.add("a.start_utc < ?", to_utc_text(parse_datetime(end, registry.zone, "end")))

    selects: list[str] = []
    joins: list[str] = []
    keys: list[str] = []
    columns: list[str] = []
    for dim in dims:
        if dim in _GROUPS:
            exprs, join = _GROUPS[dim]
            selects.extend(exprs)
            if join:
                joins.append(join)
            keys.append(exprs[0].split(" AS ")[0])
            columns.extend(e.split(" AS ")[1] for e in exprs)
        else:
            expr = period_expr(dim, "a.start")
            selects.append(f"{expr} AS {dim}")
            keys.append(expr)
            columns.append(dim)
    measures = [
        "COUNT(DISTINCT a.id) AS activities",
        "COUNT(DISTINCT r.volunteer) AS participants",
        "COUNT(r.id) AS service_records",
        "COALESCE(SUM(r.minutes), 0) AS minutes",
        "ROUND(COALESCE(SUM(r.minutes), 0) / 60.0, 2) AS hours",
    ]
    columns.extend(["activities", "participants", "service_records", "minutes", "hours"])
    # The unary + keeps SQLite from probing the status index once per activity (a plan 500 times slower
    # on the example registry): the activity index finds an activity's records, then status filters them.
    sql = (
        filters.prefix()
        + "SELECT "
        + ", ".join(selects + measures)
        + " FROM activities a "
        + "LEFT JOIN service_records r ON r.activity = a.id AND +r.status = 'verified' "
        + " ".join(joins)
        + filters.where()
    )
    if keys:
        sql += " GROUP BY " + ", ".join(keys)
        sql += " ORDER BY " + ", ".join(f"({k}) IS NULL, {k}" for k in keys)
    return Result.from_query(registry.session, columns, sql, filters.all_params())
