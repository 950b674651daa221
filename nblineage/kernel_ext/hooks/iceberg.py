"""Apache Iceberg (``pyiceberg``): snapshot ids as versions.

An Iceberg table is named by its location (``table.metadata.location``: a local warehouse folder in the ``file``
namespace, or an object store URI), as OpenLineage's Spark integration names Iceberg tables; its version is the
snapshot id. ``table.scan(...)`` (``snapshot_id=`` for time travel) then ``to_arrow``/``to_pandas``/``to_polars``/
``to_duckdb``/``to_arrow_batch_reader`` read the scan's snapshot, and what they return derives from it.
``table.append(df)`` and ``table.overwrite(df)`` record the table at the snapshot their commit made, derived from
``df``'s provenance (an append also from the snapshot it was appended to). Polars' ``scan_iceberg(table)`` tags
its LazyFrame with the table (at ``snapshot_id=`` when asked); Polars resolves the scan on threads of its own at
collect (``IcebergScanResolver.to_dataset_scan``), where the snapshot it reads is recorded and handed to the
collect (``scans.engine_read``), as for Delta.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import scans
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.delta import table_source
from nblineage.kernel_ext.hooks.files import schema_facet
from nblineage.kernel_ext.instrument import After, Instrumentor, Patch, defining_class, intercept

__all__ = ["IcebergInstrumentor"]

READS = ("to_arrow", "to_pandas", "to_polars", "to_duckdb", "to_arrow_batch_reader")
WRITES = ("append", "overwrite")


class IcebergInstrumentor(Instrumentor):
    """Patches ``pyiceberg`` scans and table writes (module docstring)."""

    modules = ("pyiceberg.table", "polars.io.iceberg._dataset", "polars.io.iceberg.functions")
    requires = ("pyiceberg>=0.6",)

    def patches(self, module: Any) -> Iterator[Patch]:
        if module.__name__ == "polars.io.iceberg.functions":
            yield module, "scan_iceberg", intercept("polars.scan_iceberg", _polars_lazy)
            return
        if module.__name__ == "polars.io.iceberg._dataset":
            resolver = getattr(module, "IcebergScanResolver", type)
            if "to_dataset_scan" in resolver.__dict__:
                where = "polars.IcebergScanResolver.to_dataset_scan"
                yield resolver, "to_dataset_scan", intercept(where, _polars_scan, nested=True)
            return
        for name in READS:
            owner = defining_class(module.DataScan, name)
            if owner is not None:
                yield owner, name, intercept(f"pyiceberg.{owner.__name__}.{name}", _read)
        for name in WRITES:
            if name in module.Table.__dict__:
                yield module.Table, name, intercept(f"pyiceberg.Table.{name}", _write(name == "append"))


def _read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    scan = args[0]
    snapshot = scan.snapshot()
    source = table_source(scan.table_metadata.location, snapshot.snapshot_id if snapshot is not None else None)
    capture.read(source, result, schema_facet(result))


def _polars_lazy(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pl.scan_iceberg(table)``: the LazyFrame derives from the table; the snapshot is the one read at collect."""
    table = argument(args, kwargs, 0, "source", None)
    location = getattr(getattr(table, "metadata", None), "location", None)
    if isinstance(location, str):
        snapshot = kwargs.get("snapshot_id") or kwargs.get("to_snapshot_id_inclusive")
        capture.registry.tag(result, capture.exact({table_source(location, snapshot)}))


def _polars_scan(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """Polars resolved an Iceberg scan: the snapshot it reads is an input (of the collect under way on another
    thread, when this runs on one of Polars' own)."""
    resolver = args[0]
    table = resolver.table.get()
    snapshot = resolver.snapshot_id or resolver.to_snapshot_id_inclusive
    if snapshot is None:
        current = table.current_snapshot()
        snapshot = current.snapshot_id if current is not None else None
    source = table_source(table.metadata.location, snapshot)
    capture.read(source, result)
    scans.engine_read(source)  # for the collect under way


def _write(append: bool) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        table = args[0]
        data = argument(args, kwargs, 1, "df", None)
        snapshot = table.current_snapshot()
        location = table.metadata.location
        provenance = capture.of(data)
        parent = getattr(snapshot, "parent_snapshot_id", None)
        if append and parent is not None:  # the new snapshot holds the one it was appended to
            provenance = provenance | capture.exact({table_source(location, parent)})
        source = table_source(location, snapshot.snapshot_id if snapshot is not None else None)
        capture.write(source, data, schema_facet(data), provenance=provenance or None)

    return after
