"""The row store: transactions, plain inserts, updates and reads, and the journal.

Every write of the registry runs inside :meth:`Store.write`.  The outermost level opens the transaction
with ``BEGIN IMMEDIATE``: a deferred ``BEGIN`` (what ``db.atomic()`` issues) takes the write lock only at
the first write, and a reader that then needs to upgrade fails at once with "database is locked" instead of
waiting for the busy timeout.  Nested levels are savepoints, through ``db.atomic()``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlite_utils import Database

__all__ = ["Store", "BUSY_TIMEOUT_MS"]

BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write lock before giving up (milliseconds)."""


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
            with self.db.atomic():
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # -- plain rows ----------------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row (all columns named; parameters bound)."""
        columns = list(row)
        sql = "INSERT INTO [{}] ({}) VALUES ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        )
        self.db.execute(sql, [row[c] for c in columns])

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that share their columns, with one ``executemany``."""
        if not rows:
            return
        columns = list(rows[0])
        sql = "INSERT INTO [{}] ({}) VALUES ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        )
        self.db.conn.executemany(sql, [[r[c] for c in columns] for r in rows])

    def update(self, table: str, key: Any, changes: Mapping[str, Any], *, pk: str = "id") -> None:
        """Set columns of the row whose primary key is ``key``."""
        if not changes:
            return
        sets = ", ".join(f"[{c}] = ?" for c in changes)
        self.db.execute(f"UPDATE [{table}] SET {sets} WHERE [{pk}] = ?", [*changes.values(), key])

    def get(self, table: str, key: Any, *, pk: str = "id") -> dict[str, Any] | None:
        """The row whose primary key is ``key``, or None."""
        return self.one(f"SELECT * FROM [{table}] WHERE [{pk}] = ?", [key])

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or None."""
        for row in self.db.query(sql, params):
            return row
        return None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Lazily iterate a query's rows as dicts."""
        return self.db.query(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.db.execute(sql, params).fetchone()
        return row[0] if row else None

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
        return (
            "subtree(id) AS (SELECT id FROM organisations WHERE id = ? "
            "UNION SELECT o.id FROM organisations o JOIN subtree s ON o.parent = s.id)"
        )
