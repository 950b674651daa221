"""The example notebooks of ``notebooks/`` run as a new user runs them: each in a real kernel (nbclient), in a
fresh folder with a fresh store, capture strict, the kernel told its notebook's path as Jupyter tells it; a failed
cell (their last cells assert their own lineage) fails the test, and each must show the graph widget with its
static picture (what nbconvert and GitHub show). The notebooks that take a database run on PostgreSQL too."""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from notebooks import AsyncSocketKernelManager
from postgres_db import postgres_database

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
DATABASES = {"02-sql-features": "SHOP_DATABASE_URL", "05-team": "TEAM_STORE_URL"}  # the variable each one reads
CASES = [pytest.param(path, "sqlite", id=path.stem) for path in NOTEBOOKS] + [
    pytest.param(FOLDER / f"{stem}.ipynb", "postgresql", id=f"{stem}-postgresql", marks=pytest.mark.postgres)
    for stem in DATABASES
]


@pytest.mark.parametrize(("source", "backend"), CASES)
def test_example_notebook_runs_and_checks_its_lineage(
    source: Path, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(shutil.copy(source, tmp_path))
    monkeypatch.setenv("NBLINEAGE_URL", f"sqlite:///{tmp_path / 'lineage.db'}")
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))  # what a Jupyter server tells the kernel of a notebook
    notebook = nbformat.read(path, as_version=4)
    with postgres_database() if backend == "postgresql" else nullcontext() as database:
        if database is not None:
            monkeypatch.setenv(DATABASES[source.stem], database)
        client = NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            kernel_manager_class=AsyncSocketKernelManager,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()

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
    assert [path.stem for path in NOTEBOOKS][:5] == [
        "01-tabular-titanic",
        "02-sql-features",
        "03-text-versions",
        "04-governance",
        "05-team",
    ]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), path.name
