"""MLflow: ``mlflow.<flavor>.save_model`` and ``log_model`` record MODEL outputs on real tracking stores."""

from __future__ import annotations

import inspect
import os
import pickle
import subprocess
import sys
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import wrapt
from hooktools import RAW, capturing, only_output, trained
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture, Output, activate
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.kernel_ext.hooks.mlflow import models as mlflow_hooks
from nblineage.kernel_ext.hooks.mlflow.models import MlflowInstrumentor, folder_version, tracking_namespace
from nblineage.kernel_ext.hooks.models import JoblibInstrumentor, PickleInstrumentor, SkopsInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.hooks.sql.rowversion import PENDING
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import HookError

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("mlflow.sklearn")
pytest.importorskip("mlflow.pyfunc")

MODEL = {"datasetType": {"datasetType": "MODEL"}}
# the serializers MLflow calls inside save_model are instrumented too: they must not record a second output
INSTRUMENTORS = (SklearnInstrumentor, JoblibInstrumentor, PickleInstrumentor, SkopsInstrumentor, MlflowInstrumentor)
REQUIREMENTS = ["scikit-learn"]  # skips MLflow's requirement inference, which runs a subprocess per save


class Store:
    """A real MLflow tracking store (SQLite) with an experiment whose artifacts stay in the temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = f"sqlite:///{root / 'mlflow.db'}"
        mlflow.set_tracking_uri(self.uri)
        self.experiment_id = mlflow.create_experiment("nblineage", artifact_location=str(root / "artifacts"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store(tmp_path_factory.mktemp("mlflow"))
    try:
        yield opened
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture
def tracking(store: Store) -> Iterator[Store]:
    """The store is MLflow's tracking store, during the test and after it."""
    mlflow.set_tracking_uri(store.uri)
    try:
        yield store
    finally:
        mlflow.set_tracking_uri(store.uri)


@pytest.fixture
def capture(tracking: Store, capture: Capture) -> Capture:
    return capture


