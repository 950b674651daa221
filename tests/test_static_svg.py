"""The static picture of a neighbourhood: parsed as XML, every label there and inert, fans collapsed, and big
graphs laid out without blowing up."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from cell_events import MODEL, notebook_events
from events import run_event

from nblineage.governance.neighbourhood import FAN_LIMIT, Neighbourhood, neighbourhood
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store
from nblineage.widgets.static_svg import LABEL_CHARS, render_svg, to_static_html

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<img src=x onerror=alert(1)>"


def ingest(store: Store, events: list[dict]) -> None:
    store.append([check(event) for event in events])


def parse(markup: str) -> ET.Element:
    """The markup as XML, with nothing active in it: no script, no foreign elements, no event handlers or links."""
    root = ET.fromstring(markup)
    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        assert tag in {"svg", "defs", "marker", "path", "g", "title", "rect", "ellipse", "text", "div", "p"}, tag
        assert not any(name.lower().startswith("on") or "href" in name.lower() for name in element.attrib), tag
    return root


def texts(root: ET.Element, tag: str) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}{tag}")]


@pytest.fixture
def graph(sqlite_store: Store) -> Neighbourhood:
    """The notebook's graph around the model, with a hostile dataset and a fan of FAN_LIMIT + 5 exports."""
    ingest(sqlite_store, notebook_events())
    ingest(
        sqlite_store,
        [run_event(("spark", "a-leak"), [("file", MODEL, "m1")], [("s3://b", HOSTILE, "xxh3:" + "f" * 32)])],
    )
    ingest(
        sqlite_store,
        [run_event(("spark", f"fan{i:02d}"), [("file", MODEL, "m1")], [("s3://b", f"out{i:02d}")]) for i in range(15)],
    )
    return neighbourhood(sqlite_store, DatasetRef("file", MODEL), depth=2)


def test_every_label_is_drawn_as_text_and_the_hostile_name_is_inert(graph: Neighbourhood) -> None:
    markup = render_svg(graph)
    assert "<img" not in markup and "<script" not in markup.lower()
    root = parse(markup)
    drawn = texts(root, "text")
    titles = texts(root, "title")
    collapsed = {f"{prefix}{i:02d}" for prefix in ("fan", "out") for i in range(FAN_LIMIT - 1, 15)}
    for node in graph.nodes:
        shown = node.label if len(node.label) <= LABEL_CHARS else node.label[: LABEL_CHARS - 1] + "…"
        assert (shown in drawn) == (node.label not in collapsed), node.label
    assert HOSTILE in "".join(titles)  # the full name, as text
    assert any(text.startswith("<img src=x") for text in drawn)
    assert "@ffffffff" in drawn  # a content hash shown short
    assert "6 more" in drawn  # the leak job and 15 fan jobs downstream of the model: 10 drawn


def test_fans_collapse_to_the_first_ten_by_label(graph: Neighbourhood) -> None:
    root = parse(render_svg(graph))
    drawn = set(texts(root, "text"))
    downstream = sorted(n.label for n in graph.nodes if n.depth == 1 and n.kind == "job")
    assert len(downstream) == 16
    assert set(downstream[:FAN_LIMIT]) <= drawn
    assert not set(downstream[FAN_LIMIT:]) & drawn
    assert sum(1 for g in root.iter(f"{SVG}g") if "more" in g.get("class", "")) == 1


def test_edge_precision_is_visible(graph: Neighbourhood) -> None:
    root = parse(render_svg(graph))
    paths = [p for p in root.iter(f"{SVG}path") if "edge" in p.get("class", "")]
    exact = [p for p in paths if "exact" in p.get("class")]
    unknown = [p for p in paths if "unknown" in p.get("class")]
    assert exact and unknown
    assert all(p.get("stroke-dasharray") is None for p in exact)
    assert all(p.get("stroke-dasharray") for p in unknown)


