"""The extension's set-up: a Jupyter Server ``ExtensionApp`` holding one store for the server (opened when first
asked for, closed when the server stops) and the routes of every module of the extension under the base URL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Int, default

from nblineage.server import openlineage, rest
from nblineage.server.ingest import Answer, Ingesters, default_processes

SETTINGS_KEY = "nblineage_store"  # ExtensionApp keeps the app itself under "nblineage"
WORKERS = 4  # threads answering from the store at once (each holds one of its connections)

T = TypeVar("T")


class ServerStore:
    """The store a server answers from and ingests into: ``NBLINEAGE_URL``, else the default file, opened once
    (created when it does not exist yet: the server is a writer) and closed with the server. Store work runs in
    its own threads (:meth:`run`), so a long query never blocks the server's event loop; posted events are stored
    by ingest processes (:meth:`ingest`)."""

    def __init__(self, url: str | None = None, workers: int = WORKERS, ingest_processes: int | None = None) -> None:
        self._url = url
        self._store: Any = None
        self._lock = threading.Lock()
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        processes = default_processes() if ingest_processes is None else ingest_processes
        self._ingesters = Ingesters(self.url, processes, self.get)

    @property
    def url(self) -> str:
        from nblineage import config

        return self._url or config.store_url()

    def get(self) -> Any:
        """The store, opened on first use; StoreError when it cannot be (asked again next time)."""
        with self._lock:
            if self._store is None:
                from nblineage.lineage.sqlite_writer import SqliteStore

                # A plain SQLite file is written through sqlite3 (as the kernel writes it); other URLs: SQLAlchemy.
                self._store = SqliteStore(self.url, create=True)
            return self._store

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(store, *args)`` in one of the store's threads, awaited."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="nblineage-store")
            executor = self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, lambda: work(self.get(), *args))

    async def ingest(self, body: bytes, encoding: str | None, many: bool) -> Answer:
        """A request body of the OpenLineage endpoint stored by an ingest process: its status and JSON answer."""
        return await self._ingesters.run(body, encoding, many)

    def close(self) -> None:
        """Close the store, its threads and its ingest processes (work under way finishes first)."""
        self._ingesters.close()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def routes() -> list[tuple[str, type]]:
    """Every route of the extension, relative to the server's base URL."""
    return [*rest.ROUTES, *openlineage.ROUTES]


class NblineageApp(ExtensionApp):
    """nblineage in a Jupyter server: the REST answers and the OpenLineage endpoint, on the server's store."""

    name = "nblineage"
    load_other_extensions = True

    ingest_processes = Int(
        help="Processes that parse, check and store the events posted to the OpenLineage endpoint, started as "
        "bodies come (one a core, at most 4, by default); 0 stores them on one thread of the server.",
    ).tag(config=True)

    @default("ingest_processes")
    def _default_ingest_processes(self) -> int:
        return default_processes()

    def initialize_settings(self) -> None:
        self.settings[SETTINGS_KEY] = ServerStore(ingest_processes=max(0, self.ingest_processes))

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes())
        assert self.serverapp is not None
        base_url = self.serverapp.web_app.settings["base_url"]
        self.log.info("nblineage: lineage REST at %s", url_path_join(base_url, rest.PREFIX))

    async def stop_extension(self) -> None:
        """Close the store when the server stops."""
        holder = self.settings.get(SETTINGS_KEY)
        if holder is not None:
            await asyncio.get_running_loop().run_in_executor(None, holder.close)
