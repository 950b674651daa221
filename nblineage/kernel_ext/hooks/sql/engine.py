"""SQL lineage of every statement run through a SQLAlchemy engine, seen through SQLAlchemy's own event API.

``after_cursor_execute`` is listened to on the ``Engine`` class, so every engine is covered, including engines and
connections created before ``instrument()``; only statements that succeeded are seen. What each statement reads
and writes is ``parsing.statement_of``'s: reads become inputs of the cell run, in the version ``tableversion`` knows
(a SQLite table by its content, another database's by what this kernel wrote to it whole; else none), writes outputs
derived exactly from the tables read (from nothing: a ``CREATE TABLE`` that reads no table and is given no data).
The statements of nblineage's own store and of MLflow's tracking database are no user lineage. While a pandas SQL
call is under way its statements are collected for it (``sql/pandas.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

from nblineage.kernel_ext.capture import Capture, current
from nblineage.kernel_ext.hooks.sql.dbapi import parameters_provenance
from nblineage.kernel_ext.hooks.sql.parsing import DIALECTS, Statement, statement_of
from nblineage.kernel_ext.hooks.sql.tableversion import versioned, wrote
from nblineage.kernel_ext.instrument import Instrumentor, Listener
from nblineage.kernel_ext.provenance import EMPTY, NO_SOURCES
from nblineage.kernel_ext.safety import report

# Execution options that mark nblineage's own engines (the lineage store): their statements are no user lineage.
INTERNAL_OPTION = "nblineage_internal"
STORE_WRITE_OPTION = "nblineage_write"  # set by the store on its write transactions
INTERNAL_THREAD_PREFIX = "nblineage"
EVENT = "after_cursor_execute"

_local = threading.local()
_urls: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_mlflow_engines: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def record_statement(capture: Capture, executed: Statement, parameters: Any = None) -> None:
    """Reads become inputs of the run; each written table becomes an output derived from the tables read and from
    what the statement's ``parameters`` came from (``dbapi.parameters_provenance``: rows of a frame read from a
    CSV); from nothing when the statement creates it, reads no table and is given no parameter (``CREATE TABLE t
    (x INTEGER)``)."""
    inputs = versioned(executed.inputs)
    if not executed.outputs:
        for source in inputs:
            capture.read_input(source)
        return
    made_of_nothing = executed.creates and not inputs and not parameters
    passed = parameters_provenance(capture, executed, parameters) if parameters else EMPTY
    for target in executed.outputs:
        wrote(target.namespace, target.name, None)  # its content is no longer what a whole write made it
        # INSERT INTO t SELECT ... FROM t is no new edge
        provenance = NO_SOURCES if made_of_nothing else (capture.exact(inputs) | passed)
        provenance = provenance.without(target.namespace, target.name)
        if any(out.source == target and out.provenance == provenance for out in capture.record.outputs):
            continue  # the same write again (a loop of INSERTs, executemany batches)
        capture.write(target, None, provenance=provenance)


def engine_url(engine: Any) -> str:
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


@contextlib.contextmanager
def collecting() -> Iterator[None]:
    """Collect the statements this thread executes meanwhile (for the pandas SQL call under way)."""
    stack = _local.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        yield
    finally:
        stack.pop()


def collector() -> list[Statement] | None:
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

    modules = ("sqlalchemy",)
    requires = ("sqlalchemy>=1.4",)

    def __init__(self) -> None:
        super().__init__()
        self._listener = self._after_cursor_execute  # one bound method object, so that event.remove finds it

    def listeners(self, module: Any) -> Iterable[Listener]:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        yield (
            lambda: event.listen(Engine, EVENT, self._listener),
            lambda: event.remove(Engine, EVENT, self._listener),
        )

    def _after_cursor_execute(
        self, conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        capture = current()
        collected = collector()
        if capture is None and collected is None:
            return
        try:
            if not isinstance(sql, str) or _internal(context):
                return
            if _mlflow_store(conn.engine):
                return
            dialect = conn.dialect
            executed = statement_of(
                engine_url(conn.engine), sql, DIALECTS.get(dialect.name, "generic"), dialect.paramstyle
            )
            if executed is None:
                return
            if collected is not None:
                collected.append(executed)
            if capture is not None:
                record_statement(capture, executed, parameters)
        except Exception as error:
            report("sqlalchemy execute", error)
