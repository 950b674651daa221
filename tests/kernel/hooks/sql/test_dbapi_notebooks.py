"""Real notebooks in real kernels, modelled on public training scripts that load their data through DB-API cursors
(sqlite3, psycopg, psycopg2, pymysql) and save a scikit-learn model: every model links to exactly the tables (and files)
its training data came from, no more, no less. Data is synthesized with the schema the scripts expect."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pymysql
import pytest
from mariadb_db import fresh_database, mariadb_server
from notebooks import run_notebook
from postgres_db import postgres_database
from sqlalchemy.engine import make_url

from nblineage.cli import main
from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

PASSWORD = "Zq9-not-for-logs"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(workdir: Path, name: str, cells: list[str]) -> str:
    """Run the notebook; the URL of the store it recorded to."""
    store_url = f"sqlite:///{workdir / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / name, cells, env, timeout=180)
    return store_url


def sources_of(store_url: str, model: Path) -> set[tuple[str, str]]:
    """Every dataset upstream of the model file: (namespace, name)."""
    with Store(store_url) as store:
        nodes = upstream(store, DatasetRef("file", str(model)))
    return {(node.namespace, node.name) for node in nodes if node.type in ("dataset", "model")}


def no_secret_stored(workdir: Path) -> None:
    for path in workdir.rglob("*"):
        if path.is_file() and path.suffix != ".ipynb":
            assert PASSWORD.encode() not in path.read_bytes(), path


def steel_rows(n: int, seed: int) -> list[tuple[float, float, float, float, int]]:
    rng = np.random.default_rng(seed)
    area = rng.integers(10, 5000, n)
    thickness = rng.choice([40, 70, 80, 100, 200], n)
    luminosity = rng.normal(100, 20, n)
    length = rng.integers(50, 1800, n)
    target = (area > 2500).astype(int) + (thickness > 80).astype(int)
    return [
        (float(a), float(t), float(lum), float(le), int(y))
        for a, t, lum, le, y in zip(area, thickness, luminosity, length, target, strict=True)
    ]


# --- sqlite3: an MLOps homework's train script (cursor, description, DataFrame(fetchall)) -----------------------------

STEEL_LOAD = """
import sqlite3
import pandas as pd
import numpy as np
import pickle as pkl

db_name = "steel.db"
conn = sqlite3.connect(db_name)
c = conn.cursor()
c.execute("SELECT * FROM train")
cols = [col[0] for col in c.description]
dat = pd.DataFrame(data=c.fetchall(), columns=cols)
"""
STEEL_TRAIN = """
from sklearn.ensemble import RandomForestClassifier
X = dat.drop(columns=["target"])
y = dat["target"]
model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
with open("model.pkl", "wb") as f:
    pkl.dump(model, f)
"""
STEEL_EVALUATE = """
test_rows = []
for row in conn.execute("SELECT * FROM test"):
    test_rows.append(row)
print(len(test_rows), sqlite3.connect(db_name).execute("SELECT count(*) FROM train").fetchone())
"""
STEEL_LOOP = """
features, labels = [], []
cur2 = conn.cursor()
cur2.execute("SELECT Pixels_Areas, Length_of_Conveyer, target FROM test")
for area, length, target in cur2:
    features.append([area / 1000.0, length])
    labels.append(target)
"""
STEEL_LOOP_MODEL = """
from sklearn.neighbors import KNeighborsClassifier
knn = KNeighborsClassifier(n_neighbors=5).fit(features, labels)
with open("knn.pkl", "wb") as f:
    pkl.dump(knn, f)
