"""Gradient-boosting libraries' own APIs: XGBoost, LightGBM and CatBoost (their scikit-learn wrappers,
``XGBClassifier`` and ``LGBMRegressor``, are scikit-learn estimators: ``hooks/sklearn.py``).

- Data: ``xgb.DMatrix`` (and ``QuantileDMatrix``), ``lgb.Dataset`` and ``catboost.Pool`` derive from the data,
  labels and weights they were given; given a file's path instead (``xgb.DMatrix("train.csv?format=csv")``,
  ``lgb.Dataset("train.svm")``, ``Pool("train.tsv")``), which the library parses itself, they are a read of it;
  ``save_binary(path)`` of a DMatrix or a Dataset writes a dataset derived from what it was made of.
- Training: ``xgb.train(params, dtrain, evals=...)`` and ``lgb.train(params, train_set, valid_sets=...)`` return a
  Booster derived from the training data and the evaluation data (which decides where early stopping ends it), with
  its training facts (features, rows, a ``fitId`` its predictions and metrics carry); one continued from a model
  (``xgb_model=``, ``init_model=``: a Booster, or a model file, which is then a read) derives from it too. CatBoost's
  ``fit``, ``predict``, ``predict_proba`` and ``score`` are scikit-learn's (``hooks/sklearn.py``'s steps).
- Predictions: ``Booster.predict`` derives from the Booster and its data, as an estimator's.
- Saves: ``Booster.save_model(fname)``, ``XGBModel.save_model``, CatBoost's ``save_model``: a MODEL output.
- Loads: ``xgb.Booster(model_file=...)``, ``Booster.load_model``, ``XGBModel.load_model``,
  ``lgb.Booster(model_file=...)`` and CatBoost's ``load_model``: a read of the model file, which the model derives
  from (as after ``joblib.load``), so its predictions, re-saves and further training do.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable
from typing import Any

from nblineage.kernel_ext import columns
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import loads
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import feature_list, json_safe
from nblineage.kernel_ext.hooks.files import locate, record_write
from nblineage.kernel_ext.hooks.models import method_saves
from nblineage.kernel_ext.hooks.sklearn import METHODS
from nblineage.kernel_ext.instrument import After, Instrumentor, Patch, defining_class, intercept

__all__ = ["CatBoostInstrumentor", "LightGBMInstrumentor", "XGBoostInstrumentor"]

_PATHS = (str, os.PathLike)
KEYWORD = 1 << 30  # the position of a keyword-only parameter: never given by position
PREDICT = METHODS["predict"]  # scikit-learn's step: the predictions derive from the model and the data


def _data_made(data_at: tuple[int, str], *parts: tuple[int, str]) -> After:
    """``DMatrix(data, label=...)``, ``Dataset``, ``Pool``: made from a file's path, a read of it; else it derives
    from the data and the ``parts`` given (labels, weights: by position or keyword)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        made, data = args[0], argument(args, kwargs, *data_at)
        if isinstance(data, _PATHS):
            location = locate(os.fspath(data).partition("?")[0].partition("#")[0])  # URI parameters, cache prefix
            if location is not None:
                capture.read(location.source(), made)
            return
        capture.derive(made, data, *(argument(args, kwargs, *part, None) for part in parts))

    return after


def _saved_binary(file_at: tuple[int, str]) -> After:
    """``dtrain.save_binary(path)``: the data object written in the library's own format, a dataset derived from
    what the object was made of (the M5 kernels write it, then train from ``lgb.Dataset(path)``)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, *file_at, None)
        location = locate(target) if isinstance(target, _PATHS) else None
        if location is not None:
            record_write(capture, location, args[0])

    return after


def _trained(data_at: tuple[int, str], evals_at: tuple[int, str], model_at: tuple[int, str]) -> After:
    """``xgb.train``, ``lgb.train``: the Booster derives from the training data, the evaluation data and the model it
    continued (a Booster, or a model file: a read)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        data = argument(args, kwargs, *data_at)
        given = argument(args, kwargs, *evals_at, None) or ()
        watched = [item[0] if isinstance(item, tuple) else item for item in _items(given)]
        provenance = capture.derive(result, data, *watched)
        start = argument(args, kwargs, *model_at, None)
        if isinstance(start, _PATHS):
            location = locate(start)
            if location is not None:
                provenance = provenance | capture.read(location.source(), None)
        elif start is not None:
            provenance = provenance | capture.of(start) | loads.loaded_from(start)
        if provenance:
            capture.registry.tag(result, provenance.through(capture.cell_run_id))
        _remember_fit(capture, result, data, argument(args, kwargs, 0, "params", None))

    return after


def _items(value: Any) -> list[Any]:
    """The evaluation sets given: a list or tuple of them (XGBoost's pairs), or one (``valid_sets=lgb_eval``)."""
    return list(value)[:64] if isinstance(value, (list, tuple)) else [value]


