"""People and volunteer registrations: who the registry knows, with ID numbers kept only as digests."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import attrs

from .base import RegistryBase, clean_name, clean_text, given_id, items_of
from .errors import Duplicate, InvalidValue, NotFound, RuleViolation
from .model import VOLUNTEER_STATUSES, Person, Volunteer
from .personal import (
    Document,
    document_purpose,
    id_type_of,
    mask_id_text,
    normalise_phone,
    parse_document,
    parse_id_number,
)
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
        self, id_type: Any, id_number: str | None, id_country: Any, gender: str | None, birth_date: Any,
        *, required: bool = False,
    ) -> tuple[Document | None, str, str | None, date | None]:
        """Check a person's document, gender and birth date: (document or None, type, gender, birth date).

        Birth date and gender are taken from the document only when it encodes them; otherwise they are what
        was given, or unknown.
        """
        kind = id_type_of(id_type) if id_type is not None else "resident"
        if id_number is None or (isinstance(id_number, str) and not id_number.strip()):
            if kind == "resident" and not required:
                kind = "none"  # a person added without any number has no document
            elif kind != "none":
                raise InvalidValue("id_number", f"is required for id_type {kind!r} (use id_type='none' for "
                                                "someone without a document)", None)
        if kind == "none" and id_number not in (None, ""):
            raise InvalidValue("id_number", "must not be given when id_type is 'none'", shown=mask_id_text(str(id_number)))
        if id_country is not None and kind != "passport":
            raise InvalidValue("id_country", f"is only for passports (id_type is {kind!r})", id_country)
        document = None if kind == "none" else parse_document(
            kind, id_number, country=id_country, today=self._now().date())
        born = None if birth_date is None else self._day(birth_date, "birth_date")
        if gender is not None and gender not in ("male", "female"):
            raise InvalidValue("gender", "must be 'male' or 'female'", gender)
        if born is not None and born > self._now().date():
            raise InvalidValue("birth_date", "must not be in the future", born.isoformat())
        if document is not None and document.birth_date is not None:
            if born is not None and born != document.birth_date:
                raise InvalidValue(
                    "birth_date", f"must agree with the ID number {document.masked}", born.isoformat()
                )
            if gender is not None and gender != document.gender:
                raise InvalidValue("gender", f"must agree with the ID number {document.masked}", gender)
            born, gender = document.birth_date, document.gender
        return document, kind, gender, born

    def _document_digest(self, document: Document | None) -> str | None:
        if document is None:
            return None
        return self._digest(document_purpose(document.id_type, document.country), document.number)

    def add_person(
        self,
        name: str,
        *,
        id_type: str = "resident",
        id_number: str | None = None,
        id_country: str | None = None,
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
            id_type: the identity document: ``resident`` (default), ``residence_permit``,
                ``foreign_permanent``, ``hk_macao_permit``, ``taiwan_permit``, ``passport`` or ``none``
                (no document; a person added without ``id_number`` has ``none``). Chinese names are accepted.
            id_number: the document's number; checked as its type requires (:func:`volreg.personal.parse_document`),
                then kept only as a keyed digest and a masked form.
            id_country: a passport's issuing country (``AU``, ``USA``); only for passports, and required there.
            gender: ``"male"`` or ``"female"``; derived from the number when it encodes it.
            birth_date: derived from the number when it encodes it; must agree with it when given.
            phone: a mainland mobile or landline number.
            area: residence area (居住区域).
            consent: whether the person consents to publication of their name.
            id: an id to use; a new one by default.
            by: who acts, for the journal.

        Returns:
            The new person.

        Raises:
            InvalidValue: a bad name, document type or number, country, date, gender or phone.
            Duplicate: a person with this document (type and number) exists (the error names that person's id).
        """
        name = clean_name(name)
        document, kind, gender, born = self._check_identity(id_type, id_number, id_country, gender, birth_date)
        return self._insert_person(name, document, kind, gender, born, phone=phone, area=area, consent=consent,
                                   id=id, by=by)

    def _insert_person(
        self, name: str, document: Document | None, kind: str, gender: str | None, born: date | None, *,
        phone: Any, area: Any, consent: Any, id: str | None, by: Any, within: Any = None,
    ) -> Person:
        """Insert a new person and journal it; ``within`` is the store of a write the caller holds, having
        already found no person with this document in it (so neither a savepoint nor that read again)."""
        person = Person(
            id=given_id(id, "per"),
            name=name,
            gender=gender,
            birth_date=born,
            id_type=kind,
            id_country=None if document is None else document.country,
            id_masked=document.masked if document else None,
            id_digest=self._document_digest(document),
            phone=None if phone in (None, "") else normalise_phone(phone),
            area=clean_text(area, "area", 200, line=True),
            consent=bool(consent),
        )
        with contextlib.nullcontext(within) if within is not None else self._store.write() as store:
            if person.id_digest and within is None:
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
            "id_type": person.id_type,
            "id_country": person.id_country,
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

    def person_by_id_number(
        self, id_number: str, *, id_type: str = "resident", id_country: str | None = None
    ) -> Person | None:
        """Find a person by a document number (through its keyed digest), or None.

        Args:
            id_number: the number.
            id_type: its document type (default ``resident``).
            id_country: a passport's issuing country.

        Raises:
            InvalidValue: the number fails its type's check.
        """
        document = parse_document(id_type_of(id_type), id_number, country=id_country, today=self._now().date())
        row = self._store.one("SELECT * FROM people WHERE id_digest = ?", [self._document_digest(document)])
        return self.person(row["id"]) if row else None  # a merged person's tombstone finds the kept one

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
        # The largest number of the form prefix + six digits, read backwards from the top of the range on each
        # table's unique index (one step in the common case, instead of a scan of every volunteer).
        found = [self._store.scalar(
            f"SELECT number FROM {table} WHERE number BETWEEN ?1 AND ?2 AND length(number) = ?3 "
            "AND substr(number, ?4) NOT GLOB '*[^0-9]*' ORDER BY number DESC LIMIT 1",
            [prefix + "000000", prefix + "999999", len(prefix) + 6, len(prefix) + 1],
        ) for table in ("volunteers", "volunteer_aliases")]
        last = max((number for number in found if number is not None), default=None)
        seq = int(last[len(prefix):]) + 1 if last else 1
        return f"{prefix}{seq:06d}"

    def register_volunteer(
        self,
        name: str,
        *,
        id_number: str | None = None,
        id_type: str = "resident",
        id_country: str | None = None,
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
        """Register a volunteer, reusing the person with this document when there is one.

        Age limits are the registry's settings (default: 18 or older; 14 to 17 only with
        ``guardian_consent``; younger refused), checked on ``registered_on`` whenever the birth date is known
        (from the document or given); a volunteer without a document and without a birth date is
        registered with the age unknown.

        Args:
            name: the volunteer's name.
            id_number: the document's number (required unless ``id_type='none'``; never stored in clear).
            id_type, id_country: the document, as for :meth:`add_person`; ``id_type='none'`` registers a
                volunteer without any document, identified by the registry's own id (never matched to
                another person automatically).
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
        document, kind, gender, born = self._check_identity(id_type, id_number, id_country, gender, birth_date,
                                                           required=True)
        on = self._now().date() if registered_on is None else self._day(registered_on, "registered_on")
        if on > self._now().date():
            raise InvalidValue("registered_on", "must not be in the future", on.isoformat())
        age = None if born is None else on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        if age is not None and age < self.settings.guardian_min_age:
            raise RuleViolation(
                "min_age",
                f"'id_number' belongs to someone aged {age} on {on}, below the registration age "
                f"limit of {self.settings.guardian_min_age}",
                age=age,
            )
        if age is not None and age < self.settings.min_age and not guardian_consent:
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
            if (document is not None and number.upper() == document.number) or _looks_like_id(number):
                raise InvalidValue("number", "must not be an ID or document number", shown=mask_id_text(number))
        digest_value = self._document_digest(document)
        with self._store.write() as store:
            clash = None if number is None else store.one(
                "SELECT id FROM volunteers WHERE number = ?1 UNION ALL SELECT volunteer FROM volunteer_aliases "
                "WHERE number = ?1", [number])
            if clash:
                raise Duplicate("volunteer", "number", clash["id"], shown=number)
            row = None if digest_value is None else store.one("SELECT * FROM people WHERE id_digest = ?",
                                                               [digest_value])
            if row is not None and row["merged_into"]:
                row = store.get("people", row["merged_into"])  # a document kept on a merged person's tombstone
            if row is None:
                person = self._insert_person(name, document, kind, gender, born, phone=phone, area=area,
                                             consent=consent, id=None, by=by, within=store)
            else:
                person = Person.from_row(row)
                existing = store.one("SELECT id FROM volunteers WHERE person = ?", [person.id])
                if existing:
                    raise Duplicate("volunteer", "id_number", existing["id"],
                                    shown=None if document is None else document.masked)
            volunteer = Volunteer(
                id=given_id(id, "vol"),
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
        self, *, organisation: Any = None, status: str | None = None, person: Any = None,
        numbers: Iterable[str] | None = None,
    ) -> Iterator[Volunteer]:
        """Volunteers ordered by number.

        Args:
            organisation: only those registered with this organisation or any organisation below it.
            status: only this status.
            person: only this person's registration.
            numbers: only these volunteer numbers or ids (read in one query; a number or id that a merge
                retired is not followed here, unlike :meth:`volunteer`).
        """
        filters = Filters()
        if numbers is not None:
            wanted = json.dumps([str(n) for n in items_of(numbers, "numbers")], ensure_ascii=False)
            filters.add("(v.number IN (SELECT value FROM json_each(?)) OR v.id IN (SELECT value FROM json_each(?)))",
                        wanted, wanted)
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
