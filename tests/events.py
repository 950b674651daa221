"""Small builders of OpenLineage event payloads for tests (the events other producers send us)."""

from __future__ import annotations

import uuid
from typing import Any

PRODUCER = "https://github.com/nblineage/tests"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
Dataset = tuple[str, str] | tuple[str, str, str | None] | dict[str, Any]


def dataset(ref: Dataset, *, model: bool = False, facets: dict[str, Any] | None = None) -> dict[str, Any]:
    """An input or output entry: (namespace, name[, version]) or a ready dict."""
    if isinstance(ref, dict):
        return ref
    namespace, name, version = (*ref, None)[:3]
    entry_facets: dict[str, Any] = dict(facets or {})
    if version is not None:
        entry_facets["version"] = _facet("DatasetVersionDatasetFacet", datasetVersion=version)
    if model:
        entry_facets["datasetType"] = _facet("DatasetTypeDatasetFacet", datasetType="MODEL")
    entry: dict[str, Any] = {"namespace": namespace, "name": name}
    if entry_facets:
        entry["facets"] = entry_facets
    return entry


def run_event(
    job: tuple[str, str],
    inputs: list[Dataset] = (),
    outputs: list[Dataset] = (),
    *,
    run_id: str | None = None,
    event_type: str | None = "COMPLETE",
    time: str = "2026-01-01T00:00:00Z",
    parent: tuple[str, tuple[str, str]] | None = None,
    models: set[str] = frozenset(),
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A RunEvent; outputs whose name is in ``models`` carry datasetType MODEL."""
    run: dict[str, Any] = {"runId": run_id or str(uuid.uuid4())}
    if parent:
        parent_id, (parent_ns, parent_name) = parent
        run["facets"] = {
            "parent": _facet(
                "ParentRunFacet", run={"runId": parent_id}, job={"namespace": parent_ns, "name": parent_name}
            )
        }
    event: dict[str, Any] = {
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": run,
        "job": {"namespace": job[0], "name": job[1], **({"facets": job_facets} if job_facets else {})},
        "inputs": [dataset(ref) for ref in inputs],
        "outputs": [dataset(ref, model=not isinstance(ref, dict) and ref[1] in models) for ref in outputs],
    }
    if event_type is not None:
        event["eventType"] = event_type
    return event


def _facet(schema: str, **fields: Any) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": f"https://openlineage.io/spec/facets/1-0-0/{schema}.json#/$defs/{schema}",
        **fields,
    }
