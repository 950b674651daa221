"""A pipeline of scripts run from a notebook with ``%run``, in the shape of DVC's "get started" project (prepare,
featurize, train, evaluate as separate scripts taking paths as arguments): plain ``open()`` line by line, a JSON
config, pandas, numpy files and pickle. Each script's statements are followed as a cell's are, so the model links
to exactly the data it was trained on: the train split, not the test split or the config. The data is synthesized.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

PREPARE = """

import json
import random
import sys

params = json.load(open("params.json"))
random.seed(params["seed"])
source, out_train, out_test = sys.argv[1], "prepared/train.tsv", "prepared/test.tsv"


def process_posts(fd_in, fd_out_train, fd_out_test, split):
    for line in fd_in:
        fd_out = fd_out_train if random.random() > split else fd_out_test
        fd_out.write(line)


with open(source, encoding="utf8") as fd_in:
    with open(out_train, "w", encoding="utf8") as fd_out_train:
        with open(out_test, "w", encoding="utf8") as fd_out_test:
            process_posts(fd_in, fd_out_train, fd_out_test, params["split"])
"""
FEATURIZE = """
import sys
import numpy as np
import pandas as pd

def featurize(path):
    frame = pd.read_csv(path, sep="\\t", names=["id", "length", "tags", "label"])
    frame["ratio"] = frame["tags"] / frame["length"]
    return frame[["length", "tags", "ratio"]].to_numpy(), frame["label"].to_numpy()

for split in ("train", "test"):
    X, y = featurize(f"prepared/{split}.tsv")
    np.save(f"features/{split}_X.npy", X)
    np.save(f"features/{split}_y.npy", y)
"""
TRAIN = """
import pickle
import numpy as np
from sklearn.ensemble import RandomForestClassifier

X = np.load("features/train_X.npy")
y = np.load("features/train_y.npy")
clf = RandomForestClassifier(n_estimators=20, random_state=0)
clf.fit(X, y)
with open("model.pkl", "wb") as fd:
    pickle.dump(clf, fd)
"""
EVALUATE = """
import json
import pickle
import numpy as np
from sklearn.metrics import accuracy_score

with open("model.pkl", "rb") as fd:
    model = pickle.load(fd)
score = accuracy_score(np.load("features/test_y.npy"), model.predict(np.load("features/test_X.npy")))
with open("metrics.json", "w") as fd:
    json.dump({"accuracy": score}, fd)
"""
CELLS = [
    "import os\nos.makedirs('prepared', exist_ok=True)\nos.makedirs('features', exist_ok=True)",
    "%run prepare.py data/posts.tsv",
    "%run featurize.py",
    "%run train.py",
    "%run -i evaluate.py",
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, text in (("prepare", PREPARE), ("featurize", FEATURIZE), ("train", TRAIN), ("evaluate", EVALUATE)):
        (tmp_path / f"{name}.py").write_text(text)
    (tmp_path / "params.json").write_text(json.dumps({"seed": 20170428, "split": 0.3}))
    rng = random.Random(3)
    (tmp_path / "data").mkdir()
    lines = [f"{i}\t{rng.randint(20, 400)}\t{rng.randint(1, 5)}\t{rng.randint(0, 1)}" for i in range(300)]
    (tmp_path / "data" / "posts.tsv").write_text("\n".join(lines) + "\n")
    return tmp_path


def sources(store: Store, path: Path, root: Path) -> set[str]:
    """The files upstream of ``path``, relative to ``root``."""
    nodes = upstream(store, DatasetRef("file", str(path)))
    return {str(Path(n.name).relative_to(root)) for n in nodes if n.type in ("dataset", "model")}


def test_a_pipeline_of_scripts_links_the_model_to_its_training_data_only(workdir: Path, store_url: str) -> None:
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "pipeline.ipynb", CELLS, env, timeout=180)
    with Store(store_url) as store:

        def _sources(path: str) -> set[str]:
            return sources(store, workdir / path, workdir)

        # The split's files are written by a statement that also reads the config's split fraction: as in a cell,
        # the config is among their sources (a parameter read from a file is not told apart from data yet)
        config = {"params.json"}
        assert _sources("prepared/train.tsv") == {"data/posts.tsv"} | config
        assert _sources("features/train_X.npy") == {"prepared/train.tsv", "data/posts.tsv"} | config
        train = {"features/train_X.npy", "features/train_y.npy", "prepared/train.tsv", "data/posts.tsv"}
        assert _sources("model.pkl") == train | config  # never the test split
        assert {"features/test_X.npy", "features/test_y.npy", "model.pkl"} <= _sources("metrics.json")


MODULE_TRAIN = """
import pickle
from sklearn.linear_model import LogisticRegression

X, y = [], []
with open("prepared/train.tsv") as fd:
    for line in fd:
        _, length, tags, label = line.split("\\t")
        X.append([float(length), float(tags)])
        y.append(int(label))
clf = LogisticRegression().fit(X, y)
with open("module_model.pkl", "wb") as fd:
    pickle.dump(clf, fd)
"""


def test_a_stage_run_as_a_module_is_followed_as_a_script(workdir: Path, store_url: str) -> None:
    """``%run -m stages.train``: IPython runs the module with ``runpy``, in a namespace of its own; its plain
    ``open()`` and the lists filled from the lines are followed as a script's are."""
    (workdir / "stages").mkdir()
    (workdir / "stages" / "__init__.py").write_text("")
    (workdir / "stages" / "train.py").write_text(MODULE_TRAIN)
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "modules.ipynb", [*CELLS[:2], "%run -m stages.train", "print(type(clf).__name__)"], env)
    with Store(store_url) as store:
        found = sources(store, workdir / "module_model.pkl", workdir)
    assert found == {"prepared/train.tsv", "data/posts.tsv", "params.json"}  # never the test split
