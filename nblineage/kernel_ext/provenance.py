"""Which dataset versions an in-memory object derives from.

Objects are keyed by ``id`` and forgotten when they are garbage collected (a weak reference where the type allows
one; otherwise the entry lives as long as the registry holds a strong reference, bounded by ``MAX_STRONG``).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Precision = Literal["exact", "cell"]
MAX_STRONG = 10_000


@dataclass(frozen=True, order=True)
class Source:
    """One dataset version."""

    namespace: str
    name: str
    version: str | None = None


@dataclass(frozen=True)
class Provenance:
    """The dataset versions an object derives from, and how we know: a hook saw it (exact) or the cell (cell).

    ``runs`` are the cell runs the object went through (its reads, transforms, fit): what its making cost is the
    sum of theirs. They do not take part in equality: two objects from the same data have the same provenance.
    """

    sources: frozenset[Source] = frozenset()
    precision: Precision = "exact"
    runs: frozenset[str] = field(default=frozenset(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.sources)

    def __or__(self, other: Provenance) -> Provenance:
        if not other.sources:
            return self
        if not self.sources:
            return other
        precision: Precision = "exact" if self.precision == other.precision == "exact" else "cell"
        return Provenance(self.sources | other.sources, precision, self.runs | other.runs)

    def through(self, run_id: str | None) -> Provenance:
        """This provenance, having gone through the cell run ``run_id`` too."""
        if not run_id or run_id in self.runs:
            return self
        return replace(self, runs=self.runs | {run_id})

    def at_cell_precision(self) -> Provenance:
        return replace(self, precision="cell")


EMPTY = Provenance()


class Registry:
    """Provenance of live objects."""

    def __init__(self) -> None:
        self._weak: dict[int, tuple[weakref.ref, Provenance]] = {}
        self._strong: OrderedDict[int, tuple[Any, Provenance]] = OrderedDict()

    def tag(self, obj: Any, provenance: Provenance) -> None:
        """Set ``obj``'s provenance (replacing what it had)."""
        if obj is None or not provenance or isinstance(obj, (bool, int, float, str, bytes)):
            return
        key = id(obj)
        try:
            ref = weakref.ref(obj, lambda _, key=key: self._weak.pop(key, None))
        except TypeError:
            self._strong[key] = (obj, provenance)
            self._strong.move_to_end(key)
            while len(self._strong) > MAX_STRONG:
                self._strong.popitem(last=False)
            return
        self._weak[key] = (ref, provenance)

    def of(self, obj: Any) -> Provenance:
        """``obj``'s provenance, or the union of its items' for a tuple, list or dict of tracked objects."""
        key = id(obj)
        entry = self._weak.get(key)
        if entry is not None and entry[0]() is obj:
            return entry[1]
        held = self._strong.get(key)
        if held is not None and held[0] is obj:
            return held[1]
        if isinstance(obj, (tuple, list)) and len(obj) <= 64:
            return union(self.of(item) for item in obj)
        if isinstance(obj, dict) and len(obj) <= 64:
            return union(self.of(item) for item in obj.values())
        return EMPTY

    def derive(self, result: Any, *inputs: Any, run_id: str | None = None) -> Provenance:
        """Give ``result`` the union of its inputs' provenance (when any has one), gone through the cell run
        ``run_id``, and return it."""
        provenance = union(self.of(item) for item in inputs)
        if provenance:
            provenance = provenance.through(run_id)
            self.tag(result, provenance)
        return provenance


def union(provenances: Iterable[Provenance]) -> Provenance:
    total = EMPTY
    for provenance in provenances:
        total = total | provenance
    return total