def test_cell_precision_is_dashed(sqlite_store: Store) -> None:
    ingest(sqlite_store, notebook_events(precision="cell"))
    root = parse(render_svg(neighbourhood(sqlite_store, DatasetRef("file", MODEL))))
    paths = [p for p in root.iter(f"{SVG}path") if "edge" in p.get("class", "")]
    assert len(paths) == 6 and all("cell" in p.get("class") and p.get("stroke-dasharray") for p in paths)


def test_kinds_are_drawn_differently(graph: Neighbourhood) -> None:
    root = parse(render_svg(graph))
    shapes = {}
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class").split()[1]
        outline = next(child for child in group if child.tag != f"{SVG}title")
        shapes.setdefault(kind, set()).add((outline.tag, outline.get("fill"), outline.get("rx")))
    assert set(shapes) == {"dataset", "model", "cell", "job", "more"}
    assert len({frozenset(found) for found in shapes.values()}) == len(shapes)
    assert all(len(found) == 1 for found in shapes.values())


def test_the_static_html_block(graph: Neighbourhood) -> None:
    block = to_static_html(graph)
    root = parse(block)
    assert root.tag == "div" and root[0].tag == f"{SVG}svg"
    caption = "".join(root.find("p").itertext())
    assert "churn.joblib" in caption and f"{len(graph.nodes)} nodes" in caption and "dashed: cell" in caption
    assert to_static_html(graph.to_json()) == block  # the answer or its JSON


def test_layers_run_left_to_right_along_the_flow(graph: Neighbourhood) -> None:
    root = parse(render_svg(graph))
    x = {}
    for group in root.iter(f"{SVG}g"):
        label = "".join(group.find(f"{SVG}text").itertext())
        outline = next(child for child in group if child.tag != f"{SVG}title")
        x[label] = float(outline.get("x") or outline.get("cx"))
    order = ["customers.csv", "read", "features", "split", "fit", "save", "churn.joblib", "fan00", "out00"]
    assert [x[label] for label in order] == sorted(x[label] for label in order)
    assert len({x[label] for label in order}) == len(order)


def test_a_big_graph_with_cycles_is_drawn(sqlite_store: Store) -> None:
    """A job that reads what it wrote makes cycles; 2,000 nodes in a chain of fans lay out (no timing here:
    benchmarks/bench_widget.py measures)."""
    events = [run_event(("spark", "loop"), [("s3://b", "a", "1")], [("s3://b", "b", "1")])]
    events.append(run_event(("spark", "loop"), [("s3://b", "b", "1")], [("s3://b", "c", "1")]))
    events += [run_event(("spark", f"j{i}"), [("s3://b", "c", "1")], [("s3://b", f"d{i}", "1")]) for i in range(999)]
    ingest(sqlite_store, events)
    hood = neighbourhood(sqlite_store, DatasetRef("s3://b", "b"), depth=2)
    assert len(hood.nodes) == 2000 and hood.truncated
    root = parse(render_svg(hood))
    assert "loop" in texts(root, "text")
    assert any(text.endswith(" more") for text in texts(root, "text"))


def test_odd_json_still_draws_safely() -> None:
    """A view may hand back merged or odd JSON: unknown kinds, self-loops, unknown precision, control characters."""
    graph = {
        "center": "x",
        "depth": 1,
        "truncated": True,
        "nodes": [
            {"id": "x", "kind": "weird", "label": "a\x00b\x1b[31m", "name": "\ud800", "version": None, "depth": 0},
            {"id": "y", "kind": "dataset", "label": "y", "name": "y", "version": "7", "depth": 1},
        ],
        "edges": [
            {"source": "x", "target": "x", "precision": "bogus"},
            {"source": "x", "target": "y", "precision": 'bogus" onload="x'},
            {"source": "x", "target": "gone", "precision": None},
        ],
    }
    root = parse(to_static_html(graph))
    paths = [p for p in root.iter(f"{SVG}path") if "edge" in p.get("class", "")]
    assert [p.get("class") for p in paths] == ["edge unknown"]
    assert "a\N{REPLACEMENT CHARACTER}b\N{REPLACEMENT CHARACTER}[31m" in texts(root, "text")
    assert parse(render_svg({**graph, "nodes": [], "edges": []})).tag == f"{SVG}svg"
