"""``volreg.check(registry)``: the whole registry checked against the rules, problems returned as data.

Each rule is a small ``check_*`` function taking the registry and returning :class:`CheckProblem` objects that
name the record at fault (the beancount way: validation is data, not exceptions). The registry refuses bad
writes one by one; these checks find what got in anyway: rows written by an older volreg, rows typed into the
file with another tool, records that a later rule change now breaks (``update_honour``), late entries that
were allowed but marked. Set-based checks run as one SQL statement each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import attrs

from .errors import ErasureIncomplete, VolregError
from .timeutil import from_text
from .workdays import add_working_days

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["CheckProblem", "check", "check_storage", "CHECKS"]


@attrs.frozen
class CheckProblem:
    """One thing in the registry that breaks a rule.

    Attributes:
        code: the rule, e.g. ``corrupt``, ``erasure_incomplete``, ``late``, ``overlap``, ``day_total``,
            ``not_service``, ``honour_rule``, ``reviewer_conflict``, ``orphan``, ``proof_superseded``.
        entity: the kind of record at fault (``service_record``, ``honour``, ``nomination`` ...).
        id: the record's id (for a row without one, its key columns).
        message: what is wrong, naming the rule and the other records involved.
    """

    code: str
    entity: str
    id: str
    message: str

    def __str__(self) -> str:
        return f"{self.entity} {self.id}: [{self.code}] {self.message}"


_LIVE = "('pending', 'verified')"


def check_late_records(registry: Registry) -> Iterator[CheckProblem]:
    """Live records whose first version was entered more than ``late_after_working_days`` working days after
    their activity ended (志愿服务记录与证明出具办法 Art 11); working days follow the official calendar."""
    days = registry.settings.late_after_working_days
    deadlines: dict[date, date] = {}
    rows = registry.session.rows(
        f"SELECT r.id, a.[end] AS activity_end, f.first FROM service_records r "
        f"JOIN activities a ON a.id = r.activity "
        f"JOIN (SELECT lineage, min(recorded_at) AS first FROM service_records GROUP BY lineage) f "
        f"ON f.lineage = r.lineage WHERE r.status IN {_LIVE} ORDER BY r.start_utc, r.id")
    for row in rows:
        ended, entered = from_text(row["activity_end"], registry.zone), from_text(row["first"], registry.zone)
        assert ended is not None and entered is not None
        if ended.date() not in deadlines:
            deadlines[ended.date()] = add_working_days(ended.date(), days)
        deadline = deadlines[ended.date()]
        if entered.date() > deadline:
            yield CheckProblem("late", "service_record", row["id"],
                               f"entered on {entered.date()}, after the deadline {deadline} ({days} working days "
                               f"after the activity ended on {ended.date()})")


def check_overlaps(registry: Registry) -> Iterator[CheckProblem]:
    """Pairs of live timed records of one volunteer whose half-open intervals overlap (records of a day have
    no clock time and never overlap).

    A record that overlaps another starts less than the longest record's span before it, so each record is
    compared only with the volunteer's records starting from that long before it (one index range) rather
    than with all of them: a volunteer with thousands of records made the check quadratic (386 s at city
    scale; 15 s now).  The span is measured, not assumed from the 24-hour rule, since the check is there to
    find what the rules missed.
    """
    session = registry.session
    longest = session.scalar(
        f"SELECT max(julianday(end_utc) - julianday(start_utc)) FROM service_records "
        f"WHERE status IN {_LIVE} AND day IS NULL")
    if longest is None:
        return
    window = f"-{int(longest) + 2} days"  # from the start of that day: a bound on the text of start_utc
    for row in session.rows(
        f"SELECT a.id, b.id AS other, a.volunteer, a.start, b.start AS other_start FROM service_records a "
        f"JOIN service_records b ON b.volunteer = a.volunteer AND a.id < b.id "
        f"AND a.start_utc < b.end_utc AND b.start_utc < a.end_utc AND b.start_utc >= date(a.start_utc, ?) "
        f"WHERE a.status IN {_LIVE} AND b.status IN {_LIVE} AND a.day IS NULL AND b.day IS NULL "
        f"ORDER BY a.start_utc, a.id, b.id", [window]
    ):
        yield CheckProblem("overlap", "service_record", row["id"],
                           f"overlaps record {row['other']!r} of volunteer {row['volunteer']!r} "
                           f"({row['start'][:16]} and {row['other_start'][:16]})")


def check_day_totals(registry: Registry) -> Iterator[CheckProblem]:
    """Volunteers with more than 24 hours of live service starting on one local day."""
    for row in registry.session.rows(
        f"SELECT volunteer, substr(start, 1, 10) AS day, sum(minutes) AS minutes, min(id) AS first "
        f"FROM service_records WHERE status IN {_LIVE} GROUP BY volunteer, substr(start, 1, 10) "
        f"HAVING sum(minutes) > 1440 ORDER BY day, volunteer"
    ):
        yield CheckProblem("day_total", "service_record", row["first"],
                           f"volunteer {row['volunteer']!r} has {row['minutes']} minutes of service on "
                           f"{row['day']}, more than 24 h")


def check_service_activities(registry: Registry) -> Iterator[CheckProblem]:
    """Live records of hours on an activity that is not volunteer service (a 道德讲堂, a ceremony)."""
    for row in registry.session.rows(
        f"SELECT r.id, a.id AS activity, a.kind FROM service_records r JOIN activities a ON a.id = r.activity "
        f"WHERE r.status IN {_LIVE} AND a.kind <> 'volunteer_service' ORDER BY r.start_utc, r.id"
    ):
        yield CheckProblem("not_service", "service_record", row["id"],
                           f"carries hours on activity {row['activity']!r}, a {row['kind']}, not volunteer service")


def check_honours(registry: Registry) -> Iterator[CheckProblem]:
    """Honours that break their title's rules: recipient kind, age on the award date, category, ``once``."""
    # `once`, set-based: a recipient holding a once-only title more than once (as a winner).
    for row in registry.session.rows(
        "SELECT h.honour, coalesce(h.person, h.family, h.organisation) AS holder, group_concat(h.id, ', ') AS ids, "
        "max(h.id) AS last FROM honours h JOIN honour_titles t ON t.code = h.honour "
        "WHERE t.once = 1 AND h.grade = 'winner' "
        "GROUP BY h.honour, coalesce(h.person, h.family, h.organisation) HAVING count(*) > 1 ORDER BY 1, 2"
    ):
        yield CheckProblem("honour_rule", "honour", row["last"],
                           f"{row['holder']!r} holds {row['honour']}, which is given once, {row['ids'].count(',') + 1} "
                           f"times ({row['ids']}) [rule: once]")
    # The other rules are the ones every award is checked against, reused as they are (``once`` aside).
    for row in registry.session.rows(
        "SELECT h.*, coalesce(h.person, h.family, h.organisation) AS recipient FROM honours h "
        "WHERE (h.person IS NULL OR h.person IN (SELECT id FROM people)) ORDER BY h.awarded_on, h.id"
    ):
        try:
            title = registry.honour_title(row["honour"])
            registry.check_award(title, row["recipient"], kind=row["recipient_kind"],
                                 on=date.fromisoformat(row["awarded_on"]), category=row["category"],
                                 grade="nomination_award")
        except VolregError as error:
            yield CheckProblem("honour_rule", "honour", row["id"], str(error))


