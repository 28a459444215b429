"""Opening registries: files, keys, time zones, settings and migrations."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlite_utils
from factories import make_id_number, plan_of, traced

import volreg
from volreg.store.schema import MIGRATIONS


def test_a_file_registry_is_created_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    """A new file registry uses WAL and enforces foreign keys."""
    reg = volreg.open(tmp_path / "city.db")
    assert "wal" == reg.db.journal_mode
    assert 1 == reg.db.execute("PRAGMA foreign_keys").fetchone()[0]
    reg.close()


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    """What one session writes, the next one reads."""
    path = tmp_path / "city.db"
    with volreg.open(path) as reg:
        org = reg.add_organisation("嘉峪关市文明办", kind="city_office")
    with volreg.open(path) as reg:
        assert "嘉峪关市文明办" == reg.organisation(org.id).name


def test_the_key_file_is_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key or VOLREG_KEY, a key file readable only by its owner is created beside the database."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    volreg.open(tmp_path / "city.db").close()
    mode = stat.S_IMODE(os.stat(tmp_path / "city.db.key").st_mode)
    assert 0o600 == mode


def test_a_different_key_is_refused(tmp_path: Path) -> None:
    """Opening with another key would create duplicate people, so it is refused."""
    path = tmp_path / "city.db"
    volreg.open(path, key="first-key-16-bytes").close()
    with pytest.raises(volreg.KeyMismatch, match="'key'"):
        volreg.open(path, key="second-key-16-bytes")


def test_the_environment_key_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VOLREG_KEY is the key when none is given; the same person is then found again."""
    monkeypatch.setenv("VOLREG_KEY", "from-env-key-16-bytes")
    path = tmp_path / "city.db"
    number = make_id_number()
    with volreg.open(path) as reg:
        person = reg.add_person("李四", id_number=number)
    assert not (tmp_path / "city.db.key").exists()
    with volreg.open(path) as reg:
        assert person.id == reg.person_by_id_number(number).id


def test_a_registry_keeps_its_time_zone(tmp_path: Path) -> None:
    """A registry created in Berlin stays in Berlin; a different explicit zone is refused."""
    path = tmp_path / "city.db"
    volreg.open(path, timezone="Europe/Berlin", key="test-key-k-16byte").close()
    with volreg.open(path, key="test-key-k-16byte") as reg:
        assert "Europe/Berlin" == reg.settings.timezone
    with pytest.raises(volreg.InvalidValue, match="'timezone'"):
        volreg.open(path, timezone="Asia/Tokyo", key="test-key-k-16byte")


def test_registry_accepts_a_database_object() -> None:
    """Registry() wraps an existing sqlite_utils.Database."""
    db = sqlite_utils.Database(memory=True)
    reg = volreg.Registry(db, key="test-key-k-16byte")
    assert reg.db is db and "people" in db.table_names()


def test_a_database_from_a_newer_volreg_is_refused_untouched(tmp_path: Path) -> None:
    """Unknown migrations mean a newer volreg wrote the file: refuse it and change nothing."""
    path = tmp_path / "city.db"
    volreg.open(path, key="test-key-k-16byte").close()
    db = sqlite_utils.Database(path)
    db["_sqlite_migrations"].insert(
        {"migration_set": "volreg", "name": "m999_from_the_future", "applied_at": "2030-01-01"}
    )
    before = list(db.iterdump())
    db.close()
    with pytest.raises(volreg.SchemaTooNew, match="m999_from_the_future"):
        volreg.open(path, key="test-key-k-16byte")
    assert before == list(sqlite_utils.Database(path).iterdump())


def test_every_migration_upgrades_an_older_database(tmp_path: Path) -> None:
    """A database made by each earlier schema upgrades to the same schema as a new one."""
    fresh = sqlite_utils.Database(memory=True)
    MIGRATIONS.apply(fresh)
    expected = {t: fresh[t].columns_dict for t in fresh.table_names()}
    names = [m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True))]
    for stop in names[1:]:
        db = sqlite_utils.Database(tmp_path / f"{stop}.db")
        MIGRATIONS.apply(db, stop_before=stop)
        db.close()
        registry = volreg.open(tmp_path / f"{stop}.db", key="test-key-k-16byte")  # kept: a dropped registry closes at once
        upgraded = registry.db
        assert expected == {t: upgraded[t].columns_dict for t in fresh.table_names()}