def assert_sklearn_model(output: Output) -> None:
    assert output.facets == MODEL
    assert output.provenance.sources == {RAW}
    assert output.model is not None
    assert output.model["framework"] == "sklearn" and output.model["mlflowFlavor"] == "sklearn"
    assert output.model["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert output.model["hyperParameters"]["C"] == 0.5
    assert output.model["featureNames"] == ["age", "income"], output.model
    assert output.model["training"]["nSamples"] == 50


def test_save_model_is_a_versioned_folder(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    path = tmp_path / "model"
    assert mlflow.sklearn.save_model(model, str(path), pip_requirements=REQUIREMENTS) is None
    output = only_output(capture)  # skops.io.dump inside save_model records nothing of its own
    assert output.source == Source("file", str(path), file_version(str(path)))
    assert output.source.version is not None and len(output.source.version) == 32
    assert_sklearn_model(output)
    assert "mlflowRunId" not in output.model  # type: ignore[operator]
    assert RAW in capture.record.inputs
    np.testing.assert_array_equal(mlflow.sklearn.load_model(str(path)).predict(X), model.predict(X))


def test_log_model_is_named_in_the_tracking_store(
    capture: Capture, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, X = trained(capture)
    inner = Counter()
    patched_save = mlflow.sklearn.save_model

    def counting_save(*args: Any, **kwargs: Any) -> Any:
        inner["save_model"] += 1
        return patched_save(*args, **kwargs)

    monkeypatch.setattr(mlflow.sklearn, "save_model", counting_save)  # log_model saves through the patched function
    with mlflow.start_run(experiment_id=store.experiment_id) as run:
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    assert inner["save_model"] == 1
    output = only_output(capture)  # the nested save_model (and its serializer) recorded nothing
    assert info.model_uri == f"models:/{info.model_id}" and info.model_id.startswith("m-")
    assert output.source == Source(f"mlflow://{store.root / 'mlflow.db'}", info.model_uri, info.model_id)
    assert_sklearn_model(output)
    assert output.model is not None
    assert output.model["mlflowRunId"] == run.info.run_id == info.run_id
    assert output.model["mlflowModelId"] == info.model_id
    assert output.model["mlflowArtifactUri"].startswith(str(store.root / "artifacts"))
    assert "registeredModel" not in output.model
    np.testing.assert_array_equal(mlflow.sklearn.load_model(info.model_uri).predict(X), model.predict(X))


def test_a_registered_model_is_a_second_output(capture: Capture, store: Store) -> None:
    """The registry version derives from the logged model (not again from the data) and is versioned by its
    number; both describe the same fit."""
    model, X = trained(capture)
    with mlflow.start_run(experiment_id=store.experiment_id):
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name="churn", pip_requirements=REQUIREMENTS
        )
    logged, registered = capture.record.outputs
    namespace = f"mlflow://{store.root / 'mlflow.db'}"
    assert logged.source == Source(namespace, f"models:/{info.model_id}", info.model_id)
    assert logged.provenance.sources == {RAW}
    assert registered.source == Source(namespace, "models:/churn/1", "1")
    assert registered.provenance.sources == {logged.source} and registered.provenance.precision == "exact"
    for output in (logged, registered):
        assert output.model is not None and output.model["registeredModel"] == {"name": "churn", "version": "1"}
        assert output.model["fitId"] == capture.hooks.training.get(model)["fitId"]
        assert output.model["contentHash"] == folder_version(info.artifact_path)
    assert_sklearn_model(logged)
    np.testing.assert_array_equal(mlflow.sklearn.load_model("models:/churn/1").predict(X), model.predict(X))


@pytest.mark.parametrize("how", ["register_model", "create_model_version"])
def test_a_version_registered_later_derives_from_its_logged_model(capture: Capture, store: Store, how: str) -> None:
    model, _ = trained(capture)
    with mlflow.start_run(experiment_id=store.experiment_id) as run:
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    name = f"later-{how}"
    if how == "register_model":
        version = mlflow.register_model(f"models:/{info.model_id}", name)
    else:
        mlflow.MlflowClient().create_registered_model(name)
        version = mlflow.MlflowClient().create_model_version(
            name, f"models:/{info.model_id}", run_id=run.info.run_id, model_id=info.model_id
        )
    logged, registered = capture.record.outputs
    assert registered.source == Source(logged.source.namespace, f"models:/{name}/{version.version}", "1")
    assert registered.provenance.sources == {logged.source}
    assert registered.model is not None and registered.model["fitId"] == logged.model["fitId"]
    assert registered.model["mlflowRunId"] == run.info.run_id


@pytest.mark.parametrize("sync", ["1", "0"])
def test_the_model_s_datasets_are_logged_to_mlflow_unless_switched_off(
    capture: Capture, store: Store, monkeypatch: pytest.MonkeyPatch, sync: str
) -> None:
    monkeypatch.setenv("NBLINEAGE_MLFLOW_SYNC", sync)
    model, _ = trained(capture)
    with mlflow.start_run(experiment_id=store.experiment_id) as run:
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    logged = [
        (i.dataset.name, i.dataset.digest, i.dataset.source)
        for i in mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    ]
    if sync == "0":
        assert logged == []
        return
    assert logged == [(RAW.name, RAW.version, '{"uri": "/data/raw.csv"}')]
    [model_input] = mlflow.get_run(run.info.run_id).inputs.model_inputs
    assert model_input.model_id == info.model_id
    assert only_output(capture).model["mlflowExperimentId"] == store.experiment_id


def test_a_version_still_pending_is_not_given_to_mlflow_as_a_digest(capture: Capture, store: Store) -> None:
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"amount": rng.normal(size=40), "label": np.tile([0, 1], 20)})
    table = Source("postgres://db:5432", "shop.public.orders", f"{PENDING}7")  # rows of a result still open
    capture.read(table, rows)
    X = rows[["amount"]]
    capture.derive(X, rows)
    model = LogisticRegression().fit(X, rows["label"])
    with mlflow.start_run(experiment_id=store.experiment_id) as run:
        mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    [logged] = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert logged.dataset.name == table.name
    assert not logged.dataset.digest.startswith(PENDING)  # MLflow's own digest of the source, not our placeholder


def test_log_model_to_a_file_store(capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store in maintenance mode
    mlflow.set_tracking_uri(f"file://{tmp_path / 'mlruns'}")
    model, X = trained(capture)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    output = only_output(capture)
    assert output.source == Source(f"mlflow://{tmp_path / 'mlruns'}", f"models:/{info.model_id}", info.model_id)
    assert_sklearn_model(output)
    np.testing.assert_array_equal(mlflow.sklearn.load_model(info.model_uri).predict(X), model.predict(X))


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: list[float], params: dict | None = None) -> list[float]:
        return [2 * value for value in model_input]