"""
STEEL_SECOND_MODEL = """
import joblib
from sklearn.linear_model import LogisticRegression
holdout = pd.DataFrame(test_rows, columns=cols)
print("accuracy on test:", model.score(holdout.drop(columns=["target"]), holdout["target"]))
small = LogisticRegression(max_iter=500).fit(holdout[["Pixels_Areas", "Steel_Plate_Thickness"]], holdout["target"])
joblib.dump(small, "small.joblib")
conn.close()
"""


def test_steel_models_link_to_exactly_their_sqlite_tables(workdir: Path) -> None:
    database = workdir / "steel.db"
    with sqlite3.connect(database) as conn:
        for table in ("train", "test"):
            conn.execute(
                f"CREATE TABLE {table} (Pixels_Areas REAL, Steel_Plate_Thickness REAL, Sum_of_Luminosity REAL, "
                "Length_of_Conveyer REAL, target INTEGER)"
            )
        conn.executemany("INSERT INTO train VALUES (?, ?, ?, ?, ?)", steel_rows(300, 1))
        conn.executemany("INSERT INTO test VALUES (?, ?, ?, ?, ?)", steel_rows(120, 2))
    conn.close()
    cells = [STEEL_LOAD, STEEL_TRAIN, STEEL_EVALUATE, STEEL_LOOP, STEEL_LOOP_MODEL, STEEL_SECOND_MODEL]
    store_url = run(workdir, "steel.ipynb", cells)
    namespace = f"sqlite://{database}"
    assert sources_of(store_url, workdir / "model.pkl") == {(namespace, "train")}
    assert sources_of(store_url, workdir / "knn.pkl") == {(namespace, "test")}
    assert sources_of(store_url, workdir / "small.joblib") == {(namespace, "test")}


# --- psycopg: a CSV loaded into PostgreSQL, then a loader function that returns the rows ------------------------------

ACTIVITIES_PREPARE = """
import pandas as pd
import psycopg

raw = pd.read_csv("activities.csv")
conn = psycopg.connect("host=127.0.0.1 port={port} dbname={dbname} user={user} password={password}")
with conn.cursor() as cur:
    cur.execute("CREATE TABLE bucket_list_activities (cost REAL, duration REAL, risk REAL, done INTEGER)")
    cur.executemany("INSERT INTO bucket_list_activities VALUES (%s, %s, %s, %s)", raw.values.tolist())
    cur.execute("CREATE TABLE users (name TEXT, age INTEGER)")
    cur.execute("INSERT INTO users VALUES ('ann', 31), ('bob', 45)")
conn.commit()
conn.close()
"""
ACTIVITIES_TRAIN = """
import joblib
import psycopg
from sklearn.tree import DecisionTreeClassifier

def load_data_from_postgresql():
    conn = psycopg.connect(dbname="{dbname}", user="{user}", password="{password}", host="127.0.0.1", port="{port}")
    cur = conn.cursor()
    cur.execute("SELECT * FROM bucket_list_activities;")
    rows = cur.fetchall()
    cur.execute("SELECT name, age FROM users")
    print("users:", cur.fetchall())
    cur.close()
    conn.close()
    data = pd.DataFrame(rows, columns=["cost", "duration", "risk", "done"])
    return data.drop(columns=["done"]), data["done"]

X, y = load_data_from_postgresql()
tree = DecisionTreeClassifier(max_depth=3).fit(X, y)
joblib.dump(tree, "tree.joblib")
"""


def with_psycopg2(cell: str) -> str:
    """The same code with psycopg2, rows inserted by its ``execute_values`` helper."""
    cell = cell.replace("import psycopg\n", "import psycopg2\nimport psycopg2.extras\n").replace(
        "psycopg.", "psycopg2."
    )
    return cell.replace(
        'cur.executemany("INSERT INTO bucket_list_activities VALUES (%s, %s, %s, %s)", raw.values.tolist())',
        'psycopg2.extras.execute_values(cur, "INSERT INTO bucket_list_activities VALUES %s", raw.values.tolist())',
    )


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_a_model_from_postgres_rows_links_to_the_table_and_its_csv(workdir: Path, driver: str) -> None:
    rng = np.random.default_rng(3)
    cost, duration, risk = rng.uniform(0, 5000, 200), rng.uniform(1, 30, 200), rng.uniform(0, 1, 200)
    done = ((cost < 2000) & (risk < 0.5)).astype(int)
    lines = [
        "cost,duration,risk,done",
        *(f"{c:.2f},{d:.2f},{r:.3f},{x}" for c, d, r, x in zip(cost, duration, risk, done, strict=True)),
    ]
    (workdir / "activities.csv").write_text("\n".join(lines) + "\n")
    with postgres_database() as url:
        parsed = make_url(url)
        values = {"port": parsed.port, "dbname": parsed.database, "user": parsed.username, "password": PASSWORD}
        cells = [ACTIVITIES_PREPARE.format(**values), ACTIVITIES_TRAIN.format(**values)]
        if driver == "psycopg2":
            cells = [with_psycopg2(cell) for cell in cells]
            assert "execute_values" in cells[0] and "psycopg." not in "".join(cells)
        store_url = run(workdir, "activities.ipynb", cells)
        with psycopg.connect(host=parsed.host, port=parsed.port, dbname=parsed.database, user=parsed.username) as conn:
            assert conn.execute("SELECT count(*) FROM bucket_list_activities").fetchone() == (200,)
    namespace = f"postgres://127.0.0.1:{parsed.port}"
    assert sources_of(store_url, workdir / "tree.joblib") == {
        (namespace, f"{parsed.database}.public.bucket_list_activities"),
        ("file", str(workdir / "activities.csv")),
    }
    no_secret_stored(workdir)


# --- pymysql: an MLOps book's db_train.py (pd.read_sql on a DB-API connection), and a cursor-fed second model ------

IRIS_TRAIN = """
import joblib
import pandas as pd
import pymysql
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

