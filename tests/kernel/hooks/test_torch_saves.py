"""PyTorch model files beside ``torch.save``: TorchScript, ``torch.export``, safetensors, and the best weights kept
with ``copy.deepcopy(model.state_dict())``. Each save is a model output with its module's training data,
framework, class and parameter count; each load a read the object loaded (or loaded into) carries."""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch as safetensors_torch
import torch
from hooktools import RAW
from torch.utils.data import DataLoader, TensorDataset

from nblineage.kernel_ext.capture import Capture, Output
from nblineage.kernel_ext.hooks.models import SafetensorsInstrumentor, TorchInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor

INSTRUMENTORS = (TorchInstrumentor, SafetensorsInstrumentor, PandasInstrumentor)
PARAMETERS = 4 * 3 + 3 + 3 * 1 + 1


def trained_model(capture: Capture, steps: int = 3) -> torch.nn.Sequential:
    """A small module trained over a loader on a tracked tensor (raw.csv)."""
    X = torch.from_numpy(np.arange(40, dtype=np.float32).reshape(10, 4) / 40)
    capture.read(RAW, X)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(steps):
        for (xb,) in DataLoader(TensorDataset(X), batch_size=5):
            optimizer.zero_grad()
            model(xb).pow(2).mean().backward()
            optimizer.step()
    return model


def saved(capture: Capture, path: Path) -> Output:
    found = [output for output in capture.record.outputs if output.source.name == str(path)]
    assert len(found) == 1, capture.record.outputs
    return found[0]


def assert_model(output: Output, fit_id: str, file_format: str) -> None:
    assert output.provenance.sources == {RAW}
    assert output.facets == {"datasetType": {"datasetType": "MODEL"}}
    model = output.model
    assert model is not None, output
    assert (model["framework"], model["class"]) == ("pytorch", "torch.nn.modules.container.Sequential")
    assert (model["nParameters"], model["fitId"], model["format"]) == (PARAMETERS, fit_id, file_format)


