"""Defects the public pipelines of `test_public_pipelines.py` found, each in its smallest form, in one real kernel:

- ``io.open`` (DVC's prepare.py) and ``Path.open`` read and write files as ``open`` does;
- rows fetched inside a user function and made an array there (``np.array(c.fetchmany(n))``), then given to
  ``partial_fit`` of a model loaded from a file in that function (Raschka's update.py), carry the table to it;
- an estimator made with settings read from a params file (``CountVectorizer(max_features=params[...])``) and
  fit on an array no hook tracked does not derive from that file once the cell ends: hyper-parameters are no data
  (DVC's featurization.py);
- column names read from a config file select columns (``frame[cfg["features"]]``, ``frame.loc[:, feats]``) and
  settings made estimator arguments (``Ridge(**cfg["model"])``): the config file is no source of the model;
- a tuple pickled from inside a function (``pickle.dump((matrix, names), fd)``), its matrix made there where no
  hook saw, derives from the matrix's data, not only from the names' (DVC's save_matrix);
- a model fit on an array numpy made from tracked data, beside tracked labels (``fit(X / 255., y)``, ``X.values /
  255.``, ``np.log1p(X)``, arrays of ``np.load``), saved in the same cell, derives from the features' file too, not
  only the labels' (scikit-learn's MNIST examples); in a function of the user's own called twice, each model from
  its own arrays; an estimator fit anew keeps nothing of its earlier fit; a column set from such an array
  (``frame["z"] = np.log1p(X)``) adds its file to the frame's.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

IO_OPEN = """
import io
import random
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression

def split_lines(fd_in, fd_train, fd_test):
    for line in fd_in:
        (fd_train if random.random() > 0.3 else fd_test).write(line)

with io.open("posts.csv", encoding="utf8") as fd_in:
    with io.open("train.csv", "w", encoding="utf8") as fd_train:
        with io.open("test.csv", "w", encoding="utf8") as fd_test:
            split_lines(fd_in, fd_train, fd_test)

from pathlib import Path
with Path("posts.csv").open() as source, Path("copy.csv").open("w") as copy:
    copy.write(source.read())
"""
IO_TRAIN = """
train = pd.read_csv("train.csv", header=None, names=["a", "b", "label"])
joblib.dump(LogisticRegression().fit(train[["a", "b"]], train["label"]), "io_model.joblib")
"""
START = """
import pickle
from sklearn.linear_model import SGDClassifier
start = SGDClassifier(random_state=0).partial_fit(train[["a", "b"]].values, train["label"].values, classes=[0, 1])
pickle.dump(start, open("start.pkl", "wb"))
"""
FETCHMANY = """
import pickle
import sqlite3
import numpy as np
from sklearn.linear_model import SGDClassifier

def update_model(db_path, model, batch_size=5):
    conn = sqlite3.connect(db_path)
    c = conn.cursor()
    c.execute("SELECT a, b, label FROM feedback")
    results = c.fetchmany(batch_size)
    while results:
        data = np.array(results)
        X = data[:, :2] * 1.0
        y = data[:, 2].astype(int)
        model.partial_fit(X, y, classes=np.array([0, 1]))
        results = c.fetchmany(batch_size)
    conn.close()
    return model

clf = update_model("feedback.db", pickle.load(open("start.pkl", "rb")))
with open("updated.pkl", "wb") as f:
    pickle.dump(clf, f)
"""
PARAMS = """
import json
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

params = json.load(open("params.json"))
max_features = params["max_features"]
docs = pd.read_csv("docs.csv")
texts = np.array(docs.text.str.lower().values)
bag = CountVectorizer(max_features=max_features, ngram_range=(1, params["ngrams"]))
bag.fit(texts)
"""
NB = """
nb = MultinomialNB().fit(bag.transform(texts), docs.label.values)
joblib.dump(nb, "nb.joblib")
"""
TUPLE = """
import scipy.sparse as sparse

def save_matrix(df, matrix, names, output):
    labels = sparse.csr_matrix(df.label.astype(np.int64)).T
    result = sparse.hstack([labels, matrix], format="csr")
    with open(output, "wb") as fd:
        pickle.dump((result, names), fd)

