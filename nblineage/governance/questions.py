"""The governance questions about models, one function each, shared by every surface (CLI, magics, REST...).

1. :func:`models_derived_from`: which models derive from a dataset (any version, or one).
2. :func:`model_inputs`: the datasets, features and model function that went into a model.
3. :func:`model_performance`: its train, validation and test metrics.
4. :func:`model_resources`: what training it took (wall and CPU time, peak memory, GPUs).
5. :func:`model_location`: where it is persisted (path or URI, content hash, MLflow run and registry versions), and
   the other copies of the same fit (a file and a logged model of one fitted object).

:func:`explain` bundles all five; :func:`resolve_model` turns what a user typed into a model. A model is a
dataset whose events declared ``datasetType`` MODEL; a question about it without a version is about its newest
version. Payloads are untrusted: a facet missing or malformed leaves its fields empty, never raises.
"""

from __future__ import annotations

from typing import Any

from nblineage.governance.answers import (
    Explanation,
    Feature,
    FeatureColumn,
    Gpu,
    InputDataset,
    Metric,
    MetricDataset,
    MlflowInfo,
    ModelCopy,
    ModelFunction,
    ModelInputs,
    ModelLocation,
    ModelSummary,
    Performance,
    RegisteredVersion,
    Resources,
)
from nblineage.governance.features import features as trace_features
from nblineage.governance.models import (
    MLFLOW_PREFIX,
    Subject,
    logged_model_id,
    mlflow_facet,
    model_facet,
    model_kind,
    registered_source,
    registry_version,
    run_facts,
    same_fit,
    subject,
    summary,
)
from nblineage.governance.quality import results_for
from nblineage.governance.read import (
    JsonDict,
    Reader,
    RunRow,
    VersionRow,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_number,
    as_str,
    as_strings,
    iso_time,
    newest_first,
)
from nblineage.governance.resolve import AmbiguousModel, resolve_model
from nblineage.governance.splits import SPLITS, split_of_context, split_of_name
from nblineage.lineage import graph
from nblineage.lineage.facets import LINEAGE as LINEAGE_FACET
from nblineage.lineage.facets import METRICS as METRICS_FACET
from nblineage.lineage.facets import RESOURCES as RESOURCES_FACET
from nblineage.lineage.graph import DEFAULT_DEPTH, DatasetRef, Node, NotFound
from nblineage.lineage.store import Store

__all__ = [
    "DEFAULT_DEPTH",
    "AmbiguousModel",
    "DatasetRef",
    "Explanation",
    "Feature",
    "FeatureColumn",
    "Gpu",
    "InputDataset",
    "Metric",
    "MetricDataset",
    "MlflowInfo",
    "ModelCopy",
    "ModelFunction",
    "ModelInputs",
    "ModelLocation",
    "ModelSummary",
    "NotFound",
    "Performance",
    "RegisteredVersion",
    "Resources",
    "explain",
    "model_inputs",
    "model_kind",
    "model_location",
    "model_performance",
    "model_resources",
    "models_derived_from",
    "resolve_model",
]


# 1. models derived from a dataset


def models_derived_from(store: Store, dataset: DatasetRef, depth: int = DEFAULT_DEPTH) -> list[ModelSummary]:
    """Every model downstream of any version of ``dataset`` (of ``dataset.version`` only when set), nearest first."""
    nodes = graph.models_from(store, dataset, depth)
    with store.read() as conn:
        return _summaries(Reader(conn), nodes)


def _summaries(reader: Reader, nodes: list[Node]) -> list[ModelSummary]:
    rows = reader.versions((n.namespace, n.name, n.version or "") for n in nodes)
    runs = reader.output_runs(row.id for row in rows.values())
    reader.load_events(found[0].run_id for found in runs.values() if found)
    return [
        summary(reader, rows[key], node.depth)
        for node in nodes
        if (key := (node.namespace, node.name, node.version or "")) in rows
    ]


# 2. inputs: datasets, features, function


def model_inputs(store: Store, model: DatasetRef, depth: int = DEFAULT_DEPTH) -> ModelInputs:
    """The datasets (with versions), features (with their source columns) and function behind a model version.

    ``datasets`` are the non-model nodes upstream of the version, nearest first; one is a ``source`` when no other
    dataset of that list has an edge into it. ``function`` comes from the version's ``nblineage_model`` facet and
    the training cell's ``sourceCode`` (as the training run's own events carried it).
    """
    with store.read() as conn:
        reader = Reader(conn)
        model_subject = subject(reader, model)
        return _inputs(reader, model_subject, graph.upstream(store, model_subject.graph_ref, depth))


