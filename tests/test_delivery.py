"""Delivery of kernel outboxes to real stores: bad records are set aside and everything else is delivered, torn
lines are recovered up to the tear, leftovers are found by the store's identity, every command delivers them,
`nblineage replay` stores what was set aside once the store takes it, and nothing waits without a time-out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from events import run_event
from sqlalchemy import text

from nblineage.kernel_ext import delivery
from nblineage.kernel_ext.outbox import DEAD_LETTERS, Outbox, mark, set_aside_count
from nblineage.kernel_ext.writer import Writer
from nblineage.lineage.store import Store


def line(name: str, **kwargs) -> str:
    return orjson.dumps(run_event(("jupyter", name), **kwargs)).decode()


def names(url: str) -> list[str]:
    with Store(url) as store, store.read() as conn:
        return sorted(json.loads(row[0])["job"]["name"] for row in conn.execute(text("SELECT payload FROM events")))


def refuse_poison(store: Store) -> None:
    """Make the store itself refuse events that mention 'poison' (as a store refuses a record it cannot hold)."""
    with store.write() as conn:
        if store.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.payload LIKE '%poison%' "
                "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF strpos(NEW.payload, 'poison') > 0 THEN RAISE EXCEPTION 'poison refused'; END IF; RETURN NEW; END $$"
            )
            conn.exec_driver_sql("CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison()")


def allow_poison(store: Store) -> None:
    with store.write() as conn:
        conn.exec_driver_sql("DROP TRIGGER poison" + ("" if store.is_sqlite else " ON events"))


def leftover(folder: Path, data: bytes) -> Path:
    """An outbox file of a kernel that is gone."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"1-{os.urandom(6).hex()}.jsonl"
    path.write_bytes(data)
    return path


def test_a_record_the_store_refuses_is_set_aside_and_the_rest_delivered(tmp_path: Path, store_url: str) -> None:
    folder = tmp_path / "outbox" / "x"
    outbox = Outbox(folder)
    writer = Writer(outbox, store_url)
    with Store(store_url) as store:
        refuse_poison(store)
    writer.start()
    writer.submit([line("a"), line("poison"), line("b")])
    assert writer.flush(60)
    writer.submit([line("c")])
    assert writer.flush(60)
    writer.stop()
    assert names(store_url) == ["a", "b", "c"]
    assert writer.problems == {} and set_aside_count(folder) == 1
    entry = json.loads((folder / DEAD_LETTERS).read_text())
    assert "poison refused" in entry["reason"] and json.loads(entry["line"])["job"]["name"] == "poison"
    assert not list(folder.glob("*.jsonl"))  # delivered: the outbox is gone


def test_a_torn_line_is_recovered_up_to_the_tear(tmp_path: Path, store_url: str) -> None:
    folder = tmp_path / "jupyter" / "nblineage" / "outbox" / "unsent"
    torn = line("torn")[:-40]  # the disk filled in the middle of this record; the next one was glued to it
    data = f"{line('a')}\n{torn}{line('b')}\n{line('c')}\n{line('d')[:30]}".encode()
    leftover(folder, data + b"\xff\xfe\n")
    with Store(store_url) as store:
        assert delivery.deliver_leftovers(store, [folder]) == 3
    assert names(store_url) == ["a", "b", "c"]
    reasons = [json.loads(entry)["reason"] for entry in (folder / DEAD_LETTERS).read_text().splitlines()]
    assert len(reasons) == 2 and all("cut short" in why for why in reasons)
    assert not list(folder.glob("*.jsonl"))


