"""``benchmarks/bench_guard.py`` still runs (``--quick``) and prints the guard's cost per read and write."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_guard.py"


def test_bench_guard_quick() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("guard at a read", "guard before a write", "guard before a model save"):
        assert re.search(rf"^{label}\s+[\d.]+$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^target: .*: (met|NOT met)", done.stdout, re.MULTILINE)
