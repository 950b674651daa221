"""The version of a SQLite table: xxh3-128 of its column names and rows (in ``rowid`` order), the same whoever
computes it. ``to_sql`` into a SQLite file and a DB-API read of a table there both version the table by it, so a read
in one notebook finds the version another notebook wrote. Cached by the database file's (and its WAL's) size,
``mtime_ns`` and inode: a table read again unchanged costs a ``stat``. A database file over :data:`MAX_BYTES`
gets no table versions (hashing rows costs seconds there)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from dataclasses import replace
from urllib.parse import quote

import xxhash

from nblineage.kernel_ext.provenance import Source

_cache: dict[tuple[str, str], tuple[tuple, str]] = {}
_written: dict[tuple[str, str], str] = {}  # (namespace, table) of another database -> the version this kernel wrote
_lock = threading.Lock()
MAX_CACHED = 256
MAX_BYTES = 16 << 20  # a larger database file: its tables are not hashed (row by row costs seconds), no version


def _stamp(path: str) -> tuple | None:
    stamp = []
    for name in (path, path + "-wal"):
        try:
            stat = os.stat(name)
        except OSError:
            if name == path:
                return None
            continue
        stamp.append((stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(stamp)


def sqlite_table_version(path: str, table: str) -> str | None:
    """The fingerprint of ``table`` (a name as the dataset names it: ``table`` or ``schema.table``) in the SQLite
    database file at ``path``; None for a view, a missing table or an unreadable file."""
    stamp = _stamp(path)
    if stamp is None or "." in table or sum(part[0] for part in stamp) > MAX_BYTES:
        return None
    key = (path, table)
    with _lock:
        cached = _cache.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    version = _hash_table(path, table)
    if version is not None:
        with _lock:
            if len(_cache) >= MAX_CACHED:
                _cache.clear()
            _cache[key] = (stamp, version)
    return version


def last_seen(namespace: str, table: str) -> str | None:
    """The version of a SQLite file's table as this kernel last fingerprinted it (read or written), whatever changed
    since: what rows appended to it were added to. None when it was not fingerprinted."""
    path = sqlite_path(namespace)
    with _lock:
        cached = _cache.get((path, table)) if path else None
    return cached[1] if cached else None


def table_version(namespace: str, table: str) -> str | None:
    """The version of a table as a read of it names it: a SQLite file's by its content; another database's (whose
    content is not hashed here) the version this kernel last wrote to it whole (``wrote``), so that a read of part of
    it (a projection, a ``WHERE``) is of the version written. Another process's change to that table since is not
    seen."""
    path = sqlite_path(namespace)
    if path:
        return sqlite_table_version(path, table)
    return _written.get((namespace, table))


def versioned(sources: frozenset[Source]) -> frozenset[Source]:
    """Tables read, versioned as :func:`table_version` knows them (a SQLite table by its content, a table of another
    database by what this kernel wrote to it whole): the version ``to_sql`` recorded."""
    found = set()
    for source in sources:
        version = table_version(source.namespace, source.name) if source.version is None else None
        found.add(source if version is None else replace(source, version=version))
    return frozenset(found)


def wrote(namespace: str, table: str, version: str | None) -> None:
    """This kernel wrote a table of a database whose content is not hashed: its whole content is ``version`` (None:
    not known, rows appended or changed)."""
    if version is None:
        _written.pop((namespace, table), None)
        return
    if len(_written) >= MAX_CACHED:
        _written.clear()
    _written[(namespace, table)] = version


def _hash_table(path: str, table: str) -> str | None:
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE", (table,)).fetchone()
        if kind is None or kind[0] != "table":
            return None
        cursor = conn.execute(f"SELECT * FROM {quoted}")
        digest = xxhash.xxh3_128()
        digest.update(repr([column[0] for column in cursor.description]).encode())
        while rows := cursor.fetchmany(4096):
            digest.update(repr(rows).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()
    except sqlite3.Error:
        return None
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def sqlite_table_columns(path: str, table: str) -> list[tuple[str, str]]:
    """The columns of ``table`` in the SQLite database file at ``path``, with their declared types ([] for a view, a
    missing table or an unreadable file)."""
    if "." in table or _stamp(path) is None:
        return []
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE", (table,)).fetchone()
        if kind is None or kind[0] != "table":
            return []
        return [(row[1], row[2]) for row in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]
    except sqlite3.Error:
        return []
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def sqlite_path(namespace: str) -> str | None:
    """The database file of a ``sqlite://{path}`` namespace (None for an in-memory database)."""
    if not namespace.startswith("sqlite://"):
        return None
    path = namespace[len("sqlite://") :]
    return path if path.startswith("/") and path not in ("/", "/:memory:") else None
