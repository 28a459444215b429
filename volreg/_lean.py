"""Import sqlite-utils without letting it import pandas and numpy, which volreg never hands it.

``sqlite_utils.db`` imports pandas and numpy at its own import, when they are installed, only to map their
scalar types to column types for ``Table.insert`` (volreg writes rows through its own SQL).  With pandas
installed that is most of a second of every ``import volreg`` and of every ``volreg`` command.  While
sqlite-utils is imported, the two names are marked missing; afterwards they import as usual, so
``Result.to_pandas()`` and any later ``import pandas`` are unaffected.  When pandas or numpy is already
imported (a notebook that imported pandas first), or sqlite-utils is, nothing is changed.
"""

from __future__ import annotations

import sys

_HEAVY = ("pandas", "numpy")


def _import_sqlite_utils() -> None:
    if "sqlite_utils" in sys.modules:
        return
    blocked = [name for name in _HEAVY if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "import pandas" now raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_sqlite_utils()
