"""Delta Lake (``deltalake``): table versions, not file fingerprints.

A Delta table is named by its location (a local folder: ``file`` namespace and absolute path; a URI: its
namespace and key) and versioned by the Delta version read or written: ``DeltaTable(uri, version=3)`` (and
``load_as_version``) then ``to_pandas``/``to_pyarrow_table``/``to_pyarrow_dataset`` read version 3, and the frame or
table returned derives from it. ``write_deltalake(uri, data)`` records the table at the version the commit made,
derived from ``data``'s provenance (and, for ``mode="append"``, from the version before it, which it holds).
Readers called by other libraries record inside their call, so what a hooked reader returns carries the version
too: Polars' ``read_delta``/``scan_delta`` resolve the table version when the scan runs
(``DeltaDataset.to_dataset_scan``), which records the version read as an input of the cell (and of the Polars call
under way when a Polars hook records it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import schema_facet
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.naming import dataset_from_uri, file_dataset

__all__ = ["DeltaInstrumentor", "table_source"]

READS = ("to_pandas", "to_pyarrow_table", "to_pyarrow_dataset")


class DeltaInstrumentor(Instrumentor):
    """Patches ``deltalake``'s reads and ``write_deltalake`` (module docstring)."""

    modules = ("deltalake", "polars.io.delta._dataset")
    requires = ("deltalake>=0.15",)

    def patches(self, module: Any) -> Iterator[Patch]:
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
    """Polars resolved a Delta scan: the version it reads is an input (of the Polars call under way, if one records)."""
    table = args[0].table()
    capture.read(table_source(table.table_uri, table.version()), result)


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
