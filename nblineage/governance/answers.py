"""The typed answers of the governance questions: frozen dataclasses with a ``to_json()`` of plain JSON data.

Attributes are snake_case; ``to_json()`` keys are camelCase like OpenLineage facets (``model_class`` ->
``modelClass``). Tuples become lists; nested answers become objects. Their base, ``Answer``, and ``plain`` live in
``answer.py`` (a command whose answer is a list imports only that) and are importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nblineage.governance.answer import Answer as Answer
from nblineage.governance.answer import plain as plain
from nblineage.governance.splits import SPLITS

if TYPE_CHECKING:  # names in annotations only: the answers import without the store's reads or data quality
    from nblineage.governance.quality import QualityResult
    from nblineage.lineage.graph import DatasetRef


@dataclass(frozen=True)
class ModelSummary(Answer):
    """A model found in the graph. ``kind``: ``file``, ``mlflow-model``, ``mlflow-registry`` or ``model``."""

    namespace: str
    name: str
    version: str | None
    depth: int
    kind: str
    framework: str | None = None
    model_class: str | None = None
    mlflow_run_id: str | None = None
    registered_name: str | None = None
    registered_version: str | None = None


@dataclass(frozen=True)
class InputDataset(Answer):
    """A dataset version a model derives from; ``source`` when no other dataset of the answer feeds it;
    ``quality``: the latest data-quality result of each suite on it (``governance/quality.py``), newest first."""

    namespace: str
    name: str
    version: str | None
    depth: int
    source: bool
    quality: tuple[QualityResult, ...] = ()


@dataclass(frozen=True)
class FeatureColumn(Answer):
    """A column a feature comes from. ``via``: ``schema`` (a same-named column of an upstream dataset),
    ``notebook`` (a column the notebook's code computed the feature from) or ``columnLineage`` (reached through a
    columnLineage facet); ``source`` when column lineage goes no further."""

    namespace: str
    name: str
    version: str | None
    field: str
    via: str
    source: bool


@dataclass(frozen=True)
class Feature(Answer):
    """A feature the model was fit on, with the columns behind it."""

    name: str
    columns: tuple[FeatureColumn, ...] = ()

    @property
    def sources(self) -> tuple[FeatureColumn, ...]:
        """The columns where column lineage ends."""
        return tuple(column for column in self.columns if column.source)


@dataclass(frozen=True)
class ModelFunction(Answer):
    """What the model is and how it was trained."""

    framework: str | None = None
    model_class: str | None = None
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    framework_version: str | None = None
    training_job: str | None = None
    notebook: str | None = None
    code: str | None = None
    code_language: str | None = None
    training_run_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInputs(Answer):
    """Question 2: the datasets, features and function that went into a model version."""

    model: DatasetRef
    datasets: tuple[InputDataset, ...]
    features: tuple[Feature, ...]
    function: ModelFunction


@dataclass(frozen=True)
class MetricDataset(Answer):
    """A dataset a metric was computed on: an OpenLineage dataset, or (namespace None) an MLflow dataset."""

    namespace: str | None
    name: str
    version: str | None = None


@dataclass(frozen=True)
class Metric(Answer):
    """One metric. ``split``: train, validation, test or None; ``origin``: ``sklearn`` (the kernel saw it
    computed, ``run_id`` the cell run) or ``mlflow`` (MLflow's record, ``run_id`` the MLflow run)."""

    name: str
    value: float
    split: str | None
    origin: str
    datasets: tuple[MetricDataset, ...] = ()
    run_id: str | None = None


@dataclass(frozen=True)
class Performance(Answer):
    """Question 3: a model version's metrics, train first, then validation, test and unlabelled ones."""

    model: DatasetRef
    metrics: tuple[Metric, ...]

    def by_split(self) -> dict[str | None, list[Metric]]:
        """Metrics grouped by split (keys train, validation, test, None), only the splits that have some."""
        groups: dict[str | None, list[Metric]] = {}
        for split in (*SPLITS, None):
            found = [metric for metric in self.metrics if metric.split == split]
            if found:
                groups[split] = found
        return groups

    def get(self, name: str, split: str | None) -> Metric | None:
        """The metric of that name and split (the sklearn one first), or None."""
        return next((m for m in self.metrics if m.name == name and m.split == split), None)


@dataclass(frozen=True)
class Gpu(Answer):
    """A GPU a run used, with the highest peak memory seen on it."""

    name: str
    peak_memory_bytes: int | None


@dataclass(frozen=True)
class Resources(Answer):
    """Question 4: what training took, over the cell runs of the model's derivation.

    Times are summed and memory is the maximum over the ``runs`` counted (those with a resources facet);
    a field is None when no counted run reported it.
    """

    model: DatasetRef
    wall_time_seconds: float | None
    cpu_time_seconds: float | None
    peak_memory_bytes: int | None
    gpus: tuple[Gpu, ...]
    runs: int
    run_ids: tuple[str, ...]
    mlflow_system_metrics: dict[str, float] = field(default_factory=dict)
    cells: tuple[str, ...] = ()  # the cell jobs (NOTEBOOK#CELL_ID) of those runs, each once, first run first


@dataclass(frozen=True)
class RegisteredVersion(Answer):
    """A version of a model in the MLflow model registry."""

    name: str
    version: str


@dataclass(frozen=True)
class MlflowInfo(Answer):
    """What MLflow knows of a model: its run, experiment, logged model and registry versions."""

    run_id: str | None = None
    run_name: str | None = None
    experiment_id: str | None = None
    experiment_name: str | None = None
    model_id: str | None = None
    artifact_uri: str | None = None
    registered_versions: tuple[RegisteredVersion, ...] = ()


@dataclass(frozen=True)
class ModelCopy(Answer):
    """Another persisted copy of the same fitted model (the same ``fitId``): a file, a logged model, a registry
    version, with the MLflow ids it has."""

    namespace: str
    name: str
    version: str | None
    kind: str
    uri: str
    saved_by: str | None = None
    mlflow_run_id: str | None = None
    mlflow_model_id: str | None = None
    registered_name: str | None = None
    registered_version: str | None = None


@dataclass(frozen=True)
class ModelLocation(Answer):
    """Question 5: where the model version is persisted and who saved it.

    ``uri`` is a file path (namespace ``file``), a ``models:/...`` URI in the MLflow tracking store ``tracking``,
    or namespace and name joined; ``content_hash`` is a fingerprint of the bytes persisted (a file's version, a
    logged model's artifacts), None when unknown (an MLflow model id is no content hash). ``same_fit`` lists the
    other copies of the same fitted object (saved with joblib and logged to MLflow, say).
    """

    namespace: str
    name: str
    version: str | None
    uri: str
    tracking: str | None
    content_hash: str | None
    size_bytes: int | None
    saved_by: str | None
    saved_at: str | None
    mlflow: MlflowInfo | None
    same_fit: tuple[ModelCopy, ...] = ()


@dataclass(frozen=True)
class Explanation(Answer):
    """All five answers about one model version."""

    model: ModelSummary
    derived_models: tuple[ModelSummary, ...]
    inputs: ModelInputs
    performance: Performance
    resources: Resources
    location: ModelLocation
