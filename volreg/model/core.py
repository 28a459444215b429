"""The core entities: people, volunteers, organisations, studios, activities, vocabulary and settings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import attrs

from ..errors import InvalidValue
from ..personal import mask_phone
from ..timeutil import from_text, minutes_between

__all__ = [
    "ACTIVITY_KINDS",
    "ORGANISATION_KINDS",
    "VOLUNTEER_STATUSES",
    "Activity",
    "Category",
    "Change",
    "Organisation",
    "Person",
    "Settings",
    "Studio",
    "Volunteer",
]

ORGANISATION_KINDS = (
    "city_office",
    "district",
    "street",
    "community",
    "team",
    "school",
    "company",
    "association",
    "studio",
    "other",
)
"""Kinds of organisation: the city civilisation office down to communities and teams."""

ACTIVITY_KINDS = ("volunteer_service", "moral_lecture", "ceremony", "other")
"""Kinds of activity; only ``volunteer_service`` carries service hours. ``moral_lecture`` is a 道德讲堂."""

VOLUNTEER_STATUSES = ("active", "suspended", "withdrawn", "anonymised")
"""A volunteer registration's statuses."""


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _phone_repr(value: str | None) -> str:
    return repr(mask_phone(value))


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def json_list(text: str | None) -> list[Any]:
    """A stored JSON array (``None`` or empty text read as none); the common empty one without parsing.

    Reading a city's volunteers builds 100,000 of them at once, most with no skills or categories: the
    shortcut takes a tenth of a second off such a read.
    """
    if not text or text == "[]":
        return []
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON array, found {text[:40]!r}")
    return value


