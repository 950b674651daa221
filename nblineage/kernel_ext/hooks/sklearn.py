"""scikit-learn: provenance through estimators and ``train_test_split``.

What is patched (each method on the class that defines it, so it is wrapped once):

- ``fit`` and ``partial_fit``: the estimator derives from the call's arguments (X, y, sample_weight...) and the
  data among its parameters (an array, a loaded ``vocabulary`` or ``categories``; not settings, which are no data
  even when read from a config file); ``partial_fit`` keeps what it had too, and an estimator loaded from a file
  keeps that file (``hooks/loads.py``). The estimator's training facts are remembered with the capture (feature
  names, numbers of samples and features, target names, a ColumnTransformer's columns, the cell and run, and a
  ``fitId`` its metrics carry), X and y are marked as training data, and its fitted parts (Pipeline steps,
  ColumnTransformer ``transformers_``, FeatureUnion parts, ``best_estimator_``) get its provenance.
- ``fit_transform`` and ``fit_predict``: as ``fit``, and the result derives from the arguments and the data among
  the estimator's parameters.
- ``transform``, ``inverse_transform``, ``score_samples``: the result derives from the estimator and the arguments.
- ``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function``: the same, and the result is
  remembered as the fit's predictions (``hooks/metrics.py``). The result derives also from the model files the fit
  was saved as or loaded from (its ``fitId``: ``describe.model_files``), so scores written back have the saved
  model as an input; the model never derives from its own files through them (a fit drops them from what it
  derives from, unless it was loaded from them), and ``partial_fit`` forgets them (no file holds it any more).
- ``score``: a metric of the fit, labelled with its split (``hooks/metrics.py``).
- A fitted transformer's output columns (``get_feature_names_out``: ``OneHotEncoder``'s ``region_east``, a
  ``ColumnTransformer``'s ``cat__region_east`` and ``num__age``) are traced to its input columns (``columns.py``).
- Arrays without column names (``df.values``, ``np.asarray(df)``, a transformer's output) are named by the columns
  they hold (``columns.name_array``): a model fitted on one has those features; ``train_test_split`` parts keep them.
- ``sklearn.datasets.load_files``: each file of the folder it read is a dataset read, and the Bunch, its ``data``
  and ``target`` carry them all. ``load_svmlight_file(f)`` and ``load_svmlight_files(files)`` read each file, and
  the arrays returned for it carry it.
- ``sklearn.model_selection.train_test_split``: each part derives from the array it was cut from (and ``stratify``)
  and is marked train, test or validation; the parts are remembered for the cell (``HookState.split_parts``), so
  that the fallback keeps each its own provenance when it comes back through a user function's ``return``.
- ``sklearn.utils.shuffle`` and ``resample``: the same, each result from the array it was given (and ``resample``'s
  ``stratify`` and ``sample_weight``, which choose its rows), with no split marked.

Classes: every ``BaseEstimator`` subclass loaded when scikit-learn is imported, with the classes in its MRO (mixins
such as ``TransformerMixin.fit_transform`` and ``ClassifierMixin.score``). A class defined later, by scikit-learn,
another library or the notebook, is patched when its class statement completes: scikit-learn's own
``__init_subclass__`` hooks (``_MetadataRequester``, ``_SetOutputMixin``) are wrapped, and the class is patched when
the outermost of them returns, so after ``set_output`` has wrapped ``transform``. Nothing of scikit-learn is imported
that the user has not imported.
"""

from __future__ import annotations

import contextlib
import importlib
import numbers
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from nblineage.kernel_ext import columns, flow
from nblineage.kernel_ext.capture import Capture, is_data
from nblineage.kernel_ext.flow import PREDICTING
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import feature_list, forget_files, json_safe, model_files, qualified_name
from nblineage.kernel_ext.hooks.files import locate
from nblineage.kernel_ext.hooks.loads import loaded_from, tag_loaded
from nblineage.kernel_ext.hooks.metrics import (
    mark_split,
    mark_split_parts,
    mlflow_internal,
    record_metric,
    remember_predictions,
)
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Provenance, union
from nblineage.kernel_ext.safety import report

