"""The benchmarks still run: each with ``--quick``, checked for exit status and the metric lines it must print.

No timing is asserted; only that the scripts work and that nblineage's answers agree with networkx's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_quick(script: str, *extra: str) -> str:
    """Run a benchmark script with ``--quick``; return its output, failing with it on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_bench_ingest_quick() -> None:
    output = run_quick("bench_ingest.py")
    for label in (
        "baseline: FileTransport.emit, append",
        "Serde.to_json (openlineage-python)",
        "json.loads + check",
        "nblineage ingest: loads+check+append (SQLite)",
        "replay, all duplicates (SQLite)",
        "producer to store: Serde+loads+check+append (SQLite)",
    ):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d,]+\s+[\d.]+x$", output, re.MULTILINE), label
    assert "stored 1,000, duplicates 0" in output
    assert re.search(r"^target: nblineage ingest >= 10,000 events/s on SQLite: [\d,]+/s, (met|NOT met)$", output, re.M)


def test_bench_queries_quick(tmp_path: Path) -> None:
    output = run_quick("bench_queries.py", "--cache-dir", str(tmp_path))
    assert "dataset_versions 20,000" in output
    for label in (
        "models_from(dataset, any version)",
        "models_from(dataset, one version)",
        "derived(dataset, any version): impact",
        "upstream(dataset version)",
        "upstream(model version)",
    ):
        row = re.search(rf"^{re.escape(label)}(\s+[\d.]+){{7}}\s+(\d+)/(\d+)$", output, re.MULTILINE)
        assert row, label
        assert row.group(2) == row.group(3) == "50", f"{label}: nblineage and networkx disagree\n{output}"
    assert re.search(
        r"^target: p95 <= 20 ms on SQLite for every query: worst p95 [\d.]+ ms, (met|NOT met)$", output, re.M
    )


def test_bench_neighbourhood_quick(tmp_path: Path) -> None:
    output = run_quick("bench_neighbourhood.py", "--cache-dir", str(tmp_path))
    for depth in (1, 2, 3):
        assert re.search(rf"^neighbourhood depth {depth}(\s+[\d.]+){{6}}\s+\d+$", output, re.MULTILINE), depth
    assert re.search(
        r"^hub of 5,000: neighbourhood [\d,.]+ ms \(1,999 nodes, limit 2,000, truncated True", output, re.M
    )
    assert re.search(r"^render_svg of 1,999 nodes: [\d,.]+ ms", output, re.M)
    assert re.search(r"^target: depth 1 p95 <= 100 ms: [\d.]+ ms, (met|NOT met); hub cut and drawn", output, re.M)


def test_bench_capture_quick() -> None:
    output = run_quick("bench_capture.py")
    for label in ("baseline: %load_ext autoreload", "%load_ext nblineage"):
        assert re.search(rf"^{re.escape(label)}(\s+[\d.]+x?){{5}}$", output, re.MULTILINE), label
    assert "capture session started: yes" in output
    assert "heavy modules imported by loading: none" in output
    assert re.search(r"^target: %load_ext nblineage <= 200 ms and no heavy import: .*, (met|NOT met)$", output, re.M)
    for label in ("without capture", "with capture (patching)"):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+$", output, re.MULTILINE), label
    assert re.search(r"^target: patching at import adds <= 50 ms CPU: [+-][\d.]+ ms, (met|NOT met)$", output, re.M)
    for label in ("baseline: readinto loop", "fingerprint.file_version (xxh3-128)"):
        assert re.search(rf"^{re.escape(label)}(\s+[\d.]+x?){{3}}$", output, re.MULTILINE), label
    assert re.search(r"^target: fingerprint >= 5 GB/s warm: [\d.]+ GB/s, (met|NOT met)$", output, re.M)
    plain = ("pd.concat(map(pd.read_csv, [small.csv] * 2))", "csv.reader(open(small.csv)) -> f")
    for label in ('df["a"]', "df.to_numpy()", "pd.read_csv(small.csv)", *plain):
        row = re.search(rf"^{re.escape(label)}(\s+-?[\d.]+x?){{4}}\s+(yes|NO)$", output, re.MULTILINE)
        assert row and row.group(2) == "yes", f"{label}: no row, or provenance not carried\n{output}"
    assert "hook errors: 0" in output
    # the last column, ms per cell, is negative when the run with capture happened to take less CPU
    cpu_row = r"(\s+[\d.]+){2}\s+[+-][\d.]+\s+n/a \(1 pair\)\s+[+-][\d.]+%\s+n/a \(1 pair\)\s+-?[\d.]+$"
    for label in ("realistic notebook", "cell-heavy notebook"):
        assert re.search(rf"^{label}{cpu_row}", output, re.MULTILINE), f"{label}\n{output}"
    assert "models derived from training.csv: model.joblib;" in output
    assert re.search(
        r"^target: realistic notebook total kernel CPU <= \+2 %: [+-][\d.]+ %, (met|NOT met)$", output, re.M
    )
    assert re.search(
        r"^target: cell-heavy notebook <= 1 ms per cell and <= \+2 % total kernel CPU: .*(met|NOT met)$", output, re.M
    )
    assert re.search(r"^30 feature cells(\s+[\d.]+){2}\s+[+-][\d.]+\s+n/a \(1 pair\)\s+-?[\d.]+ n/a", output, re.M)
    assert re.search(r"^target: each further feature cell <= 1 ms .*: -?[\d.]+ ms, (met|NOT met)$", output, re.M)
    assert re.search(r"^built and deleted(\s+[\d.]+){2}\s+[+-][\d.]+\s+n/a \(1 pair\)\s+[+-][\d.]+%$", output, re.M)
    assert re.search(r"^target: RSS with capture within 5 % of without: [+-][\d.]+ %, (met|NOT met)$", output, re.M)


