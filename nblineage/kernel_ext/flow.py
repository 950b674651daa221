"""Provenance through a cell's plain Python, statement by statement, by name: what the fallback's bindings miss.

Values built from a file with plain Python are often objects no registry can hold (a line, a number) or lists
filled by mutation, so provenance is followed by name over the cell's statements in order:

- ``x = ...``, ``x += ...``: ``x`` gets what the value reads; ``x[k] = ...``, ``x.a = ...``: ``x`` adds it;
- an estimator made with settings (``CountVectorizer(max_features=max_features)``, ``RandomForestClassifier(
  **params["train"])``, the numbers read from a params file) reads none of them: hyper-parameters are no data
  (an estimator or array given to it, ``CalibratedClassifierCV(fitted)``, is read, and so is what was learned
  from data however plain it looks, a ``vocabulary`` or ``categories``), nor do the ``params`` of
  ``lgb.train(params, dtrain)`` and ``xgb.train``; likewise a subscript by column names or numbers
  (``df[cfg["features"]]``) reads the frame, not the names' source (a mask, ``df[df.id.isin(other.id)]``, is read);
- a constant subscript of a dict, list or tuple (``splits["train"]``, a ``DatasetDict``'s ``ds["train"]["text"]``)
  reads the item's provenance when the item is tracked, not the whole container's (its test split);
- ``for row in reader:``: ``row`` gets what ``reader`` has (the loop body runs twice, for what a later statement
  of the body gives an earlier one); over a tuple written out (``for ds in (train, test):``) or a small list of
  tracked objects (``combine = [train, test]``), the body is followed once per item, the name holding that item's
  alone, and what the body fills it with goes to that item; ``with open(p) as f``: ``f`` gets what the expression
  reads;
- a method called for its effect, as a statement (``rows.append(x)``, ``writer.writerow(r)``, ``clf.fit(X, y)``):
  the object (not a module, class or function) adds what the arguments read; so does an estimator fitted within a
  value (``W = nmf.fit_transform(X)``: ``nmf.components_`` is of ``X``'s data too);
- a statement during which a dataset was read (``Capture.statement_reads``: ``rows = load_rows("a.csv")`` reads
  inside a function) gives it to what the statement binds or fills; ``train, test = loader.split()`` where the
  user function returns tuples gives each name what its item got in the function's body (followed the same way,
  its reads by line from ``Capture.code_reads``); ``a, b = load("a.csv"), load("b.csv")`` gives each name what
  its item reads, the datasets read by the calls made within it (``Capture.call_sites``); ``a, b = [load(p) for p in
  paths]`` what its turn of the comprehension read (``StatementReads.turns``);
- ``for name, (X, y) in [("a", a), ("b", b)]``, ``for X, y in (a, b)``, ``{"a": a, "b": b}.items()``: items written
  out are followed one by one as above, a tuple target unpacked item by item; in the middle of the loop (a catch-up
  before a hooked call in its body) up to the item the loop's names hold now;

A name starts with the provenance of the object it holds when the flow looks (``capture.of``). At the end, each
name the cell bound or filled whose object no hook tracked exactly gets what flowed into it, at cell precision (a
name bound anew gets just that, unless its object has all of it and more already; a name only filled adds it to what
it had); the untracked arrays of a tuple bound (``tr = load("train.csv")`` returning ``X, y``) get what it got.
Function and class bodies are not followed (they run when called; their reads count for the calling statement).
"""

from __future__ import annotations

import ast
import collections
import dis
import functools
import inspect
import itertools
import linecache
import os
import re
import textwrap
import types
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from nblineage.kernel_ext import cellcode
from nblineage.kernel_ext.capture import blank_lead, cell_line, is_user_file
from nblineage.kernel_ext.provenance import EMPTY, Provenance, Source, union

if TYPE_CHECKING:
    from nblineage.kernel_ext.capture import Capture

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_NOT_CHANGED = (type(ast), type, type(len), type(lambda: None))  # modules, classes, functions are not data
PREDICTING = ("predict", "predict_proba", "predict_log_proba", "decision_function")  # a fitted model's predictions
FITTING = ("fit", "partial_fit", "fit_transform", "fit_predict")  # what an estimator learns its data by
LEARNED = ("vocabulary", "categories")  # estimator parameters that hold data learned before, plain as they look


