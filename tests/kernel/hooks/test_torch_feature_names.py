"""A PyTorch model trained on a frame's values has the frame's columns as features, as a scikit-learn one has.

A notebook reads a CSV, engineers a column (``FamilySize`` from ``SibSp`` and ``Parch``) and trains small modules on
tensors made from the frame's values, each as notebooks do it: ``torch.tensor(X.to_numpy(), dtype=torch.float32)``
in a ``TensorDataset`` a ``DataLoader`` draws batches from; ``torch.from_numpy(X.values).float()`` trained on
whole; ``torch.as_tensor(np.array(X)).to(torch.float32)`` in a ``random_split`` part. Each saved model's
``featureNames`` are the frame's columns, and ``explain`` traces the engineered one to its source columns. A module
trained on a tensor no frame's columns reached, or on values two frames with other columns share (which of them is
unknown), has none: the hook never guesses.

The same notebook keeps the best weights of a fit on standardized inputs (``TensorDataset((inputs - mean) / std,
labels)``, ``copy.deepcopy(model.state_dict())`` each better epoch, saved after training went on), and saves models
as TorchScript, ``torch.export`` and safetensors files: each is its module's model, with its data, features, class,
parameter count and format; a module given a safetensors file's weights derives from that file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from notebooks import model_source_names, run_notebook

from nblineage.governance import questions
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

PREPARE = """
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

df = pd.read_csv("passengers.csv")
df["FamilySize"] = df.SibSp + df.Parch + 1
X = df[["Age", "Fare", "FamilySize"]]
y = df["Survived"]


def fit(model, batches, epochs=3):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for xb, yb in batches:
            optimizer.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb).backward()
            optimizer.step()
    return model
"""
LOADER = """
torch.manual_seed(0)
train_set = TensorDataset(
    torch.tensor(X.to_numpy(), dtype=torch.float32), torch.tensor(y.to_numpy(), dtype=torch.float32)
)
loader = DataLoader(train_set, batch_size=16, shuffle=True)
by_loader = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
fit(by_loader, loader)
torch.save(by_loader.state_dict(), "by_loader.pt")
"""
WHOLE = """
inputs = torch.from_numpy(X.values).float()
labels = torch.tensor(y.to_numpy(), dtype=torch.float32)
whole = nn.Linear(3, 1)
optimizer = torch.optim.SGD(whole.parameters(), lr=0.1)
for _ in range(5):
    optimizer.zero_grad()
    nn.functional.binary_cross_entropy_with_logits(whole(inputs).squeeze(1), labels).backward()
    optimizer.step()
torch.save(whole, "whole.pt")
"""
SPLIT = """
part, _ = random_split(TensorDataset(torch.as_tensor(np.array(X)).to(torch.float32), labels), [0.75, 0.25])
by_split = fit(nn.Linear(3, 1), DataLoader(part, batch_size=16))
torch.save(by_split.state_dict(), "by_split.pt")
"""
UNNAMED = """
values = np.random.default_rng(0).normal(size=(len(df), 3)) + df[["Age"]].to_numpy() * 0
noise = torch.tensor(values, dtype=torch.float32)
unnamed = fit(nn.Linear(3, 1), DataLoader(TensorDataset(noise, labels), batch_size=16))
torch.save(unnamed.state_dict(), "unnamed.pt")
"""
AMBIGUOUS = """
same = X.rename(columns={"Age": "a", "Fare": "b", "FamilySize": "c"}).to_numpy()
either = torch.tensor(X.to_numpy(), dtype=torch.float32)
ambiguous = fit(nn.Linear(3, 1), DataLoader(TensorDataset(either, labels), batch_size=16))
torch.save(ambiguous.state_dict(), "ambiguous.pt")
"""

NORMALIZED_BEST = """
import copy

