"""The governance questions about models, on stores built from kernel-like events (tests/model_events.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from events import run_event
from model_events import (
    CUSTOMERS,
    FEAT,
    M1,
    M2,
    MLFLOW_RUN,
    MODEL_ID,
    NOTEBOOK,
    OTHER_TRACKING,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    RAW,
    TRACKING,
    Scenario,
    cell,
    dataset_event,
    entry,
    nbl_facet,
    rf_model,
    rid,
    scenario,
    session,
)
from sqlalchemy import text

from nblineage.governance import questions as q
from nblineage.governance import text as render
from nblineage.governance.questions import (
    AmbiguousModel,
    DatasetRef,
    FeatureColumn,
    Gpu,
    InputDataset,
    Metric,
    MetricDataset,
    NotFound,
    RegisteredVersion,
)
from nblineage.governance.splits import split_of_name
from nblineage.lineage.events import check
from nblineage.lineage.store import Store

LOGGED = DatasetRef(TRACKING, f"models:/{MODEL_ID}")
CHURN3 = DatasetRef(TRACKING, "models:/churn/3")
CHURN4 = DatasetRef(TRACKING, "models:/churn/4")


def ingest(store: Store, events: list[dict]) -> None:
    store.append([check(event) for event in events])


@pytest.fixture
def lineage(store: Store, tmp_path: Path) -> Scenario:
    built = scenario(tmp_path)
    ingest(store, built.events)
    return built


def model_m1(lineage: Scenario) -> DatasetRef:
    return DatasetRef("file", lineage.model, M1)


# 1. models derived from a dataset


def test_models_derived_from_any_version_of_a_dataset(store: Store, lineage: Scenario) -> None:
    found = q.models_derived_from(store, DatasetRef("file", lineage.raw))
    assert [(m.kind, m.name, m.version, m.depth) for m in found] == [
        ("file", lineage.model, M1, 2),
        ("file", lineage.model, M2, 2),
        ("mlflow-model", f"models:/{MODEL_ID}", MODEL_ID, 2),
        ("mlflow-registry", "models:/churn/3", MODEL_ID, 3),
        ("mlflow-registry", "models:/churn/4", "4", 3),
    ]
    by_name = {(m.name, m.version): m for m in found}
    m1, m2 = by_name[(lineage.model, M1)], by_name[(lineage.model, M2)]
    assert (m1.framework, m1.model_class) == ("sklearn", "sklearn.ensemble._forest.RandomForestClassifier")
    assert m2.model_class == "sklearn.linear_model._logistic.LogisticRegression"  # its own version's facet
    assert (m1.mlflow_run_id, m1.registered_name, m1.registered_version) == (None, None, None)
    logged = by_name[(f"models:/{MODEL_ID}", MODEL_ID)]
    assert (logged.mlflow_run_id, logged.registered_name, logged.registered_version) == (MLFLOW_RUN, "churn", "3")
    churn4 = by_name[("models:/churn/4", "4")]  # registered by another producer: no facets of its own
    assert (churn4.registered_name, churn4.registered_version) == ("churn", "4")
    assert churn4.model_class == m1.model_class  # the logged model it registers
    assert churn4.to_json() == {
        "namespace": TRACKING,
        "name": "models:/churn/4",
        "version": "4",
        "depth": 3,
        "kind": "mlflow-registry",
        "framework": "sklearn",
        "modelClass": "sklearn.ensemble._forest.RandomForestClassifier",
        "mlflowRunId": MLFLOW_RUN,
        "registeredName": "churn",
        "registeredVersion": "4",
    }


def test_models_derived_from_one_version(store: Store, lineage: Scenario, tmp_path: Path) -> None:
    other = str(tmp_path / "other.parquet")
    ingest(
        store,
        cell(
            "c-prep",
            rid(50),
            rid(100),
            "2026-03-02T10:00:00Z",
            "2026-03-02T10:00:01Z",
            source="...",
            inputs=[entry("file", lineage.raw, "e5" * 16, output=False)],
            outputs=[entry("file", other, "f6" * 16, inputs=[("file", lineage.raw)], runs=[rid(50)])],
        ),
    )
    assert q.models_derived_from(store, DatasetRef("file", lineage.raw, "e5" * 16)) == []
    assert len(q.models_derived_from(store, DatasetRef("file", lineage.raw, RAW))) == 5
    downstream = q.models_derived_from(store, LOGGED)
    assert [(m.name, m.depth) for m in downstream] == [("models:/churn/3", 1), ("models:/churn/4", 1)]
    assert [m.name for m in q.models_derived_from(store, DatasetRef("file", lineage.features), depth=1)] == [
        lineage.model,
        lineage.model,
        f"models:/{MODEL_ID}",
    ]
    with pytest.raises(NotFound):
        q.models_derived_from(store, DatasetRef("file", lineage.raw, "nope"))
    with pytest.raises(NotFound):
        q.models_derived_from(store, DatasetRef("file", "/nowhere.csv"))


# 2. inputs


def test_model_inputs(store: Store, lineage: Scenario) -> None:
    answer = q.model_inputs(store, model_m1(lineage))
    assert answer.model == model_m1(lineage)
    assert answer.datasets == (
        InputDataset("file", lineage.features, FEAT, 1, source=False),
        InputDataset("file", lineage.raw, RAW, 2, source=False),
        InputDataset(*CUSTOMERS, None, 3, source=True),
    )
    features = {feature.name: feature for feature in answer.features}
    assert list(features) == ["age", "income_log", "city_code", "tenure"]
    assert features["age"].columns == (
        FeatureColumn("file", lineage.features, FEAT, "age", "schema", True),
        FeatureColumn("file", lineage.raw, RAW, "age", "schema", True),
    )
    assert features["income_log"].columns == (
        FeatureColumn("file", lineage.features, FEAT, "income_log", "schema", False),
        FeatureColumn("file", lineage.raw, RAW, "income", "columnLineage", True),
    )
    assert features["city_code"].columns == (
        FeatureColumn("file", lineage.features, FEAT, "city_code", "schema", False),
        FeatureColumn("file", lineage.raw, RAW, "city", "columnLineage", False),
        FeatureColumn(*CUSTOMERS, None, "city", "columnLineage", True),
    )
    assert features["city_code"].sources == (FeatureColumn(*CUSTOMERS, None, "city", "columnLineage", True),)
    assert features["tenure"].columns == (  # the notebook computed it from age (and a column no dataset has)
        FeatureColumn("file", lineage.features, FEAT, "age", "notebook", True),
        FeatureColumn("file", lineage.raw, RAW, "age", "notebook", True),
    )
    function = answer.function
    assert function.framework == "sklearn"
    assert function.model_class == "sklearn.ensemble._forest.RandomForestClassifier"
    assert function.hyper_parameters == {"n_estimators": 100, "max_depth": 5}
    assert function.framework_version == "1.5.2"
    assert function.training_job == f"{NOTEBOOK}#c-train"
    assert function.notebook == NOTEBOOK
    assert function.training_run_id == R2
    assert function.code is not None and function.code.startswith("model = RandomForestClassifier(")
    assert function.code_language == "python"
    assert function.details == {"nSamples": 1000, "nFeatures": 4}


def test_each_version_answers_with_its_own_facets_and_code(store: Store, lineage: Scenario) -> None:
    """The facets table holds M2's model facet and c-train's newer code; M1's answers still come from R2."""
    newest = q.model_inputs(store, DatasetRef("file", lineage.model))
    assert newest.model.version == M2
    assert newest.function.model_class == "sklearn.linear_model._logistic.LogisticRegression"
    assert newest.function.training_run_id == R8
    assert newest.function.code is not None and newest.function.code.startswith("model = LogisticRegression")
    old = q.model_inputs(store, model_m1(lineage)).function
    assert old.hyper_parameters == {"n_estimators": 100, "max_depth": 5}
    assert old.code is not None and "RandomForestClassifier" in old.code


