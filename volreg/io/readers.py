"""Reading rows from CSV, Excel (XLSX) and JSON Lines files, one at a time.

Every reader is a generator: a file of a million rows is read in constant memory. Each row knows the line
it came from (the spreadsheet row number for XLSX), so that a problem can point at it.

CSV files are read as Chinese offices write them: UTF-8, UTF-8 with a BOM (what Excel's "CSV UTF-8" writes)
or GB18030 (what Excel writes as plain "CSV" on a Chinese Windows, a superset of GBK and GB2312). The encoding
is detected by checking that the whole file decodes as UTF-8, chunk by chunk, before falling back to GB18030.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..errors import InvalidValue, MissingDependency

__all__ = ["RawRow", "TableReader", "detect_encoding", "detect_format", "FORMATS"]

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl")
"""File formats :class:`TableReader` reads."""

_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx",
             ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_JSON_LIMIT = 256 * 1024 * 1024
"""A ``.json`` array is parsed in memory: larger files are refused (JSON Lines streams any size)."""
_CHUNK = 1 << 16


@attrs.frozen
class RawRow:
    """One row as read: where it came from and its cells keyed by the file's own column names.

    Attributes:
        line: the 1-based line (CSV, JSON Lines) or spreadsheet row (XLSX) the row starts on.
        cells: column name → value (text from CSV; text, numbers and datetimes from XLSX and JSON).
        error: why the row could not be read at all (a broken JSON line), else None.
    """

    line: int
    cells: dict[str, Any]
    error: str | None = None


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a file from its suffix: ``csv``, ``tsv``, ``xlsx`` or ``jsonl``.

    Raises:
        InvalidValue: the suffix is not one volreg reads.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise InvalidValue("path", f"must end in one of {', '.join(sorted(_SUFFIXES))}", str(path))
    return _SUFFIXES[suffix]


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """``utf-8-sig`` for a BOM, ``utf-8`` when the whole file decodes as UTF-8, else ``gb18030``.

    The file is checked in chunks, so this takes constant memory.
    """
    with open(path, "rb") as handle:
        if handle.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(value: Any) -> Any:
    """An XLSX or JSON cell as the importer expects it: text, or a date/datetime; whole floats lose ``.0``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return value  # text, and dates/datetimes (a date column takes a datetime's date)


