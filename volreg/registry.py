"""The :class:`Registry`: one SQLite database holding everything, and every write that changes it."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from sqlite_utils import Database

from .activities import ActivitiesMixin
from .base import clean_text, items_of, whole_number
from .directory import DirectoryMixin
from .errors import (
    Corrupt,
    InvalidValue,
    KeyMismatch,
    NotARegistry,
    ReadOnly,
    SchemaTooNew,
    StorageError,
    VolregError,
)
from .honours import HonoursMixin
from .model import Category, Change, Person, Settings
from .nominating import NominationsMixin
from .people import PeopleMixin
from .personal import load_key, mask_phone
from .reviews import ReviewsMixin
from .service import ServiceMixin
from .session import Session, guarded
from .store import MIGRATIONS, Store, migrate
from .store.connection import Connections
from .timeutil import get_zone
from .titles import TitlesMixin
from .vocab import DEFAULT_CATEGORIES, SEEDED_VOCABULARIES, VOCABULARIES

__all__ = ["Registry", "open"]

_DEFAULT_TIMEZONE = "Asia/Shanghai"

DEFAULT_TIMEOUT = 30.0
"""Seconds a write waits for another process's write lock before :class:`volreg.Busy` (the busy timeout)."""

log = logging.getLogger("volreg")


def _database_path(db: Database) -> str | None:
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return str(row[2])
    return None


