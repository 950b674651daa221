"""pandas: the files a notebook reads and writes, and provenance carried through transforms.

Reads (``read_csv``, ``read_parquet``... in every public module that exports them) record an input, versioned by
the file's fingerprint, with a schema facet, and tag the frame returned (each frame of a dict, the reader of a
chunked read). Writes (``DataFrame.to_csv``, ``to_parquet``...) fingerprint the file afresh and record an output
whose inputs are exactly the provenance of the frame written; a write that returns text records nothing.
``get_dummies`` also tells which column each column it made encodes, a reshape (``melt``, ``pivot``, ``pivot_table``,
``stack``, ``unstack``) which columns' values each column it made holds, and a conversion to numpy which columns the
array holds (column lineage, ``columns.py``).

Transforms give their result the union of the provenance of the frames, series and arrays they were called on and with:
selection, indexing (``loc``/``iloc``), ``assign``/``__setitem__``, joins, concatenation, group-bys (the GroupBy object
carries its frame's provenance to the aggregate), reshaping, arithmetic and comparisons, and conversion to numpy
(``to_numpy``, ``values``, ``np.asarray``); a column set from a number or text no registry holds (``df["pred"] = pred``,
a model's text class) gets what the cell's statement reads by name. A method that works in place gives its frame the
provenance of what it was called with. Only the outermost hooked call of a statement records (pandas calls itself a
lot), and nothing is done when capture is off beyond the check. ``read_sql*``/``to_sql`` belong to the SQL hook.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

from nblineage.kernel_ext import columns, flow, guard
from nblineage.kernel_ext.capture import Capture, capturing, current, user_caller
from nblineage.kernel_ext.hooks import rows
from nblineage.kernel_ext.hooks.calls import argument, inputs
from nblineage.kernel_ext.hooks.files import locate, record_read, record_write, schema_facet
from nblineage.kernel_ext.instrument import After, Before, Instrumentor, Patch, defining_class, intercept
from nblineage.kernel_ext.provenance import EMPTY, Provenance, Source
from nblineage.kernel_ext.safety import report

# pandas function -> its parameter naming the file read.
READERS: dict[str, str] = {
    "read_csv": "filepath_or_buffer",
    "read_table": "filepath_or_buffer",
    "read_parquet": "path",
    "read_json": "path_or_buf",
    "read_excel": "io",
    "read_feather": "path",
    "read_orc": "path",
    "read_pickle": "filepath_or_buffer",
    "read_fwf": "filepath_or_buffer",
    "read_stata": "filepath_or_buffer",
    "read_sas": "filepath_or_buffer",
    "read_spss": "path",
    "read_xml": "path_or_buffer",
    "read_hdf": "path_or_buf",
}
# DataFrame / Series method -> its parameter naming the file written.
WRITERS: dict[str, str] = {
    "to_csv": "path_or_buf",
    "to_json": "path_or_buf",
    "to_parquet": "path",
    "to_feather": "path",
    "to_excel": "excel_writer",
    "to_orc": "path",
    "to_pickle": "path",
    "to_stata": "path",
    "to_xml": "path_or_buffer",
    "to_hdf": "path_or_buf",
}
APPENDING = frozenset({"to_csv"})  # writers that append with ``mode="a"``
# Module functions whose result derives from the frames they are given.
FUNCTIONS = (
    "factorize",
    "merge",
    "merge_asof",
    "merge_ordered",
    "concat",
    "get_dummies",
    "melt",
    "pivot",
    "pivot_table",
    "crosstab",
    "cut",
    "qcut",
    "to_datetime",
    "to_numeric",
)
# DataFrame and Series methods whose result (or, in place, whose frame) derives from self and the arguments.
# Series.__getitem__/__setitem__ are left alone: scalar access in loops is too hot a path (the cell fallback covers
# ``s[mask]``); DataFrame selection is patched.
FRAME_METHODS = ("__getitem__", "__setitem__")
METHODS = (
    "__init__",
    "__array__",
    "to_numpy",
    "transpose",
    "assign",
    "insert",
    "merge",
    "join",
    "update",
    "combine_first",
    "align",
    "groupby",
    "rolling",
    "expanding",
    "ewm",
    "resample",
    "dropna",
    "fillna",
    "ffill",
    "bfill",
    "interpolate",
    "drop",
    "drop_duplicates",
    "rename",
    "astype",
    "copy",
    "head",
    "tail",
    "sample",
    "query",
    "filter",
    "select_dtypes",
    "reset_index",
    "set_index",
    "sort_values",
    "sort_index",
    "apply",
    "map",
    "replace",
    "where",
    "mask",
    "clip",
    "round",
    "isna",
    "notna",
    "isin",
    "shift",
    "diff",
    "pct_change",
    "cumsum",
    "melt",
    "pivot",
    "pivot_table",
    "stack",
    "unstack",
    "explode",
    "describe",
    "corr",
    "value_counts",
    "agg",
    "aggregate",
    "transform",
    "sum",
    "mean",
    "median",
    "min",
    "max",
    "std",
    "var",
    "count",
    "nunique",
    "quantile",
    "mode",
    "rank",
    "__array_ufunc__",
    "to_frame",
    "dot",
)
_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "matmul")
OPERATORS = (
    *(f"__{op}__" for op in _BINARY),
    *(f"__r{op}__" for op in _BINARY),
    *(f"__i{op}__" for op in _BINARY if op != "matmul"),
    *(f"__{op}__" for op in ("eq", "ne", "lt", "le", "gt", "ge", "neg", "pos", "abs", "invert")),
    *("add", "sub", "mul", "div", "truediv", "floordiv", "mod", "pow", "radd", "rsub", "rmul", "rdiv"),
    *("rtruediv", "rfloordiv", "rmod", "rpow", "eq", "ne", "lt", "le", "gt", "ge", "abs"),
)
# Properties whose getter derives from the frame.
PROPERTIES = ("values", "T")
# Conversions to numpy: the array's columns are named after the frame's (column lineage, ``columns.py``).
CONVERSIONS = ("__array__", "to_numpy", "values")
# GroupBy, window and resampler methods: the result derives from what was grouped.
GROUPED = (
    "__getitem__",
    "agg",
    "aggregate",
    "apply",
    "transform",
    "filter",
    "sum",
    "mean",
    "median",
    "min",
    "max",
    "count",
    "size",
    "std",
    "var",
    "sem",
    "prod",
    "first",
    "last",
    "nth",
    "head",
    "tail",
    "nunique",
    "describe",
    "value_counts",
    "quantile",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "cumcount",
    "rank",
    "shift",
    "diff",
    "pct_change",
    "idxmax",
    "idxmin",
    "ohlc",
    "any",
    "all",
    "corr",
    "cov",
    "skew",
    "kurt",
    "ffill",
    "bfill",
)

# The kinds of object provenance is kept for (pandas objects, windows, numpy arrays); set when pandas is patched.
_tracked: tuple[type, ...] = ()


class PandasInstrumentor(Instrumentor):
    """Patches pandas I/O and transforms (module docstring)."""

    modules = ("pandas",)
    requires = ("pandas>=2.0",)

    def patches(self, module: Any) -> Iterator[Patch]:
        global _tracked
        import numpy
        from pandas.core.arrays.categorical import CategoricalAccessor
        from pandas.core.base import PandasObject
        from pandas.core.groupby.generic import DataFrameGroupBy, SeriesGroupBy
        from pandas.core.indexing import _iLocIndexer, _LocIndexer
        from pandas.core.resample import Resampler
        from pandas.core.window.ewm import ExponentialMovingWindow
        from pandas.core.window.expanding import Expanding
        from pandas.core.window.rolling import BaseWindow, Rolling, Window
        from pandas.io.json._json import JsonReader
        from pandas.io.parsers.readers import TextFileReader

        _tracked = (PandasObject, BaseWindow, numpy.ndarray)
        frames = (module.DataFrame, module.Series)
        for name, parameter in READERS.items():
            yield module, name, intercept(f"pandas.{name}", _reader(parameter))
        workbook = defining_class(getattr(module, "ExcelFile", None), "parse")
        if workbook is not None:
            yield workbook, "parse", intercept("pandas.ExcelFile.parse", _sheets_parsed)
        for name in FUNCTIONS:
            yield module, name, intercept(f"pandas.{name}", _FUNCTION_AFTERS.get(name, _derive))
        for cls in frames:  # writes: the policy guard decides before the file is written
            for name, parameter in WRITERS.items():
                owner = defining_class(cls, name)
                if owner is not None and owner.__module__.startswith("pandas"):
                    where = f"pandas.{owner.__name__}.{name}"
                    if name in APPENDING:
                        yield owner, name, _appending(where, parameter)
                    elif name == "to_pickle":
                        yield owner, name, intercept(where, _pickled, before=_check_write(parameter))
                    else:
                        yield owner, name, _writing(where, parameter)
        yield from _methods((module.DataFrame,), {name: name for name in FRAME_METHODS}, _frame_method)
        derived = {name: name for name in METHODS + OPERATORS + PROPERTIES if name not in rows.FILTERS}
        yield from _methods(frames, derived, _method_after)
        yield from _methods(frames, rows.FILTERS, lambda _: rows.filtering(_derive), wrapper=_filtering)
        yield from _methods((TextFileReader, JsonReader), ("read", "__next__"), lambda _: _derive)
        grouped = (DataFrameGroupBy, SeriesGroupBy, Rolling, Window, Expanding, ExponentialMovingWindow, Resampler)
        yield from _methods(grouped, GROUPED, lambda _: _derive)
        indexers = {"__getitem__": "__getitem__", "__setitem__": "__setitem__"}
        yield from _methods((_LocIndexer, _iLocIndexer), indexers, _indexed)
        yield from _methods((CategoricalAccessor,), ("codes",), lambda _: _accessed)
        owner = defining_class(module.DataFrame, "_set_axis")
        if owner is not None:
            yield owner, "_set_axis", _columns_set


# pandas' frames between the user's ``df.columns = [...]`` or ``df.set_axis([...], axis=1)`` and ``_set_axis``
_SETTING_COLUMNS = frozenset({"__setattr__", "_set_axis_nocheck", "set_axis"})


def _columns_set(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``df.columns = [...]`` (pandas' ``_set_axis``, which the property calls) in the user's code: each column
    renamed there comes from the column it replaced, by position (a column rule: ``Cement`` is ``Cement (component
    1)`` of the file read). pandas' own calls are passed by."""
    replaced = None
    if capturing():
        try:
            replaced = _columns_replaced(instance, args, kwargs, sys._getframe(1))
        except Exception as error:
            report("pandas.DataFrame.columns", error)
    if replaced is None:
        return wrapped(*args, **kwargs)
    return intercept("pandas.DataFrame.columns", functools.partial(_renamed_by_position, replaced))(
        wrapped, instance, args, kwargs
    )


