"""SQL lineage: every statement run through a SQLAlchemy engine, and pandas ``read_sql*`` / ``to_sql``.

Statements are seen through SQLAlchemy's own event API (``after_cursor_execute`` on the ``Engine`` class, so every
engine is covered, including engines and connections created before ``instrument()``); only statements that
succeeded are seen. openlineage-sql finds the tables each statement reads and writes:

- a statement that only reads (``SELECT``): its tables are inputs of the cell run, version None (a cursor holds no
  data we could fingerprint);
- a statement that writes (``INSERT ... SELECT``, ``CREATE TABLE AS``, ``UPDATE ... FROM``, ``MERGE``...): an output
  per written table whose provenance is exactly the tables the statement read (precision exact, version None);
  ``DROP`` statements record nothing.

``pandas.read_sql``, ``read_sql_query`` and ``read_sql_table`` tag the DataFrame they return with exactly the tables
the statements run inside the call read. Their version is the fingerprint of the result
(``arrow_version(pyarrow.Table.from_pandas(df))``): the version of what was read, the same for every table a join
read. ``DataFrame.to_sql`` records one output, the target table, versioned by the fingerprint of the frame written,
whose inputs are the frame's provenance; the statements it runs internally record nothing (``current()`` is None
inside a hooked call). pandas on a plain ``sqlite3`` connection (no SQLAlchemy, no events) is covered by parsing
the query text.

Names follow ``naming.table_dataset``, so credentials of the engine URL never appear. No SQL text is stored.
A statement openlineage-sql cannot parse yields no lineage; that is not a hook error.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sqlite3
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nblineage.kernel_ext.capture import Capture, current
from nblineage.kernel_ext.fingerprint import arrow_version
from nblineage.kernel_ext.instrument import Instrumentor, intercept
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import report
from nblineage.lineage.naming import table_dataset

log = logging.getLogger("nblineage")

# SQLAlchemy dialect name -> openlineage-sql dialect name.
DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql"}
PARSE_CACHE_SIZE = 1024
MAX_CACHED_SQL = 64 * 1024  # longer statements (bulk VALUES lists) are parsed but not kept in the cache
# Execution options that mark nblineage's own engines (the lineage store): their statements are no user lineage.
INTERNAL_OPTION = "nblineage_internal"
STORE_WRITE_OPTION = "nblineage_write"  # set by the store on its write transactions
INTERNAL_THREAD_PREFIX = "nblineage"

_SYSTEM_SCHEMAS = {
    "postgres": frozenset({"pg_catalog", "information_schema", "pg_toast"}),
    "mysql": frozenset({"information_schema", "mysql", "performance_schema", "sys"}),
    "sqlite": frozenset(),
    "generic": frozenset({"information_schema"}),
}
# format/pyformat placeholders (psycopg, pymysql) that openlineage-sql does not parse; "%%" is an escaped "%".
_PLACEHOLDER_RE = re.compile(r"%%|%\(\w+\)s|%s")
# Whitespace, comments and parentheses before the first keyword; each alternative starts with its own character and
# a block comment ends at its first "*/", so matching is linear (no catastrophic backtracking).
_LEADING_KEYWORD_RE = re.compile(r"(?:\s|--[^\n]*(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*\*/|\()*([A-Za-z]+)")

_local = threading.local()
_urls: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_mlflow_engines: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_parse: Callable[..., Any] | None = None

Table = tuple[str | None, str]  # (schema, table), identifiers as the database resolves them


@dataclass(frozen=True)
class Tables:
    """The tables one statement reads and writes."""

    reads: tuple[Table, ...] = ()
    writes: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Statement:
    """One executed statement's datasets (versions None)."""

    inputs: frozenset[Source]
    outputs: tuple[Source, ...]


NOTHING = Tables()


# --- parsing -----------------------------------------------------------------------------------------------------


def _placeholder(match: re.Match[str]) -> str:
    return "%" if match.group() == "%%" else "$1"


def _identifier(name: str, quoted: bool, dialect: str) -> str:
    """An identifier as the database resolves it: PostgreSQL folds unquoted names, SQLite ignores case."""
    if dialect == "sqlite" or (dialect == "postgres" and not quoted):
        return name.lower()
    return name


def _system(schema: str | None, name: str, dialect: str) -> bool:
    """A catalog table (reflection, ``has_table`` checks): no user dataset."""
    if schema is not None and schema.lower() in _SYSTEM_SCHEMAS[dialect]:
        return True
    lowered = name.lower()
    if dialect == "sqlite":
        return lowered.startswith(("sqlite_", "pragma_"))
    return dialect == "postgres" and schema is None and lowered.startswith("pg_")


def _table_function(sql: str, meta: Any) -> bool:
    """``FROM generate_series(1, 3)``, ``JOIN json_each(...)``: openlineage-sql lists a table function as a table."""
    if meta.schema is not None or meta.database is not None:
        return False
    pattern = rf"(?:\bfrom|\bjoin|\blateral|,)\s+{re.escape(meta.name)}\s*\("
    return re.search(pattern, sql, re.IGNORECASE) is not None


