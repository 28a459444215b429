"""Building WHERE clauses one fragment and one bound parameter at a time, for reads and queries alike."""

from __future__ import annotations

from typing import Any

__all__ = ["Filters", "SUBTREE", "PERIODS", "period_expr"]

PERIODS = ("year", "quarter", "month", "day")
"""Time dimensions every query function can group by."""


NO_STUDIO = "（无工作室）"
"""The ``studio_name`` of the group of activities that no studio ran (grouped ``by="studio"``, listed last)."""


def no_studio_name(studio: str, name: str) -> str:
    """SQL for a studio's name that labels the no-studio group :data:`NO_STUDIO` instead of leaving it blank."""
    return f"CASE WHEN {studio} IS NULL THEN '{NO_STUDIO}' ELSE {name} END"


def period_expr(dimension: str, column: str) -> str:
    """SQL for a time bucket of a local ISO 8601 text column (``2024-03-05T09:00:00+08:00``).

    ``year`` is an integer; ``quarter`` reads ``2024-Q1``; ``month`` ``2024-03``; ``day`` ``2024-03-05``.
    """
    if dimension == "year":
        return f"CAST(substr({column}, 1, 4) AS INTEGER)"
    if dimension == "quarter":
        return f"(substr({column}, 1, 4) || '-Q' || ((CAST(substr({column}, 6, 2) AS INTEGER) + 2) / 3))"
    if dimension == "month":
        return f"substr({column}, 1, 7)"
    if dimension == "day":
        return f"substr({column}, 1, 10)"
    raise ValueError(dimension)


SUBTREE = (
    "subtree(id) AS (SELECT id FROM organisations WHERE id = ? "
    "UNION SELECT o.id FROM organisations o JOIN subtree s ON o.parent = s.id)"
)
"""A recursive CTE naming every organisation under ``?`` (itself included) as ``subtree(id)``.

Kept for SQL written before the closure table ``organisation_tree``; :meth:`Filters.within` reads the closure."""


class Filters:
    """A WHERE clause built one fragment and one bound parameter at a time; values never go into SQL text."""

    def __init__(self) -> None:
        self.ctes: list[str] = []
        self.cte_params: list[Any] = []
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, fragment: str, *params: Any) -> None:
        """Add ``fragment`` (with ``?`` placeholders) to the WHERE clause."""
        self.clauses.append(fragment)
        self.params.extend(params)

    def cte(self, text: str, *params: Any) -> None:
        """Add a common table expression (``name(cols) AS (...)``) to a ``WITH RECURSIVE`` prefix."""
        self.ctes.append(text)
        self.cte_params.extend(params)

    def prefix(self) -> str:
        """The ``WITH RECURSIVE ...`` prefix, or an empty string."""
        return ("WITH RECURSIVE " + ", ".join(self.ctes) + " ") if self.ctes else ""

    def where(self) -> str:
        """The ``WHERE ...`` clause, or an empty string."""
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""

    def within(self, column: str, organisation: str) -> None:
        """Keep rows whose ``column`` names ``organisation`` or any organisation below it.

        Reads the closure of the organisation tree (``organisation_tree``, kept by triggers): one indexed
        range of the organisation's descendants, itself included.
        """
        self.add(f"{column} IN (SELECT descendant FROM organisation_tree WHERE ancestor = ?)", organisation)

    def all_params(self) -> list[Any]:
        """Parameters in the order the SQL uses them: CTEs first, then the WHERE clause."""
        return [*self.cte_params, *self.params]
