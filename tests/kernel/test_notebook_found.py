"""Which notebook and cell a run is recorded as, in real kernels: front-end cell ids, execution counts, and
notebooks run by nbconvert and papermill without NBLINEAGE_NOTEBOOK."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from driven_kernel import Kernel, clean_env
from notebooks import make_notebook
from sqlalchemy import text

from nblineage.lineage.store import Store

# delivers what waits (the kernel may be killed before it has delivered at exit on a busy machine) and says how
# the notebook was found
STATUS = (
    "import nblineage.kernel_ext as k\n"
    "session = next(iter(k._sessions.values()))\n"
    "session.writer.flush(60)\n"
    "print(session.status().notebook_found if hasattr(session, 'status') else 'no status')"
)
BIN = Path(sys.executable).parent


def cell_runs(url: str) -> list[dict]:
    """The COMPLETE events of cell runs, in order."""
    with Store(url) as store, store.read() as conn:
        rows = conn.execute(text("SELECT payload FROM events ORDER BY event_time, id"))
        events = [json.loads(row[0]) for row in rows]
    return [e for e in events if "#" in e["job"]["name"] and e["eventType"] == "COMPLETE"]


def test_cells_without_ids_are_named_by_the_count_they_ran_as(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = clean_env(NBLINEAGE_URL=url, JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), NBLINEAGE_STRICT="1")
    with Kernel(env, tmp_path) as kernel:
        assert kernel.run("%load_ext nblineage")["status"] == "ok"  # In [1]
        assert kernel.run("a = 1")["status"] == "ok"  # In [2]
        assert kernel.run("b = 2", store_history=False)["status"] == "ok"  # no number of its own
        assert kernel.run("c = 3")["status"] == "ok"  # In [3]
        assert kernel.run("d = 4", cell_id="lab-cell-7")["status"] == "ok"  # JupyterLab sends its cell id
        found = kernel.run(STATUS)
    ipython = unnamed(found["stdout"], tmp_path)
    runs = [(e["job"]["name"], e["run"]["facets"]["nblineage_cell"].get("executionCount")) for e in cell_runs(url)]
    assert runs[:4] == [
        (f"{ipython}#exec-2", 2),
        (f"{ipython}#unnumbered-1", None),
        (f"{ipython}#exec-3", 3),
        (f"{ipython}#lab-cell-7", 4),
    ]


def unnamed(status: str, folder: Path) -> str:
    """The job of a kernel no notebook was named to, as its status says it: ``<folder>/ipython-<kernel id>``."""
    said = re.fullmatch(
        r"not found: using (\S+) \(this kernel's own name; set NBLINEAGE_NOTEBOOK to name it\)", status.strip()
    )
    assert said, status
    assert re.fullmatch(f"{re.escape(str(folder))}/ipython-[0-9a-f]{{8}}", said.group(1))
    return said.group(1)


def test_kernels_told_no_notebook_in_one_folder_keep_their_cell_runs_apart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = clean_env(NBLINEAGE_URL=url, JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), NBLINEAGE_STRICT="1")
    with Kernel(env, tmp_path) as first, Kernel(env, tmp_path) as second:
        for kernel in (first, second):
            assert kernel.run("%load_ext nblineage")["status"] == "ok"
            assert kernel.run("a = 1")["status"] == "ok"  # In [2] in both
        jobs = [unnamed(kernel.run(STATUS)["stdout"], tmp_path) for kernel in (first, second)]
        reloaded = first.run("%unload_ext nblineage\n%load_ext nblineage\n" + STATUS)["stdout"]
    assert jobs[0] != jobs[1]
    assert unnamed(reloaded, tmp_path) == jobs[0]  # one name for the kernel, whichever session of it
    second_runs = [e for e in cell_runs(url) if e["job"]["name"].endswith("#exec-2")]
    assert sorted(e["job"]["name"] for e in second_runs) == sorted(f"{job}#exec-2" for job in jobs)
    assert len({e["run"]["facets"]["parent"]["run"]["runId"] for e in second_runs}) == 2  # each under its kernel


def test_nbconvert_execute_records_the_notebook_and_its_cell_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    (tmp_path / "work").mkdir()
    notebook = tmp_path / "work" / "churn.ipynb"
    make_notebook(notebook, ["%load_ext nblineage", "a = 1", "b = a + 1", STATUS])
    # started from another notebook's terminal: the session variable it inherits names that other notebook
    env = clean_env(NBLINEAGE_URL=url, JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), JPY_SESSION_NAME="/x/outer.ipynb")
    command = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "work/churn.ipynb"]
    command += ["--output", "ran"]
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300)
    ran = nbformat.read(tmp_path / "work" / "ran.ipynb", as_version=4)
    assert [e["job"]["name"] for e in cell_runs(url)][:2] == [f"{notebook}#c1", f"{notebook}#c2"]
    assert ran.cells[3].outputs[0]["text"].strip() == "from the parent process's command line (nbconvert)"


@pytest.mark.skipif(shutil.which("papermill", path=str(BIN)) is None, reason="papermill is not installed")
def test_papermill_records_the_input_notebook_and_the_injected_parameters_cell(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    source = tmp_path / "train.ipynb"
    notebook = make_notebook(source, ["%load_ext nblineage", "alpha = 0.1", "model = alpha * 2", STATUS])
    notebook.cells[1].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, source)
    # as a shell starts it (a shell sets PWD): --cwd moves papermill before it starts the kernel
    env = clean_env(NBLINEAGE_URL=url, JUPYTER_DATA_DIR=str(tmp_path / "jupyter"), PWD=str(tmp_path))
    command = [str(BIN / "papermill"), "train.ipynb", "out/run.ipynb", "-p", "alpha", "0.5", "--cwd", "out"]
    (tmp_path / "out").mkdir()
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300)
    ran = nbformat.read(tmp_path / "out" / "run.ipynb", as_version=4)
    injected = next(cell for cell in ran.cells if "injected-parameters" in cell.metadata.get("tags", []))
    names = [e["job"]["name"] for e in cell_runs(url)]
    assert names[:3] == [f"{source}#c1", f"{source}#{injected.id}", f"{source}#c2"]
    assert ran.cells[-1].outputs[0]["text"].strip() == "from the parent process's command line (papermill)"


@pytest.mark.parametrize(
    ("argv", "runner"),
    [
        (["/v/bin/python", "/v/bin/jupyter-nbconvert", "--to", "notebook", "--execute", "a.ipynb"], "nbconvert"),
        (["/v/bin/python", "/v/bin/jupyter-execute", "a.ipynb"], "nbclient"),
        (["/v/bin/python", "/v/bin/jupyter", "execute", "a.ipynb"], "nbclient"),  # where jupyter cannot exec
        (["python", "-m", "papermill", "a.ipynb", "b.ipynb"], "papermill"),
        (["/v/bin/papermill", "a.ipynb", "b.ipynb"], "papermill"),
        (["/v/bin/python", "/v/bin/jupyter-lab", "a.ipynb"], None),  # a server: its kernels have a session
        (["/v/bin/python", "-m", "pytest", "tests"], None),
    ],
)
def test_the_runners_recognised_on_a_command_line(argv: list[str], runner: str | None) -> None:
    from nblineage.kernel_ext.notebook import _runner

    assert _runner(argv) == runner
