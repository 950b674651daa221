"""Keras 3 (``hooks/keras.py``) with the real library on the PyTorch backend: saves (whole models and weights, and
``ModelCheckpoint``'s), loads (``load_model``, ``load_weights``), fits and predictions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xxhash
from hooktools import RAW

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.keras import KerasInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.provenance import Source

os.environ.setdefault("KERAS_BACKEND", "torch")  # TensorFlow is not among the test dependencies
keras = pytest.importorskip("keras")

INSTRUMENTORS = (PandasInstrumentor, KerasInstrumentor)


def file_source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def trained(capture: Capture, **fit: object) -> tuple[keras.Model, pd.DataFrame]:
    """A small regression model fit on two columns of a tracked frame (raw.csv), as an array."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(32, 3)), columns=["a", "b", "y"])
    capture.read(RAW, df)
    model = network()
    model.compile(optimizer="adam", loss="mse")
    model.fit(df[["a", "b"]].values, df["y"].values, epochs=1, verbose=0, **fit)
    return model, df


def network() -> keras.Model:
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])


def saved(capture: Capture, path: Path) -> dict:
    [output] = [out for out in capture.record.outputs if out.source.name == str(path)]
    assert output.source == file_source(path)
    assert output.provenance.sources == {RAW} and output.facets["datasetType"] == {"datasetType": "MODEL"}
    assert output.model is not None and output.model["framework"] == "keras"
    return output.model


def test_save_weights_and_weights_only_checkpoints_are_model_saves(capture: Capture, tmp_path: Path) -> None:
    checkpoint = tmp_path / "ckpt.weights.h5"
    callback = keras.callbacks.ModelCheckpoint(str(checkpoint), save_weights_only=True)
    model, _ = trained(capture, callbacks=[callback])
    assert saved(capture, checkpoint)["format"] == "keras_weights"
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    assert saved(capture, path)["format"] == "keras_weights"


def test_fit_records_its_cell_and_the_columns_of_the_array(capture: Capture, tmp_path: Path) -> None:
    capture.cell_job = "nb.ipynb#c1"
    model, _ = trained(capture)
    assert capture.of(model).sources == {RAW}
    capture.cell_job = "nb.ipynb#c2"  # saved in a later cell
    path = tmp_path / "m.keras"
    model.save(path)
    description = saved(capture, path)
    assert description["trainingJob"] == "nb.ipynb#c1"
    assert description["featureNames"] == ["a", "b"]
    assert description["training"] == {"nFeatures": 2, "nSamples": 32}


def test_load_model_and_load_weights_are_reads(capture: Capture, tmp_path: Path) -> None:
    model, df = trained(capture)
    whole, weights = tmp_path / "m.keras", tmp_path / "m.weights.h5"
    model.save(whole)
    keras.saving.save_model(model, tmp_path / "again.keras")
    model.save_weights(weights)
    assert [out.source.name for out in capture.record.outputs] == [
        str(whole),
        str(tmp_path / "again.keras"),
        str(weights),
    ]

    loaded = keras.models.load_model(whole)
    assert file_source(whole) in capture.record.inputs
    assert capture.of(loaded).sources == {file_source(whole)}
    predictions = loaded.predict(df[["a", "b"]].values, verbose=0)
    assert capture.of(predictions).sources == {file_source(whole), RAW}

    for path in (whole, weights):
        fresh = network()
        fresh.load_weights(str(path))
        assert capture.of(fresh).sources == {file_source(path)}
        assert file_source(path) in capture.record.inputs
