"""What a notebook variable stands for in a lineage question: the dataset versions it was read from, or the fit
of the model it holds (what the capture hooks saw)."""

from __future__ import annotations

from typing import Any

from nblineage.governance.fit import Fit
from nblineage.kernel_ext.capture import Capture
from nblineage.lineage.graph import DatasetRef


def sources_of(obj: Any, capture: Capture) -> list[DatasetRef]:
    """The dataset versions ``obj`` derives from (its provenance), in name order."""
    return [DatasetRef(s.namespace, s.name, s.version) for s in sorted(capture.of(obj).sources)]


def fit_of(obj: Any, label: str, capture: Capture) -> Fit | None:
    """The fit of the model ``obj`` (held by the variable ``label``), or None when ``obj`` is no model."""
    from nblineage.kernel_ext.hooks.describe import describe_model

    described = describe_model(obj, capture)
    if described is None:
        return None
    return Fit(
        label=label,
        fit_id=described.get("fitId"),
        framework=described.get("framework"),
        model_class=described.get("class"),
        framework_version=described.get("frameworkVersion"),
        hyper_parameters=dict(described.get("hyperParameters") or {}),
        feature_names=tuple(described.get("featureNames") or ()),
        feature_lineage=dict(described.get("featureLineage") or {}),
        training_job=described.get("trainingJob"),
        training_run_id=described.get("trainingRunId"),
        inputs=tuple(sources_of(obj, capture)),
        runs=tuple(sorted(capture.of(obj).runs)),
    )
