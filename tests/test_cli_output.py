"""The command line's output options behave as sqlite-utils' do, byte for byte on the same rows; --bom makes
CSV for Excel; tables fit the terminal; global options go anywhere; a question about one thing fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from factories import make_id_number
from sqlite_utils.cli import cli as sqlite_utils_cli

import volreg
from volreg.cli import cli
from volreg.cli_output import text_width

DEED = "三十年如一日照顾孤寡老人，风雨无阻，带动社区邻里成立互助小组，累计服务时长超过三千小时，事迹感人至深。"


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry file: two studios with Chinese names, an activity without a studio, hours with fractions."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    path = tmp_path / "city.db"
    with volreg.open(path) as registry:
        office = registry.add_organisation("嘉峪关市文明办", kind="city_office")
        community = registry.add_organisation("新华社区", kind="community", parent=office)
        lu = registry.add_studio("卢芳爱心公益工作室", organisation=office)
        mei = registry.add_studio("梅建国移风易俗工作室", organisation=office)
        volunteer = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=community,
                                                registered_on="2024-01-02")
        for day, studio, minutes in (("2024-03-05", lu, 90), ("2024-03-06", mei, 45), ("2024-04-01", None, 135)):
            activity = registry.add_activity("学雷锋志愿服务", category="敬老助老", organiser=community, studio=studio,
                                             start=f"{day} 09:00", end=f"{day} 17:00")
            record = registry.log_service(volunteer, activity, start=f"{day} 09:00", minutes=minutes, by="社区")
            registry.verify_service(record, by="审核员")
        registry.define_honour("xiongguan_good_person", "雄关好人", level="city")
        person = registry.add_person("王秀兰", consent=True)
        registry.award("雄关好人", person, category="助人为乐", period="2024", awarded_on="2024-09-01", deed=DEED)
    return path


def run(*args: object, env: dict[str, str] | None = None):
    """Run volreg; click's result (stdout and stderr apart)."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def sqlite_utils_output(tmp_path: Path, rows: list[dict], *options: str) -> bytes:
    """What `sqlite-utils query` prints for the same rows, in the same column order."""
    other = tmp_path / "same-rows.db"
    other.unlink(missing_ok=True)
    sqlite_utils.Database(other)["t"].insert_all(rows)
    columns = ", ".join(f"[{c}]" for c in rows[0])
    options = tuple(o for o in options if o != "--json")  # sqlite-utils prints JSON unless told otherwise
    result = CliRunner().invoke(sqlite_utils_cli, ["query", str(other), f"select {columns} from t", *options])
    assert 0 == result.exit_code, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("options", [
    ["--table"], ["--fmt", "grid"], ["--fmt", "github"], ["--fmt", "psql"], ["--table", "--no-headers"],
    ["--csv"], ["--csv", "--no-headers"], ["--tsv"], ["--json"], ["--nl"],
])
@pytest.mark.parametrize("command", [["hours", "--by", "studio"], ["activities", "--by", "studio", "--by", "month"]])
def test_the_same_rows_print_as_sqlite_utils_prints_them(city, tmp_path, command, options):
    """Tables (Chinese text two cells wide), CSV, TSV, JSON and newline-delimited JSON match sqlite-utils'."""
    rows = json.loads(run(command[0], city, *command[1:], "--json").stdout)
    assert len(rows) >= 3 and any(r["studio"] is None for r in rows)
    ours = run(command[0], city, *command[1:], *options)
    assert 0 == ours.exit_code, ours.output
    assert sqlite_utils_output(tmp_path, rows, *options) == ours.stdout_bytes


def test_the_table_is_the_default(city):
    """No option gives the same bytes as --table."""
    assert run("hours", city, "--by", "studio", "--table").stdout == run("hours", city, "--by", "studio").stdout


def test_bom_gives_csv_that_excel_reads_as_utf8(city):
    """--bom and --excel start the CSV with EF BB BF and change nothing else; --excel alone means CSV."""
    plain = run("hours", city, "--by", "studio", "--csv").stdout_bytes
    assert b"\xef\xbb\xbf" + plain == run("hours", city, "--by", "studio", "--csv", "--bom").stdout_bytes
    assert b"\xef\xbb\xbf" + plain == run("hours", city, "--by", "studio", "--excel").stdout_bytes
    assert "卢芳爱心公益工作室".encode() in plain and plain.count(b"\r\n") == 4
    tsv = run("hours", city, "--by", "studio", "--tsv", "--bom").stdout_bytes
    assert tsv.startswith(b"\xef\xbb\xbfstudio\tstudio_name\t")


