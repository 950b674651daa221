"""A cell's code, parsed once, for what reads it: the fallback (the statements that bind names and the names each
reads) and column lineage (the rules ``derived column -> columns read`` the code states).

Column rules come from:

- ``df["ratio"] = df["income"] / df.age`` (also ``df.loc[:, "ratio"] = ...``, ``df[["a", "b"]] = ...`` and
  ``df[cols] = ...`` with ``cols`` a literal list, or a loop variable over one, in the cell);
- in a loop over literal values (a list, a tuple, a name the cell binds to one, ``range`` of numbers), a statement
  indexing by an f-string of the loop's name, once per value: ``for lag in [7, 28]: df[f"lag_{lag}"] =
  df["x"].shift(lag)`` states ``lag_7`` and ``lag_28``;
- a row-wise update, ``df.loc[df["FamilySize"] == 1, "IsAlone"] = 1`` (also ``.at``, ``df["a"][mask] = ...``):
  the column reads itself and the columns the rows were selected by;
- ``df["Age"].fillna(df["Age"].median(), inplace=True)`` and other in-place calls on a column;
- ``df.assign(ratio=lambda d: d.income / d.age)``, ``df.insert(0, "ratio", ...)``;
- ``df.rename(columns={"income": "revenue"})``;
- ``df = df.set_index("Datetime")`` (also ``inplace=True``, ``pd.read_csv(..., index_col="Datetime")``, down a chain
  of calls): a rule for the frame's index (``INDEX + name``), so that ``df["hour"] = df.index.hour`` reads the
  column; ``df.index = ...`` sets it, ``reset_index()`` and a frame read anew clear it;
- ``def f(row): ...``: a rule for the function (named ``FUNCTION + name``), so that ``df.apply(f, axis=1)``,
  ``.map(f)``, ``.transform(f)`` read what its body reads; and ``alone = df["n"] == 1`` (a mask, or a series
  computed from a column): a rule for the name (``VALUE + name``), so that a later cell's
  ``df.loc[alone, "a"] = 1`` or ``df["b"] = alone`` reads what it reads.

Columns read are string subscripts (``x["a"]``, ``x[["a", "b"]]``), attributes of names that are not called
(``x.age``; not ``np.pi``), ``groupby`` keys, and what the values of names read (bound in the cell, or a mask or
series bound in an earlier one; never a frame: a name the cell indexes); ``np.where``, ``.where``/``.mask``,
``.fillna(x["y"])``, ``pd.cut`` and the like read what their arguments read. Rules compose in the order of the
code (:func:`compose`): a rule for a column that reads the column itself updates it, any other replaces it.
"""

from __future__ import annotations

import ast
import functools
import itertools
import math
from collections.abc import Iterable, Iterator

from nblineage.value import Value

# attributes of frames and series that are not columns
_NOT_COLUMNS = frozenset(
    {"loc", "iloc", "at", "iat", "values", "array", "str", "dt", "cat", "sparse", "T", "shape", "index", "columns"}
    | {"dtype", "dtypes", "size", "ndim", "empty", "name", "attrs", "flags", "axes", "plot", "style"}
)
_MODULES = frozenset({"np", "numpy", "pd", "pandas", "math", "scipy", "stats", "sns", "plt", "re", "os", "sys"})
_APPLIERS = frozenset({"apply", "map", "applymap", "transform", "agg", "aggregate", "pipe", "combine"})
_RULE_NODES = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Call, ast.FunctionDef, ast.AsyncFunctionDef)
_CONSTANT_NODES = (ast.Assign, ast.For, ast.comprehension, ast.Subscript)
NOT_COLUMN = "\0"  # rules whose names start with it are for names of the code, never columns
FUNCTION = NOT_COLUMN + "def "  # FUNCTION + a function's name: the columns its body reads
VALUE = NOT_COLUMN + "value "  # VALUE + a name bound to a mask or series (``alone = df["n"] == 1``): what it reads
INDEX = NOT_COLUMN + "index "  # INDEX + a frame's name: the column its index was set from (``df.set_index("D")``)
_MASK_CALLS = frozenset({"isnull", "isna", "notnull", "notna", "isin", "between", "duplicated"})
MAX_TURNS = 64  # a literal loop's turns a statement in it is read for (longer loops: read once, as any statement)
LoopValue = str | int | float  # a value a loop over literal values takes


