"""Proofs of service (志愿服务记录证明): what was certified, and the answer of checking one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import attrs

from ..text import hours_text
from ..timeutil import from_text

__all__ = ["PROOF_STATUSES", "PROOF_CHECK_REASONS", "Proof", "ProofLine", "ProofCheck", "hours_text"]

PROOF_STATUSES = ("issued", "superseded", "revoked")
"""A proof's statuses: ``issued`` stands; ``superseded`` when a record it counted changed after it was issued;
``revoked`` when the organisation withdrew it."""

PROOF_CHECK_REASONS = ("valid", "tampered", "unknown_key", "malformed", "revoked", "superseded", "not_in_register")
"""What :func:`volreg.verify_proof` may answer."""


@attrs.frozen
class ProofLine:
    """One activity category on a proof: its verified minutes and how many records they came from.

    Attributes:
        category: the category code ('' for activities without one).
        label: the category's label as printed (e.g. ``敬老助老``).
        minutes: verified minutes in the category.
        records: how many service records they came from.
    """

    category: str
    label: str
    minutes: int
    records: int

    @property
    def hours(self) -> float:
        """The minutes in hours, two decimals, for display only."""
        return round(self.minutes / 60, 2)


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _lines(value: Any) -> tuple[ProofLine, ...]:
    return tuple(line if isinstance(line, ProofLine) else ProofLine(**line) for line in value)


@attrs.frozen
class Proof:
    """An issued proof of service (志愿服务记录证明), as kept in the registry's register of proofs.

    Attributes:
        id: the proof's stable id.
        number: the printed number, unique in the registry: issuer code, year, sequence (``3F9C0A-2024-00001``).
        volunteer: the volunteer's id.
        volunteer_number: the public volunteer number.
        name: the volunteer's name as registered now (printed in full on the page; ``''`` once anonymised).
        name_masked: the name masked as in the signed statement (``王*明``).
        id_masked: the masked document number as stored at issue (never the number itself), or None.
        organisation: the issuing organisation's id: the organiser of every activity counted.
        organisation_name: its name at issue.
        period_start, period_end: the first and last day of the period the proof covers (inclusive).
        lines: verified minutes per activity category.
        minutes: the total verified minutes.
        issued_on: the issue date (registry time zone).
        issued_at: the issue instant.
        issued_by: who issued it.
        purpose: what the volunteer asked for it for (free text, may be empty).
        key_id: the id of the signing key.
        signature: the Ed25519 signature of the statement (base64url).
        status: one of :data:`PROOF_STATUSES`.
        status_at, status_by, status_reason: when, by whom and why it was superseded or revoked.
        records: the ids of the service record versions counted.
    """

    id: str
    number: str
    volunteer: str
    volunteer_number: str
    name: str
    name_masked: str
    id_masked: str | None
    organisation: str
    organisation_name: str
    period_start: date
    period_end: date
    lines: tuple[ProofLine, ...] = attrs.field(converter=_lines)
    minutes: int
    issued_on: date
    issued_at: datetime
    issued_by: str
    purpose: str
    key_id: str
    signature: str = attrs.field(repr=False)
    status: str = "issued"
    status_at: datetime | None = None
    status_by: str | None = None
    status_reason: str = ""
    records: tuple[str, ...] = attrs.field(default=(), converter=_ids)

    @property
    def hours(self) -> float:
        """The total in hours, two decimals, for display only (sum ``minutes``)."""
        return round(self.minutes / 60, 2)

    @property
    def hours_text(self) -> str:
        """The total as printed: ``12 小时 30 分钟``."""
        return hours_text(self.minutes)

    @property
    def standing(self) -> bool:
        """Whether the proof still stands (issued, neither superseded nor revoked)."""
        return self.status == "issued"

    @property
    def statement(self) -> str:
        """The compact signed statement (one line of text) that the QR code holds and :func:`volreg.verify_proof`
        checks: number, masked name and document number, organisation, period, total minutes, issue date,
        key id and signature."""
        from ..proof.statement import statement_text

        return statement_text(self.statement_fields(), self.signature)

    def statement_fields(self) -> dict[str, str]:
        """The signed fields of the statement, in order (see :data:`volreg.proof.statement.FIELDS`)."""
        return {
            "no": self.number,
            "name": self.name_masked,
            "id": self.id_masked or "",
            "org": self.organisation_name,
            "from": self.period_start.isoformat(),
            "to": self.period_end.isoformat(),
            "min": str(self.minutes),
            "issued": self.issued_on.isoformat(),
            "key": self.key_id,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything a system that renders its own proof needs, as JSON-ready values (no full ID or phone)."""
        return {
            "number": self.number,
            "status": self.status,
            "volunteer": self.volunteer,
            "volunteer_number": self.volunteer_number,
            "name": self.name,
            "name_masked": self.name_masked,
            "id_masked": self.id_masked,
            "organisation": self.organisation,
            "organisation_name": self.organisation_name,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "lines": [attrs.asdict(line) | {"hours": line.hours} for line in self.lines],
            "minutes": self.minutes,
            "hours": self.hours,
            "hours_text": self.hours_text,
            "issued_on": self.issued_on.isoformat(),
            "issued_at": self.issued_at.isoformat(),
            "issued_by": self.issued_by,
            "purpose": self.purpose,
            "status_at": None if self.status_at is None else self.status_at.isoformat(),
            "status_by": self.status_by,
            "status_reason": self.status_reason,
            "key_id": self.key_id,
            "statement": self.statement,
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text (Chinese kept readable); ``kwargs`` go to :func:`json.dumps`."""
        kwargs.setdefault("ensure_ascii", False)
        kwargs.setdefault("indent", 1)
        return json.dumps(self.to_dict(), **kwargs)

    def to_pdf(self, path: str | Path) -> Path:
        """Print the proof on an A4 page in Chinese: the hours table, the number, a QR code holding the signed
        statement and a place for the organisation's seal. Needs the ``proofs`` extra.

        Returns:
            The path written.

        Raises:
            MissingDependency: reportlab or segno is not installed (``pip install 'volreg[proofs]'``).
        """
        from ..proof.render import render_pdf

        return render_pdf(self, path)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Proof:
        """Build from a stored ``proofs`` row joined with the volunteer's number, current name and the
        counted record versions (``records``, space-separated)."""
        issued_at = from_text(row["issued_at"], zone)
        assert issued_at is not None
        return cls(
            id=row["id"],
            number=row["number"],
            volunteer=row["volunteer"],
            volunteer_number=row["volunteer_number"] or "",
            name=row["name"] or "",
            name_masked=row["name_masked"],
            id_masked=row["id_masked"],
            organisation=row["organisation"],
            organisation_name=row["organisation_name"],
            period_start=date.fromisoformat(row["period_start"]),
            period_end=date.fromisoformat(row["period_end"]),
            lines=[ProofLine(**line) for line in json.loads(row["lines"])],
            minutes=int(row["minutes"]),
            issued_on=date.fromisoformat(row["issued_on"]),
            issued_at=issued_at,
            issued_by=row["issued_by"],
            purpose=row["purpose"] or "",
            key_id=row["key_id"],
            signature=row["signature"],
            status=row["status"],
            status_at=from_text(row["status_at"], zone),
            status_by=row["status_by"],
            status_reason=row["status_reason"] or "",
            records=tuple((row.get("records") or "").split()),
        )


@attrs.frozen
class ProofCheck:
    """The answer of :func:`volreg.verify_proof`.

    Attributes:
        valid: True only when the signature holds (and, when a registry was given, the proof still stands).
        reason: one of :data:`PROOF_CHECK_REASONS`.
        message: one line saying what was found.
        fields: the statement's fields as read (number, masked name, organisation, period, minutes ...),
            or empty when the text is not a statement at all. Compare them with the printed page.
        signature_valid: whether the signature itself holds, whatever the register says.
    """

    valid: bool
    reason: str
    message: str
    fields: Mapping[str, str] = attrs.field(factory=dict)
    signature_valid: bool = False

    def __bool__(self) -> bool:
        return self.valid

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"
