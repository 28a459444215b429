"""The ``volreg`` command line: thin commands over the library, for staff who do not write Python.

Every command opens the registry with :func:`open_registry`, calls one library function and prints its
answer with :func:`emit` (an aligned table, or CSV/JSON with ``--csv``/``--json``). A
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

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from . import io as volreg_io
from .errors import VolregError
from .io.importer import HANDLERS, MODES
from .queries.result import Result
from .registry import Registry
from .registry import open as open_path

__all__ = ["cli", "emit", "open_registry", "output_options", "registry_argument"]

F = TypeVar("F", bound=Callable[..., Any])


class VolregGroup(click.Group):
    """A command group that turns volreg's refusals into one readable line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (VolregError, FileNotFoundError, sqlite3.DatabaseError) as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=VolregGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True),
    help="File holding the registry key (default: VOLREG_KEY, else DB.key beside the database).",
)
@click.version_option(package_name="volreg", prog_name="volreg")
@click.pass_context
def cli(ctx: click.Context, key_file: str | None) -> None:
    """volreg: a city's registry of volunteers, activities, good-person studios, service hours and honours.

    Everything lives in one SQLite file (DB). Resident ID numbers are kept only as digests keyed with the
    registry key, stored beside the database as DB.key: keep that file safe and with the database.
    """
    ctx.obj = {"key": Path(key_file).read_text().strip() if key_file else None}


# -- helpers shared by every command ---------------------------------------------------------------------

registry_argument = click.argument("db", type=click.Path(dir_okay=False))
"""The ``DB`` argument every command takes first."""


def output_options(command: F) -> F:
    """Add ``--csv`` and ``--json`` (default: an aligned table), passed to the command as ``output``."""
    command = click.option("--json", "output", flag_value="json", help="Print JSON instead of a table.")(command)
    command = click.option("--csv", "output", flag_value="csv", help="Print CSV instead of a table.")(command)
    return click.option("--table", "output", flag_value="table", default=True, hidden=True)(command)


def emit(result: Result, output: str = "table") -> None:
    """Print a result as an aligned table, CSV or JSON (cells neutralised against spreadsheet formulas)."""
    if output == "csv":
        result.to_csv(click.get_text_stream("stdout"))
    elif output == "json":
        click.echo(result.to_json())
    else:
        click.echo(str(result) if len(result) else "(no rows)")


@contextlib.contextmanager
def open_registry(db: str, *, create: bool = False) -> Iterator[Registry]:
    """Open the registry in ``db`` with the key from ``--key-file``, ``VOLREG_KEY`` or ``DB.key``.

    Raises:
        click.ClickException: there is no registry at ``db`` and ``create`` is false.
    """
    if not create and not Path(db).is_file():
        raise click.ClickException(f"no registry at {db}; create one with: volreg init {db}")
    obj = click.get_current_context().find_root().obj or {}
    registry = open_path(db, key=obj.get("key"))
    try:
        yield registry
    finally:
        registry.close()


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
    finally:
        registry.close()
    click.echo(f"{'upgraded' if existed else 'created'} registry {db} (time zone {zone})")
    if not existed and not obj.get("key") and not os.environ.get("VOLREG_KEY"):
        click.echo(f"its key is in {db}.key: back it up with the database; ID numbers cannot be matched without it")


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
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_(db: str, file: str, kind: str, mode: str, source: str | None, mappings: tuple[str, ...],
            progress: bool | None, as_json: bool) -> None:
    """Import FILE (CSV, XLSX or JSON Lines) of one kind of row into DB.

    Columns are recognised by Chinese or English headers (姓名/name, 身份证号/id_number, 开始时间/start ...).
    Importing the same file again changes nothing. Problems are listed as FILE:LINE: [COLUMN] MESSAGE with
    ID and phone numbers masked; the exit status is 1 when there is any problem.
    """
    mapping: dict[str, str | None] = {}
    for item in mappings:
        header, sep, field = item.partition("=")
        if not sep or not header.strip():
            raise click.BadParameter(f"must be HEADER=FIELD (got {item!r})", param_hint="--map")
        mapping[header.strip()] = field.strip() or None
    with open_registry(db) as registry:
        report = volreg_io.import_file(registry, file, kind=kind, mapping=mapping or None, mode=mode,
                                       source=source, progress=progress)
    if as_json:
        data = {
            "kind": report.kind, "file": report.file, "mode": report.mode, "rows": report.rows,
            "created": report.created, "updated": report.updated, "skipped": report.skipped,
            "written": report.written, "ignored_columns": list(report.ignored_columns),
            "problems": [
                {"file": p.file, "line": p.line, "column": p.column, "value": p.value, "message": p.message}
                for p in report.problems
            ],
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        click.echo(str(report))
    if report.problems:
        raise SystemExit(1)


@cli.command(short_help="Write the whole registry to a JSON Lines archive.")
@registry_argument
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
@click.option("--shareable", is_flag=True,
              help="Mask phone numbers and drop ID digests (a copy to share, not a backup).")
def export(db: str, archive: str, shareable: bool) -> None:
    """Write the whole registry in DB to ARCHIVE as JSON Lines: every table, the history included.

    The archive does not contain the key; restoring it needs the same key (DB.key).
    """
    with open_registry(db) as registry:
        count = volreg_io.export_registry(registry, archive, personal=not shareable)
    click.echo(f"wrote {count} rows to {archive}")


@cli.command(short_help="Restore an archive into a new registry.")
@click.argument("archive", type=click.Path(dir_okay=False, exists=True))
@registry_argument
def restore(archive: str, db: str) -> None:
    """Restore ARCHIVE (written by volreg export) into a new registry DB, with the same ids and history.

    Give the exported registry's key with --key-file (or VOLREG_KEY); another key is refused.
    """
    if Path(db).exists():
        raise click.ClickException(f"{db} exists; restore into a new file")
    obj = click.get_current_context().find_root().obj or {}
    volreg_io.import_registry(archive, into=db, key=obj.get("key")).close()
    click.echo(f"restored {archive} into {db}")


@cli.command(short_help="Show every recorded change to one entity.")
@registry_argument
@click.argument("id")
@output_options
def history(db: str, id: str, output: str) -> None:
    """Every recorded change to the entity ID (person, volunteer, activity ...), oldest first.

    Personal values are masked.
    """
    with open_registry(db) as registry:
        changes = registry.history(id)
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
    if output == "csv":
        rows = [{**r, "before": _compact(r["before"]), "after": _compact(r["after"])} for r in rows]
    emit(Result(columns, rows), output)


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


if __name__ == "__main__":  # pragma: no cover
    main()


# -- volreg check ------------------------------------------------------------------------------------------


@cli.command("check", short_help="Check the whole registry against its rules.")
@registry_argument
@output_options
def check_command(db: str, output: str) -> None:
    """Check DB against the rules: late or overlapping service records, hours on activities that are not
    volunteer service, honours breaking their title's rules, reviewers with undeclared conflicts of interest,
    rows pointing at missing rows. Prints one row per problem; the exit status is 1 when there is any.
    """
    from .checks import check

    with open_registry(db) as registry:
        problems = check(registry)
    rows = [{"entity": p.entity, "id": p.id, "code": p.code, "message": p.message} for p in problems]
    if output == "table" and not rows:
        click.echo(f"{db}: no problems")
        return
    emit(Result(["entity", "id", "code", "message"], rows), output)
    if problems:
        raise SystemExit(1)