class Binding(Value):
    """A statement that (re)binds names: where it ends, the names it binds and the names its value reads."""

    FIELDS = ("end_line", "targets", "reads")
    __slots__ = FIELDS

    def __init__(self, end_line: int, targets: frozenset[str], reads: frozenset[str]) -> None:
        self.end_line, self.targets, self.reads = end_line, targets, reads


class Code:
    """What a cell's code says: its tree, its bindings (every statement, nested ones too) and its column rules."""

    __slots__ = ("bindings", "rules", "tree")

    def __init__(self, tree: ast.Module, bindings: tuple[Binding, ...], rules: dict[str, frozenset[str]]) -> None:
        self.tree, self.bindings, self.rules = tree, bindings, rules


def walk(node: ast.AST) -> list[ast.AST]:
    """``ast.walk(node)`` as a list, in the same order, without its two generators per node (a cell's code is
    walked several times at the end of every cell: this made that walking three times faster). Only the fields
    that can hold nodes are looked at (:func:`_child_fields`)."""
    nodes = [node]
    kind, many, fields_of = ast.AST, list, _CHILD_FIELDS
    for current in nodes:  # the list grows as it is read: breadth first, as ast.walk
        fields = fields_of.get(type(current))
        if fields is None:
            fields = _child_fields(type(current))
        for name in fields:
            value = getattr(current, name, None)
            if value is None:
                continue
            if type(value) is many:
                nodes.extend([item for item in value if isinstance(item, kind)])
            elif isinstance(value, kind):
                nodes.append(value)
    return nodes


def children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes(node)`` as a list, without its generators (:func:`walk` one level down)."""
    fields = _CHILD_FIELDS.get(type(node))
    found: list[ast.AST] = []
    for value in [getattr(node, name, None) for name in (_child_fields(type(node)) if fields is None else fields)]:
        if type(value) is list:
            found += [item for item in value if isinstance(item, ast.AST)]
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


# Fields of the grammar that never hold a node (names, numbers, flags, text): ``walk`` skips them.
_SCALAR_FIELDS = frozenset(
    {"id", "attr", "arg", "module", "level", "kind", "conversion", "is_async", "simple", "type_comment", "tag"}
    | {"lineno", "n", "s"}
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of ``node_type`` that may hold a node or a list of them, in ``_fields`` order: ``name`` is text
    except in ``TypeAlias``, ``value`` a node except in ``Constant`` and ``MatchSingleton``."""
    scalar = set(_SCALAR_FIELDS)
    if node_type.__name__ != "TypeAlias":
        scalar.add("name")
    if node_type.__name__ in ("Constant", "MatchSingleton"):
        scalar.add("value")
    fields = tuple(name for name in getattr(node_type, "_fields", ()) if name not in scalar)
    _CHILD_FIELDS[node_type] = fields
    return fields


# The tree IPython parsed of the cell under way and the text it parsed (``offer``): the same tree ``ast.parse``
# makes of that text, taken by ``parse`` instead of parsing the cell a second time.
_offered: list[tuple[str, ast.Module]] = []


def offer(text: str, tree: ast.Module) -> None:
    """The tree of ``text`` parsed as ``ast.parse`` parses it, which IPython will not change (session.py checks
    that), for :func:`parse` of the cell whose text this is (IPython's text ends in a newline the cell's may not
    have)."""
    _offered[:] = [(text, tree)]


def _offered_tree(source: str) -> ast.Module | None:
    if _offered:
        text, tree = _offered[0]
        if text == source or (len(text) == len(source) + 1 and text.endswith("\n") and text.startswith(source)):
            return tree
    return None


