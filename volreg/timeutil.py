"""Reading dates and times from the forms people write them in, and storing them exactly.

Accepted: ``date``/``datetime`` objects, ``2024-03-05``, ``2024-03-05 09:00``, ISO 8601 with an offset,
``2024/3/5``, ``2024.3.5`` and ``2024年3月5日`` (optionally ``9:30`` or ``9时30分`` after it).  A naive value is
read in the registry's home time zone.  Stored datetimes are ISO 8601 text in the home zone with its offset,
so that ``substr(start, 1, 7)`` is the local month in SQL and the value round-trips to the same instant.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import tz

from .errors import InvalidValue

__all__ = [
    "get_zone",
    "parse_date",
    "parse_datetime",
    "to_text",
    "to_utc_text",
    "from_text",
    "now",
    "minutes_between",
    "MIN_YEAR",
    "MAX_YEAR",
]

MIN_YEAR = 1800
"""The earliest year a date may fall in (before any living person's birth)."""

MAX_YEAR = 9000
"""The latest year a date may fall in: near the ends of Python's calendar (years 1 and 9999) time-zone and
period arithmetic overflows, so far-off dates are refused here, once, rather than crash later. Rules such as
"not in the future" then refuse nearer dates with their own message."""

_DATE_TIME = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"\s*(?P<z>Z|[+-]\d{2}:?\d{2})?$"
)


_LONGEST = 100
"""No date or time as people write it is longer; a longer string is refused before any pattern runs."""


def get_zone(name: str) -> tzinfo:
    """Return the time zone called ``name`` (an IANA name such as ``Asia/Shanghai``).

    The standard library's ``zoneinfo`` is used when it knows the zone, else python-dateutil's ``tz.gettz``
    (which ships its own zone data, for systems without one). Both follow PEP 495 (``fold``), so answers are
    the same; ``zoneinfo`` computes offsets in C, about a hundred times faster than dateutil's tzfile, which
    matters when an import compares and converts several aware datetimes per row, millions of times.

    Raises:
        InvalidValue: the name is not a known time zone.
    """
    zone: tzinfo | None = None
    if isinstance(name, str) and name.strip():
        try:
            zone = ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            zone = tz.gettz(name)
    if zone is None:
        raise InvalidValue("timezone", "must be an IANA time zone name such as 'Asia/Shanghai'", name)
    return zone


def _normalise(text: str) -> str:
    text = text.strip()
    text = text.replace("年", "-").replace("月", "-").replace("日", " ").replace("号", " ")
    text = text.replace("时", ":").replace("点", ":").replace("分", "").replace("秒", "")
    text = re.sub(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", text)
    text = re.sub(r"(\d{1,2}):\s*$", r"\1:00", text)  # "9时" → "9:" → "9:00"
    return re.sub(r"\s+", " ", text).strip()


def parse_date(value: object, field: str = "date") -> date:
    """Read a calendar date.

    Args:
        value: a ``date`` (a ``datetime`` keeps its date), or a string in one of the accepted forms.
        field: the name used in an error message.

    Returns:
        The date.

    Raises:
        InvalidValue: the value is not a readable, real date.
    """
    if isinstance(value, datetime):
        return _in_range(value.date(), field, value)
    if isinstance(value, date):
        return _in_range(value, field, value)
    if not isinstance(value, str):
        raise InvalidValue(field, "must be a date or a date string such as '2024-03-05'", value)
    match = _DATE_TIME.match(_normalise(value)) if len(value) <= _LONGEST else None
    if not match or match["H"] is not None or match["z"]:
        raise InvalidValue(field, "must be a date such as '2024-03-05', '2024/3/5' or '2024年3月5日'", value)
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        raise InvalidValue(field, "must be a real calendar date", value) from None
    return _in_range(day, field, value)


def _in_range(day: date, field: str, value: object) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidValue(field, f"must fall in the years {MIN_YEAR} to {MAX_YEAR}", value)
    return day


def parse_datetime(value: object, zone: tzinfo, field: str = "datetime") -> datetime:
    """Read an instant; a naive value (or a bare date, taken at 00:00) is in ``zone``.

    Args:
        value: a ``datetime``, a ``date`` or a string in one of the accepted forms.
        zone: the registry's home time zone.
        field: the name used in an error message.

    Returns:
        A timezone-aware datetime in ``zone``.

    Raises:
        InvalidValue: the value cannot be read, or names a time that does not exist in ``zone``.
    """
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        match = _DATE_TIME.match(_normalise(value)) if len(value) <= _LONGEST else None
        if not match:
            raise InvalidValue(
                field, "must be a date and time such as '2024-03-05 09:00' or '2024年3月5日 9:00'", value
            )
        try:
            result = datetime(
                int(match["y"]),
                int(match["m"]),
                int(match["d"]),
                int(match["H"] or 0),
                int(match["M"] or 0),
                int(match["S"] or 0),
                int((match["f"] or "0").ljust(6, "0")),
            )
        except ValueError:
            raise InvalidValue(field, "must be a real date and time", value) from None
        if match["z"]:
            result = result.replace(tzinfo=_offset(match["z"]))
    else:
        raise InvalidValue(field, "must be a datetime or a string such as '2024-03-05 09:00'", value)
    _in_range(result.date(), field, value)
    if result.tzinfo is None or result.tzinfo.utcoffset(result) is None:
        result = result.replace(tzinfo=zone)
        if not tz.datetime_exists(result):
            raise InvalidValue(field, "must be a time that exists in the registry's time zone", value)
    return result.astimezone(zone)


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


_UTC_TEXTS: dict[tuple[datetime, int], str] = {}
_ZONE_TEXTS: dict[tuple[datetime, int, int], tuple[tzinfo, str]] = {}
_TEXTS_LIMIT = 100_000
"""Texts of instants already formatted (formatting one costs about 10 µs; a file of a million records
repeats a few thousand start and end times): bounded, cleared when full.  Equal aware datetimes are the same
instant, except two of one zone that differ only in ``fold``, so fold is part of every key."""


def to_text(moment: datetime, zone: tzinfo) -> str:
    """Store an aware datetime as ISO 8601 text in the home zone, with its offset."""
    # Some time zones cannot be hashed: the key holds the zone's id, and the entry the zone itself, so that
    # the id cannot be reused while the entry exists.
    key = (moment, moment.fold, id(zone))
    found = _ZONE_TEXTS.get(key)
    if found is not None and found[0] is zone:
        return found[1]
    text = moment.astimezone(zone).isoformat()
    if len(_ZONE_TEXTS) >= _TEXTS_LIMIT:
        _ZONE_TEXTS.clear()
    _ZONE_TEXTS[key] = (zone, text)
    return text


def to_utc_text(moment: datetime) -> str:
    """Store an aware datetime as fixed-width UTC text, so that text order is time order."""
    key = (moment, moment.fold)
    text = _UTC_TEXTS.get(key)
    if text is None:
        # isoformat is several times faster than strftime and gives the same fixed-width text.
        text = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
        if len(_UTC_TEXTS) >= _TEXTS_LIMIT:
            _UTC_TEXTS.clear()
        _UTC_TEXTS[key] = text
    return text


def from_text(text: str | None, zone: tzinfo) -> datetime | None:
    """Read back a datetime stored by :func:`to_text` or :func:`to_utc_text`, in ``zone``."""
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone)


def now(zone: tzinfo) -> datetime:
    """The current instant in ``zone``."""
    return datetime.now(timezone.utc).astimezone(zone)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes of real elapsed time from ``start`` to ``end`` (aware datetimes, so DST is right)."""
    seconds = (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds()
    return int(seconds // 60)
