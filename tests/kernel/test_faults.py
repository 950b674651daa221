"""Fault injection in real kernels: hook faults, poison records, a full disk, kills at random points, a store that
is down then up or never answers, and eight notebooks run at once. After each, every event is stored exactly once
(or set aside with its reason) and the store passes its integrity check."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from driven_kernel import Kernel, clean_env
from notebooks import make_notebook, run_notebook
from sqlalchemy import create_engine, text

from nblineage.kernel_ext.outbox import DEAD_LETTERS
from nblineage.lineage.store import Store

SESSION = "import nblineage.kernel_ext as k\ns = next(iter(k._sessions.values()))\n"
FLUSHED = SESSION + "print(s.writer.flush(60))"
TRIED = "next(iter(__import__('nblineage.kernel_ext').kernel_ext._sessions.values())).writer.failures"


def stored(url: str) -> list[dict]:
    with Store(url) as store, store.read() as conn:
        return [json.loads(row[0]) for row in conn.execute(text("SELECT payload FROM events ORDER BY id"))]


def stderr(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.get("name") == "stderr")


def assert_sound(url: str) -> None:
    """Each run's event stored once, and (SQLite) the file passes its integrity check."""
    events = stored(url)
    keys = [(e["run"]["runId"], e["eventType"]) for e in events if "run" in e]
    assert len(keys) == len(set(keys))
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def cells_of(url: str, notebook: Path) -> list[str]:
    """The cells of ``notebook`` that completed, by id, as stored."""
    return sorted(
        e["job"]["name"].rsplit("#", 1)[1]
        for e in stored(url)
        if e["job"]["name"].startswith(f"{notebook}#") and e["eventType"] in ("COMPLETE", "FAIL")
    )


def command(url: str, data: Path) -> None:
    """Any nblineage command, run as a user would after the run (it delivers what kernels left)."""
    from nblineage.cli import main

    saved = os.environ.get("JUPYTER_DATA_DIR")
    os.environ["JUPYTER_DATA_DIR"] = str(data)
    try:
        assert main(["--url", url, "datasets"]) == 0
    finally:
        os.environ.pop("JUPYTER_DATA_DIR")
        if saved is not None:
            os.environ["JUPYTER_DATA_DIR"] = saved


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}


# Hook faults ---------------------------------------------------------------------------------------------------


