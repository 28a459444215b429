"""The online hall of deeds (道德模范网上事迹展馆): a static web site generated from a registry.

The site is plain files (HTML, one style sheet, a few lines of script and a small search index) that open
from a disk, a USB stick or any web server, with no external service, font or CDN. Consent decides what it
shows: only recipients who may be named (see :mod:`volreg.queries.hall`) have a page and a name; everyone else
appears in counts only. No phone, ID number or digest, birth date or address is ever read for it. Pages
are named by record ids, never by names, and the same registry always gives the same bytes (no timestamps;
everything sorted), so a city can diff a release against the last one before publishing it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue, MissingDependency
from ..queries.hall import HallData, hall_data
from .images import clean_image

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["publish_site", "SITE_MARKER"]

SITE_MARKER = ".volreg-site"
"""A file at the top of every generated site: only a directory holding it is ever replaced."""

_LEVELS = {"national": "全国", "provincial": "省级", "city": "市级", "district": "区县级"}
_KINDS = {"person": "个人", "family": "家庭", "group": "集体"}
_QUARTERS = "一二三四"
_PHOTO_TYPES = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def _day(text: str | None) -> str:
    if not text:
        return ""
    year, month, day = text[:10].split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日"


def _period(period: str) -> str:
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return f"{year}年第{_QUARTERS[int(quarter) - 1]}季度"
    if len(period) == 7:
        return f"{period[:4]}年{int(period[5:])}月"
    return f"{period}年度"


def _when(honour: dict[str, Any]) -> str:
    """第一届 (2012) or 2024年第四季度: the edition or period an honour belongs to."""
    if honour["edition"] is not None:
        return honour["edition_title"] or f"第{honour['edition']}届（{honour['year']}年）"
    return _period(honour["period"])


def _honour_view(honour: dict[str, Any], titles: dict[str, dict[str, Any]], categories: dict[str, str]) -> dict[str, Any]:
    title = titles[honour["honour"]]
    return {
        "id": honour["id"], "title": title["name"], "title_code": title["code"], "level": _LEVELS[title["level"]],
        "when": _when(honour), "on": _day(honour["awarded_on"]), "year": honour["year"],
        "category": categories.get(honour["category"] or "", ""), "category_code": honour["category"] or "",
        "grade": "提名奖" if honour["grade"] == "nomination_award" else "",
    }


def _photo(source: str, base: Path, honour_id: str, out: Path) -> str:
    """Copy a photo into the site as ``photos/<honour id><ext>``, without its metadata; its site path."""
    path = Path(source)
    if not path.is_absolute():
        path = base / path
    ext = path.suffix.lower()
    if ext not in _PHOTO_TYPES:
        raise InvalidValue("photo", f"must be an image file ({', '.join(_PHOTO_TYPES)}) of honour {honour_id}", source)
    if not path.is_file():
        raise InvalidValue("photo", f"must name an existing file (honour {honour_id})", source)
    name = f"photos/{honour_id}{'.jpg' if ext == '.jpeg' else ext}"
    (out / "photos").mkdir(exist_ok=True)
    (out / name).write_bytes(clean_image(path.read_bytes(), ext))
    return name


def _honourees(data: HallData, base: Path, out: Path) -> list[dict[str, Any]]:
    """One entry per named recipient: their honours, promotion chains, deeds, photo and links."""
    titles = {t["code"]: t for t in data.titles}
    by_id = {h["id"]: h for h in data.honours}
    people: dict[str, dict[str, Any]] = {}
    for honour in data.honours:
        if not honour["named"]:
            continue
        entry = people.setdefault(honour["recipient"], {
            "id": honour["recipient"], "name": honour["name"], "kind": _KINDS[honour["recipient_kind"]],
            "honours": [], "deeds": [], "links": [], "photo": None, "chains": [],
        })
        entry["honours"].append(_honour_view(honour, titles, data.categories))
        deed = " ".join((honour["deed"] or "").split())
        if deed and deed not in entry["deeds"]:
            entry["deeds"].append(deed)
        for link in honour["links"]:
            if link not in entry["links"]:
                entry["links"].append(link)
        if honour["photo"]:
            # The latest honour's photo wins (honours come oldest first).
            entry["photo"] = _photo(honour["photo"], base, honour["id"], out)
    promoted = {h["promoted_from"]: h["id"] for h in data.honours if h["named"] and h["promoted_from"] in by_id}
    for honour in data.honours:
        if not honour["named"] or honour["promoted_from"] in by_id or honour["id"] not in promoted:
            continue
        chain, step = [honour], honour["id"]
        while step in promoted:
            step = promoted[step]
            chain.append(by_id[step])
        people[honour["recipient"]]["chains"].append(
            [{"title": titles[h["honour"]]["name"], "when": _when(h), "on": _day(h["awarded_on"])} for h in chain])
    for entry in people.values():
        entry["years"] = sorted({h["year"] for h in entry["honours"]})
        entry["summary"] = entry["deeds"][-1] if entry["deeds"] else ""
    return sorted(people.values(), key=lambda p: (p["name"], p["id"]))


def _groups(honours: Iterable[dict[str, Any]], key: Any, heading: Any, titles: dict[str, dict[str, Any]],
            categories: dict[str, str]) -> list[dict[str, Any]]:
    """Honours grouped for a list page: named ones as links, the others only counted."""
    groups: dict[Any, dict[str, Any]] = {}
    for honour in honours:
        group = groups.setdefault(key(honour), {"heading": heading(honour), "items": [], "hidden": 0})
        if honour["named"]:
            view = _honour_view(honour, titles, categories)
            group["items"].append({"name": honour["name"], "id": honour["recipient"], **view})
        else:
            group["hidden"] += 1
    for group in groups.values():
        group["items"].sort(key=lambda i: (i["grade"], i["name"], i["id"]))
    return [groups[k] for k in sorted(groups)]


def _environment() -> Any:
    try:
        import jinja2
    except ImportError:
        raise MissingDependency("jinja2", "site") from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("volreg.publish", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["day"] = _day
    return env


def _prepare(out: Path) -> Path:
    """A fresh build directory beside ``out``; refuses to replace a directory that is not a generated site."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / SITE_MARKER).is_file())):
        raise InvalidValue("out_dir", "must be a new or empty directory, or a site volreg generated before",
                           str(out))
    build = out.with_name(out.name + ".volreg-build")
    if build.exists():
        shutil.rmtree(build)
    build.mkdir(parents=True)
    return build


