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

from . import external_ids
from .activities import ActivitiesMixin
from .base import clean_text, items_of, whole_number
from .directory import DirectoryMixin
from .erasure import PENDING, checkpoint, erase_words, held_documents, pseudonym
from .errors import (
    Corrupt,
    ErasureIncomplete,
    InvalidValue,
    KeyMismatch,
    NeedsUpgrade,
    NotARegistry,
    RuleViolation,
    SchemaTooNew,
    StorageError,
    VolregError,
)
from .honours import HonoursMixin
from .merging import MergingMixin
from .model import Category, Change, Person, Settings
from .nominating import NominationsMixin
from .people import PeopleMixin
from .personal import load_key, mask_phone
from .proofs import ProofsMixin
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
               TitlesMixin, ProofsMixin, MergingMixin):
    """A volreg registry: people, volunteers, organisations, studios, activities, service hours and honours.

    Reads return model objects or lazy iterators; writes are methods that validate, write inside one
    transaction and journal what changed.  A refused write raises a :class:`volreg.VolregError` and leaves
    the database exactly as it was.

    Args:
        db: a ``sqlite_utils.Database``, a file path, or ``":memory:"``.
        timezone: the home time zone for a new registry (an existing one keeps its own; a different
            explicit value is refused).
        key: the key for ID-number digests (at least 16 bytes): else ``VOLREG_KEY``, else the key file
            ``<database>.key`` beside the file, created only with a new registry.
        allow_shared_key: accept a key file that the group or others may read or write (else refused with
            the ``chmod 600`` to run; also ``VOLREG_ALLOW_SHARED_KEY=1``).
        timeout, readonly, adopt: see :func:`volreg.open`.

    A registry may be shared by threads: each thread gets its own connection to the file (an in-memory
    registry serialises one connection). Before ``fork()`` every connection is closed, and reopened on next
    use in parent and child alike; a registry dropped without :meth:`close` closes at once.

    Raises:
        KeyMismatch: the key differs from the one the registry was created with.
        KeyFileError: the key file of an existing registry is missing, unreadable or shared.
        InvalidValue: a key shorter than 16 bytes.
        SchemaTooNew: the database was written by a newer volreg.
        NotARegistry: the file is another application's database (see :func:`volreg.open`).
    """

    def __init__(self, db: Database | str | os.PathLike[str] = ":memory:", *, timezone: str | None = None,
                 key: str | bytes | None = None, allow_shared_key: bool = False,
                 timeout: float = DEFAULT_TIMEOUT, readonly: bool = False, adopt: bool = False) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout <= 86_400:
            raise InvalidValue("timeout", "must be a number of seconds from 0 to 86400", timeout)
        if key is not None or os.environ.get("VOLREG_KEY"):
            load_key(key, None)  # a bad key is refused before any file is created
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
            self._open(store, timezone=timezone, key=key, readonly=readonly, adopt=adopt,
                       allow_shared_key=allow_shared_key)
        except BaseException as error:
            self._finalizer.detach()
            connections.close(dropped=True)  # a database the caller passed in stays open for them
            if isinstance(error, VolregError):
                log.info("refused open: %s: %s", type(error).__name__, error)
            raise
        log.debug("opened %s%s", store.path or ":memory:", " read-only" if readonly else "")

    def _open(self, store: Store, *, timezone: str | None, key: str | bytes | None, readonly: bool,
              adopt: bool, allow_shared_key: bool) -> None:
        # Reading first, writing only what is missing: opening an existing, current registry takes no write
        # lock, so it returns at once while another process holds a long write transaction.
        path = store.path
        tables = _inspect(store, readonly)
        secret: bytes | None
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
                raise NeedsUpgrade(path, pending)
        else:
            if tables and ("_sqlite_migrations" not in tables or not MIGRATIONS.applied(store.db)) and not adopt:
                raise NotARegistry(str(path), _foreign(tables) + "; pass adopt=True to add a registry to it")
            # The key first: a registry that exists must not be touched (not even upgraded) without its key,
            # and a key file is created only for a registry that is being created.
            with store.translated():
                new = _is_new(store.db)
            secret, key_source = load_key(key, path, new=new, allow_shared=allow_shared_key)
            with store.translated():
                db = store.db
                if path and db.journal_mode != "wal":
                    # WAL: readers never block the writer and a crash leaves the last committed state.
                    db.enable_wal()
                migrate(db)
        if readonly:
            secret, key_source = _key(key, path, allow_shared_key)
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
        if not readonly and store.meta(external_ids.UNPROTECTED) is not None:
            external_ids.protect(self.session)  # written before they were digested (m023): now, with the key
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
                "SELECT code, label FROM categories WHERE vocabulary = ? AND (code IN (?, ?) OR label IN (?, ?)) "
                "ORDER BY code = ? DESC LIMIT 1",
                [vocabulary, code, label, code, label, code],
            )
            if taken and code in (taken["code"], taken["label"]):
                raise InvalidValue("code", f"must be new to the {vocabulary} vocabulary", code)
            if taken:
                raise InvalidValue("label", f"must be new to the {vocabulary} vocabulary (category "
                                            f"{taken['code']!r} has it)", label)
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
        """Every journaled change to the entity with this id, oldest first (personal values masked).

        A service record imported from a file shows its import as a ``create`` whose ``after`` is the record
        as it was written (its status and verifier then) and whose note names the file's line; the import's
        own entry, about its whole batch, is under the batch's id (``imp-...``, named in ``after``).
        """
        key = getattr(id, "id", id)
        if not isinstance(key, str):
            raise InvalidValue("id", "must be an id (text) or an object with one", shown=type(key).__name__)
        changes = []
        for row in self._store.history(key):
            if row["item_status"] is not None:  # written as an item of a batch entry (an import)
                row = {**row, "after": json.dumps(self._as_written(row), ensure_ascii=False, default=str),
                       "note": f"line {row['item_line']}" if row["item_line"] is not None else row["note"]}
            changes.append(Change.from_row(row, self.zone))
        return changes

    def anonymise(self, person: Any, *, by: Any = None, note: str = "", timeout: float | None = None) -> Person:
        """Erase a person's personal data while keeping everything statistics count.

        The person's name becomes a stable pseudonym (``匿名-`` and 8 hex digits of their id) and their ID
        digest, masked ID, phone and area are erased. Their name, phone and masked phone are replaced by the
        pseudonym in every text column of every table: studio and activity names, an activity's leader,
        anyone's service notes, actor columns (``recorded_by``, ``verified_by``, the journal's actor ...) and
        the journal's before/after/note; a number of any of their documents (and of people merged into them)
        typed into free text, as issued, in lower case or full-width, is found through its keyed digest and
        replaced too, and so is their phone typed with separators or in full-width digits. A namesake's own
        name is left alone. Ids, gender, birth date, hours, nominations and honours stay, so every total is
        unchanged; their volunteer registration becomes ``anonymised``.

        Then the WAL is checkpointed and truncated (``secure_delete`` zeroes what is overwritten), so the
        erased values are gone from the bytes on disk as well. Inside :meth:`transaction` that has to wait
        until the transaction is committed: call :meth:`complete_erasure` after it (:func:`volreg.check`
        does too).

        Args:
            person: the person (or their id).
            by: who acts, for the journal.
            note: why (for the journal).
            timeout: seconds to wait for readers of an older snapshot to finish (default: the busy timeout).

        Returns:
            The anonymised person.

        Raises:
            NotFound: no such person.
            ErasureIncomplete: the erasure is committed, but a reader kept old pages alive past ``timeout``;
                :meth:`complete_erasure` finishes it later.
        """
        self.person(person)
        with self._store.write() as store:
            old = self.person(person)
            documents = held_documents(store, old.id)  # before their digests are erased
            alias = pseudonym(old.id)
            new = attrs.evolve(old, name=alias, id_masked=None, id_digest=None, id_country=None, phone=None, area="",
                               anonymised=True)
            store.update(
                "people",
                old.id,
                {"name": alias, "id_digest": None, "id_masked": None, "id_country": None, "phone": None, "area": "",
                 "anonymised": 1},
            )
            # A merged person's tombstone may still hold a document of another type.
            store.execute("UPDATE people SET id_digest = NULL, id_masked = NULL, anonymised = 1 "
                          "WHERE merged_into = ?", [old.id])
            store.execute(
                "UPDATE volunteers SET status = 'anonymised', status_since = ? WHERE person = ?",
                [self._now().date().isoformat(), old.id],
            )
            for row in list(store.rows(f"SELECT seq, before, after FROM journal WHERE entity_id IN ({_OWN})",
                                       [old.id])):
                store.update("journal", row["seq"], {
                    "before": _scrub(row["before"], alias), "after": _scrub(row["after"], alias)
                }, pk="seq")
            erase_words(self.session, store, person_id=old.id, words=(old.name, old.phone, mask_phone(old.phone)),
                        documents=documents, alias=alias, phone=old.phone)
            self._journal("anonymise", "person", old.id, by=by, after={"id": old.id, "anonymised": True}, note=note)
            store.set_meta(PENDING, "1")
        if not self._store.db.conn.in_transaction:
            self.complete_erasure(timeout=timeout)
        return new

    @property
    def erasure_pending(self) -> bool:
        """Whether an erasure is committed but not yet physically complete (see :meth:`complete_erasure`)."""
        return self._store.meta(PENDING) is not None

    def complete_erasure(self, *, timeout: float | None = None) -> bool:
        """Finish erasures whose values are still on disk: checkpoint and truncate the WAL.

        :meth:`anonymise` does this itself; it is needed again only after :class:`ErasureIncomplete` (a
        reader kept an old snapshot open), and :func:`volreg.check` runs it.

        Args:
            timeout: seconds to wait for readers of an older snapshot (default: the busy timeout).

        Returns:
            True when there was an erasure to finish, False when none was pending.

        Raises:
            ErasureIncomplete: a reader still keeps old pages alive.
            RuleViolation: called inside :meth:`transaction` (the erasure is not committed yet).
        """
        if self._store.meta(PENDING) is None:
            return False
        if self._store.db.conn.in_transaction:
            raise RuleViolation("transaction", "complete_erasure() must run after the transaction is committed")
        done, detail = checkpoint(self.session, timeout)
        if not done:
            raise ErasureIncomplete(self.session.path or ":memory:", detail)
        with self._store.write() as store:
            store.execute("DELETE FROM registry_meta WHERE key = ?", [PENDING])
        checkpoint(self.session, 0)  # best effort: the last write holds no personal data
        return True


