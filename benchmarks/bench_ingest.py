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
import os
import random
import subprocess
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
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    sql_job,
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


# --- the platforms' events: Spark, Airflow and dbt, as their OpenLineage integrations send them -------------------

PLATFORMS = ("spark", "airflow", "dbt")


def _columns(rng: random.Random, low: int, high: int) -> list[str]:
    return [
        f"{rng.choice(('id', 'amount', 'ts', 'customer', 'region', 'sku', 'price', 'qty'))}_{i}"
        for i in range(rng.randint(low, high))
    ]


def _table(namespace: str, name: str, columns: list[str], rng: random.Random, source: str) -> dict[str, object]:
    """A table's dataset facets as the integrations send them: schema, dataSource, often a version."""
    facets: dict[str, object] = {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=c, type=rng.choice(COLUMN_TYPES)) for c in columns]
        ),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(name=source, uri=namespace),
    }
    if rng.random() < 0.5:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=str(rng.getrandbits(40)))
    return facets


def _column_lineage(
    columns: list[str], sources: list[tuple[str, str, list[str]]], rng: random.Random
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """Each output column from one to three columns of the inputs."""
    fields = {}
    for column in columns:
        picked = [(ns, name, rng.choice(cols)) for ns, name, cols in rng.sample(sources, min(len(sources), 2))]
        fields[column] = column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(
                    namespace=ns,
                    name=name,
                    field=col,
                    transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="TRANSFORMATION")],
                )
                for ns, name, col in picked
            ]
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


def platform_events(count: int, seed: int = 11) -> list[RunEvent]:
    """``count`` RunEvents of Spark applications, Airflow tasks and dbt models over a shared warehouse: START and
    COMPLETE of each run (Spark also RUNNING), a parent facet (the Airflow DAG run or dbt invocation), job type,
    SQL, nominal time and processing engine facets, inputs with schema and dataSource, outputs with columnLineage
    and outputStatistics, dbt tests as dataQualityAssertions."""
    rng = random.Random(seed)
    clock = datetime(2025, 3, 1, 6, 0, tzinfo=timezone.utc)
    warehouse = "postgres://warehouse.internal:5432"
    tables = {f"analytics.public.t{i:03d}": _columns(rng, 6, 24) for i in range(300)}
    names = list(tables)
    events: list[RunEvent] = []
    while len(events) < count:
        platform = rng.choice(PLATFORMS)
        parent_id = _uuid(rng)
        if platform == "spark":
            job_ns, job_name = "spark://cluster-7", f"etl_{rng.randrange(60)}.execute_insert_into_hadoop_fs_relation"
            engine = processing_engine_run.ProcessingEngineRunFacet(version="3.5.1", name="spark")
            states = (RunState.START, RunState.RUNNING, RunState.COMPLETE)
            job_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SPARK", jobType="SQL_JOB")
            parent_job = parent_run.Job(namespace="airflow://prod", name=f"spark_dag_{rng.randrange(20)}")
        elif platform == "airflow":
            dag = f"dag_{rng.randrange(40)}"
            job_ns, job_name = "airflow://prod", f"{dag}.task_{rng.randrange(12)}"
            engine = processing_engine_run.ProcessingEngineRunFacet(version="2.10.3", name="Airflow")
            states = (RunState.START, RunState.COMPLETE)
            job_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="AIRFLOW", jobType="TASK")
            parent_job = parent_run.Job(namespace="airflow://prod", name=dag)
        else:
            job_ns, job_name = "dbt", f"jaffle_shop.model.jaffle_shop.m{rng.randrange(120)}"
            engine = processing_engine_run.ProcessingEngineRunFacet(version="1.8.2", name="dbt")
            states = (RunState.START, RunState.COMPLETE)
            job_type = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DBT", jobType="MODEL")
            parent_job = parent_run.Job(namespace="dbt", name="dbt-run-jaffle_shop")
        reads = rng.sample(names, rng.randint(1, 4))
        written = rng.choice(names)
        inputs = [
            InputDataset(namespace=warehouse, name=name, facets=_table(warehouse, name, tables[name], rng, "warehouse"))
            for name in reads
        ]
        out_facets = _table(warehouse, written, tables[written], rng, "warehouse")
        out_facets["columnLineage"] = _column_lineage(tables[written], [(warehouse, n, tables[n]) for n in reads], rng)
        if platform == "dbt":
            out_facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=[
                    data_quality_assertions_dataset.Assertion(assertion=test, success=rng.random() > 0.05, column=c)
                    for test, c in (("not_null", tables[written][0]), ("unique", tables[written][1]))
                ]
            )
        output = OutputDataset(
            namespace=warehouse,
            name=written,
            facets=out_facets,
            outputFacets={
                "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=rng.randrange(10**7), size=rng.randrange(10**10)
                )
            },
        )
        query = f"INSERT INTO {written} SELECT {', '.join(tables[written])} FROM {' JOIN '.join(reads)}"
        job = Job(
            namespace=job_ns,
            name=job_name,
            facets={"jobType": job_type, "sql": sql_job.SQLJobFacet(query=query, dialect="postgres")},
        )
        run = Run(
            runId=_uuid(rng),
            facets={
                "parent": parent_run.ParentRunFacet(run=parent_run.Run(runId=parent_id), job=parent_job),
                "processing_engine": engine,
                "nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime=clock.isoformat()),
            },
        )
        for state in states:
            if len(events) < count:
                events.append(_event(state, clock, run, job, inputs, [output]))
            clock += timedelta(seconds=rng.uniform(1, 120))
    return events


