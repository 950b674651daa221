"""A fitted model that lives only in a kernel: the five answers for its fit, from what the kernel saw and the store.

The kernel passes a :class:`Fit` (its hooks' facts about the estimator: class, hyper-parameters, features, the
dataset versions it derives from, the cell runs it went through). When the store holds a model saved from that fit
(the same ``fitId``), the answer is that model's; otherwise it is the fit's own, with location "not persisted".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from nblineage.governance.answers import (
    Explanation,
    ModelFunction,
    ModelInputs,
    ModelLocation,
    ModelSummary,
    Performance,
)
from nblineage.governance.features import features as trace_features
from nblineage.governance.models import MODEL_FACET
from nblineage.governance.questions import explain, fit_metrics, input_datasets, resources_of_runs
from nblineage.governance.read import Reader, as_dict, as_str
from nblineage.lineage import graph
from nblineage.lineage.graph import DEFAULT_DEPTH, DatasetRef, Node, NotFound
from nblineage.lineage.store import Store

NOT_PERSISTED = "not persisted"
KERNEL_NAMESPACE = "kernel"  # the namespace an unsaved fit is shown in: it lives in the kernel's memory


@dataclass(frozen=True)
class Fit:
    """What a kernel knows about a fitted model object ``label`` (the variable that holds it)."""

    label: str
    fit_id: str | None
    framework: str | None = None
    model_class: str | None = None
    framework_version: str | None = None
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    feature_names: tuple[str, ...] = ()
    feature_lineage: dict[str, list[str]] = field(default_factory=dict)
    training_job: str | None = None
    training_run_id: str | None = None
    inputs: tuple[DatasetRef, ...] = ()  # the dataset versions it derives from
    runs: tuple[str, ...] = ()  # the cell runs it went through


def saved_model(store: Store, fit_id: str | None) -> DatasetRef | None:
    """The newest model version saved from the fit ``fit_id`` (its model facet names that ``fitId``), or None."""
    if not fit_id:
        return None
    with store.read() as conn:
        reader = Reader(conn)
        for namespace, name, _, facet in reader.models_mentioning(fit_id, (MODEL_FACET,)):
            found = reader.dataset(namespace, name)
            if as_str(as_dict(facet).get("fitId")) == fit_id and found is not None:
                newest = reader.version(found[0], None)
                return DatasetRef(namespace, name, newest.shown if newest else None)
    return None


def explain_fit(store: Store, fit: Fit, depth: int = DEFAULT_DEPTH) -> Explanation:
    """The five answers for ``fit``: the saved model's when there is one, else the fit's own."""
    saved = saved_model(store, fit.fit_id)
    if saved is not None:
        return explain(store, saved, depth)
    upstream = _upstream(store, fit.inputs, depth)
    ref = DatasetRef(KERNEL_NAMESPACE, fit.label)
    with store.read() as conn:
        reader = Reader(conn)
        training = reader.runs([fit.training_run_id]).get(fit.training_run_id.lower()) if fit.training_run_id else None
        datasets = input_datasets(reader, upstream)
        code = as_dict(reader.run_job_facet(fit.training_run_id, "sourceCode")) if fit.training_run_id else {}
        metrics = fit_metrics(reader, fit.fit_id, [training]) if fit.fit_id and training else []
        runs = {run.lower() for run in fit.runs} | ({fit.training_run_id.lower()} if fit.training_run_id else set())
        return Explanation(
            model=ModelSummary(KERNEL_NAMESPACE, fit.label, None, 0, NOT_PERSISTED, fit.framework, fit.model_class),
            derived_models=(),
            inputs=ModelInputs(
                model=ref,
                datasets=datasets,
                features=trace_features(reader, list(fit.feature_names), datasets, fit.feature_lineage),
                function=ModelFunction(
                    framework=fit.framework,
                    model_class=fit.model_class,
                    hyper_parameters=fit.hyper_parameters,
                    framework_version=fit.framework_version,
                    training_job=fit.training_job,
                    notebook=fit.training_job.rpartition("#")[0] or None if fit.training_job else None,
                    code=code.get("sourceCode") if isinstance(code.get("sourceCode"), str) else None,
                    code_language=as_str(code.get("language")),
                    training_run_id=fit.training_run_id,
                ),
            ),
            performance=Performance(ref, tuple(metrics)),
            resources=resources_of_runs(reader, ref, runs, {}),
            location=ModelLocation(
                namespace=KERNEL_NAMESPACE,
                name=fit.label,
                version=None,
                uri=NOT_PERSISTED,
                tracking=None,
                content_hash=None,
                size_bytes=None,
                saved_by=None,
                saved_at=None,
                mlflow=None,
            ),
        )


def _upstream(store: Store, inputs: tuple[DatasetRef, ...], depth: int) -> list[Node]:
    """The datasets the fit derives from (depth 1) and what they derive from, each once at its nearest depth."""
    found: dict[tuple[str, str, str | None], Node] = {}
    for ref in inputs:
        nodes = [Node("dataset", ref.namespace, ref.name, ref.version, 0)]
        with contextlib.suppress(NotFound):  # not stored (yet): still an input
            nodes += graph.upstream(store, ref, depth - 1) if depth > 1 else []
        for node in nodes:
            if node.type != "dataset":
                continue
            key = (node.namespace, node.name, node.version)
            shifted = Node(node.type, node.namespace, node.name, node.version, node.depth + 1)
            if key not in found or found[key].depth > shifted.depth:
                found[key] = shifted
    return sorted(found.values(), key=lambda node: (node.depth, node.namespace, node.name, node.version or ""))
