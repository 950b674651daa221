"""A real Jupyter server with the nblineage extension, answering from a real store (SQLite, or PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from model_events import Scenario, scenario
from tornado.httpclient import HTTPClientError

from nblineage.lineage.events import check
from nblineage.lineage.store import Store


@pytest.fixture
def jp_server_config(store_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The server of ``jp_fetch``: nblineage's extension on, its store ``store_url``."""
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    return {"ServerApp": {"jpserver_extensions": {"nblineage": True, "jupyter_server_terminals": False}}}


@pytest.fixture
def lineage(store_url: str, tmp_path: Path) -> Scenario:
    """The store of the server filled with kernel-like events: one notebook, two sessions, models saved to files
    and logged and registered in MLflow (tests/model_events.py)."""
    built = scenario(tmp_path)
    with Store(store_url) as store:
        store.append([check(event) for event in built.events])
    return built


@pytest.fixture
def get(jp_fetch: Any) -> Any:
    """``await get("graph", node=...)``: the JSON answer of an authorised GET of ``/nblineage/api/ROUTE``."""

    async def fetch(route: str, **params: Any) -> Any:
        response = await jp_fetch("nblineage", "api", route, params=params)
        assert response.code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
        return json.loads(response.body)

    return fetch


@pytest.fixture
def refused(jp_fetch: Any) -> Any:
    """``await refused("graph", node=...)``: the status and JSON body of a GET the server answers with an error."""

    async def fetch(route: str, **params: Any) -> tuple[int, Any]:
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch("nblineage", "api", route, params=params)
        response = error.value.response
        assert response is not None and response.headers["Content-Type"] == "application/json"
        return error.value.code, json.loads(response.body)

    return fetch
