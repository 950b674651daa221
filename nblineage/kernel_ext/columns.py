"""Column lineage inside a notebook: which columns each derived column was computed from.

Each cell's statements give rules ``derived column -> columns read`` (``cellcode.py`` reads them from the code).

Hooks add rules from what they saw the data become: each column ``pd.get_dummies`` made encodes one column
(``region_east`` <- ``region``), a reshape's columns hold the values of others (``melt``'s ``value`` <- the columns
melted; ``pivot_table``'s and ``unstack``'s ``food`` <- ``amount``, placed by ``cat``, whose values name it), and each
output of a fitted scikit-learn transformer (``OneHotEncoder``, ``ColumnTransformer``: ``cat__region_east``,
``num__age``) comes from the input columns it transforms (:func:`learn`).

Rules are by column name, not by frame, and compose in the order the code ran: a rule for a column that reads
the column itself updates it (``Title <- Name``, then ``Title <- Title``: Title still comes from Name), any other
replaces it. Like the cell fallback, this is what the code says, not what a hook saw. A model's features are
followed through the rules to the columns they were computed from (:func:`sources`), which the answers look up in
the source datasets.

An array without column names that was converted from a frame (``df.values``, ``np.asarray(df)``) or made by a
transformer holds named columns all the same (:func:`name_array`): a model fitted on it has those features. A
tensor made from one (``torch.tensor(df.values)``) holds them too (:func:`converted_columns`).
"""

from __future__ import annotations

from typing import Any

from nblineage.kernel_ext import cellcode
from nblineage.kernel_ext.capture import Capture

MAX_RULES = 10_000  # rules kept per session
MAX_SOURCES = 100  # columns one feature is traced to
MAX_FEATURES = 10_000  # features of one model traced
MAX_VIEWS = 8  # named arrays remembered per owner of their memory
MAX_COPIES = 16  # the latest named arrays remembered, to name their copies


def sources(feature: str, rules: dict[str, frozenset[str]]) -> list[str]:
    """The columns ``feature`` was computed from, followed through the rules to columns no rule derives (or whose
    rule reads the column itself: ``x = f(x)`` started from a column ``x``); [] when no rule derives ``feature``."""
    if not rules.get(feature):
        return []
    found: set[str] = set()
    seen: set[str] = set()
    pending = [feature]
    while pending and len(found) < MAX_SOURCES:
        column = pending.pop()
        if column in seen:
            continue
        seen.add(column)
        derived = rules.get(column, frozenset())
        if (not derived or column in derived) and not column.startswith(cellcode.NOT_COLUMN):
            found.add(column)
        pending.extend(sorted(derived - {column}))
    return sorted(found)


def feature_lineage(capture: Capture, names: list[str]) -> dict[str, list[str]]:
    """The columns each of ``names`` was computed from, by the rules of the session's cells so far and of the cell
    under way; only features a rule derives from other columns."""
    rules = capture.column_rules
    code = cellcode.parse(capture.cell_source) if capture.cell_source else None
    if code is not None:
        rules = dict(rules)
        remember(rules, code.rules)
    found = {}
    for name in names[:MAX_FEATURES]:
        columns = sources(name, rules)
        if columns and columns != [name]:
            found[name] = columns
    return found


def learn(capture: Capture, new: dict[str, frozenset[str]]) -> None:
    """A hook saw columns derived from others (rules ``column -> columns it came from``): keep them for the
    session."""
    if new:
        remember(capture.column_rules, new)


def name_array(capture: Capture, array: Any, names: Any) -> None:
    """``array`` holds columns ``names`` (a frame's ``columns``, a transformer's output names; a series' name for a
    1-D array), in order: a model fitted on it has those features. Only for an array as wide as ``names``."""
    if names is None or isinstance(names, (str, bytes)) or _width(array) is None:
        return
    found = [str(name) for _, name in zip(range(MAX_FEATURES + 1), names, strict=False)]
    if len(found) != _width(array):
        return
    capture.hooks.arrays.remember(array, {"columns": found})
    if (probe := _probe(array)) is not None:
        recent = capture.hooks.named_arrays
        recent.append((probe, found))
        del recent[:-MAX_COPIES]
    owner = getattr(array, "base", None)  # views of its rows (X[:800]) share this owner of the memory
    where = _memory(array)
    if owner is None or where is None or isinstance(owner, (bytes, memoryview)):
        return
    facts = capture.hooks.arrays.get(owner)
    if not facts:
        facts = {}
        capture.hooks.arrays.remember(owner, facts)
    views = facts.setdefault("views", [])
    views.append((found, where))
    del views[:-MAX_VIEWS]