def _inputs(reader: Reader, model: Subject, upstream: list[Node]) -> ModelInputs:
    datasets = input_datasets(reader, [node for node in upstream if node.type == "dataset"])
    names = as_strings(model.facet.get("featureNames"))
    return ModelInputs(
        model=model.ref,
        datasets=datasets,
        features=trace_features(reader, names, datasets, _feature_lineage(model.facet.get("featureLineage"))),
        function=_function(reader, model),
    )


def _feature_lineage(value: Any) -> dict[str, list[str]]:
    return {name: as_strings(columns) for name, columns in as_dict(value).items() if isinstance(name, str)}


def input_datasets(reader: Reader, nodes: list[Node]) -> tuple[InputDataset, ...]:
    rows = reader.versions((n.namespace, n.name, n.version or "") for n in nodes)
    answer = {row.dataset_id for row in rows.values()}
    listed = {row.id for row in rows.values()}
    unversioned = reader.unversioned(answer)
    feeders = reader.feeders([*listed, *unversioned.values()])
    quality = results_for(reader, [(n.namespace, n.name, n.version) for n in nodes])
    found = []
    for node in nodes:
        row = rows.get((node.namespace, node.name, node.version or ""))
        fed = False
        if row is not None:
            edges = feeders.get(row.id, set()) | feeders.get(unversioned.get(row.dataset_id, -1), set())
            # another dataset of the answer, or another version of this one the answer lists (a file rewritten
            # in place from what it held before): never the version itself
            fed = any(
                (dataset != row.dataset_id and dataset in answer) or (dataset == row.dataset_id and version in listed)
                for dataset, version in edges
                if version != row.id
            )
        checked = tuple(quality.get((node.namespace, node.name, node.version), ()))
        found.append(InputDataset(node.namespace, node.name, node.version, node.depth, not fed, checked))
    return tuple(found)


def _function(reader: Reader, model: Subject) -> ModelFunction:
    facet = model.facet
    training_job = as_str(facet.get("trainingJob"))
    training_run = _training_run(reader, model)
    if training_job is None and training_run is not None:
        training_job = training_run.job_name
    code = as_dict(_training_code(reader, model, training_job, training_run))
    return ModelFunction(
        framework=as_str(facet.get("framework")),
        model_class=as_str(facet.get("modelClass")),
        hyper_parameters=as_dict(facet.get("hyperParameters")),
        framework_version=as_str(facet.get("frameworkVersion")),
        training_job=training_job,
        notebook=training_job.rpartition("#")[0] or None if training_job else None,
        code=code.get("sourceCode") if isinstance(code.get("sourceCode"), str) else None,
        code_language=as_str(code.get("language")),
        training_run_id=training_run.run_id if training_run else as_str(facet.get("trainingRunId")),
        details=as_dict(facet.get("details")),
    )


def _training_run(reader: Reader, model: Subject) -> RunRow | None:
    """The run of the model facet's ``trainingRunId``; else the run that output the model, when the facet names
    no other training job."""
    run_id = as_str(model.facet.get("trainingRunId"))
    if run_id is not None:
        return reader.runs([run_id]).get(run_id.lower())
    job = as_str(model.facet.get("trainingJob"))
    if model.output_run is not None and job in (None, model.output_run.job_name):
        return model.output_run
    return None


def _training_code(reader: Reader, model: Subject, job: str | None, run: RunRow | None) -> Any:
    """The ``sourceCode`` job facet of the training cell: as its run's events carried it, else the job's latest."""
    if run is not None:
        code = reader.run_job_facet(run.run_id, "sourceCode")
        if code is not None:
            return code
        return reader.job_facet(run.job_namespace, run.job_name, "sourceCode")
    if job is None:
        return None
    namespaces = reader.jobs_named(job)
    preferred = model.output_run.job_namespace if model.output_run else None
    namespace = preferred if preferred in namespaces else (namespaces[0] if len(namespaces) == 1 else None)
    return reader.job_facet(namespace, job, "sourceCode") if namespace else None


# 3. performance


def model_performance(store: Store, model: DatasetRef) -> Performance:
    """Train, validation and test metrics of a model version.

    ``sklearn`` metrics are the ``nblineage_metrics`` entries with the model's ``fitId``, from the cell runs of the
    kernel sessions that trained and saved it (the latest of each name and split wins); ``mlflow`` metrics are the
    logged model's metrics and the MLflow run's metrics of the ``nblineage_mlflow`` facet (a registry version
    without one: its logged model's), the run's labelled by their name (``training_``/``train`` train,
    ``val``/``valid`` validation, ``test`` test, else None) and left out when a model metric repeats them. The
    metrics nblineage itself logged to MLflow (``{split}_{name}``) are not repeated as MLflow's.
    """
    with store.read() as conn:
        reader = Reader(conn)
        return _performance(reader, subject(reader, model))


