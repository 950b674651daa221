"""The provenance registry keeps no user object alive, never gives a dead object's provenance to a new one that
reuses its ``id``, and stays within its memory bound."""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

from nblineage.kernel_ext.provenance import NO_SOURCES, Provenance, Registry, Source

SOURCE = Provenance(frozenset({Source("file", "/data/train.csv", "v1")}))


class Frame:
    """A stand-in for a DataFrame: an object that can be weakly referenced."""


def test_a_tagged_list_is_not_kept_alive_and_its_memory_is_freed() -> None:
    registry = Registry()
    namespace: dict = {}
    tracemalloc.start()
    try:
        namespace["rows"] = [(i, str(i)) for i in range(100_000)]
        built = tracemalloc.get_traced_memory()[0]
        before = sys.getrefcount(namespace["rows"])
        registry.tag(namespace["rows"], SOURCE, binding=(namespace, "rows"))
        after = sys.getrefcount(namespace["rows"])
        assert after == before, "the registry holds a reference to the list"
        assert registry.of(namespace["rows"]) == SOURCE
        del namespace["rows"]
        gc.collect()
        left = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert left < built / 20, (built, left)
    registry.sweep()
    assert len(registry) == 0 and registry.bytes == 0


def test_a_dict_and_a_tuple_are_tagged_by_their_binding() -> None:
    registry = Registry()
    namespace = {"settings": {"a": 1}, "pair": (Frame(), Frame())}
    for name in namespace:
        registry.tag(namespace[name], SOURCE, binding=(namespace, name))
    assert registry.of(namespace["settings"]) == registry.of(namespace["pair"]) == SOURCE
    namespace["alias"] = namespace["settings"]
    registry.tag(namespace["alias"], SOURCE, binding=(namespace, "alias"))
    del namespace["settings"]
    registry.sweep()
    assert registry.of(namespace["alias"]) == SOURCE  # still bound under its other name


def test_an_unbound_list_is_not_kept() -> None:
    registry = Registry()
    registry.tag([1, 2, 3], SOURCE)
    assert len(registry) == 0


def _same_id(old_id: int, make: Callable[[], Any], kept: list) -> object | None:
    """A new object made by ``make`` at ``old_id`` (CPython reuses freed memory at once), or None; the others are
    kept in ``kept`` meanwhile (made before the old object was freed, so it does not take its place)."""
    for _ in range(10_000):
        candidate = make()
        if id(candidate) == old_id:
            return candidate
        kept.append(candidate)
    return None


def test_id_reuse_does_not_carry_provenance() -> None:
    for make in (lambda: [], lambda: {}):  # literals take freed objects from CPython's free lists
        registry = Registry()
        namespace: dict = {"rows": make()}
        registry.tag(namespace["rows"], SOURCE, binding=(namespace, "rows"))
        old_id = id(namespace["rows"])
        kept: list = []
        del namespace["rows"]
        reused = _same_id(old_id, make, kept)
        assert reused is not None, "CPython did not reuse the id"
        assert not registry.of(reused)  # the name no longer holds it: not the tagged object
        namespace["other"] = reused
        assert not registry.of(reused)
        registry.sweep()  # after the cell: the entry is gone, so even a rebinding of the same name is safe
        namespace["rows"] = reused
        assert not registry.of(reused)


def test_a_weakly_referenced_object_is_forgotten_when_collected() -> None:
    registry = Registry()
    frame = Frame()
    registry.tag(frame, SOURCE)
    assert registry.of(frame) == SOURCE and registry.bytes > 0
    del frame
    gc.collect()
    assert len(registry) == 0 and registry.bytes == 0


def test_the_registry_stays_within_its_bound() -> None:
    limit = 256 << 10
    registry = Registry(max_bytes=limit)
    frames = [Frame() for _ in range(20_000)]
    tracemalloc.start()
    try:
        for index, frame in enumerate(frames):
            registry.tag(frame, Provenance(frozenset({Source("file", f"/data/part-{index}.csv", f"v{index}")})))
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert registry.bytes <= limit
    assert 0 < len(registry) < len(frames)
    assert registry.of(frames[-1]) and not registry.of(frames[0])  # the oldest go first
    held = sum(
        stat.size
        for stat in snapshot.statistics("filename")
        if stat.traceback[0].filename.endswith("kernel_ext/provenance.py")
    )
    assert held <= limit, f"the registry holds {held} bytes, over its bound of {limit}"


