"""DB-API drivers used directly (no pandas, no SQLAlchemy): ``sqlite3``, ``psycopg`` (3), ``psycopg2`` and ``pymysql``.

What a statement reads and writes is ``parsing.statement_of``'s, on the connection's database named as OpenLineage
does (``sqlite://{path}``, ``postgres://host:port`` + ``db.schema.table``, ``mysql://host:port`` + ``db.table``;
never a user name or password). A statement that reads makes its tables inputs of the cell run, and the rows then
fetched from that cursor (``fetchone``/``fetchmany``/``fetchall``, iteration) carry exactly those tables as their
provenance, versioned by the rows fetched (``rowversion``: hashed as they come, final when the cursor is exhausted
or closed, runs its next statement, or the cell ends), or a SQLite file's table by its content, a table this
kernel's ``to_sql`` replaced by the version written (``tableversion``).
A statement run again and again in a cell (a loop of point lookups) is one read, versioned by all the rows its runs
fetched (``rowversion.Repeated``): its runs' rows carry one version, final when the cell ends or writes to its
tables.
A statement that writes (``INSERT``, ``CREATE TABLE AS``, ``UPDATE``...) is an output per table written, deriving
from the tables it read and from the provenance of the parameters passed (rows from a frame read from a CSV: the
table derives from the CSV); parameters no hook tagged get the reads of the statement running
(``fallback.at_write``). A repeated write (a loop of ``INSERT``) is recorded once (other versions of the same
inputs join its output).

Fetched rows are lists and tuples, which take no weak reference: the registry knows them by a binding. Until the
cell ends a result is bound here (the latest :data:`HELD`, let go earlier once nothing else refers to them), so that
a frame or array built from it in the same cell inherits its provenance; rows fetched one by one cost a dictionary
lookup each, only the first of a statement is held. At the end of the cell the user's names that hold a result (or
a list whose first or last item is a fetched row: ``rows = list(cur)``, a loop of ``append``) are bound instead,
exactly, names a ``for`` loop over rows fills get the rows' tables at cell precision (``rowloops``; also as soon
as a loop over a cursor ends, so that a model fit on them in the same cell has them), and the results are let go.

``sqlite3``'s and ``psycopg2``'s classes are C types that cannot be patched: their ``connect`` called by the user's
code returns a transparent proxy (``isinstance(conn, sqlite3.Connection)`` holds, pandas takes it) whose cursors are
proxies too;
connections that installed libraries or the standard library open stay plain. psycopg's and pymysql's cursor
classes are patched. Calls made by SQLAlchemy and pandas (whose hooks record them; a pandas SQL call under way
collects the statement instead), by nblineage or by the driver itself record nothing here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import wrapt

from nblineage.kernel_ext.capture import Capture, capturing, current
from nblineage.kernel_ext.instrument import Instrumentor, Patch
from nblineage.kernel_ext.provenance import EMPTY, NO_SOURCES, Provenance, Source
from nblineage.kernel_ext.safety import report

if TYPE_CHECKING:
    from nblineage.kernel_ext.hooks.sql.parsing import Statement
    from nblineage.kernel_ext.hooks.sql.rowversion import Repeated, Result

_ROWVERSION = "nblineage.kernel_ext.hooks.sql.rowversion"
_ENGINE = "nblineage.kernel_ext.hooks.sql.engine"


def _load() -> None:
    """Import what recording a statement needs (parsing it, versioning its rows and tables), at the first statement
    the user's code runs: IPython imports sqlite3 at start, so ``%load_ext`` patches ``sqlite3.connect`` and pays
    for nothing more. The names are this module's from then on."""
    global CHUNK, Result, rowloops, rowversion, statement_of, table_version, versioned, wrote
    if _loaded:
        return
    from nblineage.kernel_ext.hooks.sql import parsing, tableversion
    from nblineage.kernel_ext.hooks.sql import rowloops as loops
    from nblineage.kernel_ext.hooks.sql import rowversion as versions

    rowloops, rowversion, CHUNK, Result = loops, versions, versions.CHUNK, versions.Result
    statement_of = parsing.statement_of
    table_version, versioned, wrote = tableversion.table_version, tableversion.versioned, tableversion.wrote
    _loaded.append(True)


_loaded: list[bool] = []  # whatever ``_load`` imports is bound here

HELD = 64  # fetched results kept alive (and bound) until the cell ends, most recent first
# Callers whose DB-API calls are recorded elsewhere (their own hooks) or are no user lineage.
_LIBRARIES = ("sqlalchemy", "pandas", "nblineage")
# Frames between the user's call and the driver's: psycopg2's ``extras`` helpers (``execute_values``, ``execute_batch``)
# run the user's statements through the cursor they are given
_SKIPPED_FRAMES = ("wrapt", __name__, "psycopg2.extras")

Database = tuple[str, str, str]  # (SQLAlchemy-style URL without credentials, openlineage-sql dialect, paramstyle)


