"""scikit-learn hooks: provenance through fit, transform, predict, train_test_split, Pipeline and ColumnTransformer."""

from __future__ import annotations

import inspect
import io
import pickle
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn.model_selection
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.utils.validation import validate_data

from nblineage.kernel_ext import fallback, flow, safety
from nblineage.kernel_ext.capture import Capture, activate
from nblineage.kernel_ext.hooks import sklearn as sklearn_hooks
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.instrument import MethodWrapper
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import HookError

RAW = Source("file", "/data/raw.csv", "v1")
LABELS = Source("file", "/data/labels.csv", "v7")


@pytest.fixture
def instrumentor() -> Iterator[SklearnInstrumentor]:
    instrumentor = SklearnInstrumentor()
    instrumentor.instrument()
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def capture(instrumentor: SklearnInstrumentor, capture: Capture) -> Capture:
    """The capture, with scikit-learn instrumented."""
    return capture


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, 60),
            "income": rng.normal(50, 5, 60),
            "city": rng.choice(["a", "b", "c"], 60),
            "label": np.tile([0, 1], 30),
        }
    )


def tracked(capture: Capture) -> tuple[pd.DataFrame, pd.Series]:
    """Features read from raw.csv and a target read from labels.csv."""
    df = frame()
    X, y = df[["age", "income"]], df["label"]
    capture.read(RAW, X)
    capture.read(LABELS, y)
    return X, y


def sources(capture: Capture, obj: object) -> set[Source]:
    return set(capture.of(obj).sources)


def test_fit_gives_the_estimator_the_provenance_of_x_and_y(capture: Capture) -> None:
    X, y = tracked(capture)
    model = LogisticRegression().fit(X, y)
    assert sources(capture, model) == {RAW, LABELS}
    assert capture.of(model).precision == "exact"
    facts = dict(capture.hooks.training.get(model))
    assert len(facts.pop("fitId")) == 32
    assert facts == {"featureNames": ["age", "income"], "nFeatures": 2, "nSamples": 60, "targetNames": ["label"]}


def test_results_derive_from_the_estimator_and_x(capture: Capture) -> None:
    X, y = tracked(capture)
    model = LogisticRegression().fit(X.copy(), y.copy())  # untracked copies: the model has no provenance
    assert sources(capture, model) == set()
    predicted = model.predict(X)
    probabilities = model.predict_proba(X)
    decision = model.decision_function(X)
    assert sources(capture, predicted) == sources(capture, probabilities) == sources(capture, decision) == {RAW}
    assert isinstance(model.score(X, y), float)  # a float cannot be tagged; the call is unchanged
    scaler = StandardScaler()
    scaled = scaler.fit_transform(X)
    assert sources(capture, scaler) == sources(capture, scaled) == {RAW}
    other = Source("file", "/data/new.csv", "v2")
    new = frame()[["age", "income"]]
    capture.read(other, new)
    assert sources(capture, scaler.transform(new)) == {RAW, other}
    assert sources(capture, scaler.inverse_transform(scaler.transform(new))) == {RAW, other}


def test_partial_fit_keeps_what_the_estimator_learned_before(capture: Capture) -> None:
    X, y = tracked(capture)
    more = frame()
    later = Source("file", "/data/later.csv", "v1")
    capture.read(later, more)
    model = SGDClassifier(random_state=0)
    model.partial_fit(X.copy(), y, classes=[0, 1])
    model.partial_fit(more[["age", "income"]], more["label"])
    assert sources(capture, model) == {LABELS}  # frames made here are untracked (the pandas hooks tag them)
    model.partial_fit(X, y)
    assert sources(capture, model) == {RAW, LABELS}
    assert capture.hooks.training.get(model)["nSamples"] == 180


def test_train_test_split_parts_derive_from_their_own_input(capture: Capture) -> None:
    X, y = tracked(capture)
    X_train, X_test, y_train, y_test = sklearn.model_selection.train_test_split(X, y, test_size=0.25, random_state=0)
    assert sources(capture, X_train) == sources(capture, X_test) == {RAW}
    assert sources(capture, y_train) == sources(capture, y_test) == {LABELS}
    a_train, a_test = sklearn.model_selection.train_test_split(X.to_numpy(), stratify=y, random_state=0)
    assert sources(capture, a_train) == sources(capture, a_test) == {LABELS}  # the stratify labels chose the rows
    model = LogisticRegression().fit(X_train, y_train)
    assert sources(capture, model) == {RAW, LABELS}
    assert sources(capture, model.predict(X_test)) == {RAW, LABELS}


