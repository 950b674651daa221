"""Issue 11's known misses, each in the shape public notebooks have it, in one real kernel: a user method returning
two things read from two files (each name gets only its own), a fancy-index copy made inside a loop body, and
``csv.DictReader`` over a file opened in a helper module imported in the same cell. Every model links to exactly
its sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

SPLIT = """
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

class Loader:
    def __init__(self, folder):
        self.folder = folder

    def split(self):
        train = np.load(f"{self.folder}/train.npy")
        test = np.load(f"{self.folder}/test.npy")
        return train.astype(np.float64), test.astype(np.float64)

loader = Loader(".")
train, test = loader.split()
X, y = train[:, :-1], train[:, -1]
clf = LogisticRegression(max_iter=500).fit(X, y)
joblib.dump(clf, "overfit.joblib")
print(clf.predict(test[:, :-1])[:3])
other = Loader("other")
other_train, other_test = other.split()
clf2 = LogisticRegression(max_iter=500).fit(other_train[:, :-1], other_train[:, -1])
joblib.dump(clf2, "other.joblib")
"""
LOOP = """
from sklearn.linear_model import Ridge
data = np.load("feat.npy")
labels = np.load("lab.npy")
for k, idx in enumerate([[0, 1], [1, 2]]):
    X_sel = data[:, idx]
    m = Ridge().fit(X_sel, labels)
    joblib.dump(m, f"sel{k}.joblib")
"""
HELPER = '''
import csv

def read_rows(path):
    """Rows of a CSV file as dicts."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
'''
DICTREADER = """
import helper_io
from sklearn.tree import DecisionTreeClassifier
rows = helper_io.read_rows("iris.csv")
features = [[float(r["sepal_length"]), float(r["petal_length"])] for r in rows]
species = [r["species"] for r in rows]
tree = DecisionTreeClassifier(max_depth=2).fit(features, species)
joblib.dump(tree, "iris_tree.joblib")
"""

# The shape of the popular Titanic stacking notebook: train.csv and test.csv engineered in one loop, out-of-fold
# predictions from a user function returning (oof_train, oof_test), a second level fit on the train half only.
STACK = """
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import KFold
train = pd.read_csv("titanic_train.csv")
test = pd.read_csv("titanic_test.csv")
full_data = [train, test]
for dataset in full_data:
    dataset["FamilySize"] = dataset["SibSp"] + dataset["Parch"] + 1
y_train = train["Survived"].values.ravel()
x_train = train.drop(["Survived"], axis=1).values
x_test = test.values
kf = KFold(n_splits=3)

class SklearnHelper:
    def __init__(self, clf, seed=0):
        self.clf = clf(random_state=seed, n_estimators=5)

    def train(self, x, y):
        self.clf.fit(x, y)

    def predict(self, x):
        return self.clf.predict(x)

def get_oof(clf, x_train, y_train, x_test):
    oof_train = np.zeros((x_train.shape[0],))
    oof_test_skf = np.empty((3, x_test.shape[0]))
    for i, (train_index, test_index) in enumerate(kf.split(x_train)):
        clf.train(x_train[train_index], y_train[train_index])
        oof_train[test_index] = clf.predict(x_train[test_index])
        oof_test_skf[i, :] = clf.predict(x_test)
    oof_test = oof_test_skf.mean(axis=0)
    return oof_train.reshape(-1, 1), oof_test.reshape(-1, 1)

rf = SklearnHelper(clf=RandomForestClassifier)
rf_oof_train, rf_oof_test = get_oof(rf, x_train, y_train, x_test)
gbm = GradientBoostingClassifier(n_estimators=5).fit(rf_oof_train, y_train)
joblib.dump(gbm, "stacker.joblib")
predictions = gbm.predict(rf_oof_test)
"""


def sources_of(store_url: str, model: Path) -> set[str]:
    with Store(store_url) as store:
        nodes = upstream(store, DatasetRef("file", str(model)))
    found = {Path(node.name) for node in nodes if node.type in ("dataset", "model")}
    return {str(path.relative_to(model.parent)) for path in found}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_each_model_links_to_exactly_its_sources(workdir: Path) -> None:
    rng = np.random.default_rng(11)
    (workdir / "other").mkdir()
    for name in ("train", "test", "other/train", "other/test"):
        block = rng.normal(size=(60, 5))
        block[:, -1] = block[:, 0] > 0
        np.save(workdir / f"{name}.npy", block)
    np.save(workdir / "feat.npy", rng.normal(size=(50, 3)))
    np.save(workdir / "lab.npy", rng.normal(size=50))
    (workdir / "helper_io.py").write_text(HELPER)
    lines = ["sepal_length,petal_length,species"]
    lines += [f"{5 + i % 3 * 0.5},{1 + i % 3 * 2.0},{('setosa', 'versicolor', 'virginica')[i % 3]}" for i in range(30)]
    (workdir / "iris.csv").write_text("\n".join(lines) + "\n")
    passengers = [f"{i % 3},{i % 2},{i % 4}" for i in range(40)]
    (workdir / "titanic_train.csv").write_text("SibSp,Parch,Survived\n" + "\n".join(passengers) + "\n")
    (workdir / "titanic_test.csv").write_text("SibSp,Parch\n" + "\n".join(p[:3] for p in passengers[:20]) + "\n")
    store_url = f"sqlite:///{workdir / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "misses.ipynb", [SPLIT, LOOP, DICTREADER, STACK], env, timeout=180)
    found = {
        model: sources_of(store_url, workdir / model)
        for model in (
            "overfit.joblib",
            "other.joblib",
            "sel0.joblib",
            "sel1.joblib",
            "iris_tree.joblib",
            "stacker.joblib",
        )
    }
    assert found == {
        "overfit.joblib": {"train.npy"},
        "other.joblib": {"other/train.npy"},
        "sel0.joblib": {"feat.npy", "lab.npy"},
        "sel1.joblib": {"feat.npy", "lab.npy"},
        "iris_tree.joblib": {"iris.csv"},
        "stacker.joblib": {"titanic_train.csv"},
    }
