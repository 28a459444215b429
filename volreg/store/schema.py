"""The schema, as numbered migrations that are never edited once shipped.

Add a change as a new function ``mNNN_<what>`` at the end of this file. ``migrate`` refuses a database that
has migrations this version does not know (it was written by a newer volreg) rather than touch it.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database, Migrations

from ..errors import SchemaTooNew

__all__ = ["MIGRATIONS", "migrate", "run_script"]

MIGRATIONS = Migrations("volreg")

log = logging.getLogger("volreg")


def run_script(db: Database, script: str) -> None:
    """Run ``;``-separated statements one by one (``executescript`` would commit the migration's transaction)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@MIGRATIONS()
def m001_core(db: Database) -> None:
    """People, volunteers, organisations, studios, vocabulary, activities, settings and the journal."""
    run_script(
        db,
        """
        CREATE TABLE registry_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE people (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            gender TEXT CHECK (gender IN ('male', 'female')),
            birth_date TEXT,
            id_digest TEXT UNIQUE,
            id_masked TEXT,
            phone TEXT,
            area TEXT NOT NULL DEFAULT '',
            consent INTEGER NOT NULL DEFAULT 0,
            anonymised INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE organisations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            parent TEXT REFERENCES organisations(id)
        );
        CREATE INDEX organisations_parent ON organisations(parent);
        CREATE TABLE categories (
            code TEXT NOT NULL,
            vocabulary TEXT NOT NULL,
            label TEXT NOT NULL,
            PRIMARY KEY (code, vocabulary),
            UNIQUE (label, vocabulary)
        );
        CREATE TABLE volunteers (
            id TEXT PRIMARY KEY,
            person TEXT NOT NULL UNIQUE REFERENCES people(id),
            number TEXT NOT NULL UNIQUE,
            registered_on TEXT NOT NULL,
            organisation TEXT REFERENCES organisations(id),
            skills TEXT NOT NULL DEFAULT '[]',
            categories TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'suspended', 'withdrawn', 'anonymised')),
            guardian_consent INTEGER NOT NULL DEFAULT 0,
            status_since TEXT
        );
        CREATE INDEX volunteers_organisation ON volunteers(organisation);
        CREATE TABLE studios (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            founder TEXT REFERENCES people(id),
            focus TEXT,
            organisation TEXT REFERENCES organisations(id),
            established_on TEXT
        );
        CREATE TABLE activity_series (
            id TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            first_start TEXT NOT NULL,
            occurrences INTEGER NOT NULL
        );
        CREATE TABLE activities (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind IN ('volunteer_service', 'moral_lecture', 'ceremony', 'other')),
            category TEXT,
            theme TEXT NOT NULL DEFAULT '',
            organiser TEXT REFERENCES organisations(id),
            studio TEXT REFERENCES studios(id),
            start TEXT NOT NULL,
            "end" TEXT NOT NULL,
            start_utc TEXT NOT NULL,
            end_utc TEXT NOT NULL,
            location TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL DEFAULT '',
            leader TEXT NOT NULL DEFAULT '',
            series TEXT REFERENCES activity_series(id),
            occurrence INTEGER,
            CHECK (end_utc > start_utc)
        );
        CREATE INDEX activities_organiser ON activities(organiser);
        CREATE INDEX activities_studio ON activities(studio);
        CREATE INDEX activities_start ON activities(start);
        CREATE INDEX activities_series ON activities(series);
        CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            before TEXT,
            after TEXT,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX journal_entity_id ON journal(entity_id)
        """,
    )


@MIGRATIONS()
def m002_service_ledger(db: Database) -> None:
    """Service records: append-only versions with the instants that let a query see the ledger as of any time.

    A record is verified at instant T when ``verified_at <= T`` and it was not yet closed
    (``closed_at IS NULL OR closed_at > T``); a correction closes the old version and adds a new one
    that ``supersedes`` it, so nothing is overwritten.
    """
    run_script(
        db,
        """
        CREATE TABLE service_records (
            id TEXT PRIMARY KEY,
            lineage TEXT NOT NULL,
            supersedes TEXT REFERENCES service_records(id),
            volunteer TEXT NOT NULL REFERENCES volunteers(id),
            activity TEXT NOT NULL REFERENCES activities(id),
            start TEXT NOT NULL,
            "end" TEXT,
            start_utc TEXT NOT NULL,
            end_utc TEXT,
            minutes INTEGER NOT NULL CHECK (minutes > 0 AND minutes <= 1440),
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'verified', 'rejected', 'superseded', 'void')),
            source TEXT NOT NULL CHECK (source IN ('organiser', 'self', 'check_in', 'import')),
            recorded_at TEXT NOT NULL,
            recorded_by TEXT,
            verified_at TEXT,
            verified_by TEXT,
            closed_at TEXT,
            closed_by TEXT,
            reason TEXT NOT NULL DEFAULT '',
            late INTEGER NOT NULL DEFAULT 0,
            note TEXT NOT NULL DEFAULT '',
            external_id TEXT UNIQUE
        );
        CREATE INDEX service_records_volunteer ON service_records(volunteer, start_utc);
        CREATE INDEX service_records_activity ON service_records(activity);
        CREATE INDEX service_records_status ON service_records(status, start);
        CREATE INDEX service_records_lineage ON service_records(lineage)
        """,
    )


@MIGRATIONS()
def m003_honours(db: Database) -> None:
    """Honour titles, editions, families, memberships, awards, nominations and their review.

    Seeds the five standard good-person categories (vocabulary ``honour``) and the national titles, so that
    a database upgraded from an earlier schema has them as well as a new one.  The seed data is written out
    here rather than imported, because a shipped migration must not change when a constant does.
    """
    run_script(
        db,
        """
        CREATE TABLE honour_titles (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            level TEXT NOT NULL CHECK (level IN ('national', 'provincial', 'city', 'district')),
            recipient TEXT NOT NULL CHECK (recipient IN ('person', 'family', 'group')),
            cadence TEXT NOT NULL CHECK (cadence IN ('monthly', 'quarterly', 'annual', 'edition')),
            categories TEXT NOT NULL DEFAULT '[]',
            age_min INTEGER,
            age_max INTEGER,
            once INTEGER NOT NULL DEFAULT 1,
            rubric TEXT NOT NULL DEFAULT '{"overall": 1}',
            publicity_days INTEGER NOT NULL DEFAULT 7 CHECK (publicity_days >= 1),
            predefined INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE honour_counts_as (
            honour TEXT NOT NULL REFERENCES honour_titles(code),
            counts_as TEXT NOT NULL REFERENCES honour_titles(code),
            PRIMARY KEY (honour, counts_as),
            CHECK (honour <> counts_as)
        );
        CREATE INDEX honour_counts_as_lower ON honour_counts_as(counts_as);
        CREATE TABLE honour_editions (
            id TEXT PRIMARY KEY,
            honour TEXT NOT NULL REFERENCES honour_titles(code),
            number INTEGER NOT NULL CHECK (number >= 1),
            year INTEGER NOT NULL,
            ceremony_on TEXT,
            title TEXT NOT NULL DEFAULT '',
            UNIQUE (honour, number)
        );
        CREATE TABLE families (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            area TEXT NOT NULL DEFAULT '',
            consent INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE family_members (
            family TEXT NOT NULL REFERENCES families(id),
            person TEXT NOT NULL REFERENCES people(id),
            role TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (family, person)
        );
        CREATE INDEX family_members_person ON family_members(person);
        CREATE TABLE memberships (
            person TEXT NOT NULL REFERENCES people(id),
            organisation TEXT NOT NULL REFERENCES organisations(id),
            role TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (person, organisation)
        );
        CREATE INDEX memberships_organisation ON memberships(organisation);
        CREATE TABLE nominations (
            id TEXT PRIMARY KEY,
            honour TEXT NOT NULL REFERENCES honour_titles(code),
            nominee_kind TEXT NOT NULL CHECK (nominee_kind IN ('person', 'family', 'group')),
            person TEXT REFERENCES people(id),
            family TEXT REFERENCES families(id),
            organisation TEXT REFERENCES organisations(id),
            category TEXT,
            period TEXT NOT NULL,
            year INTEGER NOT NULL,
            edition TEXT REFERENCES honour_editions(id),
            nominator_kind TEXT NOT NULL CHECK (nominator_kind IN ('person', 'organisation', 'self')),
            nominator_person TEXT REFERENCES people(id),
            nominator_organisation TEXT REFERENCES organisations(id),
            deed TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'submitted' CHECK (status IN (
                'submitted', 'verified', 'public_review', 'expert_review', 'publicity',
                'awarded', 'not_selected', 'rejected', 'withdrawn')),
            reached INTEGER NOT NULL DEFAULT 0,
            submitted_at TEXT NOT NULL,
            status_at TEXT NOT NULL,
            review_opens TEXT,
            review_closes TEXT,
            publicity_opens TEXT,
            publicity_closes TEXT,
            reason TEXT NOT NULL DEFAULT '',
            external_id TEXT UNIQUE,
            CHECK ((person IS NOT NULL) + (family IS NOT NULL) + (organisation IS NOT NULL) = 1)
        );
        CREATE INDEX nominations_honour ON nominations(honour, year, status);
        CREATE INDEX nominations_person ON nominations(person);
        CREATE INDEX nominations_family ON nominations(family);
        CREATE INDEX nominations_organisation ON nominations(organisation);
        CREATE TABLE nomination_transitions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            nomination TEXT NOT NULL REFERENCES nominations(id),
            from_status TEXT,
            to_status TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX nomination_transitions_nomination ON nomination_transitions(nomination, seq);
        CREATE TABLE endorsements (
            nomination TEXT NOT NULL REFERENCES nominations(id),
            voter TEXT NOT NULL,
            at TEXT NOT NULL,
            comment TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (nomination, voter)
        );
        CREATE TABLE reviewer_assignments (
            nomination TEXT NOT NULL REFERENCES nominations(id),
            reviewer TEXT NOT NULL REFERENCES people(id),
            assigned_at TEXT NOT NULL,
            assigned_by TEXT,
            overrides TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (nomination, reviewer)
        );
        CREATE INDEX reviewer_assignments_reviewer ON reviewer_assignments(reviewer);
        CREATE TABLE review_scores (
            nomination TEXT NOT NULL REFERENCES nominations(id),
            reviewer TEXT NOT NULL REFERENCES people(id),
            scores TEXT NOT NULL,
            total REAL NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (nomination, reviewer)
        );
        CREATE TABLE honours (
            id TEXT PRIMARY KEY,
            honour TEXT NOT NULL REFERENCES honour_titles(code),
            recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('person', 'family', 'group')),
            person TEXT REFERENCES people(id),
            family TEXT REFERENCES families(id),
            organisation TEXT REFERENCES organisations(id),
            category TEXT,
            period TEXT NOT NULL,
            year INTEGER NOT NULL,
            edition TEXT REFERENCES honour_editions(id),
            grade TEXT NOT NULL DEFAULT 'winner' CHECK (grade IN ('winner', 'nomination_award')),
            awarded_on TEXT NOT NULL,
            deed TEXT NOT NULL DEFAULT '',
            nomination TEXT UNIQUE REFERENCES nominations(id),
            promoted_from TEXT UNIQUE REFERENCES honours(id),
            external_id TEXT UNIQUE,
            CHECK ((person IS NOT NULL) + (family IS NOT NULL) + (organisation IS NOT NULL) = 1)
        );
        CREATE INDEX honours_honour ON honours(honour, year);
        CREATE INDEX honours_person ON honours(person);
        CREATE INDEX honours_family ON honours(family);
        CREATE INDEX honours_organisation ON honours(organisation)
        """,
    )
    five = '["helping_others", "bravery", "honesty", "dedication", "filial_piety"]'
    db.conn.executemany(
        "INSERT INTO categories (code, vocabulary, label) VALUES (?, 'honour', ?)",
        [
            ("helping_others", "助人为乐"),
            ("bravery", "见义勇为"),
            ("honesty", "诚实守信"),
            ("dedication", "敬业奉献"),
            ("filial_piety", "孝老爱亲"),
        ],
    )
    db.conn.executemany(
        "INSERT INTO honour_titles (code, name, level, recipient, cadence, categories, age_min, age_max, "
        "predefined) VALUES (?, ?, 'national', ?, ?, ?, ?, ?, 1)",
        [
            # 中国好人榜: monthly until about 2021, quarterly since 2022 (older monthly periods stay valid).
            ("china_good_person", "中国好人", "person", "quarterly", five, None, None),
            ("national_moral_model", "全国道德模范", "person", "edition", five, None, None),
            # 新时代好少年: young people, in principle aged 6–18.
            ("new_era_good_youth", "新时代好少年", "person", "annual", "[]", 6, 18),
            ("national_civilised_family", "全国文明家庭", "family", "edition", "[]", None, None),
        ],
    )


@MIGRATIONS()
def m004_import_identity(db: Database) -> None:
    """The external ids of imported rows, so that importing the same file again changes nothing.

    A row of ``kind`` that carried the external id ``key`` in a file from ``source`` became ``entity_id``.
    Rows without an external id are recognised by their content instead (see :mod:`volreg.io.kinds`), which
    needs no table: content identities are looked up in the entity tables themselves, so erasing a person's
    ID digest (anonymisation) erases that link too.
    """
    run_script(
        db,
        """
        CREATE TABLE import_identity (
            kind TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            key TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            PRIMARY KEY (kind, source, key)
        );
        CREATE INDEX import_identity_entity ON import_identity(entity_id)
        """,
    )


@MIGRATIONS()
def m005_summaries(db: Database) -> None:
    """Summary tables of service minutes, kept exact by triggers in the same transaction as every write.

    The query functions read them instead of ``service_records`` when the question allows it (no ``as_of``,
    periods of whole months); they never disagree with the records, because every change reaches them
    through the triggers below, inside the statement that made it:

    - ``summary_volunteer_months``: per status, volunteer and local month of the record's start;
    - ``summary_volunteers``: per status and volunteer, over all time (top lists, star levels);
    - ``summary_groups``: per status, grouping (``organisation``, ``studio`` by month; ``studio_category``
      over all time, ``month`` = ``''``), its keys and month, with the *distinct* volunteer count kept
      exact by ``summary_group_members`` (one row per volunteer in the group, with their own totals).

    The keys replace on conflict (and the tables keep their rowids) so that restoring an archive, which
    writes the records (filling the summaries through the triggers) and then the summaries' own rows,
    ends with the same rows.  Keys that may be NULL (an activity without a studio or category) are stored as ``''``.  A change goes
    through ``summary_delta``: a trigger adds (``sign`` 1) or takes away (-1) one record's contribution, so
    that a record's insert, status change or delete, and a change of its activity's organiser, studio or
    category, share one piece of arithmetic.  The delta row is deleted as soon as it is applied.
    """
    run_script(
        db,
        """
        CREATE TABLE summary_volunteer_months (
            status TEXT NOT NULL,
            volunteer TEXT NOT NULL,
            month TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            records INTEGER NOT NULL,
            PRIMARY KEY (status, volunteer, month) ON CONFLICT REPLACE
        );
        CREATE INDEX summary_volunteer_months_month ON summary_volunteer_months(status, month, volunteer, minutes, records);
        CREATE TABLE summary_volunteers (
            status TEXT NOT NULL,
            volunteer TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            records INTEGER NOT NULL,
            PRIMARY KEY (status, volunteer) ON CONFLICT REPLACE
        );
        CREATE INDEX summary_volunteers_minutes ON summary_volunteers(status, minutes, volunteer, records);
        CREATE TABLE summary_groups (
            status TEXT NOT NULL,
            grouping TEXT NOT NULL,
            k1 TEXT NOT NULL,
            k2 TEXT NOT NULL,
            month TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            records INTEGER NOT NULL,
            volunteers INTEGER NOT NULL,
            PRIMARY KEY (status, grouping, k1, k2, month) ON CONFLICT REPLACE
        );
        CREATE TABLE summary_group_members (
            status TEXT NOT NULL,
            grouping TEXT NOT NULL,
            k1 TEXT NOT NULL,
            k2 TEXT NOT NULL,
            month TEXT NOT NULL,
            volunteer TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            records INTEGER NOT NULL,
            PRIMARY KEY (status, grouping, k1, k2, month, volunteer) ON CONFLICT REPLACE
        );
        CREATE TABLE summary_delta (
            sign INTEGER NOT NULL,
            status TEXT NOT NULL,
            volunteer TEXT NOT NULL,
            month TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            organiser TEXT NOT NULL,
            studio TEXT NOT NULL,
            category TEXT NOT NULL
        )
        """,
    )
    groupings = (("organisation", "new.organiser", "''", "new.month"), ("studio", "new.studio", "''", "new.month"),
                 ("studio_category", "new.studio", "new.category", "''"))
    apply = [
        "INSERT INTO summary_volunteer_months (status, volunteer, month, minutes, records) "
        "VALUES (new.status, new.volunteer, new.month, new.sign * new.minutes, new.sign) "
        "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records",
        "DELETE FROM summary_volunteer_months WHERE status = new.status AND volunteer = new.volunteer "
        "AND month = new.month AND records = 0",
        "INSERT INTO summary_volunteers (status, volunteer, minutes, records) "
        "VALUES (new.status, new.volunteer, new.sign * new.minutes, new.sign) "
        "ON CONFLICT DO UPDATE SET minutes = minutes + excluded.minutes, records = records + excluded.records",
        "DELETE FROM summary_volunteers WHERE status = new.status AND volunteer = new.volunteer AND records = 0",
    ]
    for name, k1, k2, month in groupings:
        key = f"status = new.status AND grouping = '{name}' AND k1 = {k1} AND k2 = {k2} AND month = {month}"
        apply += [
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
    apply.append("DELETE FROM summary_delta WHERE rowid = new.rowid")
    db.execute(
        "CREATE TRIGGER summary_delta_apply AFTER INSERT ON summary_delta BEGIN "
        + "; ".join(apply) + "; END"
    )

    def delta(sign: str, row: str, activity: str) -> str:
        # One record's contribution; the activity's keys are read as they stand when the trigger runs.
        return (
            "INSERT INTO summary_delta (sign, status, volunteer, month, minutes, organiser, studio, category) "
            f"SELECT {sign}, {row}.status, {row}.volunteer, substr({row}.start, 1, 7), {row}.minutes, "
            f"coalesce(a.organiser, ''), coalesce(a.studio, ''), coalesce(a.category, '') "
            f"FROM activities a WHERE a.id = {activity}"
        )

    db.execute(f"CREATE TRIGGER summary_record_insert AFTER INSERT ON service_records BEGIN {delta('1', 'new', 'new.activity')}; END")
    db.execute(f"CREATE TRIGGER summary_record_delete AFTER DELETE ON service_records BEGIN {delta('-1', 'old', 'old.activity')}; END")
    db.execute(
        "CREATE TRIGGER summary_record_update AFTER UPDATE OF status, volunteer, activity, start, minutes "
        "ON service_records WHEN old.status IS NOT new.status OR old.volunteer IS NOT new.volunteer "
        "OR old.activity IS NOT new.activity OR old.start IS NOT new.start OR old.minutes IS NOT new.minutes "
        f"BEGIN {delta('-1', 'old', 'old.activity')}; {delta('1', 'new', 'new.activity')}; END"
    )
    # An activity's new organiser, studio or category moves all its records' minutes between groups.
    moved = (
        "INSERT INTO summary_delta (sign, status, volunteer, month, minutes, organiser, studio, category) "
        "SELECT {sign}, r.status, r.volunteer, substr(r.start, 1, 7), r.minutes, coalesce({a}.organiser, ''), "
        "coalesce({a}.studio, ''), coalesce({a}.category, '') FROM service_records r WHERE r.activity = {a}.id"
    )
    db.execute(
        "CREATE TRIGGER summary_activity_update AFTER UPDATE OF organiser, studio, category ON activities "
        "WHEN old.organiser IS NOT new.organiser OR old.studio IS NOT new.studio OR old.category IS NOT new.category "
        f"BEGIN {moved.format(sign='-1', a='old')}; {moved.format(sign='1', a='new')}; END"
    )
    db.execute(
        "CREATE TRIGGER summary_activity_rekey AFTER UPDATE OF id ON activities WHEN old.id IS NOT new.id "
        "BEGIN SELECT RAISE(ABORT, 'an activity id never changes'); END"
    )
    # Backfill from the records already there, so an upgraded database is right from the start.
    run_script(
        db,
        """
        INSERT INTO summary_volunteer_months (status, volunteer, month, minutes, records)
            SELECT status, volunteer, substr(start, 1, 7), sum(minutes), count(*) FROM service_records
            GROUP BY status, volunteer, substr(start, 1, 7);
        INSERT INTO summary_volunteers (status, volunteer, minutes, records)
            SELECT status, volunteer, sum(minutes), count(*) FROM service_records GROUP BY status, volunteer;
        INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records)
            SELECT r.status, 'organisation', coalesce(a.organiser, ''), '', substr(r.start, 1, 7), r.volunteer,
                sum(r.minutes), count(*)
            FROM service_records r JOIN activities a ON a.id = r.activity GROUP BY 1, 2, 3, 4, 5, 6;
        INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records)
            SELECT r.status, 'studio', coalesce(a.studio, ''), '', substr(r.start, 1, 7), r.volunteer,
                sum(r.minutes), count(*)
            FROM service_records r JOIN activities a ON a.id = r.activity GROUP BY 1, 2, 3, 4, 5, 6;
        INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records)
            SELECT r.status, 'studio_category', coalesce(a.studio, ''), coalesce(a.category, ''), '', r.volunteer,
                sum(r.minutes), count(*)
            FROM service_records r JOIN activities a ON a.id = r.activity GROUP BY 1, 2, 3, 4, 5, 6;
        INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers)
            SELECT status, grouping, k1, k2, month, sum(minutes), sum(records), count(*)
            FROM summary_group_members GROUP BY status, grouping, k1, k2, month
        """,
    )


@MIGRATIONS()
def m006_views(db: Database) -> None:
    """Readable views for Datasette (and any SQL client): verified hours, nominations, activities, the roll.

    Only verified service counts, as in :func:`volreg.hours`. No view has a phone, ID digest or masked ID
    column; names of people (and families) who have not consented to publication are masked like
    ``王*明`` (``王**家庭``), as on the public honour roll, since a Datasette instance is easily made public.
    The masking is written out in SQL here rather than generated, because a shipped migration must not change.
    """
    run_script(
        db,
        """
        CREATE VIEW hours_by_volunteer AS
        SELECT v.id AS volunteer, v.number AS volunteer_number,
            CASE WHEN p.consent = 1 OR p.name = '' THEN p.name
                 WHEN length(p.name) <= 2 THEN substr(p.name, 1, 1) || '*'
                 ELSE substr(p.name, 1, 1) || replace(hex(zeroblob(length(p.name) - 2)), '00', '*')
                      || substr(p.name, -1) END AS volunteer_name,
            v.organisation AS organisation, o.name AS organisation_name,
            SUM(r.minutes) AS minutes, ROUND(SUM(r.minutes) / 60.0, 2) AS hours, COUNT(*) AS records
        FROM service_records r JOIN volunteers v ON v.id = r.volunteer JOIN people p ON p.id = v.person
        LEFT JOIN organisations o ON o.id = v.organisation
        WHERE r.status = 'verified'
        GROUP BY v.id;

        CREATE VIEW hours_by_month AS
        SELECT substr(r.start, 1, 7) AS month,
            SUM(r.minutes) AS minutes, ROUND(SUM(r.minutes) / 60.0, 2) AS hours, COUNT(*) AS records,
            COUNT(DISTINCT r.volunteer) AS volunteers
        FROM service_records r
        WHERE r.status = 'verified'
        GROUP BY substr(r.start, 1, 7);

        CREATE VIEW hours_by_organisation AS
        SELECT a.organiser AS organisation, o.name AS organisation_name, CAST(substr(r.start, 1, 4) AS INTEGER) AS year,
            SUM(r.minutes) AS minutes, ROUND(SUM(r.minutes) / 60.0, 2) AS hours, COUNT(*) AS records,
            COUNT(DISTINCT r.volunteer) AS volunteers
        FROM service_records r JOIN activities a ON a.id = r.activity
        LEFT JOIN organisations o ON o.id = a.organiser
        WHERE r.status = 'verified'
        GROUP BY a.organiser, CAST(substr(r.start, 1, 4) AS INTEGER);

        CREATE VIEW activity_counts_by_studio AS
        SELECT a.studio AS studio, st.name AS studio_name, CAST(substr(a.start, 1, 4) AS INTEGER) AS year,
            COUNT(DISTINCT a.id) AS activities, COUNT(DISTINCT r.volunteer) AS participants,
            COUNT(r.id) AS service_records, COALESCE(SUM(r.minutes), 0) AS minutes,
            ROUND(COALESCE(SUM(r.minutes), 0) / 60.0, 2) AS hours
        FROM activities a LEFT JOIN service_records r ON r.activity = a.id AND r.status = 'verified'
        LEFT JOIN studios st ON st.id = a.studio
        GROUP BY a.studio, CAST(substr(a.start, 1, 4) AS INTEGER);

        CREATE VIEW nomination_counts AS
        SELECT n.honour AS honour, t.name AS honour_name, t.level AS level, n.year AS year, n.period AS period,
            n.category AS category, c.label AS category_name, n.status AS status,
            COUNT(*) AS nominations, COUNT(DISTINCT coalesce(n.person, n.family, n.organisation)) AS nominees
        FROM nominations n JOIN honour_titles t ON t.code = n.honour
        LEFT JOIN categories c ON c.code = n.category AND c.vocabulary = 'honour'
        GROUP BY n.honour, n.year, n.period, n.category, n.status;

        CREATE VIEW honour_roll_view AS
        SELECT h.id AS id, h.honour AS honour, t.name AS honour_name, t.level AS level,
            h.recipient_kind AS recipient_kind,
            CASE
                WHEN h.recipient_kind = 'group' THEN o.name
                WHEN coalesce(p.consent, fam.consent) = 1 OR coalesce(p.name, fam.name, '') = '' THEN coalesce(p.name, fam.name)
                WHEN h.recipient_kind = 'family' AND fam.name LIKE '%家庭' AND length(fam.name) > 2 THEN
                    CASE WHEN length(fam.name) - 2 <= 2 THEN substr(fam.name, 1, 1) || '*'
                         ELSE substr(fam.name, 1, 1) || replace(hex(zeroblob(length(fam.name) - 4)), '00', '*')
                              || substr(fam.name, length(fam.name) - 2, 1) END || '家庭'
                WHEN h.recipient_kind = 'family' AND fam.name LIKE '%家' AND length(fam.name) > 1 THEN
                    CASE WHEN length(fam.name) - 1 <= 2 THEN substr(fam.name, 1, 1) || '*'
                         ELSE substr(fam.name, 1, 1) || replace(hex(zeroblob(length(fam.name) - 3)), '00', '*')
                              || substr(fam.name, length(fam.name) - 1, 1) END || '家'
                ELSE
                    CASE WHEN length(coalesce(p.name, fam.name)) <= 2 THEN substr(coalesce(p.name, fam.name), 1, 1) || '*'
                         ELSE substr(coalesce(p.name, fam.name), 1, 1)
                              || replace(hex(zeroblob(length(coalesce(p.name, fam.name)) - 2)), '00', '*')
                              || substr(coalesce(p.name, fam.name), -1) END
            END AS recipient_name,
            h.category AS category, c.label AS category_name, h.period AS period, h.year AS year,
            e.number AS edition, h.awarded_on AS awarded_on, h.grade AS grade, h.deed AS deed
        FROM honours h JOIN honour_titles t ON t.code = h.honour
        LEFT JOIN people p ON p.id = h.person LEFT JOIN families fam ON fam.id = h.family
        LEFT JOIN organisations o ON o.id = h.organisation LEFT JOIN honour_editions e ON e.id = h.edition
        LEFT JOIN categories c ON c.code = h.category AND c.vocabulary = 'honour'
        """,
    )


@MIGRATIONS()
def m007_bulk_summaries(db: Database) -> None:
    """A switch that lets a batch of new service records reach the summaries set-based, once per batch.

    Through the per-row triggers of ``m005_summaries`` every inserted record makes a delta row and about
    17 index updates in the summary tables, which costs about seven times the insert itself.  The insert
    trigger now runs only while ``summary_control`` holds no ``bulk = 1`` row; :mod:`volreg.store.bulk`
    sets it inside the write transaction, inserts a batch, adds the batch to each summary table with one
    ``INSERT ... SELECT ... GROUP BY`` and clears it again, so the switch is never seen set outside that
    transaction (a rollback clears it too).  Updates and deletes of records, and changes of activities,
    still go through their triggers, unchanged.  A missing row (an archive written before this migration
    restores the table empty) means "not bulk", so the triggers run.
    """
    run_script(
        db,
        """
        CREATE TABLE summary_control (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            bulk INTEGER NOT NULL DEFAULT 0 CHECK (bulk IN (0, 1))
        );
        INSERT INTO summary_control (id, bulk) VALUES (1, 0);
        DROP TRIGGER summary_record_insert
        """,
    )
    db.execute(
        "CREATE TRIGGER summary_record_insert AFTER INSERT ON service_records "
        "WHEN NOT EXISTS (SELECT 1 FROM summary_control WHERE bulk = 1) BEGIN "
        "INSERT INTO summary_delta (sign, status, volunteer, month, minutes, organiser, studio, category) "
        "SELECT 1, new.status, new.volunteer, substr(new.start, 1, 7), new.minutes, "
        "coalesce(a.organiser, ''), coalesce(a.studio, ''), coalesce(a.category, '') "
        "FROM activities a WHERE a.id = new.activity; END"
    )


# The display form of a masked document number, as SQL on a text expression X (see volreg.personal.mask_document,
# written out here because a shipped migration must not change when that function does): all stars when shorter
# than 8 characters or 18 characters starting with 7, 8 or 9; else the first character, stars, the last.
_MASK_SQL = (
    "CASE WHEN length({x}) < 8 OR (length({x}) = 18 AND substr({x}, 1, 1) IN ('7', '8', '9')) "
    "THEN replace(hex(zeroblob(length({x}))), '00', '*') "
    "ELSE substr({x}, 1, 1) || replace(hex(zeroblob(length({x}) - 2)), '00', '*') || substr({x}, -1) END"
)



@MIGRATIONS()
def m009_documents(db: Database) -> None:
    """Identity documents: a person's document type and a passport's issuing country.

    ``id_digest`` stays one column, unique: each document type is digested with its own purpose (a passport
    with its country), so it is unique per (type, number). Existing people with a digest hold resident ID
    numbers; those without one have no document.
    """
    run_script(
        db,
        """
        ALTER TABLE people ADD COLUMN id_type TEXT NOT NULL DEFAULT 'none' CHECK (id_type IN ('resident',
            'residence_permit', 'foreign_permanent', 'hk_macao_permit', 'taiwan_permit', 'passport', 'none'));
        ALTER TABLE people ADD COLUMN id_country TEXT;
        UPDATE people SET id_type = 'resident' WHERE id_digest IS NOT NULL
        """,
    )


@MIGRATIONS()
def m009b_day_records(db: Database) -> None:
    """Service records of a day: a date and a duration with no clock time (``day``; NULL for timed records).

    Such a record's ``start`` is the day's first instant; it never overlaps another record by clock, and a
    volunteer's minutes on one day are limited instead (see :mod:`volreg.service_rules`).
    """
    db.execute("ALTER TABLE service_records ADD COLUMN day TEXT")


@MIGRATIONS()
def m010_honour_media(db: Database) -> None:
    """A photo and interview or video links on each honour, for the online hall of deeds (事迹展馆).

    ``photo`` is the path of an image file (relative to the registry file, or absolute; empty: none);
    ``links`` a JSON list of ``{"title": ..., "url": ...}`` for interviews (访谈) and videos.
    """
    run_script(
        db,
        """
        ALTER TABLE honours ADD COLUMN photo TEXT NOT NULL DEFAULT '';
        ALTER TABLE honours ADD COLUMN links TEXT NOT NULL DEFAULT '[]'
        """,
    )


@MIGRATIONS()
def m011_proofs(db: Database) -> None:
    """Proofs of service (志愿服务记录证明), the record versions each counted, and the public signing keys.

    A proof keeps what it certified (masked name and document number, organisation, period, minutes per
    category) and its signature; ``proof_records`` names every verified record version it counted. Triggers
    mark an issued proof ``superseded``, in the same transaction, when a counted version stops being verified
    (corrected, voided, rejected) or is changed in place, and when a counted activity changes organiser,
    category or kind. Anonymising the volunteer erases the masked name and document number from their proofs.
    Only public keys are stored; the private key never enters the database.
    """
    run_script(
        db,
        """
        CREATE TABLE proof_keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE proofs (
            id TEXT PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            year INTEGER NOT NULL,
            sequence INTEGER NOT NULL CHECK (sequence >= 1),
            volunteer TEXT NOT NULL REFERENCES volunteers(id),
            organisation TEXT NOT NULL REFERENCES organisations(id),
            organisation_name TEXT NOT NULL,
            name_masked TEXT NOT NULL,
            id_masked TEXT,
            period_start TEXT NOT NULL,
            period_end TEXT NOT NULL,
            lines TEXT NOT NULL,
            minutes INTEGER NOT NULL CHECK (minutes > 0),
            issued_on TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            issued_by TEXT NOT NULL,
            purpose TEXT NOT NULL DEFAULT '',
            key_id TEXT NOT NULL REFERENCES proof_keys(key_id),
            signature TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'superseded', 'revoked')),
            status_at TEXT,
            status_by TEXT,
            status_reason TEXT NOT NULL DEFAULT '',
            UNIQUE (prefix, year, sequence)
        );
        CREATE INDEX proofs_volunteer ON proofs(volunteer, issued_at);
        CREATE INDEX proofs_organisation ON proofs(organisation, issued_at);
        CREATE INDEX proofs_status ON proofs(status);
        CREATE TABLE proof_records (
            proof TEXT NOT NULL REFERENCES proofs(id),
            record TEXT NOT NULL REFERENCES service_records(id),
            minutes INTEGER NOT NULL,
            PRIMARY KEY (proof, record)
        );
        CREATE INDEX proof_records_record ON proof_records(record)
        """,
    )
    now = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'"
    db.execute(
        "CREATE TRIGGER proofs_record_changed AFTER UPDATE ON service_records "
        "WHEN old.status = 'verified' AND (new.status IS NOT 'verified' OR new.minutes IS NOT old.minutes "
        "OR new.activity IS NOT old.activity OR new.volunteer IS NOT old.volunteer OR new.start IS NOT old.start) "
        "BEGIN UPDATE proofs SET status = 'superseded', "
        f"status_at = coalesce(new.closed_at, {now}), status_by = new.closed_by, "
        "status_reason = 'service record ' || old.id || ' it counted was ' "
        "|| CASE new.status WHEN 'superseded' THEN 'corrected' WHEN 'void' THEN 'voided' "
        "WHEN 'verified' THEN 'changed' ELSE new.status END "
        "|| CASE WHEN coalesce(new.reason, '') <> '' THEN ': ' || new.reason ELSE '' END "
        "WHERE status = 'issued' AND id IN (SELECT proof FROM proof_records WHERE record = old.id); END"
    )
    db.execute(
        "CREATE TRIGGER proofs_activity_changed AFTER UPDATE OF organiser, category, kind ON activities "
        "WHEN old.organiser IS NOT new.organiser OR old.category IS NOT new.category OR old.kind IS NOT new.kind "
        f"BEGIN UPDATE proofs SET status = 'superseded', status_at = {now}, status_by = NULL, "
        "status_reason = 'activity ' || old.id || ' it counted changed its organiser, category or kind' "
        "WHERE status = 'issued' AND id IN (SELECT pr.proof FROM proof_records pr "
        "JOIN service_records r ON r.id = pr.record WHERE r.activity = old.id); END"
    )
    db.execute(
        "CREATE TRIGGER proofs_person_anonymised AFTER UPDATE OF anonymised ON people "
        "WHEN new.anonymised = 1 AND old.anonymised IS NOT 1 "
        "BEGIN UPDATE proofs SET name_masked = '', id_masked = NULL "
        "WHERE volunteer IN (SELECT id FROM volunteers WHERE person = new.id); END"
    )


@MIGRATIONS()
def m012_merges(db: Database) -> None:
    """Merged people: a tombstone that points at the kept person, and the merged registrations' numbers.

    ``people.merged_into`` marks a person merged into another (a tombstone: every row that pointed at it now
    points at the kept person, and its own personal fields are erased or moved). Chains are flattened by
    the merge itself, so a tombstone always points at a live person.  ``volunteer_aliases`` keeps the id and
    public number of a volunteer registration merged into another one, so that the old number still finds
    the volunteer and is never given out again; ``person`` is the tombstone the registration belonged to.
    """
    run_script(
        db,
        """
        ALTER TABLE people ADD COLUMN merged_into TEXT REFERENCES people(id);
        CREATE INDEX people_merged_into ON people(merged_into);
        CREATE INDEX people_name ON people(name, birth_date);
        CREATE TABLE volunteer_aliases (
            id TEXT PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            volunteer TEXT NOT NULL REFERENCES volunteers(id),
            person TEXT NOT NULL REFERENCES people(id),
            merged_at TEXT NOT NULL
        );
        CREATE INDEX volunteer_aliases_volunteer ON volunteer_aliases(volunteer)
        """,
    )


@MIGRATIONS()
def m013_masks(db: Database) -> None:
    """Masked ID numbers keep only their first and last character, in the people table and the journal.

    The old form kept the region (6 characters) and the last 4, which with the stored birth date rebuilt the
    whole number. The number itself was never stored, so the new form is derived from the old one (its first
    and last characters are the number's); the keyed digest is unchanged.
    """
    db.execute(f"UPDATE people SET id_masked = {_MASK_SQL.format(x='id_masked')} WHERE id_masked IS NOT NULL")
    for column in ("before", "after"):
        value = f"json_extract([{column}], '$.id_masked')"
        db.execute(
            f"UPDATE journal SET [{column}] = json_set([{column}], '$.id_masked', {_MASK_SQL.format(x=value)}) "
            f"WHERE json_valid([{column}]) AND json_type([{column}], '$.id_masked') = 'text'"
        )


@MIGRATIONS()
def m014_speed(db: Database) -> None:
    """A per-year volunteer summary, the closure of the organisation tree, and covering indexes for the reads.

    - ``summary_volunteer_years`` (status, year, volunteer): hours per volunteer in a year read in volunteer
      number order, one row each, instead of grouping twelve month rows per volunteer;
    - ``organisation_tree`` (ancestor, descendant, depth): every organisation with everything under it
      (itself at depth 0), so a subtree is one indexed range instead of a recursive query per question;
    - covering indexes, so that the summary reads never visit a table row: the year summary by status and
      year, the all-time summary by status and volunteer, the per-organisation (and per-studio) month rows,
      volunteers by number and by id (with their person), people by id (with their name), which every answer
      by volunteer joins on.

    Both tables are backfilled here (the years from the month summary, the closure from ``parent``), and
    every summary trigger is reinstalled from :data:`volreg.store.summaries.TRIGGERS`, which now also keeps
    the year summary and the closure exact; a reparenting that would put an organisation under itself is
    refused.
    """
    from . import summaries  # the summary module imports this package's filters

    run_script(
        db,
        """
        CREATE TABLE summary_volunteer_years (
            status TEXT NOT NULL,
            year INTEGER NOT NULL,
            volunteer TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            records INTEGER NOT NULL,
            PRIMARY KEY (status, year, volunteer) ON CONFLICT REPLACE
        );
        CREATE TABLE organisation_tree (
            ancestor TEXT NOT NULL,
            descendant TEXT NOT NULL,
            depth INTEGER NOT NULL,
            PRIMARY KEY (ancestor, descendant) ON CONFLICT REPLACE
        );
        CREATE INDEX organisation_tree_descendant ON organisation_tree(descendant, ancestor, depth);
        CREATE INDEX summary_volunteer_years_cover ON summary_volunteer_years(status, year, volunteer, minutes, records);
        CREATE INDEX summary_volunteers_cover ON summary_volunteers(status, volunteer, minutes, records);
        CREATE INDEX summary_groups_cover ON summary_groups(status, grouping, k1, k2, month, minutes, records, volunteers);
        CREATE INDEX volunteers_number_cover ON volunteers(number, id, person);
        CREATE INDEX volunteers_id_cover ON volunteers(id, number, person);
        CREATE INDEX people_name_cover ON people(id, name);
        INSERT INTO summary_volunteer_years (status, year, volunteer, minutes, records)
            SELECT status, CAST(substr(month, 1, 4) AS INTEGER), volunteer, sum(minutes), sum(records)
            FROM summary_volunteer_months GROUP BY 1, 2, 3;
        WITH RECURSIVE t(ancestor, descendant, depth) AS (
            SELECT id, id, 0 FROM organisations
            UNION ALL
            SELECT t.ancestor, o.id, t.depth + 1 FROM t JOIN organisations o ON o.parent = t.descendant
            WHERE t.depth < 1000
        )
        INSERT INTO organisation_tree (ancestor, descendant, depth) SELECT ancestor, descendant, min(depth)
            FROM t GROUP BY ancestor, descendant
        """,
    )
    summaries.install_triggers(db)


@MIGRATIONS()
def m015_query_summaries(db: Database) -> None:
    """Summaries for an organisation's subtree, and each volunteer's number and name beside their totals.

    - the ``subtree`` grouping of ``summary_groups`` and ``summary_group_members``: per status, organisation
      (``k1``) and month, every record organised by it or by any organisation under it, with its distinct
      volunteers, so hours per month of a subtree read one index range instead of counting the distinct
      volunteers of every organisation in it;
    - ``number`` and ``name`` on ``summary_volunteers`` and ``summary_volunteer_years``, with indexes in the
      orders the answers are read in (everyone by minutes for star levels and top lists; a year's volunteers
      by number), so those pages read one index and look up nothing per row.  They replace the indexes
      ``summary_volunteers_minutes`` and ``summary_volunteer_years_cover``, whose orders they extend;
    - ``summary_unserved`` (volunteer, number, name): every volunteer without verified service, whom star
      levels list last, in number order from one index instead of probing the summary for every volunteer.

    Everything is backfilled from the summaries already kept, and the triggers are reinstalled from
    :data:`volreg.store.summaries.TRIGGERS`, which now keep these exact too (records, activities moving
    between organisers, organisations moving in the tree, renamed people, merged registrations).
    """
    from . import summaries

    run_script(
        db,
        """
        ALTER TABLE summary_volunteers ADD COLUMN number TEXT;
        ALTER TABLE summary_volunteers ADD COLUMN name TEXT;
        ALTER TABLE summary_volunteer_years ADD COLUMN number TEXT;
        ALTER TABLE summary_volunteer_years ADD COLUMN name TEXT;
        UPDATE summary_volunteers SET (number, name) = (SELECT v.number, p.name FROM volunteers v
            JOIN people p ON p.id = v.person WHERE v.id = summary_volunteers.volunteer);
        UPDATE summary_volunteer_years SET (number, name) = (SELECT v.number, p.name FROM volunteers v
            JOIN people p ON p.id = v.person WHERE v.id = summary_volunteer_years.volunteer);
        DROP INDEX summary_volunteers_minutes;
        DROP INDEX summary_volunteer_years_cover;
        CREATE INDEX summary_volunteers_stars ON summary_volunteers(status, minutes DESC, number, volunteer, name, records);
        CREATE INDEX summary_volunteer_years_number
            ON summary_volunteer_years(status, year, number, volunteer, name, minutes, records);
        CREATE TABLE summary_unserved (
            volunteer TEXT NOT NULL,
            number TEXT,
            name TEXT,
            PRIMARY KEY (volunteer) ON CONFLICT REPLACE
        );
        CREATE INDEX summary_unserved_number ON summary_unserved(number, volunteer, name);
        INSERT INTO summary_unserved (volunteer, number, name) SELECT v.id, v.number, p.name
            FROM volunteers v JOIN people p ON p.id = v.person WHERE NOT EXISTS
            (SELECT 1 FROM summary_volunteers g WHERE g.status = 'verified' AND g.volunteer = v.id);
        INSERT INTO summary_group_members (status, grouping, k1, k2, month, volunteer, minutes, records)
            SELECT m.status, 'subtree', t.ancestor, '', m.month, m.volunteer, sum(m.minutes), sum(m.records)
            FROM summary_group_members m JOIN organisation_tree t ON t.descendant = m.k1
            WHERE m.grouping = 'organisation' GROUP BY m.status, t.ancestor, m.month, m.volunteer;
        INSERT INTO summary_groups (status, grouping, k1, k2, month, minutes, records, volunteers)
            SELECT status, grouping, k1, k2, month, sum(minutes), sum(records), count(*)
            FROM summary_group_members WHERE grouping = 'subtree' GROUP BY status, grouping, k1, k2, month
        """,
    )
    summaries.install_triggers(db)


@MIGRATIONS()
def m016_import_journal(db: Database) -> None:
    """Journal items: one journal entry for a batch of imported records, and a row per record naming it.

    ``journal_items`` (seq, entity_id, line, status, verified_by): the batch's entry, each entity written in
    it, the line of the file it came from, and the status and verifier it was written with (its later
    changes have entries of their own). A record's history finds its entry through the item's index on the
    entity's id.
    """
    run_script(
        db,
        """
        CREATE TABLE journal_items (
            seq INTEGER NOT NULL REFERENCES journal(seq),
            entity_id TEXT NOT NULL,
            line INTEGER,
            status TEXT NOT NULL,
            verified_by TEXT
        );
        CREATE INDEX journal_items_entity ON journal_items(entity_id)
        """,
    )


@MIGRATIONS()
def m017_nomination_cover(db: Database) -> None:
    """``nominations_cover``: every column the nomination counts group, filter or count by, so that
    :func:`volreg.nominations` and :func:`volreg.nomination_funnel` read a narrow index instead of the
    table's wide rows (each holds the deed's text).  The nominee columns come right after category and status,
    so counting distinct nominees per category and status meets them in order."""
    run_script(
        db,
        """
        CREATE INDEX nominations_cover ON nominations(category, status, person, family, organisation, honour,
            year, period, edition, nominator_kind, reached, id)
        """,
    )


_NOMINEE = "coalesce({r}.person, {r}.family, {r}.organisation)"
_NOMINEE_KEY = "coalesce({r}.category, ''), {r}.status, " + _NOMINEE


def _nominee_change(r: str, sign: int) -> str:
    key = _NOMINEE_KEY.format(r=r)
    if sign > 0:
        return (f"INSERT INTO summary_nominees (category, status, nominee, nominations) VALUES ({key}, 1) "
                "ON CONFLICT DO UPDATE SET nominations = nominations + 1")
    match = f"(category, status, nominee) = ({key})"
    return (f"UPDATE summary_nominees SET nominations = nominations - 1 WHERE {match}; "
            f"DELETE FROM summary_nominees WHERE {match} AND nominations = 0")


@MIGRATIONS()
def m018_nomination_summary(db: Database) -> None:
    """``summary_nominees``: per category (``''`` for none), status and nominee (the person, family or group),
    how many nominations there are, kept exact by triggers on ``nominations`` (insert, delete, a change of
    category, status or nominee).  Nomination counts per category and status then add up a few thousand
    narrow rows in order from ``summary_nominees_cover``, distinct nominees included, instead of sorting every
    nomination's nominee; the table is filled from the existing nominations here.  (A rowid table with a
    covering index rather than ``WITHOUT ROWID``: archives and tools read every table in rowid order.)"""
    run_script(
        db,
        f"""
        CREATE TABLE summary_nominees (
            category TEXT NOT NULL,
            status TEXT NOT NULL,
            nominee TEXT NOT NULL,
            nominations INTEGER NOT NULL,
            PRIMARY KEY (category, status, nominee) ON CONFLICT REPLACE
        );
        CREATE INDEX summary_nominees_cover ON summary_nominees(category, status, nominee, nominations);
        INSERT INTO summary_nominees (category, status, nominee, nominations)
            SELECT {_NOMINEE_KEY.format(r="n")}, count(*) FROM nominations n GROUP BY 1, 2, 3
        """,
    )
    # One statement each: a trigger's body holds semicolons.
    db.execute(f"CREATE TRIGGER summary_nominees_insert AFTER INSERT ON nominations "
               f"BEGIN {_nominee_change('new', 1)}; END")
    db.execute(f"CREATE TRIGGER summary_nominees_delete AFTER DELETE ON nominations "
               f"BEGIN {_nominee_change('old', -1)}; END")
    db.execute("CREATE TRIGGER summary_nominees_update AFTER UPDATE OF category, status, person, family, organisation "
               "ON nominations WHEN old.category IS NOT new.category OR old.status IS NOT new.status "
               "OR old.person IS NOT new.person OR old.family IS NOT new.family "
               f"OR old.organisation IS NOT new.organisation BEGIN {_nominee_change('old', -1)}; "
               f"{_nominee_change('new', 1)}; END")


@MIGRATIONS()
def m019_activity_cover(db: Database) -> None:
    """``activities_studio_category``: activity counts per studio and category (and per studio) group the
    activities from this index in order instead of sorting every activity row; it replaces
    ``activities_studio``, of which it is an extension."""
    run_script(
        db,
        """
        CREATE INDEX activities_studio_category ON activities(studio, category);
        DROP INDEX activities_studio
        """,
    )


@MIGRATIONS()
def m020_plain_insert_trigger(db: Database) -> None:
    """The record insert trigger without its ``WHEN`` on ``summary_control.bulk``: a batch of new records now
    drops the trigger for its insert instead of setting the flag, so the test only cost every other insert
    a look-up.  (``summary_control`` stays, unused, so that archives of older registries still restore.)"""
    from . import summaries

    summaries.install_triggers(db)


@MIGRATIONS()
def m021_import_identity(db: Database) -> None:
    """Indexes for recognising imported rows and the organisations they name, which read every activity of
    the organiser, or every organisation, without them (a file of one organiser's activities, or of a few
    thousand organisations named by their parents' names, imported in quadratic time):

    - ``activities_organiser_start``: an activity is recognised by its organiser, start and title (it also
      serves listing an organiser's activities over a span);
    - ``organisations_name`` and ``studios_name``: an organisation (by its name and parent, or named in a
      cell) and a studio named in a cell.

    ``activities_organiser`` stays: the planner's statistics know it."""
    run_script(
        db,
        """
        CREATE INDEX activities_organiser_start ON activities(organiser, start_utc);
        CREATE INDEX organisations_name ON organisations(name);
        CREATE INDEX studios_name ON studios(name)
        """,
    )


@MIGRATIONS()
def m022_partial_indexes(db: Database) -> None:
    """Indexes on columns that are empty in almost every row (a person merged into another, a nomination of
    a family or an organisation, an activity of a series) keep only the rows that have a value.

    The planner's statistics (``ANALYZE``, run after an import) counted the empty rows as one value shared by
    all, so it judged ``merged_into = ?`` to match every person and read the whole table instead: reading
    one person (the ids merged into them) took 100 ms at city scale.  A partial index holds, and its
    statistics describe, only the rows with a value; ``column = ?`` still uses it."""
    run_script(
        db,
        """
        DROP INDEX people_merged_into;
        CREATE INDEX people_merged_into ON people(merged_into) WHERE merged_into IS NOT NULL;
        DROP INDEX nominations_family;
        CREATE INDEX nominations_family ON nominations(family) WHERE family IS NOT NULL;
        DROP INDEX nominations_organisation;
        CREATE INDEX nominations_organisation ON nominations(organisation) WHERE organisation IS NOT NULL;
        DROP INDEX activities_series;
        CREATE INDEX activities_series ON activities(series) WHERE series IS NOT NULL
        """,
    )


@MIGRATIONS()
def m023_external_ids(db: Database) -> None:
    """Mark a registry whose remembered external ids may hold ID numbers in clear.

    External ids that hold what may be an ID number are now kept as keyed digests (:mod:`volreg.external_ids`),
    which a migration cannot compute (it has no key). It only sets ``external_ids_in_clear`` in
    ``registry_meta`` when such an id is there (remembered by imports, or given to an honour or a
    nomination); the registry's next writable open digests them."""
    maybe = "({0} NOT LIKE 'digest:%' AND ({0} GLOB '*" + "[0-9]" * 15 + "*' OR {0} GLOB '*[\uff10-\uff19]*'))"
    found = any(db.execute(f"SELECT 1 FROM {table} WHERE {maybe.format(column)} LIMIT 1").fetchone() is not None
                for table, column in (("import_identity", "key"), ("honours", "external_id"),
                                      ("nominations", "external_id")))
    if found:
        db.execute("INSERT OR REPLACE INTO registry_meta (key, value) VALUES ('external_ids_in_clear', '1')")


def _known() -> set[str]:
    return {m.name for m in MIGRATIONS.pending(Database(memory=True))}


def migrate(db: Database) -> None:
    """Create or upgrade the schema in ``db``.

    Raises:
        SchemaTooNew: the database has migrations this version of volreg does not know; nothing is changed.
    """
    applied = [m.name for m in MIGRATIONS.applied(db)]
    unknown = [name for name in applied if name not in _known()]
    if unknown:
        raise SchemaTooNew(unknown)
    pending = [m.name for m in MIGRATIONS.pending(db)]
    if not pending:
        return  # a current registry: opening it writes nothing
    if db.conn.in_transaction:
        MIGRATIONS.apply(db)
        return
    # Under the write lock, so that processes opening one new file at once migrate it once: the others
    # wait (busy timeout), then find nothing pending.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        pending = [m.name for m in MIGRATIONS.pending(db)]
        MIGRATIONS.apply(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")
    if pending:
        log.info("migrated %s: %s", _name(db), ", ".join(pending))


def _name(db: Database) -> str:
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return str(row[2])
    return ":memory:"
