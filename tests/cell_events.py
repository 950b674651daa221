"""Events shaped like the kernel's for one notebook: a read cell, three cells that never touch a file (features,
split, fit), and a save cell whose output's ``nblineage_lineage`` facet lists the runs the model went through."""

from __future__ import annotations

from typing import Any

from events import run_event

NB = "/home/ana/churn.ipynb"
CUSTOMERS, MODEL, EXPORT = "/data/customers.csv", "/data/churn.joblib", "exports/churn.bin"
SESSION = "00000000-0000-4000-8000-000000000100"
# run ids whose sorted order is not the order the cells ran in
READ, FEATURES, SPLIT, FIT, SAVE = (f"00000000-0000-4000-8000-00000000000{n}" for n in (5, 3, 9, 1, 7))
CELLS = {READ: "read", FEATURES: "features", SPLIT: "split", FIT: "fit", SAVE: "save"}


def job(cell: str) -> str:
    return f"{NB}#{cell}"


def cell_run(run_id: str, minute: int, inputs=(), outputs=(), cell: str | None = None) -> list[dict[str, Any]]:
    """START and COMPLETE of a cell run under the session."""
    name = job(cell or CELLS[run_id])
    return [
        run_event(
            ("jupyter", name),
            inputs if kind == "COMPLETE" else (),
            outputs if kind == "COMPLETE" else (),
            run_id=run_id,
            event_type=kind,
            time=f"2026-01-01T00:{minute:02d}:{second:02d}Z",
            parent=(SESSION, ("jupyter", NB)),
        )
        for kind, second in (("START", 0), ("COMPLETE", 30))
    ]


def saved(steps: list[str], precision: str = "exact", version: str = "m1") -> dict[str, Any]:
    """The model output of the save cell, with the runs it went through."""
    return {
        "namespace": "file",
        "name": MODEL,
        "facets": {
            "version": {"_producer": "t", "_schemaURL": "t", "datasetVersion": version},
            "datasetType": {"_producer": "t", "_schemaURL": "t", "datasetType": "MODEL"},
            "lineage": {
                "_producer": "t",
                "_schemaURL": "t",
                "inputs": [{"namespace": "file", "name": CUSTOMERS, "type": "DATASET"}],
            },
            "nblineage_lineage": {"_producer": "t", "_schemaURL": "t", "precision": precision, "runs": steps},
        },
    }


def notebook_events(steps: list[str] | None = None, precision: str = "exact") -> list[dict[str, Any]]:
    steps = sorted([READ, FEATURES, SPLIT, FIT]) if steps is None else steps
    return [
        *cell_run(READ, 1, inputs=[("file", CUSTOMERS, "c1")]),
        *cell_run(FEATURES, 2),
        *cell_run(SPLIT, 3),
        *cell_run(FIT, 4),
        *cell_run(SAVE, 5, inputs=[("file", CUSTOMERS, "c1")], outputs=[saved(steps, precision)]),
    ]
