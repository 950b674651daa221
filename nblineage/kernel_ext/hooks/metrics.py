"""Model metrics: scikit-learn's metric functions and estimators' ``score``, each labelled with its split.

A metric is recorded when its predictions can be traced to a fitted estimator: they are what the estimator's
``predict``, ``predict_proba``, ``predict_log_proba`` or ``decision_function`` returned (or a numpy view of that,
``proba[:, 1]``), or, failing that, they have the length of the latest predictions made. The metric names the fit
(``fitId``) so the saved model finds it, whether it is computed before or after the save.

The split is what ``y_true`` (for ``score``, ``y`` or ``X``) is, decided in this order: the name of the notebook
variable holding it (``y_val``, ``X_valid``, ``val_df``: validation; ``test``: test; ``train``: train); which part of
a ``train_test_split`` it is (``mark_split_parts``: first part train, second test; a train part split again gives
train and validation, a test part validation and test); the data the estimator was fit on (train); the name of
the dataset it was read from (``valid.csv``...). Unknown is ``None``. Metrics MLflow's autolog computes itself are
MLflow's to report (``mlflow/runs.py``), not recorded here.
"""

from __future__ import annotations

import ast
import copyreg
import numbers
import os
import sys
from collections.abc import Iterator
from typing import Any

from nblineage.governance.splits import split_of_name
from nblineage.kernel_ext import cellcode
from nblineage.kernel_ext.capture import Capture, cell_line
from nblineage.kernel_ext.flow import PREDICTING
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import qualified_name
from nblineage.kernel_ext.hooks.mlflow import called_by_mlflow, link
from nblineage.kernel_ext.hookstate import HookState
from nblineage.kernel_ext.instrument import After, Instrumentor, Listener, Patch, intercept

__all__ = [
    "MetricsInstrumentor",
    "mark_split",
    "mark_split_parts",
    "mlflow_internal",
    "record_metric",
    "remember_predictions",
]

# (split of the array cut, index of the part) -> split of the part
_PARTS = {None: ("train", "test"), "train": ("train", "validation"), "test": ("validation", "test")}
_METRIC_SUFFIXES = ("_score", "_error", "_loss")
_METRIC_NAMES = {"matthews_corrcoef", "mean_squared_log_error", "root_mean_squared_log_error"}
_NOT_MODEL_METRICS = {"silhouette_score", "calinski_harabasz_score", "davies_bouldin_score", "check_scoring"}
_PREDICTIONS = ("y_pred", "y_score", "y_prob", "y_proba", "probas_pred", "labels_pred", "pred_decision")
MAX_VIEW_DEPTH = 4


def mark_split(state: HookState, obj: Any, split: str, replace: bool = False) -> None:
    """Remember that ``obj`` is the ``split`` part of the data (unless it is known already)."""
    if obj is not None and (replace or not state.splits.get(obj)):
        state.splits.remember(obj, {"split": split})


