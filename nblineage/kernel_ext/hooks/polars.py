"""Polars: the files a notebook reads, scans and writes, and provenance carried through transforms.

Reads (``read_csv``, ``read_parquet``, ``read_ipc``, ``read_json``, ``read_ndjson``, ``read_excel``, ``read_avro``;
globs and lists of files) record an input per file and tag the frame returned. Lazy scans (``scan_csv``,
``scan_parquet``, ``scan_ipc``, ``scan_ndjson``) read nothing: the LazyFrame holds the files' provenance, resolved
at ``collect`` (and ``collect_all``, ``sink_*``), when the files become inputs of the cell that collects them,
versioned then (``scans.resolve``). Writes (``DataFrame.write_*``, ``LazyFrame.sink_*``) record an output whose
inputs are exactly the provenance of the frame written; a write that returns text records nothing.

Transforms: every public method of ``DataFrame``, ``LazyFrame`` and their group-bys, and the common ``Series``
ones, give their result the union of the provenance of the object they were called on and of the frames they were
given (``join``, ``concat``, ``with_columns``, ``filter``, ``group_by().agg``); conversions (``to_numpy``,
``to_pandas``, ``to_arrow``, ``to_torch``, ``pl.from_pandas``...) carry it across libraries. Delta and Iceberg
readers (``read_delta``, ``scan_delta``) belong to the lakehouse hooks; a collect puts the table versions Polars
read on its own threads in the frame's provenance (``scans.resolve``). Nothing is imported before the user imports
polars.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext import columns, guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import scans
from nblineage.kernel_ext.hooks.calls import argument, inputs
from nblineage.kernel_ext.hooks.files import locate, record_read
from nblineage.kernel_ext.instrument import Instrumentor, Patch, defining_class, intercept

READERS = ("read_csv", "read_parquet", "read_ipc", "read_ipc_stream", "read_json", "read_ndjson", "read_excel")
READERS += ("read_avro", "read_ods")
SCANS = ("scan_csv", "scan_parquet", "scan_ipc", "scan_ndjson", "scan_lines")
WRITERS = ("write_csv", "write_parquet", "write_ipc", "write_ipc_stream", "write_json", "write_ndjson")
WRITERS += ("write_excel", "write_avro")
SINKS = ("sink_csv", "sink_parquet", "sink_ipc", "sink_ndjson")
FUNCTIONS = ("concat", "from_pandas", "from_arrow", "from_numpy", "from_dict", "from_dicts", "from_records")
FUNCTIONS += ("from_torch", "align_frames", "scan_pyarrow_dataset")
COLLECTS = ("collect", "collect_async", "fetch", "profile")
# DataFrame / LazyFrame methods left alone: writes (hooked apart), display, and answers that hold no data.
SKIPPED = frozenset(
    {
        *WRITERS,
        *SINKS,
        *COLLECTS,
        "write_database",
        "write_delta",
        "write_iceberg",
        "write_clipboard",
        "sink_delta",
        "sink_iceberg",
        "sink_batches",
        "show",
        "glimpse",
        "explain",
        "show_graph",
        "serialize",
        "item",
        "is_empty",
        "estimated_size",
        "equals",
        "n_chunks",
        "collect_schema",
        "deserialize",
        "cache",
    }
)
SERIES_METHODS = (
    "__getitem__",
    "__array__",
    "to_numpy",
    "to_list",
    "to_pandas",
    "to_arrow",
    "to_frame",
    "to_torch",
    "to_dummies",
    "cast",
    "alias",
    "rename",
    "fill_null",
    "fill_nan",
    "drop_nulls",
    "filter",
    "head",
    "tail",
    "sample",
    "sort",
    "unique",
    "value_counts",
    "is_in",
    "map_elements",
    "replace",
    "clip",
    "round",
    "log",
    "sqrt",
    "abs",
)
_ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or")
OPERATORS = (*(f"__{op}__" for op in _ARITHMETIC), *(f"__r{op}__" for op in _ARITHMETIC))
OPERATORS += ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__neg__", "__invert__")


class PolarsInstrumentor(Instrumentor):
    """Patches polars I/O and transforms (module docstring)."""

    modules = ("polars",)
    requires = ("polars>=0.20",)

    def patches(self, module: Any) -> Iterator[Patch]:
        from polars.dataframe.group_by import GroupBy
        from polars.lazyframe.group_by import LazyGroupBy

        for name in READERS:
            yield module, name, intercept(f"polars.{name}", _read)
        for name in SCANS:
            yield module, name, intercept(f"polars.{name}", _scan)
        for name in FUNCTIONS:
            yield module, name, intercept(f"polars.{name}", _derive)
        yield module, "collect_all", intercept("polars.collect_all", _collected_all)
        frame, lazy = module.DataFrame, module.LazyFrame
        for cls, names in ((frame, WRITERS), (lazy, SINKS)):
            for name in names:
                if name in cls.__dict__:
                    yield cls, name, intercept(f"polars.{cls.__name__}.{name}", _write, before=_check_write)
        for name in COLLECTS:
            if name in lazy.__dict__:
                yield lazy, name, intercept(f"polars.LazyFrame.{name}", _collect)
        for cls in (frame, lazy, GroupBy, LazyGroupBy):
            yield from _methods(cls, _public(cls))
        yield from _methods(frame, ("__init__", "__getitem__", "__array__", *OPERATORS))
        yield from _methods(lazy, ("__init__",))
        yield from _methods(module.Series, (*SERIES_METHODS, *OPERATORS))


def _public(cls: type) -> list[str]:
    """The public methods of a polars class (properties and class methods left out), less :data:`SKIPPED`."""
    names = []
    for name in dir(cls):
        if name.startswith("_") or name in SKIPPED:
            continue
        owner = defining_class(cls, name)
        if owner is not None and callable(owner.__dict__[name]) and not isinstance(owner.__dict__[name], type):
            names.append(name)
    return names


def _methods(cls: type, names: Any) -> Iterator[Patch]:
    seen: set[tuple[type, str]] = set()
    for name in names:
        owner = defining_class(cls, name)
        if owner is None or (owner, name) in seen or not owner.__module__.startswith("polars"):
            continue
        seen.add((owner, name))
        yield owner, name, intercept(f"polars.{owner.__name__}.{name}", _AFTERS.get(name, _derive))


def _read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    places = scans.locations(argument(args, kwargs, 0, "source", None))
    if places:
        record_read(capture, places, result, _schema(result))
    else:  # bytes or a buffer in memory
        capture.derive(result, *inputs(args, kwargs))


def _scan(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    scans.scanned(capture, result, scans.locations(argument(args, kwargs, 0, "source", None)))


def _collect(capture: Capture, result: Any, args: tuple, kwargs: dict, engine: Any = None) -> None:
    """``LazyFrame.collect()``: the lazily scanned files (and Delta tables, at the versions Polars' threads read)
    are read now; the frame derives from the lazy one."""
    provenance = scans.resolve(capture, capture.of(args[0]), result, engine)
    if provenance:
        capture.registry.tag(result, provenance.through(capture.cell_run_id))


def _collected_all(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pl.collect_all([lf, ...])``: each frame from its lazy one."""
    frames = argument(args, kwargs, 0, "lazy_frames", ())
    if isinstance(result, list) and isinstance(frames, (list, tuple)) and len(frames) == len(result):
        engine = scans.unclaimed(scans.engine_reads(), [capture.of(lazy) for lazy in frames])  # read for all of them
        for lazy, frame in zip(frames, result, strict=True):
            _collect(capture, frame, (lazy,), {}, engine)


def _write(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    target = argument(args, kwargs, 1, "file", None)
    if target is None:
        target = kwargs.get("path", kwargs.get("workbook"))
    if target is None:
        return  # written to text the call returned
    location = locate(target)
    if location is None:
        return
    provenance = scans.resolve(capture, capture.of(args[0]))  # a sink reads the lazily scanned files now
    capture.write(location.source(written=True), args[0], _schema(args[0]), provenance=provenance)


def _check_write(capture: Capture, args: tuple, kwargs: dict) -> None:
    target = argument(args, kwargs, 1, "file", None) or kwargs.get("path")
    if target is not None and args:
        guard.check_write(capture, args[0], target, model=False)


def _derive(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The result (for ``__init__`` and methods returning None: the object itself) derives from the call's object
    and arguments; each frame of a list or dict result too (``partition_by``, ``split``)."""
    target = args[0] if result is None and args else result
    sources = inputs(args, kwargs)
    if isinstance(target, (list, tuple)):
        for item in target[:4096]:
            capture.derive(item, *sources)
    elif isinstance(target, dict) and not _is_row(target):
        for item in list(target.values())[:4096]:
            capture.derive(item, *sources)
    elif not isinstance(target, (bool, int, float, str, bytes)):
        capture.derive(target, *sources)


def _with_columns(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``with_columns``/``select``: the result derives; each expression's output column comes from the columns it
    reads (``(pl.col("a") / pl.col("b")).alias("ratio")``: ratio <- a, b), for column lineage."""
    _derive(capture, result, args, kwargs)
    rules: dict[str, frozenset[str]] = {}
    named = [(None, expr) for expr in _flat(args[1:])] + list(kwargs.items())
    for output, expr in named:
        meta = getattr(expr, "meta", None)
        if meta is None or not hasattr(meta, "root_names"):
            continue
        roots = frozenset(str(root) for root in meta.root_names())
        if output is None:
            try:
                output = meta.output_name()
            except Exception:  # a wildcard or a selector: no one output
                continue
        if roots and output and roots != {output}:
            rules[str(output)] = roots
    columns.learn(capture, rules)


def _renamed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``rename({"old": "new"})``: the result derives; each new name is its old column."""
    _derive(capture, result, args, kwargs)
    mapping = argument(args, kwargs, 1, "mapping", None)
    if isinstance(mapping, dict):
        columns.learn(capture, {str(new): frozenset({str(old)}) for old, new in mapping.items() if old != new})


def _converted(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``DataFrame.to_numpy()``: the array derives from the frame and holds its columns, in order."""
    _derive(capture, result, args, kwargs)
    names = getattr(args[0], "columns", None) if args else None
    if isinstance(names, list):
        columns.name_array(capture, result, names)


def _flat(values: tuple) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if isinstance(value, (list, tuple)):
            found.extend(value)
        else:
            found.append(value)
    return found


_AFTERS = {"with_columns": _with_columns, "select": _with_columns, "rename": _renamed, "to_numpy": _converted}


def _is_row(value: dict) -> bool:
    return bool(value) and not any(hasattr(item, "__len__") for item in value.values())


def _schema(frame: Any) -> dict[str, Any]:
    """The schema facet of an eager polars frame (a LazyFrame's would need its plan resolved: none)."""
    polars = sys.modules.get("polars")
    if polars is None or not isinstance(frame, polars.DataFrame):
        return {}
    return {"schema": {"fields": [{"name": str(name), "type": str(dtype)} for name, dtype in frame.schema.items()]}}
