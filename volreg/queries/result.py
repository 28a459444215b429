"""The answer of every query function: a sequence of rows with columns, exportable and printable."""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, overload

from ..errors import InvalidValue, MissingDependency
from ..personal import mask_id_text, mask_phone

__all__ = ["Result", "neutralise", "mask_personal"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def mask_personal(column: str, value: Any) -> Any:
    """Mask a value of a phone column (``phone``, ``*_phone``) or ID-number column (``id_number``, ``*_id_number``).

    Query functions never select these columns; this guards every export against a future one that does.
    """
    if value is None or value == "":
        return value
    if column == "phone" or column.endswith("_phone"):
        return mask_phone(str(value))
    if column == "id_number" or column.endswith("_id_number"):
        return mask_id_text(str(value))
    return value


def _phone_kept(column: str, value: Any) -> Any:
    """Like :func:`mask_personal`, but phone columns are kept (``Result(..., unmask=registry)``)."""
    if column == "phone" or column.endswith("_phone"):
        return value
    return mask_personal(column, value)


def neutralise(value: Any) -> Any:
    """Make a text cell safe for spreadsheets: one starting with ``=``, ``+``, ``-`` or ``@`` gets a ``'``.

    Numbers are left alone (a negative number is a number, not a formula).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Result(Sequence[Mapping[str, Any]]):
    """Rows answering a query, each a mapping from column name to value, in ``columns`` order.

    A ``Result`` is a sequence: ``len(result)``, ``result[0]["minutes"]``, ``for row in result``.
    In a notebook it shows as an HTML table; ``str()`` gives an aligned text table.

    Phone and ID-number columns are masked when the result is made, so every print and export of it is
    masked. A caller holding the registry (opened with its key) may keep phone numbers in clear by passing
    ``unmask=registry``, e.g. for a contact list of the organisers who must call volunteers. ID-number
    columns stay masked even then: the registry never stores an ID number, only its keyed digest and masked
    form, so there is nothing to unmask.

    Args:
        columns: the column names, in order.
        rows: mappings from column name to value (missing columns are None).
        unmask: the :class:`volreg.Registry` the rows come from, to keep phone numbers in clear.

    Raises:
        InvalidValue: ``unmask`` is not a registry.
    """

    def __init__(self, columns: Iterable[str], rows: Iterable[Mapping[str, Any]], *, unmask: Any = None) -> None:
        from ..registry import Registry  # a cycle at import time otherwise

        if unmask is not None and not isinstance(unmask, Registry):
            raise InvalidValue("unmask", "must be the volreg.Registry the rows come from, opened with its key",
                               type(unmask).__name__)
        self.columns: tuple[str, ...] = tuple(columns)
        self._unmask = unmask
        keep = unmask is not None
        self._rows: list[dict[str, Any]] = [
            {c: _phone_kept(c, row.get(c)) if keep else mask_personal(c, row.get(c)) for c in self.columns}
            for row in rows
        ]

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Result(self.columns, self._rows[index], unmask=self._unmask)
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self._rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Result):
            return self.columns == other.columns and self._rows == other._rows
        if isinstance(other, list):
            return self._rows == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as a list of new dicts."""
        return [dict(row) for row in self._rows]

    def column(self, name: str) -> list[Any]:
        """One column's values, in row order."""
        if name not in self.columns:
            raise KeyError(name)
        return [row[name] for row in self._rows]

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of the rows (needs the ``pandas`` extra).

        Raises:
            MissingDependency: pandas is not installed.
        """
        try:
            import pandas
        except ImportError:
            raise MissingDependency("pandas", "pandas") from None
        return pandas.DataFrame(self.to_dicts(), columns=list(self.columns))

    def _write_text(self, target: str | os.PathLike[str] | IO[str], write: Any, encoding: str = "utf-8") -> None:
        if isinstance(target, (str, os.PathLike)):
            with open(target, "w", encoding=encoding, newline="") as handle:
                write(handle)
        else:
            write(target)

    def to_csv(self, target: str | os.PathLike[str] | IO[str], *, excel: bool = False) -> None:
        """Write CSV with a header row; cells that a spreadsheet would run as formulas are neutralised.

        Args:
            target: a path or an open text file.
            excel: start with a BOM, so that Excel reads the UTF-8 Chinese text correctly.
        """

        def write(handle: IO[str]) -> None:
            if excel:
                handle.write("\ufeff")
            out = csv.writer(handle)
            out.writerow([neutralise(c) for c in self.columns])
            for row in self._rows:
                out.writerow(["" if row[c] is None else neutralise(row[c]) for c in self.columns])

        self._write_text(target, write)

    def to_json(self, target: str | os.PathLike[str] | IO[str] | None = None) -> str | None:
        """Write the rows as a JSON array of objects; with no target, return the text."""
        text = json.dumps(self.to_dicts(), ensure_ascii=False, indent=1, default=str)
        if target is None:
            return text
        self._write_text(target, lambda handle: handle.write(text + "\n"))
        return None

    def to_xlsx(self, path: str | os.PathLike[str], *, sheet: str = "volreg") -> None:
        """Write an Excel workbook (needs the ``excel`` extra); formula-like cells are neutralised.

        Raises:
            MissingDependency: openpyxl is not installed.
        """
        try:
            from openpyxl import Workbook
        except ImportError:
            raise MissingDependency("openpyxl", "excel") from None
        book = Workbook(write_only=True)
        # Excel refuses sheet names over 31 characters or with any of []:*?/\ in them.
        page = book.create_sheet(sheet.translate(_SHEET_FORBIDDEN)[:31] or "volreg")
        page.append([neutralise(c) for c in self.columns])
        for row in self._rows:
            page.append([_excel_cell(row[c]) for c in self.columns])
        book.save(os.fspath(path))

    def _cells(self) -> list[list[str]]:
        """The rows as display text (floats with two decimals)."""
        def show(value: Any) -> str:
            if value is None:
                return ""
            if isinstance(value, float):
                return f"{value:.2f}"
            return str(value)

        return [[show(row[c]) for c in self.columns] for row in self._rows]

    def __str__(self) -> str:
        import unicodedata

        def width(text: str) -> int:
            return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

        cells = self._cells()
        widths = [max([width(c)] + [width(r[i]) for r in cells]) for i, c in enumerate(self.columns)]

        def line(values: Sequence[str]) -> str:
            parts = []
            for i, value in enumerate(values):
                pad = " " * (widths[i] - width(value))
                numeric = value.replace(".", "", 1).replace("-", "", 1).isdigit()
                parts.append(pad + value if numeric else value + pad)
            return "  ".join(parts).rstrip()

        out = [line(self.columns), "  ".join("-" * w for w in widths)]
        out.extend(line(r) for r in cells)
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"<volreg.Result {len(self)} rows × {len(self.columns)} columns: {', '.join(self.columns)}>"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in self._cells()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _excel_cell(value: Any) -> Any:
    """A cell openpyxl can write: Excel has no time zones, so an aware datetime is written as ISO 8601 text."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return neutralise(json.dumps(value, ensure_ascii=False))
    return neutralise(value)
