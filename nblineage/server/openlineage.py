"""The OpenLineage endpoint: ``POST /api/v1/lineage`` (and ``/nblineage/api/v1/lineage``), what an OpenLineage
server accepts, so Spark, Airflow, dbt and remote kernels send their events to the Jupyter server.

Marquez's contract: 201 when the event is stored (or was already: the store is idempotent on the event's hash),
422 for an event that fails validation, 400 for a body that is not JSON, 413 for one too large (gzip bodies are
measured decompressed), the reason in ``{code, message}``. ``POST /api/v1/lineage/batch`` takes a JSON array:
every valid event is stored; 201 when all were, else 200 (422 when none was) with a summary naming each refusal.
``GET /api/v1/lineage?nodeId=...&depth=N`` answers in Marquez's lineage graph shape (:mod:`.marquez`).
Bodies are parsed, checked and stored by the server store's ingest processes (:mod:`.ingest`), off the server's
event loop and its GIL.
"""

from __future__ import annotations

from tornado import web

from nblineage.server.base import NblineageHandler


class LineageHandler(NblineageHandler):
    """``POST /api/v1/lineage``: one event. ``GET``: the lineage graph around ``nodeId`` (Marquez's shape)."""

    many = False  # the batch endpoint's body is a JSON array of events

    @web.authenticated
    async def post(self) -> None:
        encoding = self.request.headers.get("Content-Encoding")
        status, answer = await self.server_store.ingest(self.request.body, encoding, self.many)
        self.answer(answer, status)

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
        self.answer(await self.run(lineage_graph, node_id, depth))


class BatchHandler(LineageHandler):
    """``POST /api/v1/lineage/batch``: a JSON array of events, each stored or refused on its own."""

    many = True

    @web.authenticated
    async def get(self) -> None:
        raise web.HTTPError(405, "the batch endpoint takes POST: a JSON array of events")


ROUTES: list[tuple[str, type]] = [
    ("api/v1/lineage", LineageHandler),
    ("api/v1/lineage/batch", BatchHandler),
    ("nblineage/api/v1/lineage", LineageHandler),
    ("nblineage/api/v1/lineage/batch", BatchHandler),
]
