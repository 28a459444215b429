"""volreg's data model: frozen attrs classes, without SQL.

Objects are changed only through :class:`volreg.Registry` methods, which return new objects
(built with ``attrs.evolve``); rows from storage become objects through ``from_row`` constructors.
"""

from .core import (
    ACTIVITY_KINDS,
    ORGANISATION_KINDS,
    VOLUNTEER_STATUSES,
    Activity,
    Category,
    Change,
    Organisation,
    Person,
    Settings,
    Studio,
    Volunteer,
)
from .service import LIVE_STATUSES, SERVICE_SOURCES, SERVICE_STATUSES, ServiceRecord

__all__ = [
    "ACTIVITY_KINDS",
    "LIVE_STATUSES",
    "ORGANISATION_KINDS",
    "SERVICE_SOURCES",
    "SERVICE_STATUSES",
    "VOLUNTEER_STATUSES",
    "Activity",
    "Category",
    "Change",
    "Organisation",
    "Person",
    "ServiceRecord",
    "Settings",
    "Studio",
    "Volunteer",
]
