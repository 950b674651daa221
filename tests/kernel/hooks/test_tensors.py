"""PyTorch training: data into tensors, datasets and loaders, and into the module trained on it (not one evaluated)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hooktools import RAW
from torch.utils.data import DataLoader, Dataset, TensorDataset

from nblineage.kernel_ext import columns
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import tensors
from nblineage.kernel_ext.hooks.models import TorchInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (TorchInstrumentor,)
LABELS = Source("file", "/data/labels.npy", "v3")


class Rows(Dataset):
    """A dataset class of the user's own, holding its data as attributes."""

    def __init__(self, X: torch.Tensor) -> None:
        self.X = X

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.X[index]


def shift(x: torch.Tensor) -> torch.Tensor:
    return x + torch.tensor([1.0])


def features(capture: Capture) -> torch.Tensor:
    array = np.arange(40, dtype=np.float32).reshape(10, 4)
    capture.read(RAW, array)
    return torch.from_numpy(array[:, :4])


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> None:
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(X).squeeze(1), y).backward()
    optimizer.step()


def test_a_module_trained_through_a_loader_derives_from_its_data(capture: Capture) -> None:
    X = features(capture)
    y = torch.zeros(10)
    capture.read(LABELS, y)
    assert capture.of(X).sources == {RAW}
    loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for xb, yb in loader:
        assert tensors.provenance_of(capture, xb).sources == {RAW, LABELS}
        train_step(model, optimizer, xb, yb)
    assert capture.of(model).sources == {RAW, LABELS}
    assert capture.of(model.state_dict()).sources == {RAW, LABELS}
    tensors.cell_ended(capture)
    assert capture.of(xb).sources == {RAW, LABELS}  # the last batch, tagged at the end of the cell
    facts = capture.hooks.training.get(model)
    assert facts["fitId"] and facts["steps"] == 3 and facts["optimizer"] == "torch.optim.sgd.SGD"
    assert not capture.of(model[0]) and not capture.hooks.training.get(model[0])  # the outermost module only


def test_only_data_whose_gradients_reach_a_step_trains(capture: Capture) -> None:
    """Validation data through the model in training mode with gradients on, its loss never backpropagated, and
    evaluation under eval(), no_grad and inference_mode: none of it is a source of the model."""
    train, val, test, other = (features(capture) for _ in range(4))
    for tensor, name in ((train, "train"), (val, "val"), (test, "test"), (other, "other")):
        capture.read(Source("file", f"/data/{name}.npy", "v1"), tensor)
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    optimizer = torch.optim.Adam(model.parameters())
    train_step(model, optimizer, train, torch.zeros(10))
    torch.nn.functional.mse_loss(model(val).squeeze(1), torch.zeros(10)).item()  # a validation loss, no backward
    model.eval()
    model(test)
    with torch.no_grad():
        model(test)
    with torch.inference_mode():
        model(other)
    model.train()
    train_step(model, optimizer, train, torch.zeros(10))
    assert {source.name for source in capture.of(model).sources} == {"/data/train.npy"}


def test_ops_on_a_batch(capture: Capture) -> None:
    X = features(capture)
    y = torch.zeros(10, 1)
    capture.read(LABELS, y)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for (xb,) in DataLoader(TensorDataset(X), batch_size=5):
        optimizer.zero_grad()
        torch.nn.MSELoss()(model(xb.double().float()), y[:5] + 0).backward()  # ops make untracked tensors
        optimizer.step()
    assert capture.of(model).sources == {RAW}  # the batch's, not the labels' (a tensor no hook saw)


def test_a_dataset_of_your_own_class_and_random_split(capture: Capture) -> None:
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train, _ = torch.utils.data.random_split(Rows(features(capture)), [6, 4])
    for batch in DataLoader(train, batch_size=3):
        train_step(model, optimizer, batch, torch.zeros(len(batch)))
    assert capture.of(model).sources == {RAW}


def test_batches_sliced_from_a_tensor_in_a_training_loop(capture: Capture) -> None:
    """The tutorial's loop: ``model(X[i:i + batch_size])`` trains on views of a tracked tensor."""
    X = features(capture)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for i in range(0, len(X), 5):
        train_step(model, optimizer, X[i : i + 5], torch.zeros(5))
    assert capture.of(model).sources == {RAW}


