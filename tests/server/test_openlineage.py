"""The OpenLineage endpoint of a real Jupyter server, on a real store (SQLite and PostgreSQL): Marquez's contract
(201, 422, 400), gzip bodies, bounded sizes (413), the batch endpoint and the Marquez-shaped lineage graph."""

from __future__ import annotations

import gc
import gzip
import json
from typing import Any

import pytest
from events import run_event
from tornado.httpclient import HTTPClientError

from nblineage.lineage.events import check
from nblineage.lineage.store import Store

EVENT = run_event(("spark", "etl.daily"), [("file", "/data/raw.csv")], [("postgres://db:5432", "shop.public.sales")])


def count(store_url: str) -> int:
    with Store(store_url) as store:
        return store.event_count()


async def post(jp_fetch, body: bytes | str, *path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST ``body`` to ``api/v1/lineage`` (or ``path``); (status, decoded JSON answer) even for errors."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        response = await jp_fetch(*(path or ("api", "v1", "lineage")), method="POST", body=body, headers=headers)
    except HTTPClientError as error:
        return error.code, json.loads(error.response.body)
    return response.code, json.loads(response.body)


async def test_an_event_is_stored_once_with_201(jp_fetch, store_url: str) -> None:
    status, body = await post(jp_fetch, json.dumps(EVENT))
    assert (status, body) == (201, {"status": "stored"})
    again = await post(jp_fetch, json.dumps(EVENT), "nblineage", "api", "v1", "lineage")
    assert again == (201, {"status": "duplicate"})
    assert count(store_url) == 1
    with Store(store_url) as store, store.read() as conn:
        names = {row[0] for row in conn.exec_driver_sql("SELECT name FROM datasets")}
    assert names == {"/data/raw.csv", "shop.public.sales"}


async def test_an_invalid_event_is_422_with_the_reason(jp_fetch, store_url: str) -> None:
    bad = {**EVENT, "run": {"runId": "not-a-uuid"}}
    status, body = await post(jp_fetch, json.dumps(bad))
    assert status == 422
    assert body["code"] == 422 and "run.runId 'not-a-uuid' is not a UUID" in body["message"]
    assert (await post(jp_fetch, json.dumps([EVENT])))[0] == 422  # an array is not one event
    assert count(store_url) == 0


@pytest.mark.parametrize("body", [b'{"eventTime": ', b"", b"\xff\xfe{}", b"{} {}"])
async def test_a_body_that_is_not_json_is_400(jp_fetch, store_url: str, body: bytes) -> None:
    status, answer = await post(jp_fetch, body or b" ")
    assert status == 400
    assert answer["code"] == 400 and answer["message"]
    assert count(store_url) == 0


async def test_gzip_bodies_are_accepted(jp_fetch, store_url: str) -> None:
    status, _ = await post(jp_fetch, gzip.compress(json.dumps(EVENT).encode()), headers={"Content-Encoding": "gzip"})
    assert status == 201
    assert count(store_url) == 1
    status, body = await post(jp_fetch, b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert status == 400 and "gzip" in body["message"]
    status, body = await post(jp_fetch, json.dumps(EVENT), headers={"Content-Encoding": "br"})
    assert status == 415 and "'br'" in body["message"]


async def test_bodies_beyond_the_limit_are_413(jp_fetch, store_url: str, monkeypatch) -> None:
    monkeypatch.setenv("NBLINEAGE_MAX_REQUEST_BYTES", "100000")
    padded = {**EVENT, "job": {**EVENT["job"], "facets": {"pad": {"text": "x" * 200_000}}}}
    status, body = await post(jp_fetch, json.dumps(padded))
    assert status == 413 and "100000 bytes" in body["message"]
    bomb = gzip.compress(json.dumps(padded).encode())  # small when sent, too large once decompressed
    assert len(bomb) < 100_000
    status, body = await post(jp_fetch, bomb, headers={"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed" in body["message"]
    assert count(store_url) == 0


async def test_a_batch_stores_every_valid_event_and_names_each_bad_one(jp_fetch, store_url: str) -> None:
    good = [run_event(("airflow", f"dag.task{i}"), [("file", f"/in/{i}")], [("file", f"/out/{i}")]) for i in range(5)]
    batch: list[Any] = [good[0], {"eventTime": "2026-01-01T00:00:00Z"}, good[1], "text", *good[2:], good[0]]
    status, body = await post(jp_fetch, json.dumps(batch), "api", "v1", "lineage", "batch")
    assert status == 200
    assert (body["received"], body["stored"], body["duplicates"], body["failed"]) == (8, 5, 1, 2)
    assert [(error["index"], error["code"]) for error in body["errors"]] == [(1, 422), (3, 422)]
    assert "no run, job or dataset" in body["errors"][0]["message"]
    assert count(store_url) == 5
    status, body = await post(jp_fetch, json.dumps(good), "nblineage", "api", "v1", "lineage", "batch")
    assert (status, body["stored"], body["duplicates"], body["errors"]) == (201, 0, 5, [])
    status, body = await post(jp_fetch, json.dumps([1, 2]), "api", "v1", "lineage", "batch")
    assert (status, body["failed"]) == (422, 2)
    status, body = await post(jp_fetch, json.dumps(EVENT), "api", "v1", "lineage", "batch")
    assert status == 400 and "JSON array" in body["message"]
    assert count(store_url) == 5


async def test_the_endpoint_refuses_requests_without_credentials(jp_fetch, store_url: str) -> None:
    for path in (("api", "v1", "lineage"), ("api", "v1", "lineage", "batch"), ("nblineage", "api", "v1", "lineage")):
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(*path, method="POST", body=json.dumps(EVENT), headers={"Authorization": ""})
        assert refused.value.code in (401, 403)
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(*path, params={"nodeId": "job:a:b"}, headers={"Authorization": ""})
        assert refused.value.code in (401, 403)
    assert count(store_url) == 0


async def test_bearer_tokens_are_accepted(jp_fetch, jp_serverapp, store_url: str) -> None:
    token = jp_serverapp.identity_provider.token
    status, _ = await post(jp_fetch, json.dumps(EVENT), headers={"Authorization": f"Bearer {token}"})
    assert status == 201
    status, _ = await post(jp_fetch, json.dumps(EVENT), headers={"Authorization": "Bearer wrong"})
    assert status in (401, 403)


async def test_the_lineage_graph_answers_in_marquez_shape(jp_fetch, store_url: str) -> None:
    sales = ("postgres://db:5432", "shop.public.sales")
    with Store(store_url) as store:
        store.append(
            [
                check(run_event(("spark", "etl"), [("file", "/data/raw.csv")], [sales])),
                check(run_event(("jupyter", "report.ipynb"), [sales], [("file", "/out/model.pkl")])),
            ]
        )
    response = await jp_fetch(
        "api", "v1", "lineage", params={"nodeId": "dataset:postgres://db:5432:shop.public.sales", "depth": "4"}
    )
    graph = {node["id"]: node for node in json.loads(response.body)["graph"]}
    center = "dataset:postgres://db:5432:shop.public.sales"
    assert set(graph) == {
        center,
        "dataset:file:/data/raw.csv",
        "dataset:file:/out/model.pkl",
        "job:spark:etl",
        "job:jupyter:report.ipynb",
    }
    assert graph[center]["type"] == "DATASET" and graph["job:spark:etl"]["type"] == "JOB"
    assert graph[center]["inEdges"] == [{"origin": "job:spark:etl", "destination": center}]
    assert graph[center]["outEdges"] == [{"origin": center, "destination": "job:jupyter:report.ipynb"}]
    assert graph[center]["data"]["id"] == {"namespace": "postgres://db:5432", "name": "shop.public.sales"}
    assert graph["job:spark:etl"]["data"]["inputs"] == [{"namespace": "file", "name": "/data/raw.csv"}]
    near = await jp_fetch("api", "v1", "lineage", params={"nodeId": "job:spark:etl", "depth": "1"})
    assert {node["id"] for node in json.loads(near.body)["graph"]} >= {"job:spark:etl", center}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"nodeId": "table:x:y"}, 400),
        ({"nodeId": "dataset:none:here"}, 404),
        ({"nodeId": "job:a:b", "depth": "x"}, 400),
    ],
)
async def test_the_lineage_graph_explains_bad_requests(jp_fetch, store_url: str, params, status: int) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("api", "v1", "lineage", params=params)
    assert refused.value.code == status
    assert json.loads(refused.value.response.body)["message"]