def test_training_cell_code_when_the_model_was_saved_in_another_cell(store: Store, lineage: Scenario) -> None:
    logged = q.model_inputs(store, LOGGED).function
    assert (logged.training_job, logged.training_run_id) == (f"{NOTEBOOK}#c-train", R2)
    assert logged.code is not None and "RandomForestClassifier" in logged.code  # c-train's code, not c-log's


# 3. performance


def test_model_performance_from_the_kernel(store: Store, lineage: Scenario) -> None:
    answer = q.model_performance(store, model_m1(lineage))
    features = MetricDataset("file", lineage.features, FEAT)
    assert answer.metrics == (
        Metric("accuracy_score", 0.99, "train", "sklearn", (features,), R2),
        Metric("f1_score", 0.88, "validation", "sklearn", (features, MetricDataset("file", lineage.raw, RAW)), R3),
        Metric("accuracy_score", 0.93, "test", "sklearn", (features,), R4),
    )  # 0.91 replaced by the later 0.93; fit-other and session 2's fit-1 metric left out
    assert [m.value for m in answer.by_split()["test"]] == [0.93]
    assert list(answer.by_split()) == ["train", "validation", "test"]
    assert answer.get("accuracy_score", "train").value == 0.99
    assert answer.get("accuracy_score", None) is None
    newest = q.model_performance(store, DatasetRef("file", lineage.model))
    assert [(m.name, m.value, m.split) for m in newest.metrics] == [("accuracy_score", 0.8, "test")]


