"""Excel workbooks opened with openpyxl (``openpyxl.load_workbook``), the way business notebooks read sheets cell by
cell: called by the user's code, a dataset read of the workbook's version, which the workbook returned carries (its
sheets' rows are followed from it by name, as any value the cell makes of it). pandas' own calls (``read_excel``
opens workbooks through openpyxl) record nothing here: ``read_excel`` is hooked itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import locate
from nblineage.kernel_ext.hooks.pyfiles import user_only
from nblineage.kernel_ext.instrument import Instrumentor, Patch


class OpenpyxlInstrumentor(Instrumentor):
    """``openpyxl.load_workbook`` (module docstring)."""

    modules = ("openpyxl",)

    def patches(self, module: Any) -> Iterator[Patch]:
        yield module, "load_workbook", user_only("openpyxl.load_workbook", _loaded)


def _loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    location = locate(argument(args, kwargs, 0, "filename", None))
    if location is not None:
        capture.read(location.source(), result)