# 1. get data
db_connect = pymysql.connect(host="127.0.0.1", port={port}, database="{database}", user="myuser", password="{password}")
df = pd.read_sql("SELECT * FROM iris_data ORDER BY id DESC LIMIT 100", db_connect)
X = df.drop(["id", "target"], axis="columns")
y = df["target"]
X_train, X_valid, y_train, y_valid = train_test_split(X, y, train_size=0.8, random_state=2022)

# 2. model development and train
rf = RandomForestClassifier(n_estimators=20, random_state=0)
rf.fit(X_train, y_train)
print("Valid Accuracy :", accuracy_score(y_true=y_valid, y_pred=rf.predict(X_valid)))

# 3. save model
joblib.dump(rf, "db_rf.joblib")
"""
IRIS_FETCH = """
with db_connect.cursor() as cur:
    cur.execute("SELECT sepal_length, sepal_width, petal_length, petal_width, target FROM iris_new WHERE id > %s", (0,))
    fresh = cur.fetchall()
    names = [column[0] for column in cur.description]
"""
IRIS_RETRAIN = """
from sklearn.neighbors import KNeighborsClassifier
new = pd.DataFrame(fresh, columns=names)
knn = KNeighborsClassifier(n_neighbors=3).fit(new.drop(columns=["target"]), new["target"])
joblib.dump(knn, "knn.joblib")
db_connect.close()
"""


@pytest.fixture(scope="module")
def mariadb() -> Iterator[tuple[str, int]]:
    with mariadb_server() as address:
        yield address


def test_mysql_models_link_to_exactly_their_tables(workdir: Path, mariadb: tuple[str, int]) -> None:
    host, port = mariadb
    database = fresh_database(host, port)
    rng = np.random.default_rng(5)
    connect = {"host": host, "port": port, "user": "root", "database": database, "autocommit": True}
    with pymysql.connect(**connect) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER IF NOT EXISTS 'myuser'@'%' IDENTIFIED BY '{PASSWORD}'")
        cur.execute(f"GRANT ALL ON {database}.* TO 'myuser'@'%'")
        for table in ("iris_data", "iris_new"):
            cur.execute(
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, sepal_length DOUBLE, sepal_width DOUBLE, "
                "petal_length DOUBLE, petal_width DOUBLE, target INTEGER)"
            )
            target = rng.integers(0, 3, 150)
            features = rng.normal(3, 1, (150, 4)) + target[:, None]
            rows = [(i + 1, *map(float, f), int(t)) for i, (f, t) in enumerate(zip(features, target, strict=True))]
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s)", rows)
    values = {"port": port, "database": database, "password": PASSWORD}
    cells = [IRIS_TRAIN.format(**values), IRIS_FETCH, IRIS_RETRAIN]
    store_url = run(workdir, "iris.ipynb", cells)
    namespace = f"mysql://127.0.0.1:{port}"
    assert sources_of(store_url, workdir / "db_rf.joblib") == {(namespace, f"{database}.iris_data")}
    assert sources_of(store_url, workdir / "knn.joblib") == {(namespace, f"{database}.iris_new")}
    no_secret_stored(workdir)


# --- sqlite3, one cell: a script that fills feature lists row by row, fits on them and pickles the model -------------

ONE_CELL_SCRIPT = """
import pickle
import sqlite3 as sql
from sklearn.ensemble import RandomForestClassifier

