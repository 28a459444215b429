"""The honour roll: who holds which title, as a published list (光荣榜) or for the office's own use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import whole_number
from ..errors import InvalidValue
from ..model import HONOUR_LEVELS
from ..personal import mask_name
from .result import Result
from .sql import Filters, check_registry, year_of

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["honour_roll", "HONOUR_ROLL_COLUMNS"]

HONOUR_ROLL_COLUMNS = (
    "honour", "honour_name", "level", "counted_from", "recipient_kind", "recipient_name", "category",
    "category_name", "period", "year", "edition", "awarded_on", "grade", "deed", "promoted_to", "id",
)
"""The columns of :func:`honour_roll`, in order."""

DEED_SUMMARY_CHARS = 60
"""How many characters of the 事迹 text the roll shows before cutting it with ``…``."""

# lists(list, source): honours of title ``source`` appear on the roll of title ``list``; every title is on its
# own roll, and through counts_as (followed transitively) on the lower rolls it counts on.
_LISTS = (
    "lists(list, source) AS (SELECT code, code FROM honour_titles "
    "UNION SELECT c.counts_as, l.source FROM lists l JOIN honour_counts_as c ON c.honour = l.list)"
)
# chain(root, id, depth): the honours a record was promoted to, following promoted_from upwards.
_CHAIN = (
    # Seeded only from honours someone was promoted from: the others have no chain, and each roll row
    # looks its chain up in this (unindexed) table, so a small table keeps the roll linear in its size.
    "chain(root, id, depth) AS (SELECT id, id, 0 FROM honours "
    "WHERE id IN (SELECT promoted_from FROM honours WHERE promoted_from IS NOT NULL) "
    "UNION ALL SELECT chain.root, up.id, chain.depth + 1 FROM chain JOIN honours up ON up.promoted_from = chain.id)"
)
_ORDER = "CASE lt.level WHEN 'national' THEN 0 WHEN 'provincial' THEN 1 WHEN 'city' THEN 2 ELSE 3 END"


def _mask_family(name: str) -> str:
    for suffix in ("家庭", "家"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return str(mask_name(name[: -len(suffix)])) + suffix
    return str(mask_name(name))


def _summary(deed: str | None) -> str:
    text = " ".join((deed or "").split())
    return text if len(text) <= DEED_SUMMARY_CHARS else text[: DEED_SUMMARY_CHARS - 1] + "…"


def honour_roll(
    registry: Registry,
    *,
    honour: Any = None,
    level: str | None = None,
    year: int | None = None,
    edition: Any = None,
    category: Any = None,
    include_counted: bool = True,
    public: bool = False,
) -> Result:
    """The honourees, one row per honour on each roll it appears on.

    A roll is a title's list.  With ``include_counted``, holders of a title that ``counts_as`` a lower one
    (中国好人 counting as 雄关好人) also appear on the lower roll in their award's year, marked by
    ``counted_from``; the link is followed transitively and only winners (not 提名奖) are counted.  Without
    filters every honour appears on its own roll and on every roll it counts on; pass
    ``include_counted=False`` to see each honour exactly once.

    ID numbers and phone numbers are never part of the roll.

    Args:
        registry: the registry.
        honour: only the roll of this title (code or name).
        level: only rolls of this level (``city`` includes national honours counted on city rolls).
        year: only honours counting in this year.
        edition: only this edition (object or id, or its number).
        category: only this honour category (code or label).
        include_counted: also show honours counted on a roll through ``counts_as``.
        public: for a published list or web page: a person (or family) that has not consented to
            publication appears with a masked name (王*明).

    Returns:
        Rows with the columns of :data:`HONOUR_ROLL_COLUMNS`, ordered by level (highest first), title, year,
        period, award date and name. ``honour``/``honour_name``/``level`` describe the roll; ``deed`` is a
        summary; ``promoted_to`` names the titles the honour led to (``甘肃好人 → 中国好人``).

    Raises:
        InvalidValue: an unknown level or category, or a bad year.
        NotFound: an unknown title or edition.
    """
    check_registry(registry)
    f = Filters()
    f.cte(_LISTS)
    f.cte(_CHAIN)
    if not include_counted:
        f.add("l.list = l.source")
    else:
        f.add("(l.list = l.source OR h.grade = 'winner')")
    if honour is not None:
        f.add("l.list = ?", registry.honour_title(honour).code)
    if level is not None:
        if level not in HONOUR_LEVELS:
            raise InvalidValue("level", f"must be one of {', '.join(HONOUR_LEVELS)}", level)
        f.add("lt.level = ?", level)
    if year is not None:
        f.add("h.year = ?", year_of(year))
    if edition is not None:
        if isinstance(edition, int) and not isinstance(edition, bool):
            f.add("e.number = ?", whole_number(edition, "edition", 1, 10_000))
        else:
            f.add("h.edition = ?", registry.edition(edition).id)
    if category is not None:
        f.add("h.category = ?", registry.session.category(category, "honour"))
    sql = (
        "SELECT h.id, lt.code AS honour, lt.name AS honour_name, lt.level, "
        "CASE WHEN l.list <> l.source THEN h.honour END AS counted_from, h.recipient_kind, "
        "coalesce(p.name, fam.name, o.name) AS recipient_name, coalesce(p.consent, fam.consent, 1) AS consent, "
        "h.category, c.label AS category_name, h.period, h.year, e.number AS edition, h.awarded_on, h.grade, "
        "h.deed, (SELECT group_concat(name, ' → ') FROM (SELECT t2.name FROM chain ch "
        "JOIN honours h2 ON h2.id = ch.id JOIN honour_titles t2 ON t2.code = h2.honour "
        "WHERE ch.root = h.id AND ch.depth > 0 ORDER BY ch.depth)) AS promoted_to "
        "FROM honours h JOIN lists l ON l.source = h.honour JOIN honour_titles lt ON lt.code = l.list "
        "LEFT JOIN people p ON p.id = h.person LEFT JOIN families fam ON fam.id = h.family "
        "LEFT JOIN organisations o ON o.id = h.organisation LEFT JOIN honour_editions e ON e.id = h.edition "
        "LEFT JOIN categories c ON c.code = h.category AND c.vocabulary = 'honour'"
        + f.where()
        + f" ORDER BY {_ORDER}, lt.code, h.year, h.period, h.awarded_on, recipient_name, h.id"
    )
    cursor = registry.session.cursor(f.prefix() + sql, f.all_params())
    at = {d[0]: i for i, d in enumerate(cursor.description)}
    picks = [at[column] for column in HONOUR_ROLL_COLUMNS]
    name_at, deed_at = HONOUR_ROLL_COLUMNS.index("recipient_name"), HONOUR_ROLL_COLUMNS.index("deed")
    consent_at, kind_at = at["consent"], at["recipient_kind"]
    rows = []
    for row in cursor:  # tuples in the roll's column order (a dict per row cost more than the query)
        out = [row[i] for i in picks]
        name = out[name_at] or ""
        if public and name and not row[consent_at]:
            name = _mask_family(name) if row[kind_at] == "family" else str(mask_name(name))
        out[name_at], out[deed_at] = name, _summary(out[deed_at])
        rows.append(tuple(out))
    return Result(HONOUR_ROLL_COLUMNS, rows)
