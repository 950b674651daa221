"""The audit log: append and verify of 100,000 records, and what it adds to event ingest.

Baselines, measured in the same run on the same records and database: a plain INSERT of the records' canonical
JSON into a table without hashes (for appends), and a bare SHA-256 hash chain over the same records read back (for
verify: the least any tamper check must do). Also: one record per transaction (what a kernel's delivery or a CLI
command does), a checkpoint (verify + Ed25519), an inclusion and a consistency proof at full size, and the share of
``Store.append`` that looking for audit records takes on events that carry none. No timed assertions.

    python benchmarks/bench_audit.py [--quick] [--records N] [--postgres postgresql+psycopg://postgres@host/db]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import fresh, notebook_events, read_events

from nblineage.governance import audit
from nblineage.lineage import auditlog
from nblineage.lineage.events import canonical_json
from nblineage.lineage.merge import Sql
from nblineage.lineage.store import Store

TARGET_APPEND_PER_SECOND = 10_000
TARGET_VERIFY_SECONDS = 5.0
BATCH = 1_000
T = TypeVar("T")


def records(count: int) -> list[dict[str, object]]:
    """Audit records shaped like the kernel's: reads and policy decisions on versioned datasets (~300 bytes)."""
    return [
        {
            "time": f"2026-12-02T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
            "actor": f"user{n % 17}",
            "action": "policy.decision" if n % 3 else "read",
            "decision": "allow",
            "rule": "pii-readers",
            "datasets": [
                {"namespace": "file", "name": f"/data/project{n % 40}/raw_{n % 300}.csv", "version": f"{n:032x}"}
            ],
            "notebook": f"/home/user{n % 17}/analysis.ipynb",
            "cell": f"{n % 97:08x}",
            "run": f"00000000-0000-4000-8000-{n:012d}",
        }
        for n in range(count)
    ]


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def plain_insert(store: Store, texts: list[str]) -> None:
    """The append baseline: the same JSON into a table of (index, text), in batches, no hashing."""
    with store.write() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_plain (idx BIGINT PRIMARY KEY, record TEXT NOT NULL)"))
    for start in range(0, len(texts), BATCH):
        with store.write() as conn:
            Sql(conn).many(
                "INSERT INTO bench_plain (idx, record) VALUES (?, ?)",
                [(start + i, t) for i, t in enumerate(texts[start : start + BATCH])],
            )


def plain_insert_one(store: Store, texts: list[str], offset: int) -> None:
    for n, one in enumerate(texts):
        with store.write() as conn:
            Sql(conn).many("INSERT INTO bench_plain (idx, record) VALUES (?, ?)", [(offset + n, one)])


def hash_chain(store: Store) -> bytes:
    """The verify baseline: read every record back and chain SHA-256 over them."""
    head = b"\x00" * 32
    with store.read() as conn:
        for row in auditlog.rows(conn):
            head = hashlib.sha256(head + row.record.encode()).digest()
    return head


def row(label: str, seconds: float, count: int, baseline: float | None) -> str:
    rate = count / seconds if seconds else float("inf")
    ratio = f"{seconds / baseline:10.2f}x" if baseline else f"{'':>10} "
    return f"{label:<44}  {seconds:8.3f}  {rate:12,.0f}  {ratio}"


