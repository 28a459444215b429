"""Every Python example in the README runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The block runs without error (files it writes go to a temporary folder)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOLREG_KEY", "readme-key")
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