def mark_split_parts(state: HookState, arrays: tuple, parts: Any) -> None:
    """``train_test_split(*arrays)`` returned ``parts``: parts 2i and 2i+1 are cut from array i."""
    for index, part in enumerate(parts):
        if index // 2 >= len(arrays):
            break
        whole = state.splits.get(arrays[index // 2]).get("split")
        mark_split(state, part, _PARTS.get(whole, ("validation", "validation"))[index % 2], replace=True)


def remember_predictions(state: HookState, estimator: Any, result: Any) -> None:
    """``result`` is what the fitted ``estimator`` predicted."""
    fit_id = state.training.get(estimator).get("fitId")
    if not fit_id:
        return
    facts = {"fitId": fit_id, "estimator": qualified_name(type(estimator))}
    for item in result if isinstance(result, tuple) else (result,):
        state.predictions.remember(item, facts)
        length = _length(item)
        if length is not None:
            state.last_prediction = (length, facts)


def record_metric(
    capture: Capture, name: str, value: Any, model: dict[str, Any], y_true: Any, *others: Any
) -> dict[str, Any] | None:
    """Record the metric ``name`` of the fit ``model`` (``fitId``, ``estimator``) on ``y_true`` (and ``others``,
    looked at for the split when ``y_true`` says nothing); returns the record, or None for a non-scalar value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    state = capture.hooks
    data = [item for item in (y_true, *others) if item is not None]
    variable = next((found for item in data if (found := _variable(capture, item))), None)
    sources = sorted({source for item in data for source in capture.of(item).sources})
    split = _split(state, data, variable, sources) or model.get("split")  # else the split the predictions were of
    metric = {
        "name": name,
        "value": float(value),
        "split": split,
        "fitId": model["fitId"],
        "estimator": model.get("estimator", ""),
        "variable": variable,
        "datasets": [{"namespace": s.namespace, "name": s.name, "version": s.version} for s in sources],
    }
    capture.record.metrics.append(metric)
    state.fit_metrics.setdefault(model["fitId"], []).append(metric)
    link.metric_computed(capture, metric)
    return metric


def _split(state: HookState, data: list[Any], variable: str | None, sources: list[Any]) -> str | None:
    if variable and (split := split_of_name(variable)):
        return split
    for item in data:
        if split := state.splits.get(item).get("split"):
            return split
    names = {split_of_name(os.path.basename(source.name)) for source in sources}
    return names.pop() if len(names) == 1 else None


def _variable(capture: Capture, obj: Any) -> str | None:
    """The name of a notebook variable holding ``obj`` (public names only)."""
    namespace = capture.user_ns
    if namespace is None or isinstance(obj, (int, float, str, bytes, bool)):
        return None
    for key, value in list(namespace.items()):
        if value is obj and isinstance(key, str) and not key.startswith("_"):
            return key
    return None


def _length(obj: Any) -> int | None:
    shape = getattr(obj, "shape", None)
    if isinstance(shape, tuple) and shape and isinstance(shape[0], numbers.Integral):
        return int(shape[0])
    try:
        return len(obj)
    except TypeError:
        return None


def predicted_by(state: HookState, predictions: Any, capture: Capture | None = None) -> dict[str, Any]:
    """The fit that made ``predictions`` (a numpy view of them counts), else the latest of the same length, unless
    the cell statement under way (``capture``'s) uses the predictions of several models: ``mae(y, freq.predict(X) *
    sev.predict(X))`` is a metric of neither."""
    item = predictions
    for _ in range(MAX_VIEW_DEPTH):
        if item is None:
            break
        facts = state.predictions.get(item)
        if facts:
            return facts
        item = getattr(item, "base", None)
    latest = state.last_prediction
    if latest is not None and _length(predictions) == latest[0]:
        return latest[1] if capture is None or not _several_predictors(capture) else {}
    return {}


def _several_predictors(capture: Capture) -> bool:
    """Whether the cell statement under way asks more than one object for predictions."""
    source, user_ns = capture.cell_source, capture.user_ns
    line = cell_line(user_ns, source) if source and user_ns is not None else None
    code = cellcode.parse(source) if line is not None and source else None
    if code is None:
        return False
    statements = [node for node in cellcode.walk(code.tree) if isinstance(node, ast.stmt)]
    under_way = [node for node in statements if node.lineno <= line <= (node.end_lineno or node.lineno)]  # type: ignore[operator]
    if not under_way:
        return False
    statement = max(under_way, key=lambda node: node.lineno)  # the innermost
    asked = {
        ast.dump(node.func.value)
        for node in cellcode.walk(statement)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PREDICTING
    }
    return len(asked) > 1


def mlflow_internal(capture: Capture, *data: Any) -> bool:
    """True for a metric MLflow's autolog computes itself while it logs a fit (on data no notebook variable holds):
    MLflow reports those (``mlflow/runs.py``). A user's metric call that autolog wraps still counts."""
    return called_by_mlflow(sys._getframe(2)) and not any(_variable(capture, item) for item in data if item is not None)


def _metric_call(name: str) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        y_true = argument(args, kwargs, 0, "y_true", None)
        if mlflow_internal(capture, y_true):
            return
        predictions = args[1] if len(args) > 1 else next((kwargs[k] for k in _PREDICTIONS if k in kwargs), None)
        if y_true is None or predictions is None:
            return
        model = predicted_by(capture.hooks, predictions, capture)
        if model:
            record_metric(capture, name, result, model, y_true)

    return after


def metric_functions(module: Any) -> Iterator[str]:
    """The names of ``sklearn.metrics`` functions that score predictions against ``y_true``."""
    for name in getattr(module, "__all__", ()):
        if name in _NOT_MODEL_METRICS or not callable(getattr(module, name, None)):
            continue
        if name.endswith(_METRIC_SUFFIXES) or name in _METRIC_NAMES:
            yield name


class MetricsInstrumentor(Instrumentor):
    """Patches the metric functions of ``sklearn.metrics`` (and the modules defining them) when it is imported."""

    modules = ("sklearn.metrics",)

    def patches(self, module: Any) -> Iterator[Patch]:
        for name in metric_functions(module):
            yield module, name, intercept(f"sklearn.metrics.{name}", _metric_call(name))

    def listeners(self, module: Any) -> Iterator[Listener]:
        base = getattr(sys.modules.get("sklearn.metrics._scorer"), "_BaseScorer", None)
        if isinstance(base, type):
            yield from map(_pickled_with_wrapper, _subclasses(base))


def _subclasses(cls: type) -> Iterator[type]:
    for sub in type.__subclasses__(cls):
        yield sub
        yield from _subclasses(sub)


def _pickled_with_wrapper(scorer_class: type) -> Listener:
    """The scorers scikit-learn made when ``sklearn.metrics`` was imported (``scoring="roc_auc"``) hold the metric
    functions as they were before the patch, and pickle refuses a function its module no longer holds: a fitted
    ``GridSearchCV`` would not pickle with capture on. While patched, a scorer pickles with the wrapper in their place
    (pickled by the same reference, so the file loads without nblineage)."""

    def subscribe() -> None:
        previous[:] = [copyreg.dispatch_table.get(scorer_class, _NONE)]
        copyreg.dispatch_table[scorer_class] = _reduce_scorer

    def unsubscribe() -> None:
        if copyreg.dispatch_table.get(scorer_class) is _reduce_scorer:
            del copyreg.dispatch_table[scorer_class]
            if previous and previous[0] is not _NONE:
                copyreg.dispatch_table[scorer_class] = previous[0]

    previous: list[Any] = []
    return subscribe, unsubscribe


_NONE = object()


def _reduce_scorer(scorer: Any) -> Any:
    reduced = scorer.__reduce_ex__(2)
    if sys._getframe(1).f_globals.get("__name__") == "copy":  # copyreg's table serves copies too (``get_scorer``)
        return reduced  # which keep the function they had: a scorer of the library's calls no hook
    state = reduced[2] if isinstance(reduced, tuple) and len(reduced) > 2 else None
    function = state.get("_score_func") if isinstance(state, dict) else None
    home = sys.modules.get(getattr(function, "__module__", None) or "")
    patched = getattr(home, getattr(function, "__qualname__", ""), None)
    if getattr(patched, "__wrapped__", None) is function and function is not None:
        return (*reduced[:2], {**state, "_score_func": patched}, *reduced[3:])
    return reduced