def _strip_name(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _non_blank(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(attribute.name, "must not be empty", value)


@attrs.frozen
class Settings:
    """A registry's rules that differ between places; stored in the registry.

    Attributes:
        timezone: the home time zone naive input is read in.
        min_age: age from which anyone may register on their own (national rule: 18).
        guardian_min_age: youngest age that may register with a guardian's recorded consent (14).
        max_occurrences: the most occurrences a recurrence rule may expand into.
        star_thresholds: cumulative verified hours for one to five stars.
        number_prefix: prefix of public volunteer numbers.
        late_after_working_days: working days after an activity within which service must be recorded.
    """

    timezone: str = "Asia/Shanghai"
    min_age: int = 18
    guardian_min_age: int = 14
    max_occurrences: int = 520
    star_thresholds: tuple[int, ...] = attrs.field(default=(100, 300, 600, 1000, 1500), converter=tuple)
    number_prefix: str = "V"
    late_after_working_days: int = 10

    def to_json(self) -> str:
        """Serialise for storage."""
        return json.dumps(attrs.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """Read settings stored by :meth:`to_json`, ignoring keys an older volreg does not know."""
        data = json.loads(text)
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@attrs.frozen
class Person:
    """Anyone the registry knows: a volunteer, nominee, honouree or reviewer.

    The identity document's number is never held: ``id_digest`` is a keyed digest of (type, number) used to
    find the person again and ``id_masked`` the display form. ``id_type`` is the document
    (:data:`volreg.personal.ID_TYPES`; ``none`` when the person has none) and ``id_country`` a passport's
    issuing country. ``phone`` is shown masked in ``repr``. ``merged_from`` lists the ids of the people
    merged into this one (``Registry.merge_people``); each of them still finds this person.
    """

    id: str
    name: str
    gender: str | None = None
    birth_date: date | None = None
    id_masked: str | None = None
    id_digest: str | None = attrs.field(default=None, repr=False)
    phone: str | None = attrs.field(default=None, repr=_phone_repr)
    area: str = ""
    consent: bool = False
    anonymised: bool = False
    id_type: str = "none"
    id_country: str | None = None
    merged_from: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @property
    def phone_masked(self) -> str | None:
        """The phone number as shown in output: ``138****5678``."""
        return mask_phone(self.phone)

    def age_on(self, day: date) -> int | None:
        """Age in whole years on ``day``, or None when the birth date is unknown."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Person:
        """Build from a stored row."""
        return cls(
            id=row["id"],
            name=row["name"],
            gender=row["gender"],
            birth_date=_date(row["birth_date"]),
            id_masked=row["id_masked"],
            id_digest=row["id_digest"],
            id_type=row.get("id_type") or ("resident" if row["id_digest"] else "none"),
            id_country=row.get("id_country"),
            phone=row["phone"],
            area=row["area"] or "",
            consent=bool(row["consent"]),
            anonymised=bool(row["anonymised"]),
            merged_from=json_list(row.get("merged_from")),
        )


@attrs.frozen
class Volunteer:
    """A person's registration as a volunteer.

    Attributes:
        id: the registration's id.
        person: the person's id.
        number: the public volunteer number (never the ID number).
        name: the person's name (as registered; blank once anonymised).
        status: one of :data:`VOLUNTEER_STATUSES`.
    """

    id: str
    person: str
    number: str
    name: str
    registered_on: date
    organisation: str | None = None
    skills: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    categories: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    status: str = "active"
    guardian_consent: bool = False
    status_since: date | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Volunteer:
        """Build from a stored row joined with its person's name."""
        return cls(
            id=row["id"],
            person=row["person"],
            number=row["number"],
            name=row["name"],
            registered_on=date.fromisoformat(row["registered_on"]),
            organisation=row["organisation"],
            skills=json_list(row["skills"]),
            categories=json_list(row["categories"]),
            status=row["status"],
            guardian_consent=bool(row["guardian_consent"]),
            status_since=_date(row["status_since"]),
        )


@attrs.frozen
class Organisation:
    """A node of the organisation tree: city office → district/street → community or team; schools; companies."""

    id: str
    name: str = attrs.field(converter=_strip_name, validator=_non_blank)
    kind: str = "team"
    parent: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Organisation:
        """Build from a stored row."""
        return cls(id=row["id"], name=row["name"], kind=row["kind"], parent=row["parent"])


@attrs.frozen
class Studio:
    """A 好人品牌工作室: a studio named after an honoured person."""

    id: str
    name: str = attrs.field(converter=_strip_name, validator=_non_blank)
    founder: str | None = None
    focus: str | None = None
    organisation: str | None = None
    established_on: date | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Studio:
        """Build from a stored row."""
        return cls(
            id=row["id"],
            name=row["name"],
            founder=row["founder"],
            focus=row["focus"],
            organisation=row["organisation"],
            established_on=_date(row["established_on"]),
        )


@attrs.frozen
class Activity:
    """An activity: volunteer service, a 道德讲堂 session, a ceremony or other.

    A recurring activity is one ``Activity`` per occurrence; ``series`` names the series they share and
    ``occurrence`` numbers them from 1.
    """

    id: str
    title: str = attrs.field(converter=_strip_name, validator=_non_blank)
    kind: str = "volunteer_service"
    category: str | None = None
    theme: str = ""
    organiser: str | None = None
    studio: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    location: str = ""
    content: str = ""
    leader: str = ""
    series: str | None = None
    occurrence: int | None = None

    @property
    def minutes(self) -> int:
        """The activity's length in whole minutes."""
        if self.start is None or self.end is None:
            return 0
        return minutes_between(self.start, self.end)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Activity:
        """Build from a stored row, reading times in the registry's zone."""
        return cls(
            id=row["id"],
            title=row["title"],
            kind=row["kind"],
            category=row["category"],
            theme=row["theme"] or "",
            organiser=row["organiser"],
            studio=row["studio"],
            start=from_text(row["start"], zone),
            end=from_text(row["end"], zone),
            location=row["location"] or "",
            content=row["content"] or "",
            leader=row["leader"] or "",
            series=row["series"],
            occurrence=row["occurrence"],
        )


@attrs.frozen
class Category:
    """A vocabulary entry: a stable English ``code`` and a Chinese ``label``, both accepted as input."""

    code: str
    label: str
    vocabulary: str = "activity"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Category:
        """Build from a stored row."""
        return cls(code=row["code"], label=row["label"], vocabulary=row["vocabulary"])


@attrs.frozen
class Change:
    """One journal entry: who changed what, when, with the values before and after (personal data masked)."""

    seq: int
    at: datetime
    actor: str | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], zone: tzinfo) -> Change:
        """Build from a stored journal row."""
        at = from_text(row["at"], zone)
        assert at is not None
        return cls(
            seq=row["seq"],
            at=at,
            actor=row["actor"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row["entity_id"],
            before=json.loads(row["before"]) if row["before"] else None,
            after=json.loads(row["after"]) if row["after"] else None,
            note=row["note"] or "",
        )
