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


def test_no_key_for_a_new_file_is_refused_before_anything_is_written(filled, tmp_path, monkeypatch):
    """A new file without a key would get a random key that is never the exported one: say so, write nothing."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    with pytest.raises(volreg.InvalidValue, match=r"'key' must be the exported registry's key.*copy.db.key \(got no key\)"):
        volreg.import_registry(path, into=tmp_path / "copy.db")
    assert [] == [p.name for p in tmp_path.iterdir() if p.name.startswith("copy.db")]


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


# -- the trailer: an archive proves it is complete and unchanged -------------------------------------------


def _lines_of(path):
    return path.read_bytes().splitlines(keepends=True)


def test_an_archive_ends_with_row_counts_and_a_checksum(filled, tmp_path):
    """The last line lists each table's rows and the SHA-256 of every byte before it."""
    import hashlib

    path = tmp_path / "registry.jsonl"
    count = volreg.export_registry(filled, path)
    *body, last = _lines_of(path)
    trailer = json.loads(last)["trailer"]
    assert hashlib.sha256(b"".join(body)).hexdigest() == trailer["sha256"]
    assert count == sum(trailer["rows"].values())
    assert len(list(filled.volunteers())) == trailer["rows"]["volunteers"]


@pytest.mark.parametrize("keep", [1, 2, 10, -2, -1])
def test_an_archive_cut_at_a_line_boundary_is_refused(filled, tmp_path, keep):
    """Cut after any whole line (before the trailer, or the trailer itself): refused, saying it was cut short
    and after which line rows are missing; nothing is created."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    lines = _lines_of(path)
    path.write_bytes(b"".join(lines[:keep]))
    shown = keep if keep > 0 else len(lines) + keep
    target = tmp_path / "copy.db"
    with pytest.raises(volreg.InvalidValue, match=f"line {shown} ends without its trailer line, so the archive was "
                                                  f"cut short and the rows after line {shown}"):
        volreg.import_registry(path, into=target, key="test-key-16-bytes")
    assert not target.exists() and not (tmp_path / "copy.db.key").exists()


def test_an_archive_cut_inside_a_line_is_refused(filled, tmp_path):
    """Cut in the middle of a line (the disk filled up): refused as cut off."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(volreg.InvalidValue, match="cut off in the middle of a line"):
        volreg.import_registry(path, key="test-key-16-bytes")


def test_a_flipped_byte_is_refused(filled, tmp_path):
    """One changed byte (a minute, a digit of a phone) fails the checksum: refused, saying it was altered."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    data = bytearray(path.read_bytes())
    at = data.index(b"13893712345")
    data[at + 5] ^= 0x01  # '7' becomes '6'
    path.write_bytes(bytes(data))
    with pytest.raises(volreg.InvalidValue, match="SHA-256 does not match"):
        volreg.import_registry(path, key="test-key-16-bytes")


def test_a_removed_row_is_named(filled, tmp_path):
    """A row taken out (the trailer kept): refused, naming the table and both counts."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    lines = _lines_of(path)
    studio = next(n for n, line in enumerate(lines) if line.startswith(b'{"table": "studios"'))
    path.write_bytes(b"".join(lines[:studio] + lines[studio + 1:]))
    with pytest.raises(volreg.InvalidValue, match="studios: 0 rows, the trailer says 1"):
        volreg.import_registry(path, key="test-key-16-bytes")


def test_an_archive_of_an_older_volreg_needs_an_explicit_flag(filled, tmp_path):
    """Version 1 archives had no trailer: refused with what to do; accepted with accept_without_trailer."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    *body, _ = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(body[0])
    header["version"] = 1
    path.write_text(json.dumps(header, ensure_ascii=False) + "\n" + "".join(body[1:]), encoding="utf-8")
    with pytest.raises(volreg.InvalidValue, match="written by an older volreg.*accept_without_trailer=True"):
        volreg.import_registry(path, key="test-key-16-bytes")
    copy = volreg.import_registry(path, key="test-key-16-bytes", accept_without_trailer=True)
    assert tables(filled) == tables(copy)


def _full_disk(limit: int):
    """Make this process's writes fail past ``limit`` bytes of a file, as a full disk does (EFBIG)."""
    import contextlib
    import resource
    import signal

    @contextlib.contextmanager
    def limited():
        old_signal = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        old = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old)
            signal.signal(signal.SIGXFSZ, old_signal)

    return limited()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs POSIX resource limits")
