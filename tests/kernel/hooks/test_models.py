"""Model saves: joblib, pickle, torch, skops (and the optional frameworks) record outputs with model descriptions."""

from __future__ import annotations

import gzip
import inspect
import io
import pickle
import sys
import types
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import xxhash
from hooktools import RAW, only_output, trained
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture, activate
from nblineage.kernel_ext.hooks import describe, models
from nblineage.kernel_ext.hooks.describe import describe_model, json_safe
from nblineage.kernel_ext.hooks.keras import KerasInstrumentor
from nblineage.kernel_ext.hooks.models import (
    JoblibInstrumentor,
    PickleInstrumentor,
    SkopsInstrumentor,
    TorchInstrumentor,
)
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.hooks.transformers import TransformersInstrumentor
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import HookError

MODEL = {"datasetType": {"datasetType": "MODEL"}}
INSTRUMENTORS = (SklearnInstrumentor, JoblibInstrumentor, PickleInstrumentor, TorchInstrumentor, SkopsInstrumentor)


def fingerprint(path: Path) -> str:
    return xxhash.xxh3_128(path.read_bytes()).hexdigest()


def test_joblib_dump_of_a_model(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    path = tmp_path / "model.joblib"
    assert joblib.dump(model, path) == [str(path)]
    output = only_output(capture)
    assert output.source == Source("file", str(path), fingerprint(path))
    assert output.facets == MODEL
    assert output.provenance.sources == {RAW}
    assert RAW in capture.record.inputs
    assert output.model is not None
    assert output.model["framework"] == "sklearn"
    assert output.model["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert output.model["hyperParameters"] == json_safe(model.get_params(deep=False))
    assert output.model["hyperParameters"]["C"] == 0.5
    assert output.model["featureNames"] == ["age", "income"]
    assert output.model["training"] == {"nFeatures": 2, "nSamples": 50, "targetNames": ["label"]}
    np.testing.assert_array_equal(joblib.load(path).predict(X), model.predict(X))


def test_joblib_dump_of_data_is_a_dataset(capture: Capture, tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1, 2, 3]})
    capture.read(RAW, df)
    joblib.dump(df, str(tmp_path / "frame.pkl"))
    joblib.dump({"threshold": 0.5}, tmp_path / "settings.pkl")
    frame, settings = capture.record.outputs
    assert (frame.facets, frame.model, frame.provenance.sources) == ({}, None, {RAW})
    assert frame.source.version == fingerprint(tmp_path / "frame.pkl")
    assert (settings.facets, settings.model, settings.provenance.sources) == ({}, None, frozenset())


