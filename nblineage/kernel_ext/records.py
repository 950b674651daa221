"""What the cell's thread writes to the outbox: plain records of sessions and cell runs, in JSON.

Turning a record into OpenLineage events is the background writer's work (``emit.events_of``), done when the
kernel is idle, so a cell pays only for a JSON dump
(credentials cut out of it, see ``lineage/redact.py``) and one append to the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from nblineage.kernel_ext.capture import Output, Record
from nblineage.kernel_ext.provenance import NO_SOURCES, Provenance, Source
from nblineage.lineage.redact import json_may_hold_secrets, redact

FORMAT = 1


class CellResult:
    """A finished cell run, as the extension collects it."""

    def __init__(
        self,
        run_id: str,
        cell_id: str,
        execution_count: int | None,
        source: str,
        started: datetime,
        ended: datetime,
        error: str | None = None,
        traceback: str | None = None,
        wall_seconds: float = 0.0,
        cpu_seconds: float = 0.0,
        peak_memory: int = 0,
        gpus: list[dict[str, Any]] | None = None,
        record: Record | None = None,
    ) -> None:
        self.run_id, self.cell_id, self.execution_count, self.source = run_id, cell_id, execution_count, source
        self.started, self.ended, self.error, self.traceback = started, ended, error, traceback
        self.wall_seconds, self.cpu_seconds, self.peak_memory = wall_seconds, cpu_seconds, peak_memory
        self.gpus = [] if gpus is None else gpus
        self.record = Record() if record is None else record


def session_line(state: str, run_id: str, namespace: str, notebook: str, when: datetime) -> str:
    record = {"nblineage": FORMAT, "kind": "session", "state": state, "runId": run_id}
    return _dump(record | {"namespace": namespace, "notebook": notebook, "time": when.isoformat()})


def cell_line(result: CellResult, namespace: str, notebook: str, session_run_id: str) -> str:
    record = {
        "nblineage": FORMAT,
        "kind": "cell",
        "namespace": namespace,
        "notebook": notebook,
        "sessionRunId": session_run_id,
        "runId": result.run_id,
        "cellId": result.cell_id,
        "executionCount": result.execution_count,
        "source": result.source,
        "started": result.started.isoformat(),
        "ended": result.ended.isoformat(),
        "error": result.error,
        "traceback": result.traceback,
        "wallSeconds": result.wall_seconds,
        "cpuSeconds": result.cpu_seconds,
        "peakMemory": result.peak_memory,
        "gpus": result.gpus,
        "inputs": [_source(s) | {"facets": facets} for s, facets in result.record.inputs.items()],
        "outputs": [
            _source(o.source)
            | {
                "sources": [_source(s) for s in sorted(o.provenance.sources)],
                "precision": o.provenance.precision,
                "runs": sorted(o.provenance.runs),
                "facets": o.facets,
                "model": o.model,
            }
            | ({"noInputs": True} if o.provenance is NO_SOURCES else {})
            for o in result.record.outputs
        ],
        "metrics": result.record.metrics,
        "mlflowRuns": result.record.mlflow_runs,
        "mlflow": result.record.mlflow,
    }
    if result.record.audit:
        record["audit"] = result.record.audit  # governance records (kernel_ext/guard.py)
    return _dump(record)


def cell_result(record: dict[str, Any]) -> CellResult:
    """The CellResult a cell record was made from."""
    runs = Record()
    for item in record["inputs"]:
        runs.add_input(_from_source(item), item.get("facets"))
    for item in record["outputs"]:
        sources = frozenset(_from_source(s) for s in item["sources"])
        provenance = Provenance(sources, item.get("precision") or "exact", frozenset(item.get("runs") or ()))
        if item.get("noInputs") is True and not sources:
            provenance = NO_SOURCES
        runs.outputs.append(Output(_from_source(item), provenance, item.get("facets") or {}, item.get("model")))
    runs.metrics = list(record.get("metrics") or [])
    runs.mlflow_runs = list(record.get("mlflowRuns") or [])
    runs.mlflow = list(record.get("mlflow") or [])
    runs.audit = list(record.get("audit") or [])
    return CellResult(
        run_id=record["runId"],
        cell_id=record["cellId"],
        execution_count=record.get("executionCount"),
        source=record.get("source", ""),
        started=datetime.fromisoformat(record["started"]),
        ended=datetime.fromisoformat(record["ended"]),
        error=record.get("error"),
        traceback=record.get("traceback"),
        wall_seconds=record.get("wallSeconds", 0.0),
        cpu_seconds=record.get("cpuSeconds", 0.0),
        peak_memory=record.get("peakMemory", 0),
        gpus=record.get("gpus") or [],
        record=runs,
    )


def _source(source: Source) -> dict[str, Any]:
    return {"namespace": source.namespace, "name": source.name, "version": source.version}


def _from_source(item: dict[str, Any]) -> Source:
    return Source(item["namespace"], item["name"], item.get("version"))


def _dump(record: dict[str, Any]) -> str:
    """The record as one JSON line, credentials cut out first: the outbox on disk never holds a secret. A value
    JSON cannot hold (a huge integer, text that is not UTF-8) is made safe and marked, and the record kept. The
    look for credentials is ``json_may_hold_secrets``: the parts of a record that the cell records before had
    (keys, the notebook, the session) are not scanned again."""
    try:
        text = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    except orjson.JSONEncodeError:
        from nblineage.kernel_ext.jsonsafe import made_safe, text_of

        text = orjson.dumps(made_safe(record), option=orjson.OPT_NON_STR_KEYS, default=text_of).decode()
    if not json_may_hold_secrets(text):
        return text
    return orjson.dumps(redact(orjson.loads(text)), option=orjson.OPT_NON_STR_KEYS).decode()
