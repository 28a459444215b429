"""The whole registry as JSON Lines: a backup or a move to another machine that keeps ids, history and answers.

The archive is generic: it holds every table of the database, so tables added by later migrations are
included without changing this module. The first line describes the archive; every other line is one row:

    {"format": "volreg-archive", "version": 1, "migrations": ["m001_core", ...], "timezone": "Asia/Shanghai", ...}
    {"table": "organisations", "row": {"id": "org-...", "name": "嘉峪关市文明办", ...}}
    {"trailer": {"rows": {"organisations": 18, ...}, "sha256": "..."}}

The last line, the trailer, holds the number of rows of each table and a SHA-256 of every byte before it.
:func:`import_registry` checks both before it writes anything and refuses an archive without a valid trailer,
saying what is wrong: cut short (a disk filled up, a copy stopped half-way), changed after it was written, rows
missing. Archives written by volreg before the trailer existed (format version 1) have none: they are refused
too, unless the caller says ``accept_without_trailer=True`` (``volreg restore --accept-without-trailer``) and
so takes responsibility for their being complete. :func:`export_registry` writes to a temporary file beside
the target and renames it only when everything is written and synced, so an interrupted export leaves no
file (and an older archive of the same name stays as it was).

About the key: resident ID numbers are never stored, only their digests keyed with the registry key, and the
key is never written into an archive. An archive therefore only makes sense with the key it was made with:
:func:`import_registry` needs that key (argument, ``VOLREG_KEY`` or the ``.key`` file) and refuses any other
with :class:`volreg.KeyMismatch`, because with another key the same ID number would not find its person again.

About personal data: by default the archive is a full backup, phone numbers included (the caller holds the
key, having opened the registry). ``personal=False`` writes a copy for sharing instead: phone numbers masked,
ID digests dropped (it cannot find people by ID number any more) and birth dates left out, in the tables and
in the journal, so that the masked ID numbers in it cannot be narrowed down with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import external_ids
from ..errors import InvalidValue, KeyMismatch, SchemaTooNew
from ..model import Settings
from ..personal import mask_phone
from ..store.bulk import rebuild
from ..store.schema import MIGRATIONS
from ..timeutil import get_zone, now, to_utc_text

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["export_registry", "import_registry", "verify_archive", "ARCHIVE_FORMAT", "ARCHIVE_VERSION"]

ARCHIVE_FORMAT = "volreg-archive"
ARCHIVE_VERSION = 2
"""Version 2 archives end with a trailer line; version 1 (older volreg) had none."""
_ROW_TABLE = re.compile(rb'^\{"table": "((?:[^"\\]|\\.)*)"')
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
        elif name == "id_digest" or name.endswith("_digest") or name == "birth_date" or name.endswith("_birth_date"):
            row[name] = None
        elif name in ("before", "after") and isinstance(row[name], str) and '"birth_date"' in row[name]:
            row[name] = _without_birth_date(row[name])
    return row


def _without_birth_date(text: str) -> str:
    """A journal value with its birth date left out (an export to share)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and "birth_date" in data:
        data["birth_date"] = None
    return json.dumps(data, ensure_ascii=False)


