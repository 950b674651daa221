"""The lineage graph around one node, as every view draws it (``docs/graph.md`` is the contract), and the details
of one node for a details pane. The widget, the JupyterLab sidebar and REST serve these answers as they are.

A node's id is a hash of what it is (dataset version or job, namespace, name, version), so it is the same in every
answer and carries no untrusted text; :meth:`Neighbourhood.ref_of` and :func:`node_ref` give the node back as a
ref to ask about it (expand it, show its details).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from nblineage.governance.answers import Answer
from nblineage.governance.badges import NONE, Badges, badges
from nblineage.governance.questions import explain
from nblineage.governance.read import Reader, as_dict, as_list, as_str, iso_time, load_json
from nblineage.lineage.graph import DEFAULT_LIMIT, DatasetRef, GraphNode, JobRef, Node, Ref, neighbours
from nblineage.lineage.store import Store

KINDS = ("dataset", "model", "cell", "job")
FAN_LIMIT = 10  # a view draws this many neighbours on one side of a node, and one "N more" group for the rest
SCHEMA_FACET = "schema"
_SCHEMA_LEVELS = 8  # nested schema fields kept this deep
CODE_LABEL = 80  # characters of a cell's working line kept as its label (views shorten it further)


@dataclass(frozen=True)
class Hidden(Answer):
    """How many neighbours each way are not in the graph."""

    upstream: int
    downstream: int

    def to_json(self) -> dict[str, Any]:
        return {"upstream": self.upstream, "downstream": self.downstream}


@dataclass(frozen=True)
class GraphNodeAnswer(Answer):
    """A node as the contract says: ``kind`` dataset, model, cell or job; ``depth`` signed (upstream negative)."""

    id: str
    kind: str
    namespace: str
    name: str
    label: str
    version: str | None
    depth: int
    precision: str | None
    hidden: Hidden
    badges: Badges = NONE

    def to_json(self) -> dict[str, Any]:
        """The node as the contract says (written out: a 2,000-node answer is serialised at once)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "label": self.label,
            "version": self.version,
            "depth": self.depth,
            "precision": self.precision,
            "hidden": self.hidden.to_json(),
            "tags": list(self.badges.tags),
            "quality": self.badges.quality,
        }

    @property
    def ref(self) -> Ref:
        """The node as a ref: a dataset at exactly this version (``""`` when unknown), or a job."""
        if self.kind in ("cell", "job"):
            return JobRef(self.namespace, self.name)
        return DatasetRef(self.namespace, self.name, self.version or "")


@dataclass(frozen=True)
class GraphEdge(Answer):
    """An edge in the flow of data, with the precision of its hop (``exact``, ``cell`` or None)."""

    source: str
    target: str
    precision: str | None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "precision": self.precision}