# --- what the cursors remember and the rows hold -------------------------------------------------------------------


class _Held:
    """Fetched results bound here until the cell ends (registry bindings), the latest :data:`HELD` of them; and the
    last row iterated from each cursor (kept, not tagged)."""

    def __init__(self) -> None:
        self.space: dict[str, Any] = {}  # key -> the result; the registry's binding namespace (never replaced)
        self.sources: dict[str, Result] = {}  # key -> the statement run it was fetched from
        self.first: dict[int, Result] = {}  # id(cursor) -> the statement whose first row fetched one by one was seen
        self.latest: dict[int, tuple[Any, Result]] = {}  # id(cursor) -> the last row iterated, and its statement
        self._next = 0
        self._lock = threading.Lock()

    def hold(self, capture: Capture, result: Any, read: Result) -> None:
        with self._lock:
            self._sweep()
            key = str(self._next)
            self._next += 1
            self.space[key] = result
            self.sources[key] = read
            while len(self.space) > HELD:
                self._drop(next(iter(self.space)))
        read.handed = read.handed or not read.done
        capture.registry.tag(result, capture.exact(read.sources), binding=(self.space, key))

    def _drop(self, key: str) -> None:
        self.space.pop(key, None)
        self.sources.pop(key, None)

    def _sweep(self) -> None:
        """Let go of the results nothing but this refers to any more (a frame was built from them, then dropped)."""
        for key in list(self.space):
            if sys.getrefcount(self.space[key]) <= 2:  # this dict's reference and the argument's
                self._drop(key)

    def by_id(self) -> dict[int, frozenset[Source]]:
        """The tables of each result and last row kept, by ``id``."""
        found = {id(result): self.sources[key].sources for key, result in self.space.items()}
        found.update((id(row), read.sources) for row, read in self.latest.values())
        return found

    def release(self, capture: Capture | None, user_ns: dict[str, Any] | None) -> None:
        """Bind the user's names that hold a result (or a list starting or ending with a fetched row) to it, exactly;
        then let every result go."""
        with self._lock:
            by_id = self.by_id()
            if capture is not None and user_ns is not None and by_id:
                for name, value in list(user_ns.items()):
                    found = by_id.get(id(value))
                    if found is None and type(value) is list and value:
                        found = by_id.get(id(value[0])) or by_id.get(id(value[-1]))
                    if found is not None and not name.startswith("_"):
                        capture.registry.tag(value, capture.exact(found), binding=(user_ns, name))
                if capture.cell_source:
                    _filled_in_loops(capture, capture.cell_source, user_ns, by_id)
            self.space.clear()  # the registry's bindings to it now hold nothing: swept after the next cell
            self.sources.clear()
            self.latest.clear()
            self.first.clear()


def _filled_in_loops(
    capture: Capture, source: str, user_ns: dict[str, Any], by_id: dict[int, frozenset[Source]]
) -> None:
    """Names a ``for`` loop over fetched rows (a cursor, a result, or a target holding the last row) filled in its
    body get the rows' tables, at cell precision (the code says so, no hook saw it)."""
    for header, filled in rowloops.loop_fills(source):
        found: set[Source] = set()
        for name in header:
            value = user_ns.get(name)
            sources = by_id.get(id(value))
            if sources is None and value is not None:
                read = _read_of(value)
                if read is not None:
                    read.handed = read.handed or not read.done
                sources = read.sources if read is not None else None
            found |= sources or frozenset()
        if not found:
            continue
        provenance = Provenance(frozenset(found), "cell").through(capture.cell_run_id)
        for name in filled:
            value = user_ns.get(name)
            if value is not None and name not in header:
                capture.registry.tag(value, capture.of(value) | provenance, binding=(user_ns, name))


_held = _Held()
# cursor -> the tables its statement read, and which statement run that was
_reads: weakref.WeakKeyDictionary[Any, Result] = weakref.WeakKeyDictionary()  # a patched cursor's (proxies: own)
_open: dict[int, Result] = {}  # the results whose rows may still come and whose version is not final, by id
_resolved: dict[Source, Source] = {}  # the pending versions of the cell under way made final, for its end
_resolved_since = [sys.maxsize]  # the registry's serial when the first of them was made
_databases: weakref.WeakKeyDictionary[Any, Database] = weakref.WeakKeyDictionary()  # connection -> its database


