"""A static picture of a neighbourhood (``docs/graph.md``): inline SVG, no script, every label escaped.

The widget's output bundle carries it as ``text/html`` next to the interactive view, so nbconvert HTML, GitHub
and viewers without a kernel still show the graph. Layered left to right: layers by longest path once cycles are
broken, order within a layer by barycenter sweeps; fans wider than ``FAN_LIMIT`` collapse into an "N more" node.
Linear in nodes and edges per sweep, so 2,000 nodes draw at once.
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from nblineage.governance.neighbourhood import FAN_LIMIT, Neighbourhood
from nblineage.governance.text import printable

SWEEPS = 4
NODE_WIDTH, NODE_HEIGHT = 168, 42
LAYER_GAP, ROW_GAP, MARGIN = 72, 18, 24
LABEL_CHARS, VERSION_CHARS = 24, 8

# kind: (shape, fill, stroke); a model is drawn with a double border
STYLES = {
    "dataset": ("rect", "#dbeafe", "#2563eb"),
    "model": ("rect", "#fef3c7", "#b45309"),
    "cell": ("square", "#dcfce7", "#15803d"),
    "job": ("ellipse", "#e5e7eb", "#4b5563"),
    "more": ("square", "#ffffff", "#6b7280"),
}
DASHES = {"exact": None, "cell": "7 4", None: "2 4"}
QUALITY = {"passed": ("#15803d", "\N{CHECK MARK}"), "failed": ("#d32f2f", "!")}  # the badge's colour and mark
SENSITIVE = frozenset({"pii", "confidential", "restricted", "sensitive", "secret"})
LEGEND = "solid edge: exact (a hook saw the data flow); dashed: cell (inferred from the cell's reads); dotted: unknown"


@dataclass
class _Box:
    """A node as drawn."""

    id: str
    kind: str
    label: str
    title: str
    version: str | None
    depth: int
    center: bool = False
    layer: int = 0
    row: float = 0.0
    tags: tuple[str, ...] = ()
    quality: str | None = None


def render_svg(neighbourhood: Neighbourhood | dict[str, Any]) -> str:
    """The neighbourhood (the answer or its JSON) as one ``<svg>`` element."""
    graph = neighbourhood.to_json() if isinstance(neighbourhood, Neighbourhood) else neighbourhood
    boxes, edges = _collapse_fans(graph)
    _layer(boxes, edges)
    _order(boxes, edges)
    return _draw(boxes, edges, _prefix(graph), f"Lineage graph around {_center_name(graph)}")


def to_static_html(neighbourhood: Neighbourhood | dict[str, Any]) -> str:
    """The picture in a ``<div>`` with a caption: what the output bundle's ``text/html`` carries."""
    graph = neighbourhood.to_json() if isinstance(neighbourhood, Neighbourhood) else neighbourhood
    cut = ", truncated at the node limit" if graph.get("truncated") else ""
    caption = (
        f"Lineage around {_text(_center_name(graph))} ({len(graph['nodes'])} nodes, depth {int(graph['depth'])}{cut}). "
        f"{html.escape(LEGEND)}."
    )
    return (
        '<div class="nblineage-graph-static" style="overflow:auto;max-width:100%">'
        f"{render_svg(graph)}"
        f'<p style="font:12px sans-serif;color:#4b5563">{caption}</p></div>'
    )


# fans


def _collapse_fans(graph: dict[str, Any]) -> tuple[dict[str, _Box], list[tuple[str, str, str | None]]]:
    """Boxes and edges with every fan wider than FAN_LIMIT cut to its first ten (by label) and an "N more" box;
    nodes then cut off from the centre are left out. Fans nearer the centre are cut first."""
    boxes = {
        node["id"]: _Box(
            id=node["id"],
            kind=node["kind"] if node["kind"] in STYLES else "job",
            label=str(node["label"]),
            title=str(node["name"]),
            version=node.get("version"),
            depth=int(node.get("depth") or 0),
            center=node["id"] == graph["center"],
            tags=tuple(str(tag) for tag in node.get("tags") or ()),
            quality=node.get("quality") if node.get("quality") in QUALITY else None,
        )
        for node in graph["nodes"]
    }
    edges = [
        (e["source"], e["target"], e.get("precision") if e.get("precision") in DASHES else None)
        for e in graph["edges"]
        if e["source"] in boxes and e["target"] in boxes and e["source"] != e["target"]
    ]
    after: dict[str, list[str]] = defaultdict(list)
    before: dict[str, list[str]] = defaultdict(list)
    for source, target, _ in edges:
        after[source].append(target)
        before[target].append(source)
    removed: set[str] = set()
    groups: list[tuple[str, str, int]] = []
    for node in _nearest_first(graph["center"], after, before, boxes):
        if node in removed:
            continue
        for side, neighbours in (("downstream", after[node]), ("upstream", before[node])):
            alive = sorted({n for n in neighbours if n not in removed}, key=lambda n: (boxes[n].label, n))
            rest = [n for n in alive[FAN_LIMIT:] if not boxes[n].center]
            if rest:
                removed.update(rest)
                groups.append((node, side, len(rest)))
    reachable = set(_nearest_first(graph["center"], after, before, boxes, removed))
    boxes = {key: box for key, box in boxes.items() if key in reachable}
    edges = [edge for edge in edges if edge[0] in boxes and edge[1] in boxes]
    for anchor, side, count in groups:
        if anchor not in boxes:
            continue
        group = f"{anchor}-{side}-more"
        boxes[group] = _Box(group, "more", f"{count} more", f"{count} more {side}", None, boxes[anchor].depth)
        edges.append((anchor, group, None) if side == "downstream" else (group, anchor, None))
    return boxes, edges


