"""Real OpenLineage clients against a real ``jupyter server`` (a subprocess): openlineage-python's stock
``HttpTransport`` and ``OpenLineageClient`` with ``url`` = the server's base URL and ``api_key`` = the Jupyter token
send every sample event of the specification, idempotent on replay, gzip or not; a browser's login cookie alone
(no XSRF token) cannot post events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport
from serving import JupyterServer
from test_spec_samples import ALL

from nblineage.lineage.events import check
from nblineage.lineage.store import Store


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[JupyterServer]:
    """A Jupyter server under a base URL, as JupyterHub serves one (``/user/NAME/``)."""
    with JupyterServer(store_url, tmp_path, base_url="/user/someone/") as running:
        yield running


def transport(server: JupyterServer, **options: object) -> HttpTransport:
    config = {"url": server.url, "auth": {"type": "api_key", "apiKey": server.token}, **options}
    return HttpTransport(HttpConfig.from_dict(config))


def stored(store_url: str) -> int:
    with Store(store_url) as store:
        return store.event_count()


def test_http_transport_sends_every_spec_sample_once(server: JupyterServer, store_url: str) -> None:
    sender = transport(server)
    for _, _, payload in ALL:
        assert sender.emit(payload).status_code == 201
    distinct = {check(Serde.to_dict(payload)).hash for _, _, payload in ALL}
    assert stored(store_url) == len(distinct) >= 40
    gzipped = transport(server, compression="gzip")
    for _, _, payload in ALL:  # replayed, compressed this time: nothing new
        assert gzipped.emit(payload).status_code == 201
    assert stored(store_url) == len(distinct)


def test_openlineage_client_sends_events_built_with_its_classes(server: JupyterServer, store_url: str) -> None:
    client = OpenLineageClient(transport=transport(server))
    run = Run(runId=str(uuid.uuid4()))
    job = Job(namespace="airflow", name="daily.load")
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime="2026-03-04T05:06:07Z",
                run=run,
                job=job,
                producer="https://github.com/apache/airflow",
                inputs=[InputDataset(namespace="s3://bucket", name="raw/orders.csv")],
                outputs=[OutputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
            )
        )
    assert stored(store_url) == 2
    graph = requests.get(
        server.url + "api/v1/lineage",
        params={"nodeId": "dataset:postgres://db:5432:shop.public.orders", "depth": 2},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    ).json()["graph"]
    assert {node["id"] for node in graph} == {
        "dataset:s3://bucket:raw/orders.csv",
        "job:airflow:daily.load",
        "dataset:postgres://db:5432:shop.public.orders",
    }


def test_a_wrong_token_is_refused_and_nothing_is_stored(server: JupyterServer, store_url: str) -> None:
    wrong = HttpTransport(HttpConfig.from_dict({"url": server.url, "auth": {"type": "api_key", "apiKey": "nope"}}))
    with pytest.raises(requests.HTTPError) as refused:
        wrong.emit(ALL[0][2])
    assert refused.value.response.status_code in (401, 403)
    assert stored(store_url) == 0


def test_cookie_authenticated_posts_need_the_xsrf_token(server: JupyterServer, store_url: str) -> None:
    browser = requests.Session()
    login = browser.get(
        server.url + "nblineage/api/status", headers={"Authorization": f"token {server.token}"}, timeout=10
    )
    assert login.status_code == 200 and any(name.startswith("username-") for name in browser.cookies.get_dict())
    event = json.dumps(ALL[0][2])
    headers = {"Content-Type": "application/json"}
    refused = browser.post(server.url + "api/v1/lineage", data=event, headers=headers, timeout=10)
    assert refused.status_code == 403
    assert stored(store_url) == 0
    browser.get(server.url + "lab", timeout=30)  # the page a browser loads sets the _xsrf cookie
    xsrf = browser.cookies.get("_xsrf")
    assert xsrf, "the server set no _xsrf cookie"
    accepted = browser.post(
        server.url + "api/v1/lineage", data=event, headers={**headers, "X-XSRFToken": xsrf}, timeout=10
    )
    assert accepted.status_code == 201
    assert stored(store_url) == 1
