"""Query functions: read-only questions answered in SQL, each returning a :class:`volreg.Result`."""

from .result import Result

__all__ = ["Result"]
