"""Realistic notebooks in real kernels: numpy files and loaded models link every model to exactly its sources.

The cases follow public examples (data synthesized with the same schemas, nothing downloaded):

- ML Mastery's "save and load a model with pickle" on the Pima Indians diabetes CSV (``numpy.loadtxt``, the
  features saved with ``np.save``, a model pickled, loaded again some time later, scored, retrained on a new
  batch read with ``np.genfromtxt`` and pickled again);
- a helper script that splits an ``.npz`` bundle into one joblib file per array (``dict(np.load("data.npz"))``),
  then a random forest trained on two of them;
- PyTorch's "saving and loading models" tutorial: a state dict saved, loaded into a fresh module with
  ``load_state_dict(torch.load(...))``, fine-tuned (on data of its own through a ``DataLoader``) and saved again,
  and a whole model saved with ``torch.save`` then loaded and re-saved; the training arrays written with
  ``ndarray.tofile`` and read with ``np.fromfile``;
- a training set too large for memory read through ``np.memmap`` (the Kaggle pattern of copying it into an array
  and deleting the map) and features computed into a ``w+`` memmap then flushed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from notebooks import run_notebook

from nblineage.cli import main
from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

PIMA_PREPARE = """
import numpy as np
dataset = np.loadtxt("pima-indians-diabetes.data.csv", delimiter=",")
unrelated = np.loadtxt("holidays.csv", delimiter=",")
X = dataset[:, 0:8]
Y = dataset[:, 8]
np.save("X.npy", X)
np.save("Y.npy", Y)
Y.tofile("labels.bin")
"""
PIMA_TRAIN = """
import pickle
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
X = np.load("X.npy")
Y = np.load("Y.npy")
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.33, random_state=7)
model = LogisticRegression(max_iter=1000)
model.fit(X_train, Y_train)
filename = "finalized_model.sav"
pickle.dump(model, open(filename, "wb"))
"""
PIMA_LATER = """
# some time later... load the model from disk
loaded_model = pickle.load(open(filename, "rb"))
result = loaded_model.score(X_test, Y_test)
print(result)
"""
PIMA_RETRAIN = """
new = np.genfromtxt("new_batch.csv", delimiter=",")
loaded_model.fit(new[:, 0:8], new[:, 8])
pickle.dump(loaded_model, open("retrained_model.sav", "wb"))
"""

SPLIT_BUNDLE = """
import joblib
import numpy as np
data = dict(np.load("data.npz"))
for key, value in data.items():
    joblib.dump(value=value, filename=key + ".joblib")
"""
TRAIN_FROM_PARTS = """
import joblib
from sklearn.ensemble import RandomForestClassifier
X = joblib.load("X.joblib")
y = joblib.load("y.joblib")
clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
joblib.dump(clf, "rf.joblib")
"""

TORCH_DATA = """
import numpy as np
rng = np.random.default_rng(0)
features = rng.normal(size=(64, 4)).astype(np.float32)
features.tofile("pretrain_features.bin")
"""
TORCH_PRETRAIN = """
import numpy as np
import torch
from torch import nn

