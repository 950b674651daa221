"""Tests for the SQL hooks: SQLAlchemy engine events and pandas read_sql*/to_sql, on SQLite files and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import wrapt
from pandas.core.generic import NDFrame
from postgres_db import postgres_database
from sqlalchemy import Engine, create_engine, event, exc, select, table, text
from sqlalchemy import column as sa_column

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.fingerprint import arrow_version
from nblineage.kernel_ext.hooks.sql import engine as sqlalchemy_hooks
from nblineage.kernel_ext.hooks.sql.engine import SqlAlchemyInstrumentor
from nblineage.kernel_ext.hooks.sql.pandas import PandasSqlInstrumentor
from nblineage.kernel_ext.hooks.sql.parsing import NOTHING, tables
from nblineage.kernel_ext.hooks.sql.tableversion import sqlite_table_version
from nblineage.kernel_ext.provenance import NO_SOURCES, Provenance, Source
from nblineage.lineage.naming import table_dataset

PASSWORD = "Zq9-not-for-logs"
RAW = Source("file", "/d/raw.csv", "v1")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data.db'}"
        return
    with postgres_database() as database_url:
        yield database_url


@pytest.fixture
def instrumented() -> Iterator[tuple[SqlAlchemyInstrumentor, PandasSqlInstrumentor]]:
    engines, frames = SqlAlchemyInstrumentor(), PandasSqlInstrumentor()
    engines.instrument()
    frames.instrument()
    yield engines, frames
    frames.uninstrument()
    engines.uninstrument()


@pytest.fixture
def capture(instrumented: object, capture: Capture) -> Capture:
    """The capture, active while the SQL hooks are instrumented."""
    return capture


@pytest.fixture
def engine(url: str, capture: Capture) -> Iterator[Engine]:
    """An engine on a database with tables a(id, x) and b(id, y); the seeding is not part of the record."""
    made = create_engine(url)
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE a (id INTEGER, x INTEGER)"))
        conn.execute(text("CREATE TABLE b (id INTEGER, y INTEGER)"))
        conn.execute(text("INSERT INTO a VALUES (1, 10), (2, 20)"))
        conn.execute(text("INSERT INTO b VALUES (1, 100), (2, 200)"))
    capture.take_record()
    yield made
    made.dispose()


def named(engine: Engine | str, name: str, version: str | None = None) -> Source:
    dataset = table_dataset(str(engine.url) if isinstance(engine, Engine) else engine, name)
    return Source(dataset.namespace, dataset.name, version)


def read_of(engine: Engine, name: str) -> Source:
    """A table as a statement through the engine reads it: a SQLite file's versioned by its content, another
    database's unversioned (this kernel wrote none of them whole)."""
    sqlite = engine.dialect.name == "sqlite"
    return named(engine, name, sqlite_table_version(engine.url.database, name) if sqlite else None)


def fingerprint(frame: pd.DataFrame) -> str:
    return arrow_version(pa.Table.from_pandas(frame))


def table_version(engine: Engine, name: str, frame: pd.DataFrame) -> str | None:
    """A table read or written: a SQLite file's table is versioned by its content, others by the frame's."""
    if engine.dialect.name == "sqlite":
        return sqlite_table_version(engine.url.database, name)
    return fingerprint(frame)


JOIN = "SELECT a.id, a.x, b.y FROM a JOIN b ON a.id = b.id WHERE a.x > :low ORDER BY a.id"


def test_select_with_a_join_reads_both_tables(engine: Engine, capture: Capture) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text(JOIN), {"low": 0}).all()  # psycopg sends %(low)s: the placeholder is normalised
    assert rows == [(1, 10, 100), (2, 20, 200)]
    record = capture.take_record()
    assert set(record.inputs) == {read_of(engine, "a"), read_of(engine, "b")}
    assert record.outputs == []


def test_engines_and_connections_made_before_instrument_are_covered(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'early.db'}")
    conn = engine.connect()
    conn.execute(text("CREATE TABLE early (v INTEGER)"))
    hooks = SqlAlchemyInstrumentor()
    hooks.instrument()
    active = Capture()
    capture_module.activate(active)
    try:
        conn.execute(text("SELECT v FROM early")).all()
    finally:
        capture_module.activate(None)
        hooks.uninstrument()
        conn.close()
        engine.dispose()
    assert set(active.record.inputs) == {read_of(engine, "early")}


