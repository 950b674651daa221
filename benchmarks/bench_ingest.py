"""Ingest throughput: notebook-like OpenLineage RunEvents into the nblineage store.

Baseline, measured in the same run: openlineage-python's own ``FileTransport`` (append mode, one file) emitting the
same event objects. nblineage is measured the way a reader of that file would feed it: ``Serde.to_json`` ->
``json.loads`` -> ``check`` -> ``Store.append`` into a fresh store. No timed assertions: the target is printed.

    python benchmarks/bench_ingest.py [--quick] [--events N] [--postgres postgresql+psycopg://postgres@host/db]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    job_type_job,
    parent_run,
    schema_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.file import FileConfig, FileTransport
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nblineage.lineage.events import Event, check
from nblineage.lineage.store import Store

TARGET_EVENTS_PER_SECOND = 10_000
PRODUCER = "https://github.com/nblineage/nblineage/tree/main/benchmarks"
NAMESPACE = "jupyter"
COLUMN_TYPES = ("int64", "double", "string", "timestamp[us]", "bool")
T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    """One measured row: what, how long, and how many events."""

    label: str
    seconds: float
    events: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _version(rng: random.Random) -> str:
    """A content fingerprint like nblineage's (xxh3-128, hex)."""
    return f"{rng.getrandbits(128):032x}"


def _schema(rng: random.Random) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=f"col_{i}", type=rng.choice(COLUMN_TYPES))
            for i in range(rng.randint(4, 12))
        ]
    )


def _input(namespace: str, name: str, version: str, rng: random.Random) -> InputDataset:
    return InputDataset(
        namespace=namespace,
        name=name,
        facets={
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version),
            "schema": _schema(rng),
        },
    )


def notebook_events(count: int, seed: int = 7) -> list[RunEvent]:
    """``count`` RunEvents of notebook sessions: a session run, then START and COMPLETE per cell run.

    Each cell reads 1-3 dataset versions (raw data or earlier cells' outputs) and writes one output, a Parquet
    file or (one cell in six) an MLflow model with datasetType MODEL; both carry a version and a schema facet.
    """
    rng = random.Random(seed)
    clock = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
    job_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="JUPYTER", jobType="CELL")
    session_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="JUPYTER", jobType="NOTEBOOK")
    events: list[RunEvent] = []
    session = 0
    while len(events) < count:
        project = rng.randrange(40)
        notebook = f"/home/user{project % 7}/project{project:02d}/analysis_{session % 13:02d}.ipynb"
        session_run = _uuid(rng)
        session_job = Job(namespace=NAMESPACE, name=notebook, facets={"jobType": session_type})
        parent = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=session_run),
            job=parent_run.Job(namespace=NAMESPACE, name=notebook),
        )
        events.append(_event(RunState.START, clock, Run(runId=session_run), session_job, [], []))
        known = [
            (f"s3://raw-project{project:02d}", f"landing/source_{i}.parquet", _version(rng))
            for i in range(rng.randint(2, 5))
        ]
        for cell in range(rng.randint(8, 30)):
            if len(events) >= count:
                break
            cell_job = Job(
                namespace=NAMESPACE, name=f"{notebook}#{rng.getrandbits(32):08x}", facets={"jobType": job_type}
            )
            run = Run(runId=_uuid(rng), facets={"parent": parent})
            inputs = [
                _input(ns, name, version, rng)
                for ns, name, version in rng.sample(known, min(len(known), rng.randint(1, 3)))
            ]
            model = cell > 2 and rng.random() < 1 / 6
            if model:
                out_ns, out_name = "mlflow://mlflow.internal:5000", f"models:/m-{rng.getrandbits(64):016x}"
            else:
                out_ns, out_name = "file", f"/home/user{project % 7}/project{project:02d}/data/step_{cell:02d}.parquet"
            out_version = _version(rng)
            out_facets: dict[str, object] = {
                "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=out_version),
                "schema": _schema(rng),
            }
            if model:
                out_facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL")
            outputs = [OutputDataset(namespace=out_ns, name=out_name, facets=out_facets)]
            events.append(_event(RunState.START, clock, run, cell_job, inputs, outputs))
            clock += timedelta(seconds=rng.uniform(0.05, 40))
            events.append(_event(RunState.COMPLETE, clock, run, cell_job, inputs, outputs))
            known.append((out_ns, out_name, out_version))
        if len(events) < count:
            clock += timedelta(seconds=1)
            events.append(_event(RunState.COMPLETE, clock, Run(runId=session_run), session_job, [], []))
        clock += timedelta(minutes=rng.randint(1, 90))
        session += 1
    return events[:count]


