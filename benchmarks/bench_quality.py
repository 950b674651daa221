"""A great-expectations suite on a 1,000,000-row frame, validated in the background: the cell's time against the same
cell without a suite, in one real kernel with nblineage loaded.

Each round runs, in this order: the read alone; the read with a background suite (``quality.on_read``, as the policy
guard calls it); a cell that waits for the writer (``flush``: the validation runs there, as it would while the
kernel is idle); and the read with the same suite blocking, for comparison. Cell times are the kernel's own
(nbclient's ``execute_input`` to ``execute_reply``), so capture's work at the cell's end counts. The GX import is
paid once before the rounds and reported apart.

    .venv/bin/python benchmarks/bench_quality.py            # 1,000,000 rows, 5 rounds
    .venv/bin/python benchmarks/bench_quality.py --quick    # 20,000 rows, 2 rounds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.10  # the cell with a background suite takes at most 10 % longer than without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rounds = 20_000, 2
    with tempfile.TemporaryDirectory(prefix="nbl-bench-quality-") as folder:
        run(Path(folder), args.rows, args.rounds)


def run(folder: Path, rows: int, rounds: int) -> None:
    import nbformat
    import numpy as np
    import pandas as pd
    from nbclient import NotebookClient

    data = folder / "customers.parquet"
    generator = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "age": generator.integers(18, 90, rows),
            "income": generator.normal(50_000, 15_000, rows),
            "segment": generator.choice(["a", "b", "c", "d"], rows),
        }
    )
    frame.to_parquet(data)
    suite = folder / "customers.json"
    expectations = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 0, "max_value": 120}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "income", "min_value": 0}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "segment", "value_set": list("abcd")}},
    ]
    suite.write_text(json.dumps({"name": "customers", "expectations": expectations}))
    setup = f"""import time
import pandas as pd
from types import SimpleNamespace as Expectation
from nblineage.kernel_ext import capture, quality
import nblineage.kernel_ext as extension
session = next(iter(extension._sessions.values()))
PATH, SUITE = {str(data)!r}, {str(suite)!r}
background = [Expectation(suite=SUITE, sample_rows=None, blocking=False)]
blocking = [Expectation(suite=SUITE, sample_rows=None, blocking=True)]
def source_of(frame):
    return next(iter(capture._current.of(frame).sources))
started = time.perf_counter()
import great_expectations
from nblineage.governance.quality import validate
print("gx import s", time.perf_counter() - started)"""
    plain = "df = pd.read_parquet(PATH)"
    queued = "df = pd.read_parquet(PATH)\nquality.on_read(df, source_of(df), background)"
    wait = "started = time.perf_counter()\nassert session.writer.flush(600)\n"
    wait += "print('flush s', time.perf_counter() - started)"
    inline = "df = pd.read_parquet(PATH)\nquality.on_read(df, source_of(df), blocking)"
    cells = [
        "%load_ext nblineage",
        setup,
        plain,
        queued,
        wait,
    ]  # a warm-up round (first validation builds GX's context)
    for _ in range(rounds):
        cells += [plain, queued, wait, inline]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = {
        **os.environ,
        "NBLINEAGE_URL": f"sqlite:///{folder / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(folder / "jupyter"),
        "NBLINEAGE_NOTEBOOK": str(folder / "bench.ipynb"),
        "GX_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    NotebookClient(
        notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute(env=env)
    executed = notebook.cells
    gx_import = _printed(executed[1], "gx import s")
    times: dict[str, list[float]] = {"plain": [], "queued": [], "wait": [], "inline": []}
    for index in range(5, len(cells), 4):
        for offset, label in enumerate(("plain", "queued", "wait", "inline")):
            times[label].append(_seconds(executed[index + offset]))
    flush = [_printed(executed[index + 2], "flush s") for index in range(5, len(cells), 4)]
    plain_s, queued_s = statistics.median(times["plain"]), statistics.median(times["queued"])
    print(f"rows {rows:,}, rounds {rounds}, suite of {len(expectations)} expectations, python {sys.version.split()[0]}")
    print(f"{'cell':44} {'median s':>9} {'ratio':>7}")
    print(f"{'read_parquet, no suite (baseline)':44} {plain_s:9.3f} {1.0:7.2f}x")
    print(f"{'read_parquet + background suite':44} {queued_s:9.3f} {queued_s / plain_s:7.2f}x")
    print(
        f"{'read_parquet + blocking suite':44} {statistics.median(times['inline']):9.3f} "
        f"{statistics.median(times['inline']) / plain_s:7.2f}x"
    )
    print(f"{'background validation (run while idle)':44} {statistics.median(flush):9.3f}")
    print(f"great_expectations import in the kernel: {gx_import:.2f} s (once, when the first suite runs)")
    ratio = queued_s / plain_s
    print(
        f"target: cell with a background suite <= {TARGET:.2f}x without: {ratio:.2f}x, "
        f"{'met' if ratio <= TARGET else 'NOT met'}"
    )


def _seconds(cell: dict) -> float:
    timing = cell["metadata"]["execution"]
    start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def _printed(cell: dict, label: str) -> float:
    for output in cell.get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(label):
                return float(line.split()[-1])
    raise RuntimeError(f"no {label!r} in {cell.get('outputs')}")


if __name__ == "__main__":
    main()
