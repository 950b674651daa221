"""Submission files of Kaggle kernels, in a real kernel: predictions of saved models put through numpy
(``np.expm1(model.predict(test))``), blended (``m1.predict(X) * 0.5 + m2.predict(X) * 0.5``), summed over folds
(``y_test_pred += model.predict(X) / K``, each fold's model saved in the loop), thresholded or rounded into a list
in a loop or a comprehension, in the cell that writes the
submission or over several cells (Serigne's "Stacked Regressions"): each submission derives from every model file
whose predictions went into it, and from the data, as one written straight from ``model.predict`` does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from notebooks import model_source_names as sources_of
from notebooks import run_notebook

SETUP = """
import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import Lasso, Ridge

train, test = pd.read_csv("train.csv"), pd.read_csv("test.csv")
test_id, y_train = test["Id"], train["y"].values
train, test = train[["x1", "x2"]], test[["x1", "x2"]]
"""
SAVE = """
m1 = Ridge().fit(train, y_train)
joblib.dump(m1, "m1.joblib")
m2 = Lasso(alpha=0.01).fit(train, y_train)
joblib.dump(m2, "m2.joblib")
"""
STRAIGHT = """
pd.DataFrame({"Id": test_id, "y": m1.predict(test)}).to_csv("straight.csv", index=False)
"""
THROUGH_NUMPY = """
predicted = np.expm1(m1.predict(test))
pd.DataFrame({"Id": test_id, "y": predicted}).to_csv("expm1.csv", index=False)
"""
BLENDED = """
blend = m1.predict(test) * 0.5 + m2.predict(test) * 0.5
pd.DataFrame({"Id": test_id, "y": blend}).to_csv("blend.csv", index=False)
"""
SUMMED = """
y_test_pred = 0
for model in (m1, m2):
    y_test_pred += model.predict(test) / 2
pd.DataFrame({"Id": test_id, "y": y_test_pred}).to_csv("folds.csv", index=False)
"""
KFOLD = """
from sklearn.model_selection import KFold

fold_pred = 0  # as Porto Seguro's CV kernel starts its test predictions
for i, (tr, va) in enumerate(KFold(3).split(train)):
    fold = Ridge().fit(train.iloc[tr], y_train[tr])
    joblib.dump(fold, f"fold{i}.joblib")
    fold_pred += fold.predict(test) / 3
pd.DataFrame({"Id": test_id, "y": fold_pred}).to_csv("kfold.csv", index=False)
"""
ZEROS = """
zeros_pred = np.zeros(len(test))  # the sum started as an array: an earlier look at the cell tagged it
for k in range(2):
    rows = np.arange(len(train)) % 2 != k
    fold = Ridge().fit(train[rows], y_train[rows])
    joblib.dump(fold, f"zfold{k}.joblib")
    zeros_pred += fold.predict(test) / 2
pd.DataFrame({"Id": test_id, "y": zeros_pred}).to_csv("zeros.csv", index=False)
"""
ROUNDED = """
labels = []
for value in m1.predict(test):
    if value >= 0:
        labels.append(1)
    else:
        labels.append(0)
pd.DataFrame({"Id": test_id, "y": labels}).to_csv("loop.csv", index=False)
rounded = [round(value) for value in m2.predict(test)]
pd.DataFrame({"Id": test_id, "y": rounded}).to_csv("comprehension.csv", index=False)
"""
OVER_CELLS = [
    "m1_pred = np.expm1(m1.predict(test))",
    "m2_pred = np.expm1(m2.predict(test))",
    "ensemble = m1_pred * 0.7 + m2_pred * 0.3",
    'sub = pd.DataFrame()\nsub["Id"] = test_id\nsub["y"] = ensemble\nsub.to_csv("ensemble.csv", index=False)',
]


def test_submissions_derive_from_every_model_file_predicting_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    for name, rows, start in (("train", 40, 0), ("test", 15, 40)):
        frame = pd.DataFrame(
            {"Id": range(start, start + rows), "x1": rng.normal(size=rows), "x2": rng.normal(size=rows)}
        )
        if name == "train":
            frame["y"] = frame.x1 * 2 + rng.normal(size=rows) * 0.1
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = [SETUP, SAVE, STRAIGHT, THROUGH_NUMPY, BLENDED, SUMMED, KFOLD, ZEROS, ROUNDED, *OVER_CELLS]
    run_notebook(tmp_path / "submission.ipynb", cells, env, timeout=180)
    data = {"train.csv", "test.csv"}
    assert sources_of(store_url, tmp_path / "straight.csv") == data | {"m1.joblib"}
    assert sources_of(store_url, tmp_path / "expm1.csv") == data | {"m1.joblib"}
    for both in ("blend.csv", "folds.csv", "ensemble.csv"):
        assert sources_of(store_url, tmp_path / both) == data | {"m1.joblib", "m2.joblib"}, both
    assert sources_of(store_url, tmp_path / "kfold.csv") == data | {f"fold{i}.joblib" for i in range(3)}
    assert sources_of(store_url, tmp_path / "zeros.csv") == data | {f"zfold{k}.joblib" for k in range(2)}
    # predictions thresholded in a loop (each append a constant) or rounded in a comprehension, in the cell that
    # writes them (the swarmcom Titanic kernel's XGBoost submission)
    assert sources_of(store_url, tmp_path / "loop.csv") == data | {"m1.joblib"}
    assert sources_of(store_url, tmp_path / "comprehension.csv") == data | {"m2.joblib"}
