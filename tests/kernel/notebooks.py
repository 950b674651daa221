"""Run real notebooks in real kernels (nbclient) with nblineage loaded, and read what they recorded."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def make_notebook(path: Path, cells: list[str]) -> nbformat.NotebookNode:
    """A notebook file of code cells with ids c0, c1, ..."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, id=f"c{i}") for i, source in enumerate(cells)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return notebook


def run_notebook(
    path: Path,
    cells: list[str],
    env: dict[str, str],
    allow_errors: bool = False,
    timeout: int = 120,
    load: bool = True,
) -> nbformat.NotebookNode:
    """Write and execute a notebook (whose first cell loads nblineage, with ``load``) in a kernel with ``env``
    added to the environment; the kernel shuts down (and flushes) at the end."""
    notebook = make_notebook(path, ["%load_ext nblineage", *cells] if load else cells)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env={**os.environ, "NBLINEAGE_NOTEBOOK": str(path), **env})
    except CellExecutionError:
        if not allow_errors:
            raise
    return notebook


def model_source_names(store_url: str, model: Path) -> set[str]:
    """The file names of the datasets and models upstream of the saved model file ``model``."""
    from nblineage.lineage.graph import DatasetRef, upstream
    from nblineage.lineage.store import Store

    with Store(store_url) as store:
        nodes = upstream(store, DatasetRef("file", str(model)))
    return {Path(node.name).name for node in nodes if node.type in ("dataset", "model")}
