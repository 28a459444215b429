"""volreg: a registry of volunteers, activities, good-person studios, service hours and honour-roll nominations.

Open a registry with :func:`volreg.open`; write through :class:`volreg.Registry` methods; ask questions
with the query functions, which return a :class:`volreg.Result`.
"""

from .errors import (
    Conflict,
    Duplicate,
    ForbiddenTransition,
    InvalidValue,
    KeyMismatch,
    MissingDependency,
    NotFound,
    ReviewerConflict,
    RuleViolation,
    SchemaTooNew,
    VolregError,
)
from .model import (
    Activity,
    Assignment,
    Category,
    Change,
    ConflictOfInterest,
    Edition,
    Family,
    Honour,
    HonourTitle,
    Nomination,
    Organisation,
    Person,
    Score,
    Settings,
    Studio,
    Transition,
    Volunteer,
)
from .queries.honour_roll import honour_roll
from .queries.nominations import nomination_funnel, nominations
from .queries.result import Result
from .registry import Registry, open

__all__ = [
    "Activity",
    "Assignment",
    "Category",
    "Change",
    "Conflict",
    "ConflictOfInterest",
    "Duplicate",
    "Edition",
    "Family",
    "ForbiddenTransition",
    "Honour",
    "HonourTitle",
    "InvalidValue",
    "KeyMismatch",
    "MissingDependency",
    "Nomination",
    "NotFound",
    "Organisation",
    "Person",
    "Registry",
    "Result",
    "ReviewerConflict",
    "RuleViolation",
    "SchemaTooNew",
    "Score",
    "Settings",
    "Studio",
    "Transition",
    "VolregError",
    "Volunteer",
    "honour_roll",
    "nomination_funnel",
    "nominations",
    "open",
]