class _Flow:
    def __init__(
        self,
        capture: Capture,
        user_ns: dict[str, Any],
        before_line: int | None,
        seeds: dict[int, set[Source]] | None = None,
        at_start: dict[str, tuple[Held, Provenance]] | None = None,
    ) -> None:
        self.capture = capture
        self.user_ns = user_ns
        self.at_start = at_start or {}  # what the names held when the cell began (a cell's statements followed)
        self.before_line = before_line
        self.env: dict[str, Provenance] = {}
        self.changed: set[str] = set()
        self.rebound: set[str] = set()  # names bound to a new object (not only filled)
        self.filled: list[tuple[Any, Provenance]] = []  # objects a loop over them filled, with what they got
        # lists empty as the cell began or bound empty by it -> what each ``append`` put in, in order (None: the
        # order is not known)
        self.appends: dict[str, list[Provenance] | None] = {
            name: []
            for name, (held, provenance) in self.at_start.items()
            if not provenance and held.holds(user_ns.get(name))
        }
        self.uncertain = 0  # inside a branch or a loop followed as a whole: statements that may run any times
        self.turn_holds: dict[str, ast.Name] = {}  # a loop's name -> the name written out it holds this turn
        self.loop_names: set[str] = set()  # the names loops under way bind to each item they go over
        self.decided = EMPTY  # what the tests of the branches under way read of those items (``if p >= .5:``)
        self.seeds = capture.statement_reads if seeds is None else seeds  # what each line of the cell read

    def value(self, name: str) -> Provenance:
        """What ``name`` holds where the flow is: what flowed into it, else its object's provenance, or, when the
        cell has bound it to another object since it began, what the object it held then had."""
        found = self.env.get(name)
        if found is None:
            obj = self.user_ns.get(name)
            held = self.at_start.get(name)
            if held is not None and not held[0].holds(obj):
                found = held[1]
            elif type(obj) is types.FunctionType:  # ``clean(m)``, ``apply(clean)``: what your function reads by name
                found = function_reads(self.capture, obj)
            else:
                found = self.capture.of(obj) if obj is not None else EMPTY
            self.env[name] = found
        return found

    def reads(self, *nodes: ast.AST | None) -> Provenance:
        names: set[str] = set()
        items: list[Provenance] = []
        for node in nodes:
            if node is not None:
                self._gather(node, names, items)
        return union(self.value(name) for name in names) | union(items)

    def _gather(self, node: ast.AST, names: set[str], items: list[Provenance]) -> None:
        """The names ``node`` reads, except where it reads a tracked item by a constant subscript of one
        (``ds["train"]``): that item's provenance instead of the whole container's."""
        if isinstance(node, ast.Subscript):
            item = self.item(node)
            if item is not None:
                items.append(item)
                return
            if _plain_value(node.slice, self.user_ns):  # ``df[features]``, ``df.loc[:, cfg["columns"]]``: names
                self._gather(node.value, names, items)
                return
        elif isinstance(node, ast.Name):
            names.add(node.id)
            return
        elif isinstance(node, ast.Attribute) and (held := self.attribute(node)) is not None:
            items.append(held)
            return
        elif isinstance(node, ast.Call) and (settings := _settings(node, self.user_ns)) is not None:
            learned = [keyword.value for keyword in node.keywords if keyword.arg in LEARNED]
            for argument in (*node.args, *(keyword.value for keyword in node.keywords)):
                # settings are no data; a vocabulary is, however plain
                if argument not in settings and (argument in learned or not _plain_value(argument, self.user_ns)):
                    self._gather(argument, names, items)
            return
        elif isinstance(node, ast.Call) and _opens(node.func):
            for argument in (*node.args, *(keyword.value for keyword in node.keywords)):
                if not _path_value(argument, self.user_ns):  # the path names what is read: the line's reads
                    self._gather(argument, names, items)
            return
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PREDICTING:
            items.append(self.saved_as(node.func.value))  # ``np.expm1(model.predict(X))``: the model file too
        elif isinstance(node, _COMPREHENSIONS):
            # its own names hold items of what it goes over, which it reads: not the names the cell bound alike
            # (the first iterable is read where the comprehension is)
            inner: set[str] = set()
            first, *others = node.generators
            self._gather(first.iter, names, items)
            results = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
            for part in (*results, *first.ifs, *others):
                self._gather(part, inner, items)
            bound = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            names |= inner - bound
            return
        for child in cellcode.children(node):
            self._gather(child, names, items)

    def saved_as(self, node: ast.AST) -> Provenance:
        """The model files the fit a name holds was saved as or loaded from (``describe.remember_file``): what its
        predictions derive from besides its data."""
        while isinstance(node, ast.Name) and node.id in self.turn_holds:
            node = self.turn_holds[node.id]
        obj = self.user_ns.get(node.id) if isinstance(node, ast.Name) else None
        if obj is None or isinstance(obj, _NOT_CHANGED):
            return EMPTY
        hooks = self.capture.hooks
        fit_id = hooks.training.get(obj).get("fitId")
        files = hooks.fit_files.get(fit_id) if fit_id else None
        return self.capture.exact(set(files.values())) if files else EMPTY

    def item(self, node: ast.Subscript) -> Provenance | None:
        """``splits["train"]``, ``ds["train"]["text"]``, ``parts[0]``: the provenance of the item a chain of constant
        subscripts reaches in a dict (a ``DatasetDict`` too), list or tuple, looked up without running any code
        (down to the first object that is none of them: ``ds["train"]`` is a dataset, ``["text"]`` its column).
        None (the container's, then) when the item is untracked or has data the container's name does not."""
        keys: list[Any] = []
        base: ast.AST = node
        while isinstance(base, ast.Subscript):
            key = base.slice
            keys.append(key.value if isinstance(key, ast.Constant) else _NO_KEY)
            base = base.value
        if not isinstance(base, ast.Name):
            return None
        obj = self.user_ns.get(base.id)
        reached = False
        for key in reversed(keys):
            found = _lookup(obj, key)
            if found is _NO_KEY:
                break
            obj, reached = found, True
        if not reached:
            return None
        provenance = self.capture.of(obj)
        whole = self.value(base.id)
        if not provenance or (whole and not provenance.sources <= whole.sources):
            return None
        if any(key is _NO_KEY for key in keys):  # ``ds["train"][i:j]``: the names its other subscripts read too
            provenance = provenance | self.reads(*_subscript_keys(node))
        return provenance

    def attribute(self, node: ast.Attribute) -> Provenance | None:
        """``self.X``: the provenance of the object a chain of attributes of a name reaches (found in instance
        dictionaries, no code run), when tracked and within what the name has; None (the name's, then) otherwise."""
        path: list[str] = []
        base: ast.AST = node
        while isinstance(base, ast.Attribute):
            path.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            return None
        holder = self.user_ns.get(base.id)
        obj = attribute_of(holder, reversed(path))
        provenance = self.capture.of(obj) if obj is not None else EMPTY
        if not provenance and obj is not None and len(path) == 1:
            provenance = _assigned_reads(self.capture, holder, path[0])
        whole = self.value(base.id)
        if not provenance or (whole and not provenance.sources <= whole.sources):
            return None
        return provenance

    def located(self, node: ast.AST) -> Provenance:
        """The datasets read by the calls of the cell made within ``node`` (``load("a.csv")`` of ``load("a.csv"),
        load("b.csv")``), found by where each call the cell statement was making when it read one is
        (``Capture.call_sites``)."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if first is None or last is None or self.seeds is not self.capture.statement_reads:
            return EMPTY
        span = (first, node.col_offset, last, node.end_col_offset)  # type: ignore[attr-defined]
        sources: set[Source] = set()
        for line in range(first, last + 1):
            for (code, instruction, lead), read in self.capture.call_sites.get(line, {}).items():
                found = _instruction_span(code, instruction, lead)
                if found is not None and span[:2] <= found[:2] and found[2:] <= span[2:]:
                    sources.update(read)
        return self.capture.exact(sources) if sources else EMPTY

    def elements(self, values: list[ast.expr], seeded: Provenance) -> list[Provenance]:
        """What each item of a tuple or list written out reads (``load("a.csv"), load("b.csv")``): its names and the
        datasets its calls read; what the statement read that no item's calls account for goes to each."""
        located = [self.located(value) for value in values]
        rest = seeded.sources - frozenset().union(*(found.sources for found in located))
        extra = self.capture.exact(rest) if rest else EMPTY
        return [self.reads(value) | found | extra for value, found in zip(values, located, strict=True)]

    def turns(self, value: ast.ListComp | ast.GeneratorExp, count: int, seeded: Provenance) -> list[Provenance] | None:
        """``a, b = [load(p) for p in paths]``: what each of the ``count`` turns of the comprehension read (the
        datasets read in it, ``StatementReads.turns``) with the names it reads; None unless it ran ``count`` turns
        that each read data, once."""
        log = self.capture.statement_reads  # not when following a loop's turn with its own reads
        found = log.turns(value.lineno, value.end_lineno or value.lineno) if self.seeds is log else None
        if found is None or len(found) != count:
            return self.turns_over_items(value, count)
        rest = seeded.sources - frozenset().union(*found)
        shared = self.reads(value) | (self.capture.exact(rest) if rest else EMPTY)
        return [self.capture.exact(turn) | shared for turn in found]

    def turns_over_items(self, value: ast.ListComp | ast.GeneratorExp, count: int) -> list[Provenance] | None:
        """``first, second = [d * 3 for d in (a, b)]``: a comprehension over ``count`` items written out, turn by
        turn: what its element reads with the loop's name holding each item's; None for any other."""
        loop = value.generators[0]
        items = _items_written_out(loop.iter)
        if len(value.generators) != 1 or loop.ifs or not isinstance(loop.target, ast.Name) or loop.is_async:
            return None
        if items is None or len(items) != count:
            return None
        name, saved = loop.target.id, self.env.get(loop.target.id)
        found = []
        for item in items:
            self.env[name] = self.reads(item)
            found.append(self.reads(value.elt))
        if saved is None:
            del self.env[name]
        else:
            self.env[name] = saved
        return found

    def seeded(self, first: int, last: int) -> Provenance:
        sources: set[Source] = set()
        for line in range(first, last + 1):
            sources.update(self.seeds.get(line, ()))
        return self.capture.exact(sources) if sources else EMPTY

    def bind(self, target: ast.AST, provenance: Provenance, replace: bool = True) -> None:
        if self.decided:
            provenance = provenance | self.decided
        if isinstance(target, ast.Name):
            self.env[target.id] = provenance if replace else self.value(target.id) | provenance
            self.changed.add(target.id)
            if replace:
                self.rebound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                self.bind(item, provenance, replace)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, provenance, replace)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            base = _base_name(target)
            if base is not None and provenance:
                self.bind(ast.Name(id=base), provenance, replace=False)

    def done(self, statement: ast.stmt) -> bool:
        end = statement.end_lineno or statement.lineno
        return self.before_line is None or end < self.before_line

    def block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            if self.before_line is not None and statement.lineno >= self.before_line:
                return
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        span = (node.lineno, node.end_lineno or node.lineno)
        handler: Callable[[Any], None] | None = getattr(self, f"_{type(node).__name__}", None)
        if handler is not None:
            handler(node)
        elif isinstance(node, (ast.If, ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.uncertain += 1
            decided = self.decided
            if isinstance(node, ast.If) and self.loop_names and not self.loop_names.isdisjoint(_names_in((node.test,))):
                self.decided = decided | self.reads(node.test)  # an item's branch: what it binds depends on the item
            for field in ("body", "orelse", "handlers", "finalbody"):
                for item in getattr(node, field, ()):
                    self.block(item.body if isinstance(item, ast.ExceptHandler) else [item])
            self.decided = decided
            self.uncertain -= 1
        elif isinstance(node, ast.Expr) and self.done(node):
            self._call(node.value, self.seeded(*span))

    def _Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name) and (target.id in self.appends or _empty_list(node.value)):
                self.appends[target.id] = [] if _empty_list(node.value) and not self.uncertain else None
            else:
                self._changes_list(target)
        if self.done(node):
            seeded = self.seeded(node.lineno, node.end_lineno or node.lineno)
            provenance = self.reads(node.value) | seeded
            for target in node.targets:
                items = _unpacked(self, target, node.value, seeded) if len(provenance.sources) > 1 else None
                if items is None:
                    self.bind(target, provenance)
                else:
                    for item, given in zip(target.elts, items, strict=True):  # type: ignore[attr-defined]
                        self.bind(item, given)
            if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
                self._fills(node.value, node.value.func.id, seeded)  # ``t2 = mk(train)`` assigning a ``global`` too
            self._fitted(node.value, seeded)
            made = node.targets[0]
            if len(seeded.sources) > 1 and isinstance(node.value, ast.Call) and isinstance(made, ast.Name):
                instance = self.user_ns.get(made.id)
                if instance is not None and not isinstance(instance, _NOT_CHANGED):
                    _tag_attributes(self.capture, instance, seeded)

    def _AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None and self.done(node):
            self.bind(node.target, self.reads(node.value) | self.seeded(node.lineno, node.end_lineno or node.lineno))

    def _AugAssign(self, node: ast.AugAssign) -> None:
        self._changes_list(node.target)
        if self.done(node):
            provenance = self.reads(node.value) | self.seeded(node.lineno, node.end_lineno or node.lineno)
            self.bind(node.target, provenance, replace=False)

    def _For(self, node: ast.For) -> None:
        seeded = self.seeded(node.lineno, node.iter.end_lineno or node.lineno)
        values = _items_written_out(node.iter)
        if values is not None:
            self._for_each(node, node.target, values, seeded)
            return
        items = self.tracked_items(node.iter) if isinstance(node.target, ast.Name) else None
        if items is not None:
            self._for_items(node, node.target, items, seeded)  # type: ignore[arg-type]
            return
        header = self.reads(node.iter) | seeded
        self.uncertain += 1
        names = {item.id for item in ast.walk(node.target) if isinstance(item, ast.Name)} - self.loop_names
        self.loop_names |= names
        for _ in range(2):
            self.bind(node.target, header, replace=False)
            self.block(node.body)
        self.loop_names -= names
        self.uncertain -= 1
        self.block(node.orelse)

    _AsyncFor = _For

    def _for_each(self, node: ast.For, target: ast.expr, values: list[ast.expr], seeded: Provenance) -> None:
        """``for ds in (train, valid, test): ds["x2"] = ds["x"] * 2``, ``for name, (X, y) in [("a", a), ("b", b)]``:
        the body followed once per item, the loop's names holding that item's alone (a tuple written out unpacked
        item by item); what the body fills a name with goes to the item's name (the same object, unless the body
        rebinds it). In the middle of the loop (a hooked call in its body), the items up to the one its names hold
        now, that one last."""
        rebinds = isinstance(target, ast.Name) and _rebinds(node, target.id)
        turns = list(zip(values, self.elements(values, seeded), strict=True))
        if not self.done(node):
            under_way = [index for index, (value, _) in enumerate(turns) if self._holds(target, value)]
            if len(under_way) == 1:
                turns = turns[: under_way[0] + 1]
        for value, given in turns:
            self._bind_item(target, value, given)
            if isinstance(target, ast.Name) and isinstance(value, ast.Name) and not rebinds:
                self.turn_holds[target.id] = value  # ``for model in (m1, m2)``: which object this turn's name is
            self.block(node.body)
            self.turn_holds.pop(getattr(target, "id", None), None)
            if isinstance(target, ast.Name) and isinstance(value, ast.Name) and not rebinds:
                self.bind(value, self.value(target.id), replace=False)
        self.block(node.orelse)

    def _bind_item(self, target: ast.expr, value: ast.expr, given: Provenance) -> None:
        """A loop's names given one item (``given``: what it reads): a tuple written out to a tuple of names item
        by item, else every name all of it."""
        if isinstance(target, (ast.Tuple, ast.List)) and _written_out(value) and len(value.elts) == len(target.elts):  # type: ignore[attr-defined]
            for part, item in zip(target.elts, value.elts, strict=True):  # type: ignore[attr-defined]
                self._bind_item(part, item, self.reads(item) | self.located(item))
        else:
            self.bind(target, given)

    def _holds(self, target: ast.expr, value: ast.expr) -> bool:
        """Whether the loop's names hold what ``value`` (an item written out) holds now: the item under way."""
        if isinstance(target, (ast.Tuple, ast.List)):
            parts = value.elts if _written_out(value) else None  # type: ignore[attr-defined]
            if parts is None:
                held = _static_value(value, self.user_ns)
                if type(held) is not tuple or len(held) != len(target.elts):
                    return False
                return all(
                    isinstance(name, ast.Name) and _same(self.user_ns.get(name.id, _NO_KEY), item)
                    for name, item in zip(target.elts, held, strict=True)
                )
            return len(parts) == len(target.elts) and all(
                self._holds(name, part) for name, part in zip(target.elts, parts, strict=True)
            )
        if not isinstance(target, ast.Name):
            return False
        held = ast.literal_eval(value) if isinstance(value, ast.Constant) else _static_value(value, self.user_ns)
        return held is not _NO_KEY and _same(self.user_ns.get(target.id, _NO_KEY), held)

    def tracked_items(self, node: ast.AST) -> list[tuple[Any, Provenance]] | None:
        """The items of a small list or tuple a name holds (``combine = [train, test]``), each with the provenance a
        hook or the fallback gave it, when every item has some; else None."""
        held = self.user_ns.get(node.id) if isinstance(node, ast.Name) else None
        if type(held) not in (list, tuple) or not 0 < len(held) <= _MAX_ITEMS:  # type: ignore[arg-type]
            return None
        items = [(item, self.capture.of(item)) for item in held]  # type: ignore[union-attr]
        return items if all(own for _, own in items) else None

    def _for_items(
        self, node: ast.For, target: ast.Name, items: list[tuple[Any, Provenance]], seeded: Provenance
    ) -> None:
        """``for ds in combine: ds["Title"] = ...`` over tracked items: the body followed once per item, the loop's
        name holding that item's provenance alone; what the body fills it with goes to that object (``filled``)."""
        rebinds = _rebinds(node, target.id)
        for item, own in items:
            self.bind(target, own | seeded)
            self.block(node.body)
            found = self.value(target.id)
            if not rebinds and not found.sources <= own.sources:
                self.filled.append((item, found))
        self.block(node.orelse)

    def _While(self, node: ast.While) -> None:
        self.uncertain += 1
        for _ in range(2):
            self.block(node.body)
        self.block(node.orelse)
        self.uncertain -= 1

    def _With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                line = item.context_expr.end_lineno or node.lineno
                self.bind(item.optional_vars, self.reads(item.context_expr) | self.seeded(node.lineno, line))
        self.block(node.body)

    _AsyncWith = _With

    def _call(self, expression: ast.AST, seeded: Provenance) -> None:
        """``rows.append(x)``, ``clf.fit(X, y)``: the object adds what the arguments read (and the statement's)."""
        if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name):
            self._fills(expression, expression.func.id, seeded)
            return
        if not isinstance(expression, ast.Call) or not isinstance(expression.func, ast.Attribute):
            return
        base = _base_name(expression.func.value)
        if base is None or isinstance(self.user_ns.get(base), _NOT_CHANGED):
            return
        provenance = self.reads(*expression.args, *(k.value for k in expression.keywords)) | seeded | self.decided
        if base in self.appends:
            self._appended(base, expression, provenance)
        if provenance:
            self.bind(ast.Name(id=base), provenance, replace=False)

    def _fitted(self, value: ast.expr, seeded: Provenance) -> None:
        """``W = nmf.fit_transform(X)``, ``LogisticRegression().fit(vec.fit_transform(X), y)``: an estimator a
        name holds, fitted within a value, adds what its fit reads, as ``nmf.fit(X)`` as a statement does (the
        value's own reads for a fit that is the whole value, else the datasets its calls read). Not in a lambda or
        a comprehension, whose own names are no names of the cell."""
        pending: list[ast.AST] = [value]
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FITTING:
                self._call(node, seeded if node is value else self.located(node))
            pending += cellcode.children(node)

    def _changes_list(self, target: ast.AST) -> None:
        """``sets[0] = x``, ``sets += [x]``: the order of a list's appends is no longer known."""
        base = _base_name(target) if isinstance(target, (ast.Name, ast.Subscript, ast.Attribute)) else None
        if base is not None and base in self.appends:
            self.appends[base] = None

    def _appended(self, name: str, call: ast.Call, provenance: Provenance) -> None:
        """``sets.append(out)`` on a list the cell bound empty: what the item appended read, in order, while every
        append is known to run once (none in a branch or a loop followed as a whole; a loop over items written out
        is followed turn by turn); any other change of the list makes the order unknown."""
        appended = self.appends[name]
        simple = isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)
        if appended is None or self.uncertain or not simple or call.func.attr != "append" or len(call.args) != 1:  # type: ignore[attr-defined]
            self.appends[name] = None
        else:
            appended.append(provenance)

    def _fills(self, call: ast.Call, name: str, seeded: Provenance) -> None:
        """``resizer(non)``: a function of the user's own called for its effect; the module-level names its body
        fills (``images.append(...)``, ``counts[k] = ...``, a ``global`` assigned) add what the call read (its
        arguments, and the datasets read while it ran)."""
        function = self.user_ns.get(name)
        if not isinstance(function, types.FunctionType):
            return
        filled = _filled_globals(function.__code__)
        provenance = self.reads(*call.args, *(k.value for k in call.keywords)) | seeded if filled else EMPTY
        if not provenance:
            return
        for target in filled:
            if target in self.user_ns and not isinstance(self.user_ns[target], _NOT_CHANGED):
                self.bind(ast.Name(id=target), provenance, replace=False)


