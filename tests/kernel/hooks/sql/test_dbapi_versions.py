"""Tables read through DB-API cursors are versioned by the rows fetched (as ``read_sql`` versions its result): on
the test PostgreSQL (psycopg), a MariaDB started for the module (pymysql) and SQLite where no table version applies.
The same rows give the same version however they are fetched; changed rows another; a version is pending only
while rows may still come, and whatever was tagged meanwhile gets the final one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pymysql
import pytest
from mariadb_db import fresh_database, mariadb_server
from postgres_db import postgres_database
from sqlalchemy.engine import make_url

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.sql import dbapi
from nblineage.kernel_ext.hooks.sql.dbapi import PsycopgInstrumentor, PymysqlInstrumentor, SqliteInstrumentor
from nblineage.kernel_ext.hooks.sql.rowversion import PENDING
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PandasInstrumentor, SqliteInstrumentor, PsycopgInstrumentor, PymysqlInstrumentor)
ROWS = [(i, i * 0.5, f"item {i}") for i in range(250)]


def versions(capture: Capture, obj: Any = None) -> set[str | None]:
    sources = capture.of(obj).sources if obj is not None else capture.record.inputs
    return {source.version for source in sources}


def end_cell(capture: Capture, instrumentor: type, names: dict[str, Any]) -> None:
    """The cell ends with ``names`` in its namespace (the rows they hold keep their tags)."""
    capture.user_ns = names
    instrumentor().cell_ended(capture)


def no_pending(capture: Capture) -> None:
    assert PENDING not in repr(capture.record)


# --- psycopg ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def pg(capture: Capture) -> Iterator[dict[str, Any]]:
    """psycopg connect arguments of a fresh database with items(id, price, name)."""
    with postgres_database() as url:
        parsed = make_url(url)
        kwargs = {"host": parsed.host, "port": parsed.port, "dbname": parsed.database, "user": parsed.username}
        with psycopg.connect(**kwargs, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id INTEGER, price DOUBLE PRECISION, name TEXT)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", ROWS)
        capture.take_record()
        yield kwargs


def pg_reads(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The rows of items read every way a cursor gives them: what each way holds."""
    query = "SELECT id, price, name FROM items ORDER BY id"
    got: dict[str, Any] = {}
    with psycopg.connect(**kwargs) as conn:
        with conn.cursor() as cur:
            cur.execute(query)
            got["fetchall"] = cur.fetchall()
            cur.execute(query)
            got["iterated"] = list(cur)
            cur.execute(query)
            chunks = []
            while rows := cur.fetchmany(100):
                chunks.append(pd.DataFrame(rows, columns=["id", "price", "name"]))
            got["chunks"] = pd.concat(chunks)
            cur.execute(query)
            first = cur.fetchone()
            rest = []
            while (row := cur.fetchone()) is not None:
                rest.append(row)
            got["fetchone"] = first
        with conn.cursor(name="server_side") as server:
            server.execute(query)
            streamed = []
            while rows := server.fetchmany(64):
                streamed.extend(rows)
            got["server"] = server_rows = list(streamed)
            assert len(server_rows) == len(ROWS)
        got["connection"] = conn.execute(query).fetchall()
    return got


@pytest.mark.postgres
def test_psycopg_reads_are_versioned_by_the_rows_fetched(capture: Capture, pg: dict[str, Any]) -> None:
    table = Source(f"postgres://{pg['host']}:{pg['port']}", f"{pg['dbname']}.public.items")
    got = pg_reads(pg)
    end_cell(capture, PsycopgInstrumentor, got)
    first = versions(capture)
    assert len(first) == 1 and None not in first  # every way of fetching the same rows: one version
    (version,) = first
    assert set(capture.record.inputs) == {Source(table.namespace, table.name, version)}
    for way in ("fetchall", "chunks", "fetchone", "connection"):
        assert versions(capture, got[way]) == {version}, way
    no_pending(capture)
    capture.take_record()
    with psycopg.connect(**pg, autocommit=True) as conn:  # the table changes
        conn.execute("UPDATE items SET price = price + 1 WHERE id = 7")
    capture.take_record()
    again = pg_reads(pg)
    end_cell(capture, PsycopgInstrumentor, again)
    changed = versions(capture)
    assert len(changed) == 1 and changed != first
    assert versions(capture, again["chunks"]) == changed
    no_pending(capture)


