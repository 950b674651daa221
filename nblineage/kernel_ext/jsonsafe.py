"""Values JSON cannot hold, made safe: a record keeps everything else, and says which values were changed.

An integer beyond 64 bits becomes its decimal text (or its size, past Python's digit limit); text that is not
valid UTF-8 (a file name read with surrogate escapes) keeps its valid part and shows the other bytes as ``\\xNN``.
The JSON paths of the values changed are listed under ``madeSafe``.
"""

from __future__ import annotations

from typing import Any

INT64 = (-(2**63), 2**64 - 1)


def made_safe(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` that JSON can hold, with ``madeSafe``: the paths of the values changed."""
    changed: list[str] = []
    safe = _safe(record, "", changed)
    return safe | {"madeSafe": changed} if changed else safe


def _safe(value: Any, path: str, changed: list[str]) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if INT64[0] <= value <= INT64[1]:
            return value
        changed.append(path or "/")
        try:
            return str(value)
        except ValueError:  # more digits than Python converts
            return f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, str):
        text = _text(value)
        if text is not value:
            changed.append(path or "/")
        return text
    if isinstance(value, dict):
        return {_text(str(key)): _safe(item, f"{path}/{_text(str(key))}", changed) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_safe(item, f"{path}/{index}", changed) for index, item in enumerate(value)]
    return value  # anything else is left to the encoder's default


def text_of(value: Any) -> str:
    """Any other value, as safe text (the encoder's default)."""
    return _text(str(value))


def _text(value: str) -> str:
    try:
        value.encode()
        return value
    except UnicodeEncodeError:
        return value.encode(errors="surrogateescape").decode(errors="backslashreplace")
