"""A plain SQLite store appended through ``sqlite3`` (lineage/sqlite_writer.py) ends up with exactly what the
SQLAlchemy path stores: the same events, graph and audit log; without importing SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from graphdump import snapshot
from model_events import scenario

from nblineage.kernel_ext import delivery
from nblineage.lineage.events import check
from nblineage.lineage.sqlite_writer import SqliteStore
from nblineage.lineage.store import Store

GOLDEN = Path(__file__).with_name("emit_golden.jsonl")
ROOT = Path(__file__).resolve().parents[1]


def _events(tmp_path: Path) -> list[dict]:
    lines = [json.loads(line)["line"] for line in GOLDEN.read_text().splitlines()]
    cells = [event for line in lines for event in delivery.events_of(line)]
    return scenario(tmp_path).events + cells


def _rows(store: Store) -> dict[str, list[tuple]]:
    with store.read() as conn:
        return {
            "events": sorted(tuple(row) for row in conn.exec_driver_sql("SELECT hash, kind, payload FROM events")),
            "audit": [tuple(row) for row in conn.exec_driver_sql("SELECT * FROM audit_log ORDER BY idx")],
            "head": [tuple(row) for row in conn.exec_driver_sql("SELECT size, frontier FROM audit_head")],
        }


def test_the_same_rows_as_through_sqlalchemy(tmp_path: Path) -> None:
    checked = [check(event) for event in _events(tmp_path)]
    assert len(checked) > 20
    stores = []
    for name, kind in (("alchemy.db", Store), ("stdlib.db", SqliteStore)):
        url = f"sqlite:///{tmp_path / name}"
        Store(url).close()
        with kind(url) as store:
            for start in range(0, len(checked), 7):  # several transactions, ids cached between them
                store.append(checked[start : start + 7])
            assert store.append(checked).stored == 0  # all stored already
        stores.append(url)
    with Store(stores[0]) as first, Store(stores[1]) as second:
        assert _rows(first) == _rows(second)
        assert _rows(first)["audit"]  # the scenario's model saves are audit records
        assert snapshot(first) == snapshot(second)


def test_a_refused_batch_leaves_nothing_and_the_next_one_is_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()
    good = [check(event) for event in _events(tmp_path)[:4]]
    broken = type(good[0])(payload={"run": {}}, kind="RunEvent", time=good[0].time, hash="x" * 64, text="{}")
    with SqliteStore(url) as store:
        with pytest.raises(Exception):  # noqa: B017  (whatever derive raises on it)
            store.append([good[0], broken])
        assert store.event_count() == 0  # rolled back whole
        assert store.append(good).stored == 4
        store.probe()


def test_appending_imports_no_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join(json.dumps(event) for event in _events(tmp_path)))
    code = (
        "import sys, json\n"
        "from nblineage.lineage.events import check\n"
        "from nblineage.lineage.sqlite_writer import SqliteStore\n"
        f"store = SqliteStore({url!r})\n"
        f"events = [check(json.loads(line)) for line in open({str(lines)!r})]\n"
        "print(store.append(events).stored, 'sqlalchemy' in sys.modules, 'alembic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    stored, sqlalchemy, alembic = done.stdout.split()
    assert int(stored) > 20 and (sqlalchemy, alembic) == ("False", "False")


def test_a_store_to_migrate_goes_through_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with SqliteStore(url) as store:  # a new file: Alembic makes the schema, on SQLAlchemy's connection
        assert store.current()
        assert store.append([check(_events(tmp_path)[0])]).stored == 1
