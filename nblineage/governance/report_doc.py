"""The report's content laid out as a document: headings, paragraphs, tables, code and the graph picture, in the
sections of a model card (Mitchell et al., 2019) or of a datasheet for datasets (Gebru et al., 2021). The HTML and
PDF renderers draw these blocks; they never reach into the content themselves, so both show the same report.

Text in blocks is raw (untrusted names included); each renderer escapes it for its medium.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nblineage.governance import text as plain_text
from nblineage.governance.report import ReportContent

HEADING, SUBHEADING, PARAGRAPH, MISSING, TABLE, CODE, GRAPH = "h2", "h3", "p", "missing", "table", "code", "graph"


@dataclass(frozen=True)
class Block:
    """One piece of the document: ``kind`` one of the constants above; ``rows`` of a table are cells of text."""

    kind: str
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def title(content: ReportContent) -> str:
    what = "Model card" if content.kind == "model" else "Datasheet"
    return f"{what}: {content.name}"


def cell(value: Any) -> str:
    """A value as table text: ``-`` for None, JSON for lists and objects."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=isinstance(value, dict))
    return str(value)


def table(columns: tuple[str, ...], rows: list[list[Any]] | list[tuple[Any, ...]]) -> Block:
    return Block(TABLE, columns=columns, rows=tuple(tuple(cell(value) for value in row) for row in rows))


def pairs(items: list[tuple[str, Any]]) -> Block:
    """A field/value table of the items that have a value."""
    return table(("field", "value"), [[key, value] for key, value in items if value not in (None, "", (), [], {})])


def heading(text: str) -> Block:
    return Block(HEADING, text)


def missing(text: str) -> Block:
    """Something the report does not have, said plainly."""
    return Block(MISSING, text)


def document(content: ReportContent) -> list[Block]:
    """The blocks of the whole report, in order."""
    blocks = [*_summary(content), heading("Lineage graph"), Block(GRAPH), *_caption(content)]
    blocks += _model_card(content) if content.kind == "model" else _datasheet(content)
    blocks += [*_quality(content), *_policy(content), *_annex(content), *_audit(content)]
    return blocks


# --- common sections ----------------------------------------------------------------------------------------------


def _summary(content: ReportContent) -> list[Block]:
    audit = content.audit
    records = f"{audit.size} record" + ("" if audit.size == 1 else "s")
    checkpoint = f"{records}, root {audit.root}" if audit.checkpoint else audit.note
    return [
        pairs(
            [
                ("kind", content.kind),
                ("namespace", content.namespace),
                ("name", content.name),
                ("version", content.version),
                ("owner", ", ".join(content.owners) or "not recorded"),
                ("made at", content.created),
                ("made by", f"{content.tool} {content.tool_version}"),
                ("store", content.store),
                ("audit checkpoint", checkpoint),
            ]
        )
    ]


def _caption(content: ReportContent) -> list[Block]:
    graph = content.graph
    inferred = sum(1 for edge in graph.edges if edge.precision != "exact")
    text = f"{len(graph.nodes)} nodes within {graph.depth} dataset hops each way"
    text += ", cut at the node limit" if graph.truncated else ""
    text += f"; {inferred} of {len(graph.edges)} edges inferred at cell level or unknown (dashed or dotted)."
    return [Block(PARAGRAPH, text)]


def _quality(content: ReportContent) -> list[Block]:
    blocks = [heading("Data quality")]
    if not content.quality.datasets:
        return [*blocks, missing(str(content.quality.note))]
    rows = []
    for entry in content.quality.datasets:
        for result in entry.results:
            failed = [a for a in result.get("assertions", []) if isinstance(a, dict) and a.get("success") is False]
            shown = "; ".join(
                " ".join(cell(a.get(k)) for k in ("assertion", "column") if a.get(k) is not None) for a in failed
            )
            rows.append(
                [
                    entry.name,
                    entry.version,
                    result.get("suite"),
                    "passed" if result.get("success") else "FAILED",
                    result.get("time"),
                    shown or "-",
                ]
            )
    return [*blocks, table(("dataset", "version", "suite", "result", "time", "failed assertions"), rows)]


