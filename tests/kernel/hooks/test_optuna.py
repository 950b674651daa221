"""Optuna, the real library: a model kept in a trial's or a study's user attributes (Optuna's recipe for saving
the best trial's model) is handed back as a deep copy, which derives from what the kept model did."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import optuna
import pandas as pd
from hooktools import RAW

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.models import JoblibInstrumentor
from nblineage.kernel_ext.hooks.optuna import OptunaInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor

INSTRUMENTORS = (PandasInstrumentor, SklearnInstrumentor, JoblibInstrumentor, OptunaInstrumentor)


def test_a_model_kept_in_user_attrs_keeps_its_data(capture: Capture, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "y": np.tile([0, 1], 30)})
    capture.read(RAW, frame)
    X, y = frame[["x"]], frame["y"]

    def objective(trial: optuna.Trial) -> float:
        model = LogisticRegression(C=trial.suggest_float("C", 0.1, 10.0)).fit(X, y)
        trial.set_user_attr("model", model)
        return float(model.score(X, y))

    def keep_best(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if study.best_trial.number == trial.number:
            study.set_user_attr("best", trial.user_attrs["model"])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=2, callbacks=[keep_best])
    from_trial = study.best_trial.user_attrs["model"]
    from_study = study.user_attrs["best"]
    assert from_trial is not from_study  # copies, each made by Optuna
    assert capture.of(from_trial).sources == {RAW} and capture.of(from_study).sources == {RAW}
    joblib.dump(from_study, tmp_path / "best.joblib")
    assert capture.record.outputs[-1].provenance.sources == {RAW}
    assert study.user_attrs.get("nothing") is None  # a key never set: nothing to give
