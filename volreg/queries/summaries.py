"""The fast paths: the same questions answered from the summary tables of migration ``m005_summaries``.

Each function here returns ``(sql, params)`` for a question the summaries can answer exactly, or None
when they cannot (an ``as_of`` instant, a period finer than a month, a range that does not start and end
on local month boundaries, a filter the summaries do not carry); the caller then asks the records.  The
answers are the same rows, in the same order, with the same types as the query on ``service_records``:
``tests/test_summaries.py`` checks both ways on random ledgers.

The summaries' keys that may be NULL (an activity without a studio) are stored as ``''``; ``NULLIF`` turns
them back, so the groups and their order are those of the records.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from .sql import PERIODS, no_studio_name, period_expr

__all__ = ["USE_SUMMARIES", "month_bound", "hours_sql", "totals_sql", "activity_counts_sql"]

USE_SUMMARIES = True
"""Whether the query functions may read the summaries (the tests turn it off to compare both answers)."""

_VOLUNTEER_COLUMNS = (
    ("volunteer", "g.volunteer"), ("volunteer_name", "p.name"), ("volunteer_number", "v.number"),
)
_VOLUNTEER_JOIN = "JOIN volunteers v ON v.id = g.volunteer JOIN people p ON p.id = v.person"
_KEY_COLUMNS = {
    "organisation": (("organisation", "NULLIF(g.k1, '')"), ("organisation_name", "o.name")),
    "studio": (("studio", "NULLIF(g.k1, '')"), ("studio_name", no_studio_name("NULLIF(g.k1, '')", "s.name"))),
}
_KEY_JOINS = {
    "organisation": "LEFT JOIN organisations o ON o.id = NULLIF(g.k1, '')",
    "studio": "LEFT JOIN studios s ON s.id = NULLIF(g.k1, '')",
}
_MEASURES = [
    "COALESCE(SUM(g.minutes), 0) AS minutes",
    "ROUND(COALESCE(SUM(g.minutes), 0) / 60.0, 2) AS hours",
    "COALESCE(SUM(g.records), 0) AS records",
]


def month_bound(moment: datetime, zone: tzinfo) -> str | None:
    """``YYYY-MM`` when ``moment`` is local midnight on the first of a month, else None.

    A record counts in a period by its local start, and its month is the first seven characters of that
    local text, so ``start_utc >= moment`` is ``month >= 'YYYY-MM'`` exactly when ``moment`` is such a bound.
    """
    local = moment if moment.tzinfo is zone else moment.astimezone(zone)
    if local.day != 1 or (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return None
    return f"{local:%Y-%m}"


def hours_sql(
    *,
    names: tuple[str, ...],
    statuses: tuple[str, ...],
    since: str | None,
    until: str | None,
    volunteer: str | None,
    organisation: str | None,
    studio: str | None,
    others: bool,
    top: int | None,
    subtree: str,
) -> tuple[str, list[Any]] | None:
    """SQL answering :func:`volreg.hours` from the summaries, or None (see the module docstring).

    ``since``/``until`` are month bounds (``YYYY-MM``) or None; ``others`` says whether a filter the
    summaries do not carry (activity, category) was given.
    """
    if others or "day" in names:
        return None
    periods = [n for n in names if n in PERIODS]
    keys = {n for n in names if n not in PERIODS}
    status_sql = f"g.status IN ({', '.join('?' for _ in statuses)})"
    where: list[str] = [status_sql]
    params: list[Any] = list(statuses)
    cte = ""
    cte_params: list[Any] = []
    if keys <= {"volunteer"} and organisation is None and studio is None:
        whole = not periods and since is None and until is None
        table = "summary_volunteers" if whole else "summary_volunteer_months"
        joins = _VOLUNTEER_JOIN if "volunteer" in keys else ""
        single = len(statuses) == 1 and "volunteer" in keys
        columns: dict[str, tuple[tuple[str, str], ...]] = {"volunteer": _VOLUNTEER_COLUMNS}
        sort = {"volunteer": "v.number, g.volunteer"}
    else:
        grouping = "organisation" if organisation is not None or "organisation" in keys else "studio"
        if volunteer is not None or not keys <= {grouping} or (organisation is not None and studio is not None):
            return None
        # One row of summary_groups is one whole group (its distinct volunteers counted) when the group is
        # one key in one month of one status; otherwise distinct volunteers come from the members.
        single = len(statuses) == 1 and grouping in keys and "month" in periods
        table = "summary_groups" if single else "summary_group_members"
        joins = _KEY_JOINS[grouping] if grouping in keys else ""
        where.append("g.grouping = ?")
        params.append(grouping)
        if organisation is not None:
            cte = f"WITH RECURSIVE {subtree} "
            cte_params.append(organisation)
            where.append("g.k1 IN (SELECT id FROM subtree)")
        if studio is not None:
            where.append("g.k1 = ?")
            params.append(studio)
        columns = dict(_KEY_COLUMNS)
        sort = {"studio": "NULLIF(g.k1, '') IS NULL, NULLIF(g.k1, '')"}
    if volunteer is not None:
        where.append("g.volunteer = ?")
        params.append(volunteer)
    if since is not None:
        where.append("g.month >= ?")
        params.append(since)
    if until is not None:
        where.append("g.month < ?")
        params.append(until)
    for period in periods:
        columns[period] = ((period, period_expr(period, "g.month")),)
    selected = [(alias, expr) for name in names for alias, expr in columns[name]]
    if table == "summary_groups":
        volunteers = "COALESCE(SUM(g.volunteers), 0)"
    elif "volunteer" in keys:
        volunteers = "1"  # each group is one volunteer
    else:
        volunteers = "COUNT(DISTINCT g.volunteer)"
    select = [f"{expr} AS [{alias}]" for alias, expr in selected] + _MEASURES + [f"{volunteers} AS volunteers"]
    order = [sort.get(name, columns[name][0][1]) for name in names]
    query_params = [*cte_params, *params]
    if top is not None and single and table == "summary_volunteers" and names == ("volunteer",) and volunteer is None:
        # The top list reads the few largest totals from the index (one row per volunteer, so no grouping),
        # and joins names onto those alone: every volunteer tied with the last place is a candidate, so
        # ties still go by number.
        sql = (
            "SELECT " + ", ".join(f"{expr} AS [{alias}]" for alias, expr in selected)
            + ", g.minutes AS minutes, ROUND(g.minutes / 60.0, 2) AS hours, g.records AS records, 1 AS volunteers"
            f" FROM {table} g INDEXED BY summary_volunteers_minutes {joins} WHERE g.status = ? AND g.minutes >= "
            f"COALESCE((SELECT minutes FROM {table} WHERE status = ? ORDER BY minutes DESC LIMIT 1 OFFSET ?), 0)"
            " ORDER BY g.minutes DESC, " + ", ".join(order) + " LIMIT ?"
        )
        return sql, [statuses[0], statuses[0], top - 1, top]
    source = f"{table} g"
    sql = cte + "SELECT " + ", ".join(select) + f" FROM {source} {joins} WHERE " + " AND ".join(where)
    if names:
        sql += " GROUP BY " + ", ".join(expr for _, expr in selected if not expr.startswith(("p.", "v.", "o.", "s.")))
        if top is not None:
            sql += " ORDER BY minutes DESC, " + ", ".join(order) + " LIMIT ?"
            query_params.append(top)
        else:
            sql += " ORDER BY " + ", ".join(order)
    return sql, query_params


def totals_sql() -> str:
    """SQL for every volunteer's verified minutes over all time, as :mod:`volreg.queries.rewards` reads them."""
    return (
        "SELECT v.id AS volunteer, p.name AS volunteer_name, v.number AS number, p.birth_date AS birth_date, "
        "COALESCE(t.minutes, 0) AS window_minutes, COALESCE(t.minutes, 0) AS lifetime_minutes "
        "FROM volunteers v JOIN people p ON p.id = v.person "
        "LEFT JOIN summary_volunteers t ON t.status = 'verified' AND t.volunteer = v.id "
        "ORDER BY window_minutes DESC, v.number"
    )


