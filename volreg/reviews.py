"""Expert review of nominations: reviewer assignment, typed conflicts of interest with recorded
overrides, and scores on each title's weighted rubric.

Conflicts are found from the data, not declared: the nominee, the nominator (a person, or an organisation
the reviewer belongs to), a member of the nominee's family, or someone in the same organisation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from .base import actor_text, clean_text
from .errors import Duplicate, InvalidValue, NotFound, ReviewerConflict, RuleViolation
from .honours import _COLUMN, HonoursMixin
from .model import CONFLICT_KINDS, FINAL_STATUSES, Assignment, ConflictOfInterest, Score
from .timeutil import to_utc_text

__all__ = ["ReviewsMixin"]


class ReviewsMixin(HonoursMixin):
    """Writes and reads of reviewer assignments and scores."""

    # -- reviewers -----------------------------------------------------------------------------------------

    def conflicts_of_interest(self, nomination: Any, reviewer: Any) -> list[ConflictOfInterest]:
        """Why ``reviewer`` may not review ``nomination``: one finding per kind (see ``CONFLICT_KINDS``).

        ``same_organisation`` compares exact organisations (volunteer registration and memberships), not
        the tree above them: two communities under one city office are not one organisation.

        Returns:
            The conflicts found (empty when the reviewer is free to review).

        Raises:
            NotFound: no such nomination or reviewer.
        """
        row = self._row("nominations", "nomination", nomination)
        rid = self._person_id(reviewer, "reviewer")
        found: list[ConflictOfInterest] = []
        nominee = row[_COLUMN[row["nominee_kind"]]]
        members = [r["person"] for r in self._store.rows(
            "SELECT person FROM family_members WHERE family = ?", [nominee])] if row["family"] else []
        if rid == row["person"]:
            found.append(ConflictOfInterest("nominee", f"reviewer is the nominee {rid}"))
        if rid == row["nominator_person"] and row["nominator_kind"] == "person":
            found.append(ConflictOfInterest("nominator", f"reviewer nominated {row['id']}"))
        elif row["nominator_kind"] == "self" and rid == row["person"]:
            found.append(ConflictOfInterest("nominator", "reviewer nominated themself"))
        elif row["nominator_organisation"] and row["nominator_organisation"] in self.organisations_of(rid):
            found.append(ConflictOfInterest("nominator", f"reviewer belongs to the nominating organisation "
                                            f"{row['nominator_organisation']}"))
        if rid in members:
            found.append(ConflictOfInterest("family_member", f"reviewer is a member of the nominated family {nominee}"))
        elif row["person"] and rid != row["person"]:
            shared = self._store.one(
                "SELECT a.family FROM family_members a JOIN family_members b ON a.family = b.family "
                "WHERE a.person = ? AND b.person = ?", [rid, row["person"]])
            if shared:
                found.append(ConflictOfInterest("family_member", f"reviewer and nominee share family {shared['family']}"))
        theirs = {row["organisation"]} if row["organisation"] else set()
        for person in members or ([row["person"]] if row["person"] else []):
            theirs.update(self.organisations_of(person))
        common = sorted(theirs & set(self.organisations_of(rid)))
        if common and rid != row["person"]:
            found.append(ConflictOfInterest("same_organisation", f"reviewer and nominee share {', '.join(common)}"))
        return found

    def _unresolved(self, nomination: str, reviewer: str, overridden: set[str]) -> None:
        left = tuple(c for c in self.conflicts_of_interest(nomination, reviewer) if c.kind not in overridden)
        if left:
            raise ReviewerConflict(nomination, reviewer, left)

    def assign_reviewer(self, nomination: Any, reviewer: Any, *, by: Any, override: Any = None,
                        at: Any = None) -> Assignment:
        """Assign an expert reviewer to a nomination, refusing one with a conflict of interest.

        Args:
            nomination: the nomination (object or id); not final.
            reviewer: the reviewing person (object or id).
            by: who assigns.
            override: an administrator's override: a reason (text) overriding every conflict found, or a
                mapping from conflict kind to reason overriding only those kinds. The overridden conflicts
                and their reasons are recorded on the assignment and in the journal.
            at: when (default: now).

        Returns:
            The assignment; ``.overrides`` lists the overridden conflicts with their reasons.

        Raises:
            NotFound: no such nomination or reviewer.
            ReviewerConflict: a conflict of interest that is not overridden; ``.kinds`` names them.
            InvalidValue: an override without a reason, or naming an unknown kind.
            Duplicate: the reviewer is already assigned to it.
            RuleViolation: the nomination is final (rule ``final``).
        """
        when = self._now() if at is None else self._when(at, "at")
        reasons = self._override(override)
        key = getattr(nomination, "id", nomination)
        with self._store.write() as store:
            row = store.get("nominations", key)
            if row is None:
                raise NotFound("nomination", key)
            if row["status"] in FINAL_STATUSES:
                raise RuleViolation("final", f"nomination {key!r} is {row['status']} and takes no reviewers")
            rid = self._person_id(reviewer, "reviewer")
            conflicts = self.conflicts_of_interest(key, rid)
            blocking = tuple(c for c in conflicts if c.kind not in reasons and "*" not in reasons)
            if blocking:
                raise ReviewerConflict(key, rid, blocking)
            overrides = tuple(attrs.evolve(c, reason=reasons.get(c.kind) or reasons["*"]) for c in conflicts)
            if store.one("SELECT 1 AS x FROM reviewer_assignments WHERE nomination = ? AND reviewer = ?", [key, rid]):
                raise Duplicate("nomination", "reviewer", key, shown=rid)
            assignment = Assignment(nomination=key, reviewer=rid, assigned_at=when,
                                    assigned_by=actor_text(by), overrides=overrides)
            store.insert("reviewer_assignments", {
                "nomination": key, "reviewer": rid, "assigned_at": to_utc_text(when),
                "assigned_by": assignment.assigned_by,
                "overrides": json.dumps([attrs.asdict(c) for c in overrides], ensure_ascii=False)})
            note = "; ".join(f"override {c.kind}: {c.reason}" for c in overrides)
            self._journal("assign_reviewer", "nomination", key, by=by, after={"reviewer": rid,
                          "overrides": [attrs.asdict(c) for c in overrides]}, note=note, at=when)
        return assignment

    @staticmethod
    def _override(override: Any) -> dict[str, str]:
        if override is None:
            return {}
        items = {"*": override} if isinstance(override, str) else override
        if not isinstance(items, Mapping):
            raise InvalidValue("override", "must be a reason, or a mapping from conflict kind to reason", override)
        out = {}
        for kind, reason in items.items():
            if kind != "*" and kind not in CONFLICT_KINDS:
                raise InvalidValue("override", f"must name conflict kinds among {', '.join(CONFLICT_KINDS)}", kind)
            if not isinstance(reason, str) or not reason.strip():
                raise InvalidValue("override", "must give a reason for overriding a conflict of interest", reason)
            out[kind] = clean_text(reason, "override", 2000, required=True)
        return out

    def score(self, nomination: Any, reviewer: Any, scores: Any, *, by: Any = None, at: Any = None) -> Score:
        """Record an assigned reviewer's scores on the title's weighted rubric (a second call replaces them).

        Args:
            scores: a mapping from each rubric criterion to a score from 0 to 100, or one number when the
                rubric has a single criterion.

        Returns:
            The score, with ``total`` the weighted mean (two decimals).

        Raises:
            RuleViolation: the nomination is not in expert review (rule ``expert_review``) or the reviewer
                is not assigned (rule ``assigned``).
            ReviewerConflict: a conflict of interest (arisen since assignment) that was not overridden.
            InvalidValue: missing, unknown or out-of-range criteria.
        """
        when = self._now() if at is None else self._when(at, "at")
        key = getattr(nomination, "id", nomination)
        with self._store.write() as store:
            row = store.get("nominations", key)
            if row is None:
                raise NotFound("nomination", key)
            rid = self._person_id(reviewer, "reviewer")
            if row["status"] != "expert_review":
                raise RuleViolation("expert_review", f"nomination {key!r} can be scored only in expert_review "
                                    f"(it is {row['status']})")
            assigned = store.one("SELECT * FROM reviewer_assignments WHERE nomination = ? AND reviewer = ?", [key, rid])
            if assigned is None:
                raise RuleViolation("assigned", f"'reviewer' must be assigned to nomination {key!r} (got {rid!r})")
            done = Assignment.from_row(assigned, self.zone)
            self._unresolved(key, rid, {c.kind for c in done.overrides})
            rubric = self.honour_title(row["honour"]).rubric
            values = self._scores(rubric, scores)
            total = round(sum(rubric[c] * v for c, v in values.items()) / sum(rubric.values()), 2)
            result = Score(nomination=key, reviewer=rid, scores=values, total=total, at=when)
            old = store.one("SELECT scores, total FROM review_scores WHERE nomination = ? AND reviewer = ?", [key, rid])
            store.db.execute("DELETE FROM review_scores WHERE nomination = ? AND reviewer = ?", [key, rid])
            store.insert("review_scores", {"nomination": key, "reviewer": rid, "scores": json.dumps(values),
                                           "total": total, "at": to_utc_text(when)})
            self._journal("score", "nomination", key, by=by if by is not None else rid, before=old,
                          after={"reviewer": rid, "scores": values, "total": total}, at=when)
        return result

    @staticmethod
    def _scores(rubric: Mapping[str, float], scores: Any) -> dict[str, float]:
        if isinstance(scores, (int, float)) and not isinstance(scores, bool) and len(rubric) == 1:
            scores = {next(iter(rubric)): scores}
        if not isinstance(scores, Mapping) or set(scores) != set(rubric):
            raise InvalidValue("scores", f"must score exactly the rubric's criteria {', '.join(rubric)}", scores)
        out = {}
        for name, value in scores.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                raise InvalidValue("scores", f"must give {name!r} a score from 0 to 100", value)
            out[name] = float(value)
        return out

    def reviewers(self, nomination: Any) -> list[Assignment]:
        """A nomination's reviewer assignments, in the order they were made.

        Raises:
            NotFound: no such nomination.
        """
        key = self._nomination_id(nomination)
        return [Assignment.from_row(r, self.zone) for r in self._store.rows(
            "SELECT * FROM reviewer_assignments WHERE nomination = ? ORDER BY assigned_at, rowid", [key])]

    def scores(self, nomination: Any) -> list[Score]:
        """A nomination's expert scores, by reviewer.

        Raises:
            NotFound: no such nomination.
        """
        key = self._nomination_id(nomination)
        return [Score.from_row(r, self.zone) for r in self._store.rows(
            "SELECT * FROM review_scores WHERE nomination = ? ORDER BY reviewer", [key])]

    def _nomination_id(self, nomination: Any) -> str:
        key = getattr(nomination, "id", nomination)
        if not isinstance(key, str) or self._store.get("nominations", key) is None:
            raise NotFound("nomination", key)
        return key
