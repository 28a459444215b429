"""Storage: the SQLite schema (numbered migrations) and the thin layer that reads and writes rows.

Nothing here knows a business rule; :mod:`volreg.registry` decides what may be written.
"""

from .db import Store
from .schema import MIGRATIONS, migrate

__all__ = ["MIGRATIONS", "Store", "migrate"]