def check_reviewers(registry: Registry) -> Iterator[CheckProblem]:
    """Reviewer assignments with a conflict of interest that no administrator overrode with a reason."""
    for assignment in [registry.reviewers(r["nomination"]) for r in registry.session.rows(
            "SELECT DISTINCT nomination FROM reviewer_assignments WHERE nomination IN (SELECT id FROM nominations) "
            "ORDER BY nomination")]:
        for one in assignment:
            overridden = {c.kind for c in one.overrides if c.reason}
            try:
                found = registry.conflicts_of_interest(one.nomination, one.reviewer)
            except VolregError:
                continue  # a missing reviewer is an orphan, reported there
            for conflict in found:
                if conflict.kind not in overridden:
                    yield CheckProblem("reviewer_conflict", "nomination", one.nomination,
                                       f"reviewer {one.reviewer!r} has an undeclared conflict of interest: "
                                       f"{conflict.kind} ({conflict.detail})")


def check_orphans(registry: Registry) -> Iterator[CheckProblem]:
    """Rows that point at rows that do not exist (``PRAGMA foreign_key_check``, and service-record lineages)."""
    store = registry.session.store
    for table, rowid, parent, fkid in store.tuples("PRAGMA foreign_key_check"):
        columns = {r[0]: r[3] for r in store.tuples(f"PRAGMA foreign_key_list([{table}])")}
        column = columns.get(fkid, "?")
        names = [r[1] for r in store.tuples(f"PRAGMA table_info([{table}])")]
        keys = ["id"] if "id" in names else [n for n in names if n in ("nomination", "family", "person", "reviewer",
                                                                       "voter", "organisation", "honour")][:2]
        found = store.tuples(f"SELECT {', '.join(f'[{k}]' for k in keys) or 'rowid'}, [{column}] FROM [{table}] "
                             "WHERE rowid = ?", [rowid]) if rowid is not None else []
        first = found[0] if found else None
        ident = "/".join(str(v) for v in first[:-1]) if first else str(rowid)
        missing = first[-1] if first else "?"
        yield CheckProblem("orphan", table, ident, f"'{column}' points at {parent} {missing!r}, which does not exist")
    for row in registry.session.rows(
        "SELECT id, lineage FROM service_records r WHERE NOT EXISTS "
        "(SELECT 1 FROM service_records o WHERE o.id = r.lineage) ORDER BY id"
    ):
        yield CheckProblem("orphan", "service_records", row["id"],
                           f"'lineage' points at service record {row['lineage']!r}, which does not exist")


