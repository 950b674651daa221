"""A PyTorch model trained and scored inside a function of the notebook's own (``notebooks/03-text-versions.ipynb``).

The function reads a parquet file, splits it, turns the text into TF-IDF features (``vectorizer.transform(...)``, a
SciPy sparse matrix, ``.toarray()``, then ``torch.tensor``), trains a small classifier on the training part and
returns the accuracy of its predictions on the test part. None of those tensors is a notebook variable and no hook
sees ``toarray`` or ``torch.tensor``: the module's inputs are followed through the function's own statements, so
that the model derives from the file and the accuracy is its test metric. A second run on a rewritten file gives the
second model its own metric, not the first's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebooks import run_notebook

from nblineage.governance import questions
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

TRAIN = """
from pathlib import Path

import joblib
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from torch import nn


def train(version):
    data = pd.read_parquet("reviews.parquet")
    train_df, test_df = train_test_split(data, test_size=0.25, random_state=0, stratify=data.label)
    vectorizer = TfidfVectorizer(max_features=50)
    X_train = torch.tensor(vectorizer.fit_transform(train_df.text).toarray(), dtype=torch.float32)
    features = vectorizer.transform(test_df.text).toarray()
    X_test = torch.from_numpy(features).float()
    y_train = torch.tensor(train_df.label.to_numpy(), dtype=torch.float32)
    torch.manual_seed(0)
    classifier = nn.Sequential(nn.Linear(X_train.shape[1], 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-2)
    for _ in range(20):
        optimizer.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(classifier(X_train).squeeze(1), y_train).backward()
        optimizer.step()
    classifier.eval()
    with torch.no_grad():
        predicted = (classifier(X_test).squeeze(1) > 0).int().numpy()
    joblib.dump(vectorizer, f"tfidf_{version}.joblib")
    torch.save(classifier.state_dict(), f"sentiment_{version}.pt")
    return accuracy_score(test_df.label, predicted)
"""
REWRITE = """
pd.concat([pd.read_parquet("reviews.parquet"), more]).to_parquet("reviews.parquet", index=False)
"""


def reviews(rng: np.random.Generator, n: int) -> pd.DataFrame:
    labels = rng.integers(0, 2, n)
    words = [["dull", "boring", "awful"], ["superb", "moving", "charming"]]
    noisy = rng.random(n) < 0.3  # a review whose words say the other label: an accuracy short of 1
    texts = [
        " ".join([*rng.choice(["the", "film", "plot", "cast"], 6), *rng.choice(words[label ^ flip], 2)])
        for label, flip in zip(labels, noisy, strict=True)
    ]
    return pd.DataFrame({"text": texts, "label": labels})


def test_a_model_trained_and_scored_in_a_function_gets_its_test_metric(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    reviews(rng, 160).to_parquet(tmp_path / "reviews.parquet", index=False)
    reviews(rng, 80).to_parquet(tmp_path / "more.parquet", index=False)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = [
        TRAIN,
        'print(repr(train("v1")))',
        'more = pd.read_parquet("more.parquet")' + REWRITE,
        'print(repr(train("v2")))',
    ]

    notebook = run_notebook(tmp_path / "texts.ipynb", cells, env, timeout=300)
    accuracy = {version: float(notebook.cells[index].outputs[0]["text"]) for version, index in (("v1", 2), ("v2", 4))}

    with Store(store_url) as store:
        for version in ("v1", "v2"):
            model = DatasetRef("file", str(tmp_path / f"sentiment_{version}.pt"))
            metrics = questions.model_performance(store, model).metrics
            assert sorted((m.name, m.split, m.value) for m in metrics) == [
                ("accuracy_score", "test", pytest.approx(accuracy[version]))
            ], version
            inputs = questions.model_inputs(store, model).datasets
            assert {item.name for item in inputs if item.depth == 1} == {str(tmp_path / "reviews.parquet")}
            assert questions.model_inputs(store, model).function.framework == "pytorch"
