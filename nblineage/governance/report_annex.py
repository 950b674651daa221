"""The report's fields mapped to the items of EU AI Act Annex IV point 2 (technical documentation: the elements of
the AI system and the process of its development). Each item says what the report holds for it and, plainly, what
nblineage does not record; nothing is filled in that the store does not say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nblineage.governance.report import AnnexItem

if TYPE_CHECKING:
    from nblineage.governance.report import ReportContent

RECORDED, PARTIAL, MISSING, NOT_APPLICABLE = "recorded", "partial", "missing", "not applicable"

ITEMS = {
    "2(a)": "methods and steps of development, including pre-trained systems or third-party tools used",
    "2(b)": "design specifications: logic, algorithms, key design choices and their rationale, what is optimised, "
    "parameters, expected output, trade-offs",
    "2(c)": "system architecture, and the computational resources used to develop, train, test and validate",
    "2(d)": "data requirements: datasheets of the training data (provenance, scope, characteristics), how it was "
    "obtained and selected, labelling, cleaning",
    "2(e)": "assessment of the human oversight measures needed (Article 14)",
    "2(f)": "pre-determined changes to the system and its performance, and how compliance is kept",
    "2(g)": "validation and testing: data used, metrics (accuracy, robustness, discriminatory impacts), dated and "
    "signed test logs",
    "2(h)": "cybersecurity measures",
}


def annex_iv(content: ReportContent) -> tuple[AnnexItem, ...]:
    """The Annex IV point 2 rows of ``content``."""
    rows = _model(content) if content.kind == "model" else _dataset(content)
    return tuple(AnnexItem(item, ITEMS[item], status, recorded, missing) for item, status, recorded, missing in rows)


def _status(recorded: list[str], fully: bool = False) -> str:
    return (RECORDED if fully else PARTIAL) if recorded else MISSING


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _join(parts: list[str]) -> str:
    return "; ".join(parts) if parts else "nothing"


def _model(content: ReportContent) -> list[tuple[str, str, str, str]]:
    answer = content.explanation
    assert answer is not None
    function, resources = answer.inputs.function, answer.resources
    rows = []

    steps = []
    if resources.cells:
        steps.append(f"{len(resources.cells)} notebook cells of its derivation (Resources)")
    if function.training_job:
        steps.append(f"training cell {function.training_job}")
    if function.framework:
        steps.append(f"framework {function.framework} {function.framework_version or ''}".rstrip())
    if answer.location.mlflow and answer.location.mlflow.run_id:
        steps.append(f"MLflow run {answer.location.mlflow.run_id}")
    rows.append(
        ("2(a)", _status(steps), _join(steps), "whether pre-trained systems or third-party tools were used, and how")
    )

    design = []
    if function.model_class:
        design.append(f"algorithm {function.model_class}")
    if function.hyper_parameters:
        design.append(f"{len(function.hyper_parameters)} hyper-parameters")
    if answer.inputs.features:
        design.append(f"{len(answer.inputs.features)} features")
    if function.code:
        design.append("training code")
    rows.append(
        (
            "2(b)",
            _status(design),
            _join(design),
            "design choices and their rationale, assumptions, what the model optimises for, expected output and "
            "trade-offs",
        )
    )

    architecture = [f"lineage graph of {len(content.graph.nodes)} nodes"]
    missing = ["how the model fits into the overall system"]
    if resources.runs:
        architecture.append(f"resources of {resources.runs} cell runs (wall time, CPU time, peak memory, GPUs)")
    else:
        missing.append("computational resources (no cell run reported them)")
    rows.append(("2(c)", PARTIAL, _join(architecture), "; ".join(missing)))

    data = []
    datasets = answer.inputs.datasets
    if datasets:
        data.append(f"{_count(len(datasets), 'training dataset')} with versions and provenance (Training data, graph)")
    missing = ["how the data was obtained and selected", "labelling procedures"]
    if content.quality.datasets:
        data.append(f"quality results of {_count(len(content.quality.datasets), 'dataset version')}")
    else:
        missing.append(f"data cleaning and quality checks ({content.quality.note})")
    if content.policy.datasets:
        data.append("owners and classification from the policy")
    rows.append(("2(d)", _status(data), _join(data), "; ".join(missing)))

    rows.append(("2(e)", MISSING, "nothing", "human oversight measures: nblineage does not record them"))
    rows.append(("2(f)", MISSING, "nothing", "pre-determined changes: nblineage does not record them"))

    testing = []
    metrics = answer.performance.metrics
    missing = [
        "robustness and discriminatory-impact measures unless listed in Metrics",
        "signatures of the people responsible for the tests",
    ]
    if metrics:
        splits = sorted({m.split or "unlabelled" for m in metrics})
        testing.append(f"{len(metrics)} metrics ({', '.join(splits)})")
        evaluated = {(d.namespace, d.name) for m in metrics if m.split in ("test", "validation") for d in m.datasets}
        if evaluated:
            testing.append(f"{len(evaluated)} evaluation datasets")
    else:
        missing.insert(0, "metrics: none recorded")
    if content.audit.checkpoint:
        testing.append(f"signed audit checkpoint of {content.audit.size} records")
    rows.append(("2(g)", _status(testing), _join(testing), "; ".join(missing)))

    security = []
    if content.audit.checkpoint:
        security.append("tamper-evident audit log with a signed checkpoint")
    rows.append(("2(h)", _status(security), _join(security), "the system's cybersecurity measures"))
    return rows


def _dataset(content: ReportContent) -> list[tuple[str, str, str, str]]:
    count = len(content.derived_models)
    other = f"this item describes an AI system, not a dataset: see the reports of the {count} models derived from it"
    data = []
    if content.versions:
        data.append(f"{_count(len(content.versions), 'version')} with the jobs that wrote them")
    if content.schema:
        data.append(f"schema of {len(content.schema)} fields")
    data.append(f"provenance graph of {len(content.graph.nodes)} nodes")
    missing = ["how the data was obtained and selected", "labelling procedures"]
    if content.quality.datasets:
        data.append("quality results")
    else:
        missing.append(f"data cleaning and quality checks ({content.quality.note})")
    if content.policy.datasets:
        data.append("owner and classification from the policy")
    else:
        missing.append(f"owner and classification ({content.policy.note})")
    rows = [(item, NOT_APPLICABLE, "-", other) for item in ("2(a)", "2(b)", "2(c)", "2(e)", "2(f)")]
    rows.insert(3, ("2(d)", PARTIAL, _join(data), "; ".join(missing)))
    testing = ["quality results"] if content.quality.datasets else []
    rows.append(("2(g)", _status(testing), _join(testing), "validation and testing of the models: " + other))
    rows.append(("2(h)", NOT_APPLICABLE, "-", other))
    return rows