def array_columns(capture: Capture, array: Any) -> list[str]:
    """The columns ``array`` holds (:func:`name_array`), or []."""
    found = capture.hooks.arrays.get(array).get("columns") if array is not None else None
    return list(found) if found and len(found) == _width(array) else []


def fitted_columns(capture: Capture, X: Any) -> list[str]:
    """The columns an array a model is being fitted on (or split) holds, also when it is a view of columns of an
    array of named columns (``X[:800]``, ``X[:, :-1]``, ``X.reshape(-1, 1)``, made anywhere) or a copy of one, or
    the cell under way made it from one (:func:`carry`, which otherwise runs when the cell ends)."""
    found = array_columns(capture, X)
    width = _width(X)
    if found or width is None:
        return found
    if found := _view_columns(capture, X, width) or _copy_columns(capture, X):
        return found
    if capture.user_ns is None or not capture.cell_source:
        return found
    code = cellcode.parse(capture.cell_source)
    for binding in sorted(code.bindings, key=lambda b: b.end_line) if code is not None else ():
        carry(capture, binding.targets, binding.reads, capture.user_ns)
    return array_columns(capture, X)


def _view_columns(capture: Capture, X: Any, width: int) -> list[str]:
    """The columns ``X`` holds if it is a view of columns of an array of named columns (named then)."""
    owner = getattr(X, "base", None)
    if owner is None:
        return []
    views = list(capture.hooks.arrays.get(owner).get("views", ()))
    if (held := array_columns(capture, owner)) and (where := _memory(owner)) is not None:
        views.append((held, where))
    for held, where in reversed(views):
        first = _first_column(where, len(held), X)
        if first is not None and first + width <= len(held):
            found = held[first : first + width]
            name_array(capture, X, found)
            return list(found)
    return []


def _copy_columns(capture: Capture, X: Any) -> list[str]:
    """The columns ``X`` holds if it is a copy of a named array (``np.array(ct.fit_transform(X))``): the same shape,
    type and first, middle and last rows as one named lately (named then)."""
    probe = _probe(X)
    for known, held in reversed(capture.hooks.named_arrays) if probe is not None else ():
        if known == probe:
            name_array(capture, X, held)
            return list(held)
    return []


def converted_columns(capture: Capture, shape: tuple[int, ...], rows: list[Any]) -> list[str]:
    """The columns of the one array of named columns named lately that something of ``shape`` whose first, middle
    and last rows are ``rows`` (NumPy arrays) was converted from, whatever its element type (``torch.tensor(X.values,
    dtype=torch.float32)``): the array's rows cast to that type are ``rows``; [] unless exactly one list matches."""
    import numpy

    found: set[tuple[str, ...]] = set()
    for probe, held in capture.hooks.named_arrays:
        if probe[0] != shape or probe[1] == "object" or len(rows) != len(probe) - 2:
            continue
        try:
            kind = numpy.dtype(probe[1])
            same = all(
                numpy.frombuffer(raw, dtype=kind).astype(row.dtype).tobytes() == row.tobytes()
                for raw, row in zip(probe[2:], rows, strict=True)
            )
        except (TypeError, ValueError):  # a type NumPy cannot read back or cast
            continue
        if same:
            found.add(tuple(held))
    return list(found.pop()) if len(found) == 1 else []