class ModelWrapper(mlflow.pyfunc.PythonModel):
    """The Databricks wine example's ``SklearnModelWrapper``: a fitted model's probabilities as a pyfunc."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> np.ndarray:
        return self.model.predict_proba(model_input)[:, 1]


def test_a_python_model_wrapping_a_fitted_model_has_its_features_and_sources(
    capture: Capture, store: Store, tmp_path: Path
) -> None:
    model, _ = trained(capture)
    with mlflow.start_run(experiment_id=store.experiment_id):
        info = mlflow.pyfunc.log_model(name="wrapped", python_model=ModelWrapper(model), pip_requirements=[])
    output = only_output(capture)
    assert output.model is not None and output.model["class"] == f"{ModelWrapper.__module__}.ModelWrapper"
    assert output.model["featureNames"] == ["age", "income"], output.model
    assert output.model["fitId"] == capture.hooks.training.get(model)["fitId"]
    assert output.model["mlflowModelName"] == "wrapped" == info.name
    assert "hyperParameters" not in output.model or output.model["hyperParameters"] == {}  # the wrapper's own
    assert output.provenance.sources == {RAW}  # what the model it wraps was fit on
    mlflow.pyfunc.save_model(tmp_path / "saved", python_model=ModelWrapper(model), pip_requirements=[])
    assert capture.record.outputs[-1].provenance.sources == {RAW}


def test_a_python_model_derives_from_the_models_and_files_it_packages(
    capture: Capture, store: Store, tmp_path: Path
) -> None:
    model, _ = trained(capture)
    with mlflow.start_run(experiment_id=store.experiment_id):
        logged = mlflow.sklearn.log_model(model, name="model", pip_requirements=[])
        sklearn_model = capture.record.outputs[-1].source
        mlflow.pyfunc.log_model(
            name="by_uri", python_model=Doubler(), artifacts={"clf": logged.model_uri}, pip_requirements=[]
        )
    assert sklearn_model.name == logged.model_uri
    assert capture.record.outputs[-1].provenance.sources == {sklearn_model}
    path = tmp_path / "clf.bin"
    path.write_bytes(pickle.dumps(model))
    mlflow.pyfunc.save_model(
        tmp_path / "by_path", python_model=Doubler(), artifacts={"clf": str(path)}, pip_requirements=[]
    )
    output = capture.record.outputs[-1]
    assert output.provenance.sources == {Source("file", str(path), file_version(path))}
    assert output.provenance.precision == "exact"


def test_autolog_s_own_scratch_files_are_no_output(tracking: Store, tmp_path: Path) -> None:
    """GridSearchCV under autolog: MLflow writes ``cv_results.csv`` to a temporary folder and logs it as a run
    artifact; that is no dataset of the notebook's (its own write to a temporary folder still is)."""
    with capturing((PandasInstrumentor, SklearnInstrumentor, MlflowInstrumentor)) as capture:
        model, X = trained(capture)
        mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=False, log_models=False, silent=True)
        try:
            with mlflow.start_run(experiment_id=tracking.experiment_id) as run:
                GridSearchCV(LogisticRegression(), {"C": [0.5, 1.0]}, cv=2).fit(X, model.predict(X))
        finally:
            mlflow.sklearn.autolog(disable=True)
        X.to_csv(tmp_path / "features.csv")
    artifacts = [item.path for item in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    assert "cv_results.csv" in artifacts  # MLflow wrote it
    assert [Path(output.source.name).name for output in capture.record.outputs] == ["features.csv"]


def test_other_flavors_keep_their_own_framework(capture: Capture, store: Store, tmp_path: Path) -> None:
    python_model = Doubler()
    capture.read(RAW, python_model)
    with mlflow.start_run(experiment_id=store.experiment_id):
        info = mlflow.pyfunc.log_model(name="doubler", python_model=python_model, pip_requirements=[])
    output = only_output(capture)
    assert output.source.name == f"models:/{info.model_id}" and output.provenance.sources == {RAW}
    assert output.model is not None and output.model["mlflowFlavor"] == "pyfunc"
    assert output.model["class"] == f"{Doubler.__module__}.Doubler"
    assert mlflow.pyfunc.load_model(info.model_uri).predict([1.0, 2.0]) == [2.0, 4.0]

    torch = pytest.importorskip("torch")
    pytest.importorskip("mlflow.pytorch")  # patched when imported, after instrumenting

    net = torch.nn.Linear(2, 1)
    capture.read(RAW, net)
    path = tmp_path / "net"
    features = torch.ones(4, 2)
    mlflow.pytorch.save_model(net, str(path), input_example=features.numpy(), pip_requirements=["torch"])
    saved = capture.record.outputs[1]  # torch.save inside records nothing of its own
    assert len(capture.record.outputs) == 2
    assert saved.source == Source("file", str(path), file_version(str(path))) and saved.provenance.sources == {RAW}
    assert saved.model is not None and (saved.model["framework"], saved.model["mlflowFlavor"]) == ("pytorch", "pytorch")
    assert saved.model["nParameters"] == 3
    assert torch.equal(mlflow.pytorch.load_model(str(path))(features), net(features))


def test_patched_functions_keep_their_identity(capture: Capture) -> None:
    for module in (mlflow.sklearn, mlflow.pyfunc):
        for name in ("save_model", "log_model"):
            function = getattr(module, name)
            original = function.__wrapped__
            assert isinstance(function, wrapt.FunctionWrapper) and not isinstance(original, wrapt.FunctionWrapper)
            assert (function.__module__, function.__name__, function.__qualname__) == (module.__name__, name, name)
            assert inspect.signature(function) == inspect.signature(original)
            assert function.__doc__ == original.__doc__
            assert pickle.loads(pickle.dumps(function)) is function


def test_hook_fault_raises_only_when_strict(
    capture: Capture, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, X = trained(capture)

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(mlflow_hooks, "describe_model", broken)
    with pytest.raises(HookError, match=r"mlflow\.sklearn\.save_model"):
        mlflow.sklearn.save_model(model, str(tmp_path / "strict"), pip_requirements=REQUIREMENTS)
    np.testing.assert_array_equal(mlflow.sklearn.load_model(str(tmp_path / "strict")).predict(X), model.predict(X))

    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)
    monkeypatch.setattr(safety, "errors", Counter())
    with pytest.warns(RuntimeWarning, match=r"mlflow\.sklearn\.save_model"):
        assert mlflow.sklearn.save_model(model, str(tmp_path / "lenient"), pip_requirements=REQUIREMENTS) is None
    with mlflow.start_run(experiment_id=store.experiment_id):  # the same fault: warned once, then only logged
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=REQUIREMENTS)
    assert sum(safety.errors.values()) >= 2
    assert isinstance(info, mlflow.models.model.ModelInfo) and info.model_uri == f"models:/{info.model_id}"
    for uri in (str(tmp_path / "lenient"), info.model_uri):
        np.testing.assert_array_equal(mlflow.sklearn.load_model(uri).predict(X), model.predict(X))
    assert capture.record.outputs == []


