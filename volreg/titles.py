"""Honour titles and their editions: titles are data (a city defines its own beside the national ones).

Also the reading of periods (``2024-03``, ``2024-Q1``, ``2024``) and their check against a title's cadence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

import attrs

from .base import RegistryBase, clean_text, given_id, items_of
from .errors import Duplicate, InvalidValue, NotFound, RuleViolation
from .model import (
    CADENCES,
    HONOUR_LEVELS,
    RECIPIENT_KINDS,
    Edition,
    HonourTitle,
)
from .store.db import bindable

__all__ = ["TitlesMixin", "parse_period", "STANDARD_CATEGORIES"]

STANDARD_CATEGORIES = ("helping_others", "bravery", "honesty", "dedication", "filial_piety")
"""助人为乐, 见义勇为, 诚实守信, 敬业奉献, 孝老爱亲: the categories of 中国好人榜 and 道德模范 (中央文明办)."""

_RANK = {level: len(HONOUR_LEVELS) - i for i, level in enumerate(HONOUR_LEVELS)}
_GRAIN = {"monthly": 0, "quarterly": 1, "annual": 2, "edition": 2}
_COLUMN = {"person": "person", "family": "family", "group": "organisation"}
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def parse_period(value: Any, field: str = "period") -> tuple[str, int, int]:
    """Read a period: ``2024-03`` (a month), ``2024-Q1`` (a quarter) or ``2024`` (a year).

    ``2024年3月``, ``2024年`` and an integer year are accepted too.

    Returns:
        The canonical text, the year, and the grain (0 month, 1 quarter, 2 year).

    Raises:
        InvalidValue: the value is not one of these forms.
    """
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    text = text.replace("年", "-").replace("月", "").rstrip("-").upper()
    if m := re.fullmatch(r"(\d{4})", text):
        return text, int(m[1]), 2
    if m := re.fullmatch(r"(\d{4})-?Q([1-4])", text):
        return f"{m[1]}-Q{m[2]}", int(m[1]), 1
    if (m := re.fullmatch(r"(\d{4})-(\d{1,2})", text)) and 1 <= int(m[2]) <= 12:
        return f"{m[1]}-{int(m[2]):02d}", int(m[1]), 0
    raise InvalidValue(field, "must be a period such as '2024-03', '2024-Q1' or '2024'", value)


def _period_of(day: date, cadence: str) -> str:
    if cadence == "monthly":
        return f"{day.year}-{day.month:02d}"
    if cadence == "quarterly":
        return f"{day.year}-Q{(day.month + 2) // 3}"
    return str(day.year)


def _text(value: Any, field: str, limit: int) -> str:
    return clean_text(value, field, limit)


def _age(value: Any) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    parts: Any = value
    if isinstance(value, str):
        parts = re.split(r"\s*[-–~至到]\s*", value.strip())
    try:
        low, high = (None if p in (None, "") else int(p) for p in parts)
    except (TypeError, ValueError):
        raise InvalidValue("age", "must be (min, max) years such as (6, 18) or '6-18'", value) from None
    if (low is not None and low < 0) or (low is not None and high is not None and high < low):
        raise InvalidValue("age", "must be a range of ages >= 0 with min <= max", value)
    return low, high


def _rubric(value: Any) -> dict[str, float]:
    if value is None:
        return {"overall": 1.0}
    if not isinstance(value, Mapping) or not value:
        raise InvalidValue("rubric", "must map criteria to weights, e.g. {'deeds': 0.6, 'influence': 0.4}", value)
    out: dict[str, float] = {}
    for name, weight in value.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidValue("rubric", "must name each criterion", name)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise InvalidValue("rubric", f"must give criterion {name!r} a positive weight", weight)
        out[name.strip()] = float(weight)
    return out


class TitlesMixin(RegistryBase):
    """Writes and reads of honour titles and editions."""

    # -- titles ---------------------------------------------------------------------------------------

    def _title_row(self, value: Any) -> dict[str, Any] | None:
        key = getattr(value, "code", value)
        if not isinstance(key, str) or not bindable(key):
            return None
        return self._store.one("SELECT * FROM honour_titles WHERE code = ? OR name = ?", [key.strip(), key.strip()])

    def honour_title(self, honour: Any) -> HonourTitle:
        """The title with this code or name (``"china_good_person"`` or ``"中国好人"``).

        Raises:
            NotFound: no such title.
        """
        row = self._title_row(honour)
        if row is None:
            raise NotFound("honour title", getattr(honour, "code", honour))
        lower = [r["counts_as"] for r in self._store.rows(
            "SELECT counts_as FROM honour_counts_as WHERE honour = ?", [row["code"]])]
        return HonourTitle.from_row(row, lower)

    def honour_titles(self, *, level: str | None = None) -> Iterator[HonourTitle]:
        """Every title, highest level first, then by code; optionally only one level."""
        codes = [r["code"] for r in self._store.rows(
            "SELECT code, level FROM honour_titles WHERE ? IS NULL OR level = ?", [level, level])]
        return iter(sorted((self.honour_title(c) for c in codes), key=lambda t: (-_RANK[t.level], t.code)))

    def _related_titles(self, values: Iterable[Any], field: str, title: HonourTitle, lower: bool) -> list[str]:
        codes = []
        for value in (values,) if isinstance(values, str) else values:
            other = self.honour_title(value)
            if (_RANK[other.level] < _RANK[title.level]) != lower or other.level == title.level:
                want = "lower" if lower else "higher"
                raise RuleViolation(
                    "counts_as_lower",
                    f"'{field}' must name titles at a {want} level than {title.name} ({title.level}) "
                    f"(got {other.name}, {other.level})",
                )
            if other.recipient != title.recipient:
                raise RuleViolation(
                    "counts_as_recipient",
                    f"'{field}' must name titles for the same recipient kind as {title.name} "
                    f"({title.recipient}) (got {other.name}, {other.recipient})",
                )
            codes.append(other.code)
        return codes

    def _checked_title(self, title: HonourTitle) -> HonourTitle:
        if title.level not in HONOUR_LEVELS:
            raise InvalidValue("level", f"must be one of {', '.join(HONOUR_LEVELS)}", title.level)
        if title.recipient not in RECIPIENT_KINDS:
            raise InvalidValue("recipient", f"must be one of {', '.join(RECIPIENT_KINDS)}", title.recipient)
        if title.cadence not in CADENCES:
            raise InvalidValue("cadence", f"must be one of {', '.join(CADENCES)}", title.cadence)
        if (title.age_min is not None or title.age_max is not None) and title.recipient != "person":
            raise InvalidValue("age", "can only limit titles awarded to a person", (title.age_min, title.age_max))
        pd = title.publicity_days
        if isinstance(pd, bool) or not isinstance(pd, int) or not 1 <= pd <= 366:
            raise InvalidValue("publicity_days", "must be a whole number of days from 1 to 366", pd)
        return title

    def define_honour(
        self,
        code: str,
        name: str,
        *,
        level: str,
        recipient: str = "person",
        cadence: str = "annual",
        categories: Iterable[Any] | None = None,
        age: Any = None,
        once: bool = True,
        counts_as: Iterable[Any] = (),
        counted_from: Iterable[Any] = (),
        rubric: Mapping[str, float] | None = None,
        publicity_days: int = 7,
        by: Any = None,
    ) -> HonourTitle:
        """Define an honour title, such as the city's 雄关好人 or 新时代嘉峪关好少年.

        Args:
            code: a stable lower-case English code (``xiongguan_good_person``).
            name: the title as published (``雄关好人``); code and name are both accepted everywhere.
            level: ``national``, ``provincial``, ``city`` or ``district``.
            recipient: ``person``, ``family`` or ``group`` (an organisation).
            cadence: ``monthly``, ``quarterly``, ``annual`` or ``edition`` (numbered 届).
            categories: codes or labels of the ``honour`` vocabulary; None means the five standard ones
                (助人为乐, 见义勇为, 诚实守信, 敬业奉献, 孝老爱亲); empty means the title has no categories.
            age: inclusive ages on the award date, e.g. ``(6, 18)`` or ``"6-18"``; either end may be None.
            once: a recipient holds the title at most once.
            counts_as: lower titles on which this title's holders automatically count in the award's year.
            counted_from: higher titles whose holders automatically count on this one (e.g. 中国好人 for
                雄关好人); the same link as ``counts_as``, written from the lower title.
            rubric: expert-review criteria and weights; default ``{"overall": 1}``.
            publicity_days: default length of the 公示 period.
            by: who acts, for the journal.

        Returns:
            The new title.

        Raises:
            InvalidValue: a bad code, name, level, recipient, cadence, category, age or rubric.
            Duplicate: the code or name is already a title's code or name.
            NotFound: a title in ``counts_as`` or ``counted_from`` does not exist.
            RuleViolation: ``counts_as`` names a title that is not lower or not for the same recipient kind.
        """
        if not isinstance(code, str) or not _CODE.match(code.strip()):
            raise InvalidValue("code", "must be a lower-case English code such as 'xiongguan_good_person'", code)
        code, name = code.strip(), _text(name, "name", 100)
        if not name:
            raise InvalidValue("name", "must not be empty", name)
        cats = STANDARD_CATEGORIES if categories is None else items_of(categories, "categories")
        low, high = _age(age)
        title = self._checked_title(HonourTitle(
            code=code, name=name, level=level, recipient=recipient, cadence=cadence,
            categories=[self._category(c, "honour", "categories") for c in cats],
            age_min=low, age_max=high, once=bool(once), rubric=_rubric(rubric), publicity_days=publicity_days,
        ))
        lower = self._related_titles(items_of(counts_as, "counts_as"), "counts_as", title, lower=True)
        higher = self._related_titles(items_of(counted_from, "counted_from"), "counted_from", title, lower=False)
        title = attrs.evolve(title, counts_as=sorted(lower))
        with self._store.write() as store:
            for field, value in (("code", code), ("name", name)):
                clash = self._title_row(value)
                if clash:
                    raise Duplicate("honour title", field, clash["code"], shown=value)
            store.insert("honour_titles", self._title_record(title))
            store.insert_many("honour_counts_as", [{"honour": code, "counts_as": c} for c in lower]
                              + [{"honour": h, "counts_as": code} for h in higher])
            self._journal("create", "honour_title", code, by=by, after=title)
            for h in higher:
                self._journal("counts_as", "honour_title", h, by=by, after={"counts_as": code})
        return title

    @staticmethod
    def _title_record(title: HonourTitle) -> dict[str, Any]:
        return {
            "code": title.code, "name": title.name, "level": title.level, "recipient": title.recipient,
            "cadence": title.cadence, "categories": json.dumps(list(title.categories)),
            "age_min": title.age_min, "age_max": title.age_max, "once": int(title.once),
            "rubric": json.dumps(title.rubric, ensure_ascii=False), "publicity_days": title.publicity_days,
            "predefined": int(title.predefined),
        }

    def update_honour(self, honour: Any, *, by: Any = None, **changes: Any) -> HonourTitle:
        """Change a title's ``name``, ``categories``, ``age``, ``once``, ``counts_as`` (replacing the list),
        ``rubric`` or ``publicity_days``; level, recipient and cadence are fixed once defined.

        Records already made stay as they are; a later ``check()`` reports those that break the new rules.

        Raises:
            NotFound: no such title (or a title in ``counts_as``).
            InvalidValue: a bad value, or a field that cannot be changed.
            RuleViolation: ``counts_as`` names a title that is not lower or not for the same recipient kind.
        """
        old = self.honour_title(honour)
        allowed = ("name", "categories", "age", "once", "counts_as", "rubric", "publicity_days")
        clean: dict[str, Any] = {}
        for field, value in changes.items():
            if field not in allowed:
                raise InvalidValue(field, f"cannot be changed with update_honour (only {', '.join(allowed)})", value)
        if "name" in changes:
            clean["name"] = _text(changes["name"], "name", 100)
            clash = self._title_row(clean["name"])
            if not clean["name"] or (clash and clash["code"] != old.code):
                raise InvalidValue("name", "must be a new, non-empty title name", changes["name"])
        if "categories" in changes:
            clean["categories"] = [self._category(c, "honour", "categories")
                                   for c in items_of(changes["categories"], "categories")]
        if "age" in changes:
            clean["age_min"], clean["age_max"] = _age(changes["age"])
        if "once" in changes:
            clean["once"] = bool(changes["once"])
        if "rubric" in changes:
            clean["rubric"] = _rubric(changes["rubric"])
        if "publicity_days" in changes:
            clean["publicity_days"] = changes["publicity_days"]
        new = self._checked_title(attrs.evolve(old, **clean))
        if "counts_as" in changes:
            new = attrs.evolve(new, counts_as=sorted(self._related_titles(
                items_of(changes["counts_as"], "counts_as"), "counts_as", new, True)))
        with self._store.write() as store:
            record = self._title_record(new)
            store.update("honour_titles", old.code, {k: v for k, v in record.items() if k != "code"}, pk="code")
            if "counts_as" in changes:
                store.db.execute("DELETE FROM honour_counts_as WHERE honour = ?", [old.code])
                store.insert_many("honour_counts_as", [{"honour": old.code, "counts_as": c} for c in new.counts_as])
            self._journal("update", "honour_title", old.code, by=by, before=old, after=new)
        return new

    # -- editions -------------------------------------------------------------------------------------

    def add_edition(
        self, honour: Any, number: int, *, year: int, ceremony_on: Any = None, title: str | None = None,
        id: str | None = None, by: Any = None,
    ) -> Edition:
        """Add a numbered edition (届) of a title, e.g. the 6th edition of the city's 道德模范.

        Args:
            honour: the title (code or name).
            number: the edition's number, from 1.
            year: the year it belongs to; its awards count in that year.
            ceremony_on: the release-ceremony date.
            title: e.g. ``第六届嘉峪关市道德模范``.

        Returns:
            The new edition.

        Raises:
            NotFound: no such title.
            InvalidValue: a number below 1, a bad year or date.
            Duplicate: the title already has an edition with this number.
        """
        t = self.honour_title(honour)
        for field, value, low in (("number", number, 1), ("year", year, 1949)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 2200:
                raise InvalidValue(field, f"must be a whole number >= {low}", value)
        edition = Edition(
            id=given_id(id, "edn"), honour=t.code, number=number, year=year,
            ceremony_on=None if ceremony_on is None else self._day(ceremony_on, "ceremony_on"),
            title=_text(title, "title", 200),
        )
        with self._store.write() as store:
            clash = store.one("SELECT id FROM honour_editions WHERE honour = ? AND number = ?", [t.code, number])
            if clash:
                raise Duplicate("edition", "number", clash["id"], shown=str(number))
            store.insert("honour_editions", {
                "id": edition.id, "honour": t.code, "number": number, "year": year, "title": edition.title,
                "ceremony_on": edition.ceremony_on.isoformat() if edition.ceremony_on else None})
            self._journal("create", "edition", edition.id, by=by, after=edition)
        return edition

    def edition(self, id: Any) -> Edition:
        """The edition with this id.

        Raises:
            NotFound: no such edition.
        """
        row = self._store.get("honour_editions", getattr(id, "id", id))
        if row is None:
            raise NotFound("edition", id)
        return Edition.from_row(row)

    def editions(self, honour: Any) -> list[Edition]:
        """A title's editions, by number."""
        code = self.honour_title(honour).code
        return [Edition.from_row(r) for r in self._store.rows(
            "SELECT * FROM honour_editions WHERE honour = ? ORDER BY number", [code])]

    def _edition(self, title: HonourTitle, value: Any) -> Edition:
        if isinstance(value, int) and not isinstance(value, bool):
            row = self._store.one("SELECT * FROM honour_editions WHERE honour = ? AND number = ?", [title.code, value])
            if row is None:
                raise NotFound("edition", f"{title.name} #{value}")
            return Edition.from_row(row)
        edition = self.edition(value)
        if edition.honour != title.code:
            raise InvalidValue("edition", f"must be an edition of {title.name}", edition.id)
        return edition

    def award_period(self, honour: Any, *, period: Any = None, edition: Any = None,
                     on: Any) -> tuple[str, int, str | None]:
        """The period an award or nomination of ``honour`` on ``on`` counts in, checked against the title's cadence.

        Args:
            honour: the title (object, code or name).
            period: ``2024-03``, ``2024-Q1`` or ``2024`` (default: the period ``on`` falls in).
            edition: the edition (object, id or number), required for titles awarded in numbered editions.
            on: the day of the award or nomination.

        Returns:
            The canonical period text, the year it counts in, and the edition's id (or None).

        Raises:
            InvalidValue: a period coarser than the title's cadence, outside the edition's year, or a missing
                edition.
            NotFound: no such title or edition.
        """
        title = honour if isinstance(honour, HonourTitle) else self.honour_title(honour)
        return self._period(title, period, edition, self._day(on, "on"))

    def _period(self, title: HonourTitle, period: Any, edition: Any, on: date) -> tuple[str, int, str | None]:
        """The period text, the year it counts in and the edition id, checked against the title's cadence."""
        ed = None if edition is None else self._edition(title, edition)
        if title.cadence == "edition" and ed is None:
            raise InvalidValue("edition", f"is required for {title.name}, which is awarded in numbered editions")
        if period is None:
            text = str(ed.year) if ed and _GRAIN[title.cadence] == 2 else _period_of(on, title.cadence)
            text, year, grain = parse_period(text)
        else:
            text, year, grain = parse_period(period)
            if grain > _GRAIN[title.cadence]:
                raise InvalidValue(
                    "period", f"must be a {title.cadence} period (or finer) for {title.name}", period)
        if ed is not None and year != ed.year:
            raise InvalidValue("period", f"must fall in the edition's year {ed.year}", text)
        return text, year, None if ed is None else ed.id
