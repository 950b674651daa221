"""The OpenLineage endpoint: ``POST /api/v1/lineage`` (and ``/nblineage/api/v1/lineage``), what an OpenLineage
server accepts, so Spark, Airflow, dbt and remote kernels send their events to the Jupyter server.

Marquez's contract: 201 when the event is stored (or was already: the store is idempotent on the event's hash),
422 for an event that fails validation, 400 for a body that is not JSON, 413 for one too large (gzip bodies are
measured decompressed), the reason in ``{code, message}``. ``POST /api/v1/lineage/batch`` takes a JSON array:
every valid event is stored; 201 when all were, else 200 (422 when none was) with a summary naming each refusal.
``GET /api/v1/lineage?nodeId=...&depth=N`` answers in Marquez's lineage graph shape (:mod:`.marquez`).
Parsing, checking and storing run on one worker thread, off the server's event loop.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tornado import web

from nblineage.server.base import NblineageHandler
from nblineage.server.bodies import BodyError, decoded, max_bytes, parse_json

T = TypeVar("T")
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblineage-ingest")  # one writer: no lock waits
MAX_SHOWN_ERRORS = 1000  # refusals a batch answer names one by one (the counts cover all)


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


class LineageHandler(NblineageHandler):
    """``POST /api/v1/lineage``: one event. ``GET``: the lineage graph around ``nodeId`` (Marquez's shape)."""

    @web.authenticated
    async def post(self) -> None:
        def work() -> tuple[int, Any]:
            with _gc_paused():
                payload = self.payload()
                try:
                    outcome = store_one(self.store, payload)
                except Refused as refused:
                    return refused.status, {"code": refused.status, "message": str(refused)}
            return 201, {"status": outcome}

        status, body = await self.off_loop(work)
        self.answer(body, status)

    @web.authenticated
    async def get(self) -> None:
        from nblineage.server.marquez import DEFAULT_DEPTH, lineage_graph

        node_id = self.get_query_argument("nodeId", "")
        if not node_id:
            raise web.HTTPError(400, "nodeId is required: dataset:NAMESPACE:NAME or job:NAMESPACE:NAME")
        raw_depth = self.get_query_argument("depth", str(DEFAULT_DEPTH))
        try:
            depth = int(raw_depth)
        except ValueError:
            raise web.HTTPError(400, f"depth must be a whole number, not {raw_depth[:20]!r}") from None
        self.answer(await self.off_loop(lambda: lineage_graph(self.store, node_id, depth), reader=True))

    def payload(self) -> Any:
        """The decoded JSON body (gzip or not), size bounded; BodyError otherwise."""
        request = self.request
        data = decoded(request.body, request.headers.get("Content-Encoding"), max_bytes())
        return parse_json(data)

    async def off_loop(self, work: Callable[[], T], reader: bool = False) -> T:
        """Run ``work`` on the ingest thread (a ``reader`` on the loop's default pool, so a long query never holds
        up ingest); BodyError and Refused become the HTTP error they stand for."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None if reader else _WORKER, work)
        except (BodyError, Refused) as error:
            raise web.HTTPError(error.status, str(error)) from None


class BatchHandler(LineageHandler):
    """``POST /api/v1/lineage/batch``: a JSON array of events, each stored or refused on its own."""

    @web.authenticated
    async def post(self) -> None:
        spent = _Spent()

        def work() -> tuple[int, Any]:
            spent.pause()  # parsing, checking and storing make no garbage cycles
            payloads = self.payload()
            if not isinstance(payloads, list):
                raise BodyError(400, f"the batch endpoint takes a JSON array of events, not {_json_type(payloads)}")
            spent.held = payloads
            result = store_batch(self.store, payloads)
            return result.status, result.to_json()

        try:
            status, body = await self.off_loop(work)
            self.answer(body, status)
        finally:
            _WORKER.submit(spent.free)  # after the work (one ingest thread), once the answer is on its way

    @web.authenticated
    async def get(self) -> None:
        raise web.HTTPError(405, "the batch endpoint takes POST: a JSON array of events")


class _Spent:
    """A batch's decoded events, freed on the ingest thread after the answer is sent (freeing a 1,000-event body's
    objects takes about a tenth of its time), the cycle collector paused from parsing until they are freed: it
    would walk every one of them."""

    def __init__(self) -> None:
        self.held: Any = None
        self.collecting = False

    def pause(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def free(self) -> None:
        self.held = None
        if self.collecting:
            gc.enable()


def _gc_paused() -> AbstractContextManager[None]:
    """The cycle collector paused while a body is parsed, checked and stored (``Store.append`` does the same)."""
    from nblineage.lineage.store import cyclic_gc_paused

    return cyclic_gc_paused()


def _json_type(value: Any) -> str:
    return {dict: "an object", str: "a string", bool: "a boolean"}.get(type(value), "a " + type(value).__name__)


ROUTES: list[tuple[str, type]] = [
    ("api/v1/lineage", LineageHandler),
    ("api/v1/lineage/batch", BatchHandler),
    ("nblineage/api/v1/lineage", LineageHandler),
    ("nblineage/api/v1/lineage/batch", BatchHandler),
]
