"""Proofs of service (志愿服务记录证明): issuing, the register of issued proofs, revoking, the signing key.

Rules and their sources (志愿服务记录与证明出具办法, 2020):

- 谁组织谁记录，谁记录谁证明: the organisation that ran an activity records its service and certifies it. A
  proof from an organisation counts only verified service in activities that organisation organised itself.
  Activities of the organisations below it (a city office's communities) do not count: each of them
  recorded its own activities and issues its own proofs, so no hour is certified by two bodies.
- A proof is truthful (Arts 14–17): only ``verified`` record versions count, and the versions counted are
  kept, so that when one is later corrected, voided or rejected the proof is marked ``superseded`` (a
  trigger, in the same transaction as the ledger change); it is never deleted, and a new one can be issued.
- The organisation keeps a register of what it issued: :meth:`ProofsMixin.proofs`.

Each proof is signed (Ed25519) so that a school or an employer can check it offline with the registry's public
key; see :mod:`volreg.proof`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .base import RegistryBase, actor_text, clean_text, new_id
from .errors import InvalidValue, NotFound, RuleViolation
from .model import Organisation, Person, Volunteer
from .model.proofs import PROOF_STATUSES, Proof, ProofLine
from .personal import mask_name
from .proof.keys import SigningKey, key_path, load_signing_key
from .proof.statement import signed_text
from .queries.sql import names_of
from .store import proofs as register
from .store.db import bindable
from .timeutil import to_utc_text

__all__ = ["ProofsMixin"]


def _prefix(organisation_id: str) -> str:
    """The issuer code in a proof number: the organisation id's distinctive part, upper case (``3F9C0A``)."""
    tail = re.sub(r"[^0-9A-Za-z]", "", organisation_id.rsplit("-", 1)[-1]).upper()
    return tail[:6] or "ORG"


