"""External ids (外部编号) as the registry keeps them: in clear, unless they hold an ID number.

Another system often keys its rows by the person's resident ID number (身份证号), and a file exported from
it carries that number as each row's external id. The registry remembers external ids to recognise rows
imported again (``import_identity``), so such an id would put the number in the file in clear. An external
id that holds what may be an ID number (:func:`volreg.personal.holds_id_number`) is therefore kept only as
its keyed digest, under :data:`DIGESTED`: a row imported again is still recognised (the same id gives the
same digest), and problems show it masked.

A registry written before this module existed may hold such ids in clear. The migration that added this
(``m023_external_ids``) marks it (:data:`UNPROTECTED` in ``registry_meta``); the next writable open, which
always has the key, digests them (:func:`protect`), and so does restoring an archive.
"""

from __future__ import annotations

import json
import unicodedata
from typing import TYPE_CHECKING

from .personal import holds_id_number, mask_id_runs

if TYPE_CHECKING:
    from .session import Session

__all__ = ["DIGESTED", "UNPROTECTED", "canonical", "stored", "shown", "protect"]

DIGESTED = "digest:"
"""The prefix of a stored external id that is the keyed digest of one holding an ID number."""

UNPROTECTED = "external_ids_in_clear"
"""The ``registry_meta`` key set while external ids holding ID numbers may be stored in clear."""

# Text that may hold an ID number in clear (a run of 15 digits, or full-width digits, which holds_id_number
# then looks at), as a WHERE clause on a column.
_MAYBE = "({0} NOT LIKE 'digest:%' AND ({0} GLOB '*" + "[0-9]" * 15 + "*' OR {0} GLOB '*[\uff10-\uff19]*'))"
_CLEAR = "SELECT kind, source, key FROM import_identity WHERE " + _MAYBE.format("key") + " ORDER BY rowid"
_COLUMNS = ("honours", "nominations")  # tables whose external_id column the write methods fill


def canonical(key: str) -> str:
    """An external id as compared: one holding an ID number with full-width characters and case folded
    (``62020019800101001x`` and ``62020019800101001X`` are one id), any other as given."""
    return unicodedata.normalize("NFKC", key).strip().upper() if holds_id_number(key) else key


def stored(session: Session, key: str) -> str:
    """How the registry keeps the external id ``key``: as given, or (when it holds an ID number) as
    :data:`DIGESTED` and the keyed digest of its :func:`canonical` form."""
    if not holds_id_number(key):
        return key
    return DIGESTED + session.digest("external_id", canonical(key))


def shown(key: str) -> str:
    """An external id (as given or as stored) for a message: any ID number in it masked; a digest as
    ``(an external id holding an ID number)``."""
    if key.startswith(DIGESTED):
        return "(an external id holding an ID number)"
    return mask_id_runs(key)


def protect(session: Session) -> int:
    """Digest every external id kept in clear that holds an ID number; clear :data:`UNPROTECTED`.

    In one write transaction. Two clear ids that digest alike (one typed in full-width digits, say) keep
    the first's entity, as a second import of the same id would. The journal entries of merges, which list
    the external ids that moved (``kind:key``), get the digests too, and so do the ``external_id`` columns of
    honours and nominations (where two forms of one id would collide, the later loses it). Returns how many
    ids were digested.
    """
    store = session.store
    with session.write():
        rows = [(kind, source, key) for kind, source, key in store.tuples(_CLEAR) if holds_id_number(key)]
        store.execute_many(  # in the table's order, so the first of two ids that digest alike keeps its entity
            "INSERT OR IGNORE INTO import_identity (kind, source, key, entity_id, imported_at) "
            "SELECT kind, source, ?, entity_id, imported_at FROM import_identity "
            "WHERE kind = ? AND source = ? AND key = ?",
            [(stored(session, key), kind, source, key) for kind, source, key in rows])
        store.execute_many("DELETE FROM import_identity WHERE kind = ? AND source = ? AND key = ?", rows)
        for seq, after in store.tuples("SELECT seq, after FROM journal WHERE action = 'merge' "
                                       "AND instr(after, '\"import_identity\"')"):
            data = json.loads(after)
            moved = data.get("moved", {}) if isinstance(data, dict) else {}
            listed = moved.get("import_identity") if isinstance(moved, dict) else None
            if not isinstance(listed, list):
                continue
            kept = [_stored_item(session, item) for item in listed]
            if kept != listed:
                moved["import_identity"] = kept
                store.execute("UPDATE journal SET after = ? WHERE seq = ?", [json.dumps(data, ensure_ascii=False), seq])
        count = len(rows)
        for table in _COLUMNS:
            for rowid, key in store.tuples(f"SELECT rowid, external_id FROM {table} WHERE "
                                           + _MAYBE.format("external_id") + " ORDER BY rowid"):
                if holds_id_number(key):
                    store.execute(f"UPDATE OR IGNORE {table} SET external_id = ? WHERE rowid = ?",
                                  [stored(session, key), rowid])
                    store.execute(f"UPDATE {table} SET external_id = NULL WHERE rowid = ? AND external_id = ?",
                                  [rowid, key])
                    count += 1
        store.execute("DELETE FROM registry_meta WHERE key = ?", [UNPROTECTED])
    return count


def _stored_item(session: Session, item: object) -> object:
    """A ``kind:key`` of a merge's journal entry, its key as :func:`stored` keeps it."""
    if not isinstance(item, str) or ":" not in item:
        return item
    kind, key = item.split(":", 1)
    return item if key.startswith(DIGESTED) else f"{kind}:{stored(session, key)}"