def test_hook_faults_never_reach_the_users_code_nor_lose_later_cells(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.csv").write_text("x,y\n1,2\n")
    notebook = tmp_path / "faults.ipynb"
    ran = run_notebook(
        notebook,
        [
            "import pandas as pd\nimport nblineage.kernel_ext.instrument as instrument\nenter = instrument.enter\n"
            "instrument.enter = lambda *args: 1 / 0",  # c1: the hook's bookkeeping breaks
            f"frame = pd.read_csv({str(tmp_path / 'a.csv')!r})\nprint(frame.shape)",  # c2: the call still runs
            "instrument.enter = enter\nimport nblineage.kernel_ext.fallback as fallback\napply = fallback.apply\n"
            "fallback.apply = lambda *args: {}['broken']",  # c3: every cell end now meets a fault
            f"b = pd.read_csv({str(tmp_path / 'b.csv')!r})",  # c4
            f"c = pd.read_csv({str(tmp_path / 'c.csv')!r})",  # c5
            "from nblineage.kernel_ext.capture import Capture\nread = Capture.read\n"
            "Capture.read = lambda *args: [][1]",  # c6: one internal fault that every reader meets
            f"pd.read_csv({str(tmp_path / 'a.csv')!r}); pd.read_table({str(tmp_path / 'b.csv')!r})",  # c7
            f"pd.read_fwf({str(tmp_path / 'c.csv')!r}); Capture.read = read",  # c8
            FLUSHED,
        ],
        env,
    )
    assert ran.cells[2].outputs[0]["text"] == "(1, 2)\n"  # on main: ZeroDivisionError in the user's cell
    warnings = "".join(stderr(cell) for cell in ran.cells)
    assert warnings.count("nblineage could not record lineage") == 3, warnings  # one per kind of fault
    assert cells_of(url, notebook) == [f"c{i}" for i in range(1, 10)]  # no cell lost to a fault at its end
    inputs = {
        e["job"]["name"].rsplit("#", 1)[1]: [i["name"] for i in e.get("inputs", [])]
        for e in stored(url)
        if e["job"]["name"].startswith(f"{notebook}#") and e["eventType"] == "COMPLETE"
    }
    assert inputs["c4"] == [str(tmp_path / "b.csv")] and inputs["c5"] == [str(tmp_path / "c.csv")]
    assert_sound(url)


def test_values_json_cannot_hold_keep_the_record_made_safe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}
    odd = os.fsencode(str(tmp_path)) + b"/odd-\xff.csv"
    with open(odd, "w") as handle:
        handle.write("x,y\n1,0\n2,1\n")
    notebook = tmp_path / "values.ipynb"
    ran = run_notebook(
        notebook,
        [
            f"import os\nimport pandas as pd\nframe = pd.read_csv(os.fsdecode({odd!r}))",
            "from sklearn.linear_model import LogisticRegression\n"
            "model = LogisticRegression(max_iter=10**20).fit(frame[['x']], frame['y'])",
            FLUSHED,
        ],
        env,
    )
    assert not any("could not record" in stderr(cell) for cell in ran.cells)
    assert cells_of(url, notebook) == ["c1", "c2", "c3"]
    names = [i["name"] for e in stored(url) for i in e.get("inputs", []) if "odd-" in i["name"]]
    assert names and all(name.endswith("odd-\\xff.csv") for name in names)


# Delivery faults -----------------------------------------------------------------------------------------------


def test_a_poison_record_is_set_aside_and_later_cells_are_delivered(tmp_path: Path, env: dict, store_url: str) -> None:
    deep = tmp_path
    for index in range(12):  # a path of about 2,500 bytes, more than the store takes
        deep = deep / (f"{index:02d}" + "d" * 200)
    deep.mkdir(parents=True)
    (deep / "x.csv").write_text("x\n1\n")
    notebook = tmp_path / "poison.ipynb"
    ran = run_notebook(
        notebook,
        [
            f"import pandas as pd\nframe = pd.read_csv({str(deep / 'x.csv')!r})",
            "a = 1",
            FLUSHED,
            SESSION + "print(s.status().set_aside, s.status().store_problem)",
        ],
        env,
    )
    assert ran.cells[4].outputs[0]["text"] == "1 None\n"
    assert cells_of(store_url, notebook) == ["c2", "c3", "c4"]
    dead = list((tmp_path / "jupyter").rglob(DEAD_LETTERS))
    assert len(dead) == 1 and "2400" in json.loads(dead[0].read_text())["reason"]
    assert_sound(store_url)


def test_a_full_disk_keeps_records_in_memory_until_it_has_room(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}
    notebook = tmp_path / "full.ipynb"
    ran = run_notebook(
        notebook,
        [
            FLUSHED,  # c1: the store is made; what follows only appends to the outbox
            SESSION + "import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "limits = resource.getrlimit(resource.RLIMIT_FSIZE)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (s.outbox.size() + 300, limits[1]))",  # c2: 300 bytes left
            "x = 'a cell whose record is longer than the room left on the disk ' * 10",  # c3
            "resource.setrlimit(resource.RLIMIT_FSIZE, limits)",  # c4
            FLUSHED + "  # c5",  # not the source of c1: cells are told apart by their source
        ],
        env,
    )
    # the notice of c3 is written while the file-size limit holds (lost where stderr is a file), its end is not
    assert "nblineage reached the outbox again" in stderr(ran.cells[4]) + stderr(ran.cells[5])
    assert cells_of(url, notebook) == [f"c{i}" for i in range(1, 6)]
    assert not list((tmp_path / "jupyter").rglob(DEAD_LETTERS))
    assert_sound(url)


