"""How the command line prints a :class:`volreg.Result`: the output options of sqlite-utils, and their writers.

sqlite-utils' users already know ``--table``, ``--csv``, ``--tsv``, ``--json``, ``--nl``, ``--fmt`` and
``--no-headers``; volreg's commands take the same options and print the same bytes for the same rows
(``tests/test_cli_output.py`` compares them with ``sqlite-utils query``). volreg differs on purpose in
three ways:

- the default is a table (volreg answers questions people read), not JSON;
- CSV and TSV cells that a spreadsheet would run as formulas are neutralised, and ``--bom`` (or ``--excel``)
  starts the file with a byte-order mark so that Excel on a Chinese Windows reads UTF-8 instead of GBK;
- a table wider than the terminal (or ``COLUMNS``) has its longest text columns cut (``…``) to fit, or is
  printed one record at a time when even that is too wide; printed
  to a pipe or a file it is whole, and CSV and JSON always carry the full text.

A command adds the options with :func:`output_options` and prints with :func:`emit`; it receives only
``output`` (``table``, ``csv``, ``tsv``, ``json`` or ``nl``), the other options reach :func:`emit` through
the click context, so a command's signature does not change when an option is added here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from .queries.result import Result, neutralise

__all__ = ["OUTPUTS", "TABLE_FORMATS", "emit", "output_options", "render_table", "text_width"]

F = TypeVar("F", bound=Callable[..., Any])

OUTPUTS = ("table", "csv", "tsv", "json", "nl")
"""The values of a command's ``output`` parameter."""

# tabulate's formats (as listed by tabulate.tabulate_formats), kept here so that --help does not import it.
TABLE_FORMATS = (
    "asciidoc", "double_grid", "double_outline", "fancy_grid", "fancy_outline", "github", "grid",
    "heavy_grid", "heavy_outline", "html", "jira", "latex", "latex_booktabs", "latex_longtable", "latex_raw",
    "mediawiki", "mixed_grid", "mixed_outline", "moinmoin", "orgtbl", "outline", "pipe", "plain", "presto",
    "pretty", "psql", "rounded_grid", "rounded_outline", "rst", "simple", "simple_grid", "simple_outline",
    "textile", "tsv", "unsafehtml", "youtrack",
)
"""What ``--fmt`` accepts."""

