"""Publishing the Jiayuguan example: the hall of deeds read in a real browser, a scan of every published byte
for personal data, and the shareable copy served by Datasette."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import volreg

pytest.importorskip("jinja2", reason="jinja2 is not installed (the site extra)")


@pytest.fixture(scope="module")
def published(example_build: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The example's site, shareable copy and metadata, generated once for this module."""
    path = example_build[0]
    out = tmp_path_factory.mktemp("published")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("VOLREG_KEY", raising=False)
        registry = volreg.open(path)
        try:
            files = volreg.publish_site(registry, out / "site")
            counts = volreg.publish_database(registry, out / "public.db")
        finally:
            registry.close()
    yield {"registry": path, "site": out / "site", "files": files, "db": out / "public.db", "counts": counts}


def _registry_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- nothing personal leaks -------------------------------------------------------------------------------

_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _published_texts(published: dict[str, Any]) -> dict[str, str]:
    """Every published file as text (HTML, script, style, the copy's raw bytes and its SQL dump), and every
    file name."""
    texts = {name: (published["site"] / name).read_bytes().decode("utf-8", "replace") for name in published["files"]}
    texts["(file names)"] = "\n".join(published["files"])
    texts["public.db"] = published["db"].read_bytes().decode("utf-8", "replace")
    conn = sqlite3.connect(published["db"])
    texts["public.db (dump)"] = "\n".join(conn.iterdump())
    conn.close()
    return texts


def test_no_personal_data_in_the_site_or_the_copy(published):
    """No phone, ID number (or its masked form or digest), birth date, voter digest or non-consenting name of
    any of the example's people is anywhere in the site or the shareable copy."""
    path = published["registry"]
    people = _registry_rows(path, "SELECT name, phone, birth_date, id_digest, id_masked, consent, anonymised "
                                  "FROM people")
    families = _registry_rows(path, "SELECT name, consent FROM families")
    ceremonies = {d for (d,) in _registry_rows(path, "SELECT awarded_on FROM honours UNION "
                                                     "SELECT ceremony_on FROM honour_editions")}
    # A name may legitimately stand on the page of someone else (a namesake who consented), in an organisation
    # or a studio: such names prove nothing and are left out of the scan.
    public = [n for n, *_, consent, anon in people if consent and not anon] + [n for n, c in families if c] + [
        n for (n,) in _registry_rows(path, "SELECT name FROM organisations UNION SELECT name FROM studios")]
    secrets: list[str] = []
    for name, phone, born, digest, masked, consent, _ in people:
        secrets += [s for s in (phone, digest, masked) if s]
        if born and born not in ceremonies:
            day = date.fromisoformat(born)
            secrets += [born, f"{day.year}年{day.month}月{day.day}日"]
        if not consent and name and not any(name in p for p in public):
            secrets.append(name)
    secrets += [n for n, c in families if not c and not any(n in p for p in public)]
    secrets += [v for (v,) in _registry_rows(path, "SELECT voter FROM endorsements")]
    assert len(secrets) > 1000  # phones, digests, masked IDs and birth dates of 565 people
    assert any(not consent for *_, consent, _ in people)
    texts = _published_texts(published)
    for where, text in texts.items():
        found = [s for s in secrets if s in text]
        assert [] == found[:5], where
        assert [] == _PHONE.findall(text)[:5], where
        assert [] == _ID.findall(text)[:5], where


def test_the_copy_has_only_public_tables(published):
    """No person table, no id or digest column, no journal or migrations; no WAL file beside it."""
    conn = sqlite3.connect(published["db"])
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    columns = {c for n in names for c in (r[1] for r in conn.execute(f"PRAGMA table_info([{n}])"))}
    conn.close()
    assert {"hours_by_volunteer", "hours_by_month", "hours_by_organisation", "activity_counts_by_studio",
            "nomination_counts", "honour_roll", "sqlite_stat1"} == names
    assert not {c for c in columns if re.search(r"phone|digest|birth|身份|电话|手机|出生|住址|area", c)}
    assert not Path(str(published["db"]) + "-wal").exists()
    assert all(n > 0 for n in published["counts"].values()), published["counts"]


