"""Keras 3 (any backend): model saves, loads, fits and predictions.

- Saves: ``Model.save(filepath)``, ``keras.saving.save_model(model, filepath)`` and ``Model.save_weights(filepath)``
  (which ``ModelCheckpoint(save_weights_only=True)`` calls) are MODEL outputs, as ``torch.save`` of a model is
  (``hooks/models.py``); a weights file's format is ``keras_weights``.
- Loads: ``keras.models.load_model(filepath)`` (``keras.saving.load_model``) is a read of the file, which the model
  loaded carries; ``Model.load_weights(filepath)`` a read the model derives from besides what it had
  (``hooks/loads.py``). So the predictions of a model loaded derive from its file, and through it from its data.
- ``Model.fit(x, y, sample_weight=...)``: the model derives from the data besides what it had (a fit goes on from
  the weights it has) and gets training facts (cell, run, a ``fitId``, rows, features, the column names an array
  of a frame's columns holds), noted before it trains, so the checkpoints its callbacks save during the fit have them.
- ``Model.predict(x)``: the predictions derive from the model and the data, as an estimator's (``hooks/sklearn.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import columns
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import loads
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import feature_list
from nblineage.kernel_ext.hooks.metrics import mark_split
from nblineage.kernel_ext.hooks.models import method_saves, saves
from nblineage.kernel_ext.hooks.sklearn import METHODS
from nblineage.kernel_ext.instrument import Instrumentor, Patch, defining_class, intercept
from nblineage.kernel_ext.safety import report

__all__ = ["KerasInstrumentor"]

WEIGHTS = "keras_weights"


class KerasInstrumentor(Instrumentor):
    """Keras' saves, loads, ``fit`` and ``predict`` (module docstring)."""

    modules = ("keras",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield from method_saves(module, (("Model", "save", "filepath"),))
        yield from method_saves(module, (("Model", "save_weights", "filepath"),), WEIGHTS)
        model = getattr(module, "Model", None)
        for method, wrapper in (
            ("load_weights", intercept("keras Model.load_weights", _weights_loaded)),
            ("fit", _fitting),
            ("predict", METHODS["predict"]),
        ):
            owner = defining_class(model, method)
            if owner is not None:
                yield owner, method, wrapper
        saving = getattr(module, "saving", None)  # keras.models.load_model is the same function
        if saving is not None:
            yield saving, "save_model", saves("keras.saving.save_model", (0, "model"), (1, "filepath"))
            yield saving, "load_model", intercept("keras.saving.load_model", loads.loads_from(0, "filepath"))

    def cell_ended(self, capture: Capture) -> None:
        loads.settle(capture)


def _weights_loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``model.load_weights(filepath)``: the model now derives from the file too."""
    target = argument(args, kwargs, 1, "filepath", None)
    if target is not None:
        loads.load_into(capture, args[0], target)


def _fitting(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``model.fit(...)``: what it is trained on noted before it trains (a wrapt wrapper, not an ``intercept``, whose
    recording call would keep the saves its callbacks make from recording)."""
    active = capture_module.current() if capture_module.capturing() else None
    if active is not None and instance is not None:
        try:
            _fit_started(active, instance, (instance, *args), kwargs)
        except Exception as error:
            report("keras Model.fit", error)
    return wrapped(*args, **kwargs)


def _fit_started(capture: Capture, model: Any, args: tuple, kwargs: dict) -> None:
    x, y = argument(args, kwargs, 1, "x", None), argument(args, kwargs, 2, "y", None)
    capture.derive(model, model, x, y, argument(args, kwargs, 11, "sample_weight", None))
    facts: dict[str, Any] = {"fitId": uuid.uuid4().hex}
    shape = getattr(x, "shape", None)
    if isinstance(shape, tuple) and shape:
        facts["nSamples"] = int(shape[0])
        if len(shape) == 2:
            facts["nFeatures"] = int(shape[1])
    names = feature_list(getattr(x, "columns", None)) or columns.fitted_columns(capture, x)
    if names and len(names) == facts.get("nFeatures"):
        facts["featureNames"] = names
        if derived := columns.feature_lineage(capture, names):
            facts["featureLineage"] = derived
    target = getattr(y, "name", None)
    targets = [str(target)] if isinstance(target, str) else feature_list(getattr(y, "columns", None))
    if targets:
        facts["targetNames"] = targets
    if capture.cell_job:
        facts["trainingJob"] = capture.cell_job
    if capture.cell_run_id:
        facts["trainingRunId"] = capture.cell_run_id
    capture.hooks.training.remember(model, facts)
    mark_split(capture.hooks, x, "train")
    mark_split(capture.hooks, y, "train")
