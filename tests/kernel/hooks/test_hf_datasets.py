"""Hugging Face ``datasets``: splits read from local files keep apart through transforms, saves and training."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

datasets = pytest.importorskip("datasets")
torch = pytest.importorskip("torch")

from nblineage.kernel_ext.capture import Capture  # noqa: E402
from nblineage.kernel_ext.hooks.hf_datasets import HfDatasetsInstrumentor  # noqa: E402
from nblineage.kernel_ext.hooks.models import TorchInstrumentor  # noqa: E402
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor  # noqa: E402
from nblineage.kernel_ext.hooks.tensors import provenance_of  # noqa: E402
from nblineage.kernel_ext.hooks.transformers import TransformersInstrumentor  # noqa: E402

INSTRUMENTORS = (PandasInstrumentor, HfDatasetsInstrumentor, TorchInstrumentor, TransformersInstrumentor)
WORDS = ["good", "great", "fine", "bad", "awful", "dull", "plot", "actor", "movie", "scene"]


def reviews(rows: int, seed: int) -> pd.DataFrame:
    """IMDB-like rows: a review text and its label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = [" ".join(rng.choice(WORDS[:3] if y else WORDS[3:6], 3)) + " " + rng.choice(WORDS[6:]) for y in labels]
    return pd.DataFrame({"text": texts, "label": labels})


@pytest.fixture
def imdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    reviews(40, 0).to_csv(tmp_path / "train.csv", index=False)
    reviews(20, 1).to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def names(capture: Capture, obj: object) -> set[str]:
    """The files ``obj`` derives from, as the torch training rule sees them (a loader's batch is tagged at the end of
    the cell, and seen as the latest batch until then)."""
    return {os.path.basename(source.name) for source in provenance_of(capture, obj).sources}


def test_splits_read_their_own_files_and_keep_apart(capture: Capture, imdb: Path) -> None:
    files = {"train": str(imdb / "train.csv"), "test": str(imdb / "test.csv")}
    ds = datasets.load_dataset("csv", data_files=files)
    assert names(capture, ds["train"]) == {"train.csv"} and names(capture, ds["test"]) == {"test.csv"}
    assert {source.name for source in capture.record.inputs} == set(files.values())
    assert all(source.version for source in capture.record.inputs)
    tokenized = ds.map(lambda row: {"n": len(row["text"].split())}).filter(lambda row: row["n"] > 0)
    assert names(capture, tokenized["train"]) == {"train.csv"} and names(capture, tokenized["test"]) == {"test.csv"}
    assert names(capture, tokenized["train"]["text"]) == {"train.csv"}
    halves = tokenized["train"].shuffle(seed=0).select(range(30)).train_test_split(test_size=0.25)
    assert names(capture, halves["train"]) == names(capture, halves["test"]) == {"train.csv"}
    assert capture.hooks.splits.get(halves["test"]) == {"split": "test"}
    assert capture.hooks.splits.get(halves["test"].select(range(3))["label"]) == {"split": "test"}
    assert capture.hooks.splits.get(tokenized["test"].with_format("numpy")["label"]) == {"split": "test"}
    assert names(capture, halves["train"].to_pandas()) == {"train.csv"}


