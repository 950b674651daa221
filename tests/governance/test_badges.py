"""Badges on the graph's nodes (docs/graph.md: `tags`, `quality`): what the policy classified and what the latest
quality check said, read from the events on both stores."""

from __future__ import annotations

from events import dataset, run_event

from nblineage.governance.neighbourhood import neighbourhood
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

CSV, MODEL = ("file", "/data/customers.csv"), ("file", "/models/churn.joblib")
POLICY = "nblineage-policy"


def tags_facet(*tags: tuple[str, str | None]) -> dict:
    entries = [
        {"key": key, "value": "true", "source": POLICY, **({"field": field} if field else {})} for key, field in tags
    ]
    return {
        "_producer": "https://example.com",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json",
        "tags": entries,
    }


def quality_facet(success: bool) -> dict:
    assertion = {"assertion": "expect_column_values_to_not_be_null", "column": "email", "success": success}
    return {
        "_producer": "https://github.com/great-expectations/great_expectations",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/DataQualityAssertionsDatasetFacet.json",
        "assertions": [assertion],
    }


def reading(version: str, time: str, success: bool | None, model_version: str) -> dict:
    """A cell that read a version of the CSV (checked, when ``success`` is not None) and saved a model from it."""
    entry = dataset((*CSV, version), facets={"tags": tags_facet(("confidential", None), ("pii", "email"))})
    if success is not None:
        entry["inputFacets"] = {"dataQualityAssertions": quality_facet(success)}
    return run_event(
        ("jupyter", "/work/churn.ipynb#c1"), [entry], [(*MODEL, model_version)], time=time, models={MODEL[1]}
    )


def test_nodes_carry_tags_and_the_latest_quality(store: Store) -> None:
    store.append(
        check(event)
        for event in (
            reading("v1", "2026-01-01T00:00:00Z", True, "m1"),
            reading("v1", "2026-01-02T00:00:00Z", False, "m2"),  # the newest check of v1 failed
            reading("v2", "2026-01-03T00:00:00Z", None, "m3"),  # v2 never checked
        )
    )
    graph = neighbourhood(store, DatasetRef(*CSV, "v1")).to_json()
    nodes = {(node["kind"], node["version"]): node for node in graph["nodes"]}
    v1 = nodes[("dataset", "v1")]
    assert v1["tags"] == ["confidential", "pii"] and v1["quality"] == "failed"
    assert nodes[("model", "m1")]["tags"] == [] and nodes[("model", "m1")]["quality"] is None
    assert all(node["tags"] == [] and node["quality"] is None for node in graph["nodes"] if node["kind"] == "cell")
    v2 = {node["version"]: node for node in neighbourhood(store, DatasetRef(*CSV, "v2")).to_json()["nodes"]}["v2"]
    assert v2["tags"] == ["confidential", "pii"] and v2["quality"] is None


def test_a_passing_check_and_hostile_tags(store: Store) -> None:
    event = reading("v1", "2026-01-01T00:00:00Z", True, "m1")
    event["inputs"][0]["facets"]["tags"] = tags_facet(("<script>alert(1)</script>", None), ("", None))
    store.append([check(event)])
    node = neighbourhood(store, DatasetRef(*CSV, "v1")).to_json()["nodes"][0]
    assert node["quality"] == "passed"
    assert node["tags"] == ["<script>alert(1)</script>"]  # kept as text (views escape it); the empty key dropped


def test_the_static_picture_draws_the_badges(store: Store) -> None:
    import xml.etree.ElementTree as ET

    from nblineage.widgets.static_svg import render_svg

    event = reading("v1", "2026-01-01T00:00:00Z", False, "m1")
    event["inputs"][0]["facets"]["tags"] = tags_facet(("pii", "email"), ("<b>x</b>", None))
    store.append([check(event)])
    picture = ET.fromstring(render_svg(neighbourhood(store, DatasetRef(*CSV, "v1"))))
    svg = "{http://www.w3.org/2000/svg}"
    tags = [element.text for element in picture.iter(f"{svg}text") if element.get("class") == "tags"]
    assert tags == ["<b>x</b> · pii"]  # parsed back from escaped text: never markup
    assert [g.get("class") for g in picture.iter(f"{svg}g") if "quality" in (g.get("class") or "")] == [
        "quality failed"
    ]
    assert not list(picture.iter(f"{svg}b"))
