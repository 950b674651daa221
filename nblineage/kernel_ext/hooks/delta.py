"""Delta Lake (``deltalake``): table versions, not file fingerprints.

A Delta table is named by its location (a local folder: ``file`` namespace and absolute path; a URI: its
namespace and key) and versioned by the Delta version read or written: ``DeltaTable(uri, version=3)`` (and
``load_as_version``) then ``to_pandas``/``to_pyarrow_table``/``to_pyarrow_dataset`` read version 3, and the frame or
table returned derives from it. ``write_deltalake(uri, data)`` records the table at the version the commit made,
derived from ``data``'s provenance (and, for ``mode="append"``, from the version before it, which it holds).
Readers called by other libraries record inside their call, so what a hooked reader returns carries the version
too. Polars: ``scan_delta(uri, version=N)`` tags its LazyFrame with the table (at ``N``; at no version yet when
none is asked, nothing read); Polars resolves the scan on threads of its own when the frame is collected
(``DeltaDataset.to_dataset_scan``), where the version it reads is recorded and handed to the collect
(``scans.engine_read``), whose frame then derives from that version. ``read_delta`` (a scan collected inside it)
gives its frame the version read the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import scans
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import schema_facet
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.naming import dataset_from_uri, file_dataset

__all__ = ["DeltaInstrumentor", "table_source"]

READS = ("to_pandas", "to_pyarrow_table", "to_pyarrow_dataset")


class DeltaInstrumentor(Instrumentor):
    """Patches ``deltalake``'s reads and ``write_deltalake`` (module docstring)."""

    modules = ("deltalake", "polars.io.delta._dataset", "polars.io.delta.functions")
    requires = ("deltalake>=0.15",)

    def patches(self, module: Any) -> Iterator[Patch]:
        if module.__name__ == "polars.io.delta.functions":
            yield module, "scan_delta", intercept("polars.scan_delta", _polars_lazy)
            yield module, "read_delta", intercept("polars.read_delta", _polars_read)
            return
        if module.__name__ == "polars.io.delta._dataset":
            if "to_dataset_scan" in getattr(module, "DeltaDataset", type).__dict__:
                where = "polars.DeltaDataset.to_dataset_scan"
                yield module.DeltaDataset, "to_dataset_scan", intercept(where, _polars_scan, nested=True)
            return
        table = module.DeltaTable
        for method in READS:
            if method in table.__dict__:
                yield table, method, intercept(f"deltalake.DeltaTable.{method}", _read, nested=True)
        yield module, "write_deltalake", intercept("deltalake.write_deltalake", _write)


def table_source(uri: str, version: Any) -> Source:
    """The dataset version of a lakehouse table at ``uri`` (a folder or URI), at ``version`` (None: unknown)."""
    text = os.fsdecode(os.fspath(uri)) if not isinstance(uri, str) else uri
    name = dataset_from_uri(text) if "://" in text or text.startswith("file:") else file_dataset(text)
    return Source(name.namespace, name.name, None if version is None else str(version))


def _read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    table = args[0]
    source = table_source(table.table_uri, table.version())
    capture.read(source, result, schema_facet(result))


def _polars_scan(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """Polars resolved a Delta scan: the version it reads is an input (of the Polars call under way, if one records
    on this thread; else of the collect under way on another, which Polars runs this for)."""
    table = args[0].table()
    source = table_source(table.table_uri, table.version())
    capture.read(source, result)
    scans.engine_read(source)  # for the collect under way


def _asked(args: tuple, kwargs: dict) -> Source | None:
    """The table a Polars Delta reader was given, at the version asked (a number; a timestamp or none: unknown until
    Polars reads it)."""
    target = argument(args, kwargs, 0, "source", None)
    version = kwargs.get("version")
    if target is None:
        return None
    number = version if isinstance(version, int) and not isinstance(version, bool) else None
    if hasattr(target, "table_uri") and hasattr(target, "version"):  # a DeltaTable: read at its own version
        return table_source(target.table_uri, number if version is not None else target.version())
    if not isinstance(target, (str, os.PathLike)):
        return None
    return table_source(target, number)


def _polars_lazy(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pl.scan_delta``: the LazyFrame derives from the table; the version is the one read at collect."""
    asked = _asked(args, kwargs)
    if asked is not None:
        capture.registry.tag(result, capture.exact({asked}))


def _polars_read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pl.read_delta``: the frame derives from the table at the versions Polars read (else the one asked)."""
    asked = _asked(args, kwargs)
    if asked is None:
        return
    read = scans.engine_reads().get((asked.namespace, asked.name)) or {asked}
    for source in read:
        capture.read(source, result, schema_facet(result))
    capture.registry.tag(result, capture.exact(read))


def _write(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    from deltalake import DeltaTable

    target = argument(args, kwargs, 0, "table_or_uri", None)
    data = argument(args, kwargs, 1, "data", None)
    if target is None:
        return
    if isinstance(target, DeltaTable):
        target.update_incremental()
        table = target
    else:
        table = DeltaTable(target, storage_options=kwargs.get("storage_options"))
    version = table.version()
    provenance = capture.of(data)
    if kwargs.get("mode", "error") == "append" and version > 0:  # the new version holds the last one
        provenance = provenance | capture.exact({table_source(table.table_uri, version - 1)})
    capture.write(table_source(table.table_uri, version), data, schema_facet(data), provenance=provenance or None)
