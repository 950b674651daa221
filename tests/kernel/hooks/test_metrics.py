"""Model metrics: scikit-learn metric calls and ``score`` are recorded for the fit they measure, on the right split.

Library functions are called through their module (``skm.accuracy_score``): a name imported before the hooks
were installed is the original.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import sklearn.model_selection as selection
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from nblineage.governance.splits import split_of_name
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.metrics import MetricsInstrumentor, metric_functions
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.provenance import Source

RAW = Source("file", "/data/raw.csv", "v1")
TEST_FILE = Source("file", "/data/holdout/test.csv", "v2")


INSTRUMENTORS = (SklearnInstrumentor, MetricsInstrumentor)


@pytest.fixture
def capture(capture: Capture) -> Capture:
    capture.user_ns = {}
    capture.cell_run_id = "run-1"
    return capture


def frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.random(rows), "b": rng.random(rows)})
    df["label"] = (df.a + df.b > 1).astype(int)
    return df


def read(capture: Capture, source: Source = RAW, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    df = frame(seed=seed)
    capture.read(source, df)
    X, y = df[["a", "b"]], df["label"]
    capture.derive(X, df)
    capture.derive(y, df)
    return X, y


def metrics(capture: Capture) -> dict[tuple[str, Any], dict[str, Any]]:
    return {(m["name"], m["split"]): m for m in capture.record.metrics}


def test_splits_of_a_train_validation_test_split_land_on_the_right_metrics(capture: Capture) -> None:
    X, y = read(capture)
    X_train, X_test, y_train, y_test = selection.train_test_split(X, y, random_state=0)
    X_fit, X_check, y_fit, y_check = selection.train_test_split(X_train, y_train, random_state=0)  # no telling names
    model = LogisticRegression().fit(X_fit, y_fit)
    fit_id = capture.hooks.training.get(model)["fitId"]

    skm.accuracy_score(y_check, model.predict(X_check))  # a second split of the training part: validation
    skm.roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])  # a numpy view of the predictions
    model.score(X_fit, y_fit)  # the data it was fit on

    found = metrics(capture)
    assert set(found) == {("accuracy_score", "validation"), ("roc_auc_score", "test"), ("score", "train")}
    validation = found[("accuracy_score", "validation")]
    assert validation["value"] == pytest.approx(skm.accuracy_score(y_check.to_numpy(), model.predict(X_check)))
    assert validation["fitId"] == fit_id
    assert validation["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert validation["datasets"] == [{"namespace": "file", "name": "/data/raw.csv", "version": "v1"}]
    assert validation["variable"] is None


def test_a_searchs_best_estimator_has_a_fit_of_its_own_its_metrics_carry(capture: Capture) -> None:
    """``final_model = search.best_estimator_`` (Hands-On ML's chapter 2): its metric names its own fit, so the file
    it is saved as finds it; the search's own predictions stay the search's."""
    X, y = read(capture)
    X_train, X_test, y_train, y_test = selection.train_test_split(X, y, random_state=0)
    search = selection.GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X_train, y_train)
    final_model = search.best_estimator_
    best_fit = capture.hooks.training.get(final_model)["fitId"]
    assert best_fit and best_fit != capture.hooks.training.get(search)["fitId"]
    skm.accuracy_score(y_test, final_model.predict(X_test))
    (metric,) = capture.record.metrics
    assert (metric["fitId"], metric["split"]) == (best_fit, "test")


def test_a_search_scored_by_a_named_metric_still_pickles(capture: Capture) -> None:
    """``GridSearchCV(scoring="roc_auc")`` holds the scorer scikit-learn made at import, with the metric function as
    it was before the patch: pickle refused it (not the object its module holds). It pickles, loads and scores."""
    X, y = read(capture)
    search = selection.GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, scoring="roc_auc", cv=2).fit(X, y)
    restored = pickle.loads(pickle.dumps(search))
    assert restored.score(X, y) == pytest.approx(search.score(X, y))
    assert restored.scorer_._score_func is skm.roc_auc_score  # what the module holds now: the file is portable
    buffer = io.BytesIO()
    joblib.dump(search, buffer)
    assert joblib.load(io.BytesIO(buffer.getvalue())).best_params_ == search.best_params_


def test_a_search_scored_by_a_scorer_made_of_a_patched_metric_clones(capture: Capture) -> None:
    """``clone`` deep-copies a search's scorer, and with it the patched metric, which must copy as a function does
    (wrapt's proxy refused: nested cross-validation of such a search failed with capture on)."""
    scorer = skm.make_scorer(skm.f1_score)
    search = selection.GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, scoring=scorer, cv=2)
    assert clone(search).scoring._score_func is skm.f1_score
    X, y = read(capture)
    assert len(selection.cross_val_score(search, X, y, cv=2)) == 2


def test_a_temporary_part_split_again_gives_validation_and_test(capture: Capture) -> None:
    X, y = read(capture)
    X_a, X_rest, y_a, y_rest = selection.train_test_split(X, y, test_size=0.4, random_state=0)
    X_b, X_c, y_b, y_c = selection.train_test_split(X_rest, y_rest, test_size=0.5, random_state=0)
    model = LogisticRegression().fit(X_a, y_a)
    skm.f1_score(y_b, model.predict(X_b))
    skm.f1_score(y_c, model.predict(X_c))
    assert [m["split"] for m in capture.record.metrics] == ["validation", "test"]


def test_variable_names_win(capture: Capture) -> None:
    X, y = read(capture)
    X_train, X_test, y_train, y_test = selection.train_test_split(X, y, random_state=0)
    model = LogisticRegression().fit(X_train, y_train)
    y_valid = y_test  # the user calls this part validation
    capture.user_ns.update({"y_valid": y_valid, "X_test": X_test, "_": y_valid})
    skm.accuracy_score(y_valid, model.predict(X_test))
    (metric,) = capture.record.metrics
    assert (metric["split"], metric["variable"]) == ("validation", "y_valid")


def test_separate_files_are_labelled_by_their_names(capture: Capture) -> None:
    X, y = read(capture)
    model = LinearRegression().fit(X, y)
    X_test, y_test = read(capture, TEST_FILE, seed=1)
    skm.r2_score(y_test, model.predict(X_test))
    skm.mean_squared_error(y, model.predict(X))
    found = metrics(capture)
    assert found[("r2_score", "test")]["datasets"] == [
        {"namespace": "file", "name": "/data/holdout/test.csv", "version": "v2"}
    ]
    assert ("mean_squared_error", "train") in found


def test_metrics_of_untracked_predictions_and_non_scalars_are_not_recorded(capture: Capture) -> None:
    X, y = read(capture)
    LogisticRegression().fit(X, y)
    skm.accuracy_score([0, 1, 1], [0, 1, 0])  # predictions no model made (and no prediction of that length yet)
    skm.f1_score([0, 1, 1], [0, 1, 0], average=None)
    assert capture.record.metrics == []


def test_a_metric_of_several_models_predictions_together_is_of_none(capture: Capture) -> None:
    """The frequency-severity product of scikit-learn's Tweedie example: a metric of neither model."""
    X, y = read(capture)
    source = (
        "freq = LinearRegression().fit(X, y)\nsev = LinearRegression().fit(X, X['a'])\n"
        "own = skm.mean_absolute_error(X['a'], sev.predict(X) + 0)\n"
        "product = skm.mean_absolute_error(y, freq.predict(X) * sev.predict(X))\n"
    )
    namespace = {"LinearRegression": LinearRegression, "skm": skm, "X": X, "y": y}
    capture.user_ns, capture.cell_source = namespace, source
    exec(compile(source, "<cell>", "exec"), namespace)  # as IPython runs a cell
    sev_fit = capture.hooks.training.get(namespace["sev"])["fitId"]
    [metric] = capture.record.metrics  # an untracked sum of one model's predictions is that model's
    assert (metric["fitId"], metric["value"]) == (sev_fit, pytest.approx(namespace["own"]))


def test_each_fit_has_its_own_id_and_its_own_metrics(capture: Capture) -> None:
    X, y = read(capture)
    first = LogisticRegression(C=1.0).fit(X, y)
    second = LogisticRegression(C=0.1).fit(X, y)
    skm.accuracy_score(y, first.predict(X))
    skm.accuracy_score(y, second.predict(X))
    ids = [m["fitId"] for m in capture.record.metrics]
    state = capture.hooks
    assert ids == [state.training.get(first)["fitId"], state.training.get(second)["fitId"]]
    assert ids[0] != ids[1]
    assert {m["split"] for m in capture.record.metrics} == {"train"}


def test_the_metric_functions_patched() -> None:
    names = set(metric_functions(skm))
    assert {"accuracy_score", "f1_score", "roc_auc_score", "r2_score", "mean_squared_error", "log_loss"} <= names
    assert {"silhouette_score", "confusion_matrix", "make_scorer", "get_scorer"}.isdisjoint(names)


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("X_val", "validation"),
        ("y_valid", "validation"),
        ("val_df", "validation"),
        ("X_test2", "test"),
        ("holdout", "test"),
        ("y_train", "train"),
        ("train.csv", "train"),
        ("yvalid", "validation"),
        ("xtrain", "train"),
        ("ytest", "test"),
        ("xval", "validation"),
        ("yval_pred", "validation"),
        ("xdata", None),
        ("ytrue", None),
        ("values", None),
        ("interval", None),
        ("attestation", None),
        ("y", None),
    ],
)
def test_split_of_name(name: str, split: str | None) -> None:
    assert split_of_name(name) == split