def test_fine_tuning_keeps_the_loaded_weights(capture: Capture, tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(4, 1).state_dict(), tmp_path / "w.pt")
    model = torch.nn.Linear(4, 1)
    model.load_state_dict(torch.load(tmp_path / "w.pt"))
    weights = next(iter(capture.record.inputs))
    optimizer, X = torch.optim.SGD(model.parameters(), lr=0.1), features(capture)
    for _ in range(2):  # an optimizer's first step finds the module it trains (its forward was not followed yet)
        train_step(model, optimizer, X, torch.zeros(10))
    assert capture.of(model).sources == {weights, RAW}


def test_predictions_of_a_trained_module_gathered_from_batches(capture: Capture) -> None:
    X = features(capture)
    model, optimizer = torch.nn.Linear(4, 1), None
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        train_step(model, optimizer, X, torch.zeros(10))
    fit_id = capture.hooks.training.get(model)["fitId"]
    model.eval()
    with torch.no_grad():
        whole = model(X)
        gathered = torch.cat([model(xb) for (xb,) in DataLoader(TensorDataset(X), batch_size=4)])
    assert capture.hooks.predictions.get(whole)["fitId"] == fit_id
    made = {"fitId": fit_id, "estimator": "torch.nn.modules.linear.Linear"}
    assert capture.hooks.last_prediction == (len(gathered), made)


def test_scripted_and_compiled_code_still_work(capture: Capture) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert torch.jit.script(shift)(torch.zeros(1)).tolist() == [1.0]  # torch.tensor is not wrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = torch.compile(torch.nn.Linear(2, 2), backend="eager")  # no warning about our global hook
    assert compiled(torch.ones(3, 2)).shape == (3, 2)


def test_uninstrument_removes_every_hook(capture: Capture) -> None:
    """Only the optimizer step hook is global; the classes of the modules an optimizer trains are followed."""
    steps = sys.modules["torch.optim.optimizer"]._global_optimizer_post_hooks
    assert not torch.nn.modules.module._global_forward_hooks
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    train_step(model, torch.optim.SGD(model.parameters(), lr=0.1), features(capture), torch.zeros(10))
    assert "__call__" in torch.nn.Sequential.__dict__ and "__call__" not in torch.nn.Linear.__dict__
    assert not model._forward_hooks  # nothing of nblineage in what the module pickles
    before = len(steps)
    instrumentor = TorchInstrumentor()
    instrumentor.instrument()
    assert len(steps) == before + 1
    instrumentor.uninstrument()
    assert len(steps) == before