def run_cell(capture: Capture, source: str, namespace: dict[str, Any]) -> None:
    """Run ``source`` as a cell in ``namespace``, its code followed where a hook asks (as the session has it), then
    end it as the session does (the fallback)."""
    capture.cell_source, capture.user_ns = source, namespace
    capture.catch_up, capture.catch_up_in_function = fallback.catch_up, fallback.catch_up_in_function
    capture.names_at_start = flow.names_at_start(capture, source, namespace)
    exec(compile(source, "/tmp/ipykernel_0/cell.py", "exec"), namespace)
    fallback.cell_ended(capture, source, namespace)


def test_shuffle_and_resample_results_derive_from_their_own_input(capture: Capture) -> None:
    """``X, meta = shuffle(X, meta)``: each result from its own array, as a ``train_test_split`` part, not from all
    the statement read (the fallback's rule); ``resample``'s ``stratify`` chose the rows."""
    X, y = tracked(capture)
    namespace: dict[str, Any] = {"X": X.to_numpy(), "y": y}
    capture.registry.tag(namespace["X"], capture.of(X))
    run_cell(
        capture,
        "from sklearn.utils import resample, shuffle\nX, y = shuffle(X, y, random_state=0)\n"
        "one = shuffle(X, random_state=0)\nX_boot, y_boot = resample(X, y, stratify=y, random_state=0)\n",
        namespace,
    )
    assert sources(capture, namespace["X"]) == sources(capture, namespace["one"]) == {RAW}
    assert sources(capture, namespace["y"]) == sources(capture, namespace["y_boot"]) == {LABELS}
    assert sources(capture, namespace["X_boot"]) == {RAW, LABELS}


def test_a_vocabulary_given_to_an_estimator_is_data_it_derives_from(capture: Capture) -> None:
    """``CountVectorizer(vocabulary=pickle.load(f))`` (a vocabulary learned before, kept in a file): the vectorizer,
    its counts and the model fitted on them derive from that file too; one taken from a loaded model
    (``vocabulary=old.vocabulary_``, which no hook tracked) from that model's file. Settings read from a config file
    (``lowercase=cfg["lower"]``) stay no data."""
    from sklearn.feature_extraction.text import CountVectorizer

    vocab, config, old_file = (Source("file", f"/data/{name}", "v1") for name in ("vocab.pkl", "cfg.json", "old.pkl"))
    texts, y = frame()["city"] + "x", frame()["label"]
    capture.read(RAW, texts)
    capture.read(LABELS, y)
    old = CountVectorizer().fit(["ax bx", "cx"])
    capture.read(old_file, old)
    namespace: dict[str, Any] = {
        "CountVectorizer": CountVectorizer,
        "LogisticRegression": LogisticRegression,
        "texts": texts,
        "y": y,
        "old": old,
        "vocab": {"ax": 0, "bx": 1, "cx": 2},
        "cfg": {"lower": True},
    }
    capture.registry.tag(namespace["vocab"], capture.exact({vocab}), binding=(namespace, "vocab"))
    capture.registry.tag(namespace["cfg"], capture.exact({config}), binding=(namespace, "cfg"))
    run_cell(
        capture,
        "vec = CountVectorizer(vocabulary=vocab, lowercase=cfg['lower'])\ncounts = vec.fit_transform(texts)\n"
        "model = LogisticRegression().fit(counts, y)\nagain = CountVectorizer(vocabulary=old.vocabulary_)\n"
        "again.fit(texts)\n",
        namespace,
    )
    assert sources(capture, namespace["vec"]) == sources(capture, namespace["counts"]) == {RAW, vocab}
    assert sources(capture, namespace["model"]) == {RAW, vocab, LABELS}
    assert sources(capture, namespace["again"]) == {RAW, old_file}


