"""The answer of every query function: a sequence of rows with columns, exportable and printable."""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, overload

from ..errors import MissingDependency

__all__ = ["Result", "neutralise"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    """

    def __init__(self, columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> None:
        self.columns: tuple[str, ...] = tuple(columns)
        self._rows: list[dict[str, Any]] = [{c: row.get(c) for c in self.columns} for row in rows]

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Result(self.columns, self._rows[index])
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
            excel: write UTF-8 with a BOM, so that Excel reads Chinese text correctly.
        """

        def write(handle: IO[str]) -> None:
            if excel and isinstance(target, (str, os.PathLike)):
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
        page = book.create_sheet(sheet[:31])
        page.append(list(self.columns))
        for row in self._rows:
            page.append([neutralise(row[c]) for c in self.columns])
        book.save(os.fspath(path))

    def _cells(self) -> list[list[str]]:
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
