"""An output's exact input versions (``nblineage_lineage.inputs``): its edges come from those versions only, in any
arrival order and after a rebuild; an output that names none keeps every version of its sources the run read; an
output made of no dataset (``noInputs``) gets no edge, where one that names no inputs gets every input of its run."""

from __future__ import annotations

import itertools
from pathlib import Path

from events import dataset, run_event
from graphdump import snapshot

from nblineage.lineage import facets
from nblineage.lineage.events import check
from nblineage.lineage.store import Store

RUN = "00000000-0000-4000-8000-000000000001"
JOB = ("jupyter", "nb.ipynb#c1")
DATA_V1, DATA_V2 = ("file", "/data.csv", "v1"), ("file", "/data.csv", "v2")


def output(name: str, version: str, inputs: list[tuple[str, str, str]] | None, no_inputs: bool = False) -> dict:
    """An output entry made from ``inputs`` (the standard lineage facet, and ours with versions unless None)."""
    sources = inputs if inputs is not None else [DATA_V1, DATA_V2]
    declared = [{"namespace": ns, "name": n, "type": "DATASET", "transformations": []} for ns, n, _ in sources]
    found = {"lineage": facets.standard("lineage", inputs=list({d["name"]: d for d in declared}.values()), fields={})}
    lineage = {"precision": "exact", "runs": []}
    if inputs is not None:
        lineage["inputs"] = [{"namespace": ns, "name": n, "version": v} for ns, n, v in inputs]
    if no_inputs:
        lineage["noInputs"] = True
    found[facets.LINEAGE] = facets.ours(facets.LINEAGE, lineage)
    return dataset(("file", name, version), facets=found)


def events() -> list[dict]:
    outputs = [
        output("/from_first.csv", "f1", [DATA_V1]),
        output("/from_second.csv", "s1", [DATA_V2]),
        output("/out.csv", "o1", [DATA_V1]),
        output("/out.csv", "o2", [DATA_V2]),
        output("/legacy.csv", "l1", None),  # a producer that names no versions
        output("/constants.pkl", "c1", [], no_inputs=True),  # made of no dataset
        output("/unknown.pkl", "u1", []),  # inputs not known: every input of the run
    ]
    start = run_event(JOB, run_id=RUN, event_type="START", time="2026-01-01T00:00:00Z")
    complete = run_event(JOB, [DATA_V1, DATA_V2], outputs, run_id=RUN, time="2026-01-01T00:00:01Z")
    return [start, complete]


def edges(store: Store) -> set[tuple[str, str, str, str]]:
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT ds.name, vs.version, dd.name, vd.version FROM edges e "
            "JOIN dataset_versions vs ON vs.id = e.src JOIN datasets ds ON ds.id = vs.dataset_id "
            "JOIN dataset_versions vd ON vd.id = e.dst JOIN datasets dd ON dd.id = vd.dataset_id "
            "WHERE e.derivation <> 'version'"
        ).all()
    return {tuple(row) for row in rows}


EXPECTED = {
    ("/data.csv", "v1", "/from_first.csv", "f1"),
    ("/data.csv", "v2", "/from_second.csv", "s1"),
    ("/data.csv", "v1", "/out.csv", "o1"),
    ("/data.csv", "v2", "/out.csv", "o2"),
    ("/data.csv", "v1", "/legacy.csv", "l1"),
    ("/data.csv", "v2", "/legacy.csv", "l1"),
    ("/data.csv", "v1", "/unknown.pkl", "u1"),
    ("/data.csv", "v2", "/unknown.pkl", "u1"),
}


def test_each_output_gets_edges_from_the_versions_it_names(store: Store) -> None:
    store.append([check(event) for event in events()])
    assert edges(store) == EXPECTED
    expected = snapshot(store)
    store.rebuild()
    assert snapshot(store) == expected


def test_any_arrival_order_gives_the_same_edges(tmp_path: Path) -> None:
    for order in itertools.permutations(events()):
        with Store(f"sqlite:///{tmp_path / f'{id(order)}.db'}") as store:
            for event in order:  # one event a batch: the later one finds the run stored
                store.append([check(event)])
            assert edges(store) == EXPECTED