def test_the_copy_agrees_with_the_registry(published):
    """The copy's totals equal the registry's verified hours and honour count; names without consent masked."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("VOLREG_KEY", raising=False)
        registry = volreg.open(published["registry"])
        total = volreg.hours(registry)[0]["minutes"]
        honours = registry.db.execute("SELECT COUNT(*) FROM honours").fetchone()[0]
        registry.close()
    conn = sqlite3.connect(published["db"])
    assert total == conn.execute("SELECT SUM([服务分钟]) FROM hours_by_volunteer").fetchone()[0]
    assert total == conn.execute("SELECT SUM([服务分钟]) FROM hours_by_month").fetchone()[0]
    assert honours == conn.execute("SELECT COUNT(*) FROM honour_roll").fetchone()[0]
    masked = conn.execute("SELECT [获评者], [事迹] FROM honour_roll WHERE [获评者] LIKE '%*%'").fetchall()
    conn.close()
    assert masked and all(deed == "" for _, deed in masked)


# -- Datasette ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("datasette") is None,
                    reason="datasette is not installed (the datasette extra)")
def test_datasette_serves_the_copy_and_refuses_sql(published):
    """Datasette (in-process) answers every table and canned query of the copy; the SQL page is refused; no
    answer holds a phone or ID number; the metadata's Chinese titles and default sorts are in use."""
    from datasette.app import Datasette

    from volreg.publish.database import shareable_metadata

    meta = shareable_metadata(database="public")
    assert meta["databases"]["public"]["allow_sql"] is False
    ds = Datasette([str(published["db"])], metadata=meta)

    async def fetch() -> dict[str, Any]:
        got = {}
        index = (await ds.client.get("/public.json")).json()
        got["tables"] = {t["name"]: t for t in index["tables"]}
        for name in got["tables"]:
            if not got["tables"][name]["hidden"]:
                got[name] = await ds.client.get(f"/public/{name}.json?_shape=objects")
        got["html"] = await ds.client.get("/public/hours_by_volunteer")
        got["sql"] = await ds.client.get("/public.json?sql=select+*+from+sqlite_master")
        for query, params in (("top_volunteers", ""), ("organisations_in_year", "&year=2024"),
                              ("studio_activities_in_year", "&year=2024"), ("roll_of_title", "&title=雄关好人")):
            got[query] = await ds.client.get(f"/public/{query}.json?_shape=array{params}")
        return got

    got = asyncio.run(fetch())
    tables = [n for n, t in got["tables"].items() if not t["hidden"]]
    assert {"hours_by_volunteer", "hours_by_month", "hours_by_organisation", "activity_counts_by_studio",
            "nomination_counts", "honour_roll"} == set(tables)
    for name in tables:
        assert 200 == got[name].status_code, name
        text = got[name].text
        assert got[name].json()["rows"], name
        assert not _PHONE.search(text) and not _ID.search(text), name
    assert 403 == got["sql"].status_code
    html = got["html"].text
    assert "志愿者服务时长" in html and "sorted by 服务分钟 descending" in html and "kmin" not in html
    assert 10 == len(got["top_volunteers"].json())
    for query in ("organisations_in_year", "studio_activities_in_year", "roll_of_title"):
        assert 200 == got[query].status_code and got[query].json(), query


def test_cli_publish_and_its_metadata(published, tmp_path, monkeypatch):
    """``volreg publish DB OUT --metadata M`` writes the copy; ``datasette-metadata`` on the copy describes it;
    ``publish`` refuses to overwrite a file that is not a shareable copy."""
    from click.testing import CliRunner

    from volreg.cli import cli

    monkeypatch.delenv("VOLREG_KEY", raising=False)
    runner = CliRunner()
    out, meta = tmp_path / "city-public.db", tmp_path / "metadata.json"
    result = runner.invoke(cli, ["publish", str(published["registry"]), str(out), "--metadata", str(meta)])
    assert 0 == result.exit_code, result.output
    assert "honour_roll" in json.loads(meta.read_text(encoding="utf-8"))["databases"]["city-public"]["tables"]
    result = runner.invoke(cli, ["datasette-metadata", str(out)])
    assert 0 == result.exit_code, result.output
    assert json.loads(result.output)["databases"]["city-public"]["allow_sql"] is False
    shutil.copy(published["registry"], tmp_path / "other.db")
    before = (tmp_path / "other.db").read_bytes()
    result = runner.invoke(cli, ["publish", str(published["registry"]), str(tmp_path / "other.db")])
    assert 1 == result.exit_code and "out_path" in result.output
    assert before == (tmp_path / "other.db").read_bytes()


