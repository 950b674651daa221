"""The first delivery in a real kernel builds its events without importing openlineage-python, and writes them
without SQLAlchemy in the kernel: to a store of the newest schema through ``sqlite3`` in the kernel, to a new store
through a separate delivery process (which creates it)."""

from __future__ import annotations

import time
from pathlib import Path

from driven_kernel import Kernel, clean_env

from nblineage.lineage.store import Store

FLUSHED = "all(s.writer.flush(60) for s in __import__('nblineage.kernel_ext').kernel_ext._sessions.values())"
DELIVERED = "sum(s.writer.delivered for s in __import__('nblineage.kernel_ext').kernel_ext._sessions.values())"
HEAVY = "sorted(name for name in __import__('sys').modules if name.startswith(('openlineage', 'attr', 'sqlalchemy')))"
CHILD = "[s.writer._store._process.pid for s in __import__('nblineage.kernel_ext').kernel_ext._sessions.values()][0]"


CHILDREN = (
    "sum(len(open(f'/proc/self/task/{t}/children').read().split())"
    " for t in __import__('os').listdir('/proc/self/task'))"
)
STORE = "type(next(iter(__import__('nblineage.kernel_ext').kernel_ext._sessions.values())).writer._store).__name__"


def test_an_existing_store_is_written_in_the_kernel_without_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()  # the store exists, as a user's does after the first kernel
    env = clean_env(NBLINEAGE_URL=url, NBLINEAGE_NOTEBOOK=str(tmp_path / "a.ipynb"))
    with Kernel(env, tmp_path) as kernel:
        assert kernel.run("%load_ext nblineage")["status"] == "ok"
        assert kernel.run("numbers = list(range(10))")["status"] == "ok"
        assert kernel.evaluate(FLUSHED) == "True"
        assert int(kernel.evaluate(DELIVERED)) >= 2
        assert kernel.evaluate(HEAVY) == "[]"
        assert kernel.evaluate(STORE) == "'SqliteStore'"  # no delivery process to start
        assert kernel.evaluate(CHILDREN) == "0"
    with Store(url) as store, store.read() as conn:
        rows = conn.exec_driver_sql("SELECT kind, event_type FROM events").all()
    assert ("RunEvent", "START") in [tuple(row) for row in rows] and len(rows) >= 3  # session START, cell, COMPLETE


def test_a_new_store_is_made_by_the_delivery_process(tmp_path: Path) -> None:
    env = clean_env(NBLINEAGE_URL=f"sqlite:///{tmp_path / 'lineage.db'}", NBLINEAGE_NOTEBOOK=str(tmp_path / "a.ipynb"))
    with Kernel(env, tmp_path) as kernel:
        assert kernel.run("%load_ext nblineage")["status"] == "ok"
        assert kernel.run("numbers = list(range(10))")["status"] == "ok"
        assert kernel.evaluate(FLUSHED) == "True"
        assert int(kernel.evaluate(DELIVERED)) >= 2  # the session's START and the cell's record
        assert kernel.evaluate(HEAVY) == "[]"
        child = int(kernel.evaluate(CHILD))
        assert Path(f"/proc/{child}").exists()
    with Store(f"sqlite:///{tmp_path / 'lineage.db'}") as store, store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() >= 2
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:  # ends once the kernel has gone
        time.sleep(0.1)
    assert not Path(f"/proc/{child}/cmdline").exists() or not Path(f"/proc/{child}/cmdline").read_bytes()
