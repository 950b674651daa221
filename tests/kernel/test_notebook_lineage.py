"""The whole path in real kernels: a notebook's reads, transforms and saves become version-exact lineage."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, models_from, upstream
from nblineage.lineage.store import Store

PREPARE = """
import pandas as pd
raw = pd.read_csv("raw.csv")
lookup = pd.read_csv("lookup.csv")
features = raw.assign(z=raw.x * 2)[["x", "z"]]
features.to_parquet("features.parquet")
"""
TRAIN = """
import joblib
from sklearn.linear_model import LinearRegression
table = pd.read_parquet("features.parquet")
model = LinearRegression().fit(table[["x"]], table["z"])
joblib.dump(model, "model.joblib")
"""


@pytest.fixture
def workdir(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    (tmp_path / "lookup.csv").write_text("k,v\na,1\n")
    return tmp_path


def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}


def test_models_from_raw_data_version_exact(workdir: Path, store_url: str) -> None:
    run_notebook(workdir / "train.ipynb", [PREPARE, TRAIN], env(workdir, store_url))
    with Store(store_url) as store:
        first_raw = _only_version(store, workdir / "raw.csv")
        models = models_from(store, DatasetRef("file", str(workdir / "raw.csv")))
        assert [(m.name, m.type) for m in models] == [(str(workdir / "model.joblib"), "model")]
        lineage = {(n.type, n.name) for n in upstream(store, DatasetRef("file", str(workdir / "model.joblib")))}
        assert ("dataset", str(workdir / "raw.csv")) in lineage
        assert ("dataset", str(workdir / "features.parquet")) in lineage
        assert ("dataset", str(workdir / "lookup.csv")) not in lineage  # read in the notebook, not used by the model
    (workdir / "raw.csv").write_text("x,y\n10,20\n30,40\n")
    run_notebook(workdir / "train.ipynb", [PREPARE, TRAIN], env(workdir, store_url))
    with Store(store_url) as store:
        all_models = models_from(store, DatasetRef("file", str(workdir / "raw.csv")))
        assert len({m.version for m in all_models}) == 2
        first = models_from(store, DatasetRef("file", str(workdir / "raw.csv"), first_raw))
        assert len(first) == 1 and first[0].version in {m.version for m in all_models}


def test_sql_tables_reach_the_model(workdir: Path, store_url: str) -> None:
    database = workdir / "shop.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE sales (x REAL, z REAL)")
        conn.executemany("INSERT INTO sales VALUES (?, ?)", [(1, 2), (2, 4), (3, 6)])
    conn.close()
    cell = f"""
import pandas as pd, joblib, sqlalchemy
from sklearn.linear_model import LinearRegression
engine = sqlalchemy.create_engine("sqlite:///{database}")
sales = pd.read_sql("SELECT x, z FROM sales WHERE x > 0", engine)
joblib.dump(LinearRegression().fit(sales[["x"]], sales["z"]), "sql_model.joblib")
"""
    run_notebook(workdir / "sql.ipynb", [cell], env(workdir, store_url))
    with Store(store_url) as store:
        models = models_from(store, DatasetRef(f"sqlite://{database}", "sales"))
        assert [m.name for m in models] == [str(workdir / "sql_model.joblib")]


def test_a_hook_fault_leaves_the_result_unchanged(workdir: Path, store_url: str) -> None:
    fault = """
from nblineage.kernel_ext import capture
def broken(*args, **kwargs):
    raise RuntimeError("injected fault")
capture.current().read = broken
import pandas as pd
frame = pd.read_csv("raw.csv")
print(frame.to_json())
"""
    executed = run_notebook(workdir / "fault.ipynb", [fault], env(workdir, store_url) | {"NBLINEAGE_STRICT": "0"})
    outputs = executed.cells[1].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    warned = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert json.loads(printed) == {"x": {"0": 1, "1": 3, "2": 5}, "y": {"0": 2, "1": 4, "2": 6}}
    assert "injected fault" in warned and "your code ran normally" in warned


def _only_version(store: Store, path: Path) -> str:
    from nblineage.lineage.graph import datasets

    [summary] = [d for d in datasets(store) if d.name == str(path)]
    assert summary.versions == 1
    return summary.version


def test_edges_say_exact_or_cell(workdir: Path, store_url: str) -> None:
    cell = """
