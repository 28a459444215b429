"""Erasure of a person: their name, phone and document number removed from every column that can hold them,
and then from the bytes on disk.

Two steps, because SQLite keeps old page images around:

1. :func:`erase_words` rewrites, inside the caller's write transaction, every text column of every table
   (free text, names of studios and activities, actor columns such as ``recorded_by``, the journal's
   before/after/note) where the person's name, phone or masked phone occurs, replacing it with the person's
   stable pseudonym, and replaces the number of any document the person held (every type, and those of
   people merged into them) wherever it is typed in one piece, found through its keyed digest. Other
   people's own names are left alone (a namesake keeps their name).
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
from collections.abc import Callable, Iterable, Sequence
from datetime import date

import attrs

from .errors import VolregError
from .personal import document_purpose, fold_width, parse_document
from .session import Session
from .store import Store
from .store.db import BUSY_TIMEOUT_MS

__all__ = ["pseudonym", "erase_words", "checkpoint", "PENDING", "text_columns", "HeldDocument", "held_documents"]

PENDING = "erasure_pending"
"""The ``registry_meta`` key set while an erasure is committed but not yet physically complete."""

# Tables whose text is not about anyone: the schema's bookkeeping, settings, vocabulary and the summaries
# (keys and numbers only). The people table is handled row by row: a namesake keeps their name.
_SKIP_TABLES = frozenset({"_sqlite_migrations", "registry_meta", "categories", "people"})
_SKIP_COLUMNS = frozenset({"id_digest", "voter"})  # keyed digests: nothing readable to erase
# Letters and digits as a number may be typed: ASCII or full-width (ＡＢＣ, ０１２), any case.
_LETTERS = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
_CHARACTER = f"[{_LETTERS}]"
_RUN = re.compile(f"{_CHARACTER}+")
_FULL_WIDTH = str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
# The lengths a number of each document type can have (when its masked form, which keeps the length, is lost).
_LENGTHS = {"resident": (18, 15), "residence_permit": (18,), "foreign_permanent": (18, 15),
            "hk_macao_permit": (9, 11), "taiwan_permit": (8, 9, 10), "passport": tuple(range(5, 21))}
# Types whose numbers encode the birth date in characters 7-14 (GB 11643), which the person's row keeps.
_DATED = frozenset({"resident", "residence_permit", "foreign_permanent"})


@attrs.frozen
class HeldDocument:
    """A document an erased person held, as the registry keeps it (never its number).

    Attributes:
        id_type: its type (one of :data:`volreg.personal.ID_TYPES`).
        country: a passport's issuing country, else None.
        digest: the keyed digest of its number.
        masked: its masked form (as long as the number, a character or two shown), or None.
        births: the birth dates on the rows of the person and of the people merged into them (the number
            of a type that encodes one encodes one of these: the person's own, checked when the document was
            registered, or that of the merged person it came from).
    """

    id_type: str
    country: str | None
    digest: str
    masked: str | None
    births: tuple[date, ...] = ()

    def lengths(self) -> tuple[int, ...]:
        """The lengths its number can have when typed: the masked form's, and a resident number's 15-digit
        form (the number before 1999, which converts to the same 18 characters)."""
        if self.masked is None:
            return _LENGTHS.get(self.id_type, tuple(range(5, 21)))
        if self.id_type == "resident" and len(self.masked) == 18:
            return (18, 15)
        return (len(self.masked),)

    def markers(self) -> list[str] | None:
        """Texts that every typed form of the number contains (its birth date, in ASCII and full-width
        digits), for a quick search by ``instr``; None when there are none and every candidate must be read."""
        if not self.births or self.id_type not in _DATED:
            return None
        dated = len(self.masked) == 18 if self.masked is not None else self.id_type != "foreign_permanent"
        if not dated:
            return None  # the older permanent-residence card (3 letters, 12 digits) encodes no birth date
        # A resident number's 15-digit form has only the last two digits of the year (the 18-character form
        # contains them too).
        days = sorted({born.strftime("%y%m%d" if self.id_type == "resident" else "%Y%m%d") for born in self.births})
        return days + [day.translate(_FULL_WIDTH) for day in days]

    def shown(self, length: int) -> str | None:
        """The characters the masked form shows of a number of this length (``*`` for hidden ones), or None
        when it shows none (a number shorter than 8 characters, or one whose first character would say too
        much, is masked entirely)."""
        if self.masked is None or len(self.masked) != length or set(self.masked) == {"*"}:
            return None
        return self.masked

    def pattern(self, length: int) -> str | None:
        """A ``GLOB`` pattern for text that may hold a number of this length (its shown characters in any
        case and width, any letter or digit for the hidden ones), or None when the masked form shows none."""
        shown = self.shown(length)
        if shown is None:
            return None
        return "*" + "".join(_CHARACTER if c == "*" else _class_of(c) for c in shown) + "*"

    def candidates(self) -> re.Pattern[str]:
        """Text that may hold the number: a stretch of letters and digits as long as it, with the characters
        its masked form shows; when that shows none (and no birth date narrows it), a whole run of letters
        and digits of exactly that length (not any stretch of the ids and codes around one)."""
        forms = []
        for length in self.lengths():
            shown = self.shown(length)
            if shown is not None:
                forms.append("".join(_CHARACTER if c == "*" else _class_of(c) for c in shown))
            elif self.markers() is not None:
                forms.append(f"{_CHARACTER}{{{length}}}")
            else:
                forms.append(f"(?<!{_CHARACTER}){_CHARACTER}{{{length}}}(?!{_CHARACTER})")
        return re.compile("|".join(forms))


def _class_of(character: str) -> str:
    """A ``GLOB`` class of one letter or digit in both cases, ASCII and full-width."""
    forms = {character.upper(), character.lower()}
    return "[" + "".join(sorted(forms | {chr(ord(c) + 0xFEE0) for c in forms})) + "]"


def held_documents(store: Store, person_id: str) -> list[HeldDocument]:
    """The documents of a person and of every person merged into them (read before they are erased)."""
    rows = list(store.rows("SELECT id_type, id_country, id_digest, id_masked, birth_date FROM people "
                           "WHERE id = ? OR merged_into = ?", [person_id, person_id]))
    births = tuple(sorted({date.fromisoformat(r["birth_date"]) for r in rows if r["birth_date"]}))
    return [HeldDocument(r["id_type"] if r["id_type"] not in (None, "none") else "resident", r["id_country"],
                         r["id_digest"], r["id_masked"], births)
            for r in rows if r["id_digest"]]


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
                documents: Sequence[HeldDocument], alias: str, phone: str | None = None) -> int:
    """Replace ``words`` (and the numbers of ``documents``, wherever typed) by ``alias`` in every text column.

    Each table is read once for the words and once for text that may hold one of the documents' numbers,
    whatever its number of columns. In journal entries about other people and their registrations the
    ``name`` is left alone: it is theirs, even when it is the same as the erased person's.

    A number is found as typed in one piece, in ASCII or full-width characters and in any case: every run
    of letters and digits of the right length whose keyed digest is the document's. For the documents that
    encode a birth date (resident, residence-permit and 2023 permanent-residence numbers) only text holding
    that date is read (the service records of a city: 4 s instead of 15 s for every run of 17 digits); a
    passport or permit number has no such mark, so text with the characters its masked form shows is read,
    or every text when it shows none.

    Args:
        session: the registry's session (for the keyed digest).
        store: the store inside the caller's write transaction.
        person_id: the erased person.
        words: the texts to remove (name, phone, masked phone); shorter than 2 characters are skipped.
        documents: the person's documents (:func:`held_documents`, read before the person's row is erased).
        alias: what replaces them.
        phone: the person's phone, also replaced where typed with separators or full-width digits.

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
        _erase_typed(session, store, table, names, documents, phone, alias)
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


