"""Public DuckDB and Polars pipelines that end in a model, run in one real kernel: every model links to exactly the
files it came from (100 % recall and 100 % precision of source -> model links), and to nothing else.

The cells follow public code, the data synthesized with the same columns (no downloads):

- PENGUINS: DuckDB's "Machine Learning Prototyping with DuckDB and scikit-learn"
  (https://duckdb.org/2025/05/16/scikit-learn-duckdb.html): ``read_csv(...).filter("columns(*)::text != 'NA'")
  ...to_table("penguins_data")``, ``ALTER TABLE``, reference tables for label encoding, the features queried back
  with ``.df()``; here on a database file, whose tables are datasets too.
- POLARS_LAZY: "End-to-end Polars ML pipeline"
  (https://theneuralbase.com/polars/learn/advanced/end-to-end-polars-ml-pipeline/): ``pl.read_csv``, ``.lazy()``,
  ``with_columns`` feature engineering, a seeded ``filter`` split, one ``collect``, StandardScaler, a model.
- POLARS_NUMPY: "Converting to NumPy for sklearn"
  (https://theneuralbase.com/polars/learn/intermediate/converting-to-numpy-for-sklearn/):
  ``df.select(features).to_numpy()``, ``df["target"].to_numpy()``, ``train_test_split``, RandomForestClassifier.
- VITALS: "Scaling Tabular Workflows with Polars" (https://christopherseaman.github.io/datasci_223/02/lecture_02.html):
  lazy ``scan_csv`` of a folder of CSVs, ``group_by().agg``, cached with ``sink_parquet``, read back, a model.
- IRIS_PARTS: Duke-GCB biostat-823 "Scalable and versatile databasing for ML"
  (https://github.com/Duke-GCB/biostat-823): iris sepals and petals kept in two Parquet files, joined with DuckDB
  SQL (``FROM 'sepals.parquet' JOIN 'petals.parquet'``), a model on the result; plus DuckDB querying a Polars
  frame by its variable name (replacement scan) and ``COPY ... TO``.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

PENGUINS = """
import duckdb, joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

duckdb_conn = duckdb.connect("penguins.duckdb")
duckdb_conn.read_csv("penguins.csv").filter("columns(*)::text != 'NA'").filter("columns(*) is not null").select(
    "*, row_number() over () as observation_id"
).to_table("penguins_data")
duckdb_conn.sql("alter table penguins_data alter bill_length_mm set data type decimal(5, 2)")
duckdb_conn.sql(
    "create table species_ref as select species, row_number() over (order by species) - 1 as species_id "
    "from (select distinct species from penguins_data)"
)
features = duckdb_conn.sql(
    "select bill_length_mm, bill_depth_mm, flipper_length_mm, species_id "
    "from penguins_data join species_ref using (species)"
).df()
X_train, X_test, y_train, y_test = train_test_split(
    features.drop(columns="species_id"), features["species_id"], test_size=0.3, random_state=42
)
penguin_model = LogisticRegression(max_iter=500).fit(X_train, y_train)
joblib.dump(penguin_model, "penguins.joblib")
"""
POLARS_LAZY = """
import polars as pl
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LinearRegression

raw = pl.read_csv("houses.csv")
prepared = (
    raw.lazy()
    .drop_nulls()
    .with_columns((pl.col("area") / pl.col("rooms")).alias("area_per_room"), pl.col("price").log().alias("log_price"))
    .with_columns((pl.int_range(pl.len()).shuffle(seed=42) % 5).alias("fold"))
    .collect()
)
train = prepared.filter(pl.col("fold") != 0)
scaler = StandardScaler().fit(train.select("area", "rooms", "area_per_room").to_numpy())
house_model = LinearRegression().fit(scaler.transform(train.select("area", "rooms", "area_per_room").to_numpy()),
                                     train["log_price"].to_numpy())
joblib.dump(house_model, "houses.joblib")
"""
POLARS_NUMPY = """
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score