def test_a_model_trained_on_train_derives_from_train_only(capture: Capture, imdb: Path) -> None:
    files = {"train": str(imdb / "train.csv"), "test": str(imdb / "test.csv")}
    ds = datasets.load_dataset("csv", data_files=files)
    vocab = {word: i + 1 for i, word in enumerate(WORDS)}
    encoded = ds.map(lambda row: {"ids": [vocab[word] for word in row["text"].split()]}).with_format("torch")
    model = torch.nn.Sequential(torch.nn.EmbeddingBag(len(WORDS) + 1, 4), torch.nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(encoded["train"].select_columns(["ids", "label"]), batch_size=8)
    for batch in loader:
        assert names(capture, batch["ids"]) == {"train.csv"}
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(batch["ids"]), batch["label"]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for batch in torch.utils.data.DataLoader(encoded["test"].select_columns(["ids", "label"]), batch_size=8):
            model(batch["ids"])
    assert names(capture, model) == {"train.csv"}


def test_frames_dicts_and_disk(capture: Capture, imdb: Path) -> None:
    capture.take_record()  # the fixture's own writes
    frame = pd.read_csv(imdb / "train.csv")
    from_frame = datasets.Dataset.from_pandas(frame)
    assert names(capture, from_frame) == {"train.csv"}
    texts = np.asarray(frame["text"])
    assert names(capture, datasets.Dataset.from_dict({"text": texts})) == {"train.csv"}
    both = datasets.DatasetDict({"train": from_frame, "test": datasets.Dataset.from_pandas(reviews(5, 3))})
    both.save_to_disk(str(imdb / "saved"))
    written = {os.path.basename(output.source.name): output for output in capture.record.outputs}
    assert set(written) == {"train", "test"} and written["train"].source.version
    assert {source.name for source in written["train"].provenance.sources} == {str(imdb / "train.csv")}
    assert not written["test"].provenance
    capture.take_record()
    again = datasets.load_from_disk(str(imdb / "saved"))
    assert capture.of(again["train"]).sources == {written["train"].source}
    from_frame.to_parquet(str(imdb / "out.parquet"))
    (output,) = capture.record.outputs
    assert output.source.name == str(imdb / "out.parquet")
    assert {source.name for source in output.provenance.sources} == {str(imdb / "train.csv")}


def test_image_folders_and_other_formats(capture: Capture, imdb: Path) -> None:
    from PIL import Image

    for split, label, count in (("train", "cat", 3), ("train", "dog", 2), ("test", "cat", 2)):
        folder = imdb / "images" / split / label
        folder.mkdir(parents=True)
        for index in range(count):
            Image.new("RGB", (4, 4), (index * 40, 0, 0)).save(folder / f"{index}.png")
    images = datasets.load_dataset("imagefolder", data_dir=str(imdb / "images"))
    assert {source.name for source in capture.of(images["train"]).sources} == {str(imdb / "images" / "train")}
    assert {source.name for source in capture.of(images["test"]).sources} == {str(imdb / "images" / "test")}
    (imdb / "lines.txt").write_text("one\ntwo\n")
    reviews(6, 4).to_json(imdb / "rows.jsonl", orient="records", lines=True)
    text = datasets.load_dataset("text", data_files=str(imdb / "lines.txt"), split="train")
    rows = datasets.Dataset.from_json(str(imdb / "rows.jsonl"))
    assert names(capture, text) == {"lines.txt"} and names(capture, rows) == {"rows.jsonl"}


def test_slices_streams_writes_and_combinations(capture: Capture, imdb: Path) -> None:
    files = {"train": str(imdb / "train.csv"), "test": str(imdb / "test.csv")}
    half = datasets.load_dataset("csv", data_files=files, split="train[:50%]")
    both = datasets.load_dataset("csv", data_files=files, split="train+test")
    assert names(capture, half) == {"train.csv"} and names(capture, both) == {"train.csv", "test.csv"}
    streamed = datasets.load_dataset("csv", data_files=files, streaming=True)
    both_mapped = streamed.map(lambda row: {"n": 1})
    assert names(capture, both_mapped["train"]) == {"train.csv"} and names(capture, both_mapped["test"]) == {"test.csv"}
    mapped = streamed["test"].map(lambda row: {"n": 1}).with_format("torch")
    batch = next(iter(torch.utils.data.DataLoader(mapped, batch_size=4)))
    assert names(capture, streamed["train"]) == {"train.csv"} and names(capture, batch["label"]) == {"test.csv"}
    assert names(capture, half.with_format("numpy")["label"]) == {"train.csv"}
    assert names(capture, half.with_format("torch")[0]["label"]) == {"train.csv"}
    joined = datasets.concatenate_datasets([half, datasets.load_dataset("csv", data_files=files, split="test")])
    assert names(capture, joined) == {"train.csv", "test.csv"}
    capture.take_record()
    half.to_csv(str(imdb / "half.csv"))
    half.to_json(str(imdb / "half.jsonl"))
    assert [os.path.basename(output.source.name) for output in capture.record.outputs] == ["half.csv", "half.jsonl"]
    assert all(
        {source.name for source in output.provenance.sources} == {files["train"]} for output in capture.record.outputs
    )
    assert all(output.source.version for output in capture.record.outputs)


def test_a_trainer_draws_train_batches_and_trains_on_train_only(capture: Capture, imdb: Path) -> None:
    """Optional: with ``transformers`` (and ``accelerate``) installed, a Trainer over a tokenized ``DatasetDict`` (a
    tiny BERT made from its config: no download) draws batches that carry train, and its model derives from
    train only (the PyTorch rule follows ``model(**batch)``), although it evaluates on test."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    drawn: list[set[str]] = []

    class Trainer(transformers.Trainer):
        def training_step(self, model: object, inputs: dict, *args: object, **kwargs: object) -> object:
            drawn.append(names(capture, inputs["input_ids"]))
            return super().training_step(model, inputs, *args, **kwargs)

    ds = datasets.load_dataset("csv", data_files={"train": str(imdb / "train.csv"), "test": str(imdb / "test.csv")})
    vocab = {word: index + 1 for index, word in enumerate(WORDS)}

    def tokenize(batch: dict) -> dict:
        ids = [[vocab[word] for word in text.split()] for text in batch["text"]]
        return {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}

    encoded = ds.map(tokenize, batched=True)
    config = transformers.BertConfig(
        vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8, num_labels=2
    )
    model = transformers.BertForSequenceClassification(config)
    arguments = transformers.TrainingArguments(
        output_dir=str(imdb / "out"),
        per_device_train_batch_size=8,
        num_train_epochs=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=encoded["train"], eval_dataset=encoded["test"])
    trainer.train()
    trainer.evaluate()
    assert drawn and all(seen == {"train.csv"} for seen in drawn)
    assert names(capture, model) == {"train.csv"}
    assert capture.hooks.training.get(model)["steps"] == 5  # every step seen (``model(**inputs)``), not only the first
    capture.take_record()
    trainer.save_model(str(imdb / "model"))
    (output,) = capture.record.outputs
    assert output.source.name == str(imdb / "model") and output.source.version
    assert {os.path.basename(source.name) for source in output.provenance.sources} == {"train.csv"}
    assert output.model is not None and output.model["framework"] == "transformers"
    assert output.model["class"] == "transformers.models.bert.modeling_bert.BertForSequenceClassification"
    assert output.model["nParameters"] == sum(p.numel() for p in model.parameters())


def test_a_hook_fault_changes_nothing(
    capture: Capture, imdb: Path, monkeypatch: pytest.MonkeyPatch, fresh_error_counts: None
) -> None:
    from nblineage.kernel_ext.hooks import hf_datasets

    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(hf_datasets, "_split_sources", broken)
    monkeypatch.setattr(hf_datasets, "_remember_split", broken)  # DatasetDict.map's hook fails
    with pytest.warns(RuntimeWarning, match="your code ran normally"):
        ds = datasets.load_dataset("csv", data_files={"train": str(imdb / "train.csv")})
        mapped = ds.map(lambda row: {"n": 1})
    assert mapped["train"].num_rows == 40 and mapped["train"][0]["n"] == 1


def test_uninstrument_puts_back_static_and_class_methods() -> None:
    originals = {name: datasets.Dataset.__dict__[name] for name in ("from_pandas", "load_from_disk", "map")}
    instrumentor = HfDatasetsInstrumentor()
    instrumentor.instrument()
    assert all(datasets.Dataset.__dict__[name] is not original for name, original in originals.items())
    assert datasets.Dataset.from_pandas(pd.DataFrame({"a": [1]})).num_rows == 1
    instrumentor.uninstrument()
    assert all(datasets.Dataset.__dict__[name] is original for name, original in originals.items())


def test_hub_files_are_versioned_by_their_revision() -> None:
    from nblineage.kernel_ext.hooks.hf_datasets import _sources_of

    revision = "e6281661ce1c48d982bc483cf8a173c1bbeb5d31"
    (source,) = _sources_of([f"hf://datasets/stanfordnlp/imdb@{revision}/plain_text/train-00000-of-00001.parquet"])
    assert source.namespace == "hf://datasets" and source.version == revision
    assert source.name == "stanfordnlp/imdb/plain_text/train-00000-of-00001.parquet"


def test_nothing_imported_before_the_user_does() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from nblineage.kernel_ext.hooks import instrumentors\n"
        "for i in instrumentors(): i.instrument()\n"
        "libraries = {'datasets', 'torch', 'transformers', 'accelerate', 'lightning', 'pytorch_lightning'}\n"
        "loaded = libraries & set(sys.modules)\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- public notebooks in one real kernel ----------------------------------------------------------------------------
# Adapted from public code (data synthesized, nothing downloaded; the Hub's pretrained models replaced by small
# models trained here, the rest of each pipeline kept):
# - https://github.com/Michaelunkai/study2/blob/main/Artificial_Intelligence/Local/Transformers/Fine-tuning.py
#   (``load_dataset('csv', data_files={'train': ..., 'test': ...})``, ``dataset.map(preprocess, batched=True)``, a
#   model trained on ``encoded_dataset['train']`` and evaluated on ``['test']``): the IMDB fine-tuning case, with a
#   torch model through a DataLoader and with TF-IDF and scikit-learn;
# - https://github.com/DashAISoftware/DashAI/blob/develop/DashAI/back/models/scikit_learn/sklearn_like_model.py
#   (a scikit-learn model fit on ``dataset.to_pandas()``, saved with ``joblib.dump``), on splits saved with
#   ``save_to_disk`` and read back with ``load_from_disk``;
# - an image classifier on ``load_dataset("imagefolder", data_dir=...)`` with ``with_transform`` into a DataLoader;
# - ``Dataset.from_dict`` of lists taken from a frame, filtered and written with ``to_parquet``.

IMDB_TORCH = """
import torch
from torch import nn
from torch.utils.data import DataLoader
from datasets import load_dataset

dataset = load_dataset('csv', data_files={'train': 'train.csv', 'test': 'test.csv'})
vocab = {word: index + 1 for index, word in enumerate(sorted({w for t in dataset['train']['text'] for w in t.split()}))}

def preprocess(data):
    ids = [[vocab.get(word, 0) for word in text.split()][:8] for text in data['text']]
    return {'input_ids': [row + [0] * (8 - len(row)) for row in ids]}

encoded_dataset = dataset.map(preprocess, batched=True)
encoded_dataset.set_format('torch', columns=['input_ids', 'label'])
torch.manual_seed(0)
model = nn.Sequential(nn.EmbeddingBag(len(vocab) + 1, 8), nn.Linear(8, 2))
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2)
for epoch in range(2):
    model.train()
    for batch in DataLoader(encoded_dataset['train'], batch_size=16, shuffle=True):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(batch['input_ids']), batch['label'])
        loss.backward()
        optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for batch in DataLoader(encoded_dataset['test'], batch_size=16):
            correct += (model(batch['input_ids']).argmax(-1) == batch['label']).sum().item()