def test_a_trained_module_still_pickles(capture: Capture, tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        train_step(model, optimizer, features(capture), torch.zeros(10))
    torch.save(model, tmp_path / "whole.pt")
    assert isinstance(torch.load(tmp_path / "whole.pt", weights_only=False), torch.nn.Sequential)


def test_the_rule_is_resolved_once_per_fit_and_again_for_new_data(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first steps on a loader's data, its further batches take the fast path (no gradient hook) and still
    count their steps; a validation loss on other data in grad mode, never backpropagated, adds nothing; training on
    that other data then adds it."""
    train, val = features(capture), features(capture)
    capture.read(Source("file", "/data/train.npy", "v1"), train)
    capture.read(Source("file", "/data/val.npy", "v1"), val)
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    armed: list[bool] = []  # a gradient hook put on a pending output's autograd node
    arm = tensors._arm
    monkeypatch.setattr(tensors, "_arm", lambda state: (armed.append(state.pending is not None), arm(state))[1])
    for _ in range(3):
        for (xb,) in DataLoader(TensorDataset(train), batch_size=2):
            train_step(model, optimizer, xb, torch.zeros(len(xb)))
        torch.nn.functional.mse_loss(model(val).squeeze(1), torch.zeros(10)).item()  # grad mode, no backward
    assert {source.name for source in capture.of(model).sources} == {"/data/train.npy"}
    assert capture.hooks.torch.known and capture.hooks.torch.fast is None
    assert capture.hooks.training.get(model)["steps"] == 15
    assert armed.count(True) <= 4  # the first fit's step and each validation loss (armed by the next batch), not 15
    train_step(model, optimizer, val, torch.zeros(10))  # now trained on it: the exact path again
    assert {source.name for source in capture.of(model).sources} == {"/data/train.npy", "/data/val.npy"}
    assert capture.hooks.training.get(model)["steps"] == 16


def test_weights_loaded_in_the_middle_of_a_fit_are_kept(capture: Capture, tmp_path: Path) -> None:
    """The fast path holds only while the module's provenance is what its last step left: loading weights into it
    sends the next batch down the exact path, so it derives from the weights and the data."""
    X = features(capture)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        train_step(model, optimizer, X, torch.zeros(10))
    torch.save(torch.nn.Linear(4, 1).state_dict(), tmp_path / "w.pt")
    model.load_state_dict(torch.load(tmp_path / "w.pt"))
    weights = next(source for source in capture.record.inputs if source.name.endswith("w.pt"))
    train_step(model, optimizer, X, torch.zeros(10))
    assert capture.of(model).sources == {weights, RAW}


def test_the_held_batch_is_let_go_at_the_end_of_the_cell(capture: Capture) -> None:
    X = features(capture)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for (xb,) in DataLoader(TensorDataset(X), batch_size=5):
        train_step(model, optimizer, xb, torch.zeros(5))
    state = capture.hooks.torch
    assert state.batch and state.batch[0] is xb
    tensors.cell_ended(capture)
    assert state.batch == () and not state.known and capture.of(xb).sources == {RAW}


def test_a_batch_drawn_before_validation_trains_on_its_own_data_not_validation(capture: Capture) -> None:
    """A training batch drawn, then a validation loop under ``no_grad`` (Lightning's mid-epoch validation), then the
    training step on a tensor made from that batch: the step's data is the training loader's, never validation's;
    and a loader no hook knows leaves no earlier batch standing for its own."""
    train, val = features(capture), features(capture)
    capture.read(Source("file", "/data/train.npy", "v1"), train)
    capture.read(Source("file", "/data/val.npy", "v1"), val)
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train_batches = iter(DataLoader(TensorDataset(train, torch.zeros(10)), batch_size=5))
    xb, yb = next(train_batches)
    with torch.no_grad():
        for vb, _ in DataLoader(TensorDataset(val, torch.zeros(10)), batch_size=5):
            model(vb)
    train_step(model, optimizer, xb * 1.0, yb)  # a tensor made from the batch (``xb.float()``)
    assert {source.name for source in capture.of(model).sources} == {"/data/train.npy"}
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 1))
    loose = iter(DataLoader(TensorDataset(torch.ones(10, 4), torch.zeros(10)), batch_size=5))
    ub, uy = next(loose)
    train_step(fresh, torch.optim.SGD(fresh.parameters(), lr=0.01), ub * 1.0, uy)
    assert not capture.of(fresh)


def two_sets(a: np.ndarray, b: np.ndarray) -> tuple[TensorDataset, TensorDataset]:
    """Two datasets made in one statement from tensors ``torch.tensor`` made (which no hook sees)."""
    return TensorDataset(torch.tensor(a)), TensorDataset(torch.tensor(b))


def test_datasets_given_untracked_tensors_take_what_their_own_call_reads(capture: Capture) -> None:
    train, val = np.ones((4, 2), dtype=np.float32), np.zeros((4, 2), dtype=np.float32)
    capture.read(RAW, train)
    capture.read(LABELS, val)
    first, second = two_sets(train, val)
    assert capture.of(first).sources == {RAW}
    assert capture.of(second).sources == {LABELS}
    assert capture.of(first).precision == "cell"


def test_two_loaders_zipped_train_on_both(capture: Capture) -> None:
    """``for (xa, ya), (xb, yb) in zip(a, b)``: the first loader's batch was drawn before the second's, and a module
    trained on both derives from both (the batch before, drawn by another iterator, is held too), a step counted
    once though one forward was on data it knew and the other not; a validation loop after it trains nothing."""
    first, second, val = features(capture), features(capture), features(capture)
    for name, data in (("first", first), ("second", second), ("val", val)):
        capture.read(Source("file", f"/data/{name}.npy", "v1"), data)
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    a = DataLoader(TensorDataset(first, torch.zeros(10)), batch_size=5)
    b = DataLoader(TensorDataset(second, torch.zeros(10)), batch_size=5)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert tensors.provenance_of(capture, xa).sources == capture.of(first).sources
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xa).squeeze(1), ya)
        (loss + torch.nn.functional.mse_loss(model(xb).squeeze(1), yb)).backward()
        optimizer.step()
    with torch.no_grad():
        for vb, _ in DataLoader(TensorDataset(val, torch.zeros(10)), batch_size=5):
            model(vb)
    assert {source.name for source in capture.of(model).sources} == {"/data/first.npy", "/data/second.npy"}
    assert capture.hooks.training.get(model)["steps"] == 2
    tensors.cell_ended(capture)  # the batch before validation's (the second loader's last) is tagged, then let go
    assert capture.hooks.torch.other_batch == () and capture.of(xb).sources == capture.of(second).sources


def test_a_module_called_through_its_forward_trains_on_every_batch(capture: Capture) -> None:
    """``logits = self.forward(x)`` (a Lightning module's ``training_step``) never goes through the module's call:
    each step counts the training batch drawn since the optimizer's last step, as a first step does."""
    first, second = features(capture), features(capture)
    for name, data in (("first", first), ("second", second)):
        capture.read(Source("file", f"/data/{name}.npy", "v1"), data)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for data in (first, second):
        for xb, yb in DataLoader(TensorDataset(data, torch.zeros(10)), batch_size=5):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model.forward(xb).squeeze(1), yb).backward()
            optimizer.step()
    assert {source.name for source in capture.of(model).sources} == {"/data/first.npy", "/data/second.npy"}
    assert capture.hooks.training.get(model)["steps"] == 4
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model.forward(torch.ones(2, 4)).squeeze(1), torch.zeros(2)).backward()
    optimizer.step()  # on no batch drawn since: nothing new, and not counted as a step on the data
    assert capture.hooks.training.get(model)["steps"] == 4


class Files(Dataset):
    """A dataset of the user's own reading each item's file when indexed (``__getitem__`` opens it)."""

    def __init__(self, capture: Capture, folder: str, count: int) -> None:
        self.capture, self.folder, self.count = capture, folder, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        item = torch.full((4,), float(index))
        self.capture.read(Source("file", f"/{self.folder}/{index}.txt", "v1"), item)  # a hook saw the file read
        return item, torch.tensor(float(index % 2))


def test_files_a_dataset_reads_as_it_is_indexed_are_what_its_batches_hold(capture: Capture) -> None:
    """A loader over a dataset that reads its files lazily: each batch derives from the files read to make it, the
    next epoch's iterator from all read so far; files a validation loader reads are no source of the model."""
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train = DataLoader(Files(capture, "train", 6), batch_size=3)
    for epoch in range(2):
        for number, (xb, yb) in enumerate(train):
            if epoch == 0 and number == 0:
                assert {source.name for source in tensors.provenance_of(capture, xb).sources} == {
                    f"/train/{index}.txt" for index in range(3)
                }
            train_step(model, optimizer, xb, yb)
    with torch.no_grad():
        for vb, _ in DataLoader(Files(capture, "val", 3), batch_size=3):
            model(vb)
    assert {source.name for source in capture.of(model).sources} == {f"/train/{index}.txt" for index in range(6)}


def test_a_tensor_an_op_makes_in_the_dataset_call_keeps_its_columns(capture: Capture) -> None:
    """``TensorDataset((X - mean) / std, y)``: arithmetic with numbers and row vectors, casts and elementwise
    functions keep each column where it was; ``@`` (or two tensors of the same shape) does not say which."""
    array = np.arange(40, dtype=np.float64).reshape(10, 4) ** 1.5
    columns.name_array(capture, array, ["age", "fare", "sibsp", "parch"])
    X = torch.tensor(array, dtype=torch.float32)
    mean, std, W = X.mean(0), X.std(0), torch.eye(4)
    normalized = TensorDataset((X - mean) / std, torch.zeros(10))
    scaled = TensorDataset(torch.log1p(X.abs()).float() * 2 - X.min(0).values, torch.zeros(10))
    mixed = TensorDataset((X - mean) @ W, torch.zeros(10))
    two = TensorDataset(X - X.flip(0), torch.zeros(10))
    assert tensors.tensor_columns(capture, normalized.tensors[0]) == ["age", "fare", "sibsp", "parch"]
    assert tensors.tensor_columns(capture, scaled.tensors[0]) == ["age", "fare", "sibsp", "parch"]
    assert tensors.tensor_columns(capture, mixed.tensors[0]) == []
    assert tensors.tensor_columns(capture, two.tensors[0]) == []


def test_loaders_sampling_parts_of_one_dataset_read_their_own_files(capture: Capture) -> None:
    """Train and validation loaders over one dataset with ``SubsetRandomSampler``s (a common split): the files the
    validation loader read are no source of the model, in any epoch."""
    data = Files(capture, "all", 8)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train = DataLoader(data, batch_size=2, sampler=torch.utils.data.SubsetRandomSampler(range(6)))
    val = DataLoader(data, batch_size=2, sampler=torch.utils.data.SubsetRandomSampler([6, 7]))
    for _ in range(2):
        for xb, yb in train:
            train_step(model, optimizer, xb, yb)
        with torch.no_grad():
            for xb, _ in val:
                model(xb)
    assert {source.name for source in capture.of(model).sources} == {f"/all/{index}.txt" for index in range(6)}
