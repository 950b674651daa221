"""Notebooks run in fresh kernels with and without capture, in interleaved pairs: the kernel's total CPU time (every
thread and any delivery process, from start to exit, so the background writer's deliveries and the exit flush
count), its resident memory after the cells, and a confidence interval on the difference. Used by
``bench_capture.py``."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# The first cell of every run: at the kernel's exit, after nblineage's own exit handler (registered later, so run
# earlier) has delivered the last records, write the process's CPU time (all threads, and its ended children: the
# delivery process, when the store needs one, which the writer stops and waits for at exit) and the resident memory the
# last cell left (``RSS_MARK``, run after the notebook's cells: at exit capture has let go of everything already).
# ``mark_cell`` cells note the CPU time so far, the live children's included (a delivery process runs until exit),
# after a pause that lets the background deliver what the cells before it captured.
EXIT_PROBE = """\
import atexit as _atexit, json as _json, os as _os, time as _time

def _nbl_bench_rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

_nbl_bench_after_cells = [0]
_nbl_bench_marks = {{}}

def _nbl_bench_cpu():
    times = _os.times()
    total = _time.process_time() + times.children_user + times.children_system
    tick = _os.sysconf("SC_CLK_TCK")
    for task in _os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{{task}}/children") as handle:
                children = handle.read().split()
        except OSError:
            continue
        for pid in children:
            try:
                with open(f"/proc/{{pid}}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(value) for value in fields[11:15]) / tick
    return total

def _nbl_bench_mark(label):
    _nbl_bench_marks[label] = _nbl_bench_cpu()

def _nbl_bench_exit(path={path!r}):
    times = _os.times()
    with open(path, "w") as handle:
        cpu = times.user + times.system + times.children_user + times.children_system
        _json.dump({{"cpu": cpu, "rss": _nbl_bench_after_cells[0], "marks": _nbl_bench_marks}}, handle)

_atexit.register(_nbl_bench_exit)
"""
RSS_MARK = "_nbl_bench_after_cells[0] = _nbl_bench_rss()"
SETTLE = 3.0  # seconds a mark waits first: more than the writer's KEEP_UP, so what was captured is delivered


def mark_cell(label: str) -> str:
    """A cell that waits ``SETTLE`` seconds, then notes the kernel's CPU time so far under ``label``."""
    return f"import time as _nbl_t\n_nbl_t.sleep({SETTLE})\n_nbl_bench_mark({label!r})"


@dataclass(frozen=True)
class KernelRun:
    """One notebook execution: the kernel's CPU seconds from start to exit, its RSS after the cells, their stderr,
    and the CPU seconds noted by its ``mark_cell`` cells."""

    cpu: float
    rss: int
    stderr: str
    marks: dict[str, float]


def run_kernel(path: Path, cells: list[str], env: dict[str, str], timeout: int, capture: bool) -> KernelRun:
    """Execute ``cells`` in a new kernel (``%load_ext nblineage`` first when ``capture``), shut it down gracefully
    and read what the exit probe wrote."""
    import nbformat
    from nbclient import NotebookClient

    probe = path.with_suffix(".exit.json")
    probe.unlink(missing_ok=True)
    first = EXIT_PROBE.format(path=str(probe)) + (
        "get_ipython().run_line_magic('load_ext', 'nblineage')" if capture else ""
    )
    notebook = nbformat.v4.new_notebook()
    sources = [first, *cells, RSS_MARK]
    notebook.cells = [nbformat.v4.new_code_cell(source, id=f"c{i}") for i, source in enumerate(sources)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel(env={**env, "NBLINEAGE_NOTEBOOK": str(path)}):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    found = json.loads(probe.read_text())
    stderr = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.outputs if output.get("name") == "stderr"
    )
    return KernelRun(cpu=found["cpu"], rss=found["rss"], stderr=stderr, marks=found.get("marks", {}))


@dataclass(frozen=True)
class Paired:
    """Runs without (``off``) and with (``on``) capture, one pair per repetition, in alternating order; with
    ``other``, the runs with capture of another checkout (``--compare``), one per repetition too."""

    off: list[KernelRun]
    on: list[KernelRun]
    other: list[KernelRun] = field(default_factory=list)

    def differences(self, measure: Callable[[KernelRun], float]) -> list[float]:
        return [measure(on) - measure(off) for off, on in zip(self.off, self.on, strict=True)]

    def versus_other(self, measure: Callable[[KernelRun], float]) -> list[float]:
        """What this checkout's capture costs more than the other's, per repetition."""
        return [measure(on) - measure(other) for on, other in zip(self.on, self.other, strict=True)]


def run_pairs(
    folder: Path,
    name: str,
    cells: list[str],
    env: dict[str, str],
    reps: int,
    timeout: int,
    other_env: dict[str, str] | None = None,
) -> Paired:
    """One untimed warm-up, then ``reps`` pairs, the order inside a pair alternating (off first, then on first).
    With ``other_env`` (another checkout's ``PYTHONPATH``), each repetition also runs that checkout with capture,
    the three runs in rotating order."""
    kinds = ["off", "on", *(["other"] if other_env is not None else [])]
    for kind in kinds[1:]:
        run_kernel(folder / f"{name}-warmup-{kind}.ipynb", cells, other_env if kind == "other" else env, timeout, True)
    runs: dict[str, list[KernelRun]] = {kind: [] for kind in kinds}
    for rep in range(reps):
        order = (kinds[rep % len(kinds) :] + kinds[: rep % len(kinds)]) if other_env is not None else kinds
        if other_env is None and rep % 2:
            order = order[::-1]
        for kind in order:
            kind_env = other_env if kind == "other" and other_env is not None else env
            run = run_kernel(folder / f"{name}-{kind}-{rep}.ipynb", cells, kind_env, timeout, kind != "off")
            runs[kind].append(run)
    return Paired(runs["off"], runs["on"], runs.get("other", []))


def mean_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its two-sided confidence interval (Student's t; the mean alone for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan, math.nan
    from scipy.stats import t

    half = t.ppf(0.5 + confidence / 2, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def interval_text(low: float, high: float, scale: float = 1.0, unit: str = "") -> str:
    if math.isnan(low):
        return "n/a (1 pair)"
    return f"[{low * scale:+.2f}, {high * scale:+.2f}]{unit}"