def test_shared_provenance_is_counted_once() -> None:
    registry = Registry()
    frames = [Frame() for _ in range(100)]
    registry.tag(frames[0], SOURCE)
    one = registry.bytes
    for frame in frames[1:]:
        registry.tag(frame, SOURCE)
    assert registry.bytes - one < 99 * SOURCE.footprint


def test_a_provenance_through_many_runs_counts_its_bytes_as_a_fresh_one_would() -> None:
    """``through`` carries the footprint forward (a frame changed in each of hundreds of cells is not walked again
    each time): the count equals the one made from scratch, run after run."""
    provenance = SOURCE
    for cell in range(300):
        provenance = provenance.through(f"run-{cell:04d}-{'x' * (cell % 7)}")
        assert "footprint" in provenance.__dict__ or cell == 0
        _ = provenance.footprint
        fresh = Provenance(provenance.sources, provenance.precision, provenance.runs)
        assert provenance.footprint == fresh.footprint, cell
    assert provenance.through("run-0000-") is provenance  # a run it went through already: the same object


def test_results_a_cell_derives_from_the_same_inputs_share_one_provenance() -> None:
    """A frame read in an earlier cell and used many times in this one (``df['x1']``, ``df['x2']``...): every result
    gets the same provenance object, counted once by the registry, not one copy a result."""
    registry, frame = Registry(), Frame()
    registry.tag(frame, SOURCE.through("cell-1"))
    results = [Frame() for _ in range(50)]
    provenances = {id(registry.derive(result, frame, run_id="cell-2")) for result in results}
    assert len(provenances) == 1
    assert registry.of(results[0]).runs == {"cell-1", "cell-2"}
    before = registry.bytes
    registry.derive(Frame(), frame, run_id="cell-3")  # a new cell: a new provenance, remembered instead
    assert registry.of(results[-1]).runs == {"cell-1", "cell-2"}
    assert registry.bytes == before  # the derived frame was collected at once; what the 50 share is unchanged


def test_threads_tagging_and_objects_collected_meanwhile_leave_the_count_exact() -> None:
    registry = Registry(max_bytes=64 << 10)

    def work(index: int) -> None:
        for round_ in range(2_000):
            frame = Frame()
            registry.tag(frame, Provenance(frozenset({Source("file", f"/t{index}/{round_ % 7}.csv")})))
            assert registry.of(frame)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gc.collect()
    assert len(registry) == 0 and registry.bytes == 0


def test_a_numpy_view_has_the_provenance_of_its_array() -> None:
    import numpy as np

    registry = Registry()
    data = np.arange(12.0).reshape(4, 3)
    registry.tag(data, Provenance(frozenset({Source("file", "/d/pima.csv", "v1")})))
    X, y, picked = data[:, :2], data[:, 2], data[[0, 2]]
    assert registry.of(X) == registry.of(y) == registry.of(data)
    assert registry.of(X.T[1:]) == registry.of(data)  # a view of a view looks into the same array
    assert not registry.of(picked)  # fancy indexing copies: no hook saw it
    own = Provenance(frozenset({Source("file", "/d/other.csv", "v2")}))
    registry.tag(X, own)
    assert registry.of(X) == own  # what a hook said wins


def test_a_torch_view_has_the_provenance_of_its_tensor() -> None:
    """A batch sliced in a training loop (``X[i:i + 10]``) derives from the tensor it looks into."""
    import torch

    registry = Registry()
    X = torch.arange(40.0).reshape(20, 2)
    registry.tag(X, Provenance(frozenset({Source("file", "/d/pima.csv", "v1")})))
    batch, column = X[0:10], X[:, 1]
    assert registry.of(batch) == registry.of(column) == registry.of(X)
    assert registry.of(batch[2:4]) == registry.of(X)  # a view of a view looks into the same tensor
    assert not registry.of(X[[0, 3]])  # indexing by a list copies: no hook saw it
    assert not registry.of(X.clone())


