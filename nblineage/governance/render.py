"""Every answer as plain text, as HTML (every value escaped: names come from untrusted events) and as a pandas
DataFrame (pandas imported only then). The command line prints ``text``; notebooks show ``html``.

The modules of the other answers (the five answers, impact, quality) are not imported here: an answer of a class
whose module is not imported cannot exist (``_kind``), so a command's answer renders without loading theirs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nblineage.governance import text as plain_text
from nblineage.governance.lists import Datasets, Models, Nodes, Report

if TYPE_CHECKING:
    from nblineage.governance.answer import Answer
    from nblineage.governance.answers import Explanation

Listing = Nodes | Models | Datasets


def _kind(module: str, name: str) -> type | tuple[()]:
    """The answer class ``name`` of ``nblineage.governance.<module>``, or ``()`` (an instance of nothing) when that
    module is not imported: then no answer of that class exists."""
    loaded = sys.modules.get(f"nblineage.governance.{module}")
    return getattr(loaded, name) if loaded is not None else ()


def text(answer: Answer) -> str:
    """``answer`` as it is printed for people (control characters shown as U+FFFD)."""
    if isinstance(answer, _kind("impact", "ImpactAnswer")):
        lines = [*answer.heading(), "", *plain_text.table(answer.columns, answer.rows()), *answer.notes]
        return "\n".join(plain_text.printable(line) for line in lines)
    if isinstance(answer, Listing):
        lines = plain_text.table(answer.columns, answer.rows()) if answer.rows() else ["(none)"]
        return "\n".join(lines + ([plain_text.printable(answer.missing)] if _missing(answer) else []))
    if isinstance(answer, _kind("answers", "Explanation")):
        return plain_text.explanation(answer)
    if isinstance(answer, _kind("quality_answer", "DatasetQuality")):
        return "\n".join(plain_text.quality([answer], empty=True))  # type: ignore[list-item]
    if isinstance(answer, Report):
        return "\n".join(plain_text.printable(line) for line in answer.lines)
    return "\n".join(plain_text.table(("field", "value"), _flat(answer.to_json())))


def html(answer: Answer) -> str:
    """``answer`` as an HTML fragment: tables, with every value escaped."""
    if isinstance(answer, _kind("impact", "ImpactAnswer")):
        notes = "".join(f"<p>{_escape(line)}</p>" for line in answer.notes)
        return (
            "".join(f"<p>{_escape(line)}</p>" for line in answer.heading())
            + _table(answer.columns, answer.rows())
            + notes
        )
    if isinstance(answer, Listing):
        note = f"<p>{_escape(answer.missing)}</p>" if _missing(answer) else ""
        return _table(answer.columns, answer.rows()) + note
    if isinstance(answer, _kind("answers", "Explanation")):
        return _explanation(answer)
    if isinstance(answer, _kind("quality_answer", "DatasetQuality")):
        return _table(plain_text.QUALITY_COLUMNS, plain_text.quality_rows([answer]))  # type: ignore[list-item]
    if isinstance(answer, Report):
        return "".join(f"<p>{_escape(line)}</p>" for line in answer.lines)
    return _pairs(_flat(answer.to_json()))


def frame(answer: Answer) -> Any:
    """``answer`` as a pandas DataFrame: a list's rows, or ``section``/``field``/``value`` rows of one answer."""
    import pandas

    if isinstance(answer, (Listing, _kind("impact", "ImpactAnswer"))):  # answers with ``columns`` and ``rows()``
        return pandas.DataFrame(answer.rows(), columns=list(answer.columns))
    rows = [(section, key, value) for section, pairs in _sections(answer) for key, value in pairs]
    return pandas.DataFrame(rows, columns=["section", "field", "value"])


def _missing(answer: Listing) -> bool:
    return isinstance(answer, Nodes) and not answer.nodes and bool(answer.missing)


def _escape(value: Any) -> str:
    from html import escape  # imported for HTML only: the command line prints text

    return escape(plain_text.clean(value), quote=True)


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{_escape(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{_escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="nblineage"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pairs(pairs: Sequence[tuple[str, Any]]) -> str:
    return _table(("field", "value"), [[key, value] for key, value in pairs])


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested JSON as (dotted key, scalar or JSON text) pairs."""
    if isinstance(value, dict) and value:
        return [pair for key, item in value.items() for pair in _flat(item, f"{prefix}{key}.")]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [pair for index, item in enumerate(value) for pair in _flat(item, f"{prefix}{index}.")]
    shown = json.dumps(value, default=str) if isinstance(value, list | dict) else value
    return [(prefix.rstrip("."), shown)]


def _sections(answer: Answer) -> list[tuple[str, list[tuple[str, Any]]]]:
    if not isinstance(answer, _kind("answers", "Explanation")):
        return [("answer", _flat(answer.to_json()))]
    from nblineage.governance.answer import plain

    return [(name, _flat(plain(part))) for name, part in _parts(answer)]


def _parts(answer: Explanation) -> list[tuple[str, Any]]:
    return [
        ("model", answer.model),
        ("derived models", answer.derived_models),
        ("datasets", answer.inputs.datasets),
        ("features", answer.inputs.features),
        ("function", answer.inputs.function),
        ("performance", answer.performance.metrics),
        ("resources", answer.resources),
        ("location", answer.location),
    ]


def _feature_rows(answer: Explanation) -> list[list[Any]]:
    """A row per source column of each feature (one empty row for a feature without any)."""
    rows: list[list[Any]] = []
    for feature in answer.inputs.features:
        columns = [[feature.name, c.field, c.namespace, c.name, c.via] for c in feature.columns]
        rows += columns or [[feature.name, None, None, None, None]]
    return rows


def _explanation(answer: Explanation) -> str:
    from nblineage.governance.answer import plain

    model = answer.model
    parts = [f"<h4>Model {_escape(model.name)} ({_escape(model.kind)})</h4>"]
    tables = {
        "derived models": _table(plain_text.MODEL_COLUMNS, plain_text.model_rows(answer.derived_models)),
        "datasets": _table(plain_text.DATASET_COLUMNS, plain_text.dataset_rows(answer.inputs.datasets)),
        "features": _table(("feature", "column", "namespace", "dataset", "via"), _feature_rows(answer)),
        "performance": _table(plain_text.METRIC_COLUMNS, plain_text.metric_rows(answer.performance.metrics)),
    }
    for name, part in _parts(answer):
        shown = tables.get(name) or _pairs([(k, v) for k, v in _flat(plain(part)) if v not in (None, [], {})])
        parts.append(f"<h5>{_escape(name.capitalize())}</h5>{shown}")
        if name == "datasets" and any(dataset.quality for dataset in answer.inputs.datasets):
            rows = plain_text.quality_rows(answer.inputs.datasets)
            parts.append(f"<h5>Quality</h5>{_table(plain_text.QUALITY_COLUMNS, rows)}")
    return "".join(parts)


def json_text(value: Any) -> str:
    """JSON for a terminal: the same data, with control and format characters written as \\u escapes."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(char if char.isprintable() or char == "\n" else _u_escape(char) for char in text)


def _u_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
