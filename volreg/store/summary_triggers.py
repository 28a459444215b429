"""The triggers that keep the summaries and the organisation closure exact, inside the statement of each write.

A record's insert, status change or delete, and a change of its activity's organiser, studio or category,
insert one row into ``summary_delta`` carrying one record's contribution with a sign; the
``summary_delta_apply`` trigger adds it to every summary table (to the ``subtree`` rows of every organisation
above the record's organiser, through the closure) and deletes it again.  Organisations keep
``organisation_tree`` by their own triggers (insert, change of parent, delete); a change of parent also takes
the moved subtree's ``subtree`` rows away from its old ancestors and adds them to its new ones.  What the
tables hold is described in :mod:`volreg.store.summaries`.

The migrations ``m014_speed`` and ``m015_query_summaries`` (re)install :data:`TRIGGERS`; a later change of a
trigger here comes with a migration that calls :func:`install_triggers` again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = ["TRIGGERS", "install_triggers"]

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
    # Dropped while a batch of new records is written (volreg.store.bulk): the batch reaches the summaries
    # set-based.
    "summary_record_insert": f"AFTER INSERT ON service_records BEGIN {_delta('1', 'new')}; END",
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
