"""What a model is and how it is described: framework, class, hyper-parameters, feature names, training facts.

Shared by every hook that saves or logs a model (``models.py``, ``mlflow/``) and by scikit-learn's training facts.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.naming import redact_secrets_in_text

__all__ = [
    "MODEL_FACETS",
    "describe_model",
    "feature_list",
    "forget_files",
    "held_model",
    "json_safe",
    "model_files",
    "models_in",
    "qualified_name",
    "remember_file",
]

MODEL_FACETS = {"datasetType": {"datasetType": "MODEL"}}
MAX_ITEMS = 100  # list and dict items kept by json_safe
MAX_FEATURES = 10_000
MAX_TEXT = 1_000
MAX_DEPTH = 10  # nesting kept by json_safe (a Pipeline of a ColumnTransformer of estimators needs 9)
MAX_FILES = 16  # model files remembered per fit (a loop of checkpoints keeps the latest)

# (top-level module, class name) of the base classes that make an object a model, and its framework
_MODEL_BASES = {
    ("torch", "Module"): "pytorch",
    ("torch", "ExportedProgram"): "pytorch",  # torch.export
    ("keras", "Model"): "keras",
    ("tf_keras", "Model"): "keras",
    ("tensorflow", "Model"): "keras",
    ("xgboost", "Booster"): "xgboost",
    ("xgboost", "XGBModel"): "xgboost",
    ("lightgbm", "Booster"): "lightgbm",
    ("lightgbm", "LGBMModel"): "lightgbm",
    ("catboost", "CatBoost"): "catboost",
    ("transformers", "PreTrainedModel"): "transformers",
    ("sklearn", "BaseEstimator"): "sklearn",
}
_FRAMEWORK_MODULES = {"pytorch": "torch"}
# parameter names whose values json_safe never records (an API key given to a wrapper estimator), numbers apart
_SECRET_NAME = re.compile(r"passw|pwd|secret|token|api_?key|access_?key|private_?key|credential|auth", re.IGNORECASE)


def describe_model(obj: Any, capture: Capture | None = None) -> dict[str, Any] | None:
    """A description of ``obj`` if it is a model (framework, class, hyperParameters, featureNames...), else None.

    A model is an instance of a known framework's model class (an estimator, an ``nn.Module``, a Booster, a Keras
    or Hugging Face model), a PyTorch ``state_dict``, any object with a ``fit`` or ``predict`` method, or a dict,
    tuple or list holding one of these (a checkpoint, a ``(vectorizer, model)`` pair). ``capture`` supplies what
    its hooks remember about the training.
    """
    framework = _framework(obj)
    if framework is None:
        inner = _model_in_container(obj)
        if inner is None:
            return None
        description = describe_model(inner, capture)
        if description is not None:
            description["container"] = qualified_name(type(obj))
        return description
    description: dict[str, Any] = {
        "framework": framework,
        "class": qualified_name(type(obj)),
        "hyperParameters": _hyper_parameters(obj, framework),
        "featureNames": [],
    }
    version = getattr(sys.modules.get(_FRAMEWORK_MODULES.get(framework, framework)), "__version__", None)
    if isinstance(version, str):
        description["frameworkVersion"] = version
    if _is_state_dict(obj):
        description["format"] = "state_dict"
    training = dict(capture.hooks.training.get(obj)) if capture is not None else {}
    module_class = training.pop("moduleClass", None)  # a state_dict: the class of the module it came from
    if module_class:
        description["class"] = module_class
    trained_on = training.pop("featureNames", None)
    given = training.pop("hyperParameters", None)  # a Booster's: the params its training call was given
    if given and not description["hyperParameters"]:
        description["hyperParameters"] = given
    for key in ("trainingJob", "trainingRunId", "fitId", "featureLineage"):
        if training.get(key):
            description[key] = training.pop(key)
    description["featureNames"] = _feature_names(obj, framework) or trained_on or []
    if not description["featureNames"]:
        names, lineage = _dict_features(obj)
        description["featureNames"] = names
        if lineage and not description.get("featureLineage"):
            description["featureLineage"] = lineage
    if not description["featureNames"] and _duck_typed(obj):
        description |= _held_training(obj, capture)
    parameters = _parameter_count(obj, framework)
    if parameters is not None:
        description["nParameters"] = parameters
    if training:
        description["training"] = training
    return description


def remember_file(capture: Capture, fit_id: str | None, source: Source) -> None:
    """The fit ``fit_id`` was saved as, or loaded from, the model version ``source``: what its predictions derive
    from besides its data (the latest version of each file)."""
    if not fit_id:
        return
    files = capture.hooks.fit_files.setdefault(fit_id, {})
    files.pop((source.namespace, source.name), None)
    files[(source.namespace, source.name)] = source
    while len(files) > MAX_FILES:
        del files[next(iter(files))]


def model_files(capture: Capture, model: Any) -> frozenset[Source]:
    """The model versions the current fit of ``model`` was saved as or loaded from (empty when none)."""
    fit_id = capture.hooks.training.get(model).get("fitId")
    files = capture.hooks.fit_files.get(fit_id) if fit_id else None
    return frozenset(files.values()) if files else frozenset()


def forget_files(capture: Capture, model: Any) -> None:
    """``model`` was trained further under the same fit (``partial_fit``): no file holds what it is now."""
    fit_id = capture.hooks.training.get(model).get("fitId")
    if fit_id:
        capture.hooks.fit_files.pop(fit_id, None)


def _framework(obj: Any) -> str | None:
    if obj is None or isinstance(obj, (type, str, bytes, int, float, bool)) or _is_routine(obj):
        return None
    framework = _known_framework(obj)
    if framework is not None:
        return framework
    if _is_state_dict(obj):
        return "pytorch"
    try:
        duck = callable(getattr(obj, "fit", None)) or callable(getattr(obj, "predict", None))
    except Exception:  # a user object whose __getattr__ fails is simply not a model
        return None
    if not duck:
        return None
    top = type(obj).__module__.partition(".")[0]
    return "python" if top in ("__main__", "builtins") else top


def _known_framework(obj: Any) -> str | None:
    """The framework of the first class of ``obj``'s MRO that is a known framework's model base, else None."""
    for cls in type(obj).__mro__:
        framework = _MODEL_BASES.get((cls.__module__.partition(".")[0], cls.__name__))
        if framework is not None:
            return framework
    return None


def _duck_typed(obj: Any) -> bool:
    """A model of a class of the user's own (one with a ``fit`` or ``predict`` method), not of a framework's."""
    return _known_framework(obj) is None and not _is_state_dict(obj)


def _is_routine(obj: Any) -> bool:
    return inspect.isroutine(obj) or inspect.ismodule(obj)


def _is_state_dict(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, Mapping) or not obj:
        return False
    return all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in obj.items())


def _model_in_container(obj: Any) -> Any:
    """The model a dict, tuple or list holds (a checkpoint such as ``{"model": m.state_dict(), "epoch": 3}``, a
    pickled ``(vectorizer, model)`` pair): the first that predicts, else the first model."""
    models = models_in(obj)
    return next((m for m in models if callable(getattr(m, "predict", None))), models[0] if models else None)


_HELD_FACTS = ("featureNames", "featureLineage", "trainingJob", "trainingRunId", "fitId")


def held_model(wrapper: Any) -> Any:
    """The one model of a known framework that an object of a class of the user's own holds as an attribute
    (``SklearnModelWrapper(model)``, an MLflow ``PythonModel`` keeping the fitted forest as ``self.model``), else
    None."""
    if not _duck_typed(wrapper):
        return None
    attributes = getattr(wrapper, "__dict__", None)
    found = [item for item in models_in(attributes) if not _duck_typed(item)] if attributes else []
    return found[0] if len(found) == 1 else None


def _held_training(wrapper: Any, capture: Capture | None) -> dict[str, Any]:
    """What the model a class of the user's own holds (:func:`held_model`) was trained on."""
    model = held_model(wrapper)
    held = describe_model(model, capture) if model is not None else None
    return {key: held[key] for key in _HELD_FACTS if held and held.get(key)}


