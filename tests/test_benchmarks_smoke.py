"""The benchmarks still run: each with ``--quick``, checked for exit status and the metric lines it must print.

No timing is asserted; only that the scripts work and that nblineage's answers agree with networkx's.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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
        "upstream(dataset version)",
        "upstream(model version)",
    ):
        row = re.search(rf"^{re.escape(label)}(\s+[\d.]+){{7}}\s+(\d+)/(\d+)$", output, re.MULTILINE)
        assert row, label
        assert row.group(2) == row.group(3) == "50", f"{label}: nblineage and networkx disagree\n{output}"
    assert re.search(
        r"^target: p95 <= 20 ms on SQLite for every query: worst p95 [\d.]+ ms, (met|NOT met)$", output, re.M
    )


def test_bench_capture_quick() -> None:
    output = run_quick("bench_capture.py")
    for label in ("baseline: %load_ext autoreload", "%load_ext nblineage"):
        assert re.search(rf"^{re.escape(label)}(\s+[\d.]+x?){{5}}$", output, re.MULTILINE), label
    assert "capture session started: yes" in output
    assert "heavy modules imported by loading: none" in output
    assert re.search(r"^target: %load_ext nblineage <= 200 ms and no heavy import: .*, (met|NOT met)$", output, re.M)
    for label in ("baseline: readinto loop", "fingerprint.file_version (xxh3-128)"):
        assert re.search(rf"^{re.escape(label)}(\s+[\d.]+x?){{3}}$", output, re.MULTILINE), label
    assert re.search(r"^target: fingerprint >= 5 GB/s warm: [\d.]+ GB/s, (met|NOT met)$", output, re.M)
    for label in ('df["a"]', "df.to_numpy()", "pd.read_csv(small.csv)"):
        row = re.search(rf"^{re.escape(label)}(\s+-?[\d.]+x?){{4}}\s+(yes|NO)$", output, re.MULTILINE)
        assert row and row.group(2) == "yes", f"{label}: no row, or provenance not carried\n{output}"
    assert "hook errors: 0" in output
    for label in ("notebook, cells only", "kernel CPU, cells only"):
        assert re.search(rf"^{re.escape(label)}(\s+[+-]?[\d.]+%?){{4}}$", output, re.MULTILINE), label
    assert "models derived from training.csv: model.joblib;" in output
    assert re.search(r"^target: notebook overhead <= 2 %: [+-][\d.]+ %, (met|NOT met)$", output, re.M)