def measure(store: Store, backend: str, count: int, key: Path) -> dict[str, float]:
    batch = records(count)
    texts = [canonical_json(r) for r in batch]
    ones = min(1_000, count)
    results: dict[str, float] = {}
    print(f"\n{backend}: {count:,} records, {sum(map(len, texts)) / count:,.0f} bytes each on average")
    print(f"{'measure':<44}  {'seconds':>8}  {'records/s':>12}  {'vs baseline':>11}")
    base, _ = timed(lambda: plain_insert(store, texts))
    print(row(f"baseline: plain INSERT, {BATCH:,} a transaction", base, count, None))
    took, _ = timed(lambda: [audit.append(store, batch[s : s + BATCH]) for s in range(0, count, BATCH)])
    results["append"] = count / took
    print(row(f"audit.append, {BATCH:,} a transaction", took, count, base))
    one_base, _ = timed(lambda: plain_insert_one(store, texts[:ones], count))
    print(row("baseline: plain INSERT, 1 a transaction", one_base, ones, None))
    took, _ = timed(lambda: [audit.append(store, [r]) for r in batch[:ones]])
    print(row("audit.append, 1 a transaction", took, ones, one_base))
    size = count + ones
    chain, _ = timed(lambda: hash_chain(store))
    print(row("baseline: read + bare SHA-256 hash chain", chain, size, None))
    took, result = timed(lambda: audit.verify(store))
    assert result.ok and result.size == size, result
    results["verify"] = took
    print(row("audit.verify (leaf hashes, roots, head)", took, size, chain))
    took, note = timed(lambda: audit.checkpoint(store, key))
    print(row("audit.checkpoint (verify + Ed25519 sign)", took, size, chain))
    took, proof = min(timed(lambda: audit.inclusion_proof(store, size // 3)) for _ in range(3))
    print(row(f"inclusion proof at {size:,} ({len(proof)} hashes)", took, 1, None))
    took, proof = min(timed(lambda: audit.consistency_proof(store, size // 2)) for _ in range(3))
    print(row(f"consistency proof {size // 2:,} -> {size:,}", took, 1, None))
    took, checked = timed(lambda: audit.verify(store, note, key_path=key))
    assert checked.ok, checked
    print(row("audit.verify against a checkpoint", took, size, chain))
    return results


def ingest_share(url: str, backend: str, count: int) -> None:
    """What looking for audit records costs ``Store.append`` on events without audit facets (a sixth of the notebook
    cells save a model, so their COMPLETE events append ``model.saved`` records; the rest append nothing)."""
    events = list(read_events(notebook_events(count)))
    plain = [e for e in events if not auditlog.pending([e])]
    gc.collect()
    gc.freeze()  # as in bench_ingest: the fixtures stay out of the collector's scans (Store.append pauses it too)
    with fresh(url, "ingest") as store:
        took, _ = timed(lambda: store.append(plain))
        with store.read() as conn:
            appended = auditlog.head(conn)[0]
    scan = min(timed(lambda: auditlog.pending(plain))[0] for _ in range(5))  # the machine's noise left out
    with fresh(url, "ingest-all") as store:
        all_took, _ = timed(lambda: store.append(events))
        with store.read() as conn:
            saved = auditlog.head(conn)[0]
    print(
        f"\n{backend}: Store.append of {len(plain):,} notebook events without audit records: {took:.2f} s; looking for"
    )
    print(f"  audit records took {scan * 1000:.1f} ms of it ({scan / took * 100:.2f} %), appended {appended}")
    print(
        f"  with the {len(events) - len(plain):,} model-saving events too: {all_took:.2f} s for "
        f"{len(events):,} events, {saved:,} model.saved records appended"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 records (smoke run)")
    parser.add_argument("--records", type=int, help="number of records (default 100,000; 2,000 with --quick)")
    parser.add_argument("--postgres", metavar="URL", help="also measure PostgreSQL (fresh databases are created)")
    args = parser.parse_args(argv)
    count = args.records or (2_000 if args.quick else 100_000)
    backends = [("sqlite://", "SQLite")] + ([(args.postgres, "PostgreSQL")] if args.postgres else [])
    print(f"audit log benchmark: {count:,} records, Python {sys.version.split()[0]}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="nbl-bench-key-") as folder:
        os.environ["JUPYTER_CONFIG_DIR"] = folder  # never the user's own key
        key = Path(folder) / "bench.key"
        from nblineage.governance.note import generate

        key.write_text(generate("bench").skey)
        key.chmod(0o600)
        for url, backend in backends:
            with fresh(url, "audit") as store:
                results[backend] = measure(store, backend, count, key)
        for url, backend in backends:
            ingest_share(url, backend, 1_000 if args.quick else 10_000)
    sqlite = results["SQLite"]
    met = sqlite["append"] >= TARGET_APPEND_PER_SECOND and sqlite["verify"] <= TARGET_VERIFY_SECONDS * count / 100_000
    print(
        f"\ntarget: audit append >= {TARGET_APPEND_PER_SECOND:,} records/s and verify of 100,000 records <= "
        f"{TARGET_VERIFY_SECONDS:.0f} s on SQLite: {sqlite['append']:,.0f}/s, {sqlite['verify']:.2f} s for {count:,}, "
        f"{'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
