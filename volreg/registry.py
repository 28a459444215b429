"""The :class:`Registry`: one SQLite database holding everything, and every write that changes it."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from sqlite_utils import Database

from .activities import ActivitiesMixin
from .base import clean_text, items_of, whole_number
from .directory import DirectoryMixin
from .errors import InvalidValue, KeyMismatch
from .honours import HonoursMixin
from .model import Category, Change, Person, Settings
from .nominating import NominationsMixin
from .people import PeopleMixin
from .personal import load_key, mask_phone
from .reviews import ReviewsMixin
from .service import ServiceMixin
from .session import Session
from .store import Store, migrate
from .store.db import BUSY_TIMEOUT_MS
from .timeutil import get_zone
from .titles import TitlesMixin
from .vocab import DEFAULT_CATEGORIES, SEEDED_VOCABULARIES, VOCABULARIES

__all__ = ["Registry", "open"]

_DEFAULT_TIMEZONE = "Asia/Shanghai"


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

    Raises:
        KeyMismatch: the key differs from the one the registry was created with.
        SchemaTooNew: the database was written by a newer volreg.
    """

    def __init__(self, db: Database | str | os.PathLike[str] = ":memory:", *, timezone: str | None = None,
                 key: str | bytes | None = None) -> None:
        if isinstance(db, Database):
            database = db
        elif str(db) == ":memory:":
            database = Database(memory=True)
        else:
            database = Database(Path(db))
        self.db = database
        store = Store(database)
        path = _database_path(database)
        database.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        database.execute("PRAGMA foreign_keys = ON")
        # Deleted and overwritten personal data must not linger in free pages (anonymisation).
        database.execute("PRAGMA secure_delete = ON")
        if path:
            # WAL: readers never block the writer and a crash leaves the last committed state.
            # synchronous=FULL: each commit is on disk (the WAL fsynced) before the write method returns,
            # so a committed write survives a power cut too, not only a crash of the process.
            database.enable_wal()
            database.execute("PRAGMA synchronous = FULL")
        migrate(database)
        secret, key_source = load_key(key, path)
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
        check = self.session.digest("key_check", "volreg")
        with self.session.write() as store:
            known = store.meta("key_check")
            if known is None:
                store.set_meta("key_check", check)
            elif known != check:
                raise KeyMismatch(key_source)
            if stored is None:
                store.set_meta("settings", self.settings.to_json())
                for vocabulary in SEEDED_VOCABULARIES:
                    store.insert_many(
                        "categories",
                        [{"code": c, "vocabulary": vocabulary, "label": label} for c, label in DEFAULT_CATEGORIES],
                    )

    def __repr__(self) -> str:
        return f"<volreg.Registry {_database_path(self.db) or ':memory:'} ({self.settings.timezone})>"

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
        """Close the database connection."""
        self.db.close()

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
         key: str | bytes | None = None) -> Registry:
    """Open (creating or upgrading) a registry.

    Args:
        path: a SQLite file (created when missing, in WAL mode) or ``":memory:"``.
        timezone: the home time zone naive input is read in; an existing registry keeps its own.
        key: the key for ID-number digests; see :class:`Registry`.

    Returns:
        The registry.

    Raises:
        KeyMismatch: the key differs from the one the registry was created with.
        SchemaTooNew: the file was written by a newer volreg; it is left untouched.
        InvalidValue: an unknown time zone.
    """
    get_zone(timezone)
    exists = str(path) != ":memory:" and Path(path).exists() and Path(path).stat().st_size > 0
    # An existing registry keeps its own zone; only an explicitly different zone is an error.
    return Registry(path, timezone=None if exists and timezone == _DEFAULT_TIMEZONE else timezone, key=key)