class TableReader:
    """Rows of one file, streamed.

    Args:
        path: the file.
        format: ``csv``, ``tsv``, ``xlsx``, ``json`` (an array of objects) or ``jsonl``; detected from the
            suffix when None.
        encoding: for CSV; detected when None (UTF-8, UTF-8 with BOM, GB18030).
        sheet: the sheet of a workbook (its name, or its 1-based number); the first by default.

    Attributes:
        total: the file's size in bytes (CSV, JSON Lines) or its number of rows (XLSX), for progress.
        position: how far reading has got, in the same unit.
        header_line: the line the header row was found on (CSV, XLSX), once reading has started.
        headers: the header row's column names (CSV, XLSX), once reading has started; None for JSON Lines.

    Raises:
        InvalidValue: an unknown format.
        MissingDependency: an XLSX file without openpyxl installed.
    """

    def __init__(self, path: str | os.PathLike[str], *, format: str | None = None, encoding: str | None = None,
                 sheet: str | int | None = None) -> None:
        self.path = Path(path)
        self.sheet = sheet
        self.format = format or detect_format(path)
        if self.format not in FORMATS:
            raise InvalidValue("format", f"must be one of {', '.join(FORMATS)}", format)
        self.encoding = encoding
        self.total = 0
        self.position = 0
        self.header_line = 0
        self.headers: list[str] | None = None

    def __iter__(self) -> Iterator[RawRow]:
        if self.format in ("csv", "tsv"):
            return self._csv()
        if self.format == "xlsx":
            return self._xlsx()
        if self.format == "json":
            return self._json()
        return self._jsonl()

    def _header(self, line: int, values: list[Any]) -> list[str]:
        names = ["" if v is None else str(v).strip().lstrip("\ufeff") for v in values]
        self.headers, self.header_line = names, line
        return names

    def _csv(self) -> Iterator[RawRow]:
        encoding = self.encoding or detect_encoding(self.path)
        self.total = self.path.stat().st_size
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            reader = csv.reader(text, delimiter="\t" if self.format == "tsv" else ",")
            names: list[str] | None = None
            line_after = 0
            while True:
                line = line_after + 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as error:
                    # The rest of the file cannot be read as text: report it once, as a problem, and stop.
                    yield RawRow(line, {}, f"is not text in {encoding} (undecodable byte 0x{error.object[error.start]:02x}); "
                                 "save the file as UTF-8")
                    return
                except csv.Error as error:
                    yield RawRow(line, {}, f"is not a readable CSV row ({error})")
                    return
                line_after = reader.line_num
                self.position = raw.tell()
                if all(_blank(v) for v in values):
                    continue
                if names is None:
                    names = self._header(line, values)
                    continue
                yield RawRow(line, _zip(names, values))

    def _xlsx(self) -> Iterator[RawRow]:
        try:
            from openpyxl import load_workbook
        except ImportError:
            raise MissingDependency("openpyxl", "excel") from None
        book = load_workbook(self.path, read_only=True, data_only=True)
        try:
            sheet = self._sheet(book)
            self.total = sheet.max_row or 0
            names: list[str] | None = None
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                self.position = number
                if all(_blank(v) for v in values):
                    continue
                if names is None:
                    names = self._header(number, list(values))
                    continue
                yield RawRow(number, _zip(names, [_cell(v) for v in values]))
        finally:
            book.close()

    def _sheet(self, book: Any) -> Any:
        """The worksheet asked for, or the first one."""
        names = list(book.sheetnames)
        if self.sheet is None:
            return book.worksheets[0]
        if isinstance(self.sheet, int) and not isinstance(self.sheet, bool) and 1 <= self.sheet <= len(names):
            return book.worksheets[self.sheet - 1]
        if isinstance(self.sheet, str) and self.sheet.strip().isdigit() and self.sheet.strip() not in names:
            number = int(self.sheet.strip())
            if 1 <= number <= len(names):
                return book.worksheets[number - 1]
        if isinstance(self.sheet, str) and self.sheet in names:
            return book[self.sheet]
        book.close()
        raise InvalidValue("sheet", f"must be one of the workbook's sheets ({', '.join(names)}) or 1 to "
                                    f"{len(names)}", self.sheet)

    def _json(self) -> Iterator[RawRow]:
        """A JSON array of objects; each object's line is the line it starts on."""
        self.total = self.path.stat().st_size
        if self.total > _JSON_LIMIT:
            yield RawRow(1, {}, f"is a JSON file of {self.total} bytes, more than the {_JSON_LIMIT} read in "
                                "memory: write it as JSON Lines (one object per line) instead")
            return
        raw = self.path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            yield RawRow(line, {}, "is not UTF-8 (JSON files must be)")
            return
        decoder = json.JSONDecoder()
        position = _skip(text, 0)
        if position >= len(text) or text[position] != "[":
            yield RawRow(1, {}, "must be a JSON array of objects (or use .jsonl for one object per line)")
            return
        position = _skip(text, position + 1)
        line = 1 + text.count("\n", 0, position)
        done = position
        while position < len(text) and text[position] != "]":
            line += text.count("\n", done, position)
            done = position
            try:
                value, end = decoder.raw_decode(text, position)
            except (json.JSONDecodeError, ValueError, RecursionError) as error:
                yield RawRow(line, {}, f"is not valid JSON ({getattr(error, 'msg', type(error).__name__)})")
                return
            self.position = end
            if isinstance(value, dict):
                yield RawRow(line, {str(k): _cell(v) for k, v in value.items()})
            else:
                yield RawRow(line, {}, "must be a JSON object with one key per column")
            position = _skip(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip(text, position + 1)
            elif position < len(text) and text[position] != "]":
                line += text.count("\n", done, position)
                yield RawRow(line, {}, "is not valid JSON (expected ',' or ']' between objects)")
                return
        self.position = self.total

    def _jsonl(self) -> Iterator[RawRow]:
        self.total = self.path.stat().st_size
        with open(self.path, "rb") as raw:
            for number, data in enumerate(raw, 1):
                self.position = raw.tell()
                # JSON Lines is UTF-8 by definition; tolerate a BOM on the first line.
                text = data.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace").strip()
                if not text:
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as error:
                    yield RawRow(number, {}, f"is not valid JSON ({error.msg} at column {error.colno})")
                    continue
                except (ValueError, RecursionError) as error:  # a number of thousands of digits, deep nesting
                    yield RawRow(number, {}, f"is not JSON volreg can read ({type(error).__name__})")
                    continue
                if not isinstance(value, dict):
                    yield RawRow(number, {}, "must be a JSON object with one key per column")
                    continue
                yield RawRow(number, {str(k): _cell(v) for k, v in value.items()})


def _skip(text: str, position: int) -> int:
    """The first position at or after ``position`` that is not JSON whitespace."""
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _zip(names: list[str], values: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    """Cells by column name; a row shorter than the header has None in the missing cells."""
    cells: dict[str, Any] = {}
    for i, name in enumerate(names):
        if name and name not in cells:
            cells[name] = values[i] if i < len(values) else None
    return cells
