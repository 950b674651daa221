"""Fail open: a hook's own error never changes what the user's call returns or raises.

The error is logged, counted, and shown once per kind of fault; with ``NBLINEAGE_STRICT=1`` (the test suite) it raises.
A problem of the capture itself (a folder it cannot write, a store it cannot reach) is shown with :func:`notify`,
which never raises.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("nblineage")
log.addHandler(logging.NullHandler())  # logs reach only handlers the user set up; the notebook gets warnings
F = TypeVar("F", bound=Callable[..., Any])
errors: Counter[str] = Counter()  # hook failures by hook; a new (or emptied) counter warns about every kind again
_warned: tuple[Counter[str], set[tuple[str, str, int]]] = (errors, set())  # the counter, and kinds warned about


class HookError(RuntimeError):
    """A hook failed while ``NBLINEAGE_STRICT`` is set."""


def strict() -> bool:
    return os.environ.get("NBLINEAGE_STRICT", "").strip().lower() not in ("", "0", "false", "no")


def report(where: str, error: BaseException) -> None:
    """Record a hook failure: log it, count it (per hook), warn the first time this kind of fault is seen (the
    same error raised at the same place, whichever hook met it), raise when strict."""
    policy = sys.modules.get("nblineage.governance.policy")
    if policy is not None and isinstance(error, policy.PolicyViolation):
        raise error  # a policy's block is no fault: it reaches the user
    errors[where] += 1
    log.debug("nblineage hook %s failed", where, exc_info=error)
    if strict():
        raise HookError(f"nblineage hook {where} failed: {error!r}") from error
    global _warned
    if _warned[0] is not errors or sum(errors.values()) == 1:
        _warned = (errors, set())
    kind = fault_kind(error)
    if kind not in _warned[1]:
        _warned[1].add(kind)
        warnings.warn(
            f"nblineage could not record lineage in {where} ({type(error).__name__}: {error}); "
            "your code ran normally. Further errors of this kind are only logged.",
            RuntimeWarning,
            stacklevel=3,
        )


def fault_kind(error: BaseException) -> tuple[str, str, int]:
    """The kind of a fault: its type and the place it was raised (the innermost frame of its traceback)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return type(error).__qualname__, "", 0
    return type(error).__qualname__, frame.tb_frame.f_code.co_filename, frame.tb_lineno


class CaptureWarning(UserWarning):
    """Capture goes on, but something about where lineage goes needs the user's attention."""


def notify(message: str) -> None:
    """Show a capture problem in the notebook (the output of the cell running now) and in the kernel log."""
    log.warning("%s", message)
    warnings.warn(message, CaptureWarning, stacklevel=2)


def guarded(where: str) -> Callable[[F], F]:
    """Decorate a piece of hook work (never the user's call itself): its errors are reported, not raised."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as error:
                report(where, error)
                return None

        return run  # type: ignore[return-value]

    return decorate