_Search = tuple[str, list[str], re.Pattern[str], Callable[[str], str]]
"""How to find one erased value in a table: a ``WHERE`` clause and its parameters that let through the rows
that may hold it, a pattern that finds where it may be in a text, and what the text becomes without it."""


def _erase_typed(session: Session, store: Store, table: str, names: list[str], documents: Sequence[HeldDocument],
                 phone: str | None, alias: str) -> None:
    """Replace the numbers of ``documents`` and the ``phone`` wherever typed in the columns ``names``.

    The searches that read only rows holding a marker (a birth date, a phone's last four digits) share one
    read of the table; a number with no marker (a passport or permit) is read for on its own.
    """
    marked: list[_Search] = []
    others: list[_Search] = []
    for document in documents:
        (others if document.markers() is None else marked).append(_document_search(session, names, document, alias))
    if phone:
        search = _phone_search(names, phone, alias)
        if search is not None:
            marked.append(search)
    if marked:
        _rewrite(store, table, names, " OR ".join(f"({s[0]})" for s in marked), [p for s in marked for p in s[1]],
                 [(s[2], s[3]) for s in marked])
    for search in others:
        _rewrite(store, table, names, search[0], search[1], [(search[2], search[3])])


def _document_search(session: Session, names: list[str], document: HeldDocument, alias: str) -> _Search:
    """Finding a document's number: with markers (a birth date), only the few rows holding one; else the rows
    whose text matches the characters the masked form shows (``GLOB``); else, for a number masked entirely,
    every row. Each text is then searched for :meth:`HeldDocument.candidates` and each match digested."""
    markers = document.markers()
    patterns = [document.pattern(length) for length in document.lengths()]
    if markers is not None:
        where = " OR ".join(f"instr([{column}], ?)" for column in names for _ in markers)
        params: list[str] = [marker for _ in names for marker in markers]
    elif None not in patterns:
        where = " OR ".join(f"[{column}] GLOB ?" for column in names for _ in patterns)
        params = [str(pattern) for _ in names for pattern in patterns]
    else:
        # Nothing narrows the search in SQL (a passport number shorter than 8 characters, masked entirely):
        # every text is read once and searched in Python, which is faster here than any GLOB.
        where, params = "true", []
    return where, params, document.candidates(), lambda text: _without_number(session, text, document, alias)


