"""A tokenizer trained with Hugging Face ``tokenizers`` on the train split of a ``DatasetDict``, saved, and a model
saved with it (standing for a Hub checkpoint), then loaded back with ``from_pretrained`` and fine-tuned in native
PyTorch on another data set, evaluated on its test split and saved: each output derives from the train splits only,
the fine-tuned model from the folder it was loaded from too. Real kernels; nothing downloaded.

Adapted from public code (data synthesized, the Hub's checkpoint replaced by a tiny BERT saved in the notebook):

- https://github.com/huggingface/tokenizers/blob/main/bindings/python/examples/train_with_datasets.py (a tokenizer
  built from a model, a pre-tokenizer and a normalizer, trained with ``train_from_iterator`` on a split's texts, and
  on the batches a ``batch_iterator`` generator slices from the split);
- https://github.com/huggingface/transformers/blob/main/docs/source/en/training.md, "Fine-tune a pretrained model
  in native PyTorch" (``AutoTokenizer``/``AutoModelForSequenceClassification.from_pretrained``, ``map`` of a
  ``tokenize_function``, ``remove_columns``, ``rename_column``, ``set_format("torch")``, a ``DataLoader`` of the
  shuffled train split, ``AdamW`` and ``get_scheduler``, the training loop of ``model(**batch)``, an evaluation loop
  under ``no_grad``).
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

pytest.importorskip("datasets")
pytest.importorskip("torch")
pytest.importorskip("transformers")

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "plot", "actor", "movie", "scene"]

PRETRAIN = """
from datasets import load_dataset
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

corpus = load_dataset('csv', data_files={'train': 'corpus.csv', 'test': 'corpus_heldout.csv'})
word_tokenizer = Tokenizer(models.WordLevel(unk_token='[UNK]'))
word_tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
word_tokenizer.normalizer = normalizers.Lowercase()
trainer = trainers.WordLevelTrainer(special_tokens=['[PAD]', '[UNK]'])
word_tokenizer.train_from_iterator(corpus['train']['text'], trainer=trainer)
word_tokenizer.save('tokenizer.json')

def batch_iterator(batch_size=16):
    for i in range(0, len(corpus['train']), batch_size):
        yield corpus['train'][i : i + batch_size]['text']

batch_tokenizer = Tokenizer(models.WordLevel(unk_token='[UNK]'))
batch_tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
batch_tokenizer.train_from_iterator(batch_iterator(), trainer=trainer, length=len(corpus['train']))
batch_tokenizer.save('tokenizer_batches.json')
tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_tokenizer, unk_token='[UNK]', pad_token='[PAD]')
config = BertConfig(
    vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
    intermediate_size=32, max_position_embeddings=32, num_labels=2,
)
BertForSequenceClassification(config).save_pretrained('pretrained')
tokenizer.save_pretrained('pretrained')
"""
FINE_TUNE = """
import torch
from torch.optim import AdamW
from torch.utils.data import DataLoader
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_scheduler

dataset = load_dataset('csv', data_files={'train': 'train.csv', 'test': 'test.csv'})
tokenizer = AutoTokenizer.from_pretrained('pretrained')

def tokenize_function(examples):
    return tokenizer(examples['text'], padding='max_length', truncation=True, max_length=8)

tokenized_datasets = dataset.map(tokenize_function, batched=True)
tokenized_datasets = tokenized_datasets.remove_columns(['text'])
tokenized_datasets = tokenized_datasets.rename_column('label', 'labels')
tokenized_datasets.set_format('torch')
small_train_dataset = tokenized_datasets['train'].shuffle(seed=42).select(range(32))
small_eval_dataset = tokenized_datasets['test'].shuffle(seed=42).select(range(16))
train_dataloader = DataLoader(small_train_dataset, shuffle=True, batch_size=8)
eval_dataloader = DataLoader(small_eval_dataset, batch_size=8)

model = AutoModelForSequenceClassification.from_pretrained('pretrained', num_labels=2)
optimizer = AdamW(model.parameters(), lr=5e-5)
num_epochs = 1
num_training_steps = num_epochs * len(train_dataloader)
lr_scheduler = get_scheduler(
    name='linear', optimizer=optimizer, num_warmup_steps=0, num_training_steps=num_training_steps
)
model.train()
for epoch in range(num_epochs):
    for batch in train_dataloader:
        outputs = model(**batch)
        loss = outputs.loss
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
"""
EVALUATE_AND_SAVE = """
model.eval()
correct = 0
for batch in eval_dataloader:
    with torch.no_grad():
        outputs = model(**batch)
    predictions = torch.argmax(outputs.logits, dim=-1)
    correct += int((predictions == batch['labels']).sum())
model.save_pretrained('review_classifier')
tokenizer.save_pretrained('review_classifier')
"""


def reviews(rows: int, seed: int) -> pd.DataFrame:
    """Review-like rows: a text and its label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = [" ".join(rng.choice(WORDS[:3] if y else WORDS[3:6], 3)) + " " + rng.choice(WORDS[6:]) for y in labels]
    return pd.DataFrame({"text": texts, "label": labels})


def upstream_names(store: Store, root: Path, name: str) -> set[str]:
    """The datasets upstream of ``root/name`` (files, folders and models), relative to ``root``."""
    return {
        os.path.relpath(node.name, root)
        for node in upstream(store, DatasetRef("file", str(root / name)))
        if node.type != "job" and node.name.startswith(str(root))
    }


def test_a_tokenizer_trained_on_train_and_a_model_fine_tuned_from_a_local_checkpoint(tmp_path: Path) -> None:
    for name, rows, seed in [("corpus", 40, 0), ("corpus_heldout", 20, 1), ("train", 48, 2), ("test", 24, 3)]:
        reviews(rows, seed).to_csv(tmp_path / f"{name}.csv", index=False)
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(tmp_path / "hf-cache"),
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    }
    run_notebook(tmp_path / "reviews.ipynb", [PRETRAIN, FINE_TUNE, EVALUATE_AND_SAVE], env, timeout=300)
    with Store(env["NBLINEAGE_URL"]) as store:
        names = ["tokenizer.json", "tokenizer_batches.json", "pretrained"]
        found = {name: upstream_names(store, tmp_path, name) for name in names}
        tuned = upstream_names(store, tmp_path, "review_classifier")
    assert found == {name: {"corpus.csv"} for name in names}
    assert tuned == {"pretrained", "corpus.csv", "train.csv"}