def test_model_performance_with_mlflow(store: Store, lineage: Scenario) -> None:
    answer = q.model_performance(store, LOGGED)
    assert [(m.split, m.name, m.value, m.origin) for m in answer.metrics] == [
        ("train", "accuracy_score", 0.99, "sklearn"),
        ("train", "training_accuracy_score", 0.99, "mlflow"),
        ("validation", "f1_score", 0.88, "sklearn"),
        ("validation", "val_loss", 0.3, "mlflow"),
        ("test", "accuracy_score", 0.93, "sklearn"),
        ("test", "accuracy", 0.9, "mlflow"),  # the model metric; the same run metric is not repeated
        ("test", "rmse", 1.5, "mlflow"),  # split "eval" is test
        ("test", "test_f1", 0.8, "mlflow"),
        (None, "custom_thing", 5.0, "mlflow"),
    ]  # "training_score": "bad" is no number
    accuracy = answer.get("accuracy", "test")
    assert accuracy.datasets == (MetricDataset(None, "X_test", "d1"),) and accuracy.run_id == MLFLOW_RUN
    registry = q.model_performance(store, CHURN4)  # the logged model's metrics
    assert [(m.name, m.split) for m in registry.metrics] == [(m.name, m.split) for m in answer.metrics]


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("training_accuracy_score", "train"),
        ("train_loss", "train"),
        ("accuracy_train", "train"),
        ("val_loss", "validation"),
        ("valid-auc", "validation"),
        ("accuracy_score_X_test", "test"),
        ("test_f1", "test"),
        ("f1", None),
        ("trainer_speed", None),
    ],
)
def test_split_of_an_mlflow_metric_name(name: str, split: str | None) -> None:
    assert split_of_name(name) == split


# 4. resources


