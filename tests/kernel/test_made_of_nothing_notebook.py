"""Outputs made of no dataset, in a real kernel: an array written before the cell reads a file, a dict of constants
written after it, and a table made
by ``CREATE TABLE`` in a cell that loaded other tables (kwonhwijun/KU's MLOps homework creates its tables so), derive
from nothing; what is written after the read, or filled from one table, derives from that alone. The store used to
give an output naming no inputs every input of its cell run, reads that came after it included. And rows appended
to a table are added to the version before them: what is read back derives from both."""

from __future__ import annotations

from pathlib import Path

from notebooks import model_source_names as sources_of
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

WRITE_THEN_READ = """
import joblib
import numpy as np
a = np.arange(5) * 2.0
np.save("a.npy", a)
b = np.loadtxt("X.txt")
np.save("b.npy", b)
joblib.dump({"note": "baseline", "columns": [0, 1]}, "meta.joblib")  # constants, after the read
"""
TABLES = """
import sqlite3
import pandas as pd
conn = sqlite3.connect("db.sqlite")
pd.read_csv("a.csv").to_sql("a", conn, if_exists="replace", index=False)
pd.read_csv("b.csv").to_sql("b", conn, if_exists="replace", index=False)
c = conn.cursor()
c.execute("DROP TABLE IF EXISTS scores")
c.execute("CREATE TABLE scores(x INTEGER)")
conn.commit()
"""
FILL = """
c.execute("INSERT INTO scores SELECT x FROM a")
conn.commit()
"""


def test_what_is_made_of_nothing_derives_from_nothing(tmp_path: Path) -> None:
    (tmp_path / "X.txt").write_text("1 2\n3 4\n")
    (tmp_path / "a.csv").write_text("x\n1\n2\n3\n")
    (tmp_path / "b.csv").write_text("x\n7\n8\n9\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "nothing.ipynb", [WRITE_THEN_READ, TABLES, FILL], env, timeout=180)
    assert sources_of(store_url, tmp_path / "a.npy") == set()
    assert sources_of(store_url, tmp_path / "b.npy") == {"X.txt"}
    assert sources_of(store_url, tmp_path / "meta.joblib") == set()
    with Store(store_url) as store:
        nodes = upstream(store, DatasetRef(f"sqlite://{tmp_path / 'db.sqlite'}", "scores"))
    assert {node.name for node in nodes if node.type == "dataset"} == {"a", str(tmp_path / "a.csv")}


ENGINE_TABLES = """
import pandas as pd
from sqlalchemy import create_engine, text
engine = create_engine("sqlite:///db.sqlite")
pd.read_csv("a.csv").to_sql("a", engine, if_exists="replace", index=False)
b = pd.read_csv("b.csv")
b.to_sql("b", engine, if_exists="replace", index=False)
with engine.begin() as conn:
    conn.execute(text("DROP TABLE IF EXISTS scores"))
    conn.execute(text("CREATE TABLE scores(x INTEGER)"))
    conn.execute(text("CREATE TABLE IF NOT EXISTS empty_too(x INTEGER)"))
    conn.execute(text("DROP TABLE IF EXISTS from_rows"))
    conn.execute(text("CREATE TABLE from_rows(x INTEGER)"))
"""
ENGINE_FILL = """
with engine.begin() as conn:
    conn.execute(text("INSERT INTO scores SELECT x FROM a"))
with engine.begin() as conn:  # SQLAlchemy's tutorial way: rows as parameters (here a frame's records)
    conn.execute(text("INSERT INTO from_rows (x) VALUES (:x)"), b.to_dict("records"))
"""


def test_a_table_created_through_sqlalchemy_derives_from_what_fills_it(tmp_path: Path) -> None:
    """The same through a SQLAlchemy engine: the empty table came from every CSV its cell read, what filled it from
    ``a`` named no version of it, so the CSV behind ``a`` was not found upstream, and rows passed as parameters
    (SQLAlchemy's tutorial way) derived from nothing."""
    (tmp_path / "a.csv").write_text("x\n1\n2\n3\n")
    (tmp_path / "b.csv").write_text("x\n7\n8\n9\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "engine.ipynb", [ENGINE_TABLES, ENGINE_FILL], env, timeout=180)
    namespace = f"sqlite://{tmp_path / 'db.sqlite'}"
    with Store(store_url) as store:
        empty = upstream(store, DatasetRef(namespace, "empty_too"))
        filled = upstream(store, DatasetRef(namespace, "scores"))
        from_rows = upstream(store, DatasetRef(namespace, "from_rows"))
    assert {node.name for node in empty if node.type == "dataset"} == set()
    assert {node.name for node in filled if node.type == "dataset"} == {"a", str(tmp_path / "a.csv")}
    assert {node.name for node in from_rows if node.type == "dataset"} == {str(tmp_path / "b.csv")}


APPENDS = """
import glob, sqlite3
import pandas as pd
conn = sqlite3.connect("db.sqlite")
pd.read_csv("a.csv").to_sql("t", conn, if_exists="replace", index=False)
"""
MORE = """
for name in sorted(glob.glob("part_*.csv")):
    pd.read_csv(name).to_sql("t", conn, if_exists="append", index=False)
"""
READ_BACK = """
rows = conn.execute("SELECT x FROM t").fetchall()
with open("out.txt", "w") as f:
    for r in rows:
        f.write(str(r[0]) + "\\n")
"""


def test_rows_appended_to_a_table_keep_the_rows_before_them(tmp_path: Path) -> None:
    """``to_sql(if_exists="append")`` into a SQLite file, a file at a time (the Kaggle way of loading monthly CSVs
    into one table): each version of the table holds the one before it, so what is read back derives from every
    file, not from the last one appended."""
    (tmp_path / "a.csv").write_text("x\n1\n2\n")
    for part in (1, 2):
        (tmp_path / f"part_{part}.csv").write_text(f"x\n{part * 10}\n{part * 10 + 1}\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "appends.ipynb", [APPENDS, MORE, READ_BACK], env, timeout=180)
    assert sources_of(store_url, tmp_path / "out.txt") == {"a.csv", "part_1.csv", "part_2.csv", "t"}


MAGIC_CELL = """
%precision 3
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
df = pd.read_csv("train.csv")
df["ratio"] = df["a"] / df["b"]
joblib.dump(LogisticRegression().fit(df[["ratio"]], df["y"]), "model.joblib")
joblib.dump({"note": "baseline"}, "meta.joblib")
"""


def test_a_cell_with_a_line_magic_is_followed_like_any_other(tmp_path: Path) -> None:
    """``%matplotlib inline`` (here ``%precision``) above a cell's code: its column rules and what its writes read are
    found in IPython's transformation of the cell (the cell itself is no Python: the feature had no source column,
    and the constants got every input of the cell)."""
    from nblineage.governance import questions

    (tmp_path / "train.csv").write_text("a,b,y\n" + "\n".join(f"{i},{i % 4 + 1},{i % 2}" for i in range(20)) + "\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "magic.ipynb", [MAGIC_CELL], env, timeout=180)
    assert sources_of(store_url, tmp_path / "meta.joblib") == set()
    with Store(store_url) as store:
        inputs = questions.model_inputs(store, questions.resolve_model(store, str(tmp_path / "model.joblib")))
    assert {f.name: {c.field for c in f.columns} for f in inputs.features} == {"ratio": {"a", "b"}}