import numpy as np
raw = pd.read_csv("raw.csv")
logged = np.log1p(raw.to_numpy())
pd.DataFrame(logged).to_csv("logged.csv")
raw[["x"]].to_csv("exact.csv")
"""
    run_notebook(workdir / "precision.ipynb", ["import pandas as pd", cell], env(workdir, store_url))
    with Store(store_url) as store, store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT dd.name, e.precision FROM edges e JOIN dataset_versions vd ON vd.id = e.dst "
            "JOIN datasets dd ON dd.id = vd.dataset_id WHERE e.derivation <> 'version'"
        ).all()
    assert {(Path(name).name, precision) for name, precision in rows} == {
        ("logged.csv", "cell"),
        ("exact.csv", "exact"),
    }


def test_an_mlflow_logged_model_derives_from_the_raw_data(workdir: Path, store_url: str) -> None:
    cell = f"""
import mlflow, mlflow.sklearn
from sklearn.linear_model import LinearRegression
mlflow.set_tracking_uri("sqlite:///{workdir / "mlflow.db"}")
raw = pd.read_csv("raw.csv")
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(LinearRegression().fit(raw[["x"]], raw["y"]), name="model")
print(run.info.run_id, info.model_id)
"""
    executed = run_notebook(workdir / "mlflow.ipynb", ["import pandas as pd", cell], env(workdir, store_url))
    printed = "".join(o.get("text", "") for o in executed.cells[2].outputs if o.get("name") == "stdout")
    run_id, model_id = printed.split()[-2:]
    with Store(store_url) as store:
        [model] = models_from(store, DatasetRef("file", str(workdir / "raw.csv")))
        assert (model.namespace, model.name) == (f"mlflow://{workdir / 'mlflow.db'}", f"models:/{model_id}")
        with store.read() as conn:
            [facet] = conn.exec_driver_sql("SELECT payload FROM facets WHERE name = 'nblineage_model'").scalars()
    assert json.loads(facet)["mlflow"]["runId"] == run_id


def test_the_model_facet_names_the_cell_that_trained_it(workdir: Path, store_url: str) -> None:
    fit = """
import pandas as pd
from sklearn.linear_model import Ridge
raw = pd.read_csv("raw.csv")
model = Ridge(alpha=0.5).fit(raw[["x"]], raw["y"])
"""
    save = 'import joblib\njoblib.dump(model, "ridge.joblib")'
    run_notebook(workdir / "ridge.ipynb", [fit, save], env(workdir, store_url))
    with Store(store_url) as store, store.read() as conn:
        [facet] = conn.exec_driver_sql("SELECT payload FROM facets WHERE name = 'nblineage_model'").scalars()
    model = json.loads(facet)
    assert model["trainingJob"] == f"{workdir / 'ridge.ipynb'}#c1"
    assert model["modelClass"] == "sklearn.linear_model._ridge.Ridge"
    assert model["hyperParameters"]["alpha"] == 0.5 and model["featureNames"] == ["x"]


FACET_SCHEMAS = {
    "version": "DatasetVersionDatasetFacet",
    "schema": "SchemaDatasetFacet",
    "lineage": "LineageFacet",
    "datasetType": "DatasetTypeDatasetFacet",
    "parent": "ParentRunFacet",
    "errorMessage": "ErrorMessageRunFacet",
    "sourceCode": "SourceCodeJobFacet",
    "jobType": "JobTypeJobFacet",
}


def test_every_emitted_event_follows_the_openlineage_schemas(workdir: Path, store_url: str) -> None:
    from spec import event_errors, facet_errors

    run_notebook(workdir / "spec.ipynb", [PREPARE, TRAIN, "1 / 0"], env(workdir, store_url), allow_errors=True)
    with Store(store_url) as store, store.read() as conn:
        payloads = [json.loads(p) for p in conn.exec_driver_sql("SELECT payload FROM events").scalars()]
    assert len(payloads) == 8  # session START and COMPLETE, START and COMPLETE/FAIL of three cells
    checked = set()
    for payload in payloads:
        assert event_errors(payload, "RunEvent") == []
        places = [payload["run"], payload["job"], *payload.get("inputs", []), *payload.get("outputs", [])]
        for place in places:
            for name, facet in (place.get("facets") or {}).items():
                if name in FACET_SCHEMAS:
                    assert facet_errors({name: facet}, FACET_SCHEMAS[name]) == [], name
                    checked.add(name)
    assert checked == set(FACET_SCHEMAS)
