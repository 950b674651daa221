"""The graph widget's state, as the view sees it, on a real store: nodes, edges, kinds and precision when it opens,
after the view asks to expand a node or for its details, at another depth; its static picture; its saved page."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import traitlets
from lineage_data import FAN, FEATURES, HOSTILE, MODEL, RAW, fill

import nblineage
from nblineage.governance.resolve import resolve_node
from nblineage.lineage.store import Store
from nblineage.widgets import bundle
from nblineage.widgets.graph import LineageGraph, merge
from nblineage.widgets.page import page

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def lineage_url(store_url: str) -> str:
    fill(store_url)
    return store_url


def open_widget(url: str, path: str, depth: int = 1) -> LineageGraph:
    with Store(url, create=False) as store:
        return LineageGraph(resolve_node(store, path), depth, url)


def by_name(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in graph["nodes"]}


class Replies:
    """Collects what the widget sends back to the view."""

    def __init__(self, widget: LineageGraph) -> None:
        self.sent: list[dict[str, Any]] = []
        widget.send = self.sent.append  # the view's side of the comm

    def ask(self, widget: LineageGraph, **request: Any) -> dict[str, Any]:
        widget._on_message(widget, {**request, "request": len(self.sent) + 1}, [])
        reply = self.sent[-1]
        assert reply["type"] == "reply" and reply["request"] == len(self.sent)
        return reply


def test_opens_one_hop_each_way_with_kinds_and_precision(lineage_url: str) -> None:
    widget = open_widget(lineage_url, FEATURES[1])
    graph = widget.graph
    nodes = by_name(graph)
    assert graph["center"] == nodes[FEATURES[1]]["id"] and graph["depth"] == 1
    assert nodes[FEATURES[1]]["kind"] == "dataset" and nodes[FEATURES[1]]["version"] == FEATURES[2]
    assert nodes[MODEL[1]]["kind"] == "model" and nodes[RAW[1]]["kind"] == "dataset"
    assert {nodes[f"/home/ana/churn.ipynb#{cell}"]["kind"] for cell in ("features", "fit", "export")} == {"cell"}
    assert nodes[RAW[1]]["hidden"]["downstream"] == FAN  # the other readers of the raw file are one hop further
    ids = {node["id"] for node in graph["nodes"]}
    assert graph["edges"] and all(edge["source"] in ids and edge["target"] in ids for edge in graph["edges"])
    assert all(edge["precision"] in ("exact", "cell", None) for edge in graph["edges"])
    assert widget.depth == 1 and widget.selection == []


def test_expand_message_merges_the_neighbours(lineage_url: str) -> None:
    widget = open_widget(lineage_url, FEATURES[1])
    replies = Replies(widget)
    raw = by_name(widget.graph)[RAW[1]]
    before = {node["id"] for node in widget.graph["nodes"]}
    reply = replies.ask(widget, type="expand", id=raw["id"])
    assert "error" not in reply
    nodes = by_name(widget.graph)
    assert before < set(nodes[name]["id"] for name in nodes)
    assert {f"/home/ana/churn.ipynb#report-{n:02d}" for n in range(FAN)} <= set(nodes)
    assert nodes[RAW[1]]["hidden"] == {"upstream": 0, "downstream": 0}
    assert len({(e["source"], e["target"]) for e in widget.graph["edges"]}) == len(widget.graph["edges"])
    widget.refresh()  # the expansion is queried again
    assert set(by_name(widget.graph)) == set(nodes)


def test_details_message_answers_versions_and_the_models_five_answers(lineage_url: str) -> None:
    widget = open_widget(lineage_url, FEATURES[1])
    replies = Replies(widget)
    model = by_name(widget.graph)[MODEL[1]]
    details = replies.ask(widget, type="details", id=model["id"])["details"]
    assert details["node"]["id"] == model["id"]
    assert [version["version"] for version in details["versions"]] == [MODEL[2]]
    assert {"model", "inputs", "performance", "resources", "location"} <= set(details["explain"])
    assert replies.ask(widget, type="details", id="n-not-there")["error"].startswith("LookupError")
    assert "unknown request" in replies.ask(widget, type="bogus")["error"]


def test_depth_from_the_view_and_from_python(lineage_url: str) -> None:
    widget = open_widget(lineage_url, MODEL[1])
    assert RAW[1] not in by_name(widget.graph)
    replies = Replies(widget)
    assert "error" not in replies.ask(widget, type="depth", depth=2)
    assert widget.depth == 2 and RAW[1] in by_name(widget.graph)
    widget.depth = 1
    assert RAW[1] not in by_name(widget.graph)
    assert "error" in replies.ask(widget, type="depth", depth=0)
    with pytest.raises(traitlets.TraitError, match="depth must be"):
        widget.depth = 99


def test_merge_keeps_ids_unique_and_the_fewer_hidden() -> None:
    node = {"id": "a", "hidden": {"upstream": 3, "downstream": 1}}
    base = {"center": "a", "depth": 1, "nodes": [node], "edges": [], "truncated": False}
    extra = {
        "center": "b",
        "depth": 1,
        "nodes": [{**node, "hidden": {"upstream": 0, "downstream": 2}}, {"id": "b", "hidden": node["hidden"]}],
        "edges": [{"source": "a", "target": "b", "precision": "cell"}],
        "truncated": True,
    }
    merged = merge(base, extra)
    assert merged["center"] == "a" and merged["truncated"] is True
    assert [n["id"] for n in merged["nodes"]] == ["a", "b"]
    assert merged["nodes"][0]["hidden"] == {"upstream": 0, "downstream": 1}
    assert merge(merged, extra)["edges"] == merged["edges"]


class Picture(HTMLParser):
    """What a static picture holds: its elements and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_output_bundle_carries_the_view_and_a_static_escaped_picture(lineage_url: str) -> None:
    widget = open_widget(lineage_url, FEATURES[1])
    data, _metadata = widget._repr_mimebundle_()
    assert data[WIDGET_VIEW]["model_id"] == widget.model_id
    picture = Picture()
    picture.feed(data["text/html"])
    assert "svg" in picture.tags and "script" not in picture.tags and "img" not in picture.tags
    assert not any(name.startswith("on") for name, _ in picture.attributes)
    text = "".join(picture.text)
    for node in widget.graph["nodes"]:
        assert node["label"][:20] in text, node["label"]
    assert "<img src=x" in text  # the markup-named dataset is drawn as text