def _performance(reader: Reader, model: Subject) -> Performance:
    sklearn = _sklearn_metrics(reader, model)
    echoed = {(f"{m.split}_{m.name}" if m.split else m.name, m.split, m.value) for m in sklearn}
    mlflow = [m for m in _mlflow_metrics(run_facts(reader, model)) if (m.name, m.split, m.value) not in echoed]
    metrics = sklearn + mlflow
    order = {split: index for index, split in enumerate(SPLITS)}
    metrics.sort(key=lambda m: (order.get(m.split, len(SPLITS)), m.origin != "sklearn", m.name))
    return Performance(model.ref, tuple(metrics))


def _sklearn_metrics(reader: Reader, model: Subject) -> list[Metric]:
    fit_id = as_str(model.facet.get("fitId"))
    if fit_id is None:
        return []
    return fit_metrics(reader, fit_id, [run for run in (model.output_run, _training_run(reader, model)) if run])


def fit_metrics(reader: Reader, fit_id: str, own: list[RunRow]) -> list[Metric]:
    """The ``sklearn`` metrics of a fit: the entries with its ``fitId`` in the runs ``own`` and the other cell runs
    of their kernel sessions, the latest of each name and split."""
    sessions = {run.parent_run_id for run in own if run.parent_run_id}
    facets = dict(reader.child_runs_with_facet(sessions, METRICS_FACET)) if sessions else {}
    own_facets = reader.run_facets(own, METRICS_FACET)
    facets.update({run: own_facets[run.pk] for run in own if run.pk in own_facets})
    latest: dict[tuple[str, str | None], Metric] = {}
    for run in reversed(newest_first(facets)):  # oldest first, so later ones replace earlier ones
        for entry in as_list(as_dict(facets[run]).get("metrics")):
            metric = _sklearn_metric(as_dict(entry), fit_id, run.run_id)
            if metric is not None:
                latest[(metric.name, metric.split)] = metric
    return list(latest.values())


def _sklearn_metric(entry: JsonDict, fit_id: str, run_id: str) -> Metric | None:
    name, value = as_str(entry.get("name")), as_number(entry.get("value"))
    if name is None or value is None or as_str(entry.get("fitId")) != fit_id:
        return None
    datasets = []
    for item in as_list(entry.get("datasets")):
        item = as_dict(item)
        namespace, dataset = as_str(item.get("namespace")), as_str(item.get("name"))
        if namespace and dataset:
            datasets.append(MetricDataset(namespace, dataset, as_str(item.get("version"))))
    return Metric(name, value, split_of_context(entry.get("split")), "sklearn", tuple(datasets), run_id)


def _mlflow_metrics(facet: JsonDict) -> list[Metric]:
    run_id = as_str(facet.get("runId"))
    found: dict[tuple[str, str | None], Metric] = {}
    for entry in as_list(facet.get("modelMetrics")):
        entry = as_dict(entry)
        name, value = as_str(entry.get("name")), as_number(entry.get("value"))
        if name is None or value is None:
            continue
        dataset = as_str(entry.get("datasetName"))
        datasets = (MetricDataset(None, dataset, as_str(entry.get("datasetDigest"))),) if dataset else ()
        split = split_of_context(entry.get("split")) or split_of_name(dataset or "") or split_of_name(name)
        found[(name, split)] = Metric(name, value, split, "mlflow", datasets, run_id)
    logged = {(metric.name, metric.value) for metric in found.values()}
    for name, raw in sorted(as_dict(facet.get("metrics")).items()):
        value = as_number(raw)
        if value is None or not name or name.startswith("system/") or (name, value) in logged:
            continue
        split = split_of_name(name)
        found.setdefault((name, split), Metric(name, value, split, "mlflow", (), run_id))
    return list(found.values())


# 4. resources


def model_resources(store: Store, model: DatasetRef, depth: int = DEFAULT_DEPTH) -> Resources:
    """Wall and CPU time (summed), peak memory and GPUs (the maximum) over the cell runs of the model's derivation.

    Those runs are: the ``runs`` of the version's ``nblineage_lineage`` facet, its ``trainingRunId``, the run that
    output it, and for each versioned upstream dataset or model the newest run that output that version with the
    ``runs`` of its own ``nblineage_lineage`` facet (one run per version: writing the same content again costs the
    model nothing more; an unversioned dataset does not say which of its writes was read, so none is counted).
    """
    with store.read() as conn:
        reader = Reader(conn)
        model_subject = subject(reader, model)
        return _resources(reader, model_subject, graph.upstream(store, model_subject.graph_ref, depth))


