"""The statistics notebook: kept without outputs, and executed when the notebook extra is installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "statistics.ipynb"


def test_the_notebook_is_stored_without_outputs() -> None:
    """Outputs are cleared in the repository, so diffs stay readable and no data is committed."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert len(code) >= 5
    assert [] == [c["id"] for c in code if c["outputs"] or c["execution_count"] is not None]


def _run(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """Execute the notebook in a kernel with ``env`` set; return everything its cells printed, warnings
    included (an error, or fewer than the two charts drawn, fails)."""
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for name in ("VOLREG_NO_CJK_FONT", "JIAYUGUAN_DB", "VOLREG_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the kernel is a child process: it inherits the environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert [] == [o for o in outputs if o.output_type == "error"]
    assert 2 == sum("image/png" in o.get("data", {}) for o in outputs)
    return "".join(o.get("text", "") for o in outputs)


def _cjk_font_available() -> bool:
    pytest.importorskip("matplotlib")
    sys.path.insert(0, str(NOTEBOOK.parent))
    try:
        from cjk_font import use_cjk_font
    finally:
        sys.path.remove(str(NOTEBOOK.parent))
    return use_cjk_font() is not None


def test_the_notebook_runs_with_a_cjk_font(monkeypatch) -> None:
    """With a CJK font (Debian's fonts-noto-cjk, which .ci/run installs) every cell runs, the charts are
    labelled in Chinese by name, and no glyph is missing from a chart."""
    if not _cjk_font_available():
        pytest.skip("no CJK font on this machine (apt-get install fonts-noto-cjk)")
    texts = _run(monkeypatch)
    assert "Charts are labelled in Chinese, by name (font: " in texts
    assert "400 volunteers; the top 40 give" in texts
    assert "missing from font" not in texts


def test_the_notebook_runs_without_a_cjk_font(monkeypatch, example_db) -> None:
    """With every CJK font hidden from matplotlib, the notebook says so plainly and still runs, with charts
    labelled by id and English titles, and no empty boxes (the registry file built once for the session)."""
    texts = _run(monkeypatch, VOLREG_NO_CJK_FONT="1", JIAYUGUAN_DB=str(example_db))
    assert "No CJK font found (Debian: apt-get install fonts-noto-cjk)" in texts
    assert "400 volunteers; the top 40 give" in texts
    assert "missing from font" not in texts
