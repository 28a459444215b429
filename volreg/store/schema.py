"""The schema, as numbered migrations that are never edited once shipped.

Add a change as a new function ``mNNN_<what>`` at the end of this file. ``migrate`` refuses a database that
has migrations this version does not know (it was written by a newer volreg) rather than touch it.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from ..errors import SchemaTooNew

__all__ = ["MIGRATIONS", "migrate", "run_script"]

MIGRATIONS = Migrations("volreg")


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
    MIGRATIONS.apply(db)


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