con = sql.connect("results.db")
print("runs:", con.execute("SELECT count(*) FROM runs").fetchone())
cur = con.cursor()
cur.execute("SELECT * FROM features")
X, y = [], []
for r in cur:
    X.append([hash(r[1]) % 1000, r[2], r[3]])
    y.append(r[4])
clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
with open("features_rf.pkl", "wb") as f:
    pickle.dump(clf, f)
con.close()
"""


def test_a_model_fit_on_lists_filled_from_a_cursor_in_the_same_cell(workdir: Path) -> None:
    database = workdir / "results.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER)")
        conn.execute("CREATE TABLE features (id INTEGER, host TEXT, load REAL, mem REAL, label INTEGER)")
        rows = [(i, f"host{i % 5}", (i % 13) / 13, (i % 7) / 7, int(i % 13 > 6)) for i in range(200)]
        conn.executemany("INSERT INTO features VALUES (?, ?, ?, ?, ?)", rows)
    conn.close()
    store_url = run(workdir, "script.ipynb", [ONE_CELL_SCRIPT])
    # the cell read runs too: only the rows the lists were filled from reach the model
    assert sources_of(store_url, workdir / "features_rf.pkl") == {(f"sqlite://{database}", "features")}


# --- a table written by to_sql in one notebook, read with a sqlite3 cursor in another ------------------------------

TABLE_WRITE = """
import sqlite3
import pandas as pd
houses = pd.read_csv("houses.csv")
houses["rooms_per_area"] = houses["rooms"] / houses["area"]
with sqlite3.connect("houses.db") as conn:
    houses.to_sql("houses", conn, index=False, if_exists="replace")
    pd.read_csv("noise.csv").to_sql("noise", conn, index=False, if_exists="replace")
"""
TABLE_READ = """
import sqlite3
import joblib
import pandas as pd
from sklearn.linear_model import LinearRegression
conn = sqlite3.connect("houses.db")
cur = conn.execute("SELECT area, rooms, rooms_per_area, price FROM houses")
data = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
print(conn.execute("SELECT count(*) FROM noise").fetchone())
model = LinearRegression().fit(data[["area", "rooms", "rooms_per_area"]], data["price"])
joblib.dump(model, "price.joblib")
"""


def test_a_sqlite3_read_links_to_the_version_to_sql_wrote_in_another_notebook(workdir: Path) -> None:
    rng = np.random.default_rng(5)
    area, rooms = rng.integers(30, 300, 80), rng.integers(1, 8, 80)
    lines = ["area,rooms,price", *(f"{a},{r},{a * 3000 + r * 1000}" for a, r in zip(area, rooms, strict=True))]
    (workdir / "houses.csv").write_text("\n".join(lines) + "\n")
    (workdir / "noise.csv").write_text("a,b\n1,2\n3,4\n")
    store_url = run(workdir, "write.ipynb", [TABLE_WRITE])
    run(workdir, "read.ipynb", [TABLE_READ])
    namespace = f"sqlite://{workdir / 'houses.db'}"
    assert sources_of(store_url, workdir / "price.joblib") == {
        (namespace, "houses"),
        ("file", str(workdir / "houses.csv")),
    }


# --- psycopg: a model, the table changes, a second model: two versions, models-from tells them apart ----------------

VERSIONS_LOAD = """
import joblib
import pandas as pd
import psycopg
from sklearn.tree import DecisionTreeClassifier

COLUMNS = ["cost", "duration", "risk", "done"]

def load_data_from_postgresql():
    conn = psycopg.connect(dbname="{dbname}", user="{user}", host="127.0.0.1", port="{port}")
    cur = conn.cursor()
    cur.execute("SELECT cost, duration, risk, done FROM activities ORDER BY id")
    rows = cur.fetchall()
    cur.close()
    conn.close()
    data = pd.DataFrame(rows, columns=COLUMNS)
    return data.drop(columns=["done"]), data["done"]

