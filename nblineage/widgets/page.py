"""A saved interactive page of a graph (``LineageGraph.to_html``): one HTML file with the widget's script and
stylesheet inlined and the graph and details embedded as JSON. A Content-Security-Policy forbids every fetch."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from nblineage.widgets import bundle

POLICY = "default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; img-src data:"

LOADER = """
const bytes = Uint8Array.from(atob(document.getElementById("nblineage-bundle").textContent), c => c.charCodeAt(0));
const view = await import(URL.createObjectURL(new Blob([bytes], {type: "text/javascript"})));
const state = JSON.parse(document.getElementById("nblineage-data").textContent);
view.renderStatic(document.getElementById("nblineage-graph"), state);
"""


def page(graph: dict[str, Any], details: dict[str, Any]) -> str:
    """The page's HTML text."""
    center = next((node for node in graph.get("nodes", []) if node.get("id") == graph.get("center")), {})
    title = html.escape(f"nblineage: {center.get('name', 'lineage graph')}")
    code = base64.b64encode(bundle.script().encode("utf-8")).decode("ascii")
    style = bundle.style().replace("</", "<\\/")  # CSS reads \/ as /; the element cannot be closed early
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f"<title>{title}</title><style>{style}</style></head>\n"
        "<body><div id='nblineage-graph'></div>\n"
        f"<script type='application/json' id='nblineage-data'>{script_json({'graph': graph, 'details': details})}"
        "</script>\n"
        f"<script type='text/plain' id='nblineage-bundle'>{code}</script>\n"
        f"<script type='module'>{LOADER}</script>\n</body></html>\n"
    )


def write_page(path: Path, graph: dict[str, Any], details: dict[str, Any]) -> Path:
    path.write_text(page(graph, details), encoding="utf-8")
    return path


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` left as such)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
