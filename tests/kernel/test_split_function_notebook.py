"""A user function that returns ``train_test_split(...)`` as it comes, in the shape tutorials write it
(``def split_data(X, y): return train_test_split(X, y, test_size=0.2, random_state=42)``, then
``X_train, X_test, y_train, y_test = split_data(X, y)``), in a real kernel: each part keeps what it was cut from, so
a scaler fit on ``X_train`` derives from the features only and the model from features and labels, never from
the rows scored later. Features and labels come from two files read with ``csv`` (cell precision, which the
fallback used to replace by everything the statement read), and a frame read with pandas goes through the same
kind of function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from notebooks import model_source_names as sources_of
from notebooks import run_notebook

LOAD = """
import csv
import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

with open("features.csv", newline="") as f:
    X = np.array([[float(v) for v in row] for row in list(csv.reader(f))[1:]])
with open("labels.csv", newline="") as f:
    y = np.array([int(row[0]) for row in list(csv.reader(f))[1:]])
with open("new_patients.csv", newline="") as f:
    new_patients = np.array([[float(v) for v in row] for row in list(csv.reader(f))[1:]])
"""
SPLIT = """
def split_data(X, y):
    return train_test_split(X, y, test_size=0.2, random_state=42)

X_train, X_test, y_train, y_test = split_data(X, y)
"""
SCALE = """
scaler = StandardScaler().fit(X_train)
joblib.dump(scaler, "scaler.joblib")
"""
TRAIN = """
model = LogisticRegression(max_iter=500).fit(scaler.transform(X_train), y_train)
print("test accuracy:", model.score(scaler.transform(X_test), y_test))
print(model.predict(scaler.transform(new_patients))[:5])
joblib.dump(model, "model.joblib")
"""
FRAME = """
from sklearn.ensemble import RandomForestClassifier

df = pd.read_csv("heart.csv")
holdout = pd.read_csv("holdout.csv")

def split(df):
    X = df.drop(columns=["cardio"])
    y = df["cardio"]
    return train_test_split(X, y, test_size=.2)

X_tr, X_te, y_tr, y_te = split(df)
forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X_tr, y_tr)
print(forest.score(X_te, y_te), forest.predict(holdout.drop(columns=["cardio"]))[:3])
joblib.dump(forest, "forest.joblib")
"""
SCALE_LATER = """
te_scaler = StandardScaler().fit(X_te)
joblib.dump(te_scaler, "te_scaler.joblib")
"""


def _write(path: Path, header: str, rows: np.ndarray) -> None:
    lines = [header, *(",".join(f"{value:.3f}" for value in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.timeout(300)
def test_split_parts_keep_their_own_sources_through_a_user_function(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    age, chol = rng.integers(30, 80, 240), rng.integers(140, 320, 240)
    features = np.column_stack([age, chol, rng.normal(120, 15, 240)])
    cardio = ((age > 55) | (chol > 260)).astype(int)
    _write(tmp_path / "features.csv", "age,chol,ap_hi", features)
    (tmp_path / "labels.csv").write_text("cardio\n" + "\n".join(map(str, cardio)) + "\n")
    _write(tmp_path / "new_patients.csv", "age,chol,ap_hi", features[:30] + 1)
    _write(tmp_path / "heart.csv", "age,chol,ap_hi,cardio", np.column_stack([features, cardio]))
    _write(tmp_path / "holdout.csv", "age,chol,ap_hi,cardio", np.column_stack([features[:40], cardio[:40]]))
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "split.ipynb", [LOAD, SPLIT, SCALE, TRAIN, FRAME, SCALE_LATER], env, timeout=180)
    assert sources_of(store_url, tmp_path / "scaler.joblib") == {"features.csv"}
    assert sources_of(store_url, tmp_path / "model.joblib") == {"features.csv", "labels.csv"}
    assert sources_of(store_url, tmp_path / "forest.joblib") == {"heart.csv"}
    assert sources_of(store_url, tmp_path / "te_scaler.joblib") == {"heart.csv"}
