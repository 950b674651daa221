"""Cell-level provenance for what no hook saw.

After a cell, each statement that (re)binds names gives the objects it bound the provenance of the tracked objects
that statement read: never the whole cell's. An object that already has provenance from a hook keeps it. What the
fallback adds is marked ``cell`` precision.
"""

from __future__ import annotations

import ast
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.provenance import Provenance, union


def apply(capture: Capture, source: str, user_ns: dict[str, Any]) -> None:
    """Tag the objects the cell's statements bound with the provenance of the names those statements read."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return  # IPython syntax (magics, !shell) that was transformed before running
    for statement in ast.walk(tree):
        targets = _targets(statement)
        if not targets:
            continue
        read = {node.id for node in ast.walk(_value(statement)) if isinstance(node, ast.Name)}
        provenance = union(capture.of(user_ns[name]) for name in read if name in user_ns)
        if not provenance:
            continue
        for name in targets:
            obj = user_ns.get(name)
            if obj is None or capture.of(obj):
                continue  # untracked name, or a hook already knows exactly where it came from
            capture.registry.tag(obj, Provenance(provenance.sources, "cell"))


def _targets(statement: ast.AST) -> set[str]:
    if isinstance(statement, ast.Assign):
        nodes = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and statement.value is not None:
        nodes = [statement.target]
    else:
        return set()
    return {node.id for target in nodes for node in ast.walk(target) if isinstance(node, ast.Name)}


def _value(statement: ast.AST) -> ast.AST:
    value = statement.value  # type: ignore[attr-defined]
    if isinstance(statement, ast.AugAssign):
        return ast.Tuple(elts=[statement.target, value], ctx=ast.Load())
    return value
