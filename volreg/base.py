"""What every part of :class:`volreg.Registry` shares: the store, the home zone, ids, references, the journal.

The registry is assembled from one mixin per concern (directory, activities, service, honours); each
inherits from :class:`RegistryBase` and keeps its own rules in its own module.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import attrs

from .errors import InvalidValue, NotFound
from .model import Category, Settings
from .personal import digest, mask_phone
from .store import Store
from .timeutil import now, parse_date, parse_datetime, to_utc_text

__all__ = ["RegistryBase", "new_id", "public_view"]

PERSONAL_FIELDS = ("phone", "id_digest")


def new_id(prefix: str) -> str:
    """A new stable id that stays unique when registries are merged: ``per-3f9c0a1b2c4d5e6f``."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def public_view(obj: Any) -> dict[str, Any]:
    """An object as a journal or export dict: dates as text, phone masked, ID digest dropped."""
    data = attrs.asdict(obj, recurse=False) if attrs.has(type(obj)) else dict(obj)
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "id_digest":
            continue
        if name == "phone":
            value = mask_phone(value)
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


class RegistryBase:
    """Shared state and helpers of the registry's mixins (not used on its own)."""

    _store: Store
    _key: bytes
    _key_source: str
    settings: Settings
    zone: tzinfo

    # -- time --------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return now(self.zone)

    def _when(self, value: Any, field: str) -> datetime:
        return parse_datetime(value, self.zone, field)

    def _day(self, value: Any, field: str) -> date:
        return parse_date(value, field)

    # -- references ----------------------------------------------------------------------------------

    def _ref(self, value: Any, kind: str, table: str, field: str | None = None) -> str:
        """Resolve an object or an id to an existing id of ``table``.

        Raises:
            NotFound: there is no such row.
        """
        key = getattr(value, "id", value)
        if not isinstance(key, str) or self._store.get(table, key) is None:
            raise NotFound(kind, key)
        return key

    def _digest(self, purpose: str, value: str) -> str:
        return digest(self._key, purpose, value)

    # -- vocabulary ---------------------------------------------------------------------------------

    def _category(self, value: Any, vocabulary: str = "activity", field: str = "category") -> str:
        """Resolve a category code or its Chinese label to the code."""
        code = getattr(value, "code", value)
        if isinstance(code, str):
            row = self._store.one(
                "SELECT code FROM categories WHERE vocabulary = ? AND (code = ? OR label = ?)",
                [vocabulary, code.strip(), code.strip()],
            )
            if row:
                return str(row["code"])
        raise InvalidValue(field, f"must be a category of the registry's {vocabulary} vocabulary", value)

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
        actor = getattr(by, "id", by)
        self._store.journal(
            at=to_utc_text(at or self._now()),
            actor=None if actor is None else str(actor),
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=None if before is None else _as_view(before),
            after=None if after is None else _as_view(after),
            note=note,
        )


def _as_view(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return public_view(dict(value))
    return public_view(value)
