"""scipy.io: MATLAB files. ``loadmat`` is a dataset read of the file's version, and the dict it returns and each
array in it carry it (``hooks/loads.py``: ``data = loadmat("ex3data1.mat")``, then ``X = data["X"]``);
``savemat`` is an output with the provenance of the arrays written (a path that is not there names the file with
``.mat`` appended, as scipy opens it unless ``appendmat=False``). A buffer or stream names no file: nothing is
recorded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.loads import record_load, settle
from nblineage.kernel_ext.hooks.numpy import MAX_ARRAYS, record_array_write
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept


class ScipyInstrumentor(Instrumentor):
    """``scipy.io.loadmat`` and ``scipy.io.savemat`` (module docstring)."""

    modules = ("scipy.io",)

    def patches(self, module: Any) -> Iterator[Patch]:
        yield module, "loadmat", intercept("scipy.io.loadmat", _loaded)
        yield module, "savemat", intercept("scipy.io.savemat", _saved)

    def cell_ended(self, capture: Capture) -> None:
        settle(capture)


def _loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    target = argument(args, kwargs, 0, "file_name", None)
    if target is not None:
        record_load(capture, _with_suffix(target, kwargs), result)


def _saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    target = argument(args, kwargs, 0, "file_name", None)
    arrays = argument(args, kwargs, 1, "mdict", None)
    if target is not None and isinstance(arrays, dict):
        written = [value for key, value in arrays.items() if not str(key).startswith("__")][:MAX_ARRAYS]
        record_array_write(capture, _with_suffix(target, kwargs), written)


def _with_suffix(target: Any, kwargs: dict) -> Any:
    """The file scipy opened: the path as given when there is one (a write creates it), else, for a ``str``,
    ``.mat`` appended unless ``appendmat=False`` (scipy's second try)."""
    if isinstance(target, str) and not os.path.exists(target) and kwargs.get("appendmat", True):
        return target if target.endswith(".mat") else target + ".mat"
    return target
