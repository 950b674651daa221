"""Which notebook and which cell are running.

The notebook is, in this order: ``NBLINEAGE_NOTEBOOK``; the notebook named on the command line of the runner that
started the kernel (``jupyter nbconvert --execute``, ``jupyter execute`` of nbclient, ``papermill IN OUT``: its input,
read from the parent process); the Jupyter session (``JPY_SESSION_NAME``, set by Jupyter Server for the kernels it
starts); VS Code's ``__vsc_ipynb_file__``. The runner comes before the session because a runner started from a
notebook or a Jupyter terminal inherits that session's variable. When nothing names it the job is
``<working directory>/ipython-<kernel id>``, the id a short random one of this kernel process (:func:`kernel_id`), so
two such kernels in one folder never share job names. :class:`Found` says which of these it was, for
``%lineage status``.

The cell id comes from the front end (``cellId`` in the execute request's metadata, which JupyterLab and Notebook 7
send and IPython hands over as ``info.cell_id``); else from the notebook file (the code cell with the same source;
for papermill also its output notebook, which holds the injected parameters cell); else ``exec-<execution count>``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

from nblineage.value import Value

RUNNERS = {"jupyter-nbconvert": "nbconvert", "jupyter-execute": "nbclient", "papermill": "papermill"}
_MODULES = {"nbconvert": "nbconvert", "nbclient": "nbclient", "papermill": "papermill"}
_JUPYTER_SUBCOMMANDS = {"nbconvert": "nbconvert", "execute": "nbclient"}
_OUTPUT_OPTIONS = {"--output", "--output-dir", "-o"}  # nbconvert's: what follows them is no notebook it runs
ANCESTORS = 3  # a kernelspec may start the kernel through a wrapper (a shell script, conda run)


class Found(Value):
    """The notebook of this kernel, how it was found, and the notebook files its cell ids are read from."""

    FIELDS = ("path", "how", "cell_files")
    __slots__ = FIELDS

    def __init__(self, path: str, how: str, cell_files: tuple[str, ...] = ()) -> None:
        self.path, self.how, self.cell_files = path, how, cell_files


def find_notebook(user_ns: dict[str, Any]) -> Found:
    """The notebook this kernel runs, from the first source that names it (module docstring)."""
    explicit = os.environ.get("NBLINEAGE_NOTEBOOK", "").strip()
    if explicit:
        path = _absolute(explicit)
        return Found(path, "from NBLINEAGE_NOTEBOOK", (path,))
    runner = from_runner()
    if runner is not None:
        return runner
    session = os.environ.get("JPY_SESSION_NAME", "").strip()
    if session:
        path = _absolute(session)
        return Found(path, "from the Jupyter session (JPY_SESSION_NAME)", (path,))
    vscode = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        path = os.path.abspath(vscode)
        return Found(path, "from VS Code", (path,))
    path = os.path.join(os.getcwd(), f"ipython-{kernel_id()}")
    return Found(path, f"not found: using {path} (this kernel's own name; set NBLINEAGE_NOTEBOOK to name it)")


_kernel_id: tuple[int, str] | None = None


def kernel_id() -> str:
    """A short random id of this kernel process (8 hex digits), the same for every session it loads; a forked
    process gets its own."""
    global _kernel_id
    if _kernel_id is None or _kernel_id[0] != os.getpid():
        _kernel_id = (os.getpid(), secrets.token_hex(4))
    return _kernel_id[1]


def from_runner(pid: int | None = None) -> Found | None:
    """The notebook named on the command line of the runner (nbconvert, nbclient, papermill) that started the kernel
    (its parent, or a near ancestor); None when no runner started it or it names no single notebook."""
    pid = os.getppid() if pid is None else pid
    for _ in range(ANCESTORS):
        if pid <= 1:
            return None
        argv = _cmdline(pid)
        runner = _runner(argv)
        if runner is not None:
            return _runner_notebook(pid, runner, argv)
        pid = _parent(pid)
    return None


def _runner(argv: list[str]) -> str | None:
    """Which notebook runner a command line runs (a Python interpreter running its script or ``-m`` module too)."""
    names = [os.path.basename(arg) for arg in argv[:3]]
    for index, name in enumerate(names):
        stem = name.removesuffix(".exe").removesuffix("-script.py")
        if stem in RUNNERS:
            return RUNNERS[stem]
        if stem == "jupyter" and index + 1 < len(argv):
            return _JUPYTER_SUBCOMMANDS.get(argv[index + 1])
        if name == "-m" and index + 1 < len(argv):
            return _MODULES.get(argv[index + 1].split(".")[0])
    return None


def _runner_notebook(pid: int, runner: str, argv: list[str]) -> Found | None:
    named = [arg for before, arg in pairwise(argv) if arg.endswith(".ipynb") and before not in _OUTPUT_OPTIONS]
    notebooks = [path for path in (_resolve(pid, arg) for arg in named) if path]
    how = f"from the parent process's command line ({runner})"
    if runner == "papermill" and notebooks:  # papermill INPUT OUTPUT: the input is the notebook, the output too
        return Found(notebooks[0], how, tuple(notebooks[:2]))
    if len(set(notebooks)) == 1:
        return Found(notebooks[0], how, (notebooks[0],))
    here = [path for path in notebooks if os.path.dirname(path) == os.getcwd()]  # runners start kernels beside it
    if len(set(here)) == 1:
        return Found(here[0], how, (here[0],))
    return None


def _resolve(pid: int, arg: str) -> str | None:
    """An argument of process ``pid`` as an absolute path to an existing file: relative to that process's working
    directory, to where it was started (papermill ``--cwd`` moves it), or to ours."""
    if os.path.isabs(arg):
        return arg if os.path.isfile(arg) else None
    for base in (_proc(pid, "cwd"), _environ(pid).get("PWD"), os.getcwd()):
        if base and os.path.isfile(os.path.join(base, arg)):
            return os.path.normpath(os.path.join(base, arg))
    return None


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except OSError:
        pass
    process = _psutil(pid)
    try:
        return process.cmdline() if process is not None else []
    except Exception:
        return []


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        pass
    process = _psutil(pid)
    try:
        return process.ppid() if process is not None else 0
    except Exception:
        return 0


def _proc(pid: int, what: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/{what}")
    except OSError:
        process = _psutil(pid)
        try:
            return process.cwd() if process is not None and what == "cwd" else None
        except Exception:
            return None


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (part.decode(errors="replace").partition("=") for part in raw.split(b"\0") if b"=" in part)
    return {key: value for key, _, value in pairs}


def _psutil(pid: int) -> Any:
    """psutil's view of a process where /proc is missing (macOS, Windows), only when psutil is installed."""
    if "psutil" not in sys.modules:
        try:
            import psutil  # noqa: F401
        except ImportError:
            return None
    try:
        return sys.modules["psutil"].Process(pid)
    except Exception:
        return None


def _absolute(path: str) -> str:
    if os.path.isabs(path):
        return path
    here = os.path.abspath(path)
    if os.path.exists(here):
        return here
    beside = os.path.abspath(os.path.basename(path))  # the kernel runs in the notebook's folder
    return beside if os.path.exists(beside) else here


class CellIds:
    """Cell ids read from notebook files, matched by source; each file re-read when it changes. The first file
    that has the source wins."""

    def __init__(self, *paths: str) -> None:
        self.paths = paths
        self._stamps: dict[str, tuple[int, int]] = {}
        self._by_source: dict[str, dict[str, str]] = {}

    def find(self, source: str) -> str | None:
        key = source.strip()
        for path in self.paths:
            found = self._cells(path).get(key)
            if found:
                return found
        return None

    def _cells(self, path: str) -> dict[str, str]:
        try:
            stat = os.stat(path)
        except OSError:
            return {}
        if (stat.st_mtime_ns, stat.st_size) != self._stamps.get(path):
            self._stamps[path] = (stat.st_mtime_ns, stat.st_size)
            self._by_source[path] = _read(path)
        return self._by_source[path]


def _read(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as handle:
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
