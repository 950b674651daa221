"""Hooks run when a module's import completes, with no frame added to the module's own execution.

wrapt's post-import hooks wrap the module's loader, so everything the module runs while it is imported (for
``import sklearn``, hundreds of submodules and classes) runs one frame deeper than without capture. On CPython 3.11
a frame deeper is not free: the interpreter's frame stack grows in chunks that are mapped when a call crosses a
chunk's end and unmapped when it returns, and a hot call moved onto that edge maps and unmaps a chunk each time
(measured in a kernel: 7,000 more page faults, some 60 ms, importing scikit-learn). Here the module's spec is
watched instead: the import system sets ``spec._initializing`` to False right after the module's code ran (from
the same frame that ran it), and that assignment runs the hooks. The module's code runs exactly as deep as it would
without capture.

:func:`when_imported` calls a hook once its module is imported: at once when it is already (and not still being
initialized), else when its import completes; :func:`fire_pending` (at the end of each cell) catches modules that
came in some other way (a loader without ``exec_module``, a module put in ``sys.modules`` by hand, an import already
under way when the hook was registered).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from typing import Any

Hook = Callable[[Any], None]

_hooks: dict[str, list[Hook]] = {}  # module name -> hooks waiting for its import
_lock = threading.RLock()


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once module ``name`` is imported (now, when it is already)."""
    module = sys.modules.get(name)
    if module is not None and not _initializing(module):
        hook(module)
        return
    with _lock:
        _hooks.setdefault(name, []).append(hook)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


def fire_pending() -> None:
    """Run the hooks of watched modules that are imported by now (however they came in); at once when no module
    came in since the last look (a cell that imports nothing)."""
    count = len(sys.modules)
    if not _hooks or count == _modules_seen[0]:
        return
    initializing = False
    for name in [name for name in _hooks if name in sys.modules]:
        module = sys.modules.get(name)
        if module is not None and not _initializing(module):
            _fire(name, module)
        else:
            initializing = True  # looked at again next time, whatever came in
    _modules_seen[0] = -1 if initializing else count


_modules_seen = [-1]  # how many modules ``fire_pending`` last found imported


def _initializing(module: Any) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _fire(name: str, module: Any) -> None:
    with _lock:
        hooks = _hooks.pop(name, [])
    for hook in hooks:
        hook(module)


class _Finder:
    """A ``sys.meta_path`` finder for watched modules only: it asks the finders after it for the spec and marks it
    (:class:`_WatchedSpec`); it finds nothing itself."""

    def __init__(self) -> None:
        self._local = threading.local()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _hooks or getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._local.busy = False
        if type(spec) is ModuleSpec and hasattr(spec.loader, "exec_module"):
            spec.__class__ = _WatchedSpec  # same layout: a plain ModuleSpec again once the import completes
        return spec


class _WatchedSpec(ModuleSpec):
    """A watched module's spec while it is imported: setting ``_initializing`` to False (the import system's last
    step once the module's code ran) turns it back into a plain ``ModuleSpec`` and runs the module's hooks."""

    @property  # type: ignore[override]
    def _initializing(self) -> bool:
        return bool(self.__dict__.get("_initializing", False))

    @_initializing.setter
    def _initializing(self, value: bool) -> None:
        self.__dict__["_initializing"] = value
        if value:
            return
        self.__class__ = ModuleSpec
        module = sys.modules.get(self.name)
        if module is not None and module.__spec__ is self:  # imported, not failed
            _fire(self.name, module)


_finder = _Finder()