def test_read_sql_tags_the_frame_with_exactly_its_tables(engine: Engine, capture: Capture) -> None:
    joined = pd.read_sql(text(JOIN), engine, params={"low": 0})
    only_b = pd.read_sql_query("SELECT id, y FROM b", engine)
    with engine.connect() as conn:
        whole_a = pd.read_sql_table("a", conn)  # reflection reads the catalog: none of it is recorded
    by_name = pd.read_sql("b", engine)  # read_sql with a table name
    construct = pd.io.sql.read_sql(select(sa_column("x")).select_from(table("a")), engine)

    assert capture.of(joined) == Provenance(
        frozenset(
            {
                named(engine, "a", table_version(engine, "a", joined)),
                named(engine, "b", table_version(engine, "b", joined)),
            }
        )
    )
    assert capture.of(only_b).sources == {named(engine, "b", table_version(engine, "b", only_b))}
    assert capture.of(whole_a).sources == {named(engine, "a", table_version(engine, "a", whole_a))}
    assert capture.of(by_name).sources == {named(engine, "b", table_version(engine, "b", by_name))}
    assert capture.of(construct).sources == {named(engine, "a", table_version(engine, "a", construct))}
    assert None not in {source.version for source in capture.of(joined).sources}
    record = capture.take_record()
    assert {source.name.rsplit(".", 1)[-1] for source in record.inputs} == {"a", "b"}
    assert record.outputs == []


def test_read_sql_gives_tables_their_schema_and_the_query_its_column_rules(engine: Engine, capture: Capture) -> None:
    """A model's features are traced through the query to table columns: each table read gets its declared columns
    (a ``schema`` facet) and each result column computed from other columns a rule (``total <- x``)."""
    frame = pd.read_sql(
        "SELECT a.id, SUM(a.x) AS total, MAX(b.y) - MIN(a.x) AS spread FROM a JOIN b ON a.id = b.id GROUP BY a.id",
        engine,
    )
    assert list(frame.columns) == ["id", "total", "spread"]
    assert capture.column_rules["total"] == frozenset({"x"})
    assert capture.column_rules["spread"] == frozenset({"x", "y"})
    assert "id" not in capture.column_rules  # passed through: a column of the table itself
    record = capture.take_record()
    schemas = {
        source.name.rsplit(".", 1)[-1]: [field["name"] for field in facets["schema"]["fields"]]
        for source, facets in record.inputs.items()
    }
    assert schemas == {"a": ["id", "x"], "b": ["id", "y"]}

    pd.DataFrame({"k": [1], "v": ["x"]}).to_sql("written", engine, index=False)
    [output] = capture.take_record().outputs
    assert [field["name"] for field in output.facets["schema"]["fields"]] == ["k", "v"]


def test_read_sql_with_duplicate_column_names_still_gets_a_version(engine: Engine, capture: Capture) -> None:
    frame = pd.read_sql("SELECT * FROM a JOIN b ON a.id = b.id", engine)
    assert list(frame.columns).count("id") == 2
    versions = {source.version for source in capture.of(frame).sources}
    # the result's one fingerprint; a SQLite file's tables each their own content's
    assert len(versions) == (2 if engine.dialect.name == "sqlite" else 1) and None not in versions


def test_read_sql_and_to_sql_on_a_plain_sqlite3_connection(tmp_path: Path, capture: Capture) -> None:
    path = tmp_path / "plain.db"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE p (id INTEGER, v TEXT); INSERT INTO p VALUES (1, 'x');")
    try:
        frame = pd.read_sql("SELECT * FROM p WHERE id = ?", con, params=(1,))
        capture.read(RAW, frame)
        frame.to_sql("q", con, index=False)
    finally:
        con.close()
    url = f"sqlite:///{path}"
    assert capture.record.inputs.keys() == {named(url, "p", sqlite_table_version(str(path), "p")), RAW}
    [output] = capture.record.outputs
    # A SQLite table written is versioned by its content: what a DB-API read of it finds in another kernel.
    assert output.source == named(url, "q", sqlite_table_version(str(path), "q"))
    assert output.source.version is not None
    assert output.provenance.sources == {RAW}


