"""Erasure of a person: their name, phone and document number removed from every column that can hold them,
and then from the bytes on disk.

Two steps, because SQLite keeps old page images around:

1. :func:`erase_words` rewrites, inside the caller's write transaction, every text column of every table
   (free text, names of studios and activities, actor columns such as ``recorded_by``, the journal's
   before/after/note) where the person's name, phone or masked phone occurs, replacing it with the person's
   stable pseudonym, and replaces any resident ID number typed into free text whose keyed digest is the
   person's. Other people's own names are left alone (a namesake keeps their name).
2. :func:`checkpoint` copies the WAL into the main file and truncates it (``wal_checkpoint(TRUNCATE)``);
   with ``secure_delete`` on, the overwritten cells and freed pages are zeroed. A connection that still reads
   an older snapshot keeps old pages alive in the WAL; the checkpoint waits for it up to a timeout and
   reports whether it got everything. Until it does, the registry notes that an erasure is pending
   (``registry_meta.erasure_pending``), so a later :meth:`volreg.Registry.complete_erasure` finishes it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable

from .personal import parse_id_number
from .session import Session
from .store import Store
from .store.db import BUSY_TIMEOUT_MS

__all__ = ["pseudonym", "erase_words", "checkpoint", "PENDING", "text_columns"]

PENDING = "erasure_pending"
"""The ``registry_meta`` key set while an erasure is committed but not yet physically complete."""

# Tables whose text is not about anyone: the schema's bookkeeping, settings, vocabulary and the summaries
# (keys and numbers only). The people table is handled row by row: a namesake keeps their name.
_SKIP_TABLES = frozenset({"_sqlite_migrations", "registry_meta", "categories", "people"})
_SKIP_COLUMNS = frozenset({"id_digest", "voter"})  # keyed digests: nothing readable to erase
_ID_LIKE = re.compile(r"\d{17}[\dXx]")
_SEVENTEEN_DIGITS = "*" + "[0-9]" * 17 + "*"


def pseudonym(person_id: str) -> str:
    """The stable pseudonym that replaces an erased person's name: ``匿名-`` and 8 hex digits of their id."""
    return "匿名-" + hashlib.sha256(person_id.encode()).hexdigest()[:8]


