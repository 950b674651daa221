"""A fit's steady state (``hooks/tensors.py``): once a module's steps on a loader's data are known, each later step
is decided by identity checks in the hooks, and every rule of the exact path still holds (what trains, what is
evaluated, which steps count)."""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hooktools import RAW
from torch.utils.data import DataLoader, TensorDataset

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import tensors
from nblineage.kernel_ext.hooks.models import TorchInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (TorchInstrumentor,)


def tracked(capture: Capture, name: str, rows: int = 12) -> torch.Tensor:
    array = np.random.default_rng(len(name)).random((rows, 4), dtype=np.float32)
    capture.read(Source("file", f"/data/{name}.npy", "v1"), array)
    return torch.from_numpy(array)


def names(capture: Capture, obj: Any) -> set[str]:
    return {source.name for source in capture.of(obj).sources}


def setup(capture: Capture) -> tuple[torch.nn.Module, torch.optim.Optimizer, DataLoader]:
    model = torch.nn.Sequential(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(tracked(capture, "train"), torch.zeros(12)), batch_size=2)
    return model, optimizer, loader


def step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor) -> None:
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(xb).squeeze(1), yb).backward()
    optimizer.step()


def test_a_steady_fit_is_decided_by_identity_checks(capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """After its first steps, each epoch's first batch finds the fit again and its other batches take the steady
    state: no general check a batch, every step counted, nothing but the training data in the model."""
    model, optimizer, loader = setup(capture)
    val = DataLoader(TensorDataset(tracked(capture, "val"), torch.zeros(12)), batch_size=2)
    checked: list[bool] = []
    on_known_batch = tensors._on_known_batch
    monkeypatch.setattr(tensors, "_on_known_batch", lambda *args: checked.append(on_known_batch(*args)) or checked[-1])
    for _ in range(3):
        for xb, yb in loader:
            step(model, optimizer, xb, yb)
        with torch.no_grad():
            for vb, _ in val:
                model(vb)
    state = capture.hooks.torch
    assert state.steady is model and state.steady_optimizer is optimizer
    assert capture.hooks.training.get(model)["steps"] == 18
    assert names(capture, model) == {"/data/train.npy"}
    assert 0 < checked.count(True) <= 3  # the second batch, then each epoch's first (a new iterator), not 17


def test_a_steady_fit_counts_only_the_steps_a_backward_from_it_reached(capture: Capture) -> None:
    """In the steady state: a forward without a backward before a step counts nothing; two backwards before one step
    (gradients accumulated) count one; a step of an optimizer that does not train the module counts nothing, nor a
    step after a backward that no gradient of the module's (frozen) reached."""
    model, optimizer, loader = setup(capture)
    other = torch.nn.Linear(2, 1)
    unrelated = torch.optim.SGD(other.parameters(), lr=0.01)
    batches = iter(DataLoader(loader.dataset, batch_size=1))
    for _ in range(3):
        step(model, optimizer, *next(batches))
    facts = capture.hooks.training.get(model)
    assert facts["steps"] == 3 and capture.hooks.torch.steady is model
    xb, yb = next(batches)
    model(xb)
    optimizer.step()  # no backward from the module since its last step
    assert facts["steps"] == 3
    optimizer.zero_grad()
    for _ in range(2):
        torch.nn.functional.mse_loss(model(xb).squeeze(1), yb).backward()
    unrelated.step()
    assert facts["steps"] == 3
    optimizer.step()
    assert facts["steps"] == 4
    step(model, optimizer, *next(batches))
    assert facts["steps"] == 5
    xb, _ = next(batches)
    model.requires_grad_(False)
    model(xb)
    torch.ones(1, requires_grad=True).sum().backward()  # a backward through no module
    optimizer.step()
    assert facts["steps"] == 5
    model.requires_grad_(True)
    step(model, optimizer, *next(batches))
    assert facts["steps"] == 6


def test_a_steady_fit_evaluated_on_its_batch_predicts(capture: Capture) -> None:
    """The module of a steady fit called on the training batch under ``no_grad`` or in ``eval()`` mode is evaluated
    (its output the fit's predictions), not trained."""
    model, optimizer, loader = setup(capture)
    batches = iter(loader)
    for _ in range(3):
        step(model, optimizer, *next(batches))
    fit_id = capture.hooks.training.get(model)["fitId"]
    xb, yb = next(batches)
    with torch.no_grad():
        out = model(xb)
    assert capture.hooks.predictions.get(out)["fitId"] == fit_id
    model.eval()
    out = model(xb)
    assert capture.hooks.predictions.get(out)["fitId"] == fit_id
    model.train()
    step(model, optimizer, xb, yb)
    assert capture.hooks.training.get(model)["steps"] == 4


def test_a_steady_fit_left_when_the_module_is_tagged_or_new_data_comes(capture: Capture, tmp_path: Path) -> None:
    """A tag replacing the module's provenance and weights loaded into it in the middle of a steady fit (tags: the
    registry's serial moves), and a batch of another loader's data (drawn with no tag since), all take the exact
    path: the model derives from the first data, the new data and the weights."""
    model, optimizer, loader = setup(capture)
    more = iter(DataLoader(TensorDataset(tracked(capture, "more"), torch.zeros(12)), batch_size=2))
    batches = iter(loader)
    for _ in range(3):
        step(model, optimizer, *next(batches))
    capture.registry.tag(model, capture.exact([Source("file", "/data/base.pt", "v1")]))
    step(model, optimizer, *next(batches))
    assert names(capture, model) == {"/data/base.pt", "/data/train.npy"}
    step(model, optimizer, *next(batches))
    step(model, optimizer, *next(more))
    assert names(capture, model) == {"/data/base.pt", "/data/train.npy", "/data/more.npy"}
    batches = iter(loader)
    for _ in range(3):
        step(model, optimizer, *next(batches))
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 1)).state_dict(), tmp_path / "w.pt")
    model.load_state_dict(torch.load(tmp_path / "w.pt"))
    assert "w.pt" in {Path(name).name for name in names(capture, model)}
    for _ in range(2):
        step(model, optimizer, *next(batches))
    assert {Path(name).name for name in names(capture, model)} == {"base.pt", "w.pt", "train.npy", "more.npy"}
    for xb, yb in more:
        step(model, optimizer, xb, yb)
    assert {Path(name).name for name in names(capture, model)} == {"base.pt", "w.pt", "train.npy", "more.npy"}
    assert capture.hooks.training.get(model)["steps"] == 16


