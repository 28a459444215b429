"""What the online hall of deeds (事迹展馆) may show: honours, titles and editions, filtered by consent.

Consent decides here, in SQL, before anything reaches the renderer: the name, deed, photo and links of an
honour come out of the database only when its recipient may be named (a person or family who consented to
publication and is not anonymised, or a group). Every other honour comes out as a bare row (title, category,
year) that can only be counted. No query here reads a phone, ID, birth-date or area column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from .sql import check_registry

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["HallData", "hall_data", "LEVEL_ORDER"]

LEVEL_ORDER = {"national": 0, "provincial": 1, "city": 2, "district": 3}
"""Titles are listed from the highest level down."""

# The recipient may be named: a consenting, not anonymised person with a name; a consenting family; a group.
_NAMED = (
    "CASE h.recipient_kind WHEN 'group' THEN 1 "
    "WHEN 'person' THEN (p.consent = 1 AND p.anonymised = 0 AND p.name <> '') "
    "ELSE (fam.consent = 1 AND fam.name <> '') END"
)


class HallData:
    """The hall's content: titles (with editions), categories, and honours, named ones with their details.

    Attributes:
        titles: per title with at least one honour: code, name, level, recipient, cadence, editions.
        categories: honour category code → label.
        honours: one dict per honour, oldest first; ``named`` says whether it may show a name; only named
            honours carry ``recipient``, ``name``, ``deed``, ``photo``, ``links`` and ``promoted_from``.
    """

    def __init__(self, titles: list[dict[str, Any]], categories: dict[str, str], honours: list[dict[str, Any]]):
        self.titles = titles
        self.categories = categories
        self.honours = honours


def _codes(registry: Registry, titles: Any) -> list[str] | None:
    if titles is None:
        return None
    if isinstance(titles, str) or not isinstance(titles, Iterable):
        titles = [titles]
    codes = sorted({registry.honour_title(t).code for t in titles})
    if not codes:
        raise InvalidValue("titles", "must name at least one title (or be None for all)", "[]")
    return codes


def _since(registry: Registry, since: Any) -> str | None:
    if since is None:
        return None
    if isinstance(since, int) and not isinstance(since, bool):
        since = f"{since:04d}-01-01"
    day = since if isinstance(since, date) else registry.session.day(since, "since")
    return day.isoformat()


def hall_data(registry: Registry, *, titles: Any = None, since: Any = None) -> HallData:
    """Read what the hall of deeds may publish.

    Args:
        registry: the registry.
        titles: only these titles (codes or names); None for every title with an honour.
        since: only honours awarded on or after this date (a date, ``2020-01-01`` or a year such as 2020).

    Returns:
        The :class:`HallData`.

    Raises:
        NotFound: an unknown title.
        InvalidValue: a bad ``since`` date.
    """
    check_registry(registry)
    session = registry.session
    codes = _codes(registry, titles)
    start = _since(registry, since)
    where, params = ["1"], []
    if codes is not None:
        where.append(f"h.honour IN ({', '.join('?' for _ in codes)})")
        params += codes
    if start is not None:
        where.append("h.awarded_on >= ?")
        params.append(start)
    honours = []
    for row in session.rows(
        f"SELECT h.id, h.honour, h.recipient_kind, h.category, h.period, h.year, h.grade, h.awarded_on, "
        f"e.number AS edition, e.title AS edition_title, e.ceremony_on, {_NAMED} AS named, "
        f"CASE WHEN {_NAMED} THEN coalesce(h.person, h.family, h.organisation) END AS recipient, "
        f"CASE WHEN {_NAMED} THEN coalesce(p.name, fam.name, o.name) END AS name, "
        f"CASE WHEN {_NAMED} THEN h.deed END AS deed, CASE WHEN {_NAMED} THEN h.photo END AS photo, "
        f"CASE WHEN {_NAMED} THEN h.links END AS links, "
        f"CASE WHEN {_NAMED} THEN h.promoted_from END AS promoted_from "
        "FROM honours h LEFT JOIN people p ON p.id = h.person LEFT JOIN families fam ON fam.id = h.family "
        "LEFT JOIN organisations o ON o.id = h.organisation LEFT JOIN honour_editions e ON e.id = h.edition "
        f"WHERE {' AND '.join(where)} ORDER BY h.awarded_on, h.honour, h.id",
        params,
    ):
        row["named"] = bool(row["named"])
        row["links"] = [(link["title"], link["url"]) for link in json.loads(row["links"] or "[]")]
        honours.append(row)
    used = sorted({h["honour"] for h in honours})
    title_rows = list(session.rows(
        f"SELECT code, name, level, recipient, cadence FROM honour_titles "
        f"WHERE code IN ({', '.join('?' for _ in used)})", used)) if used else []
    editions: dict[str, list[dict[str, Any]]] = {}
    for row in session.rows("SELECT honour, number, year, ceremony_on, title FROM honour_editions "
                            "ORDER BY honour, number"):
        editions.setdefault(row["honour"], []).append(row)
    for title in title_rows:
        held = {(h["edition"], h["year"]) for h in honours if h["honour"] == title["code"]}
        title["editions"] = [e for e in editions.get(title["code"], []) if (e["number"], e["year"]) in held]
        title["years"] = sorted({year for _, year in held})
    title_rows.sort(key=lambda t: (LEVEL_ORDER.get(t["level"], 9), t["code"]))
    categories = {str(r["code"]): str(r["label"]) for r in session.rows(
        "SELECT code, label FROM categories WHERE vocabulary = 'honour' ORDER BY rowid")}
    return HallData(title_rows, categories, honours)
