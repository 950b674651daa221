"""Run real notebooks in real kernels (nbclient) with nblineage loaded, and read what they recorded."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


class _OverUnixSockets:
    """A kernel manager whose kernel talks over Unix sockets in a folder of its own, not TCP ports: the test
    workers starting kernels at once cannot race for a port another just picked ("Address already in use")."""

    def __init__(self, **kwargs: Any) -> None:
        self._sockets = tempfile.mkdtemp(prefix="nbl-kernel-")  # short: a socket's path has at most 107 bytes
        super().__init__(transport="ipc", ip=f"{self._sockets}/k", **kwargs)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._sockets, ignore_errors=True)


class SocketKernelManager(_OverUnixSockets, KernelManager):
    """A blocking kernel manager over Unix sockets."""


class AsyncSocketKernelManager(_OverUnixSockets, AsyncKernelManager):
    """nbclient's kernel manager over Unix sockets."""


def start_kernel(env: dict[str, str], cwd: Path | None = None) -> tuple[KernelManager, BlockingKernelClient]:
    """A python3 kernel started with exactly ``env`` (in ``cwd``), and a client whose channels are ready."""
    manager = SocketKernelManager(kernel_name="python3")
    manager.start_kernel(env=env, **({"cwd": str(cwd)} if cwd is not None else {}))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
    except RuntimeError:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        raise
    return manager, client


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
        kernel_manager_class=AsyncSocketKernelManager,
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
