"""SQL text to datasets: the tables a statement reads and writes (openlineage-sql), named as OpenLineage does.

A statement that only reads (``SELECT``) has inputs; one that writes (``INSERT ... SELECT``, ``CREATE TABLE AS``,
``UPDATE ... FROM``, ``MERGE``...) an output per written table whose provenance is exactly the tables it read;
``DROP`` statements and catalog tables record nothing. Names follow ``naming.table_dataset``, so credentials of the
engine URL never appear. No SQL text is stored. A statement openlineage-sql cannot parse yields no lineage; that
is not a hook error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.naming import table_dataset

# SQLAlchemy dialect name -> openlineage-sql dialect name.
DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql"}
PARSE_CACHE_SIZE = 1024
MAX_CACHED_SQL = 64 * 1024  # longer statements (bulk VALUES lists) are parsed but not kept in the cache

_SYSTEM_SCHEMAS = {
    "postgres": frozenset({"pg_catalog", "information_schema", "pg_toast"}),
    "mysql": frozenset({"information_schema", "mysql", "performance_schema", "sys"}),
    "sqlite": frozenset(),
    "generic": frozenset({"information_schema"}),
    "duckdb": frozenset({"information_schema", "pg_catalog"}),
}
# format/pyformat placeholders (psycopg, pymysql) that openlineage-sql does not parse; "%%" is an escaped "%".
_PLACEHOLDER_RE = re.compile(r"%%|%\(\w+\)s|%s")
# Whitespace, comments and parentheses before the first keyword; each alternative starts with its own character and
# a block comment ends at its first "*/", so matching is linear (no catastrophic backtracking).
_LEADING_KEYWORD_RE = re.compile(r"(?:\s|--[^\n]*(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*\*/|\()*([A-Za-z]+)")

_parse: Callable[..., Any] | None = None

Table = tuple[str | None, str]  # (schema, table), identifiers as the database resolves them


ColumnRules = tuple[tuple[str, frozenset[str]], ...]  # (column of the result, the columns it is computed from)


@dataclass(frozen=True)
class Tables:
    """The tables one statement reads and writes, and the columns its result computes from other columns."""

    reads: tuple[Table, ...] = ()
    writes: tuple[Table, ...] = ()
    columns: ColumnRules = ()
    creates: bool = False  # a ``CREATE`` statement: what it writes is new (``AS SELECT``: made of what it reads)


@dataclass(frozen=True)
class Statement:
    """One executed statement's datasets (versions None), its column rules (``Tables.columns``) and whether it
    creates what it writes (``Tables.creates``)."""

    inputs: frozenset[Source]
    outputs: tuple[Source, ...]
    columns: ColumnRules = ()
    creates: bool = False


NOTHING = Tables()


def _placeholder(match: re.Match[str]) -> str:
    return "%" if match.group() == "%%" else "$1"


def identifier(name: str, quoted: bool, dialect: str) -> str:
    """An identifier as the database resolves it: PostgreSQL folds unquoted names, SQLite and DuckDB ignore case."""
    if dialect in ("sqlite", "duckdb") or (dialect == "postgres" and not quoted):
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
            schema = identifier(schema, bool(style and style.schema), dialect)
        name = identifier(meta.name, bool(style and style.name), dialect)
        if name and not _system(schema, name, dialect):
            found[(schema, name)] = None
    return tuple(found)


def _parse_sql(sql: str, dialect: str, paramstyle: str) -> Tables:
    """The tables ``sql`` reads and writes; NOTHING when openlineage-sql cannot parse it."""
    global _parse
    match = _LEADING_KEYWORD_RE.match(sql)
    keyword = match.group(1).upper() if match is not None else "DROP"
    if keyword == "DROP":
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
    if not (reads or writes):
        return NOTHING
    return Tables(reads, writes, _column_rules(meta.column_lineage, dialect), keyword == "CREATE")


def _column_rules(lineage: Iterable[Any], dialect: str) -> ColumnRules:
    """The result's columns computed from columns of other names (``SUM(o.amount) AS total_spent``: total_spent <-
    amount), as the result names them (PostgreSQL folds unquoted names); a column passed through adds nothing."""
    fold = str.lower if dialect == "postgres" else str
    rules: dict[str, frozenset[str]] = {}
    for item in lineage:
        column = fold(item.descendant.name)
        sources = frozenset(fold(source.name) for source in item.lineage if source.name)
        if sources and sources != {column}:
            rules[column] = sources
    return tuple(rules.items())


def tables(sql: str, dialect: str, paramstyle: str = "named") -> Tables:
    """The tables ``sql`` reads and writes (not cached; the hooks use :func:`statement_of`)."""
    return _parse_sql(sql, dialect, paramstyle)


def _statement(url: str, sql: str, dialect: str, paramstyle: str) -> Statement | None:
    found = _parse_sql(sql, dialect, paramstyle)
    if found is NOTHING:
        return None
    named = [table_dataset(url, name, schema) for schema, name in (*found.reads, *found.writes)]
    sources = [Source(dataset.namespace, dataset.name) for dataset in named]
    reads, writes = frozenset(sources[: len(found.reads)]), tuple(sources[len(found.reads) :])
    return Statement(reads, writes, found.columns, found.creates)


_statement_cached = functools.lru_cache(maxsize=PARSE_CACHE_SIZE)(_statement)


def statement_of(url: str, sql: str, dialect: str, paramstyle: str) -> Statement | None:
    """The named datasets ``sql`` reads and writes on the database at ``url``; None when it has none.

    Cached by (URL, SQL text), so a statement run again costs a dictionary lookup.
    """
    if len(sql) > MAX_CACHED_SQL:
        return _statement(url, sql, dialect, paramstyle)
    return _statement_cached(url, sql, dialect, paramstyle)