def _nearest_first(
    center: str, after: dict[str, list[str]], before: dict[str, list[str]], boxes: dict, removed: set[str] = frozenset()
) -> list[str]:
    """Nodes in breadth-first order from the centre, either way along edges, skipping ``removed``."""
    if center not in boxes:
        return []
    seen = {center}
    queue = deque([center])
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for neighbour in (*after[node], *before[node]):
            if neighbour not in seen and neighbour not in removed:
                seen.add(neighbour)
                queue.append(neighbour)
    return order


# layout


def _layer(boxes: dict[str, _Box], edges: list[tuple[str, str, str | None]]) -> None:
    """Layers by longest path from the sources, after dropping the edges that close a cycle."""
    forward = _acyclic(boxes, edges)
    indegree = {key: 0 for key in boxes}
    after: dict[str, list[str]] = defaultdict(list)
    for source, target in forward:
        after[source].append(target)
        indegree[target] += 1
    queue = deque(sorted((key for key, n in indegree.items() if n == 0), key=lambda k: (boxes[k].depth, k)))
    while queue:
        node = queue.popleft()
        for target in after[node]:
            boxes[target].layer = max(boxes[target].layer, boxes[node].layer + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                queue.append(target)


def _acyclic(boxes: dict[str, _Box], edges: list[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    """The edges without those that close a cycle (back edges of an iterative depth-first search)."""
    after: dict[str, list[str]] = defaultdict(list)
    for source, target, _ in edges:
        if source != target:
            after[source].append(target)
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    kept: list[tuple[str, str]] = []
    for start in sorted(boxes, key=lambda k: (boxes[k].depth, k)):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(after[start]))]
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[node] = 2
                stack.pop()
            elif state.get(target) != 1:
                kept.append((node, target))
                if target not in state:
                    state[target] = 1
                    stack.append((target, iter(after[target])))
    return kept


def _order(boxes: dict[str, _Box], edges: list[tuple[str, str, str | None]]) -> None:
    """Rows within each layer: by depth and label first ("N more" last), then barycenter sweeps (right, then
    left) to cut crossings."""
    layers: dict[int, list[_Box]] = defaultdict(list)
    for box in sorted(boxes.values(), key=lambda b: (b.kind == "more", b.depth, b.label, b.id)):
        layers[box.layer].append(box)
    _number(layers)
    before: dict[str, list[str]] = defaultdict(list)
    after: dict[str, list[str]] = defaultdict(list)
    for source, target, _ in edges:
        after[source].append(target)
        before[target].append(source)
    for sweep in range(SWEEPS):
        rightwards = sweep % 2 == 0
        neighbours = before if rightwards else after
        for layer in sorted(layers, reverse=not rightwards):
            row = layers[layer]
            row.sort(key=lambda box: _barycenter(box, neighbours, boxes))
            _number({layer: row})


def _barycenter(box: _Box, neighbours: dict[str, list[str]], boxes: dict[str, _Box]) -> float:
    rows = [boxes[n].row for n in neighbours[box.id] if boxes[n].layer != box.layer]
    return sum(rows) / len(rows) if rows else box.row


def _number(layers: dict[int, list[_Box]]) -> None:
    for row in layers.values():
        for index, box in enumerate(row):
            box.row = float(index)


# drawing


def _center_name(graph: dict[str, Any]) -> str:
    return next((str(node["name"]) for node in graph["nodes"] if node["id"] == graph["center"]), "?")


def _draw(boxes: dict[str, _Box], edges: list[tuple[str, str, str | None]], prefix: str, title: str) -> str:
    heights: dict[int, int] = defaultdict(int)
    for box in boxes.values():
        heights[box.layer] = max(heights[box.layer], int(box.row) + 1)
    tallest = max(heights.values(), default=1)
    width = MARGIN * 2 + (max(heights, default=0) + 1) * (NODE_WIDTH + LAYER_GAP) - LAYER_GAP
    height = MARGIN * 2 + tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP

    def place(box: _Box) -> tuple[float, float]:
        offset = (tallest - heights[box.layer]) * (NODE_HEIGHT + ROW_GAP) / 2
        return MARGIN + box.layer * (NODE_WIDTH + LAYER_GAP), MARGIN + offset + box.row * (NODE_HEIGHT + ROW_GAP)

    where = {key: place(box) for key, box in boxes.items()}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{_text(title)}</title>",
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#4b5563"/></marker></defs>',
    ]
    for source, target, precision in edges:
        parts.append(_edge(where[source], where[target], precision, prefix))
    for key, box in boxes.items():
        parts.append(_node(box, *where[key]))
    parts.append("</svg>")
    return "".join(parts)