def test_pipeline_and_column_transformer(capture: Capture) -> None:
    df = frame()
    capture.read(RAW, df)
    X, y = df.drop(columns="label"), df["label"]
    capture.derive(X, df)
    capture.derive(y, df)
    X_train, X_test, y_train, _ = sklearn.model_selection.train_test_split(X, y, random_state=0)
    columns = ColumnTransformer([("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(), ["city"])])
    pipe = Pipeline([("prep", columns), ("clf", LogisticRegression())])
    assert pipe.fit(X_train, y_train) is pipe
    for part in (
        pipe,
        pipe.named_steps["clf"],
        pipe.named_steps["prep"],
        *pipe.named_steps["prep"].named_transformers_.values(),
    ):
        assert sources(capture, part) == {RAW}, part
    assert sources(capture, pipe.predict(X_test)) == {RAW}
    assert sources(capture, pipe.predict_proba(X_test)) == {RAW}
    facts = capture.hooks.training.get(pipe)
    assert facts["featureNames"] == ["age", "income", "city"]
    assert facts["columnTransformers"][:2] == [
        {"name": "num", "transformer": "sklearn.preprocessing._data.StandardScaler", "columns": ["age", "income"]},
        {"name": "cat", "transformer": "sklearn.preprocessing._encoders.OneHotEncoder", "columns": ["city"]},
    ]
    # only the outermost call records: the steps' own fits ran inside Pipeline.fit
    assert capture.hooks.training.get(pipe.named_steps["clf"]) == {}
    transformed = columns.fit_transform(X_test)
    assert sources(capture, transformed) == sources(capture, columns) == {RAW}


def test_encoder_outputs_trace_to_the_columns_they_encode(capture: Capture) -> None:
    """OneHotEncoder and ColumnTransformer output names (get_feature_names_out) come from their input columns; a
    model fit on them names those columns in its featureLineage."""
    df = frame()
    capture.read(RAW, df)
    X, y = df.drop(columns="label"), df["label"]
    encoder = OneHotEncoder(sparse_output=False).fit(X[["city"]])
    assert {k: set(v) for k, v in capture.column_rules.items()} == {f"city_{c}": {"city"} for c in "abc"}
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(sparse_output=False), ["city"])]
    ).set_output(transform="pandas")
    encoded = prep.fit_transform(X)
    assert list(encoded.columns) == ["num__age", "num__income", "cat__city_a", "cat__city_b", "cat__city_c"]
    assert capture.column_rules["num__age"] == {"age"} and capture.column_rules["cat__city_b"] == {"city"}
    model = LogisticRegression().fit(encoded, y)
    lineage = capture.hooks.training.get(model)["featureLineage"]
    assert lineage == {"num__age": ["age"], "num__income": ["income"], **{f"cat__city_{c}": ["city"] for c in "abc"}}
    assert encoder.get_feature_names_out().tolist() == ["city_a", "city_b", "city_c"]  # unchanged by the hook


def test_outputs_named_as_their_inputs_learn_no_rule_over_them(capture: Capture) -> None:
    """An imputer's columns are its inputs (its missing-value indicators say where one is missing), as are a
    polynomial's degree-one terms (its powers say which columns each term multiplies): no rule names an input
    itself, which would change the frame's own column for the rest of the session (a Home Credit notebook: every
    feature of a later model then read every column)."""
    df = pd.DataFrame({"age": [30, np.nan, 50, 41], "income": [1.0, 2.0, np.nan, 3.0], "label": [0, 1, 0, 1]})
    X = df[["age", "income"]]
    imputed = SimpleImputer(strategy="median", add_indicator=True).fit(X).transform(X)
    assert capture.column_rules == {"missingindicator_age": {"age"}, "missingindicator_income": {"income"}}
    PolynomialFeatures(2).fit(X.fillna(0))  # each term reads the columns it multiplies; the bias none
    assert capture.column_rules["age income"] == {"age", "income"} and capture.column_rules["age^2"] == {"age"}
    assert not {"age", "income", "1"} & set(capture.column_rules)
    model = LogisticRegression().fit(imputed, df["label"])
    assert capture.hooks.training.get(model)["featureLineage"] == {
        "missingindicator_age": ["age"],
        "missingindicator_income": ["income"],
    }


def test_a_predictor_or_unnamed_input_learns_no_column_rules(capture: Capture) -> None:
    df = frame()
    LogisticRegression().fit(df[["age", "income"]], df["label"])
    StandardScaler().fit(df[["age", "income"]].to_numpy())
    assert capture.column_rules == {}


def test_search_tags_its_best_estimator(capture: Capture) -> None:
    X, y = tracked(capture)
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert sources(capture, search) == sources(capture, search.best_estimator_) == {RAW, LABELS}


