"""Events built as plain JSON (``kernel_ext/emit.py`` with ``lineage/facets.py``): the same events openlineage-python's
classes built from the same outbox records, valid against the official schemas, and the same graph once stored.

``emit_golden.jsonl`` holds outbox records of real kernel runs (the kernel tests) with the events openlineage-python
built from them before the change. Facets now name nblineage as their producer (openlineage-python named itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphdump import snapshot
from spec import event_errors, facet_errors

from nblineage.kernel_ext import delivery, emit
from nblineage.kernel_ext.capture import Output, Record
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.kernel_ext.records import CellResult, cell_line
from nblineage.lineage import facets
from nblineage.lineage.events import check
from nblineage.lineage.store import Store

GOLDEN = [json.loads(line) for line in (Path(__file__).parent / "emit_golden.jsonl").read_text().splitlines()]


def producer_is_ours(value: Any) -> Any:
    """An event as openlineage-python built it, with its facets' producer set to nblineage's."""
    if isinstance(value, dict):
        return {k: facets.PRODUCER if k == "_producer" else producer_is_ours(v) for k, v in value.items()}
    if isinstance(value, list):
        return [producer_is_ours(item) for item in value]
    return value


def rich_line() -> str:
    """A cell record with everything a cell can carry: inputs with schema, a model output, metrics, GPUs, an error,
    an MLflow snapshot."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    data = Source("file", "/data/train.csv", "a1" * 16)
    record = Record()
    check = {"assertion": "expect_column_mean_to_be_between", "success": False, "column": "age", "severity": "error"}
    quality = {"suite": "train", "success": False, "time": "2026-01-02T03:04:06Z", "rows": 10, "totalRows": 20}
    quality |= {"assertions": [check | {"expected": '{"min_value": 5}', "actual": "3.5"}], "blocking": True}
    record.add_input(data, {"schema": {"fields": [{"name": "age", "type": "int64"}]}, "quality": [quality]})
    model = {"framework": "sklearn", "class": "sklearn.linear_model.Ridge", "hyperParameters": {"alpha": 1.0}}
    model |= {"featureNames": ["age"], "fitId": "f1", "mlflowRunId": "r" * 32, "nSamples": 10, "tol": None}
    record.outputs.append(
        Output(Source("file", "/models/m.joblib", "b2" * 16), Provenance(frozenset({data})), {}, model)
    )
    record.metrics = [{"name": "r2_score", "value": 0.5, "split": "test", "fitId": "f1", "estimator": "Ridge"}]
    record.mlflow = [
        {
            "facet": {"runId": "r" * 32, "status": "FINISHED", "params": {"alpha": "1.0"}, "unknownField": 1},
            "models": [{"namespace": "mlflow:///srv/mlruns", "name": "models:/m-1", "version": "m-1"}],
        }
    ]
    # what the policy guard notes (kernel_ext/guard.py): owner and tags, and an audit record
    record.add_input(data, {"policy": {"owner": "team:crm", "tags": ["confidential"], "columns": {"age": ["pii"]}}})
    record.audit = [
        {"time": "2026-01-02T03:04:05.000Z", "actor": "alice", "action": "read", "datasets": [], "outputs": []}
    ]
    result = CellResult(
        run_id="0190a3d2-7c1e-7a3b-8f00-000000000001",
        cell_id="c1",
        execution_count=3,
        source="model = Ridge().fit(X, y)",
        started=when,
        ended=when,
        error="ValueError: bad",
        traceback="Traceback ...",
        wall_seconds=1.5,
        cpu_seconds=1.25,
        peak_memory=10**8,
        gpus=[{"name": "NVIDIA A100", "peakMemoryBytes": 10**9}],
        record=record,
    )
    return cell_line(result, "jupyter", "/nb/train.ipynb", "0190a3d2-7c1e-7a3b-8f00-000000000000")


def all_events() -> list[dict[str, Any]]:
    return [event for row in GOLDEN for event in delivery.events_of(row["line"])] + delivery.events_of(rich_line())


@pytest.mark.parametrize("row", GOLDEN, ids=lambda row: json.loads(row["line"])["kind"])
def test_the_events_openlineage_python_built(row: dict[str, Any]) -> None:
    assert delivery.events_of(row["line"]) == producer_is_ours(row["events"])


def test_every_event_and_facet_is_valid_against_the_spec() -> None:
    files = {name: schema.split("/")[1].split(".json")[0] for name, schema in facets.STANDARD.items()}
    checked = set()
    for event in all_events():
        kind = "DatasetEvent" if "dataset" in event else "RunEvent"
        assert event_errors(event, kind) == [], event
        holders = [event.get("run", {}), event.get("job", {}), event.get("dataset", {})]
        holders += event.get("inputs", []) + event.get("outputs", [])
        for holder in holders:
            for name, facet in (holder.get("facets", {}) | holder.get("inputFacets", {})).items():
                if name in files:
                    assert facet_errors({name: facet}, files[name]) == [], (name, facet)
                    checked.add(name)
                else:
                    assert facet["_schemaURL"].startswith(facets.FACETS_URL) and facet["_producer"] == facets.PRODUCER
    assert checked == set(files)  # every standard facet nblineage sends was checked


