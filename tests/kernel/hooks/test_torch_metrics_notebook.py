"""Metrics of a PyTorch model evaluated in a cell that reads no file, beside a scikit-learn model on the same split.

The shape of many tabular tutorials (and of ``notebooks/01-tabular-titanic.ipynb``): a random forest fit and scored
on ``X_test``, then an MLP trained on ``X_train`` as tensors, then evaluated on ``torch.tensor(X_test.to_numpy())``
made in the evaluating cell, which reads nothing itself. The test tensor must carry ``X_test``'s data when the MLP
is called on it, so that the MLP's predictions, and the accuracy computed from them, are the MLP's: not the forest's
(the latest predictions of the same length) and not missing.
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

SPLIT = """
import pandas as pd
from sklearn.model_selection import train_test_split
table = pd.read_csv("features.csv")
X = table.drop(columns="Survived")
y = table["Survived"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
"""
FOREST = """
import joblib
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
forest = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X_train, y_train)
forest_accuracy = accuracy_score(y_test, forest.predict(X_test))
joblib.dump(forest, "forest.joblib")
"""
TRAIN = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
train_set = TensorDataset(torch.tensor(X_train.to_numpy(), dtype=torch.float32),
                          torch.tensor(y_train.to_numpy(), dtype=torch.float32))
loader = DataLoader(train_set, batch_size=32, shuffle=True)
mlp = nn.Sequential(nn.Linear(X_train.shape[1], 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.Adam(mlp.parameters(), lr=1e-2)
loss_fn = nn.BCEWithLogitsLoss()
for epoch in range(5):
    mlp.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss_fn(mlp(xb).squeeze(1), yb).backward()
        optimizer.step()
"""
EVALUATE = """
test_inputs = torch.tensor(X_test.to_numpy(), dtype=torch.float32)
mlp.eval()
with torch.no_grad():
    mlp_predictions = (mlp(test_inputs).squeeze(1) > 0).int().numpy()
mlp_accuracy = accuracy_score(y_test, mlp_predictions)
torch.save(mlp.state_dict(), "mlp.pt")
print(repr(forest_accuracy), repr(mlp_accuracy))
"""


def test_each_model_gets_its_own_test_metric(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    features = pd.DataFrame(rng.normal(size=(240, 5)), columns=["Pclass", "Age", "Fare", "FamilySize", "Sex_male"])
    features["Survived"] = (features.Age + rng.normal(scale=0.8, size=240) > 0).astype(int)
    features.to_csv(tmp_path / "features.csv", index=False)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}

    notebook = run_notebook(tmp_path / "titanic.ipynb", [SPLIT, FOREST, TRAIN, EVALUATE], env, timeout=300)
    forest_accuracy, mlp_accuracy = map(float, notebook.cells[-1].outputs[0]["text"].split())

    with Store(store_url) as store:
        performance = {
            name: sorted(
                (metric.name, metric.split, metric.value)
                for metric in questions.model_performance(store, DatasetRef("file", str(tmp_path / name))).metrics
            )
            for name in ("forest.joblib", "mlp.pt")
        }
        mlp_inputs = {
            item.name for item in questions.model_inputs(store, DatasetRef("file", str(tmp_path / "mlp.pt"))).datasets
        }
    assert performance == {
        "forest.joblib": [("accuracy_score", "test", pytest.approx(forest_accuracy))],
        "mlp.pt": [("accuracy_score", "test", pytest.approx(mlp_accuracy))],
    }
    assert mlp_inputs == {str(tmp_path / "features.csv")}
