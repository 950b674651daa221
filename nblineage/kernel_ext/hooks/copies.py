"""Files the user's code copies, moves or renames: ``shutil.copyfile``, ``copy``, ``copy2``, ``move``, ``os.rename``,
``os.replace`` and ``pathlib.Path.rename``/``replace``.

The file at the destination holds what the source held, so it is an output deriving from the source's version (the
same content, the same fingerprint, under the source's name): a frame written to ``train.pkl.tmp`` then renamed to
``train.pkl``, or a raw file copied into the project's ``data/`` folder, keeps its lineage under its new name. The
user's calls record, and a library's only when it moves a file the cell under way wrote (``joblib.Memory`` caches a
result under a temporary name, then renames it): other renames of libraries' (their own atomic writes) are theirs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from nblineage.kernel_ext.capture import Capture, capturing, current, user_caller
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import locate, named
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Source

__all__ = ["FileCopiesInstrumentor"]


def _copied(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``copy(src, dst)`` done: ``dst`` (what the call returns, a folder's new file for ``shutil.copy``) derives
    from ``src`` in the version it now has there too."""
    src = argument(args, kwargs, 0, "src", None)
    dst = result if isinstance(result, (str, bytes, os.PathLike)) else argument(args, kwargs, 1, "dst", None)
    origin = named(src) if src is not None else None
    copy = locate(dst) if dst is not None else None
    if origin is None or copy is None or copy.local is None:
        return
    written = copy.source(written=True)
    dataset = origin[0]
    source = Source(dataset.namespace, dataset.name, written.version)
    if (source.namespace, source.name) != (written.namespace, written.name):
        capture.write(written, None, provenance=capture.exact([source]))


def _moving(where: str) -> Any:
    """``intercept`` of a copy or move made by the user's code, or of a file the cell under way wrote."""
    inner = intercept(where, _copied)

    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        if capturing() and (user_caller(sys._getframe(1)) or _written_in_cell(instance, args, kwargs)):
            return inner(wrapped, instance, args, kwargs)
        return wrapped(*args, **kwargs)

    return wrapper


def _written_in_cell(instance: Any, args: tuple, kwargs: dict) -> bool:
    """Whether the file a copy or move starts from is one the cell under way wrote."""
    capture = current()
    src = instance if instance is not None else argument(args, kwargs, 0, "src", None)
    found = named(src) if capture is not None and capture.record.outputs and src is not None else None
    if found is None:
        return False
    dataset = found[0]
    return any(
        (out.source.namespace, out.source.name) == (dataset.namespace, dataset.name) for out in capture.record.outputs
    )


class FileCopiesInstrumentor(Instrumentor):
    """The user's file copies, moves and renames (module docstring)."""

    modules = ("os", "shutil", "pathlib")

    def patches(self, module: Any) -> Iterable[Patch]:
        if module.__name__ == "pathlib":
            for name in ("rename", "replace"):
                yield module.Path, name, _moving(f"pathlib.Path.{name}")
            return
        names = ("rename", "replace") if module.__name__ == "os" else ("copyfile", "copy", "copy2", "move")
        for name in names:
            yield module, name, _moving(f"{module.__name__}.{name}")