class Doubler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """An estimator defined after scikit-learn was imported (the fixture instruments later still)."""

    def fit(self, X: object, y: object = None) -> Doubler:
        validate_data(self, X)
        return self

    def transform(self, X: object) -> np.ndarray:
        return validate_data(self, X, reset=False) * 2


def test_classes_defined_later_are_patched(capture: Capture) -> None:
    class Tripler(Doubler):
        def transform(self, X: object) -> np.ndarray:
            return super().transform(X) * 1.5

    assert isinstance(inspect.getattr_static(Tripler, "transform"), MethodWrapper)
    assert isinstance(inspect.getattr_static(Doubler, "fit"), MethodWrapper)
    X, _ = tracked(capture)
    model = Tripler().set_output(transform="pandas").fit(X)
    out = model.transform(X)
    assert isinstance(out, pd.DataFrame)  # set_output still wraps transform, inside our wrapper
    assert list(out.columns) == ["age", "income"]
    assert np.allclose(out.to_numpy(), X.to_numpy() * 3)
    assert sources(capture, model) == sources(capture, out) == {RAW}


def test_no_capture_no_recording(instrumentor: SklearnInstrumentor) -> None:
    activate(None)
    X = frame()[["age", "income"]]
    model = LogisticRegression().fit(X, frame()["label"])
    assert model.predict(X).shape == (60,)


def test_patched_functions_keep_their_identity(capture: Capture) -> None:
    fit = LogisticRegression.fit
    original = LogisticRegression.__dict__["fit"].__wrapped__
    assert isinstance(LogisticRegression.__dict__["fit"], MethodWrapper)
    assert (fit.__name__, fit.__qualname__, fit.__module__) == ("fit", "LogisticRegression.fit", original.__module__)
    assert inspect.signature(fit) == inspect.signature(original)
    assert inspect.signature(LogisticRegression().fit) == inspect.signature(original.__get__(LogisticRegression()))
    assert fit.__doc__ == original.__doc__
    split = sklearn.model_selection.train_test_split
    assert split is sklearn.model_selection._split.train_test_split  # both aliases share one wrapper
    assert (split.__name__, split.__module__) == ("train_test_split", "sklearn.model_selection._split")
    assert pickle.loads(pickle.dumps(split)) is split
    assert hasattr(Pipeline([("s", StandardScaler())]), "predict_proba") is False  # available_if still decides


def test_pickling_and_results_are_unchanged(capture: Capture, instrumentor: SklearnInstrumentor) -> None:
    X, y = tracked(capture)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    clone = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(clone.predict_proba(X), pipe.predict_proba(X))
    buffer = io.BytesIO()
    joblib.dump(pipe, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer).predict(X), pipe.predict(X))
    method = pickle.loads(pickle.dumps(pipe.predict))  # bound methods pickle as before (loky, multiprocessing)
    np.testing.assert_array_equal(method(X), pipe.predict(X))
    cloudpickle = pytest.importorskip("cloudpickle")
    np.testing.assert_array_equal(pickle.loads(cloudpickle.dumps(pipe.predict))(X), pipe.predict(X))
    params = pipe.get_params(deep=False)
    with_capture = (pipe.predict_proba(X), pipe.score(X, y), pickle.dumps(pipe))
    instrumentor.uninstrument()
    plain = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    assert repr(plain.get_params(deep=False)) == repr(params)
    np.testing.assert_array_equal(plain.predict_proba(X), with_capture[0])
    assert plain.score(X, y) == with_capture[1]
    assert pickle.dumps(plain) == with_capture[2]