df = pl.read_parquet("customers.parquet").join(pl.read_csv("segments.csv"), on="customer_id")
feature_cols = ["age", "visits", "spend"]
X = df.select(feature_cols).to_numpy()
y = df["churned"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
churn_model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X_train, y_train)
accuracy_score(y_test, churn_model.predict(X_test))
joblib.dump(churn_model, "churn.joblib")
"""
VITALS = """
daily = (
    pl.scan_csv("vitals/*.csv")
    .group_by("patient_id")
    .agg(pl.col("heart_rate").mean().alias("hr"), pl.col("systolic").max().alias("sys"), pl.col("label").max())
)
daily.sink_parquet("vitals_daily.parquet")
"""
VITALS_TRAIN = """
cached = pl.read_parquet("vitals_daily.parquet")
vitals_model = LogisticRegression().fit(cached.select("hr", "sys").to_pandas(), cached["label"].to_numpy())
joblib.dump(vitals_model, "vitals.joblib")
"""
IRIS_PARTS = """
iris = duckdb.sql(
    "SELECT s.sepal_length, s.sepal_width, p.petal_length, p.petal_width, s.target "
    "FROM 'sepals.parquet' AS s JOIN 'petals.parquet' AS p USING (flower_id)"
).pl()
wide = iris.filter(pl.col("sepal_length") > 0)
by_name = duckdb.sql("SELECT * EXCLUDE (target), target = 'setosa' AS is_setosa FROM wide").df()
iris_model = LogisticRegression(max_iter=500).fit(by_name.drop(columns="is_setosa"), by_name["is_setosa"])
joblib.dump(iris_model, "iris.joblib")
duckdb.sql("COPY (SELECT * FROM 'sepals.parquet' WHERE sepal_length > 5) TO 'long_sepals.csv' (HEADER)")
"""
# Our own cases beside them: a scan collected in a later cell, rows fetched from an in-memory table, a model fit on
# a Polars frame directly.
SCAN = """
events = pl.scan_parquet("customers.parquet").select("customer_id", "age", "visits")
"""
ROWS = """
con = duckdb.connect()
con.execute("CREATE TABLE seg AS SELECT * FROM 'segments.csv'")
rows = con.execute("SELECT customer_id, churned FROM seg ORDER BY customer_id").fetchall()
y = np.array(rows)[:, 1]
ev = events.collect().sort("customer_id")
rows_model = LogisticRegression().fit(ev.select("age", "visits"), y)
joblib.dump(rows_model, "rows.joblib")
"""
CELLS = [PENGUINS, POLARS_LAZY, POLARS_NUMPY, VITALS, VITALS_TRAIN, IRIS_PARTS, SCAN, ROWS]


def _synthesize(folder: Path) -> None:
    import polars as pl

    rng = random.Random(11)
    species = ["Adelie", "Chinstrap", "Gentoo"]
    with open(folder / "penguins.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "sex"])
        for i in range(90):
            kind = i % 3
            row = [species[kind], "Biscoe", 38 + 5 * kind + rng.random(), 18 - kind + rng.random(), 190 + 10 * kind]
            writer.writerow([*row, "NA" if i % 17 == 0 else "male"])
    n = 60
    pl.DataFrame(
        {
            "area": [rng.randint(40, 200) for _ in range(n)],
            "rooms": [rng.randint(1, 6) for _ in range(n)],
            "price": [rng.uniform(1e5, 9e5) for _ in range(n)],
        }
    ).write_csv(folder / "houses.csv")
    pl.DataFrame(
        {
            "customer_id": list(range(n)),
            "age": [rng.randint(18, 80) for _ in range(n)],
            "visits": [rng.randint(0, 30) for _ in range(n)],
            "spend": [rng.uniform(0, 500) for _ in range(n)],
        }
    ).write_parquet(folder / "customers.parquet")
    pl.DataFrame({"customer_id": list(range(n)), "churned": [i % 2 for i in range(n)]}).write_csv(
        folder / "segments.csv"
    )
    (folder / "vitals").mkdir()
    for day in range(3):
        pl.DataFrame(
            {
                "patient_id": [i % 10 for i in range(30)],
                "heart_rate": [rng.uniform(55, 110) for _ in range(30)],
                "systolic": [rng.uniform(100, 160) for _ in range(30)],
                "label": [(i % 10) % 2 for i in range(30)],
            }
        ).write_csv(folder / "vitals" / f"day{day}.csv")
    targets = ["setosa", "versicolor", "virginica"]
    pl.DataFrame(
        {
            "flower_id": list(range(n)),
            "sepal_length": [4.5 + (i % 3) + rng.random() for i in range(n)],
            "sepal_width": [3 + rng.random() for _ in range(n)],
            "target": [targets[i % 3] for i in range(n)],
        }
    ).write_parquet(folder / "sepals.parquet")
    pl.DataFrame(
        {
            "flower_id": list(range(n)),
            "petal_length": [1 + 2 * (i % 3) + rng.random() for i in range(n)],
            "petal_width": [0.2 + (i % 3) + rng.random() for i in range(n)],
        }
    ).write_parquet(folder / "petals.parquet")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _synthesize(tmp_path)
    return tmp_path


def _files(store: Store, path: Path) -> set[str]:
    """The files upstream of ``path`` (datasets and models), relative to its folder."""
    nodes = upstream(store, DatasetRef("file", str(path)))
    return {str(Path(n.name).relative_to(path.parent)) for n in nodes if n.namespace == "file" and n.type != "job"}


def test_every_model_links_to_exactly_its_files(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "engines.ipynb", CELLS, env, timeout=180)
    with Store(url) as store:
        assert _files(store, workdir / "penguins.joblib") == {"penguins.csv"}
        tables = {(n.namespace, n.name) for n in upstream(store, DatasetRef("file", str(workdir / "penguins.joblib")))}
        database = f"duckdb://{workdir / 'penguins.duckdb'}"
        assert {(database, "penguins_data"), (database, "species_ref")} <= tables
        assert _files(store, workdir / "houses.joblib") == {"houses.csv"}
        assert _files(store, workdir / "churn.joblib") == {"customers.parquet", "segments.csv"}
        vitals = {f"vitals/day{day}.csv" for day in range(3)}
        assert _files(store, workdir / "vitals_daily.parquet") == vitals
        assert _files(store, workdir / "vitals.joblib") == {"vitals_daily.parquet", *vitals}
        assert _files(store, workdir / "iris.joblib") == {"sepals.parquet", "petals.parquet"}
        assert _files(store, workdir / "long_sepals.csv") == {"sepals.parquet"}
        assert _files(store, workdir / "rows.joblib") == {"customers.parquet", "segments.csv"}


POLICY = """
datasets:
  - namespace: file
    name: "{data}/customers*.csv"
    columns:
      email: [pii]
