"""Events per second through the Jupyter server's OpenLineage endpoint into SQLite.

A real ``jupyter server`` (a subprocess, the nblineage extension on, a fresh SQLite store) receives the notebook-like
RunEvents of ``bench_ingest.py``: through the batch endpoint (``POST api/v1/lineage/batch``, 1,000 events a request,
plain urllib, as kernels deliver), and one event per POST through openlineage-python's stock ``HttpTransport`` (what
Spark, Airflow and dbt do). Baseline, in the same run: openlineage-python's ``FileTransport`` writing the same
events. No timed assertions: the target is printed.

``--compare CHECKOUT`` adds interleaved pairs (``--pairs``, default 4): a server running this checkout's nblineage and
one running CHECKOUT's (``PYTHONPATH``), alternately first, each warmed by 2,000 events and then timed on the same
batches: the medians and ranges of events per wall second and of the server's CPU per event, and the load average.
Each server runs in its own temporary folder: ``python -m`` puts the working directory first on ``sys.path``, so a
server started in a checkout would run that checkout's nblineage whatever ``PYTHONPATH`` says.

    python benchmarks/bench_endpoint.py [--quick] [--events N] [--compare CHECKOUT [--pairs N]]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from bench_ingest import Timing, emit_to_file, notebook_events, print_table, timed
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport

TARGET_EVENTS_PER_SECOND = 10_000
BATCH = 1000
SENDERS = 4  # producers posting at once in the target row (kernels, Spark applications, Airflow workers)


class Server:
    """``jupyter server`` with nblineage on a free port, its store a SQLite file in ``folder``."""

    def __init__(self, folder: Path, checkout: str | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.store = folder / "lineage.db"
        env = {**os.environ, "NBLINEAGE_URL": f"sqlite:///{self.store}"}
        if checkout is not None:  # another checkout's nblineage in the server
            env["PYTHONPATH"] = checkout
        command = [sys.executable, "-m", "jupyter_server", f"--port={self.port}", "--ip=127.0.0.1", "--no-browser"]
        command += ["--allow-root", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}"]
        command += [f"--ServerApp.root_dir={folder}", "--ServerApp.jpserver_extensions=nblineage=True"]
        command += ["--ServerApp.log_level=WARN"]
        self.log = (folder / "server.log").open("wb")
        # cwd: the folder, not this checkout (``python -m`` puts the working directory first on sys.path)
        self.process = subprocess.Popen(command, env=env, cwd=folder, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.post(b"[]")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError("the Jupyter server did not start")

    def post(self, body: bytes) -> dict:
        request = urllib.request.Request(
            self.url + "api/v1/lineage/batch",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def cpu_seconds(self) -> float | None:
        """The CPU time (user + system) of the server and its ingest processes so far, None where it cannot be
        read. Ingest processes stay up once started, so the difference of two readings is what they spent."""
        try:
            server = psutil.Process(self.process.pid)
            processes = [server, *server.children(recursive=True)]
            return sum(sum(process.cpu_times()[:2]) for process in processes)
        except psutil.Error:
            return None

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def batch_bodies(lines: list[str]) -> list[bytes]:
    """The request bodies of ``lines``: JSON arrays of ``BATCH`` events."""
    return [("[" + ",".join(lines[start : start + BATCH]) + "]").encode() for start in range(0, len(lines), BATCH)]


def through_batches(server: Server, bodies: list[bytes], senders: int = 1) -> int:
    """POST every body, ``senders`` requests at a time (each sender waits for its answer before the next); the
    number of events stored."""
    with ThreadPoolExecutor(senders) as pool:
        answers = list(pool.map(server.post, bodies))
    for answer in answers:
        assert not answer["failed"], answer["errors"][:3]
    return sum(answer["stored"] for answer in answers)


def one_per_post(server: Server, events: list) -> int:
    config = {"url": server.url, "auth": {"type": "api_key", "apiKey": server.token}}
    transport = HttpTransport(HttpConfig.from_dict(config))
    for event in events:
        transport.emit(event)
    return len(events)


WARM = 2000  # events each server of a --compare pair stores before it is timed (imports, store opened, caches)


def one_server(
    checkout: str | None, warm: list[bytes], bodies: list[bytes], senders: int = 1
) -> tuple[float, float | None]:
    """Events per wall second and CPU µs per event (the server and its ingest processes) of one server, this
    checkout's or ``checkout``'s, warmed first (imports, ingest processes started, store opened), then fed
    ``bodies``, ``senders`` at a time."""
    events = BATCH * len(bodies)
    with tempfile.TemporaryDirectory(prefix="nbl-bench-endpoint-") as folder:
        server = Server(Path(folder), checkout)
        try:
            through_batches(server, warm, senders)
            cpu_before, start = server.cpu_seconds(), time.perf_counter()
            stored = through_batches(server, bodies, senders)
            seconds, cpu_after = time.perf_counter() - start, server.cpu_seconds()
        finally:
            server.stop()
    if stored != events:
        raise RuntimeError(f"the server stored {stored:,} of {events:,} events")
    cpu = (cpu_after - cpu_before) / events * 1e6 if cpu_before is not None and cpu_after is not None else None
    return events / seconds, cpu


def compare(checkout: str, lines: list[str], pairs: int) -> None:
    """Interleaved pairs of servers, this checkout's and ``checkout``'s, alternately first; medians and ranges."""
    warm, timed_lines = batch_bodies(lines[:WARM]), batch_bodies(lines[WARM:])
    here = str(Path(__file__).resolve().parent.parent)
    checkouts = (here, checkout)
    results: tuple[list[tuple[float, float | None]], ...] = ([], [])
    loads = []
    for pair in range(pairs):
        for which in (0, 1) if pair % 2 == 0 else (1, 0):
            results[which].append(one_server(checkouts[which], warm, timed_lines))
        loads.append(os.getloadavg()[0])
    print(f"\n--compare: {pairs} interleaved pairs, {len(lines) - WARM:,} events each after {WARM:,} to warm up")
    print(f"{'checkout':<40} {'events/s (wall)':>24} {'server CPU µs/event':>24}")
    medians = []
    for which, rows in zip(checkouts, results, strict=True):
        rates, cpus = [rate for rate, _ in rows], [cpu for _, cpu in rows if cpu is not None]
        medians.append((statistics.median(rates), statistics.median(cpus) if cpus else None))
        rate = f"{medians[-1][0]:,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
        cpu = f"{medians[-1][1]:.0f} ({min(cpus):.0f}-{max(cpus):.0f})" if cpus else "n/a"
        print(f"{which[-40:]:<40} {rate:>24} {cpu:>24}")
    (rate_here, cpu_here), (rate_there, cpu_there) = medians
    line = f"this checkout vs {checkout}: {rate_here / rate_there:.2f}x events per wall second"
    if cpu_here and cpu_there:
        per_cpu = f"{1e6 / cpu_here:,.0f} vs {1e6 / cpu_there:,.0f}"
        line += f", {cpu_there / cpu_here:.2f}x events per server CPU second ({per_cpu})"
    print(line)
    print(f"load average (1 min) after each pair: {', '.join(f'{value:.2f}' for value in loads)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 events (smoke run)")
    parser.add_argument("--events", type=int, help="number of events (default 20,000; 1,000 with --quick)")
    parser.add_argument("--compare", metavar="CHECKOUT", help="interleaved pairs against another checkout's nblineage")
    parser.add_argument("--pairs", type=int, default=4, help="--compare: pairs of servers (default 4)")
    parser.add_argument(
        "--senders", type=int, default=SENDERS, help=f"requests at once in the target row (default {SENDERS})"
    )
    args = parser.parse_args(argv)
    count = args.events or (1_000 if args.quick else 20_000)
    if args.compare:
        lines = [Serde.to_json(event) for event in notebook_events(count + WARM)]
        compare(str(Path(args.compare).resolve()), lines, args.pairs)
        return 0
    events = notebook_events(count)
    singles = notebook_events(max(100, count // 10), seed=11)  # one POST each is slow: fewer, other events
    bodies = batch_bodies([Serde.to_json(event) for event in events])
    warm = batch_bodies([Serde.to_json(event) for event in notebook_events(WARM, seed=13)])  # not the timed ones
    senders = args.senders
    print(f"endpoint benchmark: {len(events):,} RunEvents in batches of {BATCH:,}, {len(singles):,} one per POST")
    with tempfile.TemporaryDirectory(prefix="nbl-bench-endpoint-") as folder:
        baseline, _ = timed(
            "baseline: FileTransport.emit, append", len(events), lambda: emit_to_file(events, Path(folder) / "ol.jsonl")
        )
    rows: list[Timing] = [baseline]
    cpu: dict[str, float | None] = {}
    for count_senders in (1, senders):
        label = f"batch endpoint, {count_senders} sender{'s at once' if count_senders > 1 else ''}"
        rate, cpu[label] = one_server(None, warm, bodies, count_senders)
        rows.append(Timing(label, len(events) / rate, len(events)))
        print(f"  {label}: stored {len(events):,} of {len(events):,}")
    with tempfile.TemporaryDirectory(prefix="nbl-bench-endpoint-") as folder:
        server = Server(Path(folder))
        try:
            single, _ = timed("one event per POST, HttpTransport", len(singles), lambda: one_per_post(server, singles))
        finally:
            server.stop()
    rows.append(single)
    print()
    print_table(rows, baseline)
    print()
    for label, micros in cpu.items():
        if micros is not None:
            print(
                f"{label}: {1e6 / micros:,.0f} events per CPU second of the server and its ingest processes, "
                f"{micros:.0f} µs an event"
            )
    print(f"load average (1, 5, 15 min): {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    batch = rows[2]
    print(f"\nbatch endpoint vs one event per POST: {batch.rate / single.rate:.1f}x")
    verdict = "met" if batch.rate >= TARGET_EVENTS_PER_SECOND else "NOT met"
    rate = f"{batch.rate:,.0f}/s"
    print(
        f"target: batch endpoint >= {TARGET_EVENTS_PER_SECOND:,} events/s into SQLite, {senders} senders at once: "
        f"{rate}, {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