def models_in(obj: Any) -> list[Any]:
    """The models a dict, tuple, list or series of objects holds (none for anything else): in a checkpoint, what
    the saved model's inputs are, rather than the losses or metrics kept beside it."""
    pandas = sys.modules.get("pandas")
    if isinstance(obj, Mapping):
        items = list(obj.values()) if len(obj) <= 64 else []
    elif pandas is not None and isinstance(obj, pandas.Series) and obj.dtype == object:  # a series of objects
        items = list(obj.array) if len(obj) <= 64 else []
    else:
        items = list(obj) if isinstance(obj, tuple | list) and len(obj) <= 64 else []
    return [item for item in items if _framework(item) is not None]


def _hyper_parameters(obj: Any, framework: str) -> dict[str, Any]:
    params: Any = None
    get_params = getattr(obj, "get_params", None)
    if callable(get_params):
        try:
            params = get_params(deep=False)
        except Exception:  # an estimator that breaks its own get_params still gets recorded
            params = None
    elif framework == "pytorch" and hasattr(obj, "parameters"):
        params = {
            key: value
            for key, value in vars(obj).items()
            if not key.startswith("_") and key != "training" and isinstance(value, (int, float, str, bool, tuple))
        }
    elif framework == "lightgbm":
        params = getattr(obj, "params", None)
    elif framework == "transformers":
        to_dict = getattr(getattr(obj, "config", None), "to_dict", None)
        params = to_dict() if callable(to_dict) else None
    safe = json_safe(params) if isinstance(params, Mapping) else {}
    return safe if isinstance(safe, dict) else {}