def test_the_core_schema(registry: volreg.Registry) -> None:
    """The core tables have the expected columns (the migrations are never edited once shipped)."""
    assert {
        "id": str,
        "name": str,
        "gender": str,
        "birth_date": str,
        "id_digest": str,
        "id_masked": str,
        "phone": str,
        "area": str,
        "consent": int,
        "anonymised": int,
        "id_type": str,
        "id_country": str,
        "merged_into": str,
    } == registry.db["people"].columns_dict
    assert {
        "id": str,
        "person": str,
        "number": str,
        "registered_on": str,
        "organisation": str,
        "skills": str,
        "categories": str,
        "status": str,
        "guardian_consent": int,
        "status_since": str,
    } == registry.db["volunteers"].columns_dict
    assert {"id", "title", "kind", "category", "theme", "organiser", "studio", "start", "end", "series"} <= set(
        registry.db["activities"].columns_dict
    )


def test_settings_are_configurable_and_stored(tmp_path: Path) -> None:
    """Changed settings persist and are journaled."""
    path = tmp_path / "city.db"
    with volreg.open(path, key="test-key-k-16byte") as reg:
        reg.configure(star_thresholds=(100, 200, 500, 800, 1000), min_age=16)
        assert "configure" == reg.history("settings")[-1].action
    with volreg.open(path, key="test-key-k-16byte") as reg:
        assert ((100, 200, 500, 800, 1000), 16) == (reg.settings.star_thresholds, reg.settings.min_age)


@pytest.mark.parametrize(
    ("field", "value"),
    [("star_thresholds", (300, 100)), ("min_age", -1), ("colour", "red"), ("guardian_min_age", 30)],
)
def test_bad_settings_are_refused(registry: volreg.Registry, field: str, value: object) -> None:
    """Bad settings name the setting and leave the old ones in force."""
    before = registry.settings
    with pytest.raises(volreg.InvalidValue, match=f"'{field}'"):
        registry.configure(**{field: value})
    assert before == registry.settings


def test_vocabulary_is_data(registry: volreg.Registry) -> None:
    """Categories are rows: defaults hold DOMAIN.md's categories, and a registry adds its own."""
    labels = {c.label for c in registry.categories()}
    assert {"爱心助学", "健康义诊", "应急救援", "环保公益", "移风易俗", "敬老助老", "关爱残疾人", "平安建设", "文明出行"} <= labels
    registry.add_category("lei_feng", "学雷锋")
    assert "lei_feng" == registry.category("学雷锋").code
    with pytest.raises(volreg.InvalidValue, match="'label'"):
        registry.add_category("lei_feng_2", "学雷锋")


def test_a_failed_transaction_writes_nothing(registry: volreg.Registry) -> None:
    """An error inside registry.transaction() undoes every write made in it."""
    before = list(registry.db.iterdump())
    with pytest.raises(volreg.NotFound):
        with registry.transaction():
            registry.add_organisation("甲社区", kind="community")
            registry.add_organisation("乙社区", kind="community", parent="org-missing")
    assert before == list(registry.db.iterdump())


def test_a_point_read_keeps_repeated_column_names_apart(tmp_path: Path) -> None:
    """``Store.one`` reads through the connection, and a column name given twice still gets its own key."""
    registry = volreg.open(tmp_path / "r.db", key="k" * 32)
    store = registry.session.store
    assert {"a": 1, "a_2": 2} == store.one("SELECT 1 AS a, 2 AS a")
    assert store.one("SELECT 1 AS a WHERE 0") is None
    assert [{"a": 1, "a_2": 2}] == list(store.rows("SELECT 1 AS a, 2 AS a"))
    registry.close()


def test_reading_a_person_searches_the_few_merged_rows_after_analyze(tmp_path: Path) -> None:
    """``person()`` lists the ids merged into the person. With the planner's statistics (an import runs
    ``ANALYZE``) of a registry where nobody is merged, an index of every row's ``merged_into`` looked like one
    value shared by all, and SQLite read the whole table for each person (100 ms at city scale); the index
    holds only merged rows (m022), so the look-up stays a search."""
    registry = volreg.open(tmp_path / "r.db", key="k" * 32)
    with registry.transaction():
        people = [registry.add_person(f"居民{n}") for n in range(300)]
    registry.session.optimize()
    with traced(registry) as statements:
        assert people[7].id == registry.person(people[7].id).id
    query = next(s for s in statements if "merged_from" in s)
    plan = plan_of(registry, query)
    assert not any(step.startswith("SCAN people") for step in plan), plan
    registry.close()
