"""Who owns a dataset: the policy file's owner of it first, then the owners the standard OpenLineage ``ownership``
facet last sent for it names (from any producer), each name once. ``impact`` and reports both ask here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nblineage.governance.answers import Answer
from nblineage.governance.read import Reader, as_dict, as_list, as_str, load_json

OWNERSHIP_FACET = "ownership"  # the standard OpenLineage OwnershipDatasetFacet

Owners = Callable[[str, str], tuple["Owner", ...]]


@dataclass(frozen=True)
class Owner(Answer):
    """An owner of a dataset: ``source`` is ``ownership`` (the facet its events carried) or ``policy``."""

    name: str
    type: str | None
    source: str


def owners(reader: Reader, names: Iterable[tuple[str, str]], policy: Any = None) -> Owners:
    """A function giving the owners of each dataset in ``names`` (namespace, name), read in one query per chunk;
    ``policy`` (a ``governance.policy.Policy``, or None) names owners first."""
    facets = _ownership(reader, names)

    def of(namespace: str, name: str) -> tuple[Owner, ...]:
        found: dict[str, Owner] = {}
        if policy is not None:
            owner = as_str(policy.for_dataset(namespace, name).owner)
            if owner:
                found[owner] = Owner(owner, None, "policy")
        for entry in as_list(as_dict(facets.get((namespace, name))).get("owners")):
            entry = as_dict(entry)
            owner = as_str(entry.get("name"))
            if owner and owner not in found:
                found[owner] = Owner(owner, as_str(entry.get("type")), "ownership")
        return tuple(found.values())

    return of


def _ownership(reader: Reader, names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The latest ``ownership`` facet of each dataset that has one, by (namespace, name)."""
    rows = reader.sql.joined(
        "SELECT d.namespace, d.name, f.payload FROM",
        "JOIN datasets d ON d.namespace = k.column1 AND d.name = k.column2 JOIN facets f ON f.entity = 'dataset' "
        f"AND f.entity_id = d.id AND f.name = '{OWNERSHIP_FACET}'",
        sorted(set(names)),
    )
    return {(row[0], row[1]): load_json(row[2]) for row in rows}
