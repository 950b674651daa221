"""Models trained by the Hugging Face ``Trainer`` and by Lightning, saved with ``save_pretrained``,
``Trainer.save_model``, the Trainer's ``checkpoint-N`` folders, ``Trainer.save_checkpoint`` and Lightning's
``ModelCheckpoint``: each saved model derives from its training split only, with its framework, class and
parameter count. Real kernels; tiny models built from configs, nothing downloaded.

Adapted from public code (data synthesized, the Hub's pretrained model and tokenizer replaced by a tiny BERT made from
its config and a word-level tokenizer of a fixed vocabulary, the rest of each pipeline kept):

- https://github.com/canstralian/RabbitRedux/blob/main/experiments/train_adamw.py and
  https://github.com/gangwJiang/continual-pre-training/blob/main/base_test/text_class_bert.py (the transformers
  text-classification tutorial: ``load_dataset`` of IMDB, ``map(preprocess_function, batched=True)``,
  ``DataCollatorWithPadding``, ``Trainer(train_dataset=...["train"], eval_dataset=...["test"])`` evaluating and
  saving each epoch with ``load_best_model_at_end``, ``trainer.save_model``);
- https://github.com/vicmuchina/qwen-32b-preview-with-vision-capabilities/blob/main/examples/pytorch_lightning_multinode.py
  (Lightning's quickstart ``LitAutoEncoder`` of an encoder and a decoder on MNIST), with validation and test loaders
  and a ``ModelCheckpoint`` callback.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebooks import run_notebook

from nblineage.governance import questions
from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

pytest.importorskip("datasets")
pytest.importorskip("torch")

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "plot", "actor", "movie", "scene"]

HF_TRAINER = """
import numpy as np
from datasets import load_dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
)

imdb = load_dataset('csv', data_files={'train': 'train.csv', 'test': 'test.csv'})
vocabulary = ['[PAD]', '[UNK]', 'good', 'great', 'fine', 'bad', 'awful', 'dull', 'plot', 'actor', 'movie', 'scene']
words = Tokenizer(models.WordLevel({word: index for index, word in enumerate(vocabulary)}, unk_token='[UNK]'))
words.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token='[UNK]', pad_token='[PAD]')

def preprocess_function(examples):
    return tokenizer(examples['text'], truncation=True, max_length=16)

tokenized_imdb = imdb.map(preprocess_function, batched=True)
data_collator = DataCollatorWithPadding(tokenizer=tokenizer)

def compute_metrics(eval_pred):
    predictions, labels = eval_pred
    return {'accuracy': float((np.argmax(predictions, axis=1) == labels).mean())}

config = BertConfig(
    vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    intermediate_size=32, max_position_embeddings=32, num_labels=2,
)
model = BertForSequenceClassification(config)
training_args = TrainingArguments(
    output_dir='results',
    learning_rate=5e-4,
    per_device_train_batch_size=16,
    per_device_eval_batch_size=16,
    num_train_epochs=2,
    weight_decay=0.01,
    eval_strategy='epoch',
    save_strategy='epoch',
    load_best_model_at_end=True,
    report_to='none',
    use_cpu=True,
    disable_tqdm=True,
)
trainer = Trainer(
    model=model,
    args=training_args,
    train_dataset=tokenized_imdb['train'],
    eval_dataset=tokenized_imdb['test'],
    processing_class=tokenizer,
    data_collator=data_collator,
    compute_metrics=compute_metrics,
)
trainer.train()
trainer.save_model('model_final')
"""
HF_SAVE = """
print(trainer.evaluate())
model.save_pretrained('imdb_classifier')
tokenizer.save_pretrained('imdb_classifier')
"""

LIGHTNING_FIT = """
import pandas as pd
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as L

def images(path):
    frame = pd.read_csv(path)
    return TensorDataset(torch.tensor(frame.drop(columns='label').values, dtype=torch.float32) / 255,
                         torch.tensor(frame['label'].values))

train_set = images('digits_train.csv')
val_set = images('digits_val.csv')
test_set = images('digits_test.csv')

encoder = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 3))
decoder = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 64))

