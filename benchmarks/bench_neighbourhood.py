"""Neighbourhood latency (the graph views' answer) and the static picture's drawing time.

1. ``neighbourhood`` at depth 1, 2 and 3 (node limit 2,000) from random dataset versions of bench_queries.py's cached
   synthetic graph; baseline: networkx on the same graph in memory, the versions within that many hops either way
   (``single_source_shortest_path_length`` on the undirected view), ids only.
2. A hub read by N jobs (default 100,000; 5,000 with ``--quick``): ``neighbourhood`` at depth 1 is cut at the node
   limit; baseline: networkx's ego graph of the hub.
3. ``render_svg`` of the hub's 2,000-node answer; baseline: ``json.dumps`` of the same answer.

    python benchmarks/bench_neighbourhood.py [--quick] [--versions N] [--hub N] [--starts N] [--cache-dir D]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
from bench_queries import GENERATOR, build_graph, clock, load_networkx, percentile, pick_starts, schema_key

from nblineage.governance.neighbourhood import neighbourhood
from nblineage.lineage.graph import DEFAULT_LIMIT, DatasetRef
from nblineage.lineage.store import Store
from nblineage.widgets.static_svg import render_svg

TARGET_P95_MS = 100.0  # depth 1 on the synthetic graph
TARGET_HUB_MS = 2000.0  # a hub of 100,000 cut at the node limit, and its picture drawn


def hub_store(path: Path, readers: int) -> None:
    """A store where one dataset version is read by ``readers`` jobs, each writing its own output."""
    with Store(f"sqlite:///{path}"):
        pass
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO datasets (id, namespace, name, is_model) VALUES (1, 's3://b', 'hub', 0)")
    conn.execute("INSERT INTO dataset_versions (id, dataset_id, version, first_seen) VALUES (1, 1, 'h', '2026-01-01')")
    conn.executemany(
        "INSERT INTO datasets (id, namespace, name, is_model) VALUES (?, 's3://b', ?, 0)",
        ((i + 2, f"out{i}") for i in range(readers)),
    )
    conn.executemany(
        "INSERT INTO dataset_versions (id, dataset_id, version, first_seen) VALUES (?, ?, 'v', '2026-01-01')",
        ((i + 2, i + 2) for i in range(readers)),
    )
    conn.executemany(
        "INSERT INTO jobs (id, namespace, name) VALUES (?, 'spark', ?)", ((i + 1, f"job{i}") for i in range(readers))
    )
    conn.executemany(
        "INSERT INTO runs (id, run_id, job_id, state) VALUES (?, ?, ?, 'COMPLETE')",
        ((i + 1, f"00000000-0000-4000-8000-{i:012d}", i + 1) for i in range(readers)),
    )
    conn.executemany(
        "INSERT INTO run_io (run_pk, version_id, direction) VALUES (?, ?, ?)",
        (row for i in range(readers) for row in ((i + 1, 1, "input"), (i + 1, i + 2, "output"))),
    )
    conn.executemany(
        "INSERT INTO edges (src, dst, run_pk, job_pk, derivation) VALUES (1, ?, ?, ?, 'inferred')",
        ((i + 2, i + 1, i + 1) for i in range(readers)),
    )
    conn.execute("COMMIT")
    conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 versions, a hub of 5,000, 20 starts")
    parser.add_argument("--versions", type=int, help="dataset versions of the synthetic graph (default 1,000,000)")
    parser.add_argument("--hub", type=int, help="jobs reading the hub (default 100,000)")
    parser.add_argument("--starts", type=int, help="random starting versions per depth (default 100)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()), help="where graphs are cached")
    args = parser.parse_args(argv)
    versions = args.versions or (20_000 if args.quick else 1_000_000)
    readers = args.hub or (5_000 if args.quick else 100_000)
    starts_count = args.starts or (20 if args.quick else 100)

    path = args.cache_dir / f"nblineage-bench-g{GENERATOR}-{schema_key()}-{versions}v-{2 * versions}e-s{args.seed}.db"
    print(f"neighbourhood benchmark: {versions:,} versions, a hub of {readers:,}, {starts_count} starts per depth")
    if not path.exists():
        build_graph(path, versions, 2 * versions, args.seed)
    names = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    graph, _ = load_networkx(names)
    either_way = graph.to_undirected(as_view=True)
    starts = pick_starts(names, starts_count, models=False, seed=args.seed)
    names.close()

    print(
        f"\n{'query':24}  {'nbl p50':>8} {'nbl p95':>8}  {'nx p50':>8} {'nx p95':>8}  {'x p95':>6}  {'nodes':>7}  cut"
    )
    worst = 0.0
    with Store(f"sqlite:///{path}") as store:
        for depth in (1, 2, 3):
            ours, theirs, sizes, cut = [], [], [], 0
            for start in starts:
                ref = DatasetRef(start.namespace, start.name, start.version)
                elapsed, hood = clock(lambda r=ref, d=depth: neighbourhood(store, r, d))
                ours.append(elapsed)
                sizes.append(len(hood.nodes))
                cut += hood.truncated
                theirs.append(
                    clock(lambda s=start, d=depth: nx.single_source_shortest_path_length(either_way, s.version_id, d))[
                        0
                    ]
                )
            p95 = percentile(ours, 0.95)
            worst = max(worst, p95) if depth == 1 else worst
            nx_p95 = percentile(theirs, 0.95)
            print(
                f"{f'neighbourhood depth {depth}':24}  {percentile(ours, 0.5):8.2f} {p95:8.2f}  "
                f"{percentile(theirs, 0.5):8.2f} {nx_p95:8.2f}  {p95 / nx_p95:6.1f}  "
                f"{sum(sizes) / len(sizes):7.1f}  {cut}"
            )

    with tempfile.TemporaryDirectory() as folder:
        hub = Path(folder) / "hub.db"
        hub_store(hub, readers)
        hub_graph = nx.DiGraph((0, i + 1) for i in range(readers))
        with Store(f"sqlite:///{hub}") as store:
            hood_ms, hood = clock(lambda: neighbourhood(store, DatasetRef("s3://b", "hub")))
            ego_ms, _ = clock(lambda: nx.ego_graph(hub_graph, 0, radius=1, undirected=True))
            svg_ms, svg = clock(lambda: render_svg(hood))
            json_ms, _ = clock(lambda: json.dumps(hood.to_json()))
    print(
        f"\nhub of {readers:,}: neighbourhood {hood_ms:,.1f} ms ({len(hood.nodes):,} nodes, limit {DEFAULT_LIMIT:,}, "
        f"truncated {hood.truncated}, hidden {hood.nodes[0].hidden.downstream:,}); "
        f"networkx ego graph {ego_ms:,.1f} ms; x {hood_ms / ego_ms:.1f}"
    )
    print(
        f"render_svg of {len(hood.nodes):,} nodes: {svg_ms:,.1f} ms, {len(svg):,} bytes; json.dumps {json_ms:,.1f} ms;"
    )
    print(f"  x {svg_ms / json_ms:.1f}")
    met = "met" if worst <= TARGET_P95_MS else "NOT met"
    hub_met = "met" if hood_ms + svg_ms <= TARGET_HUB_MS else "NOT met"
    print(
        f"\ntarget: depth 1 p95 <= {TARGET_P95_MS:.0f} ms: {worst:.2f} ms, {met}; "
        f"hub cut and drawn <= {TARGET_HUB_MS:.0f} ms: {hood_ms + svg_ms:,.1f} ms, {hub_met}"
    )
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - started:,.0f} s)")
    sys.exit(code)