def test_the_example_registry_is_analysed(published):
    """The example build leaves planner statistics, so the studio view answers quickly in Datasette."""
    stats = _registry_rows(published["registry"], "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'service_records'")
    assert stats[0][0] > 0


# -- the hall of deeds in a real browser -----------------------------------------------------------------------

def _browser() -> Any:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if importlib.util.find_spec("selenium") is None:
        pytest.skip("selenium is not installed (the test extra)")
    if not chromium or not driver_path:
        pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver fonts-noto-cjk)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1400", "--lang=zh-CN"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def test_the_hall_of_deeds_in_a_browser(published, tmp_path):
    """Chromium opens the home page, finds a person with the search box, opens their page (name, titles, deed),
    filters the browse page by title and keyword, and saves screenshots."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    path = published["registry"]
    # A 雄关好人 who went on to 甘肃好人 and consented: the person the test looks for.
    name, deed = _registry_rows(path, (
        "SELECT p.name, low.deed FROM honours up JOIN honours low ON low.id = up.promoted_from "
        "JOIN people p ON p.id = low.person WHERE up.honour = 'gansu_good_person' AND p.consent = 1 "
        "AND (SELECT COUNT(*) FROM people q WHERE q.name = p.name) = 1 ORDER BY low.awarded_on LIMIT 1"))[0]
    youth_named = _registry_rows(path, (
        "SELECT COUNT(*) FROM honours h JOIN people p ON p.id = h.person "
        "WHERE h.honour = 'jiayuguan_good_youth' AND p.consent = 1"))[0][0]
    rescue = "跳入冰冷河水"
    rescue_named = _registry_rows(path, (
        "SELECT COUNT(*) FROM honours h JOIN people p ON p.id = h.person WHERE h.deed LIKE ? AND p.consent = 1"),
        (f"%{rescue}%",))[0][0]
    site = published["site"]
    browser = _browser()
    try:
        wait = WebDriverWait(browser, 10)
        browser.get((site / "index.html").as_uri())
        body = browser.find_element(By.TAG_NAME, "body").text
        for text in ("道德模范网上事迹展馆", "嘉峪关市道德模范", "雄关好人", "新时代嘉峪关好少年", "嘉峪关市文明家庭",
                     "嘉峪关市第六届道德模范", "助人为乐", "孝老爱亲"):
            assert text in body, text
        browser.save_screenshot(str(tmp_path / "home.png"))
        box = browser.find_element(By.ID, "q")
        box.send_keys(name)
        wait.until(lambda b: name in b.find_element(By.ID, "search-results").text)
        assert "找到" in browser.find_element(By.ID, "search-status").text
        browser.find_element(By.LINK_TEXT, name).click()
        wait.until(lambda b: b.find_element(By.TAG_NAME, "h1").text == name)
        page = browser.find_element(By.TAG_NAME, "main").text
        assert "雄关好人" in page and "甘肃好人" in page and deed in page and "逐级推荐" in page
        assert "honourees/" in browser.current_url and name not in browser.current_url
        browser.save_screenshot(str(tmp_path / "person.png"))

        browser.get((site / "browse.html").as_uri())
        Select(browser.find_element(By.ID, "title")).select_by_visible_text("新时代嘉峪关好少年")
        wait.until(lambda b: b.find_element(By.ID, "roll-status").text == f"共 {youth_named} 条")
        shown = [li for li in browser.find_elements(By.CSS_SELECTOR, "#roll li") if li.is_displayed()]
        assert youth_named == len(shown) and all("新时代嘉峪关好少年" in li.text for li in shown)
        Select(browser.find_element(By.ID, "title")).select_by_index(0)
        browser.find_element(By.ID, "q").send_keys(rescue)
        wait.until(lambda b: b.find_element(By.ID, "roll-status").text == f"共 {rescue_named} 条")
        shown = [li for li in browser.find_elements(By.CSS_SELECTOR, "#roll li") if li.is_displayed()]
        assert rescue_named == len(shown) > 0 and all("见义勇为" in li.text for li in shown)
        browser.save_screenshot(str(tmp_path / "browse.png"))
    finally:
        browser.quit()
    for shot in ("home.png", "person.png", "browse.png"):
        assert (tmp_path / shot).read_bytes().startswith(b"\x89PNG")