def test_an_interrupted_export_leaves_no_file(filled, tmp_path):
    """A write error half-way (a full disk): the error is raised, no archive and no temporary file remain,
    and an older archive of the same name is left as it was."""
    path = tmp_path / "registry.jsonl"
    volreg.export_registry(filled, path)
    size = path.stat().st_size
    previous = path.read_bytes()
    with _full_disk(size // 2), pytest.raises(OSError):
        volreg.export_registry(filled, path)
    assert previous == path.read_bytes()
    assert ["registry.jsonl"] == sorted(p.name for p in tmp_path.iterdir())
    fresh = tmp_path / "fresh.jsonl"
    with _full_disk(size // 2), pytest.raises(OSError):
        volreg.export_registry(filled, fresh)
    assert not fresh.exists()
    assert ["registry.jsonl"] == sorted(p.name for p in tmp_path.iterdir())


def test_an_archive_from_before_the_subtree_summaries_is_restored_with_exact_summaries(tmp_path):
    """An archive written before m014/m015 has no closure of the organisation tree and no subtree rows, and
    lists an organisation moved under a later one before its new parent: the restore rebuilds the closure
    and every summary from the restored rows, so subtree questions count the moved organisation's service."""
    from strategies import ACTIVITY_DAYS, build_world
    from test_summaries import assert_summaries_exact

    with volreg.open(":memory:", key="test-key-16-bytes") as registry:
        volunteers, activities = build_world(registry)
        root = next(o for o in registry.organisations() if o.parent is None).id
        moved = registry.add_organisation("后并入的服务队")  # created before its new parent
        parent = registry.add_organisation("新设街道", parent=root)
        with registry.transaction():
            registry.db.execute("UPDATE organisations SET parent = ? WHERE id = ?", [parent.id, moved.id])
        act = registry.add_activity("敬老", category="敬老助老", start=f"{ACTIVITY_DAYS[1]} 08:00",
                                    end=f"{ACTIVITY_DAYS[1]} 12:00", organiser=moved)
        registry.verify_service(registry.log_service(volunteers[0], act, start=f"{ACTIVITY_DAYS[1]} 09:00",
                                                     minutes=90), by="审核员")
        registry.log_service(volunteers[1], activities[1], start=f"{ACTIVITY_DAYS[1]} 09:00", minutes=30)
        expected = volreg.hours(registry, organisation=root).to_dicts()
        path = tmp_path / "old.jsonl"
        volreg.export_registry(registry, path)

    later = ("organisation_tree", "summary_volunteer_years", "summary_unserved", "summary_nominees")
    *body, _ = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(body[0])
    header["version"] = 1  # no trailer then
    header["migrations"] = [m for m in header["migrations"] if m < "m014"]
    kept = []
    for line in body[1:]:
        entry = json.loads(line)
        if entry["table"] in later or entry["row"].get("grouping") == "subtree":
            continue
        for column in ("number", "name"):  # the volunteer summaries had no labels yet
            if entry["table"] == "summary_volunteers":
                entry["row"].pop(column, None)
        kept.append(json.dumps(entry, ensure_ascii=False) + "\n")
    path.write_text(json.dumps(header, ensure_ascii=False) + "\n" + "".join(kept), encoding="utf-8")

    with volreg.import_registry(path, key="test-key-16-bytes", accept_without_trailer=True) as copy:
        assert_summaries_exact(copy)
        assert expected == volreg.hours(copy, organisation=root).to_dicts()
        assert 90 == expected[0]["minutes"]
