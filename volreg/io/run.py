"""One import of one file under way (:class:`FileRun`): recognise each row's columns, convert its cells
(every wrong cell reported), identify it (external id, content, repeats within the file) and create or update
it through its kind's handler, or check and stage it for a batched write; problems are collected, never
raised.  :func:`volreg.io.importer.import_file` drives it and owns the transactions."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .. import external_ids
from ..errors import VolregError
from .handler import Field, ImportContext, KindHandler
from .headers import label, resolve_headers
from .readers import RawRow, TableReader
from .report import Problem, masked_cell

__all__ = ["FileRun", "Rollback"]

_ALTERNATIVES = (
    frozenset({"id_number", "id_type", "id_country", "name", "nominee", "recipient", "volunteer_number"}),
    frozenset({"start", "end", "date", "hours", "minutes"}),
)
"""Fields that stand in for one another (who a row names; when service was given): once one of a group is
refused and left out, a refusal of another of the group only follows from that and is not reported."""

_SEEN_LIMIT = 2_000_000
"""Entities and external ids remembered per file to find repeated rows (bounded, so memory is too)."""


class Rollback(Exception):
    """Unwinds an ``all_or_nothing`` transaction that met a problem."""


class FileRun:
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
        self.fields = {f.name: f for f in (Field("external_id", personal="external_id"), *handler.fields)}
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
        if shown is not None and spec is not None:
            shown = masked_cell(spec.personal, shown)
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
        # Two forms of one ID number used as an external id (x and X, full-width digits) are one id.
        external = None if values.get("external_id") is None else external_ids.canonical(str(values["external_id"]))
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
                matched = self._match(raw.line, record, external)
                if matched is None:
                    return
                found, other = matched
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
        self.problem(line, column, external, f"external id {external_ids.shown(external)!r} is also on line "
                                             f"{earlier}: each row of a file must have its own external id",
                     "external_id")
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
        return None, (f"{external_ids.shown(other)!r}" if other else "none") + where

    def _match(self, line: int, record: Mapping[str, Any],
               external: str | None) -> tuple[str | None, str | None] | None:
        """:meth:`_identify` a converted row, or None (reported) when it is the entity of an earlier row."""
        found, other = self._identify(record, external)
        if found is not None and self._same_as_earlier(line, found):
            self._failed_line = line
            return None
        return found, other

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
            matched = self._match(raw.line, record, external)
            if matched is None:
                return
            found, other = matched
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


def _header(columns: Mapping[str, str], field: str | None) -> str | None:
    for header, name in columns.items():
        if name == field:
            return header
    return None
