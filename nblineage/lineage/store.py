"""The lineage store: an append-only event log and the graph derived from it, on SQLite or PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and write transactions take the write lock at BEGIN
(``BEGIN IMMEDIATE``), so several processes can write one file at once without "database is locked".
A store URL is checked before anything connects (:func:`check_store_url`); readers open a store with
``create=False`` so that a mistyped URL never leaves an empty store behind. A SQLite file named plainly
(``sqlite:///PATH``) is read through the standard library (``lineage/sqlite_reader.py``): a store that only reads
(a command-line query) never imports SQLAlchemy; writing, migrating and PostgreSQL use SQLAlchemy.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblineage.lineage import auditlog
from nblineage.lineage.events import Event, check
from nblineage.lineage.merge import IdCache, Sql, apply_facts
from nblineage.lineage.private import private_file
from nblineage.lineage.sqlite_reader import ReadConnection, Readers
from nblineage.lineage.tables import HEAD, VERSION_TABLE
from nblineage.lineage.urls import ACCEPTED_URLS, shown_url, url_problem
from nblineage.value import Value

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

SQLITE_MAGIC = b"SQLite format 3\x00"
_ELSEWHERE = "Set NBLINEAGE_URL to another file."
TIMEOUT = 30.0  # seconds a command waits to connect, for a lock, or for one statement (the kernel's writer: less)
# Events a write transaction of Store.append takes: what every transaction pays once (the facets of tables each
# batch writes again, index pages, the commit) weighs less per event than with 1,000 (about 8 % of the CPU), and
# the write lock is held for well under a second.
BATCH = 4000
# New SQLite stores use 16 KiB pages: an event (a few KiB of JSON) then fits in a page beside others instead of
# spilling into an overflow page, which halves what an append writes. Existing stores keep their page size.
SQLITE_PAGE_SIZE = 16384
SQLITE_CACHE_KIB = 16384  # page cache per connection (SQLite's default is 2 MiB)
_MIGRATIONS = Path(__file__).with_name("migrations")
MAINTENANCE_OPT_IN = "nblineage_allow_maintenance_db"  # ?nblineage_allow_maintenance_db=1 (see README)
_MAINTENANCE_DATABASES = ("postgres", "template0", "template1")


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says why and what to do."""


class AppendResult(Value):
    """How many events an append stored, and how many were already there."""

    FIELDS = ("stored", "duplicates")
    __slots__ = FIELDS

    def __init__(self, stored: int, duplicates: int) -> None:
        self.stored, self.duplicates = stored, duplicates


