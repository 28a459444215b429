"""What an import reports: each row it could not import as a :class:`Problem` (file, line, column, masked
value, message), and the counts of the whole file as an :class:`ImportReport`."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..external_ids import shown as _shown_external
from ..personal import mask_document, mask_id_text, mask_phone

__all__ = ["Problem", "ImportReport", "masked_cell"]


def _mask_number(text: str) -> str:
    """A document number in a problem: a resident number's usual mask, any other number's first and last
    character only (a 15-character permanent-residence number would keep too much under the resident mask)."""
    compact = text.strip().upper()
    if len(compact) == 18 and compact[:17].isdigit():
        return mask_id_text(compact)
    return mask_document("", compact)


_MASKS: dict[str, Callable[[str], str | None]] = {"id_number": _mask_number, "phone": mask_phone,
                                                  "external_id": _shown_external}


def masked_cell(personal: str | None, text: str) -> str | None:
    """A cell's value as a problem shows it: masked when the field is personal (``id_number``, ``phone``)."""
    mask = _MASKS.get(personal or "")
    return text if mask is None else mask(text)


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
