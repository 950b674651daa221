"""What the append path keeps between transactions (ids, the earliest ``first_seen`` of versions, the runs a batch
inserts) never changes the graph: two writers on one store, each with its own cache gone stale by the other's
writes, give the graph one writer gives and a rebuild gives."""

from __future__ import annotations

import random
import uuid
from datetime import datetime

from events import run_event
from graphdump import snapshot

from nblineage.lineage.events import check
from nblineage.lineage.store import Store

NAMES = [f"t{i}" for i in range(6)]


def _events(rng: random.Random, count: int) -> list[dict]:
    """Runs reading and writing a few datasets, versions shared, times in any order, some runs split over events."""
    runs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count // 3)]
    found = []
    for number in range(count):
        version = rng.choice([None, "v1", "v2", "v3"])
        inputs = [("ns", name, rng.choice([None, "v1", "v2"])) for name in rng.sample(NAMES, 2)]
        outputs = [("ns", rng.choice(NAMES), version)]
        event = run_event(
            ("jobs", f"job{rng.randrange(4)}"),
            inputs,
            outputs,
            run_id=rng.choice(runs),
            event_type=rng.choice(["START", "COMPLETE", "RUNNING"]),
            time=f"2026-01-01T00:{rng.randrange(60):02d}:{number % 60:02d}Z",
            parent=(runs[0], ("jobs", "session")) if rng.random() < 0.5 else None,
            models={"t5"},
        )
        if rng.random() < 0.3:
            event["outputs"][0].setdefault("facets", {})["columnLineage"] = {
                "_producer": "t",
                "_schemaURL": "t",
                "fields": {"a": {"inputFields": [{"namespace": "ns", "name": rng.choice(NAMES), "field": "a"}]}},
            }
        found.append(check(event))
    return found


def test_two_writers_with_stale_caches_give_one_writers_graph(store_url: str, tmp_path) -> None:
    rng = random.Random(5)
    events = _events(rng, 240)
    with Store(store_url) as first, Store(store_url) as second:
        start = 0
        while start < len(events):
            size = rng.randint(1, 25)
            writer = first if rng.random() < 0.5 else second
            writer.append(events[start : start + size], batch=rng.randint(1, 10))
            start += size
        both = snapshot(first)
        first.rebuild()
        assert snapshot(second) == both  # the other writer's cache is dropped with the graph's generation
        second.append(events[:50])  # all duplicates: nothing changes
        assert snapshot(first) == both
    with Store(f"sqlite:///{tmp_path / 'one.db'}") as one:  # one writer, another order, on SQLite
        one.append(sorted(events, key=lambda event: event.hash))
        assert _as_text(snapshot(one)) == _as_text(both)


def _as_text(graph: dict[str, set[tuple]]) -> dict[str, set[tuple]]:
    """Times as SQLite keeps them, so that a PostgreSQL store's graph compares with a SQLite one's."""
    return {
        table: {tuple(v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v for v in row) for row in rows}
        for table, rows in graph.items()
    }


def test_a_cache_past_its_limit_starts_afresh_and_the_graph_is_the_same(store_url: str) -> None:
    """A writer whose cache outgrows its limit drops it and looks ids up again: the graph is what a rebuild from
    the events gives, and the cache stays within its limit."""
    from nblineage.lineage.merge import IdCache

    events = _events(random.Random(9), 200)
    with Store(store_url) as small:
        small._ids = IdCache(limit=45)
        largest = dropped = 0
        for start in range(0, len(events), 7):
            before = sum(len(ids) for ids in small._ids.known.values())
            small.append(events[start : start + 7])
            after = sum(len(ids) for ids in small._ids.known.values())
            largest, dropped = max(largest, after), dropped + (after < before)
        assert dropped and 0 < largest <= 45  # kept ids between transactions, and dropped them past 45
        appended = snapshot(small)
        small.rebuild()
        assert snapshot(small) == appended
