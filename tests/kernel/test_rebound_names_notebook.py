"""A name bound anew from its own old value in a later cell (``X = X / 255.0``, ``X = np.array(X)`` of a list filled
by a read loop): the new object comes from what the name held when the cell began, which no hook saw go into it.
Found in a public cats-vs-dogs SVM notebook (images read in a loop into a list, ``X = np.array(X)`` in the next
cell, ``X = X / 255.0`` in the one after): both its models linked to no dataset. Real kernels, data synthesized.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from notebooks import model_source_names, run_notebook

CELLS = [
    """
import csv
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

X = np.load('x.npy')
rows = []
with open('d.csv') as f:
    reader = csv.reader(f)
    next(reader)
    for row in reader:
        rows.append([float(value) for value in row])
""",
    "X = X / 255.0\nrows = np.array(rows)\nS = np.load('s.npy')",
    "S = (S - S.mean(axis=0)) / S.std(axis=0)\nS = np.hstack([S, S ** 2])",
    """
y = np.arange(40) % 2
joblib.dump(LogisticRegression().fit(X, y), 'from_x.joblib')
joblib.dump(LogisticRegression().fit(rows, y), 'from_rows.joblib')
joblib.dump(LogisticRegression().fit(S, y), 'from_s.joblib')
""",
    """
Z = X * 2
X = np.load('other.npy')
joblib.dump(LogisticRegression().fit(Z, y), 'from_z.joblib')
joblib.dump(LogisticRegression().fit(X, y), 'from_other.joblib')
""",
]


def test_a_name_bound_anew_from_its_old_value_keeps_where_that_came_from(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("x", "s", "other"):
        np.save(tmp_path / f"{name}.npy", rng.random((40, 2)) * 255)
    with open(tmp_path / "d.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b"])
        writer.writerows(rng.random((40, 2)).round(4).tolist())
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "rebound.ipynb", CELLS, env)
    found = {model: model_source_names(url, tmp_path / f"{model}.joblib") for model in EXPECTED}
    assert found == EXPECTED


EXPECTED = {
    "from_x": {"x.npy"},
    "from_rows": {"d.csv"},
    "from_s": {"s.npy"},
    "from_z": {"x.npy"},  # Z was made from the X the cell began with, before X named other.npy's array
    "from_other": {"other.npy"},
}


def test_a_write_of_one_item_of_a_list_reads_that_item_only(tmp_path: Path) -> None:
    """``np.save(path, np.array(arrs[0]) / 255.0)``: what no hook tracked is written, and the statement reads the
    list's first item, not the test arrays the list holds too."""
    rng = np.random.default_rng(1)
    for name in ("x_train", "x_test"):
        np.save(tmp_path / f"{name}.npy", rng.random((20, 3)) * 255)
    cells = [
        "import numpy as np\narrs = []\nfor f in ['x_train.npy', 'x_test.npy']:\n    arrs.append(np.load(f))",
        "np.save('scaled.npy', np.array(arrs[0]) / 255.0)",
    ]
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "scale.ipynb", cells, env)
    assert model_source_names(url, tmp_path / "scaled.npy") == {"x_train.npy"}