def test_user_errors_pass_through(capture: Capture, tmp_path: Path) -> None:
    model, _ = trained(capture)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(mlflow.exceptions.MlflowException, match="already exists"):
        mlflow.sklearn.save_model(model, str(tmp_path / "taken"), pip_requirements=REQUIREMENTS)
    assert capture.record.outputs == []


def functions() -> list[Any]:
    return [getattr(module, name) for module in (mlflow.sklearn, mlflow.pyfunc) for name in ("save_model", "log_model")]


def test_uninstrument_restores_originals(tmp_path: Path) -> None:
    originals = functions()
    instrumentor = MlflowInstrumentor()
    for _ in range(2):  # instrument again after uninstrument patches again
        instrumentor.instrument()
        patched = functions()
        assert [function.__wrapped__ for function in patched] == originals
        instrumentor.uninstrument()
        assert functions() == originals
    active = Capture()
    activate(active)
    try:
        mlflow.sklearn.save_model(LogisticRegression(), str(tmp_path / "plain"), pip_requirements=REQUIREMENTS)
        # a copy of a patched function kept after uninstrument (MLflow's lazy module stand-in keeps one) is inert
        patched[0](LogisticRegression(), str(tmp_path / "stale"), pip_requirements=REQUIREMENTS)
    finally:
        activate(None)
    assert active.record.outputs == []
    assert (tmp_path / "stale" / "MLmodel").exists()


# --- flavors whose framework is not installed: a stand-in flavor module of the same shape ------------------------


