"""Which policy file applies (``find``), who runs the kernel (``identity``) and the policy's two errors: what the
kernel needs at load and at each cell start whether or not there is a policy, without importing ``policy.py``
(which re-exports all of it, docs/policy.md)."""

from __future__ import annotations

import functools
import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nblineage.governance.policy import Decision

__all__ = ["FILE_NAME", "PolicyError", "PolicyViolation", "find", "identity", "looked_up_with", "places"]

FILE_NAME = "nblineage-policy.yaml"


class PolicyError(ValueError):
    """A policy file that cannot be used: ``"{file}:{line}: {what is wrong}"``."""


class PolicyViolation(Exception):
    """A flow a policy rule with action ``block`` does not allow: nothing was written. Deliberately not one of
    nblineage's hook errors, so that failing open lets it through."""

    def __init__(self, message: str, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


def identity() -> str:
    """Who runs the kernel: ``JUPYTERHUB_USER``, else the operating system's user."""
    user = os.environ.get("JUPYTERHUB_USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # no user name for this uid (a container)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def find(notebook: str | None = None) -> Path | None:
    """The policy file that applies: ``NBLINEAGE_POLICY`` when set (even if it does not exist: loading says so),
    else the nearest ``nblineage-policy.yaml`` in the notebook's folder or above it (the working folder when the
    notebook is not known), else the one in the user's Jupyter config dir (``jupyter --config-dir``); None when
    there is none."""
    named = os.environ.get("NBLINEAGE_POLICY", "").strip()
    if named:
        return Path(named).expanduser().absolute()
    start = _start(notebook)
    # The kernel looks at cell starts (after a change, ``dirwatch``): plain strings, ``os.access`` first (a missing file
    # costs no exception, as ``isfile``'s failed ``stat`` does); ``isfile`` only for what exists.
    for candidate in _upward(start):
        if os.access(candidate, os.F_OK) and os.path.isfile(candidate):
            return Path(candidate)
    candidate = _in_config_dir(*map(os.environ.get, _CONFIG_DIR_VARIABLES))
    return Path(candidate) if candidate and os.access(candidate, os.F_OK) and os.path.isfile(candidate) else None


def places(notebook: str | None = None) -> tuple[str, ...]:
    """The folders where creating, changing or removing a file changes what :func:`find` finds: the folder of
    ``NBLINEAGE_POLICY`` when set, else the notebook's folder and each one above it, and the Jupyter config dir;
    each that does not exist as its nearest ancestor that does (where it would be created)."""
    named = os.environ.get("NBLINEAGE_POLICY", "").strip()
    if named:
        candidates: tuple[str, ...] = (str(Path(named).expanduser().absolute()),)
    else:
        config = _in_config_dir(*map(os.environ.get, _CONFIG_DIR_VARIABLES))
        candidates = _upward(_start(notebook)) + ((config,) if config else ())
    return tuple(dict.fromkeys(_existing(os.path.dirname(candidate)) for candidate in candidates))


def _start(notebook: str | None) -> str:
    """The folder the look starts from: the notebook's, else the working folder."""
    start = os.getcwd()
    if notebook:
        folder = _folder_of(notebook, start)
        if os.path.isdir(folder):
            start = folder
    return start


def looked_up_with(notebook: str | None) -> tuple[str | None, ...]:
    """What :func:`find` depends on besides the files: the variables it reads, and the working folder when the
    notebook's own folder does not place it."""
    cwd = None if notebook and os.path.isabs(notebook) else os.getcwd()
    return (os.environ.get("NBLINEAGE_POLICY"), *map(os.environ.get, _CONFIG_DIR_VARIABLES), cwd)


def _existing(folder: str) -> str:
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder or os.sep


_CONFIG_DIR_VARIABLES = (
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_NO_CONFIG",
    "JUPYTER_PLATFORM_DIRS",
    "XDG_CONFIG_HOME",
    "HOME",
    "USERPROFILE",
)  # what jupyter_config_dir() depends on


@functools.lru_cache(maxsize=16)
def _folder_of(notebook: str, cwd: str) -> str:
    """The notebook's folder (a relative path is taken from ``cwd``, the working folder now)."""
    return str((Path(cwd) / Path(notebook).expanduser()).parent)


@functools.lru_cache(maxsize=16)
def _upward(start: str) -> tuple[str, ...]:
    """Where a policy file may be, from ``start`` up to the root."""
    path = Path(start)
    return tuple(str(folder / FILE_NAME) for folder in (path, *path.parents))


@functools.lru_cache(maxsize=4)
def _in_config_dir(*environment: str | None) -> str | None:
    """The policy file's path in the Jupyter config dir (which depends only on ``environment``)."""
    try:
        from jupyter_core.paths import jupyter_config_dir

        return str(Path(jupyter_config_dir()) / FILE_NAME)
    except Exception:
        return None