def test_model_resources(store: Store, lineage: Scenario) -> None:
    answer = q.model_resources(store, model_m1(lineage))
    assert (answer.runs, answer.run_ids) == (2, (R1, R2))  # R3's evaluation is not on the derivation
    assert answer.wall_time_seconds == pytest.approx(11.5)
    assert answer.cpu_time_seconds == pytest.approx(31.25)
    assert answer.peak_memory_bytes == 2_000_000_000
    assert answer.gpus == (Gpu("NVIDIA A100", 5_000_000_000), Gpu("Tesla T4", 200_000_000))
    assert answer.mlflow_system_metrics == {}
    logged = q.model_resources(store, LOGGED)
    assert logged.run_ids == (R1, R2, R5)
    assert logged.wall_time_seconds == pytest.approx(11.75)
    assert logged.peak_memory_bytes == 3_000_000_000
    assert logged.mlflow_system_metrics == {
        "system/cpu_utilization_percentage": 55.0,
        "system/gpu_0_memory_usage_megabytes": 1200.0,
    }
    assert q.model_resources(store, CHURN3).run_ids == (R1, R2, R5, R6)
    churn4 = q.model_resources(store, CHURN4)  # R7 reported no resources: it is not counted
    assert churn4.run_ids == (R1, R2, R5) and R7 not in churn4.run_ids
    newest = q.model_resources(store, DatasetRef("file", lineage.model))
    assert newest.run_ids == (R1, R8)  # features' writer, and the session-2 training cell
    assert newest.gpus == (Gpu("NVIDIA A100", 1_000_000_000), Gpu("Tesla T4", 200_000_000))


# 5. location


def test_model_location_of_a_file(store: Store, lineage: Scenario) -> None:
    answer = q.model_location(store, model_m1(lineage))
    assert (answer.namespace, answer.name, answer.version, answer.uri) == ("file", lineage.model, M1, lineage.model)
    assert (answer.tracking, answer.content_hash, answer.size_bytes) == (None, M1, 2048)
    assert (answer.saved_by, answer.saved_at) == (f"{NOTEBOOK}#c-train", "2026-03-01T10:02:30.000000Z")
    assert answer.mlflow is None
    assert q.model_location(store, DatasetRef("file", lineage.model)).size_bytes == 1024


def test_model_location_in_mlflow(store: Store, lineage: Scenario) -> None:
    answer = q.model_location(store, LOGGED)
    # the model id is no content hash: without a fingerprint of its artifacts, the hash is unknown
    assert (answer.uri, answer.tracking, answer.content_hash) == (f"models:/{MODEL_ID}", "/srv/mlruns", None)
    assert answer.to_json()["contentHash"] is None and "content hash" not in "\n".join(render.location(answer))
    assert (answer.saved_by, answer.size_bytes) == (f"{NOTEBOOK}#c-log", 4096)
    mlflow = answer.mlflow
    assert mlflow is not None
    assert (mlflow.run_id, mlflow.run_name) == (MLFLOW_RUN, "bright-owl-42")
    assert (mlflow.experiment_id, mlflow.experiment_name) == ("7", "churn-experiment")
    assert (mlflow.model_id, mlflow.artifact_uri) == (MODEL_ID, f"/srv/mlruns/7/models/{MODEL_ID}/artifacts")
    assert mlflow.registered_versions == (RegisteredVersion("churn", "3"), RegisteredVersion("churn", "4"))
    registry = q.model_location(store, CHURN4)
    assert (registry.uri, registry.content_hash, registry.saved_by) == ("models:/churn/4", None, "register")
    assert registry.mlflow is not None
    assert (registry.mlflow.run_id, registry.mlflow.model_id) == (MLFLOW_RUN, MODEL_ID)
    assert registry.mlflow.registered_versions == mlflow.registered_versions