def stand_in_flavor(flavor: str, model_parameter: str) -> types.ModuleType:
    """A module ``mlflow.<flavor>`` whose ``save_model(<model_parameter>, path, ...)`` writes a model folder."""

    def save_model(*args: Any, **kwargs: Any) -> None:
        path = Path(kwargs.get("path", args[1] if len(args) > 1 else ""))
        path.mkdir()
        (path / "MLmodel").write_text(f"flavors: {flavor}")

    parameters = [
        inspect.Parameter(model_parameter, inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("path", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("conda_env", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    ]
    save_model.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    save_model.__module__ = f"mlflow.{flavor}"
    module = types.ModuleType(f"mlflow.{flavor}")
    module.save_model = save_model  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("flavor", "model_parameter", "model_class", "framework"),
    [
        ("xgboost", "xgb_model", ("xgboost.core", "Booster"), "xgboost"),
        ("lightgbm", "lgb_model", ("lightgbm.basic", "Booster"), "lightgbm"),
        ("keras", "model", ("keras.src.models.model", "Model"), "keras"),
        ("tensorflow", "model", ("keras.src.models.model", "Model"), "keras"),
        ("transformers", "transformers_model", ("transformers.modeling_utils", "PreTrainedModel"), "transformers"),
        ("onnx", "onnx_model", ("onnx.onnx_ml_pb2", "ModelProto"), "mlflow.onnx"),  # not a model to describe_model
        ("statsmodels", "statsmodels_model", ("statsmodels.base.wrapper", "ResultsWrapper"), "statsmodels"),
    ],
)
def test_each_flavor_is_patched(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flavor: str,
    model_parameter: str,
    model_class: tuple[str, str],
    framework: str,
) -> None:
    module = stand_in_flavor(flavor, model_parameter)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace: dict[str, Any] = {"__module__": model_class[0]}
    if flavor == "statsmodels":
        namespace["predict"] = lambda self, exog=None: exog
    model = type(model_class[1], (), namespace)()
    instrumentor = MlflowInstrumentor()
    instrumentor.instrument()
    active = Capture()
    activate(active)
    try:
        active.read(RAW, model)
        path = tmp_path / "model"
        module.save_model(**{model_parameter: model, "path": str(path)})
        (output,) = active.record.outputs
    finally:
        activate(None)
        instrumentor.uninstrument()
    assert output.source == Source("file", str(path), file_version(str(path)))
    assert output.provenance.sources == {RAW} and output.facets == MODEL
    assert output.model is not None and (output.model["framework"], output.model["mlflowFlavor"]) == (framework, flavor)
    assert output.model["class"] == ".".join(model_class)
    assert not isinstance(module.save_model, wrapt.FunctionWrapper)


def test_tracking_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert tracking_namespace("sqlite:////srv/mlflow/mlflow.db") == "mlflow:///srv/mlflow/mlflow.db"
    assert tracking_namespace("sqlite:///mlflow.db") == f"mlflow://{tmp_path / 'mlflow.db'}"
    assert tracking_namespace("file:///srv/mlruns") == "mlflow:///srv/mlruns"
    assert tracking_namespace("file:/srv/mlruns") == "mlflow:///srv/mlruns"
    assert tracking_namespace("mlruns") == f"mlflow://{tmp_path / 'mlruns'}"
    assert tracking_namespace("http://mlflow.internal:5000/") == "mlflow://mlflow.internal:5000"
    assert tracking_namespace("https://me:hunter2@MLflow.example.com/tracking?token=abc") == (
        "mlflow://mlflow.example.com/tracking"
    )
    assert tracking_namespace("postgresql+psycopg2://me:hunter2@db:5432/mlflow") == "mlflow://db:5432/mlflow"
    assert tracking_namespace("databricks") == "mlflow://databricks"
    assert tracking_namespace("databricks://prod") == "mlflow://databricks/prod"


def test_instrumenting_imports_no_mlflow(tmp_path: Path) -> None:
    """In a fresh interpreter: instrumenting imports no MLflow; flavors imported later, lazily or not, get patched."""
    code = """
import sys
import wrapt
from nblineage.kernel_ext.hooks import instrumentors
from nblineage.kernel_ext.hooks.mlflow.models import MlflowInstrumentor

found = instrumentors()
assert sum(isinstance(i, MlflowInstrumentor) for i in found) == 1
for instrumentor in found:
    instrumentor.instrument()
assert not [m for m in sys.modules if m.partition(".")[0] == "mlflow"], "mlflow imported by instrumenting"
import mlflow.sklearn
assert isinstance(mlflow.sklearn.save_model, wrapt.FunctionWrapper)
assert isinstance(mlflow.sklearn.log_model, wrapt.FunctionWrapper)
assert "mlflow.onnx" not in sys.modules
lazy = mlflow.onnx  # MLflow's stand-in: the flavor is imported on first use
assert isinstance(lazy.save_model, wrapt.FunctionWrapper) and "mlflow.onnx" in sys.modules
assert isinstance(mlflow.onnx.log_model, wrapt.FunctionWrapper)
print("ok")
"""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'unused.db'}"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
    assert not (tmp_path / "unused.db").exists()
