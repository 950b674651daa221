"""The five governance answers for models trained in real notebooks, with real MLflow tracking stores.

Each notebook runs in a real kernel (nbclient) with nblineage loaded; the answers are read from the lineage store
(SQLite and PostgreSQL) with ``nblineage.governance.questions``, and MLflow's own store is checked with MLflow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from notebooks import run_notebook
from sqlalchemy import text

from nblineage.governance import questions
from nblineage.governance.models import run_facts, subject
from nblineage.governance.read import Reader
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.kernel_ext.hooks.mlflow.models import folder_version
from nblineage.lineage import graph
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

mlflow = pytest.importorskip("mlflow")

READ = """
import pandas as pd
raw = pd.read_csv("raw.csv")
lookup = pd.read_csv("lookup.csv")
"""
SPLIT = """
from sklearn.model_selection import train_test_split
raw["ab"] = raw["a"] * raw.b
X, y = raw[["a", "b", "ab"]], raw["label"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
X_fit, X_check, y_fit, y_check = train_test_split(X_train, y_train, test_size=0.25, random_state=0)
"""
FIT = """
from sklearn.linear_model import LogisticRegression
model = LogisticRegression(C=0.5, max_iter=200).fit(X_fit, y_fit)
"""
IDLE = "import time\ntime.sleep(0.3)\nlookup.shape"
SAVE = """
import joblib
from sklearn.metrics import accuracy_score
validation = accuracy_score(y_check, model.predict(X_check))
joblib.dump(model, "model.joblib")
"""
EVALUATE = """
import sklearn.metrics as skm
test_auc = skm.roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
train_score = model.score(X_fit, y_fit)
print(json.dumps({"validation": validation, "test_auc": test_auc, "train_score": train_score}))
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(7)
    raw = pd.DataFrame({"a": rng.random(400), "b": rng.random(400)})
    raw["label"] = (raw.a + 0.5 * raw.b + rng.normal(0, 0.2, 400) > 0.8).astype(int)
    raw.to_csv(tmp_path / "raw.csv", index=False)
    (tmp_path / "lookup.csv").write_text("k,v\na,1\n")
    return tmp_path


def env(workdir: Path, store_url: str, **extra: str) -> dict[str, str]:
    return {
        "NBLINEAGE_URL": store_url,
        "JUPYTER_DATA_DIR": str(workdir / "jupyter"),
        "NBLINEAGE_STRICT": "1",
        **extra,
    }


def printed(notebook: Any, index: int) -> Any:
    """The JSON the cell at ``index`` (0 is %load_ext) printed last."""
    text = "".join(o.get("text", "") for o in notebook.cells[index].outputs if o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


def cell_runs(store: Store, notebook: Path) -> dict[str, str]:
    """Cell id -> run id of a notebook's cell runs."""
    with store.read() as conn:
        rows = conn.execute(
            text("SELECT j.name, r.run_id FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name LIKE :prefix"),
            {"prefix": f"{notebook}#%"},
        ).all()
    return {name.rpartition("#")[2]: run_id for name, run_id in rows}


def by_split(performance: questions.Performance, origin: str) -> dict[tuple[str, str | None], float]:
    return {(m.name, m.split): m.value for m in performance.metrics if m.origin == origin}


def test_a_saved_model_answers_all_five_questions(workdir: Path, store_url: str) -> None:
    path = workdir / "train.ipynb"
    cells = [READ, SPLIT, FIT, IDLE, SAVE, "import json\n" + EVALUATE]
    executed = run_notebook(path, cells, env(workdir, store_url))
    expected = printed(executed, 6)
    raw, model_file = workdir / "raw.csv", workdir / "model.joblib"

    with Store(store_url) as store:
        runs = cell_runs(store, path)
        [derived] = questions.models_derived_from(store, DatasetRef("file", str(raw)))
        assert (derived.namespace, derived.name, derived.kind) == ("file", str(model_file), "file")
        assert (derived.framework, derived.model_class) == (
            "sklearn",
            "sklearn.linear_model._logistic.LogisticRegression",
        )
        assert derived.version == file_version(str(model_file))
        assert questions.models_derived_from(store, DatasetRef("file", str(workdir / "lookup.csv"))) == []

        model = questions.resolve_model(store, str(model_file))
        assert model == DatasetRef("file", str(model_file), file_version(str(model_file)))

        inputs = questions.model_inputs(store, model)
        assert [(d.namespace, d.name, d.version, d.source) for d in inputs.datasets] == [
            ("file", str(raw), file_version(str(raw)), True)
        ]
        columns = {f.name: [(c.name, c.field, c.via, c.source) for c in f.columns] for f in inputs.features}
        assert columns == {
            "a": [(str(raw), "a", "schema", True)],
            "b": [(str(raw), "b", "schema", True)],
            "ab": [(str(raw), "a", "notebook", True), (str(raw), "b", "notebook", True)],  # raw["ab"] = ...
        }
        function = inputs.function
        assert function.model_class == "sklearn.linear_model._logistic.LogisticRegression"
        assert function.hyper_parameters["C"] == 0.5 and function.hyper_parameters["max_iter"] == 200
        assert function.training_job == f"{path}#c3" and function.notebook == str(path)
        assert function.training_run_id == runs["c3"]
        assert "LogisticRegression(C=0.5" in function.code

        performance = questions.model_performance(store, model)
        assert by_split(performance, "sklearn") == pytest.approx(
            {
                ("accuracy_score", "validation"): expected["validation"],
                ("roc_auc_score", "test"): expected["test_auc"],
                ("score", "train"): expected["train_score"],
            }
        )

        resources = questions.model_resources(store, model)
        assert set(resources.run_ids) == {runs["c1"], runs["c2"], runs["c3"], runs["c5"]}  # not c4 (idle), c6
        assert resources.runs == 4
        assert resources.wall_time_seconds > 0 and resources.cpu_time_seconds > 0
        assert resources.peak_memory_bytes > 0

        location = questions.model_location(store, model)
        assert location.uri == str(model_file)
        assert location.content_hash == file_version(str(model_file))
        assert location.size_bytes == os.path.getsize(model_file)
        assert location.saved_by == f"{path}#c5"
        assert location.mlflow is None


MLFLOW_TRAIN = """
import json
import mlflow, mlflow.sklearn
import sklearn.metrics as skm
mlflow.set_tracking_uri({uri!r})
mlflow.set_experiment("churn")
with mlflow.start_run(run_name="first") as run:
    mlflow.log_param("C", 0.5)
    val_accuracy = skm.accuracy_score(y_check, model.predict(X_check))
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name="churn-model", pip_requirements=[])
    mlflow.log_metric("val_acc", val_accuracy)
print(json.dumps({{"run": run.info.run_id, "model": info.model_id, "experiment": run.info.experiment_id,
                   "validation": val_accuracy}}))
"""
MLFLOW_LATER = """
test_auc = skm.roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
version = mlflow.register_model(f"models:/{info.model_id}", "churn-model")
print(json.dumps({"test_auc": test_auc, "version": str(version.version)}))
"""


def test_a_model_logged_to_a_sqlite_tracking_store_links_both_ways(workdir: Path, store_url: str) -> None:
    check_logged_and_registered(workdir, store_url, "sqlite")


def test_a_model_logged_to_a_file_tracking_store_links_both_ways(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps its file store behind this switch
    check_logged_and_registered(workdir, f"sqlite:///{workdir / 'lineage.db'}", "file")


def check_logged_and_registered(workdir: Path, store_url: str, tracking: str) -> None:
    """A notebook logs a model with a registration, computes metrics after, and registers a second version."""
    uri = f"sqlite:///{workdir / 'mlflow.db'}" if tracking == "sqlite" else (workdir / "mlruns").as_uri()
    path = workdir / "mlflow.ipynb"
    cells = [READ, SPLIT, FIT, MLFLOW_TRAIN.format(uri=uri), MLFLOW_LATER]
    executed = run_notebook(path, cells, env(workdir, store_url, MLFLOW_ALLOW_FILE_STORE="true"), timeout=240)
    logged, later = printed(executed, 4), printed(executed, 5)
    raw = workdir / "raw.csv"
    tracking_ns = "mlflow://" + (str(workdir / "mlflow.db") if tracking == "sqlite" else str(workdir / "mlruns"))
    logged_name = f"models:/{logged['model']}"

    with Store(store_url) as store:
        derived = {(m.name, m.kind) for m in questions.models_derived_from(store, DatasetRef("file", str(raw)))}
        assert derived == {
            (logged_name, "mlflow-model"),
            ("models:/churn-model/1", "mlflow-registry"),
            (f"models:/churn-model/{later['version']}", "mlflow-registry"),
        }
        model = questions.resolve_model(store, logged_name)
        assert (model.namespace, model.name) == (tracking_ns, logged_name)
        assert questions.resolve_model(store, f"runs:/{logged['run']}/model") == model

        location = questions.model_location(store, model)
        assert location.mlflow.run_id == logged["run"]
        assert location.mlflow.run_name == "first"
        assert (location.mlflow.experiment_id, location.mlflow.experiment_name) == (logged["experiment"], "churn")
        assert location.mlflow.model_id == logged["model"]
        assert {(v.name, v.version) for v in location.mlflow.registered_versions} == {
            ("churn-model", "1"),
            ("churn-model", later["version"]),
        }

        performance = questions.model_performance(store, model)
        assert by_split(performance, "sklearn") == pytest.approx(
            {("accuracy_score", "validation"): logged["validation"], ("roc_auc_score", "test"): later["test_auc"]}
        )
        # MLflow's own metrics; the ones nblineage logged to MLflow are not counted twice
        assert by_split(performance, "mlflow") == pytest.approx({("val_acc", "validation"): logged["validation"]})

        inputs = questions.model_inputs(store, model)
        assert [d.name for d in inputs.datasets] == [str(raw)]
        assert inputs.function.model_class == "sklearn.linear_model._logistic.LogisticRegression"
        assert_events_follow_the_spec(store)

    # MLflow's own view: the datasets nblineage logged, findable with MLflow's search
    mlflow.set_tracking_uri(uri)
    try:
        digest = file_version(str(raw))
        found = mlflow.search_logged_models(
            experiment_ids=[logged["experiment"]], datasets=[{"dataset_name": str(raw)}], output_format="list"
        )
        assert [m.model_id for m in found] == [logged["model"]]
        run = mlflow.get_run(logged["run"])
        inputs = {(i.dataset.name, i.dataset.digest) for i in run.inputs.dataset_inputs}
        assert (str(raw), digest) in inputs
        metrics = {(m.key, m.dataset_name) for m in mlflow.get_logged_model(logged["model"]).metrics}
        assert ("validation_accuracy_score", str(raw)) in metrics and ("test_roc_auc_score", str(raw)) in metrics
    finally:
        mlflow.set_tracking_uri(None)


def assert_events_follow_the_spec(store: Store) -> None:
    """Every stored event, the DatasetEvents carrying MLflow's view included, validates against the official
    schemas, and each custom facet says where its schema is."""
    from spec import event_errors

    with store.read() as conn:
        rows = conn.execute(text("SELECT kind, payload FROM events")).all()
    kinds = {kind for kind, _ in rows}
    assert kinds == {"RunEvent", "DatasetEvent"}
    for kind, payload in rows:
        event = json.loads(payload)
        assert event_errors(event, kind) == []
        places = [event.get("run", {}), *event.get("outputs", []), event.get("dataset", {})]
        for place in places:
            for name, facet in (place.get("facets") or {}).items():
                if name.startswith("nblineage_"):
                    assert facet["_schemaURL"].endswith("docs/facets.md#" + name.removeprefix("nblineage_")), name


AUTOLOG = """
import json
import mlflow
mlflow.set_tracking_uri({uri!r})
mlflow.autolog(log_input_examples=False, log_model_signatures=False, silent=True)
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X_train, y_train)
accuracy = accuracy_score(y_test, forest.predict(X_test))
run_id = mlflow.last_active_run().info.run_id
print(json.dumps({{"run": run_id, "accuracy": accuracy}}))
"""
REGISTER = """
registered = mlflow.register_model(f"runs:/{run_id}/model", "forest")
print(json.dumps({"version": str(registered.version)}))
"""


def test_an_autologged_model_carries_mlflow_metrics_by_split(workdir: Path, store_url: str) -> None:
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    path = workdir / "autolog.ipynb"
    cells = [READ, SPLIT, AUTOLOG.format(uri=uri), REGISTER]
    executed = run_notebook(path, cells, env(workdir, store_url), timeout=240)
    autologged, registered = printed(executed, 3), printed(executed, 4)

    with Store(store_url) as store:
        models = questions.models_derived_from(store, DatasetRef("file", str(workdir / "raw.csv")))
        kinds = sorted((m.kind, m.mlflow_run_id) for m in models)
        assert kinds == [("mlflow-model", autologged["run"]), ("mlflow-registry", autologged["run"])]
        [registry] = [m for m in models if m.kind == "mlflow-registry"]
        assert registry.name == f"models:/forest/{registered['version']}"

        model = questions.resolve_model(store, f"runs:/{autologged['run']}/model")
        performance = questions.model_performance(store, model)
        assert by_split(performance, "sklearn") == pytest.approx({("accuracy_score", "test"): autologged["accuracy"]})
        from_mlflow = by_split(performance, "mlflow")
        assert ("training_accuracy_score", "train") in from_mlflow and ("training_f1_score", "train") in from_mlflow
        assert from_mlflow[("accuracy_score_X_test", "test")] == pytest.approx(autologged["accuracy"])  # autolog's
        assert ("test_accuracy_score", "test") not in from_mlflow  # nblineage's own, already counted
        inputs = questions.model_inputs(store, model)
        assert inputs.function.model_class == "sklearn.ensemble._forest.RandomForestClassifier"
        assert inputs.function.hyper_parameters["n_estimators"] == 10
        assert inputs.function.training_job == f"{path}#c3"


def test_autolog_turned_on_before_nblineage_is_recorded_too(workdir: Path, store_url: str) -> None:
    """autolog patched fit first, so its log_model runs inside nblineage's fit hook: recorded once the fit ends."""
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    first = f"import mlflow\nmlflow.set_tracking_uri({uri!r})\nmlflow.autolog(silent=True)"
    train = AUTOLOG.format(uri=uri).replace("mlflow.autolog(", "dict(")
    cells = [first, "%load_ext nblineage", READ, SPLIT, train]
    executed = run_notebook(workdir / "late.ipynb", cells, env(workdir, store_url), timeout=240, load=False)
    autologged = printed(executed, 4)
    with Store(store_url) as store:
        [model] = questions.models_derived_from(store, DatasetRef("file", str(workdir / "raw.csv")))
        assert (model.kind, model.mlflow_run_id) == ("mlflow-model", autologged["run"])
        performance = questions.model_performance(store, DatasetRef(model.namespace, model.name, model.version))
        assert by_split(performance, "sklearn") == pytest.approx({("accuracy_score", "test"): autologged["accuracy"]})


SYSTEM_METRICS = """
import time
import mlflow, mlflow.sklearn
mlflow.set_tracking_uri({uri!r})
mlflow.set_system_metrics_sampling_interval(0.5)
mlflow.set_system_metrics_samples_before_logging(1)
with mlflow.start_run(log_system_metrics=True) as run:
    time.sleep(2)
    info = mlflow.sklearn.log_model(model, name="model", pip_requirements=[])
"""


def test_mlflow_system_metrics_join_the_resources(workdir: Path, store_url: str) -> None:
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    cells = [READ, SPLIT, FIT, SYSTEM_METRICS.format(uri=uri), "print(json.dumps(info.model_id))"]
    executed = run_notebook(workdir / "system.ipynb", ["import json", *cells], env(workdir, store_url), timeout=240)
    model_id = printed(executed, 6)
    with Store(store_url) as store:
        model = questions.resolve_model(store, f"models:/{model_id}")
        resources = questions.model_resources(store, model)
    system = resources.mlflow_system_metrics
    assert "system/cpu_utilization_percentage" in system and "system/system_memory_usage_megabytes" in system
    assert all(isinstance(value, float) for value in system.values())
    assert resources.wall_time_seconds >= 2  # the cell that logged the model slept that long


def test_explain_prints_the_five_answers(workdir: Path, store_url: str) -> None:
    path = workdir / "train.ipynb"
    run_notebook(path, [READ, SPLIT, FIT, SAVE, "import json\n" + EVALUATE], env(workdir, store_url))
    command = [str(Path(sys.executable).parent / "nblineage"), "--url", store_url, "explain", "model.joblib", "--json"]
    shown = subprocess.run(command, capture_output=True, text=True, cwd=workdir, check=True)
    answer = json.loads(shown.stdout)
    assert answer["model"]["name"] == str(workdir / "model.joblib")
    assert {m["split"] for m in answer["performance"]["metrics"]} == {"train", "validation", "test"}
    assert answer["location"]["contentHash"] == file_version(str(workdir / "model.joblib"))


CHURN_READ = """
import pandas as pd
customers = pd.read_csv("customers.csv")
customers = pd.get_dummies(customers, columns=["region"])
"""
CHURN_SPLIT = """
from sklearn.model_selection import train_test_split
X, y = customers.drop(columns=["churn"]), customers["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
"""
CHURN_FIT = """
from sklearn.ensemble import GradientBoostingClassifier
model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X_train, y_train)
"""
CHURN_LOG = """
import json, joblib
import mlflow, mlflow.sklearn
from sklearn.metrics import accuracy_score
mlflow.set_tracking_uri({uri!r})
mlflow.set_experiment("churn")
accuracy = accuracy_score(y_test, model.predict(X_test))
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name="churn", pip_requirements=[], serialization_format="cloudpickle"
    )
joblib.dump(model, "churn.joblib")
print(json.dumps({{"run": run.info.run_id, "model": info.model_id, "artifacts": info.artifact_path}}))
"""
CHURN_REGISTER = """
later = mlflow.register_model(f"models:/{info.model_id}", "churn")
client = mlflow.MlflowClient()
source = f"models:/{info.model_id}"
direct = client.create_model_version("churn", source, run_id=run.info.run_id, model_id=info.model_id)
client.set_registered_model_alias("churn", "champion", "1")
print(json.dumps({"later": str(later.version), "direct": str(direct.version)}))
"""


def churn_data(workdir: Path) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 300), "income": rng.random(300) * 1e5})
    frame["region"] = rng.choice(["east", "west", "north"], 300)
    frame["churn"] = ((frame.age < 35) ^ (rng.random(300) < 0.2)).astype(int)
    frame.to_csv(workdir / "customers.csv", index=False)
    return workdir / "customers.csv"


