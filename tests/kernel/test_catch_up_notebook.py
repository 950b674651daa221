"""Data turned by an unhooked call and fitted in the same cell: before the hooked fit uses an object with no
provenance, the cell's statements so far are followed (``Capture.catch_up``), so the answer does not depend on
where the cell boundaries fall.

The cell follows shubham1710/simple-multivariate-logistic-regression (``np.genfromtxt`` of features and labels,
``np.delete`` of the header row, fit and pickle in one script); the data is synthesized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

SCRIPT = """
import pickle
import numpy as np
from sklearn.linear_model import LogisticRegression
a = np.genfromtxt('train_X.csv', delimiter=',')
b = np.genfromtxt('train_Y.csv', delimiter=',')
a = np.delete(a, 0, 0)
logreg = LogisticRegression()
logreg.fit(a, b)
with open("logreg.pkl", "wb") as f:
    pickle.dump(logreg, f)
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(7)
    features = rng.normal(size=(40, 3))
    np.savetxt(tmp_path / "train_X.csv", features, delimiter=",", header="a,b,c", comments="")
    np.savetxt(tmp_path / "train_Y.csv", (features[:, 0] > 0).astype(int), delimiter=",")
    return tmp_path


def test_a_model_fitted_on_data_an_unhooked_call_made_in_the_same_cell(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "logreg.ipynb", [SCRIPT], env, timeout=180)
    with Store(url) as store:
        nodes = upstream(store, DatasetRef("file", str(workdir / "logreg.pkl")))
        files = {Path(node.name).name for node in nodes if node.type in ("dataset", "model")}
    assert files == {"train_X.csv", "train_Y.csv"}
