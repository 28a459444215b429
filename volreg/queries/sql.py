"""Building blocks shared by the query functions: filters as SQL fragments with bound parameters."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidValue
from ..session import Session
from ..store.filters import NO_STUDIO, PERIODS, Filters, no_studio_name, period_expr
from ..timeutil import MAX_YEAR, MIN_YEAR

__all__ = [
    "Filters", "period_expr", "PERIODS", "NO_STUDIO", "no_studio_name", "check_by", "check_registry", "names_of",
    "year_of",
]

def names_of(value: Any, field: str) -> tuple[Any, ...]:
    """A name, or a list or tuple of names, as a tuple; None is no names. Anything else is refused."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    raise InvalidValue(field, "must be a name or a list of names", value)


def year_of(value: Any, field: str = "year") -> int:
    """A year filter: a whole number within the years dates may fall in."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_YEAR <= value <= MAX_YEAR:
        raise InvalidValue(field, "must be a whole year such as 2024", value)
    return value


def check_registry(registry: Any) -> None:
    """Refuse a first argument that is not a :class:`volreg.Registry` (a path, say) with a clear error."""
    # Through the session, not the Registry class: importing the registry here would be an import cycle
    # (the registry's modules use these helpers).
    if not isinstance(getattr(registry, "session", None), Session):
        raise InvalidValue("registry", "must be a volreg.Registry (open one with volreg.open(path))", registry)


def check_by(by: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Normalise a ``by=`` argument (a name or a sequence of names) and check every name is allowed."""
    names = names_of(by, "by")
    for name in names:
        if name not in allowed:
            raise InvalidValue("by", f"must name dimensions among {', '.join(allowed)}", name)
    if len(set(names)) != len(names):
        raise InvalidValue("by", "must not repeat a dimension", list(names))
    return names
