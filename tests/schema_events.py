"""Hypothesis strategies for OpenLineage events drawn from the official JSON schemas, and hostile mutations of them.

`events()` follows the core schema (RunEvent, JobEvent, DatasetEvent) and fills each ``facets`` object with facets
of the right kind from the spec's facet schemas; `mutated()` then replaces a few values anywhere in the event by
values of another type or hostile ones (huge integers, deep nesting, NUL, control and bidi characters, long text).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from functools import cache
from typing import Any

from hypothesis import strategies as st
from spec import SPEC_DIR

_MAX_DEPTH = 3  # of generated schema objects, to keep examples small
_BASES = ("RunFacet", "JobFacet", "DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet")


@cache
def _documents() -> dict[str, dict[str, Any]]:
    documents = {}
    for path in [SPEC_DIR / "OpenLineage.json", *sorted((SPEC_DIR / "facets").glob("*.json"))]:
        schema = json.loads(path.read_text())
        documents[schema["$id"]] = schema
    return documents


def _core() -> str:
    return json.loads((SPEC_DIR / "OpenLineage.json").read_text())["$id"]


def _resolve(ref: str, base: str) -> tuple[dict[str, Any], str]:
    document, _, pointer = ref.partition("#")
    document = document or base
    node: Any = _documents()[document]
    for part in pointer.strip("/").split("/") if pointer.strip("/") else ():
        node = node[part]
    return node, document


@cache
def _facets_by_base() -> dict[str, list[tuple[str, str, str]]]:
    """(facet name, $ref, document) of every spec facet, by the base facet it extends."""
    found: dict[str, list[tuple[str, str, str]]] = {base: [] for base in _BASES}
    for document, schema in _documents().items():
        for name, prop in (schema.get("properties") or {}).items():
            if "$ref" not in prop or document == _core():
                continue
            definition, _ = _resolve(prop["$ref"], document)
            refs = [part.get("$ref", "") for part in definition.get("allOf", [])]
            for base in _BASES:
                if any(ref.endswith(f"/{base}") for ref in refs):
                    found[base].append((name, prop["$ref"], document))
    return found


def _uuids() -> st.SearchStrategy[str]:
    return st.uuids().map(str)


def _times() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    return moments.map(lambda moment: moment.isoformat() + "Z")


def _text() -> st.SearchStrategy[str]:
    """Any text but NUL: the store refuses NUL in names, versions and the datasets facets name, with its reason
    (the hostile events below bring it)."""
    return st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


def from_schema(schema: dict[str, Any], document: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid for ``schema`` (a subset of JSON Schema: what the OpenLineage spec uses); beyond a few levels,
    where the facet schemas recurse, a plain string."""
    if depth > 3 * _MAX_DEPTH:
        return _text()
    if "$ref" in schema:
        target, where = _resolve(schema["$ref"], document)
        base = schema["$ref"].rsplit("/", 1)[-1]
        if base in _BASES:  # what every facet extends: its _producer and _schemaURL
            return st.fixed_dictionaries({"_producer": _text(), "_schemaURL": _text()})
        return st.deferred(lambda: from_schema(target, where, depth + 1))
    if "allOf" in schema:
        parts = [from_schema(part, document, depth) for part in schema["allOf"]]
        return st.tuples(*parts).map(_merge)
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of(*(from_schema(part, document, depth) for part in schema.get("anyOf") or schema["oneOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        form = schema.get("format")
        return _uuids() if form == "uuid" else _times() if form == "date-time" else _text()
    if kind == "integer":
        return st.integers(-(2**31), 2**31)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return st.lists(from_schema(items, document, depth + 1), max_size=2 if depth < _MAX_DEPTH else 0)
    if kind == "object" or "properties" in schema:
        return _object(schema, document, depth)
    return st.one_of(st.none(), st.booleans(), st.integers(), _text())


def _object(schema: dict[str, Any], document: str, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    properties = {
        key: ({"type": "string", "format": "uuid"} if key == "runId" else value) for key, value in properties.items()
    }
    fixed = {key: from_schema(value, document, depth + 1) for key, value in properties.items() if key in required}
    optional = {
        key: from_schema(value, document, depth + 1)
        for key, value in properties.items()
        if key not in required and depth < _MAX_DEPTH
    }
    extra = schema.get("additionalProperties")
    extras = (
        st.dictionaries(st.text(min_size=1, max_size=8), from_schema(extra, document, depth + 1), max_size=2)
        if isinstance(extra, dict) and depth < _MAX_DEPTH
        else st.just({})
    )
    return st.tuples(st.fixed_dictionaries(fixed, optional=optional), extras).map(lambda pair: {**pair[1], **pair[0]})


def _merge(parts: tuple[Any, ...]) -> Any:
    merged: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, dict):
            merged.update(part)
    return merged


@cache
def _facet_maps() -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """``facets`` objects keyed by the spec's own facet names (parent, lineage, version, columnLineage...)."""
    maps = {}
    for base in _BASES:
        choices = _facets_by_base()[base]
        entries = {name: st.deferred(lambda r=ref, d=doc: from_schema({"$ref": r}, d, 0)) for name, ref, doc in choices}
        maps[base] = st.fixed_dictionaries({}, optional=entries)
    return maps


def _dataset(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(["/data/raw.csv", "/data/out.csv", "db.public.t", "models/m.joblib"])
    entry: dict[str, Any] = {
        "namespace": st.sampled_from(["file", "s3://bucket", "postgres://h:5432"]),
        "name": names,
    }
    optional = {"facets": _facet_maps()["DatasetFacet"]}
    if kind == "input":
        optional["inputFacets"] = _facet_maps()["InputDatasetFacet"]
    if kind == "output":
        optional["outputFacets"] = _facet_maps()["OutputDatasetFacet"]
    return st.fixed_dictionaries(entry, optional=optional)


def events() -> st.SearchStrategy[dict[str, Any]]:
    """Schema-valid RunEvents, JobEvents and DatasetEvents with the spec's facets."""
    core = _core()
    base = {
        "eventTime": _times(),
        "producer": st.just("https://github.com/nblineage/fuzz"),
        "schemaURL": st.just(f"{core}#/$defs/RunEvent"),
    }
    job = st.fixed_dictionaries(
        {"namespace": st.sampled_from(["jupyter", "airflow"]), "name": st.sampled_from(["a", "b", "nb#c1"])},
        optional={"facets": _facet_maps()["JobFacet"]},
    )
    run = st.fixed_dictionaries(
        {"runId": st.sampled_from([str(uuid.UUID(int=n)) for n in range(1, 6)])},
        optional={"facets": _facet_maps()["RunFacet"]},
    )
    ios = {"inputs": st.lists(_dataset("input"), max_size=2), "outputs": st.lists(_dataset("output"), max_size=2)}
    run_event = st.fixed_dictionaries(
        {**base, "run": run, "job": job},
        optional={"eventType": st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"]), **ios},
    )
    job_event = st.fixed_dictionaries({**base, "job": job}, optional=ios)
    dataset_event = st.fixed_dictionaries({**base, "dataset": _dataset("static")})
    return st.one_of(run_event, job_event, dataset_event)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, 2**64, 2**70, -(2**64) - 1, int("9" * 400)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.sampled_from("a\x00\x1b\x07\u009b\u202e\u2028\ufeff/:@é中"), max_size=8),
    st.sampled_from(["x" * 3000, "é" * 1500, "not-a-uuid", "0999-01-01T00:00:00Z", "10000-01-01T00:00:00Z"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([300, 900]).map(_nested),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any] | Any:
    """A schema-valid event with up to three values (or keys' values) replaced by hostile ones."""
    event = draw(events())
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(event)
        path = draw(st.sampled_from(paths))
        value = draw(HOSTILE)
        if not path:  # the event itself replaced (by anything but a list: a line "[...]" makes an array file)
            event = value if not isinstance(value, list) else {"list": value}
            break
        node = event
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return event
