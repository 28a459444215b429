"""The whole registry as JSON Lines: same ids, same history, same answers; the key guards the digests."""

from __future__ import annotations

import json

import pytest

import volreg


def tables(registry: volreg.Registry) -> dict[str, list[dict]]:
    names = [r[0] for r in registry.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != '_sqlite_migrations'").fetchall()]
    return {n: list(registry.db.query(f"SELECT * FROM [{n}] ORDER BY rowid")) for n in names}


@pytest.fixture
def filled(registry, make_volunteer, make_activity, city):
    """A registry with people, an anonymised person, an activity series, a changed setting and a studio."""
    wang = make_volunteer("王小明", phone="13893712345")
    gone = make_volunteer("李四")
    registry.anonymise(gone.person)
    registry.update_person(wang.person, area="镜铁区")
    make_activity(repeat="FREQ=WEEKLY;COUNT=3")
    registry.add_studio("卢芳爱心公益工作室", organisation=city, focus="爱心助学")
    registry.configure(star_thresholds=(100, 200, 500, 800, 1000))
    return registry


def test_the_round_trip_gives_an_equal_registry(filled, tmp_path):
    """Every table, the journal included, comes back row for row; reads and settings agree."""
    path = tmp_path / "registry.jsonl"
    count = volreg.export_registry(filled, path)
    copy = volreg.import_registry(path, key="test-key-16-bytes")
    assert tables(filled) == tables(copy)
    assert count == sum(len(rows) for rows in tables(copy).values())
    wang = next(v for v in filled.volunteers() if v.name == "王小明")
    assert filled.history(wang.person) == copy.history(wang.person)
    assert list(filled.activities()) == list(copy.activities())
    assert filled.settings == copy.settings
    copy.close()


def test_the_same_id_number_finds_the_same_person_after_the_round_trip(filled, make_volunteer, tmp_path):
    """Digests survive with the key: registering a known ID number again is refused as a duplicate."""
    number = "620200198503120024"
    make_volunteer("赵敏", id_number=number)
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    copy = volreg.import_registry(path, key="test-key-16-bytes")
    assert copy.person_by_id_number(number) is not None
    with pytest.raises(volreg.Duplicate):
        copy.register_volunteer("赵敏", id_number=number, registered_on="2024-01-01")


def test_another_key_is_refused_and_nothing_is_left_behind(filled, tmp_path):
    """Digests only mean something with the key they were made with."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    target = tmp_path / "copy.db"
    with pytest.raises(volreg.KeyMismatch, match="pass that registry's key"):
        volreg.import_registry(path, into=target, key="another-key-16-bytes")
    assert not target.exists()
    assert not (tmp_path / "copy.db.key").exists()


def test_a_file_registry_can_be_restored_and_reopened(filled, tmp_path):
    """Restoring into a file gives a registry that opens again with the same key."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    volreg.import_registry(path, into=tmp_path / "copy.db", key="test-key-16-bytes").close()
    with volreg.open(tmp_path / "copy.db", key="test-key-16-bytes") as again:
        assert tables(filled)["journal"] == tables(again)["journal"]


def test_a_registry_that_holds_data_is_not_overwritten(filled, registry, tmp_path, make_volunteer):
    """Restoring into a registry that is in use is refused."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    with pytest.raises(volreg.InvalidValue, match="new, empty registry"):
        volreg.import_registry(path, into=filled.db, key="test-key-16-bytes")


def test_a_shareable_archive_masks_phones_and_drops_digests(filled, tmp_path):
    """personal=False writes no phone number and no ID digest."""
    path = tmp_path / "shared.jsonl"
    volreg.export_registry(filled, path, personal=False)
    text = path.read_text(encoding="utf-8")
    assert "13893712345" not in text
    people = [json.loads(line)["row"] for line in text.splitlines()[1:] if '"table": "people"' in line]
    assert {None} == {p["id_digest"] for p in people}
    assert "138****2345" in {p["phone"] for p in people}


def test_an_archive_from_a_newer_volreg_is_refused(tmp_path):
    """Unknown migrations mean a newer schema: refused, like opening such a database."""
    path = tmp_path / "new.jsonl"
    path.write_text(json.dumps({"format": "volreg-archive", "version": 1, "migrations": ["m999_future"]}) + "\n")
    with pytest.raises(volreg.SchemaTooNew):
        volreg.import_registry(path, key="test-key-16-bytes")
