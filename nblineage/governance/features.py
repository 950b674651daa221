"""Which columns a model's features come from, as far as column lineage reaches.

A feature starts at the columns of the same name in the upstream datasets (their ``schema`` facet, or a field of
their ``columnLineage`` facet; failing that, the one column whose name differs only in case and punctuation) and
at the columns the notebook computed it from (the model facet's ``featureLineage``, found the same way), then
follows each ``columnLineage`` facet from a field to its ``inputFields``, breadth first, to datasets outside the
upstream answer too. Both facets are read from the ``facets`` table (the latest of each dataset): columns rarely
change between versions, and inputs seldom carry them per version.
"""

from __future__ import annotations

from collections import deque

from nblineage.governance.answers import Feature, FeatureColumn, InputDataset
from nblineage.governance.read import Reader, as_dict, as_list, as_str

MAX_COLUMNS = 1000  # per feature: a bound against enormous or cyclic column graphs
Column = tuple[str, str, str]  # namespace, name, field


class Columns:
    """The columns and column lineage of datasets, each read once."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._known: dict[tuple[str, str], tuple[frozenset[str], dict[str, list[Column]]]] = {}
        self._folded: dict[tuple[str, str], dict[str, str]] = {}

    def names(self, namespace: str, name: str) -> frozenset[str]:
        return self._read(namespace, name)[0]

    def match(self, namespace: str, name: str, field: str) -> str | None:
        """The dataset's column ``field`` names: itself, else the one column that differs only in case and
        punctuation (a notebook that ran ``df.columns = df.columns.str.lower()``), else None."""
        names = self.names(namespace, name)
        if field in names:
            return field
        key = (namespace, name)
        if key not in self._folded:
            folded: dict[str, list[str]] = {}
            for column in names:
                folded.setdefault(_fold(column), []).append(column)
            self._folded[key] = {k: v[0] for k, v in folded.items() if len(v) == 1}
        return self._folded[key].get(_fold(field))

    def inputs(self, namespace: str, name: str, field: str) -> list[Column]:
        return self._read(namespace, name)[1].get(field, [])

    def _read(self, namespace: str, name: str) -> tuple[frozenset[str], dict[str, list[Column]]]:
        key = (namespace, name)
        if key not in self._known:
            found = self.reader.dataset(namespace, name)
            self._known[key] = _columns(self.reader, found[0]) if found else (frozenset(), {})
        return self._known[key]


def _columns(reader: Reader, dataset_id: int) -> tuple[frozenset[str], dict[str, list[Column]]]:
    schema = as_dict(reader.dataset_facet(dataset_id, "schema"))
    names = {as_str(as_dict(field).get("name")) for field in as_list(schema.get("fields"))}
    lineage: dict[str, list[Column]] = {}
    fields = as_dict(as_dict(reader.dataset_facet(dataset_id, "columnLineage")).get("fields"))
    for field, entry in fields.items():
        inputs = []
        for item in as_list(as_dict(entry).get("inputFields")):
            item = as_dict(item)
            parts = (as_str(item.get("namespace")), as_str(item.get("name")), as_str(item.get("field")))
            if all(parts):
                inputs.append(parts)
        lineage[field] = inputs
    return frozenset(name for name in names | set(lineage) if name), lineage


def _fold(column: str) -> str:
    """A column name without case, spaces and punctuation: ``Lot Frontage`` and ``lot_frontage`` are one."""
    return "".join(character for character in column.casefold() if character.isalnum())


def features(
    reader: Reader,
    names: list[str],
    datasets: tuple[InputDataset, ...],
    derived: dict[str, list[str]] | None = None,
) -> tuple[Feature, ...]:
    """One Feature per name, with the columns behind it, nearest first. ``derived`` is the model facet's
    ``featureLineage``: the columns the notebook's code computed a feature from, looked up the same way."""
    columns = Columns(reader)
    versions: dict[tuple[str, str], str | None] = {}
    for dataset in sorted(datasets, key=lambda d: d.depth):
        versions.setdefault((dataset.namespace, dataset.name), dataset.version)
    derived = derived or {}
    return tuple(Feature(name, _trace(columns, name, derived.get(name, []), versions)) for name in names)


def _trace(
    columns: Columns, feature: str, computed_from: list[str], versions: dict[tuple[str, str], str | None]
) -> tuple[FeatureColumn, ...]:
    starts = [(feature, "schema"), *((column, "notebook") for column in computed_from)]
    queue: deque[tuple[str, str, str, str]] = deque(
        (namespace, name, matched, via)
        for field, via in starts
        for namespace, name in versions
        if (matched := columns.match(namespace, name, field)) is not None
    )
    seen: set[Column] = set()
    found: list[FeatureColumn] = []
    while queue and len(found) < MAX_COLUMNS:
        namespace, name, field, via = queue.popleft()
        if (namespace, name, field) in seen:
            continue
        seen.add((namespace, name, field))
        inputs = columns.inputs(namespace, name, field)
        found.append(FeatureColumn(namespace, name, versions.get((namespace, name)), field, via, not inputs))
        queue.extend((*column, "columnLineage") for column in inputs)
    return tuple(found)
