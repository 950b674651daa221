"""Model saves: each save is an output dataset whose inputs are the saved object's provenance.

``describe_model`` (shared with the MLflow hooks) tells whether an object is a model and describes it; a save of
something that is not a model (a DataFrame, a dict) is recorded as a plain dataset. The version of a saved file is
the fingerprint of its bytes once the save returns.

Saves into an open file (``pickle.dump(obj, f)``, ``joblib.dump(obj, f)``...) are fingerprinted right after the
call: a plain binary file (``open(path, "wb")``, a named temporary file) is flushed first, which hands Python's
buffer to the operating system and changes no byte, so the fingerprint is that of everything written so far.
Several dumps into one still-open file within a cell merge into one output: the version of the whole file, the
union of the objects' provenance. A file that cannot be flushed harmlessly (gzip, bz2: a flush would add bytes)
is recorded without a version.
"""

from __future__ import annotations

import inspect
import io
import math
import os
import re
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import xxhash

from nblineage.kernel_ext.capture import Capture, Output
from nblineage.kernel_ext.fingerprint import CHUNK, file_version, forget
from nblineage.kernel_ext.hooks._common import (
    MISSING,
    HookState,
    PatchingInstrumentor,
    argument,
    hook_state,
    qualified_name,
)
from nblineage.kernel_ext.instrument import intercept
from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.naming import DatasetName, dataset_from_uri, file_dataset, redact_secrets_in_text

__all__ = [
    "INSTRUMENTORS",
    "JoblibInstrumentor",
    "KerasInstrumentor",
    "LightGBMInstrumentor",
    "PickleInstrumentor",
    "SkopsInstrumentor",
    "TorchInstrumentor",
    "TransformersInstrumentor",
    "XGBoostInstrumentor",
    "describe_model",
    "json_safe",
    "record_save",
]

MODEL_FACETS = {"datasetType": {"datasetType": "MODEL"}}
MAX_ITEMS = 100  # list and dict items kept by json_safe
MAX_FEATURES = 10_000
MAX_TEXT = 1_000
MAX_DEPTH = 10  # nesting kept by json_safe (a Pipeline of a ColumnTransformer of estimators needs 9)

# (top-level module, class name) of the base classes that make an object a model, and its framework
_MODEL_BASES = {
    ("torch", "Module"): "pytorch",
    ("keras", "Model"): "keras",
    ("tf_keras", "Model"): "keras",
    ("tensorflow", "Model"): "keras",
    ("xgboost", "Booster"): "xgboost",
    ("xgboost", "XGBModel"): "xgboost",
    ("lightgbm", "Booster"): "lightgbm",
    ("lightgbm", "LGBMModel"): "lightgbm",
    ("transformers", "PreTrainedModel"): "transformers",
    ("sklearn", "BaseEstimator"): "sklearn",
}
_FRAMEWORK_MODULES = {"pytorch": "torch"}
# parameter names whose values json_safe never records (an API key given to a wrapper estimator)
_SECRET_NAME = re.compile(r"passw|pwd|secret|token|api_?key|access_?key|private_?key|credential|auth", re.IGNORECASE)
_PLAIN_FILES = (io.FileIO, io.BufferedWriter, io.BufferedRandom)


# --- what a model is ---------------------------------------------------------------------------------------------


def describe_model(obj: Any, capture: Capture | None = None) -> dict[str, Any] | None:
    """A description of ``obj`` if it is a model (framework, class, hyperParameters, featureNames...), else None.

    A model is an instance of a known framework's model class (an estimator, an ``nn.Module``, a Booster, a Keras
    or Hugging Face model), a PyTorch ``state_dict``, any object with a ``fit`` or ``predict`` method, or a dict
    holding one of these (a checkpoint). ``capture`` supplies what its hooks remember about the training.
    """
    framework = _framework(obj)
    if framework is None:
        inner = _model_in_mapping(obj)
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
    training = dict(hook_state(capture).training.get(obj)) if capture is not None else {}
    trained_on = training.pop("featureNames", None)
    for key in ("trainingJob", "trainingRunId", "fitId", "featureLineage"):
        if training.get(key):
            description[key] = training.pop(key)
    description["featureNames"] = _feature_names(obj, framework) or trained_on or []
    parameters = _parameter_count(obj, framework)
    if parameters is not None:
        description["nParameters"] = parameters
    if training:
        description["training"] = training
    return description