class ProofsMixin(RegistryBase):
    """Issue, list and revoke proofs of service; the registry's proof-signing key."""

    _proof_key: SigningKey | None = None

    if TYPE_CHECKING:  # provided by the people and directory mixins of the Registry

        def volunteer(self, id: Any) -> Volunteer: ...

        def person(self, id: Any) -> Person: ...

        def organisation(self, id: Any) -> Organisation: ...

    # -- the signing key --------------------------------------------------------------------------------

    def _signing_key(self) -> SigningKey:
        if self._proof_key is None:
            path = self.session.path
            if path is None:
                key: SigningKey | None = SigningKey.generate()
            else:
                known = register.public_keys(self._store)
                key = load_signing_key(key_path(path), create=not known)
                if key is None:
                    raise RuleViolation(
                        "signing_key",
                        f"the proof-signing key file {key_path(path)} is missing, but this registry's proofs were "
                        f"signed with key {', '.join(sorted(known))}; restore the file from the backup kept with "
                        "the database, or start a new key on purpose with registry.new_proof_key(by=...)",
                    )
            assert key is not None
            self._proof_key = key
        return self._proof_key

    def proof_public_key(self) -> str:
        """The public key that checks this registry's new proofs, as PEM text (give it out freely).

        A file registry keeps its private key in ``<database>.signing.key`` (owner-only, created on first
        use, never in the database or an export); an in-memory registry makes one per registry object.

        Raises:
            MissingDependency: ``cryptography`` is not installed (``pip install 'volreg[proofs]'``).
            RuleViolation: the key file is missing although proofs were signed with it.
        """
        return self._signing_key().public_pem

    def proof_public_keys(self) -> dict[str, str]:
        """Every public key that ever signed a proof of this registry, by key id (PEM text)."""
        return register.public_keys(self._store)

    def new_proof_key(self, *, by: Any) -> str:
        """Start a new proof-signing key (after the old one was lost or may have leaked).

        The new private key replaces ``<database>.signing.key``; the old public key stays recorded, so
        proofs it signed still check against the register. Give the new public key to those who check.

        Returns:
            The new public key (PEM text).

        Raises:
            InvalidValue: ``by`` is missing.
        """
        actor = actor_text(by)
        if not actor:
            raise InvalidValue("by", "must name who starts the new key", by)
        key = SigningKey.generate()
        with self._store.write() as store:
            register.register_key(store, key.id, key.public_pem, to_utc_text(self._now()))
            self._journal("new_key", "proof_key", key.id, by=actor, after={"key_id": key.id})
            if self.session.path is not None:
                target = key_path(self.session.path)
                fd, temp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
                os.chmod(temp, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key.private_pem())
                os.replace(temp, target)
        self._proof_key = key
        return key.public_pem

    # -- issuing --------------------------------------------------------------------------------------------

    def issue_proof(self, volunteer: Any, *, organisation: Any, start: Any = None, end: Any = None, by: Any,
                    purpose: str = "") -> Proof:
        """Issue a proof of a volunteer's verified service with one organisation (志愿服务记录证明).

        Only verified service in activities ``organisation`` organised itself counts (谁组织谁记录，谁记录谁
        证明; activities of the organisations below it do not: they issue their own). The proof gets the next
        number of the organisation for the year (``3F9C0A-2024-00001``), allocated inside the write
        transaction, and is signed with the registry's key.

        Args:
            volunteer: the volunteer (object, id or public number).
            organisation: the issuing organisation (object or id).
            start: the first day counted (default: the first day of counted service).
            end: the day after the last day counted, half-open like every volreg period (default: none;
                the period printed ends on the last day of counted service).
            by: who issues it (an officer of the organisation), printed on the page.
            purpose: what the volunteer asked for it for (e.g. 升学), printed when given.

        Returns:
            The proof, with its ``statement`` and the record versions it counted.

        Raises:
            NotFound: no such volunteer or organisation.
            InvalidValue: a bad date, ``end`` not after ``start``, ``by`` missing, a bad purpose.
            RuleViolation: the organisation organised no verified service of the volunteer in the period
                (the message says which organisations did), or the volunteer is anonymised.
            MissingDependency: ``cryptography`` is not installed.
        """
        actor = actor_text(by)
        if not actor:
            raise InvalidValue("by", "must name who issues the proof", by)
        why = clean_text(purpose, "purpose", 200, line=True)
        first = None if start is None else self._day(start, "start")
        stop = None if end is None else self._day(end, "end")
        if first is not None and stop is not None and stop <= first:
            raise InvalidValue("end", "must be after 'start' (the period is half-open)", shown=f"{first} → {stop}")
        key = self._signing_key()
        with self._store.write() as store:
            who = self.volunteer(volunteer)
            org = self.organisation(organisation)
            person = self.person(who.person)
            if person.anonymised or who.status == "anonymised":
                raise RuleViolation("anonymised", f"volunteer {who.id!r} is anonymised; a proof cannot name them")
            bounds = (None if first is None else first.isoformat(), None if stop is None else stop.isoformat())
            rows = register.counted(store, who.id, org.id, *bounds)
            if not rows:
                raise self._no_basis(who, org, first, stop)
            now = self._now()
            today = now.date()
            prefix, year = _prefix(org.id), today.year
            sequence = register.next_sequence(store, prefix, year)
            last = date.fromisoformat(max(r["last"] for r in rows))
            period_end = min(stop - timedelta(days=1), today) if stop is not None else last
            proof = Proof(
                id=new_id("prf"), number=f"{prefix}-{year}-{sequence:05d}", volunteer=who.id,
                volunteer_number=who.number, name=person.name, name_masked=mask_name(person.name) or "",
                id_masked=person.id_masked, organisation=org.id, organisation_name=org.name,
                period_start=first or date.fromisoformat(min(r["first"] for r in rows)), period_end=period_end,
                lines=[ProofLine(r["category"], r["label"], int(r["minutes"]), int(r["records"])) for r in rows],
                minutes=sum(int(r["minutes"]) for r in rows), issued_on=today, issued_at=now, issued_by=actor,
                purpose=why, key_id=key.id, signature="",
            )
            proof = attrs.evolve(proof, signature=key.sign(signed_text(proof.statement_fields())))
            register.register_key(store, key.id, key.public_pem, to_utc_text(now))
            store.insert("proofs", {
                "id": proof.id, "number": proof.number, "prefix": prefix, "year": year, "sequence": sequence,
                "volunteer": who.id, "organisation": org.id, "organisation_name": org.name,
                "name_masked": proof.name_masked, "id_masked": proof.id_masked,
                "period_start": proof.period_start.isoformat(), "period_end": proof.period_end.isoformat(),
                "lines": _lines_json(proof), "minutes": proof.minutes,
                "issued_on": today.isoformat(), "issued_at": to_utc_text(now), "issued_by": actor, "purpose": why,
                "key_id": key.id, "signature": proof.signature, "status": "issued",
            })
            register.link_records(store, proof.id, who.id, org.id, *bounds)
            proof = attrs.evolve(proof, records=register.record_ids(store, proof.id))
            self._journal("issue", "proof", proof.id, by=actor, after=_journal_view(proof), note=why)
        return proof

    def _no_basis(self, who: Volunteer, org: Organisation, first: date | None, stop: date | None) -> RuleViolation:
        """The refusal of a proof with nothing to certify, saying which organisations could certify what."""
        period = "".join([f" from {first}" if first else "", f" before {stop}" if stop else ""])
        found = register.count_elsewhere(
            self._store, who.id, None if first is None else first.isoformat(), None if stop is None else stop.isoformat())
        mine = next((r for r in found if r["organisation"] == org.id), None)
        others = [f"{r['name']} ({r['organisation']}, {r['verified']} verified)" for r in found
                  if r["organisation"] != org.id and r["verified"]]
        hints = []
        if mine and mine["pending"]:
            hints.append(f"{mine['pending']} of its records of this volunteer are still pending verification")
        if others:
            hints.append("the volunteer's verified service was organised by " + ", ".join(others)
                         + ", which certifies it itself")
        return RuleViolation(
            "proof_basis",
            f"'organisation' {org.name} ({org.id}) organised no verified service of volunteer {who.number} "
            f"({who.id}){period}: a proof certifies only verified service in activities the issuing "
            f"organisation ran itself (谁组织谁记录，谁记录谁证明)" + ("; " + "; ".join(hints) if hints else ""),
            organisation=org.id, volunteer=who.id,
        )

    # -- the register -------------------------------------------------------------------------------------

    def proof(self, id: Any) -> Proof:
        """The proof with this id or printed number.

        Raises:
            NotFound: no such proof.
        """
        key = getattr(id, "id", id)
        row = None if not isinstance(key, str) or not bindable(key) else self._store.one(
            register.PROOF_SELECT + " WHERE pf.id = ? OR pf.number = ?", [key, key])
        if row is None:
            raise NotFound("proof", id)
        return Proof.from_row(row, self.zone)

    def proofs(self, *, volunteer: Any = None, organisation: Any = None, status: str | tuple[str, ...] | None = None,
               start: Any = None, end: Any = None, within: bool = False) -> Iterator[Proof]:
        """The register of issued proofs, oldest first.

        Args:
            volunteer: only this volunteer's (object, id or number).
            organisation: only those this organisation issued (with ``within``, also those of the
                organisations below it).
            status: only these statuses (``issued``, ``superseded``, ``revoked``).
            start, end: only those issued on a day in ``[start, end)``.
            within: see ``organisation``.

        Raises:
            NotFound: unknown volunteer or organisation.
            InvalidValue: an unknown status or a bad date.
        """
        if not isinstance(within, bool):
            raise InvalidValue("within", "must be True or False", within)
        statuses = names_of(status, "status")
        for name in statuses:
            if name not in PROOF_STATUSES:
                raise InvalidValue("status", f"must be one of {', '.join(PROOF_STATUSES)}", name)
        rows = list(register.proof_rows(
            self._store,
            volunteer=None if volunteer is None else self.volunteer(volunteer).id,
            organisation=None if organisation is None else self.organisation(organisation).id,
            statuses=statuses,
            start=None if start is None else self._day(start, "start").isoformat(),
            end=None if end is None else self._day(end, "end").isoformat(),
            within=within,
        ))
        return (Proof.from_row(r, self.zone) for r in rows)

    def revoke_proof(self, proof: Any, *, by: Any, reason: str) -> Proof:
        """Withdraw a proof (issued in error, or superseded and replaced); it stays in the register as ``revoked``.

        Raises:
            NotFound: no such proof.
            InvalidValue: ``by`` or ``reason`` is missing.
            RuleViolation: the proof is already revoked.
        """
        actor = actor_text(by)
        if not actor:
            raise InvalidValue("by", "must name who revokes the proof", by)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidValue("reason", "must say why, as non-empty text", reason)
        why = clean_text(reason, "reason", 2000, required=True)
        with self._store.write() as store:
            old = self.proof(proof)
            if old.status == "revoked":
                when = f" on {old.status_at:%Y-%m-%d}" if old.status_at else ""
                raise RuleViolation("revoked", f"proof {old.number} was already revoked{when}: {old.status_reason}")
            now = self._now()
            store.update("proofs", old.id, {"status": "revoked", "status_at": to_utc_text(now), "status_by": actor,
                                            "status_reason": why})
            new = attrs.evolve(old, status="revoked", status_at=now, status_by=actor, status_reason=why)
            self._journal("revoke", "proof", old.id, by=actor, before=_journal_view(old), after=_journal_view(new),
                          note=why)
        return new


def _lines_json(proof: Proof) -> str:
    return json.dumps([attrs.asdict(line) for line in proof.lines], ensure_ascii=False)


def _journal_view(proof: Proof) -> dict[str, Any]:
    """What the journal keeps of a proof: no name, no document number (the register row has the masked ones)."""
    return {
        "id": proof.id, "number": proof.number, "volunteer": proof.volunteer, "organisation": proof.organisation,
        "period_start": proof.period_start.isoformat(), "period_end": proof.period_end.isoformat(),
        "minutes": proof.minutes, "key_id": proof.key_id, "status": proof.status,
        "status_reason": proof.status_reason,
    }

