"""Every Python example in the README runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_readme_example_runs(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A README example runs without error in a scratch directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(README.parent / "examples"))
    monkeypatch.setenv("VOLREG_KEY", "readme")
    exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})


def test_the_readme_has_examples() -> None:
    """The README keeps at least one runnable example."""
    assert BLOCKS
