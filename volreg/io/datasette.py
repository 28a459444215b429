"""Datasette metadata for a registry file: the registry opens in Datasette as it is, with readable views.

The views (migration ``m006_views``) count verified service only and carry no personal columns. The metadata
gives them titles, descriptions and units (Datasette shows ``minutes`` and ``hours`` with their unit when
Pint is installed), and hides what a browsing user should not see: tables with personal columns (phone, ID digest,
masked ID, the endorsers' voter digests; Datasette hides tables, not single columns) and internal tables (import identities, migrations, settings, the
journal, which quotes masked personal values). Hidden is not secret: anyone who can run SQL against the
file can read every table, and foreign-key labels show names beside the masked views, so the registry file
is for the office's own machine only. What may be served is the copy :func:`volreg.publish_database`
(``volreg publish``) writes, described by :func:`volreg.publish.database.shareable_metadata`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["datasette_metadata", "VIEWS", "HIDDEN_TABLES", "PERSONAL_COLUMNS"]

VIEWS: dict[str, tuple[str, str]] = {
    "hours_by_volunteer": (
        "Verified hours by volunteer",
        "Verified service minutes and hours of each volunteer. Names of volunteers who have not consented to "
        "publication are masked (王*明).",
    ),
    "hours_by_month": ("Verified hours by month", "Verified service per month (the month a record starts in)."),
    "hours_by_organisation": (
        "Verified hours by organisation and year",
        "Verified service per organising body (谁组织谁记录) and year.",
    ),
    "activity_counts_by_studio": (
        "Activities by studio and year",
        "Activities run by each 好人品牌工作室 per year (an empty studio: activities of no studio), with "
        "participants and verified service.",
    ),
    "nomination_counts": (
        "Nominations by title, period, category and status",
        "How many nominations and distinct nominees, per title, period, category and current status.",
    ),
    "honour_roll_view": (
        "Honour roll",
        "Every honour on its own title's roll. Names of people and families who have not consented to "
        "publication are masked.",
    ),
}
"""View → (title, description)."""

HIDDEN_TABLES = ("import_identity", "_sqlite_migrations", "registry_meta", "journal", "journal_items", "people",
                 "endorsements")
"""Tables Datasette does not list (still reachable by SQL). ``people`` and ``endorsements`` are hidden because
they hold personal columns: Datasette cannot hide single columns, so a table with one is hidden whole and
the views show what may be shown."""

PERSONAL_COLUMNS = ("phone", "id_digest", "id_masked", "voter")
"""Columns of the base tables that are personal data; hidden wherever they occur."""

_UNITS = {"minutes": "min", "hours": "hour"}


def datasette_metadata(registry: Registry, *, database: str = "registry") -> dict[str, Any]:
    """Datasette metadata (``datasette DB --metadata metadata.json``) for a registry.

    Args:
        registry: the registry whose file is served.
        database: the database's name in Datasette: the file name without ``.db``.

    Returns:
        A JSON-ready dict: title and description, and per table or view its title, description, units,
        and ``hidden`` for internal tables and tables with personal columns (described as such).
    """
    tables: dict[str, dict[str, Any]] = {}
    store = registry.session.store
    rows = store.tuples(
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
        "ORDER BY type, name"
    )
    for name, kind in rows:
        columns = [c[1] for c in store.tuples(f"PRAGMA table_info([{name}])")]
        entry: dict[str, Any] = {}
        if name in VIEWS:
            entry["title"], entry["description"] = VIEWS[name]
        units = {c: _UNITS[c] for c in columns if c in _UNITS}
        if units:
            entry["units"] = units
        personal = [c for c in columns if c in PERSONAL_COLUMNS]
        if kind == "table" and (name in HIDDEN_TABLES or personal):
            entry["hidden"] = True
        if personal:
            entry["columns"] = {c: "personal data" for c in personal}
        if entry:
            tables[name] = entry
    return {
        "title": "volreg registry",
        "description": "Volunteers, activities, good-person studios, service hours and honours. Start with the "
                       "views: only verified service counts in them, and they hold no personal columns.",
        "databases": {database: {"tables": tables}},
    }
