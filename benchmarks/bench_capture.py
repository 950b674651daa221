"""Capture overhead in the kernel: ``%load_ext``, fingerprints, intercepted pandas calls, a realistic notebook.

Each measure runs next to its baseline in the same run: loading a trivial built-in IPython extension
(``autoreload``), reading the file that is fingerprinted, the same pandas call not instrumented, and the same
notebook without ``%load_ext nblineage``. No timed assertions: the targets are printed, met or NOT met.

    python benchmarks/bench_capture.py [--quick] [--reps N] [--threads N] [--only load,fingerprint,pandas,notebook]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

TARGET_LOAD_MS = 200.0
TARGET_FINGERPRINT_GBPS = 5.0
TARGET_NOTEBOOK_OVERHEAD = 2.0  # percent
HEAVY_MODULES = ("mlflow", "great_expectations", "torch", "sklearn", "pandas")
SECTIONS = ("load", "fingerprint", "pandas", "notebook")
GIB = 1 << 30
MIB = 1 << 20

# Run in a fresh interpreter per measurement: time ``%load_ext <argv[1]>`` in a new InteractiveShell and print one
# JSON line. For nblineage, "settled" is after the session's background START has reached the store, and
# "background" the CPU time its threads spent getting there (the main thread only waits meanwhile).
LOAD_PROBE = r"""
import json, sys, time

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0

from IPython.core.interactiveshell import InteractiveShell

extension, heavy = sys.argv[1], sys.argv[2].split(",")
shell = InteractiveShell.instance()
modules_before = set(sys.modules)
rss_before = rss()
start = time.perf_counter()
shell.run_line_magic("load_ext", extension)
seconds = time.perf_counter() - start
rss_after = rss()
cpu_after = time.process_time()
sessions = 0
if extension == "nblineage":
    from nblineage.kernel_ext import _sessions

    for session in _sessions.values():
        session.writer.flush(timeout=30)
    sessions = len(_sessions)
background = time.process_time() - cpu_after
print(json.dumps({
    "seconds": seconds,
    "rss_before": rss_before,
    "rss_after": rss_after,
    "rss_settled": rss(),
    "background": background,
    "loaded": extension in shell.extension_manager.loaded,
    "sessions": sessions,
    "heavy_before": sorted(name for name in heavy if name in modules_before),
    "heavy_imported": sorted(name for name in heavy if name in sys.modules and name not in modules_before),
}))
"""


@dataclass(frozen=True)
class Sizes:
    """How big each measure is (full size, or ``--quick``)."""

    load_reps: int
    file_bytes: int
    fingerprint_reps: int
    pandas_rows: int
    pandas_rounds: int
    pandas_budget: float  # seconds per timed batch of calls
    csv_bytes: int
    notebook_reps: int


FULL = Sizes(9, GIB, 5, 1_000, 7, 0.1, 100 * 10**6, 3)
QUICK = Sizes(3, 64 * MIB, 3, 1_000, 3, 0.02, 5 * 10**6, 1)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows of preformatted cells: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = [str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i]) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# --- 1. %load_ext -------------------------------------------------------------------------------------------------


def probe_env(folder: Path) -> dict[str, str]:
    """The environment of a load probe or a benchmark kernel: a temp store, Jupyter data dir and IPython dir."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NBLINEAGE_", "OPENLINEAGE"))}
    env.update(
        NBLINEAGE_URL=f"sqlite:///{folder / 'lineage.db'}",
        JUPYTER_DATA_DIR=str(folder / "jupyter"),
        IPYTHONDIR=str(folder / "ipython"),
    )
    return env


