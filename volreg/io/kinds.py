"""The importable kinds: one :class:`~volreg.io.importer.KindHandler` per kind of row.

Handlers write through the registry's own methods (``add_organisation``, ``register_volunteer``,
``add_activity``), so an imported row obeys exactly the rules of a typed-in one and is journaled the same way.
Only updates of a few plain attributes that have no registry method yet are written here, and journaled.

To add a kind (service records, honours, nominations), subclass ``KindHandler`` with its ``fields`` and four
methods, and decorate it with ``@_kind``; :mod:`volreg.io.values` has the cell readers and references
(``minutes_from_hours``, ``volunteer_ref``, ``activity_ref`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

from ..errors import InvalidValue
from ..model import ACTIVITY_KINDS, ORGANISATION_KINDS
from ..personal import normalise_phone
from ..timeutil import to_utc_text
from . import values as v
from .importer import Field, ImportContext, KindHandler, register_kind

__all__ = ["OrganisationsHandler", "PeopleHandler", "VolunteersHandler", "ActivitiesHandler"]

ORGANISATION_LABELS = {
    "文明办": "city_office", "市文明办": "city_office", "区": "district", "县": "district", "区县": "district",
    "街道": "street", "乡镇": "street", "社区": "community", "村": "community", "团队": "team",
    "志愿服务队": "team", "服务队": "team", "学校": "school", "企业": "company", "公司": "company",
    "协会": "association", "社会组织": "association", "工作室": "studio", "其他": "other",
}
ACTIVITY_LABELS = {
    "志愿服务": "volunteer_service", "道德讲堂": "moral_lecture", "仪式": "ceremony",
    "发布仪式": "ceremony", "颁奖仪式": "ceremony", "其他": "other",
}


def _kind(cls: type[KindHandler]) -> type[KindHandler]:
    register_kind(cls())
    return cls


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in new.items() if old.get(k) != val}


@_kind
class OrganisationsHandler(KindHandler):
    """Organisations: 名称 (required), 类型 (市文明办/街道/社区/团队 ... or the English kind), 上级 (id or name).

    A parent must come before its children in the file, or already be in the registry. Identity without an
    external id: the same name under the same parent.
    """

    kind = "organisations"
    noun = "organisation"
    fields = (Field("name", required=True), Field("kind"), Field("parent"))

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": v.text(values["name"], "name", 200),
            "kind": None if "kind" not in values else v.choice(values["kind"], "kind", ORGANISATION_LABELS,
                                                              ORGANISATION_KINDS),
            "parent": None if "parent" not in values else v.organisation_ref(ctx, values["parent"], "parent"),
        }

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        return ctx.registry.session.scalar(
            "SELECT id FROM organisations WHERE name = ? AND parent IS ? ORDER BY id LIMIT 1",
            [record["name"], record["parent"]],
        )

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        return ctx.registry.add_organisation(
            record["name"], kind=record["kind"] or "team", parent=record["parent"], by=ctx.actor
        ).id

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        old = ctx.registry.organisation(entity_id)
        wanted = {k: record[k] for k in ("name", "kind", "parent") if record[k] is not None}
        changes = _changed(attrs.asdict(old), wanted)
        if not changes:
            return False
        new = attrs.evolve(old, **changes)
        _write_update(ctx, "organisations", "organisation", old, new, changes)
        return True


def _namesake(ctx: ImportContext, record: Mapping[str, Any], sql: str) -> str | None:
    """Refuse a row with no document, number or external id whose name an undocumented person already has.

    Such rows cannot be told apart from that person: merging them would be a guess, and adding them again
    (on every re-import) a duplicate. Returns None when there is no such person.
    """
    if record.get("external_id") is not None:
        return None
    other = ctx.registry.session.scalar(sql, [record["name"]])
    if other is None:
        return None
    raise InvalidValue(
        "name", f"must tell this row apart from {other}, who has this name and no document either: give the row "
                "an external id (外部编号), a document or a volunteer number (people without documents are "
                "never merged automatically)", record["name"])


def _document_fields(ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"document": v.document(ctx, values), "external_id": values.get("external_id")}


def _person_arguments(record: Mapping[str, Any]) -> dict[str, Any]:
    doc = record["document"]
    if doc is None:
        return {"id_type": "none"}
    return {"id_type": doc.id_type, "id_number": doc.number, "id_country": doc.country}


@_kind
class PeopleHandler(KindHandler):
    """People who are not (or not yet) volunteers: nominees, honourees, reviewers. 姓名 (required); 证件类型,
    证件号码/身份证号, 签发国, 性别, 出生日期, 手机, 居住区域, 同意公开.

    Identity without an external id: the document (type and number). A row without a document or external
    id whose name belongs to a person without a document is a problem (never merged automatically).
    """

    kind = "people"
    noun = "person"
    fields = (
        Field("name", required=True),
        Field("id_type"),
        Field("id_number", personal="id_number"),
        Field("id_country"),
        Field("gender"),
        Field("birth_date"),
        Field("phone", personal="phone"),
        Field("area"),
        Field("consent"),
    )

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        get = values.get
        return {
            "name": v.text(values["name"], "name", 200),
            **_document_fields(ctx, values),
            "gender": None if get("gender") is None else v.gender(values["gender"]),
            "birth_date": None if get("birth_date") is None else v.day(ctx, values["birth_date"], "birth_date"),
            "phone": None if get("phone") is None else normalise_phone(v.text(values["phone"], "phone", 40)),
            "area": None if get("area") is None else v.text(values["area"], "area", 200),
            "consent": None if get("consent") is None else v.flag(values["consent"], "consent"),
        }

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        doc = record["document"]
        if doc is not None:
            return ctx.registry.session.scalar("SELECT id FROM people WHERE id_digest = ?",
                                               [v.document_digest(ctx, doc)])
        return _namesake(ctx, record, "SELECT id FROM people WHERE name = ? AND id_type = 'none' "
                                      "AND anonymised = 0 ORDER BY id LIMIT 1")

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        return ctx.registry.add_person(
            record["name"], **_person_arguments(record), gender=record["gender"], birth_date=record["birth_date"],
            phone=record["phone"], area=record["area"], consent=bool(record["consent"]), by=ctx.actor,
        ).id

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        return _update_person(ctx, entity_id, record, ("name", "phone", "area", "consent"))


def _update_person(ctx: ImportContext, person_id: str, record: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    registry = ctx.registry
    person = registry.person(person_id)
    wanted = {k: record[k] for k in names if record.get(k) is not None}
    if "phone" in wanted:
        wanted["phone"] = normalise_phone(wanted["phone"])
    changes = _changed(attrs.asdict(person), wanted)
    if changes:
        registry.update_person(person, by=ctx.actor, **changes)
    return bool(changes)


@_kind
class VolunteersHandler(KindHandler):
    """Volunteers: 姓名 (required); 证件类型 and 证件号码 (or 身份证号, a resident ID number; a volunteer
    without a document has none), 签发国 (passports), 手机, 注册日期, 志愿者编号, 所属组织, 性别, 出生日期,
    居住区域, 专业技能, 服务类别, 监护人同意, 同意公开.

    Identity without an external id: the document (type and keyed digest), else the volunteer number. A
    known volunteer's name, phone, area and organisation are updated from the file; a different volunteer
    number is a problem. A row with neither document, number nor external id whose name an undocumented
    volunteer already has is a problem (never merged automatically).
    """

    kind = "volunteers"
    noun = "volunteer"
    fields = (
        Field("name", required=True),
        Field("id_number", personal="id_number"),
        Field("id_type"),
        Field("id_country"),
        Field("phone", personal="phone"),
        Field("registered_on"),
        Field("number"),
        Field("organisation"),
        Field("gender"),
        Field("birth_date"),
        Field("area"),
        Field("skills"),
        Field("categories"),
        Field("guardian_consent"),
        Field("consent"),
    )

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        get = values.get
        return {
            "name": v.text(values["name"], "name", 200),
            **_document_fields(ctx, values),
            "phone": None if get("phone") is None else normalise_phone(v.text(values["phone"], "phone", 40)),
            "registered_on": None if get("registered_on") is None else v.day(ctx, values["registered_on"],
                                                                             "registered_on"),
            "number": None if get("number") is None else v.text(values["number"], "number", 40),
            "organisation": None if get("organisation") is None else v.organisation_ref(
                ctx, values["organisation"], "organisation", reuse=True),
            "gender": None if get("gender") is None else v.gender(values["gender"]),
            "birth_date": None if get("birth_date") is None else v.day(ctx, values["birth_date"], "birth_date"),
            "area": None if get("area") is None else v.text(values["area"], "area", 200),
            "skills": v.items(get("skills") or ""),
            "categories": v.items(get("categories") or ""),
            "guardian_consent": False if get("guardian_consent") is None else v.flag(
                values["guardian_consent"], "guardian_consent"),
            "consent": False if get("consent") is None else v.flag(values["consent"], "consent"),
        }

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        doc = record["document"]
        if doc is not None:
            return ctx.registry.session.scalar(
                "SELECT v.id FROM people p JOIN volunteers v ON v.person = coalesce(p.merged_into, p.id) "
                "WHERE p.id_digest = ?",
                [v.document_digest(ctx, doc)],
            )
        if record["number"] is not None:
            return ctx.registry.session.scalar("SELECT id FROM volunteers WHERE number = ?", [record["number"]])
        return _namesake(ctx, record, "SELECT v.id FROM volunteers v JOIN people p ON p.id = v.person "
                                      "WHERE p.name = ? AND p.id_type = 'none' ORDER BY v.id LIMIT 1")

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        return ctx.registry.register_volunteer(
            record["name"],
            **_person_arguments(record),
            phone=record["phone"],
            organisation=record["organisation"],
            registered_on=record["registered_on"],
            skills=record["skills"],
            categories=record["categories"],
            guardian_consent=record["guardian_consent"],
            number=record["number"],
            gender=record["gender"],
            birth_date=record["birth_date"],
            area=record["area"],
            consent=record["consent"],
            by=ctx.actor,
        ).id

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        registry = ctx.registry
        volunteer = registry.volunteer(entity_id)
        if record["number"] is not None and record["number"] != volunteer.number \
                and registry.session.scalar("SELECT id FROM volunteer_aliases WHERE number = ? AND volunteer = ?",
                                            [record["number"], volunteer.id]) is None:
            raise InvalidValue(
                "number", f"must be {volunteer.number!r}, the number this volunteer is registered with",
                record["number"],
            )
        changed = _update_person(ctx, volunteer.person, record, ("name", "phone", "area"))
        moved = record["organisation"] is not None and record["organisation"] != volunteer.organisation
        if moved:
            new = attrs.evolve(volunteer, organisation=record["organisation"])
            _write_update(ctx, "volunteers", "volunteer", volunteer, new, {"organisation": new.organisation})
        return changed or moved


@_kind
class ActivitiesHandler(KindHandler):
    """Activities: 活动名称, 类别, 开始时间, 结束时间 and 组织单位 (required); 日期 (then start and end may be bare
    times such as ``9:00``), 活动类型 (志愿服务/道德讲堂/仪式/其他), 工作室, 主题, 地点, 服务内容, 活动负责人.

    The organiser and studio are named by id, external id or name. Identity without an external id: the
    same title, start and organiser.
    """

    kind = "activities"
    noun = "activity"
    fields = (
        Field("title", required=True),
        Field("category", required=True),
        Field("start", required=True),
        Field("end", required=True),
        Field("organiser", required=True),
        Field("date"),
        Field("kind"),
        Field("studio"),
        Field("theme"),
        Field("location"),
        Field("content"),
        Field("leader"),
    )
    _optional = ("theme", "location", "content", "leader")

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        on = None if values.get("date") is None else v.day(ctx, values["date"], "date")
        record: dict[str, Any] = {
            "title": v.text(values["title"], "title", 300),
            "category": ctx.registry.session.category(str(values["category"]).strip()),
            "start": v.moment(ctx, values["start"], "start", on),
            "end": _end(ctx, values["end"], on),
            "organiser": v.organisation_ref(ctx, values["organiser"], "organiser", reuse=True),
            "kind": None if values.get("kind") is None else v.choice(values["kind"], "kind", ACTIVITY_LABELS,
                                                                     ACTIVITY_KINDS),
            "studio": None if values.get("studio") is None else v.studio_ref(ctx, values["studio"]),
        }
        for name in self._optional:
            record[name] = None if values.get(name) is None else v.text(values[name], name)
        return record

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        return ctx.registry.session.scalar(
            "SELECT id FROM activities WHERE title = ? AND start_utc = ? AND organiser = ? ORDER BY id LIMIT 1",
            [record["title"], to_utc_text(record["start"]), record["organiser"]],
        )

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        extra = {k: record[k] for k in self._optional if record[k] is not None}
        return ctx.registry.add_activity(
            record["title"],
            category=record["category"],
            start=record["start"],
            end=record["end"],
            organiser=record["organiser"],
            kind=record["kind"] or "volunteer_service",
            studio=record["studio"],
            by=ctx.actor,
            **extra,
        ).id

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        old = ctx.registry.activity(entity_id)
        wanted = {k: record[k] for k in ("category", "kind", "studio", *self._optional) if record[k] is not None}
        changes = _changed(attrs.asdict(old), wanted)
        if record["end"] != old.end:
            changes["end"] = record["end"]
        if not changes:
            return False
        ctx.registry.update_activity(old, by=ctx.actor, **changes)
        return True


def _end(ctx: ImportContext, value: Any, on: Any) -> Any:
    """An activity's end; a date with no clock time means the end of that day (``2011-02-01 → 2011-02-01`` is
    the whole day), so a one-day event given as dates is not refused as ending when it starts."""
    if v.is_date_only(ctx, value, "end"):
        return v.moment(ctx, v.day(ctx, value, "end") + timedelta(days=1), "end")
    return v.moment(ctx, value, "end", on)


def _write_update(ctx: ImportContext, table: str, entity: str, old: Any, new: Any, changes: Mapping[str, Any]) -> None:
    """Write changed plain columns (no registry method exists for them yet) and journal before and after."""
    registry = ctx.registry
    with registry.session.write() as store:
        store.update(table, old.id, dict(changes))
        registry.session.journal("update", entity, old.id, by=ctx.actor, before=old, after=new, note="import")

