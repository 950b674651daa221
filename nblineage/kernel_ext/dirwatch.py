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
import functools
import os
import struct
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
_IN_IGNORED = 0x8000  # the watch ended
_EVENT = struct.Struct("iIII")  # struct inotify_event, before its name
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


@functools.cache
def _libc() -> Any:
    """The C library's inotify functions, from the symbols the interpreter has loaded (no library search, which
    runs ``ldconfig``); None where there are none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        return libc
    except (OSError, AttributeError):
        return None


class Watch:
    """A watch on some folders: :meth:`watch` names them, :meth:`changed` tells whether anything happened in them
    since the last call (True when it cannot tell). One inotify instance for the watch's life, its folders only ever
    added (closing one costs the kernel milliseconds of waiting): a folder no longer named may still say changed."""

    def __init__(self) -> None:
        self._fd = -1
        self._fork = -1  # made in this process (``_forks``): a forked child does not share its events
        self._paths: dict[int, str] = {}  # watch descriptor -> folder
        self._watched: set[str] = set()
        self._reliable = False

    def watch(self, folders: Iterable[str]) -> None:
        """Watch ``folders`` from now on too, what happened before dropped (the caller looks at them now);
        unreliable (``changed`` always True) while one of them cannot be watched."""
        self._reliable = False
        libc = _libc()
        if libc is None or (self._fork != _forks[0] and self._fd >= 0):  # a forked child: the parent's events
            return
        if self._fd < 0:
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
            if fd < 0:
                return
            self._fd, self._fork = fd, _forks[0]
        self._drain()
        for folder in dict.fromkeys(folders):
            if folder not in self._watched:
                descriptor = libc.inotify_add_watch(self._fd, os.fsencode(folder), _MASK)
                if descriptor < 0:
                    return
                self._paths[descriptor] = folder
                self._watched.add(folder)
        self._reliable = True

    def changed(self) -> bool:
        """Whether something happened in the folders since the last call (or since :meth:`watch`)."""
        if not self._reliable or self._fork != _forks[0]:
            return True
        try:
            return self._drain()
        except OSError:  # the descriptor went away: look every time from now on
            self._reliable = False
            return True

    def _drain(self) -> bool:
        """Read the events waiting; True when there were any. A folder whose watch ended (removed, moved) is
        watched anew at the next :meth:`watch`."""
        happened = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return happened
            if not data:
                return happened
            happened = True
            offset = 0
            while offset + _EVENT.size <= len(data):
                descriptor, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if mask & (_IN_IGNORED | _IN_DELETE_SELF | _IN_MOVE_SELF):
                    self._watched.discard(self._paths.pop(descriptor, ""))

    def close(self) -> None:
        if self._fd >= 0 and self._fork == _forks[0]:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._reliable = -1, False
        self._paths.clear()
        self._watched.clear()