def _framework(obj: Any) -> str | None:
    if obj is None or isinstance(obj, (type, str, bytes, int, float, bool)) or _is_routine(obj):
        return None
    for cls in type(obj).__mro__:
        framework = _MODEL_BASES.get((cls.__module__.partition(".")[0], cls.__name__))
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


def _is_routine(obj: Any) -> bool:
    return inspect.isroutine(obj) or inspect.ismodule(obj)


def _is_state_dict(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, Mapping) or not obj:
        return False
    return all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in obj.items())


def _model_in_mapping(obj: Any) -> Any:
    """The first model among a dict's values (a checkpoint such as ``{"model": m.state_dict(), "epoch": 3}``)."""
    if not isinstance(obj, Mapping) or len(obj) > 64:
        return None
    for value in obj.values():
        if _framework(value) is not None:
            return value
    return None


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
    if names is None and framework == "lightgbm" and callable(getattr(obj, "feature_name", None)):
        try:
            names = obj.feature_name()
        except Exception:  # an untrained Booster
            names = None
    return feature_list(names)


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
        if framework == "pytorch" and callable(getattr(obj, "parameters", None)):
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
            str(key): "***" if _SECRET_NAME.search(str(key)) else json_safe(item, depth + 1)
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


def _first(items: Iterable[Any]) -> Iterable[Any]:
    return (item for _, item in zip(range(MAX_ITEMS), items, strict=False))