def load_once(extension: str, env: dict[str, str]) -> dict[str, Any]:
    """One fresh interpreter timing ``%load_ext extension``."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE, extension, ",".join(HEAVY_MODULES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"load probe for {extension} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_load(sizes: Sizes, folder: Path) -> bool:
    """Median ``%load_ext`` time and added RSS of nblineage next to ``autoreload``, alternating fresh processes."""
    from nblineage.lineage.store import Store

    print(f"\n1. %load_ext in a fresh InteractiveShell, median of {sizes.load_reps} processes each")
    env = probe_env(folder / "load")
    with Store(env["NBLINEAGE_URL"]):  # the store exists already, as it does for a user
        pass
    runs: dict[str, list[dict[str, Any]]] = {"autoreload": [], "nblineage": []}
    for rep in range(sizes.load_reps):
        order = ("autoreload", "nblineage") if rep % 2 == 0 else ("nblineage", "autoreload")
        for extension in order:
            runs[extension].append(load_once(extension, env))
    stats = {name: _load_stats(found) for name, found in runs.items()}
    base = stats["autoreload"]
    rows = []
    for label, name in (("baseline: %load_ext autoreload", "autoreload"), ("%load_ext nblineage", "nblineage")):
        row = stats[name]
        rows.append(
            [
                label,
                f"{row['ms']:.1f}",
                f"{row['ms'] / base['ms']:.2f}x",
                f"{row['added'] / 1e6:.1f}",
                f"{row['settled'] / 1e6:.1f}",
                f"{row['background'] * 1000:.0f}",
            ]
        )
    print_table(["measure", "ms", "vs baseline", "RSS added MB", "settled MB", "background CPU ms"], rows)
    nbl = runs["nblineage"]
    loaded = all(run["loaded"] and run["sessions"] == 1 for run in nbl)
    heavy = sorted({name for run in nbl for name in run["heavy_imported"]})
    preloaded = sorted({name for run in nbl for name in run["heavy_before"]})
    print(
        "  settled / background CPU: until the session's START reached the store, off the cell's thread "
        "(imports openlineage-python, SQLAlchemy, alembic)"
    )
    print(f"  capture session started: {'yes' if loaded else 'NO'}")
    if preloaded:
        print(f"  imported before loading, not checked: {', '.join(preloaded)}")
    print(f"  heavy modules imported by loading: {', '.join(heavy) or 'none'} (of {', '.join(HEAVY_MODULES)})")
    met = stats["nblineage"]["ms"] <= TARGET_LOAD_MS and not heavy and loaded
    print(
        f"target: %load_ext nblineage <= {TARGET_LOAD_MS:.0f} ms and no heavy import: "
        f"{stats['nblineage']['ms']:.0f} ms, {'no heavy import' if not heavy else 'heavy imports'}, {verdict(met)}"
    )
    return met


def _load_stats(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "ms": statistics.median(run["seconds"] for run in runs) * 1000,
        "added": statistics.median(run["rss_after"] - run["rss_before"] for run in runs),
        "settled": statistics.median(run["rss_settled"] - run["rss_before"] for run in runs),
        "background": statistics.median(run["background"] for run in runs),
    }


# --- 2. fingerprints ----------------------------------------------------------------------------------------------


def write_random_file(path: Path, size: int) -> None:
    """``size`` random bytes, written in 64 MiB blocks."""
    with open(path, "wb") as handle:
        left = size
        while left:
            block = min(left, 64 * MIB)
            handle.write(os.urandom(block))
            left -= block


def read_all(path: Path, chunk: int) -> int:
    """The baseline: a plain ``readinto`` loop, unbuffered, into one reused buffer."""
    buffer = bytearray(chunk)
    total = 0
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            total += read
    return total


def bench_fingerprint(sizes: Sizes, folder: Path) -> bool:
    """Warm ``fingerprint.file_version`` GB/s next to reading the same file with the same chunk size."""
    from nblineage.kernel_ext import fingerprint

    path = folder / "random.bin"
    write_random_file(path, sizes.file_bytes)
    size = path.stat().st_size
    print(
        f"\n2. fingerprint of a {size / MIB:,.0f} MiB file of random bytes, page cache warm, "
        f"{fingerprint.CHUNK // MIB} MiB chunks, median of {sizes.fingerprint_reps}"
    )
    read_all(path, fingerprint.CHUNK)  # warm the page cache
    reads: list[float] = []
    hashes: list[float] = []
    versions = set()
    for _ in range(sizes.fingerprint_reps):
        start = time.perf_counter()
        read = read_all(path, fingerprint.CHUNK)
        reads.append(time.perf_counter() - start)
        assert read == size
        fingerprint._cache.clear()
        start = time.perf_counter()
        versions.add(fingerprint.file_version(path))
        hashes.append(time.perf_counter() - start)
    path.unlink()
    if len(versions) != 1 or None in versions:
        sys.exit(f"file_version gave {versions}")
    read_rate = size / statistics.median(reads) / 1e9
    hash_rate = size / statistics.median(hashes) / 1e9
    print_table(
        ["measure", "GB/s", "best GB/s", "vs baseline"],
        [
            ["baseline: readinto loop", f"{read_rate:.2f}", f"{size / min(reads) / 1e9:.2f}", "1.00x"],
            [
                "fingerprint.file_version (xxh3-128)",
                f"{hash_rate:.2f}",
                f"{size / min(hashes) / 1e9:.2f}",
                f"{hash_rate / read_rate:.2f}x",
            ],
        ],
    )
    met = hash_rate >= TARGET_FINGERPRINT_GBPS
    print(f"target: fingerprint >= {TARGET_FINGERPRINT_GBPS:.0f} GB/s warm: {hash_rate:.2f} GB/s, {verdict(met)}")
    return met


# --- 3. intercepted pandas calls ----------------------------------------------------------------------------------


def pandas_ops(rows: int, folder: Path) -> tuple[Any, Path, dict[str, Callable[[], Any]]]:
    """A small numeric frame, a CSV file of it, and the calls to time on it."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "k": rng.integers(0, 20, rows),
            "a": rng.normal(size=rows),
            "b": rng.normal(size=rows),
            "c": rng.normal(size=rows),
            "d": rng.normal(size=rows),
        }
    )
    frame.loc[::50, "b"] = np.nan
    lookup = pd.DataFrame({"k": np.arange(20), "w": rng.normal(size=20)})
    csv = folder / "small.csv"
    frame.to_csv(csv, index=False)
    ops: dict[str, Callable[[], Any]] = {
        'df["a"]': lambda: frame["a"],
        'df[["a", "b"]]': lambda: frame[["a", "b"]],
        'df.assign(e=lambda d: d["a"] * 2)': lambda: frame.assign(e=lambda d: d["a"] * 2),
        'df.merge(lookup, on="k")': lambda: frame.merge(lookup, on="k"),
        'df.groupby("k").sum()': lambda: frame.groupby("k").sum(),
        "df.dropna()": lambda: frame.dropna(),
        "df + 1": lambda: frame + 1,
        "df.to_numpy()": lambda: frame.to_numpy(),
        "pd.read_csv(small.csv)": lambda: pd.read_csv(csv),
    }
    return frame, csv, ops


