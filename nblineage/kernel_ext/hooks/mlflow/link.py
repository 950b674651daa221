"""Lineage into MLflow: a logged model's source datasets and its metrics, so MLflow shows what nblineage knows.

When a model nblineage tracks is logged to MLflow (``mlflow.<flavor>.log_model``, manual or by ``autolog``):

- each dataset version the model derives from becomes an input of the MLflow run, linked to the logged model:
  a dataset named as in OpenLineage (the file's absolute path, ``db.schema.table``), its source the real file or
  URI, and its digest our content fingerprint (``mlflow.data.context`` is ``training``);
- each metric nblineage saw computed on the model's fit (``hooks/metrics.py``), before the log or after it, is
  logged to the run and the logged model as ``{split}_{name}`` (``test_accuracy_score``), on the dataset ``y_true``
  came from, so ``mlflow.search_logged_models(experiment_ids=[...], datasets=[{"dataset_name": ...}])`` finds the
  model by that data (MLflow matches a dataset by the model's metrics on it, in the experiments it is given).

``NBLINEAGE_MLFLOW_SYNC=0`` turns this off. Nothing here imports MLflow: it runs only when MLflow called a hook.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from nblineage import config
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.provenance import PENDING, Provenance, Source

__all__ = ["metric_computed", "model_logged", "note_active_run"]

MAX_DATASETS = 100  # inputs logged per model
MAX_DIGEST = 36  # MLflow's dataset digest column


def model_logged(capture: Capture, fit_id: str | None, run_id: str, model_id: str, provenance: Provenance) -> None:
    """The model of ``fit_id`` was logged as ``model_id`` in ``run_id``: log its datasets and known metrics."""
    if not config.mlflow_sync():
        return
    state = capture.hooks
    client = _client()
    sources = sorted(provenance.sources)[:MAX_DATASETS]
    if sources:
        from mlflow.entities import DatasetInput, InputTag, LoggedModelInput

        inputs = [
            DatasetInput(
                dataset=_dataset(source),
                tags=[
                    InputTag(key="mlflow.data.context", value="training"),
                    InputTag(key="nblineage.namespace", value=source.namespace),
                ],
            )
            for source in sources
        ]
        client.log_inputs(run_id, datasets=inputs, models=[LoggedModelInput(model_id=model_id)])
    if not fit_id:
        return
    links = state.fit_models.setdefault(fit_id, [])
    if (run_id, model_id) not in links:
        links.append((run_id, model_id))
    for metric in state.fit_metrics.get(fit_id, ()):
        _log_metric(client, run_id, model_id, metric)


def metric_computed(capture: Capture, metric: dict[str, Any]) -> None:
    """A metric of a fit was computed: log it to every MLflow model of that fit."""
    if not config.mlflow_sync() or "mlflow" not in sys.modules:
        return
    links = capture.hooks.fit_models.get(metric["fitId"])
    if links:
        client = _client()
        for run_id, model_id in links:
            _log_metric(client, run_id, model_id, metric)
            capture.record.add_mlflow_run(run_id)


def note_active_run(capture: Capture) -> None:
    """The cell ends inside an MLflow run: the run is one the cell touched (metrics may have been logged to it)."""
    mlflow = sys.modules.get("mlflow")
    active = getattr(mlflow, "active_run", None)
    run = active() if callable(active) else None
    if run is not None:
        capture.record.add_mlflow_run(run.info.run_id)


def _log_metric(client: Any, run_id: str, model_id: str, metric: dict[str, Any]) -> None:
    key = f"{metric['split']}_{metric['name']}" if metric.get("split") else metric["name"]
    datasets = metric.get("datasets") or []
    dataset = datasets[0] if len(datasets) == 1 and _digest(datasets[0].get("version")) else None
    client.log_metric(
        run_id,
        key,
        metric["value"],
        model_id=model_id,
        dataset_name=dataset["name"] if dataset else None,
        dataset_digest=_digest(dataset["version"]) if dataset else None,
        synchronous=True,
    )


def _dataset(source: Source) -> Any:
    """An MLflow dataset entity for a dataset version: our name, our fingerprint, the real file or URI."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    uri = source.name if source.namespace == "file" else f"{source.namespace.rstrip('/')}/{source.name}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "can be interpreted in multiple ways": a local path is a local path
        try:
            dataset_source = resolve_dataset_source(uri)
        except Exception:  # a database table: MLflow has no source type for it
            dataset_source = CodeDatasetSource(tags={"uri": uri})
    return MetaDataset(dataset_source, name=source.name, digest=_digest(source.version))._to_mlflow_entity()


def _digest(version: Any) -> str | None:
    """Our fingerprint as MLflow's digest; None when there is none yet (rows of a table still being fetched carry
    a pending version, replaced in nblineage's own record at the cell's end, but MLflow is told now)."""
    if not version or not isinstance(version, str) or version.startswith(PENDING):
        return None
    return version[:MAX_DIGEST]


def _client() -> Any:
    return sys.modules["mlflow"].MlflowClient()
