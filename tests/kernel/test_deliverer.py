"""The delivery process stores the events as the kernel checked them: the same canonical text and hash, credentials
cut out by the kernel's check staying out, an event sent twice stored once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from nblineage.kernel_ext.deliverer import URL_VARIABLE, ProcessStore, StoreRefused
from nblineage.lineage.events import check
from nblineage.lineage.store import Store


def _event(state: str, **extra: object) -> dict[str, object]:
    return {
        "eventType": state,
        "eventTime": "2026-12-03T05:00:00.123456+02:00",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "jupyter", "name": "nb.ipynb#c1", "facets": {}},
        "inputs": [{"namespace": "file", "name": "/data/ä.csv", "facets": {}}],
        "outputs": [],
        "producer": "https://example.com/producer",
        **extra,
    }


def test_events_are_stored_as_the_kernel_checked_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()
    secret = "postgresql://ann:hunter2@db.example.com/sales"
    events = [check(_event("START")), check(_event("COMPLETE", note={"url": secret}))]
    assert "hunter2" not in events[1].text  # the kernel's check cut it out
    store = ProcessStore(url)
    try:
        assert store.append(events) == 2
        assert store.append(events[:1]) == 0  # the same event again: stored once
    finally:
        store.close()
    assert store._process.returncode == 0  # it ended on its own once its input closed, store closed first
    with Store(url) as reader, reader.read() as conn:
        rows = {row[0]: row[1:] for row in conn.exec_driver_sql("SELECT hash, payload, event_time FROM events")}
    assert set(rows) == {event.hash for event in events}
    for event in events:
        payload, moment = rows[event.hash]
        assert payload == event.text
        assert str(moment).replace(" ", "T") == event.time.isoformat() == "2026-12-03T03:00:00.123456"
    assert "hunter2" not in "".join(payload for payload, _ in rows.values())


def test_a_refused_batch_is_said_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()
    event = check(_event("START"))
    broken = type(event)(payload={"run": {}}, kind=event.kind, time=event.time, hash=event.hash + "x", text="{}")
    store = ProcessStore(url)
    try:
        with pytest.raises(StoreRefused):
            store.append([broken])
        assert store.append([event]) == 1  # the process goes on
    finally:
        store.close()


def test_a_kernel_gone_before_its_answer_ends_the_process_quietly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()
    process = subprocess.Popen(
        [sys.executable, "-m", "nblineage.kernel_ext.deliverer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, URL_VARIABLE: url, "NBLINEAGE_DELIVER_TIMEOUT": "5,5"},
    )
    process.stdout.close()  # type: ignore[union-attr]  # the kernel is gone: nobody reads the answer
    process.stdin.write(orjson.dumps({"op": "open"}) + b"\n")  # type: ignore[union-attr]
    process.stdin.close()  # type: ignore[union-attr]
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""  # type: ignore[union-attr]
