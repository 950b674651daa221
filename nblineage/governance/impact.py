"""Impact: what must be retrained, regenerated or deleted if a dataset (or one version of it) is withdrawn.

:func:`impact` is the one function behind ``nblineage impact``, ``%lineage impact`` and ``/nblineage/api/impact``:
every model and dataset version derived from the dataset (through files, tables and models, as far as the depth
cap), with the versions of the dataset each derives from, its owners, the notebooks and cells that made it (with
the precision of that lineage) and an action: ``retrain`` a model; ``delete`` a dataset made only from withdrawn
data, ``regenerate`` one that has other inputs too. Owners come from the standard OpenLineage ``ownership``
dataset facet the store holds and, when a policy file is found, from its dataset rules. :func:`write_csv` writes
the answer as CSV, one row per item, safe to open in a spreadsheet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nblineage.governance.answers import Answer
from nblineage.governance.owners import Owner
from nblineage.governance.owners import owners as owners_of
from nblineage.governance.read import Reader
from nblineage.lineage import graph
from nblineage.lineage.graph import DEFAULT_DEPTH, DatasetRef, Derived, NotFound
from nblineage.lineage.store import Store

RETRAIN, REGENERATE, DELETE = "retrain", "regenerate", "delete"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula (OWASP CSV injection)
CSV_COLUMNS = (
    "action",
    "type",
    "namespace",
    "name",
    "version",
    "depth",
    "derived_from",
    "owners",
    "notebooks",
    "cells",
    "precision",
)


@dataclass(frozen=True)
class MadeBy(Answer):
    """A job that made an affected version: a notebook cell (``notebook`` and ``cell``, job ``NOTEBOOK#CELL``) or
    another producer's job, the run, and how the lineage through it is known (``exact``, ``cell``, None)."""

    job_namespace: str
    job: str
    notebook: str | None
    cell: str | None
    run_id: str | None
    precision: str | None


@dataclass(frozen=True)
class ImpactItem(Answer):
    """A model or dataset version derived from the withdrawn data, what to do with it, and who to tell."""

    action: str
    type: str
    namespace: str
    name: str
    version: str | None
    depth: int
    derived_from: tuple[str | None, ...]  # the withdrawn dataset's versions it derives from (None: unknown)
    owners: tuple[Owner, ...]
    made_by: tuple[MadeBy, ...]


@dataclass(frozen=True)
class ImpactAnswer(Answer):
    """What withdrawing ``dataset`` (``dataset.version`` only, when set) affects, nearest first."""

    dataset: DatasetRef
    type: str
    owners: tuple[Owner, ...]
    items: tuple[ImpactItem, ...]
    depth: int
    notes: tuple[str, ...] = ()
    columns = ("action", "type", "namespace", "name", "version", "depth", "from", "owners", "made by")

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "summary": self.summary()}

    def summary(self) -> dict[str, int]:
        """How many items each action has."""
        return {action: sum(item.action == action for item in self.items) for action in (RETRAIN, REGENERATE, DELETE)}

    def rows(self) -> list[list[Any]]:
        return [
            [
                item.action,
                item.type,
                item.namespace,
                item.name,
                item.version,
                item.depth,
                _versions(item.derived_from),
                _owners(item.owners),
                ", ".join(f"{m.job} ({m.precision or '-'})" for m in item.made_by) or None,
            ]
            for item in self.items
        ]

    def heading(self) -> list[str]:
        """Lines above the table: what is withdrawn, its owners, the count of each action."""
        which = "all versions" if self.dataset.version is None else f"version {self.dataset.version or 'unknown'}"
        counts = self.summary()
        return [
            f"Withdrawing {self.type} {self.dataset.namespace} {self.dataset.name} ({which})",
            f"owners: {_owners(self.owners) or 'none recorded'}",
            f"{_count(counts[RETRAIN], 'model')} to retrain, {_count(counts[REGENERATE], 'dataset')} to regenerate, "
            f"{_count(counts[DELETE], 'dataset')} to delete",
        ]

    def csv_rows(self) -> list[list[Any]]:
        """One row per item, in :data:`CSV_COLUMNS` order."""
        rows = []
        for item in self.items:
            precisions = {m.precision for m in item.made_by if m.precision}
            rows.append(
                [
                    item.action,
                    item.type,
                    item.namespace,
                    item.name,
                    item.version or "",
                    item.depth,
                    _versions(item.derived_from),
                    _owners(item.owners),
                    "; ".join(dict.fromkeys(m.notebook for m in item.made_by if m.notebook)),
                    "; ".join(dict.fromkeys(m.job for m in item.made_by)),
                    "cell" if "cell" in precisions else "exact" if precisions else "",
                ]
            )
        return rows


