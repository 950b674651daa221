"""What events say about the graph, as plain facts (no database).

The store merges these facts with rules that do not depend on arrival order, so any order of the same events
gives the same graph. :class:`Facts` gathers a whole batch at once, already merged where a rule allows it (the
earliest time a version is named, the weaker precision claim, the latest facet of each name), so the store's merge
walks each kind of fact once.
"""

from __future__ import annotations

import re
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


class RunFacts:
    """What an event says about its run."""

    __slots__ = ("ended", "job", "parent_run_id", "run_id", "state", "state_key", "time_key")

    def __init__(
        self,
        run_id: str,
        job: JobKey,
        parent_run_id: str | None,
        state: str | None,
        state_key: str,
        time_key: str,
        ended: bool,
    ) -> None:
        self.run_id, self.job, self.parent_run_id, self.state = run_id, job, parent_run_id, state
        self.state_key, self.time_key, self.ended = state_key, time_key, ended


class Facts:
    """Everything a batch of events contributes to the derived tables (:meth:`add` each event).

    Run-level facts are keyed by the run's id (lower case); a version by (namespace, name, version), ``""`` for
    the dataset's unversioned node.
    """

    def __init__(self) -> None:
        self.events = 0
        self.first_seen: dict[VersionKey, str] = {}  # every version named -> the earliest event time naming it
        self.datasets: dict[DatasetKey, bool] = {}  # -> declared a model by some event
        self.jobs: set[JobKey] = set()
        self.runs: list[RunFacts] = []
        self.io: set[tuple[str, str, VersionKey]] = set()  # (run, input|output, version)
        # run-level explicit lineage: (run, output, source dataset) -> the weaker precision claimed
        self.declared: dict[tuple[str, VersionKey, DatasetKey], str | None] = {}
        # (run, output, input version) where the producer names the exact versions an output was made from
        self.declared_versions: set[tuple[str, VersionKey, VersionKey]] = set()
        self.static_edges: set[tuple[VersionKey, VersionKey, JobKey | None]] = set()
        self.steps: set[tuple[str, VersionKey, str]] = set()  # (run, output, a cell run it went through)
        # (entity, its key) -> facet name -> (event key, facet) of the latest event; within one event the first
        self.facets: dict[tuple[str, Any], dict[str, tuple[str, Any]]] = {}
        self._key = ""  # the event being added: its key and its time (the key's first 26 characters)
        self._time = ""

    @property
    def run(self) -> RunFacts | None:
        """The run of the last run event added (one event's facts: its run)."""
        return self.runs[-1] if self.runs else None

    def add(self, event: Event) -> None:
        """Add the facts of one checked event."""
        self.events += 1
        self._key = key = event_key(event)
        self._time = key[:26]
        payload = event.payload
        if event.kind == RUN:
            self._run_event(event)
        elif event.kind == JOB:
            self._job_event(payload)
        elif event.kind == DATASET:
            self._dataset_event(payload["dataset"])

    def version(self, namespace: str, name: str, version: str) -> VersionKey:
        """Note a version (and its dataset) named by the event being added."""
        key = (namespace, name, version)
        seen = self.first_seen.get(key)
        if seen is None or self._time < seen:
            self.first_seen[key] = self._time
        if (namespace, name) not in self.datasets:
            self.datasets[(namespace, name)] = False
        return key

    def _entry_version(self, entry: dict[str, Any]) -> VersionKey:
        """The version key of a dataset entry, its dataset and version noted and its facets kept (the hot path: one
        pass over the entry's facets)."""
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
            self._keep_facets("dataset", dataset, entry_facets)
        datasets = self.datasets
        if model or dataset not in datasets:
            datasets[dataset] = model or datasets.get(dataset, False)
        key = (namespace, name, version)
        time = self._time
        seen = self.first_seen.get(key)
        if seen is None or time < seen:
            self.first_seen[key] = time
        return key

    def _keep_facets(self, entity: str, key: Any, facets: dict[str, Any]) -> None:
        """Keep each facet unless a later event (or, in this event, an earlier entry) gave that name already."""
        event_key = self._key
        held = self.facets.get((entity, key))
        if held is None:
            self.facets[(entity, key)] = {
                name: (event_key, facet) for name, facet in facets.items() if facet is not None
            }
            return
        for name, facet in facets.items():
            if facet is not None:
                kept = held.get(name)
                if kept is None or kept[0] < event_key:
                    held[name] = (event_key, facet)

    def _job(self, job: dict[str, Any]) -> JobKey:
        key = (job["namespace"], job["name"])
        self.jobs.add(key)
        job_facets = job.get("facets")
        if job_facets:
            self._keep_facets("job", key, job_facets)
        return key

    def _dataset_event(self, dataset: dict[str, Any]) -> None:
        target = self._entry_version(dataset)
        for source in _explicit_inputs(dataset.get("facets") or {}):
            self.static_edges.add((self.version(*source, UNVERSIONED), target, None))

    def _job_event(self, payload: dict[str, Any]) -> None:
        job = self._job(payload["job"])
        for field_name in ("inputs", "outputs"):
            for entry in payload.get(field_name) or ():
                self._entry_version(entry)
        for target, sources in _lineage_entries(payload["job"].get("facets") or {}):
            target_version = self.version(*target, UNVERSIONED)
            for source in sources:
                self.static_edges.add((self.version(*source, UNVERSIONED), target_version, job))

    def _run_event(self, event: Event) -> None:
        payload = event.payload
        job = self._job(payload["job"])
        run = payload["run"]
        event_type = payload.get("eventType")
        run_facets = run.get("facets")
        parent = ((run_facets or {}).get("parent") or {}).get("run") or {}
        parent_id = parent.get("runId") if isinstance(parent.get("runId"), str) else None
        state = event_type.upper() if isinstance(event_type, str) else None
        own = run["runId"].lower()
        self.runs.append(
            RunFacts(
                run_id=own,
                job=job,
                parent_run_id=parent_id.lower() if parent_id else None,
                state=state,
                state_key=self._key,
                time_key=self._time,
                ended=state in TERMINAL,
            )
        )
        if run_facets:
            self._keep_facets("run", own, run_facets)
        io = self.io
        for entry in payload.get("inputs") or ():
            io.add((own, "input", self._entry_version(entry)))
        outputs: dict[DatasetKey, VersionKey] = {}
        for entry in payload.get("outputs") or ():
            version = self._entry_version(entry)
            io.add((own, "output", version))
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
                        self.steps.add((own, version, step.lower()))
                exact = ours.get("inputs")
                if exact and isinstance(exact, list):
                    self._declared_versions(own, version, exact)
                elif ours.get("noInputs") is True:  # made of no dataset: its one exact input is itself (merge.py)
                    self.declared_versions.add((own, version, version))
            else:
                precision = None
            if "columnLineage" in entry_facets or "lineage" in entry_facets:
                for source in _explicit_inputs(entry_facets):
                    self._declare(own, version, self.version(*source, UNVERSIONED)[:2], precision)
        for target, sources in _lineage_entries(payload["job"].get("facets") or {}):
            target_version = outputs.get(target) or self.version(*target, UNVERSIONED)
            for source in sources:
                self._declare(own, target_version, self.version(*source, UNVERSIONED)[:2], None)

    def _declare(self, run: str, output: VersionKey, source: DatasetKey, precision: str | None) -> None:
        slot = (run, output, source)
        declared = self.declared
        declared[slot] = weaker(declared[slot], precision) if slot in declared else precision

    def _declared_versions(self, run: str, output: VersionKey, inputs: list[Any]) -> None:
        """The input versions an output was made from (``nblineage_lineage.inputs``): each a dataset reference with
        its ``version`` (absent or empty: the dataset's unversioned node)."""
        for item in inputs:
            if not isinstance(item, dict):
                continue
            namespace, name, version = item.get("namespace"), item.get("name"), item.get("version")
            if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
                version = str(version) if isinstance(version, (str, int)) and version != "" else UNVERSIONED
                self.declared_versions.add((run, output, self.version(namespace, name, version)))