def calibrate(op: Callable[[], Any], budget: float) -> int:
    """How many calls make a timed batch of at least ``budget`` seconds."""
    number = 1
    while True:
        if timeit.Timer(op).timeit(number) >= budget or number >= 1 << 20:
            return number
        number *= 2


def bench_pandas(sizes: Sizes, folder: Path) -> None:
    """Per-call µs of each op uninstrumented, and added with a capture active and every instrumentor in place."""
    import pandas as pd

    from nblineage.kernel_ext import capture as capture_module
    from nblineage.kernel_ext import fingerprint, safety
    from nblineage.kernel_ext.capture import Capture
    from nblineage.kernel_ext.hooks import instrumentors
    from nblineage.kernel_ext.provenance import Source

    frame, csv, ops = pandas_ops(sizes.pandas_rows, folder)
    print(
        f"\n3. intercepted pandas calls on a {len(frame):,}-row frame (pandas {pd.__version__}): "
        f"min of {sizes.pandas_rounds} rounds, capture off and on alternating"
    )
    capture = Capture()
    hooks = instrumentors()
    numbers = {label: calibrate(op, sizes.pandas_budget) for label, op in ops.items()}
    best: dict[tuple[str, bool], float] = {}
    carried: dict[str, bool] = {}
    errors_before = sum(safety.errors.values())
    for _ in range(sizes.pandas_rounds):
        for on in (False, True):
            if on:
                capture_module.activate(capture)
                for hook in hooks:
                    hook.instrument()
                capture.read(Source("file", str(csv), fingerprint.file_version(csv)), frame)
            for label, op in ops.items():
                seconds = timeit.Timer(op).timeit(numbers[label]) / numbers[label]
                best[label, on] = min(best.get((label, on), float("inf")), seconds)
            if on:
                carried.update((label, bool(capture.of(op()))) for label, op in ops.items())
                for hook in hooks:
                    hook.uninstrument()
                capture_module.activate(None)
    recorded = sorted({Path(source.name).name for source in capture.take_record().inputs})
    rows = []
    for label in ops:
        off, on = best[label, False], best[label, True]
        rows.append(
            [
                label,
                f"{off * 1e6:.1f}",
                f"{on * 1e6:.1f}",
                f"{(on - off) * 1e6:.1f}",
                f"{on / off:.2f}x",
                "yes" if carried[label] else "NO",
            ]
        )
    print_table(["call", "off µs", "on µs", "added µs", "on/off", "provenance"], rows)
    hook_errors = sum(safety.errors.values()) - errors_before
    print(f"  inputs recorded: {', '.join(recorded)}; hook errors: {hook_errors}")
    worst = max(ops, key=lambda label: best[label, True] - best[label, False])
    added = (best[worst, True] - best[worst, False]) * 1e6
    print(f"no target: most added {added:.1f} µs per call, by {worst}")