def _caller() -> Any:
    """The frame that called the DB-API method or function this module wrapped (None at the bottom)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_SKIPPED_FRAMES):
        frame = frame.f_back
    return frame


def _user_call() -> bool:
    """True unless the DB-API call was made by a library with its own hook, nblineage or the driver itself."""
    frame = _caller()
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return module.partition(".")[0] not in (*_LIBRARIES, "sqlite3", "psycopg", "psycopg2", "pymysql")


_library_files: dict[str, bool] = {}


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    """The folders of the standard library and installed packages (the first connect from a module file asks)."""
    import sysconfig

    paths = {sysconfig.get_path(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple({os.path.join(path, "") for path in paths if path})


def _opened_by_user() -> bool:
    """True when ``sqlite3.connect`` was called by the user's code (a notebook, a script, the user's modules), not
    by an installed library or the standard library (caches, IPython's history: no user lineage)."""
    if not _user_call():
        return False
    frame = _caller()
    if frame is None or frame.f_globals.get("__name__") == "__main__":
        return frame is not None
    filename = frame.f_code.co_filename
    library = _library_files.get(filename)
    if library is None:
        library = _library_files[filename] = os.path.abspath(filename).startswith(_library_dirs())
    return not library


def _pandas_collects() -> bool:
    """A pandas SQL call is under way on this thread (it records the statements it ran; none before the hook of
    SQLAlchemy and pandas statements is imported)."""
    engine = sys.modules.get(_ENGINE)
    return engine is not None and engine.collector() is not None


# --- statements --------------------------------------------------------------------------------------------------


def _sql_text(query: Any, connection: Any) -> str | None:
    if isinstance(query, str):
        return query
    if isinstance(query, (bytes, bytearray)):
        return bytes(query).decode("utf-8", "replace")
    as_string = getattr(query, "as_string", None)  # psycopg.sql.Composable
    if callable(as_string) and connection is not None:
        return as_string(connection)
    return None


def executed(cursor: Any, database: Database | None, query: Any, params: Any) -> None:
    """Record a statement ``cursor`` ran (after it succeeded), and remember what its rows derive from."""
    if database is None:
        return
    _load()
    sql = _sql_text(query, getattr(cursor, "connection", None))
    statement = statement_of(database[0], sql, database[1], database[2]) if sql else None
    engine = sys.modules.get(_ENGINE)  # pandas collects its statements through it
    collected = engine.collector() if engine is not None else None
    if collected is not None:  # inside pandas.read_sql: the statement is pandas's
        if statement is not None:
            collected.append(statement)
        return
    if statement is not None and not statement.outputs and not _in_transaction(cursor):
        statement = replace(statement, inputs=versioned(statement.inputs))
    capture = current()
    result = _remember(cursor, statement, capture, sql)
    if capture is None or statement is None:
        return
    if not statement.outputs:
        if result is not None:
            _read(capture, result, None)
        return
    if rowversion.repeats:  # a write ends the reads of its tables: the next run of their statements reads anew
        _end_reads(capture, rowversion.written(statement.outputs), now=True)
    _record_writes(capture, statement, params)


def _read(capture: Capture, result: Result, rows: Any) -> None:
    """The tables a statement read: inputs of the cell run once their version is final (``rowversion``); the
    policy guard sees the read now (``rows``: what the user gets), the tables as the statement named them when
    their version is the rows' (one read, one audit record, whenever the version is known)."""
    if result.done:
        for source in result.sources:
            capture.record.add_input(source)
    if capture.guard is not None:
        for source in result.tables if result.pending else result.sources:
            capture.guard.on_read(capture, source, rows)


def _in_transaction(cursor: Any) -> bool:
    """Whether the cursor's connection has uncommitted changes (the table's committed content is not what it reads)."""
    return bool(getattr(getattr(cursor, "connection", None), "in_transaction", False))


def _remember(cursor: Any, statement: Statement | None, capture: Capture | None, sql: str | None) -> Result | None:
    """The statement ``cursor`` ran now: the rows fetched from it carry what it read (the statement before it ends);
    a run of a statement the cell ran before joins that read (``rowversion.Repeated``)."""
    forget(cursor)
    if statement is None or not statement.inputs:
        return None
    result = Result(statement.inputs, capture, _client_side(cursor), not statement.outputs)
    if result.pending and capture is not None and sql:
        stale = rowversion.repeat(("dbapi", sql, result.tables), capture, result)
        if stale is not None:  # the cell wrote to its tables since: that read ended, this run starts another
            _end_reads(capture, [stale], now=True)
    if isinstance(cursor, CursorProxy):
        cursor._self_read = result
    else:
        try:
            _reads[cursor] = result
        except TypeError:  # a cursor that takes no weak reference
            return None
    if not result.done:
        _open[id(result)] = result
    return result


def forget(cursor: Any) -> None:
    """``cursor`` runs another statement, or is closed: the result it had ends."""
    read = _read_of(cursor)
    if read is None:
        return
    if isinstance(cursor, CursorProxy):
        cursor._self_read = None
    else:
        with contextlib.suppress(TypeError, KeyError):
            del _reads[cursor]
    _end(read, True)


def _client_side(cursor: Any) -> bool:
    """Whether every row of the cursor's result is on the client once it ran (``rownumber`` against ``rowcount``
    says when all were fetched): psycopg's and pymysql's default cursors, not their server-side ones."""
    module = type(cursor).__module__
    if module.startswith("psycopg"):
        psycopg = sys.modules.get("psycopg")
        return psycopg is not None and not isinstance(cursor, psycopg.ServerCursor)
    if module.startswith("pymysql"):
        cursors = sys.modules.get("pymysql.cursors")
        return cursors is not None and not isinstance(cursor, cursors.SSCursor)
    return False


def _all_fetched(cursor: Any) -> bool:
    number, count = getattr(cursor, "rownumber", None), getattr(cursor, "rowcount", None)
    return type(number) is int and type(count) is int and 0 <= count <= number


def _end(result: Result, ended: bool) -> None:
    """The result's version is final (``rowversion``): what was handed out pending gets it."""
    _open.pop(id(result), None)
    final = result.end(ended)
    if final and result.capture is not None:
        _resolved.update(final)
        _resolved_since[0] = min(_resolved_since[0], result.since)
        rowversion.resolve(result.capture, final, result.since)


def rows_fetched(cursor: Any, read: Result, rows: Any, many: bool, size: int | None = None) -> Result:
    """Hash what a fetch returned (``many``: a list of rows, else one row or None), and end the result when the
    cursor has no more rows: the fetch came back short (``size``: asked for; None: all) or empty, or a client-side
    cursor's rows were all fetched; the result they belong to (a new one when the end of a cell cut the old)."""
    if rows is not None and (not many or rows):
        read = _hashed(cursor, read, rows, many)
    if read.done:
        return read
    if rows is None or (many and (size is None or len(rows) < size)) or (read.client_side and _all_fetched(cursor)):
        _end(read, True)
    return read


def _hashed(cursor: Any, read: Result, rows: Any, many: bool = False) -> Result:
    """Hash a row (or ``many``); the result they belong to (a new one when the end of a cell cut the old)."""
    if read.done:
        if read.ended or not read.pending:
            return read
        read = _renew(cursor, read)
    try:
        if many:
            read.add_rows(cursor, rows)
        else:
            read.add_row(cursor, rows)
    except Exception as error:  # fail open: the rows are the user's, the version is only missing
        read.fail()
        report("dbapi row version", error)
    return read


def _renew(cursor: Any, read: Result) -> Result:
    renewed = read.renewed(current())
    if isinstance(cursor, CursorProxy):
        cursor._self_read = renewed
    else:
        with contextlib.suppress(TypeError):
            _reads[cursor] = renewed
    _open[id(renewed)] = renewed
    return renewed


def _end_reads(capture: Capture, groups: list[Repeated], now: bool) -> None:
    """Reads of statements run again end (``rowversion.Repeated``): their runs still open are cut (as at the end of
    a cell), and every version they handed out gets the read's (``now``: at once, else with the cell's end)."""
    if not groups:
        return
    ending = {id(group) for group in groups}
    for result in list(_open.values()):
        if result.joined and id(result.group) in ending:
            _end(result, False)
    final: dict[Source, Source] = {}
    for group in groups:
        final.update(group.end())
    if not final:
        return
    since = min(group.since for group in groups)
    settled(final, since)
    if now:
        rowversion.resolve(capture, final, since)


def settled(final: dict[Source, Source], since: int) -> None:
    """Versions made final in the cell under way, resolved again when it ends (what held a stale one meanwhile)."""
    for placeholder, source in _resolved.items():  # a first run's own pending version, made final: the read's now
        if source in final:
            _resolved[placeholder] = final[source]
    _resolved.update(final)
    _resolved_since[0] = min(_resolved_since[0], since)


def cut(capture: Capture) -> None:
    """The cell ends: every result still open is versioned by the rows fetched in it (the next fetch starts anew),
    every statement run again is one read, and whatever still holds a pending version of the cell gets its final
    one."""
    if _ROWVERSION not in sys.modules:
        return  # no statement ran, no read was made final: nothing is open, repeated or pending
    _load()
    for result in list(_open.values()):
        _end(result, False)
    _end_reads(capture, rowversion.take_repeats(), now=False)
    if _resolved:
        rowversion.resolve(capture, dict(_resolved), _resolved_since[0])
        _resolved.clear()
        _resolved_since[0] = sys.maxsize


def _read_of(cursor: Any) -> Result | None:
    if isinstance(cursor, CursorProxy):
        return cursor._self_read
    try:
        return _reads.get(cursor)
    except Exception:  # not a cursor: unhashable, or a comparison that raises
        return None


def _record_writes(capture: Capture, statement: Statement, params: Any) -> None:
    """Each table written derives from the tables the statement read (in the versions a read of them names) and the
    parameters' provenance; of none when the statement creates it and reads no table and is given no data (``CREATE
    TABLE t (x INTEGER)``; values written into the statement's text may come from data: ``execute_values``)."""
    passed = parameters_provenance(capture, statement, params) if params is not None else EMPTY
    made_of_nothing = statement.creates and not statement.inputs and params is None
    read = capture.exact(versioned(statement.inputs))
    for target in statement.outputs:
        wrote(target.namespace, target.name, None)  # its content is no longer what a whole write made it
        provenance = read.without(target.namespace, target.name) | passed.without(target.namespace, target.name)
        if made_of_nothing:
            provenance = NO_SOURCES
        datasets = _datasets(provenance)
        outputs = capture.record.outputs
        same = next(
            (
                out
                for out in outputs
                if out.source == target and datasets <= _datasets(out.provenance) and out.provenance is not NO_SOURCES
            ),
            None,
        )
        if same is None:
            capture.write(target, None, provenance=provenance)
        elif not provenance.sources <= same.provenance.sources:  # the same datasets, other versions: one output
            same.provenance = same.provenance | provenance
            for source in provenance.sources:
                capture.record.add_input(source)
        # else the same write again (a loop of INSERTs), or one that adds no input


def _datasets(provenance: Provenance) -> set[tuple[str, str]]:
    return {(source.namespace, source.name) for source in provenance.sources}


# The fallbacks of the cell run under way, by statement and line of the cell running it.
_fallen_back: dict[tuple[str | None, Statement, int | None], Provenance] = {}


def _cell_line(user_ns: dict[str, Any] | None) -> int | None:
    """The line of the cell under way (its outermost frame running in the user's namespace)."""
    line, frame = None, sys._getframe(1)
    while frame is not None:
        if frame.f_globals is user_ns and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    return line


def parameters_provenance(capture: Capture, statement: Statement, params: Any) -> Provenance:
    """What the parameters derive from: a hook's tag, else the reads of the code running the statement (cell
    precision; once per statement and line of the cell: a loop of INSERTs asks again and again). Also for
    statements run through a SQLAlchemy engine (``engine.py``), whose parameters SQLAlchemy made of the user's."""
    if isinstance(params, (str, bytes, int, float)):
        return EMPTY
    found = capture.of(params)
    if found or capture.write_fallback is None:
        return found
    key = (capture.cell_run_id, statement, _cell_line(capture.user_ns))
    if key not in _fallen_back:
        if len(_fallen_back) > HELD:
            _fallen_back.clear()
        _fallen_back[key] = capture.write_fallback(capture, params)
    return _fallen_back[key]


def fetched(cursor: Any, result: Any) -> None:
    """Rows ``cursor`` returned carry the tables its statement read."""
    read = _read_of(cursor)
    capture = current()
    if read is None or capture is None or result is None:
        return
    _read(capture, read, result)
    _held.hold(capture, result, read)
    capture.rows_read(read.sources)


def later_row(cursor: Any) -> bool:
    """The hot path of rows fetched one by one: True once the first row of the cursor's statement was seen (or it
    read nothing); later rows need nothing (a list of them is found at cell end by its first row)."""
    return _held.first.get(id(cursor)) is _read_of(cursor)


def fetched_one(cursor: Any, row: Any) -> None:
    """The first row of a statement, tagged and held like a result."""
    read = _read_of(cursor)
    if read is None or row is None:
        return
    _held.first[id(cursor)] = read
    fetched(cursor, row)


def _last_row(cursor: Any, row: Any) -> None:
    read = _read_of(cursor)
    if read is not None:
        _held.latest[id(cursor)] = (row, read)


def _loop_ended() -> None:
    """A loop over a cursor ended: the lists the cell's loops filled get the rows' tables now (a model fit and saved
    later in the same cell derives from them), not only at cell end."""
    capture = current()
    if capture is not None and capture.cell_source and capture.user_ns is not None:
        with _held._lock:
            by_id = _held.by_id()
        _filled_in_loops(capture, capture.cell_source, capture.user_ns, by_id)


def iterate(cursor: Any, rows: Iterable[Any]) -> Iterator[Any]:
    """Iterate ``rows``, each hashed for the result's version (ended when the rows run out); the first row carries
    the cursor's tables, and a list starting or ending with the first or the last row is found at cell end."""
    row = first = None
    read = _read_of(cursor)
    hashing = read is not None and read.pending and not read.busy  # a fetch under way hashes its rows itself
    if hashing:
        read.busy = True
    try:
        for row in rows:
            if hashing:
                buffer = read.buffer
                if buffer is not None and len(buffer) < CHUNK - 1 and not read.done:
                    buffer.append(row)  # the hot path: rowversion hashes whole chunks
                else:
                    read.busy = False
                    read = _hashed(cursor, read, row)
                    read.busy = True
            if first is None:
                first = row
                _guarded("dbapi fetch", fetched_one, cursor, row)
            yield row
        if hashing:
            _end(read, True)
    finally:
        if hashing:
            read.busy = False
        if row is not None and row is not first:
            _guarded("dbapi fetch", _last_row, cursor, row)
        if row is not None:
            _guarded("dbapi loop", _loop_ended)


def _guarded(where: str, work: Callable[..., None], *args: Any) -> None:
    try:
        work(*args)
    except Exception as error:
        report(where, error)


# --- sqlite3: proxies ----------------------------------------------------------------------------------------------


def sqlite_database(connection: sqlite3.Connection) -> Database:
    """The main database of a sqlite3 connection, by the path SQLite resolved."""
    url = "sqlite://"
    for _, name, path in connection.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            url = f"sqlite:///{quote(path)}"
    return url, "sqlite", "qmark"


def _split_script(script: str) -> list[str]:
    """The statements of a SQL script, where SQLite itself sees them complete."""
    found, start = [], 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            found.append(script[start : index + 1])
            start = index + 1
    if script[start:].strip():
        found.append(script[start:])
    return found


class CursorProxy(wrapt.ObjectProxy):
    """A cursor of a driver whose classes are C types (sqlite3, psycopg2): its statements and rows are seen."""

    def __init__(self, cursor: Any, connection: ConnectionProxy) -> None:
        super().__init__(cursor)
        self._self_connection = connection
        self._self_read: Result | None = None

    def _self_where(self, what: str) -> str:
        return f"{self._self_connection._self_driver} {what}"

    def _self_record(self, query: Any, params: Any) -> None:
        if not capturing():
            return
        if _user_call() or _pandas_collects():
            database = self._self_connection._self_database()
            _guarded(self._self_where("execute"), executed, self, database, query, params)
        elif self._self_read is not None:
            _guarded(self._self_where("execute"), forget, self)  # another statement: the rows fetched are not its

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        returned = self.__wrapped__.execute(*args, **kwargs)  # sqlite3 returns the cursor, psycopg2 None
        self._self_record(args[0] if args else kwargs.get("query"), args[1] if len(args) > 1 else kwargs.get("vars"))
        return self if returned is self.__wrapped__ else returned

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        returned = self.__wrapped__.executemany(*args, **kwargs)
        self._self_record(
            args[0] if args else kwargs.get("query"), args[1] if len(args) > 1 else kwargs.get("vars_list")
        )
        return self if returned is self.__wrapped__ else returned

    def _self_fetched(self, result: Any, size: int | None) -> Any:
        read = self._self_read
        if read is not None and capturing():
            if read.pending and not read.busy:
                _guarded(self._self_where("fetch"), rows_fetched, self, read, result, True, size)
            if _user_call():
                _guarded(self._self_where("fetch"), fetched, self, result)
        return result

    def fetchone(self) -> Any:
        row = self.__wrapped__.fetchone()
        if self._self_read is not None and capturing():
            self._self_one(row)
            if not later_row(self) and _user_call():
                _guarded(self._self_where("fetch"), fetched_one, self, row)
        return row

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        size = args[0] if args else kwargs.get("size", self.__wrapped__.arraysize)
        return self._self_fetched(self.__wrapped__.fetchmany(*args, **kwargs), size)

    def fetchall(self) -> Any:
        return self._self_fetched(self.__wrapped__.fetchall(), None)

    def __iter__(self) -> Iterator[Any]:
        if capturing() and _user_call():
            return iterate(self, self.__wrapped__)
        return iter(self.__wrapped__)

    def __next__(self) -> Any:
        try:
            row = next(self.__wrapped__)
        except StopIteration:
            self._self_one(None)  # the rows ran out
            raise
        self._self_one(row)
        return row

    def _self_one(self, row: Any) -> None:
        """A row fetched one by one (None: there was none left), hashed for the result's version."""
        read = self._self_read
        if read is None or not read.pending or read.busy or not capturing():
            return
        buffer = read.buffer
        if row is not None and buffer is not None and len(buffer) < CHUNK - 1 and not read.done:
            buffer.append(row)  # the hot path (rowversion hashes whole chunks)
        else:
            _guarded(self._self_where("fetch"), rows_fetched, self, read, row, False)

    def close(self) -> None:
        self.__wrapped__.close()
        if self._self_read is not None:
            _guarded(self._self_where("close"), forget, self)


class SqliteCursor(CursorProxy):
    """A sqlite3 cursor; each statement of a script is recorded on its own."""

    def executescript(self, sql_script: Any, /) -> SqliteCursor:
        self.__wrapped__.executescript(sql_script)
        if isinstance(sql_script, str):
            for statement in _split_script(sql_script):
                self._self_record(statement, None)
        return self


class Psycopg2Cursor(CursorProxy):
    """A psycopg2 cursor (client-side or named), a context manager as the driver's is."""

    def __enter__(self) -> Psycopg2Cursor:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)


