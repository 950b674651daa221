"""Which dataset versions an in-memory object derives from.

The registry never keeps a user's object alive. An object that can be weakly referenced is keyed by ``id`` with a
weak reference, and forgotten when it is collected. One that cannot (a list, dict or tuple) is known by its
bindings instead: the names a statement bound it to (``tag(..., binding=(namespace, name))``). Its entry holds no
reference to it, only its ``id``, those names and a witness (type, length, first and last items' ids); it is
valid while one of those names still holds an object of that ``id`` and witness, and it is forgotten at the sweep
after each cell once none does: a new object that reuses the ``id`` after the old one was deleted does not inherit
its provenance (unless, in the very cell that deleted it, it is bound to one of its names, is of the same type, and
for a tuple has the same length, first and last items). Such an object tagged with no binding (a hook's
intermediate result) is not kept: its items carry their own provenance. A numpy or torch view no hook tagged (a slice,
``X = data[:, :8]``) has the provenance of the array it looks into (tagging a view tags that array too, unless it
has provenance of its own), or of the rows it looks at (``view_rows``). The registry's own memory is bounded
(``MAX_BYTES``): past it, the oldest entries are forgotten first.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

Precision = Literal["exact", "cell"]
MAX_BYTES = 64 << 20  # the registry's own memory: entries and the provenance they hold
Binding = tuple[dict[str, Any], str]  # (namespace, name)
# The version prefix a SQL read's tables carry while its rows may still come (``hooks/sql/rowversion.py``; never
# stored), here so that what checks for it need not import the SQL machinery.
PENDING = "nblineage-pending-"


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
        if not other.sources or other is self:  # made of nothing and of what is not known: not known
            return other if self is NO_SOURCES else self
        if not self.sources:
            return other
        if (
            (self.precision == "cell" or other.precision == "exact")
            and other.sources <= self.sources
            and other.runs <= self.runs
        ):
            return self  # it holds all of the other (a column of a frame and the frame): no new object to count
        if (
            (other.precision == "cell" or self.precision == "exact")
            and self.sources <= other.sources
            and self.runs <= other.runs
        ):
            return other  # the other holds all of it (a frame and its column that went through one more run)
        precision: Precision = "exact" if self.precision == other.precision == "exact" else "cell"
        return Provenance(self.sources | other.sources, precision, self.runs | other.runs)

    def through(self, run_id: str | None) -> Provenance:
        """This provenance, having gone through the cell run ``run_id`` too: one object for all the results a cell
        derives from the same inputs (the last one made is remembered)."""
        if not run_id or run_id in self.runs:
            return self
        last = self.__dict__.get("_through")
        if last is not None and last[0] == run_id:
            return last[1]
        passed = Provenance(self.sources, self.precision, self.runs | {run_id})
        known = self.__dict__.get("footprint")
        if known is not None:  # one run more, counted from this one's: a frame changed in every cell has hundreds
            grown = sys.getsizeof(passed.runs) - sys.getsizeof(self.runs)
            passed.__dict__["footprint"] = known + grown + sys.getsizeof(run_id)
        self.__dict__["_through"] = (run_id, passed)
        return passed

    def without(self, namespace: str, name: str) -> Provenance:
        """This provenance less any version of the dataset ``name`` in ``namespace`` (what is written back where it
        came from, or written to the file it is read from: no edge of its own)."""
        kept = frozenset(s for s in self.sources if s.name != name or s.namespace != namespace)
        return self if len(kept) == len(self.sources) else Provenance(kept, self.precision, self.runs)

    def at_cell_precision(self) -> Provenance:
        return replace(self, precision="cell")

    @cached_property
    def footprint(self) -> int:
        """Bytes this provenance holds (its sets, sources and their text), counted once however many objects
        share it."""
        size = sys.getsizeof(self) + sys.getsizeof(self.sources) + sys.getsizeof(self.runs)
        size += sum(map(sys.getsizeof, self.runs))
        for source in self.sources:
            size += sys.getsizeof(source) + sys.getsizeof(source.namespace) + sys.getsizeof(source.name)
            size += sys.getsizeof(source.version) if source.version else 0
        return size


EMPTY = Provenance()
# What an object known to derive from no dataset has (constants made in the code: ``pickle.dump({"note": "full"},
# f)`` in a function of the user's own), told apart, by identity, from an empty provenance, which only says nothing
# is known: the store takes an output with no inputs to derive from every input of its cell run unless it says so.
NO_SOURCES = Provenance()


class _Entry:
    """What the registry knows of one object: a weak reference to it, or (when it cannot have one) its bindings
    and witness."""

    def __init__(
        self,
        provenance: Provenance,
        ref: weakref.ref | None = None,
        bindings: list[Binding] | None = None,
        witness: tuple[Any, ...] = (),
        serial: int = 0,  # the registry's number of the tag that made this entry
    ) -> None:
        self.provenance = provenance
        self.ref = ref
        self.bindings = [] if bindings is None else bindings
        self.witness = witness
        self.serial = serial

    def holds(self, obj: Any) -> bool:
        """Whether this entry is about ``obj`` itself (and not an object that reused its ``id``)."""
        if self.ref is not None:
            return self.ref() is obj
        return _witness(obj) == self.witness and any(space.get(name) is obj for space, name in self.bindings)

    def alive(self) -> bool:
        """Whether the object is still there (for an entry by bindings: still bound under one of its names)."""
        if self.ref is not None:
            return self.ref() is not None
        return any(self.holds(space.get(name)) for space, name in self.bindings)


ENTRY_BYTES = sys.getsizeof(_Entry(Provenance())) + 3 * 72  # the entry, its dict slot and key, its reference


class Registry:
    """Provenance of live objects, in at most ``max_bytes`` of the registry's own memory."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: dict[int, _Entry] = {}  # by id, oldest first
        self._shared: dict[int, list[Any]] = {}  # id(provenance) -> [provenance, entries holding it]
        # the number the next tag gets (entries are in the order of their numbers): :meth:`replace_sources` looks at
        # the tags made since one; an object's provenance is what it was when the number was last read, if unchanged
        self.serial = 0
        self._bound = 0  # entries by bindings
        self._sweep_at = 64  # entries by bindings at which dead ones are next looked for
        self.bytes = 0
        # Hooks run on the user's threads, and a collected object's callback may run in any thread, even in the
        # middle of a change here (the collector runs on allocation): reentrant.
        self._lock = threading.RLock()
        # What an untagged view of some rows of an array with row parts derives from (``hooks/rows.py``), or None
        self.view_rows: Callable[[Any, Any], Provenance | None] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def tag(self, obj: Any, provenance: Provenance, binding: Binding | None = None) -> None:
        """Set ``obj``'s provenance (replacing what it had). An object that cannot be weakly referenced is kept
        only with the ``binding`` (namespace, name) it was bound to."""
        if obj is None or not provenance or isinstance(obj, (bool, int, float, str, bytes)):
            return
        key = id(obj)
        old = self._entries.get(key)
        if old is not None and old.provenance is provenance and old.ref is not None and old.ref() is obj:
            with self._lock:  # tagged again with what it has (a frame changed in place): only the newest tag now
                if self._entries.get(key) is old:
                    del self._entries[key]
                    old.serial = self.serial
                    self.serial += 1
                    self._entries[key] = old
        else:
            self._tag_anew(obj, key, provenance, binding)
        base = _array_base(obj)
        if base is not None and id(base) not in self._entries:  # the array it looks into, that no hook saw
            self.tag(base, provenance)

    def _tag_anew(self, obj: Any, key: int, provenance: Provenance, binding: Binding | None) -> None:
        try:
            entry = _Entry(provenance, ref=weakref.ref(obj, lambda ref, key=key: self._collected(key, ref)))
        except TypeError:
            if binding is None:
                return
            old = self._entries.get(key)
            bindings = old.bindings if old is not None and old.ref is None and old.holds(obj) else []
            entry = _Entry(provenance, bindings=[*bindings, binding] if binding not in bindings else bindings)
            entry.witness = _witness(obj)
        with self._lock:
            self._drop(key)
            self._add(key, entry)

    def tracks(self, obj: Any) -> bool:
        """Whether ``obj`` itself has an entry: a cheap test before :meth:`of` on a hot path."""
        return id(obj) in self._entries

    def of(self, obj: Any) -> Provenance:
        """``obj``'s provenance, or the union of its items' for a tuple, list or dict of tracked objects."""
        entry = self._entries.get(id(obj))
        if entry is not None and entry.holds(obj):
            return entry.provenance
        if isinstance(obj, (tuple, list)) and len(obj) <= 64:
            return union(self.of(item) for item in obj)
        if isinstance(obj, dict) and len(obj) <= 64:
            return union(self.of(item) for item in obj.values())
        base = _array_base(obj)
        if base is None:
            return EMPTY
        if self.view_rows is not None:
            rows = self.view_rows(obj, base)
            if rows is not None:
                return rows
        return self.of(base)

    def derive(self, result: Any, *inputs: Any, run_id: str | None = None) -> Provenance:
        """Give ``result`` the union of its inputs' provenance (when any has one), gone through the cell run
        ``run_id``, and return it."""
        provenance = union(self.of(item) for item in inputs)
        if provenance:
            provenance = provenance.through(run_id)
            self.tag(result, provenance)
        return provenance

    def replace_sources(self, final: dict[Source, Source], since: int = 0) -> None:
        """Every object tagged since the tag numbered ``since`` whose provenance holds a key of ``final`` gets its
        value instead (a version known only once the rows an object came from were all fetched): the newest tags
        looked at first, back to ``since``; older ones cannot hold a source made after them."""
        with self._lock:
            changed: dict[int, Provenance | None] = {}
            found: list[tuple[int, _Entry, Provenance]] = []
            for key in reversed(self._entries):
                entry = self._entries[key]
                if entry.serial < since:
                    break
                old = entry.provenance
                if id(old) not in changed:  # each provenance object looked at once, however many objects share it
                    sources = None if old.sources.isdisjoint(final) else frozenset(final.get(s, s) for s in old.sources)
                    changed[id(old)] = None if sources is None else replace(old, sources=sources)
                new = changed[id(old)]
                if new is not None:
                    found.append((key, entry, new))
            for key, entry, provenance in found:
                self._drop(key)
                entry.provenance = provenance
                self._add(key, entry, sweep=False)

    def _add(self, key: int, entry: _Entry, sweep: bool = True) -> None:
        entry.serial = self.serial
        self.serial += 1
        self._entries[key] = entry
        shared = self._shared.setdefault(id(entry.provenance), [entry.provenance, 0])
        if not shared[1]:
            self.bytes += entry.provenance.footprint
        shared[1] += 1
        self.bytes += ENTRY_BYTES + 72 * len(entry.bindings)
        if entry.ref is None:
            self._bound += 1
            if sweep and self._bound >= self._sweep_at:
                self.sweep()
        while self.bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: int) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        shared = self._shared.get(id(entry.provenance))
        if shared is not None:
            shared[1] -= 1
            if not shared[1]:
                del self._shared[id(entry.provenance)]
                self.bytes -= entry.provenance.footprint
        self.bytes -= ENTRY_BYTES + 72 * len(entry.bindings)
        if entry.ref is None:
            self._bound -= 1

    def _collected(self, key: int, ref: weakref.ref) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.ref is ref:
                self._drop(key)

    def sweep(self) -> None:
        """Forget the entries by bindings whose names no longer hold their object: called after each cell, and
        whenever their number has doubled since the last sweep."""
        with self._lock:
            if not self._bound:  # no entry by bindings: nothing to look at
                self._sweep_at = 64
                return
            entries = self._entries.copy()  # a callback may drop entries meanwhile
            for key, entry in entries.items():
                if entry.ref is None and not entry.alive():
                    self._drop(key)
            self._sweep_at = max(64, 2 * self._bound)


def _witness(obj: Any) -> tuple[Any, ...]:
    """What tells an object from one that later reuses its ``id``: its type, and for a tuple (which cannot change)
    its length and first and last items."""
    if type(obj) is tuple and obj:
        return (tuple, len(obj), id(obj[0]), id(obj[-1]))
    return (type(obj),)


def _array_base(obj: Any) -> Any:
    """The array a numpy view (``X = data[:, :8]``) or a torch tensor view (``X[i:i + 10]``) looks into, which it
    derives from; else None."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(obj, numpy.ndarray):
        base = obj.base
        return base if isinstance(base, numpy.ndarray) else None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return obj._base  # a view's tensor (always the one holding the data), else None
    return None


def union(provenances: Iterable[Provenance]) -> Provenance:
    total = EMPTY
    for provenance in provenances:
        total = total | provenance
    return total
