"""MLflow model saves and logs: ``mlflow.<flavor>.save_model`` and ``mlflow.<flavor>.log_model``.

MLflow imports its flavors lazily (``mlflow.sklearn`` is a stand-in until first used), so each flavor module is
patched when it is imported; nothing here imports MLflow or a flavor.

- ``save_model(model, path)`` is a local folder: namespace ``file``, name the folder's absolute path, version the
  folder's fingerprint.
- ``log_model(model, ...)`` is a model in the tracking store: namespace ``mlflow://{tracking host or path}``, name
  ``models:/m-{id}`` (MLflow 3's logged model; ``runs:/{run}/{path}`` under MLflow 2), version the model id. When
  the call also registers the model (``registered_model_name=``), the registry version ``models:/{name}/{version}``
  is a second output, derived from the logged model.
- A registry version (``registered_model_name=``, ``mlflow.register_model``, ``MlflowClient.create_model_version``)
  is the output ``models:/{name}/{version}`` whose one input is the logged model it registers; its dataset version
  is the registry's version number.

All are MODEL outputs described by :func:`~nblineage.kernel_ext.hooks.describe.describe_model` (the framework of
the model object itself, plus ``mlflowFlavor``; a logged model adds ``mlflowRunId``, ``mlflowModelId``,
``mlflowModelName``, ``mlflowArtifactUri``, ``contentHash`` (a fingerprint of its local artifacts) and
``registeredModel`` when known); the inputs of a save or log are the model object's provenance.
``log_model`` calls ``save_model`` and the flavor's serializer (``skops.io.dump``, ``torch.save``...) inside: only
the outermost hooked call records (``instrument.intercept``).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.fingerprint import file_version, forget
from nblineage.kernel_ext.hooks.describe import MODEL_FACETS, describe_model, held_model, qualified_name
from nblineage.kernel_ext.hooks.mlflow import link, runs
from nblineage.kernel_ext.hooks.models import persisted_facts, size_on_disk
from nblineage.kernel_ext.instrument import After, Before, Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.lineage.naming import (
    DatasetName,
    dataset_from_uri,
    file_dataset,
    sqlalchemy_namespace,
    strip_credentials,
)

__all__ = ["FLAVORS", "MlflowInstrumentor", "folder_version", "tracking_namespace"]

# the flavor modules patched (mlflow.<flavor>); keras and tensorflow are both MLflow flavors
FLAVORS = (
    "sklearn",
    "pytorch",
    "xgboost",
    "lightgbm",
    "keras",
    "tensorflow",
    "transformers",
    "pyfunc",
    "onnx",
    "statsmodels",
)
_FLUENT = "mlflow.tracking.fluent"
_REGISTRY = "mlflow.tracking._model_registry.fluent"
_CLIENT = "mlflow.tracking.client"
# the parameter holding the model, where it is not the first one
_MODEL_PARAMETERS = {"pyfunc": "python_model"}


class MlflowInstrumentor(Instrumentor):
    """Patches ``save_model`` and ``log_model`` of each MLflow flavor module as it is imported, model registration
    (``mlflow.register_model``, ``MlflowClient.create_model_version``) and ``mlflow.start_run``; at the end of a
    cell, reads back the MLflow runs it touched (``runs.py``)."""

    modules = (*(f"mlflow.{flavor}" for flavor in FLAVORS), _FLUENT, _REGISTRY, _CLIENT)

    def patches(self, module: Any) -> Iterator[Patch]:
        if module.__name__ == _FLUENT:
            yield module, "start_run", intercept("mlflow.start_run", self._run_started, nested=True)
            return
        if module.__name__ == _REGISTRY:
            yield module, "register_model", intercept("mlflow.register_model", self._version_registered, nested=True)
            return
        if module.__name__ == _CLIENT:
            client = getattr(module, "MlflowClient", None)
            if isinstance(client, type) and callable(getattr(client, "create_model_version", None)):
                yield (
                    client,
                    "create_model_version",
                    intercept("MlflowClient.create_model_version", self._version_registered),
                )
            return
        flavor = module.__name__.rpartition(".")[2]
        for function_name, make in (("save_model", self._save), ("log_model", self._log)):
            function = getattr(module, function_name, None)
            if not callable(function):
                continue
            signature = inspect.signature(function)
            after = make(flavor, _Arguments(signature, _MODEL_PARAMETERS.get(flavor)))
            where = f"mlflow.{flavor}.{function_name}"
            before = _check(function_name, _Arguments(signature, _MODEL_PARAMETERS.get(flavor)))
            yield module, function_name, intercept(where, after, nested=function_name == "log_model", before=before)

    def cell_ended(self, capture: Capture) -> None:
        """The MLflow runs the cell touched (and the one it ends in), read back for the models linked to them."""
        if "mlflow" not in sys.modules:
            return
        link.note_active_run(capture)
        capture.record.mlflow = runs.snapshots(capture, capture.record.mlflow_runs)

    def _save(self, flavor: str, arguments: _Arguments) -> After:
        def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
            if not self.instrumented:  # a stale copy (a reference to MLflow's lazy module stand-in) after uninstrument
                return
            bound = arguments.bind(args, kwargs)
            path = bound.get("path")
            if not isinstance(path, (str, bytes, os.PathLike)):
                return
            name = _folder_name(path)
            version = folder_version(name.name) if name.namespace == "file" else None
            model = bound.get(arguments.model)
            description = _describe(capture, model, flavor) | persisted_facts(name, version)
            runs.link_model(capture, description.get("mlflowRunId"), Source(name.namespace, name.name, version))
            capture.write(
                Source(name.namespace, name.name, version),
                model,
                facets=dict(MODEL_FACETS),
                model=description,
                provenance=_model_provenance(capture, model, bound.get("artifacts")),
            )

        return after

    def _log(self, flavor: str, arguments: _Arguments) -> After:
        def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
            if not self.instrumented:
                return
            model_id = getattr(result, "model_id", None)
            model_uri = getattr(result, "model_uri", None)
            if not model_id and not isinstance(model_uri, str):
                return  # an MLflow whose log_model returns no ModelInfo: nothing names the model
            bound = arguments.bind(args, kwargs)
            model = bound.get(arguments.model)
            if model is not None and capture_module.depth() > 1 and not capture.of(model):
                # inside a hooked call, such as a fit that autolog wrapped: record once that call has tagged the model
                capture.defer(lambda: self._logged(capture, flavor, result, bound, model))
            else:
                self._logged(capture, flavor, result, bound, model)

        return after

    def _logged(self, capture: Capture, flavor: str, result: Any, bound: dict[str, Any], model: Any) -> None:
        """Record a logged model: the logged model and its registry version, linked to the run, both ways."""
        model_id = getattr(result, "model_id", None)
        model_uri = getattr(result, "model_uri", None)
        run_id = getattr(result, "run_id", None)
        description = _describe(capture, model, flavor)
        if run_id:
            description["mlflowRunId"] = str(run_id)
        if model_id:
            description["mlflowModelId"] = str(model_id)
        logged_name = getattr(result, "name", None)  # MLflow 3: the name runs:/<run_id>/<name> finds it by
        if isinstance(logged_name, str) and logged_name:
            description["mlflowModelName"] = logged_name
        artifact_uri = getattr(result, "artifact_path", None)  # MLflow 3: where the artifacts are
        if isinstance(artifact_uri, str) and ("://" in artifact_uri or os.path.isabs(artifact_uri)):
            description["mlflowArtifactUri"] = strip_credentials(artifact_uri)
            local = _local_path(artifact_uri)
            size = size_on_disk(local) if local else None
            if size is not None:
                description["sizeBytes"] = size
                description["contentHash"] = folder_version(local)
        experiment = _experiment_of(run_id)
        if experiment:
            description["mlflowExperimentId"] = experiment
        registered_name = bound.get("registered_model_name")
        registered_version = getattr(result, "registered_model_version", None)
        registered = bool(registered_name) and registered_version is not None
        if registered:
            description["registeredModel"] = {"name": str(registered_name), "version": str(registered_version)}
        namespace = tracking_namespace(sys.modules["mlflow"].get_tracking_uri())
        name = f"models:/{model_id}" if model_id else strip_credentials(str(model_uri))
        logged = Source(namespace, name, str(model_id or run_id or "") or None)
        _name_checked(capture, model, logged)
        runs.link_model(capture, str(run_id) if run_id else None, logged)
        capture.write(
            logged,
            model,
            facets=dict(MODEL_FACETS),
            model=dict(description),
            provenance=_model_provenance(capture, model, bound.get("artifacts")),
        )
        provenance = capture.record.outputs[-1].provenance
        if registered:
            self._register(capture, description, logged, str(registered_name), str(registered_version), namespace)
        if model_id:
            capture.hooks.logged_models[str(model_id)] = (description, logged)
            if run_id:
                link.model_logged(capture, description.get("fitId"), str(run_id), str(model_id), provenance)

    def _run_started(self, capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        """``mlflow.start_run``: the cell ran in this MLflow run."""
        info = getattr(result, "info", None)
        capture.record.add_mlflow_run(getattr(info, "run_id", None))

    def _version_registered(self, capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        """A model version was registered: an output ``models:/{name}/{version}`` derived from the logged model."""
        if not self.instrumented:
            return
        name, number = getattr(result, "name", None), getattr(result, "version", None)
        if not name or number is None:
            return
        model_id = getattr(result, "model_id", None) or _logged_model_id(getattr(result, "source", None))
        run_id = getattr(result, "run_id", None)
        logged = capture.hooks.logged_models.get(str(model_id)) if model_id else None
        description = dict(logged[0]) if logged else {"framework": "mlflow", "class": "", "hyperParameters": {}}
        description.setdefault("featureNames", [])
        description["registeredModel"] = {"name": str(name), "version": str(number)}
        if run_id:
            description["mlflowRunId"] = str(run_id)
        if model_id:
            description["mlflowModelId"] = str(model_id)
        namespace = tracking_namespace(sys.modules["mlflow"].get_tracking_uri())
        if logged:
            parent = logged[1]
        elif model_id:
            parent = Source(namespace, f"models:/{model_id}", str(model_id))
        elif isinstance(source := getattr(result, "source", None), str) and source.startswith("runs:/") and run_id:
            parent = Source(namespace, strip_credentials(source), str(run_id))  # MLflow 2: the model a run logged
        else:
            parent = None
        self._register(capture, description, parent, str(name), str(number), namespace)

    @staticmethod
    def _register(
        capture: Capture,
        description: dict[str, Any],
        logged: Source | None,
        name: str,
        number: str,
        namespace: str,
    ) -> None:
        """Record the registry version ``models:/{name}/{number}`` (dataset version: its number), derived from the
        logged model it registers: the registry version is that model under a name, not a new fit of the data."""
        description = dict(description)
        description["registeredModel"] = {"name": name, "version": number}
        run_id = description.get("mlflowRunId")
        registered = Source(namespace, f"models:/{name}/{number}", number)
        runs.link_model(capture, str(run_id) if run_id else None, registered)
        capture.write(
            registered,
            None,
            facets=dict(MODEL_FACETS),
            model=description,
            provenance=capture.exact({logged} if logged else ()),
        )


def _model_provenance(capture: Capture, model: Any, artifacts: Any = None) -> Provenance | None:
    """What a saved or logged model came from: its own provenance, else that of the model a wrapper of the user's
    own holds (a pyfunc ``PythonModel`` keeping the fitted model as ``self.model``), and the models and files a
    pyfunc model packages as its ``artifacts``; else None: the write falls back to what the statement saving it
    read."""
    found = capture.of(model)
    if not found:
        held = held_model(model) if model is not None else None
        found = capture.of(held) if held is not None else found
    packaged = _artifacts(artifacts)
    if packaged:
        found = found | capture.exact(packaged)
    return found or None


def _artifacts(artifacts: Any) -> set[Source]:
    """The datasets a pyfunc model's ``artifacts`` (name -> URI or path) are: a logged model (``models:/m-<id>``), a
    registry version (``models:/<name>/<version>``), a run's model (``runs:/<run>/<name>``), a local file or folder
    at its version now."""
    if not isinstance(artifacts, dict):
        return set()
    found: set[Source] = set()
    namespace = tracking_namespace(sys.modules["mlflow"].get_tracking_uri()) if "mlflow" in sys.modules else None
    for uri in list(artifacts.values())[:64]:
        if not isinstance(uri, (str, os.PathLike)):
            continue
        text = os.fspath(uri)
        if text.startswith(("models:/", "runs:/")):
            if namespace is None:
                continue
            rest = text.partition(":/")[2].strip("/")
            model_id = _logged_model_id(text)
            version = model_id or (rest.rpartition("/")[2] if text.startswith("models:/") else rest.partition("/")[0])
            found.add(Source(namespace, strip_credentials(text), version or None))
        elif "://" not in text or text.startswith("file:"):
            path = _local_path(text) if text.startswith("file:") else os.path.abspath(text)
            if path is not None and os.path.exists(path):
                name = file_dataset(path)
                found.add(Source(name.namespace, name.name, file_version(path)))
    return found


def _check(function_name: str, arguments: _Arguments) -> Before:
    """The policy guard's check before a model is saved (``save_model``: its folder) or logged (``log_model``: the
    tracking store, named ``models:/{registered_model_name}`` or ``models:/`` since its id does not exist yet)."""

    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        try:
            bound = arguments.bind(args, kwargs)
        except TypeError:
            return  # the call itself will say what is wrong with its arguments
        if function_name == "save_model":
            path = bound.get("path")
            if not isinstance(path, (str, bytes, os.PathLike)):
                return
            name = _folder_name(path)
            target = (name.namespace, name.name)
        else:
            namespace = tracking_namespace(sys.modules["mlflow"].get_tracking_uri())
            target = (namespace, "models:/" + str(bound.get("registered_model_name") or ""))
        if capture.guard is not None:
            if function_name != "save_model":
                if len(_checked) > 1_000:  # logs that were blocked never came back for their name
                    _checked.clear()
                _checked[id(bound.get(arguments.model))] = (target, len(capture.record.audit))
            capture.guard.before_write(capture, bound.get(arguments.model), target, model=True)

    return before


_checked: dict[int, tuple[tuple[str, str], int]] = {}  # a model being logged -> its placeholder name, first record


def _name_checked(capture: Capture, model: Any, logged: Source) -> None:
    """The guard's records about logging ``model`` name the logged model now that its id exists."""
    checked = _checked.pop(id(model), None)
    if checked is not None and capture.guard is not None:
        capture.guard.name_output(capture, checked[0], (logged.namespace, logged.name, logged.version), checked[1])


