"""Lineage from MLflow: what MLflow knows of the runs a cell touched, for the models nblineage linked to them.

At the end of a cell that touched an MLflow run (logged a model or metrics in it, started it, or ran inside it),
each such run is read back through ``MlflowClient``: parameters, metrics (``system/`` ones apart), dataset inputs,
its logged models' metrics with their datasets, and its registry versions. The writer sends it as a DatasetEvent
with the ``nblineage_mlflow`` facet (docs/facets.md#mlflow) for every model linked to the run. Only cells that used
MLflow pay for this, and only when the user imported MLflow.
"""

from __future__ import annotations

import sys
from typing import Any

from nblineage.governance.splits import split_of_context, split_of_name
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.provenance import Source

__all__ = ["active_run_facts", "link_model", "snapshots"]

MAX_RUNS = 16  # runs read back per cell
SYSTEM_PREFIX = "system/"


def link_model(capture: Capture, run_id: str | None, model: Source) -> None:
    """``model`` belongs to the MLflow run ``run_id``, which the cell touched: its MLflow view is sent now and
    whenever the run changes."""
    if run_id:
        capture.record.add_mlflow_run(run_id)
        models = capture.hooks.run_models.setdefault(run_id, [])
        if model not in models:
            models.append(model)


def active_run_facts() -> dict[str, Any]:
    """``mlflowRunId`` and ``mlflowExperimentId`` of the active MLflow run ({} when none, or MLflow is not imported)."""
    mlflow = sys.modules.get("mlflow")
    active = mlflow.active_run() if mlflow is not None and hasattr(mlflow, "active_run") else None
    if active is None:
        return {}
    return {"mlflowRunId": active.info.run_id, "mlflowExperimentId": active.info.experiment_id}


def snapshots(capture: Capture, run_ids: list[str]) -> list[dict[str, Any]]:
    """For each run the cell touched that holds models: the run as MLflow sees it now, and those models."""
    mlflow = sys.modules.get("mlflow")
    run_models = capture.hooks.run_models
    wanted = [run_id for run_id in run_ids if run_models.get(run_id)][:MAX_RUNS]
    if mlflow is None or not wanted:
        return []
    client = mlflow.MlflowClient()
    found = []
    for run_id in wanted:
        models = run_models[run_id]
        model_ids = [model.version for model in models if model.name.startswith("models:/m-") and model.version]
        facet = describe_run(client, run_id, model_ids)
        found.append({"facet": facet, "models": [_source(model) for model in models]})
    return found


def describe_run(client: Any, run_id: str, model_ids: list[str]) -> dict[str, Any]:
    """The ``nblineage_mlflow`` facet of a run (and of the first of ``model_ids``, its logged model)."""
    run = client.get_run(run_id)
    info, data = run.info, run.data
    experiment = client.get_experiment(info.experiment_id)
    datasets = [
        {
            "name": item.dataset.name,
            "digest": item.dataset.digest,
            "context": next((tag.value for tag in item.tags if tag.key == "mlflow.data.context"), None),
            "source": item.dataset.source,
        }
        for item in (run.inputs.dataset_inputs if run.inputs else [])
    ]
    contexts = {(d["name"], d["digest"]): d["context"] for d in datasets}
    facet: dict[str, Any] = {
        "runId": info.run_id,
        "runName": info.run_name,
        "status": info.status,
        "experimentId": info.experiment_id,
        "experimentName": getattr(experiment, "name", None),
        "params": dict(data.params),
        "metrics": {k: v for k, v in data.metrics.items() if not k.startswith(SYSTEM_PREFIX)},
        "systemMetrics": {k: v for k, v in data.metrics.items() if k.startswith(SYSTEM_PREFIX)},
        "datasets": datasets,
        "modelId": model_ids[0] if model_ids else None,
        "modelMetrics": [],
        "registeredVersions": [],
    }
    for model_id in model_ids[:1]:
        logged = client.get_logged_model(model_id)
        facet["modelMetrics"] = [
            {
                "name": metric.key,
                "value": metric.value,
                "datasetName": metric.dataset_name,
                "datasetDigest": metric.dataset_digest,
                "split": metric_split(
                    metric.key, metric.dataset_name, contexts.get((metric.dataset_name, metric.dataset_digest))
                ),
            }
            for metric in logged.metrics or []
        ]
        versions = client.search_model_versions(f"run_id = '{run_id}'")
        mine = [version for version in versions if getattr(version, "model_id", None) in (None, model_id)]
        aliases = _aliases(client, {version.name for version in mine})
        facet["registeredVersions"] = [
            {
                "name": version.name,
                "version": str(version.version),
                "aliases": aliases.get((version.name, str(version.version)), []),
            }
            for version in mine
        ]
    return facet


def _aliases(client: Any, names: set[str]) -> dict[tuple[str, str], list[str]]:
    """The aliases (``champion``...) of each version of these registered models, as the registry has them now."""
    found: dict[tuple[str, str], list[str]] = {}
    for name in sorted(names)[:MAX_RUNS]:
        for alias, version in (getattr(client.get_registered_model(name), "aliases", None) or {}).items():
            found.setdefault((name, str(version)), []).append(str(alias))
    return {key: sorted(value) for key, value in found.items()}


def metric_split(name: str, dataset: str | None, context: str | None) -> str | None:
    """The split of an MLflow model metric: what its name says (``training_score``, ``accuracy_score_X_test``),
    else the context its dataset was logged with (``train``, ``eval``), else its dataset's name."""
    if split := split_of_name(name):
        return split
    return split_of_context(context) or (split_of_name(dataset) if dataset else None)


def _source(source: Source) -> dict[str, Any]:
    return {"namespace": source.namespace, "name": source.name, "version": source.version}
