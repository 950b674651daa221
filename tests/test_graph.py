"""Graph queries on hand-built graphs whose answers are known."""

from __future__ import annotations

import pytest
from events import run_event
from graphdump import snapshot

from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef, JobRef, Node, NotFound, downstream, models_from, path, upstream
from nblineage.lineage.store import Store

RAW, FEATURES, MODEL, OTHER = "/d/raw.csv", "/d/features.parquet", "/d/model.joblib", "/d/lookup.csv"
PREP, TRAIN = ("jupyter", "prep.ipynb#c1"), ("jupyter", "train.ipynb#c2")
SESSION_RUN = "11111111-1111-4111-8111-111111111111"


def ingest(store: Store, *events: dict) -> None:
    store.append([check(event) for event in events])


def keys(nodes: list[Node]) -> set[tuple]:
    return {(n.type, n.name, n.version, n.depth) for n in nodes}


@pytest.fixture
def notebook(store: Store) -> Store:
    """raw.csv (v1, then v2) -> features.parquet -> model.joblib, one model per raw version."""
    for raw, feats, model, minute in (("r1", "f1", "m1", 1), ("r2", "f2", "m2", 2)):
        ingest(
            store,
            run_event(
                PREP,
                [("file", RAW, raw), ("file", OTHER, "l1")],
                [{"namespace": "file", "name": FEATURES, "facets": _lineage_from(RAW) | _version(feats)}],
                time=f"2026-01-01T00:0{minute}:00Z",
                parent=(SESSION_RUN, ("jupyter", "prep.ipynb")),
            ),
            run_event(
                TRAIN,
                [("file", FEATURES, feats)],
                [("file", MODEL, model)],
                models={MODEL},
                time=f"2026-01-01T00:0{minute}:30Z",
            ),
        )
    return store


def _version(version: str) -> dict:
    return {"version": {"_producer": "t", "_schemaURL": "t", "datasetVersion": version}}


def _lineage_from(*names: str) -> dict:
    return {
        "columnLineage": {
            "_producer": "t",
            "_schemaURL": "t",
            "fields": {"x": {"inputFields": [{"namespace": "file", "name": n, "field": "x"} for n in names]}},
        }
    }


def test_models_from_any_version(notebook: Store) -> None:
    assert keys(models_from(notebook, DatasetRef("file", RAW))) == {
        ("model", MODEL, "m1", 2),
        ("model", MODEL, "m2", 2),
    }


def test_models_from_one_version(notebook: Store) -> None:
    assert keys(models_from(notebook, DatasetRef("file", RAW, "r1"))) == {("model", MODEL, "m1", 2)}
    assert keys(models_from(notebook, DatasetRef("file", RAW, "r2"))) == {("model", MODEL, "m2", 2)}


def test_a_dataset_read_but_not_used_is_not_upstream(notebook: Store) -> None:
    names = {n.name for n in upstream(notebook, DatasetRef("file", MODEL))}
    assert RAW in names and OTHER not in names
    assert models_from(notebook, DatasetRef("file", OTHER)) == []


def test_upstream_of_a_model_version(notebook: Store) -> None:
    assert keys(upstream(notebook, DatasetRef("file", MODEL, "m1"))) == {
        ("job", TRAIN[1], None, 1),
        ("dataset", FEATURES, "f1", 1),
        ("job", PREP[1], None, 2),
        ("dataset", RAW, "r1", 2),
    }


def test_depth_limit(notebook: Store) -> None:
    assert keys(upstream(notebook, DatasetRef("file", MODEL, "m1"), depth=1)) == {
        ("job", TRAIN[1], None, 1),
        ("dataset", FEATURES, "f1", 1),
    }
    with pytest.raises(ValueError, match="depth"):
        upstream(notebook, DatasetRef("file", MODEL), depth=0)


def test_downstream_of_a_job(notebook: Store) -> None:
    assert keys(downstream(notebook, JobRef(*PREP))) == {
        ("dataset", FEATURES, "f1", 1),
        ("dataset", FEATURES, "f2", 1),
        ("job", TRAIN[1], None, 2),
        ("model", MODEL, "m1", 2),
        ("model", MODEL, "m2", 2),
    }


def test_upstream_of_a_job(notebook: Store) -> None:
    assert {(n.type, n.name) for n in upstream(notebook, JobRef(*TRAIN))} == {
        ("dataset", FEATURES),
        ("dataset", RAW),
        ("job", PREP[1]),
    }


def test_path_runs_in_flow_order_whichever_end_comes_first(notebook: Store) -> None:
    expected = [
        ("dataset", RAW, "r2"),
        ("job", PREP[1], None),
        ("dataset", FEATURES, "f2"),
        ("job", TRAIN[1], None),
        ("model", MODEL, "m2"),
    ]
    forward = path(notebook, DatasetRef("file", RAW, "r2"), DatasetRef("file", MODEL))
    backward = path(notebook, DatasetRef("file", MODEL), DatasetRef("file", RAW, "r2"))
    assert [(n.type, n.name, n.version) for n in forward] == expected
    assert forward == backward
    assert [n.depth for n in forward] == list(range(5))


def test_no_path(notebook: Store) -> None:
    assert path(notebook, DatasetRef("file", OTHER), DatasetRef("file", MODEL)) == []
    assert path(notebook, DatasetRef("file", RAW, "r1"), DatasetRef("file", MODEL, "m2")) == []