class Registry(PeopleMixin, DirectoryMixin, ActivitiesMixin, ServiceMixin, NominationsMixin, ReviewsMixin, HonoursMixin,
               TitlesMixin):
    """A volreg registry: people, volunteers, organisations, studios, activities, service hours and honours.

    Reads return model objects or lazy iterators; writes are methods that validate, write inside one
    transaction and journal what changed.  A refused write raises a :class:`volreg.VolregError` and leaves
    the database exactly as it was.

    Args:
        db: a ``sqlite_utils.Database``, a file path, or ``":memory:"``.
        timezone: the home time zone for a new registry (an existing one keeps its own; a different
            explicit value is refused).
        key: the key for ID-number digests: else ``VOLREG_KEY``, else ``<database>.key`` beside the file.
        timeout, readonly, adopt: see :func:`volreg.open`.

    A registry may be shared by threads: each thread gets its own connection to the file (an in-memory
    registry serialises one connection). Before ``fork()`` every connection is closed, and reopened on next
    use in parent and child alike; a registry dropped without :meth:`close` closes at once.

    Raises:
        KeyMismatch: the key differs from the one the registry was created with.
        SchemaTooNew: the database was written by a newer volreg.
        NotARegistry: the file is another application's database (see :func:`volreg.open`).
    """

    def __init__(self, db: Database | str | os.PathLike[str] = ":memory:", *, timezone: str | None = None,
                 key: str | bytes | None = None, timeout: float = DEFAULT_TIMEOUT, readonly: bool = False,
                 adopt: bool = False) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout <= 86_400:
            raise InvalidValue("timeout", "must be a number of seconds from 0 to 86400", timeout)
        if isinstance(db, Database):
            connections = Connections(_database_path(db), timeout=timeout, database=db)
        elif str(db) == ":memory:":
            if readonly:
                raise InvalidValue("readonly", "needs a registry file (an in-memory registry starts empty)", db)
            connections = Connections(None, timeout=timeout)
        else:
            path = str(Path(db))
            if readonly and not Path(path).is_file():
                raise NotARegistry(path, "no such file")
            connections = Connections(path, timeout=timeout, readonly=readonly)
        # A registry dropped without close() closes its connections at once, not at the next garbage
        # collection (a sqlite3 connection and its statement cache refer to each other).
        self._finalizer = weakref.finalize(self, connections.close, dropped=True)
        store = Store(connections)
        try:
            self._open(store, timezone=timezone, key=key, readonly=readonly, adopt=adopt)
        except BaseException as error:
            self._finalizer.detach()
            connections.close(dropped=True)  # a database the caller passed in stays open for them
            if isinstance(error, VolregError):
                log.info("refused open: %s: %s", type(error).__name__, error)
            raise
        log.debug("opened %s%s", store.path or ":memory:", " read-only" if readonly else "")

    def _open(self, store: Store, *, timezone: str | None, key: str | bytes | None, readonly: bool,
              adopt: bool) -> None:
        # Reading first, writing only what is missing: opening an existing, current registry takes no write
        # lock, so it returns at once while another process holds a long write transaction.
        path = store.path
        tables = _inspect(store, readonly)
        if readonly:
            if not tables:
                raise NotARegistry(str(path), "an empty database")
            if "_sqlite_migrations" not in tables or not MIGRATIONS.applied(store.db):
                raise NotARegistry(str(path), _foreign(tables))
            with store.translated():
                pending = [m.name for m in MIGRATIONS.pending(store.db)]
                shipped = {m.name for m in MIGRATIONS.pending(Database(memory=True))}
                unknown = [m.name for m in MIGRATIONS.applied(store.db) if m.name not in shipped]
            if unknown:
                raise SchemaTooNew(unknown)
            if pending:
                raise ReadOnly(path, "the registry needs an upgrade (" + ", ".join(pending) +
                               "); open it once for writing")
        else:
            if tables and ("_sqlite_migrations" not in tables or not MIGRATIONS.applied(store.db)) and not adopt:
                raise NotARegistry(str(path), _foreign(tables) + "; pass adopt=True to add a registry to it")
            with store.translated():
                db = store.db
                if path and db.journal_mode != "wal":
                    # WAL: readers never block the writer and a crash leaves the last committed state.
                    db.enable_wal()
                migrate(db)
        secret, key_source = _key(key, path, readonly)
        stored = store.meta("settings")
        if stored is None:
            self.settings = Settings(timezone=timezone or _DEFAULT_TIMEZONE)
        else:
            self.settings = Settings.from_json(stored)
            if timezone is not None and timezone != self.settings.timezone:
                raise InvalidValue(
                    "timezone", f"must be the registry's own time zone {self.settings.timezone!r}", timezone
                )
        self.session = Session(store, get_zone(self.settings.timezone), secret, key_source, path)
        check = self.session.digest("key_check", "volreg") if secret is not None else None
        known_check = store.meta("key_check")
        if check is not None and known_check is not None and known_check != check:
            raise KeyMismatch(key_source)
        if readonly or (known_check is not None and stored is not None):
            return
        with self.session.write() as store:
            known = store.meta("key_check")
            if known is None:
                assert check is not None  # a writable open always has a key
                store.set_meta("key_check", check)
            elif known != check:
                raise KeyMismatch(key_source)
            if store.meta("settings") is None:
                store.set_meta("settings", self.settings.to_json())
                for vocabulary in SEEDED_VOCABULARIES:
                    store.insert_many(
                        "categories",
                        [{"code": c, "vocabulary": vocabulary, "label": label} for c, label in DEFAULT_CATEGORIES],
                    )

    @property
    def db(self) -> Database:
        """The ``sqlite_utils.Database`` of the current thread (each thread has its own connection to a file).

        Raises:
            Closed: the registry was closed.
        """
        return self.session.store.db

    @property
    def readonly(self) -> bool:
        """Whether the registry was opened read-only."""
        return self.session.store.connections.readonly

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self.session.store.connections.closed

    def __repr__(self) -> str:
        state = " closed" if self.closed else (" read-only" if self.readonly else "")
        return f"<volreg.Registry {self.session.path or ':memory:'} ({self.settings.timezone}){state}>"

    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """Group several writes: all of them are written together, or none is.

        Nested calls (and every write method inside) become savepoints of the one transaction, and a
        bulk load inside one transaction is much faster than one transaction per write.

        Example:
            >>> with registry.transaction():
            ...     org = registry.add_organisation("新华社区", kind="community")
            ...     registry.register_volunteer("王小明", id_number=..., organisation=org)
        """
        return self._store.write()

    def close(self) -> None:
        """Close the registry's connections (every thread's); using it afterwards raises :class:`volreg.Closed`.

        Closing twice is harmless. A registry that is dropped without ``close()`` closes at once too.
        """
        self._finalizer.detach()
        self.session.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- settings and vocabulary ------------------------------------------------------------------------

    def configure(self, *, by: Any = None, **changes: Any) -> Settings:
        """Change the registry's settings (age limits, star thresholds, recurrence cap ...).

        The time zone cannot be changed once a registry exists: stored local times depend on it.

        Raises:
            InvalidValue: an unknown setting or a bad value.
        """
        names = {a.name for a in attrs.fields(Settings)} - {"timezone"}
        for name, value in changes.items():
            if name not in names:
                raise InvalidValue(name, f"must be one of the settings {', '.join(sorted(names))}", value)
        if "star_thresholds" in changes:
            changes["star_thresholds"] = items_of(changes["star_thresholds"], "star_thresholds")
        _check_settings(attrs.evolve(self.settings, **changes))
        with self._store.write() as store:
            # Start from the settings as stored now: another process may have changed other settings since
            # this registry was opened, and its change must not be lost.
            current = Settings.from_json(store.meta("settings") or self.settings.to_json())
            new = attrs.evolve(current, **changes)
            _check_settings(new)
            store.set_meta("settings", new.to_json())
            self._journal("configure", "settings", "settings", by=by, before=current, after=new)
        self.settings = new
        return new

    def add_category(self, code: str, label: str, *, vocabulary: str = "activity", by: Any = None) -> Category:
        """Add a category to a vocabulary (``activity``, ``service`` or ``honour``).

        Raises:
            InvalidValue: a blank or malformed code or label, an unknown vocabulary, or a code or label
                already in use.
        """
        if vocabulary not in VOCABULARIES:
            raise InvalidValue("vocabulary", f"must be one of {', '.join(VOCABULARIES)}", vocabulary)
        if not isinstance(code, str) or not code.strip() or not code.strip().replace("_", "").isascii():
            raise InvalidValue("code", "must be a non-empty ASCII code such as 'elderly_care'", code)
        if not isinstance(label, str) or not label.strip():
            raise InvalidValue("label", "must not be empty", label)
        code, label = clean_text(code, "code", 50, line=True), clean_text(label, "label", 100, line=True)
        category = Category(code=code, label=label, vocabulary=vocabulary)
        with self._store.write() as store:
            taken = store.one(
                "SELECT code FROM categories WHERE vocabulary = ? AND (code IN (?, ?) OR label IN (?, ?))",
                [vocabulary, code, label, code, label],
            )
            if taken:
                raise InvalidValue("code", f"must be new to the {vocabulary} vocabulary", code)
            store.insert("categories", {"code": code, "vocabulary": vocabulary, "label": label})
            self._journal("create", "category", f"{vocabulary}:{code}", by=by, after=category)
        return category

    def categories(self, *, vocabulary: str = "activity") -> Iterator[Category]:
        """The categories of a vocabulary, ordered by code."""
        return (
            Category.from_row(r)
            for r in self._store.rows("SELECT * FROM categories WHERE vocabulary = ? ORDER BY code", [vocabulary])
        )

    # -- journal and personal data ------------------------------------------------------------------------

    def history(self, id: Any) -> list[Change]:
        """Every journaled change to the entity with this id, oldest first (personal values masked)."""
        key = getattr(id, "id", id)
        if not isinstance(key, str):
            raise InvalidValue("id", "must be an id (text) or an object with one", shown=type(key).__name__)
        return [Change.from_row(r, self.zone) for r in self._store.history(key)]

    def anonymise(self, person: Any, *, by: Any = None, note: str = "") -> Person:
        """Erase a person's personal data while keeping everything statistics count.

        The name, ID digest and masked ID, phone and area are erased, in the person's row and in every
        journal entry; ids, gender, birth date, hours, nominations and honours stay, so every total is
        unchanged. Their volunteer registration becomes ``anonymised``. Free pages are zeroed
        (``secure_delete``) and the WAL is checkpointed, so the erased values do not linger in the file.

        Raises:
            NotFound: no such person.
        """
        self.person(person)
        with self._store.write() as store:
            old = self.person(person)
            new = attrs.evolve(old, name="", id_masked=None, id_digest=None, phone=None, area="", anonymised=True)
            secrets = [v for v in (old.name, old.phone, mask_phone(old.phone), old.id_masked, old.area) if v]
            store.update(
                "people",
                old.id,
                {"name": "", "id_digest": None, "id_masked": None, "phone": None, "area": "", "anonymised": 1},
            )
            store.db.execute(
                "UPDATE volunteers SET status = 'anonymised', status_since = ? WHERE person = ?",
                [self._now().date().isoformat(), old.id],
            )
            for row in list(store.rows(f"SELECT seq, before, after FROM journal WHERE entity_id IN ({_OWN})",
                                       [old.id])):
                store.update("journal", row["seq"], {
                    "before": _scrub(row["before"]), "after": _scrub(row["after"])
                }, pk="seq")
            # Free text about the person (a deed, a family's name, a comment on their nomination, a step's
            # note) may quote their name or phone: rows that belong to the person lose those words.
            words = [(w, "某某" if w == old.name else "") for w in (old.name, old.phone, mask_phone(old.phone),
                                                                   old.id_masked) if w and len(w) >= 2]
            for table, column, key in _FREE_TEXT:
                for word, placeholder in words:
                    store.execute(
                        f"UPDATE [{table}] SET [{column}] = replace([{column}], ?2, ?3) "
                        f"WHERE instr([{column}], ?2) AND [{key}] IN ({_OWN})",
                        [old.id, word, placeholder],
                    )
            for value in secrets:
                # Other entities' entries may quote the person (a nomination's nominee name, say).
                quoted = json.dumps(value, ensure_ascii=False)
                store.db.execute(
                    "UPDATE journal SET before = replace(before, ?1, '\"\"'), after = replace(after, ?1, '\"\"') "
                    "WHERE instr(before, ?1) OR instr(after, ?1)",
                    [quoted],
                )
            self._journal("anonymise", "person", old.id, by=by, after={"id": old.id, "anonymised": True}, note=note)
        if _database_path(self.db):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return new


