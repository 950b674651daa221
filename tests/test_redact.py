"""Credentials in incoming events never reach the store."""

from __future__ import annotations

import json

from events import run_event

from nblineage.lineage.events import check
from nblineage.lineage.redact import MASK, is_secret_key, redact
from nblineage.lineage.store import Store

SECRET = "S3CR3T-hunter2"


def leaky_event() -> dict:
    event = run_event(
        ("airflow", "load"),
        [(f"postgres://etl:{SECRET}@db.internal:5432", "warehouse.public.orders")],
        [("s3://bucket", f"out.csv?X-Amz-Signature={SECRET}&versionId=3")],
    )
    event["run"]["facets"] = {
        "environmentVariables": {
            "_producer": "t",
            "_schemaURL": "t",
            "environmentVariables": [
                {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET},
                {"name": "PATH", "value": "/usr/bin"},
            ],
        }
    }
    event["job"]["facets"] = {
        "sql": {"_producer": "t", "_schemaURL": "t", "query": f"CREATE USER bob WITH PASSWORD '{SECRET}'"},
        "custom": {"_producer": "t", "_schemaURL": "t", "apiToken": SECRET, "tokenizer": "bert", "keep": [1, 2]},
    }
    event["inputs"][0]["facets"] = {
        "dataSource": {"_producer": "t", "_schemaURL": "t", "name": "db", "uri": f"postgres://etl:{SECRET}@db:5432/w"}
    }
    return event


def test_no_secret_survives_check() -> None:
    event = check(leaky_event())
    text = json.dumps(event.payload)
    assert SECRET not in text
    assert event.payload["inputs"][0]["namespace"] == "postgres://db.internal:5432"
    assert event.payload["outputs"][0]["name"].endswith("versionId=3")
    variables = event.payload["run"]["facets"]["environmentVariables"]["environmentVariables"]
    assert variables == [{"name": "AWS_SECRET_ACCESS_KEY", "value": MASK}, {"name": "PATH", "value": "/usr/bin"}]
    custom = event.payload["job"]["facets"]["custom"]
    assert custom["apiToken"] == MASK and custom["tokenizer"] == "bert" and custom["keep"] == [1, 2]


def test_no_secret_reaches_the_store(store: Store) -> None:
    store.append([check(leaky_event())])
    with store.read() as conn:
        for table in ("events", "datasets", "facets", "jobs"):
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}"):
                assert SECRET not in " ".join(map(str, row)), table


def test_events_without_secrets_are_unchanged() -> None:
    event = run_event(("jupyter", "a.ipynb#c"), [("file", "/d/tokens.csv", "v1")], [("s3://b", "k")])
    assert check(json.loads(json.dumps(event))).payload == event
    assert redact(event) == event


def test_secret_key_names() -> None:
    for name in ("password", "DB_PASSWORD", "accessToken", "AWS_SECRET_ACCESS_KEY", "api-key", "Authorization"):
        assert is_secret_key(name), name
    for name in ("tokenizer", "numTokens", "primaryKey", "passage", "name", "keywords"):
        assert not is_secret_key(name), name
