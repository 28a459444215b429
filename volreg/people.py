"""People and volunteer registrations: who the registry knows, with ID numbers kept only as digests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import attrs

from .base import RegistryBase, clean_name, clean_text, items_of, new_id
from .errors import Duplicate, InvalidValue, NotFound, RuleViolation
from .model import VOLUNTEER_STATUSES, Person, Volunteer
from .personal import IdNumber, mask_id_text, normalise_phone, parse_id_number
from .store.db import bindable
from .store.filters import Filters

__all__ = ["PeopleMixin"]

_VOLUNTEER_SELECT = "SELECT v.*, p.name FROM volunteers v JOIN people p ON p.id = v.person"

# A person's row with the ids of the people merged into them (a tombstone points at its kept person).
_PERSON_SELECT = (
    "SELECT p.*, (SELECT json_group_array(t.id) FROM (SELECT id FROM people WHERE merged_into = p.id ORDER BY id) t)"
    " AS merged_from FROM people p"
)



class PeopleMixin(RegistryBase):
    """Writes and reads of people and volunteer registrations."""

    # -- people -----------------------------------------------------------------------------------------

    def _check_identity(
        self, id_number: str | None, gender: str | None, birth_date: Any
    ) -> tuple[IdNumber | None, str | None, date | None]:
        parsed = None if id_number is None else parse_id_number(id_number, today=self._now().date())
        born = None if birth_date is None else self._day(birth_date, "birth_date")
        if gender is not None and gender not in ("male", "female"):
            raise InvalidValue("gender", "must be 'male' or 'female'", gender)
        if born is not None and born > self._now().date():
            raise InvalidValue("birth_date", "must not be in the future", born.isoformat())
        if parsed is not None:
            if born is not None and born != parsed.birth_date:
                raise InvalidValue(
                    "birth_date", f"must agree with the ID number {parsed.masked}", born.isoformat()
                )
            if gender is not None and gender != parsed.gender:
                raise InvalidValue("gender", f"must agree with the ID number {parsed.masked}", gender)
            born, gender = parsed.birth_date, parsed.gender
        return parsed, gender, born

    def add_person(
        self,
        name: str,
        *,
        id_number: str | None = None,
        gender: str | None = None,
        birth_date: Any = None,
        phone: str | None = None,
        area: str | None = None,
        consent: bool = False,
        id: str | None = None,
        by: Any = None,
    ) -> Person:
        """Add a person.

        Args:
            name: the person's name.
            id_number: resident ID number; validated, then kept only as a keyed digest and a masked form.
            gender: ``"male"`` or ``"female"``; derived from the ID number when not given.
            birth_date: derived from the ID number when not given; must agree with it when given.
            phone: a mainland mobile or landline number.
            area: residence area (居住区域).
            consent: whether the person consents to publication of their name.
            id: an id to use; a new one by default.
            by: who acts, for the journal.

        Returns:
            The new person.

        Raises:
            InvalidValue: a bad name, ID number, date, gender or phone.
            Duplicate: a person with this ID number exists (the error names that person's id).
        """
        name = clean_name(name)
        parsed, gender, born = self._check_identity(id_number, gender, birth_date)
        person = Person(
            id=id or new_id("per"),
            name=name,
            gender=gender,
            birth_date=born,
            id_masked=parsed.masked if parsed else None,
            id_digest=self._digest("id_number", parsed.number) if parsed else None,
            phone=None if phone in (None, "") else normalise_phone(phone),
            area=clean_text(area, "area", 200, line=True),
            consent=bool(consent),
        )
        with self._store.write() as store:
            if person.id_digest:
                existing = store.one("SELECT coalesce(merged_into, id) AS id FROM people WHERE id_digest = ?",
                                     [person.id_digest])
                if existing:
                    raise Duplicate("person", "id_number", existing["id"], shown=person.id_masked)
            store.insert("people", self._person_row(person))
            self._journal("create", "person", person.id, by=by, after=person)
        return person

    @staticmethod
    def _person_row(person: Person) -> dict[str, Any]:
        return {
            "id": person.id,
            "name": person.name,
            "gender": person.gender,
            "birth_date": person.birth_date.isoformat() if person.birth_date else None,
            "id_digest": person.id_digest,
            "id_masked": person.id_masked,
            "phone": person.phone,
            "area": person.area,
            "consent": int(person.consent),
            "anonymised": int(person.anonymised),
        }

    def update_person(self, person: Any, *, by: Any = None, **changes: Any) -> Person:
        """Change a person's ``name``, ``phone``, ``area`` or ``consent``; the journal keeps the old values.

        Raises:
            NotFound: no such person.
            InvalidValue: a bad value, or a field that cannot be changed this way.
        """
        self.person(person)
        allowed = {"name", "phone", "area", "consent"}
        for field in changes:
            if field not in allowed:
                raise InvalidValue(field, f"cannot be changed with update_person (only {', '.join(sorted(allowed))})", changes[field])
        clean: dict[str, Any] = {}
        if "name" in changes:
            clean["name"] = clean_name(changes["name"])
        if "phone" in changes:
            clean["phone"] = None if changes["phone"] in (None, "") else normalise_phone(changes["phone"])
        if "area" in changes:
            clean["area"] = clean_text(changes["area"], "area", 200, line=True)
        if "consent" in changes:
            clean["consent"] = bool(changes["consent"])
        with self._store.write() as store:
            old = self.person(person)  # re-read under the write lock: the journal's "before" is what was there
            new = attrs.evolve(old, **clean)
            store.update("people", new.id, {k: v for k, v in self._person_row(new).items() if k in clean})
            self._journal("update", "person", new.id, by=by, before=old, after=new)
        return new

    def person(self, id: Any) -> Person:
        """The person with this id; the id of a person merged into another answers the kept person.

        The answer's ``merged_from`` lists the ids merged into it, so ``id in person.merged_from`` tells
        that the id asked for was merged.

        Raises:
            NotFound: no such person.
        """
        key = self._row("people", "person", id)["id"]
        row = self._store.one(_PERSON_SELECT + " WHERE p.id = ?", [key])
        assert row is not None
        return Person.from_row(row)

    def person_by_id_number(self, id_number: str) -> Person | None:
        """Find a person by resident ID number (through its keyed digest), or None."""
        parsed = parse_id_number(id_number, today=self._now().date())
        row = self._store.one("SELECT id FROM people WHERE id_digest = ?", [self._digest("id_number", parsed.number)])
        return self.person(row["id"]) if row else None

    def people(self, *, name: str | None = None, area: str | None = None) -> Iterator[Person]:
        """People ordered by name, optionally only those with this exact name or area (merged ones left out)."""
        sql, params, where = _PERSON_SELECT, [], ["p.merged_into IS NULL"]
        if name is not None:
            where.append("p.name = ?")
            params.append(clean_text(name, "name", 200, line=True))
        if area is not None:
            where.append("p.area = ?")
            params.append(clean_text(area, "area", 200, line=True))
        if where:
            sql += " WHERE " + " AND ".join(where)
        return (Person.from_row(r) for r in self._store.rows(sql + " ORDER BY p.name, p.id", params))

    # -- volunteers ---------------------------------------------------------------------------------------

    def _next_number(self, year: int) -> str:
        prefix = f"{self.settings.number_prefix}{year}"
        # The numbers of merged registrations still find their volunteer, so they are never given out again.
        last = self._store.scalar(
            "SELECT max(number) FROM (SELECT number FROM volunteers UNION ALL SELECT number FROM volunteer_aliases) "
            "WHERE number LIKE ?1 AND length(number) = ?2",
            [prefix + "%", len(prefix) + 6],
        )
        seq = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
        return f"{prefix}{seq:06d}"

    def register_volunteer(
        self,
        name: str,
        *,
        id_number: str,
        phone: str | None = None,
        organisation: Any = None,
        registered_on: Any = None,
        skills: Iterable[str] = (),
        categories: Iterable[str] = (),
        guardian_consent: bool = False,
        number: str | None = None,
        gender: str | None = None,
        birth_date: Any = None,
        area: str | None = None,
        consent: bool = False,
        id: str | None = None,
        by: Any = None,
    ) -> Volunteer:
        """Register a volunteer, reusing the person with this ID number when there is one.

        Age limits are the registry's settings (default: 18 or older; 14 to 17 only with
        ``guardian_consent``; younger refused), checked on ``registered_on``.

        Args:
            name: the volunteer's name.
            id_number: resident ID number (required; never stored in clear).
            phone: contact number.
            organisation: the organisation they register with.
            registered_on: registration date (default: today).
            skills: free-text skills (专业技能).
            categories: service categories (服务类别), codes or labels of the ``service`` vocabulary.
            guardian_consent: a guardian's consent is on record (needed for minors).
            number: the public volunteer number to use; by default ``V<year><sequence>``.
            gender, birth_date, area, consent: as for :meth:`add_person`.
            id: an id to use for the registration.
            by: who acts, for the journal.

        Returns:
            The registration; ``.number`` is the public volunteer number, ``.person`` the person's id.

        Raises:
            InvalidValue: bad input (name, ID number, phone, date, category, number).
            Duplicate: this ID number is already registered (the error names the existing volunteer's id).
            RuleViolation: below the age limit, or a minor without guardian consent.
            NotFound: unknown organisation.
        """
        name = clean_name(name)
        if id_number is None:
            raise InvalidValue("id_number", "is required to register a volunteer", None)
        parsed, gender, born = self._check_identity(id_number, gender, birth_date)
        assert parsed is not None and born is not None
        on = self._now().date() if registered_on is None else self._day(registered_on, "registered_on")
        if on > self._now().date():
            raise InvalidValue("registered_on", "must not be in the future", on.isoformat())
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        if age < self.settings.guardian_min_age:
            raise RuleViolation(
                "min_age",
                f"'id_number' belongs to someone aged {age} on {on}, below the registration age "
                f"limit of {self.settings.guardian_min_age}",
                age=age,
            )
        if age < self.settings.min_age and not guardian_consent:
            raise RuleViolation(
                "guardian_consent",
                f"'guardian_consent' is required for a volunteer aged {age} "
                f"(under {self.settings.min_age}) (got False)",
                age=age,
            )
        org_id = None if organisation is None else self._ref(organisation, "organisation", "organisations")
        cats = tuple(self._category(c, "service", "categories") for c in items_of(categories, "categories"))
        skill_list = tuple(clean_name(s, "skills") for s in items_of(skills, "skills"))
        if number is not None:
            number = clean_name(number, "number")
            if number.upper() == parsed.number or _looks_like_id(number):
                raise InvalidValue("number", "must not be a resident ID number", shown=mask_id_text(number))
        digest_value = self._digest("id_number", parsed.number)
        with self._store.write() as store:
            clash = None if number is None else store.one(
                "SELECT id FROM volunteers WHERE number = ?1 UNION ALL SELECT volunteer FROM volunteer_aliases "
                "WHERE number = ?1", [number])
            if clash:
                raise Duplicate("volunteer", "number", clash["id"], shown=number)
            row = store.one("SELECT * FROM people WHERE id_digest = ?", [digest_value])
            if row is not None and row["merged_into"]:
                row = store.get("people", row["merged_into"])  # a document kept on a merged person's tombstone
            if row is None:
                person = self.add_person(
                    name, id_number=id_number, gender=gender, birth_date=born, phone=phone,
                    area=area, consent=consent, by=by,
                )
            else:
                person = Person.from_row(row)
                existing = store.one("SELECT id FROM volunteers WHERE person = ?", [person.id])
                if existing:
                    raise Duplicate("volunteer", "id_number", existing["id"], shown=parsed.masked)
            volunteer = Volunteer(
                id=id or new_id("vol"),
                person=person.id,
                number=number or self._next_number(on.year),
                name=person.name,
                registered_on=on,
                organisation=org_id,
                skills=skill_list,
                categories=cats,
                guardian_consent=bool(guardian_consent),
                status_since=on,
            )
            store.insert(
                "volunteers",
                {
                    "id": volunteer.id,
                    "person": volunteer.person,
                    "number": volunteer.number,
                    "registered_on": on.isoformat(),
                    "organisation": org_id,
                    "skills": json.dumps(list(skill_list), ensure_ascii=False),
                    "categories": json.dumps(list(cats)),
                    "status": "active",
                    "guardian_consent": int(volunteer.guardian_consent),
                    "status_since": on.isoformat(),
                },
            )
            self._journal("create", "volunteer", volunteer.id, by=by, after=volunteer)
        return volunteer

    def volunteer(self, id: Any) -> Volunteer:
        """The volunteer with this id or public volunteer number.

        The id or number of a registration merged into another (``merge_people``) answers the kept one.

        Raises:
            NotFound: no such volunteer.
        """
        key = getattr(id, "id", id)
        row = None if not isinstance(key, str) or not bindable(key) else \
            self._store.one(_VOLUNTEER_SELECT + " WHERE v.id = ?1 OR v.number = ?1 OR v.id = "
                            "(SELECT volunteer FROM volunteer_aliases WHERE id = ?1 OR number = ?1 LIMIT 1) "
                            "ORDER BY v.id = ?1 OR v.number = ?1 DESC LIMIT 1", [key])
        if row is None:
            raise NotFound("volunteer", id)
        return Volunteer.from_row(row)

    def volunteers(
        self, *, organisation: Any = None, status: str | None = None, person: Any = None
    ) -> Iterator[Volunteer]:
        """Volunteers ordered by number.

        Args:
            organisation: only those registered with this organisation or any organisation below it.
            status: only this status.
            person: only this person's registration.
        """
        filters = Filters()
        if organisation is not None:
            filters.within("v.organisation", self._ref(organisation, "organisation", "organisations"))
        if status is not None:
            if status not in VOLUNTEER_STATUSES:
                raise InvalidValue("status", f"must be one of {', '.join(VOLUNTEER_STATUSES)}", status)
            filters.add("v.status = ?", status)
        if person is not None:
            filters.add("v.person = ?", self._ref(person, "person", "people"))
        sql = filters.prefix() + _VOLUNTEER_SELECT + filters.where() + " ORDER BY v.number"
        return (Volunteer.from_row(r) for r in self._store.rows(sql, filters.all_params()))

    def set_volunteer_status(self, volunteer: Any, status: str, *, on: Any = None, by: Any = None, note: str = "") -> Volunteer:
        """Suspend, withdraw or reactivate a registration (``active``, ``suspended``, ``withdrawn``).

        Raises:
            InvalidValue: an unknown status, or ``anonymised`` (use :meth:`anonymise`).
            NotFound: no such volunteer.
        """
        self.volunteer(volunteer)
        if status not in ("active", "suspended", "withdrawn"):
            raise InvalidValue("status", "must be 'active', 'suspended' or 'withdrawn'", status)
        since = self._now().date() if on is None else self._day(on, "on")
        with self._store.write() as store:
            old = self.volunteer(volunteer)
            if old.status == "anonymised":
                raise RuleViolation("anonymised", f"volunteer {old.id!r} is anonymised and cannot change status")
            new = attrs.evolve(old, status=status, status_since=since)
            store.update("volunteers", old.id, {"status": status, "status_since": since.isoformat()})
            self._journal("status", "volunteer", old.id, by=by, before=old, after=new, note=note)
        return new


def _looks_like_id(text: str) -> bool:
    try:
        parse_id_number(text)
    except InvalidValue:
        return False
    return True
