"""Images read by path through libraries that decode them with Pillow (or another library) from their own code:
matplotlib's ``imread`` (``matplotlib.image.imread`` and ``pyplot.imread``) and imageio's (``imageio.imread``,
``imageio.v2.imread``, ``imageio.v3.imread``). Pillow's hook sees only the user's own calls, so their entry points
are hooked instead, as ``Image.open`` is (``hooks/pillow.py``): called by the user's code, a dataset read of the
file's version, which the array returned carries. Calls a library makes, images under the Python installation (a
sample shipped with a library), bytes (imageio reads them as the image's content), URLs and imageio's special
names (``imageio:chelsea.png``, ``<video0>``) record nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.pillow import data_file
from nblineage.kernel_ext.hooks.pyfiles import user_only
from nblineage.kernel_ext.instrument import After, Instrumentor, Patch


class MatplotlibImagesInstrumentor(Instrumentor):
    """``matplotlib.image.imread`` and ``matplotlib.pyplot.imread`` (module docstring)."""

    modules = ("matplotlib.image", "matplotlib.pyplot")

    def patches(self, module: Any) -> Iterator[Patch]:
        yield module, "imread", user_only(f"{module.__name__}.imread", _read("fname"))


class ImageioInstrumentor(Instrumentor):
    """``imageio.imread``, ``imageio.v2.imread`` and ``imageio.v3.imread`` (module docstring)."""

    modules = ("imageio", "imageio.v2", "imageio.v3")

    def patches(self, module: Any) -> Iterator[Patch]:
        yield module, "imread", user_only(f"{module.__name__}.imread", _read("uri"))


def _read(parameter: str) -> After:
    """The ``after`` step of a reader given the image at argument 0 (``parameter``)."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, 0, parameter, None)
        if isinstance(target, (bytes, bytearray, memoryview)):
            return  # the image's content, not a path
        location = data_file(target)
        if location is not None:
            capture.read(location.source(), result)

    return after
