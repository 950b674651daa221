"""Keras 3 notebooks in real kernels (PyTorch backend): a model fit on a frame's columns in one cell and saved in the
next, weights saved by ``save_weights`` and by a weights-only ``ModelCheckpoint`` during the fit, then the model
loaded back by ``load_model`` and by ``load_weights`` (of the ``.keras`` file and of the weights file) to score a
test file. Every saved file derives from the training data, with the fit's cell as its training job and the frame's
columns as its features; every file of predictions derives from the model file read and, through it, from the
training data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from notebooks import model_source_names, run_notebook

from nblineage.governance import questions
from nblineage.lineage.store import Store

TRAIN = """
import numpy as np
import pandas as pd
import keras
df = pd.read_csv("train.csv")
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
checkpoint = keras.callbacks.ModelCheckpoint("ckpt.weights.h5", save_weights_only=True)
model.fit(df[["a", "b"]].values, df["y"].values, epochs=2, verbose=0, validation_split=0.25, callbacks=[checkpoint])
"""
SAVE = """
model.save("m.keras")
model.save_weights("m.weights.h5")
"""
SCORE = """
test = pd.read_csv("test.csv").values
m = keras.models.load_model("m.keras")
pd.DataFrame({"y": m.predict(test, verbose=0)[:, 0]}).to_csv("pred_load_model.csv", index=False)
for name in ("m.keras", "m.weights.h5"):
    fresh = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    fresh.load_weights(name)
    pd.DataFrame({"y": fresh.predict(test, verbose=0)[:, 0]}).to_csv(f"pred_{name}.csv", index=False)
"""


def test_keras_saves_loads_and_fits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(64, 3)), columns=["a", "b", "y"]).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame(rng.normal(size=(8, 2)), columns=["a", "b"]).to_csv(tmp_path / "test.csv", index=False)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    path = tmp_path / "keras.ipynb"
    run_notebook(path, [TRAIN, SAVE, SCORE], {"NBLINEAGE_URL": store, "KERAS_BACKEND": "torch"}, timeout=300)

    for saved in ("ckpt.weights.h5", "m.keras", "m.weights.h5"):
        assert model_source_names(store, tmp_path / saved) == {"train.csv"}, saved
    assert model_source_names(store, tmp_path / "pred_load_model.csv") == {"m.keras", "train.csv", "test.csv"}
    for name in ("m.keras", "m.weights.h5"):
        assert model_source_names(store, tmp_path / f"pred_{name}.csv") == {name, "train.csv", "test.csv"}

    with Store(store) as opened:
        for saved in ("m.keras", "m.weights.h5"):
            inputs = questions.model_inputs(opened, questions.resolve_model(opened, str(tmp_path / saved)))
            assert inputs.function.training_job == f"{path}#c1", saved  # the fit's cell, not the save's
            assert [feature.name for feature in inputs.features] == ["a", "b"], saved
