"""The base every answer shares (``Answer``: ``to_json()`` of a dataclass in camelCase, text, HTML, a DataFrame) and
``plain`` (answers and dataclasses as plain JSON data), apart from the five answers' many dataclasses
(``answers.py``): a command whose answer is a list or a report imports only this.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def plain(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, strings, numbers, booleans, None)."""
    if isinstance(value, Answer):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class Answer:
    """Mixin: ``to_json()`` of a dataclass, keys in camelCase; shown as text, HTML (notebooks) or a DataFrame
    (``governance/render.py``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._repr_pretty_ = Answer._repr_pretty_  # IPython prefers a class's own __repr__ (a dataclass's) to a base's

    def to_json(self) -> dict[str, Any]:
        return {_camel(f.name): plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    def __str__(self) -> str:
        from nblineage.governance.render import text

        return text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from nblineage.governance.render import html

        return html(self)

    def to_frame(self) -> Any:
        """The answer as a pandas DataFrame (pandas must be installed)."""
        from nblineage.governance.render import frame

        return frame(self)
