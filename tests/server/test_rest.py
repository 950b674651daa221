"""Every answer of /nblineage/api/ on a real Jupyter server and a real store (SQLite, PostgreSQL) filled with
kernel-like events: the same JSON as the command line's ``--json`` and the governance functions give, and domain
errors as JSON ``{code, message}`` with their status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from events import run_event
from graph_contract import contract
from model_events import CUSTOMERS, JOBS, M1, M2, MODEL_ID, NOTEBOOK, RAW, TRACKING, Scenario
from tornado.httpclient import HTTPClientError

from nblineage import cli
from nblineage.governance import questions
from nblineage.governance.neighbourhood import neighbourhood, node_details
from nblineage.governance.resolve import resolve_model, resolve_node
from nblineage.lineage.events import check
from nblineage.lineage.graph import JobRef
from nblineage.lineage.store import Store

pytestmark = pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning")


def cli_json(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    """What ``nblineage --url URL ARGV --json`` prints."""
    capsys.readouterr()
    cli.main(["--url", url, *argv, "--json"])
    return json.loads(capsys.readouterr().out)


# the command table's answers: the same JSON as the command line


@pytest.mark.parametrize("command", ["upstream", "downstream", "models-from"])
async def test_walks_answer_what_the_command_line_answers(
    get: Any, lineage: Scenario, store_url: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    node = lineage.raw if command != "upstream" else lineage.model
    expected = cli_json(capsys, store_url, command, node)
    assert expected  # the scenario has lineage each way
    assert await get(command, node=node) == expected
    assert await get(command, node=node, depth="1") == cli_json(capsys, store_url, command, node, "--depth", "1")
    versioned = cli_json(capsys, store_url, command, node, "--version", RAW if node == lineage.raw else M2)
    assert await get(command, node=node, version=RAW if node == lineage.raw else M2) == versioned


async def test_models_from_lists_every_model_of_a_dataset(get: Any, lineage: Scenario) -> None:
    found = await get("models-from", node=lineage.raw)
    assert {(m["name"], m["version"]) for m in found} == {
        (lineage.model, M1),
        (lineage.model, M2),
        (f"models:/{MODEL_ID}", MODEL_ID),
        ("models:/churn/3", MODEL_ID),
        ("models:/churn/4", "4"),
    }


async def test_explain_answers_what_the_command_line_answers(
    get: Any, lineage: Scenario, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for node, extra in ((lineage.model, {}), ("models:/churn/3", {}), (lineage.model, {"version": M1})):
        argv = ["--version", extra["version"]] if extra else []
        assert await get("explain", node=node, **extra) == cli_json(capsys, store_url, "explain", node, *argv)
    answer = await get("explain", node="models:/churn/latest")
    assert answer["model"]["name"] == "models:/churn/4"


async def test_path_answers_what_the_command_line_answers(
    get: Any, lineage: Scenario, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = cli_json(capsys, store_url, "path", lineage.raw, "models:/churn/3")
    assert expected[0]["name"] == lineage.raw
    assert await get("path", source=lineage.raw, target="models:/churn/3") == expected
    named = await get("path", source=CUSTOMERS[1], target=lineage.features, from_namespace=CUSTOMERS[0])
    assert named[0]["name"] == CUSTOMERS[1]


@pytest.mark.parametrize(
    ("route", "question", "depth"),
    [
        ("inputs", questions.model_inputs, True),
        ("performance", questions.model_performance, False),
        ("resources", questions.model_resources, True),
        ("location", questions.model_location, False),
    ],
)
async def test_the_four_model_answers_are_the_governance_functions(
    get: Any, lineage: Scenario, store_url: str, route: str, question: Any, depth: bool
) -> None:
    with Store(store_url) as store:
        for node, version in ((lineage.model, None), (lineage.model, M1), (f"models:/{MODEL_ID}", None)):
            expected = question(store, resolve_model(store, node, None, version)).to_json()
            assert await get(route, node=node, **({"version": version} if version else {})) == expected
        named = question(store, resolve_model(store, "models:/churn/3", TRACKING)).to_json()
        assert await get(route, node="models:/churn/3", namespace=TRACKING) == named
        if depth:
            shallow = question(store, resolve_model(store, lineage.model), 1).to_json()
            assert await get(route, node=lineage.model, depth="1") == shallow


async def test_the_answers_hold_what_capture_recorded(get: Any, lineage: Scenario) -> None:
    performance = await get("performance", node=lineage.model, version=M1)
    assert {(m["name"], m["split"], m["value"]) for m in performance["metrics"]} >= {
        ("accuracy_score", "train", 0.99),
        ("accuracy_score", "test", 0.93),
    }
    resources = await get("resources", node=lineage.model, version=M1)
    assert resources["wallTimeSeconds"] == 11.5  # the cells its data went through: prep and train
    location = await get("location", node=f"models:/{MODEL_ID}")
    assert location["mlflow"]["runId"]


# the graph and node details: governance.neighbourhood's answers


async def test_graph_is_the_neighbourhood_the_widget_draws(get: Any, lineage: Scenario, store_url: str) -> None:
    with Store(store_url) as store:
        model = resolve_node(store, lineage.model)
        assert await get("graph", node=lineage.model) == neighbourhood(store, model, 1).to_json()
        hood = neighbourhood(store, model, 3)
        assert await get("graph", node=lineage.model, depth="3") == hood.to_json()
        assert (
            await get("graph", node=lineage.model, depth="3", limit="2") == neighbourhood(store, model, 3, 2).to_json()
        )
        # a node of the answer, sent back as the contract gives it, is expanded exactly
        cell = next(node for node in hood.nodes if node.kind == "cell")
        expanded = contract(await get("graph", kind="cell", namespace=cell.namespace, node=cell.name))
        assert expanded == neighbourhood(store, JobRef(cell.namespace, cell.name)).to_json()
        assert expanded["center"] == cell.id
    assert {node["precision"] for node in expanded["nodes"] if node["kind"] == "cell"} <= {"exact", "cell", None}


async def test_graph_of_one_version_and_of_a_registry_model(get: Any, lineage: Scenario, store_url: str) -> None:
    with Store(store_url) as store:
        for params in ({"node": lineage.model, "version": M1}, {"node": "models:/churn/3"}):
            ref = resolve_node(store, params["node"], None, params.get("version"))
            assert await get("graph", **params) == neighbourhood(store, ref).to_json()
        exact = await get("graph", kind="model", namespace="file", node=lineage.model, version=M1)
        assert exact["nodes"][0]["version"] == M1


async def test_node_details_are_the_details_pane(get: Any, lineage: Scenario, store_url: str) -> None:
    with Store(store_url) as store:
        for node in (lineage.model, lineage.raw, "models:/churn/4"):
            assert await get("node", node=node) == node_details(store, resolve_node(store, node))
        details = await get("node", kind="job", namespace=JOBS, node=NOTEBOOK)
        assert details == node_details(store, JobRef(JOBS, NOTEBOOK))
    model = await get("node", node=lineage.model)
    assert [version["version"] for version in model["versions"]] == [M2, M1]
    assert model["explain"]["inputs"]["function"]["modelClass"].endswith("LogisticRegression")


# search


async def test_search_finds_datasets_models_and_notebooks_by_part_of_their_name(get: Any, lineage: Scenario) -> None:
    found = await get("search", q="model")
    names = [(hit["kind"], hit["name"]) for hit in found["hits"]]
    assert ("model", lineage.model) in names
    assert found["total"] == len(names)
    hit = next(hit for hit in found["hits"] if hit["name"] == lineage.model)
    assert (hit["version"], hit["versions"]) == (M2, 2)  # the newest version
    notebooks = await get("search", q="TRAIN.IPYNB")  # case does not matter
    assert [(hit["kind"], hit["name"], hit["version"]) for hit in notebooks["hits"]] == [("notebook", NOTEBOOK, None)]
    cells = await get("search", q="train.ipynb#", kind="cell")
    assert {hit["name"].rpartition("#")[2] for hit in cells["hits"]} == {
        "c-prep",
        "c-train",
        "c-eval",
        "c-log",
        "c-reg",
    }
    assert all(hit["kind"] == "cell" for hit in cells["hits"])


async def test_search_ranks_exact_then_prefix_then_last_part_then_substring(get: Any, store_url: str) -> None:
    names = ["/x/churn", "churned.csv", "/data/churn_v2.csv", "/data/old_churn.csv", "churn"]
    with Store(store_url) as store:
        store.append([check(run_event(("etl", "load"), [], [("file", name) for name in names]))])
    found = await get("search", q="churn", kind="dataset")
    assert [hit["name"] for hit in found["hits"]] == [
        "churn",
        "churned.csv",
        "/data/churn_v2.csv",
        "/x/churn",
        "/data/old_churn.csv",
    ]


async def test_search_pages_filters_by_kind_and_namespace(get: Any, lineage: Scenario) -> None:
    everything = await get("search")
    assert everything["total"] == len(everything["hits"]) > 5
    names = [(hit["namespace"], hit["name"]) for hit in everything["hits"]]
    pages = [await get("search", limit="2", offset=str(offset)) for offset in range(0, len(names), 2)]
    assert [(hit["namespace"], hit["name"]) for page in pages for hit in page["hits"]] == names
    assert all(page["total"] == len(names) and page["limit"] == 2 for page in pages)
    past = await get("search", offset="1000")
    assert (past["hits"], past["total"]) == ([], len(names))
    models = await get("search", kind="model")
    assert models["hits"] and {hit["kind"] for hit in models["hits"]} == {"model"}
    both = await get("search", kind="model,notebook")
    assert {hit["kind"] for hit in both["hits"]} == {"model", "notebook"}
    mlflow = await get("search", namespace=TRACKING)
    assert {hit["namespace"] for hit in mlflow["hits"]} == {TRACKING}
    wildcard = await get("search", q="%")  # LIKE's wildcards are plain characters
    assert wildcard["hits"] == []


# errors: JSON {code, message} with the status they stand for


async def test_an_unknown_node_is_404_with_the_nearest_names(refused: Any, lineage: Scenario) -> None:
    code, body = await refused("graph", node=str(Path(lineage.model).with_name("modle.joblib")))
    assert (code, body["code"]) == (404, 404)
    assert "nearest names" in body["message"] and lineage.model in body["message"]
    for route in ("node", "upstream", "downstream", "models-from", "explain", "inputs", "location"):
        code, body = await refused(route, node="/nowhere/at/all.csv")
        assert (code, body["code"]) == (404, 404), route
        assert "/nowhere/at/all.csv" in body["message"]


async def test_questions_about_what_is_no_model_are_404(refused: Any, lineage: Scenario) -> None:
    code, body = await refused("explain", node=lineage.raw)
    assert code == 404 and "is a dataset, not a model" in body["message"]
    code, body = await refused("graph", node=lineage.model, version="no-such-version")
    assert code == 404 and "no-such-version" in body["message"]


async def test_no_path_is_404(refused: Any, lineage: Scenario) -> None:
    code, body = await refused("path", source="models:/churn/4", target=lineage.model, version="x")
    assert code == 404 and body["message"].startswith("no lineage path between models:/churn/4 and")


@pytest.mark.parametrize(
    ("route", "params", "said"),
    [
        ("graph", {}, "missing parameter 'node'"),
        ("path", {"source": "a"}, "missing parameter 'target'"),
        ("graph", {"node": ""}, "parameter 'node' is empty"),
        ("path", {"source": "", "target": "x"}, "parameter 'source' is empty"),
        ("graph", {"node": "x", "depth": "deep"}, "must be a whole number"),
        ("graph", {"node": "x", "depth": "0"}, "depth must be"),
        ("upstream", {"node": "x", "depth": "100000"}, "depth must be"),
        ("graph", {"node": "x", "limit": "0"}, "limit must be"),
        ("graph", {"node": "x", "kind": "table"}, "kind must be one of"),
        ("graph", {"node": "x", "kind": "job"}, "needs its namespace"),
        ("search", {"kind": "table"}, "kind must be some of"),
        ("search", {"limit": "100000"}, "limit must be"),
        ("search", {"offset": "-1"}, "offset must be"),
        ("graph", {"node": "x" * 5000}, "longer than 4096"),
        ("graph", {"node": "a\x00b"}, "NUL"),
        ("search", {"q": "a\x00b"}, "NUL"),
    ],
)
async def test_bad_input_is_400_and_says_what_is_wrong(
    refused: Any, lineage: Scenario, route: str, params: dict, said: str
) -> None:
    real = {key: lineage.raw if value == "x" else value for key, value in params.items()}  # a node that exists
    code, body = await refused(route, **real)
    assert (code, body["code"]) == (400, 400)
    assert said in body["message"]


async def test_an_ambiguous_model_is_400(refused: Any, lineage: Scenario, store_url: str) -> None:
    other = "mlflow://tracking.example.com"
    with Store(store_url) as store:
        store.append(
            [
                check(
                    run_event(
                        ("mlflow", "copy"),
                        [],
                        [(other, f"models:/{MODEL_ID}", MODEL_ID)],
                        models={f"models:/{MODEL_ID}"},
                    )
                )
            ]
        )
    code, body = await refused("explain", node=f"models:/{MODEL_ID}")
    assert code == 400 and "several MLflow tracking stores" in body["message"]


async def test_a_store_that_cannot_be_used_is_503(
    refused: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is no database" * 100)
    monkeypatch.setenv("NBLINEAGE_URL", f"sqlite:///{damaged}")  # the server opens its store on first use
    for route, params in (("status", {}), ("graph", {"node": "x"}), ("search", {})):
        code, body = await refused(route, **params)
        assert (code, body["code"]) == (503, 503), route
        assert str(damaged) in body["message"]
    assert damaged.read_bytes() == b"this is no database" * 100  # left untouched


# names are untrusted


async def test_odd_names_are_answered_as_json_and_found(get: Any, refused: Any, store_url: str) -> None:
    odd = ["/data/données ü €.csv", "/data/<script>alert(1)</script>.csv", "/data/emoji 📈.csv", "/d/" + "x" * 2000]
    with Store(store_url) as store:
        store.append([check(run_event(("etl", "odd"), [("file", odd[0])], [("file", name) for name in odd[1:]]))])
    for name in odd:
        found = await get("search", q=name[-20:])
        assert name in [hit["name"] for hit in found["hits"]]
        hood = await get("graph", node=name)
        assert hood["nodes"][0]["name"] == name
    assert {node["name"] for node in (await get("downstream", node=odd[0]))} >= set(odd[1:])
    code, body = await refused("graph", node="../../etc/passwd")
    assert code == 404 and "/etc/passwd" in body["message"]


async def test_text_that_is_not_utf8_is_400(http_server_client: Any, jp_base_url: str, jp_auth_header: dict) -> None:
    with pytest.raises(HTTPClientError) as error:
        await http_server_client.fetch(f"{jp_base_url}nblineage/api/graph?node=%FF%FE", headers=jp_auth_header)
    assert error.value.code == 400
    assert json.loads(error.value.response.body)["code"] == 400
