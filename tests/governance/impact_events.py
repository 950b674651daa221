"""A lineage graph for impact, as kernels and other producers write it (tests/model_events.py's builders).

notebook /home/ana/churn/train.ipynb (model_events.NOTEBOOK), session S:
  c-load   L1  applicants.csv@V1 -> features.parquet@F1                 (exact)
  c-fit-a  L2  features@F1 -> model_a.joblib@MA                         (exact)
  c-fit-b  L3  features@F1 -> model_b.joblib@MB                         (cell: the fallback saw it)
  c-join   L4  applicants.csv@V1 + bureau table -> joined.parquet@J1   (exact)
  c-load   L5  applicants.csv@V2 -> features.parquet@F2
  c-fit-a  L6  features@F2 -> model_a.joblib@MA2
  c-clean  L7  applicants.csv@V1 -> applicants.csv@V2 (the file cleaned in place: V2 derives from V1)
and a reader that recorded no version: a dbt job reads applicants.csv -> summary table.
Ownership facets: applicants.csv (alice, a hostile name), features.parquet (team:ml), model_a (bob).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import model_events
from events import run_event
from model_events import cell, dataset_event, entry, ol_facet, rid, session

NOTEBOOK = model_events.NOTEBOOK  # the notebook model_events.cell runs in
V1, V2, F1, F2, MA, MA2, MB, J1 = (
    "1a" * 16,
    "2b" * 16,
    "f1" * 16,
    "f2" * 16,
    "aa" * 16,
    "ab" * 16,
    "bb" * 16,
    "j1" * 16,
)
BUREAU = ("postgres://db.example.com:5432", "credit.public.bureau")
SUMMARY = ("postgres://db.example.com:5432", "credit.public.summary")
HOSTILE = "=cmd|'/c calc'!A0<script>alert(1)</script>\x1b[31m"
S = rid(700)
L1, L2, L3, L4, L5, L6, L7, DBT = (rid(n) for n in range(701, 709))


def ownership(*owners: tuple[str, str]) -> dict[str, Any]:
    return ol_facet("OwnershipDatasetFacet", owners=[{"name": name, "type": kind} for name, kind in owners])


def model(cls: str, fit: str) -> dict[str, Any]:
    return {"framework": "sklearn", "modelClass": cls, "fitId": fit}


def events(base: Path) -> dict[str, Any]:
    """The events, and the paths of the files they name."""
    applicants, features, joined = (str(base / n) for n in ("applicants.csv", "features.parquet", "joined.parquet"))
    model_a, model_b = str(base / "model_a.joblib"), str(base / "model_b.joblib")
    owned = {"ownership": ownership(("alice", "MAINTAINER"), (HOSTILE, "STEWARD"))}

    def step(cell_id: str, run: str, minute: int, inputs: list, outputs: list) -> list[dict[str, Any]]:
        start, end = f"2026-05-01T10:{minute:02d}:00Z", f"2026-05-01T10:{minute:02d}:30Z"
        return cell(cell_id, run, S, start, end, source=f"# {cell_id}", inputs=inputs, outputs=outputs)

    def read(namespace: str, name: str, version: str | None, **facets: Any) -> dict[str, Any]:
        return entry(namespace, name, version, output=False, facets=facets or None)

    def wrote(namespace: str, name: str, version: str, sources: list, runs: list, precision: str = "exact", **kw):
        built = entry(namespace, name, version, inputs=sources, runs=runs, **kw)
        built["facets"]["nblineage_lineage"]["precision"] = precision
        return built

    found = [
        *session(S, "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z"),
        *step(
            "c-load",
            L1,
            1,
            [read("file", applicants, V1, **owned)],
            [
                wrote(
                    "file",
                    features,
                    F1,
                    [("file", applicants)],
                    [L1],
                    facets={"ownership": ownership(("team:ml", "OWNER"))},
                )
            ],
        ),
        *step(
            "c-fit-a",
            L2,
            2,
            [read("file", features, F1)],
            [
                wrote(
                    "file",
                    model_a,
                    MA,
                    [("file", features)],
                    [L2],
                    model=model("LogisticRegression", "fit-a"),
                    facets={"ownership": ownership(("bob", "OWNER"))},
                )
            ],
        ),
        *step(
            "c-fit-b",
            L3,
            3,
            [read("file", features, F1)],
            [wrote("file", model_b, MB, [("file", features)], [L3], "cell", model=model("RandomForest", "fit-b"))],
        ),
        *step(
            "c-join",
            L4,
            4,
            [read("file", applicants, V1), read(*BUREAU, None)],
            [wrote("file", joined, J1, [("file", applicants), BUREAU], [L4])],
        ),
        *step(
            "c-load", L5, 5, [read("file", applicants, V2)], [wrote("file", features, F2, [("file", applicants)], [L5])]
        ),
        *step(
            "c-fit-a",
            L6,
            6,
            [read("file", features, F2)],
            [wrote("file", model_a, MA2, [("file", features)], [L6], model=model("LogisticRegression", "fit-a2"))],
        ),
        *step(
            "c-clean",
            L7,
            7,
            [read("file", applicants, V1)],
            [wrote("file", applicants, V2, [("file", applicants)], [L7])],
        ),
        run_event(
            ("dbt", "credit.summary"), [("file", applicants)], [SUMMARY], run_id=DBT, time="2026-05-01T12:00:00Z"
        ),
        dataset_event("file", applicants, "2026-05-01T09:00:00Z", owned),
    ]
    return {
        "events": found,
        "applicants": applicants,
        "features": features,
        "joined": joined,
        "model_a": model_a,
        "model_b": model_b,
    }
