"""Folders and files only their owner can read: the store and the outbox hold cell source and tracebacks.

Only what nblineage creates is made private (folders 0700, files 0600); existing ones keep their modes. SQLite
gives a database's ``-wal`` and ``-shm`` files the mode of the database file. Standard library only: the kernel
imports this at ``%load_ext``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0700 (``mkdir -p -m 700`` for each level)."""
    missing = []
    for level in (folder, *folder.parents):
        if level.is_dir():
            break
        missing.append(level)
    for level in reversed(missing):
        try:
            level.mkdir(mode=0o700)
        except FileExistsError:
            if not level.is_dir():
                raise NotADirectoryError(20, "Not a directory", str(level)) from None


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (and its folders with 0700) unless it exists."""
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