X, y = load_data_from_postgresql()
tree = DecisionTreeClassifier(max_depth=3).fit(X, y)
joblib.dump(tree, "tree_first.joblib")
"""
VERSIONS_AGAIN = """
with psycopg.connect(dbname="{dbname}", user="{user}", host="127.0.0.1", port="{port}") as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT cost, duration, risk, done FROM activities ORDER BY id")
        same = pd.DataFrame([row for row in cur], columns=COLUMNS)
shallow = DecisionTreeClassifier(max_depth=2).fit(same.drop(columns=["done"]), same["done"])
joblib.dump(shallow, "tree_same_data.joblib")
"""
VERSIONS_CHANGE = """
with psycopg.connect(dbname="{dbname}", user="{user}", host="127.0.0.1", port="{port}", autocommit=True) as admin:
    admin.execute("UPDATE activities SET done = 1 - done WHERE id % 7 = 0")
"""
VERSIONS_RETRAIN = """
with psycopg.connect(dbname="{dbname}", user="{user}", host="127.0.0.1", port="{port}") as conn:
    with conn.cursor(name="activities_scan") as cur:
        cur.execute("SELECT cost, duration, risk, done FROM activities ORDER BY id")
        chunks = []
        while True:
            rows = cur.fetchmany(50)
            if not rows:
                break
            chunks.append(pd.DataFrame(rows, columns=COLUMNS))
data = pd.concat(chunks, ignore_index=True)
retrained = DecisionTreeClassifier(max_depth=3).fit(data.drop(columns=["done"]), data["done"])
joblib.dump(retrained, "tree_second.joblib")
"""


@pytest.mark.postgres
def test_models_from_tells_apart_the_versions_of_a_changed_postgres_table(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(8)
    cost, duration, risk = rng.uniform(0, 5000, 200), rng.uniform(1, 30, 200), rng.uniform(0, 1, 200)
    done = ((cost < 2000) & (risk < 0.5)).astype(int)
    with postgres_database() as url:
        parsed = make_url(url)
        connect = {"host": parsed.host, "port": parsed.port, "dbname": parsed.database, "user": parsed.username}
        with psycopg.connect(**connect, autocommit=True) as conn:
            conn.execute("CREATE TABLE activities (id INTEGER, cost REAL, duration REAL, risk REAL, done INTEGER)")
            with conn.cursor() as cur:
                rows = [
                    (i, float(c), float(d), float(r), int(x))
                    for i, (c, d, r, x) in enumerate(zip(cost, duration, risk, done, strict=True))
                ]
                cur.executemany("INSERT INTO activities VALUES (%s, %s, %s, %s, %s)", rows)
        values = {"port": parsed.port, "dbname": parsed.database, "user": parsed.username}
        cells = [cell.format(**values) for cell in (VERSIONS_LOAD, VERSIONS_AGAIN, VERSIONS_CHANGE, VERSIONS_RETRAIN)]
        store_url = run(workdir, "versions.ipynb", cells)
    namespace, table = f"postgres://127.0.0.1:{parsed.port}", f"{parsed.database}.public.activities"

    def table_versions(model: str) -> set[str | None]:
        with Store(store_url) as store:
            nodes = upstream(store, DatasetRef("file", str(workdir / model)))
        found = {node.version for node in nodes if (node.namespace, node.name) == (namespace, table)}
        assert found, model
        return found

    first, same, second = (table_versions(f"{m}.joblib") for m in ("tree_first", "tree_same_data", "tree_second"))
    assert len(first) == 1 and None not in first
    assert same == first  # the unchanged table read again (iterated, not fetchall): the same version
    assert len(second) == 1 and second != first  # changed: another version

    def models_from(*version: str) -> set[str]:
        capsys.readouterr()
        argv = ["models-from", table, "-n", namespace, *(("--version", *version) if version else ()), "--json"]
        assert main(argv) == 0
        return {Path(row["name"]).name for row in json.loads(capsys.readouterr().out)}

    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    assert models_from() == {"tree_first.joblib", "tree_same_data.joblib", "tree_second.joblib"}
    assert models_from(*first) == {"tree_first.joblib", "tree_same_data.joblib"}
    assert models_from(*second) == {"tree_second.joblib"}
    assert b"nblineage-pending" not in (workdir / "lineage.db").read_bytes()


# --- rows made into arrays as they are fetched (hualichenxi/ijcar2016 py/samples.py) ---------------------------------

FETCH_INTO_ARRAYS = """
import sqlite3
import joblib
import numpy
from sklearn.linear_model import LinearRegression
conn = sqlite3.connect("samples.db")
cur = conn.cursor()
parts = []
for table in ["tr_a", "tr_b"]:
    cur.execute(f"SELECT x, y FROM {table}")
    parts.append(numpy.array(cur.fetchall()))