def test_copies_of_one_fit_list_each_other(store: Store, lineage: Scenario) -> None:
    """The file and the MLflow models of fit-1 are one fitted object: each location lists the others, with their
    MLflow run and registry version; the later file of another fit (fit-2) is not one of them."""
    file_copies = q.model_location(store, model_m1(lineage)).same_fit
    assert [(c.kind, c.name, c.mlflow_run_id, c.registered_name, c.registered_version) for c in file_copies] == [
        ("mlflow-model", f"models:/{MODEL_ID}", MLFLOW_RUN, "churn", "3"),
        ("mlflow-registry", "models:/churn/3", MLFLOW_RUN, "churn", "3"),
        ("mlflow-registry", "models:/churn/4", MLFLOW_RUN, "churn", "4"),  # registered later: the logged model's
    ]
    assert file_copies[0].mlflow_model_id == MODEL_ID and file_copies[0].saved_by == f"{NOTEBOOK}#c-log"
    logged = q.model_location(store, LOGGED)
    assert [(c.kind, c.name, c.version) for c in logged.same_fit] == [
        ("file", lineage.model, M1),
        ("mlflow-registry", "models:/churn/3", MODEL_ID),
        ("mlflow-registry", "models:/churn/4", "4"),
    ]
    assert logged.to_json()["sameFit"][0] == {
        "namespace": "file",
        "name": lineage.model,
        "version": M1,
        "kind": "file",
        "uri": lineage.model,
        "savedBy": f"{NOTEBOOK}#c-train",
        "mlflowRunId": None,
        "mlflowModelId": None,
        "registeredName": None,
        "registeredVersion": None,
    }
    shown = "\n".join(render.location(q.model_location(store, model_m1(lineage))))
    assert "same fit also saved as:" in shown and f"models:/{MODEL_ID}" in shown and "churn/3" in shown
    assert q.model_location(store, DatasetRef("file", lineage.model)).same_fit == ()  # fit-2: no other copy


def test_resources_name_their_cells(store: Store, lineage: Scenario) -> None:
    answer = q.model_resources(store, LOGGED)
    assert answer.cells == (f"{NOTEBOOK}#c-prep", f"{NOTEBOOK}#c-train", f"{NOTEBOOK}#c-log")
    assert answer.to_json()["cells"] == list(answer.cells) and answer.to_json()["runIds"] == [R1, R2, R5]
    assert f"  cells:         {NOTEBOOK}: c-prep, c-train, c-log" in render.resources(answer)


def test_location_uri_of_other_stores(store: Store) -> None:
    ingest(
        store,
        [run_event(("spark", "train"), [], [("s3://models", "churn/model.pkl", "v1")], models={"churn/model.pkl"})],
    )
    answer = q.model_location(store, DatasetRef("s3://models", "churn/model.pkl"))
    assert (answer.uri, answer.tracking, answer.size_bytes, answer.saved_by) == (
        "s3://models/churn/model.pkl",
        None,
        None,
        "train",
    )


# all five


def test_explain(store: Store, lineage: Scenario) -> None:
    answer = q.explain(store, LOGGED)
    assert (answer.model.name, answer.model.version, answer.model.depth) == (LOGGED.name, MODEL_ID, 0)
    assert [m.name for m in answer.derived_models] == ["models:/churn/3", "models:/churn/4"]
    assert answer.inputs == q.model_inputs(store, LOGGED)
    assert answer.performance == q.model_performance(store, LOGGED)
    assert answer.resources == q.model_resources(store, LOGGED)
    assert answer.location == q.model_location(store, LOGGED)
    data = answer.to_json()
    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["model", "derivedModels", "inputs", "performance", "resources", "location"]
    assert data["inputs"]["function"]["hyperParameters"] == {"n_estimators": 100, "max_depth": 5}
    assert data["inputs"]["features"][2]["columns"][2] == {
        "namespace": CUSTOMERS[0],
        "name": CUSTOMERS[1],
        "version": None,
        "field": "city",
        "via": "columnLineage",
        "source": True,
    }
    assert data["performance"]["metrics"][0] == {
        "name": "accuracy_score",
        "value": 0.99,
        "split": "train",
        "origin": "sklearn",
        "datasets": [{"namespace": "file", "name": lineage.features, "version": FEAT}],
        "runId": R2,
    }
    assert data["resources"]["runIds"] == [R1, R2, R5] and data["resources"]["runs"] == 3
    assert data["resources"]["gpus"][0] == {"name": "NVIDIA A100", "peakMemoryBytes": 5_000_000_000}
    assert data["location"]["mlflow"]["registeredVersions"] == [
        {"name": "churn", "version": "3"},
        {"name": "churn", "version": "4"},
    ]


# resolving what a user typed


