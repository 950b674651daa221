"""What the DuckDB and Polars hooks share: the files a path, a glob or a list of them names, and lazy scans whose
files are versioned when the data is finally read.

A glob (``data/*.csv``, ``**/*.parquet``) is expanded to the files it matches now, each one dataset (as
``pd.concat(map(pd.read_csv, glob(...)))`` records them); a folder is one dataset (a partitioned table). A lazy
scan tags its frame with the files' versions at scan time and remembers them here; ``resolve`` re-versions them
when the frame is collected or sunk (a cached ``stat`` when nothing changed), and records them as inputs then.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.files import Location, locate, locate_all
from nblineage.kernel_ext.provenance import Provenance, Source

_GLOB = frozenset("*?[")
MAX_FILES = 4096  # files of one glob recorded
_lazy: dict[tuple[str, str], Location] = {}  # (namespace, name) -> where a lazy scan will read


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


def resolve(capture: Capture, provenance: Provenance, result: Any = None) -> Provenance:
    """``provenance`` with the lazily scanned files versioned now; those files are inputs of the cell (read into
    ``result`` when given)."""
    if not provenance or not _lazy:
        return provenance
    sources: set[Source] = set()
    changed = False
    for source in provenance.sources:
        location = _lazy.get((source.namespace, source.name))
        if location is None:
            sources.add(source)
            continue
        now = location.source()
        changed |= now != source
        sources.add(now)
        if result is not None:
            capture.read(now, result)
        else:
            capture.record.add_input(now)
    if not changed:
        return provenance
    return Provenance(frozenset(sources), provenance.precision, provenance.runs)
