"""The honour roll: families, memberships, awards and promotion.

A title's rules (recipient kind, age, ``once``, categories) are checked by :meth:`HonoursMixin._check_award`,
which awards, nominations and decisions share, so that every way onto the roll obeys the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any, cast

import attrs

from .base import given_id, items_of
from .errors import Duplicate, InvalidValue, NotFound, RuleViolation
from .model import Family, Honour, HonourTitle, Organisation, Person, Volunteer
from .titles import _RANK, TitlesMixin, _text

__all__ = ["HonoursMixin", "honour_links"]

# Only web links: a published page must never carry a javascript: or data: URL from the registry.
_URL = re.compile(r"https?://[^\s<>\"']+\Z", re.IGNORECASE)


def honour_links(value: Any) -> tuple[tuple[str, str], ...]:
    """Interview and video links as ``(title, url)`` pairs, from URLs or pairs (or one URL).

    Raises:
        InvalidValue: a link that is not an ``http``/``https`` URL, or a title that is not clean text.
    """
    if isinstance(value, str):
        value = [value] if value.strip() else []
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise InvalidValue("links", "must be a list of URLs or (title, url) pairs", shown=type(value).__name__)
    pairs = []
    for item in value:
        if isinstance(item, Mapping):
            title, url = item.get("title", ""), item.get("url")
        elif isinstance(item, str):
            title, url = "", item
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            title, url = item
        else:
            raise InvalidValue("links", "must be a list of URLs or (title, url) pairs", shown=repr(item)[:80])
        url = _text(url, "links", 2000).strip()
        if not _URL.match(url):
            raise InvalidValue("links", "must be http:// or https:// URLs", url)
        pairs.append((_text(title, "links", 200).strip() or url, url))
    return tuple(pairs)

_COLUMN = {"person": "person", "family": "family", "group": "organisation"}
_PERSON_ARGUMENTS = ("name", "id_type", "id_number", "id_country", "gender", "birth_date", "phone", "area", "consent", "id")


class HonoursMixin(TitlesMixin):
    """Writes and reads of families, memberships, honours (awards) and promotions."""

    # -- families and memberships ------------------------------------------------------------------

    def _person_id(self, value: Any, field: str) -> str:
        """A person reference: a Person, a Volunteer, an id, or a mapping of add_person arguments (creates)."""
        if isinstance(value, Volunteer):
            return value.person
        if isinstance(value, Mapping):
            unknown = sorted(str(k) for k in value if k not in _PERSON_ARGUMENTS)
            if unknown:
                raise InvalidValue(field, f"must give only add_person arguments ({', '.join(_PERSON_ARGUMENTS)})",
                                   ", ".join(unknown))
            if "name" not in value:
                raise InvalidValue(field, "must give at least the new person's 'name'", shown="no name")
            return cast(Any, self).add_person(**value).id
        key = getattr(value, "id", value)
        if isinstance(key, str) and self._store.get("people", key) is None:
            row = self._volunteer_row(key)
            if row is not None:
                return str(row["person"])
        return self._ref(key, "person", "people", field)

    def _volunteer_row(self, key: str) -> dict[str, Any] | None:
        """A volunteer registration by id (a merged registration's id finds the one it was merged into)."""
        try:
            return self.session.get("volunteer", key)
        except NotFound:
            return None

    def add_family(
        self, name: str, *, members: Iterable[Any] = (), area: str = "", consent: bool = False,
        id: str | None = None, by: Any = None,
    ) -> Family:
        """Add a family (a named household), e.g. for 文明家庭.

        Args:
            name: e.g. ``王小明家庭``.
            members: persons (objects, ids, volunteers, or mappings of :meth:`add_person` arguments, created
                on the spot).
            area: where the household lives.
            consent: whether the family consents to publication of its name.

        Raises:
            InvalidValue: a blank name or bad member data.
            NotFound: a member that does not exist.
        """
        name = _text(name, "name", 200)
        if not name:
            raise InvalidValue("name", "must not be empty", name)
        family_id = given_id(id, "fam")
        with self._store.write() as store:
            people: list[str] = []
            for member in items_of(members, "members"):
                pid = self._person_id(member, "members")
                if pid not in people:
                    people.append(pid)
            family = Family(id=family_id, name=name, members=people, area=_text(area, "area", 200),
                            consent=bool(consent))
            store.insert("families", {"id": family.id, "name": name, "area": family.area,
                                      "consent": int(family.consent)})
            store.insert_many("family_members", [{"family": family.id, "person": p, "role": ""} for p in people])
            self._journal("create", "family", family.id, by=by, after=family)
        return family

    def add_family_member(self, family: Any, person: Any, *, role: str = "", by: Any = None) -> Family:
        """Add a person to a family (a repeated member is ignored).

        Raises:
            NotFound: no such family or person.
        """
        self.family(family)
        with self._store.write() as store:
            fam = self.family(family)  # the members as they are now, under the write lock
            pid = self._person_id(person, "person")
            if pid not in fam.members:
                store.insert("family_members", {"family": fam.id, "person": pid, "role": _text(role, "role", 50)})
                self._journal("add_member", "family", fam.id, by=by, after={"person": pid, "role": role})
        return self.family(fam.id)

    def family(self, id: Any) -> Family:
        """The family with this id.

        Raises:
            NotFound: no such family.
        """
        row = self._row("families", "family", id)
        members = [r["person"] for r in self._store.rows(
            "SELECT person FROM family_members WHERE family = ? ORDER BY rowid", [row["id"]])]
        return Family.from_row(row, members)

    def families(self) -> Iterator[Family]:
        """Every family, by name."""
        ids = [r["id"] for r in self._store.rows("SELECT id FROM families ORDER BY name, id")]
        return (self.family(i) for i in ids)

    def add_membership(self, person: Any, organisation: Any, *, role: str = "", by: Any = None) -> None:
        """Record that a person belongs to an organisation beyond their volunteer registration (a school's
        teacher, a company's employee), so that reviewer conflicts of interest see it.

        Raises:
            NotFound: no such person or organisation.
        """
        pid = self._person_id(person, "person")
        org = self._ref(organisation, "organisation", "organisations")
        with self._store.write() as store:
            store.db.execute(
                "INSERT INTO memberships (person, organisation, role) VALUES (?, ?, ?) "
                "ON CONFLICT(person, organisation) DO UPDATE SET role = excluded.role",
                [pid, org, _text(role, "role", 50)])
            self._journal("membership", "person", pid, by=by, after={"organisation": org, "role": role})

    def organisations_of(self, person: Any) -> list[str]:
        """Ids of the organisations a person belongs to: their volunteer registration and memberships.

        Used for ``same_organisation`` conflicts of interest; an unknown person belongs to none.
        """
        pid = getattr(person, "id", person)
        return [r["organisation"] for r in self._store.rows(
            "SELECT organisation FROM volunteers WHERE person = ?1 AND organisation IS NOT NULL "
            "UNION SELECT organisation FROM memberships WHERE person = ?1 ORDER BY 1", [pid])]

    # -- recipients and title rules ------------------------------------------------------------------

    def _recipient(self, value: Any, field: str) -> tuple[str, str]:
        """Resolve a recipient to (kind, id); a mapping creates a person on the spot."""
        if isinstance(value, Family):
            return "family", self._ref(value, "family", "families", field)
        if isinstance(value, Organisation):
            return "group", self._ref(value, "organisation", "organisations", field)
        if isinstance(value, (Person, Volunteer, Mapping)):
            return "person", self._person_id(value, field)
        if isinstance(value, str):
            if self._store.get("families", value):
                return "family", value
            if self._store.get("organisations", value):
                return "group", value
            if self._store.get("people", value) or self._volunteer_row(value):
                return "person", self._person_id(value, field)
        raise NotFound("recipient", getattr(value, "id", value))

    def check_award(self, honour: Any, recipient: str, *, kind: str, on: Any, category: Any = None,
                    grade: str = "winner") -> str | None:
        """Check, without writing, that giving ``honour`` to ``recipient`` on ``on`` keeps the title's rules.

        These are the rules every award, nomination and decision is checked against: the recipient kind,
        the age range on the day, the title's categories, and ``once`` (for a winner).

        Args:
            honour: the title (object, code or name).
            recipient: the recipient's id.
            kind: ``"person"``, ``"family"`` or ``"group"``.
            on: the day of the award.
            category: the category (code or label), where the title has categories.
            grade: ``"winner"`` or ``"nomination_award"`` (a runner-up; ``once`` does not apply).

        Returns:
            The category code, or None.

        Raises:
            InvalidValue: a missing or wrong category.
            RuleViolation: the wrong kind of recipient, an age outside the range, or a second ``once`` title.
        """
        title = honour if isinstance(honour, HonourTitle) else self.honour_title(honour)
        return self._check_award(title, kind, recipient, self._day(on, "on"), category, field="recipient",
                                 grade=grade)

    def _check_award(
        self, title: HonourTitle, kind: str, recipient: str, on: date, category: Any, *, field: str,
        grade: str = "winner",
    ) -> str | None:
        """Check a title's rules for giving (or nominating for) it to ``recipient`` on ``on``.

        Returns:
            The category code.
        """
        code = None if category is None else self._category(category, "honour")
        if code is None and title.categories:
            raise InvalidValue("category", f"is required for {title.name}: one of {', '.join(title.categories)}")
        if code is not None and code not in title.categories:
            allowed = ", ".join(title.categories) or "none"
            raise InvalidValue("category", f"must be a category of {title.name} ({allowed})", category)
        if kind != title.recipient:
            raise RuleViolation(
                "recipient", f"'{field}' must be a {title.recipient} for {title.name} (got a {kind}: {recipient!r})")
        if title.age_min is not None or title.age_max is not None:
            row = self._store.get("people", recipient)
            assert row is not None
            person = Person.from_row(row)
            age = person.age_on(on)
            low = -1 if title.age_min is None else title.age_min
            high = 999 if title.age_max is None else title.age_max
            if age is None or not low <= age <= high:
                got = "no birth date on record" if age is None else f"aged {age} on {on}"
                raise RuleViolation(
                    "age", f"'{field}' must be aged {title.age_min}–{title.age_max} on {on} for {title.name} "
                    f"(got {recipient!r}, {got})", age=age)
        if title.once and grade == "winner":
            held = self._store.one(
                f"SELECT id FROM honours WHERE honour = ? AND [{_COLUMN[kind]}] = ? AND grade = 'winner'",
                [title.code, recipient])
            if held:
                raise RuleViolation(
                    "once", f"'{field}' must not already hold {title.name}, which is given once "
                    f"(got {recipient!r}, honour {held['id']!r})", existing=held["id"])
        return code

    # -- awards ------------------------------------------------------------------------------------------

    def award(
        self,
        honour: Any,
        recipient: Any,
        *,
        category: Any = None,
        period: Any = None,
        edition: Any = None,
        awarded_on: Any,
        deed: str = "",
        by: Any = None,
        grade: str = "winner",
        id: str | None = None,
        external_id: str | None = None,
        photo: str = "",
        links: Any = (),
    ) -> Honour:
        """Record an honour given to a person, family or group.

        Args:
            honour: the title (code or name).
            recipient: a person, volunteer, family or organisation (object or id), or a mapping of
                :meth:`add_person` arguments to create the person on the spot.
            category: an ``honour`` category (code or label) of the title; required when it has categories.
            period: ``2024-03``, ``2024-Q1`` or ``2024``, no coarser than the title's cadence; by default
                the period of ``awarded_on`` (an edition's year for numbered titles).
            edition: the edition (object, id or number); required for titles given in editions.
            awarded_on: the award date; ages are checked on it.
            deed: the 事迹 text.
            grade: ``winner``, or ``nomination_award`` (提名奖) for a runner-up.
            id, external_id: ids to use (imports keep theirs; an external id holding an ID number is kept
                as its keyed digest, see :mod:`volreg.external_ids`).
            photo: the path of a photo file for the hall of deeds (relative to the registry file, or absolute).
            links: interviews and videos (访谈、视频): ``http(s)`` URLs, each a string or a ``(title, url)`` pair.
            by: who acts, for the journal.

        Returns:
            The honour record.

        Raises:
            NotFound: unknown title, recipient or edition.
            InvalidValue: a bad category, period, date or grade.
            RuleViolation: a title rule is broken (rules ``recipient``, ``age`` or ``once``).
            Duplicate: the recipient already holds this title for this period, edition and category (a
                title given more than once, ``once=False``, may be held in one period in several categories).
        """
        return self._award(self.honour_title(honour), recipient, category=category, period=period,
                           edition=edition, awarded_on=awarded_on, deed=deed, by=by, grade=grade, id=id,
                           external_id=self._external_id(external_id), photo=photo, links=links)

    def _award(
        self, title: HonourTitle, recipient: Any, *, category: Any, period: Any, edition: Any, awarded_on: Any,
        deed: str, by: Any, grade: str = "winner", id: str | None = None, external_id: str | None = None,
        nomination: str | None = None, promoted_from: str | None = None, photo: str = "", links: Any = (),
    ) -> Honour:
        on = self._day(awarded_on, "awarded_on")
        if on > self._now().date():
            raise InvalidValue("awarded_on", "must not be in the future", on.isoformat())
        if grade not in ("winner", "nomination_award"):
            raise InvalidValue("grade", "must be 'winner' or 'nomination_award'", grade)
        text, year, edition_id = self._period(title, period, edition, on)
        deed = _text(deed, "deed", 20000)
        photo = _text(photo, "photo", 500)
        pairs = honour_links(links)
        with self._store.write() as store:
            kind, rid = self._recipient(recipient, "recipient")
            code = self._check_award(title, kind, rid, on, category, field="recipient", grade=grade)
            same = store.one(
                f"SELECT id FROM honours WHERE honour = ? AND [{_COLUMN[kind]}] = ? AND period = ? "
                "AND edition IS ? AND grade = ? AND category IS ?", [title.code, rid, text, edition_id, grade, code])
            if same:
                raise Duplicate("honour", "recipient", same["id"], shown=f"{title.name} {text}")
            record = Honour(
                id=given_id(id, "hon"), honour=title.code, recipient_kind=kind, recipient=rid, period=text,
                year=year, awarded_on=on, category=code, edition=edition_id, grade=grade, deed=deed,
                nomination=nomination, promoted_from=promoted_from, photo=photo, links=pairs,
            )
            store.insert("honours", {
                "id": record.id, "honour": title.code, "recipient_kind": kind, "person": None, "family": None,
                "organisation": None, _COLUMN[kind]: rid, "category": code, "period": text, "year": year,
                "edition": edition_id, "grade": grade, "awarded_on": on.isoformat(), "deed": deed,
                "nomination": nomination, "promoted_from": promoted_from, "external_id": external_id,
                "photo": photo, "links": json.dumps([{"title": t, "url": u} for t, u in pairs], ensure_ascii=False),
            })
            self._journal("create", "honour", record.id, by=by, after=record)
        return record

    def honour_record(self, id: Any) -> Honour:
        """The honour record with this id.

        Raises:
            NotFound: no such honour record.
        """
        row = self._row("honours", "honour", id)
        return Honour.from_row(row)

    def honours_of(self, recipient: Any, *, honour: Any = None) -> list[Honour]:
        """The honours a person, family or group holds, oldest first; optionally of one title only.

        Raises:
            NotFound: no such recipient or title.
        """
        kind, rid = self._recipient(recipient, "recipient")
        code = None if honour is None else self.honour_title(honour).code
        return [Honour.from_row(r) for r in self._store.rows(
            f"SELECT * FROM honours WHERE [{_COLUMN[kind]}] = ? AND (? IS NULL OR honour = ?) "
            "ORDER BY awarded_on, id", [rid, code, code])]

    def promote(
        self, honour_record: Any, to: Any, *, awarded_on: Any = None, category: Any = None, period: Any = None,
        edition: Any = None, deed: str | None = None, by: Any = None,
    ) -> Honour:
        """Link an honour to the higher one it led to (a city 好人 becoming 甘肃好人, then 中国好人).

        Args:
            honour_record: the lower honour (object or id).
            to: a higher title (code or name), for which a new honour is awarded, or an existing honour
                record of the same recipient at a higher level, which is linked.
            awarded_on: the new honour's date (required when ``to`` is a title).
            category, period, edition: for the new honour; the category defaults to the lower honour's.
            deed: for the new honour; defaults to the lower honour's.

        Returns:
            The higher honour, whose ``promoted_from`` is the lower honour's id.

        Raises:
            NotFound: unknown honour record or title.
            RuleViolation: ``to`` is not at a higher level (rule ``promotion_level``), is for another
                recipient, the lower honour was already promoted (rule ``promoted_once``), or a title rule
                of the higher title is broken.
        """
        with self._store.write():
            # One transaction, checks included: two processes promoting one honour cannot both succeed.
            return self._promote(honour_record, to, awarded_on=awarded_on, category=category, period=period,
                                 edition=edition, deed=deed, by=by)

    def _promote(self, honour_record: Any, to: Any, *, awarded_on: Any, category: Any, period: Any, edition: Any,
                 deed: str | None, by: Any) -> Honour:
        low = self.honour_record(honour_record)
        low_title = self.honour_title(low.honour)
        done = self._store.one("SELECT id FROM honours WHERE promoted_from = ?", [low.id])
        if done:
            raise RuleViolation("promoted_once", f"honour {low.id!r} was already promoted to {done['id']!r}")
        key = getattr(to, "id", None) if isinstance(to, Honour) else to
        existing = self._store.get("honours", key) if isinstance(key, str) else None
        high_title = self.honour_title(existing["honour"] if existing else to)
        if _RANK[high_title.level] <= _RANK[low_title.level]:
            raise RuleViolation(
                "promotion_level", f"'to' must be a title above {low_title.name} ({low_title.level}) "
                f"(got {high_title.name}, {high_title.level})")
        if existing is not None:
            high = Honour.from_row(existing)
            if (high.recipient_kind, high.recipient) != (low.recipient_kind, low.recipient):
                raise RuleViolation("promotion_recipient", f"'to' must be an honour of {low.recipient!r} "
                                    f"(got {high.id!r} of {high.recipient!r})")
            if high.promoted_from is not None:
                raise RuleViolation("promoted_once", f"honour {high.id!r} is already linked to {high.promoted_from!r}")
            with self._store.write() as store:
                store.update("honours", high.id, {"promoted_from": low.id})
                self._journal("promote", "honour", high.id, by=by, before=high, after={"promoted_from": low.id})
            return attrs.evolve(high, promoted_from=low.id)
        if awarded_on is None:
            raise InvalidValue("awarded_on", "is required when promoting to a title")
        if category is None and low.category in high_title.categories:
            category = low.category
        return self._award(
            high_title, low.recipient, category=category, period=period, edition=edition, awarded_on=awarded_on,
            deed=low.deed if deed is None else deed, by=by, promoted_from=low.id,
        )