@functools.lru_cache(maxsize=4)
def parse(source: str) -> Code | None:
    """The cell's code (shared, never changed), or None for IPython syntax."""
    tree = _offered_tree(source)
    if tree is None:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return None  # IPython syntax (magics, !shell) that was transformed before running
    bindings: list[Binding] = []
    rule_nodes: list[ast.AST] = []
    constant_nodes: list[ast.AST] = []
    for node in walk(tree):
        if isinstance(node, _CONSTANT_NODES):
            constant_nodes.append(node)
        if isinstance(node, _RULE_NODES):
            rule_nodes.append(node)
            targets = _bound(node)
            if targets:
                reads = frozenset(name.id for name in walk(_value(node)) if isinstance(name, ast.Name))
                bindings.append(Binding(getattr(node, "end_lineno", None) or 0, targets, reads))
    return Code(tree, tuple(bindings), _rules(rule_nodes, _constants(constant_nodes)))


def _bound(statement: ast.AST) -> frozenset[str]:
    """The names an assignment binds."""
    if isinstance(statement, ast.Assign):
        nodes = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and statement.value is not None:
        nodes = [statement.target]
    else:
        return frozenset()
    return frozenset(node.id for target in nodes for node in walk(target) if isinstance(node, ast.Name))


def _value(statement: ast.AST) -> ast.AST:
    value = statement.value  # type: ignore[attr-defined]
    if isinstance(statement, ast.AugAssign):
        return ast.Tuple(elts=[statement.target, value], ctx=ast.Load())
    return value


def column_rules(tree: ast.AST) -> dict[str, frozenset[str]]:
    """The rules a cell's code states, in order (see :func:`compose`)."""
    nodes = [node for node in walk(tree) if isinstance(node, _RULE_NODES)]
    return _rules(nodes, _constants(walk(tree)))


def compose(rules: dict[str, frozenset[str]], target: str, read: frozenset[str]) -> None:
    """Add the rule ``target <- read`` after ``rules``: a rule that reads its own column updates it
    (``df["Title"] = df["Title"].replace(...)`` keeps what Title was computed from), any other replaces it."""
    if target in read and target in rules:
        read = (read - {target}) | rules[target]
    rules.pop(target, None)  # the newest rule last
    rules[target] = read


def _constants(nodes: list[ast.AST]) -> _Names:
    """Names bound to a literal list of column names (``cols = ["a", "b"]``, ``for col in ("a", "b"):``), the
    value each name was last bound to (``mask = df["n"] == 1``), the names indexed (``df[...]``), and the loops
    over literal values."""
    found: dict[str, tuple[str, ...]] = {}
    values: dict[str, ast.AST] = {}
    indexed: set[str] = set()
    loops: list[tuple[str, ast.For]] = []
    for node in nodes:
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Name):
                indexed.add(node.value.id)
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name, value = node.targets[0], node.value
            if isinstance(name, ast.Name):
                values[name.id] = value
        elif isinstance(node, (ast.For, ast.comprehension)):
            name, value = node.target, node.iter
            if isinstance(node, ast.For) and isinstance(name, ast.Name):
                loops.append((name.id, node))
        else:
            continue
        if isinstance(name, ast.Name) and isinstance(value, (ast.List, ast.Tuple)) and value.elts:
            texts = [_text(item) for item in value.elts]
            if all(texts):
                found[name.id] = found.get(name.id, ()) + tuple(t for t in texts if t)
    keyed: dict[str, set[int]] = {}  # the lines where a subscript's key formats a name: ``df[f"lag_{lag}"]``
    for node in nodes if loops else ():  # a second look, in the cells with a loop only
        if isinstance(node, ast.Subscript):
            for name_id in _formatted_names(node.slice):
                keyed.setdefault(name_id, set()).add(node.lineno)
    spans: list[Span] = []
    for name_id, loop in loops:  # once every name's value is known: ``lags = [7, 28]`` for ``for lag in lags``
        taken = _literal_values(loop.iter, values)
        if taken and name_id in keyed:
            spans.append((name_id, taken, loop.lineno, loop.end_lineno or loop.lineno, frozenset(keyed[name_id])))
        if taken and isinstance(loop.iter, ast.Name) and all(isinstance(item, str) and item for item in taken):
            found[name_id] = found.get(name_id, ()) + taken  # type: ignore[operator]  # ``for c in cols:``: ``df[cols]``
    return _Names(found, values, frozenset(indexed), tuple(sorted(spans, key=lambda span: span[2])))