def _resources(reader: Reader, model: Subject, upstream: list[Node]) -> Resources:
    run_ids = set(_lineage_runs(reader, model.version))
    training = _training_run(reader, model)
    run_ids |= {run.run_id for run in (model.output_run, training) if run is not None}
    rows = reader.versions((n.namespace, n.name, n.version) for n in upstream if n.type != "job" and n.version)
    writers = reader.output_runs(row.id for row in rows.values())
    reader.load_events(runs[0].run_id for runs in writers.values() if runs)
    for row in rows.values():
        if writers[row.id]:
            run_ids.add(writers[row.id][0].run_id)
            run_ids |= _lineage_runs(reader, row)
    system = as_dict(run_facts(reader, model).get("systemMetrics"))
    return resources_of_runs(reader, model.ref, run_ids, system)


def resources_of_runs(reader: Reader, model: DatasetRef, run_ids: set[str], system: JsonDict) -> Resources:
    """Question 4 over the runs ``run_ids`` (those with a resources facet are counted), with MLflow's
    ``system`` metrics."""
    runs = reader.runs(run_ids)
    facets = reader.run_facets(runs.values(), RESOURCES_FACET)
    counted = sorted(
        (run for run in runs.values() if isinstance(facets.get(run.pk), dict)),
        key=lambda run: (iso_time(run.started_at) or "", run.pk),
    )
    wall, cpu, memory, gpus = [], [], [], {}
    for run in counted:
        facet = facets[run.pk]
        wall.append(as_number(facet.get("wallTimeSeconds")))
        cpu.append(as_number(facet.get("cpuTimeSeconds")))
        memory.append(as_int(facet.get("peakMemoryBytes")) or None)  # 0: unknown (docs/facets.md)
        for gpu in as_list(facet.get("gpus")):
            gpu = as_dict(gpu)
            name = as_str(gpu.get("name"))
            if name is not None:
                gpus[name] = _max(gpus.get(name), as_int(gpu.get("peakMemoryBytes")))
    return Resources(
        model=model,
        wall_time_seconds=_sum(wall),
        cpu_time_seconds=_sum(cpu),
        peak_memory_bytes=_max(None, *memory),
        gpus=tuple(Gpu(name, peak) for name, peak in sorted(gpus.items())),
        runs=len(counted),
        run_ids=tuple(run.run_id for run in counted),
        mlflow_system_metrics={k: n for k, v in sorted(system.items()) if k and (n := as_number(v)) is not None},
        cells=tuple(dict.fromkeys(run.job_name for run in counted)),
    )


def _lineage_runs(reader: Reader, version: VersionRow) -> set[str]:
    return {run_id.lower() for run_id in as_strings(as_dict(reader.version_facet(version, LINEAGE_FACET)).get("runs"))}


