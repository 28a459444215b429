"""Every Python example in the README runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_readme_example_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A README example runs without error in a scratch directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(README.parent / "examples")   # "examples/..." as from the checkout
    monkeypatch.syspath_prepend(str(README.parent / "examples"))
    monkeypatch.setenv("VOLREG_KEY", "readme-key-16-bytes")
    exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})


def test_the_readme_has_examples() -> None:
    """The README keeps at least one runnable example."""
    assert BLOCKS


SHELL_LINES = [
    line.split("#")[0].split(" > ")[0].strip()
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    for line in block.splitlines()
    if line.startswith("volreg ")
]
# Commands that only read the example registry (or write into the scratch directory) run as written;
# the import/history lines name files and ids of the reader's own.
RUNNABLE = [line for line in SHELL_LINES if line.split()[1] in
            {"hours", "activities", "nominations", "honour-roll", "stars", "datasette-metadata", "export", "check",
             "site", "publish", "duplicates"}]


def test_the_readme_shows_the_command_line() -> None:
    """The README's command-line section keeps its query commands."""
    assert {"hours", "activities", "nominations", "honour-roll", "stars"} <= {line.split()[1] for line in RUNNABLE}


@pytest.mark.parametrize("line", RUNNABLE)
def test_readme_command_runs_on_the_example(line: str, example_db: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Each query command the README shows runs on the Jiayuguan example file and prints something."""
    from click.testing import CliRunner

    from volreg.cli import cli

    monkeypatch.chdir(tmp_path)
    args = [str(example_db) if arg == "jiayuguan.db" else arg for arg in shlex.split(line)[1:]]
    result = CliRunner().invoke(cli, args)
    assert 0 == result.exit_code, result.output
    assert result.output.strip() or list(tmp_path.iterdir())
