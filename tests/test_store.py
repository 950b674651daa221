"""The store: idempotent append, rebuild, safe opening, concurrent writers and migrations."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import zlib
from pathlib import Path

import pytest
from events import run_event
from graphdump import snapshot
from postgres_db import POSTGRES_ADMIN_URL, postgres_database
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from nblineage.lineage.events import check
from nblineage.lineage.schema import VERSION_TABLE
from nblineage.lineage.store import ACCEPTED_URLS, Store, StoreError, check_store_url, shown_url


def notebook_events(prefix: str, count: int) -> list[dict]:
    """``count`` cell runs, each reading the previous cell's output."""
    return [
        run_event(
            ("jupyter", f"{prefix}.ipynb#cell{i}"),
            inputs=[("file", f"/data/{prefix}/{i}.csv", f"v{i}")],
            outputs=[("file", f"/data/{prefix}/{i + 1}.csv", f"v{i + 1}")],
            run_id=f"00000000-0000-4000-8000-{zlib.crc32(prefix.encode()) % 10**6:06d}{i:06d}",
            time=f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
        )
        for i in range(count)
    ]


def test_the_same_event_is_stored_once(store: Store) -> None:
    event = check(run_event(("ns", "job"), [("ns", "a")], [("ns", "b")]))
    assert store.append([event, event]).stored == 1
    assert store.append([event]).duplicates == 1
    assert store.event_count() == 1


def test_rebuild_gives_the_same_graph(store: Store) -> None:
    store.append(check(e) for e in notebook_events("nb", 30))
    before = snapshot(store)
    assert len(before["edges"]) == 30
    assert store.rebuild() == 30
    assert snapshot(store) == before


def test_sqlite_runs_in_wal_mode(sqlite_store: Store) -> None:
    with sqlite_store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_a_file_that_is_not_sqlite_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my precious notes\n" * 100)
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == b"my precious notes\n" * 100


