"""Reads of a SQLite store through the standard library's ``sqlite3``, without importing SQLAlchemy.

Importing SQLAlchemy costs more than a whole command-line query may take (benchmarks/bench_cli.py), so a SQLite
store's reads run on :class:`ReadConnection`: the part of SQLAlchemy's ``Connection`` that the queries use
(``execute`` of SQL text with ``:name`` parameters, ``exec_driver_sql`` with ``?`` ones, results with
``all``/``first``/``one``/``scalar``..., rows read by position or by name). The queries stay one implementation:
the same SQL text runs here and, on PostgreSQL (or while writing), through SQLAlchemy; :func:`text` gives the form
the connection at hand executes.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any


def text(sql: str) -> Any:
    """SQL text with ``:name`` parameters, for ``conn.execute``: SQLAlchemy's ``text`` once SQLAlchemy is loaded
    (a SQLAlchemy connection exists only then), else the string itself, which :class:`ReadConnection` runs."""
    sqlalchemy = sys.modules.get("sqlalchemy")
    return sqlalchemy.text(sql) if sqlalchemy is not None else sql


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names, rename=True)  # a tuple whose columns are also attributes, as SQLAlchemy's rows


class Scalars:
    """The first column of a result's rows."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return (row[0] for row in self._rows)

    def all(self) -> list[Any]:
        return list(self)

    def first(self) -> Any:
        return next(iter(self), None)


class Result:
    """The rows of one statement, read as SQLAlchemy's ``Result`` reads them."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor
        self.returns_rows = cursor.description is not None

    @property
    def _make(self) -> Any:
        """What makes a row of this result's columns (made when rows are read: most writes read none)."""
        names = tuple(column[0] for column in self.cursor.description or ())
        return _row_class(names)._make if names else tuple

    def __iter__(self) -> Iterator[Any]:
        make = self._make
        return (make(row) for row in self.cursor)

    def close(self) -> None:
        self.cursor.close()

    def all(self) -> list[Any]:
        return list(map(self._make, self.cursor.fetchall()))

    fetchall = all

    def first(self) -> Any:
        row = self.cursor.fetchone()
        self.cursor.close()
        return None if row is None else self._make(row)

    def one(self) -> Any:
        rows = self.cursor.fetchmany(2)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {'none' if not rows else 'more than one'}")
        return self._make(rows[0])

    def scalar(self) -> Any:
        row = self.cursor.fetchone()
        self.cursor.close()
        return None if row is None else row[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> Scalars:
        return Scalars(iter(self.cursor))


class _Dialect:
    name = "sqlite"


class ReadConnection:
    """A ``sqlite3`` connection in a read transaction, used the way the queries use SQLAlchemy's ``Connection``."""

    dialect = _Dialect()

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> Result:
        """Run SQL text (a string, or SQLAlchemy's ``text``) with ``:name`` parameters."""
        sql = statement if isinstance(statement, str) else getattr(statement, "text", None)
        if not isinstance(sql, str):
            raise TypeError(f"a SQLite read runs SQL text, not {type(statement).__name__}")
        return Result(self.raw.execute(sql, dict(parameters or {})))

    def exec_driver_sql(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> Result:
        """Run SQL with the driver's own (``?``) parameters; a list of tuples runs it once per tuple."""
        if isinstance(parameters, list) and parameters and isinstance(parameters[0], (tuple, list, dict)):
            return Result(self.raw.executemany(sql, parameters))
        return Result(self.raw.execute(sql, parameters))


class Readers:
    """Open ``sqlite3`` connections to one store file, kept for the next read (one read at a time each)."""

    def __init__(self, path: str, timeout: float, cache_kib: int) -> None:
        self.path, self.timeout, self.cache_kib = path, timeout, cache_kib
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        raw = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            raw.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            raw.execute(f"PRAGMA cache_size = -{self.cache_kib}")
            raw.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            raw.close()
            raise
        return raw

    @contextmanager
    def read(self) -> Iterator[ReadConnection]:
        """A connection in a read transaction (``BEGIN``; committed at the end, rolled back on an error); kept for
        the next read unless it failed itself."""
        with self._lock:
            raw = self._idle.pop() if self._idle else None
        raw = raw or self._connect()
        reusable = False
        try:
            raw.execute("BEGIN")
            try:
                yield ReadConnection(raw)
            except BaseException:
                raw.rollback()
                reusable = True
                raise
            raw.commit()
            reusable = True
        finally:
            if reusable:
                with self._lock:
                    self._idle.append(raw)
            else:
                raw.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()
