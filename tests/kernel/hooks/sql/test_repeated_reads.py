"""A statement run again and again in one cell (a loop of point lookups, ``read_sql`` in a loop) is one read: its
tables get one version, the order-independent fingerprint of all the rows its runs fetched, and a model trained on
those rows derives from that version. On SQLite (in memory: no table version applies) and the test PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import psycopg
import pytest
from postgres_db import postgres_database
from sklearn.linear_model import LogisticRegression
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.models import JoblibInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.hooks.sql import rowversion
from nblineage.kernel_ext.hooks.sql.dbapi import PsycopgInstrumentor, SqliteInstrumentor
from nblineage.kernel_ext.hooks.sql.engine import SqlAlchemyInstrumentor
from nblineage.kernel_ext.hooks.sql.pandas import PandasSqlInstrumentor
from nblineage.kernel_ext.hooks.sql.rowversion import PENDING
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (
    PandasInstrumentor,
    PandasSqlInstrumentor,
    SqlAlchemyInstrumentor,
    SqliteInstrumentor,
    PsycopgInstrumentor,
    SklearnInstrumentor,
    JoblibInstrumentor,
)
LOOKUPS = 3000
ROWS = [(i, i * 0.5, i % 2) for i in range(LOOKUPS)]


def end_cell(capture: Capture, names: dict[str, Any]) -> None:
    """The cell ends with ``names`` in its namespace, as the session ends one (each instrumentor's end)."""
    capture.user_ns = names
    SqliteInstrumentor().cell_ended(capture)
    PandasSqlInstrumentor().cell_ended(capture)
    assert PENDING not in repr(capture.record) and not getattr(rowversion, "repeats", None)  # all ended


def versions(capture: Capture, obj: Any = None) -> set[str | None]:
    sources = capture.of(obj).sources if obj is not None else capture.record.inputs
    return {source.version for source in sources}


def trained_and_saved(capture: Capture, rows: list[Any], path: Path) -> frozenset[Source]:
    """A model fit on the rows fetched and saved in the same cell: the inputs of the save."""
    frame = pd.DataFrame(rows, columns=["x", "y"])
    model = LogisticRegression().fit(frame[["x"]], frame["y"])
    joblib.dump(model, path)
    return capture.record.outputs[-1].provenance.sources  # still pending: the cell is not over


def saved_inputs(capture: Capture) -> frozenset[Source]:
    return next(out for out in capture.record.outputs if out.source.name.endswith(".joblib")).provenance.sources


def one_version(capture: Capture, table: Source) -> str:
    """The one version of ``table`` the cell read (asserted one)."""
    read = [
        source for source in capture.record.inputs if (source.namespace, source.name) == (table.namespace, table.name)
    ]
    assert len(read) == 1 and read[0].version, capture.record.inputs
    return read[0].version


# --- sqlite3 ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def memory(capture: Capture) -> sqlite3.Connection:
    """An in-memory database with t(id, x, y): no table version applies, reads are versioned by their rows."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL, y INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    conn.commit()
    capture.take_record()
    return conn


def lookups(cursor: Any, ids: range | list[int], query: str = "SELECT x, y FROM t WHERE id = ?") -> list[Any]:
    """Each id looked up by a statement of its own on ``cursor`` (or a connection's ``execute``)."""
    rows = []
    for ident in ids:
        ran = cursor.execute(query, (ident,))
        rows.append(ran.fetchone())
    return rows


def test_a_loop_of_point_lookups_is_one_read_and_the_model_derives_from_it(
    capture: Capture, memory: sqlite3.Connection, tmp_path: Path
) -> None:
    table = Source("sqlite://:memory:", "t")
    rows = lookups(memory.cursor(), range(LOOKUPS))
    trained_and_saved(capture, rows, tmp_path / "model.joblib")
    end_cell(capture, {"rows": rows})
    version = one_version(capture, table)
    assert saved_inputs(capture) == {Source(table.namespace, table.name, version)}
    assert versions(capture, rows) == {version}

    capture.take_record()  # the same lookups in another order, on a cursor of their own each: the same version
    shuffled = [LOOKUPS - 1 - i for i in range(LOOKUPS)]
    again = lookups(memory, shuffled)
    end_cell(capture, {"again": again})
    assert one_version(capture, table) == version

    capture.take_record()  # one lookup: the version a single read gives, whatever ran before
    single = memory.execute("SELECT x, y FROM t WHERE id = ?", (7,)).fetchall()
    end_cell(capture, {"single": single})
    alone = one_version(capture, table)
    capture.take_record()
    twice = lookups(memory.cursor(), [7, 7])
    end_cell(capture, {"twice": twice})
    assert one_version(capture, table) == alone != version  # the same rows again add nothing

    capture.take_record()  # changed rows: another version
    memory.execute("UPDATE t SET x = -1 WHERE id = 10")
    memory.commit()
    capture.take_record()
    changed = lookups(memory.cursor(), range(LOOKUPS))
    end_cell(capture, {"changed": changed})
    assert one_version(capture, table) not in (version, None)


def test_a_write_between_runs_ends_the_read(capture: Capture, memory: sqlite3.Connection) -> None:
    cur = memory.cursor()
    before = lookups(cur, range(5))
    cur.execute("UPDATE t SET x = x + 1 WHERE id = 2")  # the cell writes to the table it reads
    after = lookups(cur, range(5))
    other = lookups(cur, range(5, 10), "SELECT x, y FROM t WHERE id = ? AND y >= 0")  # another statement: its own
    end_cell(capture, {"before": before, "after": after, "other": other})
    read = {source.version for source in capture.record.inputs if source.name == "t"}
    assert len(read) == 3 and None not in read
    assert versions(capture, before) != versions(capture, after) != versions(capture, other)


def test_read_sql_in_a_loop_is_one_read(capture: Capture, memory: sqlite3.Connection, tmp_path: Path) -> None:
    table = Source("sqlite://:memory:", "t")
    frames = [pd.read_sql("SELECT x, y FROM t WHERE id = ?", memory, params=(i,)) for i in range(300)]
    rows = pd.concat(frames)
    trained_and_saved(capture, rows.values.tolist(), tmp_path / "model.joblib")
    model = LogisticRegression().fit(rows[["x"]], rows["y"])
    joblib.dump(model, tmp_path / "frames.joblib")
    end_cell(capture, {"rows": rows, "model": model})
    version = one_version(capture, table)
    assert saved_inputs(capture) <= {Source(table.namespace, table.name, version)}
    assert versions(capture, rows) == versions(capture, model) == {version}
    capture.take_record()
    backwards = [pd.read_sql("SELECT x, y FROM t WHERE id = ?", memory, params=(i,)) for i in reversed(range(300))]
    end_cell(capture, {"backwards": backwards})
    assert one_version(capture, table) == version


# --- PostgreSQL ------------------------------------------------------------------------------------------------------


@pytest.fixture
def pg(capture: Capture) -> Iterator[tuple[str, dict[str, Any]]]:
    """A fresh database with t(id, x, y): its SQLAlchemy URL and psycopg's connect arguments."""
    with postgres_database() as url:
        parsed = make_url(url)
        kwargs = {"host": parsed.host, "port": parsed.port, "dbname": parsed.database, "user": parsed.username}
        with psycopg.connect(**kwargs, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x DOUBLE PRECISION, y INTEGER)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", ROWS)
        capture.take_record()
        yield url, kwargs


def pg_lookups(conn: psycopg.Connection, ids: list[int], how: str) -> list[Any]:
    query = "SELECT x, y FROM t WHERE id = %s"
    if how == "cursor":
        with conn.cursor() as cur:
            return lookups(cur, ids, query)
    return [conn.execute(query, (ident,)).fetchone() for ident in ids]  # a cursor per statement


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["cursor", "connection"])
def test_point_lookups_on_postgres_are_one_read(
    capture: Capture, pg: tuple[str, dict[str, Any]], tmp_path: Path, how: str
) -> None:
    _, kwargs = pg
    table = Source(f"postgres://{kwargs['host']}:{kwargs['port']}", f"{kwargs['dbname']}.public.t")
    ids = list(range(0, LOOKUPS, 3))
    with psycopg.connect(**kwargs) as conn:
        rows = pg_lookups(conn, ids, how)
        trained_and_saved(capture, rows, tmp_path / "model.joblib")
        end_cell(capture, {"rows": rows})
        version = one_version(capture, table)
        assert saved_inputs(capture) == {Source(table.namespace, table.name, version)}
        capture.take_record()
        again = pg_lookups(conn, ids[::-1], how)
        end_cell(capture, {"again": again})
        assert one_version(capture, table) == version


@pytest.mark.postgres
def test_read_sql_in_a_loop_on_postgres_is_one_read(capture: Capture, pg: tuple[str, dict[str, Any]]) -> None:
    url, kwargs = pg
    table = Source(f"postgres://{kwargs['host']}:{kwargs['port']}", f"{kwargs['dbname']}.public.t")
    engine = create_engine(url)
    query: Callable[[], Any] = lambda: text("SELECT x, y FROM t WHERE id = :id")  # noqa: E731
    try:
        frames = [pd.read_sql(query(), engine, params={"id": i}) for i in range(100)]
        rows = pd.concat(frames)
        end_cell(capture, {"rows": rows})
        version = one_version(capture, table)
        assert versions(capture, rows) == {version}
        capture.take_record()
        frames = [pd.read_sql(query(), engine, params={"id": i}) for i in range(101)]
        end_cell(capture, {"frames": frames})
        assert one_version(capture, table) != version  # one row more
    finally:
        engine.dispose()
