"""Whether anything changed in a few folders since the last look, for one system call a look (Linux's inotify).

The policy guard looks for its policy file at each cell start (``guard.py``): the notebook's folder and each one
above it, and the user's Jupyter config folder. Walking them costs a dozen system calls a cell; a watch on them
costs one ``read`` that finds nothing, until a file is created, changed, moved or deleted in one of them. Where
inotify is not there (another system, the watch limit reached, a folder that does not exist), :meth:`Watch.changed`
says True each time, and the caller looks as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterable
from typing import Any

# inotify(7): what happens to a folder's entries, or to the folder itself
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_ONLYDIR = 0x01000000
_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
    | _IN_ONLYDIR
)
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC if hasattr(os, "O_CLOEXEC") else 0


_forks = [0]  # forks this process is from (a watch made before one is the parent's)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        return libc
    except (OSError, AttributeError):
        return None


class Watch:
    """A watch on some folders: :meth:`watch` names them (anew), :meth:`changed` tells whether anything happened in
    them since the last call (True when it cannot tell)."""

    def __init__(self) -> None:
        self._fd = -1
        self._fork = -1  # made in this process (``_forks``): a forked child does not share its events
        self._folders: tuple[str, ...] = ()
        self._reliable = False

    def watch(self, folders: Iterable[str]) -> None:
        """Watch ``folders`` from now on (the events before are dropped); unreliable (``changed`` always True)
        when one of them cannot be watched."""
        wanted = tuple(dict.fromkeys(folders))
        self.close()
        self._folders = wanted
        libc = _libc()
        if libc is None:
            return
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return
        for folder in wanted:
            if libc.inotify_add_watch(fd, os.fsencode(folder), _MASK) < 0:
                os.close(fd)
                return
        self._fd, self._fork, self._reliable = fd, _forks[0], True

    def changed(self) -> bool:
        """Whether something happened in the folders since the last call (or since :meth:`watch`)."""
        if not self._reliable or self._fork != _forks[0]:
            return True
        happened = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return happened
            except OSError:  # the descriptor went away: look every time from now on
                self._reliable = False
                return True
            if not data:
                return happened
            happened = True

    def close(self) -> None:
        if self._fd >= 0 and self._fork == _forks[0]:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._reliable = -1, False