def test_to_html_is_self_contained(lineage_url: str, tmp_path: Path) -> None:
    widget = open_widget(lineage_url, FEATURES[1])
    written = widget.to_html(tmp_path / "graph.html")
    saved = written.read_text(encoding="utf-8")
    embedded = re.search(r"id='nblineage-bundle'>([A-Za-z0-9+/=]+)</script>", saved)
    assert embedded and base64.b64decode(embedded.group(1)).decode() == bundle.script()
    assert bundle.style().split("{", 1)[0] in saved
    for node in widget.graph["nodes"]:
        assert node["id"] in saved
    assert "<img" not in saved and HOSTILE[1].replace("<", "\\u003c").replace(">", "\\u003e") in saved
    outside_bundle = saved.replace(embedded.group(1), "")
    assert not re.search(r"<[a-z]+[^>]*\s(src|href)\s*=", outside_bundle)  # nothing loaded from elsewhere
    assert not re.search(r"https?://|//cdn", outside_bundle)
    assert "Content-Security-Policy" in saved and "default-src 'none'" in saved


def test_page_cannot_be_closed_early_by_data() -> None:
    graph = {"center": "x", "depth": 1, "nodes": [], "edges": [], "truncated": False, "note": "</script><b>"}
    assert "</script><b>" not in page(graph, {})


def test_show_resolves_a_path_on_the_configured_store(lineage_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBLINEAGE_URL", lineage_url)
    widget = nblineage.show(MODEL[1], depth=2)
    center = by_name(widget.graph)[MODEL[1]]
    assert widget.graph["center"] == center["id"] and widget.depth == 2
    assert RAW[1] in by_name(widget.graph)
    with pytest.raises(TypeError, match="takes a path"):
        nblineage.show(object())
