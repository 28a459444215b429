"""Importing a file of one kind of row: the pipeline read → recognise columns → convert → write, with problems as data.

:func:`import_file` streams the file (:mod:`volreg.io.readers`), recognises its columns
(:mod:`volreg.io.headers`) and hands each row to the :class:`KindHandler` registered for the kind
(:mod:`volreg.io.kinds`). A row that cannot be imported becomes a :class:`Problem` pointing at its file, line
and column, never an exception; personal values in a problem are masked.

Identity: a row with an external id is matched only by (source, external id); rows with different external
ids are never merged, and two rows of one file that are the same entity are a problem naming both lines. A
row's every wrong cell is reported (a refused cell is left out and the row converted again), and a
``dry_run`` runs everything in one transaction that is always rolled back.

Every row is written inside its own savepoint, so a bad row leaves nothing behind. ``all_or_nothing`` runs the
whole file in one transaction and rolls it back when there is any problem; ``valid_rows`` commits batches of
good rows and reports the bad ones.

A kind with many rows (service records) can be *batched* instead: each new row is checked completely without
writing (:meth:`KindHandler.check`, against the registry and the rows staged before it), and a batch of
checked rows is written at once (:meth:`KindHandler.write`). No per-row savepoint is needed, because a row
that fails its check is never staged; the report is the same as the row-by-row path would give.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ..errors import InvalidValue, VolregError
from ..personal import mask_document, mask_id_text, mask_phone
from ..timeutil import now, to_utc_text
from .headers import label, resolve_headers
from .progress import ProgressHook, StderrBar, progress_hook
from .readers import RawRow, TableReader, count_rows

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = [
    "MODES",
    "Field",
    "ImportContext",
    "ImportReport",
    "KindHandler",
    "Problem",
    "import_file",
    "ImportInterrupted",
    "register_kind",
    "HANDLERS",
]

log = logging.getLogger("volreg")

MODES = ("all_or_nothing", "valid_rows")
_IMPORT_CACHE_KIB = 64 * 1024
"""SQLite's page cache during an import (its default is 2 MB).  A batch of records updates the table, five
indexes and the summaries at scattered pages (record ids are random), and with 2 MB most of those pages are
read again from the file; 64 MB keeps them, and the memory is given back when the import ends."""
"""Import modes: write everything or nothing, or write the good rows and report the bad ones."""

_ALTERNATIVES = (
    frozenset({"id_number", "id_type", "id_country", "name", "nominee", "recipient", "volunteer_number"}),
    frozenset({"start", "end", "date", "hours", "minutes"}),
)
"""Fields that stand in for one another (who a row names; when service was given): once one of a group is
refused and left out, a refusal of another of the group only follows from that and is not reported."""

_COMMIT_BATCH = 500
"""Rows per transaction of a ``valid_rows`` import, by default: what an interruption can lose is small."""
_WRITE_BATCH = 5_000
"""Rows per write of a batched kind in an ``all_or_nothing`` import, by default (one transaction anyway)."""

_SEEN_LIMIT = 2_000_000
"""Entities and external ids remembered per file to find repeated rows (bounded, so memory is too)."""

def _mask_number(text: str) -> str:
    """A document number in a problem: a resident number's usual mask, any other number's first and last
    character only (a 15-character permanent-residence number would keep too much under the resident mask)."""
    compact = text.strip().upper()
    if len(compact) == 18 and compact[:17].isdigit():
        return mask_id_text(compact)
    return mask_document("", compact)


_MASKS: dict[str, Callable[[str], str | None]] = {"id_number": _mask_number, "phone": mask_phone}


@attrs.frozen
class Problem:
    """Why one row (or the file) could not be imported, pointing at its source like a compiler error.

    Attributes:
        file: the file's name.
        line: the line (CSV, JSON Lines) or spreadsheet row (XLSX); None for a problem with the whole file.
        column: the column as written in the file's header, or None.
        value: the offending value, masked when it is an ID or phone number; None when there is none.
        message: what is wrong, naming the rule.
    """

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        column = f" [{self.column}]" if self.column else ""
        return f"{where}:{column} {self.message}"


@attrs.frozen
class ImportReport:
    """What an import did.

    Attributes:
        kind: the kind imported.
        file: the file's name.
        mode: ``all_or_nothing`` or ``valid_rows``.
        rows: non-blank data rows read.
        created: new entities written.
        updated: existing entities (found by external id or content) whose values changed.
        skipped: rows that matched an existing entity with the same values (such as a second import).
        problems: rows that could not be imported (every problem of every row, up to ``max_problems``).
        written: False when nothing was written: ``all_or_nothing`` met a problem and rolled everything back
            (the counts are then 0), or this was a dry run (the counts are what would have been written).
        ignored_columns: columns of the file that no field claimed.
        people_created: people added on the way (``create_people``, or honour lists naming new ID numbers).
        dry_run: the file was only checked; nothing was written.
        problems_left_out: problems found beyond ``max_problems`` (counted, not kept).
        header_refused: the header was wrong, so no row was read (``rows`` is 0).
    """

    kind: str
    file: str
    mode: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: tuple[Problem, ...] = ()
    written: bool = True
    ignored_columns: tuple[str, ...] = ()
    people_created: int = 0
    dry_run: bool = False
    problems_left_out: int = 0
    header_refused: bool = False

    @property
    def ok(self) -> bool:
        """True when there were no problems."""
        return not self.problems

    @property
    def problem_count(self) -> int:
        """Every problem found, those kept in ``problems`` and those left out to bound memory."""
        return len(self.problems) + self.problems_left_out

    def __str__(self) -> str:
        if self.header_refused:
            head = f"{self.file}: header refused, no row of {self.kind} read: {_count(self.problem_count, 'problem')}"
        else:
            head = (
                f"{self.file}: {self.rows} {'row' if self.rows == 1 else 'rows'} of {self.kind}: "
                f"{self.created} created, {self.updated} updated, {self.skipped} unchanged, "
                f"{_count(self.problem_count, 'problem')}"
            )
            if self.people_created:
                head += f" ({self.people_created} people created)"
        if self.dry_run:
            head += " (dry run: nothing written)"
        elif not self.written:
            head += " (nothing written: fix the problems, or import with mode='valid_rows')"
        lines = [head, *(str(p) for p in self.problems)]
        if self.problems_left_out:
            lines.append(f"... and {self.problems_left_out} more problems not listed")
        return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@attrs.frozen
class Field:
    """A field a kind of row can carry.

    Attributes:
        name: the field's name, a key of :data:`volreg.io.headers.ALIASES` for its headers.
        required: a row without it is a problem.
        personal: ``"id_number"`` or ``"phone"``: the value is masked like one in problems.
    """

    name: str
    required: bool = False
    personal: str | None = None


@attrs.frozen
class ImportContext:
    """What a handler needs besides the row: the registry, the file's source and who acts.

    Attributes:
        registry: the registry written to.
        source: the namespace of the file's external ids (``source=`` of :func:`import_file`, or ``''``).
        actor: the ``by`` to journal writes with, e.g. ``'import roster.csv'``.
    """

    registry: Registry
    source: str
    actor: str
    cache: dict[Any, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """Per-file state of the handler: look-ups it may reuse for the whole file, and the rows it has staged."""
    create_people: bool = False
    """Whether a row naming a person the registry does not know may add them (without a document)."""
    date_formats: tuple[str, ...] = ()
    """``strptime`` patterns tried first for every date and time cell (``date_format=``)."""
    dayfirst: bool = False
    """Whether ``22/08/2026``-style dates are day first (they are refused as ambiguous otherwise)."""
    file: str = ""
    """The file's name, for the journal."""

    def external(self, kind: str, key: str) -> str | None:
        """The entity an external id of ``kind`` from this source was imported as, or None."""
        return self.registry.session.scalar(
            "SELECT entity_id FROM import_identity WHERE kind = ? AND source = ? AND key = ?",
            [kind, self.source, key],
        )

    def externals(self, kind: str, keys: Sequence[str]) -> dict[str, str]:
        """The entities many external ids of ``kind`` from this source were imported as, in one query."""
        if not keys:
            return {}
        return dict(self.registry.session.cursor(
            "SELECT key, entity_id FROM import_identity WHERE kind = ? AND source = ? "
            "AND key IN (SELECT value FROM json_each(?))",
            [kind, self.source, json.dumps(list(keys), ensure_ascii=False)]).fetchall())

    def person_added(self, who: Any) -> None:
        """Count a person a row adds (``who`` is a mapping of ``add_person`` arguments), for the report."""
        if isinstance(who, Mapping):
            self.cache["people_added"] = self.cache.get("people_added", 0) + 1

    def external_key(self, kind: str, entity_id: str) -> str | None:
        """The external id in this source that an entity of ``kind`` was imported with, or None."""
        return self.registry.session.scalar(
            "SELECT key FROM import_identity WHERE kind = ? AND source = ? AND entity_id = ? LIMIT 1",
            [kind, self.source, entity_id],
        )

    def remember_many(self, kind: str, pairs: list[tuple[str, str]]) -> None:
        """Record many external ids of ``kind`` at once (first import wins)."""
        at = to_utc_text(now(self.registry.zone))
        self.registry.session.store.execute_many(
            "INSERT INTO import_identity (kind, source, key, entity_id, imported_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(kind, self.source, key, entity_id, at) for key, entity_id in pairs],
        )

    def remember(self, kind: str, key: str, entity_id: str) -> None:
        """Record that an external id of ``kind`` is ``entity_id`` (first import wins)."""
        self.registry.session.store.execute(
            "INSERT INTO import_identity (kind, source, key, entity_id, imported_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [kind, self.source, key, entity_id, to_utc_text(now(self.registry.zone))],
        )


