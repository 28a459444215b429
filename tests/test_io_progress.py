"""import_file(progress=...): a hook called with (rows done, rows total) that tqdm, rich or the CLI can follow."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

import volreg
from volreg.cli import cli
from volreg.io.progress import StderrBar


class Calls(list):
    """A progress hook that remembers every call."""

    def __call__(self, done: int, total: int | None) -> None:
        self.append((done, total))


@pytest.mark.parametrize("form", ["csv", "gb18030", "jsonl"])
def test_the_hook_sees_every_row_with_the_total(registry, data_file, form):
    """Five organisations (a blank line skipped): one call per row, counting up, the total known throughout."""
    calls = Calls()
    report = volreg.import_file(registry, data_file("organisations.csv", form), kind="organisations",
                                progress=calls)
    assert 5 == report.rows == report.created
    assert [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)] == calls


def test_an_xlsx_total_is_the_sheet_size_and_the_last_call_completes(registry, data_file):
    """XLSX: the total is the sheet's stated size less the header (its blank row counts), then (n, n)."""
    pytest.importorskip("openpyxl")
    calls = Calls()
    volreg.import_file(registry, data_file("organisations.csv", "xlsx"), kind="organisations", progress=calls)
    assert [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (5, 5)] == calls


def test_valid_rows_mode_calls_the_hook_across_batches(registry, data_file):
    """With batches of two rows, the calls still count every row once, in order."""
    calls = Calls()
    volreg.import_file(registry, data_file("organisations.csv"), kind="organisations", mode="valid_rows",
                       batch_size=2, progress=calls)
    assert [1, 2, 3, 4, 5] == [done for done, _ in calls]


def test_a_hook_that_raises_stops_the_import_and_writes_nothing(registry, data_file):
    """Cancelling from the hook (a Stop button) rolls an all_or_nothing import back."""
    def cancel(done: int, total: int | None) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        volreg.import_file(registry, data_file("organisations.csv"), kind="organisations", progress=cancel)
    assert [] == list(registry.organisations())


def test_no_hook_when_progress_is_false_and_a_bad_hook_is_refused(registry, data_file, capsys):
    """False draws nothing; something that is neither a function nor a flag is refused before any write."""
    volreg.import_file(registry, data_file("organisations.csv"), kind="organisations", progress=False)
    assert "" == capsys.readouterr().err
    with pytest.raises(volreg.InvalidValue, match="'progress' must be a function"):
        volreg.import_file(registry, data_file("volunteers.csv"), kind="volunteers", progress="yes")
    assert [] == list(registry.volunteers())


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr is when a person runs the command."""

    def isatty(self) -> bool:
        return True


def test_the_stderr_bar_is_a_hook():
    """The command line's bar takes the same calls: a bar with a total, a row count without one."""
    screen = Terminal()
    bar = StderrBar("importing x.csv", screen)
    bar(1, 4)
    bar(4, 4)
    bar.close()
    counter = StderrBar("importing y.xlsx", screen)
    counter(7, None)
    counter.close()
    text = screen.getvalue()
    assert "importing x.csv" in text and "100%" in text
    assert "importing y.xlsx: 7 rows\n" in text


def test_the_command_line_draws_its_bar_through_the_hook(tmp_path, data_file, monkeypatch):
    """`volreg import --progress` shows the bar on stderr and leaves stdout to the report."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    db = tmp_path / "city.db"
    runner = CliRunner()
    assert 0 == runner.invoke(cli, ["init", str(db)]).exit_code
    result = runner.invoke(cli, ["import", str(db), str(data_file("organisations.csv")), "--kind",
                                 "organisations", "--progress"])
    assert 0 == result.exit_code, result.output
    assert "importing organisations.csv" in result.stderr
    assert "importing organisations.csv" not in result.stdout
