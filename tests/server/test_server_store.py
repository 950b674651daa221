"""The server's store: opened on first use, its work run off the event loop, closed when the server stops."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from nblineage.server.app import SETTINGS_KEY, ServerStore


def open_connections(store_url: str) -> int:
    """Connections to the store this process holds open: SQLite files it has open, PostgreSQL sessions on the
    database but the one asking."""
    if store_url.startswith("sqlite"):
        database = os.path.realpath(store_url.removeprefix("sqlite:///"))
        links = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if _is_link(fd)]
        return sum(1 for link in links if link == database)
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()


def _is_link(fd: str) -> bool:
    try:
        os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    return True


async def test_the_store_is_closed_when_the_server_stops(jp_fetch: Any, jp_serverapp: Any, store_url: str) -> None:
    holder = jp_serverapp.web_app.settings[SETTINGS_KEY]
    assert isinstance(holder, ServerStore)
    for _ in range(3):
        await jp_fetch("nblineage", "api", "search")
    assert open_connections(store_url) >= 1  # the store's pool keeps its connections between requests
    await jp_serverapp.cleanup_extensions()
    assert open_connections(store_url) == 0
    assert holder._store is None and holder._executor is None


async def test_store_work_does_not_block_the_server(jp_fetch: Any, jp_serverapp: Any) -> None:
    holder = jp_serverapp.web_app.settings[SETTINGS_KEY]
    started, release = threading.Event(), threading.Event()

    def slow(store: Any) -> str:
        started.set()
        release.wait(10)  # a query that takes long: it holds one of the store's threads
        return threading.current_thread().name

    slow_work = asyncio.ensure_future(holder.run(slow))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
    begun = time.monotonic()
    response = await jp_fetch("nblineage", "api", "status")  # answered meanwhile, from another thread
    assert response.code == 200 and time.monotonic() - begun < 5
    assert not slow_work.done()
    release.set()
    assert (await slow_work).startswith("nblineage-store")


async def test_a_store_that_failed_to_open_is_tried_again(
    jp_fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tornado.httpclient import HTTPClientError

    url = f"sqlite:///{tmp_path / 'later' / 'lineage.db'}"
    (tmp_path / "later").write_text("a file where the folder goes")
    monkeypatch.setenv("NBLINEAGE_URL", url)
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("nblineage", "api", "status")
    assert refused.value.code == 503
    (tmp_path / "later").unlink()
    response = await jp_fetch("nblineage", "api", "status")  # the folder can be made now
    assert response.code == 200