def publish_site(registry: Registry, out_dir: str | os.PathLike[str], *, titles: Any = None,
                 since: Any = None) -> list[str]:
    """Generate the online hall of deeds (事迹展馆) for a registry as a static web site.

    The site has a home page (titles, their editions or years, counts by category, a search box), a page
    per honoured person, family or group who may be named (deeds, titles with edition and date, promotion
    chains such as 雄关好人 → 甘肃好人 → 中国好人, photo, interview and video links), pages per title, year
    and category, and a browse page with filters. People and families who have not consented to publication
    are counted but never named. A site generated before into ``out_dir`` is replaced whole, so a page of
    someone who has since withdrawn consent disappears.

    Args:
        registry: the registry.
        out_dir: the directory to write (created; replaced if it holds a site volreg generated).
        titles: only these titles (codes or names); None for every title with an honour.
        since: only honours awarded on or after this date (a date, ``2020-01-01`` or a year).

    Returns:
        The site's files, relative to ``out_dir``, sorted.

    Raises:
        InvalidValue: ``out_dir`` is a file or a non-empty directory that is not a generated site; a photo
            is missing or not an image; a bad ``since``.
        NotFound: an unknown title.
        MissingDependency: Jinja2 is not installed (``pip install 'volreg[site]'``).
    """
    env = _environment()
    data = hall_data(registry, titles=titles, since=since)
    out = Path(out_dir).resolve()
    build = _prepare(out)
    try:
        _write(env, data, build, Path(registry.session.path).resolve().parent if registry.session.path
               else Path.cwd())
        if out.exists():
            shutil.rmtree(out)
        build.rename(out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return sorted(str(p.relative_to(out).as_posix()) for p in out.rglob("*") if p.is_file())


def _write(env: Any, data: HallData, out: Path, base: Path) -> None:
    titles = {t["code"]: t for t in data.titles}
    cats = data.categories
    honourees = _honourees(data, base, out)
    years = sorted({h["year"] for h in data.honours}, reverse=True)
    used_categories = [c for c in cats if any(h["category"] == c for h in data.honours)]
    counts = Counter((h["honour"], h["category"] or "") for h in data.honours)
    for title in data.titles:
        held = [h for h in data.honours if h["honour"] == title["code"]]
        title["count"] = len(held)
        title["named"] = sum(h["named"] for h in held)
        title["level_label"] = _LEVELS[title["level"]]
        title["periods"] = (
            [{"label": e["title"] or f"第{e['number']}届", "year": e["year"], "on": _day(e["ceremony_on"])}
             for e in title["editions"]] if title["editions"]
            else [{"label": f"{y}年", "year": y, "on": ""} for y in title["years"]])
        title["by_category"] = [counts[(title["code"], c)] for c in used_categories]
        title["uncategorised"] = counts[(title["code"], "")]
    site = {
        "titles": data.titles, "years": years,
        "categories": [{"code": c, "label": cats[c], "count": sum(counts[(t, c)] for t in titles)}
                       for c in used_categories],
        "total": len(data.honours), "named": sum(h["named"] for h in data.honours),
        "honourees": len(honourees),
        "latest": _day(max((h["awarded_on"] for h in data.honours), default=None)),
        "any_uncategorised": any(t["uncategorised"] for t in data.titles),
    }

    def page(name: str, template: str, **context: Any) -> None:
        root = "../" * name.count("/")
        text = env.get_template(template).render(site=site, root=root, **context)
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8", newline="\n")

    (out / SITE_MARKER).write_text("generated by volreg publish_site; replaced whole on the next run\n",
                                   encoding="utf-8")
    page("index.html", "index.html", page_title="首页")
    named = [{"name": h["name"], "id": h["recipient"], "deed": " ".join((h["deed"] or "").split()),
              **_honour_view(h, titles, cats)} for h in data.honours if h["named"]]
    named.sort(key=lambda i: (-i["year"], i["title_code"], i["name"], i["id"]))
    page("browse.html", "browse.html", page_title="浏览与检索", items=named)
    for person in honourees:
        page(f"honourees/{person['id']}.html", "honouree.html", page_title=person["name"], person=person)
    for title in data.titles:
        held = [h for h in data.honours if h["honour"] == title["code"]]
        groups = _groups(held, lambda h: (-h["year"], h["edition"] or 0, h["period"]), _when, titles, cats)
        page(f"titles/{title['code']}.html", "list.html", page_title=title["name"], heading=title["name"],
             lead=f"{title['level_label']}荣誉称号 · 共 {title['count']} 人次", groups=groups)
    for year in years:
        held = [h for h in data.honours if h["year"] == year]
        groups = _groups(held, lambda h: (9 - _rank(titles, h), h["honour"]), lambda h: titles[h["honour"]]["name"],
                         titles, cats)
        page(f"years/{year}.html", "list.html", page_title=f"{year}年", heading=f"{year}年获评者",
             lead=f"共 {len(held)} 人次", groups=groups)
    for code in used_categories:
        held = [h for h in data.honours if h["category"] == code]
        groups = _groups(held, lambda h: (9 - _rank(titles, h), h["honour"]), lambda h: titles[h["honour"]]["name"],
                         titles, cats)
        page(f"categories/{code}.html", "list.html", page_title=cats[code], heading=cats[code],
             lead=f"共 {len(held)} 人次", groups=groups)
    assets = out / "assets"
    assets.mkdir()
    for name in ("site.css", "site.js"):
        source = Path(__file__).with_name("templates") / name
        (assets / name).write_bytes(source.read_bytes())
    index = [{"id": p["id"], "name": p["name"], "kind": p["kind"],
              "titles": sorted({h["title"] for h in p["honours"]}), "years": p["years"],
              "text": " ".join(p["deeds"])[:200]} for p in honourees]
    (assets / "search-index.js").write_text(
        "window.VOLREG_INDEX = " + json.dumps(index, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        + ";\n", encoding="utf-8", newline="\n")


def _rank(titles: dict[str, dict[str, Any]], honour: dict[str, Any]) -> int:
    return {"national": 3, "provincial": 2, "city": 1}.get(titles[honour["honour"]]["level"], 0)
