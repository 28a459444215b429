"""Everything volreg knows about its summaries, in one place: how they are kept, fed in batches and read.

The summary tables hold service minutes already added up, so that the common questions read a few thousand
rows instead of millions of records:

- ``summary_volunteer_months``: per status, volunteer and local month of the record's start;
- ``summary_volunteer_years``: the same per local year (hours per volunteer in a year, in number order);
- ``summary_volunteers``: per status and volunteer, over all time (top lists, star levels);
- ``summary_groups``: per status, grouping (``organisation``, ``studio`` by month; ``studio_category``
  over all time, ``month`` = ``''``), its keys and month, with the *distinct* volunteer count kept exact
  by ``summary_group_members`` (one row per volunteer in the group, with their own totals);
- ``summary_unserved``: every volunteer with no verified service (no verified row in ``summary_volunteers``),
  with their number and name, so star levels list them last from one index;
- ``organisation_tree``: the closure of the organisation tree (every ancestor with every descendant, itself
  included at depth 0), so an organisation's subtree is one indexed range instead of a recursive query;
- the ``subtree`` grouping of ``summary_groups`` and ``summary_group_members``: per status, organisation
  (``k1``) and month, every record of that organisation *or any organisation under it*, with its distinct
  volunteers, so an organisation's subtree per month is one index range, distinct volunteers included.

``summary_volunteers`` and ``summary_volunteer_years`` also carry each volunteer's public ``number`` and
``name`` (the person's), as does ``summary_unserved``, so that a page of volunteers in number or minutes
order reads one index and looks nothing up per row: a trigger on each table fills them in for a new row,
and triggers on ``people.name`` and on ``volunteers.number``/``person`` keep them current (anonymisation
and merging change both).

(Nominations have their own summary, ``summary_nominees``: per category, status and nominee, how many
nominations, kept by the triggers migration ``m018_nomination_summary`` installs.)

A record counts in the month and year in which it starts locally: the first characters of its local
``start`` text (``2024-03-05T09:00:00+08:00``, or ``2024-03-05`` for a record kept by the day only).

**How they stay exact.**  Every write reaches them inside the statement that made it, through triggers
(:data:`TRIGGERS`, kept in :mod:`volreg.store.summary_triggers`): a record's insert, status change or delete, and a change of its activity's organiser,
studio or category, insert one row into ``summary_delta`` carrying one record's contribution with a sign,
and the ``summary_delta_apply`` trigger adds it to every table (to the ``subtree`` rows of every
organisation above the record's organiser, through the closure) and deletes it again.  Organisations keep
``organisation_tree`` by their own triggers (insert, change of parent, delete); a change of parent also
takes the moved subtree's ``subtree`` rows away from its old ancestors and adds them to its new ones.

**Batches.**  :class:`~volreg.store.bulk.BulkInsert` (:mod:`volreg.store.bulk`) writes batches of new
records with the insert trigger dropped and adds them to each table once, before the transaction commits,
with set-based ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``, the same arithmetic as the
triggers'.

**Reads.**  :func:`hours_sql`, :func:`stars_sql` and :func:`activity_counts_sql` return the SQL that answers
a question from the summaries, or None when the summaries cannot answer it exactly (an ``as_of`` instant,
a period finer than a month, a range that does not start and end on local month boundaries, a filter the
summaries do not carry, categories over a span or a period, since ``studio_category`` is not split by month);
the caller then asks the records.  The session also has the query functions ask the records while a
:class:`~volreg.store.bulk.BulkInsert` on its connection waits for its summaries (:func:`~volreg.store.bulk.waiting`).  The answers are the same rows, in the same
order, with the same types as the query on ``service_records``: ``tests/test_summaries.py`` checks both
ways on random ledgers (``registry.session.summaries = False`` makes the query functions recount).

The migrations that create the tables (``m005_summaries``, ``m007_bulk_summaries``, ``m014_speed``,
``m015_query_summaries``) keep the SQL they shipped with; ``m014_speed`` and ``m015_query_summaries``
(re)install the triggers from :data:`TRIGGERS`, and a later change of a trigger here comes with a migration
that calls :func:`install_triggers` again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from .bulk import BATCH_READS, BulkInsert, insert_records
from .filters import PERIODS, no_studio_name, period_expr
from .summary_triggers import TRIGGERS, install_triggers

__all__ = [
    "TRIGGERS", "install_triggers", "BulkInsert", "insert_records", "BATCH_READS", "month_bound", "hours_sql", "stars_sql", "hours_expr",
    "activity_counts_sql", "within_sql",
]

# -- reads -------------------------------------------------------------------------------------------------


def within_sql(column: str) -> str:
    """``column IN (every organisation under ?, itself included)``, through the closure of the tree."""
    return f"{column} IN (SELECT descendant FROM organisation_tree WHERE ancestor = ?)"


def month_bound(moment: datetime, zone: tzinfo) -> str | None:
    """``YYYY-MM`` when ``moment`` is local midnight on the first of a month, else None.

    A record counts in a period by its local start, and its month is the first seven characters of that
    local text, so ``start_utc >= moment`` is ``month >= 'YYYY-MM'`` exactly when ``moment`` is such a bound.
    """
    local = moment if moment.tzinfo is zone else moment.astimezone(zone)
    if local.day != 1 or (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return None
    return f"{local:%Y-%m}"


_VOLUNTEER_NAMES = (("volunteer", "x.volunteer"), ("volunteer_name", "p.name"), ("volunteer_number", "v.number"))


def hours_expr(minutes: str) -> str:
    """SQL for ``minutes`` (a whole number >= 0) as hours rounded to two decimals, without ``ROUND``.

    ``minutes * 100 / 60`` is ``5 * minutes / 3``, which never ends in exactly one half, so rounding it
    half up is the integer ``(5 * minutes + 1) / 3``; divided by 100.0 it is the double nearest to the
    decimal, the value ``ROUND(minutes / 60.0, 2)`` gives, at a fraction of its cost (``ROUND`` prints and
    parses the number).  The two were compared for every whole number of minutes up to 60,000,000 (114
    years of service); ``tests/test_summaries.py`` compares them up to 1,000,000.
    """
    return f"((({minutes}) * 5 + 1) / 3) / 100.0"


_KEY_NAMES = {
    "organisation": (("organisation", "NULLIF(x.k1, '')"), ("organisation_name", "o.name")),
    "studio": (("studio", "NULLIF(x.k1, '')"), ("studio_name", no_studio_name("NULLIF(x.k1, '')", "s.name"))),
    "category": (("category", "NULLIF(x.k2, '')"), ("category_name", "ct.label")),
}
# Names are joined onto the aggregated rows, one look-up per group rather than one per summary row.
_NAME_JOINS = {
    "volunteer": "JOIN volunteers v INDEXED BY volunteers_id_cover ON v.id = x.volunteer JOIN people p INDEXED BY people_name_cover ON p.id = v.person",
    "organisation": "LEFT JOIN organisations o ON o.id = x.k1",
    "studio": "LEFT JOIN studios s ON s.id = x.k1",
    "category": "LEFT JOIN categories ct ON ct.code = x.k2 AND ct.vocabulary = 'activity'",
}
_OUTER_MEASURES = f"x.minutes AS minutes, {hours_expr('x.minutes')} AS hours, x.records AS records, x.volunteers AS volunteers"


def _year_bound(month: str | None) -> int | None:
    return None if month is None else int(month[:4])


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
) -> tuple[str, list[Any], bool] | None:
    """SQL answering :func:`volreg.hours` from the summaries, or None (see the module docstring).

    ``since``/``until`` are month bounds (``YYYY-MM``) or None; ``others`` says whether a filter the
    summaries do not carry (activity, category) was given.  Returns ``(sql, params, streams)``; ``streams``
    says the plan reads its rows in output order, so the first rows come without reading the rest.
    """
    if others or "day" in names:
        return None
    periods = [n for n in names if n in PERIODS]
    keys = {n for n in names if n not in PERIODS}
    where: list[str] = [f"g.status IN ({', '.join('?' for _ in statuses)})"]
    params: list[Any] = list(statuses)
    period_of: dict[str, str] = {}
    if keys <= {"volunteer"} and organisation is None and studio is None:
        yearly = all(b is None or b.endswith("-01") for b in (since, until))
        if not periods and since is None and until is None:
            table = "summary_volunteers"
        elif yearly and set(periods) <= {"year"}:
            table = "summary_volunteer_years"
            period_of["year"] = "g.year"
        else:
            table = "summary_volunteer_months"
        single = len(statuses) == 1 and "volunteer" in keys
        group_keys = ["g.volunteer"] if "volunteer" in keys else []
        grouping = None
    elif keys == {"category"}:
        # Per category over all time: the studio-and-category rows (category in k2; they are not split by
        # month) added up over the studios, the distinct volunteers from their members (a volunteer may serve
        # a category in several studios).
        if (volunteer is not None or organisation is not None or studio is not None or periods
                or since is not None or until is not None):
            return None
        grouping = "category"
        table = "summary_group_members"
        single = False
        where.append("g.grouping = ?")
        params.append("studio_category")
        group_keys = ["g.k2"]
    else:
        grouping = "organisation" if organisation is not None or "organisation" in keys else "studio"
        if volunteer is not None or not keys <= {grouping} or (organisation is not None and studio is not None):
            return None
        # A whole subtree, not split by organisation, has its own rows: the subtree grouping, keyed by its top.
        subtree = organisation is not None and grouping not in keys
        # One row of summary_groups is one whole group (its distinct volunteers counted) when the group is
        # one key in one month of one status; otherwise distinct volunteers come from the members.
        single = len(statuses) == 1 and (grouping in keys or subtree) and "month" in periods
        table = "summary_groups" if single else "summary_group_members"
        where.append("g.grouping = ?")  # k2 is always '' in these groupings
        params.append("subtree" if subtree else grouping)
        if subtree:
            where.append("g.k1 = ?")
            params.append(organisation)
        elif organisation is not None:
            where.append(within_sql("g.k1"))
            params.append(organisation)
        if studio is not None:
            where.append("g.k1 = ?")
            params.append(studio)
        group_keys = ["g.k1"] if grouping in keys else []
    if volunteer is not None:
        where.append("g.volunteer = ?")
        params.append(volunteer)
    if table == "summary_volunteer_years":
        if since is not None:
            where.append("g.year >= ?")
            params.append(_year_bound(since))
        if until is not None:
            where.append("g.year < ?")
            params.append(_year_bound(until))
    else:
        if since is not None:
            where.append("g.month >= ?")
            params.append(since)
        if until is not None:
            where.append("g.month < ?")
            params.append(until)
    for period in periods:
        period_of.setdefault(period, period_expr(period, "g.month"))
    if table == "summary_groups":
        volunteers = "SUM(g.volunteers)"
    elif "volunteer" in keys:
        volunteers = "1"  # each group is one volunteer
    else:
        volunteers = "COUNT(DISTINCT g.volunteer)"

    if table == "summary_volunteers" and single and names == ("volunteer",) and volunteer is None:
        if top is not None:
            sql, top_params = top_volunteers_sql(statuses[0], top)
            return sql, top_params, False
        # One summary row per volunteer, read in number order: the first rows come without the rest.
        return _volunteers_in_order(), [statuses[0]], True
    one_year = since is not None and until is not None and _year_bound(until) == (_year_bound(since) or 0) + 1
    if (table == "summary_volunteer_years" and single and names == ("volunteer",) and volunteer is None
            and top is None and one_year):
        # The year's rows in number order from one index, each carrying its number and name.
        sql = (
            "SELECT g.volunteer AS volunteer, g.name AS volunteer_name, g.number AS volunteer_number, "
            f"g.minutes AS minutes, {hours_expr('g.minutes')} AS hours, g.records AS records, 1 AS volunteers "
            "FROM summary_volunteer_years g INDEXED BY summary_volunteer_years_number "
            "WHERE g.status = ? AND g.year = ? ORDER BY g.number"
        )
        return sql, [statuses[0], _year_bound(since)], True
    if (table == "summary_groups" and grouping == "organisation" and names == (grouping, "month")
            and top is None):
        # One row of summary_groups per output row, read in key and month order from its primary key.
        (key, key_expr), (name, name_expr) = _KEY_NAMES[grouping]
        sql = (
            f"SELECT NULLIF(g.k1, '') AS [{key}], {name_expr.replace('x.k1', 'g.k1')} AS [{name}], g.month AS month, g.minutes AS minutes, "
            f"{hours_expr('g.minutes')} AS hours, g.records AS records, g.volunteers AS volunteers "
            f"FROM summary_groups g {_NAME_JOINS[grouping].replace('x.k1', 'g.k1')} WHERE "
            + " AND ".join(where) + " ORDER BY g.k1, g.k2, g.month"
        )
        return sql, params, True

    key_cols = [f"{k} AS {k[2:]}" for k in group_keys] + [f"{period_of[p]} AS [{p}]" for p in periods]
    group_by = [*group_keys, *(period_of[p] for p in periods)]
    grouped = (" GROUP BY " + ", ".join(group_by)) if group_by else ""
    condition = " WHERE " + " AND ".join(where)
    if table == "summary_group_members":
        # Minutes and records add up over the group rows (a few per organisation and month); only the
        # distinct volunteers need the members, read from their primary key alone.
        aliases = [k[2:] for k in group_keys] + [f"[{p}]" for p in periods]
        sums = (f"SELECT {', '.join([*key_cols, 'COALESCE(SUM(g.minutes), 0) AS minutes', 'COALESCE(SUM(g.records), 0) AS records'])} "
                f"FROM summary_groups g{condition}{grouped}")
        distinct = f"SELECT {', '.join([*key_cols, 'COUNT(DISTINCT g.volunteer) AS volunteers'])} FROM {table} g{condition}{grouped}"
        on = " AND ".join(f"s.{a} = d.{a}" for a in aliases) or "1"
        inner = (f"SELECT {', '.join([*(f's.{a} AS {a}' for a in aliases), 's.minutes AS minutes', 's.records AS records', 'd.volunteers AS volunteers'])} "
                 f"FROM ({sums}) s JOIN ({distinct}) d ON {on}")
        params = [*params, *params]
    else:
        inner_cols = [*key_cols, "COALESCE(SUM(g.minutes), 0) AS minutes", "COALESCE(SUM(g.records), 0) AS records",
                      f"{volunteers} AS volunteers"]
        inner = f"SELECT {', '.join(inner_cols)} FROM {table} g{condition}{grouped}"
    outer: list[str] = []
    order: list[str] = []
    joins: list[str] = []
    for name in names:
        if name == "volunteer":
            outer += [f"{expr} AS [{alias}]" for alias, expr in _VOLUNTEER_NAMES]
            order.append("v.number, x.volunteer")
            joins.append(_NAME_JOINS["volunteer"])
        elif name in _KEY_NAMES:
            outer += [f"{expr} AS [{alias}]" for alias, expr in _KEY_NAMES[name]]
            # The activities no studio ran ('' as the key) are listed after every studio.
            order.append({"studio": "x.k1 = '', x.k1", "category": "x.k2"}.get(name, "x.k1"))
            joins.append(_NAME_JOINS[name])
        else:
            outer.append(f"x.[{name}] AS [{name}]")
            order.append(f"x.[{name}]")
    sql = f"SELECT {', '.join([*outer, _OUTER_MEASURES])} FROM ({inner}) x {' '.join(joins)}"
    if top is not None and names:
        sql += " ORDER BY x.minutes DESC, " + ", ".join(order) + " LIMIT ?"
        return sql, [*params, top], False
    if names:
        sql += " ORDER BY " + ", ".join(order)
    return sql, params, False


def _volunteers_in_order() -> str:
    # CROSS JOIN keeps the volunteers outside, so their number index gives the order and nothing is sorted.
    return (
        "SELECT v.id AS volunteer, g.name AS volunteer_name, v.number AS volunteer_number, g.minutes AS minutes, "
        f"{hours_expr('g.minutes')} AS hours, g.records AS records, 1 AS volunteers "
        "FROM volunteers v INDEXED BY volunteers_number_cover CROSS JOIN summary_volunteers g "
        "ON g.status = ? AND g.volunteer = v.id ORDER BY v.number"
    )


def top_volunteers_sql(status: str, top: int) -> tuple[str, list[Any]]:
    """The ``top`` volunteers by minutes of one status, read from the largest totals down.

    Every volunteer tied with the last place is a candidate, so ties still go by number.
    """
    sql = (
        "SELECT g.volunteer AS volunteer, g.name AS volunteer_name, g.number AS volunteer_number, "
        f"g.minutes AS minutes, {hours_expr('g.minutes')} AS hours, g.records AS records, 1 AS volunteers "
        "FROM summary_volunteers g INDEXED BY summary_volunteers_stars "
        "WHERE g.status = ? AND g.minutes >= "
        "COALESCE((SELECT minutes FROM summary_volunteers WHERE status = ? ORDER BY minutes DESC LIMIT 1 OFFSET ?), 0)"
        " ORDER BY g.minutes DESC, g.number, g.volunteer LIMIT ?"
    )
    return sql, [status, status, top - 1, top]


def stars_sql(limits: Sequence[int]) -> tuple[str, list[Any]]:
    """Every volunteer's verified hours, star level and hours to the next star, from ``summary_volunteers``.

    ``limits`` are the thresholds in whole minutes, increasing.  The volunteers with verified service come
    first, read from the minutes index largest first (ties by number) one level at a time, so that each
    level's star and next threshold are constants of its part; then those without, by number: the order of
    star, hours and number, streamed without sorting anything.
    """
    parts: list[str] = []
    params: list[Any] = []
    for level in range(len(limits), -1, -1):
        # Level k holds the minutes in [limits[k - 1], limits[k]); the top one has no upper bound.
        where, to_next = "g.status = 'verified'", "NULL"
        if level < len(limits):
            to_next = "((? - g.minutes) * 100 + 59) / 60 / 100.0"
            params.append(limits[level])
        if level > 0:
            where += " AND g.minutes >= ?"
            params.append(limits[level - 1])
        if level < len(limits):
            where += " AND g.minutes < ?"
            params.append(limits[level])
        parts.append(
            f"SELECT * FROM (SELECT g.volunteer AS volunteer, g.name AS volunteer_name, {hours_expr('g.minutes')} "
            f"AS hours, {level} AS star, {to_next} AS to_next FROM summary_volunteers g INDEXED BY "
            f"summary_volunteers_stars WHERE {where} ORDER BY g.minutes DESC, g.number)"
        )
    sql, nobody_params = star_columns_sql(
        "(SELECT u.volunteer AS volunteer, u.name AS volunteer_name, 0 AS minutes FROM summary_unserved u "
        "INDEXED BY summary_unserved_number ORDER BY u.number)",
        None,
        limits,
    )
    return " UNION ALL ".join([*parts, f"SELECT * FROM ({sql})"]), [*params, *nobody_params]


def star_columns_sql(first: str, second: str | None, limits: Sequence[int]) -> tuple[str, list[Any]]:
    """The star columns over ``first`` (then ``second``): subqueries of ``volunteer, volunteer_name, minutes``.

    ``star`` counts the limits reached; ``to_next`` is the minutes still missing to the next one as hours
    rounded up to two decimals (a one-minute shortfall shows 0.02, never 0), None at the top level.
    """
    star = " + ".join("(t.minutes >= ?)" for _ in limits)
    to_next = " ".join("WHEN t.minutes < ? THEN ((? - t.minutes) * 100 + 59) / 60 / 100.0" for _ in limits)
    columns = (
        f"SELECT t.volunteer AS volunteer, t.volunteer_name AS volunteer_name, {hours_expr('t.minutes')} AS hours, "
        f"{star} AS star, CASE {to_next} END AS to_next FROM "
    )
    params: list[Any] = [*limits, *(v for limit in limits for v in (limit, limit))]
    sql = columns + f"{first} t"
    if second is None:
        return sql, params
    return f"SELECT * FROM ({sql}) UNION ALL SELECT * FROM ({columns}{second} t)", [*params, *params]


def _activity_counts_by_organisation() -> str:
    """Activities per organiser, with the verified minutes and records of each from ``summary_groups`` and
    its distinct participants from ``summary_group_members`` (the organisation grouping, over every month)."""
    acts = "SELECT a.organiser AS organisation, COUNT(*) AS n FROM activities a GROUP BY a.organiser"
    sums = ("SELECT g.k1 AS k, SUM(g.minutes) AS minutes, SUM(g.records) AS records FROM summary_groups g "
            "WHERE g.status = 'verified' AND g.grouping = 'organisation' GROUP BY g.k1")
    distinct = ("SELECT m.k1 AS k, COUNT(DISTINCT m.volunteer) AS volunteers FROM summary_group_members m "
                "WHERE m.status = 'verified' AND m.grouping = 'organisation' GROUP BY m.k1")
    return (
        f"WITH x AS ({acts}), y AS (SELECT NULLIF(s.k, '') AS organisation, s.minutes, s.records, d.volunteers "
        f"FROM ({sums}) s JOIN ({distinct}) d ON d.k = s.k) "
        "SELECT x.organisation AS organisation, og.name AS organisation_name, x.n AS activities, "
        "COALESCE(y.volunteers, 0) AS participants, COALESCE(y.records, 0) AS service_records, "
        f"COALESCE(y.minutes, 0) AS minutes, {hours_expr('COALESCE(y.minutes, 0)')} AS hours "
        "FROM x LEFT JOIN y ON y.organisation IS x.organisation LEFT JOIN organisations og ON og.id = x.organisation "
        "ORDER BY (x.organisation) IS NULL, x.organisation"
    )


def activity_counts_sql(dims: tuple[str, ...]) -> str | None:
    """SQL for :func:`volreg.activity_counts` grouped by studio and/or category, or by organisation alone,
    with no filter, or None."""
    if dims == ("organisation",):
        return _activity_counts_by_organisation()
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
        f"{hours_expr('COALESCE(y.minutes, 0)')} AS hours",
    ]
    sql = (
        f"WITH x AS ({acts}), y AS ({service}) SELECT " + ", ".join(selects + measures)
        + " FROM x LEFT JOIN y ON " + on + " " + " ".join(names[d][1] for d in dims)
    )
    if not dims:
        # No activity at all still gives one row of zeros, as COUNT over the records does.
        return sql
    return sql + " ORDER BY " + ", ".join(f"(x.{d}) IS NULL, x.{d}" for d in dims)