# --- 4. a realistic notebook --------------------------------------------------------------------------------------

REGIONS = ("north", "south", "east", "west", "centre", "coast", "hills", "lakes", "plains", "islands", "metro", "rural")
SEGMENTS = ("retail", "smb", "enterprise", "public", "education")


def write_training_csv(path: Path, target_bytes: int) -> int:
    """A CSV of about ``target_bytes``: an id, numeric and categorical features, a few missing values, a target."""
    import numpy as np
    import pandas as pd

    def chunk(rng: np.random.Generator, start: int, rows: int) -> pd.DataFrame:
        x = np.round(rng.normal(size=(rows, 8)), 4)
        region = rng.integers(0, len(REGIONS), rows)
        segment = rng.integers(0, len(SEGMENTS), rows)
        amount = np.round(rng.lognormal(3.0, 1.0, rows), 2)
        amount[rng.random(rows) < 0.02] = np.nan
        target = x @ np.linspace(-1, 1, 8) + 0.3 * region - 0.5 * segment + 0.01 * np.nan_to_num(amount)
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(1, 9)])
        frame.insert(0, "id", np.arange(start, start + rows))
        frame["n1"] = rng.integers(0, 100, rows)
        frame["n2"] = rng.poisson(3.0, rows)
        frame["amount"] = amount
        frame["region"] = np.asarray(REGIONS)[region]
        frame["segment"] = np.asarray(SEGMENTS)[segment]
        frame["target"] = np.round(target + rng.normal(scale=0.5, size=rows), 4)
        return frame

    rng = np.random.default_rng(11)
    sample = chunk(rng, 0, 2_000).to_csv(index=False)
    rows = max(1_000, int(target_bytes / (len(sample) / 2_000)))
    written = 0
    with open(path, "w", newline="") as handle:
        while written < rows:
            count = min(200_000, rows - written)
            chunk(rng, written, count).to_csv(handle, index=False, header=written == 0)
            written += count
    return rows