def _formatted_names(key: ast.AST) -> Iterator[str]:
    """The names the f-strings of a subscript's key format: ``x[f"lag_{lag}"]``, ``x.loc[:, f"{col}_log"]``."""
    for part in key.elts if isinstance(key, (ast.Tuple, ast.List)) else (key,):
        if isinstance(part, ast.JoinedStr):
            yield from (
                field.value.id
                for field in part.values
                if isinstance(field, ast.FormattedValue) and isinstance(field.value, ast.Name)
            )


def _literal_values(iterable: ast.AST, values: dict[str, ast.AST]) -> tuple[LoopValue, ...]:
    """The values a loop over ``iterable`` takes, when the code states them: a list or tuple of texts and numbers
    (or a name bound to one), ``range`` of at most ``MAX_TURNS`` numbers; () for anything else."""
    if isinstance(iterable, ast.Name):
        iterable = values.get(iterable.id, iterable)
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "range":
        bounds = [item.value for item in iterable.args if isinstance(item, ast.Constant) and type(item.value) is int]
        if 1 <= len(bounds) == len(iterable.args) <= 3 and bounds[2:] != [0]:
            taken = range(*bounds)
            return tuple(taken) if len(taken) <= MAX_TURNS else ()
    if not isinstance(iterable, (ast.List, ast.Tuple)):
        return ()
    items = [item.value for item in iterable.elts if isinstance(item, ast.Constant)]
    return tuple(items) if len(items) == len(iterable.elts) and all(type(v) in (str, int, float) for v in items) else ()


# a literal loop: its name, its values, its first and last line, the lines where a subscript's key formats its name
Span = tuple[str, tuple[LoopValue, ...], int, int, frozenset[int]]


class _Names:
    """What the cell binds names to: literal lists of columns, values; the names it indexes (frames); its loops over
    literal values (``spans``); and, in one turn of such loops, the value each of their names has (``turn``)."""

    __slots__ = ("indexed", "lists", "spans", "turn", "values")

    def __init__(
        self,
        lists: dict[str, tuple[str, ...]],
        values: dict[str, ast.AST],
        indexed: frozenset[str],
        spans: tuple[Span, ...] = (),
        turn: dict[str, LoopValue] | None = None,
    ) -> None:
        self.lists, self.values, self.indexed, self.spans, self.turn = lists, values, indexed, spans, turn or {}

    def bound(self, turn: dict[str, LoopValue]) -> _Names:
        """These names in one turn of the loops: each loop name a constant (a column's name, if text)."""
        lists, values = dict(self.lists), dict(self.values)
        for name, value in turn.items():
            lists[name] = (value,) if isinstance(value, str) and value else ()
            values[name] = ast.Constant(value)
        return _Names(lists, values, self.indexed, (), turn)


def _rules(nodes: Iterable[ast.AST], constants: _Names) -> dict[str, frozenset[str]]:
    rules: dict[str, frozenset[str]] = {}
    reader = _Reader(constants)
    for node in sorted(nodes, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        for turn in _turns(node, constants, reader) if constants.spans else (reader,):
            for target, read in _rules_of(node, turn):
                compose(rules, target, read)
    return rules


def _turns(node: ast.AST, names: _Names, reader: _Reader) -> list[_Reader]:
    """A reader per turn of the literal loops around ``node`` whose names its subscripts' f-strings format, each
    name bound to its value in that turn (``for lag in [7, 28]: df[f"lag_{lag}"] = ...``: lag_7, then lag_28); the
    cell's ``reader`` when there are none, or more than ``MAX_TURNS`` turns."""
    line = getattr(node, "lineno", 0)
    end = getattr(node, "end_lineno", None) or line
    around = {  # the innermost loop of a name last
        name: taken
        for name, taken, first, last, keyed in names.spans
        if first <= line and end <= last and any(line <= at <= end for at in keyed)
    }
    used = sorted(around)
    if not used or math.prod(len(around[name]) for name in used) > MAX_TURNS:
        return [reader]
    return [
        _Reader(names.bound(dict(zip(used, turn, strict=True)))) for turn in itertools.product(*map(around.get, used))
    ]


def _rules_of(node: ast.AST, reader: _Reader) -> Iterator[tuple[str, frozenset[str]]]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield FUNCTION + node.name, reader.read(ast.Module(body=node.body, type_ignores=[]))
    elif isinstance(node, ast.Assign) and node.value is not None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):  # for a later cell's df["b"] = name
            name = node.targets[0].id
            yield VALUE + name, reader.read(node.value) if _series_like(node.value) else frozenset()
            if (index := _index_set(node.value)) is not None:
                yield INDEX + name, index
        for target in node.targets:
            if _index_attribute(target):  # df.index = pd.to_datetime(df.index)
                yield INDEX + target.value.id, reader.read(node.value)  # type: ignore[attr-defined]
            assigned = list(reader.assigned(target)) if isinstance(target, ast.Subscript) else []
            if not assigned:
                continue  # binds names, not columns
            key = _list_key(target)  # df[col] = df[col].fillna(0), df[cols] = imputer.fit_transform(df[cols])
            read = reader.read(node.value, pairwise=key)
            paired = key is not None and reader.paired
            for column, also in assigned:
                yield column, read | also | ({column} if paired else frozenset())
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
        assigned = list(reader.assigned(node.target))
        read = reader.read(node.value) if assigned else frozenset()
        for column, also in assigned:
            yield column, read | also | ({column} if isinstance(node, ast.AugAssign) else set())
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        yield from _method_rules(node.func.attr, node, reader)


