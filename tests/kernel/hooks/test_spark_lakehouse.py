"""PySpark and lakehouse tables (Delta, Iceberg) in real kernels: every model links to exactly its sources.

One kernel per engine (a Spark session takes seconds to start). The cases:

- the Spark ML Pipeline guide's example (https://spark.apache.org/docs/latest/ml-pipeline.html, "Example:
  Pipeline": Tokenizer, HashingTF and LogisticRegression fitted on labelled documents, the model saved, then used on
  test documents), its documents synthesized; an unrelated file read in the same cell is no source of the model;
- a Titanic in Spark: passengers (CSV) joined with tickets (JSON), saved as a warehouse table, queried with SQL
  into pandas for scikit-learn and read with ``spark.table`` for a Spark ML model; rows added with ``insertInto``;
- a lakehouse Titanic: the CSV written to a Delta table (version 0), a second batch appended (version 1), a model
  trained on each version told apart by time travel; the same with an Iceberg table and its snapshots.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, datasets, upstream
from nblineage.lineage.store import Store

SESSION = """
import json
from pyspark.sql import SparkSession
spark = (
    SparkSession.builder.master("local[1]").appName("nblineage-test")
    .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.memory", "512m").config("spark.sql.shuffle.partitions", "1")
    .config("spark.sql.warehouse.dir", "warehouse")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
print(json.dumps({key: spark.conf.get(key) for key in (
    "spark.openlineage.parentRunId", "spark.openlineage.parentJobName", "spark.openlineage.parentJobNamespace")}))
"""
PIPELINE = """
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import HashingTF, Tokenizer
training = spark.read.csv("documents_train.csv", header=True, schema="id INT, text STRING, label DOUBLE")
unrelated = spark.read.csv("unrelated.csv", header=True, schema="a INT, b INT")
print(unrelated.columns)
tokenizer = Tokenizer(inputCol="text", outputCol="words")
hashingTF = HashingTF(inputCol=tokenizer.getOutputCol(), outputCol="features", numFeatures=64)
lr = LogisticRegression(maxIter=10, regParam=0.001)
pipeline = Pipeline(stages=[tokenizer, hashingTF, lr])
model = pipeline.fit(training)
model.write().overwrite().save("spark-logistic-regression-model")
test = spark.read.json("documents_test.json", schema="id INT, text STRING")
prediction = model.transform(test)
prediction.write.mode("overwrite").parquet("predictions.parquet")
pipeline.fit(training).write().overwrite().save("chained-model")  # no name holds the model
"""
RELOADED = """
from pyspark.ml import PipelineModel
reloaded = PipelineModel.load("spark-logistic-regression-model")
reloaded.transform(test).write.mode("overwrite").parquet("reloaded_predictions.parquet")
"""
TITANIC_SPARK = """
import joblib
from pyspark.ml.classification import LogisticRegression as SparkLR
from pyspark.ml.feature import VectorAssembler
from sklearn.linear_model import LogisticRegression
PASSENGERS = "PassengerId INT, Survived INT, Pclass INT, Age DOUBLE, Fare DOUBLE"
passengers = spark.read.csv("titanic.csv", header=True, schema=PASSENGERS)
tickets = spark.read.json("tickets.json", schema="PassengerId INT, Ticket STRING")
passengers.join(tickets, "PassengerId").write.mode("overwrite").saveAsTable("passengers")
frame = spark.sql("SELECT Age, Fare, Pclass, Survived FROM passengers WHERE Age IS NOT NULL").toPandas()
clf = LogisticRegression(max_iter=500).fit(frame[["Age", "Fare", "Pclass"]], frame["Survived"])
joblib.dump(clf, "titanic_sklearn.joblib")
assembled = VectorAssembler(inputCols=["Age", "Fare"], outputCol="features").transform(spark.table("passengers"))
SparkLR(maxIter=5, labelCol="Survived").fit(assembled).save("titanic_spark_lr")
"""
INSERT = """
extra = spark.read.csv("titanic_extra.csv", header=True, schema=PASSENGERS)
tickets = spark.read.json("tickets.json", schema="PassengerId INT, Ticket STRING")
extra.join(tickets, "PassengerId").write.insertInto("passengers")
"""

DELTA = """
import joblib
import pandas as pd
from deltalake import DeltaTable, write_deltalake
write_deltalake("lake/titanic", pd.read_csv("titanic.csv"))
"""
# A cell that writes one table twice records its last version (emit.py): each version is written in a cell of its own.
DELTA_APPEND = """
write_deltalake("lake/titanic", pd.read_csv("titanic_extra.csv"), mode="append")
"""
DELTA_MODELS = """
from sklearn.linear_model import LogisticRegression
unrelated = pd.read_csv("unrelated.csv")
v0 = DeltaTable("lake/titanic", version=0).to_pandas()
model_v0 = LogisticRegression(max_iter=500).fit(v0[["Age", "Fare", "Pclass"]], v0["Survived"])
joblib.dump(model_v0, "model_delta_v0.joblib")
"""
# A cell's per-output lineage names the datasets an output derives from, not their versions: a model from version 0
# and one from version 1 of the same table are told apart when they come from different cells.
DELTA_LATEST = """
latest = DeltaTable("lake/titanic").to_pyarrow_table().to_pandas()
model_v1 = LogisticRegression(max_iter=500).fit(latest[["Age", "Fare", "Pclass"]], latest["Survived"])
joblib.dump(model_v1, "model_delta_v1.joblib")
"""
ICEBERG = """
import json, os
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
catalog = SqlCatalog("local", uri="sqlite:///catalog.db", warehouse="file://" + os.path.abspath("warehouse"))
catalog.create_namespace("titanic")
first = pa.table(pd.read_csv("titanic.csv"))
table = catalog.create_table("titanic.passengers", schema=first.schema)
table.append(first)
snapshot_1 = table.current_snapshot().snapshot_id
"""
ICEBERG_APPEND = """
table.append(pa.table(pd.read_csv("titanic_extra.csv")))
"""
ICEBERG_OLD = """
old = table.scan(snapshot_id=snapshot_1).to_pandas()
joblib.dump(LogisticRegression(max_iter=500).fit(old[["Age", "Fare"]], old["Survived"]), "model_iceberg_1.joblib")
"""
ICEBERG_LATEST = """
new = table.scan().to_arrow().to_pandas()
joblib.dump(LogisticRegression(max_iter=500).fit(new[["Age", "Fare"]], new["Survived"]), "model_iceberg_2.joblib")
print(json.dumps([snapshot_1, table.current_snapshot().snapshot_id]))
"""


def passengers(rng: np.random.Generator, first: int, count: int) -> pd.DataFrame:
    """Rows with the Kaggle Titanic schema's numeric columns."""
    return pd.DataFrame(
        {
            "PassengerId": range(first, first + count),
            "Survived": np.tile([0, 1], count // 2),
            "Pclass": rng.integers(1, 4, count),
            "Age": rng.normal(30, 12, count).round(1).clip(1, 80),
            "Fare": rng.gamma(2, 15, count).round(2),
        }
    )


def write_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    passengers(rng, 1, 40).to_csv(tmp_path / "titanic.csv", index=False)
    passengers(rng, 41, 20).to_csv(tmp_path / "titanic_extra.csv", index=False)
    (tmp_path / "tickets.json").write_text(
        "".join(json.dumps({"PassengerId": i, "Ticket": f"T{i}"}) + "\n" for i in range(1, 61))
    )
    words = ["spark", "hadoop", "mapreduce", "b", "d", "e", "f", "g", "h", "a", "c"]
    docs = [(i, " ".join(rng.choice(words, 4)), float(i % 2)) for i in range(24)]
    pd.DataFrame(docs, columns=["id", "text", "label"]).to_csv(tmp_path / "documents_train.csv", index=False)
    (tmp_path / "documents_test.json").write_text(
        "".join(json.dumps({"id": i, "text": " ".join(rng.choice(words, 3))}) + "\n" for i in range(4))
    )
    (tmp_path / "unrelated.csv").write_text("a,b\n1,2\n")


def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}


def sources(store: Store, path: Path, version: str | None = None) -> dict[tuple[str, str | None], int]:
    """Every dataset or model upstream of ``path`` (a version of it), as (file name, version if a lakehouse table's,
    else None), with its nearest depth."""
    found: dict[tuple[str, str | None], int] = {}
    for node in upstream(store, DatasetRef("file", str(path), version)):
        if node.type != "job":
            name = Path(node.name).name
            key = (name, node.version if name in ("titanic", "passengers") and "." not in name else None)
            found[key] = min(found.get(key, node.depth), node.depth)
    return found


def test_spark_ml_pipeline_and_titanic_tables(tmp_path: Path, monkeypatch) -> None:
    """One Spark kernel (SQLite store: a Spark start-up is too dear to repeat for each backend)."""
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    notebook = run_notebook(
        tmp_path / "spark.ipynb",
        [SESSION, PIPELINE, RELOADED, TITANIC_SPARK, INSERT],
        env(tmp_path, store_url),
        timeout=300,
    )
    conf = json.loads(notebook.cells[1].outputs[-1]["text"])
    assert conf["spark.openlineage.parentJobName"] == f"{tmp_path / 'spark.ipynb'}#c1"
    assert conf["spark.openlineage.parentJobNamespace"] == "jupyter"
    table = tmp_path / "warehouse" / "passengers"
    with Store(store_url) as store:
        with store.engine.connect() as connection:
            cell_runs = connection.exec_driver_sql(
                "SELECT runs.run_id FROM runs JOIN jobs ON jobs.id = runs.job_id WHERE jobs.name LIKE '%#c1'"
            ).fetchall()
        assert [row[0] for row in cell_runs] == [conf["spark.openlineage.parentRunId"]]  # the cell that made it
        assert sources(store, tmp_path / "spark-logistic-regression-model") == {("documents_train.csv", None): 1}
        assert sources(store, tmp_path / "predictions.parquet") == {  # the fitted model's data, and the test data
            ("documents_test.json", None): 1,
            ("documents_train.csv", None): 1,
        }
        assert sources(store, tmp_path / "chained-model") == {("documents_train.csv", None): 1}
        assert sources(store, tmp_path / "reloaded_predictions.parquet") == {  # the model loaded, and what made it
            ("documents_test.json", None): 1,
            ("spark-logistic-regression-model", None): 1,
            ("documents_train.csv", None): 2,
        }
        read = {Path(dataset.name).name for dataset in datasets(store)}
        assert "metadata" not in read  # Spark's own reads of a loaded model's metadata are no datasets
        model_sources = {("titanic.csv", None): 2, ("tickets.json", None): 2}
        sklearn = sources(store, tmp_path / "titanic_sklearn.joblib")
        spark_lr = sources(store, tmp_path / "titanic_spark_lr")
        for found in (sklearn, spark_lr):
            assert {key: depth for key, depth in found.items() if key[0] != "passengers"} == model_sources
            assert [key for key in found if key[0] == "passengers"] and all(
                depth == 1 for key, depth in found.items() if key[0] == "passengers"
            )
        inserted = {node.name for node in upstream(store, DatasetRef("file", str(table))) if node.type != "job"}
        assert {Path(name).name for name in inserted} >= {"titanic_extra.csv", "titanic.csv", "tickets.json"}
        assert "titanic_extra.csv" not in {name for name, _ in sklearn}


def test_lakehouse_titanic_delta_versions_and_iceberg_snapshots(tmp_path: Path, store_url: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    notebook = run_notebook(
        tmp_path / "lake.ipynb",
        [DELTA, DELTA_APPEND, DELTA_MODELS, DELTA_LATEST, ICEBERG, ICEBERG_APPEND, ICEBERG_OLD, ICEBERG_LATEST],
        env(tmp_path, store_url),
    )
    snapshot_1, snapshot_2 = (str(s) for s in json.loads(notebook.cells[8].outputs[-1]["text"]))
    lake = tmp_path / "lake" / "titanic"
    iceberg = tmp_path / "warehouse" / "titanic" / "passengers"
    with Store(store_url) as store:
        assert sources(store, tmp_path / "model_delta_v0.joblib") == {("titanic", "0"): 1, ("titanic.csv", None): 2}
        assert sources(store, tmp_path / "model_delta_v1.joblib") == {
            ("titanic", "1"): 1,
            ("titanic_extra.csv", None): 2,
            ("titanic", "0"): 2,
            ("titanic.csv", None): 3,
        }
        assert sources(store, lake, "1") == {
            ("titanic_extra.csv", None): 1,
            ("titanic", "0"): 1,
            ("titanic.csv", None): 2,
        }
        assert sources(store, tmp_path / "model_iceberg_1.joblib") == {
            ("passengers", snapshot_1): 1,
            ("titanic.csv", None): 2,
        }
        assert sources(store, tmp_path / "model_iceberg_2.joblib") == {
            ("passengers", snapshot_2): 1,
            ("titanic_extra.csv", None): 2,
            ("passengers", snapshot_1): 2,
            ("titanic.csv", None): 3,
        }
        assert sources(store, iceberg, snapshot_2)[("passengers", snapshot_1)] == 1
