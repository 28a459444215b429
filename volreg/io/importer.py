"""Importing a file of one kind of row: the pipeline read → recognise columns → convert → write, with problems as data.

:func:`import_file` streams the file (:mod:`volreg.io.readers`), recognises its columns
(:mod:`volreg.io.headers`) and hands each row to the :class:`KindHandler` registered for the kind
(:mod:`volreg.io.kinds`). A row that cannot be imported becomes a :class:`Problem` pointing at its file, line
and column, never an exception; personal values in a problem are masked.

Identity: a row with an external id is matched only by (source, external id); rows with different external
ids are never merged, and two rows of one file that are the same entity are a problem naming both lines. An
external id that holds an ID number is remembered as its keyed digest (:mod:`volreg.external_ids`). A
row's every wrong cell is reported (a refused cell is left out and the row converted again), and a
``dry_run`` runs everything in one transaction that is always rolled back.

Every row is written inside its own savepoint, so a bad row leaves nothing behind. ``all_or_nothing`` runs the
whole file in one transaction and rolls it back when there is any problem; ``valid_rows`` commits batches of
good rows and reports the bad ones.

A kind with many rows (service records) can be *batched* instead: each new row is checked completely without
writing (:meth:`KindHandler.check`, against the registry and the rows staged before it), and a batch of
checked rows is written at once (:meth:`KindHandler.write`). No per-row savepoint is needed, because a row
that fails its check is never staged; the report is the same as the row-by-row path would give.

The parts: :mod:`volreg.io.handler` (what a kind is: fields, handler, context), :mod:`volreg.io.run` (one
file under way: columns, conversion, identity, staging), :mod:`volreg.io.report` (problems and the report);
this module drives them and owns the transactions.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue, VolregError
from ..personal import mask_id_runs
from .handler import HANDLERS, Field, ImportContext, KindHandler, register_kind
from .headers import resolve_headers
from .progress import ProgressHook, StderrBar, progress_hook
from .readers import RawRow, TableReader, count_rows
from .report import ImportReport, Problem
from .run import FileRun, Rollback

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
"""Import modes: write everything or nothing, or write the good rows and report the bad ones."""

_IMPORT_CACHE_KIB = 64 * 1024
"""SQLite's page cache during an import (its default is 2 MB).  A batch of records updates the table, five
indexes and the summaries at scattered pages (the volunteers and groups of a batch), and with 2 MB most of those pages are
read again from the file; 64 MB keeps them, and the memory is given back when the import ends."""

_COMMIT_BATCH = 500
"""Rows per transaction of a ``valid_rows`` import, by default: what an interruption can lose is small."""
_WRITE_BATCH = 5_000
"""Rows per write of a batched kind in an ``all_or_nothing`` import, by default (one transaction anyway)."""


def _page_kib(store: Any) -> float:
    return float(store.scalar("PRAGMA page_size")) / 1024


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
            batched kind (service records): 500 in ``valid_rows`` mode, 5,000 by default otherwise (memory
            grows with it). The summaries of the records written are brought up to date once per
            transaction, just before it commits: for ``all_or_nothing``, once for the whole file.
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
    # The file's name goes into the journal, the actor of every write and the report: an ID number in it
    # (a person's own export, "张三_62020019800101001X.xlsx") is masked there.
    name = mask_id_runs(Path(path).name)
    ctx = ImportContext(registry, source or "", f"import {name}" + (f" ({source})" if source else ""),
                        create_people=bool(create_people), date_formats=patterns, dayfirst=bool(dayfirst),
                        file=name)
    run = FileRun(ctx, handler, reader, name, mapping, batch_size, fixed, max_problems, set_based=not _per_row)
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
                        raise Rollback
            except Rollback:
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