def test_replace_sources_changes_exactly_the_tags_made_since() -> None:
    pending, final = (
        Source("postgres://h:5432", "db.public.t", "pending-1"),
        Source("postgres://h:5432", "db.public.t", "v9"),
    )
    other = Source("file", "/data/other.csv", "v1")
    registry = Registry()
    older = Frame()
    registry.tag(older, Provenance(frozenset({pending})))  # tagged before ``since``: not looked at
    since = registry.serial
    a, b, untouched = Frame(), Frame(), Frame()
    shared = Provenance(frozenset({pending, other}), "cell", frozenset({"run-1"}))
    registry.tag(a, shared)
    registry.tag(b, shared)
    registry.tag(untouched, SOURCE)
    namespace = {"rows": [(1, 2.5)]}
    registry.tag(namespace["rows"], Provenance(frozenset({pending})), binding=(namespace, "rows"))
    registry.replace_sources({pending: final}, since)
    assert registry.of(a) == registry.of(b) == Provenance(frozenset({final, other}), "cell")
    assert registry.of(a) is registry.of(b) and registry.of(a).runs == {"run-1"}  # still one object, runs kept
    assert registry.of(namespace["rows"]).sources == {final}
    assert registry.of(untouched) is SOURCE and registry.of(older).sources == {pending}
    fresh = Registry()  # the same tags made directly: the same memory accounted
    fresh.tag(older, Provenance(frozenset({pending})))
    fresh.tag(untouched, SOURCE)
    made = Provenance(frozenset({final, other}), "cell", frozenset({"run-1"}))
    fresh.tag(a, made)
    fresh.tag(b, made)
    fresh.tag(namespace["rows"], Provenance(frozenset({final})), binding=(namespace, "rows"))
    assert registry.bytes == fresh.bytes and len(registry) == len(fresh) == 5


def test_a_retag_with_the_same_provenance_counts_as_the_newest_tag() -> None:
    """An object tagged again with the provenance it has (a frame changed in place, cell after cell) keeps its
    entry, but as the newest tag: ``replace_sources`` since a later serial still finds it, and the byte count is
    unchanged."""
    pending, final = Source("postgres://h:5432", "db.public.t", "pending-1"), Source("postgres://h:5432", "db.public.t")
    registry, frame = Registry(), Frame()
    provenance = Provenance(frozenset({pending}))
    registry.tag(frame, provenance)
    held = registry.bytes
    since = registry.serial
    registry.tag(frame, provenance)
    assert registry.bytes == held and len(registry) == 1
    registry.replace_sources({pending: final}, since)
    assert registry.of(frame).sources == {final}
    del frame
    gc.collect()
    assert len(registry) == 0 and registry.bytes == 0  # the entry kept its reference's callback


def test_a_union_where_one_side_holds_the_other_is_that_side() -> None:
    """``frame | column`` where the column went through no run the frame did not: the frame's object itself (no new
    object whose runs are counted again); otherwise a new one, and exact only when both are."""
    other = Source("file", "/data/other.csv", "v1")
    frame = SOURCE.through("run-1").through("run-2")
    column = SOURCE.through("run-1")
    assert frame | column is frame and column | frame is frame and frame | frame is frame
    cell = frame.at_cell_precision()
    assert frame | cell is cell and cell | frame is cell  # exact with cell is cell
    assert (cell | frame).precision == "cell" and (frame | column).precision == "exact"
    wider = Provenance(frozenset({other}), "exact", frozenset({"run-3"})) | column
    assert wider.sources == {other, *SOURCE.sources} and wider.runs == {"run-1", "run-3"}
    assert wider is not column and not (column | wider).runs ^ wider.runs
    fresh = Provenance(column.sources, "exact", column.runs | {"run-9"})
    assert column | fresh is fresh and (column | fresh).runs == {"run-1", "run-9"}


def test_made_of_nothing_joins_as_nothing_known() -> None:
    """``NO_SOURCES`` (made of no dataset) joined with an empty provenance (nothing known) is nothing known, and
    with sources is those sources: a table created empty, then filled with rows of unknown origin, is not made of
    nothing."""
    read = Provenance(frozenset({Source("file", "/a.csv", "v1")}))
    unknown = Provenance()
    assert (NO_SOURCES | unknown) is unknown and (unknown | NO_SOURCES) is unknown
    assert (NO_SOURCES | NO_SOURCES) is NO_SOURCES
    assert (NO_SOURCES | read) is read and (read | NO_SOURCES) is read