def _method_rules(method: str, call: ast.Call, reader: _Reader) -> Iterator[tuple[str, frozenset[str]]]:
    if method == "assign":
        for keyword in call.keywords:
            if keyword.arg:
                yield keyword.arg, reader.read(keyword.value)
    elif method == "insert" and len(call.args) >= 3:
        name = _text(call.args[1])
        if name:
            yield name, reader.read(call.args[2])
    elif method == "rename":
        mapping = next((k.value for k in call.keywords if k.arg == "columns"), None)
        if isinstance(mapping, ast.Dict):
            for old, new in zip(mapping.keys, mapping.values, strict=True):
                old_name, new_name = _text(old) if old else None, _text(new)
                if old_name and new_name and old_name != new_name:
                    yield new_name, frozenset({old_name})
    elif method in ("set_index", "reset_index") and isinstance(call.func.value, ast.Name) and _in_place(call):
        yield INDEX + call.func.value.id, _index_set(call) or frozenset()  # type: ignore[attr-defined]
    elif _in_place(call):
        # df["Age"].fillna(df["Age"].median(), inplace=True): the column, updated from what the call reads
        updated = reader.columns_of(call.func.value)  # type: ignore[attr-defined]
        read = reader.read(ast.Tuple(elts=[*call.args, *(k.value for k in call.keywords)], ctx=ast.Load()))
        for column in updated:
            yield column, read | {column}