def test_hook_fault_raises_only_when_strict(capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = tracked(capture)
    expected = LogisticRegression().fit(X, y).predict(X)

    def broken(*args: object) -> dict:
        raise ValueError("boom")

    monkeypatch.setattr(sklearn_hooks, "training_facts", broken)
    with pytest.raises(HookError, match="sklearn fit"):
        LogisticRegression().fit(X, y)
    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)
    monkeypatch.setattr(safety, "errors", Counter())
    model = LogisticRegression()
    with pytest.warns(RuntimeWarning, match="your code ran normally"):
        assert model.fit(X, y) is model
    np.testing.assert_array_equal(model.predict(X), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # shown once per hook, then only logged
        model.fit(X, y)
    assert safety.errors["sklearn fit"] == 2


def test_user_errors_pass_through(capture: Capture) -> None:
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers"):
        LogisticRegression().fit(frame()[["age"]], [0, 1])


def test_uninstrument_restores_originals() -> None:
    fit = LogisticRegression.__dict__["fit"]
    fit_transform = TransformerMixin.__dict__["fit_transform"]
    split = sklearn.model_selection.train_test_split
    hooks = {cls: cls.__dict__.get("__init_subclass__") for cls in inspect.getmro(StandardScaler)}
    instrumentor = SklearnInstrumentor()
    for _ in range(2):  # instrument again after uninstrument
        instrumentor.instrument()
        assert isinstance(LogisticRegression.__dict__["fit"], MethodWrapper)
        assert isinstance(TransformerMixin.__dict__["fit_transform"], MethodWrapper)
        assert sklearn.model_selection.train_test_split is not split
        instrumentor.uninstrument()
        assert LogisticRegression.__dict__["fit"] is fit
        assert TransformerMixin.__dict__["fit_transform"] is fit_transform
        assert sklearn.model_selection.train_test_split is split
        assert sklearn.model_selection._split.train_test_split is split
        assert {cls: cls.__dict__.get("__init_subclass__") for cls in inspect.getmro(StandardScaler)} == hooks

    class Later(BaseEstimator):
        def fit(self, X: object) -> Later:
            return self

    assert not isinstance(inspect.getattr_static(Later, "fit"), MethodWrapper)


LATE_IMPORT = """
import sys
from nblineage.kernel_ext.capture import Capture, activate
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.instrument import MethodWrapper
from nblineage.kernel_ext.provenance import Source

SklearnInstrumentor().instrument()
assert "sklearn" not in sys.modules, "instrumenting imported scikit-learn"
capture = Capture()
activate(capture)
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier

X = np.arange(40.0).reshape(20, 2)
capture.read(Source("file", "/data/raw.csv", "v1"), X)
X_train, X_test = train_test_split(X, random_state=0)
model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X_train, np.arange(15) % 2)
assert capture.of(model).sources == {Source("file", "/data/raw.csv", "v1")}, capture.of(model)
print("ok")
"""


def test_patches_apply_when_sklearn_is_imported_later() -> None:
    result = subprocess.run([sys.executable, "-c", LATE_IMPORT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_load_files_reads_each_file_of_the_folder(capture: Capture, tmp_path: Path) -> None:
    """``load_files(folder)`` (the review_polarity tutorials): every file is an input; the texts and targets carry
    them all."""
    import sklearn.datasets
    import xxhash

    for label in ("neg", "pos"):
        (tmp_path / label).mkdir()
        for i in range(2):
            (tmp_path / label / f"cv{i}.txt").write_text(f"{label} review {i}")
    reviews = sklearn.datasets.load_files(str(tmp_path), encoding="utf-8")
    expected = {
        Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest()) for path in tmp_path.glob("*/*.txt")
    }
    assert set(capture.record.inputs) == expected
    assert capture.of(reviews).sources == expected
    assert capture.of(reviews.target).sources == expected
    assert capture.of(reviews.data).sources == expected


def test_svmlight_files_are_reads(capture: Capture, tmp_path: Path) -> None:
    """``load_svmlight_file`` (scikit-learn's documented loader, often behind ``joblib.Memory``) and
    ``load_svmlight_files``: each file is an input, and the arrays of each carry their own file only."""
    import sklearn.datasets
    import xxhash

    paths = [tmp_path / "train.svm", tmp_path / "test.svm"]
    for number, path in enumerate(paths):
        path.write_text(f"1 1:{number}.5 3:2\n0 2:1.5\n")
    train, test = (Source("file", str(p), xxhash.xxh3_128(p.read_bytes()).hexdigest()) for p in paths)
    X, y = sklearn.datasets.load_svmlight_file(str(paths[0]))
    assert capture.of(X).sources == capture.of(y).sources == {train}
    X_train, y_train, X_test, y_test = sklearn.datasets.load_svmlight_files([str(p) for p in paths])
    assert capture.of(X_train).sources == capture.of(y_train).sources == {train}
    assert capture.of(X_test).sources == capture.of(y_test).sources == {test}
    assert set(capture.record.inputs) == {train, test}
    model = LogisticRegression().fit(X, y)
    assert capture.of(model).sources == {train}