class _Returns(_Flow):
    """A user function's body followed like a cell's (its reads by line from ``Capture.code_reads``, its parameters
    holding what the call read): what each item of the tuples it returns got."""

    def __init__(self, capture: Capture, namespace: dict[str, Any], seeds: dict[int, set[Source]], count: int) -> None:
        super().__init__(capture, namespace, None)
        self.seeds = seeds
        self.items: list[Provenance] = [EMPTY] * count
        self.returned = False
        self.unknown = False  # a return that is no tuple of ``count`` items

    def saved_as(self, node: ast.AST) -> Provenance:
        """A parameter's or local's model is not the global of that name the namespace holds: not known here."""
        return EMPTY if isinstance(node, ast.Name) and node.id in self.env else super().saved_as(node)

    def _Return(self, node: ast.Return) -> None:
        value = node.value
        if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != len(self.items):
            self.unknown = True
            return
        if any(isinstance(item, ast.Starred) for item in value.elts):
            self.unknown = True
            return
        for index, item in enumerate(value.elts):
            span = (item.lineno, item.end_lineno or item.lineno)
            self.items[index] = self.items[index] | self.reads(item) | self.seeded(*span)
        self.returned = True


class _Locals(_Flow):
    """A function's body followed up to the statement under way, in its call's locals: a name bound keeps what a hook
    gave the object it holds now (``data = pd.read_parquet(path)``: the file), as the cell's reads by line would;
    ``seeds``: what this call read by line (``X_tr, y_tr = load("train.csv")``, a function of the user's own)."""

    def __init__(
        self, capture: Capture, namespace: dict[str, Any], before_line: int, seeds: dict[int, set[Source]]
    ) -> None:
        super().__init__(capture, namespace, before_line)
        self.seeds = seeds  # this call's reads by line, not the cell's

    def bind(self, target: ast.AST, provenance: Provenance, replace: bool = True) -> None:
        if isinstance(target, ast.Name):
            held = self.user_ns.get(target.id)
            own = self.capture.of(held) if held is not None else EMPTY
            if own.precision == "exact":
                provenance = provenance | own
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and provenance:
            # ``self.y = ...``: the object the attribute holds gets it too (``catch_up_in_function``)
            name = f"{target.value.id}.{target.attr}"
            self.env[name] = provenance if replace else self.env.get(name, EMPTY) | provenance
            self.changed.add(name)
        super().bind(target, provenance, replace)


