"""Capture's cost as instructions executed, phase by phase: what a loaded machine does not change, where kernel runs
scatter by 20-40 ms a phase (and a realistic notebook's fit by half a second).

A notebook of ``bench_capture.py`` runs in an IPython ``InteractiveShell`` with ipykernel, zmq, tornado and
jupyter_client imported (a kernel's heap) under Valgrind's cachegrind, every thread counted, once per prefix of its
phases (the shell; ``%load_ext``; then the notebook's own), each phase's records delivered (``writer.flush``) before
the next and never during one (the writer's pauses made endless: how many deliveries a phase saw depended on how
slowly Valgrind ran), so that a phase's instructions are the difference of two prefixes. Without capture, with it,
and with another checkout's (``--compare``); two runs at a time. The cell-heavy notebook of ``bench_capture.py --only
cells`` by default: the shell, ``%load_ext``, the imports, the read, the feature cells, fit, save and exit. With
``--realistic``, its realistic notebook (the 100 MB CSV, one thread), in three phases after the load: imports; read,
features and split; fit, score, save and exit.

    python benchmarks/bench_capture_instructions.py [--quick] [--cells N] [--realistic] [--compare CHECKOUT]

``--quick`` measures ``%load_ext`` only. The cell-heavy run takes about ten minutes (two cores), the realistic one
about 25 minutes (its fit is 49 G instructions).
"""

from __future__ import annotations

import argparse
import compileall
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_capture import FULL, feature_cells, notebook_cells, print_table, probe_env, write_training_csv
from cachegrind import totals

LABELS = {"start": "interpreter, shell", "load": "%load_ext"}

# Run in a fresh interpreter under cachegrind: argv = capture (on/off), the last phase to run, the phases after the
# load as JSON: [name, cells] pairs, the last one ending with the kernel's exit.
DRIVER = r"""
import json, os, sys
import ipykernel.ipkernel, ipykernel.kernelapp, jupyter_client, tornado.ioloop, zmq  # a kernel's heap
from IPython.core.interactiveshell import InteractiveShell

capture, last, phases = sys.argv[1] == "on", sys.argv[2], [("load", [])] + json.loads(sys.argv[3])
names = ["start"] + [name for name, _ in phases]
shell = InteractiveShell.instance()
sessions = {}
for name, cells in phases[: names.index(last)]:
    if name == "load" and capture:
        from nblineage.kernel_ext import writer

        writer.QUIET = writer.KEEP_UP = 1e9  # delivery at each phase's flush only, however slowly Valgrind runs
        writer.IDLE = writer.LEFTOVERS_EVERY = 1e9  # and no timed looks at the store: runs repeat to the M
        shell.run_line_magic("load_ext", "nblineage")
        from nblineage.kernel_ext import _sessions as sessions
    for cell in cells:
        shell.run_cell(cell)
    for session in list(sessions.values()):
        session.writer.flush(600)
        if name == names[-1]:
            session.close(exiting=True)
os._exit(0)
"""


def cell_heavy_phases(folder: Path, cells: int) -> list[tuple[str, str, list[str]]]:
    """(name, label, cells) of the cell-heavy notebook's phases after the load."""
    write_training_csv(folder / "small.csv", 10**6)
    sources = feature_cells(folder / "small.csv", folder / "ridge.joblib", cells)
    return [
        ("imports", "imports", sources[:1]),
        ("read", "read", sources[1:2]),
        ("cells", "feature cells", sources[2:-2]),
        ("fit", "fit, save, exit", sources[-2:]),
    ]


def realistic_phases(folder: Path) -> list[tuple[str, str, list[str]]]:
    """(name, label, cells) of the realistic notebook's phases after the load."""
    write_training_csv(folder / "training.csv", FULL.csv_bytes)
    cells = dict(notebook_cells(folder / "training.csv", folder / "model.joblib"))
    return [
        ("imports", "imports", [cells["imports"]]),
        ("read", "read, features, split", [cells["read_csv"], cells["features"], cells["split"]]),
        ("fit", "fit, score, save, exit", [cells["fit"], cells["score"], cells["joblib.dump"]]),
    ]