def test_torchscript_export_and_safetensors_files_are_model_saves_and_loads(capture: Capture, tmp_path: Path) -> None:
    model = trained_model(capture)  # the libraries' functions looked up when called: they were imported unpatched
    fit_id = capture.hooks.training.get(model)["fitId"]
    example = torch.ones(2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(model)
        traced = torch.jit.trace(model, example)
    torch.jit.save(scripted, tmp_path / "scripted.pt")
    scripted.save(str(tmp_path / "method.pt"))  # what torch.jit.save calls: one output each
    torch.jit.save(traced, tmp_path / "traced.pt")
    torch.export.save(torch.export.export(model, (example,)), tmp_path / "exported.pt2")
    safetensors_torch.save_file(model.state_dict(), tmp_path / "weights.safetensors")
    safetensors_torch.save_model(model, str(tmp_path / "model.safetensors"))
    assert len(capture.record.outputs) == 6, " ".join(
        Path(output.source.name).name for output in capture.record.outputs
    )
    for name in ("scripted.pt", "method.pt", "traced.pt"):
        assert_model(saved(capture, tmp_path / name), fit_id, "torchscript")
    assert_model(saved(capture, tmp_path / "exported.pt2"), fit_id, "torch.export")
    for name in ("weights.safetensors", "model.safetensors"):
        assert_model(saved(capture, tmp_path / name), fit_id, "safetensors")

    loaded = torch.jit.load(tmp_path / "scripted.pt")
    assert torch.equal(loaded(example), model(example)) and torch.equal(scripted(example), model(example))
    program = torch.export.load(tmp_path / "exported.pt2")
    weights = safetensors_torch.load_file(tmp_path / "weights.safetensors")
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    safetensors_torch.load_model(fresh, tmp_path / "model.safetensors")
    assert torch.equal(fresh(example), model(example))
    for obj, name in ((loaded, "scripted.pt"), (program, "exported.pt2"), (weights, "weights.safetensors")):
        assert {source.name for source in capture.of(obj).sources} == {str(tmp_path / name)}
    assert {source.name for source in capture.of(fresh).sources} == {str(tmp_path / "model.safetensors")}
    assert {source.name for source in capture.record.inputs} >= {
        str(tmp_path / name) for name in ("scripted.pt", "exported.pt2", "weights.safetensors", "model.safetensors")
    }


def test_the_best_weights_deep_copied_keep_their_model(capture: Capture, tmp_path: Path) -> None:
    """``best = copy.deepcopy(model.state_dict())``, training going on, then ``torch.save(best, ...)``: the copy is
    the model's state dict (its class, fit, parameter count and data), and deep copies are what they were."""
    model = trained_model(capture)
    best = copy.deepcopy(model.state_dict())
    fit_id = capture.hooks.training.get(model)["fitId"]
    other = torch.nn.Sequential(torch.nn.Linear(4, 1))  # another module's weights, never trained
    plain = OrderedDict(a=[1, 2], b={"c": "d"})
    plain.extra = "kept"  # type: ignore[attr-defined]
    copied = copy.deepcopy(plain)
    assert copied == {"a": [1, 2], "b": {"c": "d"}} and copied["a"] is not plain["a"] and copied.extra == "kept"
    assert type(copied) is OrderedDict and not capture.of(copied)
    torch.save(best, tmp_path / "best.pt")
    torch.save(copy.deepcopy(other.state_dict()), tmp_path / "other.pt")
    output = saved(capture, tmp_path / "best.pt")
    assert output.provenance.sources == {RAW}
    assert output.model is not None and output.model["format"] == "state_dict"
    assert (output.model["class"], output.model["fitId"], output.model["nParameters"]) == (
        "torch.nn.modules.container.Sequential",
        fit_id,
        PARAMETERS,
    )
    assert saved(capture, tmp_path / "other.pt").model["class"] == "torch.nn.modules.container.Sequential"
    assert all(torch.equal(best[key], value) for key, value in torch.load(tmp_path / "best.pt").items())


def test_uninstrument_takes_the_deepcopy_entry_back(capture: Capture) -> None:
    table = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    assert OrderedDict in table
    instrumentor = TorchInstrumentor()
    instrumentor.instrument()
    instrumentor.uninstrument()
    assert OrderedDict in table  # the fixture's own instrumentor's entry stays
    entry = table[OrderedDict]
    del table[OrderedDict]
    try:
        fresh = TorchInstrumentor()
        fresh.instrument()
        assert table.get(OrderedDict) is not None and table[OrderedDict] is not entry
        fresh.uninstrument()
        assert OrderedDict not in table
    finally:
        table[OrderedDict] = entry


@pytest.mark.parametrize("worker_count", [0, 2])
def test_a_loader_over_files_named_per_item_trains_on_them(capture: Capture, tmp_path: Path, worker_count: int) -> None:
    """A dataset of the user's own reading a file per item in ``__getitem__``, two of them concatenated: read in
    worker processes (no read seen), the files its items name are the loader's data; a ``random_split`` part only
    its own items' files."""
    from tensor_files import FileRows, write_rows

    folders = [write_rows(tmp_path / name, 4) for name in ("a", "b")]
    full = torch.utils.data.ConcatDataset([FileRows(folder) for folder in folders])
    part, held_out = torch.utils.data.random_split(full, [6, 2], generator=torch.Generator().manual_seed(1))
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for xb in DataLoader(part, batch_size=3, num_workers=worker_count):
        optimizer.zero_grad()
        model(xb).pow(2).mean().backward()
        optimizer.step()
    with torch.no_grad():
        for xb in DataLoader(held_out, batch_size=2, num_workers=worker_count):
            model(xb)
    files = [path for folder in folders for path in sorted(folder.iterdir())]
    assert {source.name for source in capture.of(model).sources} == {str(files[i]) for i in part.indices}


@pytest.mark.parametrize("as_array", [False, True])
def test_a_loader_with_workers_over_an_annotations_file_trains_on_the_files_it_names(
    capture: Capture, tmp_path: Path, as_array: bool
) -> None:
    """The PyTorch tutorial's custom dataset (an annotations frame naming each item's file in a folder), read in
    worker processes: the model derives from the annotations file and from its training part's files alone."""
    from tensor_files import AnnotatedRows, write_annotations, write_rows

    folder = write_rows(tmp_path / "items", 6)
    annotations = write_annotations(folder, tmp_path / "annotations.csv")
    dataset = AnnotatedRows(annotations, folder, as_array)
    part, held_out = torch.utils.data.random_split(dataset, [4, 2], generator=torch.Generator().manual_seed(2))
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for xb in DataLoader(part, batch_size=2, num_workers=2):
        optimizer.zero_grad()
        model(xb).pow(2).mean().backward()
        optimizer.step()
    with torch.no_grad():
        for xb in DataLoader(held_out, batch_size=2, num_workers=2):
            model(xb)
    files = sorted(folder.iterdir())
    expected = {str(annotations), *(str(files[i]) for i in part.indices)}
    assert {source.name for source in capture.of(model).sources} == expected
