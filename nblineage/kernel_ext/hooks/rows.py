"""Row parts: which rows of a frame came from which input, for frames ``pd.concat`` stacked from inputs of different
provenance. Notebooks stack the training and the test rows to engineer features once, then cut them apart again
(``df[df["_data"] == "train"]``, ``all_data[:ntrain]``, ``.iloc[:n]``): the rows cut out derive from the parts they
were taken from, not from every file stacked.

A transform that works row by row (column selection, arithmetic and comparisons, numpy ufuncs, ``fillna``,
``get_dummies``, a column set in place...) keeps the parts, each part given what the call's other inputs bring:
``all_data.fillna(all_data.mean())`` fills every part with a mean of all rows, so every part then holds every
input; a statistic's value (``fillna(df["Age"].median())``: a number no registry can tag) is remembered with the
data of the rows it was computed on (``reducing``) and brings it the same way. A selection of rows (a boolean mask
of the frame's own index, a positional slice or positions, ``head``, ``tail``) derives from the parts it takes rows
of. Anything else makes a frame without parts, whose provenance is the union, as for any frame. Parts are trusted
only while the frame keeps the sources and length they were made with: a change no hook saw, or one that moves
rows (``sort_values(inplace=True)``), leaves the union."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument, inputs
from nblineage.kernel_ext.provenance import EMPTY, Provenance, union

MAX_PARTS = 64  # parts of one frame (a concat of more inputs keeps the union)
# Frame and series methods whose result is made row by row from the frame (and whose change in place keeps rows).
ROW_WISE = frozenset(
    {
        "assign",
        "set_index",
        "insert",
        "copy",
        "fillna",
        "replace",
        "rename",
        "reset_index",
        "isna",
        "notna",
        "isnull",
        "notnull",
        "abs",
        "round",
        "clip",
        "where",
        "mask",
        "select_dtypes",
        "map",
        "isin",
        "to_frame",
    }
)
ROW_WISE_FUNCTIONS = frozenset({"get_dummies", "to_datetime", "to_numeric"})
# Frame and series methods that keep some rows, in order, with their labels (``filtering``)
FILTERS = frozenset({"dropna", "drop", "drop_duplicates", "query"})
# Reductions whose value (a number, or a mode's values) a row-by-row change may put in rows: a statistic of rows
STATISTICS = frozenset({"mean", "median", "mode", "min", "max", "std", "var", "sum", "quantile", "count", "nunique"})
MAX_VIEWS = 8  # arrays with parts remembered per array holding their data
MAX_STATISTICS = 256  # statistics' values remembered (the latest kept)
MAX_MODES = 8  # values of a mode remembered

After = Callable[[Capture, Any, tuple, dict], None]


class Parts:
    """The rows of one frame by part: part ``i`` is rows ``ends[i - 1]`` (0 for the first) to ``ends[i]``, made
    from ``provenances[i]``; ``whole`` is the frame's provenance when they were made."""

    __slots__ = ("ends", "provenances", "whole")

    def __init__(self, ends: tuple[int, ...], provenances: tuple[Provenance, ...], whole: Provenance) -> None:
        self.ends, self.provenances, self.whole = ends, provenances, whole


