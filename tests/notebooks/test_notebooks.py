"""The example notebooks of ``notebooks/`` run as a new user runs them: each in a real kernel (nbclient), in a
fresh folder with a fresh store, capture strict; a failed cell (their last cells assert their own lineage) fails the
test, and each must show the graph widget with its static picture (what nbconvert and GitHub show)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_example_notebook_runs_and_checks_its_lineage(source: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NBLINEAGE_URL", f"sqlite:///{tmp_path / 'lineage.db'}")
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    path = Path(shutil.copy(source, tmp_path))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    pictures = [
        output["data"]["text/html"]
        for output in outputs
        if WIDGET in output.get("data", {}) and "text/html" in output.get("data", {})
    ]
    assert pictures and all('class="nblineage-graph-static"' in html and "<svg" in html for html in pictures)
    assert not any(output.output_type == "error" for output in outputs)


def test_every_notebook_is_stored_without_outputs() -> None:
    """Committed notebooks carry no outputs (CI makes them; a user's first run shows their own)."""
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), path.name
