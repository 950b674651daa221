"""docs/graph.md's JSON Schema, to check the graph answers REST serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

GRAPH_SCHEMA = json.loads(
    re.search(r"```json schema\n(.*?)```", (Path(__file__).parents[2] / "docs" / "graph.md").read_text(), re.DOTALL)[1]
)


def contract(graph: dict[str, Any]) -> dict[str, Any]:
    """A graph answer, checked against docs/graph.md's JSON Schema."""
    Draft202012Validator(GRAPH_SCHEMA).validate(graph)
    return graph
