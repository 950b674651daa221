"""The cost of capture in a PyTorch training loop: per-batch time of a small MLP's training step on CPU (a
``DataLoader`` batch, forward, loss, ``backward()``, optimizer step), with nblineage's torch hooks on a tracked
dataset against the same loop without them, in the same process.

Times are the thread's CPU time (torch runs on one thread here), steadier than wall time on a shared machine.
Rounds of a few batches alternate (without, with; then with, without), drawing their batches from one loader
iterator made under capture, and the overhead is the median of the paired ratios, so that a busy machine slows both
sides alike. Each round starts with a few untimed steps: a round with capture installs the hooks again, and the
optimizer finds its module again (that first step is timed apart, once, on a fresh capture), and Python's and
torch's caches fill again after the patches (a loop under capture keeps its hooks in). A
validation pass under ``no_grad`` runs after each epoch, and the run checks that the model derives from the
training data only, and that every step was counted. No timed assertions: the target is printed, met or NOT met.

    .venv/bin/python benchmarks/bench_torch.py            # 8,192 rows, batches of 64, 120 pairs
    .venv/bin/python benchmarks/bench_torch.py --quick    # 1,024 rows, 3 pairs
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET = 2.0  # percent of a step
WARM = 8  # batches of a fresh capture's first epoch timed apart
SETTLE = 3  # untimed steps at the start of each round (hooks put back: the optimizer finds its module, caches fill)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=120)
    parser.add_argument("--round", type=int, default=8, help="timed batches a round")
    parser.add_argument("--threads", type=int, default=1, help="torch's intra-op threads (1: steadier timings)")
    parser.add_argument("--quick", action="store_true", help="1,024 rows, 3 pairs of rounds of 4 batches")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.pairs, args.round = 1024, 3, 4
    run(args.rows, args.batch, args.pairs, args.round, args.threads)


def run(rows: int, batch: int, pairs: int, size: int, threads: int) -> None:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from nblineage.kernel_ext.capture import Capture, activate
    from nblineage.kernel_ext.hooks.models import TorchInstrumentor
    from nblineage.kernel_ext.provenance import Source

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    train_source, val_source = Source("file", "/data/train.csv", "v1"), Source("file", "/data/val.csv", "v1")
    X, y = torch.randn(rows, 32), torch.randint(0, 2, (rows,))
    X_val, y_val = torch.randn(rows // 4, 32), torch.randint(0, 2, (rows // 4,))
    model = torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = torch.nn.CrossEntropyLoss()
    instrumentor = TorchInstrumentor()
    loader = DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=True)
    val = DataLoader(TensorDataset(X_val, y_val), batch_size=batch)
    taken = [0]  # captured steps taken

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()

    def new_capture() -> Capture:
        capture = Capture()
        capture.user_ns = {"model": model, "optimizer": optimizer, "loader": loader, "val": val}
        capture.read(train_source, X)
        capture.read(train_source, y)
        capture.derive(loader.dataset, X, y)
        capture.read(val_source, val.dataset)
        return capture

    def on(capture: Capture) -> None:
        instrumentor.instrument()
        activate(capture)

    def off() -> None:
        activate(None)
        instrumentor.uninstrument()

    def timed(batches: object, steps: int, captured: bool) -> float:
        """CPU seconds per batch of ``steps`` steps, after ``SETTLE`` untimed ones."""
        for _ in range(SETTLE):
            step(*next(batches))  # type: ignore[call-overload]
        started = time.thread_time()
        for _ in range(steps):
            step(*next(batches))  # type: ignore[call-overload]
        taken[0] += (steps + SETTLE) * captured
        return (time.thread_time() - started) / steps

    def validate() -> None:
        model.eval()
        with torch.no_grad():
            for xb, yb in val:
                criterion(model(xb), yb).item()
        model.train()

    def first_steps(captured: bool) -> float:
        """CPU seconds of an epoch's first ``WARM`` batches: with capture, on a fresh one (its optimizer finds the
        module it trains)."""
        capture = new_capture() if captured else None
        if capture is not None:
            on(capture)
        try:
            batches = iter(loader)
            started = time.thread_time()
            for _ in range(WARM):
                step(*next(batches))
            return time.thread_time() - started
        finally:
            if capture is not None:
                off()

    first_steps(False)
    first_steps(True)  # warm-up: first calls, caches
    first = [first_steps(True) - first_steps(False) for _ in range(3)]
    capture = new_capture()
    per_epoch = max(1, (rows // batch) // (2 * (size + SETTLE)))
    ratios, without, with_capture = [], [], []
    while len(ratios) < pairs:
        on(capture)
        batches = iter(loader)  # made under capture: its batches carry the training data's provenance
        off()
        for index in range(min(per_epoch, pairs - len(ratios))):
            if index % 2 == 0:
                base = timed(batches, size, False)
                on(capture)
                cost = timed(batches, size, True)
                off()
            else:
                on(capture)
                cost = timed(batches, size, True)
                off()
                base = timed(batches, size, False)
            without.append(base)
            with_capture.append(cost)
            ratios.append(cost / base)
        on(capture)
        validate()
        off()
    overhead = (statistics.median(ratios) - 1) * 100
    base_us, cost_us = statistics.median(without) * 1e6, statistics.median(with_capture) * 1e6
    print(f"rows {rows:,}, batches of {batch}, {len(ratios)} pairs of rounds of {size} batches, {threads} thread(s)")
    print(f"{'measure':<40} {'median us/batch':>16}")
    print(f"{'baseline: training step, no capture':<40} {base_us:>16.1f}")
    print(f"{'training step, captured':<40} {cost_us:>16.1f}")
    print(f"per-batch overhead: {overhead:+.2f} % (median of paired ratios, {cost_us - base_us:+.1f} us)")
    first_ms = statistics.median(first) * 1e3
    print(f"an epoch's first {WARM} batches (an optimizer's first step finds its module): {first_ms:+.2f} ms")
    sources = {source.name for source in capture.of(model).sources}
    print(f"model derives from the training data only: {'yes' if sources == {train_source.name} else sources}")
    steps = capture.hooks.training.get(model).get("steps")
    print(f"steps counted: {steps} of {taken[0]} captured")
    verdict = "met" if overhead < TARGET else "NOT met"
    print(f"target: per-batch overhead < {TARGET:.0f} % of a step: {overhead:.2f} %, {verdict}")


if __name__ == "__main__":
    main()
