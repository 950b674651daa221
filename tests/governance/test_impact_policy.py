"""Owners from a real policy file (governance/policy.py) beside the ``ownership`` facets, and a policy file with a
mistake said in the answer rather than taken for "no policy"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from impact_events import F1, MA, MB, V1, events

from nblineage.governance.impact import impact
from nblineage.governance.render import text
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store


@pytest.fixture
def graph(store: Store, tmp_path: Path) -> dict[str, Any]:
    built = events(tmp_path)
    store.append([check(event) for event in built["events"]])
    return built


def write_policy(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nblineage-policy.yaml"
    path.write_text(body, encoding="utf-8")
    monkeypatch.setenv("NBLINEAGE_POLICY", str(path))
    return path


def test_policy_owners_come_first(
    store: Store, graph: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_policy(
        tmp_path,
        f"""\
version: 1
datasets:
  - namespace: file
    name: {tmp_path}/applicants.csv
    owner: team:credit-data
  - namespace: file
    name: {tmp_path}/*.parquet
    owner: team:ml
  - namespace: file
    name: {tmp_path}/model_b.joblib
    owner: carol
""",
        monkeypatch,
    )
    answer = impact(store, DatasetRef("file", graph["applicants"]), version=V1)
    assert [(o.name, o.source) for o in answer.owners] == [
        ("team:credit-data", "policy"),
        ("alice", "ownership"),
        (answer.owners[2].name, "ownership"),  # the hostile one, kept as data
    ]
    found = {(item.name, item.version): item for item in answer.items}
    # the facet names team:ml too: one owner, as the policy says it
    assert [(o.name, o.type, o.source) for o in found[(graph["features"], F1)].owners] == [("team:ml", None, "policy")]
    assert [(o.name, o.source) for o in found[(graph["model_a"], MA)].owners] == [("bob", "ownership")]
    assert [(o.name, o.source) for o in found[(graph["model_b"], MB)].owners] == [("carol", "policy")]
    assert not [note for note in answer.notes if "policy" in note]


def test_a_broken_policy_is_said_not_ignored(
    store: Store, graph: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_policy(tmp_path, "version: 1\ndatasets:\n  - namespace: file\n    ownr: typo\n", monkeypatch)
    answer = impact(store, DatasetRef("file", graph["applicants"]), version=V1)
    [note] = [note for note in answer.notes if "policy" in note]
    assert note.startswith(f"policy not read, owners from events only: {path}:")
    assert [o.name for o in answer.owners][:1] == ["alice"]  # the facets still answer
    assert note in text(answer)
