"""OpenLineage events for a notebook session and its cell runs, built with openlineage-python's classes.

Importing openlineage-python takes a quarter of a second, so only the background writer imports this module: it
turns the outbox's records (``records.py``) into events with ``events_of``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import attr
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    dataset_type_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    lineage,
    parent_run,
    schema_dataset,
    source_code_job,
)
from openlineage.client.serde import Serde

from nblineage import __version__
from nblineage.kernel_ext.capture import Output
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.records import CellResult, cell_result

PRODUCER = f"https://github.com/nblineage/nblineage/tree/{__version__}"
FACETS_URL = "https://github.com/nblineage/nblineage/blob/main/docs/facets.md"


@attr.define
class ResourcesRunFacet(RunFacet):
    """What a cell run took: wall and CPU time, peak memory, GPU memory where a GPU is present."""

    wallTimeSeconds: float
    cpuTimeSeconds: float
    peakMemoryBytes: int
    gpus: list[dict[str, Any]] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_URL}#resources"


@attr.define
class CellRunFacet(RunFacet):
    """Which cell ran: its id and execution count."""

    cellId: str
    executionCount: int | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_URL}#cell"


@attr.define
class ModelDatasetFacet(DatasetFacet):
    """The model a dataset holds: framework, class, hyper-parameters, the features it was fit on."""

    framework: str
    modelClass: str
    hyperParameters: dict[str, Any] = attr.field(factory=dict)
    featureNames: list[str] = attr.field(factory=list)
    featureLineage: dict[str, list[str]] = attr.field(factory=dict)  # derived feature -> columns it came from
    trainingJob: str | None = None
    trainingRunId: str | None = None
    fitId: str | None = None
    frameworkVersion: str | None = None
    sizeBytes: int | None = None
    contentHash: str | None = None  # a fingerprint of what was persisted, where the dataset version is none
    mlflow: dict[str, Any] = attr.field(factory=dict)  # runId, experimentId, modelId, flavor, artifactUri...
    details: dict[str, Any] = attr.field(factory=dict)  # anything else the save hook knew (training facts...)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_URL}#model"


@attr.define
class PrecisionDatasetFacet(DatasetFacet):
    """How an output's inputs are known: ``exact`` (a hook followed the data) or ``cell`` (the statement's reads),
    and the cell runs the written object went through."""

    precision: str
    runs: list[str] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_URL}#lineage"


@attr.define
class MetricsRunFacet(RunFacet):
    """Model metrics the cell computed, each labelled with its split and the fit it measures."""

    metrics: list[dict[str, Any]] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_URL}#metrics"


@attr.define
class MlflowDatasetFacet(DatasetFacet):
    """MLflow's view of a model: its run (params, metrics, datasets), logged model metrics, registry versions."""

    runId: str
    runName: str | None = None
    status: str | None = None
    experimentId: str | None = None
    experimentName: str | None = None
    params: dict[str, Any] = attr.field(factory=dict)
    metrics: dict[str, Any] = attr.field(factory=dict)
    systemMetrics: dict[str, Any] = attr.field(factory=dict)
    datasets: list[dict[str, Any]] = attr.field(factory=list)
    modelId: str | None = None
    modelMetrics: list[dict[str, Any]] = attr.field(factory=list)
    registeredVersions: list[dict[str, Any]] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_URL}#mlflow"


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def session_event(state: str, run_id: str, namespace: str, notebook: str, when: datetime) -> RunEvent:
    """The session run: one per kernel, job = the notebook."""
    return RunEvent(
        eventType=RunState[state],
        eventTime=_time(when),
        run=Run(runId=run_id),
        job=Job(namespace=namespace, name=notebook, facets={"jobType": _job_type("NOTEBOOK")}),
        producer=PRODUCER,
    )


def cell_events(result: CellResult, namespace: str, notebook: str, session_run_id: str) -> list[RunEvent]:
    """START and COMPLETE (or FAIL) of one cell run, with its inputs, outputs and resources."""
    job_name = f"{notebook}#{result.cell_id}"
    job = Job(
        namespace=namespace,
        name=job_name,
        facets={
            "jobType": _job_type("CELL"),
            "sourceCode": source_code_job.SourceCodeJobFacet(language="python", sourceCode=result.source),
        },
    )
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=session_run_id), job=parent_run.Job(namespace=namespace, name=notebook)
    )
    start_facets: dict[str, RunFacet] = {
        "parent": parent,
        "nblineage_cell": CellRunFacet(cellId=result.cell_id, executionCount=result.execution_count),
    }
    end_facets = dict(start_facets)
    end_facets["nblineage_resources"] = ResourcesRunFacet(
        wallTimeSeconds=round(result.wall_seconds, 6),
        cpuTimeSeconds=round(result.cpu_seconds, 6),
        peakMemoryBytes=result.peak_memory,
        gpus=result.gpus,
    )
    if result.record.metrics:
        end_facets["nblineage_metrics"] = MetricsRunFacet(metrics=result.record.metrics)
    if result.error is not None:
        end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=result.error, programmingLanguage="python", stackTrace=result.traceback
        )
    inputs = [_input(source, facets) for source, facets in sorted(result.record.inputs.items())]
    outputs = _outputs(result.record.outputs, job_name)
    return [
        RunEvent(
            eventType=RunState.START,
            eventTime=_time(result.started),
            run=Run(runId=result.run_id, facets=start_facets),
            job=job,
            producer=PRODUCER,
        ),
        RunEvent(
            eventType=RunState.FAIL if result.error is not None else RunState.COMPLETE,
            eventTime=_time(result.ended),
            run=Run(runId=result.run_id, facets=end_facets),
            job=job,
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        ),
    ]


