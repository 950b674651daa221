"""Writes of objects some of which no hook tracked, found by running public notebooks. Real kernels, data
synthesized.

- ``np.savez(path, X=X, y=y)`` where ``X`` is tracked exactly (``np.loadtxt``) and ``y`` was made from another file
  by numpy arithmetic (``y = y - 1``, ``y.astype(...)`` in the call), positionally too, in a cell or a function of
  the user's own: the output derives from both files, as ``fit(X, y - 1)`` does (it had ``X``'s only);
- a prediction taken as a scalar (``pred = model.predict(X)[0]``) set as a frame's column and written: the file
  derives from the model too, whether the scalar is a Python ``str`` (text classes of a frame's column), a numpy
  ``np.str_`` or ``np.float64`` (it had the frame's file only; an ``np.int64`` always worked); a column set from a
  setting of the cell brings nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from notebooks import model_source_names, run_notebook

SAVEZ = [
    """
import pickle
import numpy as np
X = np.loadtxt('X.txt')
y = np.loadtxt('y.txt', dtype=int)
labels = np.loadtxt('y.txt', dtype=int)
y = y - 1
np.savez('minus.npz', X=X, y=y)
""",
    "np.savez('astype.npz', X=X, y=labels.astype(np.int64))",
    "z = labels + 0\nnp.savez('positional.npz', X, z)",
    "pickle.dump((X, labels - 1), open('tuple.pkl', 'wb'))",
    """
def save():
    X = np.loadtxt('X.txt')
    y = np.loadtxt('y.txt', dtype=int)
    y = y - 1
    np.savez('function.npz', X=X, y=y)

save()
""",
]


def test_a_write_of_several_arrays_derives_from_the_untracked_ones_too(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "X.txt", rng.random((10, 3)))
    np.savetxt(tmp_path / "y.txt", np.arange(1, 11), fmt="%d")
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "savez.ipynb", SAVEZ, env)
    outputs = ("minus.npz", "astype.npz", "positional.npz", "tuple.pkl", "function.npz")
    found = {output: model_source_names(url, tmp_path / output) for output in outputs}
    assert found == {output: {"X.txt", "y.txt"} for output in outputs}


TRAIN = """
import pickle
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
tr = pd.read_csv("train.csv")
pickle.dump(LogisticRegression().fit(tr[["a", "b"]], tr["y"].astype(str)), open("text.pkl", "wb"))
pickle.dump(LogisticRegression().fit(tr[["a", "b"]].values, tr["y"].values.astype(str)), open("numpy.pkl", "wb"))
pickle.dump(LinearRegression().fit(tr[["a", "b"]], tr["a"] * 2), open("float.pkl", "wb"))
"""
PREDICT = """
m = pickle.load(open("{kind}.pkl", "rb"))
dat = pd.read_csv("test.csv").head(1)
pred = m.predict(dat[["a", "b"]]{values})[0]
dat["pred"] = pred
dat.to_csv("{kind}.csv", index=False)
"""
SETTING = """
split = "test"
other = pd.read_csv("test.csv")
other["split"] = split
other.to_csv("setting.csv", index=False)
"""


def test_a_predicted_scalar_set_as_a_column_brings_the_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "y": rng.integers(0, 2, 40)})
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.drop(columns="y").to_csv(tmp_path / "test.csv", index=False)
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    kinds = {"text": "", "numpy": ".values", "float": ""}
    cells = [TRAIN, *(PREDICT.format(kind=kind, values=values) for kind, values in kinds.items()), SETTING]
    run_notebook(tmp_path / "predict.ipynb", cells, env)
    found = {kind: model_source_names(url, tmp_path / f"{kind}.csv") for kind in kinds}
    assert found == {kind: {f"{kind}.pkl", "train.csv", "test.csv"} for kind in kinds}
    assert model_source_names(url, tmp_path / "setting.csv") == {"test.csv"}  # a setting brings no model