def _text(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a repr that fails is no reason to lose the record
        text = f"<{qualified_name(type(value))}>"
    return redact_secrets_in_text(text[:MAX_TEXT])


# --- recording a save --------------------------------------------------------------------------------------------


def record_save(capture: Capture, obj: Any, target: Any) -> None:
    """Record that ``obj`` was saved to ``target``: a path, a path-like, or an open binary file with a real path.

    Targets that name no file (an in-memory buffer, a socket) are not recorded.
    """
    state = hook_state(capture)
    written: OpenWrite | None = None
    if isinstance(target, (str, bytes, os.PathLike)):
        name = _name_path(target)
        version = _fingerprint(name)
    else:
        path = open_file_path(target)
        if path is None:
            return
        name = file_dataset(path)
        written = _open_write(state, target)
        version = written.fingerprint(target, name.name) if _flush_plain_file(target) else None
    model = describe_model(obj, capture)
    facets = dict(MODEL_FACETS) if model is not None else {}
    if model is not None:
        model.update(persisted_facts(name, version))
    provenance = capture.of(obj)
    outputs = capture.record.outputs
    if written is not None and written.output is not None:
        index = next((i for i, output in enumerate(outputs) if output is written.output), None)
        if index is not None:  # another dump into the same open file in this cell: one output
            earlier = outputs.pop(index)
            provenance = earlier.provenance | provenance
            model = earlier.model or model
            facets = {**earlier.facets, **facets}
    if model is not None and model.get("mlflowRunId"):
        from nblineage.kernel_ext import mlflow_runs

        mlflow_runs.link_model(capture, model["mlflowRunId"], Source(name.namespace, name.name, version))
    capture.write(Source(name.namespace, name.name, version), obj, facets=facets, model=model, provenance=provenance)
    if written is not None:
        written.output = outputs[-1]


def persisted_facts(name: DatasetName, version: str | None) -> dict[str, Any]:
    """What a model description gains once the model is written to ``name``: its size on disk (a file, or a
    folder's files) and the MLflow run it was saved in, when one is active."""
    facts: dict[str, Any] = {}
    if name.namespace == "file" and version is not None:
        size = size_on_disk(name.name)
        if size is not None:
            facts["sizeBytes"] = size
    mlflow = sys.modules.get("mlflow")
    active = mlflow.active_run() if mlflow is not None and hasattr(mlflow, "active_run") else None
    if active is not None:
        facts["mlflowRunId"] = active.info.run_id
        facts["mlflowExperimentId"] = active.info.experiment_id
    return facts


def size_on_disk(path: str) -> int | None:
    """Bytes of a file, or of all files under a folder; None when it cannot be read."""
    try:
        if not os.path.isdir(path):
            return os.path.getsize(path)
        return sum(os.path.getsize(os.path.join(root, file)) for root, _dirs, files in os.walk(path) for file in files)
    except OSError:
        return None


class OpenWrite:
    """Saves into one open file: the output recorded for it, and the fingerprint of its bytes hashed so far.

    Dumps appended one after another to the same file (a stream of pickles) are hashed incrementally, so N dumps
    cost one pass over the file rather than N.
    """

    def __init__(self, ref: weakref.ref) -> None:
        self.ref = ref
        self.output: Output | None = None
        self.digest = xxhash.xxh3_128()
        self.hashed = 0

    def fingerprint(self, handle: Any, path: str) -> str | None:
        """The fingerprint of the file's bytes now (the file is flushed)."""
        try:
            position = handle.tell()
        except (OSError, ValueError, AttributeError):
            position = 0
        if position < self.hashed:  # the file was rewound and rewritten: start again
            self.digest, self.hashed = xxhash.xxh3_128(), 0
        try:
            with open(path, "rb") as source:
                source.seek(self.hashed)
                while chunk := source.read(CHUNK):
                    self.digest.update(chunk)
                    self.hashed += len(chunk)
        except OSError:
            return None
        return self.digest.hexdigest()


def _open_write(state: HookState, handle: Any) -> OpenWrite:
    """What earlier saves into ``handle`` left (a fresh entry for a file seen for the first time)."""
    key = id(handle)
    written = state.open_writes.get(key)
    if not isinstance(written, OpenWrite) or written.ref() is not handle:
        ref = weakref.ref(handle, lambda _, key=key: state.open_writes.pop(key, None))
        written = state.open_writes[key] = OpenWrite(ref)
    return written


def _name_path(target: str | bytes | os.PathLike) -> DatasetName:
    if isinstance(target, bytes):
        return file_dataset(os.fsdecode(target))
    if isinstance(target, str):
        return dataset_from_uri(target)
    return file_dataset(target)


def _fingerprint(name: DatasetName) -> str | None:
    if name.namespace != "file":
        return None
    forget(name.name)
    return file_version(name.name)


def open_file_path(file: Any) -> str | None:
    """The absolute path of an open file, when its ``name`` is a path to the very file it has open."""
    name = getattr(file, "name", None)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str) or not name:
        return None
    try:
        on_disk = os.stat(name)
    except (OSError, ValueError):
        return None
    fileno = getattr(file, "fileno", None)
    if callable(fileno):
        try:
            opened = os.fstat(fileno())
        except (OSError, ValueError, AttributeError):  # closed, or a file-like without a descriptor
            opened = None
        if opened is not None and not os.path.samestat(opened, on_disk):
            return None
    return os.path.abspath(name)


def _flush_plain_file(file: Any) -> bool:
    """Flush a plain binary file (or the one a temporary-file wrapper holds); False for any other file-like."""
    for candidate in (file, getattr(file, "file", None)):
        if isinstance(candidate, _PLAIN_FILES):
            if not candidate.closed:
                candidate.flush()
            return True
    return False


# --- instrumentors -----------------------------------------------------------------------------------------------