async def test_integers_beyond_64_bits_stay_exact(jp_fetch, store_url: str) -> None:
    big = 2**70 + 1
    event = {**EVENT, "job": {**EVENT["job"], "facets": {"custom": {"count": big, "digits": "1234567890123456789012"}}}}
    status, _ = await post(jp_fetch, json.dumps(event))
    assert status == 201
    with Store(store_url) as store, store.read() as conn:
        payload = json.loads(conn.exec_driver_sql("SELECT payload FROM events").scalar_one())
    assert payload["job"]["facets"]["custom"]["count"] == big


async def test_a_secret_in_one_event_of_a_large_batch_is_cut(jp_fetch, store_url: str) -> None:
    """One event of 1,000 carries credentials (a URL's password, a secret-named field, an AWS key in SQL): they
    are cut from it, and only from it; the others are stored exactly as sent."""
    events = [
        run_event(("spark", f"etl.job{i % 50}"), [("file", f"/data/in{i % 7}.csv")], [("file", f"/data/out{i}.csv")])
        for i in range(1000)
    ]
    leaky = events[617]
    leaky["inputs"][0]["namespace"] = "postgresql://etl:hunter2pw@db.internal:5432"
    leaky["run"]["facets"] = {
        "environment": {"_producer": "p", "_schemaURL": "s", "DB_PASSWORD": "s3cr3t-value", "user": "etl"},
        "sql": {
            "_producer": "p",
            "_schemaURL": "s",
            "query": "COPY t FROM 's3://b/k' CREDENTIALS 'AKIAIOSFODNN7EXAMPLE'",
        },
    }
    status, body = await post(jp_fetch, json.dumps(events), "api", "v1", "lineage", "batch")
    assert (status, body["stored"], body["failed"]) == (201, 1000, 0)
    with Store(store_url) as store, store.read() as conn:
        stored = {row[0]: row[1] for row in conn.exec_driver_sql("SELECT hash, payload FROM events")}
    assert len(stored) == 1000
    for secret in ("hunter2pw", "s3cr3t-value", "AKIAIOSFODNN7EXAMPLE"):
        assert not [text for text in stored.values() if secret in text]
    cut = check(leaky)
    assert (
        cut.hash in stored and json.loads(stored[cut.hash])["inputs"][0]["namespace"] == "postgresql://db.internal:5432"
    )
    assert json.loads(stored[cut.hash])["run"]["facets"]["environment"]["user"] == "etl"
    others = [check(event) for index, event in enumerate(events) if index != 617]
    assert all(stored.get(event.hash) == event.text for event in others)
    assert all(json.loads(event.text) == events[index + (index >= 617)] for index, event in enumerate(others))


def test_ingest_pauses_the_collector_only_while_it_works(store_url: str) -> None:
    """An ingest pauses the cycle collector while it parses, checks and stores (it would walk every parsed
    object), and it runs again afterwards, whether the body was stored or refused."""
    from nblineage.server.ingest import ingest

    bodies = [
        (json.dumps([EVENT]), True, 201),
        ("[not json", True, 400),
        (json.dumps({"not": "a list"}), True, 400),
        (json.dumps(EVENT), False, 201),
        (json.dumps({"eventTime": "x"}), False, 422),
    ]
    assert gc.isenabled()
    with Store(store_url) as store:
        for body, many, status in bodies:
            assert ingest(store, body.encode(), None, many, 1 << 20)[0] == status
            assert gc.isenabled()
