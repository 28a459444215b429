"""The answer of every query function: a sequence of rows with columns, exportable and printable."""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, overload

from ..errors import InvalidValue, MissingDependency, StaleResult
from ..personal import mask_id_text, mask_phone

__all__ = ["Result", "neutralise", "mask_personal", "PAGE", "HTML_ROWS"]

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


def neutralise(value: Any) -> Any:
    """Make a text cell safe for spreadsheets: one starting with ``=``, ``+``, ``-`` or ``@`` gets a ``'``.

    Numbers are left alone (a negative number is a number, not a formula).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


PAGE = 100
"""How many rows a streaming result reads when it is made (and at least how many more when it grows)."""

HTML_ROWS = 50
"""How many rows a result shows in a notebook (the HTML repr); ``str()`` shows them all."""

Row = tuple[Any, ...]


def _column_mask(column: str, keep_phone: bool) -> Callable[[Any], Any] | None:
    """What a column's values go through, decided once from its name: a masker, or None (kept as stored)."""
    if column == "phone" or column.endswith("_phone"):
        return None if keep_phone else mask_phone
    if column == "id_number" or column.endswith("_id_number"):
        return mask_id_text
    return None


class _Source:
    """Where a lazy result's rows come from: a read through the session, and the stamp of when it was made."""

    __slots__ = ("session", "sql", "params", "stamp", "count")

    def __init__(self, session: Any, sql: str, params: list[Any]) -> None:
        self.session = session
        self.sql = sql
        self.params = params
        self.stamp: Any = None
        self.count: int | None = None


