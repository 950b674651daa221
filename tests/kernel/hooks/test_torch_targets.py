"""Loss targets (``hooks/tensors.py``): a module trained with ``loss_fn(model(x), y)`` derives from the data of
``y`` too, a tensor of a file of its own the module never saw as input, whether a hook tracked it
(``torch.from_numpy``) or the cell's code made it (``torch.tensor(y)``, in a kernel); never from the targets of a
loss no backward reached (a validation loss)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from notebooks import model_source_names, run_notebook

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.models import TorchInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (TorchInstrumentor,)


def tracked(capture: Capture, name: str, shape: tuple[int, ...], integers: bool = False) -> torch.Tensor:
    rng = np.random.default_rng(len(name))
    array = rng.integers(0, 3, shape) if integers else rng.random(shape, dtype=np.float32)
    capture.read(Source("file", f"/data/{name}.npy", "v1"), array)
    return torch.from_numpy(array)


def names(capture: Capture, obj: Any) -> set[str]:
    return {Path(source.name).stem for source in capture.of(obj).sources}


def test_a_module_derives_from_the_targets_its_loss_was_computed_against(capture: Capture) -> None:
    x, y = tracked(capture, "x", (16, 3)), tracked(capture, "y", (16, 1))
    x_val, y_val = tracked(capture, "x_val", (8, 3)), tracked(capture, "y_val", (8, 1))
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for start in range(0, 16, 4):
        optimizer.zero_grad()
        loss = torch.nn.MSELoss()(model(x[start : start + 4]), y[start : start + 4])
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            torch.nn.MSELoss()(model(x_val), y_val)  # validation: no backward reaches it
    assert names(capture, model) == {"x", "y"}


def test_class_labels_of_their_own_file_reach_a_classifier(capture: Capture) -> None:
    features, labels = tracked(capture, "features", (12, 4)), tracked(capture, "labels", (12,), integers=True)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(3):
        optimizer.zero_grad()
        (torch.nn.CrossEntropyLoss()(model(features), labels) + 0.01 * model[0].weight.norm()).backward()
        optimizer.step()
    assert names(capture, model) == {"features", "labels"}


TRAIN_ON_TWO_FILES = """
import numpy as np
import torch
from torch import nn

x = np.load("x.npy")
y = np.load("y.npy")
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
xt = torch.tensor(x, dtype=torch.float32)
yt = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
for i in range(0, 64, 16):
    optimizer.zero_grad(); loss = nn.MSELoss()(model(xt[i:i + 16]), yt[i:i + 16]); loss.backward(); optimizer.step()
torch.save(model.state_dict(), "model.pt")
"""


def test_targets_the_cell_made_with_torch_tensor_reach_the_model(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    np.save(tmp_path / "x.npy", rng.random((64, 3)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.random(64).astype(np.float32))
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "soccer.ipynb", [TRAIN_ON_TWO_FILES], env, timeout=180)
    assert model_source_names(store_url, tmp_path / "model.pt") == {"x.npy", "y.npy"}
