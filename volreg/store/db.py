"""The row store: transactions, plain inserts, updates and reads, and the journal.

Every write of the registry runs inside :meth:`Store.write`.  The outermost level opens the transaction
with ``BEGIN IMMEDIATE``: a deferred ``BEGIN`` (what ``db.atomic()`` issues) takes the write lock only at
the first write, and a reader that then needs to upgrade fails at once with "database is locked" instead of
waiting for the busy timeout.  Nested levels are savepoints, through ``db.atomic()``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlite_utils import Database
from sqlite_utils.utils import dedupe_keys

from ..errors import (
    Busy,
    Closed,
    Conflict,
    Corrupt,
    InvalidValue,
    ReadOnly,
    StorageError,
    StorageFull,
    VolregError,
)
from .connection import Connections
from .filters import SUBTREE

__all__ = ["Store", "BUSY_TIMEOUT_MS", "bindable", "translate"]

BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write lock before giving up (milliseconds)."""

_INT64 = (-(2**63), 2**63 - 1)


def bindable(value: Any) -> bool:
    """Whether SQLite can take ``value`` as a parameter: None, a 64-bit int, a float, UTF-8 text or bytes."""
    if value is None or isinstance(value, (float, bytes)):
        return True
    if isinstance(value, int):
        return _INT64[0] <= value <= _INT64[1]
    if isinstance(value, str):
        if value.isascii():  # the common case, and far cheaper than encoding (ASCII has no surrogates)
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return False


def _keys(cursor: sqlite3.Cursor) -> list[str]:
    """A read's column names as dict keys; a repeated name gets a suffix (``id``, ``id_2``) as in sqlite-utils."""
    return dedupe_keys(d[0] for d in cursor.description)


def _checked(params: Sequence[Any]) -> Sequence[Any]:
    # The last line of defence: the registry validates each argument with its own message first; a value
    # that still cannot be bound is refused as a volreg error rather than a driver exception.
    for value in params:
        kind = type(value)
        if value is None or (kind is str and value.isascii()) or (kind is int and -(2**63) <= value < 2**63):
            continue
        if not bindable(value):
            raise InvalidValue("value", "must be text, a whole number within 64 bits, a number or None", value)
    return params


def translate(error: sqlite3.Error, path: str | None, timeout_ms: int) -> VolregError:
    """The volreg error for a driver error: busy, full, read-only, corrupt, closed, a broken constraint.

    A broken constraint means a check in the registry was bypassed (a race it did not foresee, or a row
    written by an older version); the transaction still rolls back, so the database is as before.
    """
    text = str(error)
    lower = text.lower()
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if isinstance(error, sqlite3.IntegrityError):
        return Conflict(f"the write would break a rule of the database ({error}); nothing was written")
    if isinstance(error, sqlite3.ProgrammingError) and "closed" in lower:
        return Closed(path)
    if code in (5, 6) or "locked" in lower or "busy" in lower:
        return Busy(timeout_ms)
    if code == 13 or "disk is full" in lower:
        return StorageFull(path, text)
    if code == 8 or "readonly" in lower or "read-only" in lower:
        return ReadOnly(path, text)
    if code in (11, 26) or "malformed" in lower or "not a database" in lower:
        return Corrupt(path, text)
    return StorageError(path, text)


def _finish(handle: Any) -> None:
    """Run what the outermost write transaction of ``handle`` was asked to do before it commits."""
    while handle.before_commit:
        handle.before_commit.pop(0)()


