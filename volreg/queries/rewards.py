"""Rewards: star levels (星级志愿者) and eligibility for any hours-based :class:`volreg.AwardRule`.

Star levels are one SQL statement, stars and hours to the next star included (from the summaries, in the
order of the minutes index, unless ``as_of`` asks for the ledger as it stood).  ``eligible`` adds up every
volunteer's verified minutes in the window and over all time in SQL; Python then compares each volunteer's
totals with the thresholds of their age band.  Thresholds are hours
and are compared in whole minutes, so a volunteer at exactly 100 h reaches the 100 h level.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ..base import items_of
from ..errors import InvalidValue
from ..rules import AwardRule
from ..store import summaries
from ..timeutil import to_utc_text
from .hours import status_clause
from .result import Result
from .sql import check_registry

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["star_levels", "eligible", "AwardRule"]


def _minutes(hours: float) -> int:
    return round(hours * 60)


def _hours_up(minutes: int) -> float:
    """Minutes as hours with two decimals, rounded up: a shortfall of one minute shows 0.02, never 0."""
    return -(-minutes * 100 // 60) / 100


def _totals(registry: Registry, *, since: str | None, until: str | None, as_of: str | None,
            registered_before: str | None) -> list[dict[str, Any]]:
    """Per volunteer: verified minutes from ``since`` (UTC text) and over all time, before ``until``."""
    status, params = status_clause("verified", as_of)
    join = [status]
    if until is not None:
        join.append("r.start_utc < ?")
        params.append(until)
    sql = (
        "SELECT v.id AS volunteer, p.name AS volunteer_name, v.number AS number, p.birth_date AS birth_date, "
        "COALESCE(SUM(CASE WHEN r.start_utc >= ? THEN r.minutes END), 0) AS window_minutes, "
        "COALESCE(SUM(r.minutes), 0) AS lifetime_minutes "
        "FROM volunteers v JOIN people p ON p.id = v.person "
        "LEFT JOIN service_records r ON r.volunteer = v.id AND " + " AND ".join(join)
    )
    all_params: list[Any] = [since or "", *params]
    if registered_before is not None:
        sql += " WHERE v.registered_on < ?"
        all_params.append(registered_before)
    sql += " GROUP BY v.id ORDER BY window_minutes DESC, v.number"
    return list(registry.session.rows(sql, all_params))


def star_levels(registry: Registry, *, thresholds: Any = None, as_of: Any = None) -> Result:
    """Every volunteer's cumulative verified hours, star level (0–5) and hours still needed for the next star.

    Examples::

        volreg.star_levels(reg)                                          # the registry's thresholds
        volreg.star_levels(reg, thresholds=(100, 200, 500, 800, 1000))   # Beijing's
        volreg.star_levels(reg, as_of="2024-12-31 23:59")                # as the ledger stood then

    Args:
        registry: the registry to ask.
        thresholds: increasing hours for one star, two stars ...; default ``registry.settings.star_thresholds``
            (100/300/600/1000/1500 unless the registry sets its own).
        as_of: count only what was verified (and not since withdrawn) at this instant; volunteers registered
            later are left out.

    Returns:
        A :class:`volreg.Result` with columns ``volunteer``, ``volunteer_name``, ``hours`` (two decimals),
        ``star`` (0 to the number of thresholds) and ``to_next`` (hours for the next star, rounded up to two
        decimals; None at the top level), ordered by star and hours (most first), then volunteer number.

    Raises:
        InvalidValue: thresholds that are not increasing positive hours, or an unreadable ``as_of``.
    """
    check_registry(registry)
    levels = tuple(registry.settings.star_thresholds if thresholds is None else items_of(thresholds, "thresholds"))
    if not levels or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1e9 for v in levels) or list(
        levels
    ) != sorted(set(levels)):
        raise InvalidValue("thresholds", "must be increasing positive hours", levels)
    limits = [_minutes(h) for h in levels]
    columns = ("volunteer", "volunteer_name", "hours", "star", "to_next")
    if as_of is None and registry.session.summaries:
        sql, params = summaries.stars_sql(limits)
        return Result.from_query(registry.session, columns, sql, params, streams=True)
    # From the records: each volunteer's verified minutes (as of an instant: verified then and not since
    # withdrawn, and registered by that day), the star columns in the same SQL.
    moment = None if as_of is None else registry.session.moment(as_of, "as_of")
    status, status_params = status_clause("verified", None if moment is None else to_utc_text(moment))
    totals = (
        "(SELECT v.id AS volunteer, p.name AS volunteer_name, v.number AS number, "
        "COALESCE(SUM(r.minutes), 0) AS minutes FROM volunteers v JOIN people p ON p.id = v.person "
        f"LEFT JOIN service_records r ON r.volunteer = v.id AND {status}"
    )
    totals_params: list[Any] = list(status_params)
    if moment is not None:
        totals += " WHERE v.registered_on < ?"
        totals_params.append((moment.date() + timedelta(days=1)).isoformat())
    totals += " GROUP BY v.id)"
    sql, star_params = summaries.star_columns_sql(totals, None, limits)
    return Result.from_query(registry.session, columns, sql + " ORDER BY t.minutes DESC, t.number",
                             [*star_params, *totals_params])


def eligible(registry: Registry, rule: AwardRule, *, on: Any, as_of: Any = None) -> Result:
    """Every volunteer eligible by age for ``rule``: the level reached on day ``on`` and the shortfall.

    Examples::

        volreg.eligible(reg, volreg.rules.PVSA, on="2024-12-31")    # 12 months to 31 Dec, US age bands
        volreg.eligible(reg, volreg.rules.STARS, on="2024-12-31")   # lifetime stars as an award rule
        city = volreg.AwardRule("雄关志愿之星", levels=("银", "金"), window="calendar_year",
                                bands=(volreg.AgeBand((50, 100), min_age=14),))

    Args:
        registry: the registry to ask.
        rule: the award rule.
        on: the day asked about (a date in the registry's time zone); the window ends with it.
        as_of: count only what was verified (and not since withdrawn) at this instant; default: now.

    Returns:
        A :class:`volreg.Result` with columns ``volunteer``, ``volunteer_name``, ``level`` (the highest
        level reached, or None), ``hours`` (verified hours in the window, two decimals) and ``shortfall``
        (hours still needed for the next level, rounded up; None at the top), plus ``lifetime_hours`` when
        the rule has a lifetime threshold. Volunteers outside every age band, younger than the rule's
        minimum age, or registered after ``on`` are left out. Ordered by level (highest first), hours, number.

    Raises:
        InvalidValue: an unreadable ``on`` or ``as_of``, or ``rule`` not an AwardRule.
    """
    check_registry(registry)
    if not isinstance(rule, AwardRule):
        raise InvalidValue("rule", "must be a volreg.AwardRule", rule)
    day = registry.session.day(on, "on")
    start, end = rule.window_for(day)
    since = None if start is None else to_utc_text(registry.session.moment(start, "on"))
    until = to_utc_text(registry.session.moment(end, "on"))
    moment = None if as_of is None else to_utc_text(registry.session.moment(as_of, "as_of"))
    rows = _totals(registry, since=since, until=until, as_of=moment, registered_before=end.isoformat())
    age_day = rule.age_day(day)
    ranks = {name: n for n, name in enumerate(rule.all_levels)}
    out = []
    for row in rows:
        born = None if row["birth_date"] is None else date.fromisoformat(row["birth_date"])
        age = None if born is None else age_day.year - born.year - ((age_day.month, age_day.day) < (born.month, born.day))
        band = rule.band_for(age)
        if band is None:
            continue
        window, lifetime = row["window_minutes"], row["lifetime_minutes"]
        limits = [_minutes(h) for h in band.thresholds]
        reached = sum(1 for limit in limits if window >= limit)
        level = rule.levels[reached - 1] if reached else None
        if reached < len(limits):
            shortfall: float | None = _hours_up(limits[reached] - window)
        elif rule.lifetime is not None and lifetime < _minutes(rule.lifetime):
            shortfall = _hours_up(_minutes(rule.lifetime) - lifetime)
        else:
            shortfall = None
        if rule.lifetime is not None and lifetime >= _minutes(rule.lifetime):
            level, shortfall = rule.lifetime_level, None
        entry = {
            "volunteer": row["volunteer"],
            "volunteer_name": row["volunteer_name"],
            "level": level,
            "hours": round(window / 60, 2),
            "shortfall": shortfall,
        }
        if rule.lifetime is not None:
            entry["lifetime_hours"] = round(lifetime / 60, 2)
        out.append(entry)
    # Stable: within a level, the SQL order (hours, then volunteer number) stays.
    out.sort(key=lambda r: 0 if r["level"] is None else -1 - ranks[r["level"]])
    columns = ["volunteer", "volunteer_name", "level", "hours", "shortfall"]
    if rule.lifetime is not None:
        columns.append("lifetime_hours")
    return Result(columns, out)