def _tables_of(metas: Iterable[Any], dialect: str, sql: str | None = None) -> tuple[Table, ...]:
    found: dict[Table, None] = {}
    for meta in metas:
        if sql is not None and _table_function(sql, meta):
            continue
        style = meta.quote_style
        schema = meta.schema
        if schema is not None:
            schema = _identifier(schema, bool(style and style.schema), dialect)
        name = _identifier(meta.name, bool(style and style.name), dialect)
        if name and not _system(schema, name, dialect):
            found[(schema, name)] = None
    return tuple(found)


def _parse_sql(sql: str, dialect: str, paramstyle: str) -> Tables:
    """The tables ``sql`` reads and writes; NOTHING when openlineage-sql cannot parse it."""
    global _parse
    match = _LEADING_KEYWORD_RE.match(sql)
    if match is None or match.group(1).upper() == "DROP":
        return NOTHING
    if paramstyle in ("format", "pyformat") and "%" in sql:
        sql = _PLACEHOLDER_RE.sub(_placeholder, sql)
    if _parse is None:
        from openlineage_sql import parse

        _parse = parse
    try:
        meta = _parse([sql], dialect=dialect)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a Rust panic surfaces as a BaseException; unparseable SQL is no hook error
        return NOTHING
    reads, writes = _tables_of(meta.in_tables, dialect, sql), _tables_of(meta.out_tables, dialect)
    return Tables(reads, writes) if reads or writes else NOTHING


def tables(sql: str, dialect: str, paramstyle: str = "named") -> Tables:
    """The tables ``sql`` reads and writes (not cached; the hooks use :func:`statement_of`)."""
    return _parse_sql(sql, dialect, paramstyle)


def _statement(url: str, sql: str, dialect: str, paramstyle: str) -> Statement | None:
    found = _parse_sql(sql, dialect, paramstyle)
    if found is NOTHING:
        return None
    named = [table_dataset(url, name, schema) for schema, name in (*found.reads, *found.writes)]
    sources = [Source(dataset.namespace, dataset.name) for dataset in named]
    return Statement(frozenset(sources[: len(found.reads)]), tuple(sources[len(found.reads) :]))


_statement_cached = functools.lru_cache(maxsize=PARSE_CACHE_SIZE)(_statement)


def statement_of(url: str, sql: str, dialect: str, paramstyle: str) -> Statement | None:
    """The named datasets ``sql`` reads and writes on the database at ``url``; None when it has none.

    Cached by (URL, SQL text), so a statement run again costs a dictionary lookup.
    """
    if len(sql) > MAX_CACHED_SQL:
        return _statement(url, sql, dialect, paramstyle)
    return _statement_cached(url, sql, dialect, paramstyle)


def record_statement(capture: Capture, executed: Statement) -> None:
    """Reads become inputs of the run; each written table becomes an output derived from the tables read."""
    if not executed.outputs:
        for source in executed.inputs:
            capture.record.add_input(source)
        return
    for target in executed.outputs:
        provenance = capture.exact(executed.inputs - {target})  # INSERT INTO t SELECT ... FROM t is no new edge
        if any(out.source == target and out.provenance == provenance for out in capture.record.outputs):
            continue  # the same write again (a loop of INSERTs, executemany batches)
        capture.write(target, None, provenance=provenance)


# --- SQLAlchemy events ----------------------------------------------------------------------------------------------


def _engine_url(engine: Any) -> str:
    """The engine's URL, password hidden (``naming`` strips the rest); cached per engine."""
    try:
        return _urls[engine]
    except (KeyError, TypeError):
        pass
    url = str(engine.url)  # SQLAlchemy renders the password as ***
    with contextlib.suppress(TypeError):  # an engine that takes no weak reference is not cached
        _urls[engine] = url
    return url


def _mlflow_store(engine: Any) -> bool:
    """True for the engine of MLflow's own tracking or registry database: its bookkeeping is no lineage."""
    try:
        return _mlflow_engines[engine]
    except (KeyError, TypeError):
        pass
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return False
    try:
        found = _database(engine.url) in {_database(mlflow.get_tracking_uri()), _database(mlflow.get_registry_uri())}
    except Exception:
        found = False
    with contextlib.suppress(TypeError):
        _mlflow_engines[engine] = found
    return found


def _database(url: Any) -> tuple[Any, ...] | None:
    """What identifies a database in a SQLAlchemy URL (driver family, host, port, database; a SQLite file's path)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(str(url))
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        database = os.path.abspath(database)
    return (parsed.get_backend_name(), parsed.host, parsed.port, database)


def _collector() -> list[Statement] | None:
    """The statements list of the pandas call under way on this thread, if any."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


