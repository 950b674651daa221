"""The lineage graph widget: the neighbourhood of one node (docs/graph.md), drawn by labextension/src/graph.

The view asks the kernel through custom messages (expand a node, details of a node, another depth); each is
answered by the governance functions on the store, opened read-only as the command line opens it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from nblineage import config
from nblineage.kernel_ext.surface import deliver
from nblineage.widgets import bundle

log = logging.getLogger(__name__)

MAX_DEPTH = 10  # the view's depth control goes no further (labextension/src/graph/types.ts)
FLUSH_TIMEOUT = 5.0  # seconds a refresh waits for this kernel's records to reach the store


class LineageGraph(anywidget.AnyWidget):
    """An interactive graph centred on ``node`` (a node of the store, as ``resolve_node`` answers it)."""

    _esm = bundle.SCRIPT
    _css = bundle.STYLE
    _view = traitlets.Unicode("graph").tag(sync=True)
    graph = traitlets.Dict().tag(sync=True)
    depth = traitlets.Int(1).tag(sync=True)
    selection = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, node: Any, depth: int = 1, url: str | None = None) -> None:
        bundle.check_built()
        self._url = url or config.store_url()
        self._node = node
        self._expanded: list[Any] = []  # refs of the nodes expanded, queried again on refresh
        super().__init__(depth=_check_depth(depth))
        self.graph = self._query()
        self.on_msg(self._on_message)
        self.observe(self._on_depth, names="depth")
        self._shell = _watch_cells(self._refresh_after_cell)

    def expand(self, node_id: str) -> None:
        """Add the neighbours of ``node_id`` (one hop each way) to the graph, as clicking its expand control does."""
        ref = self._ref(node_id)
        if ref not in self._expanded:
            self._expanded.append(ref)
        with self._store() as store:
            self.graph = merge(self.graph, _neighbourhood(store, ref, 1))

    def details(self, node_id: str) -> dict[str, Any]:
        """What the details pane shows of ``node_id``: versions, schema, and for a model the five answers."""
        from nblineage.governance.neighbourhood import node_details

        ref = self._ref(node_id)
        with self._store() as store:
            return node_details(store, ref)

    def refresh(self) -> None:
        """Query the graph again: the same centre, depth and expanded nodes."""
        self.graph = self._query()

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained interactive page of this graph (script inlined, data and the details of every
        node embedded): it needs no kernel and loads nothing from the network."""
        from nblineage.governance.neighbourhood import node_details, node_ref
        from nblineage.widgets.page import write_page

        with self._store() as store:
            details = {node["id"]: node_details(store, node_ref(node)) for node in self.graph.get("nodes", [])}
        return write_page(Path(path), self.graph, details)

    def close(self) -> None:
        _unwatch_cells(self._shell, self._refresh_after_cell)
        self._shell = None
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, and a static picture (``text/html``) for places without a kernel (nbconvert, GitHub)."""
        from nblineage.widgets.static_svg import to_static_html

        shown = super()._repr_mimebundle_(**kwargs)
        data, metadata = shown if isinstance(shown, tuple) else (shown or {}, {})
        return {**data, "text/html": to_static_html(self.graph)}, metadata

    def _ref(self, node_id: str) -> Any:
        """The ref of a node of the graph shown, from its id; LookupError when the graph has no such node."""
        from nblineage.governance.neighbourhood import node_ref

        for node in self.graph.get("nodes", []):
            if node.get("id") == node_id:
                return node_ref(node)
        raise LookupError(f"no node {node_id!r} in this graph")

    @contextmanager
    def _store(self) -> Iterator[Any]:
        from nblineage.lineage.store import Store

        with Store(self._url, create=False) as store:
            yield store

    def _query(self) -> dict[str, Any]:
        with self._store() as store:
            graph = _neighbourhood(store, self._node, self.depth)
            for ref in self._expanded:
                graph = merge(graph, _neighbourhood(store, ref, 1))
        return graph

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Answer one request of the view; a failure is replied as its message, never raised into the kernel."""
        if not isinstance(content, dict):
            return
        reply: dict[str, Any] = {"type": "reply", "request": content.get("request")}
        try:
            kind = content.get("type")
            if kind == "expand":
                self.expand(str(content["id"]))
            elif kind == "details":
                reply["details"] = self.details(str(content["id"]))
            elif kind == "depth":
                self.depth = content["depth"]
            else:
                raise ValueError(f"unknown request {kind!r}")
        except Exception as error:
            log.warning("nblineage graph widget: %s failed: %s", content.get("type"), error)
            reply["error"] = f"{type(error).__name__}: {error}"
        self.send(reply)

    @traitlets.validate("depth")
    def _valid_depth(self, proposal: dict[str, Any]) -> int:
        try:
            return _check_depth(proposal["value"])
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from None

    def _on_depth(self, _change: dict[str, Any]) -> None:
        self.graph = self._query()

    def _refresh_after_cell(self, _result: Any = None) -> None:
        """After a cell ran: wait for this kernel's capture to reach the store, then query again (fail open)."""
        try:
            if self._shell is not None:
                deliver(self._shell, FLUSH_TIMEOUT)
            self.refresh()
        except Exception as error:
            log.warning("nblineage graph widget: refresh failed: %s", error)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` merged into ``base`` by node id (the centre and depth stay those of ``base``); a node in both
    keeps the fewer hidden neighbours each way."""
    nodes = {node["id"]: node for node in base.get("nodes", [])}
    for node in extra.get("nodes", []):
        known = nodes.get(node["id"])
        if known is None:
            nodes[node["id"]] = node
        else:
            hidden = {side: min(known["hidden"][side], node["hidden"][side]) for side in ("upstream", "downstream")}
            nodes[node["id"]] = {**known, "hidden": hidden}
    edges = {(edge["source"], edge["target"]): edge for edge in base.get("edges", [])}
    for edge in extra.get("edges", []):
        edges.setdefault((edge["source"], edge["target"]), edge)
    truncated = bool(base.get("truncated")) or bool(extra.get("truncated"))
    return {**base, "nodes": list(nodes.values()), "edges": list(edges.values()), "truncated": truncated}


def _check_depth(depth: Any) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be a whole number from 1 to {MAX_DEPTH}, not {depth!r}")
    return depth


def _neighbourhood(store: Any, node: Any, depth: int) -> dict[str, Any]:
    from nblineage.governance.neighbourhood import neighbourhood

    return neighbourhood(store, node, depth).to_json()


def _shell() -> Any:
    """The running IPython shell, or None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _watch_cells(callback: Any) -> Any:
    """Call ``callback`` after each cell of the running IPython kernel; the shell, or None outside one."""
    shell = _shell()
    if shell is not None:
        shell.events.register("post_run_cell", callback)
    return shell


def _unwatch_cells(shell: Any, callback: Any) -> None:
    if shell is not None:
        with suppress(ValueError):
            shell.events.unregister("post_run_cell", callback)


def _object_graph(obj: Any, depth: int, version: str | None) -> LineageGraph:
    """The graph of what a Python object stands for in this kernel's capture: a fitted model's saved model, or
    the dataset version a frame was read from."""
    import argparse

    from nblineage import kernel_ext
    from nblineage.kernel_ext.surface import Kernel

    shell = _shell()
    if shell is None or kernel_ext.current(shell) is None:
        raise TypeError(
            f"nblineage.show takes a path, a URI (models:/..., runs:/..., s3://...) or a name with namespace=...; "
            f"a {type(obj).__name__} object is known only to a kernel that captures (%load_ext nblineage)"
        )
    kernel = Kernel(shell, parser=None)
    with kernel.store(argparse.Namespace(url=None)) as store:
        ref = kernel.node_of(store, obj, None, version)
    return LineageGraph(ref, depth, kernel.session.store_url)


def open_graph(
    target: Any, depth: int = 1, *, namespace: str | None = None, version: str | None = None
) -> LineageGraph:
    """The graph widget of ``target`` (what ``nblineage.show`` takes), resolved on the configured store."""
    import os

    from nblineage.governance.resolve import resolve_node
    from nblineage.lineage.graph import DatasetRef, JobRef
    from nblineage.lineage.store import Store

    if isinstance(target, DatasetRef | JobRef):
        return LineageGraph(target, depth)
    if not isinstance(target, str | os.PathLike):
        return _object_graph(target, depth, version)
    shell = _shell()
    if shell is not None:  # the graph includes the cells just run, when this kernel captures
        deliver(shell, FLUSH_TIMEOUT)
    url = config.store_url()
    with Store(url, create=False) as store:
        node = resolve_node(store, os.fspath(target), namespace, version)
    return LineageGraph(node, depth, url)
