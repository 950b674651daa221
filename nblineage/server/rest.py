"""nblineage's answers over REST, under ``/nblineage/api/``: thin handlers over ``governance`` and ``lineage``.

Each route reads its query parameters (checked on the event loop), then computes its answer in the store's threads
with the very functions the command line and ``%lineage`` use (the command table's, through :class:`ServerSurface`)
and answers its ``to_json()``. ``docs/rest.md`` lists the routes, their parameters and their answers.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from jupyter_server.auth.decorator import authorized
from tornado import web

from nblineage import commands
from nblineage.lineage.limits import DEFAULT_DEPTH, DEFAULT_LIMIT
from nblineage.server.base import NblineageHandler

PREFIX = "nblineage/api"
MAX_NODES = 10 * DEFAULT_LIMIT  # the most nodes a graph answer may be asked for
GRAPH_DEPTH = 1  # dataset hops of a graph answer unless asked (what the widget opens with)
NODE_KINDS = ("dataset", "model", "cell", "job")

log = logging.getLogger(__name__)


class ServerSurface(commands.Surface):
    """The command table's view of the server: its store (kept open), remarks to the server's log, and nodes
    as a user types them or, with ``kind``, exactly as a graph answer or a search hit gave them."""

    def __init__(self, store: Any, kind: str | None = None) -> None:
        self._store = store
        self._kind = kind

    @contextmanager
    def store(self, args: argparse.Namespace, *, writer: bool = False) -> Iterator[Any]:
        yield self._store

    def note(self, text: str) -> None:
        log.info("nblineage: %s", text)

    def node(self, store: Any, text: str, namespace: str | None, version: str | None = None) -> Any:
        from nblineage.lineage.graph import DatasetRef, JobRef

        if self._kind is None:
            return super().node(store, text, namespace, version)
        if namespace is None:
            raise ValueError("a node given with its kind needs its namespace too")
        return JobRef(namespace, text) if self._kind in ("cell", "job") else DatasetRef(namespace, text, version)


class AnswerHandler(NblineageHandler):
    """``GET``: one answer as JSON. :meth:`params` reads the query; :meth:`compute` answers on the store."""

    def params(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    @web.authenticated
    @authorized
    async def get(self) -> None:
        params = self.params()
        self.answer(await self.run(type(self).compute, params))

    def node_text(self, name: str) -> str:
        """Required parameter ``name`` naming a node: 400 when absent or empty."""
        text = self.text(name, required=True)
        if not text:
            raise web.HTTPError(400, f"parameter {name!r} is empty: pass a path, a URI, or a name with namespace")
        return text

    def node_params(self, depth: int | None = DEFAULT_DEPTH) -> dict[str, Any]:
        """A node: ``node`` (a path, a URI, ``models:/``, ``runs:/``, or a name with ``namespace``), ``version``
        (empty: the "version unknown" node), ``kind`` (the node exactly as a graph answer gave it), ``depth``."""
        kind = self.text("kind")
        if kind is not None and kind not in NODE_KINDS:
            raise web.HTTPError(400, f"kind must be one of {', '.join(NODE_KINDS)}, not {kind[:40]!r}")
        args = argparse.Namespace(
            node=self.node_text("node"),
            namespace=self.text("namespace") or None,
            version=self.text("version"),
            url=None,
        )
        if depth is not None:
            args.depth = self.number("depth", depth)
        return {"args": args, "kind": kind}


class StatusHandler(AnswerHandler):
    """``GET /nblineage/api/status``: the store the server answers from, how many events it holds, and the folder
    the server serves (notebooks are named in the store by absolute path, in JupyterLab relative to it)."""

    def params(self) -> dict[str, Any]:
        root = self.settings.get("server_root_dir")
        return {"root": os.path.abspath(os.path.expanduser(root)) if root else None}

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        return {"store": store.display_url, "events": store.event_count(), "root": params["root"]}


class SearchHandler(AnswerHandler):
    """``GET /nblineage/api/search?q=&kind=&namespace=&limit=&offset=``: datasets, models and jobs by name."""

    def params(self) -> dict[str, Any]:
        from nblineage.lineage.search import DEFAULT_KINDS

        kinds = [part.strip() for value in self.texts("kind") for part in value.split(",") if part.strip()]
        return {
            "query": self.text("q") or "",
            "kinds": tuple(dict.fromkeys(kinds)) or DEFAULT_KINDS,
            "namespace": self.text("namespace") or None,
            "limit": self.number("limit", 50),
            "offset": self.number("offset", 0),
        }

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.lineage.search import search

        return search(store, **params).to_json()


class GraphHandler(AnswerHandler):
    """``GET /nblineage/api/graph?node=&depth=&limit=``: the neighbourhood of a node (docs/graph.md)."""

    def params(self) -> dict[str, Any]:
        params = self.node_params(GRAPH_DEPTH)
        params["limit"] = self.number("limit", DEFAULT_LIMIT)
        if not 1 <= params["limit"] <= MAX_NODES:
            raise web.HTTPError(400, f"limit must be from 1 to {MAX_NODES} nodes, not {params['limit']}")
        return params

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.governance.neighbourhood import neighbourhood

        args = params["args"]
        ref = ServerSurface(store, params["kind"]).node(store, args.node, args.namespace, args.version)
        return neighbourhood(store, ref, args.depth, params["limit"]).to_json()


class NodeHandler(AnswerHandler):
    """``GET /nblineage/api/node?node=``: what a details pane shows of a node (docs/graph.md)."""

    def params(self) -> dict[str, Any]:
        return self.node_params(depth=None)

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.governance.neighbourhood import node_details

        args = params["args"]
        return node_details(
            store, ServerSurface(store, params["kind"]).node(store, args.node, args.namespace, args.version)
        )


def command_route(name: str, run: commands.Run, depth: bool = True) -> type[AnswerHandler]:
    """A handler answering what command ``name`` of the command table answers (``nblineage NAME --json``)."""

    class CommandHandler(AnswerHandler):
        def params(self) -> dict[str, Any]:
            return self.node_params(DEFAULT_DEPTH if depth else None)

        @staticmethod
        def compute(store: Any, params: dict[str, Any]) -> Any:
            return run(ServerSurface(store, params["kind"]), params["args"]).to_json()

    return _named(CommandHandler, name)


class PathHandler(AnswerHandler):
    """``GET /nblineage/api/path?source=&target=``: the lineage path between two nodes; 404 when there is none."""

    def params(self) -> dict[str, Any]:
        namespace = self.text("namespace") or None
        return {
            "args": argparse.Namespace(
                source=self.node_text("source"),
                target=self.node_text("target"),
                namespace=namespace,
                from_namespace=self.text("from_namespace") or None,
                to_namespace=self.text("to_namespace") or None,
                depth=self.number("depth", DEFAULT_DEPTH),
                url=None,
            )
        }

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.lineage.graph import NotFound

        answer = commands.path(ServerSurface(store), params["args"])
        if not answer.nodes:
            raise NotFound(answer.missing)
        return answer.to_json()


def question_route(name: str, depth: bool) -> type[AnswerHandler]:
    """A handler answering one of the questions about a model (``governance.questions``)."""

    class QuestionHandler(AnswerHandler):
        def params(self) -> dict[str, Any]:
            return self.node_params(DEFAULT_DEPTH if depth else None)

        @staticmethod
        def compute(store: Any, params: dict[str, Any]) -> Any:
            from nblineage.governance import questions

            args = params["args"]
            model = ServerSurface(store).model(store, args.node, args.namespace, args.version)
            extra = (args.depth,) if depth else ()
            return getattr(questions, name)(store, model, *extra).to_json()

    return _named(QuestionHandler, name)


class ReportHandler(AnswerHandler):
    """``GET /nblineage/api/report?node=&format=html|pdf|json``: the audit report of a dataset or model, as a file
    to save (``Content-Disposition``); its export is an audit record naming the Jupyter user who asked."""

    TYPES: ClassVar[dict[str, str]] = {
        "html": "text/html; charset=utf-8",
        "pdf": "application/pdf",
        "json": "application/json",
    }

    def params(self) -> dict[str, Any]:
        params = self.node_params(DEFAULT_DEPTH)
        params["format"] = self.text("format") or "html"
        if params["format"] not in self.TYPES:
            raise web.HTTPError(400, f"format must be one of {', '.join(self.TYPES)}, not {params['format'][:40]!r}")
        user = self.current_user
        params["actor"] = str(getattr(user, "username", None) or getattr(user, "name", None) or user)
        return params

    @web.authenticated
    @authorized
    async def get(self) -> None:
        params = self.params()
        data, filename = await self.run(type(self).compute, params)
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(data, set_content_type=self.TYPES[params["format"]])  # APIHandler's finish sets the type

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> tuple[bytes, str]:
        import hashlib
        import re

        from nblineage.governance.report import gather
        from nblineage.governance.report_export import record_export, render

        args, fmt = params["args"], params["format"]
        ref = ServerSurface(store, params["kind"]).node(store, args.node, args.namespace, args.version)
        content = gather(store, ref, depth=args.depth, evidence=fmt == "json")
        data = render(content, fmt)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", content.name.rstrip("/").rpartition("/")[2])[:80].strip("._") or "node"
        filename = f"{stem}-report.{fmt}"
        record_export(
            store,
            content,
            fmt,
            f"{filename} downloaded from the Jupyter server",
            hashlib.sha256(data).hexdigest(),
            params["actor"],
        )
        return data, filename


class PolicyHandler(AnswerHandler):
    """``GET /nblineage/api/policy?node=&depth=``: the policy findings about a dataset or model, the policy section
    of its audit report (``governance.report.policy_section``); nothing is signed."""

    def params(self) -> dict[str, Any]:
        return self.node_params(DEFAULT_DEPTH)

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.governance.report import policy_section

        args = params["args"]
        ref = ServerSurface(store, params["kind"]).node(store, args.node, args.namespace, args.version)
        return policy_section(store, ref, depth=args.depth).to_json()


class AuditVerifyHandler(AnswerHandler):
    """``GET /nblineage/api/audit/verify``: every record of the audit log checked (``governance.audit.verify``); a
    log that fails is answered too (``ok`` false, its problems), not an error."""

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.governance import audit

        return audit.verify(store).to_json()


class AuditCheckpointHandler(AnswerHandler):
    """``GET /nblineage/api/audit/checkpoint``: a checkpoint of the audit log as it stands, signed with the server's
    audit key, with its size, root and the public key that checks it; 409 when the log does not verify (a damaged
    log is never signed), 503 when the key cannot be used."""

    @staticmethod
    def compute(store: Any, params: dict[str, Any]) -> Any:
        from nblineage.governance import audit
        from nblineage.governance.note import NoteError
        from nblineage.governance.text import printable

        try:
            note = audit.checkpoint(store)
            vkey = audit.public_key()
        except NoteError as error:
            raise web.HTTPError(503, f"the audit signing key cannot be used: {printable(error)}") from None
        except audit.AuditError as error:
            raise web.HTTPError(409, printable(error)) from None
        point = audit.parse_checkpoint(note)
        root = base64.b64encode(point.root).decode()
        return {"checkpoint": note, "origin": point.origin, "size": point.size, "root": root, "publicKey": vkey}


def _named(handler: type[AnswerHandler], name: str) -> type[AnswerHandler]:
    """The handler class named after what it answers (``models-from``: ``ModelsFromHandler``), for logs."""
    words = name.removeprefix("model_").replace("-", "_").split("_")
    handler.__name__ = handler.__qualname__ = "".join(word.title() for word in words) + "Handler"
    return handler


ROUTES: list[tuple[str, type]] = [
    (f"{PREFIX}/status", StatusHandler),
    (f"{PREFIX}/search", SearchHandler),
    (f"{PREFIX}/graph", GraphHandler),
    (f"{PREFIX}/node", NodeHandler),
    (f"{PREFIX}/upstream", command_route("upstream", commands.walk("upstream"))),
    (f"{PREFIX}/downstream", command_route("downstream", commands.walk("downstream"))),
    (f"{PREFIX}/models-from", command_route("models-from", commands.models_from)),
    (f"{PREFIX}/explain", command_route("explain", commands.explain, depth=False)),
    (f"{PREFIX}/path", PathHandler),
    (f"{PREFIX}/inputs", question_route("model_inputs", depth=True)),
    (f"{PREFIX}/performance", question_route("model_performance", depth=False)),
    (f"{PREFIX}/resources", question_route("model_resources", depth=True)),
    (f"{PREFIX}/location", question_route("model_location", depth=False)),
    (f"{PREFIX}/impact", command_route("impact", commands.impact)),
    (f"{PREFIX}/quality", command_route("quality", commands.quality, depth=False)),
    (f"{PREFIX}/policy", PolicyHandler),
    (f"{PREFIX}/audit/verify", AuditVerifyHandler),
    (f"{PREFIX}/audit/checkpoint", AuditCheckpointHandler),
    (f"{PREFIX}/report", ReportHandler),
]