def weaker(one: str | None, other: str | None) -> str | None:
    """Of two precision claims the weaker ("cell" < "exact"); order-independent like every merge rule."""
    claims = [claim for claim in (one, other) if claim]
    return min(claims) if claims else None


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
    """The graph facts of one checked event."""
    facts = Facts()
    facts.add(event)
    return facts


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


def _explicit_inputs(facets: dict[str, Any]) -> set[DatasetKey]:
    """Source datasets a dataset's own facets name: columnLineage and the lineage facet."""
    sources: set[DatasetKey] = set()
    column_lineage = facets.get("columnLineage")
    if isinstance(column_lineage, dict):
        fields = column_lineage.get("fields")
        if isinstance(fields, dict):
            _column_sources(sources, fields)
        _add_refs(sources, column_lineage.get("dataset"))
    lineage = facets.get("lineage")
    if isinstance(lineage, dict):
        sources |= _lineage_sources(lineage)
    return sources


def _column_sources(sources: set[DatasetKey], fields: dict[str, Any]) -> None:
    """The datasets a ``columnLineage`` facet's columns name. Every column names its sources again, so each distinct
    (namespace, name, type) is gathered first and checked once; a facet not of the standard shape is read column
    by column."""
    try:
        named = {
            (item.get("namespace"), item.get("name"), item.get("type", "DATASET"))
            for field_lineage in fields.values()
            for item in field_lineage["inputFields"]
        }
    except (AttributeError, KeyError, TypeError):  # a column or an item that is not an object, unhashable values
        for field_lineage in fields.values():
            if isinstance(field_lineage, dict):
                _add_refs(sources, field_lineage.get("inputFields"))
        return
    for namespace, name, kind in named:
        if kind != "DATASET" and str(kind).upper() != "DATASET":
            continue
        if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
            sources.add((namespace, name))


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
