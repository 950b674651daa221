"""What a user typed, as a node of the graph: one resolver for every command and surface.

A node is a local path (relative to the current folder) or a dataset URI (``s3://...``, ``file:///...``,
``postgres://host:port/db.schema.table``); an MLflow model: ``models:/m-<id>`` (a logged model),
``models:/<name>/<version>`` (a registry version), ``models:/<name>/latest`` (its highest registry version the
store knows) or ``models:/<name>@<alias>``, looked up among the tracking stores (namespaces ``mlflow://...``) the
store knows; ``runs:/<run_id>/<path>``, the model that MLflow run logged; or, with a namespace, a name in it
(a dataset, else a job: a notebook or a cell).
"""

from __future__ import annotations

import re

from nblineage.governance.read import Reader, as_dict, as_str
from nblineage.lineage.facets import MLFLOW as MLFLOW_FACET
from nblineage.lineage.facets import MODEL as MODEL_FACET
from nblineage.lineage.graph import DatasetRef, NotFound, Ref, resolve
from nblineage.lineage.naming import dataset_from_uri, file_dataset
from nblineage.lineage.store import Store

MLFLOW_NAMESPACES = "mlflow://%"
SUGGESTED = 3  # nearest names offered for an unknown one
_REGISTRY_VERSION = re.compile(r"models:/(?P<name>.+)/(?P<version>[0-9]+)\Z")


class AmbiguousModel(ValueError):
    """The name fits models in several places; the message lists them and how to pick one."""


def resolve_node(store: Store, text: str, namespace: str | None = None, version: str | None = None) -> Ref:
    """The dataset, model or job ``text`` names (see the module docstring), at ``version`` when given.

    Raises NotFound when the store knows no such node (naming the tracking stores it knows for an MLflow URI),
    AmbiguousModel when an MLflow URI fits several tracking stores.
    """
    with store.read() as conn:
        reader = Reader(conn)
        found = identify(reader, text, namespace)
        try:
            return resolve(store, *found, version)
        except NotFound as error:
            raise NotFound(f"{error.args[0]}{nearest(reader, found[1])}") from None


def resolve_model(store: Store, text: str, namespace: str | None = None, version: str | None = None) -> DatasetRef:
    """The model ``text`` names, at ``version`` or its newest version; like :func:`resolve_node`, but NotFound
    also when it names a dataset or a job rather than a model."""
    from nblineage.governance.models import subject  # the answers' module: not needed to name other nodes

    with store.read() as conn:
        reader = Reader(conn)
        found = identify(reader, text, namespace, what="model")
        try:
            return subject(reader, DatasetRef(*found, version)).ref
        except NotFound as error:
            unknown = reader.dataset(*found) is None
            raise NotFound(f"{error.args[0]}{nearest(reader, found[1], models=True) if unknown else ''}") from None


def nearest(reader: Reader, name: str, models: bool = False) -> str:
    """``; nearest names: ...``: the store's dataset (or model) names closest to ``name``, compared by their last
    path segment (paths in one folder share the rest), else ``""``."""
    import difflib

    sql = "SELECT DISTINCT name FROM datasets" + (" WHERE is_model = ?" if models else "")
    by_tail: dict[str, list[str]] = {}
    for (known,) in reader.sql.all(sql, (True,) if models else ()):
        by_tail.setdefault(_tail(known), []).append(known)
    close = difflib.get_close_matches(_tail(name), list(by_tail), n=SUGGESTED, cutoff=0.6)
    names = [known for tail in close for known in sorted(by_tail[tail])][:SUGGESTED]
    return f"; nearest names: {', '.join(names)}" if names else ""


def _tail(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1] or name


def identify(reader: Reader, text: str, namespace: str | None = None, what: str = "node") -> tuple[str, str]:
    """The (namespace, name) ``text`` stands for; MLflow URIs are looked up, anything else is only named."""
    if not isinstance(text, str) or not text.strip():
        raise NotFound(f"no {what} given: pass a path, a URI (models:/..., runs:/..., s3://...), or a name with -n")
    if text.startswith("models:/"):
        return _mlflow_model(reader, text, namespace)
    if text.startswith("runs:/"):
        if namespace and reader.dataset(namespace, text) is not None:
            return namespace, text
        return _logged_by_run(reader, text, namespace)
    if namespace:
        return namespace, text
    named = dataset_from_uri(text) if "://" in text else file_dataset(text)
    return named.namespace, named.name


def tracking_stores(reader: Reader) -> list[str]:
    """The MLflow tracking stores (``mlflow://...`` namespaces) the lineage store knows."""
    return [
        row[0]
        for row in reader.sql.all(
            "SELECT DISTINCT namespace FROM datasets WHERE namespace LIKE ?", (MLFLOW_NAMESPACES,)
        )
    ]


