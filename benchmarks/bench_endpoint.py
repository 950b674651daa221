"""Events per second through the Jupyter server's OpenLineage endpoint into SQLite.

A real ``jupyter server`` (a subprocess, the nblineage extension on, a fresh SQLite store) receives the notebook-like
RunEvents of ``bench_ingest.py``: through the batch endpoint (``POST api/v1/lineage/batch``, 1,000 events a request,
plain urllib, as kernels deliver), and one event per POST through openlineage-python's stock ``HttpTransport`` (what
Spark, Airflow and dbt do). Baseline, in the same run: openlineage-python's ``FileTransport`` writing the same
events. No timed assertions: the target is printed.

    python benchmarks/bench_endpoint.py [--quick] [--events N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench_ingest import Timing, emit_to_file, notebook_events, print_table, timed
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport

TARGET_EVENTS_PER_SECOND = 10_000
BATCH = 1000


class Server:
    """``jupyter server`` with nblineage on a free port, its store a SQLite file in ``folder``."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.store = folder / "lineage.db"
        env = {**os.environ, "NBLINEAGE_URL": f"sqlite:///{self.store}"}
        command = [sys.executable, "-m", "jupyter_server", f"--port={self.port}", "--ip=127.0.0.1", "--no-browser"]
        command += ["--allow-root", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}"]
        command += [f"--ServerApp.root_dir={folder}", "--ServerApp.jpserver_extensions=nblineage=True"]
        command += ["--ServerApp.log_level=WARN"]
        self.log = (folder / "server.log").open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
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
        """The server process's CPU time so far (user + system; Linux's /proc), None where it cannot be read."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def through_batches(server: Server, lines: list[str]) -> int:
    stored = 0
    for start in range(0, len(lines), BATCH):
        answer = server.post(("[" + ",".join(lines[start : start + BATCH]) + "]").encode())
        assert not answer["failed"], answer["errors"][:3]
        stored += answer["stored"]
    return stored


def one_per_post(server: Server, events: list) -> int:
    config = {"url": server.url, "auth": {"type": "api_key", "apiKey": server.token}}
    transport = HttpTransport(HttpConfig.from_dict(config))
    for event in events:
        transport.emit(event)
    return len(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 events (smoke run)")
    parser.add_argument("--events", type=int, help="number of events (default 20,000; 1,000 with --quick)")
    args = parser.parse_args(argv)
    count = args.events or (1_000 if args.quick else 20_000)
    events = notebook_events(count)
    singles = notebook_events(max(100, count // 10), seed=11)  # one POST each is slow: fewer, other events
    lines = [Serde.to_json(event) for event in events]
    print(f"endpoint benchmark: {len(events):,} RunEvents in batches of {BATCH:,}, {len(singles):,} one per POST")
    with tempfile.TemporaryDirectory(prefix="nbl-bench-endpoint-") as folder:
        baseline, _ = timed(
            "baseline: FileTransport.emit, append", len(events), lambda: emit_to_file(events, Path(folder) / "ol.jsonl")
        )
        server = Server(Path(folder))
        try:
            cpu_before = server.cpu_seconds()
            batch, stored = timed(
                "batch endpoint, SQLite (Serde JSON, 1,000/POST)", len(lines), lambda: through_batches(server, lines)
            )
            cpu_after = server.cpu_seconds()
            single, _ = timed("one event per POST, HttpTransport", len(singles), lambda: one_per_post(server, singles))
        finally:
            server.stop()
    print(f"  stored {stored:,} of {len(lines):,}")
    rows: list[Timing] = [baseline, batch, single]
    print()
    print_table(rows, baseline)
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        seconds = cpu_after - cpu_before
        rate = f"{len(lines) / seconds:,.0f} events per CPU second, {seconds / len(lines) * 1e6:.0f} µs an event"
        print(f"\nbatch endpoint: the server used {seconds:.2f} s of CPU, {rate}")
    print(f"load average (1, 5, 15 min): {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"\nbatch endpoint vs one event per POST: {batch.rate / single.rate:.1f}x")
    verdict = "met" if batch.rate >= TARGET_EVENTS_PER_SECOND else "NOT met"
    rate = f"{batch.rate:,.0f}/s"
    print(f"target: batch endpoint >= {TARGET_EVENTS_PER_SECOND:,} events/s into SQLite: {rate}, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