def text_columns(store: Store) -> list[tuple[str, str]]:
    """Every (table, column) that can hold a person's name, phone or document number as text.

    Primary and foreign keys, digests, summary tables and views are left out; a table added by a later
    migration is included without changing this module.
    """
    found: list[tuple[str, str]] = []
    tables = [r["name"] for r in store.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'summary_%' ORDER BY name")]
    for table in tables:
        if table in _SKIP_TABLES:
            continue
        keys = {r["from"] for r in store.rows(f"PRAGMA foreign_key_list([{table}])")}
        for column in store.rows(f"PRAGMA table_info([{table}])"):
            kind = str(column["type"] or "").upper()
            name = column["name"]
            if column["pk"] or name in keys or name in _SKIP_COLUMNS or name.endswith("_digest"):
                continue
            if kind in ("", "TEXT") or "CHAR" in kind or "CLOB" in kind:
                found.append((table, name))
    return found


def erase_words(session: Session, store: Store, *, person_id: str, words: Iterable[str | None],
                digest: str | None, alias: str) -> int:
    """Replace ``words`` (and ID numbers digesting to ``digest``) by ``alias`` in every text column.

    Each table is read once for the words and once for digits that may be an ID number, whatever its number
    of columns. In journal entries about other people and their registrations the ``name`` is left alone:
    it is theirs, even when it is the same as the erased person's.

    Args:
        session: the registry's session (for the keyed digest).
        store: the store inside the caller's write transaction.
        person_id: the erased person.
        words: the texts to remove (name, phone, masked phone); shorter than 2 characters are skipped.
        digest: the person's ID-number digest, or None.
        alias: what replaces them.

    Returns:
        How many tables were changed.
    """
    terms = sorted({w for w in words if w and len(w) >= 2}, key=len, reverse=True)
    columns: dict[str, list[str]] = {}
    for table, column in text_columns(store):
        columns.setdefault(table, []).append(column)
    changed = 0
    for table, names in columns.items():
        before = store.db.conn.total_changes
        if terms:
            if table == "journal":
                _erase_beside_names(store, [c for c in names if c in ("before", "after")], terms, alias, person_id)
            sets, params = [], []
            for column in names:
                expression = f"[{column}]"
                for term in terms:
                    expression = f"replace({expression}, ?, ?)"
                    params += [term, alias]
                if table == "journal" and column in ("before", "after"):
                    expression = f"CASE WHEN {_NAMESAKE} THEN [{column}] ELSE {expression} END"
                    params = params[: -2 * len(terms)] + [person_id, person_id] + params[-2 * len(terms):]
                sets.append(f"[{column}] = CASE WHEN typeof([{column}]) = 'text' THEN {expression} ELSE [{column}] END")
            found = " OR ".join(f"instr([{column}], ?)" for column in names for _ in terms)
            params += [term for _ in names for term in terms]
            store.execute(f"UPDATE [{table}] SET {', '.join(sets)} WHERE {found}", params)
        if digest:
            _erase_id_numbers(session, store, table, names, digest, alias)
        changed += store.db.conn.total_changes > before
    return changed


# Journal entries about another person or their registration (``?`` twice: the erased person's id): their
# "name" is their own, even when it is the same as the erased person's; only their other values lose the words.
_NAMESAKE = ("entity IN ('person', 'volunteer') AND entity_id IN "
             "(SELECT id FROM people WHERE id <> ? UNION ALL SELECT id FROM volunteers WHERE person <> ?)")


def _erase_beside_names(store: Store, names: list[str], terms: list[str], alias: str, person_id: str) -> None:
    """In other people's journal entries, replace the words everywhere except in their own ``name``."""
    for column in names:
        found = " OR ".join(f"instr([{column}], ?)" for _ in terms)
        rows = list(store.rows(f"SELECT seq, [{column}] AS value FROM journal WHERE ({found}) AND {_NAMESAKE}",
                               [*terms, person_id, person_id]))
        for row in rows:
            try:
                data = json.loads(row["value"])
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            for key, value in data.items():
                if key != "name" and isinstance(value, str):
                    for term in terms:
                        value = value.replace(term, alias)
                    data[key] = value
            store.execute(f"UPDATE journal SET [{column}] = ? WHERE seq = ?",
                          [json.dumps(data, ensure_ascii=False), row["seq"]])


def _erase_id_numbers(session: Session, store: Store, table: str, names: list[str], digest: str, alias: str) -> None:
    """Replace resident ID numbers typed into the text columns ``names`` of ``table`` that digest to ``digest``."""
    where = " OR ".join(f"[{column}] GLOB ?" for column in names)
    selected = ", ".join(f"[{column}]" for column in names)
    rows = list(store.rows(f"SELECT rowid AS _rid, {selected} FROM [{table}] WHERE {where}",
                           [_SEVENTEEN_DIGITS] * len(names)))
    for row in rows:
        for column in names:
            text = row[column]
            if not isinstance(text, str):
                continue
            new = _ID_LIKE.sub(lambda m: alias if _digest_of(session, m.group(0)) == digest else m.group(0), text)
            if new != text:
                store.execute(f"UPDATE [{table}] SET [{column}] = ? WHERE rowid = ?", [new, row["_rid"]])


def _digest_of(session: Session, text: str) -> str | None:
    try:
        return session.digest("id_number", parse_id_number(text).number)
    except ValueError:
        return None


def checkpoint(session: Session, timeout: float | None = None) -> tuple[bool, str]:
    """Copy the WAL into the database file and truncate it, waiting up to ``timeout`` seconds for readers.

    Returns:
        Whether the WAL is now empty (every old page image gone), and what the checkpoint reported.
    """
    if not session.path:
        return True, "in memory"
    db = session.store.db
    wait_ms = BUSY_TIMEOUT_MS if timeout is None else max(0, int(timeout * 1000))
    deadline = time.monotonic() + wait_ms / 1000
    db.execute(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        while True:
            busy, log, done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0 and log == done:
                return True, "checkpoint complete"
            # The busy handler gives up early when a reader, not a writer, holds the WAL: poll until the deadline.
            if time.monotonic() >= deadline:
                return False, (f"the checkpoint was blocked ({log} WAL frames, {max(done, 0)} copied into the "
                               "file, the WAL not truncated)")
            time.sleep(0.05)
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
