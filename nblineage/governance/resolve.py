"""Which model a user means: a file path, an MLflow URI (``models:/...``, ``runs:/...``) or a namespace and name."""

from __future__ import annotations

from nblineage.governance.models import MLFLOW_FACET, MODEL_FACET, subject
from nblineage.governance.read import Reader, as_dict, as_str
from nblineage.lineage.graph import DatasetRef, NotFound
from nblineage.lineage.naming import dataset_from_uri
from nblineage.lineage.store import Store


class AmbiguousModel(ValueError):
    """The name fits models in several places; the message lists them and how to pick one."""


def resolve_model(store: Store, text: str, namespace: str | None = None, version: str | None = None) -> DatasetRef:
    """The model ``text`` names, at ``version`` or its newest version.

    ``text`` is a local path (relative to the current folder) or a dataset URI (``s3://...``, ``file:///...``);
    an MLflow ``models:/m-<id>`` or ``models:/<name>/<version>`` looked up among the tracking stores
    (namespaces ``mlflow://...``) the store knows; a ``runs:/<run_id>/<path>``, the model logged by that MLflow run
    (a logged model ``models:/m-...`` rather than a registry version); or, with ``namespace``, a name in it.
    Raises NotFound when it is not a model the store knows, AmbiguousModel when several fit.
    """
    if not isinstance(text, str) or not text.strip():
        raise NotFound("no model given: pass a path, a models:/ or runs:/ URI, or a name with a namespace")
    with store.read() as conn:
        reader = Reader(conn)
        if namespace:
            found = (namespace, text)
            if text.startswith("runs:/") and reader.dataset(namespace, text) is None:
                found = _logged_by_run(reader, text, namespace)
        elif text.startswith("models:/"):
            found = _in_tracking_store(reader, text)
        elif text.startswith("runs:/"):
            found = _logged_by_run(reader, text, None)
        else:
            named = dataset_from_uri(text)
            found = (named.namespace, named.name)
        model = subject(reader, DatasetRef(*found, version))
        return model.ref


def _in_tracking_store(reader: Reader, name: str) -> tuple[str, str]:
    found = reader.mlflow_datasets(name)
    if not found:
        raise NotFound(f"no MLflow model {name!r} in any tracking store the lineage store knows (mlflow://...)")
    models = [namespace for namespace, is_model in found if is_model] or [found[0][0]]
    if len(models) > 1:
        raise AmbiguousModel(
            f"{name!r} is in several MLflow tracking stores: {', '.join(models)}; "
            "name the one you mean with --namespace (namespace=...)"
        )
    return models[0], name


def _logged_by_run(reader: Reader, uri: str, namespace: str | None) -> tuple[str, str]:
    """The model an MLflow run logged: a dataset named ``uri`` itself (MLflow 2), else the models whose facets
    name the run, logged models (``models:/m-...``) first."""
    if namespace is None:
        named = [ns for ns, is_model in reader.mlflow_datasets(uri) if is_model]
        if len(named) == 1:
            return named[0], uri
    run_id = uri[len("runs:/") :].split("/", 1)[0]
    if not run_id:
        raise NotFound(f"{uri!r} names no MLflow run (expected runs:/<run_id>/<path>)")
    candidates = sorted(
        {
            (ns, name)
            for ns, name, facet_name, facet in reader.models_mentioning(run_id, (MODEL_FACET, MLFLOW_FACET))
            if _run_of(facet_name, as_dict(facet)) == run_id and namespace in (None, ns)
        }
    )
    logged = [pair for pair in candidates if pair[1].startswith("models:/m-")] or candidates
    if not logged:
        raise NotFound(f"no model logged by MLflow run {run_id!r} is in the lineage store")
    if len(logged) > 1:
        places = ", ".join(f"{name} ({ns})" for ns, name in logged)
        raise AmbiguousModel(
            f"MLflow run {run_id!r} logged several models: {places}; name one as models:/... "
            "(with --namespace when several tracking stores hold it)"
        )
    return logged[0]


def _run_of(facet_name: str, facet: dict) -> str | None:
    if facet_name == MODEL_FACET:
        return as_str(as_dict(facet.get("mlflow")).get("runId"))
    return as_str(facet.get("runId"))
