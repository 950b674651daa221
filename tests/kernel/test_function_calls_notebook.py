"""Loaders of the user's own called from another function of the user's own, in a real kernel: a script's
``main()`` reading its train and test files through ``load(path)`` (lists built from ``open``), a ``fit_one(name)``
called in a loop, and classes whose ``__init__`` loads both splits into attributes that another method fits on
(in the same statement, or in a later cell); three splits loaded on one line (``train, valid, test = load("a"),
load("b"), load("c")``), then changed in loops over the three (``for ds in (tr, va, te): ds["a2"] = ...``, ``for
dataset in combine:``); a model fit in a function's fold loop on rows bound to locals (``x_tr = x[tr]``); out-of-fold
predictions filled by a helper training with ``lgb.train(params, ...)``, the parameters from a config file.
Each call's reads go to what that call binds (not to the other split's, nor to an earlier call's), so every model
derives from its training file only, never from the file it is scored on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from notebooks import model_source_names as sources_of
from notebooks import run_notebook

LOADERS = """
import csv
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def load(path):
    X, y = [], []
    with open(path) as f:
        next(f)
        for line in f:
            *features, label = line.strip().split(",")
            X.append([float(v) for v in features])
            y.append(int(label))
    return X, y


def load_arrays(path):
    rows = list(csv.reader(open(path)))[1:]
    return np.array([[float(v) for v in r[:-1]] for r in rows]), np.array([int(r[-1]) for r in rows])
"""
MAIN = """
def main():
    X_tr, y_tr = load("train.csv")
    X_te, y_te = load("test.csv")
    clf = LogisticRegression().fit(X_tr, y_tr)
    print(clf.score(X_te, y_te))
    joblib.dump(clf, "main.joblib")


main()
"""
LOOP = """
def fit_one(name):
    X, y = load_arrays(name + ".csv")
    joblib.dump(LogisticRegression().fit(X, y), name + ".joblib")


for name in ["first", "second"]:
    fit_one(name)
"""
CLASS = """
class Worker:
    def __init__(self):
        X, self.y = load_arrays("train.csv")
        Xt, self.yt = load_arrays("test.csv")
        scaler = StandardScaler().fit(X)
        self.X, self.Xt = scaler.transform(X), scaler.transform(Xt)

    def run(self):
        clf = LogisticRegression().fit(self.X[::-1], self.y[::-1])
        print(clf.score(self.Xt, self.yt))
        joblib.dump(clf, "worker.joblib")


Worker().run()
"""
RUNNER = """
class Runner:
    def __init__(self):
        self.X, self.y = load_arrays("first.csv")
        self.Xt, self.yt = load_arrays("test.csv")

    def run(self):
        clf = LogisticRegression().fit(self.X, self.y)
        print(clf.score(self.Xt, self.yt))
        joblib.dump(clf, "runner.joblib")


runner = Runner()
"""
RUN = """
runner.run()
"""

SPLITS = """
import pandas as pd

def load_frame(path):
    with open(path) as f:
        return pd.DataFrame(list(csv.DictReader(f))).astype(float)

train, valid, test = load("train.csv"), load("first.csv"), load("test.csv")
joblib.dump(LogisticRegression().fit(*train), "split_train.joblib")
tr, va, te = load_frame("train.csv"), load_frame("first.csv"), load_frame("test.csv")
"""
LOOPS = """
for ds in (tr, va, te):
    ds["a2"] = ds["a"] * 2
for ds in [tr, va, te]:
    ds.dropna(inplace=True)
joblib.dump(LogisticRegression().fit(te[["a", "a2"]], te["label"]), "split_frame.joblib")
joblib.dump(LogisticRegression().fit(*test), "split_test.joblib")
combine = [tr, va, te]
for dataset in combine:
    dataset["a3"] = dataset["a"] * 3
"""
COMBINED = """
joblib.dump(LogisticRegression().fit(te[["a", "a3"]], te["label"]), "combined.joblib")
"""

# the out-of-fold helper of the Titanic stacking kernels (get_oof): each fold's rows bound to locals, then fit
FOLDS = """
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.model_selection import KFold

train_df, test_df = pd.read_csv("train.csv"), pd.read_csv("test.csv")
x_train, y_train = train_df.drop(columns=["label"]).values, train_df["label"].to_numpy()
x_test = test_df.drop(columns=["label"]).values


def get_oof(clf, x, y, x_te):
    for tr, te in KFold(3).split(x):
        x_tr = x[tr]
        y_tr = y[tr]
        clf.fit(x_tr, y_tr)
    return clf.predict(x_te)


extra = ExtraTreesClassifier(n_estimators=5, random_state=0)
get_oof(extra, x_train, y_train, x_test)
joblib.dump(extra, "oof.joblib")


class SklearnHelper:  # the kernels' wrapper: get_oof calls its train(x_tr, y_tr), which fits
    def __init__(self, clf):
        self.clf = clf

    def train(self, x, y):
        self.clf.fit(x, y)


def get_oof_wrapped(helper, x, y):
    for tr, te in KFold(3).split(x):
        x_tr = x[tr]
        y_tr = y[tr]
        helper.train(x_tr, y_tr)


