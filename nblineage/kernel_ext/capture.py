"""What the hooks report to: the kernel's capture session and the cell run under way.

Hooks never talk to the store. They call ``read``, ``write`` and ``derive`` on ``current()`` (None when capture is
off), which tag objects with their provenance and add inputs and outputs to the cell run; the run becomes
OpenLineage events when the cell ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nblineage.kernel_ext.provenance import EMPTY, Provenance, Registry, Source

_current: Capture | None = None
_local = threading.local()


@dataclass
class Output:
    """A dataset or model the cell wrote, with the inputs of exactly the object written."""

    source: Source
    provenance: Provenance
    facets: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None  # framework, class, hyperParameters, featureNames


@dataclass
class Record:
    """Inputs and outputs of one run (a cell execution)."""

    inputs: dict[Source, dict[str, Any]] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # model metrics computed (docs/facets.md#metrics)
    mlflow_runs: list[str] = field(default_factory=list)  # MLflow runs the cell logged to or ran in
    mlflow: list[dict[str, Any]] = field(default_factory=list)  # those runs read back (mlflow_runs.snapshots)

    def add_input(self, source: Source, facets: dict[str, Any] | None = None) -> None:
        self.inputs.setdefault(source, {}).update(facets or {})

    def add_mlflow_run(self, run_id: str | None) -> None:
        if run_id and run_id not in self.mlflow_runs:
            self.mlflow_runs.append(run_id)


class Capture:
    """One kernel's capture: the provenance registry and the record of the cell run under way."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.record = Record()
        self.cell_source: str | None = None  # the cell under way and the namespace it runs in, for the fallback
        self.user_ns: dict[str, Any] | None = None
        self.cell_job: str | None = None  # the job name of the cell under way (which cell trained a model)
        self.cell_run_id: str | None = None  # the run id of the cell under way
        self.deferred: list[Callable[[], None]] = []  # work waiting for the outermost hooked call to end
        self.column_rules: dict[str, frozenset[str]] = {}  # derived column -> columns read (columns.py)

    def defer(self, work: Callable[[], None]) -> None:
        """Run ``work`` when the outermost hooked call under way ends (an MLflow log inside a fit that autolog
        wrapped is recorded once the fit has tagged the model)."""
        self.deferred.append(work)

    def run_deferred(self) -> None:
        work, self.deferred = self.deferred, []
        for item in work:
            item()

    def take_record(self) -> Record:
        """The record so far, replaced by an empty one (called when a cell ends)."""
        record, self.record = self.record, Record()
        return record

    def read(self, source: Source, result: Any, facets: dict[str, Any] | None = None) -> Provenance:
        """A hook read ``source``: it is an input of the run, and ``result`` derives from it (exactly)."""
        self.record.add_input(source, facets)
        provenance = self.exact({source})
        self.registry.tag(result, provenance)
        return provenance

    def exact(self, sources: Iterable[Source]) -> Provenance:
        """Provenance a hook saw in the cell under way: exactly ``sources``."""
        return Provenance(frozenset(sources)).through(self.cell_run_id)

    def write(
        self,
        source: Source,
        obj: Any,
        facets: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        provenance: Provenance | None = None,
    ) -> None:
        """A hook wrote ``obj`` to ``source``: an output whose inputs are ``obj``'s provenance."""
        if provenance is None:
            provenance = self.registry.of(obj)
            if not provenance and obj is not None and self.cell_source and self.user_ns is not None:
                from nblineage.kernel_ext import fallback

                provenance = fallback.at_write(self, self.cell_source, self.user_ns)
        for input_source in provenance.sources:
            self.record.add_input(input_source)
        self.record.outputs.append(Output(source, provenance, dict(facets or {}), model))

    def derive(self, result: Any, *inputs: Any) -> Provenance:
        """``result`` was computed from ``inputs`` in the cell under way: it carries their provenance."""
        return self.registry.derive(result, *inputs, run_id=self.cell_run_id)

    def of(self, obj: Any) -> Provenance:
        return self.registry.of(obj) if obj is not None else EMPTY


def current() -> Capture | None:
    """The active capture, unless capture is off or a hook is already recording on this thread."""
    if _current is None or getattr(_local, "depth", 0):
        return None
    return _current


def activate(capture: Capture | None) -> None:
    global _current
    _current = capture


def enter(nested: bool = False) -> tuple[Capture | None, int]:
    """Start an intercepted call: (the capture if this is the outermost hooked call, or ``nested`` is set, else
    None; the depth before)."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    return (_current if depth == 0 or nested else None), depth


def leave(depth: int) -> None:
    _local.depth = depth


def depth() -> int:
    """How many hooked calls are under way on this thread (1 inside the outermost one)."""
    return getattr(_local, "depth", 0)


def capturing() -> bool:
    """True when capture is on (cheap: hooks skip all work otherwise)."""
    return _current is not None


@contextmanager
def hooked() -> Iterator[Capture | None]:
    """Around an intercepted call: yields the capture for the outermost call only (nested library calls, such as
    pandas reading through pyarrow, are the outer call's business), and None inside."""
    try:
        capture, depth = enter()
    except Exception as error:  # the hook's own bookkeeping failed: the call runs, nothing is recorded
        from nblineage.kernel_ext.safety import report

        report("hook entry", error)
        yield None
        return
    try:
        yield capture
    finally:
        leave(depth)
