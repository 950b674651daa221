"""The IPython extension: capture a notebook's dataset reads, transforms and model saves as lineage."""

from __future__ import annotations

from typing import Any

_sessions: dict[int, Any] = {}


def load(shell: Any) -> None:
    """Install capture in ``shell`` once."""
    from nblineage import config

    if config.disabled() or id(shell) in _sessions:
        return
    from nblineage.kernel_ext.session import Session

    session = Session(shell)
    _sessions[id(shell)] = session
    session.start()


def unload(shell: Any) -> None:
    session = _sessions.pop(id(shell), None)
    if session is not None:
        session.close()