def test_bench_widget_quick() -> None:
    output = run_quick("bench_widget.py")
    for size in ("200", "2,000"):
        for label in ("baseline: plain SVG rects + labels", "graph view: layout + first render"):
            assert re.search(rf"^{re.escape(label)}\s+{size}\s+[\d.]+\s+[\d.]+x$", output, re.M), (label, size)
    assert re.search(r"^target: 2,000 nodes laid out and rendered < 2 s: [\d,]+ ms, (met|NOT met)$", output, re.M)


def test_bench_endpoint_quick() -> None:
    output = run_quick("bench_endpoint.py")
    for label in (
        "baseline: FileTransport.emit, append",
        "batch endpoint, 1 sender",
        "batch endpoint, 4 senders at once",
        "one event per POST, HttpTransport",
    ):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d,]+\s+[\d.]+x$", output, re.MULTILINE), label
    for senders in ("1 sender", "4 senders at once"):
        assert f"batch endpoint, {senders}: stored 1,000 of 1,000" in output
        assert re.search(rf"^batch endpoint, {senders}: [\d,]+ events per CPU second of the server", output, re.M)
    assert re.search(r"^batch endpoint vs one event per POST: [\d.]+x$", output, re.MULTILINE)
    target = r"^target: batch endpoint >= 10,000 events/s into SQLite, 4 senders at once: [\d,]+/s, (met|NOT met)$"
    assert re.search(target, output, re.M)


def test_bench_endpoint_compare_quick() -> None:
    """``--compare``: a pair of servers, this checkout's and another's (here the same), each line printed."""
    checkout = str(BENCHMARKS.parent)
    output = run_quick("bench_endpoint.py", "--compare", checkout, "--pairs", "1")
    assert "--compare: 1 interleaved pairs, 1,000 events each after 2,000 to warm up" in output
    assert len(re.findall(r"^\S+\s+[\d,]+ \([\d,]+-[\d,]+\)\s+\d+ \(\d+-\d+\)$", output, re.MULTILINE)) == 2
    assert re.search(
        r"^this checkout vs \S+: [\d.]+x events per wall second, [\d.]+x events per server CPU", output, re.M
    )
    assert re.search(r"^load average \(1 min\) after each pair: [\d.]+$", output, re.MULTILINE)


def test_bench_search_quick() -> None:
    output = run_quick("bench_search.py")
    for label in ("exact name", "last part", "common substring", "rare substring", "no match", "every node"):
        assert re.search(rf"^{label}\s+[\d,]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d,]+$", output, re.MULTILINE), (
            label
        )
    assert "target: a first page of a selective query" in output


