"""DuckDB: what a query reads and writes, and provenance from its result into pandas, Polars, Arrow and numpy.

A statement (``duckdb.sql``/``query``/``execute``, the same on a connection, and ``read_csv``/``read_parquet``/
``read_json``/``table``/``from_df``/``from_arrow``) reads:

- files named by its string literals (``FROM 'x.csv'``, ``read_csv('d/*.csv')``, ``read_parquet([...])``; a glob
  is each file it matches), versioned by their fingerprints, as every file read; a reader function's files get the
  schema of its relation (columns and DuckDB types);
- tables, found by openlineage-sql (duckdb dialect): a name registered on the connection (``register``) or a
  pandas/Polars/Arrow frame DuckDB scans from the caller's variables carries its provenance in; a table of a
  database file is a dataset ``duckdb://{absolute db path}`` / ``{table}`` (``{schema}.{table}`` outside
  ``main``; no version: DuckDB exposes no table snapshot); a table of an in-memory database is no dataset (it dies
  with the kernel) and carries the provenance of what was written into it.

Writes: ``CREATE TABLE ... AS``, ``INSERT INTO``, ``COPY ... TO 'file'`` / ``COPY t FROM 'file'``, and the
relation's ``write_csv``/``to_csv``/``write_parquet``/``to_parquet``/``to_table``/``create``/``insert_into``
record an output whose inputs are exactly what the statement or relation read. The policy guard decides before
a statement or a relation writes a file or a database file's table. A relation (and every relation
made from it) carries what its query read; its results (``df()``, ``pl()``, ``arrow()``, ``fetchnumpy()``,
``fetchall()``...) too, and so do a connection's fetches after ``execute``. Nothing is imported before the user
imports duckdb; a statement DuckDB refuses records nothing.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
import types
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nblineage.kernel_ext import columns, guard
from nblineage.kernel_ext.capture import Capture, cell_line
from nblineage.kernel_ext.hooks import scans
from nblineage.kernel_ext.hooks.calls import argument, inputs
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.hooks.sql.parsing import MAX_CACHED_SQL, PARSE_CACHE_SIZE, ColumnRules, Tables, tables
from nblineage.kernel_ext.instrument import Instrumentor, Patch, defining_class, intercept
from nblineage.kernel_ext.provenance import EMPTY, Provenance, Source, union
from nblineage.lineage.naming import duckdb_table_dataset

STATEMENTS = ("sql", "query", "from_query", "execute")
READERS = ("read_csv", "from_csv_auto", "read_json", "read_parquet", "from_parquet")
TABLES = ("table", "view")
FRAMES = ("from_df", "from_arrow", "df", "arrow")  # module-level ``df``/``arrow`` in older releases build relations
FETCHES = ("fetchall", "fetchone", "fetchmany", "fetchdf", "fetch_df", "fetch_df_chunk", "fetchnumpy", "df", "pl")
FETCHES += ("arrow", "fetch_arrow_table", "fetch_record_batch", "to_arrow_table", "to_arrow_reader", "torch", "tf")
FILE_WRITES = {"write_csv": "file_name", "to_csv": "file_name", "write_parquet": "file_name"}
FILE_WRITES |= {"to_parquet": "file_name"}
TABLE_WRITES = ("to_table", "create", "insert_into")
VIEWS = ("create_view", "to_view")
# Relation methods that hold no data or display it.
SKIPPED = frozenset({"show", "explain", "close", "describe", "print", "execute", "sql_query", "type", "types"})
SKIPPED |= {"columns", "dtypes", "shape", "alias", "set_alias", "description", "preview"}
# Each single-quoted literal, '' being an escaped quote.
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_COPY = re.compile(r"\s*COPY\s+(\(|[\w.\"]+)", re.IGNORECASE)
_COPY_TO = re.compile(r"\)?\s*TO\s+'((?:[^']|'')*)'", re.IGNORECASE)
_COPY_FROM = re.compile(r"\s*COPY\s+([\w.\"]+)\s+FROM\s+'", re.IGNORECASE)
_FRAME_LIBRARIES = frozenset({"pandas", "polars", "pyarrow", "numpy", "duckdb"})


@dataclass
class _Database:
    """What the hooks know of one connection: its database file (None: in memory), the frames registered on it,
    the provenance of its in-memory tables, and what its last ``execute`` read (for its fetches)."""

    path: str | None = None
    registered: dict[str, Provenance] = field(default_factory=dict)
    tables: dict[str, Provenance] = field(default_factory=dict)
    pending: Provenance = EMPTY


@dataclass
class _Read:
    """What one statement reads and writes."""

    provenance: Provenance  # everything it read
    files: list[Source]  # inputs the cell records
    tables: list[Source]
    writes: list[tuple[str, Any]]  # ("file", Location) or ("table", name)
    columns: ColumnRules = ()  # the result's columns computed from others (``sum(o.amount) AS spend``: spend <- amount)


_databases: weakref.WeakKeyDictionary[Any, _Database] = weakref.WeakKeyDictionary()
_default = _Database()
_relations: weakref.WeakKeyDictionary[Any, _Database] = weakref.WeakKeyDictionary()  # relation -> its connection's
_held: dict[str, Any] = {}  # fetchall() rows, bound here until the cell ends (lists take no weak reference)
_held_lock = threading.Lock()
_next_key = 0
HELD = 64  # fetched row lists bound until the cell ends


class DuckdbInstrumentor(Instrumentor):
    """Patches DuckDB statements, relations and fetches (module docstring)."""

    modules = ("duckdb",)
    requires = ("duckdb>=1.0",)

    def patches(self, module: Any) -> Iterator[Patch]:
        for owner, name, wrapper in self._patches(module):
            yield owner, name, _seen_through(wrapper)

    def _patches(self, module: Any) -> Iterator[Patch]:
        connection, relation = module.DuckDBPyConnection, module.DuckDBPyRelation
        yield module, "connect", intercept("duckdb.connect", _connected)
        for name in STATEMENTS + READERS + TABLES + FRAMES:
            check = _check_statement(False) if name in STATEMENTS else None
            yield module, name, intercept(f"duckdb.{name}", _statement(name, method=False), before=check)
            if name in connection.__dict__ and name not in ("df", "arrow"):
                where = f"duckdb.DuckDBPyConnection.{name}"
                check = _check_statement(True) if name in STATEMENTS else None
                yield connection, name, intercept(where, _statement(name, method=True), before=check)
        for owner, method in ((module, False), (connection, True)):
            for name in FETCHES:
                if owner is module and name in FRAMES:
                    continue
                if owner is module or name in connection.__dict__:
                    yield owner, name, intercept(f"duckdb.{name}", _fetched(method))
        if "register" in connection.__dict__:
            yield connection, "register", intercept("duckdb.DuckDBPyConnection.register", _registered(True))
        yield module, "register", intercept("duckdb.register", _registered(False))
        for name, parameter in FILE_WRITES.items():
            if defining_class(relation, name) is not None:
                where = f"duckdb.DuckDBPyRelation.{name}"
                yield relation, name, intercept(where, _file_write(parameter), before=_check_write(parameter))
        for name in TABLE_WRITES:
            yield relation, name, intercept(f"duckdb.DuckDBPyRelation.{name}", _table_write)
        for name in VIEWS:
            yield relation, name, intercept(f"duckdb.DuckDBPyRelation.{name}", _view)
        done = {*FILE_WRITES, *TABLE_WRITES, *VIEWS, *SKIPPED}
        for name in dir(relation):
            if name.startswith("_") or name in done:
                continue
            owner = defining_class(relation, name)
            if owner is not None and callable(owner.__dict__[name]):
                yield owner, name, intercept(f"duckdb.DuckDBPyRelation.{name}", _relation_derive)

    def cell_ended(self, capture: Capture) -> None:
        release_rows(capture)


def _seen_through(wrapper: Any) -> Any:
    """``wrapper`` run with a module name under ``duckdb``: DuckDB's replacement scans look for the variables a query
    names in the first frame outside the ``duckdb`` modules, which must stay the caller's, not the hook's."""
    namespace = dict(wrapper.__globals__)
    namespace["__name__"] = "duckdb._nblineage"
    return types.FunctionType(wrapper.__code__, namespace, wrapper.__name__, wrapper.__defaults__, wrapper.__closure__)


# --- connections ----------------------------------------------------------------------------------------------------


def _connected(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    database = argument(args, kwargs, 0, "database", ":memory:")
    path = locate_database(database)
    with contextlib.suppress(TypeError):
        _databases[result] = _Database(path)


def locate_database(database: Any) -> str | None:
    """The absolute path of a database file (``duckdb.connect(database)``); None for an in-memory one."""
    import os

    if not isinstance(database, (str, os.PathLike)):
        return None
    text = os.fspath(database)
    if not isinstance(text, str) or not text or text.startswith(":memory:") or "://" in text:
        return None
    return os.path.abspath(os.path.expanduser(text))


def _database(connection: Any) -> _Database:
    if connection is None:
        return _default
    try:
        found = _databases.get(connection)
        if found is None:  # opened before the hooks were on: asked once, on a cursor of its own
            found = _databases[connection] = _Database(_discovered_path(connection))
        return found
    except TypeError:
        return _default


def _discovered_path(connection: Any) -> str | None:
    """The database file of a connection nblineage did not see opened (None: in memory or unknown), asked on a
    cursor of its own so that the connection's pending result stays the user's."""
    try:
        cursor = connection.cursor()
        try:
            row = cursor.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchone()
        finally:
            cursor.close()
    except Exception:  # a closed connection, an old DuckDB: treated as in memory
        return None
    return locate_database(row[0]) if row and row[0] else None


def _connection_of(args: tuple, kwargs: dict, method: bool) -> tuple[Any, tuple]:
    """(the connection, the call's arguments without it)."""
    if method:
        return args[0], args[1:]
    return kwargs.get("connection"), args


# --- what a statement reads ----------------------------------------------------------------------------------------


def _statement(name: str, method: bool):
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        connection, rest = _connection_of(args, kwargs, method)
        database = _database(connection)
        if name in READERS:
            target = argument(rest, kwargs, 0, "path_or_buffer", None) or kwargs.get("file_name")
            found = _file_read(capture, target, _relation_schema(result))
        elif name in TABLES:
            table = argument(rest, kwargs, 0, "table_name", None) or kwargs.get("view_name")
            found = _tables_read(capture, database, [(None, str(table).lower())]) if table else EMPTY
        elif name in FRAMES:
            found = union(capture.of(item) for item in inputs(rest, kwargs))
        else:
            sql = argument(rest, kwargs, 0, "query", None)
            if not isinstance(sql, str):
                return
            found = _query(capture, database, sql, result)
        _tag_result(capture, result, connection, database, found, name == "execute")

    return after


class _Written:
    """What a statement is about to write, standing in for it before the policy guard (it carries what the
    statement reads)."""


def _check_statement(method: bool) -> Any:
    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        connection, rest = _connection_of(args, kwargs, method)
        sql = argument(rest, kwargs, 0, "query", None)
        if not isinstance(sql, str):
            return
        database = _database(connection)
        read = analyse(capture, database, sql)
        if not read.writes or not read.provenance:
            return
        written = _Written()
        capture.registry.tag(written, read.provenance)
        for kind, target in read.writes:
            if kind == "file":
                guard.check_write(capture, written, target.name, model=False)
            elif database.path is not None:
                schema, _, table = target.rpartition(".")
                dataset = duckdb_table_dataset(database.path, table, schema or None)
                capture.guard.before_write(capture, written, (dataset.namespace, dataset.name), False)

    return before


def _tag_result(
    capture: Capture, result: Any, connection: Any, database: _Database, found: Provenance, executed: bool
) -> None:
    if found:
        _statement_read(capture, found)
    if executed or result is connection or (connection is None and _is_connection(result)):
        if connection is None and _is_connection(result):
            with contextlib.suppress(TypeError):  # the default connection, as the module's calls use it
                _databases.setdefault(result, database)
        database.pending = found  # the connection's fetches read it
        return
    if result is not None:
        _remember_relation(result, database)
        if found:
            capture.registry.tag(result, found)


def _is_connection(value: Any) -> bool:
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(value, duckdb.DuckDBPyConnection)


def _remember_relation(relation: Any, database: _Database) -> None:
    with contextlib.suppress(TypeError):
        _relations[relation] = database


def _file_read(capture: Capture, target: Any, facets: dict[str, Any]) -> Provenance:
    places = scans.locations(target)
    sources = [place.source() for place in places]
    for source in sources:
        capture.record.add_input(source, facets)
    return capture.exact(sources) if sources else EMPTY


def _relation_schema(relation: Any) -> dict[str, Any]:
    """The schema facet of the files a reader function's relation reads whole: its columns and DuckDB types (known
    once the relation is made: nothing runs); {} for anything else."""
    if not _is_relation(relation):
        return {}
    fields = [
        {"name": str(name), "type": str(kind)} for name, kind in zip(relation.columns, relation.types, strict=True)
    ]
    return {"schema": {"fields": fields}}


def _query(capture: Capture, database: _Database, sql: str, result: Any) -> Provenance:
    """Record what ``sql`` reads and writes; its provenance (what it read)."""
    read = analyse(capture, database, sql)
    for source in (*read.files, *read.tables):
        capture.record.add_input(source)
    columns.learn(capture, dict(read.columns))  # a model's features traced through the query to its inputs' columns
    for kind, target in read.writes:
        if kind == "file":
            capture.write(target.source(written=True), None, provenance=read.provenance)
        else:
            _write_table(capture, database, target, read.provenance)
    return read.provenance


def analyse(capture: Capture, database: _Database, sql: str) -> _Read:
    """What ``sql`` reads (files, tables, frames) and writes (files, tables) on ``database``."""
    copy_target: str | None = None
    writes: list[tuple[str, Any]] = []
    table_reads: list[tuple[str | None, str]] = []
    copy = _COPY.match(sql)
    if copy is not None:
        target = _COPY_TO.search(sql, _copy_end(sql, copy))
        if target is not None:
            copy_target = target.group(1).replace("''", "'")
            location = locate(copy_target) or _future_file(copy_target)
            if location is not None:
                writes.append(("file", location))
            if copy.group(1) != "(":
                table_reads.append(_split(copy.group(1)))
        into = _COPY_FROM.match(sql)
        if into is not None:
            writes.append(("table", into.group(1).strip('"').lower()))
    places: list[Location] = []
    for match in _LITERAL.finditer(sql):
        text = match.group(1).replace("''", "'")
        if text and text != copy_target and _looks_like_path(text):
            places.extend(scans.locations(text))
    places = list(dict.fromkeys(places))
    files = [place.source() for place in places]
    file_names = {source.name for source in files} | {_literal_name(place) for place in places}
    parsed = _tables(sql) if len(sql) <= MAX_CACHED_SQL else tables(sql, "duckdb")
    for schema, name in parsed.writes:
        writes.append(("table", f"{schema}.{name}" if schema and schema != "main" else name))
    for schema, name in parsed.reads:
        if name not in file_names and not _is_path_name(name):
            table_reads.append((schema, name))
    written = {target for kind, target in writes if kind == "table"}
    table_reads = [(schema, name) for schema, name in table_reads if name not in written]
    frames, scanned = _frames(capture, database, table_reads)
    provenance = capture.exact(files) | frames
    table_sources: list[Source] = []
    for schema, name in table_reads:
        if name in database.registered or (schema, name) in scanned:
            continue
        if database.path is not None:
            dataset = duckdb_table_dataset(database.path, name, schema)
            table_sources.append(Source(dataset.namespace, dataset.name))
        elif name in database.tables:
            provenance = provenance | database.tables[name]
    if table_sources:
        provenance = provenance | capture.exact(table_sources)
    return _Read(provenance, files, table_sources, writes, parsed.columns)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _tables(sql: str) -> Tables:
    """The tables ``sql`` reads and writes (openlineage-sql, duckdb dialect), cached by text: a statement run in a
    loop is parsed once."""
    return tables(sql, "duckdb")


def _tables_read(capture: Capture, database: _Database, names: list[tuple[str | None, str]]) -> Provenance:
    provenance, scanned = _frames(capture, database, names)
    for schema, name in names:
        if name in database.registered or (schema, name) in scanned:
            continue
        if database.path is not None:
            dataset = duckdb_table_dataset(database.path, name, schema)
            source = Source(dataset.namespace, dataset.name)
            capture.record.add_input(source)
            provenance = provenance | capture.exact([source])
        elif name in database.tables:
            provenance = provenance | database.tables[name]
    return provenance


def _frames(
    capture: Capture, database: _Database, names: list[tuple[str | None, str]]
) -> tuple[Provenance, set[tuple[str | None, str]]]:
    """The provenance of the registered frames and of the caller's variables that DuckDB scans for ``names``, and
    which names are such variables."""
    found = EMPTY
    scanned: set[tuple[str | None, str]] = set()
    scope: tuple[dict, dict] | None = None
    for schema, name in names:
        if name in database.registered:
            found = found | database.registered[name]
            continue
        if schema is not None:
            continue
        if scope is None:
            scope = _user_scope()
        value = _lookup(scope, name)
        if value is not None and type(value).__module__.partition(".")[0] in _FRAME_LIBRARIES:
            scanned.add((schema, name))
            found = found | scans.resolve(capture, capture.of(value))  # a LazyFrame is collected now
    return found, scanned


def _user_scope() -> tuple[dict, dict]:
    """The locals and globals of the code that made the call, as DuckDB's replacement scans see them: the first
    frame outside duckdb, nblineage and wrapt."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith(("duckdb", "nblineage", "wrapt")):
            return frame.f_locals, frame.f_globals
        frame = frame.f_back
    return {}, {}


def _lookup(scope: tuple[dict, dict], name: str) -> Any:
    for space in scope:
        if name in space:
            return space[name]
        for key, value in space.items():  # the parser folds case; a variable keeps its own
            if isinstance(key, str) and key.lower() == name:
                return value
    return None


def _copy_end(sql: str, copy: re.Match[str]) -> int:
    """Where the source of ``COPY (query) TO`` ends: after its closing parenthesis."""
    if copy.group(1) != "(":
        return copy.end()
    depth, position = 0, copy.end() - 1
    quoted = False
    for position in range(copy.end() - 1, len(sql)):
        char = sql[position]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return position + 1
    return position


def _split(name: str) -> tuple[str | None, str]:
    parts = name.replace('"', "").lower().split(".")
    return (parts[-2] if len(parts) > 1 else None, parts[-1])


def _looks_like_path(text: str) -> bool:
    return len(text) < 4096 and "\n" not in text and ("." in text or "/" in text or "*" in text)


def _is_path_name(name: str) -> bool:
    return "/" in name or "*" in name or name.lower().endswith((".csv", ".parquet", ".json", ".tsv", ".gz"))


def _literal_name(place: Location) -> str:
    return place.name.rsplit("/", 1)[-1]


def _future_file(path: str) -> Location | None:
    """A file about to be written (``COPY ... TO``): named now, versioned after the write."""
    import os

    if "://" in path:
        return locate(path)
    from nblineage.lineage.naming import file_dataset

    dataset = file_dataset(path)
    folder = os.path.dirname(dataset.name) or "/"
    return Location(dataset.namespace, dataset.name, dataset.name) if os.path.isdir(folder) else None


def _write_table(capture: Capture, database: _Database, name: str, provenance: Provenance) -> None:
    if database.path is None:  # an in-memory table: no dataset, it carries what was written into it
        database.tables[name] = database.tables.get(name, EMPTY) | provenance
        return
    schema, _, table = name.rpartition(".")
    dataset = duckdb_table_dataset(database.path, table, schema or None)
    target = Source(dataset.namespace, dataset.name)
    kept = Provenance(provenance.sources - {target}, provenance.precision, provenance.runs)
    if any(out.source == target and out.provenance == kept for out in capture.record.outputs):
        return  # the same write again (a loop of INSERTs)
    capture.write(target, None, provenance=kept)


# --- registered frames, relations and results -----------------------------------------------------------------------


def _registered(method: bool):
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        connection, rest = _connection_of(args, kwargs, method)
        name = argument(rest, kwargs, 0, "view_name", None)
        obj = argument(rest, kwargs, 1, "python_object", None)
        if isinstance(name, str):
            _database(connection).registered[name.lower()] = capture.of(obj)

    return after


def _fetched(method: bool):
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        connection = args[0] if method else kwargs.get("connection")
        _tag_fetched(capture, result, _database(connection).pending)

    return after


def _relation_derive(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """A relation's result (a relation, a frame, an array, rows) derives from it and the relations it was given."""
    provenance = union(capture.of(item) for item in inputs(args, kwargs))
    database = _relations.get(args[0]) if args else None
    if database is not None and _is_relation(result):
        _remember_relation(result, database)
    _tag_fetched(capture, result, provenance)


def _is_relation(value: Any) -> bool:
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(value, duckdb.DuckDBPyRelation)


def _tag_fetched(capture: Capture, result: Any, provenance: Provenance) -> None:
    """Tag a fetched result: a frame or relation itself, each array of a ``fetchnumpy`` dict, rows by a binding."""
    if not provenance or result is None or isinstance(result, (bool, int, float, str, bytes)):
        return
    provenance = provenance.through(capture.cell_run_id)
    _statement_read(capture, provenance)
    if isinstance(result, dict):
        for value in result.values():
            capture.registry.tag(value, provenance)
    elif isinstance(result, (list, tuple)):
        with _held_lock:
            global _next_key
            key, _next_key = str(_next_key), _next_key + 1
            _held[key] = result
            while len(_held) > HELD:  # the oldest go (a loop fetching many results keeps the latest alive)
                _held.pop(next(iter(_held)))
        capture.registry.tag(result, provenance, binding=(_held, key))
    else:
        capture.registry.tag(result, provenance)


def _statement_read(capture: Capture, provenance: Provenance) -> None:
    """The cell statement under way read ``provenance`` (the fallback follows it from there: ``y = np.array(rows)``
    after ``rows = con.execute(...).fetchall()``)."""
    if capture.user_ns is None:
        return
    line = cell_line(capture.user_ns, capture.cell_source)
    if line is not None:
        capture.statement_reads.add(line, provenance.sources)


def release_rows(capture: Capture) -> None:
    """At the end of a cell: the user's names that hold fetched rows keep their provenance; the rest go."""
    with _held_lock:
        if not _held:
            return
        held = {id(value): value for value in _held.values()}
        user_ns = capture.user_ns or {}
        for name, value in list(user_ns.items()):
            if id(value) in held and not name.startswith("_"):
                capture.registry.tag(value, capture.of(value), binding=(user_ns, name))
        _held.clear()


def _file_write(parameter: str):
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, 1, parameter, None)
        location = locate(target) if target is not None else None
        if location is not None:
            capture.write(location.source(written=True), args[0])

    return after


def _check_write(parameter: str):
    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, 1, parameter, None)
        if target is not None and args:
            guard.check_write(capture, args[0], target, model=False)

    return before


def _table_write(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    name = argument(args, kwargs, 1, "table_name", None)
    database = _relations.get(args[0]) or _default
    if isinstance(name, str):
        _write_table(capture, database, name.lower(), capture.of(args[0]))


def _view(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    name = argument(args, kwargs, 1, "view_name", None)
    database = _relations.get(args[0]) or _default
    if isinstance(name, str):
        database.registered[name.lower()] = capture.of(args[0])
    if result is not None:
        capture.derive(result, args[0])
