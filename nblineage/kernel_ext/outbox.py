"""A durable local outbox: the JSON lines of events a kernel produced and has not delivered yet.

Each kernel appends to its own file and holds an exclusive ``flock`` on it while it lives. A file whose lock can
be taken belongs to a kernel that is gone (killed, crashed, or stopped while the store was down): any later
kernel with the same store replays it, idempotently, and deletes it. Where no folder can be written at all, a
:class:`MemoryOutbox` keeps the lines for as long as the kernel lives.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from nblineage.lineage.private import private_folder


class Outbox:
    """This kernel's outbox file: append whole lines, read them back from an offset, compact when delivered."""

    def __init__(self, folder: Path) -> None:
        private_folder(folder)  # 0700: records hold cell source and tracebacks
        self.path = folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return str(self.path)

    def size(self) -> int:
        with self._lock:
            return os.fstat(self._fd).st_size

    def append(self, lines: list[str]) -> None:
        """Append events (one JSON document each, no newlines inside) in one write."""
        if lines:
            data = ("\n".join(lines) + "\n").encode()
            with self._lock:
                os.write(self._fd, data)

    def read_from(self, offset: int) -> tuple[list[str], int]:
        """The complete lines after ``offset``, and the offset after the last of them."""
        with self._lock:
            size = os.fstat(self._fd).st_size
            data = os.pread(self._fd, size - offset, offset) if size > offset else b""
        end = data.rfind(b"\n") + 1
        return data[:end].decode().splitlines(), offset + end

    def compact(self, offset: int) -> bool:
        """Empty the file if everything up to its end is delivered; True when it did."""
        with self._lock:
            if os.fstat(self._fd).st_size != offset:
                return False
            os.ftruncate(self._fd, 0)
            return True

    def close(self, delete: bool) -> None:
        with self._lock:
            os.close(self._fd)
            if delete:
                self.path.unlink(missing_ok=True)


class MemoryOutbox:
    """The outbox kept in memory, when no folder can be written: the same interface, gone with the kernel."""

    location = "memory (lost if the kernel stops before the store takes it)"

    def __init__(self) -> None:
        self._data = bytearray()
        self._lock = threading.Lock()

    def size(self) -> int:
        return len(self._data)

    def append(self, lines: list[str]) -> None:
        if lines:
            with self._lock:
                self._data += ("\n".join(lines) + "\n").encode()

    def read_from(self, offset: int) -> tuple[list[str], int]:
        with self._lock:
            data = bytes(self._data[offset:])
        end = data.rfind(b"\n") + 1
        return data[:end].decode().splitlines(), offset + end

    def compact(self, offset: int) -> bool:
        with self._lock:
            if len(self._data) != offset:
                return False
            self._data.clear()
            return True

    def close(self, delete: bool) -> None:
        if delete:
            self._data.clear()


def orphans(folder: Path) -> Iterator[Path]:
    """Outbox files of kernels that are gone; the caller delivers then deletes each."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            yield path
        finally:
            os.close(fd)
