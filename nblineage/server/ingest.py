"""The OpenLineage endpoint's work: request bodies parsed, checked and stored, in processes of their own.

A body of 1,000 events costs about 140 µs of CPU an event, most of it Python holding the GIL (parsing, checking,
deriving the graph), so one server process stores about 7,000 events a second whatever the machine. The server
hands each body as it came (bytes, gzip or not) to a pool of ingest processes (``Ingesters``): each parses, checks
and appends its body to the store on its own, so requests from several producers are stored on as many cores;
SQLite's write lock (PostgreSQL's row locks) orders their transactions, and the graph does not depend on the order
events arrive in. Nothing of this module imports Tornado or SQLAlchemy: a process starts in about 0.1 s.

With no processes (``NblineageApp.ingest_processes = 0``) the same work runs on one thread of the server.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from nblineage.server.bodies import BodyError, decoded, max_bytes, parse_json, too_large

MAX_SHOWN_ERRORS = 1000  # refusals a batch answer names one by one (the counts cover all)
DEFAULT_PROCESSES = 4  # at most; never more than the machine's cores
Answer = tuple[int, dict[str, Any]]  # an HTTP status and its JSON body
log = logging.getLogger(__name__)


class Refused(ValueError):
    """The one event of a request cannot be stored: status 422 (invalid) or 503 (the store cannot be used)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class BatchResult:
    """What storing a batch did: counts, and each refused event's index and reason."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.received - self.stored - self.duplicates

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "errors": self.errors[:MAX_SHOWN_ERRORS],
        }

    @property
    def status(self) -> int:
        if not self.failed:
            return 201
        return 422 if self.failed == self.received else 200


def default_processes() -> int:
    """Ingest processes a server starts at most: one a core, up to ``DEFAULT_PROCESSES``."""
    return max(1, min(DEFAULT_PROCESSES, os.cpu_count() or 1))


def store_one(store: Any, payload: Any) -> str:
    """Check and store one decoded event; ``stored`` or ``duplicate``; Refused(422) for an invalid event."""
    result = store_batch(store, [payload])
    if result.errors:
        raise Refused(result.errors[0]["code"], result.errors[0]["message"])
    return "stored" if result.stored else "duplicate"


def store_batch(store: Any, payloads: list[Any]) -> BatchResult:
    """Check and store decoded events: every valid one is stored, each invalid one is an error with its index.
    Raises Refused(503) when the store cannot be reached (then nothing is known stored)."""
    from nblineage.lineage.events import InvalidEvent, check

    result = BatchResult(received=len(payloads))
    valid: list[tuple[int, Any]] = []
    for index, payload in enumerate(payloads):
        try:
            valid.append((index, check(payload)))
        except InvalidEvent as error:
            result.errors.append({"index": index, "code": 422, "message": str(error)})
        except RecursionError:
            result.errors.append({"index": index, "code": 422, "message": "the event is nested too deeply"})
        except Exception as error:  # a defect of nblineage: never a reason to lose the batch's other events
            message = f"internal error while checking this event ({type(error).__name__}: {_first(error)})"
            result.errors.append({"index": index, "code": 422, "message": message})
    try:
        outcome = store.append(event for _, event in valid)
        result.stored, result.duplicates = outcome.stored, outcome.duplicates
    except Exception as error:
        _raise_if_unusable(store, error)
        for index, event in valid:  # the store refuses one of them: find which, one at a time
            try:
                outcome = store.append([event])
            except Exception as refused:
                _raise_if_unusable(store, refused)
                message = f"the store refused it: {_first(refused)}"
                result.errors.append({"index": index, "code": 422, "message": message})
                continue
            result.stored += outcome.stored
            result.duplicates += outcome.duplicates
    result.errors.sort(key=lambda error: error["index"])
    return result


def ingest(store: Any, body: bytes, encoding: str | None, many: bool, limit: int) -> Answer:
    """A request's body (``many``: the batch endpoint's JSON array; at most ``limit`` bytes, sent and decoded)
    parsed, checked and stored: the status and JSON answer. The cycle collector is paused meanwhile (nothing here
    makes cycles, and it would walk every parsed object); the parsed events are freed before it runs again."""
    from nblineage.lineage.store import cyclic_gc_paused

    try:
        with cyclic_gc_paused():
            payloads = parse_json(decoded(body, encoding, limit))
            if not many:
                return 201, {"status": store_one(store, payloads)}
            if not isinstance(payloads, list):
                raise BodyError(400, f"the batch endpoint takes a JSON array of events, not {_json_type(payloads)}")
            result = store_batch(store, payloads)
            del payloads
            return result.status, result.to_json()
    except (BodyError, Refused) as error:
        return error.status, {"code": error.status, "message": str(error)}


class Ingesters:
    """The pool of ingest processes of a server's store (started when the first body comes, up to ``processes``;
    ``0``: one thread of the server, on ``open_store()``'s store). When a process dies, the pool is started afresh
    and the bodies it held are stored again (their events are stored once however often they come); a body whose
    second process dies too is answered 503, for its producer to send again. When no process has ever stored a
    body here (the server's main script, run again by each new process, fails there, or processes cannot start),
    the pool gives way to the thread, with a warning in the server's log."""

    def __init__(self, url: str, processes: int, open_store: Any) -> None:
        self.url = url
        self.processes = processes
        self._open_store = open_store
        self._lock = threading.Lock()
        self._executor: Executor | None = None
        self._worked = False  # a process has stored a body

    async def run(self, body: bytes, encoding: str | None, many: bool) -> Answer:
        """Store a request's body in a process (or the ingest thread) and return the answer, awaited."""
        limit = max_bytes()
        if len(body) > limit:  # not sent to a process for nothing
            error = too_large(limit)
            return error.status, {"code": error.status, "message": str(error)}
        loop = asyncio.get_running_loop()
        if self._executor is None:  # the store created and migrated once, here, before processes open it
            await loop.run_in_executor(None, self._open_store)
        if self.processes <= 0:
            executor = self._started()
            return await loop.run_in_executor(executor, lambda: ingest(self._open_store(), body, encoding, many, limit))
        for _ in range(2):  # a process that died (before or while it stored this body): once more, in a fresh one
            executor = self._started()
            try:
                answer = await loop.run_in_executor(executor, _ingest_here, body, encoding, many, limit)
            except BrokenProcessPool as error:
                self._discard(executor)
                broken = error
                continue
            self._worked = True
            return answer
        if not self._worked:  # processes cannot run here at all: the server's own thread stores, as with 0
            if self.processes > 0:
                log.warning("nblineage: ingest processes cannot run (%s); events are stored on a thread", broken)
                self.processes = 0
            return await self.run(body, encoding, many)
        message = f"the ingest process stopped ({broken}): nothing of this request is known stored, send it again"
        return 503, {"code": 503, "message": message}

    def _started(self) -> Executor:
        """The pool (or the thread) that takes the next body, started if need be."""
        with self._lock:
            wanted = ProcessPoolExecutor if self.processes > 0 else ThreadPoolExecutor
            if not isinstance(self._executor, wanted):
                stale, self._executor = self._executor, self._new_executor()
                if stale is not None:
                    stale.shutdown(wait=False, cancel_futures=True)
            return self._executor

    def _new_executor(self) -> Executor:
        if self.processes <= 0:
            return ThreadPoolExecutor(1, thread_name_prefix="nblineage-ingest")
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),  # a server's threads make fork unsafe
            initializer=_start_process,
            initargs=(self.url,),
        )

    def _discard(self, executor: Executor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the processes (or the thread) once the work under way is done."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


# --- in an ingest process ------------------------------------------------------------------------------------------

_url: str | None = None
_store: Any = None


def _start_process(url: str) -> None:
    """An ingest process's start: its store's URL kept, and a watch that ends it when the server is gone (killed
    outright, the server cannot stop it: a transaction under way is rolled back by the store)."""
    global _url
    _url = url
    threading.Thread(target=_exit_with_server, name="nblineage-server-watch", daemon=True).start()


def _exit_with_server() -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns once the server has exited
        os._exit(0)


def _ingest_here(body: bytes, encoding: str | None, many: bool, limit: int) -> Answer:
    """:func:`ingest` in an ingest process, on its store (opened on first use, again after it could not be)."""
    global _store
    if _store is None:
        from nblineage.lineage.sqlite_writer import SqliteStore
        from nblineage.lineage.store import StoreError

        try:
            _store = SqliteStore(_url, create=True)
        except StoreError as error:
            from nblineage.governance.text import printable

            return 503, {"code": 503, "message": printable(error)}
    return ingest(_store, body, encoding, many, limit)


def _raise_if_unusable(store: Any, error: Exception) -> None:
    """Refused(503) unless ``error`` is the store refusing an event: it is down, locked or cannot be opened."""
    from nblineage.lineage.store import StoreError

    if isinstance(error, StoreError):
        raise Refused(503, _first(error)) from error
    try:
        with store.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        raise Refused(503, f"the store failed: {_first(error)}") from error
    if any(word in str(error).lower() for word in ("locked", "busy", "timeout", "deadlock", "no space", "disk")):
        raise Refused(503, f"the store is busy: {_first(error)}") from error


def _first(error: BaseException) -> str:
    from nblineage.lineage.urls import shown_url

    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return shown_url(text[0]) if text else type(error).__name__


def _json_type(value: Any) -> str:
    return {dict: "an object", str: "a string", bool: "a boolean"}.get(type(value), "a " + type(value).__name__)
