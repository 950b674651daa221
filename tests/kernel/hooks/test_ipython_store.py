"""IPython's ``%store``: a variable stored by one notebook and restored (``%store -r``) by another derives from the
data the first one read; other keys of IPython's database (directory history) are no reads."""

from __future__ import annotations

from pathlib import Path

import xxhash
from IPython.external.pickleshare import PickleShareDB
from notebooks import model_source_names, run_notebook

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.ipython_store import PickleshareInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PickleshareInstrumentor,)


def test_only_stored_variables_are_reads(capture: Capture, tmp_path: Path) -> None:
    db = PickleShareDB(tmp_path / "db")
    db["autorestore/rows"] = [[1, 2], [3, 4]]
    db["dhist"] = [str(tmp_path)]
    capture.take_record()
    rows = PickleShareDB(tmp_path / "db")["autorestore/rows"]  # a fresh database: no cache
    history = db.get("dhist", [])
    path = tmp_path / "db" / "autorestore" / "rows"
    stored = Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())
    assert list(capture.record.inputs) == [stored]
    assert capture.of(rows).sources == {stored}
    assert not capture.of(history)


PREPARE = """
import pandas as pd
df = pd.read_csv("data.csv")
X, y = df[["a", "b"]], df["y"]
"""
TRAIN = """
import joblib
from sklearn.linear_model import LogisticRegression
joblib.dump(LogisticRegression().fit(X, y), "model.joblib")
"""


def test_a_model_fit_on_restored_variables_derives_from_the_stored_data(tmp_path: Path) -> None:
    """The German bank-loan course notebooks: split and ``%store X_train ...`` in one notebook, ``%store -r`` and
    a grid search in the next (the model had no sources)."""
    (tmp_path / "data.csv").write_text("a,b,y\n" + "\n".join(f"{i},{i * 2 % 7},{i % 2}" for i in range(40)) + "\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {
        "NBLINEAGE_URL": store_url,
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "NBLINEAGE_STRICT": "1",
    }
    run_notebook(tmp_path / "prepare.ipynb", [PREPARE, "%store X y"], env, timeout=180)
    run_notebook(tmp_path / "train.ipynb", ["%store -r X y", TRAIN], env, timeout=180)
    assert model_source_names(store_url, tmp_path / "model.joblib") == {"data.csv", "X", "y"}
