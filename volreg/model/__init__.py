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
from .honours import (
    CADENCES,
    CONFLICT_KINDS,
    FINAL_STATUSES,
    HONOUR_LEVELS,
    NOMINATION_STAGES,
    NOMINATION_STATUSES,
    NOMINATOR_KINDS,
    RECIPIENT_KINDS,
    Assignment,
    ConflictOfInterest,
    Edition,
    Family,
    Honour,
    HonourTitle,
    Nomination,
    Score,
    Transition,
)
from .service import LIVE_STATUSES, SERVICE_SOURCES, SERVICE_STATUSES, ServiceRecord

__all__ = [
    "ACTIVITY_KINDS",
    "CADENCES",
    "CONFLICT_KINDS",
    "FINAL_STATUSES",
    "HONOUR_LEVELS",
    "LIVE_STATUSES",
    "NOMINATION_STAGES",
    "NOMINATION_STATUSES",
    "NOMINATOR_KINDS",
    "ORGANISATION_KINDS",
    "RECIPIENT_KINDS",
    "SERVICE_SOURCES",
    "SERVICE_STATUSES",
    "VOLUNTEER_STATUSES",
    "Activity",
    "Assignment",
    "Category",
    "Change",
    "ConflictOfInterest",
    "Edition",
    "Family",
    "Honour",
    "HonourTitle",
    "Nomination",
    "Organisation",
    "Person",
    "Score",
    "ServiceRecord",
    "Settings",
    "Studio",
    "Transition",
    "Volunteer",
]
