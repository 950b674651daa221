"""Fuzzing ingest with events drawn from the official OpenLineage schemas, mutated with wrong types and hostile
values: each event is stored or rejected with a clear error (never an exception, never a lost batch), on both
stores, and the graph is the one a rebuild derives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphdump import snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_events import events, mutated

from nblineage.lineage.events import InvalidEvent, check
from nblineage.lineage.ingest import ingest_file
from nblineage.lineage.store import Store

UNCLEAR = ("internal error", "the store refused")


def test_schema_valid_events_are_all_stored(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'lineage.db'}") as store:

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(events(), min_size=1, max_size=4))
        def run(batch: list[dict[str, Any]]) -> None:
            path = tmp_path / "valid.jsonl"
            path.write_text("".join(json.dumps(event) + "\n" for event in batch))
            result = ingest_file(store, path)
            assert result.errors == [], result.errors
            assert result.stored + result.duplicates == len(batch)

        run()


def test_hostile_events_are_stored_or_rejected_clearly(tmp_path: Path, store_url: str) -> None:
    with Store(store_url) as store:
        seen = {"stored": 0, "rejected": 0}

        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(mutated(), min_size=1, max_size=4))
        def run(batch: list[Any]) -> None:
            for payload in batch:  # the check alone: an Event or InvalidEvent, nothing else
                try:
                    check(json.loads(json.dumps(payload)))
                except InvalidEvent as error:
                    assert str(error)
            path = tmp_path / "hostile.jsonl"
            path.write_text("".join(json.dumps(payload) + "\n" for payload in batch))
            result = ingest_file(store, path)
            assert [e for e in result.errors if e.reason.startswith(UNCLEAR)] == []
            assert {e.line for e in result.errors} <= set(range(1, len(batch) + 1))
            assert result.stored + result.duplicates + len(result.errors) == len(batch)
            seen["stored"] += result.stored
            seen["rejected"] += len(result.errors)

        run()
        assert seen["stored"] and seen["rejected"]  # both ways were taken
        before = snapshot(store)
        store.rebuild()
        assert snapshot(store) == before