def test_insert_select_and_create_table_as_write_outputs_with_their_inputs(engine: Engine, capture: Capture) -> None:
    a, b = read_of(engine, "a"), read_of(engine, "b")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE c (id INTEGER, x INTEGER, y INTEGER)"))
        [created] = capture.take_record().outputs
        conn.execute(text("INSERT INTO c SELECT a.id, a.x, b.y FROM a JOIN b ON a.id = b.id"))
        conn.execute(text("CREATE TABLE d AS SELECT id, x FROM a WHERE x > 10"))
        conn.execute(text("INSERT INTO c SELECT id, x, x FROM c"))  # reads its own target: no self edge
        conn.execute(text("DROP TABLE d"))  # dropping writes nothing
    record = capture.take_record()
    assert (created.source, created.provenance) == (named(engine, "c"), NO_SOURCES)  # an empty table: of nothing
    assert [(out.source, out.provenance) for out in record.outputs] == [
        (named(engine, "c"), Provenance(frozenset({a, b}), "exact")),
        (named(engine, "d"), Provenance(frozenset({a}), "exact")),
        (named(engine, "c"), Provenance(frozenset(), "exact")),
    ]
    assert set(record.inputs) == {a, b}


def test_repeated_inserts_record_one_output(engine: Engine, capture: Capture) -> None:
    with engine.begin() as conn:
        for value in range(5):
            conn.execute(text("INSERT INTO a (id, x) VALUES (:v, :v)"), {"v": value})
        conn.execute(text("INSERT INTO a (id, x) VALUES (:v, :v)"), [{"v": 7}, {"v": 8}])
    assert [out.source for out in capture.take_record().outputs] == [named(engine, "a")]


def test_to_sql_writes_one_output_with_the_frame_provenance(engine: Engine, capture: Capture) -> None:
    frame = pd.DataFrame({"k": [1, 2, 3], "v": ["x", "y", "z"]})
    capture.read(RAW, frame)
    frame.to_sql("out", engine, index=False)
    record = capture.take_record()
    assert record.inputs.keys() == {RAW}  # the internal reflection, CREATE TABLE and INSERTs record nothing
    sqlite = engine.dialect.name == "sqlite"  # a SQLite table is versioned by its content, others by the frame
    version = sqlite_table_version(engine.url.database, "out") if sqlite else fingerprint(frame)
    assert version is not None
    assert [(out.source, out.provenance) for out in record.outputs] == [
        (named(engine, "out", version), Provenance(frozenset({RAW})))
    ]

    with engine.begin() as conn:  # rows appended: what the table holds is not known here, no version
        frame.to_sql("out", conn, if_exists="append", index=False, chunksize=1)
    record = capture.take_record()
    assert [out.source for out in record.outputs] == [named(engine, "out")]

    untracked = pd.DataFrame({"k": [9]})
    pd.io.sql.to_sql(untracked, "other", engine, index=False)
    [output] = capture.take_record().outputs
    assert output.source == named(engine, "other", table_version(engine, "other", untracked))
    assert not output.provenance


def test_a_read_of_part_of_a_table_written_whole_is_of_the_version_written(engine: Engine, capture: Capture) -> None:
    """A projection or a ``WHERE`` reads the table ``to_sql`` wrote: the version written (a PostgreSQL table is not
    hashed, so without it the read's version was its rows' and nothing led back to the frame's CSV), until the
    table is written otherwise."""
    frame = pd.DataFrame({"k": [1, 2, 3], "v": [10, 20, 30]})
    capture.read(RAW, frame)
    frame.to_sql("whole", engine, index=False)
    [written] = capture.take_record().outputs
    part = pd.read_sql("SELECT v FROM whole WHERE k > 1", engine)
    assert capture.of(part).sources == {written.source}

    with engine.begin() as conn:  # rows added otherwise: the version written is no longer the table's
        conn.execute(text("INSERT INTO whole VALUES (4, 40)"))
    capture.take_record()
    part = pd.read_sql("SELECT v FROM whole WHERE k > 1", engine)
    [source] = capture.of(part).sources
    assert source.name == written.source.name and source.version != written.source.version


