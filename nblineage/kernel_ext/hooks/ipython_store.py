"""IPython's ``%store``: variables kept between notebooks in the profile's database, a ``PickleShareDB`` (IPython's
own copy of pickleshare, or pickleshare's): ``profile_default/db/autorestore/NAME``.

``%store X`` pickles ``X`` into its file, a write the pickle hook records with ``X``'s provenance. ``%store -r X``
(and the restore at start with ``StoreMagics.autorestore``) reads the file back inside pickleshare, which no hook
of the user's calls sees: each read of an ``autorestore/`` key is a read of its file's version, and the value
restored carries it, so a model fit on it in another notebook derives from the data the first one stored. Other
keys of the database (IPython's directory history, bookmarks) are no data and record nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import locate
from nblineage.kernel_ext.hooks.loads import tag_loaded
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept

__all__ = ["PickleshareInstrumentor"]

STORED = "autorestore/"  # the keys ``%store`` writes


def _restored(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``db[key]`` of a stored variable: a read of its file, which the value carries."""
    database, key = args[0], argument(args, kwargs, 1, "key", None)
    root = getattr(database, "root", None)
    if not isinstance(key, str) or not key.startswith(STORED) or root is None:
        return
    location = locate(str(root / key))
    if location is None or location.local is None:
        return
    source = location.source()
    capture.read(source, None)
    tag_loaded(capture, result, capture.exact([source]))


class PickleshareInstrumentor(Instrumentor):
    """``PickleShareDB.__getitem__`` of the keys ``%store`` keeps (module docstring)."""

    modules = ("IPython.external.pickleshare", "pickleshare")  # IPython 9 ships its own copy

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module.PickleShareDB, "__getitem__", intercept("%store -r", _restored)