class KindHandler:
    """How one kind of row is imported; subclass it and call :func:`register_kind` to add a kind.

    The importer calls, for each row inside a savepoint: ``convert`` (cells → a record of checked values),
    then finds an existing entity (by the row's ``external_id`` in this source, else ``find`` by content),
    then ``update`` it or ``create`` a new one. Any :class:`volreg.VolregError` raised on the way becomes a
    :class:`Problem`; an ``InvalidValue`` whose ``field`` is one of ``fields`` points at that column.

    A *batched* handler (``batched = True``) creates differently: the importer calls ``check`` for each new
    record (no savepoint, nothing written) and ``write`` for each batch of checked records. Its ``find`` must
    also see the records staged in the current batch (keep them in ``ctx.cache``).

    A *set-based* batched handler (``set_based = True``) is not asked row by row: the importer converts a
    batch of rows, hands the converted records to ``prefetch`` (which reads, set-based, what the rules need
    for all of them), then identifies, checks and stages each record in the file's order with those facts.

    Attributes:
        kind: the ``kind=`` value, e.g. ``"service_records"``.
        fields: the fields rows may carry; ``external_id`` is added for every kind.
        batched: whether new records are checked one by one and written a batch at a time.
        set_based: (batched kinds) whether the rules' reads are made for a batch at once (``prefetch``).
        noun: what one row is, for messages (``"volunteer"``).
    """

    kind: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    batched: ClassVar[bool] = False
    set_based: ClassVar[bool] = False
    noun: ClassVar[str] = "entity"

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        """Turn non-blank cells (field → text, number or date) into checked values.

        Raises:
            VolregError: a value is wrong (``InvalidValue`` with the field's name, ideally).
        """
        raise NotImplementedError

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        """The id of an entity this record is already in the registry as (content identity), or None."""
        raise NotImplementedError

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        """Write the record through the registry's own methods; return the new entity's id."""
        raise NotImplementedError

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        """Bring an existing entity in line with the record; return whether anything changed."""
        return False

    def check(self, ctx: ImportContext, record: Mapping[str, Any]) -> tuple[str, Any]:
        """(Batched kinds) Check a new record against the registry and the staged records; write nothing.

        Returns:
            ``(entity_id, staged)``: the id the record will have, and what :meth:`write` needs to write it.

        Raises:
            VolregError: the record breaks a rule; nothing is staged.
        """
        raise NotImplementedError

    def write(self, ctx: ImportContext, staged: list[Any]) -> None:
        """(Batched kinds) Write checked records (inside the importer's transaction) and forget the batch."""
        raise NotImplementedError

    def warm(self, ctx: ImportContext, rows: list[Mapping[str, Any]]) -> None:
        """(Set-based kinds) Before a batch of rows is converted, read at once what converting them will look
        up (``rows``: each row's non-blank cells, field → value), so that :meth:`convert` finds it cached.
        Converting must give the same result with or without it."""

    def prefetch(self, ctx: ImportContext, records: list[Mapping[str, Any]]) -> Any:
        """(Set-based kinds) Read what :meth:`find` and :meth:`check` need for a whole batch of converted
        records at once; the importer then sets ``ctx.cache["batch"] = (facts, n)`` for the ``n``-th record
        while it identifies and checks it, in the file's order."""
        raise NotImplementedError