_PERSONAL_KEYS = ("name", "phone", "id_masked", "area")

# The ids of everything that belongs to the person ``?1``: themself, their volunteer registrations and
# service records, the nominations and honours they are the nominee or recipient of, and their families.
_OWN = (
    "SELECT ?1 UNION SELECT id FROM volunteers WHERE person = ?1 "
    "UNION SELECT r.id FROM service_records r JOIN volunteers v ON v.id = r.volunteer WHERE v.person = ?1 "
    "UNION SELECT id FROM nominations WHERE person = ?1 UNION SELECT id FROM honours WHERE person = ?1 "
    "UNION SELECT family FROM family_members WHERE person = ?1"
)

# Free-text columns of rows that belong to a person (through the key column, compared with the person's own
# ids: person, volunteer registrations, nominations, honours, families): (table, column, key column).
_FREE_TEXT = (
    ("nominations", "deed", "id"),
    ("honours", "deed", "id"),
    ("families", "name", "id"),
    ("endorsements", "comment", "nomination"),
    ("nomination_transitions", "note", "nomination"),
    ("service_records", "note", "volunteer"),
    ("journal", "before", "entity_id"),
    ("journal", "after", "entity_id"),
    ("journal", "note", "entity_id"),
)


def _scrub(text: str | None) -> str | None:
    """A journal value with the personal fields erased."""
    if not text:
        return text
    data = json.loads(text)
    for key in _PERSONAL_KEYS:
        if data.get(key):
            data[key] = ""
    return json.dumps(data, ensure_ascii=False)