class ConnectionProxy(wrapt.ObjectProxy):
    """A connection of a driver whose classes are C types, whose cursors are proxies (``_self_cursor``)."""

    _self_driver = ""
    _self_cursor: type[CursorProxy] = CursorProxy

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self._self_db: Database | None = None

    def _self_database(self) -> Database:
        if self._self_db is None:
            self._self_db = self._self_name()
        return self._self_db

    def _self_name(self) -> Database:
        raise NotImplementedError

    def cursor(self, *args: Any, **kwargs: Any) -> CursorProxy:
        return self._self_cursor(self.__wrapped__.cursor(*args, **kwargs), self)

    def __enter__(self) -> ConnectionProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)


class SqliteConnection(ConnectionProxy):
    """A sqlite3 connection whose cursors (and ``execute`` shortcuts) are :class:`SqliteCursor`."""

    _self_driver = "sqlite3"
    _self_cursor = SqliteCursor

    def _self_name(self) -> Database:
        return sqlite_database(self.__wrapped__)

    def execute(self, *args: Any) -> SqliteCursor:
        return self.cursor().execute(*args)

    def executemany(self, *args: Any) -> SqliteCursor:
        return self.cursor().executemany(*args)

    def executescript(self, *args: Any) -> SqliteCursor:
        return self.cursor().executescript(*args)

    def backup(self, target: Any, *args: Any, **kwargs: Any) -> None:
        self.__wrapped__.backup(getattr(target, "__wrapped__", target), *args, **kwargs)


