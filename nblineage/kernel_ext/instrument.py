"""One instrumentor per library: patches applied when the user imports the library, never before.

A patch wraps the library's function with wrapt so that name, module, signature and picklability stay those of
the original; the user's call always runs, its result and exceptions pass through untouched, and the lineage
work after it is guarded (``safety.report``).
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable, Iterable
from typing import Any

import wrapt

from nblineage.kernel_ext.capture import Capture, capturing, enter, leave
from nblineage.kernel_ext.safety import report

After = Callable[[Capture, Any, tuple, dict], None]


class _Wrapper(wrapt.FunctionWrapper):
    """A FunctionWrapper that pickles by reference, as the function it wraps does."""

    def __reduce_ex__(self, protocol: int) -> str:
        return self.__qualname__


def intercept(where: str, after: After, nested: bool = False) -> Callable[..., Any]:
    """A wrapt wrapper: run the call, then ``after(capture, result, args, kwargs)`` for the outermost hooked call
    (for any call with ``nested``: an MLflow log inside a fit that ``autolog`` wrapped). Hooked calls inside it
    record nothing either way. What an ``after`` deferred (``Capture.defer``) runs when the outermost call ends.

    For methods, ``args`` starts with the instance.
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not capturing():  # capture off: the call, and nothing else
            return wrapped(*args, **kwargs)
        try:
            capture, depth = enter(nested)
        except Exception as error:  # the hook's own bookkeeping failed: the call, and nothing else
            report(where, error)
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
            if capture is not None:
                try:
                    after(capture, result, (instance, *args) if instance is not None else args, kwargs)
                except Exception as error:
                    report(where, error)
        finally:
            try:
                leave(depth)
                if depth == 0 and capture is not None and capture.deferred:
                    capture.run_deferred()
            except Exception as error:
                report(where, error)
        return result

    return wrapper


class Instrumentor:
    """Patches of one library. Subclasses name the ``library`` and list their ``patches``."""

    library: str = ""
    min_version: str | None = None

    def __init__(self) -> None:
        self.enabled = False
        self._registered = False
        self._applied: list[tuple[Any, str, Any]] = []

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        """(owner, attribute, wrapt wrapper) for each function to patch."""
        raise NotImplementedError

    def instrument(self) -> None:
        """Patch now if the library is imported, else when it is."""
        self.enabled = True
        if not self._registered:
            self._registered = True
            wrapt.register_post_import_hook(self._on_import, self.library)
        elif self.library in sys.modules:  # instrumented again after uninstrument: the import hook has fired
            self._on_import(sys.modules[self.library])

    def uninstrument(self) -> None:
        """Put every original back."""
        self.enabled = False
        for owner, attribute, original in reversed(self._applied):
            setattr(owner, attribute, original)
        self._applied.clear()

    def _on_import(self, module: Any) -> None:
        if not self.enabled or self._applied or not self._supported():
            return
        try:
            for owner, attribute, wrapper in self.patches(module):
                original = owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute)
                if original is None or isinstance(original, wrapt.FunctionWrapper):
                    continue
                setattr(owner, attribute, _Wrapper(original, wrapper))
                self._applied.append((owner, attribute, original))
        except Exception as error:
            self.uninstrument()
            report(f"{self.library} instrumentation", error)

    def _supported(self) -> bool:
        if not self.min_version:
            return True
        try:
            version = importlib.metadata.version(self.library)
        except importlib.metadata.PackageNotFoundError:
            return False
        return _as_tuple(version) >= _as_tuple(self.min_version)


def _as_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
