"""Validation against the official OpenLineage JSON schemas in ../shared/openlineage-spec (test data only)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = Path(os.environ.get("NBLINEAGE_SPEC_DIR", ROOT.parent / "shared" / "openlineage-spec"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@cache
def registry() -> Registry:
    schemas = [_load(SPEC_DIR / "OpenLineage.json"), *(_load(p) for p in sorted((SPEC_DIR / "facets").glob("*.json")))]
    return Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas)


@cache
def core_id() -> str:
    return _load(SPEC_DIR / "OpenLineage.json")["$id"]


def event_errors(payload: dict[str, Any], kind: str) -> list[str]:
    """Schema errors of an event of ``kind`` (RunEvent, DatasetEvent, JobEvent); empty when valid."""
    validator = Draft202012Validator({"$ref": f"{core_id()}#/$defs/{kind}"}, registry=registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(payload)]


def facet_errors(facets: dict[str, Any], facet_file: str) -> list[str]:
    """Schema errors of a ``{key: facet}`` object against one facet schema file."""
    schema = _load(SPEC_DIR / "facets" / f"{facet_file}.json")
    validator = Draft202012Validator(schema, registry=registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(facets)]


def samples() -> list[Path]:
    """Every sample under the spec's tests/ folder."""
    return sorted((SPEC_DIR / "tests").rglob("*.json"))