_PERSONAL_KEYS = ("name", "phone", "id_masked", "area")

# The ids of everything that belongs to the person ``?1``: themself, their volunteer registrations and
# service records, the nominations and honours they are the nominee or recipient of, and their families.
_OWN = (
    "SELECT ?1 AS id UNION SELECT id FROM volunteers WHERE person = ?1 "
    "UNION SELECT r.id FROM service_records r JOIN volunteers v ON v.id = r.volunteer WHERE v.person = ?1 "
    "UNION SELECT id FROM nominations WHERE person = ?1 UNION SELECT id FROM honours WHERE person = ?1 "
    "UNION SELECT family FROM family_members WHERE person = ?1 "
    # People merged into the person, and their merged volunteer registrations, were the person too.
    "UNION SELECT id FROM people WHERE merged_into = ?1 "
    "UNION SELECT a.id FROM volunteer_aliases a JOIN volunteers v ON v.id = a.volunteer WHERE v.person = ?1"
)


def _scrub(text: str | None, alias: str) -> str | None:
    """A journal value about the person with the personal fields erased (the name becomes the pseudonym)."""
    if not text:
        return text
    data = json.loads(text)
    if not isinstance(data, dict):
        return text
    for key in _PERSONAL_KEYS:
        if data.get(key):
            data[key] = alias if key == "name" else ("" if key == "area" else None)
    return json.dumps(data, ensure_ascii=False)


