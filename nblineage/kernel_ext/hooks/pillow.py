"""Pillow: images the user's own code reads and writes by path. ``Image.open(path)`` is a dataset read of the file's
version and the image returned carries it (``np.asarray(img)``, ``img.convert("L")`` in the statement that opened
it: the cell's fallback); ``Image.save(path)`` is an output with the image's provenance. A library's calls are
left alone (Hugging Face ``datasets`` decoding the images of a folder it read, which is the dataset), and so are
images under the Python installation (an icon, a sample shipped with a library); a buffer or stream names no
file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture, in_installation
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.hooks.pyfiles import user_only
from nblineage.kernel_ext.instrument import Instrumentor, Patch


class PillowInstrumentor(Instrumentor):
    """``PIL.Image.open`` and ``Image.save`` (module docstring)."""

    modules = ("PIL.Image",)

    def patches(self, module: Any) -> Iterator[Patch]:
        yield module, "open", user_only("PIL.Image.open", _opened)
        yield module.Image, "save", user_only("PIL Image.save", _saved)


def data_file(target: Any) -> Location | None:
    """Where an image is, when it is a file of the user's data (not one under the Python installation)."""
    location = locate(target)
    if location is None or location.local is None or in_installation(location.local):
        return None
    return location


def _opened(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    location = data_file(argument(args, kwargs, 0, "fp", None))
    if location is not None:
        capture.read(location.source(), result)


def _saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    if not args:
        return
    location = data_file(argument(args, kwargs, 1, "fp", None))
    if location is not None:
        capture.write(location.source(written=True), args[0])