def test_pickle_dump_into_an_open_file(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    path = tmp_path / "model.pkl"
    with open(path, "wb") as handle:
        pickle.dump(model, handle)
        output = only_output(capture)
        assert output.source.version == fingerprint(path)  # flushed: the bytes are on disk while the file is open
    assert output.source == Source("file", str(path), fingerprint(path))
    assert output.facets == MODEL and output.provenance.sources == {RAW}
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(pickle.load(handle).predict(X), model.predict(X))


def test_several_dumps_into_one_open_file_are_one_output(capture: Capture, tmp_path: Path) -> None:
    model, _ = trained(capture)
    other = Source("file", "/data/extra.csv", "v2")
    extra = pd.DataFrame({"b": [1.0]})
    capture.read(other, extra)
    path = tmp_path / "bundle.pkl"
    with open(path, "wb") as handle:
        pickle.dump(extra, handle)
        pickle.dump(model, handle)
    output = only_output(capture)
    assert output.source.version == fingerprint(path)
    assert output.provenance.sources == {RAW, other}
    assert output.facets == MODEL and output.model is not None
    with open(path, "rb") as handle:
        assert pickle.load(handle).equals(extra)
        assert isinstance(pickle.load(handle), LogisticRegression)


def test_a_stream_of_dumps_and_a_rewritten_file(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "stream.pkl"
    with open(path, "wb") as handle:
        for number in range(5):
            pickle.dump({"row": number}, handle)
            assert only_output(capture).source.version == fingerprint(path)  # hashed incrementally, same result
        handle.seek(0)
        handle.truncate()
        pickle.dump("rewritten", handle)
    assert only_output(capture).source.version == fingerprint(path)
    with open(path, "rb") as handle:
        assert pickle.load(handle) == "rewritten"
    capture.take_record()
    with open(path, "ab") as handle:  # a new cell appends: a new output with the whole file's version
        pickle.dump("more", handle)
    assert only_output(capture).source.version == fingerprint(path)


def test_pickle_into_memory_or_a_compressed_file(capture: Capture, tmp_path: Path) -> None:
    model, _ = trained(capture)
    buffer = io.BytesIO()
    pickle.dump(model, buffer)
    assert capture.record.outputs == []  # nothing named, nothing recorded
    assert pickle.loads(buffer.getvalue()).get_params() == model.get_params()
    assert pickle.dumps(model) == buffer.getvalue()
    path = tmp_path / "model.pkl.gz"
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        pickle.dump(model, handle)
    output = only_output(capture)
    assert output.source == Source("file", str(path), None)  # a flush would change a gzip stream: no version
    assert output.provenance.sources == {RAW}
    assert pickle.loads(gzip.decompress(path.read_bytes())).get_params() == model.get_params()


def test_saves_write_the_same_bytes_as_without_capture(capture: Capture, tmp_path: Path) -> None:
    model, _ = trained(capture)
    for folder in ("captured", "plain"):
        if folder == "plain":
            activate(None)
        (tmp_path / folder).mkdir()
        joblib.dump(model, tmp_path / folder / "m.joblib")
        with open(tmp_path / folder / "m.pkl", "wb") as handle:
            pickle.dump(model, handle)
        with gzip.GzipFile(tmp_path / folder / "m.gz", "wb", mtime=0) as handle:
            pickle.dump(model, handle)
    assert len(capture.record.outputs) == 3
    for name in ("m.joblib", "m.pkl", "m.gz"):
        assert (tmp_path / "captured" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def test_torch_save(capture: Capture, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    _, X = trained(capture)
    features = torch.tensor(X.to_numpy(), dtype=torch.float32)
    capture.read(RAW, features)
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001)
    for _ in range(3):
        optimizer.zero_grad()
        net(features).pow(2).mean().backward()
        optimizer.step()
    capture.derive(net, features)  # torch ops are not hooked: what the cell-level fallback would give the module
    path = tmp_path / "net.pt"
    assert torch.save(net, path) is None
    output = only_output(capture)
    assert output.source == Source("file", str(path), fingerprint(path))
    assert output.facets == MODEL and output.provenance.sources == {RAW}
    assert output.model is not None
    assert output.model["framework"] == "pytorch"
    assert output.model["class"] == "torch.nn.modules.linear.Linear"
    assert output.model["hyperParameters"] == {"in_features": 2, "out_features": 1}
    assert output.model["nParameters"] == 3
    loaded = torch.load(path, weights_only=False)
    assert torch.equal(loaded(features), net(features))

    weights = tmp_path / "net.state.pt"
    torch.save(net.state_dict(), weights)  # state_dict() carries the module's provenance
    state = capture.record.outputs[1]
    assert state.provenance.sources == {RAW}
    assert state.model is not None and state.model["format"] == "state_dict" and state.model["nParameters"] == 3
    fresh = torch.nn.Linear(2, 1)
    fresh.load_state_dict(torch.load(weights))
    assert torch.equal(fresh(features), net(features))

    torch.save({"model": net.state_dict(), "epoch": 3}, tmp_path / "checkpoint.pt")
    checkpoint = capture.record.outputs[2]
    assert checkpoint.provenance.sources == {RAW}
    assert checkpoint.model is not None and checkpoint.model["container"] == "builtins.dict"

    untracked = torch.nn.Linear(2, 1)
    buffer = io.BytesIO()
    torch.save(untracked, buffer)  # no file: works, nothing recorded
    torch.save(untracked, tmp_path / "untracked.pt")
    assert len(capture.record.outputs) == 4 and capture.record.outputs[3].provenance.sources == frozenset()
    assert torch.save.__module__ == "torch.serialization" and torch.save is torch.serialization.save
    assert pickle.loads(pickle.dumps(net.state_dict)) is not None


def test_skops_dump(capture: Capture, tmp_path: Path) -> None:
    skops_io = pytest.importorskip("skops.io")
    model, X = trained(capture)
    path = tmp_path / "model.skops"
    skops_io.dump(model, path)
    output = only_output(capture)
    assert output.source == Source("file", str(path), fingerprint(path))
    assert output.facets == MODEL and output.provenance.sources == {RAW}
    assert output.model is not None and output.model["featureNames"] == ["age", "income"]
    loaded = skops_io.load(path, trusted=skops_io.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_describe_a_pipeline(capture: Capture) -> None:
    _, X = trained(capture)
    X = X.assign(city=["a", "b"] * 25)
    columns = ColumnTransformer([("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(), ["city"])])
    pipe = Pipeline([("prep", columns), ("clf", LogisticRegression(max_iter=50))]).fit(X, [0, 1] * 25)
    description = describe_model(pipe, capture)
    assert description is not None
    assert description["class"] == "sklearn.pipeline.Pipeline"
    assert description["featureNames"] == ["age", "income", "city"]
    steps = description["hyperParameters"]["steps"]
    assert steps[1] == [
        "clf",
        {"class": "sklearn.linear_model._logistic.LogisticRegression", "params": steps[1][1]["params"]},
    ]
    assert steps[1][1]["params"]["max_iter"] == 50
    assert description["training"]["columnTransformers"][1]["columns"] == ["city"]
    assert description["frameworkVersion"] == sys.modules["sklearn"].__version__
    assert describe_model(pipe) is not None  # without a capture: what the object itself tells


def test_what_is_a_model() -> None:
    class Forecaster:  # duck typing: anything with fit or predict
        def predict(self, X: Any) -> Any:
            return X

    assert describe_model(Forecaster()) == {
        "framework": __name__.partition(".")[0],  # "python" for a class defined in the notebook
        "class": f"{__name__}.{Forecaster.__qualname__}",
        "hyperParameters": {},
        "featureNames": [],
    }
    for data in (pd.DataFrame({"fit": [1]}), {"a": 1}, [1, 2], np.zeros(3), "text", LogisticRegression, len, None):
        assert describe_model(data) is None, data
    assert describe_model({"model": LogisticRegression(), "note": "x"})["container"] == "builtins.dict"
    pair = describe_model((StandardScaler(), LogisticRegression(C=0.5)))  # the predictor, not the transformer
    assert pair["container"] == "builtins.tuple" and pair["class"].endswith("LogisticRegression")
    assert pair["hyperParameters"]["C"] == 0.5
    assert describe_model([StandardScaler()])["class"].endswith("StandardScaler")
    assert describe_model((pd.DataFrame({"a": [1]}), np.zeros(2))) is None


def test_pickle_of_a_vectorizer_and_model_pair_is_the_model(capture: Capture, tmp_path: Path) -> None:
    model, _ = trained(capture)
    path = tmp_path / "model_C=1.0.bin"
    with open(path, "wb") as handle:
        pickle.dump((StandardScaler(), model), handle)
    output = only_output(capture)
    assert output.facets == MODEL and output.provenance.sources == {RAW}
    assert output.model["container"] == "builtins.tuple"
    assert output.model["fitId"] == describe_model(model, capture)["fitId"]


def test_json_safe() -> None:
    value = {"a": np.float64(1.5), "b": float("nan"), "c": np.arange(3), "d": (1, None), 3: np.zeros((20, 20))}
    assert json_safe(value) == {
        "a": 1.5,
        "b": "nan",
        "c": [0, 1, 2],
        "d": [1, None],
        "3": "array(shape=(20, 20), dtype=float64)",
    }
    assert json_safe(len) == "builtins.len"
    assert json_safe(object) == "builtins.object"
    assert json_safe(type("Secret", (), {"__repr__": lambda self: "postgres://u:hunter2@h/db"})()) == "postgres://h/db"
    assert len(json_safe(list(range(1000)))) == describe.MAX_ITEMS
    secrets = {"api_key": "sk-123", "db": "postgresql://me:hunter2@host/db", "dsn": "host=h password=hunter2"}
    assert json_safe(secrets) == {"api_key": "***", "db": "postgresql://host/db", "dsn": "host=h password=***"}
    numbers = {"pad_token_id": 0, "eos_token_id": None, "max_tokens": 512, "use_auth": True, "token": 12.5}
    assert json_safe(numbers) == numbers  # a transformers config's token ids are no secrets
    assert json_safe({"token_ids": [1, 2], "hf_token": b"hf_abc"}) == {"token_ids": "***", "hf_token": "***"}


def test_patched_functions_keep_their_identity(capture: Capture) -> None:
    torch = pytest.importorskip("torch")
    skops_io = pytest.importorskip("skops.io")
    for function, module, name in (
        (joblib.dump, "joblib.numpy_pickle", "dump"),
        (pickle.dump, "_pickle", "dump"),
        (torch.save, "torch.serialization", "save"),
        (skops_io.dump, "skops.io._persist", "dump"),
    ):
        original = function.__wrapped__
        assert (function.__module__, function.__name__, function.__qualname__) == (module, name, name)
        assert inspect.signature(function) == inspect.signature(original)
        assert pickle.loads(pickle.dumps(function)) is function
    assert joblib.dump is joblib.numpy_pickle.dump


def test_hook_fault_raises_only_when_strict(capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, X = trained(capture)

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(models, "describe_model", broken)
    with pytest.raises(HookError, match=r"joblib\.dump"):
        joblib.dump(model, tmp_path / "strict.joblib")
    assert (tmp_path / "strict.joblib").exists()  # the save itself ran
    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)
    monkeypatch.setattr(safety, "errors", Counter())
    path = tmp_path / "model.joblib"
    with pytest.warns(RuntimeWarning, match=r"joblib\.dump"):
        assert joblib.dump(model, path) == [str(path)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open(tmp_path / "model.pkl", "wb") as handle:  # the same fault: warned once, then only logged
            assert pickle.dump(model, handle) is None
    assert sum(safety.errors.values()) == 2
    np.testing.assert_array_equal(joblib.load(path).predict(X), model.predict(X))
    assert capture.record.outputs == []


def test_user_errors_pass_through(capture: Capture, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        joblib.dump({"a": 1}, tmp_path / "missing" / "x.joblib")
    with pytest.raises((pickle.PicklingError, AttributeError)), open(tmp_path / "x.pkl", "wb") as handle:
        pickle.dump(lambda: 0, handle)
    assert capture.record.outputs == []


def test_uninstrument_restores_originals() -> None:
    torch = pytest.importorskip("torch")
    originals = (joblib.dump, pickle.dump, sys.modules["_pickle"].dump, torch.save, torch.nn.Module.state_dict)
    instrumentors = [cls() for cls in (JoblibInstrumentor, PickleInstrumentor, TorchInstrumentor)]
    for _ in range(2):
        for instrumentor in instrumentors:
            instrumentor.instrument()
        assert joblib.dump is not originals[0] and pickle.dump is not originals[1] and torch.save is not originals[3]
        assert joblib.numpy_pickle.dump is joblib.dump and sys.modules["_pickle"].dump is pickle.dump
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        assert (
            joblib.dump,
            pickle.dump,
            sys.modules["_pickle"].dump,
            torch.save,
            torch.nn.Module.state_dict,
        ) == originals
        assert joblib.numpy_pickle.dump is originals[0] and torch.serialization.save is originals[3]


# --- optional frameworks: the real library when installed, else a stand-in module of the same shape --------------


def stand_in(module_name: str, class_name: str, method: str) -> types.ModuleType:
    """A module with a model class whose ``method(path)`` writes a file, as the real framework's save does."""

    def save(self: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"weights of " + class_name.encode())

    cls = type(class_name, (), {method: save, "__module__": module_name})
    module = types.ModuleType(module_name)
    setattr(module, class_name, cls)
    return module


@pytest.mark.parametrize(
    ("instrumentor_class", "module_name", "class_name", "method", "framework"),
    [
        (KerasInstrumentor, "keras", "Model", "save", "keras"),
        (TransformersInstrumentor, "transformers.modeling_utils", "PreTrainedModel", "save_pretrained", "transformers"),
    ],
)
def test_optional_framework_saves(
    capture: Capture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    instrumentor_class: type,
    module_name: str,
    class_name: str,
    method: str,
    framework: str,
) -> None:
    module = stand_in(module_name, class_name, method)
    monkeypatch.setitem(sys.modules, module_name, module)
    instrumentor = instrumentor_class()
    instrumentor.instrument()
    try:
        model = getattr(module, class_name)()
        capture.read(RAW, model)
        path = tmp_path / "model.bin"
        getattr(model, method)(path)
        output = only_output(capture)
        assert output.source == Source("file", str(path), fingerprint(path))
        assert output.provenance.sources == {RAW} and output.facets == MODEL
        assert output.model is not None and output.model["framework"] == framework
    finally:
        instrumentor.uninstrument()
    assert getattr(module, class_name).__dict__[method].__name__ == "save"


def test_a_model_no_hook_saw_the_data_of_falls_back_to_the_cell(capture: Capture, tmp_path: Path) -> None:
    """Fitted on arrays built where no hook looked (rows copied by hand): the save takes what the cell read, as
    any other write of an object without provenance does."""
    capture.write_fallback = lambda _capture, _written: capture.of(tracked)
    tracked = pd.DataFrame({"age": [23.0, 35.0, 47.0, 51.0], "label": [0, 0, 1, 1]})
    capture.read(RAW, tracked)
    rows = np.array([[23.0], [35.0], [47.0], [51.0]])
    model = LogisticRegression().fit(rows, [0, 0, 1, 1])
    assert not capture.of(model)
    joblib.dump(model, tmp_path / "model.joblib")
    assert only_output(capture).provenance.sources == {RAW}
