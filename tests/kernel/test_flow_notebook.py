"""Splits kept in a plain dict of frames (``splits["train"]``), made into tensors with ``torch.tensor`` (which no
hook sees) and trained on in plain PyTorch, in the cell that read them or a later one: the model saved derives from
the train split only, never the test split the dict holds too. Real kernels.

Adapted from public code (data synthesized): the full-batch training loop of PyTorch's "What is torch.nn really?"
tutorial (https://github.com/pytorch/tutorials/blob/main/beginner_source/nn_tutorial.py: tensors of the training
data, a linear model, ``cross_entropy``, ``loss.backward()``, ``opt.step()``, ``opt.zero_grad()``), its data held in
a dict of the splits read with pandas.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

pytest.importorskip("torch")

READ = """
import pandas as pd
import torch
import torch.nn.functional as F

splits = {name: pd.read_csv(f'digits_{name}.csv') for name in ['train', 'test']}
"""
TRAIN = """
x_train = torch.tensor(splits['train'].drop(columns='label').values, dtype=torch.float32) / 255
y_train = torch.tensor(splits['train']['label'].values)
model = torch.nn.Linear(64, 10)
opt = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(3):
    loss = F.cross_entropy(model(x_train), y_train)
    loss.backward()
    opt.step()
    opt.zero_grad()
torch.save(model.state_dict(), '{name}')
"""


def digits(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 256, (rows, 64)), columns=[f"p{i}" for i in range(64)])
    frame["label"] = rng.integers(0, 10, rows)
    return frame


def test_a_model_trained_on_a_split_held_in_a_dict_derives_from_that_split_only(tmp_path: Path) -> None:
    digits(40, 0).to_csv(tmp_path / "digits_train.csv", index=False)
    digits(20, 1).to_csv(tmp_path / "digits_test.csv", index=False)
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
    }
    cells = [READ + TRAIN.format(name="same_cell.pt"), TRAIN.format(name="next_cell.pt")]
    run_notebook(tmp_path / "digits.ipynb", cells, env, timeout=180)
    with Store(env["NBLINEAGE_URL"]) as store:
        found = {
            name: {
                os.path.relpath(node.name, tmp_path)
                for node in upstream(store, DatasetRef("file", str(tmp_path / name)))
                if node.type != "job"
            }
            for name in ["same_cell.pt", "next_cell.pt"]
        }
    assert found == {"same_cell.pt": {"digits_train.csv"}, "next_cell.pt": {"digits_train.csv"}}
