"""Capture's cost on a Polars and DuckDB pipeline: the same pipeline run with the hooks off and on, interleaved.

The pipeline reads a Parquet and a CSV file with Polars (one eager read, one lazy scan collected), joins, derives
columns, groups, converts to numpy, queries the Polars frame and the files with DuckDB, fetches to pandas and
writes a Parquet file: each of the hooks' paths once. Rounds alternate off and on (capture active with the Polars,
DuckDB and pandas instrumentors); the medians' ratio is printed against the target. No timed assertion.

    python benchmarks/bench_engines.py [--quick] [--rows N] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_RATIO = 1.10  # capture on costs at most 10 % more on this pipeline


def pipeline(folder: Path) -> None:
    """The notebook's work: Polars and DuckDB, files in and out."""
    import duckdb
    import polars as pl

    orders = pl.read_parquet(folder / "orders.parquet")
    customers = pl.scan_csv(folder / "customers.csv").with_columns(pl.col("age").cast(pl.Float64)).collect()
    joined = orders.join(customers, on="customer_id").with_columns((pl.col("amount") * 1.2).alias("gross"))
    features = joined.group_by("customer_id").agg(pl.col("gross").sum(), pl.col("age").first())
    features.select("gross", "age").to_numpy()
    top = duckdb.sql("SELECT customer_id, gross FROM features WHERE gross > 10 ORDER BY gross DESC").df()
    top.shape  # noqa: B018
    duckdb.sql(
        f"SELECT c.age, sum(o.amount) AS total FROM '{folder / 'orders.parquet'}' o "
        f"JOIN '{folder / 'customers.csv'}' c USING (customer_id) GROUP BY c.age"
    ).pl().write_parquet(folder / "totals.parquet")


def synthesize(folder: Path, rows: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    customers = max(rows // 10, 10)
    pl.DataFrame({"customer_id": rng.integers(0, customers, rows), "amount": rng.uniform(1, 100, rows)}).write_parquet(
        folder / "orders.parquet"
    )
    pl.DataFrame({"customer_id": np.arange(customers), "age": rng.integers(18, 90, customers)}).write_csv(
        folder / "customers.csv"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 5 rounds each")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rounds = 20_000, 5
    os.environ.setdefault("NBLINEAGE_STRICT", "1")

    from nblineage.kernel_ext.capture import Capture, activate
    from nblineage.kernel_ext.hooks.duckdb import DuckdbInstrumentor
    from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
    from nblineage.kernel_ext.hooks.polars import PolarsInstrumentor

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        synthesize(folder, args.rows)
        pipeline(folder)  # warm: imports, file caches
        instrumentors = [cls() for cls in (PandasInstrumentor, PolarsInstrumentor, DuckdbInstrumentor)]
        for instrumentor in instrumentors:
            instrumentor.instrument()
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                capture = Capture() if mode == "on" else None
                activate(capture)
                start = time.perf_counter()
                pipeline(folder)
                times[mode].append(time.perf_counter() - start)
                if capture is not None:
                    outputs = capture.take_record().outputs
                    assert outputs and outputs[-1].provenance, "capture saw the pipeline"
        activate(None)
        for instrumentor in reversed(instrumentors):
            instrumentor.uninstrument()
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    ratio = on / off
    print(f"rows {args.rows:,}, rounds {args.rounds}")
    print(f"capture off   {off * 1000:10.2f} ms")
    print(f"capture on    {on * 1000:10.2f} ms")
    print(f"ratio         {ratio:10.3f}x")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target: capture on <= {TARGET_RATIO:.2f}x of off on the pipeline: {ratio:.3f}x, {verdict}")


if __name__ == "__main__":
    main()
