"""The ``volreg`` command line: thin commands over the library, for staff who do not write Python.

Every command opens the registry with :func:`open_registry`, calls one library function and prints its
answer with :func:`emit` (an aligned table, or CSV, TSV, JSON ... as sqlite-utils prints them). A
:class:`volreg.VolregError` becomes one line on stderr saying what to fix, and exit status 1, never a
traceback. A query command is therefore a few lines::

    @cli.command()
    @registry_argument
    @click.option("--by", multiple=True, help="...")
    @output_options
    def hours(db: str, by: tuple[str, ...], output: str) -> None:
        \"\"\"Verified service hours, grouped.\"\"\"
        with open_registry(db) as registry:
            emit(volreg.hours(registry, by=by), output)
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import io as volreg_io
from .cli_output import emit, output_options
from .cli_shared import open_registry, registry_argument
from .errors import VolregError
from .io.datasette import datasette_metadata
from .io.importer import HANDLERS, MODES
from .io.progress import StderrBar
from .model import ACTIVITY_KINDS, HONOUR_LEVELS, NOMINATION_STATUSES, SERVICE_STATUSES
from .personal import read_key_file
from .proof.cli import proof
from .queries.activities import ACTIVITY_DIMENSIONS, activity_counts
from .queries.honour_roll import honour_roll
from .queries.hours import DIMENSIONS as HOURS_DIMENSIONS
from .queries.hours import hours as query_hours
from .queries.nominations import NOMINATION_DIMENSIONS, nomination_funnel
from .queries.nominations import nominations as count_nominations
from .queries.result import Result
from .queries.rewards import star_levels
from .registry import Registry
from .registry import open as open_path

__all__ = ["cli", "emit", "open_registry", "output_options", "registry_argument"]

F = TypeVar("F", bound=Callable[..., Any])


class VolregGroup(click.Group):
    """A command group that turns every failure into one readable line on stderr and exit status 1.

    volreg's refusals, the operating system's (a full disk, a file that cannot be read) and SQLite's say what
    went wrong in their one line; anything else is a bug, shown as its type and message. ``--debug`` shows
    the traceback instead.

    Its own options (``--key-file`` ...) are accepted after the command too, where users put them:
    ``volreg restore --key-file city.db.key backup.jsonl new.db`` is ``volreg --key-file city.db.key restore ...``.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = _hoist_global_options(self, args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            # One line and status 1 like every other error, instead of click's usage block and status 2.
            where = error.ctx.command_path if error.ctx else ctx.command_path
            raise click.ClickException(f"{error.format_message()} (see: {where} --help)") from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(_one_line(error)) from None


def _one_line(error: Exception) -> str:
    """An exception as one line: volreg's own message, or what the system or SQLite said and about what."""
    if isinstance(error, VolregError):
        text = str(error)
    elif isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        text = f"{error.strerror or error}{where}"
    elif isinstance(error, sqlite3.DatabaseError):
        text = f"the database cannot be used: {error}"
    else:
        text = f"{type(error).__name__}: {error} (a bug in volreg; run with --debug for the traceback)"
    return " ".join(text.split())


def _hoist_global_options(group: click.Group, args: list[str]) -> list[str]:
    """Move the group's own options found after the command name to the front of ``args``.

    Eager options (``--help``, ``--version``) stay where they are, so ``volreg hours --help`` still shows
    the command's help; nothing after ``--`` is touched.
    """
    takes_value: dict[str, bool] = {}
    for param in group.params:
        if isinstance(param, click.Option) and not param.is_eager:
            for name in (*param.opts, *param.secondary_opts):
                takes_value[name] = not (param.is_flag or param.count)
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if name in takes_value:
            if takes_value[name] and "=" not in arg and i + 1 < len(args):
                front.extend(args[i:i + 2])
                i += 2
                continue
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


@click.group(cls=VolregGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True),
    help="File holding the registry key (default: VOLREG_KEY, else DB.key beside the database).",
)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error instead of one line.")
@click.version_option(package_name="volreg", prog_name="volreg")
@click.pass_context
def cli(ctx: click.Context, key_file: str | None, debug: bool) -> None:
    """volreg: a city's registry of volunteers, activities, good-person studios, service hours and honours.

    Everything lives in one SQLite file (DB). Resident ID numbers are kept only as digests keyed with the
    registry key, stored beside the database as DB.key: keep that file safe and with the database.
    """
    ctx.obj = {"key": read_key_file(key_file) if key_file else None}