def _mlflow_model(reader: Reader, uri: str, namespace: str | None) -> tuple[str, str]:
    """A ``models:/`` URI: a logged model or registry version as named, or the version ``latest`` or an alias
    stands for."""
    rest = uri[len("models:/") :]
    if "@" in rest and "/" not in rest.split("@", 1)[1]:
        name, alias = rest.split("@", 1)
        return _alias(reader, name, alias, namespace)
    if rest.endswith("/latest"):
        return _latest(reader, rest[: -len("/latest")], namespace)
    if namespace:
        return namespace, uri
    found = reader.mlflow_datasets(uri)
    if not found:
        raise NotFound(f"no MLflow model {uri!r} in {_known_places(reader)}{_known_versions(reader, uri)}")
    models = [ns for ns, is_model in found if is_model] or [found[0][0]]
    if len(models) > 1:
        raise AmbiguousModel(
            f"{uri!r} is in several MLflow tracking stores: {', '.join(models)}; "
            "name the one you mean with --namespace (namespace=...)"
        )
    return models[0], uri


def _registry_versions(reader: Reader, name: str, namespace: str | None) -> dict[str, list[int]]:
    """The registry version numbers of registered model ``name`` per tracking store, lowest first."""
    escaped = f"models:/{name}/".replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    place = "namespace = ?" if namespace else "namespace LIKE ?"
    rows = reader.sql.all(
        f"SELECT namespace, name FROM datasets WHERE {place} AND name LIKE ? ESCAPE '\\'",
        (namespace or MLFLOW_NAMESPACES, f"{escaped}%"),
    )
    versions: dict[str, list[int]] = {}
    for ns, full in rows:
        match = _REGISTRY_VERSION.match(full)
        if match and match["name"] == name:
            versions.setdefault(ns, []).append(int(match["version"]))
    return {ns: sorted(numbers) for ns, numbers in sorted(versions.items())}


def _latest(reader: Reader, name: str, namespace: str | None) -> tuple[str, str]:
    versions = _registry_versions(reader, name, namespace)
    if not versions:
        raise NotFound(f"no registry version of MLflow model {name!r} in {_known_places(reader, namespace)}")
    if len(versions) > 1:
        raise AmbiguousModel(
            f"MLflow model {name!r} is registered in several tracking stores: {', '.join(versions)}; "
            "name the one you mean with --namespace (namespace=...)"
        )
    [(ns, numbers)] = versions.items()
    return ns, f"models:/{name}/{numbers[-1]}"


def _alias(reader: Reader, name: str, alias: str, namespace: str | None) -> tuple[str, str]:
    """MLflow aliases are not recorded in the lineage store (its facets carry registry versions only), so an
    alias cannot be resolved: say so, with the versions that can be named instead."""
    versions = _registry_versions(reader, name, namespace)
    known = "; ".join(f"{', '.join(map(str, numbers))} in {ns}" for ns, numbers in versions.items())
    instead = f"versions known: {known}" if known else f"no version of it is in {_known_places(reader, namespace)}"
    raise NotFound(
        f"MLflow alias {alias!r} of {name!r} is unknown: nblineage records registry versions, not aliases; "
        f"name a version as models:/{name}/<version> or models:/{name}/latest ({instead})"
    )


def _known_places(reader: Reader, namespace: str | None = None) -> str:
    """Where an MLflow URI was looked for, for a NotFound message."""
    if namespace:
        return f"namespace {namespace!r}"
    stores = tracking_stores(reader)
    if not stores:
        return "the lineage store: it knows no MLflow tracking store (no MLflow model has been recorded in it)"
    return f"the MLflow tracking stores the lineage store knows ({', '.join(stores)})"


def _known_versions(reader: Reader, uri: str) -> str:
    match = _REGISTRY_VERSION.match(uri)
    if not match:
        return ""
    versions = _registry_versions(reader, match["name"], None)
    numbers = sorted({n for found in versions.values() for n in found})
    return f"; versions of {match['name']!r} it knows: {', '.join(map(str, numbers))}" if numbers else ""


def _logged_by_run(reader: Reader, uri: str, namespace: str | None) -> tuple[str, str]:
    """The model an MLflow run logged: a dataset named ``uri`` itself (MLflow 2), else the models whose facets
    name the run, logged models (``models:/m-...``) first."""
    if namespace is None:
        named = [ns for ns, is_model in reader.mlflow_datasets(uri) if is_model]
        if len(named) == 1:
            return named[0], uri
    run_id, _, path = uri[len("runs:/") :].partition("/")
    if not run_id:
        raise NotFound(f"{uri!r} names no MLflow run (expected runs:/<run_id>/<path>)")
    names: dict[tuple[str, str], str | None] = {}  # each model the run logged -> the name it was logged as
    for ns, name, facet_name, facet in reader.models_mentioning(run_id, (MODEL_FACET, MLFLOW_FACET)):
        if _run_of(facet_name, as_dict(facet)) == run_id and namespace in (None, ns):
            logged_as = as_str(as_dict(as_dict(facet).get("mlflow")).get("modelName"))
            names[(ns, name)] = logged_as or names.get((ns, name))
    candidates = sorted(names)
    logged = [pair for pair in candidates if pair[1].startswith("models:/m-")] or candidates
    if not logged:
        raise NotFound(f"no model logged by MLflow run {run_id!r} is in the lineage store")
    named = [pair for pair in logged if path and names[pair] == path.strip("/")]
    if named:  # MLflow 3: runs:/<run_id>/<name> is the model logged under that name
        logged = named
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