wrapped = SklearnHelper(ExtraTreesClassifier(n_estimators=5, random_state=0))
get_oof_wrapped(wrapped, x_train, y_train)
joblib.dump(wrapped.clf, "oof_wrapped.joblib")
"""


@pytest.mark.timeout(300)
def test_each_call_of_a_loader_gives_its_own_file_to_what_it_binds(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for name in ("train", "test", "first", "second"):
        X = rng.normal(size=(30, 3)).round(3)
        lines = [",".join(map(str, row)) + f",{int(row[0] > 0)}" for row in X]
        (tmp_path / f"{name}.csv").write_text("a,b,c,label\n" + "\n".join(lines) + "\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(
        tmp_path / "calls.ipynb",
        [LOADERS, MAIN, LOOP, CLASS, RUNNER, RUN, SPLITS, LOOPS, COMBINED, FOLDS],
        env,
        timeout=180,
    )
    assert sources_of(store_url, tmp_path / "main.joblib") == {"train.csv"}
    assert sources_of(store_url, tmp_path / "first.joblib") == {"first.csv"}
    assert sources_of(store_url, tmp_path / "second.joblib") == {"second.csv"}
    assert sources_of(store_url, tmp_path / "worker.joblib") == {"train.csv"}
    assert sources_of(store_url, tmp_path / "runner.joblib") == {"first.csv"}
    assert sources_of(store_url, tmp_path / "split_train.joblib") == {"train.csv"}  # not valid's and test's
    assert sources_of(store_url, tmp_path / "split_frame.joblib") == {"test.csv"}  # nor the other frames' of a loop
    assert sources_of(store_url, tmp_path / "split_test.joblib") == {"test.csv"}
    assert sources_of(store_url, tmp_path / "combined.joblib") == {"test.csv"}  # a loop over a list of the three
    assert sources_of(store_url, tmp_path / "oof.joblib") == {"train.csv"}  # fit on locals in a function's loop
    assert sources_of(store_url, tmp_path / "oof_wrapped.joblib") == {"train.csv"}  # and through a wrapper's method


GLOBAL_SET = """
import pickle
import pandas as pd

def preprocess(df):
    global cat_mapping
    cat_mapping = {c: pd.CategoricalDtype(sorted(set(df[c]))) for c in ["agent"]}
    return df.astype(cat_mapping)

train = preprocess(pd.read_csv("train.csv"))
other = pd.read_csv("other.csv")
"""
PICKLE_GLOBAL = """
with open("cat_mapping.pickle", "wb") as f:
    pickle.dump(cat_mapping, f)
"""


def test_a_global_a_function_assigns_gets_the_calls_reads_when_its_result_is_bound(tmp_path: Path) -> None:
    """AmbrosM's MCTS kernel: ``preprocess`` sets ``global cat_mapping`` from the frame it is given, and its result
    is bound (``train = preprocess(...)``); the mapping pickled later derives from the file read (it had no
    sources), and not from another file the cell read."""
    (tmp_path / "train.csv").write_text("agent,score\n" + "\n".join(f"p{i % 5},{i}" for i in range(20)) + "\n")
    (tmp_path / "other.csv").write_text("x\n1\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "mcts.ipynb", [GLOBAL_SET, PICKLE_GLOBAL], env, timeout=180)
    assert sources_of(store_url, tmp_path / "cat_mapping.pickle") == {"train.csv"}


LGBM_HELPER = """
import lightgbm as lgb


def train_and_predict(X_train, X_valid, y_train, y_valid, X_test, lgbm_params, oof):
    lgb_train = lgb.Dataset(X_train, y_train)
    lgb_eval = lgb.Dataset(X_valid, y_valid, reference=lgb_train)
    model = lgb.train(lgbm_params, lgb_train, num_boost_round=5, valid_sets=[lgb_train, lgb_eval])
    oof[X_valid.index] = model.predict(X_valid)
    return model.predict(X_test), model, oof
"""
OOF = """
import json
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from lgbm_helper import train_and_predict

config = json.load(open("config.json"))
train, X_test = pd.read_csv("train.csv"), pd.read_csv("test.csv")
X_all, y_all = train[["a", "b"]], train["label"]
oof, y_preds, models = np.zeros(len(X_all)), [], []
for trn_idx, val_idx in KFold(3, shuffle=True, random_state=0).split(X_all):
    y_pred, model, oof = train_and_predict(X_all.iloc[trn_idx], X_all.iloc[val_idx], y_all[trn_idx],
                                           y_all[val_idx], X_test, config["lgbm_params"], oof)
    y_preds.append(y_pred)
    models.append(model)
models[0].save_model("model0.txt")
pd.DataFrame(oof, columns=["p"]).to_feather("oof.feather")
"""


@pytest.mark.timeout(300)
def test_predictions_of_a_booster_trained_in_a_function_do_not_derive_from_its_params_file(tmp_path: Path) -> None:
    """Out-of-fold predictions filled in a function of the user's own that trains with ``lgb.train(params, ...)``,
    the parameters read from a JSON config (a Kaggle competition's ``lgbm_helper.py``), derive from the training data
    only, as the Booster does: parameters are no data."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 2)).round(3)
    lines = [f"{a},{b},{int(a > 0)}" for a, b in X]
    (tmp_path / "train.csv").write_text("a,b,label\n" + "\n".join(lines) + "\n")
    (tmp_path / "test.csv").write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in X[:10]) + "\n")
    (tmp_path / "config.json").write_text('{"lgbm_params": {"objective": "binary", "verbose": -1, "num_leaves": 4}}')
    (tmp_path / "lgbm_helper.py").write_text(LGBM_HELPER)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "oof.ipynb", [f"import os; os.chdir({str(tmp_path)!r})", OOF], env, timeout=180)
    assert sources_of(store_url, tmp_path / "model0.txt") == {"train.csv"}
    assert sources_of(store_url, tmp_path / "oof.feather") == {"train.csv"}
