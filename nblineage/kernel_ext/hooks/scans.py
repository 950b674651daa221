"""What the DuckDB and Polars hooks share: the files a path, a glob or a list of them names, and lazy scans whose
files are versioned when the data is finally read.

A glob (``data/*.csv``, ``**/*.parquet``) is expanded to the files it matches now, each one dataset (as
``pd.concat(map(pd.read_csv, glob(...)))`` records them); a folder is one dataset (a partitioned table). A lazy
scan tags its frame with the files' versions at scan time and remembers them here; ``resolve`` re-versions them
when the frame is collected or sunk (a cached ``stat`` when nothing changed), and records them as inputs then.

A library's engine may read on threads of its own while a collect runs (Polars resolves a Delta or Iceberg scan on
its thread pool): what it read there (``engine_read``) is the version the collect read of that table, which
``resolve`` gives a table the frame was tagged with at no version (a scan that asked for none).
"""

from __future__ import annotations

import glob
import os
import threading
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.files import Location, locate, locate_all
from nblineage.kernel_ext.provenance import Provenance, Source

_GLOB = frozenset("*?[")
MAX_FILES = 4096  # files of one glob recorded
_lazy: dict[tuple[str, str], Location] = {}  # (namespace, name) -> where a lazy scan will read
_engine: dict[tuple[str, str], set[Source]] = {}  # (namespace, name) -> versions an engine's threads read
_engine_lock = threading.Lock()


def locations(target: Any) -> list[Location]:
    """The files, folders or URIs ``target`` names: a path, a glob, a URI, a file object, or a list of them."""
    targets = target if isinstance(target, (list, tuple)) else [target]
    found: list[Location] = []
    for item in targets:
        if isinstance(item, (str, os.PathLike)):
            text = os.fspath(item)
            if isinstance(text, str) and "://" not in text and _GLOB & set(text):
                paths = sorted(glob.glob(os.path.expanduser(text), recursive=True))[:MAX_FILES]
                found.extend(location for location in map(locate, paths) if location is not None)
                continue
        found.extend(locate_all(item))
    return list(dict.fromkeys(found))


def scanned(capture: Capture, frame: Any, places: list[Location]) -> None:
    """A lazy scan of ``places``: ``frame`` derives from them (versions now); nothing is read yet."""
    sources = []
    for location in places:
        source = location.source()
        _lazy[(source.namespace, source.name)] = location
        sources.append(source)
    if sources:
        capture.registry.tag(frame, capture.exact(sources))


def engine_read(source: Source) -> None:
    """A library's engine read ``source`` on a thread of its own, for the collect under way on another."""
    with _engine_lock:
        _engine.setdefault((source.namespace, source.name), set()).add(source)


def engine_reads() -> dict[tuple[str, str], set[Source]]:
    """What engines read on their own threads since last asked (the collect that just ended), taken."""
    if not _engine:
        return {}
    with _engine_lock:
        taken = dict(_engine)
        _engine.clear()
    return taken


def unclaimed(
    engine: dict[tuple[str, str], set[Source]], provenances: list[Provenance]
) -> dict[tuple[str, str], set[Source]]:
    """``engine``'s reads less the versions that scans pinned to a version (``version=1``) in ``provenances``
    claim, so that a scan that asked for none gets the others (the latest), unless it read the same version."""
    if not engine:
        return engine
    pinned: dict[tuple[str, str], set[Source]] = {}
    for provenance in provenances:
        for source in provenance.sources:
            if source.version is not None and (source.namespace, source.name) in engine:
                pinned.setdefault((source.namespace, source.name), set()).add(source)
    return {key: (read - pinned.get(key, set())) or read for key, read in engine.items()}


def resolve(
    capture: Capture,
    provenance: Provenance,
    result: Any = None,
    engine: dict[tuple[str, str], set[Source]] | None = None,
) -> Provenance:
    """``provenance`` with the lazily scanned files versioned now, and a table scanned at no version that an engine
    read on its own threads (``engine``, by default what it read since last asked, ``unclaimed``) at the versions
    it read; those are inputs of the cell (read into ``result`` when given)."""
    if engine is None:
        engine = unclaimed(engine_reads(), [provenance])
    if not provenance or not (_lazy or engine):
        return provenance
    sources: set[Source] = set()
    changed = False
    for source in provenance.sources:
        key = (source.namespace, source.name)
        location = _lazy.get(key)
        if key in engine and source.version is None:
            now_read = engine[key]
        elif location is not None:
            now_read = {location.source()}
        else:
            sources.add(source)
            continue
        for now in now_read:
            changed |= now != source
            sources.add(now)
            if result is not None:
                capture.read(now, result)
            else:
                capture.record.add_input(now)
    if not changed:
        return provenance
    return Provenance(frozenset(sources), provenance.precision, provenance.runs)