def saves(where: str, obj_at: tuple[int, str], target_at: tuple[int, str]) -> Callable[..., Any]:
    """A wrapper recording a save of the argument at ``obj_at`` to the one at ``target_at`` (position, keyword)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        obj = argument(args, kwargs, *obj_at)
        target = argument(args, kwargs, *target_at)
        if obj is not MISSING and target is not MISSING:
            record_save(capture, obj, target)

    return intercept(where, after)


def _method_owner(cls: Any, attribute: str) -> Any:
    """The class in ``cls``'s MRO that defines ``attribute`` itself (patch there, once)."""
    for klass in getattr(cls, "__mro__", ()):
        if attribute in klass.__dict__:
            return klass
    return None


class JoblibInstrumentor(PatchingInstrumentor):
    """``joblib.dump(value, filename)``."""

    library = "joblib"

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        wrapper = saves("joblib.dump", (0, "value"), (1, "filename"))
        yield module, "dump", wrapper
        yield sys.modules["joblib.numpy_pickle"], "dump", wrapper


class PickleInstrumentor(PatchingInstrumentor):
    """``pickle.dump(obj, file)`` into a file with a real path."""

    library = "pickle"

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        wrapper = saves("pickle.dump", (0, "obj"), (1, "file"))
        accelerated = sys.modules.get("_pickle")
        shared = accelerated is not None and getattr(accelerated, "dump", None) is module.dump
        yield module, "dump", wrapper
        if shared:
            yield accelerated, "dump", wrapper  # pickle.dump pickles by reference as _pickle.dump


class TorchInstrumentor(PatchingInstrumentor):
    """``torch.save(obj, f)``; ``Module.state_dict()`` carries the module's provenance to the dict it returns."""

    library = "torch"

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        wrapper = saves("torch.save", (0, "obj"), (1, "f"))
        yield module, "save", wrapper
        yield module.serialization, "save", wrapper
        owner = _method_owner(module.nn.Module, "state_dict")
        if owner is not None:
            yield owner, "state_dict", intercept("torch Module.state_dict", _derive_from_instance)


def _derive_from_instance(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    if args:
        capture.derive(result, args[0])


class SkopsInstrumentor(PatchingInstrumentor):
    """``skops.io.dump(obj, file)``."""

    library = "skops.io"

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        wrapper = saves("skops.io.dump", (0, "obj"), (1, "file"))
        yield module, "dump", wrapper
        persist = sys.modules.get("skops.io._persist")
        if persist is not None:
            yield persist, "dump", wrapper


class _MethodSaves(PatchingInstrumentor):
    """Saves through methods ``(class attribute, method, target keyword)`` of the model itself."""

    methods: tuple[tuple[str, str, str], ...] = ()

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        for class_name, method, target in self.methods:
            owner = _method_owner(getattr(module, class_name, None), method)
            if owner is not None:
                where = f"{self.library} {class_name}.{method}"
                yield owner, method, saves(where, (0, "self"), (1, target))


class KerasInstrumentor(_MethodSaves):
    """``keras.Model.save(filepath)`` (optional)."""

    library = "keras"
    methods = (("Model", "save", "filepath"),)


class XGBoostInstrumentor(_MethodSaves):
    """``xgboost.Booster.save_model(fname)`` and ``XGBModel.save_model(fname)`` (optional)."""

    library = "xgboost"
    methods = (("Booster", "save_model", "fname"), ("XGBModel", "save_model", "fname"))


class LightGBMInstrumentor(_MethodSaves):
    """``lightgbm.Booster.save_model(filename)`` (optional)."""

    library = "lightgbm"
    methods = (("Booster", "save_model", "filename"),)


class TransformersInstrumentor(_MethodSaves):
    """``PreTrainedModel.save_pretrained(save_directory)`` (optional; patched when the modeling code loads)."""

    library = "transformers.modeling_utils"
    methods = (("PreTrainedModel", "save_pretrained", "save_directory"),)


INSTRUMENTORS: tuple[type[PatchingInstrumentor], ...] = (
    JoblibInstrumentor,
    PickleInstrumentor,
    TorchInstrumentor,
    SkopsInstrumentor,
    KerasInstrumentor,
    XGBoostInstrumentor,
    LightGBMInstrumentor,
    TransformersInstrumentor,
)
