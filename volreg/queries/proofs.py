"""``proof_register()``: the register of issued proofs of service as a :class:`Result`, for listing and export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .result import Result
from .sql import check_registry

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["proof_register", "REGISTER_COLUMNS"]

REGISTER_COLUMNS = (
    "number", "status", "issued_on", "issued_by", "volunteer_number", "volunteer_name", "organisation_name",
    "period_start", "period_end", "minutes", "hours", "purpose", "status_reason",
)
"""The register's columns. The name is masked as in the signed statement; no document number at all."""


def proof_register(registry: Registry, *, volunteer: Any = None, organisation: Any = None,
                   status: str | tuple[str, ...] | None = None, start: Any = None, end: Any = None,
                   within: bool = False) -> Result:
    """The register of proofs a registry issued (登记), oldest first, one row per proof.

    Args:
        registry: the registry.
        volunteer, organisation, status, start, end, within: as for :meth:`volreg.Registry.proofs`
            (``start``/``end`` bound the issue day, half-open).

    Returns:
        A :class:`volreg.Result` with :data:`REGISTER_COLUMNS`; ``hours`` has two decimals, ``minutes`` is exact.

    Raises:
        NotFound, InvalidValue: as for :meth:`volreg.Registry.proofs`.
    """
    check_registry(registry)
    rows = [
        {
            "number": p.number, "status": p.status, "issued_on": p.issued_on.isoformat(), "issued_by": p.issued_by,
            "volunteer_number": p.volunteer_number, "volunteer_name": p.name_masked,
            "organisation_name": p.organisation_name, "period_start": p.period_start.isoformat(),
            "period_end": p.period_end.isoformat(), "minutes": p.minutes, "hours": p.hours, "purpose": p.purpose,
            "status_reason": p.status_reason,
        }
        for p in registry.proofs(volunteer=volunteer, organisation=organisation, status=status, start=start,
                                 end=end, within=within)
    ]
    return Result(REGISTER_COLUMNS, rows)
