"""The lineage graph in Marquez's shape (``GET /api/v1/lineage?nodeId=...&depth=N``), so clients written for
Marquez read notebook lineage: ``{"graph": [{"id", "type", "data", "inEdges", "outEdges"}]}`` with node ids
``dataset:NAMESPACE:NAME`` and ``job:NAMESPACE:NAME``.

Built on :func:`nblineage.lineage.graph.neighbours`; dataset versions fold into their dataset (Marquez's graph is
of datasets and jobs). Marquez counts ``depth`` in nodes (a dataset and a job are two); the store walks dataset
hops, so a depth of N nodes walks ceil(N / 2) hops.
"""

from __future__ import annotations

import re
from typing import Any

from nblineage.governance.read import as_dict, load_json
from nblineage.lineage.graph import DatasetRef, JobRef, NotFound, Ref, neighbours
from nblineage.lineage.limits import DEFAULT_LIMIT, MAX_DEPTH

DEFAULT_DEPTH = 20  # Marquez's default
_SEPARATOR = re.compile(r":(?!//|\d)")  # a colon that is not a scheme's "://" or a port's ":5432"
_FACETS_SQL = "SELECT name, payload FROM facets WHERE entity = :entity AND entity_id = :id ORDER BY name"


def parse_node_id(node_id: str, exists: Any = None) -> Ref:
    """The ref of ``dataset:NS:NAME`` or ``job:NS:NAME``. Namespaces hold colons (``postgres://host:5432``): the
    split is the first one ``exists(kind, ns, name)`` knows, else the first colon that is no ``://`` or port."""
    kind, sep, rest = node_id.partition(":")
    if kind not in ("dataset", "job") or not sep:
        raise ValueError(f"nodeId must be dataset:NAMESPACE:NAME or job:NAMESPACE:NAME, not {node_id[:100]!r}")
    splits = [index for index, char in enumerate(rest) if char == ":" and 0 < index < len(rest) - 1]
    if not splits:
        raise ValueError(f"nodeId {node_id[:100]!r} names no namespace and name (dataset:NAMESPACE:NAME)")
    if exists is not None:
        for index in splits:
            if exists(kind, rest[:index], rest[index + 1 :]):
                return _ref(kind, rest[:index], rest[index + 1 :])
    found = _SEPARATOR.search(rest, 1)
    index = found.start() if found and found.start() < len(rest) - 1 else splits[0]
    return _ref(kind, rest[:index], rest[index + 1 :])


def _ref(kind: str, namespace: str, name: str) -> Ref:
    return DatasetRef(namespace, name) if kind == "dataset" else JobRef(namespace, name)


def hops_for(depth: int) -> int:
    """Marquez's depth (nodes) as dataset hops, within the store's limits."""
    if depth < 0:
        raise ValueError(f"depth must be 0 or more, not {depth}")
    return min(max(1, (depth + 1) // 2), MAX_DEPTH)


def node_key(kind: str, namespace: str, name: str) -> str:
    return f"{'job' if kind == 'job' else 'dataset'}:{namespace}:{name}"


def lineage_graph(store: Any, node_id: str, depth: int = DEFAULT_DEPTH, limit: int = DEFAULT_LIMIT) -> dict:
    """The graph around ``node_id`` in Marquez's shape; NotFound when the store has no such node."""
    ref = parse_node_id(node_id, lambda kind, ns, name: _exists(store, kind, ns, name))
    sub = neighbours(store, ref, hops_for(depth), limit)
    keys = [node_key(found.node.type, found.node.namespace, found.node.name) for found in sub.nodes]
    order: dict[str, dict[str, Any]] = {}
    for found, key in zip(sub.nodes, keys, strict=True):
        node = found.node
        entry = order.setdefault(key, {"node": node, "in": set(), "out": set()})
        if entry["node"].type != "model" and node.type == "model":
            entry["node"] = node
    for source, target, _precision in sub.edges:
        origin, destination = keys[source], keys[target]
        if origin != destination:  # a version's link to its dataset folds away
            order[origin]["out"].add(destination)
            order[destination]["in"].add(origin)
    with store.read() as conn:
        ids = {key: {"namespace": entry["node"].namespace, "name": entry["node"].name} for key, entry in order.items()}
        return {"graph": [_node(conn, key, entry, ids) for key, entry in order.items()]}


def _exists(store: Any, kind: str, namespace: str, name: str) -> bool:
    from sqlalchemy import text

    table = "jobs" if kind == "job" else "datasets"
    with store.read() as conn:
        sql = f"SELECT 1 FROM {table} WHERE namespace = :ns AND name = :name"
        return conn.execute(text(sql), {"ns": namespace, "name": name}).first() is not None


def _node(conn: Any, key: str, entry: dict[str, Any], ids: dict[str, dict[str, str]]) -> dict[str, Any]:
    node = entry["node"]
    is_job = node.type == "job"
    edges_in = [{"origin": origin, "destination": key} for origin in sorted(entry["in"])]
    edges_out = [{"origin": key, "destination": target} for target in sorted(entry["out"])]
    facets = _facets(conn, "job" if is_job else "dataset", node.namespace, node.name)
    data: dict[str, Any] = {
        "id": {"namespace": node.namespace, "name": node.name},
        "namespace": node.namespace,
        "name": node.name,
        "facets": facets,
        "description": (facets.get("documentation") or {}).get("description"),
    }
    if is_job:
        data.update(
            type="BATCH",
            simpleName=node.name.rpartition("#")[2] or node.name,
            inputs=[ids[edge["origin"]] for edge in edges_in],
            outputs=[ids[edge["destination"]] for edge in edges_out],
        )
    else:
        fields = (facets.get("schema") or {}).get("fields")
        data.update(
            type="MODEL" if node.type == "model" else "DB_TABLE",
            physicalName=node.name,
            sourceName=node.namespace,
            fields=fields if isinstance(fields, list) else [],
        )
    return {
        "id": key,
        "type": "JOB" if is_job else "DATASET",
        "data": data,
        "inEdges": edges_in,
        "outEdges": edges_out,
    }


def _facets(conn: Any, entity: str, namespace: str, name: str) -> dict[str, Any]:
    from sqlalchemy import text

    table = "jobs" if entity == "job" else "datasets"
    row = conn.execute(
        text(f"SELECT id FROM {table} WHERE namespace = :ns AND name = :name"), {"ns": namespace, "name": name}
    ).first()
    if row is None:
        return {}
    rows = conn.execute(text(_FACETS_SQL), {"entity": entity, "id": row[0]}).all()
    return {facet: as_dict(load_json(payload)) for facet, payload in rows}


__all__ = ["NotFound", "lineage_graph", "parse_node_id"]