def _policy(content: ReportContent) -> list[Block]:
    policy = content.policy
    blocks = [heading("Policy")]
    if policy.note:
        return [*blocks, missing(policy.note)]
    digest = f" (sha256 {policy.sha256})" if policy.sha256 else ""
    blocks.append(Block(PARAGRAPH, f"Policy file: {policy.source}{digest}"))
    rows = [
        [
            d.name,
            d.owner,
            ", ".join(d.tags) or "-",
            _columns(d.columns),
            ", ".join(d.readers) or "anyone",
            d.retention_days,
        ]
        for d in policy.datasets
    ]
    blocks.append(table(("dataset", "owner", "tags", "tagged columns", "readers", "retention days"), rows))
    blocks.append(Block(SUBHEADING, "Findings"))
    blocks.append(
        Block(
            PARAGRAPH,
            "From the audit log: the decisions the kernel's guard recorded. From the policy: its rules applied to "
            "this lineage now. From the lineage: classified columns behind the model's features.",
        )
    )
    if not policy.findings:
        blocks.append(Block(PARAGRAPH, "No rule of the policy applies to this version, and none was recorded."))
    else:
        blocks.append(
            table(
                ("from", "rule", "decision", "what", "time"),
                [[f.source, f.rule, f.decision, f.text, f.time] for f in policy.findings],
            )
        )
    return blocks


def _columns(columns: dict[str, list[str]]) -> str:
    return "; ".join(f"{column}: {', '.join(tags)}" for column, tags in columns.items()) or "-"


def _annex(content: ReportContent) -> list[Block]:
    rows = [[item.item, item.asks, item.status, item.recorded, item.missing] for item in content.annex]
    return [
        heading("EU AI Act Annex IV, point 2"),
        Block(
            PARAGRAPH,
            "What this report records for each item of the technical documentation, and what it does not. Missing "
            "items must be written by the people responsible; nblineage fills in nothing it did not see.",
        ),
        table(("item", "asks for", "status", "recorded here", "missing"), rows),
    ]


def _audit(content: ReportContent) -> list[Block]:
    audit = content.audit
    blocks = [heading("Audit")]
    if audit.checkpoint is not None:
        blocks += [
            Block(
                PARAGRAPH,
                f"This report was made against the signed checkpoint below ({audit.size} records). The JSON report "
                "holds it exactly, with each record's inclusion proof.",
            ),
            Block(CODE, audit.checkpoint),
        ]
    if audit.note:
        blocks.append(missing(audit.note) if audit.checkpoint is None else Block(PARAGRAPH, audit.note))
    if not audit.records:
        return blocks
    rows = [
        [
            e.index,
            e.record.get("time"),
            e.record.get("actor"),
            e.record.get("action"),
            e.record.get("decision"),
            e.record.get("rule"),
            e.record.get("detail"),
        ]
        for e in audit.records
    ]
    return [*blocks, table(("record", "time", "actor", "action", "decision", "rule", "detail"), rows)]


# --- model card ---------------------------------------------------------------------------------------------------