def test_a_sqlite_file_of_another_application_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"not an nblineage store.*users"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_a_damaged_store_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    damaged = bytearray(path.read_bytes())
    damaged[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(damaged))
    with pytest.raises(StoreError, match="damaged"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == bytes(damaged)


def test_a_newer_schema_is_refused(store_url: str) -> None:
    Store(store_url).close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_from_the_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this nblineage"):
        Store(store_url)


def test_postgres_tables_of_the_same_name_are_not_taken_over() -> None:
    with postgres_database() as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE events (id serial PRIMARY KEY, what text)"))
        engine.dispose()
        with pytest.raises(StoreError, match=r"not an nblineage store.*events"):
            Store(url)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        Store(f"sqlite:///{tmp_path}")


def test_missing_folders_are_created(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'a' / 'b' / 'lineage.db'}") as store:
        assert store.event_count() == 0


def _open(url: str, start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    Store(url).close()


def _write(url: str, events: list[dict], start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    with Store(url) as store:
        for offset in range(0, len(events), 7):
            store.append([check(e) for e in events[offset : offset + 7]], batch=7)


def _run_together(target, argument_lists: list[tuple]) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [context.Process(target=target, args=(*args, start)) for args in argument_lists]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def test_several_processes_can_open_a_new_store_at_once(store_url: str) -> None:
    _run_together(_open, [(store_url,)] * 6)
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT COUNT(*) FROM {VERSION_TABLE}")).scalar() == 1
    engine.dispose()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    shared = notebook_events("shared", 20)
    per_writer = [notebook_events(f"writer{n}", 120) + shared for n in range(4)]
    _run_together(_write, [(url, events) for events in per_writer])
    with Store(url) as store:
        assert store.event_count() == 4 * 120 + 20
        together = snapshot(store)
    with Store(f"sqlite:///{tmp_path / 'alone.db'}") as alone:
        alone.append(check(e) for events in per_writer for e in events)
        assert snapshot(alone)["edges"] == together["edges"]
        assert snapshot(alone)["runs"] == together["runs"]


def test_the_schema_head_constant_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from nblineage.lineage import schema, store

    config = Config()
    config.set_main_option("script_location", str(store._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [schema.HEAD]


def test_a_store_from_before_the_run_key_gets_each_runs_latest_job_and_parent_on_open(store_url: str) -> None:
    run, early, late = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
    events = [
        run_event(("jobs", name), [("ns", "a")], [("ns", "b")], run_id=run, time=time, parent=(parent, ("jobs", "s")))
        for name, time, parent in (("early", "2026-01-01T00:00:01Z", early), ("late", "2026-01-01T00:00:02Z", late))
    ]
    with Store(store_url) as store:
        store.append([check(event) for event in events])
        with store.write() as conn:  # what revision 0002 kept when the early event arrived first
            early_job = "(SELECT id FROM jobs WHERE name = 'early')"
            conn.execute(text(f"UPDATE runs SET job_id = {early_job}, parent_run_id = '{early}'"))
            conn.execute(text(f"UPDATE edges SET job_pk = {early_job} WHERE run_pk <> 0"))
            conn.execute(text("ALTER TABLE runs DROP COLUMN parent_key"))
            conn.execute(text("DROP TABLE audit_log"))  # and no audit log yet (0004)
            conn.execute(text("DROP TABLE audit_head"))
            conn.execute(text("DROP TABLE declared_versions"))  # (0005)
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0002_output_steps'"))
    with Store(store_url) as store:
        expected = snapshot(store)
        store.rebuild()
        assert snapshot(store) == expected
        assert {row[1:4] for row in expected["runs"]} == {("jobs", "late", late)}
        assert {row[6:9] for row in expected["edges"]} == {(run, "jobs", "late")}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "the store URL is empty"),
        ("sqlte:///tmp/x.db", "unknown store scheme 'sqlte'"),
        ("postgres://me:pw@db:5432/lineage", "not postgres://"),
        ("/srv/lineage.db", "for a SQLite file write sqlite:////srv/lineage.db"),
        ("postgresql+asyncpg://db/lineage", "'postgresql+asyncpg'"),
        ("postgresql+psycopg://db:5432", "names no database"),
        ("postgresql+psycopg://me:pw@db:5432/postgres", "maintenance_db=1 to use it anyway"),
        ("postgresql+psycopg://db:5432/template1", "'template1' database"),
        ("postgresql+psycopg://db:5432/template0?nblineage_allow_maintenance_db=1", "'template0' database"),
    ],
)
def test_a_bad_store_url_is_named_in_one_line(url: str, says: str) -> None:
    problem = check_store_url(url)
    assert problem is not None and says in problem and "\n" not in problem
    assert "pw" not in problem
    assert ACCEPTED_URLS in problem or "create a database for nblineage" in problem
    with pytest.raises(StoreError, match="^" + re.escape(problem) + "$"):
        Store(url)


def test_good_store_urls_pass_the_check(tmp_path: Path) -> None:
    for url in (
        f"sqlite:///{tmp_path / 'lineage.db'}",
        "sqlite://",
        "postgresql+psycopg://me:pw@db:5432/lineage",
        "postgresql://db/lineage",
        "postgresql+psycopg://db/postgres?nblineage_allow_maintenance_db=1",
    ):
        assert check_store_url(url) is None, url


def test_shown_urls_hide_secrets() -> None:
    assert shown_url("postgresql+psycopg://me:pw@db:5432/lineage?sslpassword=x&sslmode=require") == (
        "postgresql+psycopg://me:***@db:5432/lineage?sslmode=require"
    )


@pytest.mark.postgres
def test_the_maintenance_database_is_refused_and_can_be_opted_into() -> None:
    admin = make_url(POSTGRES_ADMIN_URL)
    if admin.database != "postgres":
        pytest.skip("NBLINEAGE_TEST_POSTGRES does not name the maintenance database")
    engine = create_engine(POSTGRES_ADMIN_URL)
    with engine.connect() as conn:
        before = sorted(inspect(conn).get_table_names())
    engine.dispose()
    with pytest.raises(StoreError, match="maintenance_db=1"):
        Store(POSTGRES_ADMIN_URL)
    engine = create_engine(POSTGRES_ADMIN_URL)
    with engine.connect() as conn:
        assert sorted(inspect(conn).get_table_names()) == before
    engine.dispose()
    # the opt-in parameter is nblineage's own: the driver never sees it
    with postgres_database() as url, Store(f"{url}?nblineage_allow_maintenance_db=1") as store:
        assert store.event_count() == 0
        assert "nblineage_allow" not in store.display_url


def test_a_reader_never_creates_a_store(tmp_path: Path) -> None:
    path = tmp_path / "a" / "lineage.db"
    with pytest.raises(StoreError, match=f"there is no lineage store at {re.escape(str(path))}"):
        Store(f"sqlite:///{path}", create=False)
    assert not (tmp_path / "a").exists()
    Store(f"sqlite:///{path}").close()
    with Store(f"sqlite:///{path}", create=False) as store:
        assert store.event_count() == 0
    with postgres_database() as url:
        with pytest.raises(StoreError, match="there is no lineage store in"):
            Store(url, create=False)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
        engine.dispose()
        Store(url).close()
        Store(url, create=False).close()