def _unpacked(flow: _Flow, target: ast.AST, value: ast.AST, seeded: Provenance) -> list[Provenance] | None:
    """``train, test = loader.split()``: what each target got, where the user function called is known and returns
    tuples of as many items (its own reads by line: ``Capture.code_reads``); what the statement read that the
    function's items do not account for goes to every target. None when that is not knowable."""
    if not isinstance(target, (ast.Tuple, ast.List)):
        return None
    if _written_out(value) and len(value.elts) == len(target.elts):  # type: ignore[attr-defined]
        return flow.elements(value.elts, seeded)  # type: ignore[attr-defined]
    if isinstance(value, (ast.ListComp, ast.GeneratorExp)):
        return flow.turns(value, len(target.elts), seeded)  # type: ignore[attr-defined]
    if not isinstance(value, ast.Call):
        return None
    if any(not isinstance(item, (ast.Name, ast.Attribute, ast.Subscript)) for item in target.elts):
        return None
    function, bound = _callee(value.func, flow.user_ns)
    parsed = _function_tree(function.__code__) if function is not None else None
    if parsed is None:
        return None
    tree, offset = parsed
    code = function.__code__
    seeds: dict[int, set[Source]] = {}
    for (filename, line), sources in flow.capture.code_reads.items():
        if filename == code.co_filename and line - offset > 0:  # what this statement read (not another call's)
            seeds.setdefault(line - offset, set()).update(sources & seeded.sources)
    returns = _Returns(flow.capture, getattr(function, "__globals__", {}), seeds, len(target.elts))
    returns.env.update(_parameters(flow, tree.args, value, bound))
    returns.block(tree.body)
    if returns.unknown or not returns.returned:
        return None
    covered = frozenset().union(*(item.sources for item in returns.items))
    rest = seeded.sources - covered
    extra = flow.capture.exact(rest) if rest else EMPTY
    return [item | extra for item in returns.items]


def _parameters(flow: _Flow, arguments: ast.arguments, call: ast.Call, bound: ast.AST | None) -> dict[str, Provenance]:
    """What each parameter of the called function holds: its argument's reads (``self`` the object's); ``*args`` and
    ``**kwargs`` what no named parameter took; a call that unpacks (``f(*xs)``) gives every parameter everything."""
    positional = [arg.arg for arg in (*arguments.posonlyargs, *arguments.args)]
    named = [*positional, *(arg.arg for arg in arguments.kwonlyargs)]
    rest = [arg.arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
    given: dict[str, Provenance] = dict.fromkeys([*named, *rest], EMPTY)
    values: list[ast.AST] = ([bound] if bound is not None else []) + list(call.args)
    if any(isinstance(item, ast.Starred) for item in call.args) or any(k.arg is None for k in call.keywords):
        everything = flow.reads(call)
        return dict.fromkeys(given, everything)
    extra = EMPTY
    for index, item in enumerate(values):
        if index < len(positional):
            given[positional[index]] = flow.reads(item)
        else:
            extra = extra | flow.reads(item)
    for keyword in call.keywords:
        if keyword.arg in given and keyword.arg not in rest:
            given[keyword.arg] = flow.reads(keyword.value)
        else:
            extra = extra | flow.reads(keyword.value)
    for name in rest:
        given[name] = extra
    return given


_MAX_ITEMS = 16  # items of a list a loop goes over followed one by one (the loop's body followed for each)


def _rebinds(loop: ast.For, name: str) -> bool:
    """Whether the body of ``loop`` binds ``name`` anew."""
    return any(
        isinstance(item, ast.Name) and item.id == name and isinstance(item.ctx, ast.Store)
        for statement in loop.body
        for item in ast.walk(statement)
    )


def _empty_list(node: ast.AST) -> bool:
    """``[]`` or ``list()``."""
    if isinstance(node, ast.List):
        return not node.elts
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "list" and not node.args


def _items_written_out(node: ast.AST) -> list[ast.expr] | None:
    """The items a loop's header writes out: a tuple or list (``(train, test)``), the pairs of a dict's ``items()``
    (``{"a": a, "b": b}.items()``) or of ``enumerate`` over one; None for any other."""
    if _written_out(node):
        return list(node.elts)  # type: ignore[attr-defined]
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Dict) and not node.args:
        keys, values = func.value.keys, func.value.values
        if any(key is None for key in keys):
            return None
        if func.attr == "items":
            return [ast.Tuple(elts=[key, value], ctx=ast.Load()) for key, value in zip(keys, values, strict=True)]  # type: ignore[list-item]
        return list(values) if func.attr == "values" else None
    if isinstance(func, ast.Name) and func.id == "enumerate" and len(node.args) == 1 and _written_out(node.args[0]):
        items = node.args[0].elts  # type: ignore[attr-defined]
        return [ast.Tuple(elts=[ast.Constant(index), item], ctx=ast.Load()) for index, item in enumerate(items)]
    return None


def _same(held: Any, value: Any) -> bool:
    """Whether a name holds ``value``: the same object, or an equal number or text."""
    return held is value or (isinstance(value, _PLAIN) and type(held) is type(value) and held == value)


def _written_out(node: ast.AST) -> bool:
    """A tuple or list written out item by item (none starred)."""
    return isinstance(node, (ast.Tuple, ast.List)) and not any(isinstance(item, ast.Starred) for item in node.elts)