__all__ = ["SklearnInstrumentor", "output_columns", "training_facts"]

MAX_PARTS = 64  # fitted sub-estimators tagged per fit
_class_creation = threading.local()


def _inputs(args: tuple, kwargs: dict) -> tuple:
    """Everything the call was given besides the estimator."""
    return (*args[1:], *kwargs.values())


def _untracked_values(capture: Capture, inputs: tuple) -> bool:
    """Whether some input holds values no hook tracked: a list or tuple of them, an array, a frame."""
    return any(
        (isinstance(item, (list, tuple)) and item and not capture.of(item)) or capture.untracked_data((item,))
        for item in inputs
    )


def _derive_result(capture: Capture, result: Any, *inputs: Any) -> None:
    if isinstance(result, tuple):  # predict(..., return_std=True) and the like
        for item in result:
            capture.derive(item, *inputs)
    else:
        capture.derive(result, *inputs)


def _fitting(partial: bool = False, output: bool = False) -> Callable[[Capture, Any, tuple, dict], None]:
    """The ``after`` step of fit (``partial``: partial_fit; ``output``: fit_transform, fit_predict)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        if not args:
            return
        estimator = args[0]
        params = _parameters(estimator)
        learned = _parameters_read(capture, estimator, params)  # before the fit's own provenance replaces what it had
        own = model_files(capture, estimator) - loaded_from(estimator).sources  # the files of the fit it replaces
        if partial:
            forget_files(capture, estimator)
        inputs = ((estimator,) if partial else ()) + _inputs(args, kwargs)
        provenance = capture.derive(estimator, *inputs)
        if not provenance and capture.argument_reads is not None and _untracked_values(capture, inputs):
            # ``lbl.fit(list(all_data[c].values))``: a list no hook tracked, made from data the arguments read
            provenance = capture.argument_reads(capture, nothing_known=True).through(capture.cell_run_id)
            capture.registry.tag(estimator, provenance)
        if not own.isdisjoint(provenance.sources):  # fit on its own predictions: not on the file they came from
            provenance = replace(provenance, sources=provenance.sources - own)
            capture.registry.tag(estimator, provenance)
        given = _functions_read(capture, params) | learned
        if given and not given.sources <= provenance.sources:  # ``CountVectorizer(analyzer=text_process)``
            provenance = (provenance | given).through(capture.cell_run_id)
            capture.registry.tag(estimator, provenance)
        if not partial and (origin := loaded_from(estimator)):  # a model read from a file, trained further
            provenance = (provenance | origin).through(capture.cell_run_id)
            capture.registry.tag(estimator, provenance)
        X, y = argument(args, kwargs, 1, "X", None), argument(args, kwargs, 2, "y", None)
        facts = training_facts(estimator, X, y)
        named = columns.fitted_columns(capture, X)  # an array converted from a frame: the frame's columns
        if named and not facts.get("featureNames") and facts.get("nFeatures") == len(named):
            facts["featureNames"] = named
        if capture.cell_job:
            facts["trainingJob"] = capture.cell_job
        if capture.cell_run_id:
            facts["trainingRunId"] = capture.cell_run_id
        columns.learn(capture, output_columns(estimator, named))
        if facts.get("featureNames") and (derived := columns.feature_lineage(capture, facts["featureNames"])):
            facts["featureLineage"] = derived
        state = capture.hooks
        before = state.training.get(estimator)
        facts["fitId"] = (partial and before.get("fitId")) or uuid.uuid4().hex
        if partial:
            facts["nSamples"] = before.get("nSamples", 0) + facts.get("nSamples", 0)
        state.training.remember(estimator, facts)
        _remember_best(state, estimator, facts)
        mark_split(state, X, "train")
        mark_split(state, y, "train")
        if provenance:
            _tag_parts(capture, estimator, provenance)
        if output or (result is not None and result is not estimator):
            _derive_result(capture, result, *inputs)
            if learned:  # and from the data its parameters hold (the counts of a loaded vocabulary)
                for item in result if isinstance(result, tuple) else (result,):
                    capture.registry.tag(item, (capture.of(item) | learned).through(capture.cell_run_id))
            _name_output(capture, estimator, X, result)

    return after


def _parameters(estimator: Any) -> dict[str, Any]:
    """The estimator's parameters, its parts' too (none for an estimator that breaks its own ``get_params``)."""
    try:
        return estimator.get_params(deep=True)
    except Exception:
        return {}


def _functions_read(capture: Capture, params: dict[str, Any]) -> Provenance:
    """What the functions of the user's own among an estimator's parameters (a vectorizer's ``analyzer``,
    ``preprocessor`` or ``tokenizer``, a ``FunctionTransformer``'s ``func``; a pipeline's steps' too) read by name:
    a stopword list or a lookup table read from a file."""
    return union(flow.function_reads(capture, value) for value in params.values() if type(value) in flow.CALLABLES)


def _parameters_read(capture: Capture, estimator: Any, params: dict[str, Any]) -> Provenance:
    """What the data among the estimator's parameters (its parts' too) derives from: arrays and frames (``KMeans(
    init=centers)``), and a vocabulary or categories however plain (``CountVectorizer(vocabulary=pickle.load(f))``).
    One no hook tracked (``vocabulary=old.vocabulary_``, an attribute of a loaded model) is known by the code that
    made the estimator: before its first fit, what the flow gave it, the cell so far followed first."""
    data = [
        value
        for key, value in params.items()
        if value is not None and (key.rpartition("__")[2] in flow.LEARNED or is_data(value))
    ]
    found = union(capture.of(value) for value in data)
    if any(not capture.of(value) for value in data) and not capture.hooks.training.get(estimator):
        capture.follow_so_far()
        found = union(capture.of(value) for value in data) | capture.of(estimator)
    return found


def _remember_best(state: Any, search: Any, facts: dict[str, Any]) -> None:
    """A search's ``best_estimator_`` was refit inside its fit (no hook saw it) on the same data: the same features,
    should it be saved by itself, and a fit of its own (``fitId``), so that its predictions and metrics find the
    file it is saved as (``final_model = search.best_estimator_``)."""
    best = getattr(search, "best_estimator_", None)
    if best is not None and not state.training.get(best):
        keys = ("featureNames", "featureLineage", "nFeatures", "nSamples", "trainingJob", "trainingRunId")
        kept = {key: facts[key] for key in keys if key in facts}
        state.training.remember(best, kept | {"fitId": uuid.uuid4().hex})


def _transforming(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The ``after`` step of transform, score_samples...: the result derives from the estimator and the inputs."""
    if args:
        _derive_result(capture, result, args[0], *_inputs(args, kwargs))
        _name_output(capture, args[0], argument(args, kwargs, 1, "X", None), result)


