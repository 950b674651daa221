"""The policy guard's cost per read and per write, in µs, against capture without a policy.

In this process, with the real pandas and joblib hooks: ``pd.read_csv`` of a small file, ``DataFrame.to_csv`` of
it and ``joblib.dump`` of a fitted model, each timed with capture on and no policy (``Capture.guard`` None: one
attribute test), and with a policy whose rules all apply (a classified dataset with PII columns, readers, an
approved location, PII features, quality). The difference is the guard's cost; the reads and writes themselves
stay the same. Alternating rounds, minimum per call; the guard's own work (its read and write checks called
directly, as the hooks call them) is timed alone too, since a file read or write varies by more than the guard
costs. No timed assertions: the target is printed, met or NOT met.

    python benchmarks/bench_guard.py [--quick] [--rounds N] [--number N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_US = 100.0  # the guard's cost per read or write

POLICY = """
groups:
  analysts: [{user}]
datasets:
  - name: "{folder}/data*.csv"
    owner: team:crm
    tags: [confidential]
    columns: {{email: [pii]}}
    readers: [analysts]
rules:
  - {{name: inside, kind: locations, action: block, allowed: [{{name: "{folder}/**"}}]}}
  - {{name: readers, kind: readers, action: block}}
  - {{name: pii, kind: pii_features, action: warn}}
  - {{name: gate, kind: quality, action: warn}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=200, help="calls per timed batch")
    parser.add_argument("--quick", action="store_true", help="a few calls only (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.number = 2, 10

    import joblib
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from nblineage.governance.policy import identity
    from nblineage.kernel_ext.capture import Capture, activate
    from nblineage.kernel_ext.guard import Guard
    from nblineage.kernel_ext.hooks.models import JoblibInstrumentor
    from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor

    folder = Path(tempfile.mkdtemp(prefix="bench-guard-"))
    rows = "\n".join(f"{20 + i},{i * 10},u{i}@example.com,{i % 2}" for i in range(20))
    (folder / "data.csv").write_text("age,income,email,label\n" + rows + "\n")
    (folder / "policy.yaml").write_text(POLICY.format(user=identity(), folder=folder))
    instrumentors = [PandasInstrumentor(), JoblibInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument()
    capture = Capture()
    activate(capture)
    os.environ["NBLINEAGE_POLICY"] = str(folder / "policy.yaml")
    guard = Guard(None)
    guard.refresh(capture)
    assert capture.guard is guard

    frame = pd.read_csv(folder / "data.csv")
    model = LogisticRegression().fit(frame[["age", "income"]], frame["label"])
    capture.derive(model, frame)
    operations: dict[str, Callable[[], Any]] = {
        "read (pd.read_csv)": lambda: pd.read_csv(folder / "data.csv"),
        "write (DataFrame.to_csv)": lambda: frame.to_csv(folder / "out.csv"),
        "model save (joblib.dump)": lambda: joblib.dump(model, folder / "model.joblib"),
    }

    def timed(operation: Callable[[], Any], policy: bool) -> float:
        capture.guard = guard if policy else None
        capture.take_record()  # each batch starts from an empty cell record, as a cell does
        seconds = timeit.timeit(operation, number=args.number)
        return seconds / args.number * 1e6

    print(f"1. hooked calls (µs per call; min of {args.rounds} rounds of {args.number} calls, alternating)")
    print(f"{'call':28} {'no policy':>12} {'policy':>12} {'difference':>12}")
    for label, operation in operations.items():
        without, with_policy = [], []
        for _ in range(args.rounds):
            without.append(timed(operation, False))
            with_policy.append(timed(operation, True))
        print(f"{label:28} {min(without):12.1f} {min(with_policy):12.1f} {min(with_policy) - min(without):12.1f}")

    data = next(s for s in capture.of(frame).sources)
    checks: dict[str, Callable[[], Any]] = {
        "guard at a read": lambda: guard.on_read(capture, data, frame),
        "guard before a write": lambda: guard.before_write(capture, frame, ("file", str(folder / "out.csv")), False),
        "guard before a model save": lambda: guard.before_write(capture, model, ("file", str(folder / "m.joblib"))),
    }
    capture.guard = guard
    print(f"\n2. the guard's own work per call (µs; min of {args.rounds} rounds of {args.number} calls)")
    worst = 0.0
    for label, check in checks.items():
        cost = min(timeit.repeat(check, number=args.number, repeat=args.rounds)) / args.number * 1e6
        worst = max(worst, cost)
        print(f"{label:28} {cost:12.1f}")
    met = "met" if worst <= TARGET_US else "NOT met"
    print(f"target: the guard at most {TARGET_US:.0f} µs per read or write: {met} (worst {worst:.1f} µs)")
    print("without a policy the guard costs one attribute test per hooked read or write (Capture.guard is None)")
    activate(None)
    for instrumentor in reversed(instrumentors):
        instrumentor.uninstrument()


if __name__ == "__main__":
    main()
