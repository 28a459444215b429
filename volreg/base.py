"""What every part of :class:`volreg.Registry` shares: the store, the home zone, ids, references, the journal.

The registry is assembled from one mixin per concern (directory, activities, service, honours); each
inherits from :class:`RegistryBase` and keeps its own rules in its own module.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from . import external_ids
from .errors import NotFound
from .model import Category, Settings
from .store import Store
from .text import (  # noqa: F401  (re-exported: the mixins import them from here)
    PERSONAL_FIELDS,
    actor_text,
    clean_external_id,
    clean_name,
    clean_text,
    given_id,
    items_of,
    new_id,
    public_view,
    whole_number,
)

if TYPE_CHECKING:
    from .session import Session

__all__ = ["RegistryBase", "new_id", "given_id", "public_view", "clean_name", "clean_text", "clean_external_id", "actor_text",
           "items_of", "whole_number"]


class RegistryBase:
    """Shared state and helpers of the registry's mixins (not used on its own).

    Everything here delegates to :attr:`session`, the registry's :class:`volreg.session.Session`; the
    private names are kept for the mixins inside the registry package only.
    """

    session: Session
    settings: Settings

    @property
    def _store(self) -> Store:
        return self.session.store

    @property
    def zone(self) -> tzinfo:
        """The registry's home time zone."""
        return self.session.zone

    # -- time --------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.session.now()

    def _when(self, value: Any, field: str) -> datetime:
        return self.session.moment(value, field)

    def _day(self, value: Any, field: str) -> date:
        return self.session.day(value, field)

    # -- references ----------------------------------------------------------------------------------

    def _row(self, table: str, kind: str, value: Any) -> dict[str, Any]:
        """The stored row of ``table`` whose id is ``value`` (or ``value.id``).

        Raises:
            NotFound: there is no such row.
        """
        from .session import TABLES  # the session imports this module

        if TABLES.get(kind) == table:
            return self.session.get(kind, value)  # follows merged people and volunteer registrations
        key = getattr(value, "id", value)
        row = self._store.get(table, key) if isinstance(key, str) else None
        if row is None:
            raise NotFound(kind, key)
        return row

    def _ref(self, value: Any, kind: str, table: str, field: str | None = None) -> str:
        """Resolve an object or an id to an existing id of ``table``.

        Raises:
            NotFound: there is no such row.
        """
        return str(self._row(table, kind, value)["id"])

    def _external_id(self, value: Any) -> str | None:
        """An external id as stored: checked text, kept as its keyed digest when it holds an ID number."""
        text = clean_external_id(value)
        return None if text is None else external_ids.stored(self.session, text)

    def _digest(self, purpose: str, value: str) -> str:
        return self.session.digest(purpose, value)

    # -- vocabulary ---------------------------------------------------------------------------------

    def _category(self, value: Any, vocabulary: str = "activity", field: str = "category") -> str:
        """Resolve a category code or its Chinese label to the code."""
        return self.session.category(value, vocabulary, field)

    def category(self, value: str, *, vocabulary: str = "activity") -> Category:
        """Look up a category by its code or label.

        Raises:
            InvalidValue: no such category.
        """
        code = self._category(value, vocabulary)
        row = self._store.one("SELECT * FROM categories WHERE code = ? AND vocabulary = ?", [code, vocabulary])
        assert row is not None
        return Category.from_row(row)

    # -- the journal ----------------------------------------------------------------------------------

    def _journal(
        self,
        action: str,
        entity: str,
        entity_id: str,
        *,
        by: Any = None,
        before: Any = None,
        after: Any = None,
        note: str = "",
        at: datetime | None = None,
    ) -> None:
        self.session.journal(action, entity, entity_id, by=by, before=before, after=after, note=note, at=at)
