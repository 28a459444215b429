"""The volreg command line, through click's runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import volreg
from volreg.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Run volreg with arguments in a temporary directory; returns click's result."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def db(run, tmp_path, data_file):
    """A registry file with the fixture organisations and volunteers imported."""
    path = tmp_path / "city.db"
    assert 0 == run("init", path).exit_code
    assert 0 == run("import", path, data_file("organisations.csv"), "--kind", "organisations").exit_code
    return path


def test_init_creates_the_registry_and_its_key(run, tmp_path):
    """init makes the database and the key file, and says where the key is."""
    result = run("init", tmp_path / "new.db")
    assert 0 == result.exit_code
    assert "created registry" in result.output and "new.db.key" in result.output
    assert (tmp_path / "new.db.key").exists()


def test_import_reports_problems_and_exits_1(run, db, data_file):
    """A problem is printed as file:line: [column] message, masked, and the exit status is 1."""
    result = run("import", db, data_file("volunteers.csv"), "--kind", "volunteers")
    assert 1 == result.exit_code
    assert "volunteers.csv:7: [身份证号]" in result.output
    assert "620200196512250025" not in result.output
    assert "nothing written" in result.output
    with volreg.open(db) as registry:
        assert [] == list(registry.volunteers())


def test_import_valid_rows_as_json(run, db, data_file):
    """--mode valid_rows writes the good rows; --json gives a report a script can read."""
    result = run("import", db, data_file("volunteers.csv"), "--kind", "volunteers", "--mode", "valid_rows", "--json")
    report = json.loads(result.output)
    assert (3, 0, 2) == (report["created"], report["skipped"], len(report["problems"]))
    assert "6****************5" == report["problems"][1]["value"]


def test_import_with_a_mapping(run, db, tmp_path):
    """--map names a column the vocabulary does not know."""
    path = tmp_path / "v.csv"
    path.write_text("联系人,身份证号\n王小明,620200198503120024\n", encoding="utf-8")
    result = run("import", db, path, "--kind", "volunteers", "--map", "联系人=name")
    assert 0 == result.exit_code, result.output
    assert "1 created" in result.output


def test_history_prints_a_table_csv_or_json(run, db):
    """history shows who changed what, as a table by default or as CSV or JSON."""
    with volreg.open(db) as registry:
        org = next(o for o in registry.organisations() if o.name == "新华社区")
    table = run("history", db, org.id)
    assert "import organisations.csv" in table.output and "name=新华社区" in table.output
    csv_text = run("history", db, org.id, "--csv").output
    assert csv_text.startswith("seq,at,actor,action,entity,before,after,note")
    [entry] = json.loads(run("history", db, org.id, "--json").output)
    assert "新华社区" == entry["after"]["name"]


def test_export_and_restore_keep_everything(run, db, tmp_path):
    """export writes the archive; restore with the key file gives the same organisations and history."""
    archive = tmp_path / "city.jsonl"
    assert 0 == run("export", db, archive).exit_code
    restored = tmp_path / "copy.db"
    result = run("--key-file", f"{db}.key", "restore", archive, restored)
    assert 0 == result.exit_code, result.output
    with volreg.open(db) as one, volreg.open(restored, key=(tmp_path / "city.db.key").read_text().strip()) as two:
        assert list(one.organisations()) == list(two.organisations())


def test_restore_leaves_the_key_beside_the_new_registry(run, db, tmp_path):
    """--key-file after the command works, and the key is copied to DB.key so later commands open DB."""
    archive = tmp_path / "city.jsonl"
    run("export", db, archive)
    restored = tmp_path / "copy.db"
    result = run("restore", archive, restored, "--key-file", f"{db}.key")
    assert 0 == result.exit_code, result.output
    assert f"{restored}.key" in result.output
    key_file = tmp_path / "copy.db.key"
    assert (tmp_path / "city.db.key").read_text().strip() == key_file.read_text().strip()
    assert 0o600 == key_file.stat().st_mode & 0o777
    assert 0 == run("hours", restored, "--json").exit_code


def test_restore_without_the_key_says_what_to_do(run, db, tmp_path):
    """A missing key is one line of advice and exit status 1, not a traceback."""
    archive = tmp_path / "city.jsonl"
    run("export", db, archive)
    result = run("restore", archive, tmp_path / "copy.db")
    assert 1 == result.exit_code
    assert result.output.startswith("Error: ") and "pass --key-file with that database's .key file" in result.output
    assert "Traceback" not in result.output
    assert [] == [p.name for p in tmp_path.iterdir() if p.name.startswith("copy.db")]  # no stray key file


def test_restore_with_another_key_names_the_key_given(run, db, tmp_path):
    """A wrong key is refused naming where it came from and the archive, and nothing is left behind."""
    archive = tmp_path / "city.jsonl"
    run("export", db, archive)
    other = tmp_path / "other.key"
    other.write_text("not the key of this registry")
    other.chmod(0o600)
    result = run("restore", "--key-file", other, archive, tmp_path / "copy.db")
    assert 1 == result.exit_code
    assert "not the key of the registry exported to city.jsonl" in result.output
    assert [] == [p.name for p in tmp_path.iterdir() if p.name.startswith("copy.db")]


def test_a_missing_registry_is_one_line_of_advice(run, tmp_path):
    """Commands other than init do not create a registry by accident."""
    result = run("history", tmp_path / "nowhere.db", "x")
    assert 1 == result.exit_code
    assert "create one with: volreg init" in result.output


def test_a_volreg_error_is_one_line_and_exit_1(run, tmp_path):
    """An unknown time zone is refused with the rule named, no traceback."""
    result = run("init", tmp_path / "x.db", "--timezone", "Mars/Olympus")
    assert (1, 1) == (result.exit_code, len(result.output.strip().splitlines()))
    assert "'timezone' must be an IANA time zone name" in result.output


COMMANDS = ["init", "import", "export", "restore", "history", "hours", "activities", "nominations", "honour-roll",
            "stars", "datasette-metadata"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(run, command):
    """Every subcommand explains itself and its options."""
    result = run(command, "--help")
    assert 0 == result.exit_code
    assert "Usage: cli " + command in result.output or f"Usage: cli {command}" in result.output
    assert len(result.output.splitlines()) > 5


def test_the_top_level_help_lists_the_commands(run):
    """volreg --help lists every command with its one-line summary."""
    result = run("--help")
    for command in COMMANDS:
        assert command in result.output


@pytest.fixture
def city(run, db, data_file):
    """The fixture registry with volunteers, activities, service records, honours and nominations."""
    for kind in ("volunteers", "activities", "service_records", "nominations"):
        run("import", db, data_file(f"{kind}.csv"), "--kind", kind, "--mode", "valid_rows")
    with volreg.open(db) as registry:
        registry.add_edition("全国道德模范", 6, year=2024)
    run("import", db, data_file("honours.csv"), "--kind", "honours", "--mode", "valid_rows")
    return db


def test_hours_by_month_and_organisation(run, city):
    """hours prints an aligned table with exact minutes; --json gives the same rows."""
    result = run("hours", city, "--by", "month", "--by", "organisation", "--start", "2024-01-01", "--end", "2025-01-01")
    assert 0 == result.exit_code, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["month", "organisation", "organisation_name", "minutes", "hours", "records", "volunteers"]
    rows = json.loads(run("hours", city, "--by", "month", "--json").output)
    assert {"2024-02": 255, "2024-03": 210} == {r["month"]: r["minutes"] for r in rows}


def test_hours_filters_by_organisation_name_and_status(run, city):
    """--organisation takes a name; --status pending counts the unverified record."""
    rows = json.loads(run("hours", city, "--organisation", "新华社区", "--status", "pending", "--json").output)
    assert 75 == rows[0]["minutes"]
    text = run("hours", city, "--by", "volunteer", "--csv").output
    assert text.startswith("volunteer,volunteer_name,volunteer_number,minutes")


def test_activities_by_studio_and_kind(run, city):
    """activities counts activities with participants; by kind the moral lecture is separate."""
    rows = json.loads(run("activities", city, "--by", "kind", "--json").output)
    assert {"volunteer_service": 2, "moral_lecture": 1} == {r["kind"]: r["activities"] for r in rows}
    assert 0 == run("activities", city, "--by", "studio").exit_code


def test_nominations_and_the_funnel(run, city):
    """nominations counts by any dimension; --funnel shows how many reached each stage."""
    rows = json.loads(run("nominations", city, "--by", "category", "--json").output)
    assert {"bravery": 2, "filial_piety": 1, "dedication": 1} == {r["category"]: r["nominations"] for r in rows}
    [funnel] = json.loads(run("nominations", city, "--funnel", "--honour", "中国好人", "--json").output)
    assert (4, 4, 0) == (funnel["nominations"], funnel["submitted"], funnel["verified"])


def test_honour_roll_public_masks_names(run, city):
    """honour-roll --public masks people who have not consented; ID numbers never appear."""
    result = run("honour-roll", city, "--public", "--year", "2024")
    assert "王*明" in result.output and "王小明" not in result.output
    assert "620200" not in result.output


def test_stars_with_thresholds_and_top(run, city):
    """stars uses the given thresholds and --top keeps the first rows."""
    rows = json.loads(run("stars", city, "--thresholds", "1,5", "--top", "2", "--json").output)
    assert [(5.25, 2), (2.5, 1)] == [(r["hours"], r["star"]) for r in rows]
    bad = run("stars", city, "--thresholds", "5,1")
    assert 1 == bad.exit_code and "increasing" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize(("args", "message"), [
    (("hours", "--by", "week"), "Invalid value for '--by'"),
    (("hours", "--start", "yesterday"), "'start' must be a date and time"),
    (("hours", "--organisation", "不存在的社区"), "no organisation with id or name"),
    (("nominations", "--honour", "不存在的称号"), "no honour title"),
])
def test_query_errors_are_one_line(run, city, args, message):
    """A wrong option is one line saying what to fix, exit status 1, no traceback."""
    result = run(args[0], city, *args[1:])
    assert (1, 1) == (result.exit_code, len(result.output.strip().splitlines()))
    assert message in result.output and "Traceback" not in result.output


def test_datasette_metadata_writes_a_file(run, city, tmp_path):
    """datasette-metadata -o writes JSON naming the database after the file."""
    target = tmp_path / "metadata.json"
    assert 0 == run("datasette-metadata", city, "-o", target).exit_code
    meta = json.loads(target.read_text(encoding="utf-8"))
    assert meta["databases"]["city"]["tables"]["people"]["hidden"] is True


def _volreg(*args, cwd, limit=None):
    """The real command line in a process; ``limit`` caps the size of files it writes (a full disk)."""
    import os
    import resource
    import signal
    import subprocess
    import sys

    def full_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    env = {k: v for k, v in os.environ.items() if k != "VOLREG_KEY"}
    return subprocess.run([sys.executable, "-m", "volreg.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, preexec_fn=full_disk if limit else None)


def test_export_on_a_full_disk_is_one_line_and_leaves_no_file(db, tmp_path):
    """A write error during export: one line on stderr, exit 1, and no archive (not even a cut one)."""
    with volreg.open(db) as registry, registry.transaction():
        for n in range(600):
            registry.add_person(f"志愿者{n:03d}", phone=f"1381234{n:04d}", area="镜铁区新华社区")
    full = tmp_path / "full.jsonl"
    assert 0 == _volreg("export", db, full, cwd=tmp_path).returncode
    size = full.stat().st_size
    full.unlink()
    assert size // 2 > 65536  # room for SQLite's own files: only the archive hits the limit
    done = _volreg("export", db, "backup.jsonl", cwd=tmp_path, limit=size // 2)
    assert 1 == done.returncode
    assert 1 == len(done.stderr.strip().splitlines()), done.stderr
    assert "File too large" in done.stderr and "Traceback" not in done.stderr
    assert not any(p.name.startswith((".backup", "backup")) for p in tmp_path.iterdir())
    debug = _volreg("--debug", "export", db, "backup.jsonl", cwd=tmp_path, limit=size // 2)
    assert 1 == debug.returncode and "Traceback" in debug.stderr


def test_restore_refuses_a_cut_archive_in_one_line(run, db, tmp_path):
    """restore of an archive cut short: one line naming the problem, exit 1, no registry created."""
    archive = tmp_path / "city.jsonl"
    assert 0 == run("export", db, archive).exit_code
    lines = archive.read_bytes().splitlines(keepends=True)
    archive.write_bytes(b"".join(lines[: len(lines) // 2]))
    result = run("--key-file", f"{db}.key", "restore", archive, tmp_path / "copy.db")
    assert 1 == result.exit_code
    assert "cut short" in result.output and 1 == len(result.output.strip().splitlines())
    assert not (tmp_path / "copy.db").exists()