def _edge(start: tuple[float, float], end: tuple[float, float], precision: str | None, prefix: str) -> str:
    x1, y1 = start[0] + NODE_WIDTH, start[1] + NODE_HEIGHT / 2
    x2, y2 = end[0], end[1] + NODE_HEIGHT / 2
    bend = max(abs(x2 - x1) / 2, LAYER_GAP / 2)
    dash = DASHES[precision]
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    label = precision or "unknown"
    return (
        f'<path class="edge {label}" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} '
        f'{x2:.1f},{y2:.1f}" fill="none" stroke="#4b5563" stroke-width="1.3"{dashes} '
        f'marker-end="url(#{prefix}-arrow)"><title>{label}</title></path>'
    )


def _node(box: _Box, x: float, y: float) -> str:
    shape, fill, stroke = STYLES[box.kind]
    width = 3 if box.center else 1.5
    common = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if box.kind == "more":
        common += ' stroke-dasharray="4 3"'
    if shape == "ellipse":
        outline = (
            f'<ellipse cx="{x + NODE_WIDTH / 2:.1f}" cy="{y + NODE_HEIGHT / 2:.1f}" rx="{NODE_WIDTH / 2}" '
            f'ry="{NODE_HEIGHT / 2}" {common}/>'
        )
    else:
        corner = 8 if shape == "rect" else 0
        outline = f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="{corner}" {common}/>'
        if box.kind == "model":
            outline += (
                f'<rect x="{x + 3:.1f}" y="{y + 3:.1f}" width="{NODE_WIDTH - 6}" height="{NODE_HEIGHT - 6}" '
                f'rx="{corner - 2}" fill="none" stroke="{stroke}" stroke-width="1"/>'
            )
    lines = [_short(box.label, LABEL_CHARS)]
    if box.version:
        lines.append("@" + _short_version(box.version))
    first = y + NODE_HEIGHT / 2 + (4 if len(lines) == 1 else -3)
    styles = [' font-weight="bold"' if box.center else "", ' fill="#4b5563"']
    texts = "".join(
        f'<text x="{x + NODE_WIDTH / 2:.1f}" y="{first + i * 14:.1f}" text-anchor="middle"{styles[i]}>'
        f"{_text(line)}</text>"
        for i, line in enumerate(lines)
    )
    title = box.title + (f" @ {box.version}" if box.version else "")
    title += "".join(f"; {word}" for word in _badge_words(box))
    return f'<g class="node {box.kind}"><title>{_text(title)}</title>{outline}{texts}{_badges(box, x, y)}</g>'


def _badges(box: _Box, x: float, y: float) -> str:
    """The classification tags over the node's top left corner, the latest quality outcome on that corner."""
    drawn = ""
    if box.tags:
        shown = " · ".join(box.tags[:2]) + (f" +{len(box.tags) - 2}" if len(box.tags) > 2 else "")
        colour = "#b45309" if SENSITIVE & {tag.lower() for tag in box.tags} else "#4b5563"
        drawn += (
            f'<text class="tags" x="{x + 12:.1f}" y="{y - 4:.1f}" font-size="10" fill="{colour}">'
            f"{_text(_short(shown, LABEL_CHARS + 4))}</text>"
        )
    if box.quality:
        colour, mark = QUALITY[box.quality]
        drawn += (
            f'<g class="quality {box.quality}"><circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}" stroke="#fff"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="10" font-weight="bold" fill="#fff">'
            f"{mark}</text></g>"
        )
    return drawn


def _badge_words(box: _Box) -> list[str]:
    words = [f"tags: {', '.join(box.tags)}"] if box.tags else []
    return words + ([f"quality {box.quality}"] if box.quality else [])


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _short_version(version: str) -> str:
    """A content hash as its first characters (``xxh3:1a2b...`` -> ``1a2b3c4d``); a short version as it is."""
    body = version.rpartition(":")[2] or version
    return body if len(body) <= VERSION_CHARS + 2 else body[:VERSION_CHARS]


def _text(value: Any) -> str:
    """Untrusted text as XML character data: control characters shown as U+FFFD, markup escaped."""
    return html.escape(printable(value), quote=True)


def _prefix(graph: dict[str, Any]) -> str:
    """Ids inside this picture, distinct from other pictures of other graphs on the same page."""
    return "nbl" + hashlib.sha256(f"{graph['center']}:{graph['depth']}".encode()).hexdigest()[:10]