def _name_output(capture: Capture, estimator: Any, X: Any, result: Any) -> None:
    """A transformer's array output holds the columns ``get_feature_names_out`` names (for inputs with names)."""
    shape = getattr(result, "shape", None)
    if not isinstance(shape, tuple) or len(shape) != 2 or hasattr(result, "columns"):
        return
    inputs = feature_list(getattr(estimator, "feature_names_in_", None)) or columns.array_columns(capture, X)
    if inputs and callable(getattr(estimator, "get_feature_names_out", None)):
        try:
            names = estimator.get_feature_names_out(inputs)
        except Exception:  # not a transformer of named columns: nothing to say
            return
        columns.name_array(capture, result, names)


def _predicting(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The ``after`` step of predict, predict_proba...: as a transform, and the result is the model's predictions."""
    if args:
        _derive_result(capture, result, args[0], *_inputs(args, kwargs))
        files = model_files(capture, args[0])
        if files:  # and the model version it predicts as: the saved or loaded file of its fit
            saved = capture.exact(files)
            for item in result if isinstance(result, tuple) else (result,):
                capture.registry.tag(item, capture.of(item) | saved)
            # what the statement makes of them keeps it, where numpy loses the array's tag (``y_test_pred +=
            # model.predict_proba(X)[:, 1]`` in a loop of folds: every fold's file)
            capture.rows_read(files)
        _tag_whole_base(capture, result)
        remember_predictions(capture.hooks, args[0], result)


def _tag_whole_base(capture: Capture, result: Any) -> None:
    """Predictions returned as a view of a whole array of the library's (CatBoost's ``predict_proba``, a
    transposition): the array it looks into gets the same provenance, model files too, for numpy's views of the
    view (``[:, 1]``) look into that array, not into the view."""
    for item in result if isinstance(result, tuple) else (result,):
        base = getattr(item, "base", None)
        if base is not None and type(base) is type(item) and getattr(base, "size", -1) == item.size:
            capture.registry.tag(base, capture.of(base) | capture.of(item))  # the registry gave it the data only


def _scoring(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The ``after`` step of ``estimator.score(X, y)``: a metric of the estimator's fit."""
    if not args:
        return
    fit_id = capture.hooks.training.get(args[0]).get("fitId")
    X, y = argument(args, kwargs, 1, "X", None), argument(args, kwargs, 2, "y", None)
    if fit_id and X is not None and not mlflow_internal(capture, X, y):
        model = {"fitId": fit_id, "estimator": qualified_name(type(args[0]))}
        record_metric(capture, "score", result, model, y if y is not None else X, X)


def _splitting(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The ``after`` step of train_test_split: parts 2i and 2i+1 come from array i."""
    stratify = kwargs.get("stratify")
    held = [columns.fitted_columns(capture, array) for array in args]  # the columns each array holds, if named
    for index, part in enumerate(result):
        if index // 2 < len(args):
            provenance = capture.derive(part, args[index // 2], stratify)
            columns.name_array(capture, part, held[index // 2])
            if provenance:  # what the fallback must not replace by all the statement read (``fallback.py``)
                capture.hooks.split_parts.remember(part, provenance)
    mark_split_parts(capture.hooks, args, result)


METHODS: dict[str, Callable[..., Any]] = {
    "fit": intercept("sklearn fit", _fitting()),
    "partial_fit": intercept("sklearn partial_fit", _fitting(partial=True)),
    "fit_transform": intercept("sklearn fit_transform", _fitting(output=True)),
    "fit_predict": intercept("sklearn fit_predict", _fitting(output=True)),
    **{
        name: intercept(f"sklearn {name}", _transforming)
        for name in ("transform", "inverse_transform", "score_samples")
    },
    **{name: intercept(f"sklearn {name}", _predicting) for name in PREDICTING},
    "score": intercept("sklearn score", _scoring),
}
SPLIT = intercept("sklearn train_test_split", _splitting)


def _resampling(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The ``after`` step of shuffle and resample: result i comes from array i (the rows of one array given come
    back alone, not in a list), as a ``train_test_split`` part does."""
    choosing = (kwargs.get("stratify"), kwargs.get("sample_weight"))
    for array, part in zip(args, result if len(args) > 1 else (result,), strict=False):
        provenance = capture.derive(part, array, *choosing)
        columns.name_array(capture, part, columns.fitted_columns(capture, array))
        if provenance:  # what the fallback must not replace by all the statement read (``fallback.py``)
            capture.hooks.split_parts.remember(part, provenance)


RESAMPLING = {name: intercept(f"sklearn {name}", _resampling) for name in ("shuffle", "resample")}
MAX_FILES = 100_000  # files of one load_files recorded


def _files_loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``load_files(folder)``: each file it read (its ``filenames``) is a dataset read; the Bunch and what it holds
    (``data``, ``target``) carry them all."""
    sources = []
    for name in list(getattr(result, "filenames", ()))[:MAX_FILES]:
        location = locate(str(name))
        if location is not None and location.local is not None:
            source = location.source()
            capture.read(source, None)
            sources.append(source)
    if sources:
        tag_loaded(capture, result, capture.exact(sources))


LOAD_FILES = intercept("sklearn load_files", _files_loaded)


def _svmlight_loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``load_svmlight_file(f)`` returns ``X, y`` (and query ids) of one file, ``load_svmlight_files(files)`` the
    same of each file in turn: each file a dataset read, its arrays tagged with it."""
    given = argument(args, kwargs, 0, "f" if "files" not in kwargs else "files")
    files = list(given) if isinstance(given, (list, tuple)) else [given]
    if not files or not isinstance(result, (list, tuple)) or len(result) % len(files):
        return
    each = len(result) // len(files)
    for turn, name in enumerate(files):
        location = locate(name)
        if location is None or location.local is None:
            continue
        source = location.source()
        capture.read(source, None)
        for array in result[turn * each : (turn + 1) * each]:
            capture.registry.tag(array, capture.exact([source]))


LOAD_SVMLIGHT = intercept("sklearn load_svmlight_file", _svmlight_loaded)


def training_facts(estimator: Any, X: Any, y: Any) -> dict[str, Any]:
    """What ``estimator`` was just fitted on, as far as it and its inputs tell (JSON data)."""
    facts: dict[str, Any] = {}
    names = feature_list(getattr(estimator, "feature_names_in_", None)) or feature_list(getattr(X, "columns", None))
    if names:
        facts["featureNames"] = names
    shape = getattr(X, "shape", None)
    n_features = getattr(estimator, "n_features_in_", None)
    if isinstance(n_features, numbers.Integral):
        facts["nFeatures"] = int(n_features)
    elif isinstance(shape, tuple) and len(shape) >= 2:
        facts["nFeatures"] = int(shape[1])
    if isinstance(shape, tuple) and shape:
        facts["nSamples"] = int(shape[0])
    elif X is not None:
        with contextlib.suppress(TypeError):  # a sparse matrix has no len
            facts["nSamples"] = len(X)
    target = getattr(y, "name", None)
    targets = [str(target)] if isinstance(target, str) else feature_list(getattr(y, "columns", None))
    if targets:
        facts["targetNames"] = targets
    columns = [
        {"name": str(item[0]), "transformer": _estimator_name(item[1]), "columns": json_safe(item[2])}
        for part in (estimator, *_parts(estimator))
        for item in getattr(part, "transformers_", None) or ()
        if isinstance(item, tuple) and len(item) >= 3
    ]
    if columns:
        facts["columnTransformers"] = columns
    return facts


def output_columns(estimator: Any, named: list[str] | None = None) -> dict[str, frozenset[str]]:
    """For a transformer fitted on named columns (or on an array holding columns ``named``), the input columns each
    of its output columns comes from (``get_feature_names_out``: ``cat__region_east`` <- ``region``); {} when it has
    no named inputs or outputs."""
    inputs = feature_list(getattr(estimator, "feature_names_in_", None)) or named
    if not inputs or not callable(getattr(estimator, "get_feature_names_out", None)):
        return {}
    found = _output_sources(estimator, inputs, 0)
    return {name: frozenset(sources) for name, sources in found.items() if sources and sources != {name}}


def _output_sources(part: Any, inputs: list[str], depth: int) -> dict[str, set[str]]:
    """Output column -> the ``inputs`` it comes from, for a fitted transformer given columns ``inputs``."""
    if part == "passthrough" or part is None:
        return {name: {name} for name in inputs}
    try:
        outputs = [str(name) for name in part.get_feature_names_out(inputs)]
    except Exception:  # not a transformer of named columns (a predictor, an unfitted part...): nothing to say
        return {}
    if depth < 4 and isinstance(getattr(part, "transformers_", None), list):
        return _column_transformer_sources(part, inputs, outputs, depth)
    if depth < 4 and isinstance(getattr(part, "steps", None), list):
        current = {name: {name} for name in inputs}
        for _, step in part.steps:
            inner = _output_sources(step, list(current), depth + 1)
            current = {out: set().union(*(current.get(s, set()) for s in sources)) for out, sources in inner.items()}
        return {name: current.get(name, set(inputs)) for name in outputs}
    one_to_one = getattr(part, "feature_names_out", None) == "one-to-one"  # a FunctionTransformer (a passthrough)
    one_to_one = one_to_one or any(klass.__name__ == "OneToOneFeatureMixin" for klass in type(part).__mro__)
    if one_to_one and len(outputs) == len(inputs):
        return {out: {source} for out, source in zip(outputs, inputs, strict=True)}
    powers = getattr(part, "powers_", None)  # PolynomialFeatures: each output's exponent of each input
    if getattr(powers, "shape", None) == (len(outputs), len(inputs)):
        return {
            out: {source for source, power in zip(inputs, row, strict=True) if power}
            for out, row in zip(outputs, powers, strict=True)
        }
    counts = getattr(part, "_compute_n_features_outs", None)  # OneHotEncoder: how many columns each input made
    sizes = counts() if callable(counts) else None
    if isinstance(sizes, list) and len(sizes) == len(inputs) and sum(sizes) == len(outputs):
        found, start = {}, 0
        for source, size in zip(inputs, sizes, strict=True):
            found.update({out: {source} for out in outputs[start : start + size]})
            start += size
        return found
    return {out: _named_sources(out, inputs) for out in outputs}


def _named_sources(output: str, inputs: list[str]) -> set[str]:
    """The inputs an output of a transformer that mixes columns comes from. One named as an input is that input (a
    ``SimpleImputer``'s columns, a ``KBinsDiscretizer``'s ordinal bins): a transformer never writes into the frame
    it was given, and a rule naming the input itself would change that column for every later use in the session
    (the frame's own column, never imputed, then read every column). An imputer's ``missingindicator_<input>`` says
    where that input is missing. Any other (PCA's components) reads every input."""
    if output in inputs:
        return {output}
    indicated = output.removeprefix("missingindicator_")
    return {indicated} if indicated != output and indicated in inputs else set(inputs)


def _column_transformer_sources(
    transformer: Any, inputs: list[str], outputs: list[str], depth: int
) -> dict[str, set[str]]:
    """A ColumnTransformer: each part's outputs, named ``{part}__{column}`` (or as the part names them)."""
    known = set(outputs)
    indices = getattr(transformer, "_transformer_to_input_indices", None) or {}
    found: dict[str, set[str]] = {}
    for name, part, _ in transformer.transformers_:
        if part == "drop" or name not in indices:
            continue
        selected = [inputs[index] for index in indices[name] if 0 <= index < len(inputs)]
        for out, sources in _output_sources(part, selected, depth + 1).items():
            for full in (f"{name}__{out}", out):
                if full in known:
                    found[full] = sources
                    break
    return found


def _estimator_name(part: Any) -> str:
    return part if isinstance(part, str) else qualified_name(type(part))


def _parts(estimator: Any, depth: int = 0) -> Iterator[Any]:
    """The fitted estimators inside a composite one (Pipeline, ColumnTransformer, FeatureUnion, searches)."""
    if depth > 3:
        return
    candidates: list[Any] = []
    for attribute in ("steps", "transformer_list", "transformers_"):
        for item in getattr(estimator, attribute, None) or ():
            if isinstance(item, tuple) and len(item) >= 2:
                candidates.append(item[1])
    candidates.append(getattr(estimator, "best_estimator_", None))
    for part in candidates:
        if part is not None and not isinstance(part, (str, type)) and callable(getattr(part, "fit", None)):
            yield part
            yield from _parts(part, depth + 1)


def _tag_parts(capture: Capture, estimator: Any, provenance: Provenance) -> None:
    for count, part in enumerate(_parts(estimator)):
        if count >= MAX_PARTS:
            break
        capture.registry.tag(part, provenance)


def _subclasses(cls: type) -> Iterator[type]:
    """All subclasses of ``cls`` loaded so far, ``cls`` included."""
    seen: set[type] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        pending.extend(type.__subclasses__(current))


class SklearnInstrumentor(Instrumentor):
    """Provenance through scikit-learn estimators and ``train_test_split`` (see the module docstring)."""

    modules = ("sklearn", "sklearn.model_selection", "sklearn.datasets", "sklearn.utils")

    def __init__(self) -> None:
        super().__init__()
        self._base: type | None = None
        self._classes: set[type] = set()

    def patches(self, module: Any) -> Iterable[Patch]:
        if module.__name__ == "sklearn.model_selection":
            yield module, "train_test_split", SPLIT  # and its home, model_selection._split
            return
        if module.__name__ == "sklearn.datasets":
            yield module, "load_files", LOAD_FILES
            yield module, "load_svmlight_file", LOAD_SVMLIGHT
            yield module, "load_svmlight_files", LOAD_SVMLIGHT
            return
        if module.__name__ == "sklearn.utils":
            for name, wrapper in RESAMPLING.items():
                yield module, name, wrapper  # and its home, utils._indexing
            return
        base = importlib.import_module("sklearn.base").BaseEstimator  # sklearn/__init__ imported it already
        self._base, self._classes = base, set()
        for cls in _subclasses(base):
            yield from self._class_patches(cls)
        if not any("__init_subclass__" in klass.__dict__ for klass in base.__mro__[:-1]):
            self._hook_subclasses(base)  # an old scikit-learn without __init_subclass__ hooks

    def _class_patches(self, cls: type) -> Iterator[Patch]:
        """Patches of the methods defined by ``cls`` and the classes it inherits from (each class once)."""
        for klass in cls.__mro__:
            if klass is object or klass in self._classes:
                continue
            self._classes.add(klass)
            for name, wrapper in METHODS.items():
                if name in klass.__dict__:
                    yield klass, name, wrapper
            if "__init_subclass__" in klass.__dict__ and klass.__module__.startswith("sklearn."):
                self._hook_subclasses(klass)

    def _hook_subclasses(self, owner: type) -> None:
        """Wrap ``owner.__init_subclass__`` so that new estimator classes are patched once they are complete."""
        original = owner.__dict__.get("__init_subclass__")
        instrumentor = self

        def __init_subclass__(cls: type, **kwargs: Any) -> None:
            _class_creation.depth = getattr(_class_creation, "depth", 0) + 1
            try:
                if original is None:
                    super(owner, cls).__init_subclass__(**kwargs)
                elif isinstance(original, classmethod):
                    original.__get__(None, cls)(**kwargs)
                else:
                    original(cls, **kwargs)
            finally:
                _class_creation.depth -= 1
            if not _class_creation.depth:
                instrumentor._on_new_class(cls)

        __init_subclass__.__qualname__ = f"{owner.__qualname__}.__init_subclass__"
        __init_subclass__.__module__ = owner.__module__
        self.replace(owner, "__init_subclass__", classmethod(__init_subclass__))

    def _on_new_class(self, cls: type) -> None:
        base = self._base
        if not self.instrumented or base is None or not issubclass(cls, base):
            return
        try:
            for owner, attribute, wrapper in self._class_patches(cls):
                self.patch(owner, attribute, wrapper)
        except Exception as error:
            report("sklearn estimator class", error)