def _is_new(db: Database) -> bool:
    """Whether ``db`` holds no registry yet (no key check recorded): only then may a key file be created."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry_meta'").fetchone():
        return True
    return db.execute("SELECT 1 FROM registry_meta WHERE key = 'key_check'").fetchone() is None


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
         key: str | bytes | None = None, allow_shared_key: bool = False, timeout: float = DEFAULT_TIMEOUT,
         readonly: bool = False, adopt: bool = False) -> Registry:
    """Open (creating or upgrading) a registry.

    Opening an existing, current registry reads only: it takes no write lock and returns at once even while
    another process holds a long write transaction. Only a first open or a pending migration writes.

    Args:
        path: a SQLite file (created when missing, in WAL mode) or ``":memory:"``.
        timezone: the home time zone naive input is read in; an existing registry keeps its own.
        key: the key for ID-number digests(at least 16 bytes); see :class:`Registry`. A read-only registry uses the argument,
            ``VOLREG_KEY`` or an existing key file, and without one refuses only reads that need digests
            (finding a person by ID number).
        timeout: how many seconds a write waits for another process's write lock before raising
            :class:`Busy` (the busy timeout).
        readonly: open with SQLite's read-only mode: no schema, no WAL switch, no key file, no write; works
            on a read-only file, directory or file system. Writes raise :class:`ReadOnly`.
        adopt: allow a writable open to add a registry to a non-empty SQLite file of another application
            (refused by default, so that a wrong path does not turn someone's database into a registry).
        allow_shared_key: accept a key file readable or writable by others; see :class:`Registry`.

    Returns:
        The registry.

    Raises:
        NotARegistry: the file is not a volreg registry (read-only, or writable without ``adopt``); the
            file is left byte-for-byte as it was.
        KeyMismatch: the key differs from the one the registry was created with.
        KeyFileError: the key file of an existing registry is missing, unreadable or shared.
        SchemaTooNew: the file was written by a newer volreg; it is left untouched.
        StorageError: SQLite could not open or write the file (:class:`ReadOnly`, :class:`StorageFull`,
            :class:`Corrupt` ...).
        InvalidValue: an unknown time zone, or a bad timeout.
    """
    get_zone(timezone)
    exists = str(path) != ":memory:" and Path(path).exists() and Path(path).stat().st_size > 0
    # An existing registry keeps its own zone; only an explicitly different zone is an error.
    return Registry(path, timezone=None if exists and timezone == _DEFAULT_TIMEZONE else timezone, key=key,
                    allow_shared_key=allow_shared_key, timeout=timeout, readonly=readonly, adopt=adopt)


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


def _key(key: str | bytes | None, path: str | None, allow_shared: bool) -> tuple[bytes | None, str]:
    """The key of a read-only open, which never creates a key file (it may have no key at all)."""
    if key is not None or os.environ.get("VOLREG_KEY"):
        return load_key(key, path, new=False, allow_shared=allow_shared)
    if path and Path(path + ".key").is_file():
        return load_key(None, path, new=False, allow_shared=allow_shared)
    return None, "no key (read-only, without a key file)"
