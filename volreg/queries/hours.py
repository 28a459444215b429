"""``hours()``: service minutes totalled by any combination of dimensions, as one SQL statement.

Every call builds one ``SELECT ... GROUP BY`` over ``service_records``; filters add one fragment and one
bound parameter each; SQLite adds the integer minutes, so totals are exact.  Without ``as_of`` the query
reads each version's ``status``; with ``as_of`` it reads the instants each version carries instead
(``recorded_at``, ``verified_at``, ``closed_at``), which is what lets a past report be reproduced.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from ..model import SERVICE_STATUSES
from ..store import summaries
from ..timeutil import to_utc_text
from .result import Result
from .sql import PERIODS, Filters, check_by, check_registry, names_of, no_studio_name, period_expr

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["hours", "DIMENSIONS", "status_clause"]

DIMENSIONS = ("volunteer", "organisation", "studio", "activity", "category", *PERIODS)
"""What ``hours(by=...)`` can group by."""

# Each dimension: its output columns (name, SQL), its sort key, and the joins its names need.
# ``organisation`` is the activity's organiser: the body that ran it records and certifies it (谁组织谁记录).
_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "volunteer": (("volunteer", "r.volunteer"), ("volunteer_name", "p.name"), ("volunteer_number", "v.number")),
    "organisation": (("organisation", "a.organiser"), ("organisation_name", "o.name")),
    "studio": (("studio", "a.studio"), ("studio_name", no_studio_name("a.studio", "s.name"))),
    "activity": (("activity", "r.activity"), ("activity_name", "a.title")),
    "category": (("category", "a.category"), ("category_name", "c.label")),
    **{period: ((period, period_expr(period, "r.start")),) for period in PERIODS},
}
# The activities no studio ran form one group, labelled （无工作室） and listed after every studio.
_SORT = {"volunteer": "v.number, r.volunteer", "activity": "a.start_utc, r.activity",
         "studio": "a.studio IS NULL, a.studio"}
_JOINS = {
    "volunteer": "JOIN volunteers v ON v.id = r.volunteer JOIN people p ON p.id = v.person",
    "organisation": "LEFT JOIN organisations o ON o.id = a.organiser",
    "studio": "LEFT JOIN studios s ON s.id = a.studio",
    "category": "LEFT JOIN categories c ON c.code = a.category AND c.vocabulary = 'activity'",
}

# A version's status at instant T, from the instants it carries (see migration m002).
_AS_OF = {
    "verified": "(r.verified_at <= ? AND (r.closed_at IS NULL OR r.closed_at > ?))",
    "pending": "(r.recorded_at <= ? AND (r.verified_at IS NULL OR r.verified_at > ?)"
    " AND (r.closed_at IS NULL OR r.closed_at > ?))",
    "rejected": "(r.status = 'rejected' AND r.closed_at <= ?)",
    "superseded": "(r.status = 'superseded' AND r.closed_at <= ?)",
    "void": "(r.status = 'void' AND r.closed_at <= ?)",
}


def status_clause(status: Any, as_of: str | None) -> tuple[str, list[Any]]:
    """The SQL condition (on alias ``r``) for versions in ``status`` now, or at the UTC instant ``as_of``.

    Raises:
        InvalidValue: an unknown status.
    """
    names = names_of(status, "status")
    if not names:
        raise InvalidValue("status", f"must name statuses among {', '.join(SERVICE_STATUSES)}", status)
    for name in names:
        if name not in SERVICE_STATUSES:
            raise InvalidValue("status", f"must be one of {', '.join(SERVICE_STATUSES)}", name)
    if as_of is None:
        return f"r.status IN ({', '.join('?' for _ in names)})", list(names)
    parts = [_AS_OF[name] for name in names]
    params = [as_of for part in parts for _ in range(part.count("?"))]
    return "(" + " OR ".join(parts) + ")", params


def _utc_day(moment: datetime, days: int) -> str:
    """The UTC date of ``moment`` moved by ``days``, as ``YYYY-MM-DD`` text (a bound on local start texts)."""
    return (moment.astimezone(timezone.utc).date() + timedelta(days=days)).isoformat()


def hours(
    registry: Registry,
    *,
    by: str | tuple[str, ...] | list[str] = (),
    start: Any = None,
    end: Any = None,
    status: str | tuple[str, ...] = "verified",
    volunteer: Any = None,
    organisation: Any = None,
    studio: Any = None,
    activity: Any = None,
    category: Any = None,
    top: int | None = None,
    as_of: Any = None,
) -> Result:
    """Service minutes and hours, in total or grouped.

    Examples::

        volreg.hours(reg)                                        # one grand-total row
        volreg.hours(reg, by="volunteer", top=10)                # the ten volunteers with the most hours
        volreg.hours(reg, by=("organisation", "year"))           # each organiser's hours per year
        volreg.hours(reg, by="studio", start="2024-01-01", end="2025-01-01")
        volreg.hours(reg, by="month", organisation=district)     # a district and everything under it
        volreg.hours(reg, by="category", category="敬老助老")     # one category (code or label)
        volreg.hours(reg, by="day", activity=act, status="pending")
        volreg.hours(reg, by="quarter", volunteer="V2024000001", as_of="2024-12-31 23:59")

    Args:
        registry: the registry to ask.
        by: dimensions to group by, any combination of ``volunteer``, ``organisation`` (the activity's
            organiser), ``studio``, ``activity``, ``category``, ``year``, ``quarter``, ``month``, ``day``;
            none gives one grand-total row.
        start, end: a half-open range ``[start, end)`` of dates or datetimes in the registry's time zone;
            a record counts in the period in which it starts (so do the time buckets).
        status: which versions count: ``verified`` (default), ``pending``, ``rejected``, ``superseded``,
            ``void``, or a tuple of them.
        volunteer: only this volunteer (object, id or public number).
        organisation: only activities organised by this organisation or any organisation under it.
        studio: only activities run by this studio.
        activity: only this activity.
        category: only activities of this category (code or label).
        top: only the ``top`` largest groups by minutes, ties broken by the group columns.
        as_of: answer as the ledger stood at this instant: anything recorded, verified, corrected or
            voided later is not seen (a record's ``recorded_at`` is its stated entry time).

    Returns:
        A :class:`volreg.Result`. Columns: for each ``by`` dimension its value (``volunteer``,
        ``organisation``, ``studio`` and ``activity`` ids; the ``category`` code; ``year`` an int;
        ``quarter`` ``2024-Q1``; ``month`` ``2024-03``; ``day`` ``2024-03-05``), with ``<dimension>_name``
        beside each id and the category (and ``volunteer_number`` after ``volunteer_name``); then
        ``minutes`` (exact int), ``hours`` (minutes / 60, two decimals), ``records`` and ``volunteers``
        (distinct). Rows are ordered by the group columns, or by minutes (largest first) with ``top``.

    Raises:
        InvalidValue: an unknown dimension or status, a bad date, or ``top`` not a positive whole number.
        NotFound: an unknown volunteer, organisation, studio or activity.
    """
    check_registry(registry)
    names = check_by(by, DIMENSIONS)
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 2**31):
        raise InvalidValue("top", "must be a positive whole number", top)
    moment = None if as_of is None else to_utc_text(registry.session.moment(as_of, "as_of"))
    clause, params = status_clause(status, moment)
    starts = None if start is None else registry.session.moment(start, "start")
    ends = None if end is None else registry.session.moment(end, "end")
    volunteer_id = None if volunteer is None else registry.volunteer(volunteer).id
    organisation_id = None if organisation is None else registry.session.ref("organisation", organisation)
    studio_id = None if studio is None else registry.session.ref("studio", studio)
    activity_id = None if activity is None else registry.session.ref("activity", activity)
    category_code = None if category is None else registry.session.category(category)
    since = None if starts is None else summaries.month_bound(starts, registry.zone)
    until = None if ends is None else summaries.month_bound(ends, registry.zone)
    whole_months = (starts is None or since is not None) and (ends is None or until is not None)
    if moment is None and whole_months:
        fast = summaries.hours_sql(
            names=names, statuses=tuple(params), since=since, until=until,
            volunteer=volunteer_id, organisation=organisation_id, studio=studio_id,
            others=activity_id is not None or category_code is not None, top=top,
        )
        if fast is not None and registry.session.summaries:
            header = [alias for name in names for alias, _ in _COLUMNS[name]]
            sql, fast_params, streams = fast
            return Result.from_query(registry.session, [*header, "minutes", "hours", "records", "volunteers"],
                                     sql, fast_params, streams=streams)
    filters = Filters()
    filters.add(clause, *params)
    # The span is on the instant (start_utc); the same span widened to whole local days on ``start`` (which
    # begins with the local date, never more than a day from the UTC date) lets SQLite read a range of
    # service_records_status (status, start) instead of every record of the status.
    if starts is not None:
        filters.add("r.start_utc >= ?", to_utc_text(starts))
        filters.add("r.start >= ?", _utc_day(starts, -1))
    if ends is not None:
        filters.add("r.start_utc < ?", to_utc_text(ends))
        filters.add("r.start < ?", _utc_day(ends, 2))
    if volunteer_id is not None:
        filters.add("r.volunteer = ?", volunteer_id)
    if organisation_id is not None:
        filters.within("a.organiser", organisation_id)
    if studio_id is not None:
        filters.add("a.studio = ?", studio_id)
    if activity_id is not None:
        filters.add("r.activity = ?", activity_id)
    if category_code is not None:
        filters.add("a.category = ?", category_code)

    columns = [(alias, expr) for name in names for alias, expr in _COLUMNS[name]]
    keys = [expr for _, expr in columns]
    select = [f"{expr} AS [{alias}]" for alias, expr in columns] + [
        "COALESCE(SUM(r.minutes), 0) AS minutes",
        "ROUND(COALESCE(SUM(r.minutes), 0) / 60.0, 2) AS hours",
        "COUNT(r.id) AS records",
        "COUNT(DISTINCT r.volunteer) AS volunteers",
    ]
    joins = " ".join(_JOINS[name] for name in names if name in _JOINS)
    sql = (
        filters.prefix()
        + "SELECT " + ", ".join(select)
        + " FROM service_records r JOIN activities a ON a.id = r.activity "
        + joins
        + filters.where()
    )
    order = [_SORT.get(name, _COLUMNS[name][0][1]) for name in names]
    query_params = filters.all_params()
    if names:
        sql += " GROUP BY " + ", ".join(keys)
        if top is not None:
            sql += " ORDER BY minutes DESC, " + ", ".join(order) + " LIMIT ?"
            query_params.append(top)
        else:
            sql += " ORDER BY " + ", ".join(order)
    header = [alias for alias, _ in columns] + ["minutes", "hours", "records", "volunteers"]
    return Result.from_query(registry.session, header, sql, query_params)