def stacking(after: After) -> After:
    """``pd.concat``'s after: the result stacked along the rows gets the parts of its inputs; side by side (``axis=1``),
    the parts of inputs with the same rows."""

    def stacked(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        after(capture, result, args, kwargs)
        items = argument(args, kwargs, 0, "objs", None)
        items = list(items.values()) if isinstance(items, dict) else items
        if not isinstance(items, (list, tuple)) or not _is_frame(result):
            return
        if argument(args, kwargs, 1, "axis", 0) in (0, "index", "rows"):
            _stack(capture, result, items)
        else:
            _carry(capture, result, items)

    return stacked


def keeping(
    after: After,
    indexer: bool = False,
    when: Callable[[tuple, dict], bool] | None = None,
    labels: bool = False,
    keys: Callable[[tuple], tuple] | None = None,
) -> After:
    """The after of a method working row by row (``when`` the call's arguments say so): the result, or the frame it
    changed in place (``indexer``: the frame of ``frame.loc[...] = value``), keeps the parts. With ``labels``, the
    arguments are row labels (``set_index(keys)``), no data the rows get: the parts stay as they were, when the
    labels bring no source the frame lacks (else the frame's provenance is the union). ``keys``: the parts of an
    indexing key (the first argument) that hold data, not names (``df[cols] = ...``)."""

    def kept(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        hooks = capture.hooks
        if not (hooks.rows or hooks.statistics) or not args or (when is not None and not when(args, kwargs)):
            after(capture, result, args, kwargs)
            return
        frame = getattr(args[0], "obj", None) if indexer else args[0]
        own = parts_of(capture, frame) if result is None and hooks.rows else None  # before the after tags anew
        after(capture, result, args, kwargs)
        given = args[1:]
        if keys is not None and given:  # ``frame.loc[mask, "col"] = value``: the mask, not the name
            given = (*keys(given[:1]), *given[1:])
        sources = [frame] if labels else [frame, *inputs(given, kwargs)]
        target = frame if result is None else result
        parted = own is not None or (hooks.rows and parts_of(capture, frame) is not None)
        statistics = _put_statistics(capture, target, sources[1:], texts=bool(parted))
        if hooks.rows:
            _carry(capture, target, sources, own, statistics)

    return kept


def left_join(args: tuple, kwargs: dict) -> bool:
    """``left.join(other)`` (a left join unless said otherwise): each row of the left frame kept, in order, given
    what matched it (more rows when a key matches twice: no parts then)."""
    return argument(args, kwargs, 3, "how", "left") == "left"


def left_merge(args: tuple, kwargs: dict) -> bool:
    """``merge(left, right, how="left")``, or the method: as :func:`left_join`; or a merge on both indexes when
    they are the same labels in the same order (``data.merge(pd.get_dummies(data["year"]), left_index=True,
    right_index=True)``): each row of the left frame beside the same row of the right one."""
    if argument(args, kwargs, 2, "how", "inner") == "left":
        return True
    if not (kwargs.get("left_index") and kwargs.get("right_index")) or len(args) < 2:
        return False
    left, right = args[0], args[1]
    try:
        return left.index is right.index or (left.index.is_unique and left.index.equals(right.index))
    except AttributeError:
        return False


def row_by_row_apply(args: tuple, kwargs: dict) -> bool:
    """``series.apply(f)`` (each value) or ``frame.apply(f, axis=1)`` (each row); not a frame's columns."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(args[0], pandas.Series):
        return True
    return argument(args, kwargs, 2, "axis", 0) in (1, "columns")


def elementwise_ufunc(args: tuple, kwargs: dict) -> bool:
    """``np.log1p(frame)``: a numpy ufunc called on each value (not ``reduce`` or ``accumulate``)."""
    return argument(args, kwargs, 2, "method", None) == "__call__"


def not_categories(args: tuple, kwargs: dict) -> bool:
    """``astype(...)`` to any type but ``category``, whose codes depend on the categories of all rows."""
    dtype = argument(args, kwargs, 1, "dtype", None)
    kinds = list(dtype.values())[:64] if isinstance(dtype, dict) else [dtype]
    return not any(
        (isinstance(kind, str) and kind == "category") or type(kind).__name__ == "CategoricalDtype" for kind in kinds
    )


def given_edges(args: tuple, kwargs: dict) -> bool:
    """``pd.cut(x, [0, 3, 100])``: bins the code gives each value to (a number of bins is spread over all rows'
    range)."""
    bins = argument(args, kwargs, 1, "bins", None)
    return bins is not None and not isinstance(bins, (int, float)) and hasattr(bins, "__len__")


def forgetting(after: After) -> After:
    """The after of any other method: a frame it changed in place (``sort_values(inplace=True)``) loses its parts."""

    def forgot(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        after(capture, result, args, kwargs)
        if result is None and args and capture.hooks.rows:
            capture.hooks.rows.forget(args[0])

    return forgot


def reducing(after: After, axis_at: int = 1) -> After:
    """A statistic of a frame's or series' rows (``df["Age"].median()``, ``np.mean(df.Fare)``, ``mode()``): its
    value, which no registry can tag (a number, a string), is remembered with the data of those rows, so that a
    row-by-row change putting it in rows (``fillna(median)``, ``(a - a.mean()) / a.std()``, ``loc[mask, "Age"] =
    median``) gives them that data: the median of stacked training and test rows brings the test file into the
    training rows it fills. A frame's statistic of each row (``axis=1``, the argument at ``axis_at``: ``(df ==
    -1).sum(axis=1)``) is a value a row, made of that row alone: the rows keep their parts."""
    per_row = keeping(after)

    def reduced(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        if args and _of_each_row(args, kwargs, axis_at):
            per_row(capture, result, args, kwargs)
            return
        after(capture, result, args, kwargs)
        if not args:
            return
        # a mode's values are texts (its numbers are new objects each time they are taken out: never passed on)
        series = _is_frame(result) and result.ndim == 1
        values = [v for v in result.iloc[:MAX_MODES] if isinstance(v, str)] if series else [result]
        keyed = [(key, value) for value in values if (key := _statistic_key(value)) is not None]
        if not keyed:
            return
        parts = parts_of(capture, args[0])
        provenance = union(parts.provenances) if parts is not None else capture.of(args[0])
        if not provenance:
            return
        remembered = capture.hooks.statistics
        for key, value in keyed:
            held = remembered.pop(key, None)
            remembered[key] = (value, provenance | held[1] if held is not None else provenance)
        while len(remembered) > MAX_STATISTICS:
            del remembered[next(iter(remembered))]

    return reduced


def _of_each_row(args: tuple, kwargs: dict, axis_at: int) -> bool:
    pandas = sys.modules.get("pandas")
    frame = pandas is not None and isinstance(args[0], pandas.DataFrame)
    return frame and argument(args, kwargs, axis_at, "axis", 0) in (1, "columns")


def _statistic_key(value: Any) -> tuple[str, Any] | None:
    """What a statistic's value is known by: a number pandas computed (a numpy scalar, a float) by the very object,
    which the code passes on (two statistics of other data often have equal values: the median age of the training
    and the test rows); a string (a mode's value) by its text; None for anything else (a small int is one shared
    object, and a number the code wrote is none)."""
    numpy = sys.modules.get("numpy")
    if isinstance(value, float) or (numpy is not None and isinstance(value, numpy.number)):
        return ("number", id(value))
    if isinstance(value, str) and value:
        return ("text", value)
    return None


def _put_statistics(capture: Capture, target: Any, given: list[Any], texts: bool = False) -> Provenance:
    """The data of the statistics among ``given`` (and the values of a dict among them, ``fillna({"Age": m})``),
    which ``target`` now derives from too: ``test["Age"].fillna(train["Age"].mean())``. A number is the statistic
    when it is the object the reduction returned; a string (a mode's value: ``texts``, for frames with row parts,
    whose rows come from the same stack) when it has the text of one."""
    remembered = capture.hooks.statistics
    if not remembered:
        return EMPTY
    found = EMPTY
    for item in given:
        for value in item.values() if isinstance(item, dict) and len(item) <= 64 else (item,):
            key = _statistic_key(value) if texts or not isinstance(value, str) else None
            held = remembered.get(key) if key is not None else None
            if held is not None and (key[0] == "text" or held[0] is value):  # type: ignore[index]
                found |= held[1]
    whole = capture.of(target)
    if found and not found.sources <= whole.sources and _has_rows(target):  # a statistic of other data put in
        capture.registry.tag(target, (whole | found).through(capture.cell_run_id))
    return found


def selecting(after: After, indexer: bool = False) -> After:
    """``frame[key]`` (``indexer``: ``frame.loc[key]``, ``frame.iloc[key]``): rows picked by a boolean mask, a
    slice or positions derive from the parts they are in; columns picked keep the parts."""

    def selected(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        after(capture, result, args, kwargs)
        if not capture.hooks.rows or len(args) < 2:
            return
        frame, key = (getattr(args[0], "obj", None), args[1]) if indexer else (args[0], args[1])
        positional = indexer and type(args[0]).__name__ == "_iLocIndexer"
        rows, picks_columns = _rows_key(key, positional, indexer)
        if rows is None:
            if picks_columns:
                _carry(capture, result, [frame])
            return
        if indexer and not positional and isinstance(rows, slice):
            rows = _label_slice(frame, rows)
            if rows is None:
                return
        parts = parts_of(capture, frame) if frame is not None else None
        if parts is not None:
            _select(capture, result, parts, rows, frame)

    return selected


def filtering(after: After, before: tuple[Any, Parts | None] | None = None) -> After:
    """The after of a method that keeps some of a frame's rows, in order, by their labels (``dropna(subset=[...])``,
    ``query(...)``, ``drop(index=...)``, ``drop_duplicates()``): the rows kept derive from the parts they are in,
    told by the labels the result kept. ``before``: the frame's row labels and parts before a call in place."""

    def filtered(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        if not capture.hooks.rows or not args:
            after(capture, result, args, kwargs)
            return
        frame = args[0]
        labels, parts = before if before is not None else (getattr(frame, "index", None), parts_of(capture, frame))
        after(capture, result, args, kwargs)
        target = frame if result is None else result
        if parts is None or not _is_frame(target):
            capture.hooks.rows.forget(target)
        elif len(target) == parts.ends[-1]:  # no row dropped (columns were)
            _carry(capture, target, [frame], parts if result is None else None)
        else:
            positions = _kept_positions(labels, getattr(target, "index", None))
            if positions is None:
                capture.hooks.rows.forget(target)
            else:
                _select(capture, target, parts, positions)

    return filtered


def _kept_positions(labels: Any, kept: Any) -> Any:
    """Where the rows labelled ``kept`` were among ``labels``, in increasing order; None when labels repeat or the
    rows kept are not a subsequence of them."""
    try:
        if not labels.is_unique:
            return None
        positions = labels.get_indexer(kept)
    except Exception:  # labels pandas cannot look up: no parts
        return None
    if len(positions) and (positions.min() < 0 or (positions[1:] <= positions[:-1]).any()):
        return None
    return positions


def _of_view(capture: Capture, view: Any, base: Any) -> Provenance | None:
    """What an untagged numpy view of some rows of an array with parts derives from (``X = all_data.values[:n]``,
    ``arr[n:]``): the parts of those rows. ``base`` is the array holding the data, where arrays with parts that look
    into it are remembered by their geometry (``_remember``; the array itself may be gone: ``.values`` made it for
    the statement only). None when no such array takes in the view (the registry then gives the view ``base``'s
    provenance)."""
    numpy = sys.modules.get("numpy")
    views = capture.hooks.row_views.get(base).get("views") if numpy is not None else None
    if not views or not isinstance(view, numpy.ndarray):
        return None
    sources = capture.of(base).sources
    for geometry, parts in reversed(views):
        rows = _rows_viewed(view, geometry) if parts.whole.sources == sources else None
        counts = _counts(parts.ends, rows, None) if rows is not None else None
        if counts is not None and sum(counts) == len(view):
            return union(provenance for provenance, count in zip(parts.provenances, counts, strict=True) if count)
    return None


Geometry = tuple[int, tuple[int, ...], tuple[int, ...]]  # an array's data address, shape and strides


def _geometry(array: Any) -> Geometry:
    return array.__array_interface__["data"][0], array.shape, array.strides


def _rows_viewed(view: Any, geometry: Geometry) -> slice | None:
    """The rows of the array of ``geometry`` that ``view`` looks at (``arr[:n]``, ``arr[n:, 1:]``, ``arr[::2]``,
    one column of some rows ``arr[:n, 0]``), as a slice; None when it looks at anything else."""
    address, shape, strides = geometry
    fixed = len(shape) - view.ndim  # the array's axes the view does not have: a column of a table's rows
    if view.ndim == 0 or not (fixed == 0 or (fixed == 1 and len(shape) == 2)):
        return None
    first = _position(view.__array_interface__["data"][0] - address, shape, strides)
    if first is None:
        return None
    if not fixed and (
        view.strides[1:] != strides[1:]
        or any(first[axis] + view.shape[axis] > shape[axis] for axis in range(1, len(shape)))
    ):
        return None
    stride, start = strides[0], first[0]
    if view.strides[0] <= 0 or view.strides[0] % stride:
        return None
    step = view.strides[0] // stride
    stop = start + len(view) * step
    return slice(start, stop, step) if stop - step < shape[0] else None


def _position(offset: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[int, ...] | None:
    """The index of the item ``offset`` bytes into an array of ``shape`` and ``strides`` (positive, each axis
    spanning more than those of smaller stride, as numpy lays out arrays and their transposes); None if none is."""
    if offset < 0 or any(stride <= 0 for stride in strides):
        return None
    index = [0] * len(shape)
    for axis in sorted(range(len(shape)), key=lambda axis: -strides[axis]):
        index[axis], offset = divmod(offset, strides[axis])
        if index[axis] >= shape[axis]:
            return None
    return tuple(index) if offset == 0 else None


def heading(after: After, tail: bool = False) -> After:
    """``head(n)`` / ``tail(n)``: the first or last rows."""

    def cut(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        after(capture, result, args, kwargs)
        if not capture.hooks.rows or not args:
            return
        count = argument(args, kwargs, 1, "n", 5)
        if isinstance(count, int) and count >= 0:
            parts = parts_of(capture, args[0])
            if parts is not None:
                rows = slice(-count, None) if tail and count else slice(0, 0 if tail else count)
                _select(capture, result, parts, rows)

    return cut


def parts_of(capture: Capture, obj: Any) -> Parts | None:
    """``obj``'s parts, while it still has the sources and length they were made with."""
    parts = capture.hooks.rows.get(obj).get("parts")
    if parts is None or capture.of(obj).sources != parts.whole.sources:
        return None
    try:
        return parts if len(obj) == parts.ends[-1] else None
    except TypeError:
        return None


def _stack(capture: Capture, result: Any, items: list[Any]) -> None:
    ends: list[int] = []
    provenances: list[Provenance] = []
    total = 0
    for item in items:
        if item is None:
            continue  # concat drops None items
        if not _is_frame(item):
            return
        parts = parts_of(capture, item)
        if parts is not None:  # a stacked frame stacked again: its parts, moved down
            ends += [total + end for end in parts.ends]
            provenances += parts.provenances
        else:
            ends.append(total + len(item))
            provenances.append(capture.of(item))
        total += len(item)
    if len({provenance.sources for provenance in provenances}) > 1:
        _remember(capture, result, ends, provenances)


def _carry(
    capture: Capture, target: Any, sources: Iterable[Any], own: Parts | None = None, statistics: Provenance = EMPTY
) -> None:
    """``target`` was made row by row from ``sources``: it gets the parts of the first source with parts of its
    length, each part given the same part of other sources with those parts, and all of every other source (and
    of ``statistics``, the data of statistics put in). ``own``: the parts ``target`` had before it was changed in
    place (it is a source)."""
    if not _has_rows(target):
        return
    sources = list(sources)
    found = [own if item is target and own is not None else parts_of(capture, item) for item in sources]
    base = next((parts for parts in found if parts is not None and parts.ends[-1] == len(target)), None)
    if base is None:
        capture.hooks.rows.forget(target)
        return
    alike = [parts for parts in found if parts is not None and parts.ends == base.ends]
    rest = statistics | union(
        capture.of(item) for item, parts in zip(sources, found, strict=True) if parts not in alike
    )
    provenances = [union([*(parts.provenances[i] for parts in alike), rest]) for i in range(len(base.ends))]
    _remember(capture, target, base.ends, provenances)


def _select(capture: Capture, result: Any, parts: Parts, rows: Any, frame: Any = None) -> None:
    """``result`` holds the rows ``rows`` (a slice, increasing positions or a boolean mask) of a frame (or array)
    with ``parts``: it derives from the parts they are in (and a mask from its own rows there, or all of it when it
    has no parts like the frame's)."""
    if not _has_rows(result):
        return
    counts = _counts(parts.ends, rows, frame)
    if counts is None or sum(counts) != len(result):
        return
    mask = parts_of(capture, rows) if _is_frame(rows) else None
    alike = mask is not None and mask.ends == parts.ends
    extra = EMPTY if alike or isinstance(rows, slice) else capture.of(rows)
    kept = [
        parts.provenances[i] | (mask.provenances[i] if alike and mask is not None else EMPTY) | extra
        for i, count in enumerate(counts)
        if count
    ]
    narrowed = union(kept).through(capture.cell_run_id)
    if not narrowed:
        return
    capture.registry.tag(result, narrowed)
    ends = [sum(count for count in counts[: i + 1]) for i, count in enumerate(counts) if count]
    if len({provenance.sources for provenance in kept}) > 1:
        _remember(capture, result, ends, kept)


def _counts(ends: tuple[int, ...], rows: Any, frame: Any) -> list[int] | None:
    """How many of the rows ``rows`` picks are in each part; None when that cannot be told."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    length = ends[-1]
    try:
        if isinstance(rows, slice):
            positions = numpy.arange(length)[rows]
        else:
            if _is_frame(rows) and (frame is None or not (rows.index is frame.index or rows.index.equals(frame.index))):
                return None  # a mask pandas aligns on labels: which rows it picks is pandas' business
            array = numpy.asarray(rows)
            if array.dtype.kind == "b":
                if array.shape != (length,):
                    return None
                positions = numpy.flatnonzero(array)
            elif array.ndim == 1 and array.dtype.kind in "iu":
                positions = numpy.where(array < 0, array + length, array)
            else:
                return None
    except Exception:  # a key numpy cannot read as rows: no parts
        return None
    part = numpy.searchsorted(numpy.asarray(ends), positions, side="right")
    return [int(count) for count in numpy.bincount(part, minlength=len(ends))[: len(ends)]]


def _rows_key(key: Any, positional: bool, indexer: bool) -> tuple[Any, bool]:
    """The rows an indexing key picks (a slice, positions or a boolean mask), and whether it picks columns only:
    ``frame[label]``, ``frame[labels]``, ``frame.loc[:, labels]``. ``positional``: an ``iloc`` key; ``indexer``:
    a ``loc`` or ``iloc`` key, whose first part picks rows."""
    if indexer and type(key) is tuple:
        if len(key) != 2:
            return None, False
        key = key[0]
        if isinstance(key, slice) and key == slice(None):
            return None, True
    if isinstance(key, slice):  # by position for ``iloc`` and ``frame[i:j]``; by label for ``loc`` (``selecting``)
        return (key, False) if positional or indexer or _positions(key) else (None, False)
    dtype = getattr(key, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind == "b" or (isinstance(key, list) and key and all(type(k) is bool for k in key)):
        return key, False
    if positional and (kind in ("i", "u") or (isinstance(key, list) and key and all(type(k) is int for k in key))):
        return key, False
    return None, not indexer


def _label_slice(frame: Any, key: slice) -> slice | None:
    """The positions ``frame.loc[i:j]`` takes, on a frame whose labels are its positions (the index ``concat``
    makes with ``ignore_index``, ``reset_index(drop=True)``): ``j`` included. None for any other index."""
    index = getattr(frame, "index", None)
    if type(index).__name__ != "RangeIndex" or index.start != 0 or index.step != 1 or key.step not in (None, 1):
        return None
    if not all(end is None or (type(end) is int and end >= 0) for end in (key.start, key.stop)):
        return None
    return slice(key.start, None if key.stop is None else key.stop + 1)


def _positions(key: slice) -> bool:
    """A slice of ``frame[...]`` pandas takes by position: integers or None at both ends."""
    return all(end is None or type(end) is int for end in (key.start, key.stop, key.step))


def _remember(capture: Capture, obj: Any, ends: list[int] | tuple[int, ...], provenances: list[Provenance]) -> None:
    """Keep ``obj``'s parts (neighbours of the same provenance merged) when they account for its provenance."""
    whole = capture.of(obj)
    merged_ends: list[int] = []
    merged: list[Provenance] = []
    for end, provenance in zip(ends, provenances, strict=True):
        if merged and merged[-1].sources == provenance.sources:
            merged[-1] = merged[-1] | provenance
            merged_ends[-1] = end
        else:
            merged.append(provenance)
            merged_ends.append(end)
    if len(merged) < 2 or len(merged) > MAX_PARTS or union(merged).sources != whole.sources:
        capture.hooks.rows.forget(obj)
        return
    parts = Parts(tuple(merged_ends), tuple(merged), whole)
    capture.hooks.rows.remember(obj, {"parts": parts})
    if not _is_frame(obj):  # an array: its views' rows, by where it is in the array holding its data
        base = obj.base if isinstance(obj.base, sys.modules["numpy"].ndarray) else obj
        views = [*capture.hooks.row_views.get(base).get("views", [])[1 - MAX_VIEWS :], (_geometry(obj), parts)]
        capture.hooks.row_views.remember(base, {"views": views})
        if capture.registry.view_rows is None:
            capture.registry.view_rows = functools.partial(_of_view, capture)


def _is_frame(obj: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, (pandas.DataFrame, pandas.Series))


def _has_rows(obj: Any) -> bool:
    """A frame, a series, or a numpy array of at least one dimension (``frame.values``): something with rows."""
    if _is_frame(obj):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(obj, numpy.ndarray) and obj.ndim > 0
