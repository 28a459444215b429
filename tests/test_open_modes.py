"""Opening a registry: read-only mode, foreign files, a closed registry, a full disk, driver errors, logging."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_id_number

import volreg

KEY = "open-modes-test-key"
"""The registry key of these tests (long enough for any key rule)."""


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _small_registry(path: Path) -> None:
    registry = volreg.open(path, key=KEY)
    org = registry.add_organisation("新华社区", kind="community")
    volunteer = registry.register_volunteer("王小明", id_number=make_id_number(sequence=1), organisation=org,
                                            registered_on="2024-01-02")
    activity = registry.add_activity("学雷锋", category="敬老助老", organiser=org,
                                     start="2024-03-05 09:00", end="2024-03-05 17:00")
    registry.verify_service(registry.log_service(volunteer, activity, start="2024-03-05 09:00", minutes=150),
                            by="审核员")
    registry.close()


@contextlib.contextmanager
def _mounted(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``directory`` (root only; skipped where the platform forbids it)."""
    directory.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                              capture_output=True)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def _remount_readonly(directory: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)


# -- read-only ---------------------------------------------------------------------------------------------


def test_a_read_only_open_writes_nothing_and_refuses_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """readonly=True answers queries, leaves the file byte-for-byte as it was, writes no key file and refuses a
    write as ReadOnly. (Like any reader of a WAL database, SQLite may leave its -wal/-shm coordination files.)"""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    _small_registry(path)  # made with key=KEY: there is no key file, and a reader must not create one
    before = _files(tmp_path)
    registry = volreg.open(path, readonly=True)
    assert registry.readonly
    assert 150 == volreg.hours(registry)[0]["minutes"]
    assert 1 == len(volreg.star_levels(registry))
    with pytest.raises(volreg.ReadOnly, match="read-only"):
        registry.add_organisation("新的", kind="community")
    with pytest.raises(volreg.InvalidValue, match="'key' is needed"):
        registry.person_by_id_number(make_id_number(sequence=1))
    registry.close()
    after = _files(tmp_path)
    assert before["city.db"] == after["city.db"]
    assert {"city.db", "city.db-wal", "city.db-shm"} >= set(after)


def test_a_read_only_open_with_the_key_finds_people_by_id_number(tmp_path: Path) -> None:
    """With its key, a read-only registry looks people up by ID number; a wrong key is refused."""
    path = tmp_path / "city.db"
    _small_registry(path)
    with volreg.open(path, readonly=True, key=KEY) as registry:
        assert "王小明" == registry.person_by_id_number(make_id_number(sequence=1)).name
    with pytest.raises(volreg.KeyMismatch):
        volreg.open(path, readonly=True, key="a-different-key-of-enough-bytes")


def test_a_registry_on_a_read_only_file_system_opens_read_only(tmp_path: Path) -> None:
    """On a read-only directory (a file system mounted read-only) a registry opens read-only and answers; a
    writable open is refused with a volreg error."""
    with _mounted(tmp_path / "ro", "4m") as directory:
        path = directory / "city.db"
        _small_registry(path)
        _remount_readonly(directory)
        before = _files(directory)
        with volreg.open(path, readonly=True, key=KEY) as registry:
            assert 150 == volreg.hours(registry)[0]["minutes"]
        with pytest.raises(volreg.VolregError):
            volreg.open(path, key=KEY)
        assert before == _files(directory)


def test_read_only_refuses_what_is_not_a_registry_and_leaves_it_byte_for_byte(tmp_path: Path) -> None:
    """A foreign SQLite file, an empty file, a text file and a missing file are refused as NotARegistry;
    nothing is written beside them."""
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
    conn.execute("INSERT INTO orders (item) VALUES ('书')")
    conn.commit()
    conn.close()
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("这不是数据库\n" * 100)
    before = _files(tmp_path)
    for name in ("other.db", "empty.db", "notes.txt", "missing.db"):
        with pytest.raises(volreg.NotARegistry, match="left unchanged"):
            volreg.open(tmp_path / name, readonly=True)
    with pytest.raises(volreg.NotARegistry, match="orders"):
        volreg.open(foreign, readonly=True)
    assert before == _files(tmp_path)


def test_a_writable_open_refuses_a_foreign_database_unless_adopting(tmp_path: Path) -> None:
    """A non-empty SQLite file of another application is refused unchanged; adopt=True adds a registry to it."""
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
    conn.commit()
    conn.close()
    text = tmp_path / "notes.txt"
    text.write_text("not sqlite " * 200)
    before = _files(tmp_path)
    with pytest.raises(volreg.NotARegistry, match="adopt=True"):
        volreg.open(foreign)
    with pytest.raises(volreg.NotARegistry, match="not a SQLite database"):
        volreg.open(text)
    assert before == _files(tmp_path)
    with volreg.open(foreign, adopt=True, key=KEY) as registry:
        registry.add_organisation("新华社区", kind="community")
        assert {"orders", "people"} <= set(registry.db.table_names())