@pytest.mark.postgres
def test_a_partial_read_is_versioned_by_its_rows_when_the_cell_ends(capture: Capture, pg: dict[str, Any]) -> None:
    with psycopg.connect(**pg) as conn:
        cur = conn.cursor(name="big")
        cur.execute("SELECT id, price, name FROM items ORDER BY id")
        head = pd.DataFrame(cur.fetchmany(10))
        assert {v for v in versions(capture, head) if v and v.startswith(PENDING)}  # rows may still come
        capture.write(Source("file", "/tmp/head.csv"), head)  # an output written meanwhile
        end_cell(capture, PsycopgInstrumentor, {"head": head})
        (cut,) = versions(capture)
        assert versions(capture, head) == {cut} and not cut.startswith(PENDING)
        assert {s.version for s in capture.record.outputs[0].provenance.sources} == {cut}
        no_pending(capture)
        capture.take_record()
        tail = cur.fetchall()  # the next cell: the rest of the rows, a result of their own
        assert versions(capture, tail) - {cut} and len(versions(capture)) == 1
        cur.close()
    with psycopg.connect(**pg) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, price, name FROM items ORDER BY id LIMIT 10")
        assert versions(capture, pd.DataFrame(cur.fetchall())) == {cut}  # the same ten rows


# --- pymysql on MariaDB ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mariadb() -> Iterator[tuple[str, int]]:
    with mariadb_server() as address:
        yield address


