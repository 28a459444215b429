"""The column vocabulary: which Chinese or English header means which field.

Headers are compared after normalising: case, spaces, a leading ``*`` (the "required" mark of many templates)
and a trailing unit in brackets (``服务时长（小时）``) do not matter. An explicit ``mapping`` passed to
:func:`volreg.import_file` overrides this vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["ALIASES", "normalise_header", "resolve_headers", "label"]

ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "外部编号", "原编号", "源编号", "记录编号", "导入编号", "外部id"),
    # people and volunteers
    "name": ("name", "姓名", "名称", "组织名称", "单位名称"),
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证", "证件号",
                  "document_number", "id_no"),
    "id_type": ("id_type", "证件类型", "证件种类", "document_type", "id_document"),
    "id_country": ("id_country", "签发国", "签发国家", "发证国家", "国籍", "issuing_country", "nationality"),
    "phone": ("phone", "mobile", "手机", "手机号", "手机号码", "联系电话", "联系方式", "电话"),
    "registered_on": ("registered_on", "注册日期", "注册时间", "登记日期"),
    "number": ("number", "volunteer_number", "志愿者编号", "志愿者号", "志愿者证号"),
    "volunteer_number": ("volunteer_number", "志愿者编号", "志愿者号", "志愿者证号", "volunteer", "volunteer_id"),
    "gender": ("gender", "sex", "性别"),
    "birth_date": ("birth_date", "出生日期", "生日"),
    "area": ("area", "居住区域", "居住地", "所在地区", "地区"),
    "skills": ("skills", "专业技能", "技能", "特长"),
    "categories": ("categories", "服务类别", "服务意向", "服务类型"),
    "guardian_consent": ("guardian_consent", "监护人同意", "监护人同意书"),
    "consent": ("consent", "同意公开", "公开同意"),
    "organisation": ("organisation", "organization", "所属组织", "所属单位", "组织", "单位", "所在组织"),
    # organisations
    "kind": ("kind", "type", "类型", "组织类型", "单位类型", "活动类型"),
    "parent": ("parent", "上级", "上级组织", "上级单位", "主管单位"),
    # activities
    "title": ("title", "活动名称", "名称", "活动标题", "标题"),
    "category": ("category", "类别", "活动类别", "服务类别", "分类"),
    "date": ("date", "日期", "活动日期", "服务日期"),
    "start": ("start", "开始时间", "开始", "起始时间"),
    "end": ("end", "结束时间", "结束", "截止时间"),
    "organiser": ("organiser", "organizer", "组织单位", "活动组织单位", "主办单位", "组织者", "发起单位"),
    "studio": ("studio", "工作室", "好人工作室", "好人品牌工作室"),
    "theme": ("theme", "主题", "活动主题"),
    "location": ("location", "地点", "活动地点", "服务地点"),
    "content": ("content", "服务内容", "活动内容", "内容"),
    "leader": ("leader", "活动负责人", "负责人"),
    # service records, honours and nominations
    "activity": ("activity", "activity_id", "活动", "活动编号", "活动id"),
    "hours": ("hours", "服务时长", "时长", "服务时间", "小时数"),
    "minutes": ("minutes", "分钟", "服务分钟"),
    "note": ("note", "备注", "说明"),
    "status": ("status", "状态", "审核状态", "记录状态"),
    "verifier": ("verifier", "审核人", "审核单位", "认证单位", "证明单位"),
    "recorded_at": ("recorded_at", "录入时间", "记录时间", "填报时间"),
    "honour": ("honour", "honor", "荣誉", "荣誉称号", "称号", "荣誉名称"),
    "recipient": ("recipient", "获评对象", "表彰对象", "家庭", "集体", "获奖集体", "文明家庭"),
    "nominee": ("nominee", "被推荐人", "候选人"),
    "nominator": ("nominator", "推荐人", "推荐单位", "推荐方"),
    "submitted_at": ("submitted_at", "推荐时间", "推荐日期", "提交时间"),
    "grade": ("grade", "等次", "奖项", "获奖等次"),
    "deed": ("deed", "事迹", "主要事迹", "事迹简介"),
    "period": ("period", "期数", "期次", "年度"),
    "edition": ("edition", "届次", "届"),
    "stage": ("stage", "阶段", "评选阶段", "评选结果", "结果", "outcome"),
    "stage_at": ("stage_at", "阶段日期", "阶段时间", "结果日期", "stage_date", "outcome_date"),
    "awarded_on": ("awarded_on", "授予日期", "获评日期", "发布日期"),
    "photo": ("photo", "照片", "照片文件", "事迹照片"),
    "links": ("links", "采访链接", "访谈链接", "视频链接", "链接"),
}
"""Field name → the headers that mean it (the field's own name first)."""


def normalise_header(text: str) -> str:
    """The comparable form of a header: ``' *服务时长（小时）'`` → ``'服务时长'``, ``'Registered On'`` → ``'registered_on'``."""
    text = str(text).replace("\ufeff", "").strip().lstrip("*＊").strip()
    text = re.sub(r"[（(][^）)]*[）)]\s*$", "", text)
    text = re.sub(r"[\s\-]+", "_", text.strip()).casefold()
    return text


def label(field: str) -> str:
    """How a field is named to a person: ``'phone (手机)'``."""
    aliases = ALIASES.get(field, ())
    chinese = next((a for a in aliases if not a.isascii()), None)
    return f"{field} ({chinese})" if chinese else field


def resolve_headers(
    headers: Iterable[str], fields: Iterable[str], mapping: Mapping[str, str | None] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Decide which column holds which field.

    Args:
        headers: the file's column names, as written.
        fields: the fields the kind being imported knows.
        mapping: header → field overrides (a field of None ignores the column).

    Returns:
        ``(columns, clashes)``: header → field for every recognised column, and a message for every field that
        two columns claim (the first column wins).
    """
    known = list(fields)
    lookup: dict[str, str] = {}
    for name in known:
        for alias in ALIASES.get(name, (name,)):
            lookup.setdefault(normalise_header(alias), name)
    explicit = {normalise_header(k): v for k, v in (mapping or {}).items()}
    columns: dict[str, str] = {}
    clashes: list[str] = []
    taken: dict[str, str] = {}
    for header in headers:
        if not header:
            continue
        key = normalise_header(header)
        field: str | None = explicit[key] if key in explicit else lookup.get(key)
        if field is None:
            continue
        if field in taken:
            clashes.append(f"columns {taken[field]!r} and {header!r} both mean {label(field)}; keep one or pass a mapping")
            continue
        taken[field] = header
        columns[header] = field
    return columns, clashes