def test_one_churn_model_across_joblib_mlflow_and_the_registry(workdir: Path, store_url: str) -> None:
    """The newcomer's notebook: get_dummies, a split, a fit, a logged and registered model and a joblib file.

    The registry versions derive from the logged model (registered inside log_model, by register_model later, by
    MlflowClient.create_model_version), and are versioned by their number; the file and the logged model are one
    fit and say so; the dummy columns trace to the column they encode; labels say what values are."""
    customers = churn_data(workdir)
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    path = workdir / "churn.ipynb"
    cells = [CHURN_READ, CHURN_SPLIT, CHURN_FIT, CHURN_LOG.format(uri=uri), CHURN_REGISTER]
    executed = run_notebook(path, cells, env(workdir, store_url), timeout=240)
    logged, registered = printed(executed, 4), printed(executed, 5)
    tracking = f"mlflow://{workdir / 'mlflow.db'}"
    logged_ref = DatasetRef(tracking, f"models:/{logged['model']}")
    joblib_file = str(workdir / "churn.joblib")
    versions = {"1", registered["later"], registered["direct"]}
    assert len(versions) == 3

    with Store(store_url) as store:
        # the registry versions derive from the logged model, whichever way they were registered
        explained = questions.explain(store, logged_ref)
        assert {(m.name, m.version, m.depth) for m in explained.derived_models} == {
            (f"models:/churn/{v}", v, 1) for v in versions
        }
        route = graph.path(store, logged_ref, DatasetRef(tracking, "models:/churn/1"))
        assert [(n.type, n.name) for n in route] == [
            ("model", logged_ref.name),
            ("job", f"{path}#c4"),
            ("model", "models:/churn/1"),
        ]
        # datasets: a registry version's version is its number, the logged model's its id
        shown = {d.name: d.version for d in graph.datasets(store) if d.namespace == tracking}
        assert shown == {logged_ref.name: logged["model"], **{f"models:/churn/{v}": v for v in versions}}

        # the joblib file and the logged model are the same fit, both ways
        file_location = questions.model_location(store, questions.resolve_model(store, joblib_file))
        assert file_location.mlflow is None  # the file itself is no MLflow model
        assert {
            (c.kind, c.name, c.mlflow_run_id, c.registered_name, c.registered_version) for c in file_location.same_fit
        } == {
            ("mlflow-model", logged_ref.name, logged["run"], "churn", "1"),
            *(("mlflow-registry", f"models:/churn/{v}", logged["run"], "churn", v) for v in versions),
        }
        logged_location = explained.location
        assert {(c.kind, c.name) for c in logged_location.same_fit} == {
            ("file", joblib_file),
            *(("mlflow-registry", f"models:/churn/{v}") for v in versions),
        }
        # a logged model's content hash is a fingerprint of its artifacts, not its id
        assert logged_location.content_hash == folder_version(logged["artifacts"])
        assert logged_location.content_hash != logged["model"]
        assert file_location.content_hash == file_version(joblib_file)

        # one-hot columns trace to the column they encode
        features = {f.name: [(c.name, c.field, c.via) for c in f.columns] for f in explained.inputs.features}
        for region in ("east", "north", "west"):
            assert features[f"region_{region}"] == [(str(customers), "region", "notebook")]
        assert features["age"] == [(str(customers), "age", "schema")]

        # resources name the cells; the run ids stay
        resources = explained.resources
        assert resources.cells == tuple(f"{path}#c{i}" for i in (1, 2, 3, 4))
        assert len(resources.run_ids) == 4 and resources.to_json()["cells"] == list(resources.cells)

        # registry aliases are read back with the registry versions
        with store.read() as conn:
            reader = Reader(conn)
            facet = run_facts(reader, subject(reader, logged_ref))
        aliases = {v["version"]: v.get("aliases") for v in facet["registeredVersions"]}
        assert aliases["1"] == ["champion"]

    command = [str(Path(sys.executable).parent / "nblineage"), "--url", store_url, "explain", joblib_file]
    shown_text = subprocess.run(command, capture_output=True, text=True, cwd=workdir, check=True).stdout
    assert "same fit also saved as:" in shown_text and logged_ref.name in shown_text and "churn/1" in shown_text
    assert f"{path}: c1, c2, c3, c4" in shown_text and "content hash:" in shown_text

    readme_search_finds(uri, "churn", str(customers), logged["model"])


def readme_search_finds(uri: str, experiment: str, dataset: str, model_id: str) -> None:
    """The README's ``search_logged_models`` call, run as written in a fresh process, finds the model."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = readme.split("<!-- search_logged_models -->\n```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("sqlite:///mlflow.db", uri).replace('"churn"', repr(experiment))
    code = code.replace("/home/me/churn/customers.csv", dataset)
    shown = subprocess.run(
        [sys.executable, "-c", code + "\nprint([m.model_id for m in found])"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
    )
    assert shown.stdout.strip().splitlines()[-1] == repr([model_id])