@functools.lru_cache(maxsize=1024)
def _instruction_span(code: types.CodeType, instruction: int, lead: int) -> tuple[int, int, int, int] | None:
    """Where the instruction at ``instruction`` of a cell's ``code`` is in the cell as typed (``lead`` blank lines
    first): line, column, end line, end column."""
    try:
        line, end, column, end_column = next(itertools.islice(code.co_positions(), instruction // 2, None))
    except (AttributeError, StopIteration, ValueError):
        return None
    if line is None or end is None or column is None or end_column is None:
        return None
    return line + lead, column, end + lead, end_column


def _settings(call: ast.Call, namespace: Any) -> tuple[ast.expr, ...] | None:
    """The hyper-parameters given to a call, looked up without running any code: any plain value given to a class
    of the scikit-learn estimator API (``fit`` and ``get_params``: scikit-learn's, XGBoost's, LightGBM's...), and
    the ``params`` of a boosting library's ``train`` (``lgb.train(params, dtrain)``, ``xgb.train``,
    ``hooks/boosting.py``); None for any other callee."""
    found = _static_callee(call.func, namespace)
    if isinstance(found, type):
        return () if hasattr(found, "fit") and hasattr(found, "get_params") else None
    # a function only: not ``pl.col``, whose every attribute (``__name__`` too) is an expression
    if not isinstance(found, types.FunctionType) or found.__name__ != "train":
        return None
    module = getattr(found, "__module__", None)
    if not isinstance(module, str) or module.partition(".")[0] not in ("lightgbm", "xgboost"):
        return None
    return (*call.args[:1], *(keyword.value for keyword in call.keywords if keyword.arg == "params"))


def _static_callee(node: ast.AST, namespace: Any) -> Any:
    """What a chain of attributes of a name (``lgb.train``) holds, looked up without running any code; None when
    not found."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in namespace:
        return None
    found = namespace[node.id]
    try:
        for part in reversed(parts):
            found = inspect.getattr_static(found, part)
    except AttributeError:
        return None
    return found


_PLAIN = (bool, int, float, complex, str, bytes, type(None))
_OPENER_PREFIXES = ("read_", "load_", "scan_")  # ``pd.read_csv``, ``load_dataset``, ``pl.scan_parquet``
_OPENERS = frozenset({"open", "load", "loadtxt", "genfromtxt", "fromfile", "loadmat", "imread"})  # not ``loads``
_PATH_BUILDERS = frozenset({"join", "Path", "PurePath", "str", "fspath", "abspath", "expanduser", "joinpath"})


def _opens(function: ast.AST) -> bool:
    """Whether a call's ``f`` is named as a function that reads what a path names (``open``, ``gzip.open``,
    ``np.load``, ``read_*``, ``load_*``, ``scan_*``): its path arguments are no data, the line's reads are."""
    name = (
        function.id if isinstance(function, ast.Name) else function.attr if isinstance(function, ast.Attribute) else ""
    )
    return name in _OPENERS or name.startswith(_OPENER_PREFIXES)


def _path_value(node: ast.AST, namespace: Any) -> bool:
    """Whether an argument is a path or a setting, looked up without running any code: a constant; a name (or
    constant subscript or attribute of one) holding a path, a one-line text, a number or a small collection of
    them; an f-string, ``+``, ``/``, ``os.path.join(...)`` or ``Path(...)`` of those (``open(f"{city}.csv")``
    in a loop over names read from a file reads the file, not the list of names)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(
            _path_value(part.value if isinstance(part, ast.FormattedValue) else part, namespace) for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        return _path_value(node.left, namespace) and _path_value(node.right, namespace)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_path_value(item, namespace) for item in node.elts)
    if isinstance(node, ast.Dict):
        return all(_path_value(item, namespace) for item in (*node.keys, *node.values) if item is not None)
    if isinstance(node, ast.Call):
        function = node.func
        name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
        arguments = (*node.args, *(keyword.value for keyword in node.keywords))
        return name in _PATH_BUILDERS and all(_path_value(item, namespace) for item in arguments)
    value = _static_value(node, namespace)
    if isinstance(value, os.PathLike):
        return True
    return _plain(value) and not _holds_lines(value)


def _holds_lines(value: Any) -> bool:
    """Whether text (or a collection's text) runs over several lines: data, not a path."""
    if isinstance(value, (str, bytes)):
        return b"\n" in value if isinstance(value, bytes) else "\n" in value
    if type(value) is dict:
        value = list(value.values())
    return type(value) in (list, tuple) and any(_holds_lines(item) for item in value)


def _plain_value(node: ast.AST, namespace: Any) -> bool:
    """Whether an argument or index is a plain setting: a constant; a name, a constant subscript of a dict or list
    or an attribute held by an instance (looked up without running any code) holding a number or text, or a small
    list or dict of them (``n_est``, ``params["ngrams"]``, ``args.max_depth``, ``cfg["features"]``, read from a
    params file or the command line); a slice or a tuple or list of them (``ngram_range=(1, ngrams)``)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_plain_value(item, namespace) for item in node.elts)
    if isinstance(node, ast.Slice):
        return all(part is None or _plain_value(part, namespace) for part in (node.lower, node.upper, node.step))
    return _plain(_static_value(node, namespace))


def _plain(value: Any) -> bool:
    """A number or text, or a small list, tuple or dict of them (column names, settings)."""
    if isinstance(value, _PLAIN):
        return True
    if type(value) is dict:
        value = list(value.values())
    return type(value) in (list, tuple) and len(value) <= 1000 and all(isinstance(item, _PLAIN) for item in value)


def _static_value(node: ast.AST, namespace: Any) -> Any:
    """The value of a name, or of a chain of constant subscripts and attributes on one, found without running any
    code; ``_NO_KEY`` when it cannot be."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, _NO_KEY)
    if isinstance(node, ast.Subscript):
        key = node.slice.value if isinstance(node.slice, ast.Constant) else _NO_KEY
        held = _static_value(node.value, namespace)
        return _NO_KEY if held is _NO_KEY else _lookup(held, key)
    if isinstance(node, ast.Attribute):
        held = _static_value(node.value, namespace)
        if held is _NO_KEY or isinstance(held, (type, types.ModuleType)):
            return _NO_KEY
        try:  # an instance's own attribute (argparse's Namespace), no ``__getattr__`` run
            own = object.__getattribute__(held, "__dict__")
        except AttributeError:
            return _NO_KEY
        return own.get(node.attr, _NO_KEY) if isinstance(own, dict) else _NO_KEY
    return _NO_KEY


def _callee(node: ast.AST, namespace: dict[str, Any]) -> tuple[Any, ast.AST | None]:
    """The Python function a call's ``f`` or ``obj.method`` names, looked up without running any code, and the
    expression its first parameter is bound to (``obj`` of a method called on an instance)."""
    parts: list[str] = []
    owner = node.value if isinstance(node, ast.Attribute) else None
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in namespace:
        return None, None
    found = holder = namespace[node.id]
    try:
        for part in reversed(parts):
            holder, found = found, inspect.getattr_static(found, part)
    except AttributeError:
        return None, None
    bound = None
    if isinstance(found, (staticmethod, classmethod)):
        if isinstance(found, classmethod):
            bound = ast.Constant(None)  # the class: no data
        found = found.__func__
    elif parts and isinstance(found, types.FunctionType) and not isinstance(holder, (type, types.ModuleType)):
        bound = owner  # a method looked up on an instance
    return (found, bound) if isinstance(found, types.FunctionType) else (None, None)


@functools.lru_cache(maxsize=64)
def _function_tree(code: types.CodeType) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, int] | None:
    """A user function's definition parsed from its source, and the offset of its lines in its file."""
    if not is_user_file(code.co_filename):
        return None
    lines = linecache.getlines(code.co_filename)
    if not lines:
        return None
    try:
        block = inspect.getblock(lines[code.co_firstlineno - 1 :])
        tree = ast.parse(textwrap.dedent("".join(block)))
    except (SyntaxError, IndexError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node, code.co_firstlineno - 1
    return None


@functools.lru_cache(maxsize=256)
def _filled_globals(code: types.CodeType) -> frozenset[str]:
    """The module-level names a user function's body fills: a method called for its effect on one
    (``images.append(x)``), an item or attribute of one assigned, a name declared ``global`` assigned."""
    parsed = _function_tree(code)
    if parsed is None:
        return frozenset()
    tree = parsed[0]
    declared = {name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names}
    own = (set(code.co_varnames) | set(code.co_cellvars)) - declared
    filled: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            if isinstance(node.value.func, ast.Attribute):
                filled.add(_base_name(node.value.func.value) or "")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, (ast.Subscript, ast.Attribute)):
                    filled.add(_base_name(target) or "")
                elif isinstance(target, ast.Name) and target.id in declared:
                    filled.add(target.id)
    return frozenset(name for name in filled if name and name not in own)


_NO_KEY: Any = object()


def _lookup(obj: Any, key: Any) -> Any:
    """``obj[key]`` for a dict (by ``dict.get``: a subclass's ``__getitem__`` is not run), a list or a tuple and a
    constant key; else ``_NO_KEY``."""
    if key is _NO_KEY or isinstance(key, (bool, float, complex, bytes, type(...))) or key is None:
        return _NO_KEY
    if isinstance(obj, dict):
        try:
            return dict.get(obj, key, _NO_KEY)
        except TypeError:
            return _NO_KEY
    if type(obj) in (list, tuple) and isinstance(key, int) and -len(obj) <= key < len(obj):
        return obj[key]
    return _NO_KEY


def _assigned_reads(capture: Capture, instance: Any, name: str) -> Provenance:
    """``self.X`` that no hook tracked, of an instance of a class of the user's own: what the statements of its
    class's methods assigning it read while they ran (``self.X, self.y = load("train.csv")`` in ``__init__``), of
    what the cell statement under way read; at cell precision."""
    found = _assigning_reads(capture, instance, name)
    if found and capture.user_ns is not None:
        line = cell_line(capture.user_ns, capture.cell_source)
        found &= capture.statement_reads.get(line, set()) if line is not None else set()
    return capture.exact(found).at_cell_precision() if found else EMPTY


def _assigning_reads(capture: Capture, instance: Any, name: str) -> set[Source]:
    """What the statements of ``instance``'s class's methods (classes of the user's own) that assign ``name`` on
    ``self`` read while they ran, in this cell."""
    found: set[Source] = set()
    for code in _user_methods(type(instance)):
        for line in _assigning_lines(code, name):
            found.update(capture.code_reads.get((code.co_filename, line), ()))
    return found


@functools.lru_cache(maxsize=256)
def _user_methods(klass: type) -> tuple[types.CodeType, ...]:
    """The code of the methods that the classes of the user's own in ``klass``'s MRO define."""
    found = []
    for owner in klass.__mro__[:-1]:
        for method in list(vars(owner).values()):
            code = getattr(method, "__code__", None)
            if isinstance(code, types.CodeType) and is_user_file(code.co_filename):
                found.append(code)
    return tuple(found)


def _tag_attributes(capture: Capture, instance: Any, seeded: Provenance) -> None:
    """``worker = Worker()``: each attribute no hook tracked gets what the statements of its class's methods that
    assigned it read while this statement ran (``self.X, self.y = load("train.csv")``: the training file)."""
    try:
        attributes = object.__getattribute__(instance, "__dict__")
    except AttributeError:
        return
    if not isinstance(attributes, dict) or not _user_methods(type(instance)):
        return
    for name, value in list(attributes.items())[:64]:
        if value is None or isinstance(value, (bool, int, float, str, bytes)) or capture.of(value):
            continue
        found = _assigning_reads(capture, instance, name) & seeded.sources
        if found:
            capture.registry.tag(value, capture.exact(found).at_cell_precision().through(capture.cell_run_id))


@functools.lru_cache(maxsize=256)
def _assigning_lines(code: types.CodeType, name: str) -> tuple[int, ...]:
    """The lines (in its file) of a method's statements that assign ``name`` on its first parameter (``self``)."""
    parsed = _function_tree(code)
    if parsed is None or not parsed[0].args.args:
        return ()
    tree, offset = parsed
    owner = tree.args.args[0].arg
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for item in ast.walk(target):
                    if (
                        isinstance(item, ast.Attribute)
                        and item.attr == name
                        and isinstance(item.value, ast.Name)
                        and item.value.id == owner
                    ):
                        lines.extend(range(node.lineno + offset, (node.end_lineno or node.lineno) + offset + 1))
    return tuple(lines)


def attribute_of(obj: Any, path: Iterable[str]) -> Any:
    """The object reached from ``obj`` by the attribute names of ``path``, each found in an instance dictionary (no
    property or ``__getattr__`` run); None when one is not there, or ``obj`` is a module, class or function."""
    if isinstance(obj, _NOT_CHANGED):
        return None
    for name in path:
        try:
            attributes = object.__getattribute__(obj, "__dict__")
        except AttributeError:
            return None
        if not isinstance(attributes, dict) or name not in attributes:
            return None
        obj = attributes[name]
    return obj


def _subscript_keys(node: ast.AST) -> list[ast.AST]:
    """The subscripts of a chain (``i``, ``j`` of ``ds["train"][i:j]``)."""
    keys = []
    while isinstance(node, ast.Subscript):
        keys.append(node.slice)
        node = node.value
    return keys


def _base_name(node: ast.AST) -> str | None:
    """``rows`` of ``rows``, ``rows[0]``, ``data["train"].x``."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def follow(
    capture: Capture,
    tree: ast.Module,
    user_ns: dict[str, Any],
    before_line: int | None = None,
    seeds: dict[int, set[Source]] | None = None,
) -> dict[str, Provenance]:
    """Give the objects the cell bound or filled what flowed into their names (module docstring); what each name
    rebound anew got (for :func:`retag`). ``seeds``: what each line read, when not all the cell's reads so far (a
    loop's turn under way)."""
    flow = _Flow(capture, user_ns, before_line, seeds, capture.names_at_start)
    flow.block(tree.body)
    given: dict[str, Provenance] = {}
    for name in flow.changed:
        provenance = flow.env.get(name, EMPTY)
        obj = user_ns.get(name)
        if not provenance or obj is None:
            continue
        known = capture.of(obj)
        if known and known.precision == "exact":
            continue  # a hook knows exactly where it came from
        if name not in flow.rebound:
            if provenance.sources <= known.sources:
                continue  # filled with nothing new
            provenance = known | provenance
        tagged = provenance.at_cell_precision().through(capture.cell_run_id)
        if name in flow.rebound:
            given[name] = tagged
            if provenance.sources <= known.sources and capture.registry.tracks(obj):
                continue  # a hook gave it more since (a model loaded, then trained): kept
        capture.registry.tag(obj, tagged, binding=(user_ns, name))
        if type(obj) is tuple and len(obj) <= _MAX_ITEMS:  # ``tr = load("train.csv")`` returning ``X, y``: each
            for item in obj:  # array of it gets what the tuple got (``for X, y in (tr, te): fit(X, y)``)
                if capture.untracked_data((item,)):
                    capture.registry.tag(item, tagged)
    for obj, provenance in flow.filled:
        known = capture.of(obj)
        if not (known and known.precision == "exact") and not provenance.sources <= known.sources:
            capture.registry.tag(obj, (known | provenance).at_cell_precision().through(capture.cell_run_id))
    _tag_appended(capture, user_ns, flow.appends)
    return given


def _tag_appended(capture: Capture, user_ns: dict[str, Any], appends: dict[str, list[Provenance] | None]) -> None:
    """Each item of a list the cell bound empty and appended to, once each append (``for d in [a, b]:
    sets.append(d * 2)``), gets what its own append read, when no hook tracked it: ``sets[0]`` is ``a``'s."""
    for name, appended in appends.items():
        held = user_ns.get(name)
        if not appended or type(held) is not list or len(held) != len(appended):
            continue
        for item, provenance in zip(held, appended, strict=True):
            if provenance and capture.untracked_data((item,)):
                capture.registry.tag(item, provenance.at_cell_precision().through(capture.cell_run_id))


_IDENTIFIER = re.compile(r"[^\W\d]\w*")


class Held:
    """Which object a name held (never keeping it alive): a weak reference, or its identity and type for an object
    that takes none (a list), whose address a new list may take once it is gone."""

    __slots__ = ("_key", "_ref")

    def __init__(self, obj: Any) -> None:
        try:
            self._ref: Any = weakref.ref(obj)
        except TypeError:
            self._ref = None
        self._key = (id(obj), type(obj))

    def holds(self, obj: Any) -> bool:
        if self._ref is not None:
            return self._ref() is obj
        return self._key == (id(obj), type(obj))


def names_at_start(capture: Capture, source: str, user_ns: dict[str, Any]) -> dict[str, tuple[Held, Provenance]]:
    """What each name the cell's ``source`` mentions holds as the cell begins, when it has provenance (the object,
    weakly, and its provenance): for the statements that read it before the cell binds it anew. An empty list is
    there too, with no provenance: the cell may append to it (``_Flow.appends``)."""
    found: dict[str, tuple[Held, Provenance]] = {}
    for name in set(_IDENTIFIER.findall(source)):
        obj = user_ns.get(name)
        if obj is None or isinstance(obj, _NOT_CHANGED):
            continue
        if type(obj) is list and not obj:
            found[name] = (Held(obj), EMPTY)
            continue
        provenance = capture.of(obj)
        if provenance:
            found[name] = (Held(obj), provenance)
    return found


def retag(capture: Capture, given: dict[str, Provenance], user_ns: dict[str, Any]) -> None:
    """The same statements ran again (a loop's body): the new objects their names hold get what the flow gave
    those names the first time, unless a hook tracks them."""
    for name, tagged in given.items():
        obj = user_ns.get(name)
        if obj is not None and not capture.of(obj):
            capture.registry.tag(obj, tagged, binding=(user_ns, name))


def under_way(capture: Capture, frame: Any = None) -> Provenance:
    """What the cell statement under way reads by name (a constant subscript by its item), the statements before it
    followed first; at cell precision. With the cell's ``frame``, only what the call it is making reads (``MyData(X)``
    of ``DataLoader(MyData(X))``), when that call is found. For a hook whose object no hook tracked
    (``tok.train_from_iterator(...)``)."""
    source, user_ns = capture.cell_source, capture.user_ns
    if not source or user_ns is None:
        return EMPTY
    line = cell_line(user_ns, source)
    code = cellcode.parse(source)
    if line is None or code is None:
        return EMPTY
    flow = _Flow(capture, user_ns, line, at_start=capture.names_at_start)
    flow.block(code.tree.body)
    for statement in code.tree.body:
        end = statement.end_lineno or statement.lineno
        if statement.lineno <= line <= end:
            lead = blank_lead(source)
            node = _call_at(statement, _position(frame), lead, 0) if frame is not None else None
            if node is not None:
                found = flow.reads(node) | flow.seeded(node.lineno, node.end_lineno or node.lineno)
            else:
                found = flow.reads(statement) | flow.seeded(statement.lineno, end)
            return found.at_cell_precision() if found else found
    return EMPTY


def generator_reads(capture: Capture, generator: Any) -> Provenance:
    """What a generator of the user's own (``def batch_iterator(): ... yield ds["train"][i:j]["text"]``) reads from
    the notebook's namespace by name: its function's body followed (a constant subscript by its item), a generator
    expression's names as a whole; at cell precision. Empty for any other iterator."""
    code = getattr(generator, "gi_code", None)
    user_ns = capture.user_ns
    if not isinstance(code, types.CodeType) or user_ns is None or not is_user_file(code.co_filename):
        return EMPTY
    flow = _Flow(capture, user_ns, None)
    parsed = _function_tree(code)
    if parsed is not None and parsed[0].name == code.co_name:
        found = flow.reads(*parsed[0].body)
    else:  # a generator expression: the global names it loads (not attribute names)
        names = _global_loads(code)
        found = union(flow.value(name) for name in names if not isinstance(user_ns.get(name), _NOT_CHANGED))
    return found.at_cell_precision() if found else found


def function_reads(capture: Capture, function: Any) -> Provenance:
    """What a function of the user's own given to a library call (``df["text"].apply(expand)``) reads by name from
    its module's namespace (``abbr``, a lookup dict read from a file, in ``expand``'s body: global names it loads,
    not attribute names), and what its closure, its defaults (``def expand(text, table=abbr)``), a
    ``functools.partial``'s arguments or a bound method's object (``Cleaner(abbr).expand``) hold; the user
    functions it calls by name too, a few levels deep. At cell precision; empty for any other object."""
    found, pending, seen = EMPTY, [function], set()
    while pending and len(seen) < _MAX_FUNCTIONS:
        current = pending.pop()
        held: list[Any] = []
        if isinstance(current, functools.partial):
            pending.append(current.func)
            held = [*current.args, *current.keywords.values()]
        elif isinstance(current, types.MethodType):
            pending.append(current.__func__)
            owner = current.__self__
            held = [owner, *_attributes(owner)]
        elif isinstance(current, types.FunctionType) and is_user_file(current.__code__.co_filename):
            code = current.__code__
            if id(code) in seen:
                continue
            seen.add(id(code))
            namespace = current.__globals__
            held = [namespace[name] for name in _global_loads(code) if name in namespace]
            held += [cell.cell_contents for cell in current.__closure__ or () if _filled(cell)]
            held += [*(current.__defaults__ or ()), *(current.__kwdefaults__ or {}).values()]
        for value in held:
            if isinstance(value, CALLABLES):
                pending.append(value)
            elif not isinstance(value, _NOT_CHANGED) and not isinstance(value, _PLAIN):
                found = found | capture.of(value)
    return found.at_cell_precision() if found else found


_MAX_FUNCTIONS = 8  # user functions followed from one given to a library call
CALLABLES = (types.FunctionType, types.MethodType, functools.partial)  # what ``function_reads`` follows


@functools.lru_cache(maxsize=512)
def _global_loads(code: types.CodeType) -> frozenset[str]:
    """The global names ``code`` and the code nested in it load (``co_names`` holds attribute names too:
    ``re.sub`` is no read of a frame named ``sub``)."""
    names, codes = set(), [code]
    while codes:
        inner = codes.pop()
        names.update(i.argval for i in dis.get_instructions(inner) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME"))
        codes.extend(item for item in inner.co_consts if isinstance(item, types.CodeType))
    return frozenset(names)


def _attributes(owner: Any) -> list[Any]:
    """The values of a (small) object's own attributes: what a bound method of it may read."""
    try:
        held = vars(owner)
    except TypeError:
        return []
    return list(held.values())[:64] if len(held) <= 256 else []


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 (an empty cell raises)
    except ValueError:
        return False
    return True


def caller_reads(capture: Capture, frame: Any) -> Provenance:
    """What the statement of the user's code under way reads by name, from ``frame`` up: a cell's (as
    :func:`under_way`), or in a function of the user's own, its statement at the line running looked up in that call's
    locals and globals (``return TensorDataset(torch.tensor(frame.values))`` in ``def load(path)``: ``frame``); at cell
    precision. For a hooked call given objects no hook tracked."""
    frame = user_frame(frame)
    if frame is None:
        return EMPTY
    code = frame.f_code
    if code.co_name == "<module>":
        return under_way(capture, frame) if frame.f_globals is capture.user_ns else EMPTY
    running = _statement_running(frame)
    if running is None:
        return EMPTY
    _, offset, _, statement = running
    first = linecache.getline(code.co_filename, code.co_firstlineno)
    node = _call_at(statement, _position(frame), -offset, len(first) - len(first.lstrip()))
    flow = _Flow(capture, collections.ChainMap(frame.f_locals, frame.f_globals), None)  # type: ignore[arg-type]
    found = flow.reads(node if node is not None else statement)
    return found.at_cell_precision() if found else found


def argument_reads(capture: Capture, frame: Any, nothing_known: bool = False) -> tuple[Provenance, bool]:
    """What the arguments of the call the user's code is making, from ``frame`` up, read (``X`` of ``fit(X / 255.,
    y)``, ``np.log1p(X)``, ``X.values``; of an item set, ``df["z"] = np.log1p(X)``, the value): their names (a plain
    setting not) as the registry has them, and in a cell the datasets the calls within them read; at cell precision.
    Empty when that call is not found. For a hooked call given tracked data and data no hook tracked, made from a
    cell or a function of the user's own. Also whether a name they read holds data no hook tracked, outside a loop
    (the code so far is worth following then)."""
    frame = user_frame(frame)
    if frame is None:
        return EMPTY, False
    code = frame.f_code
    in_cell = code.co_name == "<module>"
    if in_cell:
        source, user_ns = capture.cell_source, capture.user_ns
        if not source or user_ns is None or frame.f_globals is not user_ns:
            return EMPTY, False
        lead = blank_lead(source) if capture.script is None else 0
        arguments, looped = _cell_arguments(source, code, frame.f_lasti, lead)
        flow = _Flow(capture, user_ns, None)
    else:
        arguments, looped = _function_arguments(code, frame.f_lasti)
        flow = _Flow(capture, collections.ChainMap(frame.f_locals, frame.f_globals), None)  # type: ignore[arg-type]
    if not arguments:
        return EMPTY, False
    # the same call again with the same objects and their provenance (a loop's turns): what it read the first time
    held = tuple(item for name in _names_in(arguments) if not isinstance(item := flow.user_ns.get(name), _PLAIN))
    key = (
        capture.cell_run_id,
        code,
        frame.f_lasti,
        len(capture.reads_log),
        tuple((id(item), id(capture.of(item))) for item in held),
        nothing_known,
    )
    known = _argument_reads.get(key)
    if known is None:
        found = flow.reads(*(item for item in arguments if not _plain_value(item, flow.user_ns)))
        if in_cell:
            found = found | union(flow.located(item) for item in arguments)
        # in a loop the flow cannot tell its turns apart (``guess[i] = ...`` of each dataset in turn): not followed,
        # unless nothing at all is known of the call's data (``nothing_known``: a fit on ``x_tr = x[tr]`` in a fold
        # loop of a function gets all turns' data, not none)
        follow = not looped or (nothing_known and not found)
        known = (found.at_cell_precision() if found else found, follow and capture.untracked_data(held))
        if len(_argument_reads) >= 256:
            _argument_reads.clear()
        _argument_reads[key] = known
    return known


# what argument_reads found, by call site and the objects the call's arguments name
_argument_reads: dict[tuple, tuple[Provenance, bool]] = {}


@functools.lru_cache(maxsize=256)
def _names_in(arguments: tuple[ast.expr, ...]) -> tuple[str, ...]:
    """The names the arguments of a call read."""
    return tuple(sorted({node.id for item in arguments for node in ast.walk(item) if isinstance(node, ast.Name)}))


_Arguments = tuple[ast.expr, ...]


@functools.lru_cache(maxsize=256)
def _cell_arguments(source: str, code: types.CodeType, instruction: int, lead: int) -> tuple[_Arguments, bool]:
    """The arguments of the call a cell's ``code`` makes at ``instruction`` (``lead``: the blank lines IPython
    dropped), or the value of the item it sets there (() when not found); whether that is in a loop's body."""
    parsed = cellcode.parse(source)
    position = _instruction_span(code, instruction, 0)
    if parsed is None or position is None:
        return (), False
    line = position[0] + lead
    return _arguments_at(_innermost(parsed.tree, line), position, lead, 0), _in_loop(parsed.tree, line)


@functools.lru_cache(maxsize=256)
def _function_arguments(code: types.CodeType, instruction: int) -> tuple[_Arguments, bool]:
    """The same in a function of the user's own."""
    parsed = _function_tree(code)
    position = _instruction_span(code, instruction, 0)
    if parsed is None or parsed[0].name != code.co_name or position is None:
        return (), False
    tree, offset = parsed
    first = linecache.getline(code.co_filename, code.co_firstlineno)
    line = position[0] - offset
    found = _arguments_at(_innermost(tree, line), position, -offset, len(first) - len(first.lstrip()))
    return found, _in_loop(tree, line)


def loop_body_around(tree: ast.AST, line: int) -> tuple[int, int] | None:
    """The first and last lines of the body of the innermost loop of ``tree`` that ``line`` is in, or None."""
    found: tuple[int, int] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            first, last = node.body[0].lineno, node.end_lineno or node.lineno
            if first <= line <= last and (found is None or first >= found[0]):
                found = (first, last)
    return found


def _in_loop(tree: ast.AST, line: int) -> bool:
    """Whether ``line`` is in the body of a loop of ``tree``."""
    return any(
        isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and node.body[0].lineno <= line <= (node.end_lineno or 0)
        for node in ast.walk(tree)
    )


def _arguments_at(
    statement: ast.stmt | None, position: tuple[int, int, int, int] | None, shift: int, indent: int
) -> tuple[ast.expr, ...]:
    if statement is None:
        return ()
    call = _call_at(statement, position, shift, indent, (ast.Call, ast.Subscript))
    if isinstance(call, ast.Call):
        return (*call.args, *(keyword.value for keyword in call.keywords))
    if isinstance(call, ast.Subscript) and isinstance(call.ctx, ast.Load):
        return (call.slice,)  # ``agg[~agg.index.isin(target.index)]``: the key, a mask made of other data
    targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
    if isinstance(statement, (ast.Assign, ast.AugAssign)) and any(isinstance(t, ast.Subscript) for t in targets):
        return (statement.value,)  # ``df["z"] = np.log1p(X)``: the value set
    return ()


def call_under_way(capture: Capture, frame: Any) -> tuple[ast.Call, Any] | None:
    """The call the user's code nearest ``frame`` is making (its AST node, as :func:`caller_reads` finds it) and the
    names it sees there (a cell's namespace, a function's locals and globals); None when it is not found."""
    frame = user_frame(frame)
    if frame is None:
        return None
    code = frame.f_code
    if code.co_name == "<module>":
        source, user_ns = capture.cell_source, capture.user_ns
        parsed_cell = cellcode.parse(source) if source and frame.f_globals is user_ns else None
        line = cell_line(user_ns, source) if parsed_cell is not None and user_ns is not None else None
        statements = [s for s in parsed_cell.tree.body if s.lineno <= (line or 0) <= (s.end_lineno or s.lineno)]
        node = _call_at(statements[0], _position(frame), blank_lead(source or ""), 0) if statements else None
        return (node, user_ns) if isinstance(node, ast.Call) else None
    parsed = _function_tree(code)
    if parsed is None or parsed[0].name != code.co_name:
        return None
    tree, offset = parsed
    statement = _innermost(tree, frame.f_lineno - offset)
    if statement is None:
        return None
    first = linecache.getline(code.co_filename, code.co_firstlineno)
    node = _call_at(statement, _position(frame), -offset, len(first) - len(first.lstrip()))
    return (node, collections.ChainMap(frame.f_locals, frame.f_globals)) if isinstance(node, ast.Call) else None


def user_frame(frame: Any) -> Any:
    """The nearest frame of the user's code from ``frame`` up (a cell's or a function's of the user's own), or None."""
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def function_flow(capture: Capture, frame: Any) -> tuple[dict[str, Provenance], Provenance | None] | None:
    """In a function of the user's own running in ``frame`` (not a cell's code): what flowed into each local name
    from its statements before the one under way (``X = torch.tensor(vec.transform(df.text).toarray())``: what
    ``vec`` and ``df`` hold), and what the arguments of the call under way read (None when that call is not found);
    at cell precision. None elsewhere.
    For a hook given an object no hook tracked, made from tracked data inside such a function."""
    code = frame.f_code
    if code.co_name == "<module>":
        return None
    parsed = _function_tree(code)
    if parsed is None or parsed[0].name != code.co_name:
        return None
    tree, offset = parsed
    line = frame.f_lineno - offset
    seeds = {number - offset: sources for number, sources in capture.call_reads.get(frame, {}).items()}
    flow = _Locals(capture, collections.ChainMap(frame.f_locals, frame.f_globals), line, seeds)  # type: ignore[arg-type]
    flow.block(tree.body)
    env = {name: found.at_cell_precision() for name, found in flow.env.items() if found and name in flow.changed}
    statement = _innermost(tree, line)
    call = None
    if statement is not None:
        first = linecache.getline(code.co_filename, code.co_firstlineno)
        call = _call_at(statement, _position(frame), -offset, len(first) - len(first.lstrip()))
    if not isinstance(call, ast.Call):
        return env, None
    given = flow.reads(*call.args, *(k.value for k in call.keywords))
    return env, given.at_cell_precision() if given else given


def _statement_running(frame: Any) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, int, int, ast.stmt] | None:
    """The function of the user's own running in ``frame`` (its tree, and the lines before it in its file), the line
    it runs counted in that tree, and the innermost statement there; None when its code is not found."""
    parsed = _function_tree(frame.f_code)
    if parsed is None or parsed[0].name != frame.f_code.co_name:
        return None
    tree, offset = parsed
    line = frame.f_lineno - offset
    statement = _innermost(tree, line)
    return None if statement is None else (tree, offset, line, statement)


def statement_in_function(capture: Capture, frame: Any) -> tuple[Provenance, range] | None:
    """What the innermost statement under way in a function of the user's own running in ``frame`` reads by name,
    its body included (``with open(log, "a") as f: f.write(",".join(map(str, [country, y_pred])))``: ``country``
    and ``y_pred``), the function's statements before it followed first; a name holding an object a hook tracked
    exactly has that alone (``y_pred`` of one of the models the function loaded); at cell precision; and the lines
    of the statement in its file. None when ``frame`` is no function's or its code is not found."""
    running = _statement_running(frame) if frame.f_code.co_name != "<module>" else None
    if running is None:
        return None
    tree, offset, line, statement = running
    namespace = collections.ChainMap(frame.f_locals, frame.f_globals)
    seeds = {number - offset: sources for number, sources in capture.call_reads.get(frame, {}).items()}
    flow = _Locals(capture, namespace, line, seeds)  # type: ignore[arg-type]
    flow.block(tree.body)
    for node in ast.walk(statement):
        obj = namespace.get(node.id) if isinstance(node, ast.Name) else None
        own = capture.of(obj) if obj is not None else EMPTY
        if own and own.precision == "exact":
            flow.env[node.id] = own  # type: ignore[union-attr]
    end = statement.end_lineno or statement.lineno
    found = flow.reads(statement) | flow.seeded(statement.lineno, end)
    return found.at_cell_precision() if found else found, range(statement.lineno + offset, end + offset + 1)


def statement_reads(capture: Capture, source: str, user_ns: dict[str, Any], line: int) -> Provenance | None:
    """What the cell statement spanning ``line`` of ``source`` reads by name (a constant subscript by its item) and
    the datasets read while it ran, the statements before it followed first; at cell precision. None when the code
    or the statement is not found."""
    code = cellcode.parse(source)
    if code is None:
        return None
    for statement in code.tree.body:
        end = statement.end_lineno or statement.lineno
        if statement.lineno <= line <= end:
            flow = _Flow(capture, user_ns, statement.lineno, at_start=capture.names_at_start)
            flow.block(code.tree.body)
            _bind_own_targets(flow, statement)
            found = flow.reads(statement) | flow.seeded(statement.lineno, end)
            return found.at_cell_precision() if found else found
    return None


def _bind_own_targets(flow: _Flow, statement: ast.stmt) -> None:
    """The names a ``with`` or ``for`` statement binds before its body reads them hold what it binds them to, not
    what they held as the cell began (``with open(p, "wb") as f: f.write(b)`` in a cell after one that wrote
    another file through ``f``)."""
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        for item in statement.items:
            if item.optional_vars is not None:
                flow.bind(item.optional_vars, flow.reads(item.context_expr))
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        flow.bind(statement.target, flow.reads(statement.iter))


def _position(frame: Any) -> tuple[int, int, int, int] | None:
    """Where the instruction ``frame`` runs is in its code (line, column, end line, end column): the call it makes."""
    try:
        line, end, column, end_column = next(itertools.islice(frame.f_code.co_positions(), frame.f_lasti // 2, None))
    except (AttributeError, StopIteration, ValueError):
        return None
    if line is None or end is None or column is None or end_column is None:
        return None
    return line, column, end, end_column


def _call_at(
    statement: ast.stmt,
    position: tuple[int, int, int, int] | None,
    shift: int,
    indent: int,
    kinds: type | tuple[type, ...] = ast.Call,
) -> ast.AST | None:
    """The call (or another node of ``kinds``) of ``statement`` at ``position`` (its lines moved by ``shift``, its
    columns by the ``indent`` the parsed source lost), else None."""
    if position is None:
        return None
    line, column, end, end_column = position
    wanted = (line + shift, column - indent, end + shift, end_column - indent)
    for node in ast.walk(statement):
        if isinstance(node, kinds) and (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset) == wanted:
            return node
    return None


def _innermost(tree: ast.AST, line: int) -> ast.stmt | None:
    """The innermost statement of ``tree`` (not itself) spanning ``line``."""
    around = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node is not tree and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return min(around, key=lambda node: (_span(node), -node.lineno), default=None)


def _span(node: ast.stmt) -> int:
    return (node.end_lineno or node.lineno) - node.lineno