def activity_counts_sql(dims: tuple[str, ...]) -> str | None:
    """SQL for :func:`volreg.activity_counts` grouped by studio and/or category with no filter, or None."""
    if not set(dims) <= {"studio", "category"}:
        return None
    names = {
        "studio": (
            ["x.studio AS studio", f"{no_studio_name('x.studio', 'st.name')} AS studio_name"],
            "LEFT JOIN studios st ON st.id = x.studio",
        ),
        "category": (
            ["x.category AS category", "ct.label AS category_name"],
            "LEFT JOIN categories ct ON ct.code = x.category AND ct.vocabulary = 'activity'",
        ),
    }
    keys = [f"a.{d}" for d in dims]
    acts = (
        "SELECT " + ", ".join([*(f"{k} AS {d}" for k, d in zip(keys, dims, strict=True)), "COUNT(*) AS n"])
        + " FROM activities a" + (" GROUP BY " + ", ".join(keys) if keys else "")
    )
    member_keys = {"studio": "NULLIF(m.k1, '')", "category": "NULLIF(m.k2, '')"}
    if len(dims) == 2:
        # One row of summary_groups per (studio, category): its distinct volunteers are already counted.
        service = (
            "SELECT NULLIF(m.k1, '') AS studio, NULLIF(m.k2, '') AS category, m.minutes, m.records, "
            "m.volunteers FROM summary_groups m WHERE m.status = 'verified' AND m.grouping = 'studio_category'"
        )
    else:
        service = (
            "SELECT " + "".join(f"{member_keys[d]} AS {d}, " for d in dims)
            + "SUM(m.minutes) AS minutes, SUM(m.records) AS records, COUNT(DISTINCT m.volunteer) AS volunteers "
            "FROM summary_group_members m WHERE m.status = 'verified' AND m.grouping = 'studio_category'"
            + (" GROUP BY " + ", ".join(member_keys[d] for d in dims) if dims else "")
        )
    on = " AND ".join(f"y.{d} IS x.{d}" for d in dims) or "1"
    selects = [e for d in dims for e in names[d][0]]
    measures = [
        "x.n AS activities",
        "COALESCE(y.volunteers, 0) AS participants",
        "COALESCE(y.records, 0) AS service_records",
        "COALESCE(y.minutes, 0) AS minutes",
        "ROUND(COALESCE(y.minutes, 0) / 60.0, 2) AS hours",
    ]
    sql = (
        f"WITH x AS ({acts}), y AS ({service}) SELECT " + ", ".join(selects + measures)
        + " FROM x LEFT JOIN y ON " + on + " " + " ".join(names[d][1] for d in dims)
    )
    if not dims:
        # No activity at all still gives one row of zeros, as COUNT over the records does.
        return sql
    return sql + " ORDER BY " + ", ".join(f"(x.{d}) IS NULL, x.{d}" for d in dims)
