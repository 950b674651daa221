"""great-expectations 1.x: the validations a notebook runs with GX's own API on a tracked pandas frame.

Every GX 1.x validation of a batch goes through the V1 ``Validator``: ``batch.validate(suite)`` and
``batch.validate(expectation)``, ``ValidationDefinition.run`` and the checkpoints that run validation definitions.
Its ``validate_expectation_suite`` and ``validate_expectation`` are patched; the frame is the ``dataframe`` batch
parameter, and the result is recorded (``dataQualityAssertions`` input facets, ``kernel_ext/quality.py``) against
each dataset version the frame derives from, as an input of the cell run, and noted for the guard's quality rule.
The legacy ``Validator.validate`` (``context.get_validator(...)``) is covered too, its frame being the active
batch's. Validations nblineage runs itself (the policy's suites) are left to ``kernel_ext/quality.py``. Nothing is
imported early: the patches are applied when the user imports great-expectations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept


class GreatExpectationsInstrumentor(Instrumentor):
    requires = ("great_expectations>=1.0",)
    modules = ("great_expectations.validator.v1_validator", "great_expectations.validator.validator")

    def patches(self, module: Any) -> Iterator[Patch]:
        validator = module.Validator
        if module.__name__.endswith("v1_validator"):
            for method in ("validate_expectation_suite", "validate_expectation"):
                yield validator, method, intercept(f"great_expectations.Validator.{method}", _validated_v1)
        else:
            yield validator, "validate", intercept("great_expectations.Validator.validate", _validated_legacy)


def _validated_v1(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    parameters = getattr(args[0], "_batch_parameters", None)
    frame = parameters.get("dataframe") if isinstance(parameters, dict) else None
    _record(capture, frame, result)


def _validated_legacy(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    batch = getattr(args[0], "active_batch", None)
    _record(capture, getattr(getattr(batch, "data", None), "dataframe", None), result)


def _record(capture: Capture, frame: Any, result: Any) -> None:
    from nblineage.governance.quality import from_gx, running_ours
    from nblineage.kernel_ext import quality

    if frame is None or result is None or running_ours():
        return
    sources = capture.of(frame).sources
    if not sources:
        return
    try:
        rows = len(frame)
    except TypeError:
        rows = None
    found = from_gx(result, rows=rows, total_rows=rows, origin="user")
    for source in sorted(sources):
        quality.note(source, found)
        quality.add_to_record(capture, source, found)
