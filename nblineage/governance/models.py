"""What a model dataset is, read from its name and facets: its kind, its version's model facet, MLflow facts."""

from __future__ import annotations

from dataclasses import dataclass

from nblineage.governance.answers import ModelSummary
from nblineage.governance.read import JsonDict, Reader, RunRow, VersionRow, as_dict, as_id, as_str
from nblineage.lineage.facets import MLFLOW as MLFLOW_FACET
from nblineage.lineage.facets import MODEL as MODEL_FACET
from nblineage.lineage.graph import DatasetRef, NotFound

MLFLOW_PREFIX = "mlflow://"


def model_kind(namespace: str, name: str) -> str:
    """``file``, ``mlflow-model`` (``models:/m-<id>``, or MLflow 2's ``runs:/...`` in a tracking store),
    ``mlflow-registry`` (``models:/<name>/<version>``) or ``model``."""
    if namespace == "file":
        return "file"
    if registry_version(name) is not None:
        return "mlflow-registry"
    if name.startswith("models:/m-") or (name.startswith("runs:/") and namespace.startswith(MLFLOW_PREFIX)):
        return "mlflow-model"
    return "model"


def registry_version(name: str) -> tuple[str, str] | None:
    """(registered model name, version) of a ``models:/<name>/<version>`` name, else None."""
    if not name.startswith("models:/"):
        return None
    model, slash, version = name[len("models:/") :].rpartition("/")
    return (model, version) if slash and model and version else None


def logged_model_id(name: str) -> str | None:
    """``m-<id>`` of a ``models:/m-<id>`` name, else None."""
    rest = name[len("models:/") :] if name.startswith("models:/") else ""
    return rest if rest.startswith("m-") and "/" not in rest else None


@dataclass(frozen=True)
class Subject:
    """A model version being asked about, with what every answer needs of it."""

    version: VersionRow
    facet: JsonDict  # its nblineage_model facet ({} when absent or malformed)
    output_run: RunRow | None  # the newest run that output this version

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(self.version.namespace, self.version.name, self.version.shown)

    @property
    def graph_ref(self) -> DatasetRef:
        """The exact version for graph walks (``""`` is the "version unknown" node)."""
        return DatasetRef(self.version.namespace, self.version.name, self.version.version)

    @property
    def mlflow(self) -> JsonDict:
        return as_dict(self.facet.get("mlflow"))


def subject(reader: Reader, model: DatasetRef) -> Subject:
    """The model version ``model`` names (its newest version when ``model.version`` is None)."""
    found = reader.dataset(model.namespace, model.name)
    if found is None:
        raise NotFound(
            f"no model named {model.name!r} in namespace {model.namespace!r} "
            "(`nblineage datasets` lists the models the store knows)"
        )
    dataset_id, is_model = found
    if not is_model:
        raise NotFound(
            f"{model.name!r} in namespace {model.namespace!r} is a dataset, not a model "
            "(`nblineage models-from` lists the models derived from it)"
        )
    version = reader.version(dataset_id, model.version)
    if version is None:
        raise NotFound(f"model {model.name!r} has no version {model.version!r}")
    runs = reader.output_runs([version.id])[version.id]
    return Subject(version, model_facet(reader, version), runs[0] if runs else None)


def model_facet(reader: Reader, version: VersionRow) -> JsonDict:
    """The version's ``nblineage_model`` facet; a registry version without one has that of the logged model it
    registers (a ``models:/m-...`` with an edge into it): the same model."""
    facet = as_dict(reader.version_facet(version, MODEL_FACET))
    if facet:
        return facet
    source = registered_source(reader, version)
    return as_dict(reader.version_facet(source, MODEL_FACET)) if source is not None else {}


