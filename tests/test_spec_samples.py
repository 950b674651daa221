"""Every sample of the OpenLineage specification ingests, validates, and keeps its facets as they came."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from graphdump import snapshot
from spec import event_errors, samples

from nblineage.lineage.events import check

RUN_ID = "0190d9a0-0000-7000-8000-000000000001"


def wrap(sample: Path) -> list[tuple[str, dict[str, Any]]]:
    """The sample as events: itself when it is an event, else its facets placed where their schema says."""
    facets = json.loads(sample.read_text())
    if sample.parent.name == "tests":
        return [("RunEvent", facets)]
    kind = sample.parent.name
    schema_url = json.dumps(facets)
    base: dict[str, Any] = {
        "eventTime": "2026-01-02T03:04:05.123456789+02:00",
        "eventType": "COMPLETE",
        "producer": "https://github.com/nblineage/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "spec", "name": f"sample.{kind}.{sample.stem}"},
        "inputs": [{"namespace": "spec", "name": "input"}],
        "outputs": [{"namespace": "spec", "name": f"output.{kind}.{sample.stem}"}],
    }
    if kind.endswith("RunFacet"):
        base["run"]["facets"] = facets
    elif kind.endswith("JobFacet") or "LineageJobFacet" in schema_url:
        base["job"]["facets"] = facets
    elif "InputDatasetFacet" in kind or "InputSubsetDatasetFacet" in schema_url:
        base["inputs"][0]["inputFacets"] = facets
    elif "OutputDatasetFacet" in kind or "OutputSubsetDatasetFacet" in schema_url:
        base["outputs"][0]["outputFacets"] = facets
    else:
        base["outputs"][0]["facets"] = facets
    events = [("RunEvent", base)]
    if "facets" in base["job"]:
        job_event = {key: copy.deepcopy(base[key]) for key in ("eventTime", "producer", "job", "inputs", "outputs")}
        job_event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
        events.append(("JobEvent", job_event))
    if "facets" in base["outputs"][0]:
        dataset_event = {key: base[key] for key in ("eventTime", "producer")}
        dataset_event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
        dataset_event["dataset"] = copy.deepcopy(base["outputs"][0])
        events.append(("DatasetEvent", dataset_event))
    return events


ALL = [(path, kind, event) for path in samples() for kind, event in wrap(path)]


def test_the_spec_has_samples() -> None:
    assert len(samples()) >= 40


@pytest.mark.parametrize(("path", "kind", "payload"), ALL, ids=[f"{p.parent.name}/{p.name}:{k}" for p, k, _ in ALL])
def test_sample_events_are_schema_valid(path: Path, kind: str, payload: dict[str, Any]) -> None:
    if path.name != "example_full_event.json":
        assert event_errors(payload, kind) == []
    assert check(payload).kind == kind


def test_every_sample_ingests_once(store) -> None:
    events = [check(payload) for _, _, payload in ALL]
    first = store.append(events)
    assert first.stored == len({event.hash for event in events})
    before = snapshot(store)
    again = store.append([check(json.loads(json.dumps(e.payload))) for e in events])
    assert again.stored == 0 and again.duplicates == len(events)
    assert snapshot(store) == before
    assert store.rebuild() == first.stored
    assert snapshot(store) == before


def test_facets_are_kept_as_they_came(store) -> None:
    events = [check(payload) for _, _, payload in ALL]
    store.append(events)
    with store.read() as conn:
        stored = {row[0]: json.loads(row[1]) for row in conn.exec_driver_sql("SELECT hash, payload FROM events")}
        facet_names = {row[0] for row in conn.exec_driver_sql("SELECT DISTINCT name FROM facets")}
    for event in events:
        assert stored[event.hash] == event.payload
    assert {"columnLineage", "lineage", "ownership", "schema", "parent", "jobType", "sql"} <= facet_names


def test_lineage_facet_samples_give_explicit_edges(store) -> None:
    lineage = [check(p) for path, _, p in ALL if path.parent.name in ("LineageFacet", "ColumnLineageDatasetFacet")]
    store.append(lineage)
    edges = snapshot(store)["edges"]
    sources = {(edge[0], edge[1]) for edge in edges if edge[9] in ("explicit", "declared")}
    assert ("postgresql://warehouse:5432", "public.customers") in sources
    assert ("SnowflakeOpenLineage", "CUSTOMERS") in sources
