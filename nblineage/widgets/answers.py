"""The five answers about a model as sortable tables (the same tables the graph's details pane shows)."""

from __future__ import annotations

import html
import json
from typing import Any

import anywidget
import traitlets

from nblineage.widgets import bundle


class AnswerTables(anywidget.AnyWidget):
    """Sortable tables of ``explain``'s answer (an ``Explanation`` or its JSON): derived models, inputs,
    features, function, performance, resources, location."""

    _esm = bundle.SCRIPT
    _css = bundle.STYLE
    _view = traitlets.Unicode("answers").tag(sync=True)
    answers = traitlets.Dict().tag(sync=True)

    def __init__(self, explanation: Any) -> None:
        bundle.check_built()
        self._explanation = explanation
        super().__init__(answers=explanation.to_json() if hasattr(explanation, "to_json") else dict(explanation))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, and the answer as escaped HTML for places without a kernel."""
        shown = super()._repr_mimebundle_(**kwargs)
        data, metadata = shown if isinstance(shown, tuple) else (shown or {}, {})
        return {**data, "text/html": _static_html(self._explanation, self.answers)}, metadata


def _static_html(explanation: Any, answers: dict[str, Any]) -> str:
    """The answer's own HTML tables where it has them, else its JSON, escaped."""
    if hasattr(explanation, "_repr_html_"):
        return explanation._repr_html_()
    return f"<pre class='nblineage-answers'>{html.escape(json.dumps(answers, indent=1))}</pre>"
