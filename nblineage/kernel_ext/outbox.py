"""A durable local outbox: the JSON lines of events a kernel produced and has not delivered yet.

Each kernel appends to its own file and holds an exclusive ``flock`` on it while it lives. A file whose lock can
be taken belongs to a kernel that is gone (killed, crashed, or stopped while the store was down): any later
kernel or ``nblineage`` command with the same store replays it, idempotently, and deletes it. A folder is marked
with the identity of its store once a kernel reached it (:func:`mark`). Records the store cannot take are set
aside in the folder's dead-letter file (``dead-letter.ndjson``: one JSON object a line, with the record and why),
until ``nblineage replay``. Where no folder can be written at all, a :class:`MemoryOutbox` keeps the lines for as
long as the kernel lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from nblineage.lineage.private import private_folder

DEAD_LETTERS = "dead-letter.ndjson"
MARK = "store-id"


class Outbox:
    """This kernel's outbox file: append whole lines, read them back from an offset, compact when delivered."""

    def __init__(self, folder: Path) -> None:
        private_folder(folder)  # 0700: records hold cell source and tracebacks
        self.path = folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = threading.Lock()
        # Its size, kept here: this kernel is the file's one writer (the lock above), so a cell's append costs one
        # write and no ``fstat``.
        self._size = os.fstat(self._fd).st_size

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def folder(self) -> Path | None:
        return self.path.parent

    def size(self) -> int:
        return self._size

    def append(self, lines: list[str]) -> None:
        """Append events (one JSON document each, no newlines inside) in one write."""
        if lines:
            data = ("\n".join(lines) + "\n").encode()
            with self._lock:
                try:
                    written = os.write(self._fd, data)
                    if written != len(data):
                        raise OSError(f"the outbox took {written} of {len(data)} bytes (disk full?)")
                except OSError:
                    os.ftruncate(self._fd, self._size)  # all or nothing: never a torn line in our own outbox
                    raise
                self._size += written

    def read_from(self, offset: int) -> tuple[list[str], int]:
        """The complete lines after ``offset``, and the offset after the last of them."""
        with self._lock:
            size = self._size
            data = os.pread(self._fd, size - offset, offset) if size > offset else b""
        end = data.rfind(b"\n") + 1
        return data[:end].decode(errors="surrogateescape").splitlines(), offset + end

    def compact(self, offset: int) -> bool:
        """Empty the file if everything up to its end is delivered; True when it did."""
        with self._lock:
            if self._size != offset:
                return False
            os.ftruncate(self._fd, 0)
            self._size = 0
            return True

    def close(self, delete: bool) -> None:
        with self._lock:
            os.close(self._fd)
            if delete:
                self.path.unlink(missing_ok=True)


class MemoryOutbox:
    """The outbox kept in memory, when no folder can be written: the same interface, gone with the kernel."""

    location = "memory (lost if the kernel stops before the store takes it)"
    folder = None

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


def mark(folder: Path, store_id: str) -> None:
    """Note in ``folder`` the identity of the store its outboxes are for."""
    if mark_of(folder) != store_id:
        path = folder / MARK
        temporary = folder / f".{MARK}.{os.getpid()}"
        temporary.write_text(store_id)
        os.replace(temporary, path)


def mark_of(folder: Path) -> str | None:
    try:
        return (folder / MARK).read_text().strip() or None
    except OSError:
        return None


@contextlib.contextmanager
def _dead_letters(folder: Path, mode: int) -> Iterator[int]:
    fd = os.open(folder / DEAD_LETTERS, mode | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def set_aside_in(folder: Path, origin: str) -> Callable[[str, str], None]:
    """A function that sets a line from ``origin`` aside in the dead-letter file of ``folder``, with its reason."""

    def set_aside(line: str, why: str) -> None:
        entry = {"time": datetime.now(timezone.utc).isoformat(), "reason": why, "origin": origin, "line": line}
        with _dead_letters(folder, os.O_WRONLY | os.O_APPEND) as fd:
            os.write(fd, _entry(entry))

    return set_aside


def take_set_aside(folder: Path) -> list[dict[str, Any]]:
    """The entries of the folder's dead-letter file, which is emptied (``put_back`` what stays)."""
    if not (folder / DEAD_LETTERS).exists():
        return []
    with _dead_letters(folder, os.O_RDWR) as fd:
        data = os.pread(fd, os.fstat(fd).st_size, 0)
        os.ftruncate(fd, 0)
    entries = []
    for raw in data.splitlines():
        with contextlib.suppress(orjson.JSONDecodeError):
            entries.append(orjson.loads(raw))
    return [entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("line"), str)]


def put_back(folder: Path, entries: list[dict[str, Any]]) -> None:
    if entries:
        with _dead_letters(folder, os.O_WRONLY | os.O_APPEND) as fd:
            os.write(fd, b"".join(_entry(entry) for entry in entries))


def set_aside_count(folder: Path | None) -> int:
    """How many records wait in the folder's dead-letter file."""
    try:
        with (folder / DEAD_LETTERS).open("rb") as handle:  # type: ignore[operator]
            return sum(1 for line in handle if line.strip())
    except (OSError, TypeError):
        return 0


def _entry(entry: dict[str, Any]) -> bytes:
    line = entry["line"].encode(errors="surrogateescape").decode(errors="backslashreplace")
    return orjson.dumps(entry | {"line": line}) + b"\n"