def test_kernels_killed_at_random_points_lose_nothing(tmp_path: Path, env: dict, store_url: str) -> None:
    seed = random.randrange(10**6)
    chance = random.Random(seed)
    finished: dict[Path, list[str]] = {}
    for round_ in range(1):
        notebook = tmp_path / f"killed-{round_}.ipynb"
        kernel = Kernel(clean_env(**env, NBLINEAGE_NOTEBOOK=str(notebook)), tmp_path)
        done: list[str] = []
        try:
            kernel.run("%load_ext nblineage", cell_id="c0")

            def kill(kernel: Kernel = kernel) -> None:
                time.sleep(chance.uniform(0.0, 3.0))  # while cells run, records are written and delivered
                os.kill(kernel.manager.provisioner.process.pid, signal.SIGKILL)

            killer = threading.Thread(target=kill)
            killer.start()
            for index in range(1, 30):
                try:
                    reply = kernel.run(f"x = sum(range({index} * 10**5))", cell_id=f"c{index}")
                except Exception:
                    break
                if reply["status"] == "ok":
                    done.append(f"c{index}")
            killer.join()
        finally:
            kernel.client.stop_channels()
            kernel.manager.shutdown_kernel(now=True)
        finished[notebook] = done[:-1]  # the last one may have been killed before its end was written
    command(store_url, tmp_path / "jupyter")
    for notebook, done in finished.items():
        assert set(done) <= set(cells_of(store_url, notebook)), f"seed {seed}"
    assert_sound(store_url)
    assert not list((tmp_path / "jupyter").rglob("*.jsonl"))


