"""Real kernels running real notebooks with nblineage loaded: runs, cells, failures, resources."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from notebooks import run_notebook, start_kernel
from sqlalchemy import text

from nblineage.lineage.store import Store


@pytest.fixture
def kernel_env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}


def events(store_url: str) -> list[dict]:
    with Store(store_url) as store, store.read() as conn:
        return [json.loads(row[0]) for row in conn.execute(text("SELECT payload FROM events ORDER BY event_time, id"))]


def test_cell_runs_are_recorded_with_parent_source_and_resources(
    tmp_path: Path, kernel_env: dict, store_url: str
) -> None:
    notebook = tmp_path / "analysis.ipynb"
    second_cell = "import time\ny = [0] * 10**7\ntime.sleep(0.2)  # peak memory is read for cells of 50 ms or more"
    run_notebook(notebook, ["x = sum(range(10**6))", second_cell], kernel_env)
    recorded = events(store_url)
    session = [e for e in recorded if e["job"]["name"] == str(notebook)]
    assert [e["eventType"] for e in session] == ["START", "COMPLETE"]
    cells = [e for e in recorded if e["job"]["name"].startswith(f"{notebook}#") and e["eventType"] == "COMPLETE"]
    assert [e["job"]["name"].rsplit("#", 1)[1] for e in cells] == ["c1", "c2"]  # c0 loads nblineage
    second = cells[1]
    assert second["job"]["facets"]["sourceCode"]["sourceCode"] == second_cell
    assert second["run"]["facets"]["parent"]["run"]["runId"] == session[0]["run"]["runId"]
    resources = second["run"]["facets"]["nblineage_resources"]
    assert resources["wallTimeSeconds"] > 0 and resources["cpuTimeSeconds"] > 0
    assert resources["peakMemoryBytes"] > 80 * 10**6  # a list of 10**7 pointers
    assert second["run"]["facets"]["nblineage_cell"]["executionCount"] == 3


def test_a_failing_cell_records_fail_and_the_traceback_is_unchanged(
    tmp_path: Path, kernel_env: dict, store_url: str
) -> None:
    notebook = tmp_path / "broken.ipynb"
    executed = run_notebook(notebook, ["1 / 0", "z = 1"], kernel_env, allow_errors=True)
    error = executed.cells[1].outputs[0]
    assert error["ename"] == "ZeroDivisionError"
    assert not any("nblineage" in line for line in error["traceback"])
    failed = [e for e in events(store_url) if e["eventType"] == "FAIL"]
    assert len(failed) == 1 and failed[0]["job"]["name"] == f"{notebook}#c1"
    assert failed[0]["run"]["facets"]["errorMessage"]["message"] == "ZeroDivisionError: division by zero"


def test_enable_disable_and_the_disabled_switch(tmp_path: Path, kernel_env: dict, store_url: str, monkeypatch) -> None:
    from nblineage.cli import main

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    kernel_env = kernel_env | {"IPYTHONDIR": str(tmp_path / "ipython")}
    assert main(["enable", "--user"]) == 0
    run_notebook(tmp_path / "on.ipynb", ["a = 1"], kernel_env, load=False)
    run_notebook(tmp_path / "off.ipynb", ["a = 1"], kernel_env | {"NBLINEAGE_DISABLED": "1"}, load=False)
    assert main(["disable", "--user"]) == 0
    run_notebook(tmp_path / "gone.ipynb", ["a = 1"], kernel_env, load=False)
    names = {e["job"]["name"] for e in events(store_url)}
    assert f"{tmp_path / 'on.ipynb'}#c0" in names
    assert not any("off.ipynb" in name or "gone.ipynb" in name for name in names)


def test_store_down_then_up_loses_nothing(tmp_path: Path) -> None:
    from postgres_db import POSTGRES_ADMIN_URL
    from sqlalchemy import create_engine

    name = f"nbl_down_{uuid.uuid4().hex[:12]}"  # unique: other runs of this test may share the server
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "first.ipynb", ["a = 1", "b = 2"], env)  # the database does not exist yet
    outbox = list((tmp_path / "jupyter").rglob("*.jsonl"))
    assert outbox and sum(len(p.read_text().splitlines()) for p in outbox) == 4  # session start and end, 2 cells
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run_notebook(tmp_path / "second.ipynb", ["c = 3"], env)
        recorded = events(url)
        first = [e for e in recorded if "first.ipynb" in e["job"]["name"]]
        assert len(first) == 6 and len({json.dumps(e, sort_keys=True) for e in first}) == 6
        assert len([e for e in recorded if "second.ipynb" in e["job"]["name"]]) == 4
        assert not list((tmp_path / "jupyter").rglob("*.jsonl"))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_killed_kernel_loses_nothing(tmp_path: Path, kernel_env: dict, store_url: str) -> None:
    import os
    import signal

    killed = tmp_path / "killed.ipynb"
    manager, client = start_kernel({**os.environ, **kernel_env, "NBLINEAGE_NOTEBOOK": str(killed)})
    try:
        for code in ("%load_ext nblineage", "a = 1", "b = 2"):
            reply = client.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        os.kill(manager.provisioner.process.pid, signal.SIGKILL)  # no atexit, no flush
        manager.shutdown_kernel(now=True)
    run_notebook(tmp_path / "next.ipynb", ["c = 3"], kernel_env)  # the next kernel replays what was left
    recorded = [e for e in events(store_url) if e["job"]["name"].startswith(str(killed))]
    assert sorted(e["eventType"] for e in recorded) == ["COMPLETE", "COMPLETE", "START", "START", "START"]
    assert len({e["run"]["runId"] + e["eventType"] for e in recorded}) == 5
    assert not list((tmp_path / "jupyter").rglob("*.jsonl"))


def test_events_also_go_to_a_configured_openlineage_transport(tmp_path: Path, kernel_env: dict, store_url: str) -> None:
    sent = tmp_path / "openlineage.jsonl"
    transport = {
        "OPENLINEAGE__TRANSPORT__TYPE": "file",
        "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(sent),
        "OPENLINEAGE__TRANSPORT__APPEND": "true",
    }
    run_notebook(tmp_path / "sent.ipynb", ["a = 1"], kernel_env | transport)
    lines = [json.loads(line) for line in sent.read_text().splitlines() if line.strip()]
    stored = events(store_url)
    assert len(lines) == len(stored) == 4
    assert {(e["job"]["name"], e["eventType"]) for e in lines} == {(e["job"]["name"], e["eventType"]) for e in stored}


def test_loading_imports_no_heavy_library(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'nblineage')\n"
        "heavy = ['pandas', 'pyarrow', 'sklearn', 'torch', 'mlflow', 'great_expectations', 'duckdb', 'polars']\n"
        "print(','.join(name for name in heavy if name in sys.modules))\n"
    )
    env = {"NBLINEAGE_URL": f"sqlite:///{tmp_path / 'x.db'}", "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    import os

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    assert done.stdout.strip() == ""
