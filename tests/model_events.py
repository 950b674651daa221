"""OpenLineage events shaped like the kernel extension's (docs/facets.md), for the governance questions.

One notebook, two kernel sessions:

session 1 (S1)
  c-prep   R1  raw.csv@RAW -> features.parquet@FEAT (schema, columnLineage), resources with two GPUs
  c-train  R2  features@FEAT -> model.joblib@M1 (RandomForest, fit-1); accuracy_score on train
  c-eval   R3  metrics of fit-1 (test, validation) and of another fit; resources that must not count
  c-eval   R4  accuracy_score on test again (the latest wins)
  c-log    R5  features@FEAT -> models:/m-abc (logged in MLflow run RUN123, registered as churn/3)
           a DatasetEvent with nblineage_mlflow for models:/m-abc
  c-reg    R6  models:/m-abc -> models:/churn/3
  (R7, another producer, no parent: models:/m-abc -> models:/churn/4)
session 2 (S2)
  c-train  R8  features@FEAT -> model.joblib@M2 (LogisticRegression, fit-2), new cell code
  c-eval   R9  metrics of fit-2, and one of fit-1 in a session that did not make M1
and an ETL DatasetEvent: raw.csv's city column comes from postgres crm.public.customers.city.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events import dataset, run_event

PRODUCER = "https://github.com/nblineage/nblineage/tree/0.1.0"
FACETS_URL = "https://github.com/nblineage/nblineage/blob/main/docs/facets.md"
OL_FACETS = "https://openlineage.io/spec/facets"
JOBS = "jupyter"
NOTEBOOK = "/home/ana/churn/train.ipynb"
TRACKING = "mlflow:///srv/mlruns"
OTHER_TRACKING = "mlflow://tracking.example.com"
CUSTOMERS = ("postgres://db.example.com:5432", "crm.public.customers")
MLFLOW_RUN = "4f1c2a9e8d7b6c5a4f3e2d1c0b9a8f7e"
MODEL_ID = "m-abc123"
RAW, FEAT, M1, M2 = ("a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16)


def rid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


S1, S2 = rid(100), rid(200)
R1, R2, R3, R4, R5, R6, R7, R8, R9 = (rid(n) for n in range(1, 10))


def ol_facet(schema: str, version: str = "1-0-0", **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{OL_FACETS}/{version}/{schema}.json#/$defs/{schema}", **fields}


def nbl_facet(section: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS_URL}#{section}", **fields}


def schema(*columns: str) -> dict[str, Any]:
    return ol_facet("SchemaDatasetFacet", "1-2-0", fields=[{"name": c, "type": "string"} for c in columns])


def column_lineage(fields: dict[str, list[tuple[str, str, str]]]) -> dict[str, Any]:
    return ol_facet(
        "ColumnLineageDatasetFacet",
        "1-2-0",
        fields={
            field: {"inputFields": [{"namespace": ns, "name": name, "field": col} for ns, name, col in inputs]}
            for field, inputs in fields.items()
        },
    )


def entry(
    namespace: str,
    name: str,
    version: str | None,
    *,
    model: dict[str, Any] | None = None,
    inputs: list[tuple[str, str]] = (),
    runs: list[str] | None = None,
    facets: dict[str, Any] | None = None,
    output: bool = True,
) -> dict[str, Any]:
    """An input or output entry as the kernel writes it (outputs: lineage, nblineage_lineage, model facets)."""
    extra = dict(facets or {})
    if output:
        extra["lineage"] = ol_facet(
            "LineageDatasetFacet",
            inputs=[{"namespace": ns, "name": n, "type": "DATASET"} for ns, n in inputs],
        )
        extra["nblineage_lineage"] = nbl_facet("lineage", precision="exact", runs=list(runs or []))
    if model is not None:
        extra["nblineage_model"] = nbl_facet("model", **model)
    built = dataset((namespace, name, version), model=model is not None)
    built.setdefault("facets", {}).update(extra)
    if model is not None:
        built["facets"]["datasetType"]["_schemaURL"] = (
            f"{OL_FACETS}/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet"
        )
    return built


def session(run_id: str, start: str, end: str) -> list[dict[str, Any]]:
    job_type = {"jobType": ol_facet("JobTypeJobFacet", "2-0-3", processingType="BATCH", integration="JUPYTER")}
    job_type["jobType"]["jobType"] = "NOTEBOOK"
    return [
        {**run_event((JOBS, NOTEBOOK), run_id=run_id, event_type=kind, time=time, job_facets=job_type)}
        for kind, time in (("START", start), ("COMPLETE", end))
    ]


def cell(
    cell_id: str,
    run_id: str,
    session_id: str,
    start: str,
    end: str,
    *,
    source: str,
    inputs: list[dict[str, Any]] = (),
    outputs: list[dict[str, Any]] = (),
    resources: dict[str, Any] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    extra_run_facets: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """START and COMPLETE of a cell run, like kernel_ext/emit.py's ``cell_events``."""
    job_facets = {
        "jobType": {**ol_facet("JobTypeJobFacet", "2-0-3", processingType="BATCH", integration="JUPYTER")},
        "sourceCode": ol_facet("SourceCodeJobFacet", "1-0-1", language="python", sourceCode=source),
    }
    job_facets["jobType"]["jobType"] = "CELL"
    job = (JOBS, f"{NOTEBOOK}#{cell_id}")
    parent = (session_id, (JOBS, NOTEBOOK))
    start_event = run_event(job, run_id=run_id, event_type="START", time=start, parent=parent, job_facets=job_facets)
    end_event = run_event(
        job, inputs, outputs, run_id=run_id, event_type="COMPLETE", time=end, parent=parent, job_facets=job_facets
    )
    for event in (start_event, end_event):
        event["run"]["facets"]["parent"]["_schemaURL"] = f"{OL_FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
        event["run"]["facets"]["nblineage_cell"] = nbl_facet("cell", cellId=cell_id, executionCount=1)
    facets = end_event["run"]["facets"]
    facets["nblineage_resources"] = nbl_facet(
        "resources", **(resources or {"wallTimeSeconds": 0.1, "cpuTimeSeconds": 0.1, "peakMemoryBytes": 0, "gpus": []})
    )
    if metrics is not None:
        facets["nblineage_metrics"] = nbl_facet("metrics", metrics=metrics)
    facets.update(extra_run_facets or {})
    return [start_event, end_event]


