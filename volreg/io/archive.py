"""The whole registry as JSON Lines: a backup or a move to another machine that keeps ids, history and answers.

The archive is generic: it holds every table of the database, so tables added by later migrations are
included without changing this module. The first line describes the archive; every other line is one row:

    {"format": "volreg-archive", "version": 1, "migrations": ["m001_core", ...], "timezone": "Asia/Shanghai", ...}
    {"table": "organisations", "row": {"id": "org-...", "name": "嘉峪关市文明办", ...}}

About the key: resident ID numbers are never stored, only their digests keyed with the registry key, and the
key is never written into an archive. An archive therefore only makes sense with the key it was made with:
:func:`import_registry` needs that key (argument, ``VOLREG_KEY`` or the ``.key`` file) and refuses any other
with :class:`volreg.KeyMismatch`, because with another key the same ID number would not find its person again.

About personal data: by default the archive is a full backup, phone numbers included (the caller holds the
key, having opened the registry). ``personal=False`` writes a copy for sharing instead: phone numbers masked
and ID digests dropped, which cannot find people by ID number any more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import InvalidValue, KeyMismatch, SchemaTooNew
from ..model import Settings
from ..personal import mask_phone
from ..store.schema import MIGRATIONS
from ..timeutil import get_zone, now, to_utc_text

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["export_registry", "import_registry", "ARCHIVE_FORMAT", "ARCHIVE_VERSION"]

ARCHIVE_FORMAT = "volreg-archive"
ARCHIVE_VERSION = 1
_SKIP = ("_sqlite_migrations",)
_BATCH = 500


def _tables(db: Any) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in _SKIP]


def _shareable(row: dict[str, Any]) -> dict[str, Any]:
    for name in row:
        if name == "phone" or name.endswith("_phone"):
            row[name] = mask_phone(row[name])
        elif name == "id_digest" or name.endswith("_digest"):
            row[name] = None
    return row


def export_registry(registry: Registry, path: str | os.PathLike[str] | IO[str], *, personal: bool = True) -> int:
    """Write the whole registry (every table, the journal included) as JSON Lines.

    Args:
        registry: the registry.
        path: a file path, or an open text file.
        personal: keep phone numbers and ID digests (a full backup); False masks phones and drops digests.

    Returns:
        The number of rows written (the header line not counted).
    """
    db = registry.db
    migrations = [m.name for m in MIGRATIONS.applied(db)]
    header = {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "migrations": migrations,
        "timezone": registry.settings.timezone,
        "exported_at": to_utc_text(now(registry.zone)),
        "personal": personal,
    }

    def write(handle: IO[str]) -> int:
        handle.write(json.dumps(header, ensure_ascii=False) + "\n")
        count = 0
        for table in _tables(db):
            for row in db.query(f"SELECT * FROM [{table}] ORDER BY rowid"):
                if not personal:
                    row = _shareable(row)
                handle.write(json.dumps({"table": table, "row": row}, ensure_ascii=False) + "\n")
                count += 1
        return count

    if isinstance(path, (str, os.PathLike)):
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            return write(handle)
    return write(path)


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidValue("path", f"must be a volreg archive (line {number}: {error.msg})", str(path)) from None
            if not isinstance(value, dict):
                raise InvalidValue("path", f"must be a volreg archive (line {number} is not an object)", str(path))
            yield number, value


def import_registry(
    path: str | os.PathLike[str], *, into: Any = ":memory:", key: str | bytes | None = None
) -> Registry:
    """Read an archive written by :func:`export_registry` into a new registry with the same ids and history.

    Args:
        path: the archive.
        into: where to build the registry: ``":memory:"``, a path to a new (or empty) database file, or a
            ``sqlite_utils.Database``.
        key: the key of the registry that was exported (else ``VOLREG_KEY``, else ``<into>.key``).

    Returns:
        The registry, open.

    Raises:
        KeyMismatch: the key is not the exported registry's; nothing is kept.
        SchemaTooNew: the archive comes from a newer volreg.
        InvalidValue: not an archive, an unknown table, or ``into`` already holds data.
    """
    from ..registry import Registry

    lines = _lines(path)
    first = next(lines, None)
    header = first[1] if first else {}
    if header.get("format") != ARCHIVE_FORMAT:
        raise InvalidValue("path", "must be a volreg archive written by export_registry", str(path))
    if header.get("version") != ARCHIVE_VERSION:
        raise InvalidValue("path", f"must be a version {ARCHIVE_VERSION} volreg archive", header.get("version"))
    known = {m.name for m in MIGRATIONS.pending(_empty())}
    unknown = [m for m in header.get("migrations", []) if m not in known]
    if unknown:
        raise SchemaTooNew(unknown)
    created = isinstance(into, (str, os.PathLike)) and str(into) != ":memory:" and not Path(into).exists()
    if created and key is None and not os.environ.get("VOLREG_KEY") and not Path(f"{into}.key").exists():
        # A new file without a key would get a new random key, which can never be the exported one.
        raise InvalidValue(
            "key", f"must be the exported registry's key: pass key=, set VOLREG_KEY or copy its key file to {into}.key",
            shown="no key",
        )
    try:
        registry = Registry(into, timezone=header.get("timezone"), key=key)
    except BaseException:
        _remove(into, created)
        raise
    try:
        _load(registry, lines, path)
    except BaseException:
        registry.close()
        _remove(into, created)
        raise
    registry.session.optimize()  # a restore is one bulk write: give the planner its statistics
    return registry


def _empty() -> Any:
    from sqlite_utils import Database

    return Database(memory=True)


def _remove(into: Any, created: bool) -> None:
    """Remove a database file (and its key and WAL files) that a failed import created."""
    if not created:
        return
    for suffix in ("", ".key", "-wal", "-shm"):
        Path(str(into) + suffix).unlink(missing_ok=True)


def _load(registry: Registry, lines: Iterator[tuple[int, dict[str, Any]]], path: str | os.PathLike[str]) -> None:
    db, store = registry.db, registry.session.store
    tables = set(_tables(db))
    for name in ("people", "organisations", "activities", "journal"):
        if store.scalar(f"SELECT count(*) FROM [{name}]"):
            raise InvalidValue("into", "must be a new, empty registry", name)
    ours = store.meta("key_check")
    with store.write():
        # Rows reference each other in any order (an organisation's parent, a record superseding another):
        # foreign keys are checked once, at commit.
        db.execute("PRAGMA defer_foreign_keys = ON")
        for name in tables:
            db.execute(f"DELETE FROM [{name}]")
        batch: list[dict[str, Any]] = []
        current: tuple[str, tuple[str, ...]] | None = None
        for number, entry in lines:
            table, row = entry.get("table"), entry.get("row")
            if not isinstance(table, str) or table not in tables or not isinstance(row, dict):
                raise InvalidValue("path", f"line {number} must name a table of this registry", table)
            if table == "registry_meta" and row.get("key") == "key_check" and row.get("value") != ours:
                raise KeyMismatch(
                    f"{registry.session.key_source}, not the key of the registry exported to {Path(path).name}; "
                    "pass that registry's key (its .key file or VOLREG_KEY)"
                )
            shape = (table, tuple(row))
            if shape != current and batch:
                assert current is not None
                store.insert_many(current[0], batch)
                batch = []
            current = shape
            batch.append(row)
            if len(batch) >= _BATCH:
                store.insert_many(table, batch)
                batch = []
        if batch and current is not None:
            store.insert_many(current[0], batch)
    stored = store.meta("settings")
    if stored:
        registry.settings = Settings.from_json(stored)
        registry.session.zone = get_zone(registry.settings.timezone)