def mixed_events(count: int) -> list[RunEvent]:
    """The realistic mix: half notebook events, half Spark, Airflow and dbt events, interleaved as several
    producers would send them."""
    notebooks, platforms = notebook_events(count - count // 2), platform_events(count // 2)
    mixed: list[RunEvent] = []
    while notebooks or platforms:
        for source in (notebooks, platforms):
            mixed.extend(source[:50])
            del source[:50]
    return mixed


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


def measure_append(url: str, backend: str, checked: list[Event], reps: int) -> tuple[Timing, float]:
    """``Store.append`` alone of events already checked, into a fresh store each time: the median of ``reps`` runs,
    and the CPU seconds of that run (this process: Python and SQLite; PostgreSQL's server work is not in it)."""
    runs = []
    for _ in range(reps):
        with fresh(url, "append") as store:
            gc.collect()
            cpu = time.process_time()
            timing, _ = timed(f"Store.append, checked events ({backend})", len(checked), lambda: store.append(checked))
            runs.append((timing.seconds, timing, time.process_time() - cpu))
    runs.sort(key=lambda run: run[0])
    _, timing, cpu = runs[len(runs) // 2]
    return timing, cpu


def measure_store(url: str, backend: str, events: list[RunEvent], lines: list[str]) -> list[Timing]:
    """Ingest of the JSON lines, an all-duplicates replay, and producer-to-store (with Serde) on one backend."""
    rows: list[Timing] = []
    with fresh(url, "lines") as store:
        timing, result = timed(
            f"nblineage ingest: loads+check+append ({backend})", len(lines), lambda: store.append(read_lines(lines))
        )
        rows.append(timing)
        print(f"  {backend}: stored {result.stored:,}, duplicates {result.duplicates:,}; {_counts(store)}")
        rows.append(
            timed(f"replay, all duplicates ({backend})", len(lines), lambda: store.append(read_lines(lines)))[0]
        )
    with fresh(url, "events") as store:
        rows.append(
            timed(
                f"producer to store: Serde+loads+check+append ({backend})",
                len(events),
                lambda: store.append(read_events(events)),
            )[0]
        )
    return rows


def compare_with(checkout: str, url: str, backend: str, lines_path: Path, reps: int) -> tuple[Timing, float]:
    """``measure_append`` run by the nblineage of another checkout (``PYTHONPATH``), on the same events."""
    command = [sys.executable, __file__, "--append-only", str(lines_path), "--url", url, "--reps", str(reps)]
    env = {**os.environ, "PYTHONPATH": checkout}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"--compare {checkout}: the benchmark failed there:\n{done.stderr}")
    seconds, events, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    label = f"Store.append, checked events ({backend}, {Path(checkout).name or checkout})"
    return Timing(label, seconds, events), cpu


def _append_only(lines_path: str, url: str, reps: int) -> int:
    """The child of ``compare_with``: time ``Store.append`` of the events in a JSON-lines file, print JSON."""
    checked = list(read_lines(Path(lines_path).read_text().splitlines()))
    gc.collect()
    gc.freeze()
    timing, cpu = measure_append(url, "", checked, reps)
    print(json.dumps([timing.seconds, timing.events, cpu]))
    return 0


@contextmanager
def fresh(url: str, suffix: str) -> Iterator[Store]:
    """A new, empty store: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with (
            tempfile.TemporaryDirectory(prefix="nbl-bench-") as folder,
            Store(f"sqlite:///{folder}/{suffix}.db") as store,
        ):
            yield store
        return
    name = f"{parsed.database or 'nblineage_bench'}_{suffix.replace('-', '_')}"
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
    parser.add_argument(
        "--mix", choices=("mixed", "notebook", "platform"), default="mixed", help="which events (default: mixed)"
    )
    parser.add_argument("--postgres", metavar="URL", help="also measure PostgreSQL (a fresh database is created)")
    parser.add_argument("--reps", type=int, help="Store.append runs, the median kept (default 3; 1 with --quick)")
    parser.add_argument(
        "--compare",
        metavar="DIR",
        action="append",
        default=[],
        help="also time Store.append with the nblineage of another checkout (its root), e.g. the commit before",
    )
    parser.add_argument("--append-only", metavar="JSONL", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="sqlite://", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    reps = args.reps or (1 if args.quick else 3)
    if args.append_only:
        return _append_only(args.append_only, args.url, reps)
    count = args.events or (1_000 if args.quick else 20_000)

    events = {"mixed": mixed_events, "notebook": notebook_events, "platform": platform_events}[args.mix](count)
    print(f"ingest benchmark: {len(events):,} RunEvents ({args.mix}), Python {sys.version.split()[0]}")
    serde, lines = timed("Serde.to_json (openlineage-python)", len(events), lambda: [Serde.to_json(e) for e in events])
    print(f"  {sum(map(len, lines)) / len(lines) / 1000:,.1f} KB per event on average")
    # The fixtures (event objects and their JSON) live for the whole run; keep them out of the collector's scans
    # so that no measurement pays for objects a real producer or reader would not hold.
    gc.collect()
    gc.freeze()

    backends = [("sqlite://", "SQLite")] + ([(args.postgres, "PostgreSQL")] if args.postgres else [])
    with tempfile.TemporaryDirectory(prefix="nbl-bench-") as folder:
        log = Path(folder) / "events.jsonl"
        baseline, _ = timed("baseline: FileTransport.emit, append", len(events), lambda: emit_to_file(events, log))
        print(f"  FileTransport wrote {log.stat().st_size / 1e6:,.1f} MB")
        same = Path(folder) / "lines.jsonl"
        same.write_text("".join(line + "\n" for line in lines))
        checking, checked = timed("json.loads + check", len(events), lambda: list(read_lines(lines)))
        rows = [baseline, serde, checking]
        cpu: dict[str, float] = {}
        for url, backend in backends:
            timing, cpu[timing.label] = measure_append(url, backend, checked, reps)
            rows.append(timing)
            for checkout in args.compare:
                timing, cpu[timing.label] = compare_with(checkout, url, backend, same, reps)
                rows.append(timing)
    del checked
    for url, backend in backends:
        rows += measure_store(url, backend, events, lines)
    print()
    print_table(rows, baseline)
    print()
    for label, seconds in cpu.items():
        print(f"{label}: {seconds:.2f} s of CPU in this process, {len(events) / seconds:,.0f} events per CPU second")
    print(f"load average (1, 5, 15 min): {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    appends = [row for row in rows if row.label.startswith("Store.append") and "SQLite" in row.label]
    if len(appends) > 1:
        for other in appends[1:]:
            print(f"speed-up of Store.append over {other.label}: {appends[0].rate / other.rate:.2f}x")
    rate = appends[0].rate
    verdict = "met" if rate >= TARGET_EVENTS_PER_SECOND else "NOT met"
    print(f"\ntarget: Store.append of checked events (the row {appends[0].label!r})")
    print(f"target: nblineage ingest >= {TARGET_EVENTS_PER_SECOND:,} events/s on SQLite: {rate:,.0f}/s, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