def _phone_search(names: list[str], phone: str, alias: str) -> _Search | None:
    """Finding a phone number typed with separators or in full-width digits (``139-1234-5678``,
    ``139 1234 5678``, ``１３９１２３４５６７８``): only text holding its last four digits is read."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return None
    markers = [digits[-4:], digits[-4:].translate(_FULL_WIDTH)]
    return (" OR ".join(f"instr([{column}], ?)" for column in names for _ in markers),
            [marker for _ in names for marker in markers], _DIGIT_RUN, lambda text: _without_phone(text, digits, alias))


def _rewrite(store: Store, table: str, names: list[str], where: str, params: list[str],
             replacements: list[tuple[re.Pattern[str], Callable[[str], str]]]) -> None:
    """Rewrite each text of the columns ``names`` of the rows ``where`` lets through: each replacement whose
    pattern finds something in it is applied (each distinct text worked out once)."""
    seen: dict[str, str] = {}
    changes = []
    selected = ", ".join(f"[{column}]" for column in names)
    for rowid, *texts in store.cursor(f"SELECT rowid, {selected} FROM [{table}] WHERE {where}", params):
        for column, text in zip(names, texts, strict=True):
            if not isinstance(text, str):
                continue
            new = seen.get(text)
            if new is None:
                new = text
                for candidates, replace in replacements:
                    if candidates.search(new) is not None:
                        new = replace(new)
                if len(seen) < _SEEN_LIMIT:
                    seen[text] = new
            if new != text:
                changes.append((column, new, rowid))
    for column, new, rowid in changes:  # after the read: rows changed under a running read may be met again
        store.execute(f"UPDATE [{table}] SET [{column}] = ? WHERE rowid = ?", [new, rowid])


# Digits (ASCII or full-width) with at most three separators between two of them, as phone numbers are typed.
_DIGIT = "[0-9\uff10-\uff19]"
_DIGIT_RUN = re.compile(f"{_DIGIT}(?:[\\s\\-\uff0d\u2010-\u2015.\u00b7()\uff08\uff09]{{0,3}}{_DIGIT})*")


def _without_phone(text: str, digits: str, alias: str) -> str:
    """``text`` with each typed form of the phone number ``digits`` replaced by ``alias`` (a country code or
    another number typed before or after it stays)."""
    spans = []
    for run in _DIGIT_RUN.finditer(text):
        places = [i for i, c in enumerate(run.group()) if c.isdigit()]
        folded = fold_width("".join(run.group()[i] for i in places))
        at = folded.find(digits)
        while at >= 0:
            spans.append((run.start() + places[at], run.start() + places[at + len(digits) - 1] + 1))
            at = folded.find(digits, at + len(digits))
    return _replaced(text, spans, alias)


_SEEN_LIMIT = 100_000
"""Distinct texts remembered per table while looking for a number (memory stays bounded)."""


def _without_number(session: Session, text: str, document: HeldDocument, alias: str) -> str:
    """``text`` with every typed form of the document's number replaced by ``alias``."""
    purpose = document_purpose(document.id_type, document.country)
    whole_runs = document.markers() is None
    spans: list[tuple[int, int]] = []
    for run in _RUN.finditer(text):
        token = fold_width(run.group()).upper()  # one character for one: positions stay
        for length in document.lengths():
            shown = document.shown(length)
            if shown is None and whole_runs:
                starts: Iterable[int] = (0,) if len(token) == length else ()  # see candidates()
            else:
                starts = range(len(token) - length + 1)
            for start in starts:
                window = token[start:start + length]
                if shown is not None and any(s != "*" and s.upper() != w for s, w in zip(shown, window, strict=True)):
                    continue  # a character the mask shows differs: not this number
                if _digest_of(session, document, window, purpose) == document.digest:
                    spans.append((run.start() + start, run.start() + start + length))
    return _replaced(text, spans, alias)


def _replaced(text: str, spans: list[tuple[int, int]], alias: str) -> str:
    """``text`` with each of the ``spans`` (start, end) replaced by ``alias``."""
    if not spans:
        return text
    out, at = [], 0
    for start, end in sorted(spans):
        if start >= at:
            out += [text[at:start], alias]
        at = max(at, end)  # a span overlapping the one just replaced is replaced with it
    return "".join(out) + text[at:]


def _digest_of(session: Session, document: HeldDocument, text: str, purpose: str) -> str | None:
    try:
        number = parse_document(document.id_type, text, country=document.country).number
    except (VolregError, ValueError):
        return None
    return session.digest(purpose, number)


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
