"""A shareable copy of a registry for Datasette: only the public tables, consent-filtered, in Chinese.

The registry file itself holds personal data (names of people who did not consent, phones, ID digests, birth
dates, the journal) and must never be served: Datasette's ``hidden`` only hides links, and its SQL page and
foreign-key labels reach every table. :func:`publish_database` writes a new SQLite file that holds the public
tables of :mod:`volreg.queries.public` and nothing else: no person table, no digests, no journal, no ids of
people. :func:`shareable_metadata` describes it for Datasette with arbitrary SQL switched off.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from ..queries.public import PUBLIC_TABLES, UNNAMED_VOLUNTEERS, public_tables

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["publish_database", "shareable_metadata", "is_shareable_copy", "APPLICATION_ID", "TABLE_TITLES"]

APPLICATION_ID = 0x766F6C70
"""``PRAGMA application_id`` of a shareable copy ("volp"), so volreg can tell one from a registry."""

TABLE_TITLES: dict[str, tuple[str, str]] = {
    "hours_by_volunteer": (
        "志愿者服务时长",
        f"每位同意公开的志愿者经核实的服务时长；未同意公开的志愿者按所属组织合计为一行“{UNNAMED_VOLUNTEERS}”。",
    ),
    "hours_by_month": ("每月服务时长", "按服务开始的月份统计经核实的服务时长。"),
    "hours_by_organisation": ("各组织年度服务时长", "按活动组织单位（谁组织谁记录）和年度统计经核实的服务时长。"),
    "activity_counts_by_studio": (
        "好人品牌工作室活动统计", "各好人品牌工作室每年开展的活动数、参与志愿者人数和经核实的服务时长。",
    ),
    "nomination_counts": ("推荐评议统计", "“我推荐我评议身边好人”等推荐：按称号、期数、类别和当前状态统计。"),
    "honour_roll": (
        "光荣榜", "每一项荣誉一行。未同意公开的获评者姓名已遮盖（王*明），不显示其事迹。",
    ),
}
"""Table → (Chinese title, description) in Datasette."""

_COLUMN_NOTES = {
    "服务时长（小时）": "经核实的服务时长，以小时计，保留两位小数（由服务分钟换算）",
    "服务分钟": "经核实的服务时长，以分钟计（精确值）",
    "服务记录数": "经核实的服务记录条数",
    "志愿者人数": "不同志愿者的人数",
    "志愿者编号": "公开的志愿者编号（不是身份证件号码）；未同意公开者为空",
    "获评者": "获评个人、家庭或集体；未同意公开者姓名已遮盖",
    "逐级推荐自": "由哪一项较低级别荣誉（编号）逐级推荐而来",
    "期数": "如 2024-Q1（季度）、2024-03（月）或 2024（年度）",
    "届次": "第几届（按届评选的称号）",
    "事迹": "获评者同意公开时的事迹简介",
}

_SORTS = {
    "hours_by_volunteer": ("sort_desc", "服务分钟"),
    "hours_by_month": ("sort", "月份"),
    "hours_by_organisation": ("sort_desc", "服务分钟"),
    "activity_counts_by_studio": ("sort_desc", "活动数"),
    "nomination_counts": ("sort_desc", "推荐数"),
    "honour_roll": ("sort_desc", "授予日期"),
}

_FACETS = {
    "hours_by_volunteer": ["所属组织"],
    "hours_by_organisation": ["年度"],
    "activity_counts_by_studio": ["年度"],
    "nomination_counts": ["称号", "状态", "年度"],
    "honour_roll": ["称号", "级别", "年度", "类别"],
}

_QUERIES = {
    "top_volunteers": {
        "title": "服务时长前十名志愿者",
        "sql": "SELECT [志愿者编号], [姓名], [所属组织], [服务时长（小时）] FROM hours_by_volunteer "
               "WHERE [志愿者编号] IS NOT NULL ORDER BY [服务分钟] DESC, [志愿者编号] LIMIT 10",
    },
    "organisations_in_year": {
        "title": "某年各组织服务时长",
        "description": "输入年度，例如 2024",
        "sql": "SELECT [组织], [服务时长（小时）], [服务记录数], [志愿者人数] FROM hours_by_organisation "
               "WHERE [年度] = CAST(:year AS INTEGER) ORDER BY [服务分钟] DESC, [组织]",
    },
    "studio_activities_in_year": {
        "title": "某年各工作室活动数",
        "description": "输入年度，例如 2024",
        "sql": "SELECT [工作室], [活动数], [参与志愿者人数], [服务时长（小时）] FROM activity_counts_by_studio "
               "WHERE [年度] = CAST(:year AS INTEGER) ORDER BY [活动数] DESC, [工作室]",
    },
    "roll_of_title": {
        "title": "某一称号的光荣榜",
        "description": "输入称号，例如 雄关好人",
        "sql": "SELECT [获评者], [获评对象], [类别], [期数], [届次], [授予日期], [等次] FROM honour_roll "
               "WHERE [称号] = :title ORDER BY [授予日期] DESC, [获评者]",
    },
}


def is_shareable_copy(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` is a shareable copy written by :func:`publish_database`."""
    if not Path(path).is_file():
        return False
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro", uri=True)
        try:
            return bool(conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID)
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def publish_database(registry: Registry, out_path: str | os.PathLike[str]) -> dict[str, int]:
    """Write a shareable SQLite copy of a registry's public tables, for Datasette or to hand out.

    The copy holds the tables of :data:`volreg.queries.public.PUBLIC_TABLES` (hours by volunteer, month and
    organisation, activities by studio, nomination counts, the honour roll) as plain tables with Chinese
    column names, consent-filtered and masked: no person table, no phone, ID number or digest, birth date,
    address or journal. It is written beside ``out_path`` and moved into place when complete, in rollback
    journal mode (no ``-wal`` file), analysed, and vacuumed so no free page keeps anything.

    Args:
        registry: the registry.
        out_path: the file to write; an existing file is replaced only if it is a shareable copy.

    Returns:
        Rows written per table.

    Raises:
        InvalidValue: ``out_path`` exists and is not a shareable copy (a registry, say), or is the registry.
    """
    out = Path(out_path).resolve()
    if registry.session.path and Path(registry.session.path).resolve() == out:
        raise InvalidValue("out_path", "must not be the registry file itself", str(out_path))
    if out.exists() and not is_shareable_copy(out):
        raise InvalidValue("out_path", "must be a new file or a shareable copy written before", str(out_path))
    temp = out.with_name(out.name + ".volreg-build")
    temp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    conn = sqlite3.connect(temp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("BEGIN")
        for name, columns, rows in public_tables(registry):
            conn.execute(f"CREATE TABLE [{name}] ({', '.join(f'[{c}] {t}' for c, t in columns)})")
            cursor = conn.executemany(
                f"INSERT INTO [{name}] VALUES ({', '.join('?' for _ in columns)})", rows)
            counts[name] = cursor.rowcount
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("VACUUM")
    except BaseException:
        conn.close()
        temp.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(temp, out)
    return counts


def shareable_metadata(*, database: str = "public") -> dict[str, Any]:
    """Datasette metadata for a shareable copy: Chinese titles and column notes, default sorts, canned
    queries, and arbitrary SQL switched off (``allow_sql: false``).

    Hours are plain numbers in a column named 服务时长（小时）, without Datasette units, which would show
    "17.64 kmin".

    Args:
        database: the copy's name in Datasette: its file name without ``.db``.
    """
    tables: dict[str, Any] = {}
    for name, columns in PUBLIC_TABLES.items():
        title, description = TABLE_TITLES[name]
        sort, column = _SORTS[name]
        tables[name] = {
            "title": title, "description": description, sort: column,
            "columns": {c: _COLUMN_NOTES[c] for c, _ in columns if c in _COLUMN_NOTES},
        }
        if name in _FACETS:
            tables[name]["facets"] = _FACETS[name]
    return {
        "title": "志愿服务与道德模范公开数据",
        "description": "由 volreg 生成的可公开副本：只含统计表和光荣榜，未同意公开者不具名，不含任何个人联系方式或证件信息。",
        "allow_sql": False,
        "databases": {database: {"allow_sql": False, "tables": tables, "queries": _QUERIES}},
    }
