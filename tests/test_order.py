"""The derived graph does not depend on the order or batching in which events arrive."""

from __future__ import annotations

import tempfile
from itertools import permutations
from pathlib import Path

from events import run_event
from graphdump import snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef, Node, datasets, downstream, path, upstream
from nblineage.lineage.store import Store

NAMES = ["a", "b", "c", "d"]
VERSIONS = [None, "v1", "v2"]
RUNS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(4)]
UNKNOWN_RUN = "00000000-0000-4000-8000-000000000099"  # a cell run whose events never arrive

dataset = st.tuples(st.just("ns"), st.sampled_from(NAMES), st.sampled_from(VERSIONS))


@st.composite
def events(draw: st.DrawFn) -> dict:
    run = draw(st.sampled_from(RUNS))
    outputs = draw(st.lists(dataset, max_size=2))
    event = run_event(
        ("jobs", draw(st.sampled_from(["job0", "job1"]))),  # a run's events may disagree on its job and parent
        draw(st.lists(dataset, max_size=2)),
        outputs,
        run_id=run,
        event_type=draw(st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", None])),
        time=f"2026-01-01T00:00:0{draw(st.integers(0, 3))}Z",
        parent=draw(st.sampled_from([None, (RUNS[3], ("jobs", "session")), (RUNS[2], ("jobs", "other"))])),
        models={name for name in NAMES if draw(st.booleans())},
    )
    if outputs and draw(st.booleans()):
        source = draw(st.sampled_from(NAMES))
        event["outputs"][0].setdefault("facets", {})["lineage"] = {
            "_producer": "t",
            "_schemaURL": "t",
            "inputs": [{"namespace": "ns", "name": source, "type": "DATASET"}],
        }
        precision = draw(st.sampled_from([None, "exact", "cell"]))
        steps = draw(st.lists(st.sampled_from([*RUNS, UNKNOWN_RUN]), max_size=3))
        if precision or steps:
            event["outputs"][0]["facets"]["nblineage_lineage"] = {
                "_producer": "t",
                "_schemaURL": "t",
                **({"precision": precision} if precision else {}),
                "runs": steps,
            }
    if draw(st.booleans()):
        event["outputs"] and event["outputs"][0].setdefault("facets", {}).update(
            {"documentation": {"_producer": "t", "_schemaURL": "t", "description": draw(st.sampled_from("xyz"))}}
        )
    return event


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), min_size=1, max_size=12), st.randoms(use_true_random=False), st.integers(1, 5))
def test_any_order_and_batching_gives_the_same_graph(payloads: list[dict], random, batch: int) -> None:
    shuffled = list(payloads)
    random.shuffle(shuffled)
    with (
        tempfile.TemporaryDirectory() as folder,
        Store(f"sqlite:///{Path(folder) / 'a.db'}") as first,
        Store(f"sqlite:///{Path(folder) / 'b.db'}") as second,
    ):
        first.append([check(p) for p in payloads])
        for start in range(0, len(shuffled), batch):
            second.append([check(p) for p in shuffled[start : start + batch]])
        expected = snapshot(first)
        assert snapshot(second) == expected
        assert answers(second) == answers(first)
        second.rebuild()
        assert snapshot(second) == expected


def disagreeing(run_id: str) -> list[dict]:
    """Events of one run that name different jobs and parents; the latest event naming each decides."""
    common = {"run_id": run_id, "inputs": [("ns", "a")], "outputs": [("ns", "b")]}
    return [
        run_event(
            ("jobs", "early"), **common, event_type="START", time="2026-01-01T00:00:01Z", parent=(RUNS[1], SESSION)
        ),
        run_event(
            ("jobs", "late"), **common, event_type="COMPLETE", time="2026-01-01T00:00:02Z", parent=(RUNS[2], SESSION)
        ),
        run_event(("jobs", "late"), run_id=run_id, event_type="OTHER", time="2026-01-01T00:00:03Z"),  # names no parent
    ]


SESSION = ("jobs", "session")


def test_a_run_keeps_the_job_and_parent_of_its_latest_events_in_any_order(store: Store) -> None:
    orders = list(permutations(range(3)))
    run_ids = [f"00000000-0000-4000-8000-1000000000{n:02}" for n in range(len(orders))]  # one run per order
    for run_id, order in zip(run_ids, orders, strict=True):
        events = disagreeing(run_id)
        for index in order:
            store.append([check(events[index])])
    expected = {(run_id, "late", RUNS[2], "late") for run_id in run_ids}
    assert _runs(store) == expected
    store.rebuild()
    assert _runs(store) == expected


def _runs(store: Store) -> set[tuple]:
    """(run id, job, parent run, job of its edge) of every run that has an edge."""
    with store.read() as conn:
        return {
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT r.run_id, j.name, r.parent_run_id, ej.name FROM runs r JOIN jobs j ON j.id = r.job_id "
                    "JOIN edges e ON e.run_pk = r.id JOIN jobs ej ON ej.id = e.job_pk"
                )
            )
        }


def answers(store: Store) -> list[list[Node]]:
    """Every dataset's upstream and downstream, and the path between each pair: the graph as queries see it."""
    refs = [DatasetRef(*key) for key in sorted(summary[:2] for summary in _names(store))]
    found = [walk(store, ref) for ref in refs for walk in (upstream, downstream)]
    return found + [path(store, a, b) for a in refs for b in refs if a != b]


def _names(store: Store) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets(store)]
