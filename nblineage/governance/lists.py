"""Answers that are lists (of graph nodes, models, datasets) and command reports, shown the same way everywhere.

Each has ``to_json()`` (the command line's ``--json``: a list of objects), ``columns`` and ``rows()`` (the table
people read), and the rich displays every answer has (``answers.Answer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nblineage.governance.answer import Answer

if TYPE_CHECKING:
    from nblineage.governance.answers import ModelSummary
    from nblineage.lineage.graph import DatasetSummary, Node


@dataclass(frozen=True)
class Nodes(Answer):
    """Graph nodes (``upstream``, ``downstream``, ``path``); ``missing`` says why an answer that needs nodes has
    none (no path between two nodes)."""

    nodes: tuple[Node, ...]
    missing: str | None = None
    columns = ("type", "namespace", "name", "version", "depth", "precision")

    def to_json(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [node.to_json() for node in self.nodes]

    def rows(self) -> list[list[Any]]:
        return [[getattr(node, column) for column in self.columns] for node in self.nodes]


@dataclass(frozen=True)
class Models(Answer):
    """Models derived from a dataset (``models-from``)."""

    models: tuple[ModelSummary, ...]
    columns = ("kind", "namespace", "name", "version", "depth", "framework", "class", "mlflow_run", "registered")

    def to_json(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [{"type": "model", **model.to_json()} for model in self.models]

    def rows(self) -> list[list[Any]]:
        return [
            [
                m.kind,
                m.namespace,
                m.name,
                m.version,
                m.depth,
                m.framework,
                m.model_class.rsplit(".", 1)[-1] if m.model_class else None,
                m.mlflow_run_id,
                f"{m.registered_name}/{m.registered_version}" if m.registered_name else None,
            ]
            for m in self.models
        ]


@dataclass(frozen=True)
class Datasets(Answer):
    """Every dataset and model the store knows, with its newest version (``datasets``)."""

    datasets: tuple[DatasetSummary, ...]
    columns = ("type", "namespace", "name", "version", "versions")

    def to_json(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [summary.to_json() for summary in self.datasets]

    def rows(self) -> list[list[Any]]:
        return [[getattr(summary, column) for column in self.columns] for summary in self.datasets]


@dataclass(frozen=True)
class Report(Answer):
    """What a command that changes something did: lines for people, and whether it fully succeeded."""

    lines: tuple[str, ...]
    ok: bool = True
