"""The five answers as a widget: its state is the explanation's JSON; its static HTML is escaped."""

from __future__ import annotations

from html.parser import HTMLParser

from lineage_data import FEATURES, MODEL, fill

from nblineage.governance.questions import explain
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store
from nblineage.widgets.answers import AnswerTables


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def test_answer_tables_hold_the_explanation(store_url: str) -> None:
    fill(store_url)
    with Store(store_url, create=False) as store:
        explanation = explain(store, DatasetRef(*MODEL))
    widget = AnswerTables(explanation)
    assert widget.answers == explanation.to_json()
    assert widget.answers["model"]["name"] == MODEL[1]
    assert [dataset["name"] for dataset in widget.answers["inputs"]["datasets"]][:1] == [FEATURES[1]]
    data, _ = widget._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    shown = Tags()
    shown.feed(data["text/html"])
    assert "script" not in shown.tags and MODEL[1] in shown.text
