"""The IPython extension: capture a notebook's dataset reads, transforms and model saves as lineage."""

from __future__ import annotations

import contextlib
from typing import Any

_sessions: dict[int, Any] = {}


def load(shell: Any) -> None:
    """Install capture in ``shell`` once. It fails open: a problem it cannot work around is shown, never raised
    into the user's cell (unless ``NBLINEAGE_STRICT`` is set)."""
    from nblineage import config
    from nblineage.kernel_ext.safety import report

    if config.disabled() or id(shell) in _sessions:
        return
    try:
        from nblineage.kernel_ext.session import Session

        session = Session(shell)
        _sessions[id(shell)] = session
        session.start()
    except Exception as error:
        broken = _sessions.pop(id(shell), None)
        if broken is not None:
            with contextlib.suppress(Exception):
                broken.close()
        report("loading nblineage (capture is off in this kernel)", error)


def unload(shell: Any) -> None:
    session = _sessions.pop(id(shell), None)
    if session is not None:
        session.close()


def current(shell: Any) -> Any:
    """The capture session of ``shell`` (its ``status()`` is what ``%lineage status`` shows), or None."""
    return _sessions.get(id(shell))