class _Arguments:
    """A flavor function's arguments by name, read from a call's ``args`` and ``kwargs``."""

    def __init__(self, signature: inspect.Signature, model: str | None) -> None:
        self.signature = signature
        self.model = model or next(iter(signature.parameters), "")

    def bind(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        return dict(self.signature.bind_partial(*args, **kwargs).arguments)


def _describe(capture: Capture, model: Any, flavor: str) -> dict[str, Any]:
    """The model's description (its own framework, sklearn or pytorch...) with the MLflow flavor it was saved as."""
    description = describe_model(model, capture) if model is not None else None
    if description is None:  # an ONNX graph, a model given as code or a loader module: only MLflow knows it
        known = model is not None and not isinstance(model, (str, bytes, os.PathLike))
        description = {
            "framework": f"mlflow.{flavor}",
            "class": qualified_name(type(model)) if known else "",
            "hyperParameters": {},
            "featureNames": [],
        }
    description["mlflowFlavor"] = flavor
    return description


def _logged_model_id(source: Any) -> str | None:
    """The logged model id of a registry version's source ``models:/m-<id>``, else None."""
    if isinstance(source, str) and source.startswith("models:/m-") and "/" not in source[len("models:/") :]:
        return source[len("models:/") :]
    return None


def _local_path(uri: str) -> str | None:
    """The local folder of a ``file:`` URI or an absolute path; None for a remote one."""
    if uri.startswith("file:"):
        return unquote(urlsplit(uri).path)
    return uri if os.path.isabs(uri) else None


def _experiment_of(run_id: Any) -> str | None:
    """The experiment of the active MLflow run when it is ``run_id`` (no tracking-store call)."""
    active = sys.modules["mlflow"].active_run()
    if active is not None and run_id and active.info.run_id == run_id:
        return str(active.info.experiment_id)
    return None


def _folder_name(path: str | bytes | os.PathLike) -> DatasetName:
    if isinstance(path, str) and "://" in path:
        return dataset_from_uri(path)
    return file_dataset(os.fsdecode(path) if isinstance(path, bytes) else path)


def folder_version(path: str) -> str | None:
    """The fingerprint of a folder just written (cached fingerprints of its files are dropped first)."""
    for root, _, files in os.walk(path):
        for name in files:
            forget(os.path.join(root, name))
    forget(path)
    return file_version(path)


def tracking_namespace(uri: str) -> str:
    """``mlflow://{host[:port][/path]}`` of a tracking URI without credentials, or ``mlflow://{absolute path}`` for
    a local store (a folder, ``file:``, ``sqlite:``), or ``mlflow://databricks[/{profile}]``."""
    text = strip_credentials(str(uri).strip())
    scheme, separator, _ = text.partition("://")
    if not separator:
        if text.lower().startswith("databricks"):
            return "mlflow://databricks"
        path = unquote(text[len("file:") :]) if text.lower().startswith("file:") else text
        return "mlflow://" + os.path.abspath(os.path.expanduser(path or "mlruns"))
    base = scheme.lower().partition("+")[0]
    if base == "sqlite":
        return "mlflow://" + sqlalchemy_namespace(text).removeprefix("sqlite://")
    parts = urlsplit(text)
    host = parts.netloc.rpartition("@")[2].lower()
    if base == "file" and host in ("", "localhost"):
        return "mlflow://" + os.path.abspath(unquote(parts.path))
    if base == "databricks":
        return f"mlflow://databricks/{unquote(host)}" if host else "mlflow://databricks"
    return f"mlflow://{host}{unquote(parts.path).rstrip('/')}"