def notebook_cells(csv: Path, model: Path) -> list[tuple[str, str]]:
    """(label, source) of the working cells: read, feature engineering, split, fit, score, save."""
    regions = ", ".join(repr(region) for region in REGIONS)
    return [
        (
            "imports",
            "import joblib\nimport numpy as np\nimport pandas as pd\n"
            "from sklearn.ensemble import HistGradientBoostingRegressor\n"
            "from sklearn.model_selection import train_test_split",
        ),
        ("read_csv", f"raw = pd.read_csv({str(csv)!r})"),
        (
            "features",
            f"regions = pd.DataFrame({{'region': [{regions}], 'region_rank': range({len(REGIONS)})}})\n"
            "features = raw.assign(\n"
            "    ratio=lambda d: d['x1'] / (d['x2'].abs() + 1.0),\n"
            "    log_amount=lambda d: np.log1p(d['amount']),\n"
            ")\n"
            "features = features.merge(regions, on='region', how='left')\n"
            "features = pd.get_dummies(features, columns=['region', 'segment'], dtype=float)\n"
            "features = features.dropna()\n"
            "X = features.drop(columns=['id', 'target'])\n"
            "y = features['target']",
        ),
        ("split", "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)"),
        ("fit", "model = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(X_train, y_train)"),
        ("score", "score = model.score(X_test, y_test)\nprint(f'R2 {score:.3f}')"),
        ("joblib.dump", f"joblib.dump(model, {str(model)!r})"),
    ]


