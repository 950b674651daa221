"""Writes of objects some of which no hook tracked, found by running public notebooks. Real kernels, data
synthesized.

- ``np.savez(path, X=X, y=y)`` where ``X`` is tracked exactly (``np.loadtxt``) and ``y`` was made from another file
  by numpy arithmetic (``y = y - 1``, ``y.astype(...)`` in the call), positionally too, in a cell or a function of
  the user's own: the output derives from both files, as ``fit(X, y - 1)`` does (it had ``X``'s only);
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