def mlflow_facet(reader: Reader, version: VersionRow, model_facet: JsonDict) -> JsonDict:
    """The ``nblineage_mlflow`` facet of the model dataset, when it belongs to this version.

    The facets table keeps it per dataset, so for a dataset with several versions it is taken when its MLflow run
    is the one of the version's model facet, or (no run there to compare) when this is the newest version.
    """
    facet = as_dict(reader.dataset_facet(version.dataset_id, MLFLOW_FACET))
    if not facet:
        return {}
    own = as_str(as_dict(model_facet.get("mlflow")).get("runId"))
    theirs = as_str(facet.get("runId"))
    if own and theirs:
        return facet if own == theirs else {}
    if reader.version_count(version.dataset_id) <= 1:
        return facet
    newest = reader.version(version.dataset_id, None)
    return facet if newest is not None and newest.id == version.id else {}


def registered_source(reader: Reader, version: VersionRow) -> VersionRow | None:
    """The logged model (``models:/m-...``) a registry version registers: a model with an edge into it."""
    if registry_version(version.name) is None:
        return None
    return next((v for v in reader.direct_sources(version) if v.is_model and logged_model_id(v.name)), None)


def run_facts(reader: Reader, model: Subject) -> JsonDict:
    """The ``nblineage_mlflow`` facet of the model version; a registry version without one has that of the logged
    model it registers."""
    facet = mlflow_facet(reader, model.version, model.facet)
    if facet:
        return facet
    source = registered_source(reader, model.version)
    return mlflow_facet(reader, source, model_facet(reader, source)) if source is not None else {}


MAX_COPIES = 100  # copies of one fit listed


def same_fit(reader: Reader, model: Subject) -> list[VersionRow]:
    """The other model versions holding the same fitted object: those whose model facet has the same ``fitId``
    (the file joblib wrote, the logged model...) and the registry versions of those logged models. They are looked
    for among the model's neighbours (the models fed by what feeds it, and what those feed) and the models whose
    latest facet names the fit."""
    fit_id = as_str(model.facet.get("fitId"))
    logged = registered_source(reader, model.version)
    if fit_id is None and logged is not None:  # registered where nblineage did not see the model logged
        fit_id = as_str(model_facet(reader, logged).get("fitId"))
    if fit_id is None:
        return []
    feeding = reader.direct_sources(model.version)
    near = [*feeding, *reader.fed_by([model.version.id, *(v.id for v in feeding)])]
    near += reader.fed_by(v.id for v in near if v.is_model)
    candidates = {v.id: v for v in near if v.is_model}
    for namespace, name, _, facet in reader.models_mentioning(fit_id, (MODEL_FACET,)):
        dataset = reader.dataset(namespace, name) if as_str(as_dict(facet).get("fitId")) == fit_id else None
        candidates.update((v.id, v) for v in (reader.dataset_versions(dataset[0]) if dataset else ()))
    found = {v.id: v for v in candidates.values() if as_str(model_facet(reader, v).get("fitId")) == fit_id}
    logged_models = [
        v.id for v in (model.version, *found.values()) if model_kind(v.namespace, v.name) == "mlflow-model"
    ]
    found.update((v.id, v) for v in reader.fed_by(logged_models) if registry_version(v.name) is not None)
    found.pop(model.version.id, None)
    return sorted(found.values(), key=lambda v: (model_kind(v.namespace, v.name), v.namespace, v.name, v.version))[
        :MAX_COPIES
    ]


def summary(reader: Reader, version: VersionRow, depth: int) -> ModelSummary:
    """A model version as listed by ``models_derived_from``."""
    facet = model_facet(reader, version)
    mlflow = as_dict(facet.get("mlflow"))
    registered = as_dict(mlflow.get("registeredModel"))
    registered_name, registered_version = as_str(registered.get("name")), as_id(registered.get("version"))
    own = registry_version(version.name)
    if own is not None:
        registered_name, registered_version = own
    run_id = as_str(mlflow.get("runId"))
    if run_id is None:
        run_id = as_str(mlflow_facet(reader, version, facet).get("runId"))
    return ModelSummary(
        namespace=version.namespace,
        name=version.name,
        version=version.shown,
        depth=depth,
        kind=model_kind(version.namespace, version.name),
        framework=as_str(facet.get("framework")),
        model_class=as_str(facet.get("modelClass")),
        mlflow_run_id=run_id,
        registered_name=registered_name if registered_version else None,
        registered_version=registered_version if registered_name else None,
    )