class Store:
    """A thin wrapper over a registry's SQLite connections: SQL in, rows (dicts) out; no business rules.

    Every driver error becomes a :class:`volreg.VolregError` (see :func:`translate`).

    Args:
        connections: the registry's :class:`~volreg.store.connection.Connections`, or a
            ``sqlite_utils.Database`` to use as the one connection.
    """

    def __init__(self, connections: Connections | Database) -> None:
        if isinstance(connections, Database):
            connections = Connections(None, timeout=BUSY_TIMEOUT_MS / 1000, database=connections)
        self.connections = connections

    @property
    def db(self) -> Database:
        """The current thread's ``sqlite_utils.Database`` (opened lazily; see :mod:`volreg.store.connection`).

        Raises:
            Closed: the registry was closed.
        """
        return self.connections.get()

    @property
    def path(self) -> str | None:
        """The database file, or None in memory."""
        return self.connections.path

    @property
    def timeout_ms(self) -> int:
        """The busy timeout in milliseconds."""
        return int(self.connections.timeout * 1000)

    @contextlib.contextmanager
    def translated(self) -> Iterator[None]:
        """Run a block whose driver errors become volreg errors."""
        try:
            yield
        except sqlite3.Error as error:
            raise translate(error, self.path, self.timeout_ms) from error

    def close(self) -> None:
        """Close every connection; later use raises :class:`volreg.Closed`."""
        self.connections.close()

    # -- transactions -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
        """A transaction (or a savepoint inside one): everything in it is written, or nothing is."""
        with self.translated(), self.connections.writing() as (handle, outermost):
            conn = handle.db.conn
            if not outermost or conn.in_transaction:
                try:
                    with handle.db.atomic():
                        yield self
                        if outermost:
                            _finish(handle)
                finally:
                    if outermost:
                        handle.before_commit.clear()
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
                if not handle.closed:
                    _finish(handle)
            except BaseException:
                handle.before_commit.clear()
                if not handle.closed and conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            if handle.closed:
                raise Closed(self.path, during_write=True)
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                # A commit that failed (a full disk, say) leaves the transaction open: roll it back, so
                # that nothing of it is written and the connection is usable again.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def before_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once, inside the current write transaction, just before it commits.

        For work that may wait until the transaction ends but must not be left out of it (the summaries of
        records written in batches); if the transaction rolls back, ``action`` is dropped unrun.  An action
        equal to one already waiting is not added again.  Outside a write transaction, ``action`` runs at once.
        """
        handle = self.connections.handle()
        if handle.depth == 0:
            action()
        elif action not in handle.before_commit:  # asked again in the same transaction: once is enough
            handle.before_commit.append(action)

    # -- plain rows ----------------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row (all columns named; parameters bound)."""
        columns = list(row)
        sql = "INSERT INTO [{}] ({}) VALUES ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        )
        self.execute(sql, [row[c] for c in columns])

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that share their columns, with one ``executemany``."""
        if not rows:
            return
        columns = list(rows[0])
        sql = "INSERT INTO [{}] ({}) VALUES ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        )
        params = [[r[c] for c in columns] for r in rows]
        # Every value is checked only when the insert fails: the driver refuses what it cannot bind, and
        # the savepoint takes back the rows written before it (checking each value first cost 3 µs a row
        # of an import's service records, a sixth of the insert itself).
        with self.write():
            try:
                with self._use() as db:
                    db.conn.executemany(sql, params)
            except (VolregError, ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
                for each in params:
                    _checked(each)
                raise

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row (``executemany``; parameters checked by the caller)."""
        with self._use() as db:
            db.conn.executemany(sql, rows)

    def update(self, table: str, key: Any, changes: Mapping[str, Any], *, pk: str = "id") -> None:
        """Set columns of the row whose primary key is ``key``."""
        if not changes:
            return
        sets = ", ".join(f"[{c}] = ?" for c in changes)
        self.execute(f"UPDATE [{table}] SET {sets} WHERE [{pk}] = ?", [*changes.values(), key])

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement with bound parameters."""
        with self._use() as db:
            db.execute(sql, _checked(params))

    def script(self, sql: str) -> None:
        """Run a statement without parameters that may not run inside a transaction (a checkpoint, a pragma)."""
        with self._use() as db:
            db.execute(sql).fetchall()

    def get(self, table: str, key: Any, *, pk: str = "id") -> dict[str, Any] | None:
        """The row whose primary key is ``key``, or None (also for a key no row could have, such as a list)."""
        if not bindable(key) or isinstance(key, (bytes, float)):
            return None
        return self.one(f"SELECT * FROM [{table}] WHERE [{pk}] = ?", [key])

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or None.

        Read straight from the connection (a statement at a time, closed at once): ``Database.query`` wraps
        each read in a savepoint of its own, three statements where one will do, and the registry's point
        reads (a volunteer, a document's digest, an organisation) are most of what a row of an import costs.
        """
        with self._use() as db:
            cursor = db.conn.execute(sql, _checked(params))
            try:
                row = cursor.fetchone()
                return None if row is None else dict(zip(_keys(cursor), row, strict=True))
            finally:
                cursor.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Lazily iterate a query's rows as dicts (read at once, under the lock, for a shared connection)."""
        _checked(params)
        if self.connections.lock is not None:
            with self._use() as db:
                cursor = db.conn.execute(sql, params)
                keys = _keys(cursor)
                return iter([dict(zip(keys, row, strict=True)) for row in cursor.fetchall()])
        return self._lazy(sql, params)

    def _lazy(self, sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
        with self.translated():
            handle = self.connections.handle()
            cursor = handle.db.execute(sql, params)
            handle.cursors.add(cursor)  # closed with the connection (a fork, close()), so nothing stays open
            keys = _keys(cursor)
            for row in cursor:
                yield dict(zip(keys, row, strict=True))

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query as a tuple (cheaper than dicts for wide reads)."""
        with self._use() as db:
            return [tuple(r) for r in db.execute(sql, _checked(params)).fetchall()]

    def cursor(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run a read and return its cursor: rows as tuples, column names in ``description``.

        The cursor belongs to this thread's connection and is closed with it (before a fork, by ``close()``),
        so a half-read result never keeps SQLite's lock state open across ``fork()``.
        """
        with self.translated():
            handle = self.connections.handle()
            cursor = handle.db.conn.execute(sql, _checked(params))
            handle.cursors.add(cursor)
            return cursor

    def stamp(self) -> tuple[int, int]:
        """A value that changes whenever the database may have changed: a write through this connection
        (even one rolled back) or a commit by another connection."""
        with self._use() as db:
            conn = db.conn
            return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        with self._use() as db:
            row = db.execute(sql, _checked(params)).fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def _use(self) -> Iterator[Database]:
        lock = self.connections.lock
        with self.translated(), (lock if lock is not None else contextlib.nullcontext()):
            yield self.db

    def optimize(self) -> None:
        """Refresh the planner's statistics after a bulk write (``ANALYZE``, sampled, then ``PRAGMA optimize``).

        Without statistics SQLite planned the studio view as a scan of every service record per activity
        (seconds on a city's registry); with them it answers in milliseconds. ``analysis_limit`` bounds the cost
        on a large file: the statistics come from a sample of each index.
        """
        with self._use() as db:
            db.execute("PRAGMA analysis_limit = 1000")
            db.execute("ANALYZE")
            db.execute("PRAGMA optimize")

    # -- settings and metadata -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value from ``registry_meta``."""
        return self.scalar("SELECT value FROM registry_meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in ``registry_meta``."""
        self.execute(
            "INSERT INTO registry_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- the journal -----------------------------------------------------------------------------------

    def journal(
        self,
        *,
        at: str,
        actor: str | None,
        action: str,
        entity: str,
        entity_id: str,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        note: str = "",
    ) -> None:
        """Append one entry to the journal (values already masked by the caller)."""
        self.insert(
            "journal",
            {
                "at": at,
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "before": None if before is None else json.dumps(before, ensure_ascii=False, default=str),
                "after": None if after is None else json.dumps(after, ensure_ascii=False, default=str),
                "note": note,
            },
        )

    def journal_batch(self, *, at: str, actor: str | None, action: str, entity: str, entity_id: str,
                      after: Mapping[str, Any], items: Sequence[tuple[str, int | None, str, str | None]],
                      note: str = "") -> int:
        """Append one entry about many entities written at once, and an item per entity (``journal_items``:
        its id, the line of the file it came from, and its status and verifier when written); return the
        entry's ``seq``."""
        cursor = self.db.conn.execute(
            "INSERT INTO journal (at, actor, action, entity, entity_id, before, after, note) "
            "VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
            [at, actor, action, entity, entity_id, json.dumps(after, ensure_ascii=False, default=str), note])
        seq = int(cursor.lastrowid or 0)
        self.db.conn.executemany(
            "INSERT INTO journal_items (seq, entity_id, line, status, verified_by) VALUES (?, ?, ?, ?, ?)",
            [(seq, *item) for item in items])
        return seq

    def history(self, entity_id: str) -> Iterator[dict[str, Any]]:
        """Journal rows about ``entity_id``, oldest first.

        An entity written as an item of a batch entry (``journal_items``) has that entry in its history with
        the entity's own id, and ``item_line``, ``item_status`` and ``item_verified_by`` set (None on the
        entity's own entries), from which the caller rebuilds the entity as it was written.
        """
        return self.rows(
            "SELECT seq, at, actor, action, entity, entity_id, before, after, note, NULL AS item_line, "
            "NULL AS item_status, NULL AS item_verified_by FROM journal WHERE entity_id = ?1 "
            "UNION ALL SELECT j.seq, j.at, j.actor, 'create', j.entity, i.entity_id, NULL, NULL, j.note, i.line, "
            "i.status, i.verified_by FROM journal_items i JOIN journal j ON j.seq = i.seq WHERE i.entity_id = ?1 "
            "ORDER BY seq", [entity_id])

    def subtree_sql(self) -> str:
        """A recursive CTE body naming every organisation under ``?`` (itself included) as ``subtree(id)``."""
        return SUBTREE


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Run a block whose driver errors become volreg errors, where no store is at hand to name the file."""
    try:
        yield
    except sqlite3.Error as error:
        raise translate(error, None, BUSY_TIMEOUT_MS) from error
