"""Answers shown to people: text (no terminal escapes), HTML (every value escaped), DataFrames; the same answer
objects the CLI prints and ``%lineage`` returns."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from events import run_event

from nblineage.cli import main
from nblineage.governance.fit import Fit, explain_fit
from nblineage.governance.lists import Models, Nodes
from nblineage.governance.questions import explain, models_derived_from
from nblineage.governance.resolve import resolve_model
from nblineage.lineage.graph import DatasetRef, Node
from nblineage.lineage.store import Store

HOSTILE = "<img src=x onerror=alert(1)>"


class Tags(HTMLParser):
    """The tags and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def hostile_store(tmp_path: Path, store_url: str) -> Store:
    """raw -> a model named HOSTILE in namespace s3://b, written by a job with a terminal escape in its name."""
    events = [
        run_event(("x", "train\x1b[2J"), [("s3://b", "raw.csv", "r1")], [("s3://b", HOSTILE, "m1")], models={HOSTILE})
    ]
    (tmp_path / "e.json").write_text(json.dumps(events[0]))
    assert main(["--url", store_url, "ingest", str(tmp_path / "e.json")]) == 0
    with Store(store_url) as store:
        yield store


def test_hostile_names_are_inert_in_html_and_text(hostile_store: Store) -> None:
    models = Models(tuple(models_derived_from(hostile_store, DatasetRef("s3://b", "raw.csv"))))
    explanation = explain(hostile_store, resolve_model(hostile_store, HOSTILE, "s3://b"))
    nodes = Nodes((Node("job", "x", "train\x1b[2J", None, 1, "exact"), Node("model", "s3://b", HOSTILE, "m1", 1)))
    for answer in (models, explanation, nodes):
        html = answer._repr_html_()
        tags = parsed(html)
        assert "img" not in tags.tags and tags.tags <= {"table", "thead", "tbody", "tr", "th", "td", "h4", "h5", "p"}
        assert HOSTILE in "".join(tags.text)  # shown, as text
        assert "\x1b" not in str(answer) and "\x1b" not in html
    assert "train\N{REPLACEMENT CHARACTER}[2J" in str(nodes)


def test_text_html_and_frames_say_the_same(hostile_store: Store) -> None:
    models = Models(tuple(models_derived_from(hostile_store, DatasetRef("s3://b", "raw.csv"))))
    frame = models.to_frame()
    assert list(frame.columns) == list(Models.columns) and frame["name"].tolist() == [HOSTILE]
    assert str(models).splitlines()[0].split() == [column.upper() for column in Models.columns]
    explanation = explain(hostile_store, resolve_model(hostile_store, HOSTILE, "s3://b"))
    rows = explanation.to_frame()
    assert list(rows.columns) == ["section", "field", "value"]
    assert ("location", "uri", f"s3://b/{HOSTILE}") in set(map(tuple, rows.itertuples(index=False)))
    empty = Nodes((), missing="no lineage path between a and b")
    assert str(empty) == "(none)\nno lineage path between a and b" and "no lineage path" in empty._repr_html_()


def test_an_unsaved_fit_is_not_persisted_and_a_saved_one_is_its_model(hostile_store: Store) -> None:
    unsaved = explain_fit(
        hostile_store,
        Fit(
            "clf",
            "fit-1",
            "sklearn",
            "sklearn.tree.Tree",
            inputs=(DatasetRef("s3://b", "raw.csv", "r1"),),
        ),
    )
    assert (unsaved.location.uri, unsaved.model.kind, unsaved.model.namespace) == (
        "not persisted",
        "not persisted",
        "kernel",
    )
    assert [(d.name, d.version, d.depth) for d in unsaved.inputs.datasets] == [("raw.csv", "r1", 1)]
    assert unsaved.inputs.function.model_class == "sklearn.tree.Tree"
    assert "not persisted" in str(unsaved) and "not persisted" in unsaved._repr_html_()