guarded(Registry)


def _check_settings(settings: Settings) -> None:
    for name in ("min_age", "guardian_min_age", "max_occurrences", "late_after_working_days"):
        whole_number(getattr(settings, name), name, 0, 100_000)
    if settings.guardian_min_age > settings.min_age:
        raise InvalidValue("guardian_min_age", f"must be <= 'min_age' ({settings.min_age})", settings.guardian_min_age)
    levels = settings.star_thresholds
    if not levels or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1e9 for v in levels) \
            or list(levels) != sorted(set(levels)):
        raise InvalidValue("star_thresholds", "must be increasing positive hours", levels)
    clean_text(settings.number_prefix, "number_prefix", 20, required=True, line=True)


def open(path: str | os.PathLike[str] = ":memory:", *, timezone: str = _DEFAULT_TIMEZONE,
         key: str | bytes | None = None, timeout: float = DEFAULT_TIMEOUT, readonly: bool = False,
         adopt: bool = False) -> Registry:
    """Open (creating or upgrading) a registry.

    Opening an existing, current registry reads only: it takes no write lock and returns at once even while
    another process holds a long write transaction. Only a first open or a pending migration writes.

    Args:
        path: a SQLite file (created when missing, in WAL mode) or ``":memory:"``.
        timezone: the home time zone naive input is read in; an existing registry keeps its own.
        key: the key for ID-number digests; see :class:`Registry`. A read-only registry uses the argument,
            ``VOLREG_KEY`` or an existing key file, and without one refuses only reads that need digests
            (finding a person by ID number).
        timeout: how many seconds a write waits for another process's write lock before raising
            :class:`Busy` (the busy timeout).
        readonly: open with SQLite's read-only mode: no schema, no WAL switch, no key file, no write; works
            on a read-only file, directory or file system. Writes raise :class:`ReadOnly`.
        adopt: allow a writable open to add a registry to a non-empty SQLite file of another application
            (refused by default, so that a wrong path does not turn someone's database into a registry).

    Returns:
        The registry.

    Raises:
        NotARegistry: the file is not a volreg registry (read-only, or writable without ``adopt``); the
            file is left byte-for-byte as it was.
        KeyMismatch: the key differs from the one the registry was created with.
        SchemaTooNew: the file was written by a newer volreg; it is left untouched.
        StorageError: SQLite could not open or write the file (:class:`ReadOnly`, :class:`StorageFull`,
            :class:`Corrupt` ...).
        InvalidValue: an unknown time zone, or a bad timeout.
    """
    get_zone(timezone)
    exists = str(path) != ":memory:" and Path(path).exists() and Path(path).stat().st_size > 0
    # An existing registry keeps its own zone; only an explicitly different zone is an error.
    return Registry(path, timezone=None if exists and timezone == _DEFAULT_TIMEZONE else timezone, key=key,
                    timeout=timeout, readonly=readonly, adopt=adopt)


