"""Importing honour lists (荣誉名单) and nominations (推荐表), through ``registry.award`` and ``registry.nominate``.

The honoured or nominated person is named by resident ID number (身份证号), found through its keyed digest,
or else by a name (姓名) that only one person in the registry has. A row whose ID number is new and that
gives a name adds the person on the spot (honour lists name many people who never registered as
volunteers). A family or group (文明家庭, a collective) is named in a 获评对象 column by id or name instead.
The title is named by code or name (``中国好人`` or ``china_good_person``), the edition by number
(``6``, ``第六届``).

Identity without an external id: for honours, the same title, recipient, period, edition, grade and category (the
registry refuses a second such honour anyway); for nominations, the same title, nominee, period and
nominator, so a second nomination of one person by someone else is kept, as the registry keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import InvalidValue
from ..honours import honour_links
from . import values as v
from .importer import Field, ImportContext, KindHandler, register_kind

__all__ = ["HonoursHandler", "NominationsHandler", "STAGE_LABELS", "edition_number"]

_COLUMN = {"person": "person", "family": "family", "group": "organisation"}
_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_GRADES = {"获奖": "winner", "当选": "winner", "winner": "winner", "提名奖": "nomination_award",
           "nomination_award": "nomination_award"}
_SELF = {"self", "本人", "自荐", "自己"}
STAGE_LABELS = {
    "已推荐": "submitted", "推荐": "submitted", "已提交": "submitted", "初审通过": "verified", "初审": "verified",
    "评议": "public_review", "网友评议": "public_review", "网友点赞评议": "public_review",
    "专家评审": "expert_review", "公示": "publicity", "当选": "awarded", "获评": "awarded",
    "未当选": "not_selected", "落选": "not_selected",
    "recommended": "submitted", "nominated": "submitted", "public review": "public_review",
    "expert review": "expert_review", "winner": "awarded", "selected": "awarded", "not selected": "not_selected",
}
"""How a nominations file's stage column (阶段) is read: the flow's stage codes, their Chinese names and
English equivalents."""
_STAGES = ("submitted", "verified", "public_review", "expert_review", "publicity", "awarded", "not_selected")


def edition_number(value: Any, field: str = "edition") -> int:
    """An edition number: ``6``, ``第6届``, ``第六届``, ``第十二届``."""
    text = re.sub(r"^第|届$", "", str(value).strip()).strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    if text and all(ch in _DIGITS or ch == "十" for ch in text) and text.count("十") <= 1:
        tens, _, units = text.partition("十")
        if "十" in text:
            number = (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0)
        else:
            number = _DIGITS[text] if len(text) == 1 else 0
        if number >= 1:
            return number
    raise InvalidValue(field, "must be an edition number such as 6 or 第六届", value)


def _year_only(value: Any) -> int | None:
    """The year of a cell that gives only a year (``1991``, ``1991年``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1000 <= value <= 9999 else None
    match = re.fullmatch(r"(\d{4})年?", str(value).strip())
    return int(match[1]) if match else None


def _person(ctx: ImportContext, values: Mapping[str, Any], name_field: str) -> str | dict[str, Any]:
    """A person's id, or the ``add_person`` arguments of a person the row adds.

    A person is found by document (证件类型 and 证件号码, or 身份证号), else by a name only one person has. A
    new document with a name adds the person; a name alone adds a person without a document only when the
    import was asked to (``create_people=True``).
    """
    registry = ctx.registry
    name = None if values.get(name_field) is None else v.text(values[name_field], name_field, 200)
    doc = v.document(ctx, values)
    if doc is not None:
        found = registry.session.scalar("SELECT id FROM people WHERE id_digest = ?", [v.document_digest(ctx, doc)])
        if found:
            return str(found)
        if name is None:
            raise InvalidValue("id_number", f"must belong to a person in the registry, or the row must give "
                                            f"the name ({name_field}) to add them", shown=doc.masked)
        return {"name": name, "id_type": doc.id_type, "id_number": doc.number, "id_country": doc.country}
    if name is None:
        raise InvalidValue(name_field, "or 'id_number' (身份证号) or 'recipient' (获评对象) must name who it is", None)
    rows = list(registry.session.rows("SELECT id FROM people WHERE name = ? LIMIT 2", [name]))
    if len(rows) == 1:
        return str(rows[0]["id"])
    if rows:
        raise InvalidValue(name_field, "must name one person, but several have this name; give the ID number", name)
    if ctx.create_people:
        return {"name": name, "id_type": "none"}
    raise InvalidValue(name_field, "must name a person in the registry, or the row must give the ID number "
                                   "(身份证号) to add them, or import with create_people=True", name)


def _recipient(ctx: ImportContext, value: Any) -> tuple[str, str]:
    """A family or group named by id or name (organisations also by external id)."""
    key = str(value).strip()
    store = ctx.registry.session.store
    if store.get("families", key):
        return "family", key
    families = list(store.rows("SELECT id FROM families WHERE name = ? LIMIT 2", [key]))
    if len(families) == 1:
        return "family", str(families[0]["id"])
    return "group", v.organisation_ref(ctx, key, "recipient")


def _who(ctx: ImportContext, values: Mapping[str, Any], name_field: str) -> tuple[str, Any]:
    """(kind, id or add_person mapping) of the recipient or nominee a row names."""
    if values.get("recipient") is not None:
        return _recipient(ctx, values["recipient"])
    return "person", _person(ctx, values, name_field)


def _title_fields(ctx: ImportContext, values: Mapping[str, Any], on: Any) -> dict[str, Any]:
    """The title, period, year and edition id of a row, checked against the title's cadence."""
    registry = ctx.registry
    title = registry.honour_title(str(values["honour"]).strip())
    edition = None if values.get("edition") is None else edition_number(values["edition"])
    period = None if values.get("period") is None else str(values["period"]).strip()
    text, year, edition_id = registry.award_period(title, period=period, edition=edition, on=on)
    category = None if values.get("category") is None else registry.session.category(
        str(values["category"]).strip(), "honour")
    return {"title": title, "period": text, "year": year, "edition": edition_id, "edition_number": edition,
            "category": category}


def _link_cells(value: Any) -> list[tuple[str, str]]:
    """``专访 https://a; https://b`` → ``[("专访", "https://a"), ("", "https://b")]`` (a bad part is kept whole)."""
    pairs = []
    for part in re.split(r"[;；\n]+", "" if value is None else str(value)):
        part = part.strip()
        if part:
            found = re.match(r"(.*?)\s*(https?://\S+)\Z", part, re.IGNORECASE | re.DOTALL)
            pairs.append((found.group(1).strip(), found.group(2)) if found else ("", part))
    return pairs


def _kind(cls: type[KindHandler]) -> type[KindHandler]:
    register_kind(cls())
    return cls


def _existing(ctx: ImportContext, table: str, kind: str, who: Any, where: str, params: list[Any]) -> str | None:
    if not isinstance(who, str):
        return None  # a person the row adds has nothing yet
    return ctx.registry.session.scalar(
        f"SELECT id FROM {table} WHERE [{_COLUMN[kind]}] = ? AND {where} ORDER BY id LIMIT 1", [who, *params])


@_kind
class HonoursHandler(KindHandler):
    """Honours: 荣誉称号 and 授予日期 (required); 身份证号 and/or 姓名, or 获评对象 (a family or group); 类别,
    期数 (``2024-Q1``), 届次, 等次 (提名奖), 事迹, 照片 (a file path) and 采访链接 (URLs separated by ``;`` or
    line breaks, each optionally after its title: ``专访 https://...``).
    """

    kind = "honours"
    noun = "honour"
    fields = (
        Field("honour", required=True),
        Field("awarded_on", required=True),
        Field("name"),
        Field("id_number", personal="id_number"),
        Field("id_type"),
        Field("id_country"),
        Field("recipient"),
        Field("category"),
        Field("period"),
        Field("edition"),
        Field("grade"),
        Field("deed"),
        Field("photo"),
        Field("links"),
    )

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        year = _year_only(values["awarded_on"])
        if year is not None:
            # Old lists give only the year of an award: the year is its period, and the date stored (which
            # the registry needs, e.g. for age rules) is that year's last day, or today for this year.
            if values.get("period") is not None and not str(values["period"]).strip().startswith(str(year)):
                raise InvalidValue("period", f"must lie in {year}, the year given as the award date",
                                   values["period"])
            values = {**values, "period": values.get("period") or str(year)}
            on = min(date(year, 12, 31), ctx.registry.session.now().date())
            if year < 1800:
                raise InvalidValue("awarded_on", "must fall in the years 1800 to 9000", values["awarded_on"])
        else:
            on = v.day(ctx, values["awarded_on"], "awarded_on")
        record = _title_fields(ctx, values, on)
        record["kind"], record["who"] = _who(ctx, values, "name")
        record["awarded_on"] = on
        record["grade"] = "winner" if values.get("grade") is None else v.choice(
            values["grade"], "grade", _GRADES, ("winner", "nomination_award"))
        record["deed"] = "" if values.get("deed") is None else v.text(values["deed"], "deed", 20000)
        record["photo"] = "" if values.get("photo") is None else v.text(values["photo"], "photo", 500)
        record["links"] = honour_links(_link_cells(values.get("links")))
        return record

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        return _existing(ctx, "honours", record["kind"], record["who"],
                         "honour = ? AND period = ? AND edition IS ? AND grade = ? AND category IS ?",
                         [record["title"].code, record["period"], record["edition"], record["grade"],
                          record["category"]])

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        ctx.person_added(record["who"])
        return ctx.registry.award(
            record["title"].code, record["who"], category=record["category"], period=record["period"],
            edition=record["edition"], awarded_on=record["awarded_on"], deed=record["deed"],
            grade=record["grade"], by=ctx.actor, photo=record["photo"], links=record["links"],
        ).id


@_kind
class NominationsHandler(KindHandler):
    """Nominations: 荣誉称号 and 推荐人/推荐单位 (an organisation or person by id or name, or 本人/自荐 for self)
    (required); 被推荐人 (or 姓名) and/or 身份证号, or 获评对象; 类别, 期数, 届次, 推荐时间, 事迹; for a past
    round, 阶段 (已推荐/初审通过/评议/专家评审/公示/当选/未当选, or the stage codes) and 阶段日期, recorded with
    :meth:`volreg.Registry.record_past_stage` (no endorsements, reviewers or scores are invented).
    """

    kind = "nominations"
    noun = "nomination"
    fields = (
        Field("honour", required=True),
        Field("nominator", required=True),
        Field("nominee"),
        Field("name"),
        Field("id_number", personal="id_number"),
        Field("id_type"),
        Field("id_country"),
        Field("recipient"),
        Field("category"),
        Field("period"),
        Field("edition"),
        Field("submitted_at"),
        Field("deed"),
        Field("stage"),
        Field("stage_at"),
    )

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        registry = ctx.registry
        at = None if values.get("submitted_at") is None else v.moment(ctx, values["submitted_at"], "submitted_at")
        record = _title_fields(ctx, values, (at or registry.session.now()).date())
        name_field = "nominee" if values.get("nominee") is not None else "name"
        record["kind"], record["who"] = _who(ctx, values, name_field)
        record["at"] = at
        record["nominator"] = self._nominator(ctx, values["nominator"])
        record["deed"] = "" if values.get("deed") is None else v.text(values["deed"], "deed", 20000)
        record["stage"] = None
        if values.get("stage") is not None:
            text = str(values["stage"]).strip()
            record["stage"] = v.choice(STAGE_LABELS.get(text.casefold().replace("_", " "), text), "stage",
                                       STAGE_LABELS, _STAGES)
        record["stage_at"] = None if values.get("stage_at") is None else v.moment(ctx, values["stage_at"],
                                                                                   "stage_at")
        if record["stage_at"] is not None and record["stage"] is None:
            raise InvalidValue("stage_at", "needs a stage (阶段) to date", values["stage_at"])
        return record

    @staticmethod
    def _nominator(ctx: ImportContext, value: Any) -> str:
        key = str(value).strip()
        if key.casefold() in _SELF:
            return "self"
        try:
            return v.organisation_ref(ctx, key, "nominator")
        except InvalidValue:
            pass
        if ctx.registry.session.store.get("people", key):
            return key
        rows = list(ctx.registry.session.rows("SELECT id FROM people WHERE name = ? LIMIT 2", [key]))
        if len(rows) == 1:
            return str(rows[0]["id"])
        raise InvalidValue("nominator", "must be 本人 (self), or the id or name of one organisation or person", key)

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        nominator = record["nominator"]
        if nominator == "self":
            who_clause, who_params = "nominator_kind = 'self'", []
        else:
            who_clause = "(nominator_person = ? OR nominator_organisation = ?)"
            who_params = [nominator, nominator]
        return _existing(ctx, "nominations", record["kind"], record["who"],
                         f"honour = ? AND period = ? AND edition IS ? AND {who_clause}",
                         [record["title"].code, record["period"], record["edition"], *who_params])

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        ctx.person_added(record["who"])
        nomination = ctx.registry.nominate(
            record["title"].code, record["who"], category=record["category"], nominator=record["nominator"],
            deed=record["deed"], period=record["period"], edition=record["edition"], at=record["at"],
            by=ctx.actor,
        )
        if record["stage"] is not None:
            ctx.registry.record_past_stage(nomination, record["stage"], by=ctx.actor, at=record["stage_at"])
        return nomination.id

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        """A known nomination is left as it is; a stage other than the one it reached is a problem."""
        stage = record["stage"]
        if stage is None:
            return False
        row = ctx.registry.session.get("nomination", entity_id)
        reached = _STAGES[int(row["reached"])]
        if stage not in (row["status"], reached):
            raise InvalidValue("stage", f"must be {reached!r}, the stage nomination {entity_id} was loaded at "
                                        f"(status {row['status']}); advance it with the registry instead", stage)
        return False
