"""volreg: a registry of volunteers, activities, good-person studios, service hours and honour-roll nominations.

Open a registry with :func:`volreg.open`; write through :class:`volreg.Registry` methods; ask questions
with the query functions, which return a :class:`volreg.Result`.
"""

from . import (
    _lean,  # noqa: F401  (first: sqlite-utils without pandas, see the module)
    rules,
)
from .checks import CheckProblem, check
from .errors import (
    Busy,
    Closed,
    Conflict,
    Corrupt,
    Duplicate,
    ErasureIncomplete,
    ForbiddenTransition,
    InvalidValue,
    KeyFileError,
    KeyMismatch,
    MissingDependency,
    NeedsUpgrade,
    NotARegistry,
    NotFound,
    ReadOnly,
    ReviewerConflict,
    RuleViolation,
    SchemaTooNew,
    StaleResult,
    StorageError,
    StorageFull,
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
from .model.proofs import Proof, ProofCheck, ProofLine
from .proof import verify_proof
from .publish import publish_database, publish_site
from .queries.activities import activity_counts
from .queries.duplicates import possible_duplicates
from .queries.honour_roll import honour_roll
from .queries.hours import hours
from .queries.nominations import nomination_funnel, nominations
from .queries.proofs import proof_register
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
    "Closed",
    "CheckProblem",
    "Conflict",
    "ConflictOfInterest",
    "Corrupt",
    "Duplicate",
    "Edition",
    "ErasureIncomplete",
    "Family",
    "ForbiddenTransition",
    "Honour",
    "HonourTitle",
    "ImportInterrupted",
    "ImportReport",
    "InvalidValue",
    "KeyFileError",
    "KeyMismatch",
    "MissingDependency",
    "Nomination",
    "NotARegistry",
    "NotFound",
    "Organisation",
    "Person",
    "Problem",
    "Proof",
    "ProofCheck",
    "ProofLine",
    "NeedsUpgrade",
    "ReadOnly",
    "Registry",
    "Result",
    "ReviewerConflict",
    "RuleViolation",
    "SchemaTooNew",
    "StaleResult",
    "Score",
    "ServiceRecord",
    "Settings",
    "StorageError",
    "StorageFull",
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
    "publish_database",
    "publish_site",
    "proof_register",
    "possible_duplicates",
    "rules",
    "star_levels",
    "verify_proof",
]