@pytest.mark.parametrize(("options", "message"), [
    (["--json", "--bom"], "--bom (--excel) is for CSV or TSV, not --json"),
    (["--fmt", "grid", "--csv"], "--fmt chooses a table format; it cannot be combined with --csv"),
    (["--fmt", "nosuch"], "Invalid value for '--fmt'"),
])
def test_contradictory_output_options_are_one_line(city, options, message):
    """Options that cannot go together are refused in one line, exit status 1."""
    result = run("hours", city, *options)
    assert (1, 1) == (result.exit_code, len(result.output.strip().splitlines()))
    assert message in result.output


def test_an_empty_answer_prints_as_sqlite_utils_does(city, tmp_path):
    """No rows: a table says (no rows), JSON is [] and CSV is the header alone."""
    assert "(no rows)\n" == run("stars", city, "--as-of", "2000-01-01").stdout
    assert "[]\n" == run("stars", city, "--as-of", "2000-01-01", "--json").stdout
    assert "" == run("stars", city, "--as-of", "2000-01-01", "--nl").stdout
    assert run("stars", city, "--as-of", "2000-01-01", "--csv").stdout.startswith("volunteer,")


def test_a_wide_table_is_cut_to_the_terminal_and_whole_in_a_pipe(city):
    """With COLUMNS narrower than the table, names end in … and every line fits; ids and numbers stay whole.
    Printed to a pipe (no COLUMNS) the same table keeps every character, and --fmt github is never cut."""
    whole = run("hours", city, "--by", "studio")
    assert "梅建国移风易俗工作室" in whole.stdout and max(text_width(line) for line in whole.stdout.splitlines()) > 80
    rows = json.loads(run("hours", city, "--by", "studio", "--json").stdout)
    for fmt, columns in (("simple", "80"), ("grid", "90")):
        cut = run("hours", city, "--by", "studio", "--fmt", fmt, env={"COLUMNS": columns})
        assert 0 == cut.exit_code
        lines = cut.stdout.splitlines()
        assert max(text_width(line) for line in lines) <= int(columns) and "-[ RECORD" not in cut.stdout
        assert "梅建国移风易俗工作室" not in cut.stdout and "梅建国移风易…" in cut.stdout
        assert all(r["studio"] in cut.stdout for r in rows if r["studio"]) and "135" in cut.stdout
    markdown = run("hours", city, "--by", "studio", "--fmt", "github", env={"COLUMNS": "80"})
    assert "梅建国移风易俗工作室" in markdown.stdout  # pasted into documents, not read on a terminal


def test_a_table_too_wide_to_cut_prints_one_record_at_a_time(city):
    """The honour roll's many columns cannot fit 100 cells even cut: one record a column a line, the deed
    wrapped (nothing lost), every line within 100 cells; in a pipe it is one wide table."""
    whole = run("honour-roll", city)
    assert DEED in whole.stdout and max(text_width(line) for line in whole.stdout.splitlines()) > 150
    narrow = run("honour-roll", city, env={"COLUMNS": "100"})
    assert 0 == narrow.exit_code
    lines = narrow.stdout.splitlines()
    assert lines[0].startswith("-[ RECORD 1 ]") and max(text_width(line) for line in lines) <= 100
    [entry] = json.loads(run("honour-roll", city, "--json").stdout)
    assert f"id              {entry['id']}" in lines
    assert DEED == "".join(line.split("  ")[-1].strip() for line in lines[lines.index(next(
        line for line in lines if line.startswith("deed"))):] if not line.startswith(("promoted_to", "id ")))


@pytest.mark.parametrize("placement", ["before", "after", "after="])
def test_key_file_goes_before_or_after_the_command(city, tmp_path, placement):
    """--key-file is accepted before the command, after it, and as --key-file=FILE."""
    key = tmp_path / "elsewhere.key"
    key.write_text(Path(f"{city}.key").read_text())
    key.chmod(0o600)
    Path(f"{city}.key").unlink()  # the key is only where the option says
    args = {
        "before": ["--key-file", key, "hours", city],
        "after": ["hours", city, "--key-file", key],
        "after=": ["hours", "--by", "month", f"--key-file={key}", city],
    }[placement]
    result = run(*args, "--json")
    assert 0 == result.exit_code, result.output
    assert 270 == sum(r["minutes"] for r in json.loads(result.stdout))


def test_a_command_help_is_still_the_command_help(city):
    """`volreg hours --help` shows the command's options, the new output options among them."""
    result = run("hours", "--help")
    assert 0 == result.exit_code
    for option in ("--by", "--table", "--csv", "--tsv", "--json", "--nl", "--fmt", "--no-headers", "--bom"):
        assert option in result.output


def test_history_of_an_unknown_id_fails_in_one_line(city):
    """A question about one thing that has no answer exits 1 with one line, not '(no rows)' and 0."""
    result = run("history", city, "vol-doesnotexist")
    assert (1, 1) == (result.exit_code, len(result.output.strip().splitlines()))
    assert "no recorded changes to 'vol-doesnotexist'" in result.output
