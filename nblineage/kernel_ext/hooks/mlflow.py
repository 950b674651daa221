"""MLflow model saves and logs: ``mlflow.<flavor>.save_model`` and ``mlflow.<flavor>.log_model``.

MLflow imports its flavors lazily (``mlflow.sklearn`` is a stand-in until first used), so each flavor module is
patched when it is imported; nothing here imports MLflow or a flavor.

- ``save_model(model, path)`` is a local folder: namespace ``file``, name the folder's absolute path, version the
  folder's fingerprint.
- ``log_model(model, ...)`` is a model in the tracking store: namespace ``mlflow://{tracking host or path}``, name
  ``models:/m-{id}`` (MLflow 3's logged model; ``runs:/{run}/{path}`` under MLflow 2), version the model id. When
  the call also registers the model (``registered_model_name=``), the registry version ``models:/{name}/{version}``
  is a second output with the same inputs.

Both are MODEL outputs described by :func:`~nblineage.kernel_ext.hooks.models.describe_model` (the framework of
the model object itself, plus ``mlflowFlavor``; a logged model adds ``mlflowRunId``, ``mlflowModelId``,
``mlflowArtifactUri`` and ``registeredModel`` when known), and their inputs are the model object's provenance.
``log_model`` calls ``save_model`` and the flavor's serializer (``skops.io.dump``, ``torch.save``...) inside: only
the outermost hooked call records (:func:`~nblineage.kernel_ext.capture.hooked`).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.fingerprint import file_version, forget
from nblineage.kernel_ext.hooks._common import qualified_name
from nblineage.kernel_ext.hooks._files import ModuleInstrumentor, Patch, exports
from nblineage.kernel_ext.hooks.models import MODEL_FACETS, describe_model
from nblineage.kernel_ext.instrument import After, intercept
from nblineage.kernel_ext.provenance import Source
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
# the parameter holding the model, where it is not the first one
_MODEL_PARAMETERS = {"pyfunc": "python_model"}


class MlflowInstrumentor(ModuleInstrumentor):
    """Patches ``save_model`` and ``log_model`` of each MLflow flavor module as it is imported."""

    library = "mlflow"
    modules = tuple(f"mlflow.{flavor}" for flavor in FLAVORS)

    def patches(self, module: Any) -> Iterator[Patch]:
        flavor = module.__name__.rpartition(".")[2]
        for function_name, make in (("save_model", self._save), ("log_model", self._log)):
            function = getattr(module, function_name, None)
            if not callable(function):
                continue
            signature = inspect.signature(function)
            after = make(flavor, _Arguments(signature, _MODEL_PARAMETERS.get(flavor)))
            wrapper = intercept(f"mlflow.{flavor}.{function_name}", after)
            for home in exports(module, function_name):
                yield home, function_name, wrapper

    def _save(self, flavor: str, arguments: _Arguments) -> After:
        def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
            if not self.enabled:  # a stale copy (a reference to MLflow's lazy module stand-in) after uninstrument
                return
            bound = arguments.bind(args, kwargs)
            path = bound.get("path")
            if not isinstance(path, (str, bytes, os.PathLike)):
                return
            name = _folder_name(path)
            version = folder_version(name.name) if name.namespace == "file" else None
            model = bound.get(arguments.model)
            capture.write(
                Source(name.namespace, name.name, version),
                model,
                facets=dict(MODEL_FACETS),
                model=_describe(capture, model, flavor),
                provenance=capture.of(model),
            )

        return after

    def _log(self, flavor: str, arguments: _Arguments) -> After:
        def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
            if not self.enabled:
                return
            model_id = getattr(result, "model_id", None)
            model_uri = getattr(result, "model_uri", None)
            if not model_id and not isinstance(model_uri, str):
                return  # an MLflow whose log_model returns no ModelInfo: nothing names the model
            bound = arguments.bind(args, kwargs)
            model = bound.get(arguments.model)
            run_id = getattr(result, "run_id", None)
            description = _describe(capture, model, flavor)
            if run_id:
                description["mlflowRunId"] = str(run_id)
            if model_id:
                description["mlflowModelId"] = str(model_id)
            artifact_uri = getattr(result, "artifact_path", None)  # MLflow 3: where the artifacts are
            if isinstance(artifact_uri, str) and ("://" in artifact_uri or os.path.isabs(artifact_uri)):
                description["mlflowArtifactUri"] = strip_credentials(artifact_uri)
            registered_name = bound.get("registered_model_name")
            registered_version = getattr(result, "registered_model_version", None)
            registered = bool(registered_name) and registered_version is not None
            if registered:
                description["registeredModel"] = {"name": str(registered_name), "version": str(registered_version)}
            namespace = tracking_namespace(sys.modules["mlflow"].get_tracking_uri())
            names = [f"models:/{model_id}" if model_id else strip_credentials(str(model_uri))]
            if registered:
                names.append(f"models:/{registered_name}/{registered_version}")
            version = str(model_id or run_id or "") or None
            provenance = capture.of(model)
            for name in names:
                capture.write(
                    Source(namespace, name, version),
                    model,
                    facets=dict(MODEL_FACETS),
                    model=dict(description),
                    provenance=provenance,
                )

        return after


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


INSTRUMENTORS: tuple[type[ModuleInstrumentor], ...] = (MlflowInstrumentor,)