@dataclass(frozen=True)
class Neighbourhood(Answer):
    """The graph around ``center`` (a node id) within ``depth`` dataset hops each way."""

    center: str
    depth: int
    nodes: tuple[GraphNodeAnswer, ...]
    edges: tuple[GraphEdge, ...]
    truncated: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "center": self.center,
            "depth": self.depth,
            "nodes": [node.to_json() for node in self.nodes],
            "edges": [edge.to_json() for edge in self.edges],
            "truncated": self.truncated,
        }

    def node(self, node_id: str) -> GraphNodeAnswer:
        """The node with that id; KeyError when it is not in this graph."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def ref_of(self, node_id: str) -> Ref:
        """The ref of a node of this graph, to expand it or ask for its details."""
        return self.node(node_id).ref


def neighbourhood(store: Store, node: Ref, depth: int = 1, limit: int = DEFAULT_LIMIT) -> Neighbourhood:
    """The lineage graph within ``depth`` dataset hops of ``node`` (what :func:`resolve_node` returns; a dataset
    without a version opens on its newest version), at most ``limit`` nodes (``truncated`` when more were in reach)."""
    graph = neighbours(store, node, depth, limit)
    code = _first_code_lines(store, [found.node for found in graph.nodes if node_kind(found.node) == "cell"])
    with store.read() as conn:
        marks = badges(Reader(conn), [_key(found.node) for found in graph.nodes if found.node.type != "job"])
    nodes = tuple(_answer(found, code, marks.get(_key(found.node), NONE)) for found in graph.nodes)
    return Neighbourhood(
        center=nodes[0].id,
        depth=depth,
        nodes=nodes,
        edges=tuple(GraphEdge(nodes[s].id, nodes[t].id, precision) for s, t, precision in graph.edges),
        truncated=graph.truncated,
    )


def node_id(kind: str, namespace: str, name: str, version: str | None = None) -> str:
    """The id of a node of ``kind`` (any of KINDS): the same in every answer, opaque, free of untrusted text."""
    what = "job" if kind in ("cell", "job") else "dataset"
    key = orjson.dumps([what, namespace, name, (version or "") if what == "dataset" else ""])
    return "n" + hashlib.sha256(key).hexdigest()[:24]


def node_ref(node: dict[str, Any]) -> Ref:
    """The ref of a node given as contract JSON (what a view sends back), to expand it or ask for its details."""
    kind, namespace, name = node.get("kind"), node.get("namespace"), node.get("name")
    if kind not in KINDS or not isinstance(namespace, str) or not isinstance(name, str):
        raise ValueError("a node needs a kind (dataset, model, cell or job), a namespace and a name")
    if kind in ("cell", "job"):
        return JobRef(namespace, name)
    version = node.get("version")
    return DatasetRef(namespace, name, version if isinstance(version, str) else "")


def node_kind(node: Node) -> str:
    """dataset, model, cell (a job named ``NOTEBOOK#CELL``) or job."""
    if node.type != "job":
        return node.type
    notebook, _, cell = node.name.rpartition("#")
    return "cell" if notebook and cell else "job"


def node_label(kind: str, name: str, code: str | None = None) -> str:
    """Short text to draw: a cell's working line of code (else its id: front ends give cells random ids), a model
    URI without ``models:/``, else the last part of a path."""
    if kind == "cell":
        return code or name.rpartition("#")[2]
    if name.startswith("models:/"):
        return name[len("models:/") :] or name
    return name.rstrip("/").rpartition("/")[2] or name


def _first_code_lines(store: Store, cells: list[Node]) -> dict[tuple[str, str], str]:
    """The first line of each cell job's code (its ``sourceCode`` facet) that does the work: not blank, not a comment
    or magic, not an import unless the cell only imports."""
    if not cells:
        return {}
    with store.read() as conn:
        rows = Reader(conn).sql.where_in(
            "SELECT j.namespace, j.name, f.payload FROM jobs j JOIN facets f ON f.entity = 'job' "
            "AND f.entity_id = j.id AND f.name = 'sourceCode' WHERE j.name IN",
            sorted({cell.name for cell in cells}),
        )
    lines = {}
    for namespace, name, payload in rows:
        source = as_str(as_dict(load_json(payload)).get("sourceCode")) or ""
        code = [line.strip() for line in source.splitlines() if line.strip()[:1] not in ("", "#", "%", "!")]
        work = [line for line in code if not line.startswith(("import ", "from "))] or code
        if work:
            lines[(namespace, name)] = work[0][:CODE_LABEL]
    return lines


def _key(node: Node) -> tuple[str, str, str | None]:
    return (node.namespace, node.name, node.version)


def _answer(found: GraphNode, code: dict[tuple[str, str], str], marks: Badges = NONE) -> GraphNodeAnswer:
    node = found.node
    kind = node_kind(node)
    return GraphNodeAnswer(
        id=node_id(kind, node.namespace, node.name, node.version),
        kind=kind,
        namespace=node.namespace,
        name=node.name,
        label=node_label(kind, node.name, code.get((node.namespace, node.name))),
        version=node.version,
        depth=node.depth,
        precision=node.precision,
        hidden=Hidden(found.hidden_upstream, found.hidden_downstream),
        badges=marks,
    )


# details of one node


def node_details(store: Store, node: Ref) -> dict[str, Any]:
    """What a details pane shows, as JSON: ``node`` (as in a neighbourhood, its ``hidden`` counting all its
    neighbours), ``versions`` (a dataset's, newest first, each with its time and the job that wrote it),
    ``schema`` (fields with name and type, when a producer said; else None) and ``explain`` (a model's five
    answers; else None)."""
    center = neighbourhood(store, node, depth=1, limit=1).nodes[0]
    answer: dict[str, Any] = {"node": center.to_json(), "versions": [], "schema": None, "explain": None}
    if center.kind in ("cell", "job"):
        return answer
    with store.read() as conn:
        reader = Reader(conn)
        dataset_id, _ = reader.dataset(center.namespace, center.name) or (0, False)
        answer["versions"] = _versions(reader, dataset_id)
        row = reader.version(dataset_id, center.version or "")
        if row is not None:
            answer["schema"] = _schema(reader.version_facet(row, SCHEMA_FACET))
    if center.kind == "model":
        answer["explain"] = explain(store, DatasetRef(center.namespace, center.name, center.version or "")).to_json()
    return answer


def _versions(reader: Reader, dataset_id: int) -> list[dict[str, Any]]:
    """The dataset's known versions, newest first, with when and by which job (its newest run) each was written."""
    rows = reader.dataset_versions(dataset_id)
    writers = reader.output_runs(row.id for row in rows)
    seen = dict(reader.sql.where_in("SELECT id, first_seen FROM dataset_versions WHERE id IN", [r.id for r in rows]))
    found = []
    for row in rows:
        runs = writers[row.id]
        run = runs[0] if runs else None
        time = (iso_time(run.ended_at) or iso_time(run.started_at)) if run else None
        found.append(
            {
                "version": row.version,
                "time": time or iso_time(seen.get(row.id)),
                "job": run.job_name if run else None,
                "jobNamespace": run.job_namespace if run else None,
            }
        )
    return found


def _schema(facet: Any, level: int = 0) -> list[dict[str, Any]] | None:
    """The fields of a schema facet (name, type, description, nested fields); None when there is none."""
    fields = as_list(as_dict(facet).get("fields"))
    if not fields or level >= _SCHEMA_LEVELS:
        return None
    found = []
    for field in fields:
        name = as_str(as_dict(field).get("name"))
        if name is None:
            continue
        entry: dict[str, Any] = {"name": name, "type": as_str(field.get("type"))}
        if as_str(field.get("description")):
            entry["description"] = field["description"]
        nested = _schema(field, level + 1)
        if nested:
            entry["fields"] = nested
        found.append(entry)
    return found or None