class Result(Sequence[Mapping[str, Any]]):
    """Rows answering a query, each a mapping from column name to value, in ``columns`` order.

    A ``Result`` is a sequence: ``len(result)``, ``result[0]["minutes"]``, ``for row in result``,
    ``result[:100]``; ``result.tuples()`` gives the rows as tuples.  In a notebook it shows as an HTML table
    of its first rows; ``str()`` gives an aligned text table of all of them.

    Rows are kept as tuples; a row is made a dict only when it is asked for.  Phone and ID-number columns
    (decided once per column from its name) are masked as rows are read, so every print and export of a
    result is masked. A caller holding the registry (opened with its key) may keep phone numbers in clear by
    passing ``unmask=registry``, e.g. for a contact list of the organisers who must call volunteers.
    ID-number columns stay masked even then: the registry never stores an ID number, only its keyed digest
    and masked form, so there is nothing to unmask.

    **Large answers are read lazily** when their query reads rows in output order (the query functions
    say so; e.g. hours per volunteer in a year, everyone's star level): such a result reads its first
    :data:`PAGE` rows when it is made, ``result[:n]``, ``result.head(n)`` and the notebook view read only
    the rows they show, ``len()`` counts in SQL, iteration reads the rest when it passes the first page, and
    ``to_csv()``/``to_xlsx()`` stream every row to the file.  Every other answer is read whole when it is
    made.  If the registry changes between the first rows and the rest in a way that changes those first
    rows, reading on raises :class:`volreg.StaleResult` rather than mixing two answers.

    Args:
        columns: the column names, in order.
        rows: mappings from column name to value (missing columns are None), or tuples in column order.
        unmask: the :class:`volreg.Registry` the rows come from, to keep phone numbers in clear.

    Raises:
        InvalidValue: ``unmask`` is not a registry.
    """

    def __init__(self, columns: Iterable[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]], *,
                 unmask: Any = None) -> None:
        self._setup(columns, unmask)
        names = self.columns
        self._rows[:] = [
            self._mask(tuple(row.get(c) for c in names) if isinstance(row, Mapping) else tuple(row)) for row in rows
        ]

    def _setup(self, columns: Iterable[str], unmask: Any) -> None:
        from ..registry import Registry  # a cycle at import time otherwise

        if unmask is not None and not isinstance(unmask, Registry):
            raise InvalidValue("unmask", "must be the volreg.Registry the rows come from, opened with its key",
                               type(unmask).__name__)
        self.columns: tuple[str, ...] = tuple(columns)
        self._unmask = unmask
        self._masks = [(i, f) for i, c in enumerate(self.columns) if (f := _column_mask(c, unmask is not None))]
        self._rows: list[Row] = []
        self._source: _Source | None = None

    @classmethod
    def from_query(cls, session: Any, columns: Iterable[str], sql: str, params: Sequence[Any] = (), *,
                   streams: bool = False, unmask: Any = None) -> Result:
        """The answer of one read through ``session`` (a :class:`volreg.session.Session`).

        Args:
            session: the registry's session.
            columns: the result's columns; the read's columns are matched to them by name.
            sql: a read without ``LIMIT``.
            params: its parameters.
            streams: the read's plan yields rows in output order without sorting them all first, so that
                its first rows cost only themselves; such a result is read lazily (see the class).
            unmask: as for :class:`Result`.
        """
        result = cls.__new__(cls)
        result._setup(columns, unmask)
        source = _Source(session, sql, list(params))
        if streams:
            result._source = source
            result._rows = result._read(source, PAGE)
            source.stamp = session.stamp()
            if len(result._rows) < PAGE:
                result._source = None
        else:
            result._rows = result._read(source, None)
        return result

    @classmethod
    def _of(cls, columns: tuple[str, ...], rows: list[Row], unmask: Any) -> Result:
        result = cls.__new__(cls)
        result._setup(columns, unmask)
        result._rows = rows
        return result

    # -- reading -------------------------------------------------------------------------------------------

    def _mask(self, row: Row) -> Row:
        if not self._masks:
            return row
        values = list(row)
        for i, mask in self._masks:
            value = values[i]
            if value is not None and value != "":
                values[i] = mask(str(value))
        return tuple(values)

    def _cursor(self, source: _Source, limit: int | None) -> tuple[Any, Callable[[Row], Row]]:
        sql, params = source.sql, source.params
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        cursor = source.session.cursor(sql, params)
        names = tuple(d[0] for d in cursor.description)
        if names == self.columns:
            return cursor, self._mask
        where = {name: i for i, name in enumerate(names)}
        picks = [where.get(c) for c in self.columns]
        return cursor, lambda row: self._mask(tuple(None if i is None else row[i] for i in picks))

    def _read(self, source: _Source, limit: int | None) -> list[Row]:
        cursor, convert = self._cursor(source, limit)
        if convert == self._mask and not self._masks:  # rows as SQLite gives them: nothing to do per row
            return cursor.fetchall()
        return [convert(row) for row in cursor]

    def _ensure(self, n: int | None = None) -> None:
        """Hold at least the first ``n`` rows (all of them for None)."""
        source = self._source
        if source is None or (n is not None and len(self._rows) >= n):
            return
        have = len(self._rows)
        if n is not None:
            n = max(n, 4 * have)  # grow geometrically, so reading row by row costs linear time
        fresh = self._read(source, n)
        if fresh[:have] != self._rows:
            raise StaleResult(have)
        self._rows = fresh
        if n is None or len(fresh) < n:
            self._source = None

    def _stream(self) -> Iterator[Row]:
        """Every row, in order, without keeping them: the rows held, then the rest straight from SQLite."""
        source = self._source
        if source is None:
            yield from self._rows
            return
        have = len(self._rows)
        cursor, convert = self._cursor(source, None)
        first = [convert(row) for row in cursor.fetchmany(have)]
        if first != self._rows:
            raise StaleResult(have)
        yield from first
        while chunk := cursor.fetchmany(1000):
            for row in chunk:
                yield convert(row)

    def _all(self) -> list[Row]:
        self._ensure(None)
        return self._rows

    def _dict(self, row: Row) -> dict[str, Any]:
        return dict(zip(self.columns, row, strict=True))

    # -- the sequence --------------------------------------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.start, index.stop, index.step
            bounded = stop is not None and stop >= 0 and (start is None or start >= 0) and (step is None or step > 0)
            self._ensure(stop if bounded else None)
            return Result._of(self.columns, self._rows[index], self._unmask)
        if isinstance(index, int) and index >= 0:
            self._ensure(index + 1)
        else:
            self._ensure(None)
        return self._dict(self._rows[index])

    def __len__(self) -> int:
        source = self._source
        if source is None:
            return len(self._rows)
        if source.session.stamp() != source.stamp:
            return len(self._all())
        if source.count is None:
            source.count = source.session.scalar(f"SELECT count(*) FROM ({source.sql})", source.params)
        return int(source.count)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        i = 0
        while True:
            rows = self._rows
            while i < len(rows):
                yield self._dict(rows[i])
                i += 1
            if self._source is None:
                return
            self._ensure(None)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Result):
            return self.columns == other.columns and self._all() == other._all()
        if isinstance(other, list):
            return self.to_dicts() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def head(self, n: int = 10) -> Result:
        """The first ``n`` rows, reading no more than those when the result is read lazily."""
        return self[:n]  # type: ignore[return-value]

    def tuples(self) -> list[Row]:
        """Every row as a tuple of values in ``columns`` order (the cheapest way to read them all)."""
        return list(self._all())

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as a list of new dicts."""
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self._all()]

    def column(self, name: str) -> list[Any]:
        """One column's values, in row order."""
        if name not in self.columns:
            raise KeyError(name)
        i = self.columns.index(name)
        return [row[i] for row in self._all()]

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of the rows (needs the ``pandas`` extra), built from tuples.

        Raises:
            MissingDependency: pandas is not installed.
        """
        try:
            import pandas
        except ImportError:
            raise MissingDependency("pandas", "pandas") from None
        rows = self._rows if self._source is None else list(self._stream())
        return pandas.DataFrame.from_records(rows, columns=list(self.columns), nrows=len(rows))

    def _write_text(self, target: str | os.PathLike[str] | IO[str], write: Any, encoding: str = "utf-8") -> None:
        if isinstance(target, (str, os.PathLike)):
            with open(target, "w", encoding=encoding, newline="") as handle:
                write(handle)
        else:
            write(target)

    def to_csv(self, target: str | os.PathLike[str] | IO[str], *, excel: bool = False) -> None:
        """Write CSV with a header row; cells that a spreadsheet would run as formulas are neutralised.

        Rows are written as they are read, so a large answer is never held whole.

        Args:
            target: a path or an open text file.
            excel: start with a BOM, so that Excel reads the UTF-8 Chinese text correctly.
        """

        def write(handle: IO[str]) -> None:
            rows = self._stream()
            first = next(rows, None)  # a stale answer is refused before anything is written
            if excel:
                handle.write("\ufeff")
            out = csv.writer(handle)
            out.writerow([neutralise(c) for c in self.columns])
            if first is None:
                return
            out.writerow(["" if v is None else neutralise(v) for v in first])
            out.writerows(["" if v is None else neutralise(v) for v in row] for row in rows)

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
        rows = self._stream()
        first = next(rows, None)
        book = Workbook(write_only=True)
        # Excel refuses sheet names over 31 characters or with any of []:*?/\ in them.
        page = book.create_sheet(sheet.translate(_SHEET_FORBIDDEN)[:31] or "volreg")
        page.append([neutralise(c) for c in self.columns])
        if first is not None:
            page.append([_excel_cell(v) for v in first])
            for row in rows:
                page.append([_excel_cell(v) for v in row])
        book.save(os.fspath(path))

    @staticmethod
    def _cells(rows: Iterable[Row]) -> list[list[str]]:
        """Rows as display text (floats with two decimals)."""
        def show(value: Any) -> str:
            if value is None:
                return ""
            if isinstance(value, float):
                return f"{value:.2f}"
            return str(value)

        return [[show(v) for v in row] for row in rows]

    def __str__(self) -> str:
        import unicodedata

        def width(text: str) -> int:
            return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

        cells = self._cells(self._all())
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
        self._ensure(HTML_ROWS + 1)
        shown = self._rows[:HTML_ROWS]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in self._cells(shown)
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if self._source is None and len(self._rows) <= HTML_ROWS:
            return table
        return table + f"<p>the first {HTML_ROWS} of {len(self):,} rows</p>"


def _excel_cell(value: Any) -> Any:
    """A cell openpyxl can write: Excel has no time zones, so an aware datetime is written as ISO 8601 text."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return neutralise(json.dumps(value, ensure_ascii=False))
    return neutralise(value)
