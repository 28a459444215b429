"""Model objects as stored rows: the one place that knows how an object's fields become columns.

The registry's writes and the importer both build rows here, so a column added to a table is added once.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ..model import Activity
from ..timeutil import to_text, to_utc_text

__all__ = ["activity_row"]


def activity_row(activity: Activity, zone: tzinfo) -> dict[str, Any]:
    """The ``activities`` row of an activity: local times in the registry's home ``zone`` and UTC beside them."""
    assert activity.start is not None and activity.end is not None
    return {
        "id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "category": activity.category,
        "theme": activity.theme,
        "organiser": activity.organiser,
        "studio": activity.studio,
        "start": to_text(activity.start, zone),
        "end": to_text(activity.end, zone),
        "start_utc": to_utc_text(activity.start),
        "end_utc": to_utc_text(activity.end),
        "location": activity.location,
        "content": activity.content,
        "leader": activity.leader,
        "series": activity.series,
        "occurrence": activity.occurrence,
    }