def test_an_older_registry_is_not_upgraded_by_a_read_only_open(tmp_path: Path) -> None:
    """A registry that needs a migration is refused read-only (it cannot be upgraded without writing)."""
    import sqlite_utils

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    volreg.store.MIGRATIONS.apply(db, stop_before="m002_service_ledger")
    db.close()
    before = path.read_bytes()
    with pytest.raises(volreg.ReadOnly, match="upgrade") as refused:
        volreg.open(path, readonly=True)
    assert isinstance(refused.value, volreg.NeedsUpgrade) and "m016_import_journal" in refused.value.pending
    assert before == path.read_bytes()


def test_a_read_only_command_on_an_older_registry_says_how_to_upgrade(tmp_path: Path) -> None:
    """``volreg hours`` on a registry an older volreg wrote exits with status 1 naming ``volreg init DB``, and
    works once that has upgraded it."""
    from click.testing import CliRunner

    from volreg.cli import cli

    path = tmp_path / "old.db"
    registry = volreg.open(path)  # its key in old.db.key, where the command line finds it
    registry.close()
    import sqlite3

    with sqlite3.connect(path) as conn:  # as the previous version left it: without the last migration
        conn.execute("DROP TABLE journal_items")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm016_import_journal'")
    conn.close()
    runner = CliRunner()
    refused = runner.invoke(cli, ["hours", str(path)])
    assert refused.exit_code == 1
    assert f"upgrade it once with: volreg init {path}" in refused.output and "m016_import_journal" in refused.output
    assert runner.invoke(cli, ["init", str(path)]).exit_code == 0
    answered = runner.invoke(cli, ["hours", str(path)])
    assert answered.exit_code == 0, answered.output


# -- closed ------------------------------------------------------------------------------------------------


def test_a_closed_registry_raises_closed_everywhere(tmp_path: Path) -> None:
    """After close() every write, read, query and iterator raises volreg.Closed (a VolregError), not sqlite3's."""
    path = tmp_path / "city.db"
    _small_registry(path)
    registry = volreg.open(path, key=KEY)
    people = registry.people()
    registry.close()
    registry.close()  # twice is harmless
    assert registry.closed and "closed" in repr(registry)
    for action in (lambda: registry.add_organisation("x", kind="community"), lambda: list(registry.people()),
                   lambda: volreg.hours(registry), lambda: registry.db, lambda: list(people),
                   lambda: volreg.export_registry(registry, tmp_path / "out.json")):
        with pytest.raises(volreg.Closed, match="is closed"):
            action()
    memory = volreg.open(":memory:")
    memory.close()
    with pytest.raises(volreg.Closed):
        memory.add_person("王")


def test_the_busy_timeout_is_a_parameter() -> None:
    """open(timeout=) sets SQLite's busy timeout; a bad value is refused naming the field."""
    registry = volreg.open(":memory:", timeout=2.5)
    assert 2500 == registry.db.execute("PRAGMA busy_timeout").fetchone()[0]
    with pytest.raises(volreg.InvalidValue, match="'timeout'"):
        volreg.open(":memory:", timeout=-1)


# -- a full disk ---------------------------------------------------------------------------------------------


def _fill(registry: volreg.Registry) -> tuple[int, volreg.VolregError]:
    """Add people until the disk refuses; how many landed and the error."""
    org = registry.add_organisation("新华社区", kind="community")
    for n in range(100_000):
        try:
            registry.register_volunteer(f"志愿者{n}", id_number=make_id_number(f"{1950 + n // 1000}0101", sequence=n % 1000),
                                        organisation=org, registered_on="2024-01-02", area="街道" * 90)
        except volreg.VolregError as error:
            return n, error
    raise AssertionError("the disk never filled")


def _consistent(path: Path, landed: int) -> None:
    conn = sqlite3.connect(path)
    try:
        assert "ok" == conn.execute("PRAGMA integrity_check").fetchone()[0]
        assert landed == conn.execute("SELECT count(*) FROM volunteers").fetchone()[0]
        assert landed == conn.execute("SELECT count(*) FROM people").fetchone()[0]
        assert landed == conn.execute("SELECT count(*) FROM journal WHERE entity = 'volunteer'").fetchone()[0]
    finally:
        conn.close()


