"""Plain factory functions shared by the tests (fixtures that use them live in conftest.py)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

from volreg.personal import _check_char

_serial = itertools.count(1)


def make_id_number(birth: str = "19900101", region: str = "620200", sequence: int | None = None) -> str:
    """A valid-format fictional resident ID number (region 620200 is Jiayuguan); a new one each call."""
    seq = next(_serial) % 1000 if sequence is None else sequence
    body = f"{region}{birth}{seq:03d}"
    return body + _check_char(body)


@contextlib.contextmanager
def traced(registry: Any) -> Iterator[list[str]]:
    """The SQL statements run on the registry's connection inside the block, with their bound values written in."""
    statements: list[str] = []
    registry.db.conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        registry.db.conn.set_trace_callback(None)


def plan_of(registry: Any, statement: str) -> list[str]:
    """The steps of SQLite's plan for ``statement`` (``EXPLAIN QUERY PLAN``), e.g. ``SEARCH people USING ...``."""
    return [row[-1] for row in registry.db.execute("EXPLAIN QUERY PLAN " + statement).fetchall()]
