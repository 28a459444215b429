"""What every ``volreg`` command shares: the ``DB`` argument and opening the registry it names."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from .errors import NeedsUpgrade
from .registry import Registry
from .registry import open as open_path

__all__ = ["open_registry", "registry_argument"]

registry_argument = click.argument("db", type=click.Path(dir_okay=False))
"""The ``DB`` argument every command takes first."""


@contextlib.contextmanager
def open_registry(db: str, *, create: bool = False, readonly: bool = False) -> Iterator[Registry]:
    """Open the registry in ``db`` with the key from ``--key-file``, ``VOLREG_KEY`` or ``DB.key``.

    Commands that only read pass ``readonly=True``: they open with SQLite's read-only mode, so they work on a
    read-only file or directory, never wait for a writer's lock, and refuse a file that is not a registry
    without changing it.

    Raises:
        click.ClickException: there is no registry at ``db`` and ``create`` is false.
    """
    if not create and not Path(db).is_file():
        raise click.ClickException(f"no registry at {db}; create one with: volreg init {db}")
    obj = click.get_current_context().find_root().obj or {}
    try:
        registry = open_path(db, key=obj.get("key"), readonly=readonly)
    except NeedsUpgrade as error:
        raise click.ClickException(f"{db} was written by an older volreg and needs an upgrade "
                                   f"({', '.join(error.pending)}); upgrade it once with: volreg init {db}") from None
    try:
        yield registry
    finally:
        registry.close()
