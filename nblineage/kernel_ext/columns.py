"""Column lineage inside a notebook, read from its code: which columns each derived column was computed from.

A cell's statements give rules ``derived column -> columns read``:

- ``df["ratio"] = df["income"] / df.age`` (also ``df.loc[:, "ratio"] = ...`` and ``df[["a", "b"]] = ...``);
- ``df.assign(ratio=lambda d: d.income / d.age)``, ``df.insert(0, "ratio", ...)``;
- ``df.rename(columns={"income": "revenue"})``.

Hooks add rules from what they saw the data become: each column ``pd.get_dummies`` made encodes one column
(``region_east`` <- ``region``), and each output of a fitted scikit-learn transformer (``OneHotEncoder``,
``ColumnTransformer``: ``cat__region_east``, ``num__age``) comes from the input columns it transforms (:func:`learn`).

Columns read are string subscripts (``x["a"]``, ``x[["a", "b"]]``) and attributes that are not called
(``x.age``). Rules are by column name, not by frame, and a later rule for a name replaces the earlier one: like the
cell fallback, this is what the code says, not what a hook saw. A model's features are followed through the rules
to the columns they were computed from (:func:`sources`), which the answers look up in the source datasets.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import Any

from nblineage.kernel_ext import fallback
from nblineage.kernel_ext.capture import Capture

MAX_RULES = 10_000  # rules kept per session
MAX_SOURCES = 100  # columns one feature is traced to
MAX_FEATURES = 10_000  # features of one model traced
# attributes of frames and series that are not columns
_NOT_COLUMNS = frozenset(
    {"loc", "iloc", "at", "iat", "values", "array", "str", "dt", "cat", "sparse", "T", "shape", "index", "columns"}
    | {"dtype", "dtypes", "size", "ndim", "empty", "name", "attrs", "flags", "axes", "plot", "style"}
)


def column_rules(tree: ast.Module) -> dict[str, frozenset[str]]:
    """The rules a cell's code states, later statements winning."""
    rules: dict[str, frozenset[str]] = {}
    for node in sorted(_nodes(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        for target, read in _rules_of(node):
            rules[target] = read
    return rules


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
        if not derived or column in derived:
            found.add(column)
        pending.extend(sorted(derived - {column}))
    return sorted(found)


def feature_lineage(capture: Capture, names: list[str]) -> dict[str, list[str]]:
    """The columns each of ``names`` was computed from, by the rules of the session's cells so far and of the cell
    under way; only features a rule derives from other columns."""
    rules = capture.column_rules
    tree = fallback.parse(capture.cell_source) if capture.cell_source else None
    if tree is not None:
        rules = dict(rules)
        remember(rules, column_rules(tree))
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


def remember(rules: dict[str, frozenset[str]], new: dict[str, frozenset[str]]) -> None:
    """Add a cell's rules to the session's, within ``MAX_RULES``."""
    for target, read in new.items():
        rules.pop(target, None)
        rules[target] = read
    while len(rules) > MAX_RULES:
        rules.pop(next(iter(rules)))


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Call)):
            yield node


def _rules_of(node: ast.AST) -> Iterator[tuple[str, frozenset[str]]]:
    if isinstance(node, ast.Assign) and node.value is not None:
        read = _read(node.value)
        for target in node.targets:
            for column in _assigned(target):
                yield column, read
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
        for column in _assigned(node.target):
            yield column, _read(node.value) | ({column} if isinstance(node, ast.AugAssign) else frozenset())
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        yield from _method_rules(node.func.attr, node)


def _method_rules(method: str, call: ast.Call) -> Iterator[tuple[str, frozenset[str]]]:
    if method == "assign":
        for keyword in call.keywords:
            if keyword.arg:
                yield keyword.arg, _read(keyword.value)
    elif method == "insert" and len(call.args) >= 3:
        name = _text(call.args[1])
        if name:
            yield name, _read(call.args[2])
    elif method == "rename":
        mapping = next((k.value for k in call.keywords if k.arg == "columns"), None)
        if isinstance(mapping, ast.Dict):
            for old, new in zip(mapping.keys, mapping.values, strict=True):
                old_name, new_name = _text(old), _text(new)
                if old_name and new_name and old_name != new_name:
                    yield new_name, frozenset({old_name})


def _assigned(target: ast.AST) -> Iterator[str]:
    """Columns a target assigns: ``x["a"]``, ``x[["a", "b"]]``, ``x.loc[:, "a"]``."""
    if not isinstance(target, ast.Subscript):
        return
    key = target.slice
    if isinstance(target.value, ast.Attribute) and target.value.attr in ("loc", "iloc") and isinstance(key, ast.Tuple):
        key = key.elts[-1] if key.elts else key
    yield from _names(key)


def _read(expression: ast.AST) -> frozenset[str]:
    """Columns an expression reads: string subscripts, and attributes of names that are not called."""
    called = {id(node.func) for node in ast.walk(expression) if isinstance(node, ast.Call)}
    found: set[str] = set()
    for node in ast.walk(expression):
        if isinstance(node, ast.Subscript):
            found.update(_names(node.slice))
        elif _column_attribute(node) and id(node) not in called:
            found.add(node.attr)  # type: ignore[attr-defined]
    return frozenset(found)


def _column_attribute(node: ast.AST) -> bool:
    """``frame.column``: an attribute of a name that is no frame or series attribute."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr not in _NOT_COLUMNS


def _names(key: ast.AST) -> Iterable[str]:
    if isinstance(key, (ast.List, ast.Tuple)):
        return [text for item in key.elts if (text := _text(item))]
    text = _text(key)
    return [text] if text else []


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value else None
