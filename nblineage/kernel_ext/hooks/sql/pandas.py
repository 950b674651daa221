"""pandas SQL: ``read_sql``, ``read_sql_query`` and ``read_sql_table`` tag the frame they return with exactly the
tables the statements run inside the call read; ``DataFrame.to_sql`` records the table written.

Each table read or written gets a ``schema`` facet (its columns as the database declares them), and the columns a
query computes from others (``SUM(o.amount) AS total_spent``, openlineage-sql's column lineage) become column rules
(``columns.learn``), so a model's features are traced through the query to table columns.

The version of what ``read_sql*`` read is the fingerprint of the result (``arrow_version(pyarrow.Table.from_pandas(
df))``), the same for every table a join read; a table of a SQLite file is versioned by its content instead
(``tableversion``), as ``to_sql`` and DB-API reads version it, and a table of another database that this kernel's
``to_sql`` replaced by the version written (a projection or a ``WHERE`` reads part of it). ``read_sql`` of the same
statement text on the same tables again in a cell (a loop of lookups), with no write to those tables recorded
between, is one read (``rowversion.Repeated``): its frames carry one version, the order-independent fingerprint of
all their results, final when the cell ends. ``to_sql`` records one output, the target table, versioned by the
fingerprint of the frame written (of the table's content for a SQLite file once committed; no version for rows
appended to another database's table, or a SQLite write not yet committed), whose inputs are the frame's provenance;
the statements it runs internally record nothing (``current()`` is None inside a hooked call). pandas on a plain
``sqlite3`` connection (no SQLAlchemy, no events) is covered by parsing the query text.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from nblineage.kernel_ext.capture import Capture, current
from nblineage.kernel_ext.columns import learn
from nblineage.kernel_ext.fingerprint import arrow_version
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import schema_facet
from nblineage.kernel_ext.instrument import Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.naming import table_dataset

log = logging.getLogger("nblineage")
# The SQL machinery (engine, parsing, rowversion, tableversion) is imported by the calls that use it: this module is
# loaded with pandas, and most notebooks that import pandas never run SQL through it.


def _sqlite3_url(con: sqlite3.Connection) -> str:
    """A SQLAlchemy-style URL of a DBAPI sqlite3 connection's main database."""
    for _, name, path in con.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return f"sqlite:///{quote(path)}" if path else "sqlite://"
    return "sqlite://"


def _connection_url(con: Any) -> str | None:
    """The URL of what pandas was given: an Engine, a Connection, a URL string or a sqlite3 connection."""
    engine = getattr(con, "engine", None)  # an Engine's .engine is itself
    if engine is not None and hasattr(engine, "url"):
        from nblineage.kernel_ext.hooks.sql.engine import engine_url

        return engine_url(engine)
    if isinstance(con, str) and "://" in con:
        return con  # table_dataset keeps no credentials of it
    if isinstance(con, sqlite3.Connection):
        return _sqlite3_url(con)
    return None  # ADBC and other connections: not covered


def frame_version(obj: Any) -> str | None:
    """The fingerprint of a DataFrame (or Series) as Arrow; None when pyarrow cannot convert it."""
    try:
        import pandas as pd
        import pyarrow as pa

        if isinstance(obj, pd.Series):
            obj = obj.to_frame()
        if not isinstance(obj, pd.DataFrame):
            return None
        if not obj.columns.is_unique:  # a join's "id" twice: Arrow wants unique names
            obj = obj.set_axis([f"{name}#{i}" for i, name in enumerate(obj.columns)], axis=1)
        return arrow_version(pa.Table.from_pandas(obj))
    except Exception as error:  # mixed-type object columns and the like: no version, no hook error
        log.debug("nblineage could not fingerprint a %s", type(obj).__name__, exc_info=error)
        return None


def _collecting(where: str, after: Callable[[Capture, Any, tuple, dict], None]) -> Callable[..., Any]:
    """``intercept``, with the statements the call executes collected for ``after`` (outermost call only)."""
    inner = intercept(where, after)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if current() is None:
            return inner(wrapped, instance, args, kwargs)
        from nblineage.kernel_ext.hooks.sql.engine import collecting

        with collecting():
            return inner(wrapped, instance, args, kwargs)

    return wrapper