other = pd.read_csv("other_docs.csv")
save_matrix(other, bag.transform(np.array(other.text.values)), bag.get_feature_names_out(), "other.pkl")
"""
CONFIG = """
from sklearn.linear_model import Ridge
cfg = json.load(open("config.json"))
feats = cfg["features"]
frame = pd.read_csv("measures.csv")
X = np.array(frame[feats])
ridge = Ridge(**cfg["model"]).fit(X, frame[cfg["target"]].values)
joblib.dump(ridge, "cfg_ridge.joblib")
X2 = frame.loc[:, feats].to_numpy()
joblib.dump(LogisticRegression(max_iter=cfg["model"]["max_iter"]).fit(X2, frame[cfg["target"]]), "cfg_logit.joblib")
"""

PIXELS = """
pixels = pd.read_csv("pixels.csv")
labels = pd.read_csv("labels.csv")["label"].values
X_np, y_np = np.load("pixels.npy"), np.load("labels.npy")
"""
SCALED = """
from sklearn.preprocessing import StandardScaler
X = pixels.values
clf = LogisticRegression().fit(X / 255., labels)
joblib.dump(clf, "scaled.joblib")
joblib.dump(LogisticRegression().fit(pixels.values / 255., labels), "values.joblib")
joblib.dump(LogisticRegression().fit(np.log1p(X), labels), "log1p.joblib")
joblib.dump(LogisticRegression().fit(X[:, :3], labels), "sliced.joblib")
joblib.dump(LogisticRegression().fit(StandardScaler().fit(X).transform(X), labels), "standard.joblib")
joblib.dump(LogisticRegression().fit(X_np / 255., y_np), "npy.joblib")
X_scaled = X_np / 255.
joblib.dump(LogisticRegression().fit(X_scaled, y_np), "named.joblib")
refit = LogisticRegression().fit(X, labels)
refit.fit(X_np / 255., y_np)
joblib.dump(refit, "refit.joblib")
extended = pixels.copy()
extended["npy_log"] = np.log1p(X_np[:, 0])
extended["noise"] = np.random.default_rng(0).random(len(extended))
extended.to_csv("extended.csv")
"""
SCALED_IN_FUNCTION = """
def train(X, y):
    return LogisticRegression().fit(X / 255., y)

first, second = train(X, labels), train(X_np, y_np)
joblib.dump(first, "first.joblib")
joblib.dump(second, "second.joblib")
"""


def write_data(folder: Path) -> None:
    (folder / "posts.csv").write_text("".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))
    with sqlite3.connect(folder / "feedback.db") as conn:
        conn.execute("CREATE TABLE feedback (a REAL, b REAL, label INTEGER)")
        conn.executemany("INSERT INTO feedback VALUES (?, ?, ?)", [(i % 3, i % 4, i % 2) for i in range(12)])
    conn.close()
    (folder / "params.json").write_text(json.dumps({"max_features": 20, "ngrams": 2}))
    words = ["good", "bad", "fine", "poor", "great", "awful"]
    rows = [f"{words[i % 6]} {words[(i * 5) % 6]} movie,{i % 2}" for i in range(30)]
    (folder / "docs.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    (folder / "config.json").write_text(
        json.dumps({"features": ["a", "b"], "target": "y", "model": {"alpha": 0.5, "max_iter": 50}})
    )
    (folder / "measures.csv").write_text("a,b,c,y\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(30)))
    (folder / "other_docs.csv").write_text("text,label\n" + "\n".join(rows[:10]) + "\n")
    (folder / "pixels.csv").write_text(
        "p0,p1,p2,p3\n" + "".join(f"{i * 7 % 256},{i % 9},{i * 3},{i % 4}\n" for i in range(30))
    )
    (folder / "labels.csv").write_text("label\n" + "".join(f"{i % 2}\n" for i in range(30)))
    np.save(folder / "pixels.npy", np.arange(120, dtype=float).reshape(30, 4) % 17)
    np.save(folder / "labels.npy", np.arange(30) % 3 % 2)


def sources(store: Store, folder: Path, output: str) -> set[str]:
    nodes = upstream(store, DatasetRef("file", str(folder / output)))
    return {
        str(Path(node.name).relative_to(folder)) if node.namespace == "file" else f"table:{node.name}"
        for node in nodes
        if node.type != "job"
    }


def test_public_pipeline_defects_stay_fixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = [IO_OPEN, IO_TRAIN, START, FETCHMANY, PARAMS, NB, TUPLE, CONFIG, PIXELS, SCALED, SCALED_IN_FUNCTION]
    run_notebook(tmp_path / "defects.ipynb", cells, env, timeout=180)
    with Store(url) as store:
        assert sources(store, tmp_path, "train.csv") == {"posts.csv"}  # io.open: read and written
        assert sources(store, tmp_path, "copy.csv") == {"posts.csv"}  # Path.open
        assert sources(store, tmp_path, "io_model.joblib") == {"train.csv", "posts.csv"}
        trained_before = {"start.pkl", "train.csv", "posts.csv"}  # the model loaded, trained further on the table
        assert sources(store, tmp_path, "updated.pkl") == {"table:feedback", *trained_before}
        assert sources(store, tmp_path, "nb.joblib") == {"docs.csv"}  # not params.json
        assert sources(store, tmp_path, "other.pkl") == {"other_docs.csv", "docs.csv"}  # the matrix's data too
        assert sources(store, tmp_path, "cfg_ridge.joblib") == {"measures.csv"}  # not config.json
        assert sources(store, tmp_path, "cfg_logit.joblib") == {"measures.csv"}
        scaled = {"pixels.csv", "labels.csv"}  # the features' file too, not only the labels'
        for model in ("scaled", "values", "log1p", "sliced", "standard", "first"):
            assert sources(store, tmp_path, f"{model}.joblib") == scaled, model
        for model in ("npy", "named", "refit", "second"):  # not the arrays of an earlier fit or call
            assert sources(store, tmp_path, f"{model}.joblib") == {"pixels.npy", "labels.npy"}, model
        assert sources(store, tmp_path, "extended.csv") == {"pixels.csv", "pixels.npy"}  # a column set from an array