def _inspect(store: Store, readonly: bool) -> set[str]:
    """The names in the file's schema; a file SQLite cannot read is refused as not a registry.

    A WAL-mode registry in a directory this process cannot write (a read-only directory or file system) may
    lack the WAL's shared-memory file, which a reader needs; it is then read as immutable, which is right as
    long as nobody writes the file meanwhile (nobody can on a read-only file system; a writer in such a
    directory would need the same shared-memory file).
    """
    for attempt in (1, 2):
        try:
            with store.translated():
                return {r[0] for r in store.tuples("SELECT name FROM sqlite_master")}
        except Corrupt as error:
            raise NotARegistry(str(store.path), "not a SQLite database") from error
        except StorageError as error:
            folder = os.path.dirname(os.path.abspath(str(store.path)))
            if not readonly or attempt == 2 or os.access(folder, os.W_OK):
                raise
            store.connections.release()
            store.connections.immutable = True
            log.debug("reading %s as immutable: %s", store.path, error.reason)
    raise AssertionError("unreachable")


def _foreign(tables: set[str]) -> str:
    shown = sorted(t for t in tables if not t.startswith("sqlite_"))
    more = f", ... ({len(shown)} in all)" if len(shown) > 5 else ""
    return "a SQLite database of another application (tables " + ", ".join(shown[:5]) + more + ")"


def _key(key: str | bytes | None, path: str | None, readonly: bool) -> tuple[bytes | None, str]:
    """The registry key; a read-only open never creates a key file (it may have no key at all)."""
    if not readonly or key is not None or os.environ.get("VOLREG_KEY"):
        return load_key(key, path)
    if path and Path(path + ".key").is_file():
        return load_key(None, path)
    return None, "no key (read-only, without a key file)"
