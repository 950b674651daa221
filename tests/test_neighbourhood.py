"""The neighbourhood answer (docs/graph.md) on real stores: exact nodes and edges, merging expansions, the node
limit, node details, and the JSON shape checked against the contract's own JSON Schema."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from cell_events import CUSTOMERS, EXPORT, MODEL, job, notebook_events
from events import dataset, run_event
from jsonschema import Draft202012Validator
from model_events import FEAT, M1, M2, NOTEBOOK, scenario

from nblineage.governance.answers import Answer
from nblineage.governance.neighbourhood import Neighbourhood, neighbourhood, node_details, node_id, node_ref
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef, JobRef, NotFound
from nblineage.lineage.store import Store

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "graph.md"
SCHEMA = json.loads(re.search(r"```json schema\n(.*?)```", CONTRACT.read_text(), re.DOTALL)[1])
CELL_CHAIN = ["read", "features", "split", "fit", "save"]


def ingest(store: Store, events: list[dict[str, Any]]) -> None:
    store.append([check(event) for event in events])


def valid(hood: Neighbourhood) -> dict[str, Any]:
    """The answer's JSON, checked against the contract's schema and its own invariants."""
    data = hood.to_json()
    assert data == Answer.to_json(hood)  # the written-out form says what the dataclasses hold
    Draft202012Validator(SCHEMA).validate(data)
    ids = [node["id"] for node in data["nodes"]]
    assert len(ids) == len(set(ids)) and data["center"] == ids[0]
    assert all(edge["source"] in ids and edge["target"] in ids for edge in data["edges"])
    return data


def nodes(hood: Neighbourhood) -> set[tuple]:
    return {
        (n.kind, n.label, n.version, n.depth, n.precision, n.hidden.upstream, n.hidden.downstream) for n in hood.nodes
    }


def edges(hood: Neighbourhood) -> set[tuple]:
    label = {n.id: n.label for n in hood.nodes}
    return {(label[e.source], label[e.target], e.precision) for e in hood.edges}


def chain(*labels: str, precision: str | None = "exact") -> set[tuple]:
    return {(source, target, precision) for source, target in pairwise(labels)}


@pytest.fixture
def notebook(store: Store) -> Store:
    """customers.csv -> read, features, split, fit, save (cells) -> churn.joblib -> export (Spark) -> churn.bin."""
    ingest(store, notebook_events())
    ingest(store, [run_event(("spark", "export"), [("file", MODEL, "m1")], [("s3://bucket", EXPORT, "b1")])])
    return store


def test_one_hop_each_way_around_the_model(notebook: Store) -> None:
    hood = neighbourhood(notebook, DatasetRef("file", MODEL))
    valid(hood)
    assert hood.nodes[0].label == "churn.joblib" and hood.depth == 1 and not hood.truncated
    assert nodes(hood) == {
        ("model", "churn.joblib", "m1", 0, None, 0, 0),
        ("dataset", "customers.csv", "c1", -1, None, 0, 0),
        *(("cell", cell, None, -1, "exact", 0, 0) for cell in CELL_CHAIN),
        ("job", "export", None, 1, None, 0, 0),
        ("dataset", "churn.bin", "b1", 1, None, 0, 0),
    }
    assert edges(hood) == chain("customers.csv", *CELL_CHAIN, "churn.joblib") | chain(
        "churn.joblib", "export", "churn.bin", precision=None
    )


def test_depth_two_reaches_further_and_depth_one_says_what_is_beyond(notebook: Store) -> None:
    exported = DatasetRef("s3://bucket", EXPORT)
    near = neighbourhood(notebook, exported, depth=1)
    assert nodes(near) == {
        ("dataset", "churn.bin", "b1", 0, None, 0, 0),
        ("job", "export", None, -1, None, 0, 0),
        ("model", "churn.joblib", "m1", -1, None, 1, 0),
    }
    far = neighbourhood(notebook, exported, depth=2)
    valid(far)
    assert nodes(far) == {
        ("dataset", "churn.bin", "b1", 0, None, 0, 0),
        ("job", "export", None, -1, None, 0, 0),
        ("model", "churn.joblib", "m1", -1, None, 0, 0),
        *(("cell", cell, None, -2, "exact", 0, 0) for cell in CELL_CHAIN),
        ("dataset", "customers.csv", "c1", -2, None, 0, 0),
    }
    assert edges(far) == chain("customers.csv", *CELL_CHAIN, "churn.joblib") | chain(
        "churn.joblib", "export", "churn.bin", precision=None
    )


def test_expanding_a_neighbour_merges_by_id(notebook: Store) -> None:
    first = neighbourhood(notebook, DatasetRef("s3://bucket", EXPORT))
    model = next(n for n in first.nodes if n.kind == "model")
    assert model.hidden.upstream == 1
    expanded = neighbourhood(notebook, first.ref_of(model.id))
    assert expanded.center == model.id
    shared = {n.id for n in first.nodes} & {n.id for n in expanded.nodes}
    assert shared == {n.id for n in first.nodes}  # every node of the first graph is in the second, by the same id
    merged_edges = {(e.source, e.target) for e in (*first.edges, *expanded.edges)}
    assert len(merged_edges) == len(expanded.edges)
    for found in expanded.nodes:
        assert node_ref(found.to_json()) == found.ref == expanded.ref_of(found.id)
        assert found.id == node_id(found.kind, found.namespace, found.name, found.version)
    with pytest.raises(KeyError):
        first.ref_of("no-such-id")


def test_a_cell_as_the_centre(notebook: Store) -> None:
    hood = neighbourhood(notebook, JobRef("jupyter", job("fit")))
    valid(hood)
    assert hood.nodes[0].label == "fit" and hood.nodes[0].depth == 0
    assert nodes(hood) == {
        ("cell", "fit", None, 0, "exact", 0, 0),
        *(("cell", cell, None, -1, "exact", 0, 0) for cell in ("read", "features", "split")),
        ("dataset", "customers.csv", "c1", -1, None, 0, 0),
        ("cell", "save", None, 1, "exact", 0, 0),
        ("model", "churn.joblib", "m1", 1, None, 0, 1),
    }
    assert edges(hood) == chain("customers.csv", *CELL_CHAIN, "churn.joblib")
    further = neighbourhood(notebook, JobRef("jupyter", job("fit")), depth=2)
    assert nodes(further) - nodes(hood) == {
        ("model", "churn.joblib", "m1", 1, None, 0, 0),
        ("job", "export", None, 2, None, 0, 0),
        ("dataset", "churn.bin", "b1", 2, None, 0, 0),
    }


def test_cell_precision_is_on_the_edges(store: Store) -> None:
    ingest(store, notebook_events(precision="cell"))
    hood = neighbourhood(store, DatasetRef("file", CUSTOMERS, "c1"))
    assert edges(hood) == chain("customers.csv", *CELL_CHAIN, "churn.joblib", precision="cell")
    assert {n.precision for n in hood.nodes if n.kind == "cell"} == {"cell"}


def test_a_read_nothing_derived_from_and_a_run_that_read_nothing(store: Store) -> None:
    ingest(
        store,
        [
            run_event(("spark", "profile"), [("s3://b", "raw", "r1")], []),
            run_event(("spark", "generate"), [], [("s3://b", "raw", "r1")]),
        ],
    )
    hood = neighbourhood(store, DatasetRef("s3://b", "raw"))
    assert nodes(hood) == {
        ("dataset", "raw", "r1", 0, None, 0, 0),
        ("job", "generate", None, -1, None, 0, 0),
        ("job", "profile", None, 1, None, 0, 0),
    }
    assert edges(hood) == {("generate", "raw", None), ("raw", "profile", None)}


def test_a_pipeline_that_names_no_version_is_upstream_of_the_version_a_notebook_read(store: Store) -> None:
    """An Airflow export writes the CSV without a version; a notebook reads a version of it and trains: the graph
    around the model reaches the export and the warehouse table, as ``upstream`` does (the link from the CSV's
    "version unknown" node to its version costs no depth)."""
    ingest(
        store,
        [
            run_event(("airflow", "export"), [("postgres://wh:5432", "crm.public.customers")], [("file", "/x.csv")]),
            run_event(
                ("jupyter", "nb#c1"), [("file", "/x.csv", "v1")], [("file", "/m.joblib", "m1")], models={"/m.joblib"}
            ),
        ],
    )
    hood = neighbourhood(store, DatasetRef("file", "/m.joblib"), depth=2)
    assert edges(hood) == {
        ("crm.public.customers", "export", None),
        ("export", "x.csv", None),
        ("x.csv", "c1", None),
        ("c1", "m.joblib", None),
    }
    shallow = neighbourhood(store, DatasetRef("file", "/m.joblib"), depth=1)
    assert ("dataset", "x.csv", "v1", -1, None, 1, 0) in nodes(shallow)  # the export is one more hop up


def test_the_node_limit_cuts_whole_hops_and_counts_what_is_hidden(store: Store) -> None:
    ingest(
        store,
        [run_event(("spark", f"job{i:02d}"), [("s3://b", "hub", "h")], [("s3://b", f"out{i:02d}")]) for i in range(30)],
    )
    full = neighbourhood(store, DatasetRef("s3://b", "hub"))
    assert len(full.nodes) == 61 and not full.truncated
    assert {(n.hidden.upstream, n.hidden.downstream) for n in full.nodes} == {(0, 0)}
    cut = neighbourhood(store, DatasetRef("s3://b", "hub"), limit=11)
    data = valid(cut)
    assert cut.truncated and len(cut.nodes) == 11
    assert (cut.nodes[0].hidden.upstream, cut.nodes[0].hidden.downstream) == (0, 25)
    jobs = {n.label for n in cut.nodes if n.kind == "job"}
    outputs = {n.label for n in cut.nodes if n.kind == "dataset"} - {"hub"}
    assert len(jobs) == 5 and {f"out{label[3:]}" for label in jobs} == outputs  # whole hops only
    assert len(data["edges"]) == 10
    assert {n.id for n in cut.nodes} <= {n.id for n in full.nodes}
    with pytest.raises(ValueError, match="limit"):
        neighbourhood(store, DatasetRef("s3://b", "hub"), limit=0)
    with pytest.raises(ValueError, match="depth"):
        neighbourhood(store, DatasetRef("s3://b", "hub"), depth=0)


def test_every_limit_gives_a_connected_graph_nearest_first(notebook: Store) -> None:
    ingest(
        notebook,
        [run_event(("spark", f"copy{i}"), [("s3://bucket", EXPORT, "b1")], [("s3://c", f"c{i}")]) for i in range(4)],
    )
    full = neighbourhood(notebook, DatasetRef("file", CUSTOMERS), depth=3)
    assert not full.truncated and len(full.nodes) == 17
    for limit in range(1, 18):
        hood = neighbourhood(notebook, DatasetRef("file", CUSTOMERS), depth=3, limit=limit)
        valid(hood)
        assert len(hood.nodes) <= limit and hood.truncated == (limit < 17)
        linked = {hood.center}
        for _ in hood.nodes:  # grow from the centre along edges, either way
            linked |= {e.target for e in hood.edges if e.source in linked} | {
                e.source for e in hood.edges if e.target in linked
            }
        assert linked == {n.id for n in hood.nodes}, limit
        assert max(abs(n.depth) for n in hood.nodes) <= max(abs(n.depth) for n in full.nodes)
        hidden = sum(n.hidden.upstream + n.hidden.downstream for n in hood.nodes)
        assert (hidden > 0) == (limit < 17), limit


def test_a_dataset_opens_on_its_newest_version(store: Store) -> None:
    for version, minute in (("v1", 1), ("v2", 2)):
        ingest(
            store, [run_event(("spark", "write"), [], [("s3://b", "t", version)], time=f"2026-01-01T00:0{minute}:00Z")]
        )
    assert neighbourhood(store, DatasetRef("s3://b", "t")).nodes[0].version == "v2"
    assert neighbourhood(store, DatasetRef("s3://b", "t", "v1")).nodes[0].version == "v1"
    with pytest.raises(NotFound):
        neighbourhood(store, DatasetRef("s3://b", "t", "v9"))
    with pytest.raises(NotFound):
        neighbourhood(store, JobRef("spark", "nothing"))


def test_hostile_names_are_data(store: Store) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    ingest(store, [run_event(("spark", f"{hostile}#\x1b[31m"), [("s3://b", hostile, "1")], [("s3://b", "ok", "2")])])
    hood = neighbourhood(store, DatasetRef("s3://b", hostile))
    data = valid(hood)
    assert data["nodes"][0]["name"] == hostile
    assert all(re.fullmatch(r"n[0-9a-f]+", node["id"]) for node in data["nodes"])
    assert {n.kind for n in hood.nodes} == {"dataset", "cell"}


# details


@pytest.fixture
def models(store: Store, tmp_path: Path):
    built = scenario(tmp_path)
    ingest(store, built.events)
    return built


def test_details_of_a_dataset(store: Store, models) -> None:
    details = node_details(store, DatasetRef("file", models.features))
    assert details["node"]["kind"] == "dataset" and details["node"]["version"] == FEAT
    assert details["node"]["hidden"]["downstream"] > 0
    assert [(v["version"], v["job"]) for v in details["versions"]] == [(FEAT, f"{NOTEBOOK}#c-prep")]
    assert details["versions"][0]["time"].endswith("Z")
    assert [(f["name"], f["type"]) for f in details["schema"]] == [
        ("age", "string"),
        ("income_log", "string"),
        ("city_code", "string"),
        ("churned", "string"),
    ]
    assert details["explain"] is None
    json.dumps(details)


def test_details_of_a_model_carry_the_five_answers(store: Store, models) -> None:
    details = node_details(store, DatasetRef("file", models.model))
    assert details["node"]["kind"] == "model" and details["node"]["version"] == M2
    assert [v["version"] for v in details["versions"]] == [M2, M1]
    answers = details["explain"]
    assert {"inputs", "performance", "resources", "location", "derivedModels"} <= answers.keys()
    assert answers["model"]["version"] == M2
    assert [d["version"] for d in answers["inputs"]["datasets"] if d["name"] == models.features] == [FEAT]
    json.dumps(details)


def test_details_read_a_malformed_or_nested_schema_safely(store: Store) -> None:
    fields = [1, {"name": 5}, {"name": "a", "type": 7}, "x", {"name": "s", "type": "struct", "fields": [{"name": "b"}]}]
    facets = {"schema": {"_producer": "t", "_schemaURL": "t", "fields": fields}}
    ingest(store, [run_event(("spark", "w"), [], [dataset(("s3://b", "t", "1"), facets=facets)])])
    details = node_details(store, DatasetRef("s3://b", "t"))
    assert details["schema"] == [
        {"name": "a", "type": None},
        {"name": "s", "type": "struct", "fields": [{"name": "b", "type": None}]},
    ]
    assert [(v["version"], v["job"], v["jobNamespace"]) for v in details["versions"]] == [("1", "w", "spark")]


def test_details_of_a_cell(store: Store, models) -> None:
    details = node_details(store, JobRef("jupyter", f"{NOTEBOOK}#c-train"))
    assert (
        details["node"]["kind"] == "cell"
        and details["node"]["label"] == "model = LogisticRegression(C=0.5).fit(X_train, y_train)"
    )
    assert details == {"node": details["node"], "versions": [], "schema": None, "explain": None}