torch.save(model.state_dict(), 'imdb_model.pt')
"""
IMDB_TFIDF = """
import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
train, test = dataset['train'].with_format(None), dataset['test'].with_format(None)
vectorizer = TfidfVectorizer()
X_train = vectorizer.fit_transform(train['text'])
clf = LogisticRegression().fit(X_train, train['label'])
print(clf.score(vectorizer.transform(test['text']), test['label']))
joblib.dump(clf, 'tfidf_model.joblib')
"""
DASHAI_SPLITS = """
from datasets import load_dataset
raw = load_dataset('json', data_files={'train': 'iris_train.jsonl', 'validation': 'iris_valid.jsonl'})
raw.save_to_disk('iris_dataset')
"""
DASHAI_TRAIN = """
import joblib
from datasets import load_from_disk
from sklearn.ensemble import RandomForestClassifier

inputs_columns, outputs_columns = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'], 'species'

class SklearnLikeModel(RandomForestClassifier):
    def save(self, filename):
        joblib.dump(self, filename)

    def format_data(self, dataset):
        data_in_pandas = dataset.to_pandas()
        x = data_in_pandas.loc[:, inputs_columns]
        y = data_in_pandas[outputs_columns]
        return x, y

    def fit(self, dataset):
        x, y = self.format_data(dataset)
        return super().fit(x, y)