def test_replay_stores_what_was_set_aside_once_the_store_takes_it(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nblineage.cli import main

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    folder = delivery.outbox_folder(store_url)
    leftover(folder, f"{line('a')}\n{line('poison')}\n".encode())
    with Store(store_url) as store:
        refuse_poison(store)
    assert main(["--url", store_url, "datasets"]) == 0  # any command delivers what kernels left
    assert "delivered 1 records" in capsys.readouterr().err
    assert names(store_url) == ["a"] and set_aside_count(folder) == 1
    assert main(["--url", store_url, "replay"]) == 1
    assert "0 set-aside records stored, 1 still set aside" in capsys.readouterr().out
    with Store(store_url) as store:
        allow_poison(store)
    assert main(["--url", store_url, "replay"]) == 0
    assert "1 set-aside records stored, 0 still set aside" in capsys.readouterr().out
    assert names(store_url) == ["a", "poison"] and set_aside_count(folder) == 0


def test_leftovers_are_found_by_the_store_identity_not_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nblineage.cli import main

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    alias = f"sqlite:///{tmp_path / '.' / 'lineage.db'}"  # the same file, another URL
    with Store(url) as store:
        identity = delivery.store_id(store)
    folder = delivery.outbox_folder(url)
    leftover(folder, f"{line('left')}\n".encode())
    mark(folder, identity)  # a kernel on this store had reached it
    assert main(["--url", alias, "datasets"]) == 0
    assert names(url) == ["left"] and not list(folder.glob("*.jsonl"))
    with Store(alias) as store:
        assert delivery.store_id(store) == identity


def test_a_command_delivers_no_leftovers_of_another_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nblineage.cli import main

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    ours, theirs = f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'theirs.db'}"
    with Store(theirs) as store:
        mark(leftover(delivery.outbox_folder(theirs), f"{line('theirs')}\n".encode()).parent, delivery.store_id(store))
    assert main(["--url", ours, "ingest", str(leftover(tmp_path / "in", f"{line('ours')}\n".encode()))]) == 0
    assert names(ours) == ["ours"] and names(theirs) == []


def silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, server.getsockname()[1]


def test_the_cli_gives_up_on_a_server_that_accepts_and_never_answers(tmp_path: Path) -> None:
    server, port = silent_server()
    try:
        command = [str(Path(sys.executable).with_name("nblineage")), "datasets"]
        env = os.environ | {"NBLINEAGE_URL": f"postgresql+psycopg://u@127.0.0.1:{port}/lineage"}
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert time.monotonic() - started < 30
        assert done.returncode == 2 and "timeout" in done.stderr.lower() and "Traceback" not in done.stderr
    finally:
        server.close()


def test_a_writer_whose_store_is_down_stops_at_once(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outbox = Outbox(tmp_path / "outbox")
    writer = Writer(outbox, f"postgresql+psycopg://u@127.0.0.1:{port}/lineage")
    writer.start()
    writer.submit([line("a")])
    deadline = time.monotonic() + 60
    while "store" not in writer.problems and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.submit([line("b")])
    started = time.monotonic()
    writer.stop()
    assert time.monotonic() - started < 0.5
    assert len(outbox.path.read_text().splitlines()) == 2  # kept for the next kernel or command


def test_a_cell_starts_only_once_a_background_import_is_done(tmp_path: Path) -> None:
    """Background work holds ``importing`` while it imports a library the first time; the next cell waits for it
    (an import on each thread at once can deadlock on a library's import-hook lock, as with mlflow.autolog)."""
    writer = Writer(Outbox(tmp_path / "outbox"), None)
    importing, release = threading.Event(), threading.Event()

    def background_import() -> None:
        with writer.importing:
            importing.set()
            release.wait(30)

    worker = threading.Thread(target=background_import)
    worker.start()
    importing.wait(30)
    cell = threading.Thread(target=writer.cell_started)
    cell.start()
    cell.join(0.3)
    assert cell.is_alive() and not writer._cell_running.is_set()  # the cell waits for the import
    release.set()
    cell.join(30)
    worker.join(30)
    assert writer._cell_running.is_set()


def test_an_outbox_append_is_all_or_nothing(tmp_path: Path) -> None:
    import resource
    import signal

    outbox = Outbox(tmp_path / "outbox")
    outbox.append([line("a")])
    size = outbox.size()
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 50, limits[1]))  # a disk that fills in mid-record
    try:
        with pytest.raises(OSError):
            outbox.append([line("b")])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert outbox.size() == size
    outbox.append([line("c")])
    assert [json.loads(text)["job"]["name"] for text in outbox.read_from(0)[0]] == ["a", "c"]


def test_a_session_makes_no_private_temp_folder_it_does_not_use(tmp_path: Path) -> None:
    probe = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'nblineage')\n"
        "shell.run_cell('a = 1')\n"
        "import nblineage.kernel_ext as k\n"
        "assert next(iter(k._sessions.values())).writer.flush(60)\n"
    )
    (tmp_path / "tmp").mkdir()
    env = os.environ | {
        "TMPDIR": str(tmp_path / "tmp"),
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
    }
    subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=120)
    assert names(f"sqlite:///{tmp_path / 'lineage.db'}")  # it ran and delivered
    assert list((tmp_path / "tmp").iterdir()) == []
