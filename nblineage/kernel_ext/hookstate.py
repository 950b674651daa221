"""What the hooks remember during a capture, beside provenance: typed, and kept on the capture (``capture.hooks``)."""

from __future__ import annotations

import weakref
from typing import Any

from nblineage.kernel_ext.provenance import Provenance, Source

MAX_SPLIT_PARTS = 256  # split parts remembered per cell (a loop of splits keeps the latest)


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

    def forget(self, obj: Any) -> None:
        entry = self._facts.get(id(obj))
        if entry is not None and entry[0]() is obj:
            del self._facts[id(obj)]

    def __bool__(self) -> bool:
        return bool(self._facts)


class SplitParts:
    """The parts a ``train_test_split`` of the cell under way returned, with what the hook derived each from (part
    2i and 2i+1 from array i; a ``shuffle`` or ``resample`` result i from array i): the fallback gives them back to
    the names it would give everything the statement read (``train, test = split(df)`` through a user function).
    Holds no part: a weak reference, or for a list its type, length and first and last items' ids."""

    def __init__(self) -> None:
        self._parts: dict[int, tuple[Any, Provenance]] = {}

    def __bool__(self) -> bool:
        return bool(self._parts)

    def remember(self, part: Any, provenance: Provenance) -> None:
        try:
            witness: Any = weakref.ref(part)
        except TypeError:
            witness = _witness(part)
        if len(self._parts) >= MAX_SPLIT_PARTS:
            del self._parts[next(iter(self._parts))]
        self._parts[id(part)] = (witness, provenance)

    def get(self, obj: Any) -> Provenance | None:
        """What the split derived ``obj`` from, when ``obj`` is one of its parts."""
        entry = self._parts.get(id(obj))
        if entry is None:
            return None
        witness, provenance = entry
        held = witness() is obj if isinstance(witness, weakref.ref) else witness == _witness(obj)
        return provenance if held else None

    def clear(self) -> None:
        self._parts.clear()


def _witness(obj: Any) -> tuple[Any, ...]:
    items = obj if isinstance(obj, (list, tuple)) else ()
    return (type(obj), len(items), id(items[0]) if items else 0, id(items[-1]) if items else 0)


class HookState:
    """What hooks remember per capture."""

    def __init__(self) -> None:
        self.training = ObjectFacts()  # estimator -> what it was fit on, and the fit's id
        self.splits = ObjectFacts()  # data -> {"split": train|test|validation}
        self.split_parts = SplitParts()  # train_test_split parts of the cell under way
        self.predictions = ObjectFacts()  # predictions -> {"fitId", "estimator"}
        self.arrays = ObjectFacts()  # array -> {"columns": the frame's} (columns.py)
        self.rows = ObjectFacts()  # stacked frame -> {"parts": which rows came from what} (hooks/rows.py)
        self.row_views = ObjectFacts()  # array holding data -> {"views": arrays with parts looking into it} (rows.py)
        # a statistic's key -> (its value, the data of its rows) (rows.py)
        self.statistics: dict[tuple[str, Any], tuple[Any, Provenance]] = {}
        self.named_arrays: list[Any] = []  # the latest named arrays' probes, for copies (columns.py)
        self.last_prediction: tuple[int, dict[str, Any]] | None = None  # (length, facts) of the latest predictions
        self.fit_metrics: dict[str, list[dict[str, Any]]] = {}  # fitId -> metrics computed so far
        self.fit_models: dict[str, list[tuple[str, str]]] = {}  # fitId -> MLflow (run, model id)
        self.fit_files: dict[str, dict[tuple[str, str], Source]] = {}  # fitId -> files it is in
        self.logged_models: dict[str, tuple[dict[str, Any], Source]] = {}  # model id -> (description, Source)
        self.run_models: dict[str, list[Source]] = {}  # MLflow run id -> the models linked to it
        self.open_writes: dict[int, Any] = {}  # id(open file) -> what saves into it left (OpenWrite)
        self.torch: Any = None  # PyTorch training under way (hooks/tensors.py TorchState)