@pytest.mark.postgres
def test_a_password_in_the_engine_url_is_never_recorded(capture: Capture) -> None:
    with postgres_database() as database_url:
        secret_url = database_url.replace("postgres@", f"postgres:{PASSWORD}@")  # trust auth ignores it
        engine = create_engine(secret_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE a (id INTEGER, x INTEGER)"))
                conn.execute(text("CREATE TABLE b (id INTEGER, y INTEGER)"))
                conn.execute(text("INSERT INTO b SELECT id, x FROM a"))
            frame = pd.read_sql("SELECT * FROM a JOIN b USING (id)", engine)
            frame.to_sql("c", secret_url)  # a URL string holding the password
        finally:
            engine.dispose()
    record = capture.take_record()
    assert {out.source.namespace for out in record.outputs} == {"postgres://127.0.0.1:5432"}
    assert len(record.outputs) == 4 and capture.of(frame)
    everything = repr(record) + repr(capture.of(frame))
    assert PASSWORD not in everything
    assert "***" not in everything


def test_to_sql_and_sql_reads_name_a_table_alike(engine: Engine, capture: Capture) -> None:
    postgres = engine.dialect.name == "postgresql"
    schema = "Analytics" if postgres else None
    if postgres:
        with engine.begin() as conn:
            conn.execute(text('CREATE SCHEMA "Analytics"'))
    frame = pd.DataFrame({"k": [1]})
    frame.to_sql("MixedCase", engine, schema=schema, index=False)
    qualified = '"Analytics"."MixedCase"' if postgres else '"MixedCase"'
    again = pd.read_sql(f"SELECT k FROM {qualified}", engine)
    [output] = capture.take_record().outputs
    [read] = capture.of(again).sources
    assert (read.namespace, read.name) == (output.source.namespace, output.source.name)
    assert read.version == output.source.version  # same content, same version
    if postgres:
        assert read.version == fingerprint(frame)
    else:
        assert read.version == sqlite_table_version(engine.url.database, "MixedCase") is not None
    if postgres:
        assert output.source.name.endswith(".Analytics.MixedCase")
    else:
        assert output.source.name == "mixedcase"  # SQLite identifiers ignore case


def test_a_hook_failure_is_reported_and_the_statement_still_runs(
    engine: Engine, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("naming broke")

    monkeypatch.setattr(sqlalchemy_hooks, "statement_of", broken)
    monkeypatch.setattr(safety, "errors", Counter())
    monkeypatch.setenv("NBLINEAGE_STRICT", "0")
    with engine.connect() as conn, pytest.warns(RuntimeWarning, match="naming broke"):
        assert conn.execute(text("SELECT x FROM a ORDER BY id")).scalars().all() == [10, 20]
    assert safety.errors["sqlalchemy execute"] == 1
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    with engine.connect() as conn, pytest.raises(safety.HookError):
        conn.execute(text("SELECT x FROM a"))


def test_an_unparseable_statement_records_nothing_and_raises_nothing(
    engine: Engine, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")  # not a hook error, even when hook errors raise
    errors_before = sum(safety.errors.values())
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE INDEX ix ON a (x)"))
            capture.take_record()
            statement = "SELECT id FROM a INDEXED BY ix"  # valid SQLite, unknown to openlineage-sql
        else:
            statement = "DO $$ BEGIN PERFORM x FROM a; END $$"
        assert tables(statement, "sqlite" if engine.dialect.name == "sqlite" else "postgres") is NOTHING
        conn.execute(text(statement))
    frame = pd.read_sql(statement, engine) if engine.dialect.name == "sqlite" else pd.DataFrame()
    record = capture.take_record()
    assert record.inputs == {} and record.outputs == []
    assert not capture.of(frame)
    assert sum(safety.errors.values()) == errors_before


def test_user_sql_errors_propagate_unchanged(engine: Engine, capture: Capture, instrumented: tuple) -> None:
    def select_missing() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM missing"))

    def failures() -> list[tuple[type[BaseException], str]]:
        seen = []
        for attempt in (
            select_missing,
            lambda: pd.read_sql("SELECT * FROM missing", engine),
            lambda: pd.DataFrame({"k": [1]}).to_sql("a", engine),  # the table exists: pandas refuses
        ):
            with pytest.raises(Exception) as caught:
                attempt()
            seen.append((caught.type, str(caught.value)))
        return seen

    hooked = failures()
    assert capture.take_record() == capture_module.Record()
    for hooks in instrumented:
        hooks.uninstrument()
    assert hooked == failures()
    assert issubclass(hooked[0][0], exc.DBAPIError) and "missing" in hooked[0][1]


def test_uninstrument_removes_the_listeners_and_patches(tmp_path: Path) -> None:
    engines, frames = SqlAlchemyInstrumentor(), PandasSqlInstrumentor()
    for _ in range(2):  # instrumenting again after uninstrument works
        engines.instrument()
        frames.instrument()
        assert event.contains(Engine, "after_cursor_execute", engines._listener)
        assert isinstance(pd.read_sql, wrapt.FunctionWrapper)
        assert isinstance(NDFrame.__dict__["to_sql"], wrapt.FunctionWrapper)
        frames.uninstrument()
        engines.uninstrument()
        assert not event.contains(Engine, "after_cursor_execute", engines._listener)
        assert not isinstance(pd.read_sql, wrapt.FunctionWrapper)
        assert not isinstance(pd.io.sql.read_sql_query, wrapt.FunctionWrapper)
        assert not isinstance(NDFrame.__dict__["to_sql"], wrapt.FunctionWrapper)

    active = Capture()
    capture_module.activate(active)
    try:
        engine = create_engine(f"sqlite:///{tmp_path / 'off.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t AS SELECT 1 AS v"))
            pd.read_sql("SELECT v FROM t", conn).to_sql("u", conn)
        engine.dispose()
    finally:
        capture_module.activate(None)
    assert active.record == capture_module.Record()


def test_nothing_is_recorded_with_capture_off(engine: Engine, capture: Capture) -> None:
    capture_module.activate(None)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE e AS SELECT * FROM a"))
    pd.read_sql("SELECT * FROM a", engine).to_sql("f", engine)
    assert capture.record == capture_module.Record()


def test_nblineage_internal_statements_are_not_user_lineage(tmp_path: Path, capture: Capture) -> None:
    internal = create_engine(f"sqlite:///{tmp_path / 'store.db'}", execution_options={"nblineage_internal": True})
    with internal.begin() as conn:
        conn.execute(text("CREATE TABLE events AS SELECT 1 AS id"))
    internal.dispose()

    user = create_engine(f"sqlite:///{tmp_path / 'user.db'}")
    user.connect().close()  # the first connect (dialect initialisation) happens on this thread

    def run(name: str) -> None:
        with user.begin() as conn:
            conn.execute(text(f"CREATE TABLE {name} AS SELECT 1 AS id"))

    for thread_name in ("nblineage-writer", "user-thread"):
        worker = threading.Thread(target=run, args=(thread_name.replace("-", "_"),), name=thread_name)
        worker.start()
        worker.join()
    user.dispose()
    assert [out.source for out in capture.record.outputs] == [named(user, "user_thread")]


def test_table_names_follow_the_database() -> None:
    found = tables('SELECT * FROM "MyT" JOIN Other USING (id) JOIN pg_catalog.pg_class ON true', "postgres")
    assert found.reads == ((None, "MyT"), (None, "other"))
    found = tables("SELECT * FROM Main.Items JOIN sqlite_master ON 1 JOIN pragma_table_info('t')", "sqlite")
    assert found.reads == (("main", "items"),)
    pyformat = "INSERT INTO s.t SELECT * FROM u WHERE u.a = %(a)s AND u.b LIKE 'x%%' AND u.c = %s"
    assert tables(pyformat, "postgres", "pyformat").writes == (("s", "t"),)
    assert tables(pyformat, "postgres", "pyformat").reads == ((None, "u"),)
    assert tables("-- comment\n DROP TABLE t", "postgres") is NOTHING
    assert tables("SELEC garbage", "generic") is NOTHING
    functions = "SELECT * FROM generate_series(1, 3) AS g JOIN t ON true, LATERAL json_each(t.j)"
    assert tables(functions, "postgres").reads == ((None, "t"),)  # table functions are no datasets


def test_odd_statements_are_cheap_to_look_at() -> None:
    started = time.perf_counter()
    for odd in (" " * 20_000 + ";", "/* c */" * 5_000 + "1", "(" * 20_000):
        assert tables(odd, "postgres") is NOTHING
    assert time.perf_counter() - started < 1.0