def _columns_replaced(frame: Any, args: tuple, kwargs: dict, caller: Any) -> list[str] | None:
    """The columns a frame had before the user's code set new ones, or None (the index, pandas' own call). The
    axis is the block manager's: a frame's columns are its axis 0 (``DataFrame.columns``'s ``AxisProperty``)."""
    if argument(args, kwargs, 0, "axis", None) != 0 or not isinstance(frame, sys.modules["pandas"].DataFrame):
        return None
    while caller is not None and caller.f_code.co_name in _SETTING_COLUMNS:  # pandas' steps from the user's call
        caller = caller.f_back
    if len(frame.columns) > columns.MAX_FEATURES or not user_caller(caller):
        return None
    return [str(name) for name in frame.columns]


def _renamed_by_position(replaced: list[str], capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    now = [str(name) for name in args[0].columns]
    if len(now) == len(replaced):
        columns.learn(capture, {new: frozenset({old}) for new, old in zip(now, replaced, strict=True) if new != old})


def _methods(
    classes: tuple[type, ...],
    names: Any,
    make: Callable[[Any], After],
    wrapper: Callable[[str, After], Callable[..., Any]] = intercept,
) -> Iterator[Patch]:
    """A patch of each of ``names`` on the pandas class that defines it for each of ``classes`` (once each);
    ``names`` may map each name to what ``make`` needs to build its ``after``; ``wrapper`` makes the patch's
    wrapper from its name and ``after``."""
    seen: set[tuple[type, str]] = set()
    for cls in classes:
        for name in names:
            owner = defining_class(cls, name)
            if owner is None or (owner, name) in seen or not owner.__module__.startswith("pandas"):
                continue
            seen.add((owner, name))
            parameter = names[name] if isinstance(names, dict) else None
            where = f"pandas.{owner.__name__}.{name}"
            yield owner, name, wrapper(where, make(parameter))


def _reader(parameter: str) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        location = locate(argument(args, kwargs, 0, parameter, None), kwargs.get("filesystem"))
        if location is not None:
            record_read(capture, [location], result, schema_facet(result))

    return after


def _sheets_parsed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pd.ExcelFile(path).parse(sheet)``: a read of the workbook, as ``read_excel`` of it is."""
    location = locate(getattr(args[0], "_io", None)) if args else None
    if location is not None:
        record_read(capture, [location], result, schema_facet(result))


def _writing(where: str, parameter: str, appended_to: Source | None = None) -> Callable[..., Any]:
    return intercept(where, _writer(parameter, appended_to), before=_check_write(parameter))


def _writer(parameter: str, appended_to: Source | None = None) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, 1, parameter, None)
        if target is None:
            return  # written to a string or bytes the call returned
        location = locate(target, kwargs.get("filesystem"))
        if location is not None:
            record_write(capture, location, args[0], appended_to)

    return after


def _pickled(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``to_pickle``: a series holding a fitted model (``pd.Series({"model": rf, "features": cols}).to_pickle(p)``,
    as a course's churn project saves its model) is a model save; anything else a dataset written."""
    from nblineage.kernel_ext.hooks.describe import describe_model
    from nblineage.kernel_ext.hooks.models import record_save

    target = argument(args, kwargs, 1, "path", None)
    if target is not None and args and describe_model(args[0]) is not None:
        record_save(capture, args[0], target)
    else:
        _writer("path")(capture, result, args, kwargs)


def _appending(where: str, parameter: str) -> Callable[..., Any]:
    """``to_csv(path, mode="a")``: rows added to a file; the version they make derives from the version the file had
    before too (so the last of a loop's appends holds every frame appended)."""
    plain = _writing(where, parameter)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        mode = kwargs.get("mode")
        if not (isinstance(mode, str) and "a" in mode) or not capturing():
            return plain(wrapped, instance, args, kwargs)
        try:
            location = locate(argument((instance, *args), kwargs, 1, parameter, None), kwargs.get("filesystem"))
            before = location.source() if location is not None and location.local is not None else None
        except Exception as error:
            report(where, error)
            return plain(wrapped, instance, args, kwargs)
        if before is None or before.version is None:  # a new file: nothing appended to
            return plain(wrapped, instance, args, kwargs)
        return _writing(where, parameter, before)(wrapped, instance, args, kwargs)

    return wrapper


def _check_write(parameter: str) -> Before:
    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, 1, parameter, None)
        if target is not None and args:
            guard.check_write(capture, args[0], target, model=False, filesystem=kwargs.get("filesystem"))

    return before


