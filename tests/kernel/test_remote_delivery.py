"""A real kernel delivering through a real Jupyter server's OpenLineage endpoint (``NBLINEAGE_URL=http://...``)
while the server is stopped and started again: nothing lost, nothing twice, no heavy import, no token kept."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from driven_kernel import Kernel, clean_env
from serving import JupyterServer

from nblineage.lineage.store import Store

SESSIONS = "__import__('nblineage.kernel_ext').kernel_ext._sessions.values()"
FLUSHED = f"all(s.writer.flush(30) for s in {SESSIONS})"
NOT_FLUSHED = f"not any(s.writer.flush(3) for s in {SESSIONS})"
PROBLEM = f"[s.writer.problems.get('store') for s in {SESSIONS}][0]"
WAITING = f"sum(s.writer.waiting() for s in {SESSIONS})"
HEAVY = "sorted(name for name in __import__('sys').modules if name.startswith(('sqlalchemy', 'requests')))"


def events(store_url: str) -> list[dict]:
    with Store(store_url) as store, store.read() as conn:
        return [json.loads(row[0]) for row in conn.exec_driver_sql("SELECT payload FROM events")]


def test_a_kernel_delivers_through_the_server_across_a_restart(store_url: str, tmp_path: Path) -> None:
    data = tmp_path / "jupyter-data"
    server = JupyterServer(store_url, tmp_path).start()
    env = clean_env(
        NBLINEAGE_URL=server.url,
        NBLINEAGE_TOKEN=server.token,
        NBLINEAGE_NOTEBOOK=str(tmp_path / "remote.ipynb"),
        JUPYTER_DATA_DIR=str(data),
    )
    try:
        with Kernel(env, tmp_path) as kernel:
            assert kernel.run("%load_ext nblineage")["status"] == "ok"
            assert kernel.run("import pandas as pd\npd.DataFrame({'a': [1, 2]}).to_csv('a.csv')")["status"] == "ok"
            assert kernel.evaluate(FLUSHED) == "True"
            before = len(events(store_url))
            assert before >= 3  # the session's START, the cell's START and COMPLETE

            server.stop()
            assert kernel.run("frame = pd.read_csv('a.csv')")["status"] == "ok"
            assert kernel.run("frame.assign(b=frame.a * 2).to_csv('b.csv')")["status"] == "ok"
            assert kernel.evaluate(NOT_FLUSHED) == "True"
            assert "cannot be reached" in kernel.evaluate(PROBLEM)
            assert int(kernel.evaluate(WAITING)) >= 2
            assert len(events(store_url)) == before

            server.start()
            assert kernel.evaluate(FLUSHED) == "True"
            assert kernel.evaluate(PROBLEM) == "None"
            assert kernel.evaluate(HEAVY) == "[]"  # plain urllib: no SQLAlchemy, no requests in the kernel
        stored = events(store_url)
    finally:
        server.stop()
    runs = Counter((event["run"]["runId"], event.get("eventType")) for event in stored if "run" in event)
    assert runs and max(runs.values()) == 1  # each run's START and COMPLETE stored once
    cell_runs = {run for (run, kind) in runs if kind == "COMPLETE"} & {run for (run, kind) in runs if kind == "START"}
    assert len(cell_runs) >= 4  # the session, %load_ext's cell and the three cells, each started and completed
    names = {dataset["name"] for event in stored for dataset in event.get("outputs", [])}
    assert {str(tmp_path / "a.csv"), str(tmp_path / "b.csv")} <= names
    assert server.token not in json.dumps(stored)
    assert not list(data.rglob("*.jsonl")) and not list(data.rglob("dead-letter.ndjson"))