HANDLERS: dict[str, KindHandler] = {}
"""The registered kinds: ``kind`` → handler."""


def register_kind(handler: KindHandler) -> KindHandler:
    """Make ``handler`` the importer of ``handler.kind`` (replacing any earlier one) and return it."""
    HANDLERS[handler.kind] = handler
    return handler


class _Rollback(Exception):
    """Unwinds an ``all_or_nothing`` transaction that met a problem."""


class _Run:
    """The state of one import: column maps, counts and problems."""

    def __init__(self, ctx: ImportContext, handler: KindHandler, reader: TableReader, file: str,
                 mapping: Mapping[str, str | None] | None, batch_size: int = 500,
                 defaults: Mapping[str, tuple[str, Any]] | None = None, max_problems: int = 1000,
                 set_based: bool = True) -> None:
        self.ctx, self.handler, self.reader, self.file, self.mapping = ctx, handler, reader, file, mapping
        self.batch_size = batch_size
        self.set_based = set_based and handler.batched and handler.set_based
        # Set-based kinds: rows read but not yet converted (a batch is converted at once, after warm()).
        self.unconverted: list[tuple[RawRow, Mapping[str, str], Mapping[str, Any], Mapping[str, str], str | None]] = []
        # Set-based kinds: converted rows awaiting their batch's prefetch.
        self.pending: list[tuple[RawRow, Mapping[str, str], Mapping[str, Any], Mapping[str, str], str | None,
                                 dict[str, Any]]] = []
        self.defaults = dict(defaults or {})  # field → (how the caller named it, value)
        self.max_problems = max_problems
        self.left_out = 0
        self.header_refused = False
        self.bad_lines: set[int] = set()  # lines with a problem in the current batch
        self.fields = {f.name: f for f in (Field("external_id"), *handler.fields)}
        self.required = [f.name for f in self.fields.values() if f.required]
        self.tally: Counter[str] = Counter()
        self.problems: list[Problem] = []
        self.maps: dict[tuple[str, ...], dict[str, str]] = {}
        self.ignored: dict[str, None] = {}
        self.stop = False
        # Batched kinds: (line, staged) awaiting write, and the external ids they carry.
        self.staged: list[tuple[int, Any]] = []
        self.staged_external: dict[str, str] = {}
        # Identity within the file: the line each external id and each entity was first met on.
        self.external_lines: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        self.entity_external: dict[str, str] = {}
        # Set-based kinds, while a batch is settled: its external ids already in the registry (one query).
        self.known_external: dict[str, str] | None = None

    def problem(self, line: int | None, column: str | None, value: Any, message: str, field: str | None = None) -> None:
        shown = None if value is None else str(value)
        spec = self.fields.get(field or "")
        if line is not None:
            self.bad_lines.add(line)
        if len(self.problems) >= self.max_problems:
            self.left_out += 1  # counted, not kept: a file of a million bad rows stays in bounded memory
            return
        if shown is not None and spec is not None and spec.personal in _MASKS:
            shown = _MASKS[spec.personal](shown)
        self.problems.append(Problem(self.file, line, column, shown, message))

    def columns(self, raw: RawRow) -> dict[str, str] | None:
        key = tuple(raw.cells)
        if key in self.maps:
            return self.maps[key]
        columns, clashes = resolve_headers(key, self.fields, self.mapping)
        line = self.reader.header_line if self.reader.headers is not None else raw.line
        for message in clashes:
            self.problem(line, None, None, message)
        missing = [f for f in self.fields.values()
                   if f.required and f.name not in columns.values() and f.name not in self.defaults]
        for spec in missing:
            self.problem(line, None, None, f"no column for {label(spec.name)}; add one or pass a mapping")
        for header in key:
            if header and header not in columns:
                self.ignored.setdefault(header)
        if (clashes or missing) and self.reader.headers is not None:
            self.stop = True  # every row of a spreadsheet would fail the same way: the body is not read
            self.header_refused = True
            return None
        if len(self.maps) > 64:  # JSON Lines rows with ever-changing keys: keep memory bounded
            self.maps.clear()
        self.maps[key] = columns
        return None if (clashes or missing) else columns

    def header_only(self) -> None:
        """Check the header of a file that has no data row (its problems would otherwise go unseen)."""
        if self.tally["rows"] == 0 and not self.header_refused and self.reader.headers is not None:
            self.columns(RawRow(self.reader.header_line, dict.fromkeys(h for h in self.reader.headers if h)))

    def row(self, raw: RawRow) -> None:
        if raw.error:
            self.tally["rows"] += 1
            self.problem(raw.line, None, None, raw.error)
            return
        columns = self.columns(raw)
        if self.header_refused:
            return
        self.tally["rows"] += 1
        if columns is None:
            return
        values: dict[str, Any] = {}
        header_of: dict[str, str] = {}
        for header, field in columns.items():
            value = raw.cells.get(header)
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                continue
            values[field], header_of[field] = value, header
        for field, (named, value) in self.defaults.items():
            if field not in values:
                values[field], header_of[field] = value, named
        missing = [name for name in self.required if name not in values]
        if missing:
            for name in missing:
                self.problem(raw.line, _header(columns, name), None, f"{label(name)} must not be empty", name)
            return
        people_before = self.ctx.cache.get("people_added", 0)
        self._failed_line = None
        self._row(raw, columns, values, header_of)
        if self._failed_line == raw.line:
            self.ctx.cache["people_added"] = people_before

    _failed_line: int | None = None

    def _convert(self, line: int, columns: Mapping[str, str], values: Mapping[str, Any],
                 header_of: Mapping[str, str]) -> dict[str, Any] | None:
        """Convert a row, reporting every cell that is wrong (not only the first), or None when any is.

        After a cell is refused it is left out and the row converted again, so the next wrong cell is found;
        a refusal about a cell the row does not have (because one was left out) ends the search.
        """
        remaining = dict(values)
        errors: list[Exception] = []
        dropped: set[str] = set()
        for _ in range(len(values) + 1):
            try:
                record = self.handler.convert(self.ctx, remaining)
            except VolregError as error:
                field = getattr(error, "field", None)
                if errors and field not in remaining:
                    break
                if not any(field in group and dropped & group for group in _ALTERNATIVES):
                    errors.append(error)  # else it only follows from a cell left out: not a problem of its own
                if field not in remaining:
                    break
                del remaining[field]
                dropped.add(field)
                continue
            except KeyError:
                break  # a required cell was left out: nothing more can be learned
            if not errors:
                return record
            break
        for refusal in errors:
            self._fail(refusal, line, columns, values, header_of)
        return None

    def _row(self, raw: RawRow, columns: Mapping[str, str], values: dict[str, Any],
             header_of: dict[str, str]) -> None:
        external = None if values.get("external_id") is None else str(values["external_id"])
        if external is not None and self._repeated(raw.line, header_of.get("external_id"), external):
            return
        if self.handler.batched:
            self._stage(raw, columns, values, header_of, external)
            return
        record = self._convert(raw.line, columns, values, header_of)
        if record is None:
            return
        store = self.ctx.registry.session.store
        outcome = "skipped"
        try:
            with store.write():
                found, other = self._identify(record, external)
                if found is not None and self._same_as_earlier(raw.line, found):
                    self._failed_line = raw.line
                    return
                if found is None:
                    try:
                        found, outcome = self.handler.create(self.ctx, record), "created"
                    except VolregError as error:
                        raise _not_merged(error, other) from error
                else:
                    outcome = "updated" if self.handler.update(self.ctx, found, record) else "skipped"
                if external:
                    self.ctx.remember(self.handler.kind, external, found)
                self._saw(raw.line, found, external)
        except (VolregError, sqlite3.IntegrityError) as error:
            self._fail(error, raw.line, columns, values, header_of)
            return
        self.tally[outcome] += 1

    # -- identity within the file and against the registry ----------------------------------------------

    def _repeated(self, line: int, column: str | None, external: str) -> bool:
        """Report a second row with an external id already seen in this file (naming both lines)."""
        earlier = self.external_lines.get(external)
        if earlier is None:
            if len(self.external_lines) < _SEEN_LIMIT:
                self.external_lines[external] = line
            return False
        self.problem(line, column, external, f"external id {external!r} is also on line {earlier}: "
                                             "each row of a file must have its own external id")
        return True

    def _identify(self, record: Mapping[str, Any], external: str | None) -> tuple[str | None, str | None]:
        """The entity a row is (or None), and the external id of a content match that must not be merged.

        A row with an external id is matched only by (source, external id). When that id is new, an entity
        with the same content is adopted only if it has no external id of its own in this source; one that
        has a different external id is never merged (the row is created, and the registry's refusal, if any,
        becomes the problem).
        """
        ctx, kind = self.ctx, self.handler.kind
        if external is not None:
            found = self.staged_external.get(external)
            if found is None:
                known = self.known_external
                found = ctx.external(kind, external) if known is None else known.get(external)
            if found is not None:
                return found, None
        candidate = self.handler.find(ctx, record)
        if candidate is None or external is None:
            return candidate, None
        other = self.entity_external.get(candidate) or ctx.external_key(kind, candidate)
        if other is None and candidate not in self.seen:
            return candidate, None
        where = f" on line {self.seen[candidate]} of this file" if candidate in self.seen else ""
        return None, (f"{other!r}" if other else "none") + where

    def _same_as_earlier(self, line: int, found: str) -> bool:
        earlier = self.seen.get(found)
        if earlier is None:
            return False
        self.problem(line, None, None, f"repeats line {earlier}: both rows are the same {self.handler.noun} "
                                       f"({found}); remove one of them")
        return True

    def _saw(self, line: int, entity: str, external: str | None) -> None:
        if len(self.seen) < _SEEN_LIMIT:
            self.seen.setdefault(entity, line)
            if external is not None:
                self.entity_external[entity] = external

    def _fail(self, error: Exception, line: int, columns: Mapping[str, str], values: Mapping[str, Any],
              header_of: Mapping[str, str]) -> None:
        self._failed_line = line
        for each in getattr(error, "errors", ()):  # several rules refused the row at once: one problem each
            self._fail(each, line, columns, values, header_of)
        if getattr(error, "errors", ()):
            return
        named = getattr(error, "field", None)
        at: str | None = named if named in self.fields else None
        message = str(error)
        other = getattr(error, "other", None)
        if isinstance(other, str) and other in self.seen and f"line {self.seen[other]}" not in message:
            message += f" (imported from line {self.seen[other]} of this file)"  # a problem between two rows
        self.problem(line, header_of.get(at or "") or _header(columns, at), values.get(at) if at else None,
                     message, at)

    def _stage(self, raw: RawRow, columns: Mapping[str, str], values: Mapping[str, Any],
               header_of: Mapping[str, str], external: str | None) -> None:
        """The batched path: convert, find, and either update at once or check and stage for :meth:`flush`.

        A set-based kind's rows wait until a batch is read, and are then converted together (after
        :meth:`KindHandler.warm`), identified and checked with the batch's facts."""
        if self.set_based:
            self.unconverted.append((raw, columns, values, header_of, external))
            if len(self.unconverted) >= self.batch_size:
                self.flush()
            return
        record = self._convert(raw.line, columns, values, header_of)
        if record is None:
            return
        self._place(raw, columns, values, header_of, external, record)

    def _convert_batch(self) -> None:
        """(Set-based kinds) Convert the rows read since the last batch, the look-ups warmed at once."""
        rows, self.unconverted = self.unconverted, []
        if not rows:
            return
        self.handler.warm(self.ctx, [item[2] for item in rows])
        for raw, columns, values, header_of, external in rows:
            record = self._convert(raw.line, columns, values, header_of)
            if record is not None:
                self.pending.append((raw, columns, values, header_of, external, record))

    def _place(self, raw: RawRow, columns: Mapping[str, str], values: Mapping[str, Any],
               header_of: Mapping[str, str], external: str | None, record: dict[str, Any]) -> None:
        """Identify a converted row; update the entity it is at once, or check and stage a new one."""
        ctx, handler = self.ctx, self.handler
        ctx.cache["line"] = raw.line
        try:
            found, other = self._identify(record, external)
            if found is not None and self._same_as_earlier(raw.line, found):
                self._failed_line = raw.line
                return
            if found is None:
                try:
                    entity_id, staged = handler.check(ctx, record)
                except VolregError as error:
                    raise _not_merged(error, other) from error
                self.staged.append((raw.line, staged))
                if external:
                    self.staged_external[external] = entity_id
                outcome = "created"
                found = entity_id
            else:
                with ctx.registry.session.write():
                    outcome = "updated" if handler.update(ctx, found, record) else "skipped"
                    if external and external not in self.staged_external:
                        ctx.remember(handler.kind, external, found)
            self._saw(raw.line, found, external)
        except (VolregError, sqlite3.IntegrityError) as error:
            self._fail(error, raw.line, columns, values, header_of)
            return
        self.tally[outcome] += 1
        if len(self.staged) >= self.batch_size and not self.set_based:
            self.flush()

    def _settle(self) -> None:
        """(Set-based kinds) Read the rules' facts for the pending rows at once, then identify, check and
        stage each in the file's order (a row counts against the rows accepted before it, not refused ones)."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        ctx = self.ctx
        facts = self.handler.prefetch(ctx, [item[-1] for item in pending])
        self.known_external = ctx.externals(self.handler.kind, [item[4] for item in pending if item[4] is not None])
        try:
            for n, item in enumerate(pending):
                ctx.cache["batch"] = (facts, n)
                self._place(*item)
        finally:
            ctx.cache.pop("batch", None)
            self.known_external = None

    def flush(self) -> None:
        """Write the staged records of a batched kind (inside the caller's transaction)."""
        if self.set_based:
            self._convert_batch()
            self._settle()
        if not self.staged:
            for name in ("accepted", "day_totals", "staged_keys", "staged"):
                self.ctx.cache.pop(name, None)
            return
        ctx, handler, store = self.ctx, self.handler, self.ctx.registry.session.store
        staged, self.staged = self.staged, []
        externals, self.staged_external = self.staged_external, {}
        try:
            with store.write():
                handler.write(ctx, [item for _, item in staged])
                ctx.remember_many(handler.kind, list(externals.items()))
        except (VolregError, sqlite3.IntegrityError):
            # Checked rows should not fail; if one does (a concurrent writer, say), find it row by row.
            for line, item in staged:
                try:
                    with store.write():
                        handler.write(ctx, [item])
                except (VolregError, sqlite3.IntegrityError) as error:
                    self.problem(line, None, None, str(error))
                    self.tally["created"] -= 1
            with store.write():
                ctx.remember_many(handler.kind, list(externals.items()))


def _not_merged(error: VolregError, other: str | None) -> VolregError:
    """``error``, prefixed (when the row matched by content an entity with another external id) by why."""
    if other is None:
        return error
    return _Refused(f"matches by content an entity imported with external id {other}; rows with different "
                    f"external ids are never merged, and creating it failed: {error}", getattr(error, "field", None))


class _Refused(VolregError):
    """A row refused with a message built by the importer."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _page_kib(store: Any) -> float:
    return float(store.scalar("PRAGMA page_size")) / 1024


def _header(columns: Mapping[str, str], field: str | None) -> str | None:
    for header, name in columns.items():
        if name == field:
            return header
    return None


def import_file(
    registry: Registry,
    path: str | os.PathLike[str],
    *,
    kind: str,
    mapping: Mapping[str, str | None] | None = None,
    mode: str = "all_or_nothing",
    source: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    batch_size: int | None = None,
    progress: ProgressHook | bool | None = None,
    dry_run: bool = False,
    defaults: Mapping[str, Any] | None = None,
    date_format: str | Sequence[str] | None = None,
    dayfirst: bool = False,
    create_people: bool = False,
    sheet: str | int | None = None,
    max_problems: int = 1000,
    _per_row: bool = False,
) -> ImportReport:
    """Import a CSV, XLSX, JSON or JSON Lines file of one kind of row.

    Columns are recognised by their Chinese or English headers (``姓名``/``name``, ``证件号码``/``id_number``,
    ``开始时间``/``start`` ...; see :data:`volreg.io.headers.ALIASES`). Importing the same file again changes
    nothing. A row with an external id (``外部编号``/``external_id``) is matched only by (source, external id),
    so rows with different external ids are never merged whatever their content; a row without one is
    matched by its content (a volunteer by document, an organisation by name and parent, an activity by
    title, start and organiser). Two rows of one file that are the same entity are a problem naming both
    lines.

    Args:
        registry: the registry to write to.
        path: a ``.csv``/``.tsv`` (UTF-8, UTF-8 with BOM or GB18030), ``.xlsx``, ``.json`` (an array of
            objects) or ``.jsonl`` file.
        kind: what the rows are: one of the registered kinds (``organisations``, ``people``, ``volunteers``,
            ``activities``, ``service_records``, ``honours``, ``nominations``).
        mapping: header → field overrides, e.g. ``{"联系人手机": "phone"}``; a field of None ignores the column.
        mode: ``all_or_nothing`` (any problem → nothing written) or ``valid_rows`` (good rows are written,
            bad ones reported).
        source: the system the file comes from; external ids are unique within a source, so two systems'
            row numbers do not collide.
        format: ``csv``, ``tsv``, ``xlsx``, ``json`` or ``jsonl``; by default from the suffix.
        encoding: the CSV encoding; detected by default.
        batch_size: rows per transaction in ``valid_rows`` mode (500 by default), and rows per write of a
            batched kind (service records): 500 in ``valid_rows`` mode, 5,000 by default otherwise (fewer,
            larger writes keep the summaries' per-write work small; memory grows with it).
        progress: a function called as ``progress(rows_done, rows_total)`` after each row read, so that
            tqdm, rich or an application can follow the import (``rows_total``: the rows the file holds,
            counted before the import starts; an XLSX sheet's stated size less its header; None when
            unknown; the last call is ``(rows, rows)``); an exception it raises stops the import (with
            ``all_or_nothing``, nothing is written). ``True`` draws a bar on stderr, ``False`` nothing;
            by default a bar only when stderr is a terminal.
        dry_run: check the whole file as an import would (every rule, every row) and write nothing.
        defaults: field (or header) → a constant used where the file has no such column or the cell is
            empty, e.g. ``{"status": "verified", "nominator": "新华社区"}``.
        date_format: ``strptime`` pattern(s) tried first for dates and times, e.g. ``"%d.%m.%Y"``.
        dayfirst: read ``22/08/2026`` as day/month/year (refused as ambiguous otherwise).
        create_people: let honour and nomination rows that name an unknown person by name add that person
            (without a document), counted in ``people_created``.
        sheet: the sheet of a workbook to read (name or 1-based number); the first by default.
        max_problems: problems kept in the report; later ones are only counted (``problems_left_out``).
        _per_row: (private, for tests and benchmarks) check a set-based kind's rows one query at a time, as
            before the set-based path; the results are the same.

    Returns:
        The report: counts and problems (each with file, line, column, masked value and message).

    Raises:
        InvalidValue: an unknown kind, mode, format, mapping or defaults field, or a ``progress`` that is not a
            function (a mistake in the call, not in the file).
        MissingDependency: an XLSX file without the ``excel`` extra.
        FileNotFoundError: no such file.
    """
    handler = HANDLERS.get(kind)
    if handler is None:
        raise InvalidValue("kind", f"must be one of {', '.join(sorted(HANDLERS))}", kind)
    if mode not in MODES:
        raise InvalidValue("mode", f"must be one of {', '.join(MODES)}", mode)
    if batch_size is None:
        batch_size = _WRITE_BATCH if mode == "all_or_nothing" else _COMMIT_BATCH
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InvalidValue("batch_size", "must be a whole number >= 1", batch_size)
    if not isinstance(max_problems, int) or isinstance(max_problems, bool) or max_problems < 0:
        raise InvalidValue("max_problems", "must be a whole number >= 0", max_problems)
    known = {"external_id", *(f.name for f in handler.fields)}
    for header, field in (mapping or {}).items():
        if field is not None and field not in known:
            raise InvalidValue("mapping", f"must map {header!r} to a field of {kind}: {', '.join(sorted(known))}", field)
    fixed = _defaults(defaults, known, mapping, kind)
    patterns = _patterns(date_format)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such file: {os.fspath(path)}")
    reader = TableReader(path, format=format, encoding=encoding, sheet=sheet)
    name = Path(path).name
    ctx = ImportContext(registry, source or "", f"import {name}" + (f" ({source})" if source else ""),
                        create_people=bool(create_people), date_formats=patterns, dayfirst=bool(dayfirst),
                        file=name)
    run = _Run(ctx, handler, reader, name, mapping, batch_size, fixed, max_problems, set_based=not _per_row)
    hook = progress_hook(progress, f"importing {name}")
    total = count_rows(path, format=format, encoding=encoding) if hook is not None else None
    rows = _followed(iter(reader), hook, total)
    written = not dry_run
    committed: list[int] = []
    store = registry.session.store
    cache = store.scalar("PRAGMA cache_size")
    if cache < 0 and -cache < _IMPORT_CACHE_KIB or cache >= 0 and cache * _page_kib(store) < _IMPORT_CACHE_KIB:
        store.script(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
    try:
        if mode == "all_or_nothing" or dry_run:
            try:
                with store.write():
                    for raw in rows:
                        run.row(raw)
                        if run.stop:
                            break
                    run.flush()
                    run.header_only()
                    if run.problems or run.left_out or dry_run:
                        raise _Rollback
            except _Rollback:
                written = False
        else:
            try:
                while not run.stop and (batch := list(islice(rows, batch_size))):
                    run.bad_lines = set()
                    with store.write():
                        for raw in batch:
                            run.row(raw)
                            if run.stop:
                                break
                        run.flush()
                    committed.extend(raw.line for raw in batch if raw.line not in run.bad_lines)
                run.header_only()
            except BaseException as error:
                raise ImportInterrupted(name, committed, run.problems, error) from error
    finally:
        if isinstance(hook, StderrBar):
            hook.close()
        store.script(f"PRAGMA cache_size = {int(cache)}")
    if run.set_based:
        # A set-based kind reports a row's rule problems when its batch is settled, after later rows'
        # unreadable cells: put them back in the file's order, as the row-by-row path reports them.
        run.problems.sort(key=lambda p: float("inf") if p.line is None else p.line)
    counts = run.tally if written or dry_run else Counter(rows=run.tally["rows"])
    people = ctx.cache.get("people_added", 0) if written or dry_run else 0
    if written and (counts["created"] or counts["updated"]):
        registry.session.optimize()
    log.info("imported %s (%s, %s): %d rows, %d created, %d updated, %d skipped, %d problems%s", name, kind, mode,
             counts["rows"], counts["created"], counts["updated"], counts["skipped"], len(run.problems),
             "" if written else ", nothing written")
    return ImportReport(
        kind=kind,
        file=name,
        mode=mode,
        rows=counts["rows"],
        created=counts["created"],
        updated=counts["updated"],
        skipped=counts["skipped"],
        problems=tuple(run.problems),
        written=written,
        ignored_columns=tuple(run.ignored),
        people_created=people,
        dry_run=bool(dry_run),
        problems_left_out=run.left_out,
        header_refused=run.header_refused,
    )


def _followed(rows: Iterator[RawRow], hook: ProgressHook | None, total: int | None) -> Iterator[RawRow]:
    """``rows``, calling ``hook(done, total)`` after each is read and ``hook(done, done)`` at the end."""
    if hook is None:
        yield from rows
        return
    done = 0
    for raw in rows:
        yield raw
        done += 1
        hook(done, total)
    if total != done:
        hook(done, done)


class ImportInterrupted(VolregError):
    """A ``valid_rows`` import stopped part-way (an error, a full disk, Ctrl-C); says what was committed.

    Attributes:
        file: the file's name.
        committed_lines: the lines (or spreadsheet rows) whose rows were committed before the stop; no
            other row of the file is in the registry.
        problems: the problems found up to the stop.
        cause: the exception that stopped the import.
    """

    def __init__(self, file: str, committed_lines: list[int], problems: list[Problem], cause: BaseException) -> None:
        self.file = file
        self.committed_lines = tuple(committed_lines)
        self.problems = tuple(problems)
        self.cause = cause
        if committed_lines:
            done = (f"the rows of {len(committed_lines)} lines were committed ({_spans(committed_lines)}); "
                    "no other row was written")
        else:
            done = "nothing was committed"
        super().__init__(f"the import of {file} stopped part-way ({type(cause).__name__}: {cause}); {done}")


def _spans(lines: Sequence[int]) -> str:
    """``[2, 3, 4, 7]`` → ``'lines 2–4, 7'``."""
    parts: list[str] = []
    start = prev = lines[0]
    for line in [*lines[1:], None]:
        if line is not None and line == prev + 1:
            prev = line
            continue
        parts.append(f"{start}–{prev}" if prev != start else str(start))
        if line is not None:
            start = prev = line
    return "lines " + ", ".join(parts)


def _defaults(defaults: Mapping[str, Any] | None, known: set[str], mapping: Mapping[str, str | None] | None,
              kind: str) -> dict[str, tuple[str, Any]]:
    """Resolve ``defaults`` keys (a field, or a header as the file would name it) to fields."""
    fixed: dict[str, tuple[str, Any]] = {}
    for key, value in (defaults or {}).items():
        field = key if key in known else resolve_headers([str(key)], known, mapping)[0].get(str(key))
        if field is None:
            raise InvalidValue("defaults", f"must name a field of {kind} (or a header of one): "
                                           f"{', '.join(sorted(known))}", key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidValue("defaults", f"must give {key!r} a value", value)
        fixed[field] = (str(key), value.strip() if isinstance(value, str) else value)
    return fixed


def _patterns(date_format: str | Sequence[str] | None) -> tuple[str, ...]:
    if date_format is None:
        return ()
    patterns = (date_format,) if isinstance(date_format, str) else tuple(date_format)
    for pattern in patterns:
        if not isinstance(pattern, str) or "%" not in pattern:
            raise InvalidValue("date_format", "must be strptime patterns such as '%d/%m/%Y'", pattern)
    return patterns
