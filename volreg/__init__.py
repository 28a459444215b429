"""volreg: a registry of volunteers, activities, good-person studios, service hours and honour-roll nominations.

Open a registry with :func:`volreg.open`; write through :class:`volreg.Registry` methods; ask questions
with the query functions, which return a :class:`volreg.Result`.
"""

from . import rules
from .errors import (
    Conflict,
    Duplicate,
    InvalidValue,
    KeyMismatch,
    MissingDependency,
    NotFound,
    RuleViolation,
    SchemaTooNew,
    VolregError,
)
from .io import ImportReport, Problem, export_registry, import_file, import_registry
from .model import (
    Activity,
    Category,
    Change,
    Organisation,
    Person,
    ServiceRecord,
    Settings,
    Studio,
    Volunteer,
)
from .queries.activities import activity_counts
from .queries.hours import hours
from .queries.result import Result
from .queries.rewards import eligible, star_levels
from .registry import Registry, open
from .rules import AgeBand, AwardRule

__all__ = [
    "Activity",
    "AgeBand",
    "AwardRule",
    "Category",
    "Change",
    "Conflict",
    "Duplicate",
    "InvalidValue",
    "KeyMismatch",
    "MissingDependency",
    "NotFound",
    "Organisation",
    "Person",
    "Registry",
    "Result",
    "RuleViolation",
    "SchemaTooNew",
    "ServiceRecord",
    "Settings",
    "Studio",
    "Volunteer",
    "VolregError",
    "eligible",
    "hours",
    "activity_counts",
    "open",
    "rules",
    "star_levels",
    "import_file",
    "ImportReport",
    "Problem",
    "export_registry",
    "import_registry",
]