def _feature_names(obj: Any, framework: str) -> list[str]:
    names: Any = getattr(obj, "feature_names_in_", None)
    if names is None and framework == "xgboost":
        names = getattr(obj, "feature_names", None)
    if names is None and framework == "catboost":
        names = getattr(obj, "feature_names_", None)
    if names is None and framework == "lightgbm" and callable(getattr(obj, "feature_name", None)):
        try:
            names = obj.feature_name()
        except Exception:  # an untrained Booster
            names = None
    return feature_list(names)


def _dict_features(obj: Any) -> tuple[list[str], dict[str, list[str]]]:
    """A model that starts with scikit-learn's ``DictVectorizer`` (itself, or a Pipeline's first step: fitted on a
    list of dicts such as ``df[cols].to_dict(orient="records")``, so no ``feature_names_in_``): its features
    (``contract=month-to-month``, ``tenure``), each one-hot feature traced to the key it encodes."""
    steps = getattr(obj, "steps", None)
    first = steps[0][1] if isinstance(steps, list) and steps and isinstance(steps[0], tuple) else obj
    separator = getattr(first, "separator", None)
    if type(first).__name__ != "DictVectorizer" or not isinstance(separator, str) or not separator:
        return [], {}
    names = feature_list(getattr(first, "feature_names_", None))
    return names, {name: [name.split(separator, 1)[0]] for name in names if separator in name}


def feature_list(names: Any) -> list[str]:
    """Feature names as a list of strings (at most ``MAX_FEATURES``), or [] when there are none."""
    if names is None or isinstance(names, (str, bytes)):
        return []
    try:
        return [str(name) for _, name in zip(range(MAX_FEATURES), names, strict=False)]
    except TypeError:
        return []


def _parameter_count(obj: Any, framework: str) -> int | None:
    try:
        if framework in ("pytorch", "transformers") and callable(getattr(obj, "parameters", None)):
            return int(sum(parameter.numel() for parameter in obj.parameters()))
        if framework == "pytorch" and _is_state_dict(obj):
            return int(sum(tensor.numel() for tensor in obj.values()))
        if framework == "keras" and callable(getattr(obj, "count_params", None)):
            return int(obj.count_params())
    except Exception:  # a model that is not built yet has no parameter count
        return None
    return None


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data: numbers, strings, lists and dicts (bounded); estimators as class and parameters."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return redact_secrets_in_text(value[:MAX_TEXT])
    if isinstance(value, type):
        return qualified_name(value)
    if depth >= MAX_DEPTH:
        return _text(value)
    if isinstance(value, Mapping):
        return {
            str(key): "***" if _SECRET_NAME.search(str(key)) and not _number(item) else json_safe(item, depth + 1)
            for key, item in _first(value.items())
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item, depth + 1) for item in _first(value)]
    if hasattr(value, "dtype") and hasattr(value, "shape"):  # numpy scalars and arrays
        if value.shape == ():
            return json_safe(value.item(), depth + 1)
        if getattr(value, "size", MAX_ITEMS + 1) <= MAX_ITEMS and callable(getattr(value, "tolist", None)):
            return json_safe(value.tolist(), depth + 1)
        return f"array(shape={tuple(value.shape)}, dtype={value.dtype})"
    get_params = getattr(value, "get_params", None)
    if callable(get_params):
        try:
            params = get_params(deep=False)
        except Exception:  # a broken nested estimator is shown by class only
            return {"class": qualified_name(type(value))}
        return {"class": qualified_name(type(value)), "params": json_safe(params, depth + 1)}
    if _is_routine(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    return _text(value)


def _number(value: Any) -> bool:
    """A value no secret is: a number, a truth value or None (``pad_token_id=0``, ``max_tokens=512``)."""
    return value is None or isinstance(value, (bool, int, float))


def _first(items: Iterable[Any]) -> Iterable[Any]:
    return (item for _, item in zip(range(MAX_ITEMS), items, strict=False))


def _text(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a repr that fails is no reason to lose the record
        text = f"<{qualified_name(type(value))}>"
    return redact_secrets_in_text(text[:MAX_TEXT])


def qualified_name(cls: type) -> str:
    """``module.QualName`` of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"
