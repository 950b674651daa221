"""The cost of capture in a PyTorch training loop: per-batch time of a small MLP's training step on CPU (a
``DataLoader`` batch, forward, loss, ``backward()``, optimizer step), with nblineage's torch hooks on a tracked
dataset against the same loop without them, in the same process.

Times are the thread's CPU time (torch runs on one thread here), steadier than wall time on a shared machine.
Rounds alternate (without, with; then with, without), each an epoch over the same loader after a warm-up, and the
overhead is the median of the paired ratios, so that a busy machine slows both sides alike. A validation pass under
``no_grad`` runs after each captured epoch, and the run checks that the model derives from the training data only.
No timed assertions: the target is printed, met or NOT met.

    .venv/bin/python benchmarks/bench_torch.py            # 8,192 rows, batches of 64, 15 pairs
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
WARM = 8  # batches of each epoch timed apart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch's intra-op threads (1: steadier timings)")
    parser.add_argument("--quick", action="store_true", help="1,024 rows, 3 pairs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.pairs = 1024, 3
    run(args.rows, args.batch, args.pairs, args.threads)


def run(rows: int, batch: int, pairs: int, threads: int) -> None:
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
    first: list[float] = []

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()

    def epoch(loader: DataLoader) -> float:
        """CPU seconds per batch of one training epoch, after its first ``WARM`` batches (timed apart: with
        capture, the optimizer's first step finds the module it trains, once)."""
        model.train()
        batches = iter(loader)
        started = time.thread_time()
        for _ in range(WARM):
            step(*next(batches))
        first.append(time.thread_time() - started)
        started, count = time.thread_time(), 0
        for xb, yb in batches:
            step(xb, yb)
            count += 1
        return (time.thread_time() - started) / count

    def validate(loader: DataLoader) -> None:
        model.eval()
        with torch.no_grad():
            for xb, yb in loader:
                criterion(model(xb), yb).item()

    def captured() -> tuple[float, Capture]:
        instrumentor.instrument()
        capture = Capture()
        activate(capture)
        try:
            train = TensorDataset(X, y)
            capture.read(train_source, X)
            capture.read(train_source, y)
            loader = DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=True)
            capture.derive(loader.dataset, X, y)
            val = DataLoader(TensorDataset(X_val, y_val), batch_size=batch)
            capture.read(val_source, val.dataset)
            seconds = epoch(loader)
            validate(val)
            del train
            return seconds, capture
        finally:
            activate(None)
            instrumentor.uninstrument()

    def plain() -> float:
        seconds = epoch(DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=True))
        plain_first.append(first.pop())
        return seconds

    plain_first: list[float] = []

    plain()
    captured()  # warm-up: first calls, caches
    ratios, without, with_capture = [], [], []
    last: Capture | None = None
    for index in range(pairs):
        if index % 2 == 0:
            base = plain()
            cost, last = captured()
        else:
            cost, last = captured()
            base = plain()
        without.append(base)
        with_capture.append(cost)
        ratios.append(cost / base)
    overhead = (statistics.median(ratios) - 1) * 100
    base_us, cost_us = statistics.median(without) * 1e6, statistics.median(with_capture) * 1e6
    print(f"rows {rows:,}, batches of {batch}, {rows // batch} batches an epoch, {pairs} pairs, {threads} thread(s)")
    print(f"{'measure':<40} {'median us/batch':>16}")
    print(f"{'baseline: training step, no capture':<40} {base_us:>16.1f}")
    print(f"{'training step, captured':<40} {cost_us:>16.1f}")
    print(f"per-batch overhead: {overhead:+.2f} % (median of paired ratios, {cost_us - base_us:+.1f} us)")
    first_ms = (statistics.median(first) - statistics.median(plain_first)) * 1e3
    print(f"an epoch's first {WARM} batches (an optimizer's first step finds its module): {first_ms:+.2f} ms")
    assert last is not None
    sources = {source.name for source in last.of(model).sources}
    print(f"model derives from the training data only: {'yes' if sources == {train_source.name} else sources}")
    verdict = "met" if overhead < TARGET else "NOT met"
    print(f"target: per-batch overhead < {TARGET:.0f} % of a step: {overhead:.2f} %, {verdict}")


if __name__ == "__main__":
    main()