def test_a_running_kernel_delivers_leftovers_once_the_store_is_up(tmp_path: Path) -> None:
    from postgres_db import POSTGRES_ADMIN_URL

    name = f"nbl_up_{os.urandom(5).hex()}"
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}
    first = tmp_path / "first.ipynb"
    run_notebook(first, ["a = 1"], env)  # the database does not exist: its outbox is left behind
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    second = tmp_path / "second.ipynb"
    try:
        with Kernel(clean_env(**env, NBLINEAGE_NOTEBOOK=str(second)), tmp_path) as kernel:
            kernel.run("%load_ext nblineage", cell_id="c0")
            kernel.wait_for(TRIED)
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            kernel.run("b = 2", cell_id="c1")
            kernel.wait_for(
                "__import__('nblineage.kernel_ext').kernel_ext._sessions and not next(iter(__import__("
                "'nblineage.kernel_ext').kernel_ext._sessions.values())).writer.problems"
            )
            kernel.run(FLUSHED, cell_id="c2")
            assert cells_of(url, first) == ["c1"]  # delivered by this kernel, not a later one
            assert cells_of(url, second)[:1] == ["c1"]  # c2, the flush itself, may follow in the background
        assert_sound(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_store_that_never_answers_is_said_once_and_the_kernel_stops_at_once(tmp_path: Path) -> None:
    from test_delivery import silent_server

    server, port = silent_server()
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{port}/lineage"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}
    try:
        ran = run_notebook(
            tmp_path / "hang.ipynb",
            [
                SESSION + "import time\nwhile not s.writer.failures:\n    time.sleep(0.1)",  # the connection times out
                "a = 1",
                "b = 2",
                SESSION + "started = time.monotonic()\ns.close()\nprint(time.monotonic() - started < 0.5)",
            ],
            env,
        )
    finally:
        server.close()
    said = [index for index, cell in enumerate(ran.cells) if "nblineage cannot reach the store" in stderr(cell)]
    assert said in ([1], [2]), said
    assert "s3cret" not in json.dumps(ran.cells[1:])
    assert ran.cells[4].outputs[0]["text"] == "True\n"
    assert len(next((tmp_path / "jupyter").rglob("*.jsonl")).read_text().splitlines()) == 5


RUN_ONE_NOTEBOOK = """
import sys

sys.path.insert(0, sys.argv[1])
import nbformat
from nbclient import NotebookClient
from notebooks import AsyncSocketKernelManager

notebook = nbformat.read(sys.argv[2], as_version=4)
NotebookClient(
    notebook, timeout=300, startup_timeout=240, kernel_manager_class=AsyncSocketKernelManager
).execute()
"""


def test_eight_notebooks_at_once_store_every_event_once(tmp_path: Path, env: dict, store_url: str) -> None:
    # Each notebook runs in its own process, as eight users' notebooks do: jupyter_client is not safe to drive from
    # eight threads of one process (a kernel's start could hang the whole test). The kernels talk over Unix sockets:
    # eight kernels picking TCP ports at once can race for one ("Address already in use").
    notebooks = [tmp_path / f"batch-{index}.ipynb" for index in range(8)]
    runs = []
    for notebook in notebooks:
        make_notebook(notebook, ["%load_ext nblineage", "a = 1", "b = sum(range(10**5))", "c = [0] * 1000"])
        runs.append(
            subprocess.Popen(
                [sys.executable, "-c", RUN_ONE_NOTEBOOK, str(Path(__file__).parent), notebook.name],
                cwd=tmp_path,
                env={**os.environ, "NBLINEAGE_NOTEBOOK": str(notebook), **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        outputs = [run.communicate(timeout=280)[0].decode(errors="replace") for run in runs]
    finally:
        for run in runs:
            run.kill()
    failed = {
        notebook.name: output for notebook, run, output in zip(notebooks, runs, outputs, strict=True) if run.returncode
    }
    assert not failed, failed
    command(store_url, tmp_path / "jupyter")  # the run ends with any command: it delivers what is left, if any
    for notebook in notebooks:
        assert cells_of(store_url, notebook) == ["c1", "c2", "c3"]
        session = sorted(e["eventType"] for e in stored(store_url) if e["job"]["name"] == str(notebook))
        assert session == ["COMPLETE", "START"]
    assert_sound(store_url)
    assert not list((tmp_path / "jupyter").rglob("*.jsonl"))


class Proxy:
    """A TCP proxy to the test PostgreSQL server that can be cut: an outage in the middle of a session."""

    def __init__(self, port: int) -> None:
        import socket

        self.target = ("127.0.0.1", port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client = self.server.accept()[0]
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def cut(self) -> None:
        import socket

        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; new connections are refused
        self.server.close()
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
                end.close()


def test_an_outage_in_the_middle_of_a_session_is_said_once_at_once(tmp_path: Path) -> None:
    from postgres_db import postgres_database
    from sqlalchemy.engine import make_url

    with postgres_database() as direct:
        proxy = Proxy(make_url(direct).port or 5432)
        url = make_url(direct).set(port=proxy.port).render_as_string(hide_password=False)
        env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "0"}
        notebook = tmp_path / "outage.ipynb"
        with Kernel(clean_env(**env, NBLINEAGE_NOTEBOOK=str(notebook)), tmp_path) as kernel:
            kernel.run("%load_ext nblineage", cell_id="c0")
            assert kernel.run(FLUSHED, cell_id="c1")["stdout"] == "True\n"  # the store is up
            proxy.cut()
            outputs = [kernel.run("b = 2", cell_id="c2")]
            kernel.wait_for(TRIED)
            outputs += [kernel.run(code, cell_id=f"c{index}") for index, code in ((3, "c = 3"), (4, "d = 4"))]
        warned = [index for index, output in enumerate(outputs) if "cannot reach the store" in output["stderr"]]
        assert warned in ([0], [1]), [output["stderr"] for output in outputs]
        session = [e["eventType"] for e in stored(direct) if e["job"]["name"] == str(notebook)]
        assert session == ["START"] and cells_of(direct, notebook) == []  # delivered before the cut; the rest waits
        assert len(list((tmp_path / "jupyter").rglob("*.jsonl"))) == 1