class _Reader:
    """Reads columns from expressions, with the cell's names of literal column lists."""

    def __init__(self, names: _Names) -> None:
        self.constants = names.lists
        self.values = names.values
        self.indexed = names.indexed
        self.turn = names.turn
        self._named: dict[tuple[str, str | tuple[str, ...] | None], tuple[frozenset[str], bool]] = {}
        self.paired = False

    def assigned(self, target: ast.AST) -> Iterator[tuple[str, frozenset[str]]]:
        """Columns a target assigns, each with what else the new values depend on: ``x["a"]``, ``x[["a", "b"]]``,
        ``x.loc[:, "a"]``; a row selection updates only some rows, so the column itself and the columns the rows
        were selected by are read too (``x.loc[x["n"] == 1, "a"]``, ``x.at[i, "a"]``, ``x["a"][mask]``)."""
        if not isinstance(target, ast.Subscript):
            return
        key, rows = target.slice, None
        indexer = target.value
        if isinstance(indexer, ast.Attribute) and indexer.attr in ("loc", "at") and isinstance(key, ast.Tuple):
            if len(key.elts) != 2:
                return
            rows, key = key.elts
        elif isinstance(indexer, ast.Attribute) and indexer.attr in ("iloc", "iat"):
            return  # columns by position
        elif isinstance(indexer, ast.Subscript) and not self.names(key):
            rows, key = key, indexer.slice  # x["a"][mask] = ...
        if rows is None or (isinstance(rows, ast.Slice) and not (rows.lower or rows.upper or rows.step)):
            for column in self.names(key):
                yield column, frozenset()
            return
        also = self.read(rows)
        for column in self.names(key):
            yield column, also | {column}

    def columns_of(self, expression: ast.AST) -> list[str]:
        """The column an expression is, if it is one: ``x["a"]`` or ``x.a``."""
        if isinstance(expression, ast.Subscript) and not isinstance(expression.value, ast.Subscript):
            return list(self.names(expression.slice))
        if _column_attribute(expression):
            return [expression.attr]  # type: ignore[attr-defined]
        return []

    def read(self, expression: ast.AST, pairwise: str | tuple[str, ...] | None = None) -> frozenset[str]:
        """Columns an expression reads: string subscripts (or names of literal column lists), attributes of names
        that are not called, ``groupby`` keys, the functions ``apply``/``map``/``transform`` call by name, and what
        the values of the cell's names it reads read (``alone = df["n"] == 1``; not names of frames, those the cell
        indexes). Subscripts by ``pairwise`` (a name, or a list of several columns) are left out (``paired`` tells
        whether there were any)."""
        found, self.paired = self._read(expression, pairwise, set())
        return found

    def _read(
        self, expression: ast.AST, pairwise: str | tuple[str, ...] | None, seen: set[str]
    ) -> tuple[frozenset[str], bool]:
        nodes = walk(expression)
        called = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
        found: set[str] = set()
        paired = False
        for node in nodes:
            if isinstance(node, ast.Subscript):
                if pairwise is not None and _same_key(node.slice, pairwise):
                    paired = True
                    continue
                found.update(self.names(node.slice))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                found.update(self._called_with(node))
            elif isinstance(node, ast.Name) and node.id not in self.indexed and id(node) not in called:
                if node.id in _MODULES:
                    continue
                if node.id not in self.values:
                    found.add(VALUE + node.id)  # a mask or series an earlier cell bound, if any
                elif node.id not in seen:
                    value, value_paired = self._value_read(node.id, seen, pairwise)
                    found.update(value)
                    paired = paired or value_paired
            elif isinstance(node, ast.Attribute) and id(node) not in called:
                if _column_attribute(node):
                    found.add(node.attr)
                elif _index_attribute(node):
                    found.add(INDEX + node.value.id)  # type: ignore[attr-defined]  # the column it was set from, if any
        return frozenset(found), paired

    def _value_read(
        self, name: str, seen: set[str], pairwise: str | tuple[str, ...] | None
    ) -> tuple[frozenset[str], bool]:
        """What the value the cell bound ``name`` to reads (once per name and pairing), pairwise too: in
        ``for col in [...]: q1 = df[col].quantile(0.25); df[col] = np.where(df[col] < q1, q1, df[col])`` q1 is the
        same column's, not every column's of the list."""
        key = (name, pairwise)
        if key not in self._named:
            seen.add(name)
            self._named[key] = self._read(self.values[name], pairwise, seen) if len(seen) < 8 else (frozenset(), False)
        return self._named[key]

    def _called_with(self, call: ast.Call) -> Iterator[str]:
        method = call.func.attr  # type: ignore[attr-defined]
        if method == "groupby":
            keys = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "by")]
            for key in keys:
                yield from self.names(key)
        elif method in _APPLIERS and call.args and isinstance(call.args[0], ast.Name):
            yield FUNCTION + call.args[0].id  # resolved by the function's own rule, if the notebook defines it

    def names(self, key: ast.AST) -> list[str]:
        if isinstance(key, (ast.List, ast.Tuple)):
            return [text for item in key.elts if (text := self.text(item))]
        if isinstance(key, ast.Name):
            return list(self.constants.get(key.id, ()))
        text = self.text(key)
        return [text] if text else []

    def text(self, node: ast.AST) -> str | None:
        """A column name the code writes: a string, or in a turn of a literal loop an f-string of its names."""
        return _formatted(node, self.turn) if self.turn and isinstance(node, ast.JoinedStr) else _text(node)


def _in_place(call: ast.Call) -> bool:
    return any(
        k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords
    )


