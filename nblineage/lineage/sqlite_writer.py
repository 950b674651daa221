"""A plain SQLite store written through the standard library's ``sqlite3``, without importing SQLAlchemy: what the
kernel's writer delivers to (in the kernel, or in its delivery process for a store that must be migrated first).

:class:`SqliteStore` is a :class:`~nblineage.lineage.store.Store` whose write transactions, for a plain
``sqlite:///PATH`` file, run on a ``sqlite3`` connection set up as the store's engine sets up its own (WAL, busy
time-out, ``BEGIN IMMEDIATE``, the same pragmas). ``Store.append`` and everything it calls (``merge.py``,
``auditlog.py``) write through ``Sql``'s plain SQL with ``?`` parameters, which this connection runs as
SQLAlchemy's ``exec_driver_sql`` does: one implementation, the same rows. A migration (a new or older store) and
any other URL still go through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nblineage.lineage import store as stores
from nblineage.lineage.sqlite_reader import ReadConnection


class SqliteStore(stores.Store):
    """A store whose appends to a plain SQLite file run on ``sqlite3``; other URLs behave as ``Store``."""

    _migrating = False
    _writer: sqlite3.Connection | None = None

    def migrate(self) -> None:
        self._migrating = True  # Alembic needs SQLAlchemy's connection
        try:
            super().migrate()
        finally:
            self._migrating = False

    @contextmanager
    def write(self) -> Iterator[Any]:
        path = stores._plain_sqlite_path(self._url_text)
        if path is None or self._migrating:
            with super().write() as conn:
                yield conn
            return
        raw = self._writer
        if raw is None:  # the file a kept connection writes to was found intact when it connected
            stores._refuse_damaged_sqlite(path)
            raw = self._connect(path)
        self._writer = None  # kept again once this transaction has ended
        try:
            raw.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._writer = raw  # busy or locked: nothing began
            raise
        try:
            yield ReadConnection(raw)
            raw.commit()
        except BaseException:
            try:
                raw.rollback()
            except sqlite3.Error:
                raw.close()  # not kept: the next transaction connects again
                raise
            self._writer = raw
            raise
        self._writer = raw

    def _connect(self, path: str) -> sqlite3.Connection:
        """A connection with the settings of the store's SQLAlchemy engine (``store.set_write_pragmas``)."""
        timeout = self._timeout
        raw = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            stores.set_write_pragmas(raw, timeout)
        except BaseException:
            raw.close()
            raise
        return raw

    def current(self) -> bool:
        """Whether the store's schema is the newest (one query; nothing is migrated)."""
        return self._schema_is_current()

    def probe(self) -> None:
        """Raise unless the store answers a query."""
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        super().close()
