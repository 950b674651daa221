"""Dataset versions as content fingerprints: xxh3-128 of a file's bytes, or of an Arrow table's schema and buffers.

File fingerprints are cached by (path, size, mtime_ns, inode), so reading the same unchanged file again costs a
``stat``. A directory (a partitioned dataset) is fingerprinted from the fingerprints of its files. Files are read
into one 1 MiB buffer kept for the kernel's life (hooks may run on several of the user's threads: a thread that finds
it in use reads into a buffer of its own).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import xxhash

CHUNK = 1 << 20  # kept for the kernel's life: 1 MiB resident (xxh3 hashes it far faster than it is read)
_cache: dict[str, tuple[tuple[int, int, int], str]] = {}
_lock = threading.Lock()
_buffers: list[bytearray] = []  # the shared read buffer, made on first use
_buffer_lock = threading.Lock()


def file_version(path: str | os.PathLike) -> str | None:
    """The fingerprint of the file (or folder of files) at ``path``; None when it cannot be read."""
    path = os.fspath(path)
    try:
        if os.path.isdir(path):
            return _folder_version(path)
        stat = os.stat(path)
    except OSError:
        return None
    key = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _lock:
        cached = _cache.get(path)
    if cached and cached[0] == key:
        return cached[1]
    version = _hash_file(path)
    if version is None:
        return None
    with _lock:
        _cache[path] = (key, version)
    return version


def _hash_file(path: str) -> str | None:
    """xxh3-128 of the file's bytes, read into the shared buffer (or a private one while another thread uses it)."""
    shared = _buffer_lock.acquire(blocking=False)
    try:
        buffer = _shared_buffer() if shared else bytearray(CHUNK)
        digest = xxhash.xxh3_128()
        with open(path, "rb", buffering=0) as handle, memoryview(buffer) as view:
            while read := handle.readinto(view):
                digest.update(view[:read])
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        if shared:
            _buffer_lock.release()


def _shared_buffer() -> bytearray:
    """The buffer kept for reads (the caller holds ``_buffer_lock``)."""
    if not _buffers:
        _buffers.append(bytearray(CHUNK))
    return _buffers[0]


def _folder_version(path: str) -> str | None:
    digest = xxhash.xxh3_128()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.startswith((".", "_")):
                continue
            full = os.path.join(root, name)
            version = file_version(full)
            if version is None:
                return None
            digest.update(f"{os.path.relpath(full, path)}\0{version}\0".encode())
    return digest.hexdigest()


def arrow_version(table: Any) -> str:
    """The fingerprint of a pyarrow Table or RecordBatch: its schema and the bytes of its buffers."""
    digest = xxhash.xxh3_128()
    digest.update(table.schema.serialize().to_pybytes())
    batches = table.to_batches() if hasattr(table, "to_batches") else [table]
    for batch in batches:
        for column in batch.columns:
            digest.update(f"{column.offset}:{len(column)}\0".encode())
            for buffer in column.buffers():
                if buffer is not None:
                    digest.update(memoryview(buffer))
    return digest.hexdigest()


def forget(path: str | os.PathLike) -> None:
    """Drop a cached fingerprint (after nblineage itself wrote the file)."""
    with _lock:
        _cache.pop(os.fspath(path), None)
