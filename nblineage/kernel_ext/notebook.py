"""Which notebook and which cell are running.

The notebook path comes from ``NBLINEAGE_NOTEBOOK``, then the Jupyter session (``JPY_SESSION_NAME``, set by Jupyter
Server for the kernels it starts), then VS Code's ``__vsc_ipynb_file__``. Outside Jupyter (a terminal IPython, or
a kernel started without a session) the job is ``<working directory>/ipython``. The cell id comes from the front
end (IPython's execution info); when the front end sends none, from the notebook file (the cell with the same
source), else ``exec-<execution count>``.
"""

from __future__ import annotations

import json
import os
from typing import Any


def notebook_path(user_ns: dict[str, Any]) -> str:
    for candidate in (os.environ.get("NBLINEAGE_NOTEBOOK"), os.environ.get("JPY_SESSION_NAME")):
        if candidate and candidate.strip():
            return _absolute(candidate.strip())
    vscode = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return os.path.abspath(vscode)
    return os.path.join(os.getcwd(), "ipython")


def _absolute(path: str) -> str:
    if os.path.isabs(path):
        return path
    here = os.path.abspath(path)
    if os.path.exists(here):
        return here
    beside = os.path.abspath(os.path.basename(path))  # the kernel runs in the notebook's folder
    return beside if os.path.exists(beside) else here


class CellIds:
    """Cell ids read from the notebook file, matched by source; re-read when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._by_source: dict[str, str] = {}

    def find(self, source: str) -> str | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        if (stat.st_mtime_ns, stat.st_size) != self._stamp:
            self._stamp = (stat.st_mtime_ns, stat.st_size)
            self._by_source = self._read()
        return self._by_source.get(source.strip())

    def _read(self) -> dict[str, str]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                cells = json.load(handle).get("cells", [])
        except (OSError, ValueError, AttributeError):
            return {}
        found: dict[str, str] = {}
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code" and cell.get("id"):
                source = cell.get("source", "")
                text = "".join(source) if isinstance(source, list) else str(source)
                found.setdefault(text.strip(), str(cell["id"]))
        return found
