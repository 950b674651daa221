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
- HOME_CREDIT: the Kaggle "Home Credit - Credit Risk Model Stability" starter notebook's Polars pattern
  (https://www.kaggle.com/code/jetakow/home-credit-2024-starter-notebook): a base table and static, person and
  credit-bureau tables read with ``pl.read_csv``/``read_parquet`` (static in parts, ``pl.concat``), ``group_by
  ("case_id").agg`` features, left joins on ``case_id``, the split by ``case_id`` ``is_in``, ``to_pandas()`` with
  strings made categories, a model fit and saved with joblib; a table read there and never joined (a deposit
  table) must not be a source of the model.
- CREDIT_CLASS: the same competition done with a processing class (https://github.com/okiverny/CreditRisk,
  ``CreditRiskProcessing``): dtypes set per column in a loop of ``with_columns``, each table's parts found by glob
  and concatenated, depth-1 tables aggregated by ``case_id``, the frames kept in a dict on the instance and only
  some joined onto the base; ``to_numpy()`` into scikit-learn. A table the class loads and keeps but never joins
  must not be a source.
- TAXI: Dagster University's "Dagster Essentials" project (https://github.com/dagster-io/project-dagster-university):
  each asset opens ``duckdb.connect`` on one database file (as ``DuckDBResource.get_connection`` does),
  ``create or replace table trips as (select ... from read_csv_auto('raw/*.csv'))``, a second table aggregated
  from the first, ``execute(...).fetch_df()`` of it and a model trained on that; a zones table beside them, unused.
- LAKEHOUSE: a Delta table written from a CSV and appended to, read back with Polars at a version
  (``pl.read_delta(..., version=0)``) and at its latest (``pl.scan_delta(...).collect()``), a model on each.
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
HOME_CREDIT = """
# Kaggle Home Credit 2024 starter pattern, data synthesized
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

train_basetable = pl.read_csv("credit/train_base.csv")
train_static = pl.concat([pl.read_parquet("credit/train_static_0_0.parquet"),
                          pl.read_parquet("credit/train_static_0_1.parquet")], how="vertical_relaxed")
train_person_1 = pl.read_csv("credit/train_person_1.csv")
train_credit_bureau_b_2 = pl.scan_csv("credit/train_credit_bureau_b_2.csv").collect()
train_deposit_1 = pl.read_csv("credit/train_deposit_1.csv")
print(train_deposit_1.shape)

person_feats = train_person_1.group_by("case_id").agg(
    pl.col("mainoccupationinc_384A").max().alias("income_max"),
    (pl.col("incometype_1044T") == "SELFEMPLOYED").max().alias("any_selfemployed"),
)
bureau_feats = train_credit_bureau_b_2.group_by("case_id").agg(
    pl.col("pmts_pmtsoverdue_635A").max().alias("overdue_max"),
    (pl.col("pmts_dpdvalue_108P") > 31).max().alias("dpd_over31"),
)
data = (
    train_basetable.join(train_static.select("case_id", "credamount_770A", "annuity_780A"), how="left", on="case_id")
    .join(person_feats, how="left", on="case_id")
    .join(bureau_feats, how="left", on="case_id")
)
case_ids = data["case_id"].unique().shuffle(seed=1)
case_ids_train, case_ids_test = case_ids[:70], case_ids[70:]
cols_pred = [c for c in data.columns if c not in ("case_id", "WEEK_NUM", "target")]

def from_polars_to_pandas(ids):
    part = data.filter(pl.col("case_id").is_in(ids.to_list()))
    X = part[cols_pred].to_pandas()
    for col in X.columns:
        if X[col].dtype.name in ("object", "string"):
            X[col] = X[col].astype("string").astype("category")
    return X, part["target"].to_numpy()

X_train, y_train = from_polars_to_pandas(case_ids_train)
X_test, y_test = from_polars_to_pandas(case_ids_test)
credit_model = HistGradientBoostingClassifier(max_iter=20, categorical_features="from_dtype").fit(X_train, y_train)
print(roc_auc_score(y_test, credit_model.predict_proba(X_test)[:, 1]))
joblib.dump(credit_model, "credit.joblib")
"""
CREDIT_CLASS = """
# a processing class as in okiverny/CreditRisk, data synthesized
from glob import glob
from sklearn.linear_model import LogisticRegression as Logistic

class CreditData:
    def __init__(self, data_path):
        self.data_path = data_path
        self.tables = {}

    def set_table_dtypes(self, df):
        for col in df.columns:
            if col == "case_id":
                df = df.with_columns(pl.col(col).cast(pl.Int64))
            elif col[-1] in ("A", "P"):
                df = df.with_columns(pl.col(col).cast(pl.Float64))
        return df

    def load(self, name, depth=0):
        parts = [pl.read_parquet(path) for path in sorted(glob(f"{self.data_path}/train_{name}_*.parquet"))]
        parts += [pl.read_csv(path) for path in sorted(glob(f"{self.data_path}/train_{name}.csv"))]
        df = self.set_table_dtypes(pl.concat(parts, how="vertical_relaxed"))
        if depth == 1:
            numeric = [c for c in df.columns if c[-1] in ("A", "P")]
            df = df.group_by("case_id").agg([pl.col(c).max().alias(f"max_{c}") for c in numeric])
        self.tables[name] = df
        return df

    def base_dataset(self, names):
        base = self.tables["base"]
        for name in names:
            base = base.join(self.tables[name], on="case_id", how="left")
        return base.fill_null(0)

proc = CreditData("credit")
proc.load("base")
proc.load("static_0")
proc.load("credit_bureau_b_2", depth=1)
deposits = proc.load("deposit_1", depth=1)
print(deposits.height)
train = proc.base_dataset(["static_0", "credit_bureau_b_2"])
features = [c for c in train.columns if c not in ("case_id", "WEEK_NUM", "target")]
class_model = Logistic(max_iter=1000).fit(train.select(features).to_numpy(), train["target"].to_numpy())
joblib.dump(class_model, "credit_class.joblib")
"""
TAXI_TRIPS = """
# Dagster University "Dagster Essentials" assets as notebook cells, data synthesized
from contextlib import contextmanager

@contextmanager
def get_connection():
    conn = duckdb.connect("data.duckdb")
    try:
        yield conn
    finally:
        conn.close()

with get_connection() as conn:
    conn.execute(\"\"\"
        create or replace table trips as (
          select VendorID as vendor_id, PULocationID as pickup_zone_id, trip_distance, passenger_count, total_amount
          from read_csv_auto('raw/*.csv')
        );
    \"\"\")
with get_connection() as conn:
    conn.execute("create or replace table zones as (select LocationID as zone_id, zone, borough from 'zones.csv')")
"""
TAXI_MODEL = """
conn = duckdb.connect("data.duckdb")
conn.sql(
    "CREATE TABLE trip_stats AS SELECT pickup_zone_id, avg(trip_distance) AS distance, avg(passenger_count) "
    "AS passengers, avg(total_amount) AS fare FROM trips GROUP BY pickup_zone_id"
)
stats = conn.execute("select * from trip_stats order by pickup_zone_id").fetch_df()
zone_names = conn.sql("select * from zones").df()
fare_model = LinearRegression().fit(stats[["distance", "passengers"]], stats["fare"])
joblib.dump(fare_model, "fares.joblib")
conn.close()
"""
LAKEHOUSE = """
import deltalake
deltalake.write_deltalake("lake/homes", pl.read_csv("houses.csv").to_pandas())
deltalake.write_deltalake("lake/homes", pl.read_csv("more_houses.csv").to_pandas(), mode="append")
"""
LAKEHOUSE_MODELS = """
first = pl.read_delta("lake/homes", version=0)
first_model = LinearRegression().fit(first.select("area", "rooms").to_numpy(), first["price"].to_numpy())
joblib.dump(first_model, "homes_v0.joblib")
latest = pl.scan_delta("lake/homes").filter(pl.col("rooms") > 0).collect()
latest_model = LinearRegression().fit(latest.select("area", "rooms").to_pandas(), latest["price"].to_pandas())
joblib.dump(latest_model, "homes_latest.joblib")
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
CELLS = [PENGUINS, POLARS_LAZY, POLARS_NUMPY, VITALS, VITALS_TRAIN, IRIS_PARTS, SCAN, ROWS, HOME_CREDIT]
CELLS += [CREDIT_CLASS, TAXI_TRIPS, TAXI_MODEL, LAKEHOUSE, LAKEHOUSE_MODELS]


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
    _synthesize_more(folder, rng)


def _synthesize_more(folder: Path, rng: random.Random) -> None:
    """Home Credit tables, taxi trips in parts and zones, and a second batch of houses."""
    import polars as pl

    credit, n = folder / "credit", 100
    credit.mkdir()
    pl.DataFrame(
        {"case_id": list(range(n)), "WEEK_NUM": [i % 10 for i in range(n)], "target": [i % 3 == 0 for i in range(n)]}
    ).with_columns(pl.col("target").cast(pl.Int64)).write_csv(credit / "train_base.csv")
    for part in range(2):
        ids = list(range(part * n // 2, (part + 1) * n // 2))
        pl.DataFrame(
            {
                "case_id": ids,
                "credamount_770A": [rng.uniform(1e3, 5e4) for _ in ids],
                "annuity_780A": [rng.uniform(100, 3000) for _ in ids],
            }
        ).write_parquet(credit / f"train_static_0_{part}.parquet")
    people = [i // 2 for i in range(2 * n)]
    pl.DataFrame(
        {
            "case_id": people,
            "mainoccupationinc_384A": [rng.uniform(1e4, 1e5) for _ in people],
            "incometype_1044T": [rng.choice(["EMPLOYED", "SELFEMPLOYED", "RETIRED"]) for _ in people],
        }
    ).write_csv(credit / "train_person_1.csv")
    pl.DataFrame(
        {
            "case_id": people,
            "pmts_pmtsoverdue_635A": [rng.uniform(0, 500) for _ in people],
            "pmts_dpdvalue_108P": [rng.randint(0, 60) for _ in people],
        }
    ).write_csv(credit / "train_credit_bureau_b_2.csv")
    pl.DataFrame({"case_id": people, "amount_416A": [rng.uniform(0, 9e3) for _ in people]}).write_csv(
        credit / "train_deposit_1.csv"
    )
    (folder / "raw").mkdir()
    for month in ("2023-03", "2023-04"):
        pl.DataFrame(
            {
                "VendorID": [1 + i % 2 for i in range(40)],
                "PULocationID": [i % 8 for i in range(40)],
                "trip_distance": [rng.uniform(0.5, 20) for _ in range(40)],
                "passenger_count": [rng.randint(1, 4) for _ in range(40)],
                "total_amount": [rng.uniform(5, 90) for _ in range(40)],
            }
        ).write_csv(folder / "raw" / f"taxi_trips_{month}.csv")
    pl.DataFrame(
        {"LocationID": list(range(8)), "zone": [f"z{i}" for i in range(8)], "borough": ["Manhattan"] * 8}
    ).write_csv(folder / "zones.csv")
    pl.DataFrame(
        {"area": [rng.randint(40, 200) for _ in range(20)], "rooms": [rng.randint(1, 6) for _ in range(20)]}
    ).with_columns(price=pl.col("area") * 3000.0).write_csv(folder / "more_houses.csv")


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
        credit = {"train_base.csv", "train_static_0_0.parquet", "train_static_0_1.parquet", "train_person_1.csv"}
        credit |= {"train_credit_bureau_b_2.csv"}  # not train_deposit_1.csv: read, never joined
        assert _files(store, workdir / "credit.joblib") == {f"credit/{name}" for name in credit}
        classed = {"train_base.csv", "train_static_0_0.parquet", "train_static_0_1.parquet"}
        classed |= {"train_credit_bureau_b_2.csv"}
        assert _files(store, workdir / "credit_class.joblib") == {f"credit/{name}" for name in classed}
        assert _files(store, workdir / "fares.joblib") == {"raw/taxi_trips_2023-03.csv", "raw/taxi_trips_2023-04.csv"}
        taxi = f"duckdb://{workdir / 'data.duckdb'}"
        fares = {(n.namespace, n.name) for n in upstream(store, DatasetRef("file", str(workdir / "fares.joblib")))}
        assert {(taxi, "trip_stats"), (taxi, "trips")} <= fares and (taxi, "zones") not in fares
        lake = str(workdir / "lake" / "homes")
        assert _files(store, workdir / "homes_v0.joblib") == {"houses.csv", "lake/homes"}
        assert _files(store, workdir / "homes_latest.joblib") == {"houses.csv", "more_houses.csv", "lake/homes"}
        for model, versions in (("homes_v0.joblib", {"0"}), ("homes_latest.joblib", {"0", "1"})):
            nodes = upstream(store, DatasetRef("file", str(workdir / model)))
            assert {n.version for n in nodes if n.name == lake and n.version} == versions


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
