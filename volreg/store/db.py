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
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from ..errors import Busy, Conflict, InvalidValue
from .filters import SUBTREE

__all__ = ["Store", "BUSY_TIMEOUT_MS", "bindable"]

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


def _checked(params: Sequence[Any]) -> Sequence[Any]:
    # The last line of defence: the registry validates each argument with its own message first; a value
    # that still cannot be bound is refused as a volreg error rather than a driver exception.
    for value in params:
        if value is None or (type(value) is str and value.isascii()):
            continue
        if not bindable(value):
            raise InvalidValue("value", "must be text, a whole number within 64 bits, a number or None", value)
    return params


def _locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Store:
    """A thin wrapper over a ``sqlite_utils.Database``: SQL in, rows (dicts) out; no business rules."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- transactions -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
        """A transaction (or a savepoint inside one): everything in it is written, or nothing is."""
        conn = self.db.conn
        if conn.in_transaction:
            with _translated(), self.db.atomic():
                yield self
            return
        with _translated():
            conn.execute("BEGIN IMMEDIATE")
        try:
            with _translated():
                yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            with _translated():
                conn.execute("COMMIT")

    # -- plain rows ----------------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row (all columns named; parameters bound)."""
        columns = list(row)
        sql = "INSERT INTO [{}] ({}) VALUES ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        )
        self.db.execute(sql, _checked([row[c] for c in columns]))

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that share their columns, with one ``executemany``."""
        if not rows:
            return
        columns = list(rows[0])
        sql = "INSERT INTO [{}] ({}) VALUES ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        )
        self.db.conn.executemany(sql, [_checked([r[c] for c in columns]) for r in rows])

    def update(self, table: str, key: Any, changes: Mapping[str, Any], *, pk: str = "id") -> None:
        """Set columns of the row whose primary key is ``key``."""
        if not changes:
            return
        sets = ", ".join(f"[{c}] = ?" for c in changes)
        self.db.execute(f"UPDATE [{table}] SET {sets} WHERE [{pk}] = ?", _checked([*changes.values(), key]))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement with bound parameters."""
        self.db.execute(sql, _checked(params))

    def get(self, table: str, key: Any, *, pk: str = "id") -> dict[str, Any] | None:
        """The row whose primary key is ``key``, or None (also for a key no row could have, such as a list)."""
        if not bindable(key) or isinstance(key, (bytes, float)):
            return None
        return self.one(f"SELECT * FROM [{table}] WHERE [{pk}] = ?", [key])

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or None."""
        for row in self.db.query(sql, _checked(params)):
            return row
        return None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Lazily iterate a query's rows as dicts."""
        return self.db.query(sql, _checked(params))

    def cursor(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run a read and return its cursor: rows as tuples, column names in ``description``."""
        return self.db.conn.execute(sql, _checked(params))

    def stamp(self) -> tuple[int, int]:
        """A value that changes whenever the database may have changed: a write through this connection
        (even one rolled back) or a commit by another connection."""
        conn = self.db.conn
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.db.execute(sql, _checked(params)).fetchone()
        return row[0] if row else None

    def optimize(self) -> None:
        """Refresh the planner's statistics after a bulk write (``ANALYZE``, sampled, then ``PRAGMA optimize``).

        Without statistics SQLite planned the studio view as a scan of every service record per activity
        (seconds on a city's registry); with them it answers in milliseconds. ``analysis_limit`` bounds the cost
        on a large file: the statistics come from a sample of each index.
        """
        with _translated():
            self.db.execute("PRAGMA analysis_limit = 1000")
            self.db.execute("ANALYZE")
            self.db.execute("PRAGMA optimize")

    # -- settings and metadata -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A value from ``registry_meta``."""
        return self.scalar("SELECT value FROM registry_meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in ``registry_meta``."""
        self.db.execute(
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

    def history(self, entity_id: str) -> Iterator[dict[str, Any]]:
        """Journal rows about ``entity_id``, oldest first."""
        return self.rows("SELECT * FROM journal WHERE entity_id = ? ORDER BY seq", [entity_id])

    def subtree_sql(self) -> str:
        """A recursive CTE body naming every organisation under ``?`` (itself included) as ``subtree(id)``."""
        return SUBTREE


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Turn the driver's refusals into volreg errors: a lock held past the busy timeout, a broken constraint.

    A broken constraint means a check in the registry was bypassed (a race it did not foresee, or a row
    written by an older version); the transaction still rolls back, so the database is as before.
    """
    try:
        yield
    except sqlite3.OperationalError as error:
        if _locked(error):
            raise Busy(BUSY_TIMEOUT_MS) from error
        raise
    except sqlite3.IntegrityError as error:
        raise Conflict(f"the write would break a rule of the database ({error}); nothing was written") from error
