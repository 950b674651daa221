"""DB-API drivers without pandas or SQLAlchemy: sqlite3 and psycopg2 (proxies), psycopg 3 and pymysql (patched
cursors), on a real SQLite file, the test PostgreSQL and a MariaDB started for the module."""

from __future__ import annotations

import os
import sqlite3
import sysconfig
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import psycopg2
import psycopg2.extras
import pymysql
import pytest
import wrapt
from mariadb_db import fresh_database, mariadb_server
from postgres_db import postgres_database
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.sql import dbapi
from nblineage.kernel_ext.hooks.sql.dbapi import (
    Psycopg2Instrumentor,
    PsycopgInstrumentor,
    PymysqlInstrumentor,
    SqliteInstrumentor,
)
from nblineage.kernel_ext.hooks.sql.engine import SqlAlchemyInstrumentor
from nblineage.kernel_ext.hooks.sql.pandas import PandasSqlInstrumentor
from nblineage.kernel_ext.hooks.sql.tableversion import sqlite_table_version
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (
    PandasInstrumentor,
    SqlAlchemyInstrumentor,
    PandasSqlInstrumentor,
    SqliteInstrumentor,
    PsycopgInstrumentor,
    Psycopg2Instrumentor,
    PymysqlInstrumentor,
)
RAW = Source("file", "/data/raw.csv", "v1")
ROWS = [(i, i * 10) for i in range(100)]  # more than 64: the registry does not open the list


def sqlite_table(path: Path, name: str) -> Source:
    return Source(f"sqlite://{path}", name)


def tables_of(capture: Capture, obj: Any) -> set[str]:
    return {source.name for source in capture.of(obj).sources}


def outputs(capture: Capture) -> list[tuple[str, set[str]]]:
    return [(out.source.name, {s.name for s in out.provenance.sources}) for out in capture.record.outputs]


@pytest.fixture
def db(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A SQLite file with a(id, x) and b(id, y); the seeding is not part of the record."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE a (id INTEGER, x INTEGER)")
        conn.execute("CREATE TABLE b (id INTEGER, y INTEGER)")
        conn.executemany("INSERT INTO a VALUES (?, ?)", ROWS)
        conn.executemany("INSERT INTO b VALUES (?, ?)", ROWS)
    conn.close()
    if "capture" in request.fixturenames:
        request.getfixturevalue("capture").take_record()
    return path


# --- sqlite3 ---------------------------------------------------------------------------------------------------------


