"""volreg: a registry of volunteers, activities, good-person studios, service hours and honour-roll nominations.

Open a registry with :func:`volreg.open`; write through :class:`volreg.Registry` methods; ask questions
with the query functions, which return a :class:`volreg.Result`.
"""

from . import rules
from .checks import CheckProblem, check
from .errors import (
    Busy,
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
from .io import ImportInterrupted, ImportReport, Problem, export_registry, import_file, import_registry
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
    ServiceRecord,
    Settings,
    Studio,
    Transition,
    Volunteer,
)
from .queries.activities import activity_counts
from .queries.honour_roll import honour_roll
from .queries.hours import hours
from .queries.nominations import nomination_funnel, nominations
from .queries.result import Result
from .queries.rewards import eligible, star_levels
from .registry import Registry, open
from .rules import AgeBand, AwardRule

__all__ = [
    "Activity",
    "AgeBand",
    "Assignment",
    "AwardRule",
    "Busy",
    "Category",
    "Change",
    "CheckProblem",
    "Conflict",
    "ConflictOfInterest",
    "Duplicate",
    "Edition",
    "Family",
    "ForbiddenTransition",
    "Honour",
    "HonourTitle",
    "ImportInterrupted",
    "ImportReport",
    "InvalidValue",
    "KeyMismatch",
    "MissingDependency",
    "Nomination",
    "NotFound",
    "Organisation",
    "Person",
    "Problem",
    "Registry",
    "Result",
    "ReviewerConflict",
    "RuleViolation",
    "SchemaTooNew",
    "Score",
    "ServiceRecord",
    "Settings",
    "Studio",
    "Transition",
    "VolregError",
    "Volunteer",
    "activity_counts",
    "check",
    "eligible",
    "export_registry",
    "honour_roll",
    "hours",
    "import_file",
    "import_registry",
    "nomination_funnel",
    "nominations",
    "open",
    "rules",
    "star_levels",
]