def _event(
    state: RunState, when: datetime, run: Run, job: Job, inputs: list[InputDataset], outputs: list[OutputDataset]
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=when.isoformat(),
        run=run,
        job=job,
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def timed(label: str, events: int, action: Callable[[], T]) -> tuple[Timing, T]:
    """Run ``action`` once and time it with a monotonic clock."""
    start = time.perf_counter()
    result = action()
    return Timing(label, time.perf_counter() - start, events), result


def emit_to_file(events: list[RunEvent], path: Path) -> None:
    """The baseline: openlineage-python's FileTransport, appending every event to one file."""
    transport = FileTransport(FileConfig(log_file_path=str(path), append=True))
    for event in events:
        transport.emit(event)


def read_lines(lines: Iterable[str]) -> Iterator[Event]:
    """Each line of an OpenLineage JSON-lines file, parsed and checked."""
    for line in lines:
        yield check(json.loads(line))


def read_events(events: Iterable[RunEvent]) -> Iterator[Event]:
    """Each event serialised as the transport writes it, then read back and checked."""
    for event in events:
        yield check(json.loads(Serde.to_json(event)))


def measure_store(url: str, backend: str, events: list[RunEvent], lines: list[str]) -> list[Timing]:
    """Ingest of the JSON lines, an all-duplicates replay, and producer-to-store (with Serde) on one backend."""
    rows: list[Timing] = []
    with _fresh(url, "lines") as store:
        timing, result = timed(
            f"nblineage ingest: loads+check+append ({backend})", len(lines), lambda: store.append(read_lines(lines))
        )
        rows.append(timing)
        print(f"  {backend}: stored {result.stored:,}, duplicates {result.duplicates:,}; {_counts(store)}")
        rows.append(
            timed(f"replay, all duplicates ({backend})", len(lines), lambda: store.append(read_lines(lines)))[0]
        )
    with _fresh(url, "events") as store:
        rows.append(
            timed(
                f"producer to store: Serde+loads+check+append ({backend})",
                len(events),
                lambda: store.append(read_events(events)),
            )[0]
        )
    return rows


@contextmanager
def _fresh(url: str, suffix: str) -> Iterator[Store]:
    """A new, empty store: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with (
            tempfile.TemporaryDirectory(prefix="nbl-bench-") as folder,
            Store(f"sqlite:///{folder}/{suffix}.db") as store,
        ):
            yield store
        return
    name = parsed.database or "nblineage_bench"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                sys.exit(f"database {name!r} already exists; pick another name in --postgres (it is never dropped)")
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            with Store(parsed.set(database=name).render_as_string(hide_password=False)) as store:
                yield store
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _counts(store: Store) -> str:
    with store.read() as conn:
        parts = [
            f"{table} {conn.execute(text(f'SELECT COUNT(*) FROM {table}')).scalar_one():,}"
            for table in ("datasets", "dataset_versions", "runs", "edges")
        ]
    return ", ".join(parts)


def print_table(rows: list[Timing], baseline: Timing) -> None:
    """Absolute numbers and the ratio of each rate to the baseline's."""
    width = max(len(row.label) for row in rows)
    print(f"{'measure'.ljust(width)}  {'seconds':>8}  {'events/s':>10}  {'vs baseline':>11}")
    for row in rows:
        print(f"{row.label.ljust(width)}  {row.seconds:8.2f}  {row.rate:10,.0f}  {row.rate / baseline.rate:10.2f}x")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the events, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 events (smoke run)")
    parser.add_argument("--events", type=int, help="number of events (default 20,000; 1,000 with --quick)")
    parser.add_argument("--postgres", metavar="URL", help="also measure PostgreSQL (a fresh database is created)")
    args = parser.parse_args(argv)
    count = args.events or (1_000 if args.quick else 20_000)

    events = notebook_events(count)
    sessions = sum(1 for e in events if "#" not in e.job.name and e.eventType == RunState.START)
    print(
        f"ingest benchmark: {len(events):,} RunEvents, ~{sessions:,} notebook sessions, Python {sys.version.split()[0]}"
    )
    serde, lines = timed("Serde.to_json (openlineage-python)", len(events), lambda: [Serde.to_json(e) for e in events])
    # The fixtures (event objects and their JSON) live for the whole run; keep them out of the collector's scans
    # so that no measurement pays for objects a real producer or reader would not hold.
    gc.collect()
    gc.freeze()

    with tempfile.TemporaryDirectory(prefix="nbl-bench-") as folder:
        log = Path(folder) / "events.jsonl"
        baseline, _ = timed("baseline: FileTransport.emit, append", len(events), lambda: emit_to_file(events, log))
        print(f"  FileTransport wrote {log.stat().st_size / 1e6:,.1f} MB")
    rows = [baseline, serde]
    rows.append(timed("json.loads + check", len(events), lambda: sum(1 for _ in read_lines(lines)))[0])
    rows += measure_store("sqlite://", "SQLite", events, lines)
    if args.postgres:
        rows += measure_store(args.postgres, "PostgreSQL", events, lines)
    print()
    print_table(rows, baseline)
    rate = next(r.rate for r in rows if r.label.startswith("nblineage ingest") and "SQLite" in r.label)
    verdict = "met" if rate >= TARGET_EVENTS_PER_SECOND else "NOT met"
    print(f"\ntarget: nblineage ingest >= {TARGET_EVENTS_PER_SECOND:,} events/s on SQLite: {rate:,.0f}/s, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