dataset = load_from_disk('iris_dataset')
model = SklearnLikeModel(n_estimators=10, random_state=0)
model.fit(dataset['train'])
probabilities = model.predict_proba(model.format_data(dataset['validation'])[0])
model.save('iris_model.joblib')
"""
IMAGES = """
import numpy as np
import torch
from datasets import load_dataset
images = load_dataset('imagefolder', data_dir='images')

def to_tensors(batch):
    pixels = [torch.from_numpy(np.asarray(image, dtype=np.float32).reshape(-1) / 255) for image in batch['image']]
    return {'pixels': pixels, 'label': batch['label']}

net = torch.nn.Linear(48, 2)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
for batch in torch.utils.data.DataLoader(images['train'].with_transform(to_tensors), batch_size=4):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(net(batch['pixels']), batch['label']).backward()
    optimizer.step()
net.eval()
with torch.no_grad():
    for batch in torch.utils.data.DataLoader(images['test'].with_transform(to_tensors), batch_size=4):
        net(batch['pixels'])
torch.save(net, 'image_model.pt')
"""

FROM_LISTS = """
import pandas as pd
from datasets import Dataset
frame = pd.read_csv('test.csv')
texts = frame['text'].tolist()
labels = list(frame['label'])
small = Dataset.from_dict({'text': texts, 'label': labels})
small.filter(lambda row: row['label'] == 1).to_parquet('positives.parquet')
"""


def iris_rows(seed: int, count: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    species = rng.integers(0, 3, count)
    return [
        {
            "sepal_length": float(5 + kind + rng.normal(0, 0.3)),
            "sepal_width": float(3 + rng.normal(0, 0.3)),
            "petal_length": float(1.5 + 2 * kind + rng.normal(0, 0.3)),
            "petal_width": float(0.2 + kind + rng.normal(0, 0.2)),
            "species": int(kind),
        }
        for kind in species
    ]


def upstream_files(store: object, root: Path, name: str) -> set[str]:
    """Every dataset and model upstream of ``root/name``, relative to ``root``."""
    from nblineage.lineage.graph import DatasetRef, upstream

    path = root / name
    return {
        os.path.relpath(node.name, root)
        for node in upstream(store, DatasetRef("file", str(path)))  # type: ignore[arg-type]
        if node.type != "job"
    }


def test_public_notebooks_link_each_model_to_exactly_its_splits(tmp_path: Path) -> None:
    from notebooks import run_notebook
    from PIL import Image

    from nblineage.lineage.store import Store

    reviews(80, 0).to_csv(tmp_path / "train.csv", index=False)
    reviews(40, 1).to_csv(tmp_path / "test.csv", index=False)
    pd.DataFrame(iris_rows(2, 60)).to_json(tmp_path / "iris_train.jsonl", orient="records", lines=True)
    pd.DataFrame(iris_rows(3, 20)).to_json(tmp_path / "iris_valid.jsonl", orient="records", lines=True)
    for split, label, count in (("train", "cat", 4), ("train", "dog", 4), ("test", "cat", 2), ("test", "dog", 2)):
        folder = tmp_path / "images" / split / label
        folder.mkdir(parents=True)
        for index in range(count):
            shade = (index * 30 + (120 if label == "dog" else 0)) % 256
            Image.new("RGB", (4, 4), (shade, shade, 0)).save(folder / f"{index}.png")
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {
        "NBLINEAGE_URL": url,
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(tmp_path / "hf-cache"),
    }
    cells = [IMDB_TORCH, IMDB_TFIDF, DASHAI_SPLITS, DASHAI_TRAIN, IMAGES, FROM_LISTS]
    run_notebook(tmp_path / "hf.ipynb", cells, env, timeout=180)
    with Store(url) as store:
        assert upstream_files(store, tmp_path, "imdb_model.pt") == {"train.csv"}
        assert upstream_files(store, tmp_path, "tfidf_model.joblib") == {"train.csv"}
        assert upstream_files(store, tmp_path, "iris_dataset/train") == {"iris_train.jsonl"}
        assert upstream_files(store, tmp_path, "iris_model.joblib") == {"iris_dataset/train", "iris_train.jsonl"}
        assert upstream_files(store, tmp_path, "image_model.pt") == {"images/train"}
        assert upstream_files(store, tmp_path, "positives.parquet") == {"test.csv"}
