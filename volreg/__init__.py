"""volreg: a registry of volunteers, activities, good-person studios, service hours and honour-roll nominations.

Open a registry with :func:`volreg.open`; write through :class:`volreg.Registry` methods; ask questions
with the query functions, which return a :class:`volreg.Result`.
"""

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
from .model import Activity, Category, Change, Organisation, Person, Settings, Studio, Volunteer
from .queries.result import Result
from .registry import Registry, open

__all__ = [
    "Activity",
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
    "Settings",
    "Studio",
    "Volunteer",
    "VolregError",
    "open",
    "import_file",
    "ImportReport",
    "Problem",
    "export_registry",
    "import_registry",
]
