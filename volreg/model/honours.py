"""The honour roll's entities: titles, editions, families, awards, nominations and their review.

Titles are data: a city defines its own (雄关好人, 新时代嘉峪关好少年) beside the national ones volreg ships.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import attrs

from ..timeutil import from_text

__all__ = [
    "CADENCES",
    "CONFLICT_KINDS",
    "FINAL_STATUSES",
    "HONOUR_LEVELS",
    "NOMINATION_STAGES",
    "NOMINATION_STATUSES",
    "NOMINATOR_KINDS",
    "RECIPIENT_KINDS",
    "Assignment",
    "ConflictOfInterest",
    "Edition",
    "Family",
    "Honour",
    "HonourTitle",
    "Nomination",
    "Score",
    "Transition",
]

HONOUR_LEVELS = ("national", "provincial", "city", "district")
"""Levels of honour, highest first; ``counts_as`` and promotion go between levels in this order."""

RECIPIENT_KINDS = ("person", "family", "group")
"""Who a title is awarded to: a person, a family (文明家庭) or a group (an organisation)."""

CADENCES = ("monthly", "quarterly", "annual", "edition")
"""How often a title is given: periods ``2024-03``, ``2024-Q1``, ``2024``, or numbered editions (届)."""

NOMINATION_STAGES = ("submitted", "verified", "public_review", "expert_review", "publicity", "awarded")
"""The stages of the 我推荐我评议身边好人 flow in order; ``nomination_funnel`` counts how many reached each."""

FINAL_STATUSES = ("awarded", "not_selected", "rejected", "withdrawn")
"""Statuses a nomination never leaves."""

NOMINATION_STATUSES = (*NOMINATION_STAGES, "not_selected", "rejected", "withdrawn")
"""Every status a nomination can have."""

NOMINATOR_KINDS = ("person", "organisation", "self")
"""Who nominated: a person, an organisation, or the nominee (self-nomination)."""

CONFLICT_KINDS = ("nominee", "nominator", "family_member", "same_organisation")
"""Kinds of reviewer conflict of interest."""


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _rubric(values: Mapping[str, float]) -> dict[str, float]:
    return dict(values)


@attrs.frozen
class HonourTitle:
    """An honour title such as 中国好人 or 雄关好人.

    Attributes:
        code: stable English code (``china_good_person``); the Chinese ``name`` is accepted wherever a code is.
        name: the title as published.
        level: one of :data:`HONOUR_LEVELS`.
        recipient: one of :data:`RECIPIENT_KINDS`.
        cadence: one of :data:`CADENCES`.
        categories: codes of the ``honour`` vocabulary a nomination or award must use (empty: none).
        age_min, age_max: inclusive age limits on the award (or nomination) date, or None.
        once: a recipient holds the title at most once.
        counts_as: codes of lower titles its holders automatically count on, in the award's year.
        rubric: expert-review criteria and their weights.
        publicity_days: default length of the 公示 (public notice) period.
        predefined: shipped with volreg (the national titles).
    """

    code: str
    name: str
    level: str
    recipient: str = "person"
    cadence: str = "annual"
    categories: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    age_min: int | None = None
    age_max: int | None = None
    once: bool = True
    counts_as: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    rubric: dict[str, float] = attrs.field(factory=lambda: {"overall": 1.0}, converter=_rubric, hash=False)
    publicity_days: int = 7
    predefined: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any], counts_as: Iterable[str] = ()) -> HonourTitle:
        """Build from a stored row and the codes of the titles it counts as."""
        return cls(
            code=row["code"],
            name=row["name"],
            level=row["level"],
            recipient=row["recipient"],
            cadence=row["cadence"],
            categories=json.loads(row["categories"] or "[]"),
            age_min=row["age_min"],
            age_max=row["age_max"],
            once=bool(row["once"]),
            counts_as=sorted(counts_as),
            rubric=json.loads(row["rubric"]),
            publicity_days=row["publicity_days"],
            predefined=bool(row["predefined"]),
        )


@attrs.frozen
class Edition:
    """A numbered edition (届) of a title, e.g. the 6th edition of the city's 道德模范."""

    id: str
    honour: str
    number: int
    year: int
    ceremony_on: date | None = None
    title: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Edition:
        """Build from a stored row."""
        return cls(
            id=row["id"],
            honour=row["honour"],
            number=row["number"],
            year=row["year"],
            ceremony_on=_date(row["ceremony_on"]),
            title=row["title"] or "",
        )


