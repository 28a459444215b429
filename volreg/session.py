"""The session: the one front door through which every layer reaches a registry's data.

Query functions, import and export, ``check()`` and the command line use a registry only through
``registry.session``, a :class:`Session`: rows in and out, a write transaction, the clock and the home zone,
references by id or by name, categories, keyed digests and the journal. Nothing outside the registry package
touches a private name of the registry, so the inside can change without breaking them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from .errors import InvalidValue, NotFound, VolregError
from .personal import digest as keyed_digest
from .store import Store, bulk
from .store.db import bindable, translate
from .text import actor_text, clean_text, public_view
from .timeutil import now, parse_date, parse_datetime, to_utc_text

__all__ = ["Session", "TABLES", "guarded", "log"]

log = logging.getLogger("volreg")
"""volreg's logger: each write at DEBUG (action, entity, id; never personal data), each refusal at INFO,
migrations and imports at INFO."""

TABLES: dict[str, str] = {
    "person": "people",
    "volunteer": "volunteers",
    "organisation": "organisations",
    "studio": "studios",
    "activity": "activities",
    "service_record": "service_records",
    "nomination": "nominations",
    "honour": "honours",
    "edition": "honour_editions",
    "title": "honour_titles",
    "family": "families",
    "series": "activity_series",
}
"""The table that holds each kind of entity a reference may name."""

# Kinds whose rows have a unique-enough ``name`` column to be found by it (the command line's --organisation).
_NAMED = {"organisation": "name", "studio": "name", "activity": "title"}


class Session:
    """What every layer of volreg shares for one registry: the store, the clock and zone, the key, the journal.

    A session may be used from several threads: its store gives each thread its own connection (see
    :mod:`volreg.store.connection`), so a transaction opened with :meth:`write` belongs to the thread that
    opened it.

    Args:
        store: the row store of the registry's database.
        zone: the registry's home time zone (naive input is read in it).
        key: the registry key that digests are made with (None: a read-only registry opened without one).
        key_source: where the key came from (for messages; never the key itself).
        path: the database file, or None for an in-memory registry.
    """

    def __init__(self, store: Store, zone: tzinfo, key: bytes | None, key_source: str, path: str | None) -> None:
        self.store = store
        self.zone = zone
        self._key = key
        self.key_source = key_source
        self.path = path
        self._summaries = True

    @property
    def summaries(self) -> bool:
        """Whether query functions may answer from the summary tables.

        True by default; setting it False makes them recount the records, which is what the summaries are
        checked against.  It is also False while records an import wrote on this connection wait for their
        summaries (they are added just before the import commits), so that a question asked meanwhile, from
        the import's progress hook say, counts every record written so far.
        """
        return self._summaries and not bulk.waiting(self.store)

    @summaries.setter
    def summaries(self, value: bool) -> None:
        self._summaries = bool(value)

    def __repr__(self) -> str:
        return f"<volreg.Session {self.path or ':memory:'}>"

    # -- rows --------------------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Lazily iterate a read's rows as dicts (parameters bound and checked)."""
        return self.store.rows(sql, params)

    def cursor(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run a read and return its cursor: rows as tuples, in the order of ``description``'s columns.

        Read it to the end before the next write through this registry.
        """
        return self.store.cursor(sql, params)

    def stamp(self) -> tuple[int, int]:
        """A value that changes whenever the registry's data may have changed (any write, any commit)."""
        return self.store.stamp()

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a read, or None."""
        return self.store.one(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of a read's first row, or None."""
        return self.store.scalar(sql, params)

    def get(self, kind: str, value: Any) -> dict[str, Any]:
        """The stored row of an entity of ``kind`` (``"person"``, ``"activity"`` ...) by object or id.

        A merged person's id answers the person they were merged into, and a merged volunteer
        registration's id the registration it was merged into (see ``Registry.merge_people``).

        Raises:
            NotFound: there is no such row.
        """
        key = getattr(value, "id", value)
        row = self.store.get(_table(kind), key) if isinstance(key, str) else None
        if row is None and kind == "volunteer" and isinstance(key, str):
            row = self.store.one(
                "SELECT v.* FROM volunteer_aliases a JOIN volunteers v ON v.id = a.volunteer WHERE a.id = ?", [key]
            )
        elif row is not None and kind == "person" and row.get("merged_into"):
            row = self.store.get("people", row["merged_into"])
        if row is None:
            raise NotFound(kind, key)
        return row

    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
        """One transaction (a savepoint when nested): everything written in it lands, or nothing does."""
        with self.store.write() as store:
            yield store

    def optimize(self) -> None:
        """Refresh the query planner's statistics; call it after writing many rows (an import, a build)."""
        self.store.optimize()

    # -- time --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current instant in the home zone."""
        return now(self.zone)

    def moment(self, value: Any, field: str) -> datetime:
        """An aware datetime from any accepted form (naive input is in the home zone).

        Raises:
            InvalidValue: naming ``field``.
        """
        return parse_datetime(value, self.zone, field)

    def day(self, value: Any, field: str) -> date:
        """A calendar date from any accepted form (``2024-03-05``, ``2024年3月5日`` ...).

        Raises:
            InvalidValue: naming ``field``.
        """
        return parse_date(value, field)

    def utc_text(self, value: datetime) -> str:
        """The stored form of an instant (UTC text)."""
        return to_utc_text(value)

    # -- references ----------------------------------------------------------------------------------

    def ref(self, kind: str, value: Any) -> str:
        """The id of an existing entity of ``kind``, given the object or its id.

        Raises:
            NotFound: there is no such entity.
        """
        return str(self.get(kind, value)["id"])

    def named(self, kind: str, value: Any) -> str:
        """The id of an entity of ``kind`` given the object, its id, or (where unambiguous) its name.

        Raises:
            NotFound: no entity has that id or name.
            InvalidValue: the name belongs to more than one entity.
        """
        key = getattr(value, "id", value)
        if isinstance(key, str) and bindable(key) and kind in _NAMED:
            column = _NAMED[kind]
            found = list(self.store.rows(
                f"SELECT id FROM [{_table(kind)}] WHERE id = ? OR [{column}] = ? LIMIT 2", [key, key]
            ))
            if len(found) == 1:
                return str(found[0]["id"])
            if len(found) > 1:
                raise InvalidValue(kind, "names more than one; give the id", key)
            raise NotFound(kind, key)
        return self.ref(kind, value)

    # -- vocabulary ---------------------------------------------------------------------------------

    def category(self, value: Any, vocabulary: str = "activity", field: str = "category") -> str:
        """The code of a category given its code or its label.

        Raises:
            InvalidValue: not a category of the vocabulary.
        """
        code = getattr(value, "code", value)
        if isinstance(code, str) and bindable(code):
            row = self.store.one(
                "SELECT code FROM categories WHERE vocabulary = ? AND (code = ? OR label = ?)",
                [vocabulary, code.strip(), code.strip()],
            )
            if row:
                return str(row["code"])
        raise InvalidValue(field, f"must be a category of the registry's {vocabulary} vocabulary", value)

    # -- personal data ---------------------------------------------------------------------------------

    def digest(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` for ``purpose`` (the same value gives the same digest in this registry).

        Raises:
            InvalidValue: the registry was opened read-only without its key (pass ``key=`` or set
                ``VOLREG_KEY``), so ID numbers cannot be looked up.
        """
        if self._key is None:
            raise InvalidValue("key", "is needed to look up ID numbers in a registry opened read-only; pass "
                               "key= or set VOLREG_KEY", shown=self.key_source)
        return keyed_digest(self._key, purpose, value)

    # -- the journal -----------------------------------------------------------------------------------

    def journal(
        self,
        action: str,
        entity: str,
        entity_id: str,
        *,
        by: Any = None,
        before: Any = None,
        after: Any = None,
        note: str = "",
        at: datetime | None = None,
    ) -> None:
        """Append one entry to the journal; ``before``/``after`` objects are stored as masked views."""
        log.debug("%s %s %s", action, entity, entity_id)
        self.store.journal(
            at=to_utc_text(at or self.now()),
            actor=actor_text(by),
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=None if before is None else public_view(dict(before) if isinstance(before, Mapping) else before),
            after=None if after is None else public_view(dict(after) if isinstance(after, Mapping) else after),
            note=clean_text(note, "note"),
        )


    def journal_batch(self, action: str, entity: str, batch_id: str, *, by: Any, after: Mapping[str, Any],
                      items: Sequence[tuple[str, int | None, str, str | None]], at: datetime | None = None) -> int:
        """Append one entry for many entities of ``entity`` written together (an import's batch), naming
        each of them: ``items`` are ``(entity_id, line, status, verified_by)`` as written.  Each entity's
        :meth:`volreg.Registry.history` then shows its creation through this entry.  Returns its ``seq``."""
        log.debug("%s %s %s (%d items)", action, entity, batch_id, len(items))
        return self.store.journal_batch(at=to_utc_text(at or self.now()), actor=actor_text(by), action=action,
                                        entity=entity, entity_id=batch_id, after=public_view(dict(after)),
                                        items=items)


def _table(kind: str) -> str:
    try:
        return TABLES[kind]
    except KeyError:
        raise InvalidValue("kind", f"must be one of {', '.join(TABLES)}", kind) from None


def guarded(cls: type) -> type:
    """Make every public method of ``cls`` log its refusals (INFO) and raise only volreg errors.

    A driver error that escaped the store (it translates its own) becomes the matching
    :class:`volreg.VolregError`; each refusal is logged once, by the outermost call, with its class and
    message (messages never hold personal values in clear).
    """
    for name in dir(cls):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        if inspect.isfunction(member):
            setattr(cls, name, _guard(member))
    return cls


_calls = threading.local()


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded_method(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_calls, "depth", 0)
        _calls.depth = depth + 1
        try:
            return method(self, *args, **kwargs)
        except VolregError as error:
            if not depth:
                _refused(method, error)
            raise
        except sqlite3.Error as error:
            store = self.session.store
            translated = translate(error, store.path, store.timeout_ms)
            if not depth:
                _refused(method, translated)
            raise translated from error
        finally:
            _calls.depth = depth

    return guarded_method


def _refused(method: Callable[..., Any], error: VolregError) -> None:
    # Logged by the outermost public call only (the one the caller made), with the class and the message,
    # which never holds a personal value in clear.
    log.info("refused %s: %s: %s", method.__name__, type(error).__name__, error)