# Formats read on a terminal: these are cut to its width. The others (Markdown, HTML, LaTeX ...) are
# pasted into documents and keep every character.
_TERMINAL_FORMATS = frozenset({
    "simple", "plain", "grid", "simple_grid", "rounded_grid", "heavy_grid", "mixed_grid", "double_grid",
    "fancy_grid", "outline", "simple_outline", "rounded_outline", "heavy_outline", "mixed_outline",
    "double_outline", "fancy_outline", "presto", "pretty", "psql", "orgtbl", "rst",
})
_MIN_CUT = 8  # a text column is never cut narrower than this many terminal cells
_META = "volreg.output"


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def output_options(command: F) -> F:
    """Add the output options of sqlite-utils to a command: ``--table`` (default), ``--csv``, ``--tsv``,
    ``--json``, ``--nl``, ``--fmt``, ``--no-headers``, and ``--bom``/``--excel``.

    The command receives ``output``; pass it to :func:`emit`, which reads the other options itself.
    """
    options = [
        click.option("-t", "--table", "output", flag_value="table", default=True,
                     help="Print an aligned table (the default)."),
        click.option("--csv", "output", flag_value="csv", help="Print CSV."),
        click.option("--tsv", "output", flag_value="tsv", help="Print TSV (tab-separated)."),
        click.option("--json", "output", flag_value="json", help="Print a JSON array of objects."),
        click.option("--nl", "output", flag_value="nl", help="Print newline-delimited JSON, one object a line."),
        click.option("--fmt", type=click.Choice(TABLE_FORMATS), metavar="FORMAT", expose_value=False,
                     callback=_remember, help="Table format (tabulate's): grid, github, psql, rst, html ..."),
        click.option("--no-headers", is_flag=True, expose_value=False, callback=_remember,
                     help="Omit the header row from CSV, TSV and table output."),
        click.option("--bom", "--excel", "bom", is_flag=True, expose_value=False, callback=_remember,
                     help="CSV for Excel: start with a UTF-8 byte-order mark (implies --csv unless --tsv)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(output: str) -> tuple[str, str | None, bool, bool]:
    """The output kind, table format, whether to omit headers, and whether to write a BOM."""
    ctx = click.get_current_context(silent=True)
    chosen = dict(ctx.meta.get(_META, {})) if ctx is not None else {}
    fmt, no_headers, bom = chosen.get("fmt"), bool(chosen.get("no_headers")), bool(chosen.get("bom"))
    explicit = ctx is not None and ctx.get_parameter_source("output") not in (
        None, click.core.ParameterSource.DEFAULT)
    if output not in OUTPUTS:
        raise click.UsageError(f"'output' must be one of {', '.join(OUTPUTS)} (got {output!r})")
    if bom:
        if explicit and output not in ("csv", "tsv"):
            raise click.UsageError(f"--bom (--excel) is for CSV or TSV, not --{output}")
        output = output if output in ("csv", "tsv") else "csv"
    if fmt is not None and output != "table":
        raise click.UsageError(f"--fmt chooses a table format; it cannot be combined with --{output}")
    return output, fmt, no_headers, bom


def emit(result: Result, output: str = "table") -> None:
    """Print ``result`` the way the command's output options ask.

    CSV and TSV cells that a spreadsheet would run as formulas are neutralised; with ``--bom`` the bytes
    written are UTF-8 with a byte-order mark whatever the terminal's encoding. An empty table prints
    ``(no rows)``; an empty CSV is its header row and empty JSON is ``[]``.
    """
    output, fmt, no_headers, bom = _settings(output)
    if output in ("csv", "tsv"):
        text = csv_text(result, tab=output == "tsv", headers=not no_headers)
        if bom:
            # Bytes, so the mark is written as such (sys.stdout, not click's stream helpers: their typing
            # changes between click releases).
            sys.stdout.flush()
            stream = sys.stdout.buffer
            stream.write(("\ufeff" + text).encode("utf-8"))
            stream.flush()
        else:
            click.echo(text, nl=False)
    elif output in ("json", "nl"):
        for line in json_lines(result, nl=output == "nl"):
            click.echo(line)
    elif not len(result):
        click.echo("(no rows)")
    else:
        click.echo(render_table(result, fmt=fmt or "simple", headers=not no_headers, width=_terminal_width()))


def csv_text(result: Result, *, tab: bool = False, headers: bool = True) -> str:
    """``result`` as CSV (or TSV), as Python's ``csv`` module writes it; formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel-tab" if tab else "excel")
    if headers:
        writer.writerow([neutralise(c) for c in result.columns])
    for row in result:
        writer.writerow(["" if row[c] is None else neutralise(_flat(row[c])) for c in result.columns])
    return buffer.getvalue()


def json_lines(result: Result, *, nl: bool = False) -> list[str]:
    """The lines sqlite-utils prints: ``[{...},`` `` {...}]`` for an array, or one object a line with ``nl``."""
    items = [json.dumps(dict(row), ensure_ascii=False, default=str) for row in result]
    if nl:
        return items
    if not items:
        return ["[]"]
    last = len(items) - 1
    return [("[" if i == 0 else " ") + item + ("]" if i == last else ",") for i, item in enumerate(items)]


def _flat(value: Any) -> Any:
    """A cell as CSV or a table shows it: lists and mappings as compact JSON."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))
    return value


def _terminal_width() -> int | None:
    """The width to fit tables to: ``COLUMNS`` when set, else the terminal's; None when printing to a pipe or
    file, which gets every character (as ``ls`` and ``git`` do)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout
    if stream.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return None


def text_width(text: str) -> int:
    """How many terminal cells ``text`` takes: a Chinese character takes two."""
    from wcwidth import wcswidth

    width = wcswidth(text)
    return width if width >= 0 else len(text)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` cells, ending with ``…`` when something was removed."""
    if text_width(text) <= limit:
        return text
    from wcwidth import wcwidth

    out, used = [], 0
    for char in text:
        cells = max(wcwidth(char), 0)
        if used + cells > limit - 1:
            break
        out.append(char)
        used += cells
    return "".join(out) + "…"


def render_table(result: Result, *, fmt: str = "simple", headers: bool = True, width: int | None = None) -> str:
    """``result`` as tabulate draws it in ``fmt``, with East Asian characters counted two cells wide.

    With ``width``, a terminal format wider than that has its longest text columns cut (``…``) until it
    fits (numbers, ids and codes are never cut); a table that still does not fit prints one record at a
    time, a column a line, long values wrapped, as psql's expanded display does.
    """
    import tabulate

    tabulate.WIDE_CHARS_MODE = True  # width of 中文 is 4 cells, not 2: needs wcwidth, a dependency

    rows: list[list[Any]] = [[_flat(row[c]) for c in result.columns] for row in result]
    # A text column is shown as text even when its values look like numbers (an id such as 0012 keeps its
    # zeros); real numbers are still right-aligned on the decimal point, as in sqlite-utils.
    texts = [i for i, c in enumerate(result.columns) if any(isinstance(r[i], str) for r in rows)]

    def draw(data: Sequence[Sequence[Any]]) -> str:
        return tabulate.tabulate(data, headers=list(result.columns) if headers else (), tablefmt=fmt,
                                 disable_numparse=texts or False)

    text = draw(rows)
    if width is None or fmt not in _TERMINAL_FORMATS or not texts:
        return text
    drawn = max(text_width(line) for line in text.splitlines())
    if drawn <= width:
        return text
    columns = result.columns
    # Ids and codes are kept whole (a cut id finds nothing); names, titles and deeds are cut.
    keep = {i for i, c in enumerate(columns) if c == "id" or c.endswith("_id") or f"{c}_name" in columns}
    natural = {i: max([text_width(r[i]) for r in rows if isinstance(r[i], str)]
                      + [text_width(columns[i]) if headers else 0]) for i in texts if i not in keep}
    if not natural:
        return text
    floors = {i: min(w, max(_MIN_CUT, text_width(columns[i]) if headers else 0)) for i, w in natural.items()}
    budget = sum(natural.values()) - (drawn - width)
    cap = _water_level([(floors[i], natural[i]) for i in natural], budget)
    cut = [[_cut(v, max(cap, floors[i])) if i in natural and isinstance(v, str) else v for i, v in enumerate(r)]
           for r in rows]
    text = draw(cut)
    if max(text_width(line) for line in text.splitlines()) <= width:
        return text
    return _expanded(columns, rows, width)


def _expanded(columns: Sequence[str], rows: list[list[Any]], width: int) -> str:
    """One record at a time, a column a line (psql's expanded display), for a table too wide even when cut."""
    names = max(text_width(c) for c in columns)
    room = max(width - names - 2, _MIN_CUT)
    out: list[str] = []
    for number, row in enumerate(rows, 1):
        head = f"-[ RECORD {number} ]"
        out.append(head + "-" * max(width - len(head), 0))
        for name, value in zip(columns, row, strict=True):
            # Here nothing is cut: a long value goes on over the next lines, under itself.
            pieces = _wrap("" if value is None else str(value), room)
            out.append((name + " " * (names - text_width(name)) + "  " + pieces[0]).rstrip())
            out.extend(" " * (names + 2) + piece for piece in pieces[1:])
    return "\n".join(out)


def _wrap(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` cells (one piece at least)."""
    from wcwidth import wcwidth

    pieces, piece, used = [], "", 0
    for char in text:
        cells = max(wcwidth(char), 0)
        if used + cells > limit and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece += char
        used += cells
    return [*pieces, piece]


def _water_level(columns: list[tuple[int, int]], budget: int) -> int:
    """The largest cap such that columns of (floor, natural) widths, each cut to the cap but never below its
    floor, take at most ``budget`` cells (the floors' sum when even that is too wide)."""
    def used(cap: int) -> int:
        return sum(max(floor, min(natural, cap)) for floor, natural in columns)

    low, high = 0, max(natural for _, natural in columns)
    while low < high:
        mid = (low + high + 1) // 2
        if used(mid) <= budget:
            low = mid
        else:
            high = mid - 1
    return low