class Store:
    """One lineage store, addressed by a SQLAlchemy URL."""

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        create: bool = True,
        timeout: float = TIMEOUT,
        connect_timeout: float | None = None,
    ) -> None:
        """Open the store at ``url``; ``create=False`` (readers) refuses a store that does not exist yet instead
        of creating it. ``timeout`` bounds waiting for SQLite's write lock and (PostgreSQL) one statement, and
        ``connect_timeout`` (default ``timeout``) reaching a server. Raises StoreError, with a one-line reason,
        for a URL or store it cannot use."""
        path = _plain_sqlite_path(url)
        problem = _text_problem(url) if path is not None else check_store_url(url)
        if problem:
            raise StoreError(problem)
        self._url_text = url.strip()
        self._url: URL | None = None
        self.is_sqlite = path is not None or self.url.get_backend_name() == "sqlite"
        self.create = create
        self._ids = IdCache()
        self._timeout, self._connect_timeout = timeout, connect_timeout or timeout
        self._engine: Engine | None = None
        self._readers = Readers(path, timeout, SQLITE_CACHE_KIB) if path is not None else None
        if self.is_sqlite:
            _check_sqlite_file(path if path is not None else self.url.database, create)
        if self._readers is None:
            self.engine  # noqa: B018  (created now, as a server store's connection problems show on open)
        try:
            if migrate:
                self.migrate()
        except Exception as error:
            self.close()
            if _is_database_error(error):
                reason = getattr(error, "orig", None) or error
                raise StoreError(f"cannot open the lineage store {self.display_url}: {reason}") from error
            raise
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> URL:
        """The store's SQLAlchemy URL (parsed when first asked for)."""
        if self._url is None:
            from sqlalchemy.engine import make_url

            self._url = make_url(self._url_text).difference_update_query([MAINTENANCE_OPT_IN])
        return self._url

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created when first needed (a plain SQLite file's reads do without it)."""
        if self._engine is None:
            rendered = str(self.url.render_as_string(hide_password=False))
            self._engine = _engine(rendered, self.is_sqlite, self._timeout, self._connect_timeout)
        return self._engine

    @property
    def display_url(self) -> str:
        """The URL with the password and secret-looking parameters hidden, for messages."""
        return shown_url(self._url if self._url is not None else self._url_text)

    def close(self) -> None:
        if self._readers is not None:
            self._readers.close()
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def read(self) -> Iterator[Connection | ReadConnection]:
        """A connection in a read transaction: SQLAlchemy's, or for a plain SQLite file a ``sqlite3`` one that runs
        the same SQL text (``lineage/sqlite_reader.py``)."""
        if self._readers is not None:
            with self._readers.read() as conn:
                yield conn
        else:
            with self._sql_read() as conn:
                yield conn

    @contextmanager
    def _sql_read(self) -> Iterator[Connection]:
        """A SQLAlchemy connection in a read transaction (what Alembic needs)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction that holds the write lock from BEGIN; a damaged SQLite file is
        refused first, untouched."""
        if self.is_sqlite:
            _refuse_damaged_sqlite(self.url.database)
        with self.engine.connect().execution_options(nblineage_write=True) as conn, conn.begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe when several processes open a new store at once."""
        if self._schema_is_current():
            return  # the common case, without importing alembic (or, reading SQLite, SQLAlchemy)
        if self._readers is not None:
            self._readers.close()  # opened on a file being made a store: later reads open it as one (WAL)
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        scripts = ScriptDirectory.from_config(config)
        heads = set(scripts.get_heads())

        def current(conn: Connection) -> set[str]:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return set(context.get_current_heads())

        with self._sql_read() as conn:
            if current(conn) == heads:
                return
        with self.write() as conn:
            if not self.is_sqlite:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7316251893)")
            revisions = current(conn)
            if revisions == heads:
                return
            unknown = [rev for rev in revisions if _revision(scripts, rev) is None]
            if unknown:
                raise StoreError(
                    f"the lineage store {self.display_url} has schema revision {', '.join(sorted(unknown))}, "
                    "newer than this nblineage knows: upgrade nblineage"
                )
            if not revisions:
                self._refuse_foreign(conn)
                if not self.create:
                    raise StoreError(
                        f"there is no lineage store in {self.display_url}: nothing has been recorded there yet "
                        "(check --url or NBLINEAGE_URL; `nblineage ingest` or a notebook with capture creates it)"
                    )
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _schema_is_current(self) -> bool:
        """One cheap query of the schema's revision."""
        try:
            with self.read() as conn:
                revisions = [row[0] for row in conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")]
        except Exception as error:
            if _is_database_error(error):
                return False  # no version table yet (a new store), or not ours: the full path decides
            raise
        return revisions == [HEAD]

    def _refuse_foreign(self, conn: Connection) -> None:
        """Never build a store inside a database that holds someone else's tables of the same names."""
        from sqlalchemy import inspect

        from nblineage.lineage import schema

        existing = set(inspect(conn).get_table_names())
        clashing = existing & set(schema.metadata.tables)
        if clashing:
            raise StoreError(
                f"{self.display_url} is not an nblineage store: it already has tables "
                f"({', '.join(sorted(clashing)[:5])}) and no {VERSION_TABLE}. nblineage leaves it untouched; "
                "set NBLINEAGE_URL to a new file or database."
            )

    def append(self, events: Iterable[Event], batch: int = BATCH) -> AppendResult:
        """Store events (idempotent on their hash) and derive the graph from the new ones, a batch at a time; the
        audit records of the new ones (``lineage/auditlog.py``) are appended in the same transaction."""
        stored = duplicates = 0
        pending = iter(events)
        while True:
            with cyclic_gc_paused():  # reading, checking and storing a batch makes no garbage cycles
                chunk = list(islice(pending, batch))
                if not chunk:
                    break
                unique = list({event.hash: event for event in chunk}.values())
                try:
                    with self.write() as conn:
                        self._ids.begin(conn)
                        audit = auditlog.pending(unique)
                        head = auditlog.lock(conn) if audit else None  # before looking for stored events
                        new = _insert_events(conn, unique)
                        apply_facts(conn, new, self._ids)
                        if head is not None:
                            records = [record for event in new for record in audit.get(event.hash, ())]
                            auditlog.append(conn, head, records)
                except BaseException:
                    self._ids.rollback()
                    raise
                self._ids.commit()
            stored += len(new)
            duplicates += len(chunk) - len(new)
        return AppendResult(stored=stored, duplicates=duplicates)

    def rebuild(self, batch: int = BATCH) -> int:
        """Re-derive every graph table from the stored events, in one transaction; returns the event count."""
        from sqlalchemy import select, update

        from nblineage.lineage import schema

        count = 0
        self._ids = IdCache()
        with self.write() as conn:
            conn.execute(
                update(schema.counters)
                .where(schema.counters.c.name == "graph_generation")
                .values(value=schema.counters.c.value + 1)
            )
            for table in schema.DERIVED:
                conn.execute(table.delete())
            last = 0
            while True:
                rows = conn.execute(
                    select(schema.events.c.id, schema.events.c.payload)
                    .where(schema.events.c.id > last)
                    .order_by(schema.events.c.id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                apply_facts(conn, [check(json.loads(row.payload)) for row in rows])
                count += len(rows)
                last = rows[-1].id
        return count

    def event_count(self) -> int:
        with self.read() as conn:
            return conn.exec_driver_sql("SELECT COUNT(*) FROM events").scalar_one()


def _revision(scripts, revision: str):
    try:
        return scripts.get_revision(revision)
    except Exception:
        return None


def _insert_events(conn: Connection, events: list[Event]) -> list[Event]:
    """Insert the events not stored yet; return them."""
    sql = Sql(conn)
    known = {row[0] for row in sql.where_in("SELECT hash FROM events WHERE hash IN", [e.hash for e in events])}
    new = [event for event in events if event.hash not in known]
    now = sql.time(datetime.now(timezone.utc).replace(tzinfo=None))
    sql.many(
        "INSERT INTO events (hash, kind, event_type, event_time, run_id, received_at, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
        [
            (
                event.hash,
                event.kind,
                event.event_type if isinstance(event.event_type, str) else None,
                sql.time(event.time),
                event.payload["run"]["runId"].lower() if event.kind == "RunEvent" else None,
                now,
                event.text,
            )
            for event in new
        ],
    )
    return new


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector while a batch allocates many short-lived, acyclic objects (it saves ~30%; parsing
    a JSON body of 1,000 events takes a third of the time without it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_store_url(url: str) -> str | None:
    """What is wrong with a store URL, in one line naming the accepted forms; None when nblineage can use it.

    The text-level checks of :func:`~nblineage.lineage.urls.url_problem` (no URL, unknown scheme, driver not
    installed), then what needs SQLAlchemy: an unknown or asynchronous driver, a PostgreSQL URL without a database,
    or one naming the server's maintenance database ``postgres`` (allowed with ``?nblineage_allow_maintenance_db=1``)
    or a template database (never).
    """
    from sqlalchemy import exc
    from sqlalchemy.engine import make_url

    problem = _text_problem(url)
    if problem:
        return problem
    try:
        parsed = make_url(url.strip())
    except (exc.ArgumentError, ValueError):
        return f"{shown_url(url)!r} is not a store URL; use {ACCEPTED_URLS}"
    shown = shown_url(parsed)
    try:
        dialect = parsed.get_dialect()
    except (exc.NoSuchModuleError, ImportError):
        return f"{shown}: unknown driver {parsed.drivername!r}; use {ACCEPTED_URLS}"
    try:
        dialect.import_dbapi()
    except ImportError as error:
        extra = ' (pip install "nblineage[postgres]")' if dialect.driver == "psycopg" else ""
        return f"{shown}: the driver of {parsed.drivername!r} is not installed ({error}){extra}; use {ACCEPTED_URLS}"
    if getattr(dialect, "is_async", False):
        return (
            f"{shown}: {parsed.drivername!r} is an asynchronous driver, which nblineage cannot use; use {ACCEPTED_URLS}"
        )
    if parsed.get_backend_name() == "postgresql":
        database = parsed.database or ""
        if not database:
            return f"{shown} names no database; use {ACCEPTED_URLS}"
        allowed = parsed.query.get(MAINTENANCE_OPT_IN) in ("1", "true", "yes")
        if database in _MAINTENANCE_DATABASES and (database != "postgres" or not allowed):
            opt_in = f", or add ?{MAINTENANCE_OPT_IN}=1 to use it anyway" if database == "postgres" else ""
            return (
                f"{shown} names the PostgreSQL server's {database!r} database, which is not for application tables: "
                f"create a database for nblineage (createdb lineage) and name it in the URL{opt_in}"
            )
    return None


def _text_problem(url: str) -> str | None:
    """What :func:`~nblineage.lineage.urls.url_problem` finds wrong with a URL, said with the URL."""
    problem = url_problem(url)
    if problem:
        return f"{shown_url(url)}: {problem}" if "://" in url else problem
    return None


def _plain_sqlite_path(url: Any) -> str | None:
    """The file a plain ``sqlite:///PATH`` URL names (no query, no escapes, no in-memory or URI database), read
    through ``sqlite3``; None for any other URL, which SQLAlchemy reads."""
    text = url.strip() if isinstance(url, str) else ""
    if not text.startswith("sqlite:///") or any(char in text for char in "?#%"):
        return None
    path = text[len("sqlite:///") :]
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def _is_database_error(error: BaseException) -> bool:
    """Whether ``error`` is the database's (``sqlite3``'s, or SQLAlchemy's wrapping of a driver's)."""
    database = sys.modules.get("sqlalchemy.exc")
    return isinstance(error, sqlite3.Error) or (database is not None and isinstance(error, database.DBAPIError))


def _check_sqlite_file(database: str | None, create: bool = True) -> None:
    """Refuse, before anything writes to it, a file that is not an nblineage SQLite store; create missing folders,
    or (``create=False``) refuse a store that does not exist."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a SQLite database file")
    if not path.exists() or path.stat().st_size == 0:
        if not create:
            why = "does not exist" if not path.exists() else "is empty"
            raise StoreError(
                f"there is no lineage store at {path} (the file {why}); nothing was created "
                "(check --url or NBLINEAGE_URL; `nblineage ingest` or a notebook with capture creates it)"
            )
        _create_private(path)
        return
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_MAGIC:
            raise StoreError(f"{path} is not a SQLite database; nblineage leaves it untouched. {_ELSEWHERE}")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.OperationalError:
        return  # busy, or being created by another process right now: opening it properly will tell
    except sqlite3.DatabaseError as error:  # not a database, or corrupt
        raise StoreError(f"{path} is a damaged SQLite database ({error}); nblineage leaves it untouched.") from None
    if tables and VERSION_TABLE not in tables:
        raise StoreError(
            f"{path} is not an nblineage store: it has other tables ({', '.join(sorted(tables)[:5])}). "
            f"nblineage leaves it untouched. {_ELSEWHERE}"
        )


def _create_private(path: Path) -> None:
    """Create a new store file 0600 in folders 0700 (its -wal and -shm files take its mode)."""
    try:
        private_file(path)
    except OSError as error:
        where = error.filename or path
        raise StoreError(
            f"cannot create the lineage store {path}: {error.strerror or error} ({where}). {_ELSEWHERE}"
        ) from None


_INTACT: set[str] = set()  # SQLite files this process found intact (checked once: the check reads the whole file)


def _refuse_damaged_sqlite(database: str | None) -> None:
    """Refuse to write into a SQLite file that fails ``PRAGMA quick_check``; it is read only, never changed."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser().resolve()
    if str(path) in _INTACT or not path.exists():
        return
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            problems = [" ".join(str(row[0]).split()) for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.OperationalError:
        return  # busy or unreadable right now: writing will say so
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    if problems != ["ok"]:
        raise StoreError(
            f"{path} is a damaged SQLite database (quick_check: {'; '.join(problems)}); nblineage will not write "
            f"to it and leaves it untouched. Restore it from a backup (sqlite3 {path.name} .recover), or "
            f"{_ELSEWHERE[0].lower()}{_ELSEWHERE[1:]}"
        )
    _INTACT.add(str(path))


def set_write_pragmas(cursor: Any, timeout: float) -> None:
    """The settings of a connection that writes a SQLite store (a DB-API cursor or ``sqlite3`` connection), the
    same whether SQLAlchemy or the standard library opened it (``sqlite_writer.py``)."""
    cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")  # a new store only: no effect on an existing one
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
    cursor.execute("PRAGMA synchronous = NORMAL" if mode and mode[0] == "wal" else "PRAGMA synchronous = FULL")
    # Checkpoint (and fsync) every 4,096 pages of WAL, not SQLite's 1,000: a batch of events writes a few thousand
    # pages; the WAL file is cut back to 64 MiB after a checkpoint.
    cursor.execute("PRAGMA wal_autocheckpoint = 4096")
    cursor.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
    cursor.execute("PRAGMA foreign_keys = ON")


def _engine(url: str, is_sqlite: bool, timeout: float, connect_timeout: float) -> Engine:
    from sqlalchemy import create_engine, event

    internal = {"nblineage_internal": True}  # the kernel's SQL hooks ignore the store's own statements
    if not is_sqlite:  # a server that accepts and never answers, or a statement stuck on a lock, ends in time
        limits = {
            "connect_timeout": max(1, round(connect_timeout)),
            "options": f"-c statement_timeout={int(timeout * 1000)}",
        }
        return create_engine(url, pool_pre_ping=True, execution_options=internal, connect_args=limits)
    engine = create_engine(url, execution_options=internal)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        set_write_pragmas(cursor, timeout)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("nblineage_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
