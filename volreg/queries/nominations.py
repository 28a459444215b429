"""How many nominations, nominees and endorsements, grouped any way; and how far nominations got (the funnel)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..base import whole_number
from ..errors import InvalidValue
from ..model import HONOUR_LEVELS, NOMINATION_STAGES, NOMINATION_STATUSES
from ..titles import parse_period
from .result import Result
from .sql import Filters, check_by, check_registry, names_of, year_of

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["nominations", "nomination_funnel", "NOMINATION_DIMENSIONS"]

NOMINATION_DIMENSIONS = ("honour", "level", "category", "status", "year", "period", "edition", "nominator_kind")
"""What ``by=`` may group nominations by."""

# Dimension → (SQL expression over the nominations, extra columns shown beside it, named after counting).
_DIMENSIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "honour": ("n.honour", (("honour_name", "ht.name"),)),
    "level": ("t.level", ()),
    "category": ("n.category", (("category_name", "c.label"),)),
    "status": ("n.status", ()),
    "year": ("n.year", ()),
    "period": ("n.period", ()),
    "edition": ("e.number", ()),
    "nominator_kind": ("n.nominator_kind", ()),
}
# The names shown beside a dimension are joined to the counted groups, one look-up per group.
_NAME_JOINS = {
    "honour": " LEFT JOIN honour_titles ht ON ht.code = x.[honour]",
    "category": " LEFT JOIN categories c ON c.code = x.[category] AND c.vocabulary = 'honour'",
}


# Nominations and distinct nominees per category and status, from summary_nominees (m018).
_SUMMARISED = {"nominations": "sum(n.nominations)", "nominees": "count(*)", "endorsements": "endorsements"}
_SUMMARY_KEYS = {"category": "NULLIF(n.category, '') AS [category]", "status": "n.status AS [status]"}

_ENDORSEMENTS = "endorsements"
"""The measure counted from the endorsements rather than the nominations (see :func:`_run`)."""


def _filters(
    registry: Registry, *, honour: Any, level: Any, category: Any, status: Any, year: Any, period: Any,
    edition: Any,
) -> Filters:
    f = Filters()
    if honour is not None:
        f.add("n.honour = ?", registry.honour_title(honour).code)
    if level is not None:
        if level not in HONOUR_LEVELS:
            raise InvalidValue("level", f"must be one of {', '.join(HONOUR_LEVELS)}", level)
        f.add("t.level = ?", level)
    if category is not None:
        f.add("n.category = ?", registry.session.category(category, "honour"))
    if status is not None:
        statuses = names_of(status, "status")
        for s in statuses:
            if s not in NOMINATION_STATUSES:
                raise InvalidValue("status", f"must be among {', '.join(NOMINATION_STATUSES)}", s)
        f.add(f"n.status IN ({', '.join('?' for _ in statuses)})", *statuses)
    if year is not None:
        f.add("n.year = ?", year_of(year))
    if period is not None:
        f.add("n.period = ?", parse_period(period)[0])
    if edition is not None:
        if isinstance(edition, int) and not isinstance(edition, bool):
            f.add("e.number = ?", whole_number(edition, "edition", 1, 10_000))
        else:
            f.add("n.edition = ?", registry.edition(edition).id)
    return f


def _run(registry: Registry, by: Any, measures: list[tuple[str, str]], filters: dict[str, Any]) -> Result:
    """Count the nominations first (reading only the columns asked for: ``nominations_cover`` holds every
    dimension and measure), joining a title or an edition only when a level or an edition number is asked
    for; then name the groups (title and category names), one look-up per group.  Nominations and nominees
    per category and status, unfiltered, are added up from ``summary_nominees`` instead."""
    dims = check_by(by, NOMINATION_DIMENSIONS)
    f = _filters(registry, **filters)
    summary = (sorted(dims) == ["category", "status"] and all(value is None for value in filters.values())
               and set(dict(measures)) <= set(_SUMMARISED) and registry.session.summaries)
    joins = ""
    if "level" in dims or filters["level"] is not None:
        joins += " JOIN honour_titles t ON t.code = n.honour"
    edition = filters["edition"]
    if "edition" in dims or (isinstance(edition, int) and not isinstance(edition, bool)):
        joins += " LEFT JOIN honour_editions e ON e.id = n.edition"
    counted = [(name, m) for name, m in measures if m != _ENDORSEMENTS]
    grouped = " GROUP BY " + ", ".join(f"[{d}]" for d in dims) if dims else ""
    keys = [f"{_DIMENSIONS[d][0]} AS [{d}]" for d in dims]
    if summary:  # per category and status: summary_nominees holds one row per nominee of each (m018)
        inner = ("SELECT " + ", ".join([*(_SUMMARY_KEYS[d] for d in dims),
                                        *(f"{_SUMMARISED[name]} AS [{name}]" for name, _ in counted)])
                 + " FROM summary_nominees n" + grouped)
    else:
        inner = ("SELECT " + ", ".join([*keys, *(f"{m} AS [{name}]" for name, m in counted)])
                 + " FROM nominations n" + joins + f.where() + grouped)
    params = [*f.cte_params, *f.params]
    endorsed = ""
    if len(counted) < len(measures):
        # Endorsements are counted per group from the endorsements themselves (each finds its nomination by
        # key), then matched to the groups: the cost follows the endorsements, none when there are none,
        # instead of one probe per nomination (CROSS JOIN keeps the planner from scanning the nominations).
        endorsed = (" LEFT JOIN (SELECT " + ", ".join([*keys, "count(*) AS endorsements"])
                    + " FROM endorsements x CROSS JOIN nominations n ON n.id = x.nomination" + joins + f.where()
                    + grouped
                    + ") y" + (" ON " + " AND ".join(f"y.[{d}] IS x.[{d}]" for d in dims) if dims else " ON 1"))
        params += f.params
    columns: list[str] = []
    shown: list[str] = []
    outer_joins = ""
    for d in dims:
        columns.append(d)
        shown.append(f"x.[{d}]")
        for extra, expr in _DIMENSIONS[d][1]:
            columns.append(extra)
            shown.append(expr)
            outer_joins += _NAME_JOINS[d]
    values = ["coalesce(y.endorsements, 0)" if m == _ENDORSEMENTS else f"x.[{name}]" for name, m in measures]
    sql = (
        "SELECT " + ", ".join([*shown, *values]) + f" FROM ({inner}) x" + endorsed
        + outer_joins + (" ORDER BY " + ", ".join(f"x.[{d}]" for d in dims) if dims else "")
    )
    rows = registry.session.cursor(f.prefix() + sql, params).fetchall()
    if not dims and rows and not rows[0][len(columns)]:
        rows = [(*rows[0][: len(columns)], *(0 for _ in measures))]
    return Result([*columns, *(name for name, _ in measures)], rows)


def nominations(
    registry: Registry,
    *,
    by: str | Iterable[str] = (),
    honour: Any = None,
    level: str | None = None,
    category: Any = None,
    status: str | Iterable[str] | None = None,
    year: int | None = None,
    period: str | None = None,
    edition: Any = None,
) -> Result:
    """Count nominations, distinct nominees and public endorsements, grouped by any dimensions.

    Duplicate nominations of one nominee are all counted in ``nominations`` and once in ``nominees``, so
    the difference shows them.

    Args:
        registry: the registry.
        by: dimensions among ``honour`` (with ``honour_name``), ``level``, ``category`` (with
            ``category_name``), ``status``, ``year``, ``period``, ``edition`` (its number) and
            ``nominator_kind``; none gives one row of totals.
        honour: only this title (code or name).
        level: only titles of this level.
        category: only this honour category (code or label).
        status: only nominations now in this status (or any of these statuses).
        year: only nominations counting in this year.
        period: only this period (``2024-Q1``).
        edition: only this edition (object or id, or a number, best combined with ``honour``).

    Returns:
        One row per group, ordered by the dimensions, with ``nominations``, ``nominees`` and
        ``endorsements``.

    Raises:
        InvalidValue: an unknown dimension, level, status, category or year.
        NotFound: an unknown title or edition.
    """
    check_registry(registry)
    measures = [
        ("nominations", "count(*)"),
        ("nominees", "count(DISTINCT coalesce(n.person, n.family, n.organisation))"),
        ("endorsements", _ENDORSEMENTS),
    ]
    filters = dict(honour=honour, level=level, category=category, status=status, year=year, period=period,
                   edition=edition)
    return _run(registry, by, measures, filters)


FUNNEL_COLUMNS = (*NOMINATION_STAGES, "not_selected", "rejected", "withdrawn")


def nomination_funnel(
    registry: Registry,
    *,
    by: str | Iterable[str] = (),
    honour: Any = None,
    level: str | None = None,
    category: Any = None,
    status: str | Iterable[str] | None = None,
    year: int | None = None,
    period: str | None = None,
    edition: Any = None,
) -> Result:
    """How many nominations reached each stage of the flow, per group.

    A nomination reached a stage when it ever got there, whatever happened after: one rejected during
    expert review counts in ``submitted``, ``verified``, ``public_review`` and ``expert_review``, and in
    ``rejected``.

    Args:
        registry: the registry.
        by, honour, level, category, status, year, period, edition: as for :func:`nominations`.

    Returns:
        One row per group with ``nominations`` and, for each stage of ``NOMINATION_STAGES``, the number
        that reached it; then ``not_selected``, ``rejected`` and ``withdrawn``: how many ended there.

    Raises:
        InvalidValue: an unknown dimension, level, status, category or year.
        NotFound: an unknown title or edition.
    """
    check_registry(registry)
    measures = [("nominations", "count(*)")]
    measures += [(stage, f"coalesce(sum(n.reached >= {i}), 0)") for i, stage in enumerate(NOMINATION_STAGES)]
    measures += [(end, f"coalesce(sum(n.status = '{end}'), 0)") for end in ("not_selected", "rejected", "withdrawn")]
    filters = dict(honour=honour, level=level, category=category, status=status, year=year, period=period,
                   edition=edition)
    return _run(registry, by, measures, filters)
