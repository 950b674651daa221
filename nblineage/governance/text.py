"""Plain-text renderings of the answers for people (the CLI; magics can print them too).

Every value comes from untrusted events, so control characters (terminal escapes) are shown as U+FFFD.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the command line prints a table without the answers' module
    from nblineage.governance.answers import (
        Explanation,
        InputDataset,
        Metric,
        ModelFunction,
        ModelInputs,
        ModelLocation,
        ModelSummary,
        Performance,
        Resources,
    )

INDENT = "  "


def clean(value: Any) -> str:
    """``value`` as one printable line (``-`` for None)."""
    return printable("-" if value is None else value)


def printable(value: Any) -> str:
    """Text safe for a terminal: control and format characters (ESC, BEL, U+009B, bidi controls) shown as U+FFFD."""
    return "".join(char if char.isprintable() else "\N{REPLACEMENT CHARACTER}" for char in str(value))


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "") -> list[str]:
    """Aligned columns with an upper-case header; ``(none)`` when there are no rows."""
    if not rows:
        return [f"{indent}(none)"]
    cells = [[clean(value) for value in row] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in cells]
    return [f"{indent}{line}".rstrip() for line in lines]


def model_rows(models: Sequence[ModelSummary]) -> list[list[Any]]:
    return [[m.kind, m.namespace, m.name, m.version, m.depth] for m in models]


MODEL_COLUMNS = ("kind", "namespace", "name", "version", "depth")
DATASET_COLUMNS = ("depth", "namespace", "name", "version", "source", "quality")
METRIC_COLUMNS = ("split", "metric", "value", "origin", "run")


def dataset_rows(datasets: Sequence[InputDataset]) -> list[list[Any]]:
    return [[d.depth, d.namespace, d.name, d.version, "yes" if d.source else "", quality_word(d)] for d in datasets]


def quality_word(dataset: InputDataset) -> str:
    """``passed``, ``FAILED`` (a suite's latest result failed) or empty (no result)."""
    if not dataset.quality:
        return ""
    return "passed" if all(result.success for result in dataset.quality) else "FAILED"


QUALITY_COLUMNS = ("dataset", "version", "suite", "result", "failed", "time", "producer")


def quality_rows(datasets: Sequence[InputDataset]) -> list[list[Any]]:
    """A row per latest suite result on each input version; ``failed``: the expectations that did not hold."""
    return [
        [
            d.name,
            d.version,
            r.suite,
            "passed" if r.success else "FAILED",
            ", ".join(f"{a['assertion']}({a['column']})" if a.get("column") else a["assertion"] for a in r.failed),
            r.time,
            r.producer,
        ]
        for d in datasets
        for r in d.quality
    ]


def quality(datasets: Sequence[InputDataset], empty: bool = False) -> list[str]:
    """The latest result of each suite on each input version, with the assertions that failed (``empty``: a
    dataset without results is listed too)."""
    lines = ["Quality"]
    checked = [dataset for dataset in datasets if dataset.quality or empty]
    if not checked:
        lines.append(f"{INDENT}(no results)")
    for dataset in checked:
        lines.append(f"{INDENT}{clean(dataset.name)} {clean(dataset.version)}")
        if not dataset.quality:
            lines.append(f"{INDENT * 2}(no results)")
        for result in dataset.quality:
            count, failed = len(result.assertions), len(result.failed)
            outcome = f"FAILED ({failed} of {count} assertions failed" if result.success is False else "passed ("
            outcome += f"{count} assertions" if result.success else ""
            by = f" by {clean(result.producer)}" if result.producer else ""
            rows = f", {result.rows} of {result.total_rows} rows" if result.rows != result.total_rows else ""
            lines.append(f"{INDENT * 2}{clean(result.suite)}: {outcome}{rows}) at {clean(result.time)}{by}")
            for item in result.failed:
                column = f" on {clean(item['column'])}" if item.get("column") else ""
                expected = f" expected {clean(item['expected'])}" if item.get("expected") else ""
                actual = f" actual {clean(item['actual'])}" if item.get("actual") else ""
                severity = f" [{clean(item['severity'])}]" if item.get("severity") else ""
                lines.append(f"{INDENT * 3}x {clean(item['assertion'])}{column}{expected}{actual}{severity}")
    return lines


def metric_rows(metrics: Sequence[Metric]) -> list[list[Any]]:
    return [[m.split or "unlabelled", m.name, _number(m.value), m.origin, m.run_id] for m in metrics]


def explanation(answer: Explanation) -> str:
    """All five answers as sections."""
    model = answer.model
    lines = [f"Model {clean(model.name)} ({model.kind})"]
    lines += _pairs(
        [
            ("namespace", model.namespace),
            ("version", model.version),
            ("class", model.model_class),
            ("framework", model.framework),
        ]
    )
    lines += ["", "Derived models"]
    lines += table(MODEL_COLUMNS, model_rows(answer.derived_models), INDENT)
    lines += ["", *inputs(answer.inputs), "", *performance(answer.performance)]
    lines += ["", *resources(answer.resources), "", *location(answer.location)]
    return "\n".join(lines)


def inputs(answer: ModelInputs) -> list[str]:
    lines = ["Datasets"]
    lines += table(DATASET_COLUMNS, dataset_rows(answer.datasets), INDENT)
    lines += ["", *quality(answer.datasets)]
    lines += ["", "Features"]
    if not answer.features:
        lines.append(f"{INDENT}(none recorded)")
    for feature in answer.features:
        lines.append(f"{INDENT}{clean(feature.name)}")
        if not feature.columns:
            lines.append(f"{INDENT * 2}(no source column found)")
        for column in feature.columns:
            where = f"{clean(column.namespace)} {clean(column.name)}"
            mark = " (source)" if column.source else ""
            lines.append(f"{INDENT * 2}<- {clean(column.field)} in {where} [{column.via}]{mark}")
    return [*lines, "", *function(answer.function)]


def function(answer: ModelFunction) -> list[str]:
    lines = ["Function"]
    parameters = ", ".join(
        f"{clean(k)}={clean(json.dumps(v, default=str))}" for k, v in answer.hyper_parameters.items()
    )
    lines += _pairs(
        [
            ("framework", " ".join(clean(p) for p in (answer.framework, answer.framework_version) if p) or None),
            ("class", answer.model_class),
            ("hyper-parameters", parameters or None),
            ("training job", answer.training_job),
            ("notebook", answer.notebook),
            ("training run", answer.training_run_id),
            ("details", json.dumps(answer.details, default=str, sort_keys=True) if answer.details else None),
        ]
    )
    if answer.code is not None:
        lines.append(f"{INDENT}code ({clean(answer.code_language or 'unknown language')}):")
        lines += [f"{INDENT * 2}| {clean(line.expandtabs(4))}".rstrip() for line in answer.code.splitlines()]
    return lines


def performance(answer: Performance) -> list[str]:
    return ["Performance", *table(METRIC_COLUMNS, metric_rows(answer.metrics), INDENT)]


def resources(answer: Resources) -> list[str]:
    lines = ["Resources"]
    gpus = ", ".join(f"{clean(g.name)} (peak {_bytes(g.peak_memory_bytes)})" for g in answer.gpus)
    system = ", ".join(f"{clean(k)}={_number(v)}" for k, v in answer.mlflow_system_metrics.items())
    lines += _pairs(
        [
            ("cell runs", f"{answer.runs}"),
            ("cells", _cells(answer.cells)),
            ("wall time", _seconds(answer.wall_time_seconds)),
            ("CPU time", _seconds(answer.cpu_time_seconds)),
            ("peak memory", _bytes(answer.peak_memory_bytes) if answer.peak_memory_bytes is not None else None),
            ("GPUs", gpus or "none seen"),
            ("MLflow system", system or None),
        ]
    )
    return lines


def location(answer: ModelLocation) -> list[str]:
    lines = ["Location"]
    saved = None
    if answer.saved_by or answer.saved_at:
        saved = f"{clean(answer.saved_by)} at {clean(answer.saved_at)}"
    pairs: list[tuple[str, Any]] = [
        ("uri", answer.uri),
        ("tracking store", answer.tracking),
        ("content hash", answer.content_hash),
        ("size", _bytes(answer.size_bytes) if answer.size_bytes is not None else None),
        ("saved by", saved),
    ]
    mlflow = answer.mlflow
    if mlflow is not None:
        run = mlflow.run_id and (mlflow.run_id + (f" ({mlflow.run_name})" if mlflow.run_name else ""))
        experiment = mlflow.experiment_id and (
            mlflow.experiment_id + (f" ({mlflow.experiment_name})" if mlflow.experiment_name else "")
        )
        versions = ", ".join(f"{v.name}/{v.version}" for v in mlflow.registered_versions)
        pairs += [
            ("MLflow run", run or None),
            ("experiment", experiment or None),
            ("logged model", mlflow.model_id),
            ("artifacts", mlflow.artifact_uri),
            ("registered", versions or None),
        ]
    lines += _pairs(pairs)
    if answer.same_fit:
        lines += [f"{INDENT}same fit also saved as:"]
        rows = [
            [
                c.kind,
                c.uri,
                c.version,
                c.saved_by,
                c.mlflow_run_id,
                _registered(c.registered_name, c.registered_version),
            ]
            for c in answer.same_fit
        ]
        lines += table(("kind", "uri", "version", "saved by", "MLflow run", "registered"), rows, INDENT * 2)
    return lines


def _registered(name: str | None, version: str | None) -> str | None:
    return f"{name}/{version}" if name and version else None


def _cells(jobs: Sequence[str]) -> str | None:
    """Cell jobs ``NOTEBOOK#CELL``, grouped by notebook: ``/nb.ipynb: c1, c2``."""
    if not jobs:
        return None
    notebooks: dict[str, list[str]] = {}
    for job in jobs:
        notebook, _, cell = job.rpartition("#")
        notebooks.setdefault(notebook, []).append(cell if notebook else job)
    return "; ".join(
        f"{notebook}: {', '.join(cells)}" if notebook else ", ".join(cells) for notebook, cells in notebooks.items()
    )


def _pairs(pairs: Sequence[tuple[str, Any]]) -> list[str]:
    shown = [(key, value) for key, value in pairs if value is not None]
    width = max((len(key) for key, _ in shown), default=0)
    return [f"{INDENT}{key + ':':<{width + 1}} {clean(value)}" for key, value in shown]


def _number(value: float) -> str:
    return f"{value:.6g}"


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f} s"


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    size, unit = float(value), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    return f"{value} B" if unit == "B" else f"{size:.1f} {unit}"