@attrs.frozen
class Family:
    """A named household (文明家庭 candidates) and the ids of its member persons."""

    id: str
    name: str
    members: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    area: str = ""
    consent: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any], members: Iterable[str] = ()) -> Family:
        """Build from a stored row and its members' person ids."""
        return cls(
            id=row["id"], name=row["name"], members=members, area=row["area"] or "", consent=bool(row["consent"])
        )


def _recipient(row: Mapping[str, Any]) -> str:
    return str(row["person"] or row["family"] or row["organisation"])


@attrs.frozen
class Honour:
    """An honour held: one award of a title to a person, family or group.

    Attributes:
        id: the record's id.
        honour: the title's code.
        recipient_kind: ``person``, ``family`` or ``group``.
        recipient: the id of the person, family or organisation.
        category: the honour-category code, or None.
        period: ``2024-03``, ``2024-Q1`` or ``2024`` (an edition's year for numbered titles).
        year: the year the honour counts in.
        edition: the edition's id, or None.
        grade: ``winner``, or ``nomination_award`` (提名奖, for runners-up).
        awarded_on: the award date.
        deed: the 事迹 text.
        nomination: the nomination it came from, or None.
        promoted_from: the lower honour it was promoted from, or None.
        photo: the path of a photo file for the hall of deeds (事迹展馆), or ``""``.
        links: interviews and videos about the deed, as ``(title, url)`` pairs.
    """

    id: str
    honour: str
    recipient_kind: str
    recipient: str
    period: str
    year: int
    awarded_on: date
    category: str | None = None
    edition: str | None = None
    grade: str = "winner"
    deed: str = ""
    nomination: str | None = None
    promoted_from: str | None = None
    photo: str = ""
    links: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Honour:
        """Build from a stored row."""
        return cls(
            id=row["id"],
            honour=row["honour"],
            recipient_kind=row["recipient_kind"],
            recipient=_recipient(row),
            period=row["period"],
            year=row["year"],
            awarded_on=date.fromisoformat(row["awarded_on"]),
            category=row["category"],
            edition=row["edition"],
            grade=row["grade"],
            deed=row["deed"] or "",
            nomination=row["nomination"],
            promoted_from=row["promoted_from"],
            photo=row.get("photo") or "",
            links=tuple((str(link["title"]), str(link["url"])) for link in json.loads(row.get("links") or "[]")),
        )