def _stamp(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and all its threads so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class NotebookRun:
    """One execution: wall seconds of each working cell and of all of them, the kernel's CPU seconds meanwhile."""

    cells: list[float]
    span: float
    cpu: float
    stderr: str


def run_notebook(path: Path, cells: list[str], env: dict[str, str], timeout: int) -> NotebookRun:
    """Execute the notebook in a new kernel, timing the cells after the first one with the kernel's timestamps
    (first ``execute_input`` to last ``execute_reply``) and the kernel's CPU time over the same cells."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, id=f"c{i}") for i, source in enumerate(cells)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    cpu = 0.0
    with client.setup_kernel(env={**env, "NBLINEAGE_NOTEBOOK": str(path)}):
        pid = client.km.provisioner.pid
        for index, cell in enumerate(notebook.cells):
            if index == 1:
                cpu = -_cpu_seconds(pid)
            client.execute_cell(cell, index)
        cpu += _cpu_seconds(pid)
    timing = [cell.metadata["execution"] for cell in notebook.cells[1:]]
    return NotebookRun(
        cells=[_stamp(t["shell.execute_reply"]) - _stamp(t["iopub.execute_input"]) for t in timing],
        span=_stamp(timing[-1]["shell.execute_reply"]) - _stamp(timing[0]["iopub.execute_input"]),
        cpu=cpu,
        stderr="".join(
            output.get("text", "")
            for cell in notebook.cells
            for output in cell.outputs
            if output.get("name") == "stderr"
        ),
    )


def thread_env(threads: int) -> dict[str, str]:
    """Thread-pool sizes for the kernels' numeric libraries (0: their own default)."""
    if threads <= 0:
        return {}
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return dict.fromkeys(names, str(threads))


def bench_notebook(sizes: Sizes, folder: Path, reps: int, threads: int) -> bool:
    """The same notebook in fresh kernels with and without ``%load_ext nblineage``, alternating, after an untimed
    warm-up run."""
    from nblineage.lineage.graph import DatasetRef, NotFound, models_from
    from nblineage.lineage.naming import file_dataset
    from nblineage.lineage.store import Store

    work = folder / "notebook"
    work.mkdir()
    csv = work / "training.csv"
    rows = write_training_csv(csv, sizes.csv_bytes)
    model = work / "model.joblib"
    cells = notebook_cells(csv, model)
    print(
        f"\n4. a notebook (read_csv of {csv.stat().st_size / 1e6:,.0f} MB, {rows:,} rows; features; split; "
        f"HistGradientBoostingRegressor fit; score; joblib.dump) in new kernels, "
        f"{'library default threads' if threads <= 0 else f'{threads} thread(s)'}, median of {reps} each"
    )
    env = probe_env(work) | thread_env(threads)
    with Store(env["NBLINEAGE_URL"]):  # the store exists already, as it does for a user
        pass
    timeout = 120 if sizes is QUICK else 1200
    sources = [source for _, source in cells]
    run_notebook(work / "warmup.ipynb", ["pass", *sources], env, timeout)
    runs: dict[bool, list[NotebookRun]] = {False: [], True: []}
    for rep in range(reps):
        for on in (False, True) if rep % 2 == 0 else (True, False):
            first = "%load_ext nblineage" if on else "pass"
            runs[on].append(
                run_notebook(work / f"{'on' if on else 'off'}_{rep}.ipynb", [first, *sources], env, timeout)
            )
    off, on = (statistics.median(run.span for run in runs[key]) for key in (False, True))
    cpu_off, cpu_on = (statistics.median(run.cpu for run in runs[key]) for key in (False, True))
    overhead = (on - off) / off * 100
    table = [
        ["notebook, cells only", f"{off:.3f}", f"{on:.3f}", f"{on - off:+.3f}", f"{overhead:+.2f}%"],
        [
            "kernel CPU, cells only",
            f"{cpu_off:.2f}",
            f"{cpu_on:.2f}",
            f"{cpu_on - cpu_off:+.2f}",
            _percent(cpu_on, cpu_off),
        ],
    ]
    for index, (label, _) in enumerate(cells):
        cell_off, cell_on = (statistics.median(run.cells[index] for run in runs[key]) for key in (False, True))
        delta = cell_on - cell_off
        table.append(
            [f"  cell: {label}", f"{cell_off:.3f}", f"{cell_on:.3f}", f"{delta:+.3f}", _percent(cell_on, cell_off)]
        )
    print_table(["measure", "off s", "on s", "added s", "overhead"], table)
    for key in (False, True):
        spans = ", ".join(f"{run.span:.2f}" for run in runs[key])
        cpus = ", ".join(f"{run.cpu:.2f}" for run in runs[key])
        print(f"  runs {'on ' if key else 'off'}: {spans} s wall; {cpus} s CPU")
    with Store(env["NBLINEAGE_URL"]) as store:
        try:
            found = models_from(store, DatasetRef("file", file_dataset(csv).name))
        except NotFound:
            found = []
    models = sorted({Path(node.name).name for node in found})
    waiting = sum(1 for _ in (work / "jupyter").rglob("*.jsonl"))
    print(
        f"  captured: models derived from {csv.name}: {', '.join(models) or 'NONE'}; "
        f"outbox files left undelivered: {waiting}"
    )
    warnings = sorted({line for run in runs[True] for line in run.stderr.splitlines() if "nblineage" in line})
    if warnings:
        print(f"  nblineage warnings in the cells: {' | '.join(warnings)}")
    met = overhead <= TARGET_NOTEBOOK_OVERHEAD
    print(f"target: notebook overhead <= {TARGET_NOTEBOOK_OVERHEAD:.0f} %: {overhead:+.2f} %, {verdict(met)}")
    return met


def _percent(on: float, off: float) -> str:
    return f"{(on - off) / off * 100:+.1f}%" if off > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the chosen measures, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one notebook run each way (smoke run)")
    parser.add_argument("--reps", type=int, help="notebook runs each way (default 3; 1 with --quick)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP/BLAS threads in the notebook kernels (default 1; 0: library default)",
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"capture benchmark{' (quick)' if args.quick else ''}: Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    with tempfile.TemporaryDirectory(prefix="nbl-bench-") as name:
        folder = Path(name)
        if "load" in chosen:
            bench_load(sizes, folder)
        if "fingerprint" in chosen:
            bench_fingerprint(sizes, folder)
        if "pandas" in chosen:
            bench_pandas(sizes, folder)
        if "notebook" in chosen:
            bench_notebook(sizes, folder, args.reps or sizes.notebook_reps, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