# -- helpers shared by every command ---------------------------------------------------------------------

# -- commands ---------------------------------------------------------------------------------------------


@cli.command(short_help="Create (or upgrade) a registry and its key file.")
@registry_argument
@click.option("--timezone", default="Asia/Shanghai", show_default=True,
              help="Home time zone that times without an offset are read in; fixed once the registry exists.")
def init(db: str, timezone: str) -> None:
    """Create a registry in DB (or upgrade an existing one) and its key file DB.key."""
    existed = Path(db).is_file()
    obj = click.get_current_context().find_root().obj or {}
    registry = open_path(db, timezone=timezone, key=obj.get("key"))
    try:
        zone = registry.settings.timezone
        source = registry.session.key_source
    finally:
        registry.close()
    click.echo(f"{'upgraded' if existed else 'created'} registry {db} (time zone {zone})")
    key_file = Path(f"{db}.key")
    if source.startswith("the key file") and key_file.is_file():
        click.echo(f"its key is in {key_file}: back it up with the database; ID numbers cannot be matched without it")
    elif not existed:
        click.echo(f"its key comes from {'--key-file' if obj.get('key') else source}; no key file was written, "
                   "so give the same key every time")


@cli.command("import", short_help="Import a CSV, XLSX or JSON Lines file of one kind of row.")
@registry_argument
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--kind", required=True, type=click.Choice(sorted(HANDLERS)), help="What the file's rows are.")
@click.option("--mode", type=click.Choice(MODES), default="all_or_nothing", show_default=True,
              help="all_or_nothing: any problem and nothing is written; valid_rows: write the good rows.")
