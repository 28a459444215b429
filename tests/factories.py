"""Plain factory functions shared by the tests (fixtures that use them live in conftest.py)."""

from __future__ import annotations

import itertools

from volreg.personal import _check_char

_serial = itertools.count(1)


def make_id_number(birth: str = "19900101", region: str = "620200", sequence: int | None = None) -> str:
    """A valid-format fictional resident ID number (region 620200 is Jiayuguan); a new one each call."""
    seq = next(_serial) % 1000 if sequence is None else sequence
    body = f"{region}{birth}{seq:03d}"
    return body + _check_char(body)