def test_resolve_model(store: Store, lineage: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert q.resolve_model(store, "model.joblib") == DatasetRef("file", lineage.model, M2)
    assert q.resolve_model(store, lineage.model, version=M1) == model_m1(lineage)
    assert q.resolve_model(store, f"file://{lineage.model}") == DatasetRef("file", lineage.model, M2)
    assert q.resolve_model(store, f"models:/{MODEL_ID}") == DatasetRef(TRACKING, LOGGED.name, MODEL_ID)
    assert q.resolve_model(store, "models:/churn/4") == DatasetRef(TRACKING, CHURN4.name, "4")
    assert q.resolve_model(store, f"runs:/{MLFLOW_RUN}/model") == DatasetRef(TRACKING, LOGGED.name, MODEL_ID)
    assert q.resolve_model(store, CHURN3.name, namespace=TRACKING) == DatasetRef(TRACKING, CHURN3.name, MODEL_ID)
    assert q.resolve_model(store, lineage.model, namespace="file", version=M1) == model_m1(lineage)


def test_resolve_model_errors(store: Store, lineage: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFound, match=r"no model named .*missing\.joblib.*nblineage datasets"):
        q.resolve_model(store, "missing.joblib")
    with pytest.raises(NotFound, match="is a dataset, not a model"):
        q.resolve_model(store, "raw.csv")
    with pytest.raises(NotFound, match="has no version 'nope'"):
        q.resolve_model(store, "model.joblib", version="nope")
    with pytest.raises(NotFound, match="no MLflow model 'models:/churn/9'"):
        q.resolve_model(store, "models:/churn/9")
    with pytest.raises(NotFound, match="no model logged by MLflow run 'ffff'"):
        q.resolve_model(store, "runs:/ffff/model")
    with pytest.raises(NotFound, match="names no MLflow run"):
        q.resolve_model(store, "runs://model")
    with pytest.raises(NotFound, match="no model given"):
        q.resolve_model(store, " ")
    with pytest.raises(NotFound):
        q.resolve_model(store, "models:/churn/3", namespace=OTHER_TRACKING)


def test_resolve_model_in_several_tracking_stores(store: Store, lineage: Scenario) -> None:
    ingest(
        store,
        [
            run_event(
                ("mlflow", "register"),
                [],
                [(OTHER_TRACKING, "models:/churn/3", "3")],
                run_id=rid(300),
                models={"models:/churn/3"},
            )
        ],
    )
    with pytest.raises(AmbiguousModel) as raised:
        q.resolve_model(store, "models:/churn/3")
    assert TRACKING in str(raised.value) and OTHER_TRACKING in str(raised.value)
    assert "--namespace" in str(raised.value)
    assert q.resolve_model(store, "models:/churn/3", namespace=OTHER_TRACKING) == DatasetRef(
        OTHER_TRACKING, "models:/churn/3", "3"
    )


def test_resolve_a_run_that_logged_two_models(store: Store, lineage: Scenario) -> None:
    """``runs:/<run>/<name>`` is the model the run logged under that name (MLflow 3); a run's models logged before
    their names were recorded are ambiguous, and say so."""
    second = rf_model(mlflow={"runId": MLFLOW_RUN, "modelId": "m-second", "modelName": "other"})
    ingest(
        store,
        cell(
            "c-log2",
            rid(60),
            rid(100),
            "2026-03-01T10:08:00Z",
            "2026-03-01T10:08:01Z",
            source="mlflow.sklearn.log_model(other, name='other')",
            outputs=[entry(TRACKING, "models:/m-second", "m-second", model=second, runs=[rid(60)])],
        ),
    )
    with pytest.raises(AmbiguousModel, match="logged several models") as raised:
        q.resolve_model(store, f"runs:/{MLFLOW_RUN}/model")
    assert LOGGED.name in str(raised.value) and "models:/m-second" in str(raised.value)
    assert q.resolve_model(store, "models:/m-second") == DatasetRef(TRACKING, "models:/m-second", "m-second")
    assert q.resolve_model(store, f"runs:/{MLFLOW_RUN}/other") == DatasetRef(TRACKING, "models:/m-second", "m-second")


# untrusted payloads


def hostile_events(base: Path) -> list[dict]:
    """A model whose facets all have the wrong types, and a session around it."""
    bad, data = str(base / "bad.joblib"), str(base / "in.csv")
    fit = "fit-x"
    model_facet = {
        "framework": 5,
        "modelClass": ["x"],
        "hyperParameters": "n=1",
        "featureNames": [1, "a", None, "b", "a", {"c": 1}],
        "featureLineage": {"a": 5, "b": ["b", 7, None]},
        "trainingJob": {"a": 1},
        "trainingRunId": 12,
        "fitId": fit,
        "frameworkVersion": 1.5,
        "sizeBytes": "2kB",
        "mlflow": [1, 2],
        "details": "x",
    }
    output = entry("file", bad, "b1", model=model_facet, inputs=[("file", data)])
    output["facets"]["nblineage_lineage"] = nbl_facet("lineage", precision=3, runs="not-a-list")
    events = [
        dataset_event(
            "file",
            data,
            "2026-04-01T09:00:00Z",
            {
                "schema": {"fields": [1, {"name": 5}, {"name": "a"}, "x"]},
                "columnLineage": {"fields": {"a": {"inputFields": "x"}, "b": [1], "c": {"inputFields": [5, {}]}}},
            },
        ),
        dataset_event(
            "file",
            bad,
            "2026-04-01T10:05:00Z",
            {
                "nblineage_mlflow": {
                    "runId": ["x"],
                    "runName": 5,
                    "experimentId": {"x": 1},
                    "modelMetrics": {"a": 1},
                    "metrics": [1],
                    "systemMetrics": 3,
                    "registeredVersions": [1, {"name": None, "version": "1"}, {"name": "n"}],
                }
            },
        ),
        *session(rid(400), "2026-04-01T10:00:00Z", "2026-04-01T11:00:00Z"),
        *cell(
            "c-bad",
            rid(401),
            rid(400),
            "2026-04-01T10:01:00Z",
            "2026-04-01T10:01:01Z",
            source="bad()",
            inputs=[entry("file", data, "i1", output=False)],
            outputs=[output],
            resources={
                "wallTimeSeconds": "1",
                "cpuTimeSeconds": True,
                "peakMemoryBytes": 1.5,
                "gpus": [5, {"name": 3}, {"name": "g", "peakMemoryBytes": "big"}],
            },
            metrics={"a": 1},
        ),
        *cell(
            "c-bad-metrics",
            rid(402),
            rid(400),
            "2026-04-01T10:02:00Z",
            "2026-04-01T10:02:01Z",
            source="score()",
            metrics=[
                1,
                {"name": 1, "value": 2, "fitId": fit},
                {"name": "flag", "value": True, "fitId": fit},
                {"name": "good", "value": 0.5, "fitId": fit, "split": 7, "datasets": "x"},
                {"name": "partial", "value": 0.25, "fitId": fit, "split": "TEST", "datasets": [1, {"name": "n"}]},
            ],
        ),
    ]
    events[-3]["job"]["facets"]["sourceCode"] = {"language": 3, "sourceCode": ["x"]}
    return events


def test_hostile_facets_leave_fields_empty(store: Store, tmp_path: Path) -> None:
    ingest(store, hostile_events(tmp_path))
    bad = DatasetRef("file", str(tmp_path / "bad.joblib"))
    answer = q.explain(store, bad)
    assert answer.model.kind == "file" and answer.model.framework is None and answer.model.model_class is None
    function = answer.inputs.function
    assert (function.framework, function.model_class, function.framework_version) == (None, None, None)
    assert (function.hyper_parameters, function.details) == ({}, {})
    assert function.training_run_id == rid(401)  # no usable trainingRunId: the run that saved it
    assert function.training_job == f"{NOTEBOOK}#c-bad" and function.notebook == NOTEBOOK
    assert (function.code, function.code_language) == (None, None)
    features = {f.name: f.columns for f in answer.inputs.features}
    assert list(features) == ["a", "b"]
    assert [(c.field, c.via, c.source) for c in features["a"]] == [("a", "schema", True)]
    assert [(c.field, c.via, c.source) for c in features["b"]] == [("b", "schema", True)]
    assert [(m.name, m.value, m.split, m.datasets) for m in answer.performance.metrics] == [
        ("partial", 0.25, "test", ()),
        ("good", 0.5, None, ()),
    ]
    resources = answer.resources
    assert (resources.runs, resources.wall_time_seconds, resources.cpu_time_seconds) == (1, None, None)
    assert (resources.peak_memory_bytes, resources.gpus, resources.mlflow_system_metrics) == (
        None,
        (Gpu("g", None),),
        {},
    )
    location = answer.location
    assert (location.size_bytes, location.mlflow) == (None, None)
    assert json.loads(json.dumps(answer.to_json())) == answer.to_json()


def test_an_unreadable_event_falls_back_to_the_facets_table(store: Store, lineage: Scenario) -> None:
    with store.write() as conn:
        conn.execute(text("UPDATE events SET payload = '{broken' WHERE run_id = :run"), {"run": R5})
    function = q.model_inputs(store, LOGGED).function  # one version: the dataset's facet is that version's
    assert function.model_class == "sklearn.ensemble._forest.RandomForestClassifier"
    assert q.model_location(store, LOGGED).saved_by == f"{NOTEBOOK}#c-log"


def test_an_unversioned_model_from_another_producer(store: Store) -> None:
    ingest(store, [run_event(("airflow", "train"), [("s3://lake", "x.parquet")], [("s3://lake", "m")], models={"m"})])
    answer = q.explain(store, DatasetRef("s3://lake", "m"))
    assert answer.model.version is None and answer.location.content_hash is None
    assert answer.inputs.datasets == (InputDataset("s3://lake", "x.parquet", None, 1, source=True),)
    assert answer.inputs.function.training_job == "train" and answer.inputs.features == ()
    assert answer.performance.metrics == () and answer.resources.runs == 0
    assert q.resolve_model(store, "m", namespace="s3://lake") == DatasetRef("s3://lake", "m", None)


def test_questions_about_something_that_is_not_a_model(store: Store, lineage: Scenario) -> None:
    for question in (q.model_inputs, q.model_performance, q.model_resources, q.model_location, q.explain):
        with pytest.raises(NotFound, match="not a model"):
            question(store, DatasetRef("file", lineage.raw))
        with pytest.raises(NotFound, match="no model named"):
            question(store, DatasetRef("file", "/nowhere"))


def test_a_file_rewritten_from_its_own_older_version_is_no_source(store: Store) -> None:
    # M5's "simple FE" kernel: grid.parquet read, changed and written back, then a model trained from the new one
    raw, grid, model = "/w/raw.csv", "/w/grid.parquet", "/w/m.joblib"
    ingest(
        store,
        [
            run_event(
                ("nb", "c1"),
                [entry("file", raw, "r1", output=False)],
                [entry("file", grid, "g1", inputs=[("file", raw)])],
            ),
            run_event(
                ("nb", "c2"),
                [entry("file", grid, "g1", output=False)],
                [entry("file", grid, "g2", inputs=[("file", grid)])],
            ),
            run_event(
                ("nb", "c3"),
                [entry("file", grid, "g2", output=False)],
                [entry("file", model, "m1", inputs=[("file", grid)], model=rf_model())],
            ),
        ],
    )
    datasets = q.model_inputs(store, DatasetRef("file", model, "m1")).datasets
    assert [(d.name, d.version, d.depth, d.source) for d in datasets] == [
        (grid, "g2", 1, False),  # made from g1, which the answer lists
        (grid, "g1", 2, False),
        (raw, "r1", 3, True),
    ]