@click.option("--source", help="The system the file comes from; keeps its external ids (外部编号) apart from others'.")
@click.option("--map", "mappings", multiple=True, metavar="HEADER=FIELD",
              help="Read the column HEADER as FIELD (e.g. --map 联系人手机=phone); repeatable.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@click.option("--dry-run", is_flag=True, help="Check the whole file as an import would, and write nothing.")
@click.option("--set", "settings", multiple=True, metavar="COLUMN=VALUE",
              help="Give COLUMN (a field or header) the constant VALUE where the file has no such column or "
                   "an empty cell (e.g. --set status=verified); repeatable.")
@click.option("--date-format", "date_formats", multiple=True, metavar="PATTERN",
              help="A strptime pattern tried first for dates and times (e.g. --date-format %d.%m.%Y); repeatable.")
@click.option("--dayfirst", is_flag=True, help="Read 22/08/2026-style dates as day/month/year.")
@click.option("--create-people", is_flag=True,
              help="Let honour and nomination rows add a person named only by name (without a document).")
@click.option("--encoding", help="The CSV file's encoding (default: detected: UTF-8, UTF-8 with BOM, GB18030).")
@click.option("--sheet", help="The workbook sheet to read, by name or 1-based number (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_(db: str, file: str, kind: str, mode: str, source: str | None, mappings: tuple[str, ...],
            progress: bool | None, dry_run: bool, settings: tuple[str, ...], date_formats: tuple[str, ...],
            dayfirst: bool, create_people: bool, encoding: str | None, sheet: str | None, as_json: bool) -> None:
    """Import FILE (CSV, XLSX, JSON or JSON Lines) of one kind of row into DB.

    Columns are recognised by Chinese or English headers (姓名/name, 证件号码/id_number, 开始时间/start ...).
    Importing the same file again changes nothing. Problems are listed as FILE:LINE: [COLUMN] MESSAGE with
    ID and phone numbers masked; the exit status is 1 when there is any problem.
    """
    mapping = _pairs(mappings, "--map", "HEADER=FIELD")
    defaults = {k: v for k, v in _pairs(settings, "--set", "COLUMN=VALUE").items() if v is not None}
    # The bar is an ordinary progress hook, as an application would pass its own.
    show = sys.stderr.isatty() if progress is None else progress
    bar = StderrBar(f"importing {Path(file).name}", sys.stderr) if show else None
    with open_registry(db) as registry:
        report = volreg_io.import_file(registry, file, kind=kind, mapping=mapping or None, mode=mode,
                                       source=source, progress=bar or False, dry_run=dry_run,
                                       defaults=defaults or None, date_format=date_formats or None,
                                       dayfirst=dayfirst, create_people=create_people, encoding=encoding,
                                       sheet=sheet)
    if as_json:
        data = {
            "kind": report.kind, "file": report.file, "mode": report.mode, "rows": report.rows,
            "created": report.created, "updated": report.updated, "skipped": report.skipped,
            "people_created": report.people_created, "dry_run": report.dry_run,
            "problems_left_out": report.problems_left_out, "header_refused": report.header_refused,
            "written": report.written, "ignored_columns": list(report.ignored_columns),
            "problems": [
                {"file": p.file, "line": p.line, "column": p.column, "value": p.value, "message": p.message}
                for p in report.problems
            ],
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        click.echo(str(report))
    if report.problems or report.problems_left_out:
        raise SystemExit(1)


def _pairs(items: tuple[str, ...], option: str, form: str) -> dict[str, str | None]:
    """``KEY=VALUE`` options as a dict (an empty value is None)."""
    pairs: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"must be {form} (got {item!r})", param_hint=option)
        pairs[key.strip()] = value.strip() or None
    return pairs


@cli.command(short_help="Write the whole registry to a JSON Lines archive.")
@registry_argument
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
@click.option("--shareable", is_flag=True,
              help="Mask phone numbers and drop ID digests (a copy to share, not a backup).")
def export(db: str, archive: str, shareable: bool) -> None:
    """Write the whole registry in DB to ARCHIVE as JSON Lines: every table, the history included.

    The archive does not contain the key; restoring it needs the same key (DB.key).
    """
    with open_registry(db, readonly=True) as registry:
        count = volreg_io.export_registry(registry, archive, personal=not shareable)
    click.echo(f"wrote {count} rows to {archive}")


@cli.command(short_help="Restore an archive into a new registry.")
@click.argument("archive", type=click.Path(dir_okay=False, exists=True))
@registry_argument
@click.option("--accept-without-trailer", is_flag=True,
              help="Restore an archive of an older volreg, which has no trailer to prove it complete.")
def restore(archive: str, db: str, accept_without_trailer: bool) -> None:
    """Restore ARCHIVE (written by volreg export) into a new registry DB, with the same ids and history.

    Give the exported registry's key with --key-file (or VOLREG_KEY, or copy its key file to DB.key first);
    another key is refused. The archive holds no key. With --key-file, the key is copied to DB.key
    (owner-only), so that later commands on DB find it as they find any registry's key.
    An archive that is cut short or was changed (its trailer's row counts and checksum do not match) is
    refused.
    """
    if Path(db).exists():
        raise click.ClickException(f"{db} exists; restore into a new file")
    obj = click.get_current_context().find_root().obj or {}
    key = obj.get("key")
    key_file = Path(db + ".key")
    if key is None and not os.environ.get("VOLREG_KEY") and not key_file.exists():
        raise click.ClickException(
            "restore needs the key of the registry that was exported: pass --key-file with that "
            f"database's .key file, set VOLREG_KEY, or copy the key file to {key_file}")
    volreg_io.import_registry(archive, into=db, key=key,
                              accept_without_trailer=accept_without_trailer).close()
    if key is not None and not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write((key if isinstance(key, bytes) else key.encode("utf-8")) + b"\n")
        click.echo(f"restored {archive} into {db}; its key is in {key_file}: keep it with the database")
    else:
        click.echo(f"restored {archive} into {db}")


@cli.command(short_help="Show every recorded change to one entity.")
@registry_argument
@click.argument("id")
@output_options
def history(db: str, id: str, output: str) -> None:
    """Every recorded change to the entity ID (person, volunteer, activity ...), oldest first.

    Personal values are masked.
    """
    with open_registry(db, readonly=True) as registry:
        changes = registry.history(id)
    if not changes:
        # A question about one thing with no answer is a mistake to report, not an empty table.
        raise click.ClickException(f"no recorded changes to {id!r}: no entity with that id in {db}")
    rows = [
        {
            "seq": c.seq,
            "at": c.at.isoformat(timespec="seconds"),
            "actor": c.actor,
            "action": c.action,
            "entity": c.entity,
            "change": _summary(c.before, c.after) if output == "table" else None,
            "before": c.before,
            "after": c.after,
            "note": c.note,
        }
        for c in changes
    ]
    columns = ["seq", "at", "actor", "action", "entity", "change", "note"] if output == "table" else \
        ["seq", "at", "actor", "action", "entity", "before", "after", "note"]
    if output in ("csv", "tsv"):
        rows = [{**r, "before": _compact(r["before"]), "after": _compact(r["after"])} for r in rows]
    emit(Result(columns, rows), output)


# -- query commands: thin wrappers over the query functions -------------------------------------------------


def _named(registry: Registry, table: str, kind: str, value: str | None) -> str | None:
    """An organisation or studio given by id or by a name only one of them has."""
    if value is None:
        return None
    rows = list(registry.session.rows(f"SELECT id FROM [{table}] WHERE id = ? OR name = ? LIMIT 2", [value, value]))
    if len(rows) == 1:
        return str(rows[0]["id"])
    if rows:
        raise click.ClickException(f"several {kind}s are called {value!r}; give the id instead")
    raise click.ClickException(f"no {kind} with id or name {value!r}")


def _top(result: Result, top: int | None) -> Result:
    return result if top is None else Result(result.columns, result[:top])


_start_option = click.option("--start", metavar="DATE", help="Only from this date or time on (inclusive).")
_end_option = click.option("--end", metavar="DATE", help="Only before this date or time (exclusive).")
_organisation_option = click.option(
    "--organisation", metavar="ID|NAME", help="Only activities organised by this organisation or any below it.")
_studio_option = click.option("--studio", metavar="ID|NAME", help="Only activities run by this studio.")
_category_option = click.option("--category", metavar="CODE|LABEL", help="Only this category (e.g. 敬老助老).")


@cli.command(short_help="Verified service hours, in total or grouped.")
@registry_argument
@click.option("--by", multiple=True, type=click.Choice(HOURS_DIMENSIONS),
              help="Group by this dimension; repeat for several (e.g. --by month --by organisation).")
@_start_option
@_end_option
@click.option("--status", multiple=True, type=click.Choice(SERVICE_STATUSES),
              help="Count records in this status (default: verified); repeatable.")
@click.option("--volunteer", metavar="ID|NUMBER", help="Only this volunteer.")
@_organisation_option
@_studio_option
@click.option("--activity", metavar="ID", help="Only this activity.")
@_category_option
@click.option("--top", type=click.IntRange(min=1), help="Only the N largest groups by minutes.")
@click.option("--as-of", metavar="TIME", help="Answer as the ledger stood at this time.")
@output_options
def hours(db: str, by: tuple[str, ...], start: str | None, end: str | None, status: tuple[str, ...],
          volunteer: str | None, organisation: str | None, studio: str | None, activity: str | None,
          category: str | None, top: int | None, as_of: str | None, output: str) -> None:
    """Service minutes and hours in DB, in total or grouped by volunteer, organisation, studio, activity,
    category, year, quarter, month or day. Only verified records count unless --status says otherwise.

    \b
    Example: volreg hours city.db --by month --by organisation --start 2024-01-01 --end 2025-01-01
    """
    with open_registry(db, readonly=True) as registry:
        emit(query_hours(
            registry, by=by, start=start, end=end, status=status or "verified", volunteer=volunteer,
            organisation=_named(registry, "organisations", "organisation", organisation),
            studio=_named(registry, "studios", "studio", studio), activity=activity, category=category,
            top=top, as_of=as_of,
        ), output)


@cli.command(short_help="Activities per studio, organisation, category or period.")
@registry_argument
@click.option("--by", multiple=True, type=click.Choice(ACTIVITY_DIMENSIONS),
              help="Group by this dimension; repeatable (e.g. --by studio --by category).")
@_start_option
@_end_option
@_studio_option
@_organisation_option
@_category_option
@click.option("--kind", type=click.Choice(ACTIVITY_KINDS), help="Only activities of this kind.")
@click.option("--theme", help="Only activities with this theme (e.g. 学雷锋纪念日).")
@output_options
def activities(db: str, by: tuple[str, ...], start: str | None, end: str | None, studio: str | None,
               organisation: str | None, category: str | None, kind: str | None, theme: str | None,
               output: str) -> None:
    """How many activities ran in DB, with their participants and verified service, grouped as asked.

    \b
    Example: volreg activities city.db --by studio --start 2024-01-01 --end 2025-01-01
    """
    with open_registry(db, readonly=True) as registry:
        emit(activity_counts(
            registry, by=by, start=start, end=end,
            studio=_named(registry, "studios", "studio", studio),
            organisation=_named(registry, "organisations", "organisation", organisation),
            category=category, kind=kind, theme=theme,
        ), output)


@cli.command("nominations", short_help="Nomination counts, or how far nominations got (--funnel).")
@registry_argument
@click.option("--by", multiple=True, type=click.Choice(NOMINATION_DIMENSIONS),
              help="Group by this dimension; repeatable (e.g. --by honour --by status).")
@click.option("--honour", metavar="CODE|NAME", help="Only this title (e.g. 中国好人).")
@click.option("--level", type=click.Choice(HONOUR_LEVELS), help="Only titles of this level.")
@click.option("--category", metavar="CODE|LABEL", help="Only this honour category (e.g. 见义勇为).")
@click.option("--status", multiple=True, type=click.Choice(NOMINATION_STATUSES),
              help="Only nominations now in this status; repeatable.")
@click.option("--year", type=int, help="Only nominations counting in this year.")
@click.option("--period", help="Only this period (e.g. 2024-Q1).")
@click.option("--edition", type=click.IntRange(min=1), help="Only this edition number (届).")
@click.option("--funnel", is_flag=True, help="Show how many reached each stage of the flow instead.")
@output_options
def nominations_command(db: str, by: tuple[str, ...], honour: str | None, level: str | None,
                        category: str | None, status: tuple[str, ...], year: int | None, period: str | None,
                        edition: int | None, funnel: bool, output: str) -> None:
    """Count nominations, distinct nominees and endorsements in DB; with --funnel, how many nominations
    reached each stage (submitted, verified, public review, expert review, publicity, awarded).

    \b
    Example: volreg nominations city.db --by honour --by category --year 2024
    """
    query = nomination_funnel if funnel else count_nominations
    with open_registry(db, readonly=True) as registry:
        emit(query(registry, by=by, honour=honour, level=level, category=category, status=status or None,
                   year=year, period=period, edition=edition), output)


@cli.command("honour-roll", short_help="Who holds which title (光荣榜).")
@registry_argument
@click.option("--honour", metavar="CODE|NAME", help="Only the roll of this title (e.g. 雄关好人).")
@click.option("--level", type=click.Choice(HONOUR_LEVELS), help="Only rolls of this level.")
@click.option("--year", type=int, help="Only honours counting in this year.")
@click.option("--edition", type=click.IntRange(min=1), help="Only this edition number (届).")
@click.option("--category", metavar="CODE|LABEL", help="Only this honour category.")
@click.option("--own-roll-only", is_flag=True,
              help="Show each honour once, not also on the lower rolls it counts on.")
@click.option("--public", is_flag=True, help="For publication: mask the names of people who have not consented.")
@output_options
def honour_roll_command(db: str, honour: str | None, level: str | None, year: int | None, edition: int | None,
                        category: str | None, own_roll_only: bool, public: bool, output: str) -> None:
    """The honourees in DB, one row per honour on each roll it appears on, highest level first.

    ID and phone numbers never appear; with --public, names without consent show as 王*明.
    """
    with open_registry(db, readonly=True) as registry:
        emit(honour_roll(registry, honour=honour, level=level, year=year, edition=edition, category=category,
                         include_counted=not own_roll_only, public=public), output)


def _thresholds(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return tuple(float(part) for part in value.replace("/", ",").split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"must be hours separated by commas, such as 100,300,600 (got {value!r})") from None


@cli.command(short_help="Star volunteers (星级志愿者): hours, stars and hours to the next star.")
@registry_argument
@click.option("--thresholds", callback=_thresholds, metavar="H1,H2,...",
              help="Hours for one, two ... stars (default: the registry's, 100,300,600,1000,1500).")
@click.option("--as-of", metavar="TIME", help="Count only what was verified at this time.")
@click.option("--top", type=click.IntRange(min=1), help="Only the first N volunteers.")
@output_options
def stars(db: str, thresholds: tuple[float, ...] | None, as_of: str | None, top: int | None, output: str) -> None:
    """Every volunteer's cumulative verified hours and star level in DB, most stars first.

    \b
    Example: volreg stars city.db --thresholds 100,200,500,800,1000 --top 10
    """
    with open_registry(db, readonly=True) as registry:
        levels = None if thresholds is None else tuple(int(h) if h.is_integer() else h for h in thresholds)
        emit(_top(star_levels(registry, thresholds=levels, as_of=as_of), top), output)


@cli.command("datasette-metadata", short_help="Write Datasette metadata for the registry's tables and views.")
@registry_argument
@click.option("-o", "--output", "target", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file (default: print).")
def datasette_metadata_command(db: str, target: str | None) -> None:
    """Write Datasette metadata for DB: titles and descriptions of the views, hours and minutes units, and
    personal columns and internal tables hidden. For a shareable copy (volreg publish): Chinese titles and
    column notes, default sorts, canned queries, and SQL switched off.

    \b
    Then: datasette DB --metadata metadata.json
    """
    from .publish.database import is_shareable_copy, shareable_metadata

    if is_shareable_copy(db):
        text = json.dumps(shareable_metadata(database=Path(db).stem), ensure_ascii=False, indent=2)
    else:
        with open_registry(db, readonly=True) as registry:
            text = json.dumps(datasette_metadata(registry, database=Path(db).stem), ensure_ascii=False, indent=2)
    if target:
        Path(target).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {target}")
    else:
        click.echo(text)


def _compact(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``phone: 138****2345 → 138****0001`` for a change; the values set for a creation."""
    if before is None and after is not None:
        return ", ".join(f"{k}={v}" for k, v in after.items() if k != "id" and v not in (None, "", [], False))
    if before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k)]
        return ", ".join(f"{k}: {before.get(k)} → {after.get(k)}" for k in keys)
    return ""


def main() -> None:
    """Run the command line (what the ``volreg`` console script calls)."""
    cli()




# -- volreg check ------------------------------------------------------------------------------------------


@cli.command("check", short_help="Check the file and the whole registry against its rules.")
@registry_argument
@click.option("--full", is_flag=True, help="Run SQLite's full integrity_check (slower) instead of quick_check.")
@output_options
def check_command(db: str, full: bool, output: str) -> None:
    """Check DB: first the file itself (PRAGMA quick_check, or integrity_check with --full), then the rules:
    late or overlapping service records, hours on activities that are not volunteer service, honours
    breaking their title's rules, reviewers with undeclared conflicts of interest, rows pointing at missing
    rows. Finishes an erasure a reader had held up. Prints one row per problem; the exit status is 1 when
    there is any.
    """
    from .checks import check

    # Writable where it can be: check() also finishes an erasure that a reader kept from completing; on a
    # read-only file or directory it only reads (and reports such an erasure).
    folder = os.path.dirname(os.path.abspath(db))
    writable = os.access(db, os.W_OK) and os.access(folder, os.W_OK)
    with open_registry(db, readonly=not writable) as registry:
        problems = check(registry, full=full)
    rows = [{"entity": p.entity, "id": p.id, "code": p.code, "message": p.message} for p in problems]
    if output == "table" and not rows:
        click.echo(f"{db}: no problems")
        return
    emit(Result(["entity", "id", "code", "message"], rows), output)
    if problems:
        raise SystemExit(1)


# -- publishing -----------------------------------------------------------------------------------------------


@cli.command("site", short_help="Generate the online hall of deeds (事迹展馆) as a static web site.")
@registry_argument
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--title", "titles", multiple=True, metavar="CODE|NAME",
              help="Only this title (repeat for several; default: every title with an honour).")
@click.option("--since", metavar="DATE|YEAR", help="Only honours awarded on or after this date (or year).")
def site_command(db: str, out_dir: str, titles: tuple[str, ...], since: str | None) -> None:
    """Write the hall of deeds for DB into OUT_DIR: a home page, a page per honoured person, family or group
    who consented to publication, pages per title, year and category, and an offline search. Others are
    only counted. OUT_DIR is replaced whole if it holds a site generated before.

    \b
    Then open OUT_DIR/index.html, or copy OUT_DIR to any web server.
    """
    from .publish.site import publish_site

    with open_registry(db) as registry:
        files = publish_site(registry, out_dir, titles=titles or None,
                             since=int(since) if since and since.isdigit() and len(since) == 4 else since)
    pages = sum(1 for f in files if f.endswith(".html"))
    click.echo(f"wrote {pages} pages ({len(files)} files) to {out_dir}")


@cli.command("publish", short_help="Write a shareable SQLite copy of the public tables, for Datasette.")
@registry_argument
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--metadata", type=click.Path(dir_okay=False, writable=True),
              help="Also write Datasette metadata for the copy to this file.")
def publish_command(db: str, out: str, metadata: str | None) -> None:
    """Write OUT: hours, activity counts, nomination counts and the honour roll as tables, consent-filtered
    and masked, with no person table, digests or journal. Serve OUT, never DB.

    \b
    Then: datasette OUT --metadata metadata.json
    """
    from .publish.database import publish_database, shareable_metadata

    with open_registry(db) as registry:
        counts = publish_database(registry, out)
    click.echo(f"wrote {out}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    if metadata:
        text = json.dumps(shareable_metadata(database=Path(out).stem), ensure_ascii=False, indent=2)
        Path(metadata).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {metadata}")


# -- volreg duplicates / volreg merge ----------------------------------------------------------------------


@cli.command("duplicates", short_help="Pairs of people who are probably one person.")
@registry_argument
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="The lowest score shown (0 to 1).")
@output_options
def duplicates_command(db: str, min_score: float, output: str) -> None:
    """Pairs of people in DB who are probably one person, most likely first, with a score and the reasons
    (same name and phone, same name and birth date, one document under two types, same or similar names in
    one organisation). Names are masked; phones, birth dates and documents are never shown.

    \b
    Then: volreg merge DB KEEP DUPLICATE --by 文明办 --reason "同名同手机号"
    """
    from .queries.duplicates import possible_duplicates

    with open_registry(db) as registry:
        emit(possible_duplicates(registry, min_score=min_score), output)


@cli.command("merge", short_help="Merge a duplicate person into the person kept.")
@registry_argument
@click.argument("keep")
@click.argument("duplicate")
@click.option("--by", required=True, help="Who merges (for the journal).")
@click.option("--reason", required=True, help="Why the two are one person (for the journal).")
def merge_command(db: str, keep: str, duplicate: str, by: str, reason: str) -> None:
    """Merge the person DUPLICATE into KEEP (person ids, or volunteer numbers): registrations, service
    records, memberships, families, honours and nominations move to KEEP; DUPLICATE still finds KEEP.
    A refused merge changes nothing and says why.
    """
    with open_registry(db) as registry:
        kept = registry.merge_people(keep, duplicate, by=by, reason=reason)
        moved = registry.history(kept.id)[-1].after or {}
    counts = ", ".join(f"{table} {len(ids)}" for table, ids in sorted((moved.get("moved") or {}).items()))
    click.echo(f"merged {duplicate} into {kept.id}: moved {counts or 'nothing'}")


# -- volreg proof (the group lives in volreg/proof/cli.py) ---------------------------------------------------

cli.add_command(proof)


if __name__ == "__main__":  # pragma: no cover
    main()