def export_registry(registry: Registry, path: str | os.PathLike[str] | IO[str], *, personal: bool = True) -> int:
    """Write the whole registry (every table, the journal included) as JSON Lines, ending with a trailer.

    Written to a path, the archive goes to a temporary file in the same directory first (owner-only
    permissions), is synced to disk and renamed only when complete: an export that fails half-way (a full
    disk) leaves no file behind, and an older archive of the same name untouched.

    Args:
        registry: the registry.
        path: a file path, or an open text file (written as UTF-8 with ``\\n`` line ends; the checksum is of
            those bytes).
        personal: keep phone numbers, birth dates and ID digests (a full backup); False masks phones and
            leaves out digests and birth dates (a copy to share).

    Returns:
        The number of rows written (the header and trailer lines not counted).

    Raises:
        OSError: the file could not be written (nothing is left at ``path``).
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
        checksum = hashlib.sha256()
        counts: dict[str, int] = {}

        def line(value: dict[str, Any]) -> None:
            text = json.dumps(value, ensure_ascii=False) + "\n"
            checksum.update(text.encode("utf-8"))
            handle.write(text)

        line(header)
        for table in _tables(db):
            counts[table] = 0
            for row in db.query(f"SELECT * FROM [{table}] ORDER BY rowid"):
                if not personal:
                    row = _shareable(row)
                line({"table": table, "row": row})
                counts[table] += 1
        handle.write(json.dumps({"trailer": {"rows": counts, "sha256": checksum.hexdigest()}}) + "\n")
        return sum(counts.values())

    if not isinstance(path, (str, os.PathLike)):
        return write(path)
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            count = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)
    return count


def _sync_directory(directory: Path) -> None:
    """Make a rename durable: sync the directory entry too (where the system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def verify_archive(path: str | os.PathLike[str], *, accept_without_trailer: bool = False) -> dict[str, int] | None:
    """Check an archive's trailer: every line present and unchanged since :func:`export_registry` wrote it.

    Args:
        path: the archive.
        accept_without_trailer: accept a version 1 archive (older volreg, no trailer) unverified.

    Returns:
        The row count of each table the trailer promises, or None for an accepted archive without trailer.

    Raises:
        InvalidValue: naming what is wrong: no trailer (cut short), a checksum that does not match (changed),
            or tables whose row counts differ from the trailer's (rows missing or added).
    """
    checksum = hashlib.sha256()
    counts: Counter[str] = Counter()
    previous: bytes | None = None
    number = 0
    version = None
    with open(path, "rb") as handle:
        for raw in handle:
            number += 1
            if previous is not None:
                checksum.update(previous)
                match = _ROW_TABLE.match(previous)
                if match:
                    counts[match.group(1).decode("utf-8", "replace")] += 1
            elif number == 1:
                try:
                    version = json.loads(raw.decode("utf-8-sig")).get("version")
                except (ValueError, AttributeError):
                    version = None
            previous = raw
    trailer = _trailer(previous)
    name = Path(path).name
    if trailer is None:
        if version == 1 and accept_without_trailer:
            return None
        if version == 1:
            raise InvalidValue(
                "path", "must end with a trailer (row counts and a checksum); this archive was written by an older "
                "volreg without one, so nothing shows that it is complete. Restore it only if you know it is, "
                "with accept_without_trailer=True (volreg restore --accept-without-trailer)", name)
        last = "is cut off in the middle of a line" if previous and not previous.endswith(b"\n") else \
            "ends without its trailer line"
        raise InvalidValue(
            "path", f"must be a complete volreg archive: line {number} {last}, so the archive was cut short "
            f"and the rows after line {number} (and the trailer with the row counts and checksum) are missing", name)
    expected = trailer.get("rows")
    if not isinstance(expected, dict) or not isinstance(trailer.get("sha256"), str):
        raise InvalidValue("path", f"must end with a valid trailer (line {number} lacks the row counts or checksum)",
                           name)
    differ = [f"{table}: {counts.get(table, 0)} rows, the trailer says {want}"
              for table, want in sorted(expected.items()) if counts.get(table, 0) != want]
    differ += [f"{table}: {got} rows the trailer does not list" for table, got in sorted(counts.items())
               if table not in expected]
    if differ:
        raise InvalidValue("path", "must hold every row its trailer lists (" + "; ".join(differ) + ")", name)
    if checksum.hexdigest() != trailer["sha256"]:
        raise InvalidValue("path", "must be unchanged since it was written (its SHA-256 does not match the "
                           "trailer's: a byte was altered)", name)
    return {str(k): int(v) for k, v in expected.items()}


def _trailer(line: bytes | None) -> dict[str, Any] | None:
    if not line or not line.endswith(b"\n"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("trailer"), dict):
        return value["trailer"]
    return None


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
    path: str | os.PathLike[str], *, into: Any = ":memory:", key: str | bytes | None = None,
    accept_without_trailer: bool = False,
) -> Registry:
    """Read an archive written by :func:`export_registry` into a new registry with the same ids and history.

    Args:
        path: the archive.
        into: where to build the registry: ``":memory:"``, a path to a new (or empty) database file, or a
            ``sqlite_utils.Database``.
        key: the key of the registry that was exported (else ``VOLREG_KEY``, else ``<into>.key``).
        accept_without_trailer: restore an archive of an older volreg that has no trailer, unverified (the
            caller vouches that it is complete). An archive of this version without its trailer is always
            refused: it was cut short.

    Returns:
        The registry, open.

    Raises:
        KeyMismatch: the key is not the exported registry's; nothing is kept.
        SchemaTooNew: the archive comes from a newer volreg.
        InvalidValue: not an archive; no valid trailer (cut short, changed, rows missing: the message says
            which); an unknown table; or ``into`` already holds data.
    """
    from ..registry import Registry

    lines = _lines(path)
    first = next(lines, None)
    header = first[1] if first else {}
    if header.get("format") != ARCHIVE_FORMAT:
        raise InvalidValue("path", "must be a volreg archive written by export_registry", str(path))
    if header.get("version") not in (1, ARCHIVE_VERSION):
        raise InvalidValue("path", f"must be a version 1 or {ARCHIVE_VERSION} volreg archive", header.get("version"))
    known = {m.name for m in MIGRATIONS.pending(_empty())}
    unknown = [m for m in header.get("migrations", []) if m not in known]
    if unknown:
        raise SchemaTooNew(unknown)
    expected = verify_archive(path, accept_without_trailer=accept_without_trailer)
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
        _load(registry, lines, path, expected)
        if "m015_query_summaries" not in header.get("migrations", []):
            # Written before the closure of the tree and the subtree summaries: they are rebuilt from the rows
            # (the triggers met the organisations in the archive's order, parents not always first).
            rebuild(registry.session.store)
        if "m023_external_ids" not in header.get("migrations", []):
            external_ids.protect(registry.session)  # written before they were digested: an ID number in clear
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


def _load(registry: Registry, lines: Iterator[tuple[int, dict[str, Any]]], path: str | os.PathLike[str],
          expected: dict[str, int] | None) -> None:
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
        loaded: Counter[str] = Counter()
        for number, entry in lines:
            if "trailer" in entry and "table" not in entry:
                break
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
            loaded[table] += 1
            if len(batch) >= _BATCH:
                store.insert_many(table, batch)
                batch = []
        if batch and current is not None:
            store.insert_many(current[0], batch)
        if expected is not None and {t: n for t, n in expected.items() if n} != dict(loaded):
            # The file changed between the check and the load: nothing is kept.
            raise InvalidValue("path", "must not change while it is restored (its rows differ from its trailer)",
                               Path(path).name)
    stored = store.meta("settings")
    if stored:
        registry.settings = Settings.from_json(stored)
        registry.session.zone = get_zone(registry.settings.timezone)
