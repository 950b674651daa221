"""OpenLineage events for a notebook session and its cell runs, as JSON objects shaped by ``lineage/facets.py``.

The background writer turns the outbox's records (``records.py``) into events with ``events_of``. Events are plain
dicts following the OpenLineage spec (checked against its schemas in the tests), not openlineage-python's
classes: importing those takes half a second of the kernel's CPU at its first delivery. ``built_events`` gives
them before their nulls are left out: delivery leaves them out only where there are any, as it checks them
(``events.cleaned``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from nblineage.kernel_ext import quality
from nblineage.kernel_ext.capture import Output
from nblineage.kernel_ext.provenance import NO_SOURCES, Source
from nblineage.kernel_ext.records import CellResult, cell_result
from nblineage.lineage import facets
from nblineage.lineage.facets import PRODUCER, standard

Event = dict[str, Any]


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _run_event(
    state: str,
    when: datetime,
    run: dict[str, Any],
    job: dict[str, Any],
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> Event:
    event = {"eventType": state, "eventTime": _time(when), "run": run, "job": job}
    event |= {"inputs": inputs or [], "outputs": outputs or [], "producer": PRODUCER}
    return event | {"schemaURL": facets.RUN_EVENT_SCHEMA}


def session_event(state: str, run_id: str, namespace: str, notebook: str, when: datetime) -> Event:
    """The session run: one per kernel, job = the notebook."""
    job = {"namespace": namespace, "name": notebook, "facets": {"jobType": _job_type("NOTEBOOK")}}
    return _run_event(state, when, {"runId": run_id, "facets": {}}, job)


def cell_events(result: CellResult, namespace: str, notebook: str, session_run_id: str) -> list[Event]:
    """START and COMPLETE (or FAIL) of one cell run, with its inputs, outputs and resources (nulls left in; they
    share their job and facets)."""
    job_name = f"{notebook}#{result.cell_id}"
    job = {
        "namespace": namespace,
        "name": job_name,
        "facets": {
            "jobType": _job_type("CELL"),
            "sourceCode": standard("sourceCode", language="python", sourceCode=result.source),
        },
    }
    run, parent_job = {"runId": session_run_id, "facets": {}}, {"namespace": namespace, "name": notebook, "facets": {}}
    parent = standard("parent", run=run, job=parent_job)
    cell: facets.Cell = {"cellId": result.cell_id}
    if result.execution_count is not None:
        cell["executionCount"] = result.execution_count
    start_facets = {"parent": parent, facets.CELL: facets.ours(facets.CELL, cell)}
    usage: facets.Resources = {
        "wallTimeSeconds": round(result.wall_seconds, 6),
        "cpuTimeSeconds": round(result.cpu_seconds, 6),
        "peakMemoryBytes": result.peak_memory,
        "gpus": result.gpus,
    }
    end_facets = start_facets | {facets.RESOURCES: facets.ours(facets.RESOURCES, usage)}
    if result.record.metrics:
        end_facets[facets.METRICS] = facets.ours(facets.METRICS, {"metrics": result.record.metrics})
    if result.record.audit:
        end_facets[facets.AUDIT] = _audit_facet(result.record.audit)
    if result.error is not None:
        end_facets["errorMessage"] = standard(
            "errorMessage", message=result.error, programmingLanguage="python", stackTrace=result.traceback
        )
    inputs = [_input(source, found) for source, found in sorted(result.record.inputs.items())]
    end_state = "FAIL" if result.error is not None else "COMPLETE"
    return [
        _run_event("START", result.started, {"runId": result.run_id, "facets": start_facets}, job),
        _run_event(
            end_state,
            result.ended,
            {"runId": result.run_id, "facets": end_facets},
            job,
            inputs=inputs,
            outputs=_outputs(result.record.outputs, job_name),
        ),
    ]


def _job_type(kind: str) -> dict[str, Any]:
    return standard("jobType", processingType="BATCH", integration="JUPYTER", jobType=kind)


def _dataset_facets(source: Source, found: dict[str, Any]) -> dict[str, Any]:
    built: dict[str, Any] = {}
    if source.version:
        built["version"] = standard("version", datasetVersion=source.version)
    policy = found.get("policy")
    if policy:
        built.update(_policy_facets(policy))
    schema = found.get("schema")
    if schema and schema.get("fields"):
        fields = [{"name": str(f["name"]), "type": str(f.get("type")), "fields": []} for f in schema["fields"]]
        built["schema"] = standard("schema", fields=fields)
    return built


def _input(source: Source, found: dict[str, Any]) -> dict[str, Any]:
    facets_of = _dataset_facets(source, found)
    input_facets = quality.input_facets(found) if quality.KEY in found else {}  # data quality results
    return {"namespace": source.namespace, "name": source.name, "facets": facets_of, "inputFacets": input_facets}


def _outputs(outputs: list[Output], job_name: str) -> list[dict[str, Any]]:
    """One output per dataset version written, in the order written (a dataset written twice in a cell with
    different contents: both versions, each with its own inputs); the same version written again keeps one, with
    the union of the inputs. Each output names the exact input versions it was made from."""
    merged: dict[Source, Output] = {}
    for output in outputs:
        earlier = merged.get(output.source)
        if earlier is not None:
            output = Output(output.source, earlier.provenance | output.provenance, output.facets, output.model)
        merged[output.source] = output
    built = []
    for output in merged.values():
        found = _dataset_facets(output.source, output.facets)
        sources = sorted(output.provenance.sources, key=_source_order)
        datasets = dict.fromkeys((s.namespace, s.name) for s in sources)  # a dataset read in two versions: once
        inputs = [{"namespace": ns, "name": name, "type": "DATASET", "transformations": []} for ns, name in datasets]
        found["lineage"] = standard("lineage", inputs=inputs, fields={})
        exact: list[facets.LineageInput] = [_lineage_input(s) for s in sources]
        lineage: facets.Lineage = {
            "precision": output.provenance.precision,
            "runs": sorted(output.provenance.runs),
            "inputs": exact,
        }
        if output.provenance is NO_SOURCES:
            lineage["noInputs"] = True
        found[facets.LINEAGE] = facets.ours(facets.LINEAGE, lineage)
        if output.model is not None:
            found["datasetType"] = standard("datasetType", datasetType="MODEL")
            found[facets.MODEL] = facets.ours(facets.MODEL, _model_facet(output.model, job_name))
        elif str(output.facets.get("datasetType", {}).get("datasetType", "")).upper() == "MODEL":
            found["datasetType"] = standard("datasetType", datasetType="MODEL")
        dataset = {"namespace": output.source.namespace, "name": output.source.name, "facets": found}
        built.append(dataset | {"outputFacets": {}})
    return built


def _source_order(source: Source) -> tuple[str, str, str]:
    return (source.namespace, source.name, source.version or "")


def _lineage_input(source: Source) -> facets.LineageInput:
    """An input version of an output, for ``nblineage_lineage.inputs`` (no ``version`` when it is unknown)."""
    item: facets.LineageInput = {"namespace": source.namespace, "name": source.name}
    if source.version:
        item["version"] = source.version
    return item


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
    "mlflowModelName": "modelName",
    "mlflowFlavor": "flavor",
    "mlflowArtifactUri": "artifactUri",
    "registeredModel": "registeredModel",
}


def _model_facet(model: dict[str, Any], job_name: str) -> facets.Model:
    """The model facet from a save hook's description; MLflow facts and any others kept in their own fields."""
    return {
        "framework": str(model.get("framework", "")),
        "modelClass": str(model.get("class", "")),
        "hyperParameters": dict(model.get("hyperParameters") or {}),
        "featureNames": [str(n) for n in model.get("featureNames") or []],
        "featureLineage": {str(k): [str(c) for c in v] for k, v in (model.get("featureLineage") or {}).items()},
        "trainingJob": model.get("trainingJob") or job_name,
        "trainingRunId": model.get("trainingRunId"),
        "fitId": model.get("fitId"),
        "frameworkVersion": model.get("frameworkVersion"),
        "sizeBytes": model.get("sizeBytes"),
        "contentHash": model.get("contentHash"),
        "mlflow": {short: model[key] for key, short in _MLFLOW_KEYS.items() if key in model},
        "details": {k: v for k, v in model.items() if k not in _MODEL_KEYS and k not in _MLFLOW_KEYS},
    }