def check_proofs(registry: Registry) -> Iterator[CheckProblem]:
    """Proofs of service that no longer match the ledger: superseded proofs not yet replaced by a later proof
    for the same volunteer and organisation, and issued proofs counting a record version that no longer stands."""
    for row in registry.session.rows(
        "SELECT p.id, p.number, p.status_reason FROM proofs p WHERE p.status = 'superseded' AND NOT EXISTS "
        "(SELECT 1 FROM proofs n WHERE n.volunteer = p.volunteer AND n.organisation = p.organisation "
        "AND n.status = 'issued' AND n.issued_at > p.issued_at) ORDER BY p.issued_at, p.number"
    ):
        yield CheckProblem("proof_superseded", "proof", row["id"],
                           f"proof {row['number']} is superseded ({row['status_reason']}); issue a new proof or "
                           "revoke this one")
    for row in registry.session.rows(
        "SELECT p.id, p.number, group_concat(r.id || ' (' || r.status || ')', ', ') AS records FROM proofs p "
        "JOIN proof_records pr ON pr.proof = p.id JOIN service_records r ON r.id = pr.record "
        "WHERE p.status = 'issued' AND r.status <> 'verified' GROUP BY p.id ORDER BY p.issued_at, p.number"
    ):
        yield CheckProblem("proof_stale", "proof", row["id"],
                           f"proof {row['number']} is issued but counts records that no longer stand: {row['records']}")


CHECKS: tuple[Callable[[Registry], Iterator[CheckProblem]], ...] = (
    check_late_records,
    check_overlaps,
    check_day_totals,
    check_service_activities,
    check_honours,
    check_reviewers,
    check_orphans,
    check_proofs,
)
"""The checks :func:`check` runs, in order."""


def check_storage(registry: Registry, *, full: bool = False) -> list[CheckProblem]:
    """The database file's own consistency: ``PRAGMA quick_check``, or ``integrity_check`` when ``full``.

    ``quick_check`` reads every page and checks the b-tree structure (O(N)); ``integrity_check`` also checks
    that every index matches its table, which takes longer on a big file.
    """
    pragma = "integrity_check" if full else "quick_check"
    where = registry.session.path or ":memory:"
    try:
        found = [str(next(iter(r.values()))) for r in registry.session.rows(f"PRAGMA {pragma}")]
    except sqlite3.DatabaseError as error:
        found = [f"the file cannot be read ({error})"]
    if found == ["ok"]:
        return []
    shown = found[:20] + ([f"... and {len(found) - 20} more"] if len(found) > 20 else [])
    return [CheckProblem("corrupt", "database", where, f"PRAGMA {pragma} found damage: {line}") for line in shown]


def check_erasure(registry: Registry) -> Iterator[CheckProblem]:
    """An erasure committed but not yet physically complete: finished now if no reader holds old pages."""
    if registry.readonly:
        if registry.erasure_pending:
            yield CheckProblem("erasure_incomplete", "database", registry.session.path or ":memory:",
                               "an erasure is committed but not physically complete; open the registry for "
                               "writing and run complete_erasure() (or volreg check)")
        return
    try:
        registry.complete_erasure(timeout=1)
    except ErasureIncomplete as error:
        yield CheckProblem("erasure_incomplete", "database", registry.session.path or ":memory:", str(error))


def check(registry: Registry, *, full: bool = False) -> list[CheckProblem]:
    """Check the whole registry: first the file itself, then its rules.

    First the file: ``PRAGMA quick_check`` (``integrity_check`` with ``full=True``); a damaged file is
    reported as ``corrupt`` problems and the rule checks are skipped, since what they would read cannot be
    trusted. Then a pending erasure is finished (``erasure_incomplete`` when a reader still holds old pages).
    Then the rules: live service records entered late (``late``), overlapping live records of one volunteer
    (``overlap``), hours on activities that are not volunteer service (``not_service``), honours breaking
    their title's rules (``honour_rule``), reviewers with a conflict of interest nobody overrode
    (``reviewer_conflict``), rows pointing at missing rows (``orphan``), and proofs of service that no longer
    match the ledger (``proof_superseded``, ``proof_stale``).

    Args:
        registry: the registry to check.
        full: run ``PRAGMA integrity_check`` (slower: indexes against tables too) instead of ``quick_check``.

    Returns:
        The problems, grouped by check in the order above; empty when everything holds.

    Raises:
        InvalidValue: ``registry`` is not a registry.
    """
    from .queries.sql import check_registry

    check_registry(registry)
    damaged = check_storage(registry, full=full)
    if damaged:
        return damaged
    problems = list(check_erasure(registry))
    return problems + [problem for rule in CHECKS for problem in rule(registry)]