def test_the_rich_record_carries_every_facet() -> None:
    complete, mlflow = emit.events_of(json.loads(rich_line()))[1:]
    run = complete["run"]["facets"]
    assert run[facets.METRICS]["metrics"][0]["name"] == "r2_score"
    assert run[facets.RESOURCES]["gpus"] == [{"name": "NVIDIA A100", "peakMemoryBytes": 10**9}]
    assert run["errorMessage"]["message"] == "ValueError: bad"
    assert run[facets.AUDIT]["records"][0]["actor"] == "alice"
    data = complete["inputs"][0]["facets"]
    assert data["ownership"]["owners"] == [{"name": "team:crm", "type": "OWNER"}]
    assert {"key": "pii", "value": "true", "source": "nblineage-policy", "field": "age"} in data["tags"]["tags"]
    model = complete["outputs"][0]["facets"][facets.MODEL]
    assert model["mlflow"] == {"runId": "r" * 32} and model["details"] == {"nSamples": 10}  # nulls left out
    assert "unknownField" not in mlflow["dataset"]["facets"][facets.MLFLOW]


def test_the_graph_stored_is_the_same(tmp_path: Path) -> None:
    old = [producer_is_ours(event) for row in GOLDEN for event in row["events"]]
    new = [event for row in GOLDEN for event in delivery.events_of(row["line"])]
    with Store(f"sqlite:///{tmp_path / 'old.db'}") as first, Store(f"sqlite:///{tmp_path / 'new.db'}") as second:
        first.append(check(event) for event in old)
        second.append(check(event) for event in new)
        assert snapshot(first) == snapshot(second)
        assert first.event_count() == second.event_count() == len(new)


def test_building_events_imports_no_openlineage_python() -> None:
    probe = (
        "import sys, json\n"
        "from nblineage.kernel_ext import delivery\n"
        f"events = delivery.events_of({rich_line()!r})\n"
        "print(len(events), sorted(name for name in sys.modules if name.startswith(('openlineage', 'attr'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split(" ", 1) == ["3", "[]\n"]


def variants(line: str) -> list[str]:
    """A record as the kernel wrote it, and the same with what makes ``events.cleaned`` take its general way (nulls
    and empty objects in lists, left out; their look-alikes inside strings), huge numbers, and a credential (the
    event is redacted)."""
    record = json.loads(line)
    found = [record]
    if record["kind"] != "cell":
        return [json.dumps(item) for item in found]
    texts = "x = 'null' + '[{}' + ',{}'"
    found.append(record | {"source": texts, "executionCount": None})
    found.append(record | {"metrics": [{"name": "m", "value": None, "extra": [None, {}, [{}], {"a": None}]}]})
    found.append(record | {"metrics": [{"name": "m", "value": 2**70, "big": 1e300, "small": -0.0}]})
    found.append(record | {"source": "engine = create_engine('postgresql://alice:s3cret@db/prod')"})
    found.append(record | {"gpus": [{}, None, {"name": None}]})
    return [json.dumps(item) for item in found]


def checked_both_ways(line: str) -> tuple[Any, Any]:
    """The checked events of an outbox line as delivery makes them, and as ``check`` of ``events_of`` makes them."""

    def fields(make: Any) -> Any:
        try:
            return [(e.payload, e.kind, e.time, e.hash, e.text) for e in make()]
        except Exception as error:
            return type(error).__name__, str(error)

    new = fields(lambda: delivery.checked_events(orjson.loads(line)))
    old = fields(lambda: [check(event) for event in delivery.events_of(line)])
    return new, old


def test_delivery_checks_the_same_events_it_serialises_once() -> None:
    lines = [row["line"] for row in GOLDEN] + [rich_line()]
    checked = 0
    for line in lines:
        for variant in variants(line):
            new, old = checked_both_ways(variant)
            assert new == old, variant
            checked += len(new) if isinstance(new, list) else 0
    assert checked > 100


def test_an_event_without_nulls_keeps_its_canonical_text() -> None:
    from nblineage.lineage.events import canonical_json, cleaned

    for event in all_events():
        kept, text = cleaned(event)
        assert kept is event and text is not None and text.decode() == canonical_json(event)
    with_null = {"a": None, "b": [None, {}, 1], "c": {}}
    assert cleaned(with_null) == ({"b": [1], "c": {}}, None)
