"""Warnings raised during a hooked call name the user's line, as they would without nblineage.

A library names the line a warning is about by ``stacklevel``: the frame that many calls up from its
``warnings.warn``, counted as if the user called the library directly (pandas counts its own frames until the first
one outside pandas). A hook's wrapper sits between the user's line and the library, so that frame is nblineage's:
the warning would point at nblineage, be shown once for all cells (the registry of that line), and, a
``DeprecationWarning``, be hidden (Python shows those only when they point at ``__main__``). While capture is
loaded, ``warnings.warn`` is :func:`warn`, which steps over nblineage's frames to the next frame beyond them.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

_HERE = Path(__file__).absolute().parent.parent  # nblineage's own files, as imported and with links resolved
_PACKAGE = tuple({str(_HERE) + os.sep, str(_HERE.resolve()) + os.sep})
_SELF_NAMING = ("pandas", "polars")  # their warnings name the first frame outside their own files
_original: Any = warnings.warn  # what ``warnings.warn`` was before install()


def install() -> None:
    """Make ``warnings.warn`` step over nblineage's frames (once; :func:`uninstall` undoes it)."""
    global _original
    if warnings.warn is not warn:
        _original = warnings.warn
        warnings.warn = warn


def uninstall() -> None:
    """Give ``warnings.warn`` back, unless someone replaced it since."""
    if warnings.warn is warn:
        warnings.warn = _original


def warn(message: Any, category: Any = None, stacklevel: Any = 1, source: Any = None, **kwargs: Any) -> None:
    """``warnings.warn``, the frame it names moved past nblineage's (none of them: the same call)."""
    if type(stacklevel) is not int:  # the standard function's own error
        return _original(message, category, stacklevel, source, **kwargs)
    level = max(stacklevel, 1)
    try:
        extra = _frames_to_step(sys._getframe(1), level)
    except Exception:  # never let the attribution break a warning
        extra = 0
    return _original(message, category, level + 1 + extra, source, **kwargs)  # + 1: this function's frame


def user_level(frame: FrameType | None) -> int:
    """The ``stacklevel`` that names the first frame from ``frame`` (stacklevel 1) that is not nblineage's."""
    return 1 + _frames_to_step(frame, 1)


def _frames_to_step(frame: FrameType | None, stacklevel: int) -> int:
    """How many frames past the one ``stacklevel`` names from ``frame`` the first one not nblineage's is (0 when it
    is not ours, or when only nblineage's frames are left). Frames are counted as ``warnings.warn`` counts them
    from a caller of its own: importlib's bootstrap frames skipped. A library that names the first frame outside its
    own files (pandas) stopped at a hook nested in its own call (``assign`` setting items): its frames beyond the
    hook are stepped over too."""
    inner = None
    for _ in range(stacklevel - 1):
        inner, frame = frame, _outer(frame)
    if frame is None or not frame.f_code.co_filename.startswith(_PACKAGE):
        return 0
    library = _self_naming_library(inner)
    stepped = (*_PACKAGE, library) if library else _PACKAGE
    steps = 0
    while frame is not None and frame.f_code.co_filename.startswith(stepped):
        frame, steps = _outer(frame), steps + 1
    return steps if frame is not None else 0


def _self_naming_library(frame: FrameType | None) -> str | None:
    """The folder of the library ``frame`` runs in, when that library's warnings name the first frame outside it."""
    if frame is None:
        return None
    for name in _SELF_NAMING:
        folder = getattr(sys.modules.get(name), "__file__", None)
        if folder is not None and frame.f_code.co_filename.startswith(folder := os.path.dirname(folder) + os.sep):
            return folder
    return None


def _outer(frame: FrameType | None) -> FrameType | None:
    """The next frame out that ``warnings.warn`` counts (importlib's own frames are skipped, as it skips them)."""
    frame = frame.f_back if frame is not None else None
    while frame is not None and "importlib" in frame.f_code.co_filename and "_bootstrap" in frame.f_code.co_filename:
        frame = frame.f_back
    return frame
