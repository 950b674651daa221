"""Real kernels running real notebooks with nblineage loaded: runs, cells, failures, resources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notebooks import run_notebook
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
    run_notebook(notebook, ["x = sum(range(10**6))", "y = [0] * 10**7\nlen(y)"], kernel_env)
    recorded = events(store_url)
    session = [e for e in recorded if e["job"]["name"] == str(notebook)]
    assert [e["eventType"] for e in session] == ["START", "COMPLETE"]
    cells = [e for e in recorded if e["job"]["name"].startswith(f"{notebook}#") and e["eventType"] == "COMPLETE"]
    assert [e["job"]["name"].rsplit("#", 1)[1] for e in cells] == ["c1", "c2"]  # c0 loads nblineage
    second = cells[1]
    assert second["job"]["facets"]["sourceCode"]["sourceCode"] == "y = [0] * 10**7\nlen(y)"
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