def _model_card(content: ReportContent) -> list[Block]:
    answer = content.explanation
    assert answer is not None
    function, location, mlflow = answer.inputs.function, answer.location, answer.location.mlflow
    parameters = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in function.hyper_parameters.items())
    details = [
        ("saved as", answer.model.kind),
        ("class", function.model_class),
        ("framework", " ".join(p for p in (function.framework, function.framework_version) if p)),
        ("hyper-parameters", parameters),
        ("training cell", function.training_job),
        ("notebook", function.notebook),
        ("training run", function.training_run_id),
        ("uri", location.uri),
        ("content hash", location.content_hash),
        ("size", plain_text._bytes(location.size_bytes) if location.size_bytes is not None else None),
        ("saved by", location.saved_by),
        ("saved at", location.saved_at),
    ]
    if mlflow is not None:
        details += [
            ("MLflow run", mlflow.run_id),
            ("MLflow experiment", mlflow.experiment_name or mlflow.experiment_id),
            ("logged model", mlflow.model_id),
            ("registered", ", ".join(f"{v.name}/{v.version}" for v in mlflow.registered_versions)),
        ]
    blocks = [heading("Model details"), pairs(details)]
    if function.code:
        blocks += [Block(SUBHEADING, "Training code"), Block(CODE, function.code)]
    if answer.derived_models:
        blocks += [
            Block(SUBHEADING, "Models derived from it"),
            table(plain_text.MODEL_COLUMNS, plain_text.model_rows(answer.derived_models)),
        ]
    if location.same_fit:
        blocks += [
            Block(SUBHEADING, "The same fit saved elsewhere"),
            table(
                ("kind", "uri", "version", "saved by"),
                [[c.kind, c.uri, c.version, c.saved_by] for c in location.same_fit],
            ),
        ]
    blocks += [
        heading("Intended use"),
        missing(
            "Not recorded. nblineage sees how the model was made, not what it is for: its owner should state the "
            "intended uses and users, and the uses out of scope."
        ),
        heading("Factors"),
        missing("Relevant groups, instruments and environments are not recorded."),
        Block(PARAGRAPH, "The features the model was fit on, and the columns they come from:"),
        _features(content),
        heading("Metrics"),
        *_metrics(content),
        heading("Evaluation data"),
        *_evaluation(content),
        heading("Training data"),
        table(
            ("depth", "namespace", "name", "version", "source", "owner", "tags"),
            [
                [d.depth, d.namespace, d.name, d.version, d.source, *_owner_tags(content, d.namespace, d.name)]
                for d in answer.inputs.datasets
            ],
        ),
        heading("Resources"),
        pairs(_resources(content)),
        heading("Ethical considerations"),
        *_ethics(content),
        heading("Caveats and recommendations"),
        *_caveats(content),
    ]
    return blocks


def _features(content: ReportContent) -> Block:
    answer = content.explanation
    assert answer is not None
    rows = []
    for feature in answer.inputs.features:
        columns = [[feature.name, c.field, c.name, c.via] for c in feature.sources or feature.columns]
        rows += columns or [[feature.name, None, None, None]]
    return table(("feature", "source column", "dataset", "found by"), rows)


def _metrics(content: ReportContent) -> list[Block]:
    answer = content.explanation
    assert answer is not None
    if not answer.performance.metrics:
        return [missing("No metrics recorded: the notebook computed none that nblineage saw, and MLflow holds none.")]
    return [table(plain_text.METRIC_COLUMNS, plain_text.metric_rows(answer.performance.metrics))]


def _evaluation(content: ReportContent) -> list[Block]:
    answer = content.explanation
    assert answer is not None
    rows = [
        [m.split, m.name, d.namespace, d.name, d.version]
        for m in answer.performance.metrics
        if m.split in ("validation", "test")
        for d in m.datasets
    ]
    if not rows:
        return [missing("No evaluation data recorded: no validation or test metric names the data it was computed on.")]
    return [table(("split", "metric", "namespace", "dataset", "version"), rows)]


def _owner_tags(content: ReportContent, namespace: str, name: str) -> list[Any]:
    for rules in content.policy.datasets:
        if (rules.namespace, rules.name) == (namespace, name):
            return [rules.owner, ", ".join(rules.tags) or None]
    return [None, None]


def _resources(content: ReportContent) -> list[tuple[str, Any]]:
    resources = content.explanation.resources  # type: ignore[union-attr]
    return [
        ("cell runs", resources.runs),
        ("wall time", plain_text._seconds(resources.wall_time_seconds)),
        ("CPU time", plain_text._seconds(resources.cpu_time_seconds)),
        ("peak memory", plain_text._bytes(resources.peak_memory_bytes) if resources.peak_memory_bytes else None),
        ("GPUs", ", ".join(g.name for g in resources.gpus) or "none seen"),
        ("cells", plain_text._cells(resources.cells)),
    ]


def _ethics(content: ReportContent) -> list[Block]:
    policy = content.policy
    if policy.note:
        return [
            missing(
                f"Ethical considerations are not recorded, and no classification of the data is known: {policy.note}."
            )
        ]
    classified = [d for d in policy.datasets if d.tags or d.columns]
    blocks = [missing("Ethical considerations are not recorded; the policy classifies the data as follows.")]
    if classified:
        blocks.append(
            table(
                ("dataset", "tags", "tagged columns"),
                [[d.name, ", ".join(d.tags) or "-", _columns(d.columns)] for d in classified],
            )
        )
    else:
        blocks.append(Block(PARAGRAPH, "The policy classifies none of the data behind this model."))
    return blocks


