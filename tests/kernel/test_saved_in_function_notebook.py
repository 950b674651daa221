"""Data loaders built and saved inside a function of the user's own, as DTU's MLOps course's corrupt-MNIST
``make_dataset.py`` does (``np.load`` of the train and the test ``.npz``, each wrapped in ``TensorDataset`` and
``DataLoader``, then ``torch.save(train, ...)`` and ``torch.save(test, ...)`` in the same function), in a real
kernel: each saved loader derives from its own file only, not from everything the call ``make_dataset()`` read, and
a model trained from the saved train loader in another kernel never lists the test file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from notebooks import model_source_names as sources_of
from notebooks import run_notebook

MAKE_DATASET = """
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

def make_dataset():
    trainset = np.load("train.npz")
    train = DataLoader(TensorDataset(torch.from_numpy(trainset["images"]), torch.from_numpy(trainset["labels"])),
                       batch_size=4)
    testset = np.load("test.npz")
    test = DataLoader(TensorDataset(torch.Tensor(testset["images"]), torch.tensor(testset["labels"])), batch_size=4)
    torch.save(train, "train.pth")
    torch.save(test, "test.pth")

make_dataset()
"""
TRAIN = """
import torch
from torch import nn

train_loader = torch.load("train.pth", weights_only=False)
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for images, labels in train_loader:
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(images), labels).backward()
    optimizer.step()
torch.save(model.state_dict(), "model.pt")
"""


def test_loaders_saved_in_one_function_each_derive_from_their_own_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "train.npz", images=rng.random((8, 4)).astype(np.float32), labels=rng.integers(0, 2, 8))
    np.savez(tmp_path / "test.npz", images=rng.random((4, 4)).astype(np.float32), labels=rng.integers(0, 2, 4))
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "make_dataset.ipynb", [MAKE_DATASET], env, timeout=180)
    run_notebook(tmp_path / "train_model.ipynb", [TRAIN], env, timeout=180)
    assert sources_of(store_url, tmp_path / "train.pth") == {"train.npz"}
    assert sources_of(store_url, tmp_path / "test.pth") == {"test.npz"}
    assert sources_of(store_url, tmp_path / "model.pt") == {"train.pth", "train.npz"}


HELPERS = """
import json, pickle
import pandas as pd

train, test = pd.read_csv("train.csv"), pd.read_csv("test.csv")
"""
CALLS = """
def write_meta(tr, ev, note):
    with open("meta.pkl", "wb") as f:
        pickle.dump({"note": note, "path": "model.joblib"}, f)  # constants: made of neither frame

def write_scores(tr, ev):
    scores = {"mean_x": float(ev["x"].mean())}  # of the evaluation frame only
    with open("scores.pkl", "wb") as f:
        pickle.dump(scores, f)
"""
WRITES = 'write_meta(train, test, "full")\nwrite_scores(train, test)\ntrain.to_pickle("train.pkl")'


def test_objects_pickled_in_a_function_derive_from_what_its_code_made_them_of(tmp_path: Path) -> None:
    """A dict written inside a function of the user's own derives from what the function made it of, not from
    every frame the cell's call passed in (HallowsYves' seq2seq script pickles a dict of constant strings next to
    each model): none for constants, the evaluation frame for its statistics, in a cell that writes data from both
    frames too (the constants' output says it is made of no dataset: not of every input of the cell run)."""
    for name in ("train", "test"):
        (tmp_path / f"{name}.csv").write_text("x,y\n1,0\n2,1\n3,0\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "helpers.ipynb", [HELPERS, CALLS, WRITES], env, timeout=180)
    assert sources_of(store_url, tmp_path / "meta.pkl") == set()
    assert sources_of(store_url, tmp_path / "scores.pkl") == {"test.csv"}
    assert sources_of(store_url, tmp_path / "train.pkl") == {"train.csv"}
