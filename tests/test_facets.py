"""The facets module's names and what type checkers see of it agree."""

from __future__ import annotations

import ast
from pathlib import Path

from nblineage.lineage import facets


def test_mlflow_fields_are_those_of_the_mlflow_facet_type() -> None:
    """``MLFLOW_FIELDS`` (what emit keeps of MLflow's view) lists the fields of ``Mlflow``, a TypedDict made for type
    checkers only (not at run time: it would cost every kernel's load)."""
    tree = ast.parse(Path(facets.__file__).read_text())
    mlflow = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == "Mlflow")
    fields = {ast.unparse(item.target) for item in mlflow.body if isinstance(item, ast.AnnAssign)}
    assert fields == facets.MLFLOW_FIELDS