def _index_set(value: ast.AST) -> frozenset[str] | None:
    """The column a frame's index is set from, when the code sets it: ``x.set_index("D")``, ``pd.read_csv(...,
    index_col="D")``, down a chain of calls (``x.set_index("D").sort_index()``); none by ``reset_index()``, another
    key or a read without one; None when the code does not say (``x.dropna()``, ``make_features(x)``)."""
    for _ in range(16):
        if isinstance(value, ast.Subscript):
            value = value.value
            continue
        if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
            return None
        method = value.func.attr
        if method == "set_index":
            key = value.args[0] if value.args else next((k.value for k in value.keywords if k.arg == "keys"), None)
        elif method.startswith("read_") or method == "reset_index":
            key = next((k.value for k in value.keywords if k.arg == "index_col"), None)
        else:
            value = value.func.value
            continue
        column = _text(key) if key is not None else None
        return frozenset({column}) if column else frozenset()
    return None


def _list_key(target: ast.AST) -> str | tuple[str, ...] | None:
    """What a target's columns are given by, when the values may be computed column by column: a name (``df[cols]``,
    ``df.loc[:, col]``) or a literal list of several columns (``df[["Age", "Fare"]]``)."""
    key = target.slice if isinstance(target, ast.Subscript) else None
    if isinstance(key, ast.Tuple) and len(key.elts) == 2:
        key = key.elts[1]
    if isinstance(key, ast.Name):
        return key.id
    if isinstance(key, (ast.List, ast.Tuple)) and len(key.elts) > 1:
        texts = tuple(_text(item) for item in key.elts)
        return texts if all(texts) else None  # type: ignore[return-value]
    return None


def _same_key(key: ast.AST, pairwise: str | tuple[str, ...]) -> bool:
    """Whether a subscript's ``key`` selects the columns ``pairwise`` does (the same name, or the same list)."""
    if isinstance(pairwise, str):
        return isinstance(key, ast.Name) and key.id == pairwise
    return isinstance(key, (ast.List, ast.Tuple)) and tuple(_text(item) for item in key.elts) == pairwise


def _series_like(value: ast.AST) -> bool:
    """Whether a value looks like a row mask or a series computed from a column: a comparison, arithmetic,
    ``&``/``|``/``~``, ``isnull()``, or calls and attributes on a column (``df.Name.str.extract(...)``)."""
    if isinstance(value, (ast.Compare, ast.BinOp, ast.UnaryOp, ast.BoolOp)):
        return True
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _MASK_CALLS:
        return True
    method = False  # an attribute called is a method, not a column
    for _ in range(16):  # down the chain of calls, attributes and subscripts to what it starts from
        if isinstance(value, ast.Call):
            value, method = value.func, True
        elif isinstance(value, ast.Attribute):
            if not method and (_column_attribute(value) or _index_attribute(value)):
                return True
            value, method = value.value, False
        elif isinstance(value, ast.Subscript):
            if isinstance(value.value, ast.Name) and _text(value.slice):
                return True  # df["Name"]...
            value = value.value
        else:
            return False
    return False


def _column_attribute(node: ast.AST) -> bool:
    """``frame.column``: an attribute of a name that is no frame or series attribute, nor a module's."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.attr not in _NOT_COLUMNS
        and node.value.id not in _MODULES
    )


def _index_attribute(node: ast.AST) -> bool:
    """``frame.index``: the index of a name that is no module."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "index"
        and isinstance(node.value, ast.Name)
        and node.value.id not in _MODULES
    )


def _formatted(node: ast.JoinedStr, turn: dict[str, LoopValue]) -> str | None:
    """The text of an f-string whose every field is one of ``turn``'s names (``f"lag_{lag:02d}"``), or None."""
    parts = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value))
            continue
        if not (isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) and part.value.id in turn):
            return None
        spec = _formatted(part.format_spec, turn) if isinstance(part.format_spec, ast.JoinedStr) else ""
        if spec is None or part.conversion != -1:
            return None
        try:
            parts.append(format(turn[part.value.id], spec))
        except ValueError:  # a format the value does not take: the loop raised too
            return None
    return "".join(parts) or None


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value else None