def metric(
    name: str, value: float, split: str | None, fit_id: str, variable: str | None, *datasets: tuple[str, str, str]
) -> dict[str, Any]:
    """An entry of the nblineage_metrics facet."""
    return {
        "name": name,
        "value": value,
        "split": split,
        "fitId": fit_id,
        "estimator": "sklearn.ensemble._forest.RandomForestClassifier",
        "variable": variable,
        "datasets": [{"namespace": ns, "name": n, "version": v} for ns, n, v in datasets],
    }


def dataset_event(namespace: str, name: str, time: str, facets: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": namespace, "name": name, "facets": facets},
    }


@dataclass(frozen=True)
class Scenario:
    """The paths of the scenario's files and its events."""

    raw: str
    features: str
    model: str
    events: list[dict[str, Any]]


def rf_model(**changes: Any) -> dict[str, Any]:
    """The nblineage_model facet of the random forest fitted in c-train (fit-1)."""
    facet = {
        "framework": "sklearn",
        "modelClass": "sklearn.ensemble._forest.RandomForestClassifier",
        "hyperParameters": {"n_estimators": 100, "max_depth": 5},
        "featureNames": ["age", "income_log", "city_code", "tenure"],
        "featureLineage": {"tenure": ["age", "signup_date"]},
        "trainingJob": f"{NOTEBOOK}#c-train",
        "trainingRunId": R2,
        "fitId": "fit-1",
        "frameworkVersion": "1.5.2",
        "sizeBytes": 2048,
        "mlflow": {},
        "details": {"nSamples": 1000, "nFeatures": 4},
    }
    facet.update(changes)
    return facet