def impact(store: Store, ref: DatasetRef, version: str | None = None, depth: int = DEFAULT_DEPTH) -> ImpactAnswer:
    """What withdrawing ``ref`` (at ``version``, else ``ref.version``, else every version) affects.

    Raises ``NotFound`` when the store knows no such dataset or version.
    """
    ref = DatasetRef(ref.namespace, ref.name, ref.version if version is None else version)
    derived = graph.derived(store, ref, depth)
    notes = []
    if ref.version:  # readers that did not record which version they read may have read this one
        maybe = _unknown_version_readers(store, ref, depth, {_key(d) for d in derived})
        if maybe:
            notes.append(
                f"{maybe} more derive from this dataset with no version recorded: they may have read this version "
                "(run without --version to list them)"
            )
    policy, problem = _policy()
    if problem:
        notes.append(problem)
    with store.read() as conn:
        reader = Reader(conn)
        found = reader.dataset(ref.namespace, ref.name)
        if found is None:
            raise NotFound(f"no dataset named {ref.name!r} in namespace {ref.namespace!r}")
        names = [(ref.namespace, ref.name), *((d.node.namespace, d.node.name) for d in derived)]
        owners = owners_of(reader, names, policy)
        if _beyond(reader, [d for d in derived if d.node.depth >= depth]):
            notes.append(f"the walk stopped at depth {depth}: more derives from the farthest items (raise --depth)")
    items = tuple(
        ImpactItem(
            action=_action(item),
            type=item.node.type,
            namespace=item.node.namespace,
            name=item.node.name,
            version=item.node.version,
            depth=item.node.depth,
            derived_from=tuple(source or None for source in item.sources),
            owners=owners(item.node.namespace, item.node.name),
            made_by=tuple(_made_by(maker) for maker in item.makers),
        )
        for item in derived
    )
    return ImpactAnswer(
        dataset=ref,
        type="model" if found[1] else "dataset",
        owners=owners(ref.namespace, ref.name),
        items=items,
        depth=depth,
        notes=tuple(notes),
    )


def write_csv(answer: ImpactAnswer, path: str | Path) -> int:
    """Write the answer to ``path`` as CSV (a header, then one row per item); the number of items written. Text
    cells that a spreadsheet would run as a formula are prefixed with ``'``."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        rows = answer.csv_rows()
        writer.writerows([[safe_cell(value) for value in row] for row in rows])
    return len(rows)


def safe_cell(value: Any) -> Any:
    """``value`` for a CSV cell: text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _action(item: Derived) -> str:
    if item.node.type == "model":
        return RETRAIN
    return DELETE if item.only_derived else REGENERATE


def _made_by(maker: graph.Maker) -> MadeBy:
    notebook, hash_sign, cell = maker.name.rpartition("#")
    return MadeBy(
        job_namespace=maker.namespace,
        job=maker.name,
        notebook=notebook if hash_sign and notebook else None,
        cell=cell if hash_sign and notebook else None,
        run_id=maker.run_id,
        precision=maker.precision,
    )


def _key(item: Derived) -> tuple[str, str, str | None]:
    return (item.node.namespace, item.node.name, item.node.version)


def _unknown_version_readers(store: Store, ref: DatasetRef, depth: int, known: set) -> int:
    """How many items derive from the dataset's "version unknown" node and are not in the answer already."""
    try:
        found = graph.derived(store, DatasetRef(ref.namespace, ref.name, ""), depth)
    except NotFound:  # the dataset has no such node
        return 0
    return sum(1 for item in found if _key(item) not in known)


def _beyond(reader: Reader, farthest: list[Derived]) -> bool:
    """Whether anything derives from these items (the walk's depth cap cut it off)."""
    if not farthest:
        return False
    rows = reader.versions((d.node.namespace, d.node.name, d.node.version or "") for d in farthest)
    return bool(reader.fed_by(row.id for row in rows.values()))


def _policy() -> tuple[Any, str | None]:
    """The policy in force (None when there is none or no policy support), and why it could not be read."""
    try:
        from nblineage.governance import policy
    except ImportError:
        return None, None
    try:
        return policy.current(), None
    except (OSError, ValueError, ImportError) as error:  # PolicyError is a ValueError: "{file}:{line}: {what}"
        return None, f"policy not read, owners from events only: {error}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _versions(versions: Iterable[str | None]) -> str:
    return ", ".join(version or "(unknown)" for version in versions)


def _owners(owners: Iterable[Owner]) -> str:
    return ", ".join(owner.name for owner in owners)