def test_pymysql_reads_are_versioned_by_the_rows_fetched(capture: Capture, mariadb: tuple[str, int]) -> None:
    host, port = mariadb
    kwargs = {"host": host, "port": port, "user": "root", "database": fresh_database(host, port)}
    with pymysql.connect(**kwargs, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE items (id INTEGER, price DOUBLE, name TEXT)")
        cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", ROWS)
    capture.take_record()
    query = "SELECT id, price, name FROM items ORDER BY id"

    def read() -> dict[str, Any]:
        got = {}
        with pymysql.connect(**kwargs) as conn:
            for cls in (pymysql.cursors.Cursor, pymysql.cursors.SSCursor):
                with conn.cursor(cls) as cur:
                    cur.execute(query)
                    got[f"{cls.__name__} fetchall"] = cur.fetchall()
                    cur.execute(query)
                    got[f"{cls.__name__} iterated"] = list(cur)
                    cur.execute(query)
                    got[f"{cls.__name__} one"] = cur.fetchone()
                    while cur.fetchone() is not None:
                        pass
        end_cell(capture, PymysqlInstrumentor, got)
        return got

    got = read()
    (version,) = versions(capture)
    assert version is not None
    assert versions(capture, got["Cursor fetchall"]) == versions(capture, got["SSCursor fetchall"]) == {version}
    no_pending(capture)
    capture.take_record()
    with pymysql.connect(**kwargs, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM items WHERE id = 3")
    capture.take_record()
    read()
    assert versions(capture) - {version} and len(versions(capture)) == 1


def test_pymysql_point_lookups_in_a_loop_are_one_read(capture: Capture, mariadb: tuple[str, int]) -> None:
    host, port = mariadb
    kwargs = {"host": host, "port": port, "user": "root", "database": fresh_database(host, port)}
    with pymysql.connect(**kwargs, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, price DOUBLE, name TEXT)")
        cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", ROWS)
    capture.take_record()

    def lookups(ids: list[int]) -> list[Any]:
        rows = []
        with pymysql.connect(**kwargs) as conn, conn.cursor() as cur:
            for ident in ids:
                cur.execute("SELECT price, name FROM items WHERE id = %s", (ident,))
                rows.append(cur.fetchone())
        end_cell(capture, PymysqlInstrumentor, {"rows": rows})
        return rows

    rows = lookups(list(range(len(ROWS))))
    (version,) = versions(capture)  # one read, not one version per lookup
    assert version is not None and versions(capture, rows) == {version}
    no_pending(capture)
    capture.take_record()
    lookups(list(reversed(range(len(ROWS)))))
    assert versions(capture) == {version}  # the same rows in another order


# --- sqlite3 where no table version applies -------------------------------------------------------------------------


def test_sqlite_in_memory_and_in_a_transaction_are_versioned_by_their_rows(capture: Capture, tmp_path: Path) -> None:
    memory = sqlite3.connect(":memory:")
    memory.execute("CREATE TABLE t (id INTEGER, price REAL, name TEXT)")
    memory.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    capture.take_record()
    rows = memory.execute("SELECT * FROM t").fetchall()
    looped = [row for row in memory.execute("SELECT * FROM t")]
    end_cell(capture, SqliteInstrumentor, {"rows": rows, "looped": looped})
    (version,) = versions(capture)
    assert version is not None and versions(capture, rows) == {version}
    assert looped == rows
    capture.take_record()
    memory.execute("UPDATE t SET name = 'changed' WHERE id = 1")  # uncommitted: what the cursor reads is versioned
    changed = memory.execute("SELECT * FROM t").fetchall()
    end_cell(capture, SqliteInstrumentor, {"changed": changed})
    assert versions(capture, changed) - {version}
    no_pending(capture)
    assert not dbapi._open


def test_sqlite_rows_fetched_with_next_are_versioned_like_the_others(capture: Capture) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER, price REAL, name TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    capture.take_record()
    everything = conn.execute("SELECT * FROM t").fetchall()
    end_cell(capture, SqliteInstrumentor, {"everything": everything})
    (version,) = versions(capture)
    capture.take_record()
    cur = conn.execute("SELECT * FROM t")
    stepped = [next(cur) for _ in range(len(ROWS))]
    with pytest.raises(StopIteration):
        next(cur)
    end_cell(capture, SqliteInstrumentor, {"stepped": stepped})
    assert versions(capture) == {version}
    capture.take_record()
    cur = conn.execute("SELECT * FROM t")
    first = cur.fetchone()
    cur.close()  # closed after one row: versioned by that row
    end_cell(capture, SqliteInstrumentor, {"first": first})
    assert len(versions(capture)) == 1 and versions(capture) - {version, None}
    no_pending(capture)


POLICY = """
datasets:
  - {namespace: "sqlite://*", name: t, tags: [confidential]}
  - {namespace: "sqlite://*", name: secret, readers: [nobody-here]}
rules:
  - {name: who-reads, kind: readers, action: block}
"""


def test_the_guard_sees_the_tables_read_and_blocks_before_any_row(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nblineage.governance.policy import PolicyViolation
    from nblineage.kernel_ext.guard import Guard

    (tmp_path / "p.yaml").write_text(POLICY)
    monkeypatch.setenv("NBLINEAGE_POLICY", str(tmp_path / "p.yaml"))
    Guard(None).refresh(capture)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER, price REAL, name TEXT)")
    conn.execute("CREATE TABLE secret (id INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    capture.take_record()
    cur = conn.execute("SELECT * FROM t")
    head = cur.fetchmany(10)
    rest = cur.fetchall()
    end_cell(capture, SqliteInstrumentor, {"head": head, "rest": rest})
    reads = [record for record in capture.record.audit if record["action"] == "read"]
    # the read as the statement named it (the guard's own once-per-cell dedupe is its business)
    assert reads and {(r["datasets"][0]["name"], r["datasets"][0]["version"]) for r in reads} == {("t", None)}
    assert len(versions(capture)) == 1 and None not in versions(capture)  # two fetches of one result
    no_pending(capture)
    with pytest.raises(PolicyViolation, match="who-reads"):
        conn.execute("SELECT * FROM secret")