def test_unrelated_tags_between_steps_leave_the_count_exact(capture: Capture) -> None:
    """A tag of anything between steps (the registry's serial moves each step): each step is checked again, and
    counted once."""
    model, optimizer, loader = setup(capture)
    for number, (xb, yb) in enumerate(loader):
        capture.read(RAW, torch.zeros(number + 1))
        step(model, optimizer, xb, yb)
    assert capture.hooks.training.get(model)["steps"] == 6
    assert names(capture, model) == {"/data/train.npy"}


def test_a_new_cell_finds_the_fit_again(capture: Capture) -> None:
    """The end of a cell leaves no steady state; a fit in the next cell counts its own steps."""
    model, optimizer, loader = setup(capture)
    for xb, yb in loader:
        step(model, optimizer, xb, yb)
    tensors.cell_ended(capture)
    state = capture.hooks.torch
    assert state.steady is None and state.steady_optimizer is None and not state.steady_facts
    capture.cell_run_id = "next-cell"
    for xb, yb in loader:
        step(model, optimizer, xb, yb)
    facts = capture.hooks.training.get(model)
    assert facts["steps"] == 6 and facts["trainingRunId"] == "next-cell"
    assert state.steady is model


def test_backward_is_a_plain_function_that_pickles_and_goes_away() -> None:
    """``torch.autograd.backward`` is replaced once (a second instrumentor leaves it), keeps its signature, pickles
    by reference, and is put back by ``uninstrument``."""
    original = torch.autograd.backward
    first, second = TorchInstrumentor(), TorchInstrumentor()
    first.instrument()
    try:
        patched = torch.autograd.backward
        assert patched is not original and patched.__wrapped__ is original
        assert inspect.signature(patched) == inspect.signature(original)
        assert pickle.loads(pickle.dumps(patched)) is patched
        second.instrument()
        assert torch.autograd.backward is patched
        second.uninstrument()
        assert torch.autograd.backward is patched
    finally:
        first.uninstrument()
    assert torch.autograd.backward is original
