"""The public tables of a shareable copy: what the registry's views show, consent-filtered, in Chinese.

Each table is one read of the registry. Column names are the Chinese headers a 文明办 reader expects;
durations are hours (two decimals) beside the exact minutes; status, level and grade codes become labels.
Consent is applied in SQL, before any row leaves the registry:

- a volunteer who has not consented to publication (or was anonymised) is not listed by name or number:
  their hours are summed per organisation into one row "未同意公开的志愿者", so the totals still add up;
- on the honour roll a recipient who may not be named appears as a masked name (王*明, 王*家庭) and without the
  deed text, which could name them.

No table has a phone, ID number or digest, birth date or address column, and none has a person id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..personal import mask_name
from .sql import check_registry

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["PUBLIC_TABLES", "public_tables", "STATUS_LABELS", "LEVEL_LABELS", "UNNAMED_VOLUNTEERS"]

STATUS_LABELS = {
    "submitted": "已推荐", "verified": "已初审", "public_review": "网友评议", "expert_review": "专家评审",
    "publicity": "公示中", "awarded": "已获评", "not_selected": "未入选", "rejected": "初审未通过",
    "withdrawn": "已撤回",
}
"""Nomination status code → the label the shareable copy shows."""

LEVEL_LABELS = {"national": "全国", "provincial": "省级", "city": "市级", "district": "区县级"}
"""Title level code → label."""

UNNAMED_VOLUNTEERS = "（未同意公开的志愿者）"
"""The name of the one row per organisation that sums the volunteers who may not be named."""

_KIND_LABELS = {"person": "个人", "family": "家庭", "group": "集体"}
_GRADE_LABELS = {"winner": "获评", "nomination_award": "提名奖"}
_NAMED_VOLUNTEER = "(p.consent = 1 AND p.anonymised = 0 AND p.name <> '' AND v.status <> 'anonymised')"

PUBLIC_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "hours_by_volunteer": (
        ("志愿者编号", "TEXT"), ("姓名", "TEXT"), ("志愿者人数", "INTEGER"), ("所属组织", "TEXT"),
        ("服务时长（小时）", "REAL"), ("服务分钟", "INTEGER"), ("服务记录数", "INTEGER"),
    ),
    "hours_by_month": (
        ("月份", "TEXT"), ("服务时长（小时）", "REAL"), ("服务分钟", "INTEGER"), ("服务记录数", "INTEGER"),
        ("志愿者人数", "INTEGER"),
    ),
    "hours_by_organisation": (
        ("组织编号", "TEXT"), ("组织", "TEXT"), ("年度", "INTEGER"), ("服务时长（小时）", "REAL"),
        ("服务分钟", "INTEGER"), ("服务记录数", "INTEGER"), ("志愿者人数", "INTEGER"),
    ),
    "activity_counts_by_studio": (
        ("工作室编号", "TEXT"), ("工作室", "TEXT"), ("年度", "INTEGER"), ("活动数", "INTEGER"),
        ("参与志愿者人数", "INTEGER"), ("服务记录数", "INTEGER"), ("服务时长（小时）", "REAL"),
        ("服务分钟", "INTEGER"),
    ),
    "nomination_counts": (
        ("称号", "TEXT"), ("级别", "TEXT"), ("年度", "INTEGER"), ("期数", "TEXT"), ("类别", "TEXT"),
        ("状态", "TEXT"), ("推荐数", "INTEGER"), ("被推荐对象数", "INTEGER"),
    ),
    "honour_roll": (
        ("编号", "TEXT"), ("称号", "TEXT"), ("级别", "TEXT"), ("获评对象", "TEXT"), ("获评者", "TEXT"),
        ("类别", "TEXT"), ("期数", "TEXT"), ("年度", "INTEGER"), ("届次", "INTEGER"), ("授予日期", "TEXT"),
        ("等次", "TEXT"), ("事迹", "TEXT"), ("逐级推荐自", "TEXT"),
    ),
}
"""Table name → its (column, SQLite type) pairs, in order."""

_HOURS = "ROUND(SUM(r.minutes) / 60.0, 2)"

_SQL = {
    "hours_by_volunteer": (
        f"SELECT CASE WHEN {_NAMED_VOLUNTEER} THEN v.number END, "
        f"CASE WHEN {_NAMED_VOLUNTEER} THEN p.name ELSE '{UNNAMED_VOLUNTEERS}' END, COUNT(DISTINCT v.id), "
        f"o.name, {_HOURS}, SUM(r.minutes), COUNT(*) "
        "FROM service_records r JOIN volunteers v ON v.id = r.volunteer JOIN people p ON p.id = v.person "
        "LEFT JOIN organisations o ON o.id = v.organisation WHERE r.status = 'verified' "
        f"GROUP BY CASE WHEN {_NAMED_VOLUNTEER} THEN v.id END, v.organisation "
        "ORDER BY SUM(r.minutes) DESC, 1, 4"
    ),
    "hours_by_month": (
        f"SELECT substr(r.start, 1, 7), {_HOURS}, SUM(r.minutes), COUNT(*), COUNT(DISTINCT r.volunteer) "
        "FROM service_records r WHERE r.status = 'verified' GROUP BY substr(r.start, 1, 7) ORDER BY 1"
    ),
    "hours_by_organisation": (
        f"SELECT a.organiser, o.name, CAST(substr(r.start, 1, 4) AS INTEGER), {_HOURS}, SUM(r.minutes), "
        "COUNT(*), COUNT(DISTINCT r.volunteer) FROM service_records r JOIN activities a ON a.id = r.activity "
        "LEFT JOIN organisations o ON o.id = a.organiser WHERE r.status = 'verified' "
        "GROUP BY a.organiser, CAST(substr(r.start, 1, 4) AS INTEGER) ORDER BY 3, 2, 1"
    ),
    "activity_counts_by_studio": (
        "SELECT a.studio, coalesce(st.name, '（不属于工作室）'), CAST(substr(a.start, 1, 4) AS INTEGER), "
        "COUNT(DISTINCT a.id), COUNT(DISTINCT r.volunteer), COUNT(r.id), "
        "ROUND(COALESCE(SUM(r.minutes), 0) / 60.0, 2), COALESCE(SUM(r.minutes), 0) "
        "FROM activities a LEFT JOIN service_records r ON r.activity = a.id AND r.status = 'verified' "
        "LEFT JOIN studios st ON st.id = a.studio GROUP BY a.studio, CAST(substr(a.start, 1, 4) AS INTEGER) "
        "ORDER BY 3, 2, 1"
    ),
    "nomination_counts": (
        "SELECT t.name, t.level, n.year, n.period, c.label, n.status, COUNT(*), "
        "COUNT(DISTINCT coalesce(n.person, n.family, n.organisation)) "
        "FROM nominations n JOIN honour_titles t ON t.code = n.honour "
        "LEFT JOIN categories c ON c.code = n.category AND c.vocabulary = 'honour' "
        "GROUP BY n.honour, n.year, n.period, n.category, n.status ORDER BY 3, 1, 4, 5, 6"
    ),
    "honour_roll": (
        "SELECT h.id, t.name, t.level, h.recipient_kind, coalesce(p.name, fam.name, o.name), "
        "CASE h.recipient_kind WHEN 'group' THEN 1 WHEN 'person' THEN (p.consent = 1 AND p.anonymised = 0) "
        "ELSE fam.consent = 1 END, c.label, h.period, h.year, e.number, h.awarded_on, h.grade, h.deed, "
        "h.promoted_from FROM honours h JOIN honour_titles t ON t.code = h.honour "
        "LEFT JOIN people p ON p.id = h.person LEFT JOIN families fam ON fam.id = h.family "
        "LEFT JOIN organisations o ON o.id = h.organisation LEFT JOIN honour_editions e ON e.id = h.edition "
        "LEFT JOIN categories c ON c.code = h.category AND c.vocabulary = 'honour' "
        "ORDER BY h.year, t.level, t.name, h.awarded_on, h.id"
    ),
}


def _mask_family(name: str) -> str:
    for suffix in ("家庭", "家"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return str(mask_name(name[: -len(suffix)])) + suffix
    return str(mask_name(name))


def _rows(registry: Registry, name: str) -> Iterator[tuple[Any, ...]]:
    columns = [c for c, _ in PUBLIC_TABLES[name]]
    for row in registry.session.rows(_SQL[name]):
        values = list(row.values())
        if name == "nomination_counts":
            values[1] = LEVEL_LABELS.get(values[1], values[1])
            values[5] = STATUS_LABELS.get(values[5], values[5])
        elif name == "honour_roll":
            (hid, title, level, kind, who, named, category, period, year, edition, on, grade, deed,
             promoted) = values
            if not named:
                who = "" if not who else _mask_family(who) if kind == "family" else str(mask_name(who))
                deed = ""
            values = [hid, title, LEVEL_LABELS.get(level, level), _KIND_LABELS[kind], who, category, period, year,
                      edition, on, _GRADE_LABELS[grade], " ".join((deed or "").split()), promoted]
        assert len(values) == len(columns)
        yield tuple(values)


def public_tables(registry: Registry) -> Iterator[tuple[str, tuple[tuple[str, str], ...], Iterator[tuple[Any, ...]]]]:
    """The shareable copy's tables: ``(name, ((column, type), ...), rows)`` for each of :data:`PUBLIC_TABLES`.

    Args:
        registry: the registry.
    """
    check_registry(registry)
    for name, columns in PUBLIC_TABLES.items():
        yield name, columns, _rows(registry, name)