def test_the_model_facet_carries_the_fit_id_and_training_run(capture: Capture, tmp_path) -> None:
    from nblineage.kernel_ext.hooks.describe import describe_model

    X, y = read(capture)
    capture.cell_job = "nb.ipynb#c3"
    model = LogisticRegression().fit(X, y)
    description = describe_model(model, capture)
    assert description["fitId"] == capture.hooks.training.get(model)["fitId"]
    assert description["trainingRunId"] == "run-1"
    assert description["trainingJob"] == "nb.ipynb#c3"
    assert "fitId" not in description.get("training", {})


def test_provenance_remembers_the_runs_it_went_through(capture: Capture) -> None:
    X, y = read(capture)
    capture.cell_run_id = "run-2"
    model = LogisticRegression().fit(X, y)
    assert capture.of(model).runs == {"run-1", "run-2"}
    assert capture.of(X).runs == {"run-1"}


def test_a_metric_hook_fault_changes_nothing_the_user_sees(capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from nblineage.kernel_ext import safety
    from nblineage.kernel_ext.hooks import metrics as metrics_hooks
    from nblineage.kernel_ext.safety import HookError

    X, y = read(capture)
    model = LogisticRegression().fit(X, y)
    expected = skm.accuracy_score(y, model.predict(X))

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(metrics_hooks, "record_metric", broken)
    with pytest.raises(HookError, match=r"sklearn\.metrics\.accuracy_score"):
        skm.accuracy_score(y, model.predict(X))
    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)
    monkeypatch.setattr(safety, "errors", Counter())
    with pytest.warns(RuntimeWarning, match="your code ran normally"):
        assert skm.accuracy_score(y, model.predict(X)) == expected
    with pytest.raises(ValueError, match="inconsistent numbers"):  # the user's own error passes through untouched
        skm.accuracy_score([0, 1], model.predict(X))
