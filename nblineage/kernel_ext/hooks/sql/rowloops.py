"""Lists a cell fills row by row in a ``for`` loop (``for row in cur: X.append(row[:-1]); y.append(row[-1])``): what
the loop's header reads and which names its body fills, from the cell's code. ``dbapi`` gives the filled names the
tables of the rows the header iterated, at cell end."""

from __future__ import annotations

import ast
import functools

from nblineage.kernel_ext import cellcode

# Methods that put something into the object they are called on.
_FILLING = frozenset({"append", "extend", "insert", "add", "update", "appendleft"})


@functools.lru_cache(maxsize=8)
def loop_fills(source: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """(names the header reads: its iterable and its targets, names the body fills) for each ``for`` loop."""
    code = cellcode.parse(source)
    if code is None:
        return ()
    found = []
    for node in ast.walk(code.tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            header = {n.id for part in (node.iter, node.target) for n in ast.walk(part) if isinstance(n, ast.Name)}
            filled = {name for statement in node.body for name in _filled(statement)}
            if header and filled:
                found.append((frozenset(header), frozenset(filled)))
    return tuple(found)


def _filled(statement: ast.stmt) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _FILLING:
            if isinstance(node.func.value, ast.Name):
                names.add(node.func.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(
                target.value.id
                for target in node.targets
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
            )
    return names
