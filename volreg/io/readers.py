"""Reading rows from CSV, Excel (XLSX) and JSON Lines files, one at a time.

Every reader is a generator: a file of a million rows is read in constant memory. Each row knows the line
it came from (the spreadsheet row number for XLSX), so that a problem can point at it.

CSV files are read as Chinese offices write them: UTF-8, UTF-8 with a BOM (what Excel's "CSV UTF-8" writes)
or GB18030 (what Excel writes as plain "CSV" on a Chinese Windows, a superset of GBK and GB2312). The encoding
is decided for the whole file by checking it line by line (UTF-8 when every line is, GB18030 when none is; a
file that mixes them is refused with the lines that differ) and each line is then decoded on its own, so a
line that is not in the file's encoding is a problem of that line and nothing is stored garbled.

Memory stays bounded whatever the file: lines are read at most :data:`LINE_LIMIT` bytes at a time, and a
workbook whose uncompressed parts (shared strings above all, which openpyxl holds whole) are too large is
refused before it is opened; any error while parsing a workbook (broken XML, entity expansion) is a problem.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..errors import InvalidValue, MissingDependency

__all__ = ["RawRow", "TableReader", "count_rows", "detect_encoding", "scan_encoding", "detect_format", "FORMATS",
           "LINE_LIMIT", "CELL_LIMIT", "SHARED_STRINGS_LIMIT", "PART_LIMIT"]

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl")
"""File formats :class:`TableReader` reads."""

_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx",
             ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_JSON_LIMIT = 64 * 1024 * 1024
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


CELL_LIMIT = 131_072
"""The longest CSV cell volreg reads (characters, csv's default field limit); a longer cell spoils its row."""

LINE_LIMIT = 1 << 20
"""The longest physical line (bytes) of a CSV or JSON Lines file; a longer one is a problem, skipped without
being held in memory. A CSV cell is limited further by :func:`csv.field_size_limit` (128 KiB by default)."""

SHARED_STRINGS_LIMIT = 64 << 20
"""The largest uncompressed shared-strings part of a workbook (openpyxl holds it in memory whole)."""

PART_LIMIT = 1 << 30
"""The largest uncompressed part of a workbook (worksheets are streamed, other parts read whole)."""

_NOT_SHEET_LIMIT = 64 << 20


def _lines(raw: Any, limit: int = LINE_LIMIT) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each physical line, or (number, None) for a line longer than ``limit``,
    skipped in chunks so that memory stays bounded."""
    number = 0
    while data := raw.readline(limit + 1):
        number += 1
        if len(data) > limit and not data.endswith(b"\n"):
            while (more := raw.readline(limit)) and not more.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, data


def scan_encoding(path: str | os.PathLike[str]) -> tuple[str, list[int]]:
    """Decide a text file's encoding line by line: ``(encoding, lines)``.

    ``utf-8-sig`` for a BOM; else ``utf-8`` when every line with non-ASCII bytes is UTF-8; ``gb18030`` when
    none is; and ``mixed`` when some are and some are not (one GB18030 row pasted into a UTF-8 file), with
    the lines that are not UTF-8: such a file must be refused, as reading it either way garbles some rows.
    """
    good, bad = 0, []
    with open(path, "rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
        handle.seek(3 if bom else 0)
        for number, data in _lines(handle):
            if data is None or data.isascii():
                continue
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                bad.append(number)
            else:
                good += 1
    if bom:
        return "utf-8-sig", bad
    if not bad:
        return "utf-8", []
    return ("gb18030", []) if not good else ("mixed", bad)


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """``utf-8-sig`` for a BOM, ``utf-8`` when the whole file decodes as UTF-8, else ``gb18030`` (or ``mixed``
    when some lines are UTF-8 and others are not; see :func:`scan_encoding`).

    The file is checked line by line, so this takes bounded memory.
    """
    return scan_encoding(path)[0]


def _shown_lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:10])
    return shown + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")


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
        encoding: str
        if self.encoding is None:
            encoding, bad = scan_encoding(self.path)
            if encoding == "mixed":
                yield RawRow(bad[0], {}, f"mixes encodings: lines {_shown_lines(bad)} are not UTF-8 while other "
                                         "lines are; save the whole file in one encoding (UTF-8), nothing was read")
                return
        else:
            encoding = self.encoding
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise InvalidValue("encoding", "must be an encoding Python knows, such as utf-8 or gb18030",
                                   encoding) from None
        self.total = self.path.stat().st_size
        errors: list[tuple[int, str]] = []

        def text_lines(raw: Any) -> Iterator[str]:
            # Each physical line is decoded on its own, so a line in another encoding is a problem of its
            # own line and is never stored garbled; a too-long line is skipped without being held.
            for number, data in _lines(raw):
                self.position = raw.tell()
                if data is None:
                    errors.append((number, f"is longer than {LINE_LIMIT} bytes; it was skipped"))
                    yield "\n"
                    continue
                try:
                    yield data.decode(encoding)
                except UnicodeDecodeError as error:
                    errors.append((number, f"is not text in {encoding} (undecodable byte "
                                           f"0x{error.object[error.start]:02x}); save the file in one encoding"))
                    yield "\n"

        with open(self.path, "rb") as raw:
            if encoding == "utf-8-sig":
                encoding = "utf-8"
                raw.seek(3 if raw.read(3) == codecs.BOM_UTF8 else 0)
            reader = csv.reader(text_lines(raw), delimiter="\t" if self.format == "tsv" else ",")
            names: list[str] | None = None
            line_after = 0
            while True:
                line = line_after + 1
                try:
                    values = next(reader)
                except StopIteration:
                    yield from (RawRow(n, {}, message) for n, message in errors)
                    return
                except csv.Error as error:
                    yield from (RawRow(n, {}, message) for n, message in errors)
                    errors.clear()
                    yield RawRow(line, {}, f"is not a readable CSV row ({error})")
                    if reader.line_num <= line_after:
                        return  # no progress: the rest cannot be read either
                    line_after = reader.line_num
                    continue  # a cell over the size limit (csv.field_size_limit) spoils only its own row
                line_after = reader.line_num
                yield from (RawRow(n, {}, message) for n, message in errors)
                errors.clear()
                if values and max(map(len, values)) > CELL_LIMIT:
                    # Checked here as well as by csv's own limit: that limit is process-wide, and another
                    # library in the same process may have raised it.
                    yield RawRow(line, {}, f"has a cell longer than the field limit of {CELL_LIMIT} characters; "
                                           "the row was skipped")
                    continue
                if not "".join(values).strip():  # every cell blank (csv gives text only)
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
        refused = _workbook_refusal(self.path)
        if refused:
            yield RawRow(1, {}, refused)
            return
        try:
            book = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as error:  # noqa: BLE001  (a hostile workbook: any parse error is a problem)
            yield RawRow(1, {}, f"is not a workbook volreg can read ({type(error).__name__}: {_short(error)})")
            return
        number = 0
        try:
            sheet = self._sheet(book)
            self.total = sheet.max_row or 0
            names: list[str] | None = None
            rows = sheet.iter_rows(values_only=True)
            while True:
                try:
                    values = next(rows)
                except StopIteration:
                    return
                except Exception as error:  # noqa: BLE001  (XML entity expansion, broken XML ...)
                    yield RawRow(number + 1, {}, f"is not a worksheet row volreg can read "
                                                 f"({type(error).__name__}: {_short(error)})")
                    return
                number += 1
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
            for number, data in _lines(raw):
                self.position = raw.tell()
                if data is None:
                    yield RawRow(number, {}, f"is longer than {LINE_LIMIT} bytes; it was skipped")
                    continue
                # JSON Lines is UTF-8 by definition; tolerate a BOM on the first line.
                try:
                    text = data.decode("utf-8-sig" if number == 1 else "utf-8").strip()
                except UnicodeDecodeError:
                    yield RawRow(number, {}, "is not UTF-8 (JSON Lines files must be)")
                    continue
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


def count_rows(path: str | os.PathLike[str], *, format: str | None = None, encoding: str | None = None) -> int | None:
    """How many rows (after the header) an import of ``path`` will read, for a progress bar.

    CSV, TSV and JSON Lines are read once through, exactly as the import reads them. An XLSX sheet states its
    size, so the answer is its row count less the header, blank rows included; None when it does not say.
    """
    reader = TableReader(path, format=format, encoding=encoding)
    if reader.format != "xlsx":
        return sum(1 for _ in reader)
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise MissingDependency("openpyxl", "excel") from None
    book = load_workbook(reader.path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].max_row
    finally:
        book.close()
    return None if rows is None else max(rows - 1, 0)


def _short(error: BaseException) -> str:
    return str(error)[:200]


def _workbook_refusal(path: Path) -> str | None:
    """Why a workbook is refused before it is opened (its parts would take too much memory), or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename
                if name.endswith("sharedStrings.xml") and info.file_size > SHARED_STRINGS_LIMIT:
                    return (f"has {info.file_size} bytes of shared strings, more than the {SHARED_STRINGS_LIMIT} "
                            "volreg reads; save the sheet as CSV")
                limit = PART_LIMIT if "/worksheets/" in name else _NOT_SHEET_LIMIT
                if info.file_size > limit:
                    return f"has a part {name!r} of {info.file_size} bytes uncompressed, more than {limit}"
    except (zipfile.BadZipFile, OSError) as error:
        return f"is not a workbook volreg can read ({type(error).__name__}: {_short(error)})"
    return None


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
