"""The IPython extension: capture a notebook's dataset reads, transforms and model saves as lineage."""

from __future__ import annotations

import contextlib
from typing import Any

_sessions: dict[int, Any] = {}
_off: dict[int, str] = {}  # why capture is off in a shell that loaded the extension


def load(shell: Any) -> None:
    """Install the ``%lineage`` magic and capture in ``shell`` once. It fails open: a problem it cannot work around
    is shown (and said by ``%lineage status``), never raised into the user's cell (unless ``NBLINEAGE_STRICT`` is
    set)."""
    from nblineage import config
    from nblineage.kernel_ext.safety import report

    try:
        from nblineage.kernel_ext.magics import register

        register(shell)
    except Exception as error:
        report("registering %lineage", error)
    if config.disabled():
        _off[id(shell)] = "NBLINEAGE_DISABLED is set"
        return
    if id(shell) in _sessions:
        return
    try:
        from nblineage.kernel_ext.session import Session

        session = Session(shell)
        _sessions[id(shell)] = session
        session.start()
        _off.pop(id(shell), None)
    except Exception as error:
        broken = _sessions.pop(id(shell), None)
        if broken is not None:
            with contextlib.suppress(Exception):
                broken.close()
        _off[id(shell)] = f"capture failed to start: {type(error).__name__}: {error}"
        report("loading nblineage (capture is off in this kernel)", error)


def unload(shell: Any, because: str = "the extension was unloaded") -> None:
    session = _sessions.pop(id(shell), None)
    _off[id(shell)] = because
    if session is not None:
        session.close()


def current(shell: Any) -> Any:
    """The capture session of ``shell`` (its ``status()`` is what ``%lineage status`` shows), or None."""
    return _sessions.get(id(shell))


def off_because(shell: Any) -> str:
    """Why ``shell`` has no capture session."""
    return _off.get(id(shell), "nblineage is not loaded in this kernel (%load_ext nblineage)")
