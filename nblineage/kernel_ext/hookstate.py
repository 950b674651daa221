"""What the hooks remember during a capture, beside provenance: typed, and kept on the capture (``capture.hooks``)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from nblineage.kernel_ext.provenance import Source


class ObjectFacts:
    """Facts about live objects (what an estimator was trained on), forgotten when the object is collected."""

    def __init__(self) -> None:
        self._facts: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}

    def remember(self, obj: Any, facts: dict[str, Any]) -> None:
        key = id(obj)
        try:
            ref = weakref.ref(obj, lambda _, key=key: self._facts.pop(key, None))
        except TypeError:
            return
        self._facts[key] = (ref, facts)

    def get(self, obj: Any) -> dict[str, Any]:
        entry = self._facts.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        return {}


@dataclass
class HookState:
    """What hooks remember per capture."""

    training: ObjectFacts = field(default_factory=ObjectFacts)  # estimator -> what it was fit on, and the fit's id
    splits: ObjectFacts = field(default_factory=ObjectFacts)  # data -> {"split": train|test|validation}
    predictions: ObjectFacts = field(default_factory=ObjectFacts)  # predictions -> {"fitId", "estimator"}
    arrays: ObjectFacts = field(default_factory=ObjectFacts)  # array -> {"columns": the frame's} (columns.py)
    named_arrays: list[Any] = field(default_factory=list)  # the latest named arrays' probes, for copies (columns.py)
    last_prediction: tuple[int, dict[str, Any]] | None = None  # (length, facts) of the latest predictions
    fit_metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # fitId -> metrics computed so far
    fit_models: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # fitId -> MLflow (run, model id)
    logged_models: dict[str, tuple[dict[str, Any], Source]] = field(default_factory=dict)  # model id -> (desc, Source)
    run_models: dict[str, list[Source]] = field(default_factory=dict)  # MLflow run id -> the models linked to it
    open_writes: dict[int, Any] = field(default_factory=dict)  # id(open file) -> what saves into it left (OpenWrite)
    torch: Any = None  # PyTorch training under way (hooks/tensors.py TorchState)