def _probe(array: Any) -> tuple[Any, ...] | None:
    """What tells a named array's copies from other arrays: shape, type, and the bytes of three rows (for objects,
    which objects: a copy holds the same ones)."""
    shape, dtype = getattr(array, "shape", None), getattr(array, "dtype", None)
    if not isinstance(shape, tuple) or len(shape) != 2 or not shape[0] or dtype is None:
        return None
    if not callable(getattr(array, "tobytes", None)):
        return None  # a sparse matrix
    rows = (0, shape[0] // 2, shape[0] - 1)
    return (shape, str(dtype), *(array[row].tobytes() for row in rows))


def carry(capture: Capture, targets: frozenset[str], reads: frozenset[str], user_ns: dict[str, Any]) -> None:
    """A statement no hook saw bound arrays from one array of named columns (``X_fit = X[rows]``,
    ``X = X.astype(float)``): each bound array as wide holds the same columns."""
    for target in targets:
        obj = user_ns.get(target)
        width = _width(obj)
        if width is None or array_columns(capture, obj) or _view_columns(capture, obj, width):
            continue
        if _copy_columns(capture, obj):
            continue
        found = {tuple(named) for name in reads if (named := array_columns(capture, user_ns.get(name)))}
        if len(found) == 1 and len(held := next(iter(found))) == width:
            name_array(capture, obj, held)


def _width(array: Any) -> int | None:
    """How many columns an array-like without column names has (1 for a 1-D array; None for a frame, a series or
    another shape)."""
    try:
        shape = getattr(array, "shape", None)
        if not isinstance(shape, tuple) or not 1 <= len(shape) <= 2 or hasattr(array, "columns"):
            return None
        if hasattr(array, "index"):
            return None
        return int(shape[1]) if len(shape) == 2 else 1
    except Exception:  # an object of the user's whose attributes raise: no array
        return None


Memory = tuple[int, int, int, int, int | None, int]


def _memory(array: Any) -> Memory | None:
    """Where an array's elements lie: (first element, lowest and highest byte, row stride, column stride, rows)."""
    interface = getattr(array, "__array_interface__", None)
    strides, shape = getattr(array, "strides", None), getattr(array, "shape", None)
    if not isinstance(interface, dict) or not strides or not shape or 0 in shape:
        return None
    start = int(interface["data"][0])
    low = start + sum(min(0, stride * (size - 1)) for stride, size in zip(strides, shape, strict=True))
    high = start + sum(max(0, stride * (size - 1)) for stride, size in zip(strides, shape, strict=True))
    return start, low, high + array.itemsize, strides[0], strides[1] if len(strides) > 1 else None, shape[0]


def _first_column(where: Memory, width: int, view: Any) -> int | None:
    """If ``view`` is columns of the array that lies ``where`` (``width`` columns wide), in order (the same row and
    column strides: ``X[:800]``, ``X[:, 1:]``, ``X.reshape(-1, 1)``), the index of its first column; else None."""
    mine = _memory(view)
    if mine is None:
        return None
    start, low, high, row, column, rows = where
    if mine[3] != row or not row or not (low <= mine[1] and mine[2] <= high):
        return None
    if mine[4] is not None and column is not None and mine[4] != column and _width(view) != 1:
        return None
    offset = mine[0] - start
    for first in range(width if column is not None else 1):
        rest = offset - first * (column or 0)
        if rest % row == 0 and rest // row >= 0 and rest // row + mine[5] <= rows:
            return first
    return None


def dummy_columns(data: Any, result: Any, prefix: Any = None, prefix_sep: Any = "_") -> dict[str, frozenset[str]]:
    """The column each column ``pd.get_dummies(data, prefix=..., prefix_sep=...)`` made encodes."""
    made = [str(name) for name in getattr(result, "columns", ())]
    if not hasattr(data, "columns"):  # a Series: every column made encodes it
        name = getattr(data, "name", None)
        return {column: frozenset({str(name)}) for column in made} if name is not None else {}
    kept = {str(name) for name in data.columns}
    encoded = [str(name) for name in data.columns if str(name) not in made]
    starts = {
        column: f"{_per_column(prefix, column, index, column)}{_per_column(prefix_sep, column, index, '_')}"
        for index, column in enumerate(encoded)
    }
    found = {}
    for column in made:
        if column in kept:
            continue
        matches = [source for source, start in starts.items() if column.startswith(start)]
        if matches:
            found[column] = frozenset({max(matches, key=lambda source: len(starts[source]))})
    return found


def _per_column(value: Any, column: str, index: int, default: str) -> str:
    """A ``prefix`` or ``prefix_sep`` of get_dummies for one encoded column: one string, a list, or a dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get(column, default))
    if isinstance(value, (list, tuple)) and index < len(value):
        return str(value[index])
    return default


def melted_columns(
    data: Any, result: Any, id_vars: Any, value_vars: Any, value_name: Any, level: Any
) -> dict[str, frozenset[str]]:
    """The column ``melt`` made of the values of others: ``value_name`` <- ``value_vars`` (every column not an
    ``id_vars`` when none are given). Its variable column holds their names, which are no data."""
    if str(value_name) not in _made_columns(result):
        return {}
    labels = list(data.columns if level is None else data.columns.get_level_values(level))  # ``col_level``
    kept = set(_labels(id_vars, labels))
    melted = [label for label in labels if label not in kept] if value_vars is None else _labels(value_vars, labels)
    read = frozenset(str(label) for label in melted)
    return {str(value_name): read} if read and read != {str(value_name)} else {}


def pivoted_columns(data: Any, result: Any, values: Any, index: Any, keys: Any) -> dict[str, frozenset[str]]:
    """The columns ``pivot`` and ``pivot_table`` made: each holds the values of the ``values`` column its label
    names (``('qty', 'food')``; every one when it names none: ``food``) placed by the values of the ``columns``
    ``keys``, so it comes from both."""
    labels = list(data.columns)
    keys = _labels(keys, labels, keys=True)
    rows = set(keys + _labels(index, labels, keys=True))
    held = set([label for label in labels if label not in rows] if values is None else _labels(values, labels))
    placed = frozenset(str(key) for key in keys)
    found = {}
    for label in _made_columns(result, raw=True):
        named = [part for part in (label if isinstance(label, tuple) else (label,)) if part in held][:1]
        read = frozenset(str(value) for value in named or held) | placed
        if read and read != {str(label)}:
            found[str(label)] = read
    return found


def unstacked_columns(data: Any, result: Any, level: Any = -1) -> dict[str, frozenset[str]]:
    """The columns ``unstack`` made: each holds the values of the series (of the frame's column its label starts
    with: ``('amount', 'food')``) placed by the values of the index levels unstacked, named by their columns."""
    names = list(data.index.names)
    placed = frozenset(str(names[number]) for number in _level_numbers(names, level) if names[number] is not None)
    width = data.columns.nlevels if hasattr(data, "columns") else 0
    found = {}
    for label in _made_columns(result, raw=True):
        if not width:
            held = {str(data.name)} if data.name is not None else set()
        elif isinstance(label, tuple) and len(label) > width:
            held = {str(label[0] if width == 1 else label[:width])}
        else:
            continue
        if (read := frozenset(held) | placed) and read != {str(label)}:
            found[str(label)] = read
    return found


def stacked_columns(
    rules: dict[str, frozenset[str]], data: Any, result: Any, level: Any = -1
) -> dict[str, frozenset[str]]:
    """The columns ``frame.stack(level)`` made: each holds the frame's columns its label is the rest of (``amount``
    of ``('amount', 'food')`` and ``('amount', 'toys')``), by what ``rules`` say those came from (``amount`` and
    ``cat``: a rule naming them would read the column ``amount`` back, a cycle)."""
    names = list(data.columns.names)
    stacked = _level_numbers(names, level)
    made = _made_columns(result)
    found: dict[str, set[str]] = {}
    for label in data.columns if len(names) > 1 else ():
        rest = tuple(part for number, part in enumerate(label) if number not in stacked)
        name = str(rest[0] if len(rest) == 1 else rest)
        if name in made:
            found.setdefault(name, set()).update(rules.get(str(label)) or {str(label)})
    return {name: frozenset(read) for name, read in found.items() if read != {name}}


def _made_columns(result: Any, raw: bool = False) -> list[Any]:
    """The column labels of a reshape's result (as text, unless ``raw``); none for a series or past ``MAX_FEATURES``
    columns (so many rules would push the session's out)."""
    labels = getattr(result, "columns", None)
    if labels is None or len(labels) > MAX_FEATURES:
        return []
    return list(labels) if raw else [str(label) for label in labels]


def _labels(value: Any, labels: list[Any], keys: bool = False) -> list[Any]:
    """The column labels among ``labels`` an argument names: one, or a list of them (for ``keys``, a pivot's
    ``index`` and ``columns``, an array or series is one key of data, which names none)."""
    known = set(labels)
    if _hashable(value) and value in known:
        return [value]  # one label, a MultiIndex's tuple too
    listed = isinstance(value, (list, tuple)) or (
        not keys and hasattr(value, "__iter__") and not isinstance(value, (str, bytes))
    )
    return [item for item in value if _hashable(item) and item in known] if listed else []


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:  # a Series or array of keys
        return False
    return True


def _level_numbers(names: list[Any], level: Any) -> set[int]:
    """The positions of the levels ``level`` names (a level's name or number, or a list of them), as pandas finds
    them: by name first."""
    found = set()
    for item in level if isinstance(level, (list, tuple)) else [level]:
        if _hashable(item) and item in names:
            found.add(names.index(item))
        elif isinstance(item, int) and -len(names) <= item < len(names):
            found.add(item % len(names))
    return found


def remember(rules: dict[str, frozenset[str]], new: dict[str, frozenset[str]]) -> None:
    """Add a cell's rules to the session's (composed: :func:`cellcode.compose`), within ``MAX_RULES``."""
    for target, read in new.items():
        cellcode.compose(rules, target, read)
    while len(rules) > MAX_RULES:
        rules.pop(next(iter(rules)))
