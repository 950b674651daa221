"""The extension loads into a real Jupyter server and answers from its store, only to authenticated requests."""

from __future__ import annotations

import json

import pytest
from events import run_event
from tornado.httpclient import HTTPClientError

from nblineage.lineage.events import check
from nblineage.lineage.store import Store


async def test_status_names_the_store_and_counts_its_events(jp_fetch, jp_root_dir, store_url: str) -> None:
    with Store(store_url) as store:
        store.append([check(run_event(("ns", "job"), [("file", "/data/in.csv")], [("file", "/data/out.csv")]))])
    response = await jp_fetch("nblineage", "api", "status")
    body = json.loads(response.body)
    assert response.code == 200
    assert body["events"] == 1
    assert "lineage" in body["store"] or "postgresql" in body["store"]
    assert body["root"] == str(jp_root_dir.resolve())


async def test_status_refuses_a_request_without_credentials(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("nblineage", "api", "status", headers={"Authorization": ""})
    assert refused.value.code in (401, 403)
