"""What one event says about the graph, as plain facts (no database).

The store merges these facts with rules that do not depend on arrival order, so any order of the same events
gives the same graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nblineage.lineage.events import DATASET, JOB, RUN, Event
from nblineage.lineage.facets import LINEAGE as LINEAGE_FACET
from nblineage.lineage.tables import UNVERSIONED

DatasetKey = tuple[str, str]
VersionKey = tuple[str, str, str]
JobKey = tuple[str, str]

TERMINAL = frozenset({"COMPLETE", "FAIL", "ABORT"})
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE | re.ASCII)
_STATE_RANK = {"START": "0", "RUNNING": "1", "OTHER": "1", "COMPLETE": "2", "FAIL": "2", "ABORT": "2"}


@dataclass
class RunFacts:
    """What an event says about its run."""

    run_id: str
    job: JobKey
    parent_run_id: str | None
    state: str | None
    state_key: str
    time_key: str
    ended: bool


@dataclass
class Facts:
    """Everything one event contributes to the derived tables."""

    event_key: str
    datasets: dict[DatasetKey, bool] = field(default_factory=dict)  # key -> declared a model
    versions: set[VersionKey] = field(default_factory=set)
    jobs: set[JobKey] = field(default_factory=set)
    run: RunFacts | None = None
    io: set[tuple[str, VersionKey]] = field(default_factory=set)  # (input|output, version)
    # run-level explicit lineage: (output, source dataset); the source's unversioned node always exists
    declared: set[tuple[VersionKey, DatasetKey, str | None]] = field(default_factory=set)  # + precision
    # (output, input version) where the producer names the exact versions an output was made from
    declared_versions: set[tuple[VersionKey, VersionKey]] = field(default_factory=set)
    static_edges: set[tuple[VersionKey, VersionKey, JobKey | None]] = field(default_factory=set)
    steps: set[tuple[VersionKey, str]] = field(default_factory=set)  # (output, a cell run it went through)
    facets: list[tuple[str, tuple[str, ...], str, Any]] = field(default_factory=list)

    def dataset(self, namespace: str, name: str, is_model: bool = False) -> DatasetKey:
        key = (namespace, name)
        self.datasets[key] = self.datasets.get(key, False) or is_model
        return key

    def version(self, namespace: str, name: str, version: str, is_model: bool = False) -> VersionKey:
        self.dataset(namespace, name, is_model)
        self.versions.add((namespace, name, version))
        return (namespace, name, version)


def event_key(event: Event) -> str:
    """A string that sorts events by time, then state rank, then hash: the merge order of every "latest" rule."""
    state = event.payload.get("eventType")
    rank = _STATE_RANK.get(state) if type(state) is str else None
    if rank is None:
        rank = _STATE_RANK.get(str(state).upper(), "1")
    return f"{event.time.isoformat(timespec='microseconds')}|{rank}|{event.hash}"  # years below 1000 padded too


def dataset_version(dataset: dict[str, Any]) -> str:
    """The version a dataset entry declares (DatasetVersionDatasetFacet), or the unversioned marker."""
    facet = (dataset.get("facets") or {}).get("version") or {}
    version = facet.get("datasetVersion") if isinstance(facet, dict) else None
    return str(version) if version not in (None, "") else UNVERSIONED


def is_model(dataset: dict[str, Any]) -> bool:
    """True when the entry carries datasetType MODEL."""
    facet = (dataset.get("facets") or {}).get("datasetType") or {}
    return isinstance(facet, dict) and str(facet.get("datasetType", "")).upper() == "MODEL"


def facts_of(event: Event) -> Facts:
    """Extract the graph facts of one checked event."""
    facts = Facts(event_key=event_key(event))
    payload = event.payload
    if event.kind == DATASET:
        _dataset_event(facts, payload["dataset"])
    elif event.kind == JOB:
        _job_event(facts, payload)
    elif event.kind == RUN:
        _run_event(facts, event)
    return facts


def _entry_version(facts: Facts, entry: dict[str, Any]) -> VersionKey:
    """The version key of a dataset entry, its dataset and version noted and its facets kept (the hot path: one
    pass over the entry's facets, no helper calls)."""
    namespace, name = entry["namespace"], entry["name"]
    dataset = (namespace, name)
    entry_facets = entry.get("facets")
    version = UNVERSIONED
    model = False
    if entry_facets:
        facet = entry_facets.get("version")
        if facet and isinstance(facet, dict):
            value = facet.get("datasetVersion")
            if value is not None and value != "":
                version = str(value)
        facet = entry_facets.get("datasetType")
        if facet and isinstance(facet, dict):
            model = str(facet.get("datasetType", "")).upper() == "MODEL"
        kept = facts.facets
        for facet_name, facet in entry_facets.items():
            if facet is not None:
                kept.append(("dataset", dataset, facet_name, facet))
    datasets = facts.datasets
    if model or dataset not in datasets:
        datasets[dataset] = model or datasets.get(dataset, False)
    key = (namespace, name, version)
    facts.versions.add(key)
    return key


def _keep_facets(facts: Facts, entity: str, key: tuple[str, ...], facets: Any) -> None:
    if facets:
        kept = facts.facets
        for name, facet in facets.items():
            if facet is not None:
                kept.append((entity, key, name, facet))


def _dataset_event(facts: Facts, dataset: dict[str, Any]) -> None:
    target = _entry_version(facts, dataset)
    for source in _explicit_inputs(dataset.get("facets") or {}):
        facts.static_edges.add((facts.version(*source, UNVERSIONED), target, None))


def _job_event(facts: Facts, payload: dict[str, Any]) -> None:
    job = _job(facts, payload["job"])
    for entry in _ios(payload):
        _entry_version(facts, entry[1])
    for target, sources in _lineage_entries(payload["job"].get("facets") or {}):
        target_version = facts.version(*target, UNVERSIONED)
        for source in sources:
            facts.static_edges.add((facts.version(*source, UNVERSIONED), target_version, job))


def _run_event(facts: Facts, event: Event) -> None:
    payload = event.payload
    job = _job(facts, payload["job"])
    run = payload["run"]
    event_type = payload.get("eventType")
    run_facets = run.get("facets")
    parent = ((run_facets or {}).get("parent") or {}).get("run") or {}
    parent_id = parent.get("runId") if isinstance(parent.get("runId"), str) else None
    state = event_type.upper() if isinstance(event_type, str) else None
    own = run["runId"].lower()
    facts.run = RunFacts(
        run_id=own,
        job=job,
        parent_run_id=parent_id.lower() if parent_id else None,
        state=state,
        state_key=facts.event_key,
        time_key=facts.event_key[:26],
        ended=state in TERMINAL,
    )
    _keep_facets(facts, "run", (own,), run_facets)
    io = facts.io
    for entry in payload.get("inputs") or ():
        io.add(("input", _entry_version(facts, entry)))
    outputs: dict[DatasetKey, VersionKey] = {}
    for entry in payload.get("outputs") or ():
        version = _entry_version(facts, entry)
        io.add(("output", version))
        outputs[version[:2]] = version
        entry_facets = entry.get("facets")
        if not entry_facets:
            continue
        ours = entry_facets.get(LINEAGE_FACET)
        if isinstance(ours, dict):
            precision = ours.get("precision")
            if precision not in ("exact", "cell"):
                precision = None
            runs = ours.get("runs")
            for step in runs if isinstance(runs, list) else ():
                if isinstance(step, str) and _RUN_ID.match(step) and step.lower() != own:
                    facts.steps.add((version, step.lower()))
            exact = ours.get("inputs")
            if exact and isinstance(exact, list):
                _declared_versions(facts, version, exact)
        else:
            precision = None
        if "columnLineage" in entry_facets or "lineage" in entry_facets:
            for source in _explicit_inputs(entry_facets):
                facts.declared.add((version, facts.version(*source, UNVERSIONED)[:2], precision))
    for target, sources in _lineage_entries(payload["job"].get("facets") or {}):
        target_version = outputs.get(target) or facts.version(*target, UNVERSIONED)
        for source in sources:
            facts.declared.add((target_version, facts.version(*source, UNVERSIONED)[:2], None))


def _declared_versions(facts: Facts, output: VersionKey, inputs: list[Any]) -> None:
    """The input versions an output was made from (``nblineage_lineage.inputs``): each a dataset reference with its
    ``version`` (absent or empty: the dataset's unversioned node)."""
    for item in inputs:
        if not isinstance(item, dict):
            continue
        namespace, name, version = item.get("namespace"), item.get("name"), item.get("version")
        if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
            version = str(version) if isinstance(version, (str, int)) and version != "" else UNVERSIONED
            facts.declared_versions.add((output, facts.version(namespace, name, version)))


def output_steps(payload: dict[str, Any]) -> set[tuple[VersionKey, str]]:
    """(output version, run id) for each cell run a run event's outputs went through (``nblineage_lineage.runs``),
    the run itself left out: it is the hop's writer."""
    own = str(payload["run"]["runId"]).lower()
    steps = set()
    for entry in payload.get("outputs") or ():
        facet = (entry.get("facets") or {}).get(LINEAGE_FACET)
        runs = facet.get("runs") if isinstance(facet, dict) else None
        version = (entry["namespace"], entry["name"], dataset_version(entry))
        for run in runs if isinstance(runs, list) else ():
            if isinstance(run, str) and _RUN_ID.match(run) and run.lower() != own:
                steps.add((version, run.lower()))
    return steps


def _precision(facets: dict[str, Any]) -> str | None:
    """nblineage's own claim on how an output's inputs are known: ``exact`` or ``cell``."""
    facet = facets.get(LINEAGE_FACET)
    value = facet.get("precision") if isinstance(facet, dict) else None
    return value if value in ("exact", "cell") else None


def _job(facts: Facts, job: dict[str, Any]) -> JobKey:
    key = (job["namespace"], job["name"])
    facts.jobs.add(key)
    _keep_facets(facts, "job", key, job.get("facets"))
    return key


def _ios(payload: dict[str, Any]):
    for direction, field_name in (("input", "inputs"), ("output", "outputs")):
        for entry in payload.get(field_name) or ():
            yield direction, entry


def _explicit_inputs(facets: dict[str, Any]) -> set[DatasetKey]:
    """Source datasets a dataset's own facets name: columnLineage and the lineage facet."""
    sources: set[DatasetKey] = set()
    column_lineage = facets.get("columnLineage")
    if isinstance(column_lineage, dict):
        fields = column_lineage.get("fields")
        if isinstance(fields, dict):  # every column names its sources again
            for field_lineage in fields.values():
                if isinstance(field_lineage, dict):
                    _add_refs(sources, field_lineage.get("inputFields"))
        _add_refs(sources, column_lineage.get("dataset"))
    lineage = facets.get("lineage")
    if isinstance(lineage, dict):
        sources |= _lineage_sources(lineage)
    return sources


def _lineage_entries(job_facets: dict[str, Any]):
    """(target dataset, its sources) for each DATASET entry of a job's lineage facet."""
    lineage = job_facets.get("lineage")
    if not isinstance(lineage, dict):
        return
    for entry in lineage.get("entries") or ():
        if isinstance(entry, dict) and str(entry.get("type", "DATASET")).upper() == "DATASET":
            target = _ref(entry)
            if target:
                yield target, _lineage_sources(entry)


def _lineage_sources(lineage: dict[str, Any]) -> set[DatasetKey]:
    sources = _refs(lineage.get("inputs"))
    fields = lineage.get("fields")
    for field_entry in fields.values() if isinstance(fields, dict) else ():
        if isinstance(field_entry, dict):
            sources |= _refs(field_entry.get("inputs"))
    return sources


def _refs(items: Any) -> set[DatasetKey]:
    sources: set[DatasetKey] = set()
    _add_refs(sources, items)
    return sources


def _add_refs(sources: set[DatasetKey], items: Any) -> None:
    """Add the dataset references of a list (as ``_ref`` reads each) to ``sources``; inlined: column lineage
    repeats them for every column."""
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "DATASET")
        if kind != "DATASET" and str(kind).upper() != "DATASET":
            continue
        namespace, name = item.get("namespace"), item.get("name")
        if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
            sources.add((namespace, name))


def _ref(item: Any) -> DatasetKey | None:
    """A dataset reference (namespace, name); JOB references and incomplete ones are not datasets."""
    if not isinstance(item, dict) or str(item.get("type", "DATASET")).upper() != "DATASET":
        return None
    namespace, name = item.get("namespace"), item.get("name")
    if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
        return (namespace, name)
    return None
