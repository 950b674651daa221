"""The OpenLineage endpoint's ingest processes (nblineage/server/ingest.py): bodies stored by processes of their
own, several at once, nothing lost when one dies, none left behind when the server stops (or is killed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
from events import run_event
from serving import JupyterServer

from nblineage.lineage.store import Store
from nblineage.server.app import ServerStore


def bodies(count: int, per_body: int, tag: str = "") -> list[bytes]:
    """``count`` batch bodies of ``per_body`` distinct events each."""
    return [
        json.dumps(
            [
                run_event((f"spark{tag}", f"job{body}"), [("file", f"/in/{body}-{n}.csv")], [("file", f"/out/{n}")])
                for n in range(per_body)
            ]
        ).encode()
        for body in range(count)
    ]


def stored(store_url: str) -> int:
    with Store(store_url) as store:
        return store.event_count()


def children() -> set[int]:
    """This process's ingest processes (not multiprocessing's resource tracker, which lives as long as we do)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != "zombie" and "spawn_main" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            pass  # ended meanwhile
    return found


def gone(pids: set[int], timeout: float = 30.0) -> bool:
    """Whether every process of ``pids`` has exited (a zombie counts as exited) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        if not alive:
            return True
        time.sleep(0.1)
    return False


async def test_bodies_sent_at_once_are_stored_by_processes_of_their_own(store_url: str) -> None:
    before = children()
    holder = ServerStore(store_url, ingest_processes=2)
    try:
        answers = await asyncio.gather(*(holder.ingest(body, None, True) for body in bodies(6, 50)))
        workers = children() - before
    finally:
        holder.close()
    assert [status for status, _ in answers] == [201] * 6
    assert sum(answer["stored"] for _, answer in answers) == 300
    assert stored(store_url) == 300
    assert len(workers) >= 1 and os.getpid() not in workers  # the work ran in processes of its own
    assert gone(workers)  # and they end with the server's store


async def test_a_single_event_and_refusals_come_back_from_a_process(store_url: str) -> None:
    holder = ServerStore(store_url, ingest_processes=1)
    event = json.dumps(run_event(("spark", "one"), [("file", "/a")], [("file", "/b")])).encode()
    try:
        assert await holder.ingest(event, None, False) == (201, {"status": "stored"})
        assert await holder.ingest(event, None, False) == (201, {"status": "duplicate"})
        status, answer = await holder.ingest(b"[1,", None, True)
        assert status == 400 and answer["code"] == 400 and "malformed JSON" in answer["message"]
        status, answer = await holder.ingest(b'[{"run": {}}]', None, True)
        assert status == 422 and answer["errors"][0]["index"] == 0
    finally:
        holder.close()
    assert stored(store_url) == 1


async def test_a_process_that_dies_loses_nothing(store_url: str) -> None:
    """A process killed while it stores a body: a fresh one stores it again (each event once). Killed again, the
    request is answered 503 (nothing of it known stored) and the producer's next try is stored."""
    holder = ServerStore(store_url, ingest_processes=1)
    before = children()
    try:
        assert (await holder.ingest(bodies(1, 10, "warm")[0], None, True))[0] == 201
        (worker,) = children() - before
        big = bodies(1, 20_000)[0]
        storing = asyncio.ensure_future(holder.ingest(big, None, True))
        await asyncio.sleep(1.0)  # parsing and checking 20,000 events takes seconds
        os.kill(worker, signal.SIGKILL)
        status, answer = await storing
        assert status == 201 and answer["stored"] + answer["duplicates"] == 20_000

        killing = asyncio.ensure_future(kill_every_process(before))
        status, answer = await holder.ingest(bodies(1, 500, "unlucky")[0], None, True)
        killing.cancel()
        assert status == 503 and "send it again" in answer["message"]
        status, answer = await holder.ingest(bodies(1, 500, "unlucky")[0], None, True)
        assert status == 201 and answer["stored"] + answer["duplicates"] == 500
    finally:
        holder.close()
    assert stored(store_url) == 20_510


async def test_where_processes_cannot_run_a_thread_stores(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """Processes that never store a body (here each is killed as it starts; in life, a server's main script that
    fails when each new process runs it again) give way to a thread of the server, with a warning: nothing is
    refused for it."""
    before = children()
    holder = ServerStore(store_url, ingest_processes=2)
    killing = asyncio.ensure_future(kill_every_process(before))
    try:
        status, answer = await holder.ingest(bodies(1, 300)[0], None, True)
        assert (status, answer["stored"]) == (201, 300)
        killing.cancel()
        status, answer = await holder.ingest(bodies(1, 10, "next")[0], None, True)
        assert (status, answer["stored"]) == (201, 10)
        assert children() - before == set()  # no process started again
    finally:
        killing.cancel()
        holder.close()
    assert "ingest processes cannot run" in caplog.text
    assert stored(store_url) == 310


async def kill_every_process(but: set[int]) -> None:
    """SIGKILL every ingest process of this process (but ``but``) as soon as it appears, until cancelled."""
    while True:
        for pid in children() - but:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.02)


def test_processes_end_when_the_server_is_killed(tmp_path: Path, store_url: str) -> None:
    """A server killed outright (SIGKILL: no shutdown hook runs) leaves no ingest process behind."""
    with JupyterServer(store_url, tmp_path) as server:
        request = urllib.request.Request(
            server.url + "api/v1/lineage/batch",
            data=bodies(1, 20)[0],
            headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
        assert server.process is not None
        workers = {child.pid for child in psutil.Process(server.process.pid).children(recursive=True)}
        assert workers
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        assert gone(workers)
    assert stored(store_url) == 20


@pytest.fixture
def jp_server_config(store_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    extensions = {"nblineage": True, "jupyter_server_terminals": False}
    return {"ServerApp": {"jpserver_extensions": extensions}, "NblineageApp": {"ingest_processes": 0}}


async def test_no_processes_stores_on_a_thread_of_the_server(jp_fetch, store_url: str) -> None:
    before = children()
    response = await jp_fetch("api", "v1", "lineage", "batch", method="POST", body=bodies(1, 5)[0])
    assert response.code == 201 and json.loads(response.body)["stored"] == 5
    assert children() == before
    assert stored(store_url) == 5