def fresh_store(folder: Path) -> dict[str, str]:
    """A run's folder and environment, its store created beforehand (as a user's exists already; Alembic's
    migration is not thread-safe, so stores are made one at a time)."""
    from nblineage.lineage.store import Store

    run = Path(tempfile.mkdtemp(dir=folder))
    env = probe_env(run) | {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    with Store(env["NBLINEAGE_URL"]):
        pass
    return env


def instructions(env: dict[str, str], pythonpath: Path, capture: bool, last: str, phases: list[Any]) -> int:
    """Instructions executed by the notebook up to ``last`` in a fresh interpreter."""
    out_file = Path(env["IPYTHONDIR"]).parent / "cachegrind.out"
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out_file}"]
    python = [sys.executable, "-c", DRIVER, "on" if capture else "off", last, json.dumps(phases)]
    folder = out_file.parent  # not this checkout's root, which ``-c`` would put first on the path
    subprocess.run(
        [*command, *python], env=env | {"PYTHONPATH": str(pythonpath)}, capture_output=True, check=True, cwd=folder
    )
    return totals(out_file)["Ir"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="%%load_ext only")
    parser.add_argument("--cells", type=int, default=40, help="one-line feature cells (40)")
    parser.add_argument("--realistic", action="store_true", help="the realistic notebook, not the cell-heavy one")
    parser.add_argument("--compare", type=Path, help="another checkout: its capture measured too")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    compileall.compile_dir(here / "nblineage", quiet=1)  # this checkout's, which ``import nblineage`` may not find
    variants = {"off": (here, False), "on": (here, True)}
    if args.compare is not None:
        compileall.compile_dir(args.compare / "nblineage", quiet=1)
        variants["other"] = (args.compare.resolve(), True)
    with tempfile.TemporaryDirectory(prefix="nbl-instructions-") as name:
        folder = Path(name)
        phases = realistic_phases(folder) if args.realistic else cell_heavy_phases(folder, args.cells)
        labels = LABELS | {name: label for name, label, _ in phases}
        prefixes = ("start", "load", *([] if args.quick else [name for name, _, _ in phases]))
        driven = [[name, cells] for name, _, cells in phases]
        jobs = [(kind, prefix) for kind in variants for prefix in prefixes if kind != "off" or prefix != "load"]
        envs = [fresh_store(folder) for _ in jobs]
        with ThreadPoolExecutor(2) as pool:
            counts = pool.map(lambda job, env: instructions(env, *variants[job[0]], job[1], driven), jobs, envs)
            found = dict(zip(jobs, counts, strict=True))
    notebook = "the realistic notebook" if args.realistic else f"the cell-heavy notebook ({args.cells} feature cells)"
    print(f"capture in {notebook}, instructions executed (cachegrind), M")
    rows, before = [], {variant: found[(variant, "start")] for variant in variants}
    for prefix in prefixes[1:]:
        at = {variant: found.get((variant, prefix), before[variant]) for variant in variants}
        spent = {variant: (at[variant] - before[variant]) / 1e6 for variant in variants}
        row = [labels[prefix], f"{spent['off']:.1f}", f"{spent['on']:.1f}", f"{spent['on'] - spent['off']:+.1f}"]
        if "other" in variants:
            row += [f"{spent['other'] - spent['off']:+.1f}", f"{spent['on'] - spent['other']:+.1f}"]
        rows.append(row)
        before = at
    whole = {variant: (before[variant] - found[(variant, "start")]) / 1e6 for variant in variants}
    added = whole["on"] - whole["off"]
    share = f" ({added / whole['off']:+.2%})" if whole["off"] else ""
    row = ["total", f"{whole['off']:.1f}", f"{whole['on']:.1f}", f"{added:+.1f}{share}"]
    if "other" in variants:
        row += [f"{whole['other'] - whole['off']:+.1f}", f"{whole['on'] - whole['other']:+.1f}"]
    rows.append(row)
    headers = ["phase", "off", "on", "added"] + (["other's added", "on - other"] if "other" in variants else [])
    print_table(headers, rows)


if __name__ == "__main__":
    main()
