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
(:data:`TRIGGERS`): a record's insert, status change or delete, and a change of its activity's organiser,
studio or category, insert one row into ``summary_delta`` carrying one record's contribution with a sign,
and the ``summary_delta_apply`` trigger adds it to every table (to the ``subtree`` rows of every
organisation above the record's organiser, through the closure) and deletes it again.  Organisations keep
``organisation_tree`` by their own triggers (insert, change of parent, delete); a change of parent also
takes the moved subtree's ``subtree`` rows away from its old ancestors and adds them to its new ones.

**Batches.**  :func:`insert_records` writes a batch of new records with the insert trigger switched off
(``summary_control.bulk``) and adds the batch to each table with one set-based ``INSERT ... SELECT ...
GROUP BY ... ON CONFLICT DO UPDATE``, the same arithmetic as the triggers'.

**Reads.**  :func:`hours_sql`, :func:`stars_sql` and :func:`activity_counts_sql` return the SQL that answers
a question from the summaries, or None when the summaries cannot answer it exactly (an ``as_of`` instant,
a period finer than a month, a range that does not start and end on local month boundaries, a filter the
summaries do not carry); the caller then asks the records.  The answers are the same rows, in the same
order, with the same types as the query on ``service_records``: ``tests/test_summaries.py`` checks both
ways on random ledgers (``registry.session.summaries = False`` makes the query functions recount).

The migrations that create the tables (``m005_summaries``, ``m007_bulk_summaries``, ``m014_speed``,
``m015_query_summaries``) keep the SQL they shipped with; ``m014_speed`` and ``m015_query_summaries``
(re)install the triggers from :data:`TRIGGERS`, and a later change of a trigger here comes with a migration
that calls :func:`install_triggers` again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ..errors import Conflict
from .filters import PERIODS, no_studio_name, period_expr

if TYPE_CHECKING:
    from sqlite_utils import Database

    from .db import Store

__all__ = [
    "TRIGGERS", "install_triggers", "BulkInsert", "insert_records", "month_bound", "hours_sql", "stars_sql", "hours_expr",
    "activity_counts_sql", "within_sql",
]

# -- the triggers ------------------------------------------------------------------------------------------

_GROUPINGS_DELTA = (("organisation", "new.organiser", "''", "new.month"), ("studio", "new.studio", "''", "new.month"),
                    ("studio_category", "new.studio", "new.category", "''"))

# Every status a record version can have (the CHECK of service_records): a volunteer's summary rows are found
# through the primary keys, which start with the status.
_STATUSES = "('pending', 'verified', 'rejected', 'superseded', 'void')"


# The subtree rows of organisation ``{o}``'s proper ancestors (through the closure as it stands) beside the
# subtree rows of ``{o}`` itself (``s``): what moving ``{o}`` takes from its old ancestors and gives its new ones.
_SUBTREE_OF = (
    "FROM organisation_tree t JOIN summary_group_members s ON s.status IN " + _STATUSES + " AND "
    "s.grouping = 'subtree' AND s.k1 = {o} AND s.k2 = '' WHERE t.descendant = {o} AND t.depth > 0"
)
_ANCESTOR_MEMBER = ("summary_group_members a ON a.status = s.status AND a.grouping = 'subtree' AND a.k1 = t.ancestor "
                    "AND a.k2 = '' AND a.month = s.month AND a.volunteer = s.volunteer")
_ADD_GROUPS = ("ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records, "
               "volunteers = volunteers + excluded.volunteers")
_ADD_MEMBERS = "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records"


def _move_subtree(o: str, sign: int) -> str:
    """Take (``sign`` -1) or give (1) organisation ``o``'s subtree rows from or to its proper ancestors.

    The groups' distinct counts change by the volunteers whose last record in the ancestor's month goes
    (-1: the ancestor's member row holds exactly the moved records) or who are new to it (1: no member row
    yet); so the groups are updated before the members, and emptied rows are deleted last.
    """
    source = _SUBTREE_OF.format(o=o)
    if sign < 0:
        groups = ("SELECT s.status, 'subtree', t.ancestor, '', s.month, -sum(s.minutes), -sum(s.records), "
                  f"-sum(a.records = s.records) {source.replace('WHERE', f'JOIN {_ANCESTOR_MEMBER} WHERE', 1)}")
        members = f"SELECT s.status, 'subtree', t.ancestor, '', s.month, s.volunteer, -s.minutes, -s.records {source}"
    else:
        groups = ("SELECT s.status, 'subtree', t.ancestor, '', s.month, sum(s.minutes), sum(s.records), "
                  f"sum(a.volunteer IS NULL) {source.replace('WHERE', f'LEFT JOIN {_ANCESTOR_MEMBER} WHERE', 1)}")
        members = f"SELECT s.status, 'subtree', t.ancestor, '', s.month, s.volunteer, s.minutes, s.records {source}"
    statements = [
        "INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers) "
        f"{groups} GROUP BY s.status, t.ancestor, s.month {_ADD_GROUPS}",
        f"INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records) {members} "
        f"{_ADD_MEMBERS}",
    ]
    if sign < 0:
        statements += [
            "DELETE FROM summary_group_members WHERE records = 0 AND (status, grouping, k1, k2, month, volunteer) IN "
            f"(SELECT s.status, 'subtree', t.ancestor, '', s.month, s.volunteer {source})",
            "DELETE FROM summary_groups WHERE records = 0 AND (status, grouping, k1, k2, month) IN "
            f"(SELECT s.status, 'subtree', t.ancestor, '', s.month {source})",
        ]
    return "; ".join(statements)


def _apply_delta() -> str:
    statements = [
        "INSERT INTO summary_volunteer_months (status, volunteer, month, minutes, records) "
        "VALUES (new.status, new.volunteer, new.month, new.sign * new.minutes, new.sign) "
        "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records",
        "DELETE FROM summary_volunteer_months WHERE status = new.status AND volunteer = new.volunteer "
        "AND month = new.month AND records = 0",
        "INSERT INTO summary_volunteer_years (status, year, volunteer, minutes, records) "
        "VALUES (new.status, CAST(substr(new.month, 1, 4) AS INTEGER), new.volunteer, new.sign * new.minutes, new.sign) "
        "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records",
        "DELETE FROM summary_volunteer_years WHERE status = new.status AND year = CAST(substr(new.month, 1, 4) AS INTEGER) "
        "AND volunteer = new.volunteer AND records = 0",
        "INSERT INTO summary_volunteers (status, volunteer, minutes, records) "
        "VALUES (new.status, new.volunteer, new.sign * new.minutes, new.sign) "
        "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records",
        "DELETE FROM summary_volunteers WHERE status = new.status AND volunteer = new.volunteer AND records = 0",
    ]
    for name, k1, k2, month in _GROUPINGS_DELTA:
        key = f"status = new.status AND grouping = '{name}' AND k1 = {k1} AND k2 = {k2} AND month = {month}"
        statements += [
            "INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records) "
            f"VALUES (new.status, '{name}', {k1}, {k2}, {month}, new.volunteer, new.sign * new.minutes, new.sign) "
            "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records",
            # A volunteer joins the group's distinct count with their first record and leaves it with their last.
            "INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers) "
            f"VALUES (new.status, '{name}', {k1}, {k2}, {month}, new.sign * new.minutes, new.sign, "
            f"(SELECT CASE WHEN new.sign = 1 AND records = 1 THEN 1 WHEN new.sign = -1 AND records = 0 THEN -1 "
            f"ELSE 0 END FROM summary_group_members WHERE {key} AND volunteer = new.volunteer)) "
            "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records, "
            "volunteers = volunteers + excluded.volunteers",
            f"DELETE FROM summary_group_members WHERE {key} AND volunteer = new.volunteer AND records = 0",
            f"DELETE FROM summary_groups WHERE {key} AND records = 0",
        ]
    # The subtree grouping: the record counts for its organiser and every organisation above it.
    key = ("status = new.status AND grouping = 'subtree' AND k1 IN "
           "(SELECT ancestor FROM organisation_tree WHERE descendant = new.organiser) AND k2 = '' AND month = new.month")
    statements += [
        "INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records) "
        "SELECT new.status, 'subtree', t.ancestor, '', new.month, new.volunteer, new.sign * new.minutes, new.sign "
        f"FROM organisation_tree t WHERE t.descendant = new.organiser {_ADD_MEMBERS}",
        "INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers) "
        "SELECT new.status, 'subtree', m.k1, '', new.month, new.sign * new.minutes, new.sign, "
        "CASE WHEN new.sign = 1 AND m.records = 1 THEN 1 WHEN new.sign = -1 AND m.records = 0 THEN -1 ELSE 0 END "
        "FROM organisation_tree t JOIN summary_group_members m ON m.status = new.status AND m.grouping = 'subtree' "
        "AND m.k1 = t.ancestor AND m.k2 = '' AND m.month = new.month AND m.volunteer = new.volunteer "
        f"WHERE t.descendant = new.organiser {_ADD_GROUPS}",
        f"DELETE FROM summary_group_members WHERE {key} AND volunteer = new.volunteer AND records = 0",
        f"DELETE FROM summary_groups WHERE {key} AND records = 0",
    ]
    statements.append("DELETE FROM summary_delta WHERE rowid = new.rowid")
    return "; ".join(statements)


def _delta(sign: str, row: str) -> str:
    # One record's contribution; the activity's keys are read as they stand when the trigger runs.
    return (
        "INSERT INTO summary_delta (sign, status, volunteer, month, minutes, organiser, studio, category) "
        f"SELECT {sign}, {row}.status, {row}.volunteer, substr({row}.start, 1, 7), {row}.minutes, "
        f"coalesce(a.organiser, ''), coalesce(a.studio, ''), coalesce(a.category, '') "
        f"FROM activities a WHERE a.id = {row}.activity"
    )


_MOVED = (
    "INSERT INTO summary_delta (sign, status, volunteer, month, minutes, organiser, studio, category) "
    "SELECT {sign}, r.status, r.volunteer, substr(r.start, 1, 7), r.minutes, coalesce({a}.organiser, ''), "
    "coalesce({a}.studio, ''), coalesce({a}.category, '') FROM service_records r WHERE r.activity = {a}.id"
)

# Volunteer {v} into summary_unserved, if they exist and have no verified service.
_UNSERVED = (
    "INSERT OR REPLACE INTO summary_unserved (volunteer, number, name) SELECT v.id, v.number, p.name "
    "FROM volunteers v JOIN people p ON p.id = v.person WHERE v.id = {v} AND NOT EXISTS "
    "(SELECT 1 FROM summary_volunteers g WHERE g.status = 'verified' AND g.volunteer = v.id)"
)

TRIGGERS: dict[str, str] = {
    "summary_delta_apply": f"AFTER INSERT ON summary_delta BEGIN {_apply_delta()}; END",
    # Off while a batch of insert_records is being written: the batch reaches the summaries set-based.
    "summary_record_insert": "AFTER INSERT ON service_records "
    f"WHEN NOT EXISTS (SELECT 1 FROM summary_control WHERE bulk = 1) BEGIN {_delta('1', 'new')}; END",
    "summary_record_delete": f"AFTER DELETE ON service_records BEGIN {_delta('-1', 'old')}; END",
    "summary_record_update": "AFTER UPDATE OF status, volunteer, activity, start, minutes ON service_records "
    "WHEN old.status IS NOT new.status OR old.volunteer IS NOT new.volunteer OR old.activity IS NOT new.activity "
    "OR old.start IS NOT new.start OR old.minutes IS NOT new.minutes "
    f"BEGIN {_delta('-1', 'old')}; {_delta('1', 'new')}; END",
    # An activity's new organiser, studio or category moves all its records' minutes between groups.
    "summary_activity_update": "AFTER UPDATE OF organiser, studio, category ON activities "
    "WHEN old.organiser IS NOT new.organiser OR old.studio IS NOT new.studio OR old.category IS NOT new.category "
    f"BEGIN {_MOVED.format(sign='-1', a='old')}; {_MOVED.format(sign='1', a='new')}; END",
    "summary_activity_rekey": "AFTER UPDATE OF id ON activities WHEN old.id IS NOT new.id "
    "BEGIN SELECT RAISE(ABORT, 'an activity id never changes'); END",
    # The closure of the organisation tree: a new organisation sits under its parent's ancestors.
    "organisation_tree_insert": "AFTER INSERT ON organisations BEGIN "
    "INSERT INTO organisation_tree (ancestor, descendant, depth) VALUES (new.id, new.id, 0); "
    "INSERT INTO organisation_tree (ancestor, descendant, depth) "
    "SELECT ancestor, new.id, depth + 1 FROM organisation_tree WHERE descendant = new.parent; END",
    # A new parent moves the whole subtree: links from the old ancestors go, links from the new ones come,
    # and so do the subtree's minutes, records and volunteers in the ancestors' subtree rows.
    "organisation_tree_reparent": "AFTER UPDATE OF parent ON organisations WHEN old.parent IS NOT new.parent BEGIN "
    "SELECT RAISE(ABORT, 'an organisation cannot be placed under itself') "
    "WHERE new.parent IN (SELECT descendant FROM organisation_tree WHERE ancestor = new.id); "
    f"{_move_subtree('new.id', -1)}; "
    "DELETE FROM organisation_tree WHERE descendant IN (SELECT descendant FROM organisation_tree WHERE ancestor = new.id) "
    "AND ancestor NOT IN (SELECT descendant FROM organisation_tree WHERE ancestor = new.id); "
    "INSERT INTO organisation_tree (ancestor, descendant, depth) "
    "SELECT a.ancestor, s.descendant, a.depth + s.depth + 1 FROM organisation_tree a, organisation_tree s "
    "WHERE a.descendant = new.parent AND s.ancestor = new.id; "
    f"{_move_subtree('new.id', 1)}; END",
    "organisation_tree_rekey": "AFTER UPDATE OF id ON organisations WHEN old.id IS NOT new.id "
    "BEGIN SELECT RAISE(ABORT, 'an organisation id never changes'); END",
    "organisation_tree_delete": "AFTER DELETE ON organisations BEGIN "
    "DELETE FROM organisation_tree WHERE descendant = old.id OR ancestor = old.id; END",
    # A volunteer's new summary row (from a trigger, a batch, or a row restored without them) gets their
    # number and name; an existing row keeps them, and they follow the person's name, the volunteer's
    # number and the person the registration belongs to (a merge moves a registration to the kept person).
    **{
        f"{table}_label": f"AFTER INSERT ON {table} WHEN new.number IS NULL BEGIN "
        f"UPDATE {table} SET (number, name) = (SELECT v.number, p.name FROM volunteers v JOIN people p "
        "ON p.id = v.person WHERE v.id = new.volunteer) WHERE rowid = new.rowid; END"
        for table in ("summary_volunteers", "summary_volunteer_years")
    },
    "summary_people_name": "AFTER UPDATE OF name ON people WHEN old.name IS NOT new.name BEGIN "
    f"UPDATE summary_volunteers SET name = new.name WHERE status IN {_STATUSES} "
    "AND volunteer IN (SELECT id FROM volunteers WHERE person = new.id); "
    "UPDATE summary_volunteer_years SET name = new.name WHERE (status, year, volunteer) IN "
    "(SELECT status, CAST(substr(month, 1, 4) AS INTEGER), volunteer FROM summary_volunteer_months "
    f"WHERE status IN {_STATUSES} AND volunteer IN (SELECT id FROM volunteers WHERE person = new.id)); "
    "UPDATE summary_unserved SET name = new.name WHERE volunteer IN (SELECT id FROM volunteers WHERE person = new.id); "
    "END",
    "summary_volunteer_label": "AFTER UPDATE OF number, person ON volunteers "
    "WHEN old.number IS NOT new.number OR old.person IS NOT new.person BEGIN "
    "UPDATE summary_volunteers SET number = new.number, name = (SELECT name FROM people WHERE id = new.person) "
    f"WHERE status IN {_STATUSES} AND volunteer = new.id; "
    "UPDATE summary_volunteer_years SET number = new.number, name = (SELECT name FROM people WHERE id = new.person) "
    "WHERE (status, year, volunteer) IN (SELECT status, CAST(substr(month, 1, 4) AS INTEGER), volunteer "
    f"FROM summary_volunteer_months WHERE status IN {_STATUSES} AND volunteer = new.id); "
    "UPDATE summary_unserved SET number = new.number, name = (SELECT name FROM people WHERE id = new.person) "
    "WHERE volunteer = new.id; END",
    # summary_unserved: every volunteer without a verified summary row (no verified service), so that star
    # levels list them after everyone else from one index instead of probing the summary for each volunteer.
    "summary_unserved_registered": "AFTER INSERT ON volunteers BEGIN "
    f"{_UNSERVED.format(v='new.id')}; END",
    "summary_unserved_gone": "AFTER DELETE ON volunteers BEGIN "
    "DELETE FROM summary_unserved WHERE volunteer = old.id; END",
    "summary_unserved_served": "AFTER INSERT ON summary_volunteers WHEN new.status = 'verified' BEGIN "
    "DELETE FROM summary_unserved WHERE volunteer = new.volunteer; END",
    "summary_unserved_unserved": "AFTER DELETE ON summary_volunteers WHEN old.status = 'verified' BEGIN "
    f"{_UNSERVED.format(v='old.volunteer')}; END",
}
"""Every trigger that keeps the summaries and the organisation closure exact, by name (``CREATE TRIGGER name``
followed by the text)."""


def install_triggers(db: Database) -> None:
    """(Re)create every trigger of :data:`TRIGGERS` (a migration calls this; nothing else should)."""
    for name, body in TRIGGERS.items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(f"CREATE TRIGGER {name} {body}")


# -- batches -------------------------------------------------------------------------------------------------

# A batch is every row whose rowid is above the largest one before it: ``service_records`` has no AUTOINCREMENT,
# so SQLite gives new rows max(rowid) + 1, and no other connection can write meanwhile (we hold the write lock).
# The one exception (the largest rowid already at 2**63 - 1, when SQLite picks random free rowids) is detected
# by counting, and the rows then go through the triggers instead.
#
# The new rows are read once, by rowid range (``NOT INDEXED`` and ``CROSS JOIN`` keep SQLite from planning a
# scan of the status index or of every activity, which it otherwise picks for a bound parameter it cannot see),
# and added up per status, volunteer, month and activity into ``temp.volreg_bulk_cells`` with the activity's
# keys as they stand now (as the insert trigger reads them); every summary is then added up from those cells.
_CELLS = "temp.volreg_bulk_cells"
_MEMBERS_OF_BATCH = "temp.volreg_bulk_members"
_PENDING = "temp.volreg_bulk_pending"
_MAKE_BATCH = (
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_cells (status TEXT, volunteer TEXT, month TEXT, organiser TEXT, "
    "studio TEXT, category TEXT, minutes INTEGER, records INTEGER)",
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_members (status TEXT, grouping TEXT, k1 TEXT, k2 TEXT, "
    "month TEXT, volunteer TEXT, minutes INTEGER, records INTEGER)",
    # At most one row: the largest rowid before the first batch waiting, after the last, and how many.
    "CREATE TEMP TABLE IF NOT EXISTS volreg_bulk_pending (since INTEGER NOT NULL, last INTEGER NOT NULL, "
    "count INTEGER NOT NULL)",
)
_FILL_CELLS = (
    f"INSERT INTO {_CELLS} SELECT r.status, r.volunteer, substr(r.start, 1, 7), coalesce(a.organiser, ''), "
    "coalesce(a.studio, ''), coalesce(a.category, ''), sum(r.minutes), count(*) "
    "FROM service_records AS r NOT INDEXED CROSS JOIN activities a ON a.id = r.activity WHERE r.rowid > ? "
    "GROUP BY r.status, r.volunteer, 3, r.activity"
)
_ADD = "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records"
_VOLUNTEER_MONTHS = (
    "INSERT INTO summary_volunteer_months (status, volunteer, month, minutes, records) "
    f"SELECT status, volunteer, month, sum(minutes), sum(records) FROM {_CELLS} WHERE true GROUP BY 1, 2, 3 {_ADD}"
)
_VOLUNTEER_YEARS = (
    "INSERT INTO summary_volunteer_years (status, year, volunteer, minutes, records) "
    "SELECT status, CAST(substr(month, 1, 4) AS INTEGER), volunteer, sum(minutes), sum(records) "
    f"FROM {_CELLS} WHERE true GROUP BY 1, 2, 3 {_ADD}"
)
_VOLUNTEERS = (
    "INSERT INTO summary_volunteers (status, volunteer, minutes, records) "
    f"SELECT status, volunteer, sum(minutes), sum(records) FROM {_CELLS} WHERE true GROUP BY 1, 2 {_ADD}"
)
_GROUPINGS = (
    ("organisation", "organiser", "''", "month"),
    ("studio", "studio", "''", "month"),
    ("studio_category", "studio", "category", "''"),
)
# Each (group, volunteer) pair of the batch with its minutes and records; each record also counts in the
# subtree of every organisation above its organiser (itself included).
_FILL_BATCH_MEMBERS = f"INSERT INTO {_MEMBERS_OF_BATCH} " + " UNION ALL ".join(
    f"SELECT status, '{name}', {k1}, {k2}, {month}, volunteer, sum(minutes), sum(records) FROM {_CELLS} "
    "GROUP BY 1, 3, 4, 5, 6"
    for name, k1, k2, month in _GROUPINGS
) + (
    " UNION ALL SELECT c.status, 'subtree', t.ancestor, '', c.month, c.volunteer, sum(c.minutes), sum(c.records) "
    f"FROM {_CELLS} c CROSS JOIN organisation_tree t ON t.descendant = c.organiser GROUP BY 1, 3, 5, 6"
)
# A volunteer joins a group's distinct count when the batch brings their first record to it: read before
# the members are updated.
_GROUPS = (
    "INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers) "
    "SELECT b.status, b.grouping, b.k1, b.k2, b.month, sum(b.minutes), sum(b.records), "
    "sum(NOT EXISTS (SELECT 1 FROM summary_group_members m WHERE m.status = b.status AND m.grouping = b.grouping "
    "AND m.k1 = b.k1 AND m.k2 = b.k2 AND m.month = b.month AND m.volunteer = b.volunteer)) "
    f"FROM {_MEMBERS_OF_BATCH} b WHERE true GROUP BY 1, 2, 3, 4, 5 "
    "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records, "
    "volunteers = volunteers + excluded.volunteers"
)
_MEMBERS = (
    "INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records) "
    f"SELECT status, grouping, k1, k2, month, volunteer, minutes, records FROM {_MEMBERS_OF_BATCH} WHERE true {_ADD}"
)
BATCH_READS = (_FILL_CELLS,)
"""The statements of :class:`BulkInsert` that read the new records (their plans must read only those)."""


class _NotContiguous(Exception):
    """The new rows did not get the rowids above the old maximum; undo and take the per-row path."""


class BulkInsert:
    """New service records written in batches, and added to the summaries once, set-based, for all of them.

    :meth:`insert` writes a batch with the per-row insert trigger dropped (any ``AFTER INSERT`` trigger, even
    one whose ``WHEN`` is false, doubles the cost of an insert) and recreated exactly as it was stored, in one
    savepoint, so that no other connection ever sees the table without it.  The summaries of every batch
    written so far are added at :meth:`apply`, which runs by itself just before the write transaction
    commits (:meth:`Store.before_commit <volreg.store.db.Store.before_commit>`): a large import adds up the
    whole file once instead of once per batch.

    What is waiting is kept in the connection's temporary ``volreg_bulk_pending`` table, so it rolls back
    with the records: a savepoint or transaction undone takes its batches with it.  Until :meth:`apply`,
    nothing but :meth:`insert` may write service records or change an activity's keys (the triggers would
    count, or move, minutes the summaries do not hold yet): call :meth:`apply` first.  A record inserted by
    anything else meanwhile is noticed and refused as a :class:`~volreg.Conflict`, so the transaction rolls
    back instead of counting it twice.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BulkInsert) and other.store is self.store

    def __hash__(self) -> int:
        return id(self.store)

    def _pending(self) -> tuple[int, int, int] | None:
        conn = self.store.db.conn
        for statement in _MAKE_BATCH:
            conn.execute(statement)
        row = conn.execute(f"SELECT since, last, count FROM {_PENDING}").fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write complete ``service_records`` rows (sharing their columns), none of which exists yet.

        Raises:
            Conflict: a row breaks a constraint of the table, or a record was written by something else
                since the last batch; nothing of this batch is written.
        """
        if not rows:
            return
        store = self.store
        conn = store.db.conn
        try:
            with store.write():
                pending = self._pending()
                before = conn.execute("SELECT coalesce(max(rowid), 0) FROM service_records").fetchone()[0]
                if pending is not None and before != pending[1]:
                    raise Conflict("service records were written while earlier batches of new records waited "
                                   "for their summaries; nothing of this batch is written")
                trigger = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                       "AND name = 'summary_record_insert'").fetchone()
                if trigger is not None:
                    conn.execute("DROP TRIGGER summary_record_insert")
                store.insert_many("service_records", rows)
                if trigger is not None:
                    conn.execute(trigger[0])
                added = conn.execute("SELECT count(*) FROM service_records WHERE rowid > ?", [before]).fetchone()[0]
                if added != len(rows):
                    raise _NotContiguous
                last = conn.execute("SELECT max(rowid) FROM service_records").fetchone()[0]
                if pending is None:
                    conn.execute(f"INSERT INTO {_PENDING} (since, last, count) VALUES (?, ?, ?)",
                                 [before, last, len(rows)])
                else:
                    conn.execute(f"UPDATE {_PENDING} SET last = ?, count = count + ?", [last, len(rows)])
                store.before_commit(self.apply)
        except _NotContiguous:
            with store.write():
                self.apply()
                store.insert_many("service_records", rows)

    def apply(self) -> None:
        """Add every record written by :meth:`insert` and not yet applied to the summaries (if any).

        Raises:
            Conflict: the records above the batches' first rowid are not exactly the batches' (something
                else wrote records meanwhile); the caller's transaction must roll back.
        """
        conn = self.store.db.conn
        with self.store.write():
            pending = self._pending()
            if pending is None:
                return
            since, _, count = pending
            found = conn.execute("SELECT count(*) FROM service_records WHERE rowid > ?", [since]).fetchone()[0]
            if found != count:
                raise Conflict(f"{found - count} service record(s) were written while {count} new records waited "
                               "for their summaries; the summaries would count them twice")
            conn.execute(_FILL_CELLS, [since])
            conn.execute(_VOLUNTEER_MONTHS)
            conn.execute(_VOLUNTEER_YEARS)
            conn.execute(_VOLUNTEERS)
            conn.execute(_FILL_BATCH_MEMBERS)
            conn.execute(_GROUPS)
            conn.execute(_MEMBERS)
            for table in (_CELLS, _MEMBERS_OF_BATCH, _PENDING):
                conn.execute(f"DELETE FROM {table}")


def insert_records(store: Store, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new service-record rows (sharing their columns) and add them to the summaries set-based.

    One :class:`BulkInsert` of one batch, applied at once, all in one savepoint inside the caller's
    transaction: a failure anywhere leaves the records and the summaries as they were.

    Args:
        store: the registry's store; called inside its write transaction or on its own.
        rows: complete ``service_records`` rows, none of which exists yet.

    Raises:
        Conflict: a row breaks a constraint of the table; nothing is written.
    """
    if not rows:
        return
    with store.write():
        bulk = BulkInsert(store)
        bulk.insert(rows)
        bulk.apply()


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
_KEY_NAMES = {
    "organisation": (("organisation", "NULLIF(x.k1, '')"), ("organisation_name", "o.name")),
    "studio": (("studio", "NULLIF(x.k1, '')"), ("studio_name", no_studio_name("NULLIF(x.k1, '')", "s.name"))),
}
# Names are joined onto the aggregated rows, one look-up per group rather than one per summary row.
_NAME_JOINS = {
    "volunteer": "JOIN volunteers v INDEXED BY volunteers_id_cover ON v.id = x.volunteer JOIN people p INDEXED BY people_name_cover ON p.id = v.person",
    "organisation": "LEFT JOIN organisations o ON o.id = x.k1",
    "studio": "LEFT JOIN studios s ON s.id = x.k1",
}
_OUTER_MEASURES = "x.minutes AS minutes, ROUND(x.minutes / 60.0, 2) AS hours, x.records AS records, x.volunteers AS volunteers"


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
            "ROUND(g.minutes / 60.0, 2) AS hours, g.records AS records, g.volunteers AS volunteers "
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
            order.append("x.k1 = '', x.k1" if name == "studio" else "x.k1")
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
        "ROUND(g.minutes / 60.0, 2) AS hours, g.records AS records, 1 AS volunteers "
        "FROM volunteers v INDEXED BY volunteers_number_cover CROSS JOIN summary_volunteers g "
        "ON g.status = ? AND g.volunteer = v.id ORDER BY v.number"
    )


def top_volunteers_sql(status: str, top: int) -> tuple[str, list[Any]]:
    """The ``top`` volunteers by minutes of one status, read from the largest totals down.

    Every volunteer tied with the last place is a candidate, so ties still go by number.
    """
    sql = (
        "SELECT g.volunteer AS volunteer, g.name AS volunteer_name, g.number AS volunteer_number, "
        "g.minutes AS minutes, ROUND(g.minutes / 60.0, 2) AS hours, g.records AS records, 1 AS volunteers "
        "FROM summary_volunteers g INDEXED BY summary_volunteers_stars "
        "WHERE g.status = ? AND g.minutes >= "
        "COALESCE((SELECT minutes FROM summary_volunteers WHERE status = ? ORDER BY minutes DESC LIMIT 1 OFFSET ?), 0)"
        " ORDER BY g.minutes DESC, g.number, g.volunteer LIMIT ?"
    )
    return sql, [status, status, top - 1, top]


def hours_expr(minutes: str) -> str:
    """SQL for ``minutes`` (a whole number >= 0) as hours rounded to two decimals, without ``ROUND``.

    ``minutes * 100 / 60`` is ``5 * minutes / 3``, which never ends in exactly one half, so rounding it
    half up is the integer ``(5 * minutes + 1) / 3``; divided by 100.0 it is the double nearest to the
    decimal, the value ``ROUND(minutes / 60.0, 2)`` gives, at a fraction of its cost (``ROUND`` prints and
    parses the number).  The two were compared for every whole number of minutes up to 60,000,000 (114
    years of service); ``tests/test_summaries.py`` compares them up to 1,000,000.
    """
    return f"((({minutes}) * 5 + 1) / 3) / 100.0"


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
