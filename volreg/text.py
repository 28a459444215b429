"""Values every write checks the same way: free text, names, who acts, whole numbers, new ids, journal views.

Kept apart from the registry so that the session, the registry's mixins and the importers share one
definition of each rule without importing one another.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import attrs

from .errors import InvalidValue
from .personal import holds_id_number, mask_id_runs, mask_phone

__all__ = ["hours_text", "new_id", "given_id", "ordered_id", "public_view", "clean_name", "clean_text", "clean_external_id", "actor_text",
           "items_of", "whole_number"]

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


def _clean_masked(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    """:func:`clean_text` of one line, a refused value shown with any ID number in it masked."""
    try:
        return clean_text(value, field, limit, required=required, line=True)
    except InvalidValue as error:
        shown = mask_id_runs(error.value) if isinstance(error.value, str) else type(value).__name__
        raise InvalidValue(field, error.rule, shown=shown) from None


def clean_external_id(value: Any, field: str = "external_id") -> str | None:
    """Check the id another system gave a row (at most 200 characters on one line), or None when there is none.

    The caller stores it as :func:`volreg.external_ids.stored` keeps it (an id holding an ID number as its
    keyed digest).

    Raises:
        InvalidValue: naming ``field``, the rule and the value (any ID number in it masked).
    """
    if value is None:
        return None
    return _clean_masked(value, field, 200) or None


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
    text = clean_text(str(actor), "by", 200, line=True)
    # A registry object's id is volreg's own (generated, or checked by given_id when it was created): its hex
    # may hold 15 digits in a row by chance. Only text a caller wrote is checked.
    if actor is by and holds_id_number(text):
        raise InvalidValue("by", "must not hold an ID number: who acts is stored and shown in clear",
                           shown=mask_id_runs(text))
    return text or None


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


def given_id(value: Any, prefix: str, field: str = "id") -> str:
    """The id a caller gave a new entity (one line of text, at most 100 characters), or a :func:`new_id`.

    An id is stored and shown in clear everywhere (keys, reprs, the journal, every export) and survives an
    erasure, so one that holds what may be an ID number (:func:`volreg.personal.holds_id_number`: a system
    that keys its people by 身份证号) is refused.

    Raises:
        InvalidValue: naming ``field``, the rule and the value (any ID number in it masked).
    """
    if value is None or value == "":
        return new_id(prefix)
    text = _clean_masked(value, field, 100, required=True)
    if holds_id_number(text):
        raise InvalidValue(field, "must not hold an ID number: an id is stored and shown in clear",
                           shown=mask_id_runs(text))
    return text


class _Clock:
    """The state behind :func:`ordered_id`: the last millisecond used and the counter within it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.ms = -1
        self.counter = 0

    def next(self) -> tuple[int, int]:
        with self.lock:
            ms = time.time_ns() // 1_000_000
            if ms > self.ms:
                # A random start within the millisecond, leaving room to count up: two processes (or two
                # registries later merged) meet only if they start within a few ids of each other.
                self.ms, self.counter = ms, int.from_bytes(os.urandom(5), "big")
            else:
                self.counter += 1  # the same millisecond (or the clock stepped back): keep counting up
            return self.ms, self.counter


_CLOCK = _Clock()
os.register_at_fork(after_in_child=_CLOCK.reset)  # a child must not continue the parent's sequence


def ordered_id(prefix: str) -> str:
    """A new id like :func:`new_id` whose text order is creation order: ``svc-019b2f7c3a1e4f0c2d81a9b7``.

    Twelve hex digits of the millisecond, then twelve of a counter that starts at random in each
    millisecond and counts up within it (monotonic in one process, also across threads; reset in a forked
    child). Records written in bulk then go to the end of the primary-key index instead of scattered
    pages, and ids stay unique when registries are merged (a clash needs the same millisecond and a
    counter start within a few ids out of 2**40).
    """
    ms, counter = _CLOCK.next()
    return f"{prefix}-{ms:012x}{counter:012x}"


def public_view(obj: Any) -> dict[str, Any]:
    """An object as a journal or export dict: dates as text, phone masked, ID digest dropped."""
    kind = type(obj)
    names = _FIELD_NAMES.get(kind)
    if names is None and attrs.has(kind):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in attrs.fields(kind) if f.name != "id_digest")
    items = ((name, getattr(obj, name)) for name in names) if names is not None else dict(obj).items()
    out: dict[str, Any] = {}
    for name, value in items:
        if name == "id_digest":
            continue
        if name == "phone":
            value = mask_phone(value)
        if isinstance(value, datetime):
            value = _iso(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_ISO: dict[tuple[datetime, int, int], tuple[Any, str]] = {}


def _iso(moment: datetime) -> str:
    """``moment.isoformat()``, remembered (a file's records repeat a few thousand instants).  Equal instants
    in different zones print differently, so the key holds the zone's id and the entry the zone itself."""
    key = (moment, moment.fold, id(moment.tzinfo))
    found = _ISO.get(key)
    if found is not None and found[0] is moment.tzinfo:
        return found[1]
    text = moment.isoformat()
    if len(_ISO) >= 100_000:
        _ISO.clear()
    _ISO[key] = (moment.tzinfo, text)
    return text


def hours_text(minutes: int) -> str:
    """Minutes as Chinese hours and minutes: ``750`` → ``12 小时 30 分钟``, ``45`` → ``0 小时 45 分钟``."""
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"
