"""The cells a notebook's data went through in memory are the job nodes between a dataset and the model.

Hand-built events shaped like the kernel's (``cell_events``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cell_events import CUSTOMERS, EXPORT, FEATURES, MODEL, READ, SAVE, cell_run, job, notebook_events, saved
from events import run_event
from graphdump import snapshot
from sqlalchemy import text

from nblineage.lineage import schema
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef, JobRef, Node, downstream, path, upstream
from nblineage.lineage.store import Store


def ingest(store: Store, events: list[dict[str, Any]]) -> None:
    store.append([check(event) for event in events])


def chain(nodes: list[Node]) -> list[tuple]:
    return [(n.type, n.name.rsplit("#", 1)[-1].rsplit("/", 1)[-1], n.depth, n.precision) for n in nodes]


FULL_PATH = [
    ("dataset", "customers.csv", 0, None),
    ("job", "read", 1, "exact"),
    ("job", "features", 2, "exact"),
    ("job", "split", 3, "exact"),
    ("job", "fit", 4, "exact"),
    ("job", "save", 5, "exact"),
    ("model", "churn.joblib", 6, None),
]
CELLS_IN_ORDER = [("job", cell, 1, "exact") for cell in ("read", "features", "split", "fit", "save")]


def test_path_goes_through_every_cell_in_flow_order(store: Store) -> None:
    ingest(store, notebook_events())
    forward = path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL))
    assert chain(forward) == FULL_PATH
    assert path(store, DatasetRef("file", MODEL), DatasetRef("file", CUSTOMERS)) == forward


def test_upstream_and_downstream_show_the_cells_at_the_hop_depth(store: Store) -> None:
    ingest(store, notebook_events())
    assert chain(upstream(store, DatasetRef("file", MODEL))) == [
        *CELLS_IN_ORDER,
        ("dataset", "customers.csv", 1, None),
    ]
    assert chain(downstream(store, DatasetRef("file", CUSTOMERS, "c1"))) == [
        *CELLS_IN_ORDER,
        ("model", "churn.joblib", 1, None),
    ]


def test_cells_that_arrive_after_the_model_join_in(store: Store, tmp_path) -> None:
    events = notebook_events()
    save = [e for e in events if e["run"]["runId"] == SAVE]
    ingest(store, save)
    alone = chain(path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL)))
    assert alone == [
        ("dataset", "customers.csv", 0, None),
        ("job", "save", 1, "exact"),
        ("model", "churn.joblib", 2, None),
    ]
    ingest(store, [e for e in reversed(events) if e["run"]["runId"] != SAVE])
    assert chain(path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL))) == FULL_PATH
    with Store(f"sqlite:///{tmp_path / 'in-order.db'}") as in_order:
        ingest(in_order, events)
        for ask in (
            lambda s: upstream(s, DatasetRef("file", MODEL)),
            lambda s: downstream(s, DatasetRef("file", CUSTOMERS)),
        ):
            assert ask(in_order) == ask(store)
    before = snapshot(store)
    store.rebuild()
    assert snapshot(store) == before
    assert chain(path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL))) == FULL_PATH


def test_depth_counts_a_hop_once_whatever_its_cells(store: Store) -> None:
    ingest(store, notebook_events())
    ingest(store, [run_event(("spark", "export"), [("file", MODEL, "m1")], [("s3://bucket", EXPORT)])])
    exported = DatasetRef("s3://bucket", EXPORT)
    assert chain(upstream(store, exported, depth=1)) == [
        ("job", "export", 1, None),
        ("model", "churn.joblib", 1, None),
    ]
    assert chain(upstream(store, exported, depth=2))[2:] == [
        *((kind, name, 2, precision) for kind, name, _, precision in CELLS_IN_ORDER),
        ("dataset", "customers.csv", 2, None),
    ]
    assert [n.name.rsplit("/", 1)[-1] for n in path(store, DatasetRef("file", CUSTOMERS), exported)] == [
        "customers.csv",
        *(job(cell).rsplit("/", 1)[-1] for cell in ("read", "features", "split", "fit", "save")),
        "churn.joblib",
        "export",
        "churn.bin",
    ]


def test_the_same_cell_twice_in_a_row_appears_once(store: Store) -> None:
    again = "00000000-0000-4000-8000-000000000004"  # the features cell run a second time, on its own output
    fit_in_save = "00000000-0000-4000-8000-000000000002"  # an earlier run of the save cell that did the fit
    ingest(
        store,
        [
            *cell_run(READ, 1, inputs=[("file", CUSTOMERS, "c1")]),
            *cell_run(FEATURES, 2),
            *cell_run(again, 3, cell="features"),
            *cell_run(fit_in_save, 4, cell="save"),
            *cell_run(
                SAVE, 5, inputs=[("file", CUSTOMERS, "c1")], outputs=[saved([READ, FEATURES, again, fit_in_save])]
            ),
        ],
    )
    assert [name for _, name, _, _ in chain(path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL)))] == [
        "customers.csv",
        "read",
        "features",
        "save",
        "churn.joblib",
    ]
    assert [name for kind, name, _, _ in chain(upstream(store, DatasetRef("file", MODEL))) if kind == "job"] == [
        "read",
        "features",
        "save",
    ]


def test_cell_precision_is_shown_on_the_cells(store: Store) -> None:
    ingest(store, notebook_events(precision="cell"))
    nodes = path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL))
    assert {n.precision for n in nodes if n.type == "job"} == {"cell"}
    assert {n.precision for n in upstream(store, DatasetRef("file", MODEL)) if n.type == "job"} == {"cell"}


def test_a_cell_as_one_end(store: Store) -> None:
    ingest(store, notebook_events())
    fit = JobRef("jupyter", job("fit"))
    assert chain(path(store, fit, DatasetRef("file", MODEL))) == [
        ("job", "fit", 0, "exact"),
        ("job", "save", 1, "exact"),
        ("model", "churn.joblib", 2, None),
    ]
    assert chain(path(store, DatasetRef("file", CUSTOMERS), fit)) == FULL_PATH[:5]
    assert chain(path(store, DatasetRef("file", CUSTOMERS), JobRef("jupyter", job("save")))) == FULL_PATH[:6]
    assert chain(upstream(store, fit)) == [("dataset", "customers.csv", 1, None)]
    assert chain(downstream(store, fit)) == [("model", "churn.joblib", 1, None)]


def test_unknown_and_malformed_steps_are_left_out(store: Store) -> None:
    steps = [READ, "not-a-run-id", 7, "00000000-0000-4000-8000-000000000999", SAVE.upper()]
    ingest(store, notebook_events(steps))
    assert [name for _, name, _, _ in chain(path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL)))] == [
        "customers.csv",
        "read",
        "save",
        "churn.joblib",
    ]


def test_pipelines_without_the_facet_are_unchanged(store: Store) -> None:
    ingest(
        store,
        [
            run_event(("spark", "clean"), [("s3://b", "raw")], [("s3://b", "clean")]),
            run_event(("spark", "train"), [("s3://b", "clean")], [("s3://b", "model")], models={"model"}),
        ],
    )
    assert chain(upstream(store, DatasetRef("s3://b", "model"))) == [
        ("job", "train", 1, None),
        ("dataset", "clean", 1, None),
        ("job", "clean", 2, None),
        ("dataset", "raw", 2, None),
    ]
    assert [n.name for n in path(store, DatasetRef("s3://b", "raw"), DatasetRef("s3://b", "model"))] == [
        "raw",
        "clean",
        "clean",
        "train",
        "model",
    ]


def test_a_store_made_before_the_steps_gets_them_on_open(store_url: str) -> None:
    with Store(store_url) as store:
        ingest(store, notebook_events())
        with store.write() as conn:  # back to the first schema: no output_steps table
            conn.execute(text("DROP TABLE output_steps"))
            conn.execute(text("ALTER TABLE runs DROP COLUMN parent_key"))  # added by 0003_run_job_key
            conn.execute(text("DROP TABLE audit_log"))  # and no audit log (0004_audit_log)
            conn.execute(text("DROP TABLE audit_head"))
            conn.execute(text("DROP TABLE declared_versions"))  # and no exact input versions (0005_declared_versions)
            conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '0001_initial'"))
    with Store(store_url) as store:
        assert chain(path(store, DatasetRef("file", CUSTOMERS), DatasetRef("file", MODEL))) == FULL_PATH
        with store.read() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).scalar() == schema.HEAD


def test_the_command_shows_the_cells_and_their_precision(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nblineage.cli import main

    with Store(store_url) as store:
        ingest(store, notebook_events(precision="cell"))
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    capsys.readouterr()
    assert main(["path", CUSTOMERS, MODEL]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("TYPE")) :]
    assert table[0].split() == ["TYPE", "NAMESPACE", "NAME", "VERSION", "DEPTH", "PRECISION"]
    assert [line.split()[2].rsplit("#", 1)[-1] for line in table[1:]] == [
        CUSTOMERS,
        "read",
        "features",
        "split",
        "fit",
        "save",
        MODEL,
    ]
    assert [line.split()[-1] for line in table[2:-1]] == ["cell"] * 5
    assert main(["upstream", MODEL, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["type"], r["depth"], r["precision"]) for r in rows] == [("job", 1, "cell")] * 5 + [("dataset", 1, None)]
