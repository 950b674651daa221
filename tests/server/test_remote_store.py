"""The kernel's delivery to a Jupyter server (``kernel_ext/remote.py``) against the real endpoint of a real server:
batches, a batch halved when the server takes less per request, an event the server refuses set aside (everything
else stored), a server down or a wrong token leaving everything in the outbox, the token never in a message."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from events import run_event

from nblineage.kernel_ext import delivery
from nblineage.kernel_ext.remote import RemoteStore
from nblineage.lineage.store import Store
from nblineage.lineage.urls import delivery_problem, url_problem


def lines(count: int) -> list[str]:
    return [
        json.dumps(run_event(("jupyter", f"nb.ipynb#c{i}"), [("file", f"/in/{i}.csv")], [("file", f"/out/{i}.csv")]))
        for i in range(count)
    ]


@pytest.fixture
def server_url(jp_serverapp, http_server_client, jp_http_port: int, jp_base_url: str) -> str:
    """The test server's base URL, listening (``http_server_client`` starts it on its port)."""
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"


def stored(store_url: str) -> int:
    with Store(store_url) as store:
        return store.event_count()


async def test_delivery_through_the_server_sets_aside_only_what_it_refuses(
    jp_serverapp, server_url: str, store_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("NBLINEAGE_MAX_REQUEST_BYTES", "20000")
    remote = RemoteStore(server_url, token=jp_serverapp.identity_provider.token)
    huge = run_event(("jupyter", "nb.ipynb#big"), job_facets={"pad": {"text": "x" * 30_000}})
    sent = [*lines(30), json.dumps(huge), *lines(60)[30:]]  # 60 small events: more than 20,000 bytes a batch
    aside: list[tuple[str, str]] = []
    delivered = await asyncio.to_thread(delivery.deliver, remote, sent, lambda line, why: aside.append((line, why)))
    assert delivered == 60
    assert [line for line, _ in aside] == [json.dumps(huge)]
    assert aside[0][1].startswith("the store refused it: Refused: HTTP 413: the request body is larger than 20000")
    assert stored(store_url) == 60
    again = await asyncio.to_thread(delivery.deliver, remote, sent[:30], lambda line, why: aside.append((line, why)))
    assert again == 30 and len(aside) == 1 and stored(store_url) == 60  # replayed: stored once
    assert delivery.store_id(remote) == remote.identity


async def test_a_wrong_token_leaves_everything_waiting(jp_serverapp, server_url: str, store_url: str) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    remote = RemoteStore(server_url, token=secret)
    with pytest.raises(delivery.Unreachable) as unreachable:
        await asyncio.to_thread(delivery.deliver, remote, lines(3), lambda line, why: pytest.fail(why))
    assert "refused the token" in str(unreachable.value) and secret not in str(unreachable.value)
    elsewhere = RemoteStore(server_url + "not/the/base/", token=jp_serverapp.identity_provider.token)
    with pytest.raises(delivery.Unreachable, match="has no OpenLineage endpoint"):
        await asyncio.to_thread(delivery.deliver, elsewhere, lines(3), lambda line, why: pytest.fail(why))
    assert stored(store_url) == 0


def test_a_server_that_is_down_leaves_everything_waiting() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket closes
    remote = RemoteStore(f"http://127.0.0.1:{port}/base/", token="t0ken-value")
    with pytest.raises(delivery.Unreachable) as unreachable:
        delivery.deliver(remote, lines(2), lambda line, why: pytest.fail(why))
    assert "cannot be reached" in str(unreachable.value) and "t0ken-value" not in str(unreachable.value)


def test_server_urls_are_for_kernels_and_commands_say_so() -> None:
    assert delivery_problem("http://127.0.0.1:8888/") is None
    assert delivery_problem("https://hub.example.com/user/me/") is None
    assert "must not hold credentials" in delivery_problem("http://me:pw@host:8888/")
    assert "names no host" in delivery_problem("http:///base/")
    problem = url_problem("http://127.0.0.1:8888/")
    assert problem and "Jupyter server" in problem and "commands read a store" in problem


def test_the_hub_token_goes_only_to_the_users_own_server(monkeypatch) -> None:
    from nblineage.config import server_token

    for name in ("NBLINEAGE_TOKEN", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    assert server_token("http://127.0.0.1:8888/") is None
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    assert server_token("http://127.0.0.1:8888/") == "hub-token"
    assert server_token("https://elsewhere.example.com/") is None
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert server_token("https://hub.example.com/user/ada/") == "hub-token"
    assert server_token("https://hub.example.com/user/ada") == "hub-token"
    assert server_token("https://hub.example.com/user/adam/") is None
    assert server_token("http://127.0.0.1:8888/") is None
    monkeypatch.setenv("NBLINEAGE_TOKEN", "mine")
    assert server_token("https://elsewhere.example.com/") == "mine"


def test_commands_given_a_server_url_say_they_read_a_store() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "NBLINEAGE_URL": "http://127.0.0.1:9/"}
    done = subprocess.run(
        [sys.executable, "-m", "nblineage.cli", "datasets"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "names a Jupyter server" in done.stderr and "commands read a store" in done.stderr
