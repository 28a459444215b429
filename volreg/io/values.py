"""Cell values as people type them, and references between rows, for the import handlers.

Each function takes a cell (text from CSV; text, numbers or dates from XLSX and JSON) and either returns a
checked value or raises :class:`volreg.InvalidValue` naming the field, so that the importer can point at the
column. References accept, in this order, a volreg id, an external id imported earlier from the same source,
and (for organisations and studios) a name that only one entity has.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from ..personal import (
    Document,
    IdNumber,
    document_purpose,
    id_type_of,
    mask_id_text,
    parse_document,
    parse_id_number,
)

if TYPE_CHECKING:
    from .importer import ImportContext

__all__ = [
    "text",
    "flag",
    "gender",
    "items",
    "choice",
    "day",
    "is_date_only",
    "moment",
    "minutes_from_hours",
    "id_number",
    "document",
    "document_digest",
    "organisation_ref",
    "studio_ref",
    "activity_ref",
    "volunteer_ref",
]

_TRUE = {"1", "true", "yes", "y", "是", "有", "同意", "已同意", "√", "✓"}
_FALSE = {"0", "false", "no", "n", "否", "无", "不同意", "未同意", "×", "✗"}
_TIME_ONLY = re.compile(r"^\d{1,2}(?::\d{2}(?::\d{2})?|[时点](?:\d{1,2}分?)?)$")


def text(value: Any, field: str, limit: int = 2000) -> str:
    """A cell as stripped text of at most ``limit`` characters."""
    result = str(value).strip()
    if len(result) > limit:
        raise InvalidValue(field, f"must be at most {limit} characters", result)
    return result


def flag(value: Any, field: str) -> bool:
    """是/否, yes/no, true/false, 1/0, √/× as a bool."""
    if isinstance(value, bool):
        return value
    key = str(value).strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise InvalidValue(field, "must be 是 or 否 (yes or no)", value)


def gender(value: Any, field: str = "gender") -> str:
    """男/女 or male/female as ``male``/``female``."""
    key = str(value).strip().casefold()
    if key in ("男", "male", "m", "男性"):
        return "male"
    if key in ("女", "female", "f", "女性"):
        return "female"
    raise InvalidValue(field, "must be 男 or 女 (male or female)", value)


def items(value: Any) -> list[str]:
    """A list cell: a JSON list, or text separated by 、 , ， ; ； or /."""
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in re.split(r"[、,，;；/]", str(value)) if part.strip()]


def choice(value: Any, field: str, labels: dict[str, str], allowed: tuple[str, ...]) -> str:
    """A code from ``allowed``, given as the code itself or one of its Chinese ``labels``."""
    key = str(value).strip()
    if key in allowed:
        return key
    if key in labels:
        return labels[key]
    shown = ", ".join([*allowed, *labels])
    raise InvalidValue(field, f"must be one of {shown}", value)


_MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
    ("nov", "november"), ("dec", "december")), 1) for name in names}
_CLOCK = r"(?:[ T,]+(?P<H>\d{1,2})(?::(?P<M>\d{2})(?::(?P<S>\d{2}))?)?\s*(?P<ap>[ap]\.?m\.?)?)?"
_MONTH_FIRST = re.compile(r"^(?P<mon>[a-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _CLOCK + "$", re.I)
_DAY_FIRST = re.compile(r"^(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s\-]+(?P<mon>[a-z]{3,9})\.?,?[\s\-]+(?P<y>\d{4})" + _CLOCK + "$", re.I)
_NUMERIC = re.compile(r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4})" + _CLOCK + "$", re.I)


def _read(ctx: ImportContext, value: Any, field: str) -> tuple[datetime, bool] | None:
    """A cell read by the import's own forms: ``date_format`` patterns, English month names
    (``Aug 17, 2026``, ``17 August 2026 9:30 AM``) and, with ``dayfirst``, ``22/08/2026``.

    Returns:
        ``(naive datetime, whether the cell gave a clock time)``, or None when no such form matches (the
        registry's own forms are tried next).

    Raises:
        InvalidValue: an impossible date, or ``22/08/2026`` without ``dayfirst`` or a pattern (ambiguous).
    """
    if not isinstance(value, str) or len(value) > 100:
        return None
    text = value.strip()
    for pattern in ctx.date_formats:
        try:
            parsed = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed, any(code in pattern for code in ("%H", "%I", "%M", "%X", "%c"))
    match = _MONTH_FIRST.match(text) or _DAY_FIRST.match(text)
    if match and match["mon"].casefold() in _MONTHS:
        month, number = _MONTHS[match["mon"].casefold()], int(match["d"])
    elif match := _NUMERIC.match(text):
        if not ctx.dayfirst:
            raise InvalidValue(field, "is ambiguous (day/month or month/day?): import with dayfirst=True "
                                      "(--dayfirst) or a date_format such as '%m/%d/%Y'", value)
        number, month = int(match["a"]), int(match["b"])
    else:
        return None
    hour, minute, second = int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0)
    if match["ap"]:
        if not 1 <= hour <= 12:
            raise InvalidValue(field, "must have an hour from 1 to 12 with AM or PM", value)
        hour = hour % 12 + (12 if match["ap"].casefold().startswith("p") else 0)
    try:
        return datetime(int(match["y"]), month, number, hour, minute, second), match["H"] is not None
    except ValueError:
        raise InvalidValue(field, "must be a real date and time", value) from None


def day(ctx: ImportContext, value: Any, field: str) -> date:
    """A date in any of volreg's forms (``2024-03-05``, ``2024/3/5``, ``2024年3月5日``), an Excel date, or the
    import's own forms (``date_format``, ``Aug 17, 2026``, ``22/08/2026`` with ``dayfirst``)."""
    read = _read(ctx, value, field)
    if read is not None:
        return ctx.registry.session.day(read[0].date(), field)
    return ctx.registry.session.day(value, field)


def is_date_only(ctx: ImportContext, value: Any, field: str) -> bool:
    """Whether a time cell gives a date with no clock time (``2011-02-01``, an Excel date at midnight)."""
    if isinstance(value, datetime):
        return False
    if isinstance(value, date):
        return True
    read = _read(ctx, value, field)
    if read is not None:
        return not read[1]
    if not isinstance(value, str):
        return False
    try:
        ctx.registry.session.day(value, field)
    except InvalidValue:
        return False
    return True


def moment(ctx: ImportContext, value: Any, field: str, on: date | None = None) -> datetime:
    """An instant in the registry's zone; a bare time (``9:00``, ``9时30分``) is taken on the date ``on``."""
    read = _read(ctx, value, field)
    if read is not None:
        return ctx.registry.session.moment(read[0], field)
    if isinstance(value, time):
        if on is None:
            raise InvalidValue(field, "must include a date, or the row must have a date column (日期)", str(value))
        value = datetime.combine(on, value)
    elif isinstance(value, str) and _TIME_ONLY.match(value.strip()):
        if on is None:
            raise InvalidValue(field, "must include a date, or the row must have a date column (日期)", value)
        value = f"{on.isoformat()} {value.strip()}"
    return ctx.registry.session.moment(value, field)


def minutes_from_hours(value: Any, field: str = "hours") -> int:
    """Hours written as a decimal (``2.5``, ``1.25``, ``3小时``) as exact whole minutes (150, 75, 180).

    Raises:
        InvalidValue: not a number, not positive, or not a whole number of minutes (``0.01`` h is 0.6 min).
    """
    raw = str(value).strip()
    cleaned = re.sub(r"\s*(小时|h|hours?)$", "", raw, flags=re.IGNORECASE)
    try:
        hours = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidValue(field, "must be a number of hours such as 2.5", raw) from None
    if not hours.is_finite() or hours <= 0:
        raise InvalidValue(field, "must be a positive number of hours", raw)
    minutes = hours * 60
    if minutes != minutes.to_integral_value():
        raise InvalidValue(field, f"must be a whole number of minutes ({raw} h is {minutes.normalize()} min)", raw)
    return int(minutes)


def id_number(ctx: ImportContext, value: Any, field: str = "id_number") -> IdNumber:
    """A validated resident ID number (the message masks it)."""
    return parse_id_number(str(value), today=ctx.registry.session.now().date(), field=field)


def document(ctx: ImportContext, values: Any) -> Document | None:
    """The identity document a row gives (证件类型, 证件号码/身份证号, 签发国), or None for no document.

    Without a type column (or with an empty type cell) a number is a resident ID number, so the usual
    身份证号 column keeps its meaning; a type of ``none`` (无) with a number is a problem.
    """
    kind = "resident" if values.get("id_type") is None else id_type_of(values["id_type"])
    number = values.get("id_number")
    if kind == "none" or number is None:
        if number is not None:
            raise InvalidValue("id_number", "must be empty when the document type is none (无)",
                               shown=mask_id_text(str(number)))
        if values.get("id_type") is not None and kind != "none":
            raise InvalidValue("id_number", f"must be given for document type {kind!r}", None)
        return None
    country = None if values.get("id_country") is None else str(values["id_country"])
    if country is not None and kind != "passport":
        raise InvalidValue("id_country", f"is only for passports (the document type is {kind!r})", country)
    return parse_document(kind, str(number), country=country, today=ctx.registry.session.now().date())


def document_digest(ctx: ImportContext, doc: Document) -> str:
    """The keyed digest a person with this document is found by."""
    return ctx.registry.session.digest(document_purpose(doc.id_type, doc.country), doc.number)


def _by_name(ctx: ImportContext, table: str, kind: str, value: str, field: str) -> str:
    rows = list(ctx.registry.session.rows(f"SELECT id FROM [{table}] WHERE name = ? LIMIT 2", [value]))
    if len(rows) == 1:
        return str(rows[0]["id"])
    if rows:
        raise InvalidValue(field, f"must name one {kind}, but several have this name; use its id", value)
    raise InvalidValue(field, f"must be the id, external id or name of an existing {kind}", value)


def organisation_ref(ctx: ImportContext, value: Any, field: str, *, reuse: bool = False) -> str:
    """An organisation named by id, by external id (an ``organisations`` import from this source) or by name.

    With ``reuse``, what a text was found to name is remembered for the rest of the file (a roster names a
    few organisations thousands of times, and each look-up by name is three reads); only for files that do
    not themselves add or rename organisations.
    """
    key = str(value).strip()
    known = ctx.cache.setdefault("organisation_refs", {}) if reuse else None
    if known is not None and key in known:
        return str(known[key])
    found = key if ctx.registry.session.store.get("organisations", key) else (
        ctx.external("organisations", key) or _by_name(ctx, "organisations", "organisation", key, field))
    if known is not None and len(known) < 10_000:
        known[key] = found
    return found


def studio_ref(ctx: ImportContext, value: Any, field: str = "studio") -> str:
    """A studio named by id or by name."""
    key = str(value).strip()
    if ctx.registry.session.store.get("studios", key):
        return key
    return _by_name(ctx, "studios", "studio", key, field)


def activity_ref(ctx: ImportContext, value: Any, field: str = "activity") -> str:
    """An activity named by id or by external id (an ``activities`` import from this source)."""
    key = str(value).strip()
    if ctx.registry.session.store.get("activities", key):
        return key
    found = ctx.external("activities", key)
    if found:
        return found
    raise InvalidValue(field, "must be the id or external id of an existing activity", value)


def volunteer_ref(ctx: ImportContext, *, number: Any = None, id_text: Any = None, field: str = "volunteer_number") -> str:
    """A volunteer named by volunteer id or number (志愿者编号), or else by resident ID number (身份证号).

    Raises:
        InvalidValue: neither given, a wrong ID number, or no such volunteer (the ID number masked).
    """
    store = ctx.registry.session.store
    if number is not None:
        key = str(number).strip()
        # A merged registration's id or number still names the volunteer it was merged into.
        row = store.one("SELECT id FROM volunteers WHERE id = ?1 OR number = ?1 UNION ALL "
                        "SELECT volunteer FROM volunteer_aliases WHERE id = ?1 OR number = ?1 LIMIT 1", [key])
        if row:
            return str(row["id"])
        found = ctx.external("volunteers", key)
        if found:
            return found
        if id_text is None:
            raise InvalidValue(field, "must be the number of a registered volunteer", key)
    if id_text is None:
        raise InvalidValue(field, "or 'id_number' must name the volunteer", None)
    parsed = id_number(ctx, id_text)
    row = store.one(
        "SELECT v.id FROM people p JOIN volunteers v ON v.person = coalesce(p.merged_into, p.id) WHERE p.id_digest = ?",
        [ctx.registry.session.digest("id_number", parsed.number)],
    )
    if row is None:
        raise InvalidValue("id_number", "must belong to a registered volunteer", shown=mask_id_text(parsed.number))
    return str(row["id"])