def _sum(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(sum(known), 6) if known else None


def _max(*values: int | None) -> int | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


# 5. location


def model_location(store: Store, model: DatasetRef) -> ModelLocation:
    """Where a model version is persisted, who saved it and when, and what MLflow knows of it."""
    with store.read() as conn:
        reader = Reader(conn)
        model_subject = subject(reader, model)
        return _location(store, reader, model_subject)


def _location(store: Store, reader: Reader, model: Subject) -> ModelLocation:
    version = model.version
    tracking = version.namespace[len(MLFLOW_PREFIX) :] if version.namespace.startswith(MLFLOW_PREFIX) else None
    size = as_int(model.facet.get("sizeBytes"))
    content_hash = as_str(model.facet.get("contentHash"))
    if content_hash is None and not model_kind(version.namespace, version.name).startswith("mlflow-"):
        content_hash = version.shown  # a file's or folder's version is its content fingerprint
    return ModelLocation(
        namespace=version.namespace,
        name=version.name,
        version=version.shown,
        uri=_uri(version.namespace, version.name),
        tracking=tracking or None,
        content_hash=content_hash,
        size_bytes=size if size is not None and size >= 0 else None,
        saved_by=model.output_run.job_name if model.output_run else None,
        saved_at=iso_time(model.output_run.ended_at) if model.output_run else None,
        mlflow=_mlflow_info(store, reader, model),
        same_fit=tuple(_copy(reader, row) for row in same_fit(reader, model)),
    )


def _copy(reader: Reader, version: VersionRow) -> ModelCopy:
    """Another persisted copy of the model's fit, with where it is and its MLflow ids."""
    listed = summary(reader, version, 0)
    facet = model_facet(reader, version)
    runs = reader.output_runs([version.id])[version.id]
    return ModelCopy(
        namespace=version.namespace,
        name=version.name,
        version=version.shown,
        kind=listed.kind,
        uri=_uri(version.namespace, version.name),
        saved_by=runs[0].job_name if runs else None,
        mlflow_run_id=listed.mlflow_run_id,
        mlflow_model_id=as_str(as_dict(facet.get("mlflow")).get("modelId")) or logged_model_id(version.name),
        registered_name=listed.registered_name,
        registered_version=listed.registered_version,
    )


def _uri(namespace: str, name: str) -> str:
    if namespace == "file" or namespace.startswith(MLFLOW_PREFIX) or "://" not in namespace:
        return name
    return f"{namespace.rstrip('/')}/{name.lstrip('/')}"


_MLFLOW_FIELDS = ("runId", "runName", "experimentId", "experimentName", "modelId", "artifactUri")


def _mlflow_info(store: Store, reader: Reader, model: Subject) -> MlflowInfo | None:
    """MLflow facts of the version. A logged model adds the registry versions directly downstream of it; a
    registry version adds the facts (and other registry versions) of the logged model it registers."""
    known, registered = _mlflow_facts(store, reader, model)
    source = registered_source(reader, model.version)
    if source is not None:
        more, versions = _mlflow_facts(store, reader, Subject(source, model_facet(reader, source), None))
        known = more | known
        registered |= versions
    if not known and not registered:
        return None
    return MlflowInfo(
        run_id=known.get("runId"),
        run_name=known.get("runName"),
        experiment_id=known.get("experimentId"),
        experiment_name=known.get("experimentName"),
        model_id=known.get("modelId"),
        artifact_uri=known.get("artifactUri"),
        registered_versions=tuple(sorted(registered, key=lambda r: (r.name, _number_first(r.version)))),
    )


def _mlflow_facts(store: Store, reader: Reader, model: Subject) -> tuple[dict[str, str], set[RegisteredVersion]]:
    """MLflow fields of a model version (its model facet's ``mlflow`` first, then the ``nblineage_mlflow`` facet)
    and its registry versions (those facets, its own name, and the registry versions directly downstream)."""
    known: dict[str, str] = {}
    facet = mlflow_facet(reader, model.version, model.facet)
    registered = _registered(model, facet)
    version = model.version
    if model_kind(version.namespace, version.name) == "mlflow-model":
        for node in graph.downstream(store, DatasetRef(version.namespace, version.name), 1):
            pair = registry_version(node.name) if node.type == "model" else None
            if pair is not None:
                registered.add(RegisteredVersion(*pair))
    for source in (model.mlflow, facet):
        for key in _MLFLOW_FIELDS:
            value = as_id(source.get(key)) if key == "experimentId" else as_str(source.get(key))
            if value is not None:
                known.setdefault(key, value)
    model_id = logged_model_id(model.version.name)
    if model_id is not None:
        known.setdefault("modelId", model_id)
    return known, registered


def _registered(model: Subject, facet: JsonDict) -> set[RegisteredVersion]:
    found = set()
    entries = [model.mlflow.get("registeredModel"), *as_list(facet.get("registeredVersions"))]
    for entry in entries:
        entry = as_dict(entry)
        name, version = as_str(entry.get("name")), as_id(entry.get("version"))
        if name and version:
            found.add(RegisteredVersion(name, version))
    own = registry_version(model.version.name)
    if own is not None:
        found.add(RegisteredVersion(*own))
    return found


def _number_first(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isascii() and version.isdigit() else (1 << 62, version)


# all five


def explain(store: Store, model: DatasetRef, depth: int = DEFAULT_DEPTH) -> Explanation:
    """The five answers about one model version, plus the models derived from it (``derived_models``: registry
    versions of a logged model, models fit on its predictions...)."""
    with store.read() as conn:
        reader = Reader(conn)
        model_subject = subject(reader, model)
        upstream = graph.upstream(store, model_subject.graph_ref, depth)
        derived = graph.models_from(store, model_subject.graph_ref, depth)
        return Explanation(
            model=summary(reader, model_subject.version, 0),
            derived_models=tuple(_summaries(reader, derived)),
            inputs=_inputs(reader, model_subject, upstream),
            performance=_performance(reader, model_subject),
            resources=_resources(reader, model_subject, upstream),
            location=_location(store, reader, model_subject),
        )