def _derive(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The result (or, for a method that returns None, the object it changed in place) derives from the call's
    object and arguments."""
    target = args[0] if result is None and args else result
    _tag(capture, target, inputs(args, kwargs))


def _accessed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``series.cat.codes``: derives from the series the accessor is of."""
    _tag(capture, result, [getattr(args[0], "_parent", None)] if args else [])


def _converted(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``frame.values``, ``to_numpy()``, ``np.asarray(frame)``: the array derives from the frame, and its columns
    are the frame's, in order (a series': its name)."""
    _derive(capture, result, args, kwargs)
    if args:
        names = getattr(args[0], "columns", None)
        name = getattr(args[0], "name", None) if names is None else None
        columns.name_array(capture, result, [name] if isinstance(name, str) else names)


def _dummies(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pd.get_dummies``: the result derives from the data, and each column it made encodes one column."""
    _derive(capture, result, args, kwargs)
    data = argument(args, kwargs, 0, "data", None)
    prefix, separator = argument(args, kwargs, 1, "prefix", None), argument(args, kwargs, 2, "prefix_sep", "_")
    columns.learn(capture, columns.dummy_columns(data, result, prefix, separator))


def _melted(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``melt``: the result derives from the frame, and its value column holds the columns melted."""
    _derive(capture, result, args, kwargs)
    id_vars, value_vars = argument(args, kwargs, 1, "id_vars", None), argument(args, kwargs, 2, "value_vars", None)
    value_name, level = argument(args, kwargs, 4, "value_name", "value"), argument(args, kwargs, 5, "col_level", None)
    columns.learn(capture, columns.melted_columns(args[0], result, id_vars, value_vars, value_name, level))


def _pivoted(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``pivot``, ``pivot_table``: the result derives from the frame, and each column it made holds values of the
    frame's ``values`` placed by its ``columns`` (``pivot``'s are keywords only)."""
    _derive(capture, result, args, kwargs)
    unset = sys.modules["pandas"].api.extensions.no_default  # pivot's default: not given, as None
    given = [argument(args, kwargs, at, name, None) for at, name in enumerate(("values", "index", "columns"), 1)]
    values, index, keys = (None if value is unset else value for value in given)
    columns.learn(capture, columns.pivoted_columns(args[0], result, values, index, keys))


def _unstacked(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``unstack``: the result derives from the frame or series, and its columns from what was placed in them."""
    _derive(capture, result, args, kwargs)
    columns.learn(capture, columns.unstacked_columns(args[0], result, argument(args, kwargs, 1, "level", -1)))


def _stacked(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``frame.stack``: the result derives from the frame, and a frame's columns from those stacked into them."""
    _derive(capture, result, args, kwargs)
    level = argument(args, kwargs, 1, "level", -1)
    columns.learn(capture, columns.stacked_columns(capture.column_rules, args[0], result, level))


def _derive_indexed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``frame.loc[key]`` / ``frame.iloc[key] = value``: the indexer's frame stands for the indexer."""
    frame = getattr(args[0], "obj", None)
    target = frame if result is None else result
    _tag(capture, target, [frame, *inputs(args[1:], kwargs)])


def _selected(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``frame[key]``: the result derives from the frame and from a key that holds data (a mask, ``frame[
    other.id.isin(ids)]``), not from column names or positions (``frame[cfg["features"]]``: a list read from a
    config file names columns; it is no data)."""
    _derive(capture, result, (*args[:1], *_data_keys(args[1:2])), kwargs)


def _selected_indexed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``frame.loc[rows, columns]``: as :func:`_derive_indexed`, the keys that only name rows or columns left out."""
    _derive_indexed(capture, result, (*args[:1], *_data_keys(args[1:2])), kwargs)


def _aligned(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``left.align(right, axis=1)``: each side keeps its own data, the other only decides which column names it
    has (names are no data: each side derives from its own frame alone). Along the rows the other's index picks the
    rows kept: both sides derive from both, as any other transform's result."""
    axis = argument(args, kwargs, 3, "axis", None)
    other = argument(args, kwargs, 1, "other", None)
    if axis not in (1, "columns") or type(result) is not tuple or len(result) != 2:
        _derive(capture, result, args, kwargs)
        return
    _tag(capture, result[0], [args[0]])
    _tag(capture, result[1], [other])


def _merge(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``merge(left, right, ...)``, ``left.merge(right, ...)`` (suffixes are the tenth argument of both)."""
    _derive(capture, result, args, kwargs)
    suffixes = argument(args, kwargs, 9, "suffixes", ("_x", "_y"))
    right = argument(args, kwargs, 1, "right", None)
    _learn_suffixed(capture, result, args[0] if args else None, right, suffixes)


def _join(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``left.join(other, on, how, lsuffix, rsuffix)``, or ``suffixes=(left, right)`` (pandas 3)."""
    _derive(capture, result, args, kwargs)
    suffixes = kwargs.get("suffixes") or (
        argument(args, kwargs, 4, "lsuffix", ""),
        argument(args, kwargs, 5, "rsuffix", ""),
    )
    _learn_suffixed(capture, result, args[0] if args else None, argument(args, kwargs, 1, "other", None), suffixes)


def _learn_suffixed(capture: Capture, result: Any, left: Any, right: Any, suffixes: Any) -> None:
    """A column both sides of a join had comes out twice, renamed with the join's suffixes (``A_x``, ``A_y``): each
    holds that column (column lineage, ``columns.py``)."""
    if not isinstance(suffixes, (list, tuple)):
        return
    left_names, right_names = _column_names(left), _column_names(right)
    shared = left_names & right_names
    if not shared:
        return
    made = _column_names(result) - left_names - right_names
    rules = {
        column: frozenset({column.removesuffix(suffix)})
        for column in made
        for suffix in suffixes
        if isinstance(suffix, str) and suffix and column.endswith(suffix) and column.removesuffix(suffix) in shared
    }
    columns.learn(capture, rules)


def _column_names(frame: Any) -> set[str]:
    names = getattr(frame, "columns", None)
    if names is None or isinstance(names, (str, bytes)) or len(names) > columns.MAX_FEATURES:
        return set()
    return {name for name in names if isinstance(name, str)}


# Reshapes, which make columns of other columns' values (column lineage, ``columns.py``)
_RESHAPES: dict[str, After] = {
    "melt": _melted,
    "pivot": _pivoted,
    "pivot_table": _pivoted,
    "stack": _stacked,
    "unstack": _unstacked,
}
_FUNCTION_AFTERS: dict[str, After] = {
    "get_dummies": rows.keeping(_dummies),
    **{name: _RESHAPES[name] for name in ("melt", "pivot", "pivot_table")},
    "merge": rows.keeping(_merge, when=rows.left_merge),
    "concat": rows.stacking(_derive),
    "cut": rows.keeping(_derive, when=rows.given_edges),
    **{name: rows.keeping(_derive) for name in rows.ROW_WISE_FUNCTIONS - {"get_dummies"}},
}
_METHOD_AFTERS: dict[str, After] = {
    "align": _aligned,
    "merge": rows.keeping(_merge, when=rows.left_merge),
    "join": rows.keeping(_join, when=rows.left_join),
    "apply": rows.keeping(_derive, when=rows.row_by_row_apply),
    "__array_ufunc__": rows.keeping(_derive, when=rows.elementwise_ufunc),
    "set_index": rows.keeping(_derive, labels=True),
    "astype": rows.keeping(_derive, when=rows.not_categories),
    **{name: rows.forgetting(after) for name, after in _RESHAPES.items()},
}


def _method_after(name: str) -> After:
    if name in _METHOD_AFTERS:
        return _METHOD_AFTERS[name]
    after = _converted if name in CONVERSIONS else _derive
    if name in ("head", "tail"):
        return rows.heading(after, tail=name == "tail")
    if name in rows.STATISTICS:
        return rows.reducing(after, axis_at=2 if name == "quantile" else 1)  # ``quantile(q, axis)``
    if name in rows.ROW_WISE or name in OPERATORS or name in CONVERSIONS:
        return rows.keeping(after)
    return rows.forgetting(after)


def _filtering(where: str, after: After) -> Callable[..., Any]:
    """The wrapper of a method that may keep only some rows (``rows.FILTERS``, ``after`` its ``rows.filtering``):
    in place, the frame's row labels and parts before the call tell which rows stayed."""
    kept = intercept(where, after)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        capture = current() if kwargs.get("inplace") and capturing() else None
        if capture is None or not capture.hooks.rows:
            return kept(wrapped, instance, args, kwargs)
        try:
            before = (instance.index, rows.parts_of(capture, instance))
        except Exception as error:
            report(where, error)
            return kept(wrapped, instance, args, kwargs)
        return intercept(where, rows.filtering(_derive, before))(wrapped, instance, args, kwargs)

    return wrapper


def _frame_method(name: str) -> After:
    if name == "__getitem__":
        return rows.selecting(_selected)
    return rows.keeping(_setting(_derive), keys=_data_keys)


def _indexed(name: str) -> After:
    if name == "__getitem__":
        return rows.selecting(_selected_indexed, indexer=True)
    return rows.keeping(_setting(_derive_indexed, indexer=True), indexer=True, keys=_data_keys)


def _setting(derive: After, indexer: bool = False) -> After:
    """``frame[key] = value`` (``frame.loc[key] = value``: ``indexer``): as ``derive``; a value of plain text or a
    number, which no registry holds (``pred = model.predict(X)[0]`` of a model whose classes are text: one of its
    ``classes_``, a Python ``str``), brings what the cell's statement setting it reads by name
    (:func:`_statement_reads`)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        derive(capture, result, args, kwargs)
        if len(args) < 3 or not isinstance(args[2], (int, float, str, bytes)) or not capture.record.inputs:
            return
        frame = getattr(args[0], "obj", None) if indexer else args[0]
        if isinstance(frame, _tracked):
            found = _statement_reads(capture, args[2])
            known = capture.of(frame)
            if found and not found.sources <= known.sources:
                capture.registry.tag(frame, (known | found).through(capture.cell_run_id))

    return after


def _statement_reads(capture: Capture, value: Any) -> Provenance:
    """What the cell statement under way reads by name (``flow.under_way``), when the user's code setting ``value``
    is the cell's own (in a function of the user's own, what the cell's call of it reads is no value's) and
    ``value`` is none of its constants (``df["split"] = "train"``): once per place in the cell and read of data (a
    loop setting one row at a time)."""
    frame = flow.user_frame(sys._getframe(1))
    if frame is None or frame.f_code.co_name != "<module>" or frame.f_globals is not capture.user_ns:
        return EMPTY
    code = frame.f_code
    if any(constant is value for constant in code.co_consts):
        return EMPTY
    key = (capture.cell_run_id, code, frame.f_lasti, len(capture.reads_log))
    found = _set_reads.get(key)
    if found is None:
        if len(_set_reads) >= 256:
            _set_reads.clear()
        found = _set_reads[key] = flow.under_way(capture)
    return found


# what _statement_reads found, by place in the cell and reads so far
_set_reads: dict[tuple, Provenance] = {}


_NAMES = (str, int, float, bool, slice, type(None))


def _data_keys(keys: tuple) -> tuple:
    """The parts of indexing keys that hold data: not names, numbers, slices, or small lists of them."""
    kept: list[Any] = []
    for key in keys:
        for part in key if type(key) is tuple else (key,):
            names = (
                type(part) in (list, tuple) and len(part) <= 10_000 and all(isinstance(item, _NAMES) for item in part)
            ) or _labels(part)
            if not isinstance(part, _NAMES) and not names:
                kept.append(part)
    return tuple(kept)


def _labels(part: Any) -> bool:
    """A pandas ``Index`` of labels (``df.dtypes[df.dtypes == "float64"].index``), not a boolean mask."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(part, pandas.Index) and part.dtype.kind != "b"


def _tag(capture: Capture, target: Any, sources: list[Any]) -> None:
    if isinstance(target, _tracked):
        capture.derive(target, *sources)
    elif type(target) is tuple:  # divmod, align along the rows, cut(retbins=True)
        for item in target:
            if isinstance(item, _tracked):
                capture.derive(item, *sources)
    for function in sources:
        if type(function) in flow.CALLABLES:  # ``apply(expand)``: and what your function reads by name (``abbr``)
            read = flow.function_reads(capture, function)
            for item in target if type(target) is tuple else (target,):
                if read and isinstance(item, _tracked):
                    capture.registry.tag(item, (capture.of(item) | read).through(capture.cell_run_id))
