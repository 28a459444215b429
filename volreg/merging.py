"""Merging duplicate people: everything of one person moves to another, who keeps it all.

Real registries collect duplicates: one volunteer registered by two communities, once with an ID number and
once from a sign-in sheet; a honour imported under a differently written name. :meth:`MergingMixin.merge_people`
moves everything of the duplicate to the kept person in one transaction and leaves the duplicate as a
*tombstone* (``people.merged_into``) that still finds the kept person.

Two volunteer registrations become one. A person has at most one registration (``volunteers.person`` is
unique, and ``register_volunteer`` refuses a second one), every query counts a registration as one volunteer
(distinct volunteers per group, star levels, award eligibility, Datasette views), and the summary tables are
kept per registration: a second registration pointing at the kept person would count one person as two
volunteers and split their hours between two star levels. So the duplicate's service records move to the
kept registration (each record keeps its id, versions, minutes, status and instants; only its ``volunteer``
changes, and the summary triggers move its minutes), the kept registration takes the earlier registration
date (so eligibility on a day between the two registrations still counts the person), the union of skills
and service categories, and the duplicate's organisation when it had none, and the duplicate's registration
row is replaced by an alias (``volunteer_aliases``) whose id and public number still find the kept one and
are never given out again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .base import RegistryBase, actor_text, clean_text
from .errors import InvalidValue, NotFound, RuleViolation
from .model import Person, Volunteer
from .personal import mask_phone
from .timeutil import to_utc_text

if TYPE_CHECKING:
    from datetime import date

    from .model import ConflictOfInterest, HonourTitle

__all__ = ["MergingMixin", "document_of"]

_LIVE = "('pending', 'verified')"


def document_of(row: Any) -> tuple[str, str] | None:
    """A person row's identity document as ``(type, digest)``, or None when the person has none on record.

    The type is ``row["id_type"]`` where the schema has that column, else the resident card; a person of type
    ``none`` (or without a digest) has no document.  Merging compares documents only through this function.
    """
    kind = (row.get("id_type") if hasattr(row, "get") else None) or "resident"
    digest = row.get("id_digest") if hasattr(row, "get") else None
    if not digest or kind == "none":
        return None
    return str(kind), str(digest)


class MergingMixin(RegistryBase):
    """Merging a duplicate person into the person kept."""

    if TYPE_CHECKING:  # provided by the other mixins of the Registry

        def person(self, id: Any) -> Person: ...

        def volunteer(self, id: Any) -> Volunteer: ...

        def honour_title(self, honour: Any) -> HonourTitle: ...

        def conflicts_of_interest(self, nomination: Any, reviewer: Any) -> list[ConflictOfInterest]: ...

        def _check_award(self, title: HonourTitle, kind: str, recipient: str, on: date, category: Any, *,
                         field: str, grade: str = "winner") -> str | None: ...

    def merge_people(self, keep: Any, duplicate: Any, *, by: Any, reason: str) -> Person:
        """Merge ``duplicate`` into ``keep``: everything of the duplicate becomes the kept person's.

        In one transaction: the volunteer registration (merged into the kept one, see :mod:`volreg.merging`;
        the duplicate's volunteer id and number keep finding it), every service record version (history,
        minutes and status unchanged), memberships, family memberships, studios founded, honours, nominations
        as nominee and as nominator, reviewer assignments and scores, public endorsements made as the person
        (stored as keyed digests of the person's or registration's id, rewritten to the kept person's unless
        the kept person endorsed the same nomination too: then both votes stay as cast) and the import
        identities that found the duplicate. The kept person keeps their own name, consent and values, and
        takes the duplicate's gender, birth date, phone, area and identity document where they have none.
        The duplicate stays as a tombstone without personal data: ``registry.person(duplicate_id)`` answers
        the kept person, whose ``merged_from`` lists it. A document of another type than the kept person's
        stays on the tombstone (as its keyed digest and masked form), so it still finds the kept person.
        Every total stays the same; only the grouping by person changes. The journal records the merge on
        both people with the ids of every moved row, per table.

        Args:
            keep: the person kept (object or id; a volunteer or their number names their person).
            duplicate: the person merged into ``keep``.
            by: who merges (required, for the journal).
            reason: why (required, for the journal).

        Returns:
            The kept person, as now stored.

        Raises:
            NotFound: no such person.
            InvalidValue: a blank ``by`` or ``reason``.
            RuleViolation: the merge is refused and nothing is changed: one person twice (``same_person``);
                a tombstone on either side (``merged``); different documents of the same type
                (``documents``); an anonymised person kept for one who is not (``anonymised``); a title given
                once held by both (``once``); overlapping live service records of the two, both named
                (``overlap``); both reviewing one nomination (``reviewer``); or the merged person would break
                a title's rules or gain a conflict of interest as a reviewer (``honour_rule``,
                ``reviewer_conflict``).
        """
        actor = actor_text(by)
        if actor is None:
            raise InvalidValue("by", "must name who merges", by)
        why = clean_text(reason, "reason", 2000, required=True)
        keep_key, dup_key = self._person_key(keep, "keep"), self._person_key(duplicate, "duplicate")
        with self._store.write() as store:
            k, d = store.get("people", keep_key), store.get("people", dup_key)
            if k is None:
                raise NotFound("person", keep_key)
            if d is None:
                raise NotFound("person", dup_key)
            self._refuse(k, d)
            kv = store.one("SELECT * FROM volunteers WHERE person = ?", [k["id"]])
            dv = store.one("SELECT * FROM volunteers WHERE person = ?", [d["id"]])
            if kv and dv:
                self._refuse_overlaps(kv["id"], dv["id"])
            honours_before = self._honour_failures([k["id"], d["id"]])
            conflicts_before = self._reviewer_conflicts(k["id"], d["id"], rename={d["id"]: k["id"]})
            old_keep = self.person(k["id"])
            old_dup = Person.from_row(d)
            registrations = (self.volunteer(kv["id"]), self.volunteer(dv["id"])) if kv and dv else None
            moved = self._merge_rows(k, d, kv, dv)
            new_honours = sorted(self._honour_failures([k["id"]]).keys() - honours_before.keys())
            if new_honours:
                failures = self._honour_failures([k["id"]])
                raise RuleViolation(
                    "honour_rule", f"merging {d['id']!r} into {k['id']!r} would break the rules of honour "
                    f"{new_honours[0]!r}: {failures[new_honours[0]]}", honours=new_honours)
            new_conflicts = sorted(self._reviewer_conflicts(k["id"], d["id"]) - conflicts_before)
            if new_conflicts:
                nomination, reviewer, kind = new_conflicts[0]
                raise RuleViolation(
                    "reviewer_conflict", f"merging {d['id']!r} into {k['id']!r} would give reviewer {reviewer!r} "
                    f"an undeclared conflict of interest ({kind}) on nomination {nomination!r}",
                    conflicts=new_conflicts)
            new_keep = self.person(k["id"])
            self._journal("merge", "person", k["id"], by=actor, before=old_keep, note=why,
                          after={"id": k["id"], "merged_from": d["id"], "moved": moved,
                                 "person": _changes(old_keep, new_keep)})
            self._journal("merge", "person", d["id"], by=actor, before=old_dup, note=why,
                          after={"id": d["id"], "merged_into": k["id"], "moved": moved})
            if registrations:
                # The kept registration changed (date, skills ...) and the other one became its alias.
                kept_volunteer, alias = registrations
                self._journal("merge", "volunteer", kept_volunteer.id, by=actor, note=why, before=kept_volunteer,
                              after=self.volunteer(kept_volunteer.id))
                self._journal("merge", "volunteer", alias.id, by=actor, note=why, before=alias,
                              after={"id": alias.id, "number": alias.number, "merged_into": kept_volunteer.id})
        return new_keep

    # -- refusals -----------------------------------------------------------------------------------------

    def _person_key(self, value: Any, field: str) -> str:
        """The id of a person given as a person, a volunteer, an id or a volunteer number, unresolved."""
        if isinstance(value, Volunteer):
            return value.person
        key = getattr(value, "id", value)
        if not isinstance(key, str) or not key.strip():
            raise InvalidValue(field, "must be a person (object or id) or a volunteer", shown=type(key).__name__)
        if self._store.get("people", key) is not None:
            return key
        try:
            return self.volunteer(key).person
        except NotFound:
            raise NotFound("person", key) from None

    def _refuse(self, k: dict[str, Any], d: dict[str, Any]) -> None:
        """Refuse a merge that cannot be right, before anything is written."""
        if k["id"] == d["id"]:
            raise RuleViolation("same_person", f"cannot merge person {k['id']!r} into themself")
        for side, row in (("duplicate", d), ("keep", k)):
            if row["merged_into"]:
                raise RuleViolation(
                    "merged", f"'{side}' must not be merged already: person {row['id']!r} was merged into "
                    f"{row['merged_into']!r}", merged_into=row["merged_into"])
        mine, theirs = document_of(k), document_of(d)
        if mine and theirs and mine[0] == theirs[0] and mine[1] != theirs[1]:
            raise RuleViolation(
                "documents", f"people {k['id']!r} ({k['id_masked']}) and {d['id']!r} ({d['id_masked']}) hold "
                f"different documents of the same type ({mine[0]}), so they are not one person")
        if k["anonymised"] and not d["anonymised"]:
            raise RuleViolation(
                "anonymised", f"person {k['id']!r} is anonymised and {d['id']!r} is not: merging would tie "
                f"personal data to the anonymised person; anonymise {d['id']!r} first, or keep it instead")
        held = self._store.one(
            "SELECT a.id AS mine, b.id AS theirs, t.name FROM honours a JOIN honours b ON b.honour = a.honour "
            "JOIN honour_titles t ON t.code = a.honour WHERE a.person = ? AND b.person = ? AND t.once = 1 "
            "AND a.grade = 'winner' AND b.grade = 'winner' ORDER BY a.id, b.id LIMIT 1", [k["id"], d["id"]])
        if held:
            raise RuleViolation(
                "once", f"both people hold {held['name']}, which is given once (honours {held['mine']!r} and "
                f"{held['theirs']!r}); merged, one person would hold it twice", honours=(held["mine"], held["theirs"]))
        both = self._store.one(
            "SELECT a.nomination FROM reviewer_assignments a JOIN reviewer_assignments b "
            "ON b.nomination = a.nomination WHERE a.reviewer = ? AND b.reviewer = ? ORDER BY 1 LIMIT 1",
            [k["id"], d["id"]])
        if both:
            raise RuleViolation(
                "reviewer", f"both people review nomination {both['nomination']!r}; merged, one reviewer would "
                "be assigned (and score) twice", nomination=both["nomination"])

    def _refuse_overlaps(self, keep_volunteer: str, dup_volunteer: str) -> None:
        clash = self._store.one(
            f"SELECT a.id AS mine, b.id AS theirs, a.start AS mine_start, b.start AS theirs_start "
            f"FROM service_records a JOIN service_records b ON b.volunteer = ? AND b.status IN {_LIVE} "
            f"AND a.start_utc < b.end_utc AND b.start_utc < a.end_utc "
            f"WHERE a.volunteer = ? AND a.status IN {_LIVE} ORDER BY a.start_utc, a.id, b.id LIMIT 1",
            [dup_volunteer, keep_volunteer])
        if clash:
            raise RuleViolation(
                "overlap", f"live service records {clash['mine']!r} ({clash['mine_start'][:16]}) and "
                f"{clash['theirs']!r} ({clash['theirs_start'][:16]}) of the two people overlap; merged, one "
                "volunteer would serve twice at once: void or correct one of them first",
                records=(clash["mine"], clash["theirs"]))

    def _honour_failures(self, people: list[str]) -> dict[str, str]:
        """The honours of these people that break their title's rules (age, category, kind), with why."""
        failures: dict[str, str] = {}
        marks = ", ".join("?" for _ in people)
        for row in list(self._store.rows(f"SELECT * FROM honours WHERE person IN ({marks}) ORDER BY id", people)):
            try:
                self._check_award(self.honour_title(row["honour"]), row["recipient_kind"], row["person"],
                                  self.session.day(row["awarded_on"], "awarded_on"), row["category"],
                                  field="recipient", grade="nomination_award")
            except RuleViolation as error:
                failures[row["id"]] = str(error)
            except InvalidValue:
                continue  # a category problem that no merge can cause or cure
        return failures

    def _reviewer_conflicts(self, keep: str, dup: str, rename: dict[str, str] | None = None) -> set[tuple[str, str, str]]:
        """Undeclared conflicts of interest of assignments a merge of these two people can change.

        These are the assignments on nominations of either person (as nominee, nominator, family member) and
        those where either reviews. ``rename`` maps the duplicate to the kept person in the answer, so that
        the conflicts before a merge compare with those after it.
        """
        rename = rename or {}
        found: set[tuple[str, str, str]] = set()
        rows = list(self._store.rows(
            "SELECT a.nomination, a.reviewer, a.overrides FROM reviewer_assignments a "
            "JOIN nominations n ON n.id = a.nomination WHERE a.reviewer IN (?1, ?2) OR n.person IN (?1, ?2) "
            "OR n.nominator_person IN (?1, ?2) OR n.family IN (SELECT family FROM family_members "
            "WHERE person IN (?1, ?2)) ORDER BY a.nomination, a.reviewer", [keep, dup]))
        for row in rows:
            overridden = {c.get("kind") for c in json.loads(row["overrides"] or "[]") if c.get("reason")}
            for conflict in self.conflicts_of_interest(row["nomination"], row["reviewer"]):
                if conflict.kind not in overridden:
                    found.add((row["nomination"], rename.get(row["reviewer"], row["reviewer"]), conflict.kind))
        return found

    # -- the moves ------------------------------------------------------------------------------------------

    def _merge_rows(self, k: dict[str, Any], d: dict[str, Any], kv: dict[str, Any] | None,
              dv: dict[str, Any] | None) -> dict[str, list[str]]:
        """Move every row of ``d`` to ``k``; the ids moved (or merged away), per table."""
        store = self._store
        keep, dup = k["id"], d["id"]
        moved: dict[str, list[str]] = {}

        def ids(sql: str, params: list[Any]) -> list[str]:
            return [str(r["id"]) for r in store.rows(sql, params)]

        def note(table: str, found: list[str]) -> None:
            if found:
                moved.setdefault(table, []).extend(found)

        # Public endorsements made as the person (or their registration) are keyed digests of that id.
        pairs = [(dup, keep)] + ([(dv["id"], kv["id"])] if kv and dv else [])
        for old, new in pairs:
            old_voter = self.session.digest("endorsement_voter", old)
            new_voter = self.session.digest("endorsement_voter", new)
            found = ids("SELECT nomination AS id FROM endorsements WHERE voter = ?1 AND nomination NOT IN "
                        "(SELECT nomination FROM endorsements WHERE voter = ?2) ORDER BY 1", [old_voter, new_voter])
            store.db.execute("UPDATE endorsements SET voter = ?2 WHERE voter = ?1 AND nomination NOT IN "
                             "(SELECT nomination FROM endorsements WHERE voter = ?2)", [old_voter, new_voter])
            note("endorsements", found)

        # The volunteer registration.
        if dv and not kv:
            store.update("volunteers", dv["id"], {"person": keep})
            note("volunteers", [dv["id"]])
        elif dv and kv:
            records = ids("SELECT id FROM service_records WHERE volunteer = ? ORDER BY rowid", [dv["id"]])
            store.db.execute("UPDATE service_records SET volunteer = ? WHERE volunteer = ?", [kv["id"], dv["id"]])
            note("service_records", records)
            skills = _union(kv["skills"], dv["skills"])
            categories = _union(kv["categories"], dv["categories"])
            store.update("volunteers", kv["id"], {
                "registered_on": min(kv["registered_on"], dv["registered_on"]),
                "organisation": kv["organisation"] or dv["organisation"],
                "skills": skills, "categories": categories,
                "guardian_consent": int(bool(kv["guardian_consent"] or dv["guardian_consent"])),
            })
            at = to_utc_text(self._now())
            note("volunteer_aliases", ids("SELECT id FROM volunteer_aliases WHERE volunteer = ? ORDER BY id",
                                          [dv["id"]]))
            store.db.execute("UPDATE volunteer_aliases SET volunteer = ? WHERE volunteer = ?", [kv["id"], dv["id"]])
            store.insert("volunteer_aliases", {"id": dv["id"], "number": dv["number"], "volunteer": kv["id"],
                                               "person": dup, "merged_at": at})
            store.db.execute("UPDATE import_identity SET entity_id = ? WHERE entity_id = ?", [kv["id"], dv["id"]])
            store.db.execute("DELETE FROM volunteers WHERE id = ?", [dv["id"]])
            note("volunteers", [dv["id"]])

        # Rows keyed by (something, person): the kept person's own row wins; a blank role takes the other.
        for table, other in (("memberships", "organisation"), ("family_members", "family")):
            rows = list(store.rows(f"SELECT [{other}] AS id, role FROM [{table}] WHERE person = ? ORDER BY 1", [dup]))
            for row in rows:
                own = store.one(f"SELECT role FROM [{table}] WHERE person = ? AND [{other}] = ?", [keep, row["id"]])
                if own is None:
                    store.db.execute(f"UPDATE [{table}] SET person = ? WHERE person = ? AND [{other}] = ?",
                                     [keep, dup, row["id"]])
                else:
                    if not own["role"] and row["role"]:
                        store.db.execute(f"UPDATE [{table}] SET role = ? WHERE person = ? AND [{other}] = ?",
                                         [row["role"], keep, row["id"]])
                    store.db.execute(f"DELETE FROM [{table}] WHERE person = ? AND [{other}] = ?", [dup, row["id"]])
            note(table, [f"{row['id']}/{dup}" for row in rows])

        # Rows that name the person in one column.
        for table, column, key in (
            ("studios", "founder", "id"),
            ("honours", "person", "id"),
            ("nominations", "person", "id"),
            ("nominations", "nominator_person", "id"),
            ("reviewer_assignments", "reviewer", "nomination"),
            ("review_scores", "reviewer", "nomination"),
        ):
            found = ids(f"SELECT [{key}] AS id FROM [{table}] WHERE [{column}] = ? ORDER BY 1", [dup])
            store.db.execute(f"UPDATE [{table}] SET [{column}] = ? WHERE [{column}] = ?", [keep, dup])
            note(table if column in ("person", "founder", "reviewer") else f"{table}.{column}", found)

        note("import_identity", ids("SELECT kind || ':' || key AS id FROM import_identity WHERE entity_id = ? "
                                    "ORDER BY 1", [dup]))
        store.db.execute("UPDATE import_identity SET entity_id = ? WHERE entity_id = ?", [keep, dup])

        # The people themselves: earlier tombstones of the duplicate now point at the kept person.
        note("people", ids("SELECT id FROM people WHERE merged_into = ? ORDER BY id", [dup]))
        store.db.execute("UPDATE people SET merged_into = ? WHERE merged_into = ?", [keep, dup])
        fills = {f: d[f] for f in ("gender", "birth_date", "phone") if k[f] is None and d[f] is not None}
        if not k["area"] and d["area"]:
            fills["area"] = d["area"]
        kept_doc, dup_doc = document_of(k), document_of(d)
        take_document = dup_doc is not None and kept_doc is None
        tombstone: dict[str, Any] = {"merged_into": keep, "name": "", "phone": None, "area": ""}
        if take_document or dup_doc == kept_doc:
            tombstone.update({"id_digest": None, "id_masked": None})
            if "id_type" in d:
                tombstone["id_type"] = "none"
        store.update("people", dup, tombstone)
        if take_document:
            fills.update({"id_digest": d["id_digest"], "id_masked": d["id_masked"]})
            if "id_type" in d:
                fills["id_type"] = d["id_type"]
        if fills:
            store.update("people", keep, fills)
        note("people", [dup])
        return moved


def _union(first: str | None, second: str | None) -> str:
    """Two JSON lists as one, first list's order first, without repeats."""
    items = list(json.loads(first or "[]"))
    items += [x for x in json.loads(second or "[]") if x not in items]
    return json.dumps(items, ensure_ascii=False)


def _changes(old: Person, new: Person) -> dict[str, Any]:
    """The kept person's fields the merge filled in, as the journal may show them (the phone masked)."""
    out: dict[str, Any] = {}
    for field in ("gender", "birth_date", "phone", "area", "id_masked"):
        value = getattr(new, field)
        if getattr(old, field) != value:
            out[field] = mask_phone(value) if field == "phone" else value.isoformat() if field == "birth_date" \
                else value
    return out
