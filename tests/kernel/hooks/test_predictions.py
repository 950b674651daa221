"""Predictions of a fitted model derive from the model version its fit was saved as or loaded from, as well as from
the data: scores written back to a table have the saved model file as an input, and the model never derives from
its own file through them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import xxhash
from hooktools import RAW, trained
from sklearn.linear_model import SGDClassifier

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.models import JoblibInstrumentor, PickleInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.hooks.sql.dbapi import SqliteInstrumentor
from nblineage.kernel_ext.hooks.sql.pandas import PandasSqlInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (
    PandasInstrumentor,
    PandasSqlInstrumentor,
    SqliteInstrumentor,
    SklearnInstrumentor,
    JoblibInstrumentor,
    PickleInstrumentor,
)
NEW = Source("file", "/data/new.csv", "v2")


def version(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def written(capture: Capture, name: str) -> frozenset[Source]:
    """The inputs of the last output named ``name`` (a table or a file) the cell wrote."""
    outputs = [output for output in capture.record.outputs if output.source.name.endswith(name)]
    assert outputs, [output.source for output in capture.record.outputs]
    return outputs[-1].provenance.sources


def test_scores_written_back_derive_from_the_saved_model(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    joblib.dump(model, tmp_path / "churn.joblib")
    saved = version(tmp_path / "churn.joblib")
    capture.take_record()
    scores = pd.DataFrame({"churn_risk": model.predict_proba(X)[:, 1]})
    with sqlite3.connect(tmp_path / "shop.db") as conn:
        scores.to_sql("churn_scores", conn, index=False)
    assert written(capture, "churn_scores") == {saved, RAW}
    assert capture.of(model).sources == {RAW}  # the model itself derives from its data only
    joblib.dump(model, tmp_path / "copy.joblib")
    assert written(capture, "copy.joblib") == {RAW}  # no model file among a save's inputs
    labels = model.predict(X)
    assert capture.of(labels).sources == {RAW, saved, version(tmp_path / "copy.joblib")}  # it is in both files


def test_a_model_fit_again_predicts_from_no_file_until_it_is_saved(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    joblib.dump(model, tmp_path / "model.joblib")
    saved = version(tmp_path / "model.joblib")
    other = X.copy()
    capture.read(NEW, other)
    model.fit(other, np.tile([1, 0], 25))  # another fit: the file holds the one before
    assert capture.of(model.predict(X)).sources == {RAW, NEW}
    joblib.dump(model, tmp_path / "model.joblib")
    assert version(tmp_path / "model.joblib") != saved
    assert capture.of(model.predict(X)).sources == {RAW, NEW, version(tmp_path / "model.joblib")}

    rng = np.random.default_rng(3)
    sgd = SGDClassifier(random_state=0).fit(rng.normal(size=(40, 2)), np.tile([0, 1], 20))
    joblib.dump(sgd, tmp_path / "sgd.joblib")
    more = rng.normal(size=(40, 2))
    capture.read(NEW, more)
    sgd.partial_fit(more, np.tile([0, 1], 20))  # trained further under the same fit: no file holds it now
    assert version(tmp_path / "sgd.joblib") not in capture.of(sgd.predict(more)).sources


def test_a_model_fit_on_its_own_predictions_does_not_derive_from_its_file(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    joblib.dump(model, tmp_path / "model.joblib")
    first = version(tmp_path / "model.joblib")
    pseudo = model.predict(X)
    assert first in capture.of(pseudo).sources
    model.fit(X, pseudo)  # self-training
    assert capture.of(model).sources == {RAW}
    joblib.dump(model, tmp_path / "model.joblib")
    assert written(capture, "model.joblib") == {RAW}  # the new version does not derive from the old one


def test_predictions_of_a_loaded_model_derive_from_its_file_and_its_resave(capture: Capture, tmp_path: Path) -> None:
    model, X = trained(capture)
    joblib.dump(model, tmp_path / "model.joblib")
    capture.take_record()
    loaded = joblib.load(tmp_path / "model.joblib")
    source = version(tmp_path / "model.joblib")
    test = X.copy()
    capture.read(NEW, test)
    assert capture.of(loaded.predict(test)).sources == {source, NEW}
    joblib.dump(loaded, tmp_path / "copy.joblib")
    assert written(capture, "copy.joblib") == {source}
    copy = version(tmp_path / "copy.joblib")
    assert capture.of(loaded.predict(test)).sources == {source, copy, NEW}
    loaded.fit(test, np.tile([0, 1], 25))  # retrained: derives from the file it was loaded from, not the copy
    assert capture.of(loaded).sources == {source, NEW}
