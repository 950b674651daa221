"""SQLite table versions: the content's fingerprint, the same from any connection, changed by any change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nblineage.kernel_ext.hooks.sql import tableversion
from nblineage.kernel_ext.hooks.sql.tableversion import sqlite_path, sqlite_table_version


def test_a_table_version_follows_its_content_only(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c REAL)")
    conn.execute('CREATE TABLE "Odd ""name" (a INTEGER)')
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, f"x{i}", i / 2) for i in range(5000)])
    conn.commit()
    first = sqlite_table_version(path, "t")
    assert first is not None and sqlite_table_version(path, "t") == first  # cached: same answer
    copy = str(tmp_path / "b.db")
    conn.execute(f"VACUUM INTO '{copy}'")
    assert sqlite_table_version(copy, "t") == first  # same content elsewhere: same version
    assert sqlite_table_version(path, 'Odd "name') not in (None, first)
    conn.execute("UPDATE t SET b = 'changed' WHERE a = 7")
    conn.commit()
    assert sqlite_table_version(path, "t") not in (None, first)
    conn.execute("CREATE VIEW v AS SELECT a FROM t")
    conn.commit()
    conn.close()
    assert sqlite_table_version(path, "v") is None  # a view is no table
    assert sqlite_table_version(path, "missing") is None
    assert sqlite_table_version(str(tmp_path / "none.db"), "t") is None
    assert not (tmp_path / "none.db").exists()  # never created by looking


def test_a_large_database_gets_no_table_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "big.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    monkeypatch.setattr(tableversion, "MAX_BYTES", 100)
    assert sqlite_table_version(path, "t") is None


def test_namespaces_name_their_database_file() -> None:
    assert sqlite_path("sqlite:///data/x.db") == "/data/x.db"
    assert sqlite_path("sqlite://:memory:") is None
    assert sqlite_path("postgres://h:5432") is None
