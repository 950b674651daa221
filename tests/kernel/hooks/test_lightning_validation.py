"""Lightning's mid-epoch validation (``val_check_interval`` below one epoch, ``check_val_every_n_epoch``) with a
``training_step`` that calls ``self(x)``: a training batch read before validation is never credited to the
validation data, the validation data never becomes a training input of a checkpoint (a stream without a length,
which Lightning prefetches from, too), and a checkpoint loaded with ``load_from_checkpoint``, fine-tuned on data
loaded in the fitting statement and saved again, derives from the checkpoint it was loaded from and that data.
Real kernels.

Adapted from public code (data synthesized, MNIST replaced by small CSV files of 8x8 digits): the ``LitModel`` of
Lightning's LightningModule docs, whose ``forward`` is a linear layer and whose ``training_step`` computes
``y_hat = self(x)`` and a cross-entropy loss
(https://github.com/Lightning-AI/pytorch-lightning/blob/master/docs/source-pytorch/common/lightning_module.rst), with
the validation loop of its "validate and test a model" guide and ``LitModel.load_from_checkpoint`` of its
checkpointing guide (https://github.com/Lightning-AI/pytorch-lightning/blob/master/docs/source-pytorch/common/checkpointing_basic.rst).
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
pytest.importorskip("pytorch_lightning")

FIT = """
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as L

def digits(path):
    frame = pd.read_csv(path)
    return TensorDataset(torch.tensor(frame.drop(columns='label').values, dtype=torch.float32) / 255,
                         torch.tensor(frame['label'].values))

class LitModel(L.LightningModule):
    def __init__(self, lr=0.02):
        super().__init__()
        self.save_hyperparameters()
        self.l1 = nn.Linear(64, 10)

    def forward(self, x):
        return torch.relu(self.l1(x.view(x.size(0), -1)))

    def training_step(self, batch, batch_idx):
        x, y = batch
        y_hat = self(x)
        loss = F.cross_entropy(y_hat, y)
        self.log('train_loss', loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log('val_loss', F.cross_entropy(self(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log('test_loss', F.cross_entropy(self(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

train_loader = DataLoader(digits('digits_train.csv'), batch_size=8, shuffle=True)
val_loader = DataLoader(digits('digits_val.csv'), batch_size=8)
model = LitModel()
checkpoints = L.callbacks.ModelCheckpoint(dirpath='checkpoints', save_top_k=-1, every_n_train_steps=2)
trainer = L.Trainer(
    max_epochs=1, limit_train_batches=6, val_check_interval=2, accelerator='cpu', devices=1, logger=False,
    callbacks=[checkpoints], enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
)
trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)
trainer.save_checkpoint('digits.ckpt')
"""
EVERY_EPOCH = """
again = LitModel()
trainer = L.Trainer(
    max_epochs=2, limit_train_batches=3, check_val_every_n_epoch=1, accelerator='cpu', devices=1, logger=False,
    enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
)
trainer.fit(again, train_dataloaders=train_loader, val_dataloaders=val_loader)
trainer.save_checkpoint('every_epoch.ckpt')
"""
STREAM = """
from torch.utils.data import IterableDataset

class DigitStream(IterableDataset):
    def __init__(self, path):
        self.frame = pd.read_csv(path)

    def __iter__(self):
        pixels = torch.tensor(self.frame.drop(columns='label').values, dtype=torch.float32) / 255
        return iter(zip(pixels, torch.tensor(self.frame['label'].values)))

streamed = LitModel()
trainer = L.Trainer(
    max_epochs=1, max_steps=6, val_check_interval=2, limit_val_batches=2, accelerator='cpu', devices=1,
    logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
)
trainer.fit(streamed, train_dataloaders=DataLoader(DigitStream('digits_train.csv'), batch_size=8),
            val_dataloaders=val_loader)
trainer.save_checkpoint('streamed.ckpt')
"""
FINE_TUNE = """
tuned = LitModel.load_from_checkpoint('digits.ckpt', lr=0.01)
trainer = L.Trainer(
    max_epochs=1, limit_train_batches=2, accelerator='cpu', devices=1, logger=False, enable_checkpointing=False,
    enable_progress_bar=False, enable_model_summary=False,
)
trainer.fit(tuned, train_dataloaders=DataLoader(digits('digits_extra.csv'), batch_size=8))
trainer.test(tuned, dataloaders=DataLoader(digits('digits_test.csv'), batch_size=8))
trainer.save_checkpoint('tuned.ckpt')
"""


def digits(rows: int, seed: int) -> pd.DataFrame:
    """MNIST-like rows: 8x8 pixel intensities and a digit."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 256, (rows, 64)), columns=[f"p{i}" for i in range(64)])
    frame["label"] = rng.integers(0, 10, rows)
    return frame


def upstream_names(store: Store, root: Path, name: str) -> set[str]:
    """The datasets upstream of ``root/name`` (files and models), relative to ``root``."""
    return {
        os.path.relpath(node.name, root)
        for node in upstream(store, DatasetRef("file", str(root / name)))
        if node.type != "job" and node.name.startswith(str(root))
    }


def test_mid_epoch_validation_never_trains_a_checkpoint_and_a_loaded_one_is_an_input(tmp_path: Path) -> None:
    for name, rows, seed in [("train", 64, 0), ("val", 32, 1), ("test", 24, 2), ("extra", 16, 3)]:
        digits(rows, seed).to_csv(tmp_path / f"digits_{name}.csv", index=False)
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
    }
    run_notebook(tmp_path / "digits.ipynb", [FIT, EVERY_EPOCH, STREAM, FINE_TUNE], env, timeout=300)
    saved = sorted(f"checkpoints/{name}" for name in os.listdir(tmp_path / "checkpoints"))
    assert len(saved) == 3
    with Store(env["NBLINEAGE_URL"]) as store:
        names = [*saved, "digits.ckpt", "every_epoch.ckpt", "streamed.ckpt"]
        found = {name: upstream_names(store, tmp_path, name) for name in names}
        tuned = upstream_names(store, tmp_path, "tuned.ckpt")
    assert found == {name: {"digits_train.csv"} for name in found}
    assert tuned == {"digits.ckpt", "digits_train.csv", "digits_extra.csv"}
