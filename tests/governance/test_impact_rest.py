"""``GET /nblineage/api/impact`` on a real Jupyter server and store (SQLite, PostgreSQL): the JSON of
``nblineage impact --json``, and domain errors as JSON with their status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from impact_events import MA, NOTEBOOK, V1, V2, events
from tornado.httpclient import HTTPClientError

from nblineage import cli
from nblineage.lineage.events import check
from nblineage.lineage.store import Store

pytestmark = pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning")


@pytest.fixture
def jp_server_config(store_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    return {"ServerApp": {"jpserver_extensions": {"nblineage": True, "jupyter_server_terminals": False}}}


@pytest.fixture
def graph(store_url: str, tmp_path: Path) -> dict[str, Any]:
    built = events(tmp_path)
    with Store(store_url) as store:
        store.append([check(event) for event in built["events"]])
    return built


async def fetch(jp_fetch: Any, **params: str) -> tuple[int, Any]:
    try:
        response = await jp_fetch("nblineage", "api", "impact", params=params)
    except HTTPClientError as error:
        assert error.response is not None and error.response.headers["Content-Type"] == "application/json"
        return error.code, json.loads(error.response.body)
    assert response.headers["Content-Type"] == "application/json"
    return response.code, json.loads(response.body)


async def test_impact_answers_what_the_command_line_answers(
    jp_fetch: Any, graph: dict[str, Any], store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli_json(*argv: str) -> Any:
        capsys.readouterr()
        assert cli.main(["--url", store_url, "impact", *argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    applicants = graph["applicants"]
    code, every = await fetch(jp_fetch, node=applicants)
    assert code == 200 and every == cli_json(applicants)
    code, one = await fetch(jp_fetch, node=applicants, version=V1, depth="2")
    assert code == 200 and one == cli_json(applicants, "--version", V1, "--depth", "2")
    model_a = next(item for item in one["items"] if item["version"] == MA)
    assert model_a["action"] == "retrain" and model_a["madeBy"][0]["notebook"] == NOTEBOOK
    code, named = await fetch(jp_fetch, node=applicants, namespace="file", version=V2)
    assert code == 200 and {item["derivedFrom"][0] for item in named["items"]} == {V2}


async def test_impact_errors_are_json(jp_fetch: Any, graph: dict[str, Any]) -> None:
    code, body = await fetch(jp_fetch, node="/gone.csv")
    assert code == 404 and "no dataset or job named '/gone.csv'" in body["message"]
    code, body = await fetch(jp_fetch, node=graph["applicants"], version="nope")
    assert code == 404 and "has no version 'nope'" in body["message"]
    code, body = await fetch(jp_fetch, node=f"{NOTEBOOK}#c-load", namespace="jupyter")
    assert code == 400 and "is a job, not a dataset" in body["message"]
    code, body = await fetch(jp_fetch, node=graph["applicants"], depth="0")
    assert code == 400 and body["code"] == 400
