"""Building WHERE clauses one fragment and one bound parameter at a time, for reads and queries alike."""

from __future__ import annotations

from typing import Any

__all__ = ["Filters", "SUBTREE"]

SUBTREE = (
    "subtree(id) AS (SELECT id FROM organisations WHERE id = ? "
    "UNION SELECT o.id FROM organisations o JOIN subtree s ON o.parent = s.id)"
)
"""A recursive CTE naming every organisation under ``?`` (itself included) as ``subtree(id)``."""


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
        """Keep rows whose ``column`` names ``organisation`` or any organisation below it."""
        self.cte(SUBTREE, organisation)
        self.add(f"{column} IN (SELECT id FROM subtree)")

    def all_params(self) -> list[Any]:
        """Parameters in the order the SQL uses them: CTEs first, then the WHERE clause."""
        return [*self.cte_params, *self.params]
