"""What a view marks on a dataset or model node: its classification tags and its latest data-quality outcome.

Tags are the keys of the standard ``tags`` facet last sent for the dataset (the policy's tags and its columns'
tags, or another producer's); quality is the summary of the newest result of each suite on that version
(:func:`nblineage.governance.quality.results_for`), ``failed`` when one failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nblineage.governance.quality import results_for, summary
from nblineage.governance.read import Reader, as_dict, as_list, as_str, load_json

TAGS_FACET = "tags"  # the standard OpenLineage TagsDatasetFacet
Key = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class Badges:
    tags: tuple[str, ...] = ()
    quality: str | None = None  # "passed", "failed", or None: never checked


NONE = Badges()


def badges(reader: Reader, keys: Iterable[Key]) -> dict[Key, Badges]:
    """The badges of each dataset version (namespace, name, version), in one read; versions with none are left out."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    tags = _tags(reader, {(namespace, name) for namespace, name, _ in keys})
    quality = results_for(reader, keys)
    found = {}
    for key in keys:
        passed = summary(quality.get(key, []))
        marks = Badges(tags.get(key[:2], ()), None if passed is None else "passed" if passed else "failed")
        if marks != NONE:
            found[key] = marks
    return found


def _tags(reader: Reader, names: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, ...]]:
    rows = reader.sql.joined(
        "SELECT d.namespace, d.name, f.payload FROM",
        "JOIN datasets d ON d.namespace = k.column1 AND d.name = k.column2 JOIN facets f ON f.entity = 'dataset' "
        f"AND f.entity_id = d.id AND f.name = '{TAGS_FACET}'",
        sorted(names),
    )
    found = {}
    for namespace, name, payload in rows:
        keys = {as_str(as_dict(tag).get("key")) for tag in as_list(as_dict(load_json(payload)).get("tags"))}
        if keys - {None}:
            found[(namespace, name)] = tuple(sorted(key for key in keys if key))
    return found
