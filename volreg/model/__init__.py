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

__all__ = [
    "ACTIVITY_KINDS",
    "ORGANISATION_KINDS",
    "VOLUNTEER_STATUSES",
    "Activity",
    "Category",
    "Change",
    "Organisation",
    "Person",
    "Settings",
    "Studio",
    "Volunteer",
]