def test_a_sqlite_connection_stays_a_connection(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    assert isinstance(conn, sqlite3.Connection) and isinstance(conn, wrapt.ObjectProxy)
    with conn as entered:
        assert entered is conn  # the context manager gives the proxy back, not the plain connection
    cur = conn.cursor()
    assert isinstance(cur, sqlite3.Cursor)
    assert cur.execute("SELECT 1") is cur and conn.execute("SELECT 1").fetchone() == (1,)
    conn.row_factory = sqlite3.Row  # attributes reach the connection
    assert conn.__wrapped__.row_factory is sqlite3.Row
    target = sqlite3.connect(":memory:")
    conn.backup(target)  # a C method given a proxy
    assert target.execute("SELECT count(*) FROM a").fetchone()[0] == len(ROWS)
    conn.close()


def test_rows_fetched_carry_exactly_the_tables_read(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    cur = conn.cursor()
    cur.execute("SELECT a.x, b.y FROM a JOIN b ON a.id = b.id WHERE a.id < ?", (50,))
    rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=[d[0] for d in cur.description])
    assert tables_of(capture, rows) == tables_of(capture, frame) == {"a", "b"}
    assert capture.of(frame).precision == "exact"
    # each table versioned by its content (what to_sql into it recorded, in any kernel)
    versions = {name: sqlite_table_version(str(db), name) for name in ("a", "b")}
    assert None not in versions.values()
    assert set(capture.record.inputs) == {replace(sqlite_table(db, n), version=v) for n, v in versions.items()}
    one = conn.execute("SELECT x FROM a").fetchone()
    many = conn.execute("SELECT y FROM b").fetchmany(70)
    assert tables_of(capture, one) == {"a"} and tables_of(capture, many) == {"b"}
    assert tables_of(capture, pd.DataFrame(cur.execute("SELECT * FROM b").fetchall())) == {"b"}


def test_a_list_of_iterated_rows_is_found_at_cell_end(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    listed = list(conn.execute("SELECT x FROM a"))
    looped = []
    for row in conn.cursor().execute("SELECT y FROM b"):
        looped.append(row)
    unrelated = [(1, 2)] * 100
    capture.user_ns = {"listed": listed, "looped": looped, "unrelated": unrelated}
    SqliteInstrumentor().cell_ended(capture)
    assert tables_of(capture, listed) == {"a"} and tables_of(capture, looped) == {"b"}
    assert not capture.of(unrelated)
    assert not dbapi._held.space  # let go at cell end


def test_writes_derive_from_the_tables_read_and_the_rows_passed(capture: Capture, db: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE c AS SELECT a.id, x, y FROM a JOIN b ON a.id = b.id")
    rows = conn.execute("SELECT id, x FROM a").fetchall()
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE copy (id INTEGER, x INTEGER)")
    other.executemany("INSERT INTO copy VALUES (?, ?)", rows)
    for _ in range(3):
        other.execute("INSERT INTO copy VALUES (?, ?)", (1, 2))  # literals: no input, and one output only
    assert outputs(capture) == [("c", {"a", "b"}), ("copy", set()), ("copy", {"a"})]
    copied = capture.record.outputs[2]
    assert copied.source.namespace == f"sqlite://{tmp_path / 'other.db'}"


def test_executescript_records_each_statement_on_its_own(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE ca AS SELECT x FROM a; -- a comment; with a semicolon\n"
        "CREATE TABLE cb AS SELECT y FROM b WHERE y > ';';\nDROP TABLE ca;"
    )
    assert outputs(capture) == [("ca", {"a"}), ("cb", {"b"})]


def test_pandas_on_a_proxied_connection_records_once(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    frame = pd.read_sql("SELECT x FROM a", conn)
    assert tables_of(capture, frame) == {"a"}
    assert [source.version is not None for source in capture.record.inputs] == [True]  # pandas's, versioned
    frame.to_sql("written", conn, index=False)
    assert [name for name, _ in outputs(capture)] == ["written"]  # to_sql's own record, not its INSERTs


def test_sqlalchemy_connections_stay_plain(capture: Capture, db: Path) -> None:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert not isinstance(conn.connection.dbapi_connection, wrapt.ObjectProxy)
        conn.execute(text("SELECT x FROM a")).fetchall()
    engine.dispose()
    # the engine hook's, once, versioned by the table's content as a DB-API read is
    assert set(capture.record.inputs) == {replace(sqlite_table(db, "a"), version=sqlite_table_version(str(db), "a"))}


def test_a_hook_fault_leaves_the_call_alone(
    capture: Capture, db: Path, monkeypatch: pytest.MonkeyPatch, fresh_error_counts: None
) -> None:
    monkeypatch.setenv("NBLINEAGE_STRICT", "0")

    def broken(*args: object) -> None:
        raise RuntimeError("parser down")

    monkeypatch.setattr(dbapi, "statement_of", broken)
    conn = sqlite3.connect(db)
    with pytest.warns(RuntimeWarning, match="could not record lineage"):
        cur = conn.execute("SELECT x FROM a WHERE id = ?", (3,))
    assert cur.fetchall() == [(30,)]
    assert safety.errors["sqlite3 execute"] == 1


def test_capture_off_records_nothing(db: Path) -> None:
    instrumentor = SqliteInstrumentor()
    instrumentor.instrument()
    try:
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (len(ROWS),)
    finally:
        instrumentor.uninstrument()
    assert not isinstance(sqlite3.connect(db), wrapt.ObjectProxy)


# --- psycopg ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def postgres(capture: Capture) -> Iterator[tuple[str, dict[str, Any]]]:
    """A fresh PostgreSQL database with a(id, x), b(id, y); its SQLAlchemy URL and psycopg connect arguments."""
    with postgres_database() as url:
        parsed = make_url(url)
        kwargs = {"host": parsed.host, "port": parsed.port, "dbname": parsed.database, "user": parsed.username}
        with psycopg.connect(**kwargs, autocommit=True) as conn:
            conn.execute("CREATE TABLE a (id INTEGER, x INTEGER)")
            conn.execute("CREATE TABLE b (id INTEGER, y INTEGER)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO a VALUES (%s, %s)", ROWS)
                cur.executemany("INSERT INTO b VALUES (%s, %s)", ROWS)
        capture.take_record()
        yield url, kwargs


@pytest.mark.postgres
def test_psycopg_rows_and_writes(capture: Capture, postgres: tuple[str, dict[str, Any]]) -> None:
    _, kwargs = postgres
    database = kwargs["dbname"]
    with psycopg.connect(**kwargs, password="Zq9-not-for-logs") as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id, x FROM a WHERE id < %(limit)s", {"limit": 80})
            rows = cur.fetchall()
        joined = conn.execute("SELECT a.x, b.y FROM a JOIN public.b ON a.id = b.id").fetchall()
        with conn.cursor(name="server_side") as server:  # a server-side cursor, iterated
            server.execute("SELECT y FROM b")
            streamed = list(server)
        with conn.cursor() as cur:
            streamed_a = [row for row in cur.stream("SELECT x FROM a")]
            composed = cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier("b"))).fetchall()
        conn.execute("INSERT INTO b SELECT id, x FROM a")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO b VALUES (%s, %s)", rows)  # b derives from a: said once
            cur.executemany("INSERT INTO a VALUES (%s, %s)", rows)  # a from a: no edge
    assert tables_of(capture, rows) == {f"{database}.public.a"}
    assert tables_of(capture, joined) == {f"{database}.public.a", f"{database}.public.b"}
    assert {source.namespace for source in capture.record.inputs} == {f"postgres://{kwargs['host']}:{kwargs['port']}"}
    capture.user_ns = {"streamed": streamed, "streamed_a": streamed_a, "composed": composed}
    PsycopgInstrumentor().cell_ended(capture)
    assert tables_of(capture, streamed) == {f"{database}.public.b"}
    assert tables_of(capture, streamed_a) == {f"{database}.public.a"}
    assert tables_of(capture, composed) == {f"{database}.public.b"}
    assert outputs(capture) == [(f"{database}.public.b", {f"{database}.public.a"}), (f"{database}.public.a", set())]
    assert "Zq9" not in repr(capture.record)


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_pandas_on_a_psycopg_connection(capture: Capture, postgres: tuple[str, dict[str, Any]], driver: str) -> None:
    _, kwargs = postgres
    connect = psycopg.connect if driver == "psycopg" else psycopg2.connect
    with connect(**kwargs) as conn, pytest.warns(UserWarning, match="SQLAlchemy"):
        frame = pd.read_sql("SELECT y FROM b", conn)
    assert tables_of(capture, frame) == {f"{kwargs['dbname']}.public.b"}
    assert len(capture.record.inputs) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_rows_of_part_of_a_table_pandas_wrote_are_of_the_version_written(
    capture: Capture, postgres: tuple[str, dict[str, Any]], driver: str
) -> None:
    """A cursor's ``WHERE`` over a table ``to_sql`` wrote whole reads the version written (a Quora project's
    questions table), until the cursor itself writes to it."""
    url, kwargs = postgres
    engine = create_engine(url)
    raw = Source("file", "/d/questions.csv", "v1")
    frame = pd.DataFrame({"q1": [1, 7, 9], "q2": [3, 4, 5]})
    capture.read(raw, frame)
    frame.to_sql("questions", engine, index=False)
    engine.dispose()
    [written] = capture.take_record().outputs
    connect = psycopg.connect if driver == "psycopg" else psycopg2.connect
    with connect(**kwargs) as conn, conn.cursor() as cur:
        cur.execute("SELECT q2 FROM questions WHERE q1 > 5")
        part = cur.fetchall()
        assert capture.of(part).sources == {written.source}
        cur.execute("INSERT INTO questions VALUES (11, 6)")
        cur.execute("SELECT q2 FROM questions WHERE q1 > 5")
        after = cur.fetchall()
        assert len(after) == 3 and capture.of(after).sources != {written.source}


@pytest.mark.postgres
def test_psycopg_under_sqlalchemy_is_the_engine_hooks(capture: Capture, postgres: tuple[str, dict[str, Any]]) -> None:
    url, _ = postgres
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT x FROM a")).fetchall()
    engine.dispose()
    assert len(capture.record.inputs) == 1  # once, by the engine hook
    assert not capture.of(rows) and not any(held is rows for held in dbapi._held.space.values())


@pytest.mark.postgres
def test_psycopg2_rows_and_writes(capture: Capture, postgres: tuple[str, dict[str, Any]]) -> None:
    _, kwargs = postgres
    database = kwargs["dbname"]
    conn = psycopg2.connect(**kwargs, password="Zq9-not-for-logs")
    assert isinstance(conn, psycopg2.extensions.connection) and isinstance(conn, wrapt.ObjectProxy)
    with conn, conn.cursor() as cur:
        assert cur.execute("SELECT id, x FROM a WHERE id < %(limit)s", {"limit": 80}) is None  # as psycopg2's
        rows = cur.fetchall()
        cur.execute("SELECT a.x, b.y FROM a JOIN public.b ON a.id = b.id")
        first = cur.fetchone()
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT y FROM b")
        dicts = cur.fetchmany(10)
    with conn.cursor("server_side") as server:  # a named (server-side) cursor, iterated
        server.execute("SELECT x FROM a")
        streamed = list(server)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO b SELECT id, x FROM a")
        cur.executemany("INSERT INTO a VALUES (%s, %s)", rows)  # a from a: no edge
    conn.close()
    assert len(rows) == 80 and len(dicts) == 10 and dicts[0]["y"] == 0
    assert tables_of(capture, rows) == {f"{database}.public.a"}
    assert tables_of(capture, first) == {f"{database}.public.a", f"{database}.public.b"}
    assert tables_of(capture, dicts) == {f"{database}.public.b"}
    assert {source.namespace for source in capture.record.inputs} == {f"postgres://{kwargs['host']}:{kwargs['port']}"}
    capture.user_ns = {"streamed": streamed}
    Psycopg2Instrumentor().cell_ended(capture)
    assert tables_of(capture, streamed) == {f"{database}.public.a"}
    assert outputs(capture) == [(f"{database}.public.b", {f"{database}.public.a"}), (f"{database}.public.a", set())]
    assert "Zq9" not in repr(capture.record)


@pytest.mark.postgres
def test_psycopg2_extras_helpers_run_the_user_s_statements(
    capture: Capture, postgres: tuple[str, dict[str, Any]]
) -> None:
    _, kwargs = postgres
    with psycopg2.connect(**kwargs) as conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, "INSERT INTO a (id, x) VALUES %s", [(1000, 1), (1001, 2)])
        psycopg2.extras.execute_batch(cur, "INSERT INTO b (id, y) VALUES (%s, %s)", [(1000, 1)])
    conn.close()
    database = kwargs["dbname"]
    assert [name for name, _ in outputs(capture)] == [f"{database}.public.a", f"{database}.public.b"]


@pytest.mark.postgres
def test_psycopg2_under_sqlalchemy_is_the_engine_hooks(capture: Capture, postgres: tuple[str, dict[str, Any]]) -> None:
    url, _ = postgres
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg2"))
    with engine.connect() as connection:
        assert not isinstance(connection.connection.dbapi_connection, wrapt.ObjectProxy)  # SQLAlchemy's: plain
        rows = connection.execute(text("SELECT x FROM a")).fetchall()
    engine.dispose()
    assert len(capture.record.inputs) == 1  # once, by the engine hook
    assert not capture.of(rows)


def test_uninstrument_restores_the_driver_classes() -> None:
    originals = {cls: dict(cls.__dict__) for cls in (psycopg.Cursor, psycopg.Connection, pymysql.cursors.Cursor)}
    for instrumentor in (PsycopgInstrumentor(), PymysqlInstrumentor()):
        instrumentor.instrument()
        assert isinstance(psycopg.Cursor.__dict__["execute"], wrapt.FunctionWrapper) or isinstance(
            pymysql.cursors.Cursor.__dict__["execute"], wrapt.FunctionWrapper
        )
        instrumentor.uninstrument()
    assert {cls: dict(cls.__dict__) for cls in originals} == originals


# --- pymysql on MariaDB ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mariadb() -> Iterator[tuple[str, int]]:
    with mariadb_server() as address:
        yield address


@pytest.fixture
def mysql(capture: Capture, mariadb: tuple[str, int]) -> dict[str, Any]:
    host, port = mariadb
    database = fresh_database(host, port)
    kwargs = {"host": host, "port": port, "user": "root", "database": database}
    with pymysql.connect(**kwargs, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE a (id INTEGER, x INTEGER)")
        cur.execute("CREATE TABLE b (id INTEGER, y INTEGER)")
        cur.executemany("INSERT INTO a VALUES (%s, %s)", ROWS)
        cur.executemany("INSERT INTO b VALUES (%s, %s)", ROWS)
    capture.take_record()
    return kwargs


def test_pymysql_rows_and_writes(capture: Capture, mysql: dict[str, Any]) -> None:
    database = mysql["database"]
    with pymysql.connect(**mysql, password="") as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id, x FROM a WHERE id < %s", (80,))
            rows = cur.fetchall()
            cur.execute("SELECT y FROM b")
            one = cur.fetchone()
        with conn.cursor(pymysql.cursors.SSDictCursor) as cur:
            cur.execute("SELECT a.x, b.y FROM a JOIN b ON a.id = b.id")
            streamed = list(cur)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE c AS SELECT x FROM a")
            cur.executemany("INSERT INTO b VALUES (%s, %s)", rows)
        conn.commit()
    assert tables_of(capture, rows) == {f"{database}.a"} and tables_of(capture, one) == {f"{database}.b"}
    assert {source.namespace for source in capture.record.inputs} == {f"mysql://{mysql['host']}:{mysql['port']}"}
    capture.user_ns = {"streamed": streamed}
    PymysqlInstrumentor().cell_ended(capture)
    assert tables_of(capture, streamed) == {f"{database}.a", f"{database}.b"}
    assert outputs(capture) == [(f"{database}.c", {f"{database}.a"}), (f"{database}.b", {f"{database}.a"})]


def test_pandas_on_a_pymysql_connection(capture: Capture, mysql: dict[str, Any]) -> None:
    with pymysql.connect(**mysql) as conn, pytest.warns(UserWarning, match="SQLAlchemy"):
        frame = pd.read_sql("SELECT y FROM b", conn)
    assert tables_of(capture, frame) == {f"{mysql['database']}.b"}
    assert len(capture.record.inputs) == 1


def test_results_nothing_refers_to_are_let_go(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    dbapi._held.release(None, None)
    frame = pd.DataFrame(conn.execute("SELECT x FROM a").fetchall())  # the list is dropped once the frame is built
    kept = conn.execute("SELECT y FROM b").fetchall()
    assert list(dbapi._held.space.values()) == [kept]
    assert tables_of(capture, frame) == {"a"} and tables_of(capture, kept) == {"b"}
    cur = conn.execute("SELECT x FROM a")
    looped = [cur.fetchone()]
    while (row := cur.fetchone()) is not None:  # one row at a time: the first is held, no more
        looped.append(row)
    assert len(dbapi._held.space) == 2 and tables_of(capture, looped[0]) == {"a"}
    capture.user_ns = {"looped": looped}
    SqliteInstrumentor().cell_ended(capture)  # the list is found by its first row at cell end
    assert tables_of(capture, looped) == {"a"}


def test_connections_libraries_open_stay_plain(capture: Capture, db: Path) -> None:
    library_file = os.path.join(sysconfig.get_path("purelib"), "somecache", "store.py")
    namespace = {"sqlite3": sqlite3, "path": str(db), "__name__": "somecache.store"}
    exec(compile("conn = sqlite3.connect(path)", library_file, "exec"), namespace)  # a library's own cache
    assert not isinstance(namespace["conn"], wrapt.ObjectProxy)
    namespace["conn"].execute("SELECT x FROM a").fetchall()
    assert not capture.record.inputs


def test_parameters_of_any_kind_pass_through(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT ?, ?", np.array([1.5, 2.5])).fetchone() == (1.5, 2.5)
    assert conn.execute("SELECT :a", {"a": 3}).fetchone() == (3,)
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT ?", ())  # the driver's own error, unchanged


def test_lists_filled_in_a_loop_over_rows_get_their_tables(capture: Capture, db: Path) -> None:
    conn = sqlite3.connect(db)
    cur = conn.cursor()
    features, labels, unrelated = [], [], []
    cur.execute("SELECT id, x FROM a")
    for ident, x in cur:
        features.append([ident, x / 2])
    for row in conn.execute("SELECT y FROM b"):
        labels.append(row[0] > 100)
    for number in range(3):
        unrelated.append(number)
    capture.cell_source = (
        "features, labels, unrelated = [], [], []\n"
        "cur.execute('SELECT id, x FROM a')\n"
        "for ident, x in cur:\n    features.append([ident, x / 2])\n"
        "for row in conn.execute('SELECT y FROM b'):\n    labels.append(row[0] > 100)\n"
        "for number in range(3):\n    unrelated.append(number)\n"
    )
    capture.user_ns = {"cur": cur, "conn": conn, "row": row, "number": number}
    capture.user_ns |= {"features": features, "labels": labels, "unrelated": unrelated}
    SqliteInstrumentor().cell_ended(capture)
    assert tables_of(capture, features) == {"a"} and tables_of(capture, labels) == {"b"}
    assert capture.of(features).precision == "cell" and not capture.of(unrelated)