class LitAutoEncoder(L.LightningModule):
    def __init__(self, encoder, decoder, lr=1e-3):
        super().__init__()
        self.save_hyperparameters(ignore=['encoder', 'decoder'])
        self.encoder, self.decoder = encoder, decoder

    def training_step(self, batch, batch_idx):
        x, _ = batch
        x = x.view(x.size(0), -1)
        z = self.encoder(x)
        x_hat = self.decoder(z)
        loss = nn.functional.mse_loss(x_hat, x)
        self.log('train_loss', loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, _ = batch
        self.log('val_loss', nn.functional.mse_loss(self.decoder(self.encoder(x)), x))

    def test_step(self, batch, batch_idx):
        x, _ = batch
        self.log('test_loss', nn.functional.mse_loss(self.decoder(self.encoder(x)), x))

    def configure_optimizers(self):
        return optim.Adam(self.parameters(), lr=self.hparams.lr)

autoencoder = LitAutoEncoder(encoder, decoder)
checkpoints = L.callbacks.ModelCheckpoint(dirpath='checkpoints', save_top_k=-1)
trainer = L.Trainer(
    max_epochs=2, accelerator='cpu', devices=1, logger=False, callbacks=[checkpoints],
    enable_progress_bar=False, enable_model_summary=False,
)
trainer.fit(model=autoencoder, train_dataloaders=DataLoader(train_set, batch_size=16, shuffle=True),
            val_dataloaders=DataLoader(val_set, batch_size=16))
"""
LIGHTNING_SAVE = """
trainer.test(autoencoder, dataloaders=DataLoader(test_set, batch_size=16))
trainer.save_checkpoint('autoencoder.ckpt')
"""


def reviews(rows: int, seed: int) -> pd.DataFrame:
    """IMDB-like rows: a review text and its label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = [" ".join(rng.choice(WORDS[:3] if y else WORDS[3:6], 3)) + " " + rng.choice(WORDS[6:]) for y in labels]
    return pd.DataFrame({"text": texts, "label": labels})


def digits(rows: int, seed: int) -> pd.DataFrame:
    """MNIST-like rows: 8x8 pixel intensities and a digit."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 256, (rows, 64)), columns=[f"p{i}" for i in range(64)])
    frame["label"] = rng.integers(0, 10, rows)
    return frame


def sources(store: Store, root: Path, name: str) -> set[str]:
    """The files (not models) upstream of ``root/name``, relative to ``root``."""
    return {
        os.path.relpath(node.name, root)
        for node in upstream(store, DatasetRef("file", str(root / name)))
        if node.type != "job" and node.name.endswith(".csv")
    }


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(tmp_path / "hf-cache"),
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    }


def test_a_model_fine_tuned_by_the_hugging_face_trainer_derives_from_train_only(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    reviews(48, 0).to_csv(tmp_path / "train.csv", index=False)
    reviews(32, 1).to_csv(tmp_path / "test.csv", index=False)
    env = environment(tmp_path)
    run_notebook(tmp_path / "imdb.ipynb", [HF_TRAINER, HF_SAVE], env, timeout=240)
    saved = ["results/checkpoint-3", "results/checkpoint-6", "model_final", "imdb_classifier"]
    assert all((tmp_path / name).is_dir() for name in saved)
    with Store(env["NBLINEAGE_URL"]) as store:
        assert {name: sources(store, tmp_path, name) for name in saved} == {name: {"train.csv"} for name in saved}
        function = questions.model_inputs(store, DatasetRef("file", str(tmp_path / "imdb_classifier"))).function
    assert (function.framework, function.model_class) == (
        "transformers",
        "transformers.models.bert.modeling_bert.BertForSequenceClassification",
    )
    embeddings = 12 * 16 + 32 * 16 + 2 * 16 + 2 * 16  # the 12 words and specials, positions, types, layer norm
    layer = 3 * (16 * 16 + 16) + (16 * 16 + 16) + 2 * 16 + (16 * 32 + 32) + (32 * 16 + 16) + 2 * 16
    head = (16 * 16 + 16) + (16 * 2 + 2)  # pooler, classifier
    assert function.details["nParameters"] == embeddings + layer + head
    assert function.hyper_parameters["hidden_size"] == 16


def test_lightning_checkpoints_derive_from_the_training_loader_only(tmp_path: Path) -> None:
    pytest.importorskip("pytorch_lightning")
    digits(64, 0).to_csv(tmp_path / "digits_train.csv", index=False)
    digits(32, 1).to_csv(tmp_path / "digits_val.csv", index=False)
    digits(32, 2).to_csv(tmp_path / "digits_test.csv", index=False)
    env = environment(tmp_path)
    run_notebook(tmp_path / "autoencoder.ipynb", [LIGHTNING_FIT, LIGHTNING_SAVE], env, timeout=240)
    saved = [*sorted(f"checkpoints/{name}" for name in os.listdir(tmp_path / "checkpoints")), "autoencoder.ckpt"]
    assert saved == ["checkpoints/epoch=0-step=4.ckpt", "checkpoints/epoch=1-step=8.ckpt", "autoencoder.ckpt"]
    with Store(env["NBLINEAGE_URL"]) as store:
        found = {name: sources(store, tmp_path, name) for name in saved}
        function = questions.model_inputs(store, DatasetRef("file", str(tmp_path / "autoencoder.ckpt"))).function
    assert found == {name: {"digits_train.csv"} for name in saved}
    assert (function.framework, function.model_class) == ("pytorch", "__main__.LitAutoEncoder")
    assert function.details["nParameters"] == (64 * 32 + 32) + (32 * 3 + 3) + (3 * 32 + 32) + (32 * 64 + 64)
    assert function.details["format"] == "lightning_checkpoint"
    assert function.hyper_parameters == {"lr": 0.001}
