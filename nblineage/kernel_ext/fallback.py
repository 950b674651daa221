"""Cell-level provenance for what no hook saw.

Each statement that (re)binds names gives the objects it bound the provenance of the tracked objects that statement
read: never the whole cell's. An object that already has provenance from a hook keeps it. This runs after each
cell, and also in the middle of one when a write finds no provenance on what it writes: then the statements that
ran before are applied, and the writing statement's own reads give the output's inputs. What the fallback adds is
marked ``cell`` precision.
"""

from __future__ import annotations

import ast
import functools
import sys
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.provenance import Provenance, union


def apply(capture: Capture, source: str, user_ns: dict[str, Any], before_line: int | None = None) -> None:
    """Tag the objects the cell's statements bound with the provenance of the names those statements read
    (only the statements that end before ``before_line``, when given)."""
    tree = parse(source)
    if tree is None:
        return
    for statement in ast.walk(tree):
        if before_line is not None and (getattr(statement, "end_lineno", None) or 0) >= before_line:
            continue
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
            capture.registry.tag(obj, provenance.at_cell_precision().through(capture.cell_run_id))


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


def at_write(capture: Capture, source: str, user_ns: dict[str, Any]) -> Provenance:
    """Inputs of an output written mid-cell by an object no hook tracked: the reads of the statement writing it."""
    line = _current_line(user_ns)
    tree = parse(source)
    if line is None or tree is None:
        return Provenance()
    apply(capture, source, user_ns, before_line=line)
    for statement in tree.body:
        if statement.lineno <= line <= (statement.end_lineno or statement.lineno):
            read = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}
            found = union(capture.of(user_ns[name]) for name in read if name in user_ns)
            return found.at_cell_precision().through(capture.cell_run_id) if found else found
    return Provenance()


def _current_line(user_ns: dict[str, Any]) -> int | None:
    """The line of the cell being run: the outermost frame executing module code in the user's namespace."""
    frame = sys._getframe(1)
    line = None
    while frame is not None:
        if frame.f_globals is user_ns and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    return line


@functools.lru_cache(maxsize=4)
def parse(source: str) -> ast.Module | None:
    """The cell's syntax tree (shared, never changed), or None for IPython syntax."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None  # IPython syntax (magics, !shell) that was transformed before running
