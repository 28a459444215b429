"""The "我推荐我评议身边好人" flow: nominations, their stages and public endorsements.

(Named ``nominating`` rather than ``nominations`` so that it does not shadow :func:`volreg.nominations`.)

``submitted → verified (初审) → public_review (网友点赞评议) → expert_review → publicity (公示) →
awarded | not_selected``; a nomination that is not final may also become ``rejected`` (with a reason) or
``withdrawn``.  Experts may also end a nomination at ``not_selected`` without sending it to publicity.

Every state change is one ``BEGIN IMMEDIATE`` transaction that re-reads the nomination's status inside it,
so when several processes act on one nomination at once exactly one wins and the others get a clear error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from .base import actor_text, clean_text, given_id
from .errors import Duplicate, ForbiddenTransition, InvalidValue, NotFound, RuleViolation
from .honours import _COLUMN, HonoursMixin
from .model import (
    FINAL_STATUSES,
    NOMINATION_STAGES,
    NOMINATION_STATUSES,
    Nomination,
    Organisation,
    Transition,
)
from .store.db import bindable
from .timeutil import from_text, to_utc_text
from .titles import _text, parse_period

__all__ = ["NominationsMixin", "next_statuses"]

_NEXT: dict[str, tuple[str, ...]] = {
    "submitted": ("verified",),
    "verified": ("public_review",),
    "public_review": ("expert_review",),
    "expert_review": ("publicity", "not_selected"),
    "publicity": ("awarded", "not_selected"),
}
_SELECT = "SELECT n.*, h.id AS honour_record FROM nominations n LEFT JOIN honours h ON h.nomination = n.id"


def _period_end(period: str) -> date:
    """The first day after a period (``2024-03``, ``2024-Q1``, ``2024``)."""
    text, year, grain = parse_period(period)
    if grain == 2:
        return date(year + 1, 1, 1)
    month = int(text[-2:]) if grain == 0 else (int(text[-1]) - 1) * 3 + 1
    month += 1 if grain == 0 else 3
    return date(year + month // 13, (month - 1) % 12 + 1, 1)


def next_statuses(status: str) -> tuple[str, ...]:
    """The statuses a nomination may move to from ``status`` (none from a final status)."""
    if status in FINAL_STATUSES:
        return ()
    return (*_NEXT.get(status, ()), "rejected", "withdrawn")


class NominationsMixin(HonoursMixin):
    """Writes and reads of nominations, endorsements, reviewer assignments and scores."""

    # -- nominating ------------------------------------------------------------------------------------

    def nominate(
        self,
        honour: Any,
        nominee: Any,
        *,
        category: Any,
        nominator: Any,
        deed: str = "",
        period: Any = None,
        edition: Any = None,
        by: Any = None,
        at: Any = None,
        id: str | None = None,
        external_id: str | None = None,
    ) -> Nomination:
        """Nominate a person, family or group for a title; the nomination starts as ``submitted``.

        A nominee may be nominated more than once for one period (by different people, say): every
        nomination is kept, and :meth:`nominations_of` shows them together.

        Args:
            honour: the title (code or name).
            nominee: a person, volunteer, family or organisation (object or id), or a mapping of
                :meth:`add_person` arguments to create the person on the spot.
            category: an ``honour`` category of the title (None for a title without categories).
            nominator: a person or an organisation (object or id), or ``"self"`` (a nominee who nominates
                themself, also recognised when the nominator is the nominee).
            deed: the 事迹 text.
            period, edition: as for :meth:`award`; the period defaults to the one containing ``at``.
            at: when it was submitted (default: now).
            by: who acts, for the journal.

        Returns:
            The nomination.

        Raises:
            NotFound: unknown title, nominee, nominator or edition.
            InvalidValue: a bad category, period or time.
            RuleViolation: the nominee breaks a title rule (``recipient``, ``age`` on the submission date,
                or ``once``: already holds the title).
        """
        title = self.honour_title(honour)
        when = self._now() if at is None else self._when(at, "at")
        text, year, edition_id = self._period(title, period, edition, when.date())
        deed = _text(deed, "deed", 20000)
        external_id = self._external_id(external_id)
        with self._store.write() as store:
            kind, nid = self._recipient(nominee, "nominee")
            code = self._check_award(title, kind, nid, when.date(), category, field="nominee")
            by_kind, by_person, by_org = self._nominator(nominator, kind, nid)
            nomination_id = given_id(id, "nom")
            stamp = to_utc_text(when)
            store.insert("nominations", {
                "id": nomination_id, "honour": title.code, "nominee_kind": kind, "person": None, "family": None,
                "organisation": None, _COLUMN[kind]: nid, "category": code, "period": text, "year": year,
                "edition": edition_id, "nominator_kind": by_kind, "nominator_person": by_person,
                "nominator_organisation": by_org, "deed": deed, "status": "submitted", "reached": 0,
                "submitted_at": stamp, "status_at": stamp, "external_id": external_id,
            })
            self._step(nomination_id, None, "submitted", when, by, "")
            nomination = self.nomination(nomination_id)
            self._journal("create", "nomination", nomination_id, by=by, after=nomination, at=when)
        return nomination

    def _nominator(self, value: Any, kind: str, nominee: str) -> tuple[str, str | None, str | None]:
        if value == "self" or getattr(value, "id", value) == nominee:
            return "self", nominee if kind == "person" else None, nominee if kind == "group" else None
        if value is None:
            raise InvalidValue("nominator", "must be a person, an organisation or 'self'", value)
        if isinstance(value, Organisation) or (isinstance(value, str) and self._store.get("organisations", value)):
            return "organisation", None, self._ref(value, "organisation", "organisations", "nominator")
        person = self._person_id(value, "nominator")
        if kind == "person" and person == nominee:
            return "self", person, None
        return "person", person, None

    def _step(self, nomination: str, before: str | None, after: str, at: datetime, by: Any, note: str) -> None:
        self._store.insert("nomination_transitions", {
            "nomination": nomination, "from_status": before, "to_status": after, "at": to_utc_text(at),
            "actor": actor_text(by), "note": clean_text(note, "note")})

    # -- moving through the flow -----------------------------------------------------------------------

    def advance(
        self, nomination: Any, to: str, *, by: Any, note: str = "", opens: Any = None, closes: Any = None,
        at: Any = None,
    ) -> Nomination:
        """Move a nomination one stage on (or to ``rejected`` / ``withdrawn``), recording who, when and why.

        Args:
            nomination: the nomination (object or id).
            to: the next status; see :func:`next_statuses`. ``awarded`` is the same as
                :meth:`decide` with ``awarded=True``.
            by: who acts (required: every step is attributed).
            note: a note for the record; required (the reason) for ``rejected``.
            opens, closes: the window of ``public_review`` (``closes`` required; ``opens`` defaults to
                ``at``) or ``publicity`` (defaults: from ``at`` for the title's ``publicity_days``).
            at: when the step happens (default: now).

        Returns:
            The nomination as it now is.

        Raises:
            NotFound: no such nomination.
            ForbiddenTransition: the flow does not allow ``to`` from the current status.
            RuleViolation: a window is still open (rules ``public_review_open``, ``publicity_open``), or
                publicity was asked for before any expert scored it (rule ``expert_scores``).
            InvalidValue: a missing reason or window, a window that ends before it opens, or ``at`` before
                the nomination's previous step.
        """
        when = self._now() if at is None else self._when(at, "at")
        if to == "awarded":
            return self._decide(nomination, True, by=by, on=when.date(), note=note, at=when)
        if to not in NOMINATION_STATUSES:
            raise InvalidValue("to", f"must be one of {', '.join(NOMINATION_STATUSES)}", to)
        if (opens is not None or closes is not None) and to not in ("public_review", "publicity"):
            raise InvalidValue("opens", "applies only to 'public_review' and 'publicity'", to)
        start = when if opens is None else self._when(opens, "opens")
        end = None if closes is None else self._when(closes, "closes")

        def prepare(row: Mapping[str, Any]) -> dict[str, Any]:
            if to == "rejected" and not note.strip():
                raise InvalidValue("note", "must give the reason for rejecting a nomination", note)
            if to in ("rejected", "withdrawn"):
                return {"reason": note.strip()}
            if to == "public_review":
                if end is None:
                    raise InvalidValue("closes", "is required: when public review (网友点赞评议) closes")
                return self._window("review", start, end)
            if to == "expert_review":
                self._after(row, "review_closes", when, "public_review_open", "public review")
            if to == "publicity":
                if not self._store.scalar("SELECT count(*) FROM review_scores WHERE nomination = ?", [row["id"]]):
                    raise RuleViolation("expert_scores", f"nomination {row['id']!r} needs at least one expert "
                                        "score before publicity (公示)")
                days = self.honour_title(row["honour"]).publicity_days
                return self._window("publicity", start, end or start + timedelta(days=days))
            if to == "not_selected" and row["status"] == "publicity":
                self._after(row, "publicity_closes", when, "publicity_open", "publicity (公示)")
            return {}

        return self._move(nomination, to, by=by, note=note, at=when, prepare=prepare)

    @staticmethod
    def _window(name: str, opens: datetime, closes: datetime) -> dict[str, Any]:
        if closes <= opens:
            raise InvalidValue("closes", "must be after 'opens'", shown=f"{opens:%Y-%m-%d %H:%M} → {closes:%Y-%m-%d %H:%M}")
        return {f"{name}_opens": to_utc_text(opens), f"{name}_closes": to_utc_text(closes)}

    def _after(self, row: Mapping[str, Any], column: str, when: datetime, rule: str, what: str) -> None:
        closes = from_text(row[column], self.zone)
        if closes is not None and when < closes:
            raise RuleViolation(rule, f"nomination {row['id']!r} is still in {what} until "
                                f"{closes:%Y-%m-%d %H:%M} (got {when:%Y-%m-%d %H:%M})")

    def _move(self, nomination: Any, to: str, *, by: Any, note: str, at: datetime, prepare: Any) -> Nomination:
        key = getattr(nomination, "id", nomination)
        with self._store.write() as store:
            # Re-read inside the write lock: a concurrent writer may have moved it since the caller looked.
            row = store.get("nominations", key)
            if row is None:
                raise NotFound("nomination", key)
            current = row["status"]
            allowed = next_statuses(current)
            if to not in allowed:
                raise ForbiddenTransition(key, current, to, allowed)
            last = from_text(row["status_at"], self.zone)
            if last is not None and at < last:
                raise InvalidValue("at", f"must not be before the nomination's last step ({last:%Y-%m-%d %H:%M})",
                                   shown=f"{at:%Y-%m-%d %H:%M}")
            changes = prepare(row)
            reached = NOMINATION_STAGES.index(to) if to in NOMINATION_STAGES else row["reached"]
            changes.update(status=to, status_at=to_utc_text(at), reached=max(reached, row["reached"]))
            store.update("nominations", key, changes)
            self._step(key, current, to, at, by, note)
            after = self.nomination(key)
            self._journal("status", "nomination", key, by=by, before={"status": current},
                          after={"status": to}, note=note, at=at)
        return after

    def decide(self, nomination: Any, *, awarded: bool, by: Any, on: Any = None, note: str = "",
               at: Any = None, deed: str | None = None) -> Nomination:
        """Decide a nomination after its publicity (公示) has ended: award it, or end it as not selected.

        An award creates the honour record (dated ``on``, linked to the nomination) in the same transaction,
        after checking the title's rules again on that date (age, ``once``).

        Args:
            awarded: True to award, False for ``not_selected``.
            by: who decides.
            on: the award date (default: today); not before publicity closes.
            at: when the decision is recorded (default: now).
            deed: the honour's 事迹 text (default: the nomination's).

        Returns:
            The nomination; ``.honour_record`` is the new honour's id when awarded.

        Raises:
            ForbiddenTransition: the nomination is not in publicity.
            RuleViolation: publicity has not ended (rule ``publicity_open``), or a title rule is broken.
        """
        when = self._now() if at is None else self._when(at, "at")
        day = when.date() if on is None else self._day(on, "on")
        return self._decide(nomination, awarded, by=by, on=day, note=note, at=when, deed=deed)

    def _decide(self, nomination: Any, awarded: bool, *, by: Any, on: Any, note: str, at: datetime,
                deed: str | None = None) -> Nomination:
        to = "awarded" if awarded else "not_selected"

        def prepare(row: Mapping[str, Any]) -> dict[str, Any]:
            if row["status"] != "publicity":
                raise ForbiddenTransition(row["id"], row["status"], to, next_statuses(row["status"]))
            self._after(row, "publicity_closes", at, "publicity_open", "publicity (公示)")
            closes = from_text(row["publicity_closes"], self.zone)
            if closes is not None and on < closes.date():
                raise InvalidValue("on", f"must not be before publicity closes ({closes:%Y-%m-%d})", on.isoformat())
            if awarded:
                self._award(
                    self.honour_title(row["honour"]), row[_COLUMN[row["nominee_kind"]]], category=row["category"],
                    period=row["period"], edition=row["edition"], awarded_on=on,
                    deed=row["deed"] if deed is None else deed, by=by, nomination=row["id"])
            return {}

        return self._move(nomination, to, by=by, note=note, at=at, prepare=prepare)

    # -- past rounds ---------------------------------------------------------------------------------------

    def record_past_stage(self, nomination: Any, stage: str, *, by: Any, at: Any = None,
                          awarded_on: Any = None) -> Nomination:
        """Record how far a nomination of a past round got, without inventing the steps on the way.

        For loading the results of rounds run elsewhere (a spreadsheet of 已推荐/初审通过/.../当选/未当选):
        endorsements, reviewers, scores and publicity windows are not made up. One step is recorded, from
        ``submitted`` to the outcome, noting the stage reached; :func:`volreg.nomination_funnel` then counts
        every stage up to it. A nomination whose round has closed (its period ended before today) and that
        stopped short of ``awarded`` ends ``not_selected`` having reached that stage; in a round still open
        it stays at that stage. ``awarded`` creates the honour record, dated ``awarded_on`` (default: the
        date of ``at``), after checking the title's rules. ``not_selected`` alone means the nominee was not
        chosen after expert review (the earliest stage from which the flow ends that way).

        Args:
            nomination: a nomination still ``submitted`` with no later step.
            stage: one of ``NOMINATION_STAGES`` or ``not_selected``.
            by: who records it.
            at: when the stage was reached (default: the submission time).
            awarded_on: the award date for ``awarded``.

        Returns:
            The nomination as it now is.

        Raises:
            InvalidValue: an unknown stage, or ``at`` before the submission.
            RuleViolation: the nomination has already moved (rule ``past_stage``), or a title rule of the
                award is broken.
        """
        if stage not in (*NOMINATION_STAGES, "not_selected"):
            raise InvalidValue("stage", f"must be one of {', '.join((*NOMINATION_STAGES, 'not_selected'))}", stage)
        key = getattr(nomination, "id", nomination)
        with self._store.write() as store:
            row = store.get("nominations", key)
            if row is None:
                raise NotFound("nomination", key)
            steps = store.scalar("SELECT count(*) FROM nomination_transitions WHERE nomination = ?", [key])
            if row["status"] != "submitted" or steps != 1:
                raise RuleViolation("past_stage", f"nomination {key!r} has already moved past 'submitted'; a past "
                                    "stage is recorded only on a freshly loaded nomination")
            submitted = from_text(row["submitted_at"], self.zone)
            assert submitted is not None
            when = submitted if at is None else self._when(at, "at")
            if when < submitted:
                raise InvalidValue("at", f"must not be before the nomination was submitted ({submitted:%Y-%m-%d})",
                                   shown=f"{when:%Y-%m-%d %H:%M}")
            reached = NOMINATION_STAGES.index("expert_review" if stage == "not_selected" else stage)
            closed = _period_end(row["period"]) <= self._now().date()
            to = stage if stage in ("awarded", "not_selected") or not closed else "not_selected"
            if to == "awarded":
                on = when.date() if awarded_on is None else self._day(awarded_on, "awarded_on")
                self._award(self.honour_title(row["honour"]), row[_COLUMN[row["nominee_kind"]]],
                            category=row["category"], period=row["period"], edition=row["edition"],
                            awarded_on=on, deed=row["deed"], by=by, nomination=key)
            note = f"past round: reached {NOMINATION_STAGES[reached]}" + ("" if to == stage else ", round closed")
            if to != "submitted":
                store.update("nominations", key, {"status": to, "status_at": to_utc_text(when), "reached": reached})
                self._step(key, "submitted", to, when, by, note)
            else:
                store.update("nominations", key, {"reached": reached})
            self._journal("status", "nomination", key, by=by, before={"status": "submitted"},
                          after={"status": to, "reached": NOMINATION_STAGES[reached]}, note=note, at=when)
            return self.nomination(key)

    # -- public review -----------------------------------------------------------------------------------

    def endorse(self, nomination: Any, voter: Any, *, at: Any = None, comment: str = "") -> int:
        """Record one public endorsement (网友点赞) while public review is open.

        The voter's identity (a person, or any text such as a phone number or account id) is kept only as a
        keyed digest: one endorsement per voter per nomination can be enforced without storing who voted.

        Args:
            nomination: the nomination (object or id).
            voter: who endorses.
            at: when (default: now); must be inside the window, which is half-open [opens, closes).
            comment: an optional comment (评议).

        Returns:
            The nomination's number of endorsements, this one included.

        Raises:
            NotFound: no such nomination.
            InvalidValue: a blank voter.
            RuleViolation: the nomination is not in public review or the window is not open (rule
                ``public_review_window``).
            Duplicate: this voter already endorsed this nomination.
        """
        identity = getattr(voter, "id", voter)
        if not isinstance(identity, str) or not identity.strip() or len(identity) > 200 or not bindable(identity):
            # The voter may be a phone number or an account: never echo it.
            raise InvalidValue("voter", "must identify the voter as text of at most 200 characters",
                               shown="(blank)" if isinstance(identity, str) and not identity.strip() else
                               type(identity).__name__)
        secret = self._digest("endorsement_voter", identity.strip())
        when = self._now() if at is None else self._when(at, "at")
        key = getattr(nomination, "id", nomination)
        with self._store.write() as store:
            row = store.get("nominations", key)
            if row is None:
                raise NotFound("nomination", key)
            opens, closes = from_text(row["review_opens"], self.zone), from_text(row["review_closes"], self.zone)
            if row["status"] != "public_review" or opens is None or closes is None or not opens <= when < closes:
                window = f"{opens:%Y-%m-%d %H:%M} – {closes:%Y-%m-%d %H:%M}" if opens and closes else "none"
                raise RuleViolation(
                    "public_review_window", f"'at' must be while public review of {key!r} is open "
                    f"(status {row['status']}, window {window}) (got {when:%Y-%m-%d %H:%M})")
            if store.one("SELECT 1 AS x FROM endorsements WHERE nomination = ? AND voter = ?", [key, secret]):
                raise Duplicate("nomination", "voter", key)
            store.insert("endorsements", {"nomination": key, "voter": secret, "at": to_utc_text(when),
                                          "comment": _text(comment, "comment", 2000)})
            count = int(store.scalar("SELECT count(*) FROM endorsements WHERE nomination = ?", [key]))
        return count

    def endorsement_count(self, nomination: Any) -> int:
        """How many endorsements a nomination has."""
        key = getattr(nomination, "id", nomination)
        return int(self._store.scalar("SELECT count(*) FROM endorsements WHERE nomination = ?", [key]))

    # -- reads ------------------------------------------------------------------------------------------

    def nomination(self, id: Any) -> Nomination:
        """The nomination with this id.

        Raises:
            NotFound: no such nomination.
        """
        row = self._store.one(_SELECT + " WHERE n.id = ?", [getattr(id, "id", id)])
        if row is None:
            raise NotFound("nomination", id)
        return Nomination.from_row(row, self.zone)

    def nominations_of(self, nominee: Any, *, honour: Any = None, period: Any = None) -> list[Nomination]:
        """Every nomination of one nominee, duplicates included, oldest first.

        Raises:
            NotFound: no such nominee or title.
        """
        kind, nid = self._recipient(nominee, "nominee")
        code = None if honour is None else self.honour_title(honour).code
        period = None if period is None else parse_period(period)[0]
        return [Nomination.from_row(r, self.zone) for r in self._store.rows(
            _SELECT + f" WHERE n.[{_COLUMN[kind]}] = ? AND (? IS NULL OR n.honour = ?) AND (? IS NULL OR n.period = ?)"
            " ORDER BY n.submitted_at, n.id", [nid, code, code, period, period])]

    def duplicate_nominations(self, *, honour: Any = None, period: Any = None) -> Iterator[list[Nomination]]:
        """Groups of two or more nominations of one nominee for one title and period, shown together."""
        code = None if honour is None else self.honour_title(honour).code
        period = None if period is None else parse_period(period)[0]
        rows = list(self._store.rows(
            "SELECT * FROM (SELECT n.*, h.id AS honour_record, count(*) OVER (PARTITION BY n.honour, n.period, "
            "coalesce(n.person, n.family, n.organisation)) AS copies FROM nominations n "
            "LEFT JOIN honours h ON h.nomination = n.id WHERE (? IS NULL OR n.honour = ?) AND (? IS NULL OR n.period = ?)) "
            "WHERE copies > 1 ORDER BY honour, period, coalesce(person, family, organisation), submitted_at, id",
            [code, code, period, period]))
        groups: dict[tuple[str, str, str], list[Nomination]] = {}
        for row in rows:
            item = Nomination.from_row(row, self.zone)
            groups.setdefault((item.honour, item.period, item.nominee), []).append(item)
        return iter(groups.values())

    def transitions(self, nomination: Any) -> list[Transition]:
        """A nomination's steps, oldest first, each with who, when and the note.

        Raises:
            NotFound: no such nomination.
        """
        key = self.nomination(nomination).id
        return [Transition.from_row(r, self.zone) for r in self._store.rows(
            "SELECT * FROM nomination_transitions WHERE nomination = ? ORDER BY seq", [key])]