def _remember_fit(capture: Capture, booster: Any, data: Any, params: Any) -> None:
    """The training facts of a Booster trained on ``data`` (a DMatrix or a Dataset) with ``params``."""
    facts: dict[str, Any] = {"fitId": uuid.uuid4().hex}
    given = json_safe(params) if isinstance(params, dict) else None
    if given:
        facts["hyperParameters"] = given
    names = getattr(data, "feature_names", None)
    if names is None and callable(getattr(data, "get_feature_name", None)):
        try:
            names = data.get_feature_name()
        except Exception:  # a Dataset not constructed: its names are the Booster's
            names = None
    if names := feature_list(names):
        facts["featureNames"] = names
        if derived := columns.feature_lineage(capture, names):  # as a scikit-learn fit's (hooks/sklearn.py)
            facts["featureLineage"] = derived
    rows = getattr(data, "num_row", None) or getattr(data, "num_data", None)
    if callable(rows):
        with contextlib.suppress(Exception):  # a Dataset not constructed: no count
            facts["nSamples"] = int(rows())
    if capture.cell_job:
        facts["trainingJob"] = capture.cell_job
    if capture.cell_run_id:
        facts["trainingRunId"] = capture.cell_run_id
    capture.hooks.training.remember(booster, facts)


def _loaded_into(file_at: tuple[int, str]) -> After:
    """``booster.load_model(fname)``: the model derives from the file (a path; not bytes)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, *file_at)
        if isinstance(target, _PATHS):
            loads.load_into(capture, args[0], target)

    return after


class XGBoostInstrumentor(Instrumentor):
    """XGBoost's DMatrix, ``train``, ``Booster.predict``, saves and loads (module docstring)."""

    modules = ("xgboost",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield from method_saves(module, (("Booster", "save_model", "fname"), ("XGBModel", "save_model", "fname")))
        for class_name in ("Booster", "XGBModel"):
            owner = defining_class(getattr(module, class_name, None), "load_model")
            if owner is not None:
                yield owner, "load_model", intercept(f"xgboost {class_name}.load_model", _loaded_into((1, "fname")))
        made = _data_made((1, "data"), (2, "label"), (KEYWORD, "weight"), (KEYWORD, "base_margin"))
        for class_name in ("DMatrix", "QuantileDMatrix"):
            cls = getattr(module, class_name, None)
            if cls is not None and "__init__" in cls.__dict__:
                yield cls, "__init__", intercept(f"xgboost {class_name}", made)
        if getattr(module, "DMatrix", None) is not None:
            saved = _saved_binary((1, "fname"))
            yield module.DMatrix, "save_binary", intercept("xgboost DMatrix.save_binary", saved)
        # evals by position too: XGBoost still takes it so, with a warning, as its own demos pass it
        yield (
            module,
            "train",
            intercept("xgboost.train", _trained((1, "dtrain"), (3, "evals"), (KEYWORD, "xgb_model"))),
        )
        if getattr(module, "Booster", None) is not None:
            yield module.Booster, "predict", PREDICT


class LightGBMInstrumentor(Instrumentor):
    """LightGBM's Dataset, ``train``, ``Booster.predict``, saves and loads (module docstring)."""

    modules = ("lightgbm",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield from method_saves(module, (("Booster", "save_model", "filename"),))
        booster = getattr(module, "Booster", None)
        if booster is not None:
            yield booster, "__init__", intercept("lightgbm Booster", _loaded_into((3, "model_file")))
            yield booster, "predict", PREDICT
        dataset = getattr(module, "Dataset", None)
        if dataset is not None:
            made = _data_made((1, "data"), (2, "label"), (4, "weight"))
            yield dataset, "__init__", intercept("lightgbm Dataset", made)
            yield dataset, "save_binary", intercept("lightgbm Dataset.save_binary", _saved_binary((1, "filename")))
        yield (
            module,
            "train",
            intercept("lightgbm.train", _trained((1, "train_set"), (3, "valid_sets"), (6, "init_model"))),
        )


class CatBoostInstrumentor(Instrumentor):
    """CatBoost's Pool, fits, predictions, scores, saves and loads (module docstring)."""

    modules = ("catboost",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield from method_saves(module, (("CatBoost", "save_model", "fname"),))
        base = getattr(module, "CatBoost", None)
        if base is not None and "load_model" in base.__dict__:
            yield base, "load_model", intercept("catboost load_model", _loaded_into((1, "fname")))
        pool = getattr(module, "Pool", None)
        if pool is not None:
            made = _data_made((1, "data"), (2, "label"), (KEYWORD, "weight"))
            yield pool, "__init__", intercept("catboost Pool", made)
        seen: set[type] = set()
        for class_name in ("CatBoost", "CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker"):
            cls = getattr(module, class_name, None)
            for klass in cls.__mro__ if isinstance(cls, type) else ():
                if klass is object or klass in seen:
                    continue
                seen.add(klass)
                for name, wrapper in METHODS.items():
                    if name in klass.__dict__:
                        yield klass, name, wrapper
