"""Datasets loaded in turns by a function of the user's own, in one real kernel: each model derives from its own
turn's file, never from the files of the turns before or after.

- ``for name in ["train", "test"]: X, y = load(f"{name}.csv"); ...; dump(fit(X, y))``: the loop's second turn is
  followed with what that turn read (before: both files, the first turn's too), also when a later turn reads a file
  an earlier one read (an outer loop);
- ``a, b = [load(p) for p in paths]``: each name what its turn of the comprehension read (before: every file);
- a tuple of arrays a function returned (``tr = load("train.csv")``) gives its arrays what it got, and a loop over
  items written out gives its names each item's: ``for name, (X, y) in [("train", tr), ("test", te)]``,
  ``for X, y in (tr, te)``, ``for name, data in {"train": tr, "test": te}.items()`` (before: every model both).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

LOAD = """
import csv
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

def load(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r["a"]), float(r["b"])] for r in rows]), np.array([int(r["y"]) for r in rows])
"""
LOOP = """
for turn in range(2):
    for name in ["train", "test"]:
        X, y = load(f"{name}.csv")
        X = X * 2.0
        joblib.dump(LogisticRegression().fit(X, y), f"loop_{turn}_{name}.joblib")
"""
COMPREHENSION = """
first, second, third = [load(p) for p in ["train.csv", "test.csv", "extra.csv"]]
joblib.dump(LogisticRegression().fit(*first), "listed_train.joblib")
joblib.dump(LogisticRegression().fit(*third), "listed_extra.joblib")
"""
TUPLES = """
tr = load("train.csv")
te = load("test.csv")
"""
OVER_ITEMS = """
models = {}
for name, (X_, y_) in [("train", tr), ("test", te)]:
    models[name] = LogisticRegression().fit(X_, y_)
joblib.dump(models["train"], "pairs_train.joblib")
joblib.dump(models["test"], "pairs_test.joblib")
for X_, y_ in (tr, te):
    joblib.dump(LogisticRegression().fit(X_, y_), f"tuple_{len(models)}.joblib")
    models[len(models)] = None
for name, data in {"train": tr, "test": te}.items():
    joblib.dump(LogisticRegression().fit(*data), f"items_{name}.joblib")
"""


def _write_data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("train", "test", "extra"):
        rows = [f"{rng.normal():.4f},{rng.normal():.4f},{index % 2}" for index in range(30)]
        (folder / f"{name}.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def lineage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("turns")
    _write_data(folder)
    url = f"sqlite:///{folder / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(folder / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(folder / "turns.ipynb", [LOAD, LOOP, COMPREHENSION, TUPLES, OVER_ITEMS], env, timeout=180)
    return folder, url


def _files(lineage: tuple[Path, str], model: str) -> set[str]:
    folder, url = lineage
    with Store(url) as store:
        nodes = upstream(store, DatasetRef("file", str(folder / model)))
    return {Path(node.name).name for node in nodes if node.type != "job"}


@pytest.mark.parametrize("turn", [0, 1])
@pytest.mark.parametrize("name", ["train", "test"])
def test_each_turn_of_a_loop_derives_from_its_own_file(lineage: tuple[Path, str], turn: int, name: str) -> None:
    assert _files(lineage, f"loop_{turn}_{name}.joblib") == {f"{name}.csv"}


def test_each_name_unpacked_from_a_comprehension_gets_its_turn(lineage: tuple[Path, str]) -> None:
    assert _files(lineage, "listed_train.joblib") == {"train.csv"}
    assert _files(lineage, "listed_extra.joblib") == {"extra.csv"}


@pytest.mark.parametrize(
    ("model", "source"),
    [
        ("pairs_train", "train"),
        ("pairs_test", "test"),
        ("tuple_2", "train"),
        ("tuple_3", "test"),
        ("items_train", "train"),
        ("items_test", "test"),
    ],
)
def test_a_loop_over_items_written_out_gives_each_its_own(lineage: tuple[Path, str], model: str, source: str) -> None:
    assert _files(lineage, f"{model}.joblib") == {f"{source}.csv"}
