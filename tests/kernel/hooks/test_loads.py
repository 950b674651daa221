"""Loads are inputs: pickle.load/loads, joblib.load and torch.load read the file's version, and a model loaded and
re-saved, scored or fine-tuned derives from it."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
import xxhash
from hooktools import RAW, trained
from sklearn import metrics
from sklearn.linear_model import LogisticRegression, SGDClassifier

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import loads
from nblineage.kernel_ext.hooks.metrics import MetricsInstrumentor
from nblineage.kernel_ext.hooks.models import (
    JoblibInstrumentor,
    PickleInstrumentor,
    StatsmodelsInstrumentor,
    TorchInstrumentor,
)
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (
    SklearnInstrumentor,
    MetricsInstrumentor,
    JoblibInstrumentor,
    PickleInstrumentor,
    TorchInstrumentor,
    StatsmodelsInstrumentor,
)
NEW = Source("file", "/data/new.csv", "v2")


def source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def saved_model(capture: Capture, path: Path) -> tuple[LogisticRegression, pd.DataFrame]:
    model, X = trained(capture)
    joblib.dump(model, path)
    capture.take_record()
    return model, X


def test_statsmodels_own_loads_read_the_results_file(capture: Capture, tmp_path: Path) -> None:
    """``results.save`` pickles; ``sm.load`` and ``ARIMAResults.load`` open and unpickle inside statsmodels (the
    AshenOne forecasting chapter reloads its ARIMA this way before forecasting)."""
    import statsmodels.api as sm
    from statsmodels.tsa.arima.model import ARIMA, ARIMAResults

    series = pd.Series(np.random.default_rng(5).normal(size=60).cumsum())
    capture.read(RAW, series)
    path = tmp_path / "model.pkl"
    ARIMA(series, order=(1, 0, 0)).fit().save(path)
    assert capture.record.outputs[-1].source == source(path)
    capture.take_record()
    for load in (ARIMAResults.load, sm.load):
        results = load(path)
        assert capture.of(results).sources == {source(path)}
        assert list(capture.record.inputs) == [source(path)]
        capture.take_record()


def test_joblib_load_then_resave(capture: Capture, tmp_path: Path) -> None:
    saved_model(capture, tmp_path / "model.joblib")
    model = joblib.load(tmp_path / "model.joblib")
    loaded = source(tmp_path / "model.joblib")
    assert list(capture.record.inputs) == [loaded]
    assert capture.of(model).sources == {loaded} and capture.of(model).precision == "exact"
    joblib.dump(model, tmp_path / "copy.joblib")
    output = capture.record.outputs[-1]
    assert output.provenance.sources == {loaded}  # not raw.csv: that is the loaded file's own upstream
    assert output.model is not None and output.model["class"].endswith("LogisticRegression")


def test_pickle_load_of_an_open_file_then_scored(capture: Capture, tmp_path: Path) -> None:
    _, X = saved_model(capture, tmp_path / "model.joblib")
    with open(tmp_path / "model.pkl", "wb") as handle:
        pickle.dump(joblib.load(tmp_path / "model.joblib"), handle)
    capture.take_record()
    with open(tmp_path / "model.pkl", "rb") as handle:
        model = pickle.load(handle)
    test = X.iloc[:20].copy()
    capture.read(NEW, test)
    predictions = model.predict(test)
    assert capture.of(predictions).sources == {source(tmp_path / "model.pkl"), NEW}
    metrics.accuracy_score(np.tile([0, 1], 10), predictions)
    [metric] = capture.record.metrics
    assert metric["name"] == "accuracy_score" and metric["fitId"]  # the loaded model's metrics are attributed
    pickle.dump(model, open(tmp_path / "scored.pkl", "wb"))  # noqa: SIM115 (as the notebooks write it)
    output = capture.record.outputs[-1]
    assert output.model is not None and output.model["fitId"] == metric["fitId"]
    assert output.provenance.sources == {source(tmp_path / "model.pkl")}


def test_fine_tuned_model_derives_from_the_file_and_the_new_data(capture: Capture, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 2)), np.tile([0, 1], 20)
    joblib.dump(SGDClassifier(random_state=0).fit(X, y), tmp_path / "sgd.joblib")
    capture.take_record()
    for method in ("partial_fit", "fit"):
        model = joblib.load(tmp_path / "sgd.joblib")
        fresh = X + 1
        capture.read(NEW, fresh)
        getattr(model, method)(fresh, y)
        assert capture.of(model).sources == {source(tmp_path / "sgd.joblib"), NEW}, method
        model.fit(X[:10], y[:10])  # untracked data: the file stays, the earlier data goes only when replaced
        assert source(tmp_path / "sgd.joblib") in capture.of(model).sources


def test_a_model_trained_here_is_not_a_load(capture: Capture) -> None:
    model, X = trained(capture)
    other = X.copy()
    capture.read(NEW, other)
    model.fit(other, np.tile([0, 1], 25))
    assert capture.of(model).sources == {NEW}  # refit replaces: no file, and raw.csv is gone
    assert loads.loaded_from(model).sources == frozenset()


def test_loaded_datasets_and_their_parts(capture: Capture, tmp_path: Path) -> None:
    X, y = np.ones((4, 2)), np.arange(4)
    texts = ["a cat", "a dog"] * 50
    with open(tmp_path / "data.pkl", "wb") as handle:
        pickle.dump((X, y), handle)
    joblib.dump(texts, tmp_path / "texts.joblib")
    joblib.dump({"X": X, "meta": {"n": 4}}, tmp_path / "bundle.joblib")
    capture.take_record()
    with open(tmp_path / "data.pkl", "rb") as handle:
        X_loaded, y_loaded = pickle.load(handle)
    assert capture.of(X_loaded).sources == capture.of(y_loaded).sources == {source(tmp_path / "data.pkl")}
    loaded_texts = joblib.load(tmp_path / "texts.joblib")  # a list of str: held by our name until the cell ends
    assert capture.of(loaded_texts).sources == {source(tmp_path / "texts.joblib")}
    bundle = joblib.load(tmp_path / "bundle.joblib")
    assert capture.of(bundle["X"]).sources == {source(tmp_path / "bundle.joblib")}
    namespace = {"texts": loaded_texts}
    capture.user_ns = namespace
    loads.settle(capture)  # the cell ends: the list is now known by the name it is bound to
    assert capture.of(loaded_texts).sources == {source(tmp_path / "texts.joblib")}
    del namespace["texts"]
    capture.registry.sweep()
    assert not capture.of(loaded_texts)  # unbound: forgotten, never kept alive


def test_pickle_loads_of_a_file_read_in_the_cell(capture: Capture, tmp_path: Path) -> None:
    model, _ = saved_model(capture, tmp_path / "model.joblib")
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    namespace: dict = {"pickle": pickle, "path": path}
    code = "clf = pickle.loads(path.read_bytes())\nother = pickle.loads(pickle.dumps([1, 2]))\n"
    capture.cell_source, capture.user_ns, capture.cell_run_id = code, namespace, "run-1"
    exec(compile(code, "<cell>", "exec"), namespace)
    assert capture.of(namespace["clf"]).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]
    literal = f"blob = open({str(path)!r}, 'rb').read()\nclf2 = pickle.loads(blob)\n"
    capture.cell_source, capture.cell_run_id = literal, "run-2"
    exec(compile(literal, "<cell>", "exec"), namespace)
    assert capture.of(namespace["clf2"]).sources == {source(path)}


def test_pickle_loads_by_a_library_records_nothing(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    capture.cell_source, capture.user_ns = f"x = {str(path)!r}", {}
    assert pickle.loads(path.read_bytes()) == [1, 2, 3]  # called from this test module, not the notebook
    assert not capture.record.inputs


def test_torch_checkpoint_loaded_fine_tuned_and_saved(capture: Capture, tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    torch.save({"model_state_dict": net.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    torch.save(net, tmp_path / "whole.pt")
    capture.take_record()
    checkpoint = torch.load(tmp_path / "ckpt.pt")
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(torch.ones(8, 3)).pow(2).mean()
        loss.backward()
        optimizer.step()
    torch.save(model.state_dict(), tmp_path / "finetuned.pt")
    output = capture.record.outputs[-1]
    assert output.provenance.sources == {source(tmp_path / "ckpt.pt")}
    assert output.model is not None and output.model["framework"] == "pytorch"
    whole = torch.load(tmp_path / "whole.pt", weights_only=False)
    assert capture.of(whole).sources == {source(tmp_path / "whole.pt")}
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    torch.load(buffer)  # no file: nothing
    assert set(capture.record.inputs) == {source(tmp_path / "ckpt.pt"), source(tmp_path / "whole.pt")}


def test_loads_that_fail_pass_through(capture: Capture, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(pickle.UnpicklingError), open(bad, "rb") as handle:
        pickle.load(handle)
    with pytest.raises(FileNotFoundError):
        joblib.load(tmp_path / "missing.joblib")
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(b"garbage")
    assert not capture.record.inputs