class TheModelClass(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

torch.manual_seed(0)
model = TheModelClass()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
inputs = torch.from_numpy(np.fromfile("pretrain_features.bin", dtype=np.float32).reshape(-1, 4))
for epoch in range(5):
    optimizer.zero_grad()
    loss = model(inputs).pow(2).mean()
    loss.backward()
    optimizer.step()
torch.save(model.state_dict(), "pretrained.pt")
torch.save(model, "entire_model.pt")
"""
TORCH_FINETUNE = """
model = TheModelClass()
model.load_state_dict(torch.load("pretrained.pt", weights_only=True))
model.train()
optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
for epoch in range(3):
    optimizer.zero_grad()
    loss = model(torch.ones(16, 4)).pow(2).mean()
    loss.backward()
    optimizer.step()
torch.save(model.state_dict(), "finetuned.pt")
whole = torch.load("entire_model.pt", weights_only=False)
whole.eval()
torch.save(whole, "entire_copy.pt")
"""
MEMMAP_FEATURES = """
import numpy as np
X = np.load("X.npy")
out = np.memmap("features.dat", dtype="float64", mode="w+", shape=X.shape)
out[:] = X * 2
out.flush()
"""
MEMMAP_TRAIN = """
import pickle
from sklearn.linear_model import LogisticRegression
fp = np.memmap("train.dat", dtype="float32", mode="r", shape=(40, 6))
data = np.zeros(shape=(40, 6), dtype="float32")
data[:] = fp[:]
del fp
clf = LogisticRegression().fit(data[:, :-1], data[:, -1])
with open("model.pkl", "wb") as f:
    pickle.dump(clf, f)
"""


def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}


def sources(store: Store, path: Path) -> dict[str, int]:
    """Every file upstream of ``path`` (datasets and models), by file name, with its nearest depth."""
    found: dict[str, int] = {}
    for node in upstream(store, DatasetRef("file", str(path))):
        if node.type != "job":
            name = Path(node.name).name
            found[name] = min(found.get(name, node.depth), node.depth)
    return found


def explained(capsys: pytest.CaptureFixture[str], path: Path) -> set[str]:
    """The datasets ``nblineage explain`` names for the model at ``path``."""
    capsys.readouterr()
    assert main(["explain", str(path), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["model"]["kind"] == "file"
    return {Path(dataset["name"]).name for dataset in answer["inputs"]["datasets"]}


def pima_rows(rng: np.random.Generator, count: int) -> str:
    """Rows shaped like the Pima Indians diabetes data: 8 measurements and the class."""
    columns = [
        rng.integers(0, 15, count),
        rng.integers(50, 200, count),
        rng.integers(40, 110, count),
        rng.integers(0, 50, count),
        rng.integers(0, 400, count),
        rng.normal(32, 7, count).round(1),
        rng.uniform(0.08, 2.4, count).round(3),
        rng.integers(21, 80, count),
        rng.integers(0, 2, count),
    ]
    return "\n".join(",".join(str(value) for value in row) for row in zip(*columns, strict=True)) + "\n"


def test_pima_pickle_saved_loaded_scored_and_retrained(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    rng = np.random.default_rng(7)
    (tmp_path / "pima-indians-diabetes.data.csv").write_text(pima_rows(rng, 120))
    (tmp_path / "new_batch.csv").write_text(pima_rows(rng, 40))
    (tmp_path / "holidays.csv").write_text("1,2\n3,4\n")
    run_notebook(tmp_path / "prepare.ipynb", [PIMA_PREPARE], env(tmp_path, store_url))
    notebook = run_notebook(tmp_path / "train.ipynb", [PIMA_TRAIN, PIMA_LATER, PIMA_RETRAIN], env(tmp_path, store_url))
    assert 0.0 <= float(notebook.cells[2].outputs[0]["text"]) <= 1.0
    with Store(store_url) as store:
        assert sources(store, tmp_path / "X.npy") == {"pima-indians-diabetes.data.csv": 1}
        assert sources(store, tmp_path / "labels.bin") == {"pima-indians-diabetes.data.csv": 1}  # Y.tofile(...)
        assert sources(store, tmp_path / "finalized_model.sav") == {
            "X.npy": 1,
            "Y.npy": 1,
            "pima-indians-diabetes.data.csv": 2,
        }
        assert sources(store, tmp_path / "retrained_model.sav") == {
            "finalized_model.sav": 1,
            "new_batch.csv": 1,
            "X.npy": 2,
            "Y.npy": 2,
            "pima-indians-diabetes.data.csv": 3,
        }
    assert explained(capsys, tmp_path / "retrained_model.sav") == {
        "new_batch.csv",
        "X.npy",
        "Y.npy",
        "pima-indians-diabetes.data.csv",
    }


def test_npz_bundle_split_into_joblib_parts_then_trained(tmp_path: Path, store_url: str) -> None:
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "data.npz", X=rng.normal(size=(60, 3)), y=np.tile([0, 1], 30), ids=np.arange(60))
    run_notebook(tmp_path / "split.ipynb", [SPLIT_BUNDLE, TRAIN_FROM_PARTS], env(tmp_path, store_url))
    with Store(store_url) as store:
        for part in ("X", "y", "ids"):
            assert sources(store, tmp_path / f"{part}.joblib") == {"data.npz": 1}
        assert sources(store, tmp_path / "rf.joblib") == {"X.joblib": 1, "y.joblib": 1, "data.npz": 2}


def test_torch_state_dict_loaded_fine_tuned_and_whole_model_resaved(tmp_path: Path, store_url: str) -> None:
    run_notebook(
        tmp_path / "torch.ipynb", [TORCH_DATA, TORCH_PRETRAIN, TORCH_FINETUNE], env(tmp_path, store_url), timeout=300
    )
    with Store(store_url) as store:
        assert sources(store, tmp_path / "entire_copy.pt") == {"entire_model.pt": 1} | {
            name: depth + 1 for name, depth in sources(store, tmp_path / "entire_model.pt").items()
        }
        assert "entire_model.pt" not in sources(store, tmp_path / "finetuned.pt")
        assert sources(store, tmp_path / "pretrained.pt") == {"pretrain_features.bin": 1}  # the cell's read
        assert sources(store, tmp_path / "entire_model.pt") == {"pretrain_features.bin": 1}
        assert sources(store, tmp_path / "finetuned.pt") == {"pretrained.pt": 1, "pretrain_features.bin": 2}


def test_torch_fine_tuning_data_reaches_the_model(tmp_path: Path, store_url: str) -> None:
    """The fine-tuning cell reads its data too (through a DataLoader): the model it saves derives exactly from the
    loaded weights and that data, and not from the whole model it loads afterwards."""
    finetune = TORCH_FINETUNE.replace(
        "for epoch in range(3):",
        "from torch.utils.data import DataLoader, TensorDataset\n"
        'tuning = torch.from_numpy(np.load("finetune.npy"))\n'
        "loader = DataLoader(TensorDataset(tuning), batch_size=8, shuffle=True)\n"
        "for (batch,) in loader:",
    ).replace("torch.ones(16, 4)", "batch")
    np.save(tmp_path / "finetune.npy", np.random.default_rng(5).normal(size=(32, 4)).astype(np.float32))
    run_notebook(
        tmp_path / "torch.ipynb", [TORCH_DATA, TORCH_PRETRAIN, finetune], env(tmp_path, store_url), timeout=300
    )
    with Store(store_url) as store:
        assert sources(store, tmp_path / "finetuned.pt") == {
            "pretrained.pt": 1,
            "finetune.npy": 1,
            "pretrain_features.bin": 2,
        }


def test_memmap_reads_and_flushed_writes(tmp_path: Path, store_url: str) -> None:
    rng = np.random.default_rng(5)
    np.save(tmp_path / "X.npy", rng.normal(size=(10, 3)))
    train = rng.normal(size=(40, 6)).astype("float32")
    train[:, -1] = np.arange(40) % 2
    train.tofile(tmp_path / "train.dat")
    run_notebook(tmp_path / "memmap.ipynb", [MEMMAP_FEATURES, MEMMAP_TRAIN], env(tmp_path, store_url))
    with Store(store_url) as store:
        assert sources(store, tmp_path / "features.dat") == {"X.npy": 1}
        assert sources(store, tmp_path / "model.pkl") == {"train.dat": 1}