def _after_read_sql(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    from nblineage.kernel_ext.hooks.sql import rowversion
    from nblineage.kernel_ext.hooks.sql.engine import collector, record_statement
    from nblineage.kernel_ext.hooks.sql.parsing import statement_of

    executed = list(collector() or ())
    con = argument(args, kwargs, 1, "con", None)
    sql = argument(args, kwargs, 0, "sql", None)
    if not executed and isinstance(con, sqlite3.Connection) and isinstance(sql, str):
        parsed = statement_of(_sqlite3_url(con), sql, "sqlite", "qmark")  # no SQLAlchemy, no events: parse it
        if parsed is not None:
            executed.append(parsed)
    inputs: set[Source] = set()
    for item in executed:
        if item.outputs:
            record_statement(capture, item)
        inputs |= item.inputs
        learn(capture, dict(item.columns))  # total_spent <- amount: the query's own column lineage
    if not inputs:
        return
    version = frame_version(result)  # None for a chunked read (an iterator of frames)
    versions = {source: _table_version(source) for source in inputs}
    sources = frozenset(Source(source.namespace, source.name, versions[source] or version) for source in inputs)
    hashed = frozenset(source for source, known in versions.items() if not known)  # versioned by the frame
    text = sql if isinstance(sql, str) else getattr(sql, "text", None)  # SQLAlchemy's text(): its SQL
    if version and hashed and isinstance(text, str):  # the statement run again in the cell: one read
        sources, stale = rowversion.whole_read(("pandas", text, frozenset(inputs)), capture, hashed, version, sources)
        if stale is not None:  # the cell wrote to its tables since: that read ended, this one starts another
            final = stale.end()
            _resolved(capture, final, stale.since)
    capture.registry.tag(result, capture.exact(sources))
    capture.rows_read(sources)  # what the cell's statement binds holds them (``data = read_sql(...)``; ``b = f(data)``)
    for source in sources:
        capture.record.add_input(source, _table_schema(con, source))
        if source.version and source.version.startswith(rowversion.PENDING):  # the policy sees the table read
            if capture.guard is not None:
                capture.guard.on_read(capture, replace(source, version=None), result)
        else:
            capture.read_input(source, result)


def _resolved(capture: Capture, final: dict[Source, Source], since: int) -> None:
    """Pending versions of a read made final: everywhere now, and again when the cell ends (``dbapi.cut``)."""
    if final:
        from nblineage.kernel_ext.hooks.sql import dbapi, rowversion

        rowversion.resolve(capture, final, since)
        dbapi.settled(final, since)


def _after_to_sql(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    from nblineage.kernel_ext.hooks.sql.parsing import DIALECTS, identifier

    frame = args[0]
    name = argument(args, kwargs, 1, "name", None)
    url = _connection_url(argument(args, kwargs, 2, "con", None))
    if not isinstance(name, str) or url is None:
        return
    schema = argument(args, kwargs, 3, "schema", None)  # keyword-only on DataFrame.to_sql, positional in pandas.io.sql
    dialect = DIALECTS.get(url.partition(":")[0].partition("+")[0], "generic")
    table = identifier(name, True, dialect)  # SQLAlchemy quotes a name that needs it: its case is kept
    dataset = table_dataset(url, table, schema if schema is None else identifier(schema, True, dialect))
    con = argument(args, kwargs, 2, "con", None)
    committed = isinstance(con, (str, sqlite3.Connection)) or getattr(con, "engine", None) is con  # pandas commits
    written = Source(dataset.namespace, dataset.name)
    facets = _table_schema(con, written) if committed else {}
    if_exists = argument(args, kwargs, 4, "if_exists", "fail")
    earlier = _appended_to(written) if if_exists == "append" else None
    version = _written_version(written, frame, committed, if_exists)
    capture.write(replace(written, version=version), frame, facets or schema_facet(frame))
    if earlier is not None and earlier != version:  # the rows were added to that version: the table holds it too
        output = capture.record.outputs[-1]
        output.provenance = output.provenance | capture.exact({earlier})
        capture.record.add_input(earlier)


def _appended_to(table: Source) -> Source | None:
    """The version of a SQLite file's table that rows are being appended to, as this kernel last saw it (a loop of
    ``to_sql(if_exists="append")`` over files: each version holds the one before it)."""
    from nblineage.kernel_ext.hooks.sql.tableversion import last_seen

    version = last_seen(table.namespace, table.name)
    return replace(table, version=version) if version else None


def _written_version(written: Source, frame: Any, committed: bool, if_exists: Any) -> str | None:
    """The version of a table ``to_sql`` wrote: a SQLite file's by its content once committed; another database's
    the frame's when the frame replaced the table (what a read of the whole table fingerprints; remembered for this
    kernel's reads of part of it, ``tableversion.wrote``); None when the table's content is not known here (rows
    appended, a SQLite write not yet committed): reads of its versions find this write through the table's
    unversioned node."""
    from nblineage.kernel_ext.hooks.sql import tableversion

    if tableversion.sqlite_path(written.namespace):
        return _table_version(written) if committed else None
    version = frame_version(frame) if if_exists != "append" else None
    tableversion.wrote(written.namespace, written.name, version)
    return version


def _table_schema(con: Any, source: Source) -> dict[str, Any]:
    """The ``schema`` facet of a table: its columns as the database declares them (a SQLite file's read directly,
    others' reflected through the SQLAlchemy engine pandas was given); {} when they cannot be known."""
    from nblineage.kernel_ext.hooks.sql.tableversion import sqlite_path, sqlite_table_columns

    path = sqlite_path(source.namespace)
    if path:
        columns = sqlite_table_columns(path, source.name)
    else:
        columns = _reflected_columns(getattr(con, "engine", None), source.name)
    return {"schema": {"fields": [{"name": name, "type": kind} for name, kind in columns]}} if columns else {}


def _reflected_columns(engine: Any, name: str) -> list[tuple[str, str]]:
    """A table's columns by SQLAlchemy's reflection (``db.schema.table``, ``db.table``: the last part is the table,
    the one before it the schema); [] when there is no engine or the table cannot be reflected."""
    if engine is None or not hasattr(engine, "dialect"):
        return []
    *qualifier, table = name.split(".")
    try:
        from sqlalchemy import inspect

        reflected = inspect(engine).get_columns(table, schema=qualifier[-1] if qualifier else None)
    except Exception as error:  # no such table, no permission, a dialect without reflection: no schema
        log.debug("nblineage could not reflect the columns of %s", name, exc_info=error)
        return []
    return [(str(column["name"]), str(column["type"])) for column in reflected]


def _table_version(source: Source) -> str | None:
    """A table's version as ``tableversion.table_version`` knows it (a SQLite table's content: the same version
    whoever reads or wrote it, pandas or a DB-API cursor, in any kernel)."""
    from nblineage.kernel_ext.hooks.sql.tableversion import table_version

    return table_version(source.namespace, source.name)


class PandasSqlInstrumentor(Instrumentor):
    """``pandas.read_sql*`` tag their result with the tables read; ``to_sql`` records the table written."""

    modules = ("pandas",)

    def patches(self, module: Any) -> Iterable[Patch]:
        import pandas.io.sql as pandas_sql
        from pandas.core.generic import NDFrame

        read = _collecting("pandas.read_sql", _after_read_sql)
        for function in ("read_sql", "read_sql_query", "read_sql_table"):
            yield module, function, read  # and pandas.io.sql's, its home
        write = intercept("pandas.to_sql", _after_to_sql)
        yield pandas_sql, "to_sql", write
        yield NDFrame, "to_sql", write

    def cell_ended(self, capture: Capture) -> None:
        """The reads of statements run again in the cell end (``dbapi.cut``: the DB-API hooks' end of a cell)."""
        from nblineage.kernel_ext.hooks.sql import dbapi

        dbapi.cut(capture)
