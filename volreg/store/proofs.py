"""SQL for proofs of service (tables ``proofs``, ``proof_records``, ``proof_keys``); no rules here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .db import Store
from .filters import Filters

__all__ = ["counted", "count_elsewhere", "link_records", "next_sequence", "proof_rows", "record_ids",
           "register_key", "public_keys", "PROOF_SELECT"]

PROOF_SELECT = (
    "SELECT pf.*, v.number AS volunteer_number, p.name AS name, "
    "(SELECT group_concat(record, ' ') FROM (SELECT record FROM proof_records WHERE proof = pf.id "
    "ORDER BY rowid)) AS records FROM proofs pf "
    "LEFT JOIN volunteers v ON v.id = pf.volunteer LEFT JOIN people p ON p.id = v.person"
)
"""A proof row with the volunteer's public number, current name and the counted versions (space-separated)."""


def _basis(volunteer: str, organisation: str, start: str | None, end: str | None,
           join: str = "") -> tuple[str, list[Any]]:
    # Verified versions of the volunteer's service in activities the organisation itself organised, whose
    # local start day lies in [start, end). ``r.start`` is local ISO text, so its first ten characters are the day.
    sql = (f"FROM service_records r JOIN activities a ON a.id = r.activity {join} "
           "WHERE r.volunteer = ? AND r.status = 'verified' AND a.organiser = ?")
    params: list[Any] = [volunteer, organisation]
    if start is not None:
        sql += " AND substr(r.start, 1, 10) >= ?"
        params.append(start)
    if end is not None:
        sql += " AND substr(r.start, 1, 10) < ?"
        params.append(end)
    return sql, params


def counted(store: Store, volunteer: str, organisation: str, start: str | None,
            end: str | None) -> list[dict[str, Any]]:
    """Verified minutes per category (code, label, minutes, records, first and last day), label order."""
    basis, params = _basis(volunteer, organisation, start, end,
                           "LEFT JOIN categories c ON c.code = a.category AND c.vocabulary = 'activity'")
    return list(store.rows(
        "SELECT coalesce(a.category, '') AS category, coalesce(c.label, a.category, '') AS label, "
        "sum(r.minutes) AS minutes, count(*) AS records, min(substr(r.start, 1, 10)) AS first, "
        "max(substr(r.start, 1, 10)) AS last "
        + basis + " GROUP BY coalesce(a.category, '') ORDER BY sum(r.minutes) DESC, 2", params))


def count_elsewhere(store: Store, volunteer: str, start: str | None, end: str | None) -> list[dict[str, Any]]:
    """Per organiser: the volunteer's verified and pending records in the period (for a refusal's message)."""
    sql = ("SELECT a.organiser AS organisation, o.name AS name, sum(r.status = 'verified') AS verified, "
           "sum(r.status = 'pending') AS pending FROM service_records r JOIN activities a ON a.id = r.activity "
           "LEFT JOIN organisations o ON o.id = a.organiser "
           "WHERE r.volunteer = ? AND r.status IN ('verified', 'pending')")
    params: list[Any] = [volunteer]
    if start is not None:
        sql += " AND substr(r.start, 1, 10) >= ?"
        params.append(start)
    if end is not None:
        sql += " AND substr(r.start, 1, 10) < ?"
        params.append(end)
    return list(store.rows(sql + " GROUP BY a.organiser ORDER BY verified DESC, o.name", params))


def link_records(store: Store, proof: str, volunteer: str, organisation: str, start: str | None,
                 end: str | None) -> None:
    """Record, set-based, every version the proof counted (same basis as :func:`counted`)."""
    basis, params = _basis(volunteer, organisation, start, end)
    store.execute(f"INSERT INTO proof_records (proof, record, minutes) SELECT ?, r.id, r.minutes {basis}",
                  [proof, *params])


def next_sequence(store: Store, prefix: str, year: int) -> int:
    """The next free sequence number of ``prefix`` in ``year`` (call inside the write transaction)."""
    return int(store.scalar("SELECT coalesce(max(sequence), 0) + 1 FROM proofs WHERE prefix = ? AND year = ?",
                            [prefix, year]))


def record_ids(store: Store, proof: str) -> tuple[str, ...]:
    """The record versions a proof counted."""
    return tuple(r["record"] for r in store.rows(
        "SELECT record FROM proof_records WHERE proof = ? ORDER BY rowid", [proof]))


def proof_rows(store: Store, *, volunteer: str | None = None, organisation: str | None = None,
               statuses: tuple[str, ...] = (), start: str | None = None, end: str | None = None,
               within: bool = False) -> Iterator[dict[str, Any]]:
    """Proof rows by issue time; ``start``/``end`` bound the issue day (half-open); ``within`` takes the
    organisation's whole subtree."""
    filters = Filters()
    if volunteer is not None:
        filters.add("pf.volunteer = ?", volunteer)
    if organisation is not None:
        if within:
            filters.within("pf.organisation", organisation)
        else:
            filters.add("pf.organisation = ?", organisation)
    if statuses:
        filters.add(f"pf.status IN ({', '.join('?' for _ in statuses)})", *statuses)
    if start is not None:
        filters.add("pf.issued_on >= ?", start)
    if end is not None:
        filters.add("pf.issued_on < ?", end)
    return store.rows(filters.prefix() + PROOF_SELECT + filters.where() + " ORDER BY pf.issued_at, pf.number",
                      filters.all_params())


def register_key(store: Store, key_id: str, public_pem: str, at: str) -> None:
    """Record a public signing key (once)."""
    store.execute("INSERT OR IGNORE INTO proof_keys (key_id, public_key, created_at) VALUES (?, ?, ?)",
                  [key_id, public_pem, at])


def public_keys(store: Store) -> dict[str, str]:
    """Every public key that signed proofs in this registry, by key id."""
    return {r["key_id"]: r["public_key"] for r in store.rows("SELECT key_id, public_key FROM proof_keys")}