def _internal(context: Any) -> bool:
    """A statement of nblineage itself: its store's engine (marked by an execution option) or its own threads."""
    options = context.execution_options if context is not None else None
    if options and (options.get(INTERNAL_OPTION) or options.get(STORE_WRITE_OPTION)):
        return True
    return threading.current_thread().name.startswith(INTERNAL_THREAD_PREFIX)


class SqlAlchemyInstrumentor(Instrumentor):
    """Lineage of every statement executed through a SQLAlchemy engine, from engine events (no patches)."""

    library = "sqlalchemy"
    min_version = "1.4"

    def __init__(self) -> None:
        super().__init__()
        self._listening = False
        self._listener = self._after_cursor_execute  # one bound method object, so that event.remove finds it

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        return ()

    def instrument(self) -> None:
        super().instrument()
        module = sys.modules.get(self.library)
        if module is not None:  # instrumented again after uninstrument: the import hook does not fire twice
            self._on_import(module)

    def uninstrument(self) -> None:
        super().uninstrument()
        if self._listening:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine

            event.remove(Engine, "after_cursor_execute", self._listener)
            self._listening = False

    def _on_import(self, module: Any) -> None:
        if not self.enabled or self._listening or not self._supported():
            return
        try:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine

            event.listen(Engine, "after_cursor_execute", self._listener)
            self._listening = True
        except Exception as error:
            report("sqlalchemy instrumentation", error)

    def _after_cursor_execute(
        self, conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        capture = current()
        collector = _collector()
        if capture is None and collector is None:
            return
        try:
            if not isinstance(sql, str) or _internal(context):
                return
            if _mlflow_store(conn.engine):
                return
            dialect = conn.dialect
            executed = statement_of(
                _engine_url(conn.engine), sql, DIALECTS.get(dialect.name, "generic"), dialect.paramstyle
            )
            if executed is None:
                return
            if collector is not None:
                collector.append(executed)
            if capture is not None:
                record_statement(capture, executed)
        except Exception as error:
            report("sqlalchemy execute", error)


# --- pandas -------------------------------------------------------------------------------------------------------


def _arg(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


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
        return _engine_url(engine)
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
        stack = _local.__dict__.setdefault("stack", [])
        stack.append([])
        try:
            return inner(wrapped, instance, args, kwargs)
        finally:
            stack.pop()

    return wrapper


def _after_read_sql(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    executed = list(_collector() or ())
    con = _arg(args, kwargs, 1, "con")
    sql = _arg(args, kwargs, 0, "sql")
    if not executed and isinstance(con, sqlite3.Connection) and isinstance(sql, str):
        parsed = statement_of(_sqlite3_url(con), sql, "sqlite", "qmark")  # no SQLAlchemy, no events: parse it
        if parsed is not None:
            executed.append(parsed)
    inputs: set[Source] = set()
    for item in executed:
        if item.outputs:
            record_statement(capture, item)
        inputs |= item.inputs
    if not inputs:
        return
    version = frame_version(result)  # None for a chunked read (an iterator of frames)
    sources = frozenset(Source(source.namespace, source.name, version) for source in inputs)
    for source in sources:
        capture.record.add_input(source)
    capture.registry.tag(result, capture.exact(sources))


def _after_to_sql(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    frame = args[0]
    name = _arg(args, kwargs, 1, "name")
    url = _connection_url(_arg(args, kwargs, 2, "con"))
    if not isinstance(name, str) or url is None:
        return
    schema = _arg(args, kwargs, 3, "schema")  # keyword-only on DataFrame.to_sql, positional in pandas.io.sql
    dialect = DIALECTS.get(url.partition(":")[0].partition("+")[0], "generic")
    table = _identifier(name, True, dialect)  # SQLAlchemy quotes a name that needs it: its case is kept
    dataset = table_dataset(url, table, schema if schema is None else _identifier(schema, True, dialect))
    capture.write(Source(dataset.namespace, dataset.name, frame_version(frame)), frame)


class PandasSqlInstrumentor(Instrumentor):
    """``pandas.read_sql*`` tag their result with the tables read; ``to_sql`` records the table written."""

    library = "pandas"

    def instrument(self) -> None:
        super().instrument()
        module = sys.modules.get(self.library)
        if module is not None and not self._applied:  # instrumented again after uninstrument
            self._on_import(module)

    def patches(self, module: Any) -> Iterable[tuple[Any, str, Callable[..., Any]]]:
        import pandas.io.sql as pandas_sql
        from pandas.core.generic import NDFrame

        read = _collecting("pandas.read_sql", _after_read_sql)
        for owner in (module, pandas_sql):
            for function in ("read_sql", "read_sql_query", "read_sql_table"):
                yield owner, function, read
        write = intercept("pandas.to_sql", _after_to_sql)
        yield pandas_sql, "to_sql", write
        yield NDFrame, "to_sql", write
