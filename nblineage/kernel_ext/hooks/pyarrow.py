"""pyarrow: Parquet, CSV and Feather files and datasets read and written, and provenance into and out of Arrow.

Reads (``parquet.read_table``, ``ParquetFile`` reads, ``ParquetDataset`` reads, ``csv.read_csv``/``open_csv``,
``feather.read_table``/``read_feather``, ``dataset.dataset``) record an input per file, folder (a partitioned
dataset, versioned by the fingerprints of its files) or URI, with the schema, and tag the table, reader or Dataset
returned. A ``ParquetFile`` or ``ParquetDataset`` remembers what it opened and records when it is read.
Writes (``parquet.write_table``/``write_to_dataset``, ``csv.write_csv``, ``feather.write_feather``,
``dataset.write_dataset``) record an output with the provenance of the table or frame written.

``pyarrow.table(df)`` and ``Table.to_pandas()`` carry provenance between pandas and Arrow. Arrow's own classes
(Table, Dataset, Scanner) are extension types that cannot be patched, so ``Dataset.to_table()``, ``Table.select``
or ``Table.from_pandas`` results get provenance from the cell fallback instead; the Dataset itself is tagged.
Each submodule is patched when it is imported, never earlier.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext import guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument, inputs
from nblineage.kernel_ext.hooks.files import Location, locate, locate_all, record_read, record_write, schema_facet
from nblineage.kernel_ext.hookstate import ObjectFacts
from nblineage.kernel_ext.instrument import After, Instrumentor, Patch, intercept

# What a ParquetFile / ParquetDataset opened: {"locations": [Location, ...]}.
_opened = ObjectFacts()


class PyarrowInstrumentor(Instrumentor):
    """Patches pyarrow file I/O and the pandas conversions (module docstring)."""

    requires = ("pyarrow>=14.0",)
    modules = (
        "pyarrow",
        "pyarrow.parquet",
        "pyarrow.csv",
        "pyarrow.feather",
        "pyarrow.dataset",
        "pyarrow.pandas_compat",
    )

    def patches(self, module: Any) -> Iterator[Patch]:
        name = module.__name__
        if name == "pyarrow":
            yield from _functions(module, {"table": _derive, "record_batch": _derive})
        elif name == "pyarrow.parquet":
            yield from _functions(
                module,
                {
                    "read_table": _reader(0, "source", None),
                    "read_pandas": _reader(0, "source", None),
                    "write_table": _writer(1, "where", None),
                    "write_to_dataset": _writer(1, "root_path", 3),
                },
            )
            yield from _opener(module.ParquetFile, 1, "source", None, ("read", "read_row_group", "read_row_groups"))
            yield from _opener(module.ParquetDataset, 1, "path_or_paths", 2, ("read", "read_pandas"))
            yield module.ParquetFile, "iter_batches", intercept("pyarrow.ParquetFile.iter_batches", _read_opened)
        elif name == "pyarrow.csv":
            yield from _functions(
                module,
                {
                    "read_csv": _reader(0, "input_file", None),
                    "open_csv": _reader(0, "input_file", None),
                    "write_csv": _writer(1, "output_file", None),
                },
            )
        elif name == "pyarrow.feather":
            yield from _functions(
                module,
                {
                    "read_table": _reader(0, "source", None),
                    "read_feather": _reader(0, "source", None),
                    "write_feather": _writer(1, "dest", None),
                },
            )
        elif name == "pyarrow.dataset":
            yield from _functions(
                module, {"dataset": _reader(0, "source", 3), "write_dataset": _writer(1, "base_dir", None)}
            )
        elif name == "pyarrow.pandas_compat":
            yield from _functions(module, {"table_to_dataframe": _derive})


def _functions(module: Any, afters: dict[str, After]) -> Iterator[Patch]:
    """A patch of each function (and, by the base, of every public module that exports it); a writer's is checked
    by the policy guard before it writes."""
    for name, after in afters.items():
        before = getattr(after, "before", None)
        yield module, name, intercept(f"{module.__name__}.{name}", after, before=before)


def _opener(cls: type, index: int, parameter: str, fs_index: int | None, reads: tuple[str, ...]) -> Iterator[Patch]:
    """``cls(source)`` remembers what it opened; its ``reads`` record it."""
    yield cls, "__init__", intercept(f"pyarrow.{cls.__name__}", _remember(index, parameter, fs_index))
    for name in reads:
        yield cls, name, intercept(f"pyarrow.{cls.__name__}.{name}", _read_opened)


def _filesystem(args: tuple, kwargs: dict, fs_index: int | None) -> Any:
    return argument(args, kwargs, fs_index, "filesystem", None) if fs_index is not None else kwargs.get("filesystem")


def _reader(index: int, parameter: str, fs_index: int | None) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        source = argument(args, kwargs, index, parameter, None)
        locations = locate_all(source, _filesystem(args, kwargs, fs_index))
        if locations:
            record_read(capture, locations, result, schema_facet(result))
        else:  # in-memory data (pyarrow.dataset.dataset(table)) or a buffer
            capture.derive(result, *inputs((source,), {}))

    return after


def _writer(index: int, parameter: str, fs_index: int | None) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        location = locate(argument(args, kwargs, index, parameter, None), _filesystem(args, kwargs, fs_index))
        if location is not None:
            record_write(capture, location, args[0])

    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, index, parameter, None)
        if target is not None and args:
            guard.check_write(capture, args[0], target, model=False, filesystem=_filesystem(args, kwargs, fs_index))

    after.before = before  # type: ignore[attr-defined]
    return after


def _remember(index: int, parameter: str, fs_index: int | None) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        locations = locate_all(argument(args, kwargs, index, parameter, None), _filesystem(args, kwargs, fs_index))
        if locations:
            _opened.remember(args[0], {"locations": locations})

    return after


def _read_opened(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """A read of an opened ParquetFile / ParquetDataset: its files are inputs of the result (batch iterator)."""
    opened = args[0]
    locations: list[Location] = _opened.get(opened).get("locations", [])
    if locations:
        facets = schema_facet(result) or schema_facet(getattr(opened, "schema_arrow", None))
        record_read(capture, locations, result, facets)


def _derive(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pyarrow.table(frame)``, ``Table.to_pandas()``: the result derives from the data converted."""
    capture.derive(result, *inputs(args, kwargs))