def scenario(base: Path) -> Scenario:
    raw, features, model = (str(base / n) for n in ("raw.csv", "features.parquet", "model.joblib"))
    feat = ("file", features, FEAT)
    logged = rf_model(
        sizeBytes=4096,
        mlflow={
            "runId": MLFLOW_RUN,
            "experimentId": "7",
            "modelId": MODEL_ID,
            "flavor": "sklearn",
            "artifactUri": f"/srv/mlruns/7/models/{MODEL_ID}/artifacts",
            "registeredModel": {"name": "churn", "version": "3"},
        },
    )
    events = [
        dataset_event(
            "file",
            raw,
            "2026-03-01T09:00:00Z",
            {"columnLineage": column_lineage({"city": [(*CUSTOMERS, "city")]})},
        ),
        *session(S1, "2026-03-01T10:00:00Z", "2026-03-01T10:10:00Z"),
        *cell(
            "c-prep",
            R1,
            S1,
            "2026-03-01T10:01:00Z",
            "2026-03-01T10:01:10Z",
            source="df = pd.read_csv('raw.csv')\nprep(df).to_parquet('features.parquet')",
            inputs=[
                entry("file", raw, RAW, output=False, facets={"schema": schema("age", "income", "city", "churned")})
            ],
            outputs=[
                entry(
                    "file",
                    features,
                    FEAT,
                    inputs=[("file", raw)],
                    runs=[R1],
                    facets={
                        "schema": schema("age", "income_log", "city_code", "churned"),
                        "columnLineage": column_lineage(
                            {"income_log": [("file", raw, "income")], "city_code": [("file", raw, "city")]}
                        ),
                    },
                )
            ],
            resources={
                "wallTimeSeconds": 1.5,
                "cpuTimeSeconds": 1.25,
                "peakMemoryBytes": 100_000_000,
                "gpus": [
                    {"name": "NVIDIA A100", "peakMemoryBytes": 1_000_000_000},
                    {"name": "Tesla T4", "peakMemoryBytes": 200_000_000},
                ],
            },
        ),
        *cell(
            "c-train",
            R2,
            S1,
            "2026-03-01T10:02:00Z",
            "2026-03-01T10:02:30Z",
            source="model = RandomForestClassifier(n_estimators=100, max_depth=5).fit(X_train, y_train)\n"
            "joblib.dump(model, 'model.joblib')",
            inputs=[entry("file", features, FEAT, output=False)],
            outputs=[entry("file", model, M1, model=rf_model(), inputs=[("file", features)], runs=[R1, R2])],
            resources={
                "wallTimeSeconds": 10.0,
                "cpuTimeSeconds": 30.0,
                "peakMemoryBytes": 2_000_000_000,
                "gpus": [{"name": "NVIDIA A100", "peakMemoryBytes": 5_000_000_000}],
            },
            metrics=[metric("accuracy_score", 0.99, "train", "fit-1", "y_train", feat)],
        ),
        *cell(
            "c-eval",
            R3,
            S1,
            "2026-03-01T10:03:00Z",
            "2026-03-01T10:03:05Z",
            source="accuracy_score(y_test, model.predict(X_test))",
            resources={"wallTimeSeconds": 100.0, "cpuTimeSeconds": 100.0, "peakMemoryBytes": 9_000_000_000},
            metrics=[
                metric("accuracy_score", 0.91, "test", "fit-1", "y_test", feat),
                metric("f1_score", 0.88, "validation", "fit-1", "y_val", feat, ("file", raw, RAW)),
                metric("accuracy_score", 0.5, "test", "fit-other", "y_test"),
            ],
        ),
        *cell(
            "c-eval",
            R4,
            S1,
            "2026-03-01T10:04:00Z",
            "2026-03-01T10:04:05Z",
            source="accuracy_score(y_test, model.predict(X_test))",
            metrics=[metric("accuracy_score", 0.93, "test", "fit-1", "y_test", feat)],
        ),
        *cell(
            "c-log",
            R5,
            S1,
            "2026-03-01T10:05:00Z",
            "2026-03-01T10:05:20Z",
            source="mlflow.sklearn.log_model(model, name='model', registered_model_name='churn')",
            inputs=[entry("file", features, FEAT, output=False)],
            outputs=[
                entry(
                    TRACKING,
                    f"models:/{MODEL_ID}",
                    MODEL_ID,
                    model=logged,
                    inputs=[("file", features)],
                    runs=[R1, R2, R5],
                )
            ],
            resources={"wallTimeSeconds": 0.25, "cpuTimeSeconds": 0.5, "peakMemoryBytes": 3_000_000_000, "gpus": []},
        ),
        dataset_event(
            TRACKING,
            f"models:/{MODEL_ID}",
            "2026-03-01T10:05:30Z",
            {
                "version": ol_facet("DatasetVersionDatasetFacet", datasetVersion=MODEL_ID),
                "nblineage_mlflow": nbl_facet(
                    "mlflow",
                    runId=MLFLOW_RUN,
                    runName="bright-owl-42",
                    status="FINISHED",
                    experimentId="7",
                    experimentName="churn-experiment",
                    params={"n_estimators": "100"},
                    metrics={
                        "training_accuracy_score": 0.99,
                        "val_loss": 0.3,
                        "test_f1": 0.8,
                        "custom_thing": 5,
                        "training_score": "bad",
                        "accuracy": 0.9,
                    },
                    systemMetrics={
                        "system/cpu_utilization_percentage": 55.0,
                        "system/gpu_0_memory_usage_megabytes": 1200,
                    },
                    modelId=MODEL_ID,
                    modelMetrics=[
                        {
                            "name": "accuracy",
                            "value": 0.9,
                            "datasetName": "X_test",
                            "datasetDigest": "d1",
                            "split": "test",
                        },
                        {
                            "name": "rmse",
                            "value": 1.5,
                            "datasetName": "eval_df",
                            "datasetDigest": "d2",
                            "split": "eval",
                        },
                    ],
                    datasets=[{"name": "X_train", "digest": "d0", "context": "train", "source": "memory"}],
                    registeredVersions=[{"name": "churn", "version": "3"}],
                ),
            },
        ),
        *cell(
            "c-reg",
            R6,
            S1,
            "2026-03-01T10:06:00Z",
            "2026-03-01T10:06:01Z",
            source="mlflow.register_model(info.model_uri, 'churn')",
            inputs=[entry(TRACKING, f"models:/{MODEL_ID}", MODEL_ID, output=False)],
            outputs=[
                entry(
                    TRACKING,
                    "models:/churn/3",
                    MODEL_ID,
                    model=logged,
                    inputs=[(TRACKING, f"models:/{MODEL_ID}")],
                    runs=[R1, R2, R6],
                )
            ],
            resources={"wallTimeSeconds": 0.5, "cpuTimeSeconds": 0.1, "peakMemoryBytes": 0, "gpus": []},
        ),
        run_event(
            ("mlflow", "register"),
            [(TRACKING, f"models:/{MODEL_ID}", MODEL_ID)],
            [(TRACKING, "models:/churn/4", "4")],
            run_id=R7,
            time="2026-03-01T10:07:00Z",
            models={"models:/churn/4"},
        ),
        *session(S2, "2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z"),
        *cell(
            "c-train",
            R8,
            S2,
            "2026-03-01T11:01:00Z",
            "2026-03-01T11:01:10Z",
            source="model = LogisticRegression(C=0.5).fit(X_train, y_train)\njoblib.dump(model, 'model.joblib')",
            inputs=[entry("file", features, FEAT, output=False)],
            outputs=[
                entry(
                    "file",
                    model,
                    M2,
                    model=rf_model(
                        modelClass="sklearn.linear_model._logistic.LogisticRegression",
                        hyperParameters={"C": 0.5},
                        trainingRunId=R8,
                        fitId="fit-2",
                        sizeBytes=1024,
                    ),
                    inputs=[("file", features)],
                    runs=[R8],
                )
            ],
            resources={"wallTimeSeconds": 2.0, "cpuTimeSeconds": 2.0, "peakMemoryBytes": 500, "gpus": []},
        ),
        *cell(
            "c-eval",
            R9,
            S2,
            "2026-03-01T11:02:00Z",
            "2026-03-01T11:02:05Z",
            source="accuracy_score(y_test, model.predict(X_test))",
            metrics=[
                metric("accuracy_score", 0.8, "test", "fit-2", "y_test"),
                metric("accuracy_score", 0.95, "test", "fit-1", "y_test"),
            ],
        ),
    ]
    return Scenario(raw, features, model, events)
