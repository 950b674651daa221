"""Impact of withdrawing a dataset (version), on SQLite and PostgreSQL: governance.impact.impact, its text, HTML,
DataFrame and CSV, and ``nblineage impact`` (--json, --csv, errors and exit codes)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from impact_events import (
    BUREAU,
    DBT,
    F1,
    F2,
    HOSTILE,
    J1,
    L1,
    L2,
    L3,
    L5,
    MA,
    MA2,
    MB,
    NOTEBOOK,
    SUMMARY,
    V1,
    V2,
    events,
)
from model_events import CUSTOMERS, M1, M2, MODEL_ID, TRACKING, scenario

from nblineage.cli import main
from nblineage.governance.impact import CSV_COLUMNS, ImpactAnswer, impact, safe_cell, write_csv
from nblineage.governance.render import frame, html, text
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef, NotFound, derived
from nblineage.lineage.store import Store


@pytest.fixture
def graph(store: Store, tmp_path: Path) -> dict[str, Any]:
    built = events(tmp_path)
    store.append([check(event) for event in built["events"]])
    return built


def items(answer: ImpactAnswer) -> dict[tuple[str, str | None], Any]:
    return {(item.name, item.version): item for item in answer.items}


def test_a_dataset_feeds_a_feature_file_and_two_models(store: Store, graph: dict[str, Any]) -> None:
    answer = impact(store, DatasetRef("file", graph["applicants"]), version=V1)
    found = items(answer)
    assert set(found) == {
        (graph["features"], F1),
        (graph["model_a"], MA),
        (graph["model_b"], MB),
        (graph["joined"], J1),
        (graph["applicants"], V2),  # cleaned in place: the new version derives from the withdrawn one
        (graph["features"], F2),  # ... and so does everything made from it
        (graph["model_a"], MA2),
    }
    features, model_a, model_b = (
        found[(graph["features"], F1)],
        found[(graph["model_a"], MA)],
        found[(graph["model_b"], MB)],
    )
    assert (features.type, features.action, features.depth, features.derived_from) == ("dataset", "delete", 1, (V1,))
    assert (model_a.type, model_a.action, model_a.depth) == ("model", "retrain", 2)
    assert model_b.action == "retrain"
    # the cells that made each, with the precision of the lineage through them
    [load] = features.made_by
    assert (load.notebook, load.cell, load.job, load.run_id, load.precision) == (
        NOTEBOOK,
        "c-load",
        f"{NOTEBOOK}#c-load",
        L1,
        "exact",
    )
    assert [(m.cell, m.run_id, m.precision) for m in model_a.made_by] == [("c-fit-a", L2, "exact")]
    assert [(m.cell, m.run_id, m.precision) for m in model_b.made_by] == [("c-fit-b", L3, "cell")]
    # joined has another input (the bureau table): regenerate it without the withdrawn rows, do not delete it
    assert found[(graph["joined"], J1)].action == "regenerate"
    # nearest first, models before datasets at one depth
    assert [item.depth for item in answer.items] == sorted(item.depth for item in answer.items)
    assert answer.summary() == {"retrain": 3, "regenerate": 1, "delete": 3}
    assert answer.dataset == DatasetRef("file", graph["applicants"], V1)
    assert answer.type == "dataset"


def test_two_versions_each_with_their_models(store: Store, graph: dict[str, Any]) -> None:
    applicants = DatasetRef("file", graph["applicants"])
    every = items(impact(store, applicants))
    # the dataset's own versions are what is withdrawn, not items
    assert (graph["applicants"], V2) not in every
    assert every[(graph["model_a"], MA)].derived_from == (V1,)
    assert set(every[(graph["model_a"], MA2)].derived_from) == {V1, V2}  # V2 came from V1
    assert every[(graph["features"], F2)].made_by[0].run_id == L5
    # the reader that recorded no version (dbt) derives from the dataset, any version
    summary = every[(SUMMARY[1], None)]
    assert (summary.derived_from, summary.action, summary.namespace) == ((None,), "delete", SUMMARY[0])
    assert [(m.job_namespace, m.job, m.notebook, m.cell, m.run_id, m.precision) for m in summary.made_by] == [
        ("dbt", "credit.summary", None, None, DBT, None)
    ]

    only_v2 = impact(store, applicants, version=V2)
    assert set(items(only_v2)) == {(graph["features"], F2), (graph["model_a"], MA2)}
    assert all(item.derived_from == (V2,) for item in only_v2.items)
    # dbt read some version: it may have been this one, and the answer says so
    assert only_v2.notes == (
        "1 more derive from this dataset with no version recorded: they may have read this version "
        "(run without --version to list them)",
    )
    assert impact(store, applicants, version="").dataset.version == ""


def test_owners_come_from_the_ownership_facet(store: Store, graph: dict[str, Any]) -> None:
    answer = impact(store, DatasetRef("file", graph["applicants"]), version=V1)
    assert [(o.name, o.type, o.source) for o in answer.owners] == [
        ("alice", "MAINTAINER", "ownership"),
        (HOSTILE, "STEWARD", "ownership"),
    ]
    found = items(answer)
    assert [o.name for o in found[(graph["features"], F1)].owners] == ["team:ml"]
    assert [o.name for o in found[(graph["model_a"], MA)].owners] == ["bob"]
    assert found[(graph["model_b"], MB)].owners == ()


def test_hostile_names_are_inert_in_text_html_and_csv(store: Store, graph: dict[str, Any], tmp_path: Path) -> None:
    answer = impact(store, DatasetRef("file", graph["applicants"]), version=V1)
    shown = text(answer)
    assert "\x1b" not in shown and "\N{REPLACEMENT CHARACTER}[31m" in shown
    assert (
        "owners: alice, =cmd" in shown
        and "3 models to retrain, 1 dataset to regenerate, 3 datasets to delete" in shown
        and f"{NOTEBOOK}#c-fit-b (cell)" in shown
    )
    page = html(answer)
    assert "<script>" not in page and "&lt;script&gt;" in page and "\x1b" not in page
    assert page.count("<tr>") == 1 + len(answer.items)
    table = frame(answer)
    assert list(table.columns) == list(ImpactAnswer.columns) and len(table) == len(answer.items)
    assert str(answer) == shown and answer._repr_html_() == page

    # a model named like a formula, owned by a formula
    out = tmp_path / "impact.csv"
    assert write_csv(answer, out) == len(answer.items)
    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 1 + len(answer.items)
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    by_name = {(row[3], row[4]): dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    model_b = by_name[(graph["model_b"], MB)]
    assert model_b == {
        "action": "retrain",
        "type": "model",
        "namespace": "file",
        "name": graph["model_b"],
        "version": MB,
        "depth": "2",
        "derived_from": V1,
        "owners": "",
        "notebooks": NOTEBOOK,
        "cells": f"{NOTEBOOK}#c-fit-b",
        "precision": "cell",
    }
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "a=b", 3)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "a=b",
        3,
    ]


def test_hostile_item_names_in_csv(store: Store, tmp_path: Path) -> None:
    """A dataset and a model whose names and owners are formulas and markup."""
    from events import run_event
    from impact_events import ownership

    evil = '=HYPERLINK("http://x","y")'
    store.append(
        [
            check(
                run_event(
                    ("jupyter", "nb#c1"),
                    [("file", "/d.csv", "v1")],
                    [
                        {
                            "namespace": "file",
                            "name": evil,
                            "facets": {"ownership": ownership(("@mallory", "OWNER"), ("<b>x</b>", "OWNER"))},
                        },
                        ("file", "-model", "m1"),
                    ],
                    models={"-model"},
                )
            )
        ]
    )
    answer = impact(store, DatasetRef("file", "/d.csv"))
    assert {(item.name, item.action) for item in answer.items} == {(evil, "delete"), ("-model", "retrain")}
    out = tmp_path / "evil.csv"
    write_csv(answer, out)
    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert {row["name"] for row in rows} == {"'" + evil, "'-model"}
    assert {row["owners"] for row in rows} == {"'@mallory, <b>x</b>", ""}
    assert "<b>" not in html(answer)


def test_the_model_scenario_through_files_tables_and_models(store: Store, tmp_path: Path) -> None:
    """tests/model_events.py: a CRM table feeds raw.csv (column lineage), features, a file model in two versions,
    a logged MLflow model and its registry versions."""
    built = scenario(tmp_path)
    store.append([check(event) for event in built.events])
    answer = impact(store, DatasetRef(*CUSTOMERS))
    found = items(answer)
    assert set(found) == {
        (built.raw, "a1" * 16),
        (built.features, "b2" * 16),
        (built.model, M1),
        (built.model, M2),
        (f"models:/{MODEL_ID}", MODEL_ID),
        ("models:/churn/3", MODEL_ID),
        ("models:/churn/4", "4"),
    }
    assert all(item.derived_from == (None,) for item in answer.items)  # the table has no versions
    assert {item.action for item in answer.items if item.type == "model"} == {"retrain"}
    assert [m.cell for m in found[("models:/churn/3", MODEL_ID)].made_by] == ["c-prep", "c-train", "c-reg"]
    assert found[("models:/churn/4", "4")].made_by[0].job == "register"
    assert found[("models:/churn/3", MODEL_ID)].namespace == TRACKING
    # a model withdrawn: the registry versions that register it
    logged = impact(store, DatasetRef(TRACKING, f"models:/{MODEL_ID}"))
    assert logged.type == "model"
    assert {item.name for item in logged.items} == {"models:/churn/3", "models:/churn/4"}


def test_depth_limits_the_walk(store: Store, graph: dict[str, Any]) -> None:
    applicants = DatasetRef("file", graph["applicants"], V1)
    near = impact(store, applicants, depth=1)
    assert {item.depth for item in near.items} == {1}
    assert (graph["model_a"], MA) not in items(near)
    assert near.depth == 1
    assert near.notes[-1] == "the walk stopped at depth 1: more derives from the farthest items (raise --depth)"
    assert not [note for note in impact(store, applicants).notes if "depth" in note]  # everything reached
    with pytest.raises(ValueError, match="depth must be between 1 and"):
        derived(store, applicants, 0)


def test_unknown_datasets_and_versions_are_clear_errors(store: Store, graph: dict[str, Any]) -> None:
    with pytest.raises(NotFound, match=r"no dataset named '/nowhere\.csv'"):
        impact(store, DatasetRef("file", "/nowhere.csv"))
    with pytest.raises(NotFound, match="has no version 'deadbeef'"):
        impact(store, DatasetRef("file", graph["applicants"]), version="deadbeef")


# the command line


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_csv_and_text(
    store: Store, store_url: str, graph: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    applicants = graph["applicants"]
    code, out, err = run(capsys, "--url", store_url, "impact", applicants, "--version", V1, "--json")
    assert code == 0 and err.startswith("store: ")
    assert json.loads(out) == impact(store, DatasetRef("file", applicants), V1).to_json()
    shown = json.loads(out)
    assert shown["summary"] == {"retrain": 3, "regenerate": 1, "delete": 3}
    assert shown["items"][0]["madeBy"][0]["notebook"] == NOTEBOOK
    assert {"action", "type", "namespace", "name", "version", "depth", "derivedFrom", "owners", "madeBy"} <= set(
        shown["items"][0]
    )

    out_csv = tmp_path / "out.csv"
    code, out, err = run(capsys, "--url", store_url, "impact", applicants, "--csv", str(out_csv))
    assert code == 0
    assert out.startswith("store: ") and "Withdrawing dataset file" in out and "(all versions)" in out
    assert "\x1b" not in out
    with open(out_csv, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert err.strip().endswith(f"wrote {len(rows)} rows to {out_csv}")
    assert {(row["name"], row["version"]) for row in rows} >= {(graph["model_a"], MA), (graph["model_a"], MA2)}
    assert {row["derived_from"] for row in rows if row["name"] == graph["model_a"]} == {V1, f"{V1}, {V2}"}

    code, _, err = run(capsys, "--url", store_url, "impact", applicants, "--csv", str(tmp_path / "no" / "x.csv"))
    assert code == 1 and "cannot write" in err and "Traceback" not in err


def test_cli_errors_exit_1(
    store: Store, store_url: str, graph: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--url", store_url, "impact", "/gone/applicants.csv")
    assert code == 1
    assert (
        err.strip()
        == "nblineage: no dataset or job named '/gone/applicants.csv' in namespace 'file'; nearest names: "
        + graph["applicants"]
    )
    code, _, err = run(capsys, "--url", store_url, "impact", graph["applicants"], "--version", "nope")
    assert (code, err.strip()) == (1, "nblineage: dataset " + repr(graph["applicants"]) + " has no version 'nope'")
    code, _, err = run(capsys, "--url", store_url, "impact", "-n", "jupyter", f"{NOTEBOOK}#c-load")
    assert code == 1 and "is a job, not a dataset" in err
    code, out, _ = run(capsys, "--url", store_url, "impact", "-n", BUREAU[0], BUREAU[1], "--json")
    assert code == 0 and [(i["name"], i["action"]) for i in json.loads(out)["items"]] == [
        (graph["joined"], "regenerate")
    ]