def _caveats(content: ReportContent) -> list[Block]:
    lines = []
    inferred = sum(1 for edge in content.graph.edges if edge.precision != "exact")
    if inferred:
        lines.append(f"{inferred} edges of the graph were inferred from the cells' reads, not seen by a hook.")
    if content.graph.truncated:
        lines.append("The graph was cut at the node limit; more lineage exists than is drawn.")
    gaps = [item.item for item in content.annex if item.status == "missing"]
    if gaps:
        lines.append(f"Annex IV items with nothing recorded: {', '.join(gaps)}.")
    lines.append("Recommendations are not recorded.")
    return [Block(PARAGRAPH, line) for line in lines]


# --- datasheet ----------------------------------------------------------------------------------------------------


def _datasheet(content: ReportContent) -> list[Block]:
    rules = next(
        (d for d in content.policy.datasets if (d.namespace, d.name) == (content.namespace, content.name)), None
    )
    upstream = [n for n in content.graph.nodes if n.depth < 0 and n.kind in ("dataset", "model")]
    downstream = [n for n in content.graph.nodes if n.depth > 0 and n.kind == "dataset"]
    blocks = [
        heading("Motivation"),
        pairs([("owner", rules.owner if rules else None)]) if rules and rules.owner else missing("No owner recorded."),
        missing("Why the dataset was created, by whom and with what funding is not recorded."),
        heading("Composition"),
    ]
    if content.schema:
        blocks.append(
            table(
                ("field", "type", "description"),
                [[f.get("name"), f.get("type"), f.get("description")] for f in content.schema],
            )
        )
    else:
        blocks.append(missing("No schema recorded: no producer described this version's fields."))
    if rules and (rules.tags or rules.columns):
        blocks.append(pairs([("classification", ", ".join(rules.tags)), ("tagged columns", _columns(rules.columns))]))
    blocks += [
        missing("What the instances represent, labels, and missing or noisy data are not recorded."),
        heading("Collection process"),
        table(
            ("version", "time", "written by"),
            [[v.get("version"), v.get("time"), v.get("job")] for v in content.versions],
        ),
    ]
    blocks.append(
        table(
            ("depth", "kind", "namespace", "name", "version"),
            [[n.depth, n.kind, n.namespace, n.name, n.version] for n in upstream],
        )
        if upstream
        else Block(PARAGRAPH, "No upstream datasets recorded: this version was read, or written from no tracked data.")
    )
    blocks += [
        heading("Preprocessing, cleaning, labelling"),
        Block(PARAGRAPH, "See Data quality below for the checks run on this version.")
        if content.quality.datasets
        else missing(f"No cleaning or quality checks recorded; {content.quality.note}."),
        missing("Labelling is not recorded."),
        heading("Uses"),
    ]
    if content.derived_models:
        blocks.append(Block(SUBHEADING, "Models derived from it"))
        blocks.append(table(plain_text.MODEL_COLUMNS, plain_text.model_rows(content.derived_models)))
    else:
        blocks.append(Block(PARAGRAPH, "No model derives from it in this store."))
    if downstream:
        blocks.append(Block(SUBHEADING, "Datasets derived from it"))
        blocks.append(
            table(
                ("depth", "namespace", "name", "version"),
                [[n.depth, n.namespace, n.name, n.version] for n in downstream],
            )
        )
    blocks += [
        heading("Distribution"),
        pairs(
            [
                ("namespace", content.namespace),
                ("name", content.name),
                ("readers", (", ".join(rules.readers) or "anyone") if rules else None),
            ]
        ),
        missing("Licence and terms of use are not recorded."),
        heading("Maintenance"),
        pairs([("owner", rules.owner if rules else None), ("retention days", rules.retention_days if rules else None)])
        if rules
        else missing(f"No owner or retention recorded; {content.policy.note}."),
        missing("How and when the dataset is updated is not recorded."),
    ]
    return blocks
