"""The SQLite store is private when nblineage creates it, a damaged one is never written to, and a path that cannot
hold a store is a clear error: each through `nblineage ingest` as a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from events import run_event

from nblineage.lineage.events import check
from nblineage.lineage.private import private_folder
from nblineage.lineage.store import Store

NBLINEAGE = str(Path(sys.executable).with_name("nblineage"))


def events(count: int, offset: int = 0) -> list[dict]:
    return [
        run_event(
            ("jupyter", f"job-{number}"),
            [("file", f"/data/in-{number}.csv", "v1")],
            [("file", f"/data/out-{number}.csv", "v2")],
            run_id=str(uuid.UUID(int=number + 1)),
        )
        for number in range(offset, offset + count)
    ]


def ingest(url: str, path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [NBLINEAGE, "--url", url, "ingest", str(path)]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_folders_are_private(tmp_path: Path) -> None:
    database = tmp_path / "new" / "nested" / "lineage.db"
    old_umask = os.umask(0o022)
    try:
        with Store(f"sqlite:///{database}") as store:
            store.append([check(event) for event in events(3)])
            with store.read():  # WAL mode: while a connection is open its -wal and -shm files exist
                assert mode(database) == 0o600
                for suffix in ("-wal", "-shm"):
                    assert mode(Path(f"{database}{suffix}")) == 0o600, suffix
    finally:
        os.umask(old_umask)
    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "nested") == 0o700


def test_existing_folders_keep_their_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    private_folder(shared / "mine")
    assert mode(shared) == 0o755 and mode(shared / "mine") == 0o700


def test_the_outbox_folder_is_private(tmp_path: Path) -> None:
    from nblineage.kernel_ext.outbox import Outbox

    old_umask = os.umask(0o022)
    try:
        outbox = Outbox(tmp_path / "data" / "nblineage" / "outbox" / "abc")
    finally:
        os.umask(old_umask)
    try:
        for folder in ("data", "data/nblineage", "data/nblineage/outbox", "data/nblineage/outbox/abc"):
            assert mode(tmp_path / folder) == 0o700, folder
        assert mode(outbox.path) == 0o600
    finally:
        outbox.close(delete=True)


@pytest.mark.parametrize("leftovers", [False, True], ids=["alone", "with-leftover-outboxes"])
def test_a_store_with_garbage_in_the_middle_is_refused_untouched(tmp_path: Path, leftovers: bool) -> None:
    """Also when kernels left outboxes: the command's look for leftovers (and the store id it keeps) writes nothing
    into a damaged store."""
    data_dir = tmp_path / "jupyter"
    if leftovers:
        waiting = data_dir / "nblineage" / "outbox" / "0123456789abcdef" / "1-gone.jsonl"
        waiting.parent.mkdir(parents=True)
        waiting.write_text(json.dumps(events(1, offset=9000)[0]) + "\n")
    database = tmp_path / "lineage.db"
    url = f"sqlite:///{database}"
    with Store(url) as store:
        store.append([check(event) for event in events(3000)])
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = database.stat().st_size
    assert size > 1_000_000
    with database.open("r+b") as handle:
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(os.urandom(64 * 1024))
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    path = tmp_path / "more.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events(5, offset=5000)))

    done = ingest(url, path, {"JUPYTER_DATA_DIR": str(data_dir)})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"nblineage: {database} is a damaged SQLite database (quick_check: " in done.stderr
    assert "nblineage will not write to it and leaves it untouched" in done.stderr
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_an_intact_store_is_checked_and_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events(5)))
    assert ingest(url, path).returncode == 0
    done = ingest(url, path)
    assert (done.returncode, done.stdout) == (0, "0 events stored, 5 already stored, 0 rejected, from 1 files\n")
    with sqlite3.connect(tmp_path / "lineage.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_store_path_under_a_regular_file_is_a_clear_error(tmp_path: Path) -> None:
    regular = tmp_path / "notes.txt"
    regular.write_text("my notes\n")
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(events(1)[0]) + "\n")
    done = ingest(f"sqlite:///{regular}/sub/lineage.db", path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr == (
        f"nblineage: cannot create the lineage store {regular}/sub/lineage.db: Not a directory ({regular}). "
        "Set NBLINEAGE_URL to another file.\n"
    )
    assert regular.read_text() == "my notes\n"
