"""What every part of :class:`volreg.Registry` shares: the store, the home zone, ids, references, the journal.

The registry is assembled from one mixin per concern (directory, activities, service, honours); each
inherits from :class:`RegistryBase` and keeps its own rules in its own module.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

import attrs

from .errors import InvalidValue, NotFound
from .model import Category, Settings
from .personal import mask_phone
from .store import Store

if TYPE_CHECKING:
    from .session import Session

__all__ = ["RegistryBase", "new_id", "public_view", "clean_name", "clean_text", "actor_text", "items_of", "whole_number"]

PERSONAL_FIELDS = ("phone", "id_digest")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: Any, field: str, limit: int = 2000, *, required: bool = False, line: bool = False) -> str:
    """Check free text every write shares, and return it stripped.

    Text must be a ``str`` of real Unicode characters (no lone surrogates, which SQLite cannot store), at most
    ``limit`` characters, without control characters (a terminal escape or a NUL hidden in a name is never
    meant); ``line`` text (names, codes) may not hold line breaks or tabs either. None reads as empty text.

    Raises:
        InvalidValue: naming ``field``, the rule and the (shortened) value.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidValue(field, "must be text", shown=type(value).__name__)
    if len(value) > limit:
        raise InvalidValue(field, f"must be at most {limit} characters", shown=f"{len(value)} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(field, "must be valid Unicode text (no lone surrogates)", value) from None
    if (_CONTROL_LINE if line else _CONTROL).search(value):
        what = "control characters or line breaks" if line else "control characters"
        raise InvalidValue(field, f"must not contain {what}", value)
    value = value.strip()
    if required and not value:
        raise InvalidValue(field, "must not be empty", value)
    return value


def clean_name(value: Any, field: str = "name") -> str:
    """A required one-line name of at most 200 characters (see :func:`clean_text`)."""
    return clean_text(value, field, 200, required=True, line=True)


def actor_text(by: Any) -> str | None:
    """Who acts (``by=``): None, or an object's ``id``, or text, checked as one line of at most 200 characters."""
    actor = getattr(by, "id", by)
    if actor is None:
        return None
    if isinstance(actor, bool) or not isinstance(actor, (str, int)):
        raise InvalidValue("by", "must name who acts: a person, an organisation, an id or text",
                           shown=type(actor).__name__)
    return clean_text(str(actor), "by", 200, line=True) or None


def items_of(value: Any, field: str) -> list[Any]:
    """A collection argument (list, tuple, set, generator) as a list; a single text or number is refused."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidValue(field, "must be a list of values", value)
    return list(value)


def whole_number(value: Any, field: str, low: int, high: int) -> int:
    """A whole number (not a bool, not a float) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(field, f"must be a whole number from {low} to {high}", value)
    return value


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