def _connect_hook(driver: str, kind: Callable[[], type], proxy: type[ConnectionProxy]) -> Callable[..., Any]:
    """``connect`` of a driver whose classes are C types: a connection the user's code opens (one of ``kind()``)
    is a ``proxy``; SQLAlchemy's and the libraries' own connections stay plain."""

    def connect(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        connection = wrapped(*args, **kwargs)
        if not isinstance(connection, kind()) or not _opened_by_user():
            return connection
        try:
            return proxy(connection)
        except Exception as error:
            report(f"{driver}.connect", error)
            return connection

    return connect


# --- psycopg and pymysql: patched classes ------------------------------------------------------------------------


def postgres_database(connection: Any) -> Database:
    info = connection.info
    host = info.host if info.host and not info.host.startswith("/") else "localhost"
    return f"postgresql://{host}:{info.port}/{quote(info.dbname or '')}", "postgres", "pyformat"


class Psycopg2Connection(ConnectionProxy):
    """A psycopg2 connection whose cursors are :class:`Psycopg2Cursor`."""

    _self_driver = "psycopg2"
    _self_cursor = Psycopg2Cursor

    def _self_name(self) -> Database:
        return postgres_database(self.__wrapped__)


def mysql_database(connection: Any) -> Database:
    database = connection.db.decode() if isinstance(connection.db, bytes) else connection.db or ""
    host = connection.host if not getattr(connection, "unix_socket", None) else "localhost"
    return f"mysql://{host}:{connection.port}/{quote(database)}", "mysql", "pyformat"


def _database_of(cursor: Any, name: Callable[[Any], Database]) -> Database | None:
    connection = getattr(cursor, "connection", None)
    if connection is None:
        return None
    try:
        return _databases[connection]
    except (KeyError, TypeError):
        pass
    database = name(connection)
    with contextlib.suppress(TypeError):  # a connection that takes no weak reference is not cached
        _databases[connection] = database
    return database


def _execute_hook(where: str, name: Callable[[Any], Database], many: bool) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        result = wrapped(*args, **kwargs)
        if not capturing():
            return result
        cursor = result if instance is None or not hasattr(instance, "fetchone") else instance
        if _user_call() or _pandas_collects():
            try:
                query = args[0] if args else kwargs.get("query")
                keyword = kwargs.get("params_seq" if many else "params", kwargs.get("args"))
                params = args[1] if len(args) > 1 else keyword
                executed(cursor, _database_of(cursor, name), query, params)
            except Exception as error:
                report(where, error)
        elif _read_of(cursor) is not None:
            _guarded(where, forget, cursor)  # another statement: the rows fetched now are not its
        return result

    return wrapper


def _fetch_hook(where: str, how: str) -> Callable[..., Any]:
    """``fetchone`` (``how`` one), ``fetchmany`` (many) or ``fetchall`` (all): the rows hashed for the result's
    version, and tagged (the first of those fetched one by one)."""
    one = how == "one"

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not capturing():
            return wrapped(*args, **kwargs)
        read = _read_of(instance)
        if read is None:
            return wrapped(*args, **kwargs)
        if not read.pending or read.busy:  # nothing to hash, or a fetch under way hashes it
            result = wrapped(*args, **kwargs)
        elif one:  # fetchone calls no other fetch: nothing nested to keep from hashing twice
            result = wrapped(*args, **kwargs)
            buffer = read.buffer
            if result is not None and buffer is not None and len(buffer) < CHUNK - 1 and not read.done:
                buffer.append(result)  # the hot path of rows fetched one by one (the first checked the cursor)
            else:
                read = _fetched_rows(where, instance, read, result, False, 0)
        else:
            read.busy = True
            try:
                result = wrapped(*args, **kwargs)
            finally:
                read.busy = False
            size = None if how == "all" else _size(instance, args, kwargs)
            read = _fetched_rows(where, instance, read, result, True, size)
        if one and _held.first.get(id(instance)) is read:
            return result  # a later row of a statement whose first was tagged
        if _user_call():
            _guarded(where, fetched_one if one else fetched, instance, result)
        return result

    return wrapper


def _fetched_rows(where: str, cursor: Any, read: Result, rows: Any, many: bool, size: int | None) -> Result:
    """``rows_fetched``, failing open (the fault reported)."""
    try:
        return rows_fetched(cursor, read, rows, many, size)
    except Exception as error:
        report(where, error)
        return read


def _size(cursor: Any, args: tuple, kwargs: dict) -> int | None:
    """How many rows a ``fetchmany`` asked for (its driver's default: the cursor's ``arraysize``)."""
    size = args[0] if args else kwargs.get("size")
    return size if isinstance(size, int) and size > 0 else getattr(cursor, "arraysize", None)


def _close_hook(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    if _read_of(instance) is not None:
        _guarded("dbapi close", forget, instance)
    return result


def _iter_hook(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    rows = wrapped(*args, **kwargs)
    if capturing() and _user_call():
        return iterate(instance, _stepping(rows) if rows is instance else rows)
    return rows


def _stepping(cursor: Any) -> Iterator[Any]:
    """The rows of a cursor that is its own iterator (iterating it would call the patched ``__iter__`` again)."""
    step = type(cursor).__next__
    while True:
        try:
            row = step(cursor)
        except StopIteration:
            return
        yield row


def _stream_hook(name: Callable[[Any], Database]) -> Callable[..., Any]:
    """psycopg's ``Cursor.stream(query, params)``: a statement run, and its rows iterated."""
    recorded = _execute_hook("psycopg stream", name, False)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        rows = recorded(wrapped, instance, args, kwargs)  # the generator is made; the statement runs when iterated
        if capturing() and _user_call():
            return iterate(instance, rows)
        return rows

    return wrapper


def _cursor_patches(classes: Iterable[type], name: Callable[[Any], Database], driver: str) -> Iterator[Patch]:
    for cls in classes:
        if "stream" in cls.__dict__:
            yield cls, "stream", _stream_hook(name)
        for method, many in (("execute", False), ("executemany", True)):
            if method in cls.__dict__:
                yield cls, method, _execute_hook(f"{driver} {method}", name, many)
        for method in ("fetchone", "fetchmany", "fetchall"):
            if method in cls.__dict__:
                yield cls, method, _fetch_hook(f"{driver} {method}", method[5:])
        if "__iter__" in cls.__dict__:
            yield cls, "__iter__", _iter_hook
        if "close" in cls.__dict__:
            yield cls, "close", _close_hook


class _DbapiInstrumentor(Instrumentor):
    """A driver's hooks; at the end of a cell the rows fetched are bound to the names that hold them."""

    def cell_ended(self, capture: Capture) -> None:
        cut(capture)  # the first driver's call does these; the others find nothing
        _held.release(capture, capture.user_ns)

    def uninstrument(self) -> None:
        super().uninstrument()
        _open.clear()
        if _ROWVERSION in sys.modules:
            sys.modules[_ROWVERSION].take_repeats()
        _resolved.clear()
        _resolved_since[0] = sys.maxsize
        _held.release(None, None)


class SqliteInstrumentor(_DbapiInstrumentor):
    """``sqlite3.connect`` returns a connection proxy whose statements and rows are seen."""

    modules = ("sqlite3",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "connect", _connect_hook("sqlite3", lambda: sqlite3.Connection, SqliteConnection)


class Psycopg2Instrumentor(_DbapiInstrumentor):
    """``psycopg2.connect`` returns a connection proxy whose statements and rows are seen (its classes are C
    types)."""

    modules = ("psycopg2",)
    requires = ("psycopg2>=2.8",)  # ``connection.info``

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "connect", _connect_hook("psycopg2", lambda: module.extensions.connection, Psycopg2Connection)


class PsycopgInstrumentor(_DbapiInstrumentor):
    """psycopg 3 cursors (client-side and server-side) and ``Connection.execute``."""

    modules = ("psycopg",)
    requires = ("psycopg>=3.1",)

    def patches(self, module: Any) -> Iterable[Patch]:
        names = ("Cursor", "ServerCursor", "ClientCursor", "RawCursor", "RawServerCursor")  # Raw*: psycopg 3.2+
        classes = [getattr(module, name) for name in names if hasattr(module, name)]
        yield from _cursor_patches(classes, postgres_database, "psycopg")
        yield module.Connection, "execute", _execute_hook("psycopg Connection.execute", postgres_database, False)


class PymysqlInstrumentor(_DbapiInstrumentor):
    """pymysql cursors (buffered, unbuffered, dict)."""

    modules = ("pymysql",)
    requires = ("pymysql>=1.0",)

    def patches(self, module: Any) -> Iterable[Patch]:
        from pymysql import cursors

        classes = [cursors.Cursor, cursors.SSCursor, cursors.DictCursor, cursors.SSDictCursor]
        yield from _cursor_patches(classes, mysql_database, "pymysql")