@attrs.frozen
class Nomination:
    """A nomination (推荐) of a person, family or group for a title, and where it is in the review flow.

    Attributes:
        id: the nomination's id.
        honour: the title's code.
        nominee_kind, nominee: what is nominated and its id.
        category, period, year, edition: as for :class:`Honour`.
        nominator_kind: one of :data:`NOMINATOR_KINDS`.
        nominator: the nominating person's or organisation's id (the nominee's for a self-nominated person).
        deed: the 事迹 text.
        status: one of :data:`NOMINATION_STATUSES`.
        submitted_at, status_at: when it was submitted and when it entered its status.
        review_opens, review_closes: the public-review (网友点赞评议) window, once set.
        publicity_opens, publicity_closes: the 公示 window, once set.
        reason: why it was rejected or withdrawn.
        honour_record: the id of the honour it led to, once awarded.
    """

    id: str
    honour: str
    nominee_kind: str
    nominee: str
    period: str
    year: int
    nominator_kind: str
    status: str
    submitted_at: datetime
    status_at: datetime
    category: str | None = None
    edition: str | None = None
    nominator: str | None = None
    deed: str = ""
    review_opens: datetime | None = None
    review_closes: datetime | None = None
    publicity_opens: datetime | None = None
    publicity_closes: datetime | None = None
    reason: str = ""
    honour_record: str | None = None

    @property
    def final(self) -> bool:
        """Whether the nomination has reached a status it never leaves."""
        return self.status in FINAL_STATUSES

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Nomination:
        """Build from a stored row (with the id of its honour record as ``honour_record``), times in ``zone``."""
        submitted = from_text(row["submitted_at"], zone)
        status_at = from_text(row["status_at"], zone)
        assert submitted is not None and status_at is not None
        return cls(
            id=row["id"],
            honour=row["honour"],
            nominee_kind=row["nominee_kind"],
            nominee=_recipient(row),
            period=row["period"],
            year=row["year"],
            nominator_kind=row["nominator_kind"],
            status=row["status"],
            submitted_at=submitted,
            status_at=status_at,
            category=row["category"],
            edition=row["edition"],
            nominator=row["nominator_person"] or row["nominator_organisation"],
            deed=row["deed"] or "",
            review_opens=from_text(row["review_opens"], zone),
            review_closes=from_text(row["review_closes"], zone),
            publicity_opens=from_text(row["publicity_opens"], zone),
            publicity_closes=from_text(row["publicity_closes"], zone),
            reason=row["reason"] or "",
            honour_record=row.get("honour_record"),
        )


@attrs.frozen
class Transition:
    """One step of a nomination's flow: from which status to which, when, by whom, with a note."""

    seq: int
    nomination: str
    from_status: str | None
    to_status: str
    at: datetime
    by: str | None
    note: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Transition:
        """Build from a stored row, times in ``zone``."""
        at = from_text(row["at"], zone)
        assert at is not None
        return cls(
            seq=row["seq"],
            nomination=row["nomination"],
            from_status=row["from_status"],
            to_status=row["to_status"],
            at=at,
            by=row["actor"],
            note=row["note"] or "",
        )


@attrs.frozen
class ConflictOfInterest:
    """Why a reviewer may not review a nomination.

    Attributes:
        kind: one of :data:`CONFLICT_KINDS`.
        detail: what links the reviewer to the nomination (ids only, no personal data).
        reason: for an overridden conflict, the administrator's reason; else empty.
    """

    kind: str
    detail: str
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConflictOfInterest:
        """Build from its stored JSON form."""
        return cls(kind=data["kind"], detail=data.get("detail", ""), reason=data.get("reason", ""))


@attrs.frozen
class Assignment:
    """A reviewer assigned to a nomination, with any conflicts of interest an administrator overrode."""

    nomination: str
    reviewer: str
    assigned_at: datetime
    assigned_by: str | None
    overrides: tuple[ConflictOfInterest, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Assignment:
        """Build from a stored row, times in ``zone``."""
        at = from_text(row["assigned_at"], zone)
        assert at is not None
        return cls(
            nomination=row["nomination"],
            reviewer=row["reviewer"],
            assigned_at=at,
            assigned_by=row["assigned_by"],
            overrides=tuple(ConflictOfInterest.from_dict(d) for d in json.loads(row["overrides"] or "[]")),
        )


@attrs.frozen
class Score:
    """One reviewer's scores of a nomination on the title's rubric, and their weighted total (0–100)."""

    nomination: str
    reviewer: str
    scores: dict[str, float] = attrs.field(converter=_rubric, hash=False)
    total: float
    at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Score:
        """Build from a stored row, times in ``zone``."""
        at = from_text(row["at"], zone)
        assert at is not None
        return cls(
            nomination=row["nomination"],
            reviewer=row["reviewer"],
            scores=json.loads(row["scores"]),
            total=row["total"],
            at=at,
        )
