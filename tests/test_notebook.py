"""The statistics notebook: kept without outputs, and executed when the notebook extra is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "statistics.ipynb"


def test_the_notebook_is_stored_without_outputs() -> None:
    """Outputs are cleared in the repository, so diffs stay readable and no data is committed."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert len(code) >= 5
    assert [] == [c["id"] for c in code if c["outputs"] or c["execution_count"] is not None]


def test_the_notebook_runs() -> None:
    """Every cell runs without error against the example registry (needs the ``notebook`` extra)."""
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert [] == errors
    texts = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "400 volunteers; the top 40 give" in texts