mean, std = inputs.mean(0), inputs.std(0)
normalized_set = TensorDataset((inputs - mean) / std, labels)
normalized = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.Adam(normalized.parameters(), lr=1e-2)
best_loss, best_weights = float("inf"), None
for epoch in range(3):
    for xb, yb in DataLoader(normalized_set, batch_size=32):
        optimizer.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(normalized(xb).squeeze(1), yb)
        loss.backward()
        optimizer.step()
    if epoch == 0 or loss.item() < best_loss:
        best_loss = loss.item()
        best_weights = copy.deepcopy(normalized.state_dict())
torch.save(best_weights, "best.pt")
"""
FORMATS = """
from safetensors.torch import load_model, save_file, save_model

torch.jit.save(torch.jit.script(whole), "whole_scripted.pt")
torch.export.save(torch.export.export(by_loader, (inputs[:2],)), "by_loader.pt2")
save_file(by_loader.state_dict(), "by_loader.safetensors")
save_model(whole, "whole.safetensors")
reloaded = nn.Linear(3, 1)
load_model(reloaded, "whole.safetensors")
torch.save(reloaded, "reloaded.pt")
"""
SAVED = {  # model file -> (class, parameters, format) of the model each later cell saves
    "best.pt": ("torch.nn.modules.container.Sequential", 3 * 8 + 8 + 8 + 1, "state_dict"),
    "whole_scripted.pt": ("torch.nn.modules.linear.Linear", 4, "torchscript"),
    "by_loader.pt2": ("torch.nn.modules.container.Sequential", 3 * 8 + 8 + 8 + 1, "torch.export"),
    "by_loader.safetensors": ("torch.nn.modules.container.Sequential", 3 * 8 + 8 + 8 + 1, "safetensors"),
    "whole.safetensors": ("torch.nn.modules.linear.Linear", 4, "safetensors"),
}


def passengers(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "Age": rng.normal(30, 12, n).round(1),
            "Fare": rng.lognormal(2.5, 1.0, n).round(2),
            "SibSp": rng.poisson(0.5, n),
            "Parch": rng.poisson(0.4, n),
            "Survived": rng.integers(0, 2, n),
        }
    )


def test_a_module_trained_on_a_frames_values_has_its_columns_as_features(tmp_path: Path) -> None:
    passengers(120).to_csv(tmp_path / "passengers.csv", index=False)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = ["%load_ext nblineage", PREPARE, LOADER, WHOLE, SPLIT, UNNAMED, AMBIGUOUS, NORMALIZED_BEST, FORMATS]

    run_notebook(tmp_path / "torch_features.ipynb", cells, env, timeout=300)

    source = str(tmp_path / "passengers.csv")
    with Store(store_url) as store:
        for name in ("by_loader.pt", "whole.pt", "by_split.pt", *SAVED):
            inputs = questions.model_inputs(store, DatasetRef("file", str(tmp_path / name)))
            assert {item.name for item in inputs.datasets} == {source}, (name, inputs.datasets)
            assert [feature.name for feature in inputs.features] == ["Age", "Fare", "FamilySize"], name
            traced = {feature.name: {(c.name, c.field) for c in feature.columns} for feature in inputs.features}
            assert traced["FamilySize"] == {(source, "SibSp"), (source, "Parch")}, (name, traced)
            assert traced["Age"] == {(source, "Age")}, (name, traced)
        for name, (model_class, parameters, file_format) in SAVED.items():
            function = questions.model_inputs(store, DatasetRef("file", str(tmp_path / name))).function
            assert (function.framework, function.model_class) == ("pytorch", model_class), name
            assert (function.details["nParameters"], function.details["format"]) == (parameters, file_format), name
        assert model_source_names(store_url, tmp_path / "reloaded.pt") == {"passengers.csv", "whole.safetensors"}
        for name in ("unnamed.pt", "ambiguous.pt"):
            inputs = questions.model_inputs(store, DatasetRef("file", str(tmp_path / name)))
            assert {item.name for item in inputs.datasets} >= {source}, name  # tracked, but with no features
            assert inputs.features == (), (name, inputs.features)
