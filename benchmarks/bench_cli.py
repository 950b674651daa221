"""Command-line start-up: ``nblineage --version``, ``--help`` and a query on the default store, as fresh processes.

Baseline, in the same run: ``python -c pass`` (the interpreter's own start-up). Each row is the median wall time and
the median CPU time (user + system) of ``--runs`` runs (after one warm-up run that writes the bytecode caches), and
the CPU ratio to the baseline; the query's own overhead is its time less the baseline. The rows' runs are
interleaved (one run of each row in turn, ``--runs`` times), so a load that comes and goes touches every row alike.
Targets are judged on CPU time, which a machine loaded by other work stretches far less than wall time. The store
is the default one (a SQLite file under a temporary ``JUPYTER_DATA_DIR``) holding a small notebook lineage.
``--compare DIR`` also runs each command with the nblineage of the checkout DIR, interleaved with this one's, and
prints its rows and this checkout's CPU time over DIR's.

    python benchmarks/bench_cli.py [--quick] [--runs N] [--compare DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS_MS = {"nblineage --version": 60.0, "nblineage --help": 60.0, "nblineage datasets (overhead)": 150.0}


def run_cpu(command: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, of the process and its children) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def timed(rows: dict[str, tuple[list[str], dict[str, str]]], runs: int, cwd: str) -> dict[str, tuple[float, float]]:
    """Median wall seconds and median CPU seconds of each row's command (its environment beside it), run in ``cwd``
    (``python -m`` imports from the current folder first: not a checkout's): one warm-up run each, then ``runs``
    rounds of one run of every row in turn."""
    for command, env in rows.values():
        subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=True)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in rows}
    for _ in range(runs):
        for label, (command, env) in rows.items():
            times[label].append(run_cpu(command, env, cwd))
    return {
        label: (statistics.median(wall for wall, _ in got), statistics.median(cpu for _, cpu in got))
        for label, got in times.items()
    }


def lineage_events(folder: Path) -> Path:
    """A file of a few notebook cell runs: raw.csv -> features.parquet -> model.joblib."""
    events = []
    for n, (inputs, outputs) in enumerate([(["raw.csv"], ["features.parquet"]), (["features.parquet"], ["m.joblib"])]):
        for state in ("START", "COMPLETE"):
            events.append(
                {
                    "eventType": state,
                    "eventTime": f"2026-01-01T00:00:0{n}Z",
                    "producer": "https://example.com/bench",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": f"00000000-0000-4000-8000-00000000000{n}"},
                    "job": {"namespace": "jupyter", "name": f"bench.ipynb#c{n}"},
                    "inputs": [{"namespace": "file", "name": f"/data/{name}"} for name in inputs],
                    "outputs": [{"namespace": "file", "name": f"/data/{name}"} for name in outputs],
                }
            )
    path = folder / "events.jsonl"
    path.write_text("\n".join(json.dumps(event) for event in events))
    return path


COMMANDS = {"nblineage --version": ["--version"], "nblineage --help": ["--help"], "nblineage datasets": ["datasets"]}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="3 runs each")
    options.add_argument("--runs", type=int, default=15)
    options.add_argument("--compare", metavar="DIR", help="also time the nblineage of this checkout (its root)")
    args = options.parse_args()
    runs = 3 if args.quick else args.runs
    root = Path(__file__).resolve().parent.parent
    other = Path(args.compare).resolve() if args.compare else None
    if other is not None and not (other / "nblineage" / "cli.py").is_file():
        sys.exit(f"--compare {args.compare}: no nblineage/cli.py there")
    with tempfile.TemporaryDirectory() as folder:
        env = {
            key: value for key, value in os.environ.items() if key not in ("NBLINEAGE_URL", "PYTHONDONTWRITEBYTECODE")
        }
        env.update(JUPYTER_DATA_DIR=folder, PYTHONPATH=os.pathsep.join([str(root), env.get("PYTHONPATH", "")]))
        cli = [sys.executable, "-m", "nblineage.cli"]
        events = str(lineage_events(Path(folder)))
        subprocess.run([*cli, "ingest", events], env=env, cwd=folder, capture_output=True, check=True)
        plan = {"baseline: python -c pass": ([sys.executable, "-c", "pass"], env)}
        plan |= {label: ([*cli, *argv], env) for label, argv in COMMANDS.items()}
        if other is not None:  # the same store, read by the other checkout's nblineage
            theirs = {**env, "PYTHONPATH": os.pathsep.join([str(other), os.environ.get("PYTHONPATH", "")])}
            plan |= {f"{label} ({other.name})": ([*cli, *argv], theirs) for label, argv in COMMANDS.items()}
        rows = timed(plan, runs, folder)
    base_wall, base_cpu = rows["baseline: python -c pass"]
    print(f"{'command':<34} {'median ms':>10} {'CPU ms':>8} {'x baseline':>11}")
    for label, (wall, cpu) in rows.items():
        print(f"{label:<34} {wall * 1000:>10.1f} {cpu * 1000:>8.1f} {cpu / base_cpu:>10.2f}x")
    # Judged on CPU time (a loaded machine stretches wall time, not the work done); wall time shown beside.
    own = {
        "nblineage --version": rows["nblineage --version"],
        "nblineage --help": rows["nblineage --help"],
        "nblineage datasets (overhead)": (
            rows["nblineage datasets"][0] - base_wall,
            rows["nblineage datasets"][1] - base_cpu,
        ),
    }
    load = os.getloadavg()[0]
    for label, (wall, cpu) in own.items():
        target = TARGETS_MS[label]
        met = "met" if cpu * 1000 <= target else "NOT met"
        print(f"target: {label} <= {target:.0f} ms: {cpu * 1000:.1f} ms CPU ({wall * 1000:.1f} ms wall), {met}")
    if other is not None:
        for label in COMMANDS:
            ours, theirs = rows[label][1] - base_cpu, rows[f"{label} ({other.name})"][1] - base_cpu
            print(f"vs {other.name}: {label} overhead {ours * 1000:.1f} ms CPU against {theirs * 1000:.1f} ms")
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