def test_bench_audit_quick() -> None:
    output = run_quick("bench_audit.py")
    for label in (
        "baseline: plain INSERT, 1,000 a transaction",
        "baseline: plain INSERT, 1 a transaction",
        "baseline: read + bare SHA-256 hash chain",
    ):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d,]+\s*$", output, re.MULTILINE), label
    for label in (
        "audit.append, 1,000 a transaction",
        "audit.append, 1 a transaction",
        "audit.verify (leaf hashes, roots, head)",
        "audit.checkpoint (verify + Ed25519 sign)",
        "audit.verify against a checkpoint",
    ):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d,]+\s+[\d.]+x$", output, re.MULTILINE), label
    assert re.search(r"^inclusion proof at 3,000 \(12 hashes\)", output, re.MULTILINE)
    assert re.search(r"audit records took [\d.]+ ms of it \([\d.]+ %\), appended 0$", output, re.MULTILINE)
    assert re.search(r"model-saving events too: .* [1-9][\d,]* model.saved records appended$", output, re.MULTILINE)
    assert re.search(
        r"^target: audit append >= 10,000 records/s and verify of 100,000 records <= 5 s on SQLite: .*(met|NOT met)$",
        output,
        re.MULTILINE,
    )


def test_bench_quality_quick() -> None:
    output = run_quick("bench_quality.py")
    for label in (
        "read_parquet, no suite (baseline)",
        "read_parquet + background suite",
        "read_parquet + blocking suite",
    ):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d.]+x$", output, re.MULTILINE), label
    assert re.search(r"^great_expectations import in the kernel: [\d.]+ s", output, re.MULTILINE)
    assert re.search(r"^target: cell with a background suite <= 1.10x without: [\d.]+x, (met|NOT met)$", output, re.M)


def test_bench_engines_quick() -> None:
    output = run_quick("bench_engines.py")
    assert re.search(r"^ratio\s+[\d.]+x$", output, re.M)
    assert re.search(r"^target: capture on <= 1\.10x of off on the pipeline: [\d.]+x, (met|NOT met)$", output, re.M)


def test_bench_torch_quick() -> None:
    output = run_quick("bench_torch.py")
    for label in ("baseline: training step, no capture", "training step, captured"):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+$", output, re.MULTILINE), label
    assert re.search(r"^per-batch overhead: [+-][\d.]+ % \(median of paired ratios", output, re.M)
    assert "model derives from the training data only: yes" in output
    whole = r"^whole cost, hooks never installed against installed and capturing .*: [+-][\d.]+ %"
    assert re.search(whole, output, re.M)
    assert re.search(r"^target: per-batch overhead < 2 % of a step: -?[\d.]+ %, (met|NOT met)$", output, re.M)


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs Valgrind")
def test_bench_capture_instructions_quick() -> None:
    output = run_quick("bench_capture_instructions.py")
    assert re.search(r"^%load_ext\s+0\.0\s+[\d.]+\s+\+[\d.]+$", output, re.M), output
    assert re.search(r"^total\s+0\.0\s+[\d.]+\s+\+[\d.]+$", output, re.M), output


def test_cachegrind_counts_one_step_of_a_program() -> None:
    """bench_torch --simulate's measure, on a program whose step is sum(range(n)): three times the work a step is
    about three times the instructions, and the start-up cancels out."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from cachegrind import per_step
    finally:
        sys.path.remove(str(BENCHMARKS))

    def program(work: int) -> Callable[[int], list[str]]:
        return lambda steps: [sys.executable, "-S", "-c", f"for _ in range({steps}): sum(range({work}))"]

    small, large = per_step(program(1000), 10, 110), per_step(program(3000), 10, 110)
    assert 2.5 < large.instructions / small.instructions < 3.5, (small, large)
    assert small.instructions < 1_000_000  # a step, not the interpreter's start-up
    assert small.cycles >= small.instructions


@pytest.mark.postgres
def test_bench_dbapi_quick() -> None:
    output = run_quick("bench_dbapi.py")
    for label in ("fetchall", "fetchmany(1000)", "iteration", "fetchone loop", "server-side"):
        assert re.search(rf"^{re.escape(label)}\s+(\s*-?[\d.]+){{6}}$", output, re.MULTILINE), label
    target = r"^target: versions add <= 200 ns of CPU per row for every read: worst -?\d+, (met|NOT met)$"
    assert re.search(target, output, re.M)