cur.execute("SELECT x, y FROM holdout")
held_out = numpy.array(cur.fetchall())
rows = []
cur.execute("SELECT x, y FROM extra")
while True:
    batch = cur.fetchmany(7)
    if not batch:
        break
    rows.extend(batch)
"""
TRAIN_ON_ARRAYS = """
train = numpy.concatenate(parts)
joblib.dump(LinearRegression().fit(train[:, :1], train[:, 1]), "from_parts.joblib")
extra = numpy.array(rows)
joblib.dump(LinearRegression().fit(extra[:, :1], extra[:, 1]), "from_extra.joblib")
"""


def test_rows_made_into_arrays_as_they_are_fetched_keep_their_tables(workdir: Path) -> None:
    """``numpy.array(cur.fetchall())`` per table in a loop, and rows gathered by ``fetchmany`` batches: no hook tags
    the arrays, and the results are let go when the cell ends; the statement that fetched the rows gives them the
    tables (the next cell trains on them)."""
    database = workdir / "samples.db"
    with sqlite3.connect(database) as conn:
        for table in ("tr_a", "tr_b", "holdout", "extra"):
            conn.execute(f"CREATE TABLE {table} (x REAL, y REAL)")
            conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(i, 2.0 * i + len(table)) for i in range(30)])
    conn.close()
    store_url = run(workdir, "samples.ipynb", [FETCH_INTO_ARRAYS, TRAIN_ON_ARRAYS])
    namespace = f"sqlite://{database}"
    assert sources_of(store_url, workdir / "from_parts.joblib") == {(namespace, "tr_a"), (namespace, "tr_b")}
    assert sources_of(store_url, workdir / "from_extra.joblib") == {(namespace, "extra")}


# --- a frame read with read_sql, pickled to bytes held in a name, then written (Airflow tasks that put to S3) ------

PUT_TABLE = """
import pickle
import pandas as pd
from sqlalchemy import create_engine
engine = create_engine("sqlite:///warehouse.db")
pd.read_csv("housing.csv").to_sql("housing", engine, if_exists="replace", index=False)
pd.read_csv("noise.csv").to_sql("noise", engine, if_exists="replace", index=False)
"""
PUT_BYTES = """
data = pd.read_sql_query("SELECT * FROM housing", engine)
noise = pd.read_sql_query("SELECT * FROM noise", engine)
payload = pickle.dumps(data)
open("california_housing.pkl", "wb").write(payload)
"""


def test_bytes_pickled_from_a_read_sql_frame_keep_its_table(workdir: Path) -> None:
    """nex2hex/airflow-mlflow-docker's loader: ``pickle.dumps`` of a ``read_sql_query`` frame, kept in a name and
    written to a file. The hook tagged the frame, but the statement reading it noted nothing, so what the cell's
    code bound from it (the bytes) had no source, and the file neither."""
    (workdir / "housing.csv").write_text("rooms,price\n" + "\n".join(f"{i % 7},{i * 3}" for i in range(30)) + "\n")
    (workdir / "noise.csv").write_text("x\n1\n2\n")
    store_url = run(workdir, "put.ipynb", [PUT_TABLE, PUT_BYTES])
    found = {name for _, name in sources_of(store_url, workdir / "california_housing.pkl")}
    assert found == {"housing", str(workdir / "housing.csv")}
