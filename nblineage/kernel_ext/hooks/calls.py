"""A hooked call's arguments: by position or keyword, and those whose provenance flows into its result."""

from __future__ import annotations

from typing import Any

MISSING: Any = object()
MAX_INPUTS = 4096  # items of a list argument (pd.concat of many frames) looked at for provenance


def argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = MISSING) -> Any:
    """The call's argument at position ``index`` or keyword ``name``."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def inputs(args: tuple, kwargs: dict) -> list[Any]:
    """The arguments whose provenance flows into a result; long lists are opened (the registry stops at 64) and
    kept too (rows fetched from a database are tagged as a whole)."""
    found: list[Any] = []
    for value in (*args, *kwargs.values()):
        if isinstance(value, (list, tuple)) and 64 < len(value) <= MAX_INPUTS:
            found.append(value)
            found.extend(value)
        elif isinstance(value, dict) and 64 < len(value) <= MAX_INPUTS:
            found.extend(value.values())
        else:
            found.append(value)
    return found
