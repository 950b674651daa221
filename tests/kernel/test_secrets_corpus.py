"""A real kernel runs a notebook whose code holds real shapes of secrets, first with the store down (everything
waits in the outbox), then up: no secret is in the outbox files, the store's events, or what `nblineage explain`
and `upstream --json` print."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from notebooks import run_notebook
from sqlalchemy import text
from test_redact import CORPUS, SECRETS

from nblineage.lineage.store import Store

NBLINEAGE = str(Path(sys.executable).with_name("nblineage"))


def secret_cell() -> str:
    """Every corpus text as code of one cell: Python as the body of a function never called, the rest as strings."""
    body, texts = [], []
    for number, (name, code) in enumerate(sorted(CORPUS.items())):
        try:
            ast.parse(code)
        except SyntaxError:
            texts.append(f'text_{number} = """{code}"""  # {name}')
            continue
        body.append(f"# {name}\n{code}")
    function = "def credentials():\n" + textwrap.indent("\n".join(body), "    ") + "\n"
    return "\n".join([*texts, function])


TRAIN = """
import os
os.environ["AWS_SECRET_ACCESS_KEY"] = "{aws}"
os.environ.setdefault("OPENAI_API_KEY", "{default}")
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
raw = pd.read_csv("raw.csv")
model = LogisticRegression().fit(raw[["a"]], raw["y"])
joblib.dump(model, "model.joblib")
"""


def found(text_: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text_]


def test_no_secret_reaches_the_outbox_the_store_or_any_output(tmp_path: Path) -> None:
    from test_redact import AWS_SECRET, DEFAULT_VALUE, OPENAI

    work = tmp_path / "work"
    work.mkdir()
    (work / "raw.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n")
    database = tmp_path / "store" / "lineage.db"
    database.mkdir(parents=True)  # the store cannot be opened: everything waits in the outbox
    url = f"sqlite:///{database}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    cells = [
        secret_cell(),
        TRAIN.format(aws=AWS_SECRET, default=DEFAULT_VALUE),
        f'raise RuntimeError("login refused for key {OPENAI}")',
    ]
    run_notebook(work / "train.ipynb", cells, env, allow_errors=True)
    outbox = list((tmp_path / "jupyter").rglob("*.jsonl"))
    written = "".join(path.read_text() for path in outbox)
    assert written.count('"kind":"cell"') == 3  # the records are there, with the code...
    assert "def credentials" in written and "RuntimeError" in written
    assert found(written) == []  # ...and no secret

    database.rmdir()  # the store comes up (created here: a kernel's exit is too short for it), and the next
    Store(url).close()  # kernel delivers what waited
    run_notebook(work / "next.ipynb", ["x = 1"], env)
    assert not list((tmp_path / "jupyter").rglob("*.jsonl"))
    with Store(url) as store, store.read() as conn:
        stored = [row[0] for row in conn.execute(text("SELECT payload FROM events"))]
        facets = [row[0] for row in conn.execute(text("SELECT payload FROM facets"))]
    assert any("def credentials" in payload for payload in stored)
    assert found("".join(stored + facets)) == []

    for command in (["explain", "model.joblib", "--json"], ["explain", "model.joblib"], ["upstream", "model.joblib"]):
        done = subprocess.run([NBLINEAGE, "--url", url, *command], capture_output=True, text=True, cwd=work)
        assert done.returncode == 0, done.stderr
        assert found(done.stdout + done.stderr) == [], command
    explained = subprocess.run(
        [NBLINEAGE, "--url", url, "explain", "model.joblib", "--json"], capture_output=True, text=True, cwd=work
    ).stdout
    assert 'os.environ[\\"AWS_SECRET_ACCESS_KEY\\"] = ' in explained  # the training code is shown, redacted
    shutil.rmtree(tmp_path / "jupyter", ignore_errors=True)