def to_json(event: RunEvent | DatasetEvent) -> str:
    return Serde.to_json(event)


def _job_type(kind: str) -> job_type_job.JobTypeJobFacet:
    return job_type_job.JobTypeJobFacet(processingType="BATCH", integration="JUPYTER", jobType=kind)


def _dataset_facets(source: Source, facets: dict[str, Any]) -> dict[str, DatasetFacet]:
    built: dict[str, DatasetFacet] = {}
    if source.version:
        built["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=source.version)
    schema = facets.get("schema")
    if schema and schema.get("fields"):
        built["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=str(f["name"]), type=str(f.get("type")))
                for f in schema["fields"]
            ]
        )
    return built


def _input(source: Source, facets: dict[str, Any]) -> InputDataset:
    return InputDataset(namespace=source.namespace, name=source.name, facets=_dataset_facets(source, facets))


def _outputs(outputs: list[Output], job_name: str) -> list[OutputDataset]:
    """One output per dataset written; writing the same dataset twice in a cell keeps the last version and the
    union of the inputs."""
    merged: dict[tuple[str, str], Output] = {}
    for output in outputs:
        key = (output.source.namespace, output.source.name)
        if key in merged:
            earlier = merged[key]
            output = Output(output.source, earlier.provenance | output.provenance, output.facets, output.model)
        merged[key] = output
    built = []
    for output in merged.values():
        facets = _dataset_facets(output.source, output.facets)
        facets["lineage"] = lineage.LineageDatasetFacet(
            inputs=[
                lineage.LineageDatasetInput(namespace=s.namespace, name=s.name, type="DATASET")
                for s in sorted(output.provenance.sources)
            ]
        )
        facets["nblineage_lineage"] = PrecisionDatasetFacet(
            precision=output.provenance.precision, runs=sorted(output.provenance.runs)
        )
        if output.model is not None:
            facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL")
            facets["nblineage_model"] = _model_facet(output.model, job_name)
        elif str(output.facets.get("datasetType", {}).get("datasetType", "")).upper() == "MODEL":
            facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL")
        built.append(OutputDataset(namespace=output.source.namespace, name=output.source.name, facets=facets))
    return built


_MODEL_KEYS = {
    "framework",
    "class",
    "hyperParameters",
    "featureNames",
    "featureLineage",
    "trainingJob",
    "trainingRunId",
    "fitId",
    "frameworkVersion",
    "sizeBytes",
    "contentHash",
}
_MLFLOW_KEYS = {
    "mlflowRunId": "runId",
    "mlflowExperimentId": "experimentId",
    "mlflowModelId": "modelId",
    "mlflowFlavor": "flavor",
    "mlflowArtifactUri": "artifactUri",
    "registeredModel": "registeredModel",
}


def _model_facet(model: dict[str, Any], job_name: str) -> ModelDatasetFacet:
    """The model facet from a save hook's description; MLflow facts and any others kept in their own fields."""
    return ModelDatasetFacet(
        framework=str(model.get("framework", "")),
        modelClass=str(model.get("class", "")),
        hyperParameters=dict(model.get("hyperParameters") or {}),
        featureNames=[str(n) for n in model.get("featureNames") or []],
        featureLineage={str(k): [str(c) for c in v] for k, v in (model.get("featureLineage") or {}).items()},
        trainingJob=model.get("trainingJob") or job_name,
        trainingRunId=model.get("trainingRunId"),
        fitId=model.get("fitId"),
        frameworkVersion=model.get("frameworkVersion"),
        sizeBytes=model.get("sizeBytes"),
        contentHash=model.get("contentHash"),
        mlflow={short: model[key] for key, short in _MLFLOW_KEYS.items() if key in model},
        details={k: v for k, v in model.items() if k not in _MODEL_KEYS and k not in _MLFLOW_KEYS},
    )


def mlflow_events(snapshots: list[dict[str, Any]], when: datetime) -> list[DatasetEvent]:
    """One DatasetEvent per model linked to an MLflow run, carrying the run as MLflow saw it at the cell's end."""
    fields = {field.name for field in attr.fields(MlflowDatasetFacet) if not field.name.startswith("_")}
    built = []
    for snapshot in snapshots:
        facet = MlflowDatasetFacet(**{k: v for k, v in snapshot["facet"].items() if k in fields})
        for model in snapshot["models"]:
            facets: dict[str, DatasetFacet] = {"nblineage_mlflow": facet}
            if model.get("version"):
                facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=model["version"])
            dataset = StaticDataset(namespace=model["namespace"], name=model["name"], facets=facets)
            built.append(DatasetEvent(eventTime=_time(when), producer=PRODUCER, dataset=dataset))
    return built


def events_of(record: dict[str, Any]) -> list[RunEvent | DatasetEvent]:
    """The OpenLineage events of one outbox record (a session's start or end, or a cell run)."""
    if record["kind"] == "session":
        when = datetime.fromisoformat(record["time"])
        return [session_event(record["state"], record["runId"], record["namespace"], record["notebook"], when)]
    result = cell_result(record)
    events: list[RunEvent | DatasetEvent] = list(
        cell_events(result, record["namespace"], record["notebook"], record["sessionRunId"])
    )
    return events + mlflow_events(result.record.mlflow, result.ended)
