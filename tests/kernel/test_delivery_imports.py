"""The first delivery in a real kernel builds its events without importing openlineage-python, and writes them
through a separate delivery process: no SQLAlchemy in the kernel."""

from __future__ import annotations

import time
from pathlib import Path

from kernels import Kernel, clean_env

from nblineage.lineage.store import Store

FLUSHED = "all(s.writer.flush(60) for s in __import__('nblineage.kernel_ext').kernel_ext._sessions.values())"
DELIVERED = "sum(s.writer.delivered for s in __import__('nblineage.kernel_ext').kernel_ext._sessions.values())"
HEAVY = "sorted(name for name in __import__('sys').modules if name.startswith(('openlineage', 'attr', 'sqlalchemy')))"
CHILD = "[s.writer._store._process.pid for s in __import__('nblineage.kernel_ext').kernel_ext._sessions.values()][0]"


def test_the_first_delivery_imports_nothing_heavy(tmp_path: Path) -> None:
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
