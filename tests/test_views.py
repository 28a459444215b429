"""The Datasette views (migration m006_views) and the metadata that describes them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from factories import make_id_number

import volreg
from volreg.io.datasette import VIEWS, datasette_metadata


@pytest.fixture
def small(registry, community, make_volunteer, make_activity):
    """A small registry: a studio, verified, pending and voided service, nominations and honours."""
    studio = registry.add_studio("卢芳爱心公益工作室", organisation=community)
    wang = make_volunteer("王小明", consent=True)
    li = make_volunteer("李建国")
    zhao = make_volunteer("赵敏")
    march = make_activity(studio=studio)
    april = make_activity("文明出行", start="2024-04-02 08:00", end="2024-04-02 12:00")
    make_activity("环保公益", studio=studio, start="2024-05-01 09:00", end="2024-05-01 11:00")
    for who, act, start, end in [
        (wang, march, "2024-03-05 09:00", "2024-03-05 11:30"),
        (li, march, "2024-03-05 09:00", "2024-03-05 10:15"),
        (wang, april, "2024-04-02 08:00", "2024-04-02 12:00"),
    ]:
        registry.verify_service(registry.log_service(who, act, start=start, end=end), by="审核员")
    registry.log_service(zhao, april, start="2024-04-02 08:00", end="2024-04-02 09:00")  # pending: not counted
    void = registry.log_service(zhao, march, start="2024-03-05 09:00", end="2024-03-05 10:00")
    registry.verify_service(void, by="审核员")
    registry.void_service(void, by="审核员", reason="重复录入")
    registry.nominate("中国好人", li, category="见义勇为", nominator=community, at="2024-04-02 10:00")
    registry.nominate("中国好人", li, category="见义勇为", nominator="self", at="2024-04-03 10:00")
    registry.nominate("中国好人", zhao, category="孝老爱亲", nominator=community, at="2024-04-03 10:00")
    registry.award("中国好人", wang, category="助人为乐", awarded_on="2024-03-28")
    registry.award("中国好人", {"name": "欧阳娜娜", "id_number": make_id_number()}, category="敬业奉献",
                   awarded_on="2024-06-28")
    family = registry.add_family("王建国家庭")
    registry.award("全国文明家庭", family, edition=registry.add_edition("全国文明家庭", 1, year=2024),
                   awarded_on="2024-09-01")
    return registry


def view(registry, name: str) -> list[dict]:
    return list(registry.db.query(f"SELECT * FROM [{name}]"))


def test_every_view_exists_and_has_no_personal_column(small):
    """The views are there, and none has a phone or ID column."""
    names = {r[0] for r in small.db.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert set(VIEWS) <= names
    for name in VIEWS:
        columns = {c[1] for c in small.db.execute(f"PRAGMA table_info([{name}])")}
        assert not columns & {"phone", "id_digest", "id_masked", "id_number"}, name


def test_hours_views_agree_with_hours(small):
    """The hours views give exactly what volreg.hours() gives: verified minutes only."""
    by_volunteer = {r["volunteer"]: r["minutes"] for r in view(small, "hours_by_volunteer")}
    assert {r["volunteer"]: r["minutes"] for r in volreg.hours(small, by="volunteer")} == by_volunteer
    assert [(r["month"], r["minutes"], r["hours"], r["records"]) for r in volreg.hours(small, by="month")] == [
        (r["month"], r["minutes"], r["hours"], r["records"]) for r in view(small, "hours_by_month")]
    expected = {(r["organisation"], r["year"]): r["minutes"] for r in volreg.hours(small, by=("organisation", "year"))}
    assert expected == {(r["organisation"], r["year"]): r["minutes"] for r in view(small, "hours_by_organisation")}
    assert 465 == sum(by_volunteer.values())


def test_volunteer_names_are_masked_without_consent(small):
    """王小明 consented and is named; 李建国 did not and shows as 李*国."""
    names = sorted(r["volunteer_name"] for r in view(small, "hours_by_volunteer"))
    assert ["李*国", "王小明"] == names


def test_activity_view_agrees_with_activity_counts(small):
    """Activities per studio and year, activities without service and without a studio included."""
    expected = volreg.activity_counts(small, by=("studio", "year")).to_dicts()
    rows = view(small, "activity_counts_by_studio")
    keys = ("studio", "year", "activities", "participants", "service_records", "minutes")
    assert sorted((tuple(r[k] for k in keys) for r in expected), key=str) == sorted(
        (tuple(r[k] for k in keys) for r in rows), key=str)


def test_nomination_view_agrees_with_nominations(small):
    """Nomination counts per title, year, period, category and status, duplicates counted once as nominees."""
    expected = volreg.nominations(small, by=("honour", "year", "period", "category", "status"))
    keys = ("honour", "year", "period", "category", "status", "nominations", "nominees")
    assert sorted((tuple(r[k] for k in keys) for r in expected), key=str) == sorted(
        (tuple(r[k] for k in keys) for r in view(small, "nomination_counts")), key=str)


def test_honour_roll_view_agrees_with_the_public_roll(small):
    """The roll view names and masks recipients exactly as honour_roll(public=True) does."""
    expected = volreg.honour_roll(small, include_counted=False, public=True)
    got = {r["id"]: r for r in view(small, "honour_roll_view")}
    assert {r["id"]: (r["recipient_name"], r["period"], r["edition"]) for r in expected} == {
        i: (r["recipient_name"], r["period"], r["edition"]) for i, r in got.items()}
    assert {"王小明", "欧**娜", "王*国家庭"} == {r["recipient_name"] for r in got.values()}


def test_metadata_describes_views_and_hides_personal_tables(small):
    """Titles and units for the views; people, the journal and import identities are hidden."""
    meta = datasette_metadata(small, database="city")
    tables = meta["databases"]["city"]["tables"]
    assert "Verified hours by volunteer" == tables["hours_by_volunteer"]["title"]
    assert {"minutes": "min", "hours": "hour"} == tables["hours_by_month"]["units"]
    for hidden in ("people", "import_identity", "_sqlite_migrations", "journal", "journal_items"):
        assert tables[hidden]["hidden"] is True, hidden
    assert "phone" in tables["people"]["columns"]
    assert not tables["hours_by_volunteer"].get("hidden")
    json.dumps(meta)


@pytest.mark.skipif(importlib.util.find_spec("datasette") is None,
                    reason="datasette is not installed (the datasette extra)")
def test_datasette_serves_the_views(small, tmp_path):
    """Datasette opens a copy of the file with the metadata and answers a view as JSON."""
    path = tmp_path / "city.db"
    small.db.execute("VACUUM INTO ?", [str(path)])
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps(datasette_metadata(small, database="city")), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "datasette", str(path), "--metadata", str(meta), "--get", "/city/hours_by_month.json"],
                         capture_output=True, text=True, check=True).stdout
    assert "2024-03" in out