def test_a_full_file_system_refuses_the_write_whole(tmp_path: Path) -> None:
    """On a small file system that fills up, the write is refused as StorageFull and nothing of it is written."""
    with _mounted(tmp_path / "small", "1500k") as directory:
        path = directory / "city.db"
        registry = volreg.open(path, key=KEY)
        landed, error = _fill(registry)
        assert isinstance(error, volreg.StorageFull), error
        assert "disk is full" in str(error) and "nothing was written" in str(error)
        registry.close()
        _consistent(path, landed)


def test_a_size_limit_refuses_the_write_whole(tmp_path: Path) -> None:
    """SQLite's own SQLITE_FULL (a database at its page limit) is StorageFull too, and nothing is half-written;
    the registry keeps answering reads."""
    path = tmp_path / "city.db"
    registry = volreg.open(path, key=KEY)
    pages = registry.db.execute("PRAGMA page_count").fetchone()[0]
    registry.db.execute(f"PRAGMA max_page_count = {pages + 40}")
    landed, error = _fill(registry)
    assert isinstance(error, volreg.StorageFull), error
    assert landed == len(list(registry.volunteers()))
    registry.close()
    _consistent(path, landed)


# -- logging -------------------------------------------------------------------------------------------------


def test_writes_refusals_and_migrations_are_logged_without_personal_data(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The "volreg" logger records each write at DEBUG (action, entity, id), refusals and migrations at INFO,
    and never a name, phone or ID number."""
    caplog.set_level(logging.DEBUG, logger="volreg")
    registry = volreg.open(tmp_path / "city.db", key=KEY)
    assert any(r.levelno == logging.INFO and "migrated" in r.getMessage() for r in caplog.records)
    person = registry.add_person("王秀兰", id_number=make_id_number(sequence=2), phone="13812345678")
    assert any(r.levelno == logging.DEBUG and r.getMessage() == f"create person {person.id}"
               for r in caplog.records)
    with pytest.raises(volreg.Duplicate):
        registry.add_person("王秀兰", id_number=make_id_number(sequence=2))
    refusals = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and "refused" in r.getMessage()]
    assert 1 == len(refusals) and "Duplicate" in refusals[0]
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("王秀兰", "13812345678", make_id_number(sequence=2)):
        assert secret not in text
    registry.close()


# -- the command line ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["stars"], ["hours"], ["check"], ["activities"], ["honour-roll"]])
def test_read_commands_leave_another_applications_file_as_it_was(tmp_path: Path, command: list[str]) -> None:
    """A read command given another application's SQLite file fails with a clear message and changes nothing
    (no tables added, no WAL switch, no key file)."""
    from click.testing import CliRunner

    from volreg.cli import cli

    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
    conn.commit()
    conn.close()
    before = _files(tmp_path)
    result = CliRunner().invoke(cli, [*command, str(foreign)])
    assert 0 != result.exit_code
    assert "must be a volreg registry" in result.output
    assert before == _files(tmp_path)


def test_read_commands_work_on_a_read_only_file_system(tmp_path: Path) -> None:
    """``volreg hours`` and ``volreg check`` answer from a registry on a file system mounted read-only."""
    from click.testing import CliRunner

    from volreg.cli import cli

    with _mounted(tmp_path / "ro", "4m") as directory:
        path = directory / "city.db"
        _small_registry(path)
        _remount_readonly(directory)
        runner = CliRunner()
        hours = runner.invoke(cli, ["hours", str(path)])
        assert 0 == hours.exit_code, hours.output
        assert "2.5" in hours.output
        checked = runner.invoke(cli, ["check", str(path)])
        assert (1, True) == (checked.exit_code, "late" in checked.output), checked.output  # entered late


def test_a_database_passed_in_stays_the_callers_until_close(tmp_path: Path) -> None:
    """A sqlite_utils.Database given to Registry() is not closed when the registry is dropped or refused, only
    by an explicit close()."""
    import gc

    import sqlite_utils

    db = sqlite_utils.Database(tmp_path / "mine.db")
    registry = volreg.Registry(db, key=KEY)
    registry.add_organisation("新华社区", kind="community")
    del registry
    gc.collect()
    assert 1 == db.execute("SELECT count(*) FROM organisations").fetchone()[0]
    with pytest.raises(volreg.KeyMismatch):
        volreg.Registry(db, key="a-different-key-of-enough-bytes")
    assert 1 == db.execute("SELECT count(*) FROM organisations").fetchone()[0]
    volreg.Registry(db, key=KEY).close()
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("SELECT 1")