POLICY_SOURCE = "nblineage-policy"  # the ``source`` of the tags the policy file gives


def _policy_facets(policy: dict[str, Any]) -> dict[str, Any]:
    """The standard ``ownership`` and ``tags`` facets of what the policy file says about a dataset (its owner, its
    tags, its columns' tags), as the guard noted them at the end of the cell."""
    built: dict[str, Any] = {}
    if policy.get("owner"):
        built["ownership"] = standard("ownership", owners=[{"name": str(policy["owner"]), "type": "OWNER"}])
    tags = [{"key": str(tag), "value": "true", "source": POLICY_SOURCE} for tag in policy.get("tags") or ()]
    for column, column_tags in (policy.get("columns") or {}).items():
        tags += [{"key": str(t), "value": "true", "source": POLICY_SOURCE, "field": str(column)} for t in column_tags]
    if tags:
        built["tags"] = standard("tags", tags=tags)
    return built


def _audit_facet(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``nblineage_audit``: the governance records of the cell run, for the audit log (docs/facets.md#audit)."""
    return {"_producer": PRODUCER, "_schemaURL": f"{facets.FACETS_URL}#audit", "records": records}


def mlflow_events(snapshots: list[dict[str, Any]], when: datetime) -> list[Event]:
    """One DatasetEvent per model linked to an MLflow run, carrying the run as MLflow saw it at the cell's end (nulls
    left in)."""
    built = []
    for snapshot in snapshots:
        facet = facets.ours(facets.MLFLOW, {k: v for k, v in snapshot["facet"].items() if k in facets.MLFLOW_FIELDS})
        for model in snapshot["models"]:
            found = {facets.MLFLOW: facet}
            if model.get("version"):
                found["version"] = standard("version", datasetVersion=model["version"])
            event = {
                "eventTime": _time(when),
                "producer": PRODUCER,
                "schemaURL": facets.DATASET_EVENT_SCHEMA,
                "dataset": {"namespace": model["namespace"], "name": model["name"], "facets": found},
            }
            built.append(event)
    return built


def events_of(record: dict[str, Any]) -> list[Event]:
    """The OpenLineage events of one outbox record (a session's start or end, or a cell run), as JSON objects."""
    return [facets.without_nulls(event) for event in built_events(record)]


def built_events(record: dict[str, Any]) -> list[Event]:
    """``events_of`` before their nulls are left out (``facets.without_nulls``): they may hold nulls, and share
    objects with one another (a cell's START and COMPLETE, their job and facets), so they are read, never changed."""
    if record["kind"] == quality.KEY:  # data quality results finished after their cell's record went out
        return quality.events_of(record)
    if record["kind"] == "session":
        when = datetime.fromisoformat(record["time"])
        return [session_event(record["state"], record["runId"], record["namespace"], record["notebook"], when)]
    result = cell_result(record)
    events = cell_events(result, record["namespace"], record["notebook"], record["sessionRunId"])
    return events + mlflow_events(result.record.mlflow, result.ended)
