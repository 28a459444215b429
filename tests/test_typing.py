"""Type information reaches a project that installed volreg with `pip install -e` (py.typed is found)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """\
import volreg

registry = volreg.open(":memory:")
hours: int = volreg.hours(registry)
"""


def _can_build_without_isolation() -> bool:
    """Whether this Python's setuptools can build an editable wheel itself (saves fetching one)."""
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or (major >= 64 and importlib.util.find_spec("wheel") is not None)


@pytest.mark.slow
def test_mypy_reads_volreg_types_from_an_editable_install(tmp_path: Path) -> None:
    """A copy of the checkout installed with `pip install -e` in a fresh virtual environment: mypy, run on a
    script that imports volreg, finds the package and its types (it reports the script's own type error),
    instead of "Cannot find implementation or library stub for module named volreg"."""
    pytest.importorskip("mypy")
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "volreg", copy / "volreg", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    venv = tmp_path / "venv"
    # The environment sees this Python's packages (pip, mypy, volreg's dependencies): only volreg is new.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                   check=True, env=env)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(copy)]
    if _can_build_without_isolation():
        install.insert(-2, "--no-build-isolation")
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=300)
    assert 0 == done.returncode, done.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "use_volreg.py").write_text(SCRIPT)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-executable", str(python), "--cache-dir", str(tmp_path / "cache"),
         "--no-error-summary", "use_volreg.py"],
        cwd=project, capture_output=True, text=True, env=env, timeout=300,
    )
    assert "Cannot find implementation or library stub" not in checked.stdout
    assert 'use_volreg.py:4: error: Incompatible types in assignment (expression has type "Result"' in checked.stdout
