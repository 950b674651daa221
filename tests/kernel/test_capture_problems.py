"""Capture fails open in real kernels: a Jupyter data dir it cannot write, a store URL it cannot use, a store it
cannot reach. Each is said once in the notebook, the user's cells run as usual, and nothing is lost."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
from pathlib import Path

from driven_kernel import Kernel, clean_env
from notebooks import run_notebook
from sqlalchemy import text

from nblineage import config
from nblineage.lineage.store import Store

TRIED = "next(iter(__import__('nblineage.kernel_ext').kernel_ext._sessions.values())).writer.failures"
# delivers what waits before the kernel is shut down: on a busy machine it may be killed before it has at exit
FLUSHED = "import nblineage.kernel_ext as k\nfor s in k._sessions.values():\n    print(s.writer.flush(60))"
STATUS = (
    "import nblineage.kernel_ext as k\n"
    "for s in k._sessions.values():\n"
    "    print(repr(s.status()) if hasattr(s, 'status') else '')"
)


def job_names(url: str) -> list[str]:
    with Store(url) as store, store.read() as conn:
        return [json.loads(row[0])["job"]["name"] for row in conn.execute(text("SELECT payload FROM events"))]


def stderr(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.get("name") == "stderr")


def unusable_data_dir(tmp_path: Path) -> Path:
    """A Jupyter data dir under a regular file: no folder can be made there, not even by root."""
    (tmp_path / "a-file").write_text("")
    return tmp_path / "a-file" / "jupyter"


def private_outbox(url: str) -> Path:
    return config.private_temp_dir() / "outbox" / hashlib.sha256(url.encode()).hexdigest()[:16]


def test_an_unwritable_data_dir_warns_once_and_the_events_still_reach_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(unusable_data_dir(tmp_path)), "NBLINEAGE_STRICT": "1"}
    notebook = tmp_path / "nb.ipynb"
    ran = run_notebook(notebook, ["a = 1", "b = 2", FLUSHED], env)
    warning = stderr(ran.cells[0])
    assert "nblineage cannot write to the Jupyter data dir" in warning and "Not a directory" in warning
    assert warning.count("nblineage cannot write") == 1  # shown once, not again by a logging handler
    assert str(private_outbox(url)) in warning  # where the lineage waits meanwhile
    assert not stderr(ran.cells[1]) and not stderr(ran.cells[2])  # once
    try:
        assert {f"{notebook}#c1", f"{notebook}#c2", str(notebook)} <= set(job_names(url))
    finally:
        shutil.rmtree(private_outbox(url), ignore_errors=True)


def test_with_the_default_store_in_it_one_warning_says_both_and_a_later_kernel_delivers(tmp_path: Path) -> None:
    broken = unusable_data_dir(tmp_path)
    default_url = f"sqlite:///{broken / 'nblineage' / 'lineage.db'}"
    env = clean_env(JUPYTER_DATA_DIR=str(broken), NBLINEAGE_STRICT="1")
    env.pop("NBLINEAGE_URL", None)
    waiting = private_outbox(default_url)
    try:
        with Kernel(env, tmp_path) as kernel:
            loaded = kernel.run("%load_ext nblineage")
            assert loaded["status"] == "ok" and loaded["error"] is None
            assert loaded["stderr"].count("CaptureWarning") == 1 and "the default store" in loaded["stderr"]
            assert kernel.run("a = 1")["status"] == "ok"
            kernel.wait_for(TRIED)  # quiet: the writer tries the store and fails
            later = kernel.run(STATUS)
            assert "nblineage" not in later["stderr"]  # the store's failure was said already
            assert "Not a directory" in later["stdout"] and f"outbox='{waiting}" in later["stdout"]
            unnamed = re.search(r"notebook='([^']+)'", later["stdout"]).group(1)  # no notebook named it
        assert list(waiting.glob("*.jsonl"))  # kept for later
        (tmp_path / "a-file").unlink()  # the folder is fixed: the next kernel delivers what waited
        env = {"JUPYTER_DATA_DIR": str(broken), "NBLINEAGE_STRICT": "1"}
        ran = run_notebook(tmp_path / "next.ipynb", ["c = 3", FLUSHED], env)
        assert ran.cells[2].outputs[0]["text"].strip() == "True"
        assert re.fullmatch(f"{re.escape(str(tmp_path))}/ipython-[0-9a-f]{{8}}", unnamed)
        assert f"{unnamed}#exec-2" in job_names(default_url)
        assert not list(waiting.glob("*.jsonl"))
    finally:
        shutil.rmtree(waiting, ignore_errors=True)


def test_enable_with_an_unwritable_data_dir_warns_in_the_first_cell(tmp_path: Path, monkeypatch) -> None:
    from nblineage.cli import main

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    assert main(["enable", "--user"]) == 0
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"IPYTHONDIR": str(tmp_path / "ipython"), "NBLINEAGE_URL": url, "NBLINEAGE_STRICT": "1"}
    env["JUPYTER_DATA_DIR"] = str(unusable_data_dir(tmp_path))
    notebook = tmp_path / "enabled.ipynb"
    try:
        ran = run_notebook(notebook, ["a = 1", "b = 2", FLUSHED], env, load=False)
        assert "nblineage cannot write to the Jupyter data dir" in stderr(ran.cells[0])
        assert not stderr(ran.cells[1])
        assert {f"{notebook}#c0", f"{notebook}#c1"} <= set(job_names(url))
    finally:
        shutil.rmtree(private_outbox(url), ignore_errors=True)


def test_a_misconfigured_store_url_is_said_at_load_and_a_kernel_with_a_good_one_delivers(tmp_path: Path) -> None:
    data = tmp_path / "jupyter"
    bad = {"NBLINEAGE_URL": f"sqlte:///{tmp_path / 'x.db'}", "JUPYTER_DATA_DIR": str(data), "NBLINEAGE_STRICT": "1"}
    first = tmp_path / "first.ipynb"
    ran = run_notebook(first, ["a = 1", STATUS], bad)
    warning = stderr(ran.cells[0])
    assert f"cannot use the store NBLINEAGE_URL=sqlte:///{tmp_path / 'x.db'}" in warning
    assert "unknown store scheme 'sqlte'" in warning and "nothing is lost" in warning
    assert not stderr(ran.cells[1])
    assert "store_problem=\"unknown store scheme 'sqlte'" in ran.cells[2].outputs[0]["text"]
    assert not (tmp_path / "x.db").exists()
    good = f"sqlite:///{tmp_path / 'lineage.db'}"
    run_notebook(tmp_path / "second.ipynb", ["b = 2", FLUSHED], bad | {"NBLINEAGE_URL": good})
    assert {str(first), f"{first}#c1", f"{first}#c2"} <= set(job_names(good))
    assert not list((data / "nblineage" / "outbox" / "unsent").glob("*.jsonl"))


def test_an_unreachable_store_is_said_once_with_its_password_masked(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{port}/lineage"
    env = clean_env(NBLINEAGE_URL=url, JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), NBLINEAGE_STRICT="1")
    with Kernel(env, tmp_path) as kernel:
        outputs = [kernel.run("%load_ext nblineage")]  # the URL itself is fine: the store is tried in the background
        kernel.wait_for(TRIED)  # the writer tried the store (at load) and failed
        outputs += [kernel.run(code) for code in ("a = 1", "b = 2", "c = 3")]
        status = kernel.run(STATUS)["stdout"]
    assert all(output["status"] == "ok" for output in outputs)
    warned = [output["stderr"] for output in outputs if output["stderr"]]
    assert len(warned) == 1 and warned[0] in (outputs[0]["stderr"], outputs[1]["stderr"])  # once, and at once
    shown = f"postgresql+psycopg://postgres:***@127.0.0.1:{port}/lineage"
    assert f"nblineage cannot reach the store {shown}" in warned[0]
    assert "nothing is lost" in warned[0] and str(tmp_path / "jupyter") in warned[0] and "s3cret" not in warned[0]
    assert "store_problem='cannot open the lineage store" in status and "s3cret" not in status
    waiting = int(status.split("waiting=")[1].split(",")[0])
    assert waiting >= 4  # the session start and three cells
    assert list((tmp_path / "jupyter").rglob("*.jsonl"))  # kept for the next kernel with this store