def test_unknown_names_say_what_is_missing(notebook: Store) -> None:
    with pytest.raises(NotFound, match="no dataset named '/nope'"):
        upstream(notebook, DatasetRef("file", "/nope"))
    with pytest.raises(NotFound, match="no version 'r9'"):
        models_from(notebook, DatasetRef("file", RAW, "r9"))
    with pytest.raises(NotFound, match="no job"):
        downstream(notebook, JobRef("jupyter", "nope.ipynb"))


def test_explicit_lineage_wins_over_the_run_inputs_in_any_order(store: Store) -> None:
    run_id = "22222222-2222-4222-8222-222222222222"
    complete = run_event(
        ("spark", "join"),
        outputs=[{"namespace": "s3://b", "name": "o1", "facets": _lineage_from("a")}, ("s3://b", "o2")],
        run_id=run_id,
        time="2026-01-01T00:00:02Z",
    )
    complete["outputs"][0]["facets"]["columnLineage"]["fields"]["x"]["inputFields"][0]["namespace"] = "s3://b"
    start = run_event(
        ("spark", "join"),
        [("s3://b", "a"), ("s3://b", "b")],
        [("s3://b", "o1"), ("s3://b", "o2")],
        run_id=run_id,
        event_type="START",
        time="2026-01-01T00:00:01Z",
    )
    ingest(store, complete)
    ingest(store, start)
    assert {n.name for n in upstream(store, DatasetRef("s3://b", "o1")) if n.type == "dataset"} == {"a"}
    assert {n.name for n in upstream(store, DatasetRef("s3://b", "o2")) if n.type == "dataset"} == {"a", "b"}
    derivations = {(e[1], e[4], e[9]) for e in snapshot(store)["edges"]}
    assert derivations == {("a", "o1", "explicit"), ("a", "o2", "inferred"), ("b", "o2", "inferred")}
    runs = snapshot(store)["runs"]
    assert [(r[4], str(r[6])[:19], str(r[7])[:19]) for r in runs] == [
        ("COMPLETE", "2026-01-01 00:00:01", "2026-01-01 00:00:02")
    ]


def test_unversioned_pipeline_lineage_joins_versioned_notebook_lineage(store: Store) -> None:
    ingest(
        store,
        run_event(("airflow", "load"), [("s3://b", "landing")], [("s3://b", "raw.csv")]),
        run_event(TRAIN, [("s3://b", "raw.csv", "v1")], [("file", MODEL, "m1")], models={MODEL}),
        run_event(TRAIN, [("s3://b", "raw.csv", "v2")], [("file", MODEL, "m2")], models={MODEL}),
    )
    assert ("dataset", "landing", None, 2) in keys(upstream(store, DatasetRef("file", MODEL, "m1")))
    assert {n.version for n in models_from(store, DatasetRef("s3://b", "landing"))} == {"m1", "m2"}
    assert {n.version for n in models_from(store, DatasetRef("s3://b", "raw.csv", "v1"))} == {"m1"}


def test_cycles_terminate(store: Store) -> None:
    ingest(
        store,
        run_event(("j", "ab"), [("n", "a")], [("n", "b")]),
        run_event(("j", "bc"), [("n", "b")], [("n", "c")]),
        run_event(("j", "ca"), [("n", "c")], [("n", "a")]),
    )
    assert {(n.name, n.depth) for n in upstream(store, DatasetRef("n", "a"), depth=50) if n.type == "dataset"} == {
        ("c", 1),
        ("b", 2),
    }


def test_declared_lineage_of_job_and_dataset_events(store: Store) -> None:
    job_event = {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "t",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {
            "namespace": "dbt",
            "name": "orders",
            "facets": {
                "lineage": {
                    "_producer": "t",
                    "_schemaURL": "t",
                    "entries": [
                        {
                            "namespace": "pg",
                            "name": "orders",
                            "type": "DATASET",
                            "inputs": [{"namespace": "pg", "name": "raw_orders"}],
                        }
                    ],
                }
            },
        },
    }
    dataset_event = {
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "t",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "pg",
            "name": "raw_orders",
            "facets": {
                "lineage": {"_producer": "t", "_schemaURL": "t", "inputs": [{"namespace": "s3://x", "name": "dump"}]}
            },
        },
    }
    ingest(store, job_event, dataset_event)
    assert keys(upstream(store, DatasetRef("pg", "orders"))) == {
        ("job", "orders", None, 1),
        ("dataset", "raw_orders", None, 1),
        ("dataset", "dump", None, 2),
    }


@pytest.mark.parametrize(
    "name",
    ['it\'s "quoted"; DROP TABLE edges; --', "données/été ☃.csv", "第一/データ.parquet", "line\nbreak", "%_*?"],
)
def test_hostile_names(store: Store, name: str) -> None:
    ingest(
        store, run_event(("j\u200bob", name), [("ns", name, "v'1")], [("ns", name + ".out")], models={name + ".out"})
    )
    assert keys(models_from(store, DatasetRef("ns", name, "v'1"))) == {("model", name + ".out", None, 1)}
    assert keys(upstream(store, JobRef("j\u200bob", name))) == {("dataset", name, "v'1", 1)}