rules:
  - name: stay-inside
    kind: locations
    action: block
    allowed:
      - namespace: file
        name: "{data}/secure/**"
"""
GUARDED = """
import duckdb, polars as pl
from nblineage import PolicyViolation
for statement in ("COPY (SELECT * FROM 'customers.csv') TO 'leak.csv' (HEADER)",
                  "COPY (SELECT * FROM 'customers.csv') TO 'secure/kept.csv' (HEADER)"):
    try:
        duckdb.sql(statement)
        print("WROTE", statement.split(" TO ")[1])
    except PolicyViolation as e:
        print("BLOCKED", "stay-inside" in str(e))
customers = pl.read_csv("customers.csv")
for path in ("leak2.csv", "secure/kept2.csv"):
    try:
        customers.write_csv(path)
        print("WROTE", path)
    except PolicyViolation as e:
        print("BLOCKED", "stay-inside" in str(e))
"""


def test_the_policy_guard_decides_before_duckdb_and_polars_write(tmp_path: Path) -> None:
    (tmp_path / "secure").mkdir()
    (tmp_path / "customers.csv").write_text("age,email\n30,a@example.com\n40,b@example.com\n")
    (tmp_path / "nblineage-policy.yaml").write_text(POLICY.format(data=tmp_path))
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_POLICY": str(tmp_path / "nblineage-policy.yaml"),
        "NBLINEAGE_STRICT": "1",
    }
    notebook = run_notebook(tmp_path / "guarded.ipynb", [f"import os\nos.chdir({str(tmp_path)!r})", GUARDED], env)
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert printed.splitlines() == [
        "BLOCKED True",
        "WROTE 'secure/kept.csv' (HEADER)",
        "BLOCKED True",
        "WROTE secure/kept2.csv",
    ]
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "leak2.csv").exists()
    assert (tmp_path / "secure" / "kept.csv").exists() and (tmp_path / "secure" / "kept2.csv").exists()
