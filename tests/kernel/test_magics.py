"""``%lineage`` in real kernels (nbclient): every subcommand, variables, usage errors, the CLI's JSON, skip, export."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from notebooks import run_notebook

from nblineage.cli import main

HOSTILE = "<img src=x onerror=alert(1)>"
SETUP = """\
import json
import pandas as pd, joblib
from sklearn.linear_model import LogisticRegression
frame = pd.DataFrame({"a": range(20), "b": [i % 3 for i in range(20)], "y": [i % 2 for i in range(20)]})
frame.to_csv("my data.csv", index=False)
"""
TRAIN = """\
df = pd.read_csv("my data.csv")
model = LogisticRegression().fit(df[["a", "b"]], df.y)
joblib.dump(model, "model.joblib")
unsaved = LogisticRegression(C=0.5).fit(df[["a", "b"]], df.y)
unsaved.score(df[["a", "b"]], df.y)
"""


def env(workdir: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}


def outputs(cell: nbformat.NotebookNode) -> dict[str, str]:
    """A cell's stdout, stderr, error (``ename: evalue``), and its result's text/plain and text/html."""
    found = {"stdout": "", "stderr": "", "error": "", "text": "", "html": ""}
    for out in cell.outputs:
        if out.output_type == "stream":
            found[out.name] += out.text
        elif out.output_type == "error":
            found["error"] = f"{out.ename}: {out.evalue}"
        else:
            found["text"] += out.data.get("text/plain", "")
            found["html"] += out.data.get("text/html", "")
    return found


def run_cells(workdir: Path, store_url: str, cells: list[str]) -> list[dict[str, str]]:
    """Run ``SETUP``, ``TRAIN`` and ``cells`` in a notebook in ``workdir``; the outputs of ``cells``."""
    notebook = run_notebook(workdir / "magics.ipynb", [SETUP, TRAIN, *cells], env(workdir, store_url), True)
    return [outputs(cell) for cell in notebook.cells[3:]]


def cli_json(store_url: str, capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert main(["--url", store_url, *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_questions_about_variables_and_paths(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data, saved = str(tmp_path / "my data.csv"), str(tmp_path / "model.joblib")
    status, listing, explained, fit, derived, quoted, walks, as_json = run_cells(
        tmp_path,
        store_url,
        [
            "%lineage status",
            "%lineage datasets",
            "answer = %lineage explain model\nprint(type(answer).__name__, answer.location.uri)\n"
            "print(json.dumps(answer.to_json()))",
            "fit = %lineage explain unsaved\n"
            "inputs = fit.inputs\n"
            "print(fit.location.uri, [d.name for d in inputs.datasets], inputs.function.hyper_parameters['C'])\n"
            "print([(m.name, m.value) for m in fit.performance.metrics], [f.name for f in fit.inputs.features])\n"
            "fit",
            "derived = %lineage models-from df\nprint(json.dumps(derived.to_json()))\nprint(derived.to_frame().shape)",
            "name = 'my data.csv'\n%lineage models-from '{name}' --depth 3\n%lineage models-from 'my data.csv'",
            "up = %lineage upstream model\ndown = %lineage downstream df --depth 1\nroute = %lineage path df model\n"
            "print(json.dumps([up.to_json(), down.to_json(), route.to_json()]))",
            "%lineage datasets --json",
        ],
    )
    assert "capturing" in status["text"] and "True" in status["text"] and "SklearnInstrumentor" in status["text"]
    assert status["html"].startswith("<table") and "hookErrors" in status["html"]
    assert data in listing["html"] and saved in listing["text"] and listing["html"].count("<tr>") == 3

    kind, uri = explained["stdout"].splitlines()[0].split(" ", 1)
    assert (kind, uri) == ("Explanation", saved)  # the variable answers for the model it was saved as
    assert json.loads(explained["stdout"].splitlines()[1]) == cli_json(store_url, capsys, "explain", saved)

    assert fit["stdout"].startswith(f"not persisted ['{data}'] 0.5"), fit
    assert "('score', 0.5)" in fit["stdout"].splitlines()[1] and "['a', 'b']" in fit["stdout"].splitlines()[1]
    assert "Location" in fit["text"] and "not persisted" in fit["text"] and "<h4>Model unsaved" in fit["html"]

    lines = derived["stdout"].splitlines()
    assert json.loads(lines[0]) == cli_json(store_url, capsys, "models-from", data)
    assert [m["name"] for m in json.loads(lines[0])] == [saved] and lines[1] == "(1, 9)"
    assert quoted["stderr"] == "" and quoted["html"].count(saved) == 1, quoted  # the answer of the last line

    up, down, route = json.loads(walks["stdout"])
    assert up == cli_json(store_url, capsys, "upstream", saved)
    assert {node["name"] for node in down} >= {saved}
    assert (route[0]["name"], route[-1]["name"]) == (data, saved)
    assert json.loads(as_json["stdout"]) == cli_json(store_url, capsys, "datasets")


def test_usage_errors_unknown_names_and_hostile_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    hostile = (tmp_path / f"{HOSTILE}.csv").as_posix()
    bad_command, bad_option, unknown, not_a_model, _, hostile_listing, usage_cell, asked_help, several = run_cells(
        tmp_path,
        url,
        [
            "%lineage nope",
            "%lineage upstream 'my data.csv' --bogus",
            "%lineage explain modl.joblib",
            "%lineage explain df",
            f"frame.to_csv({hostile!r})\nhostile = pd.read_csv({hostile!r})",
            "%lineage datasets",
            "%%lineage explain\nx",
            "%lineage help",
            "%%lineage\ndatasets\n\nstatus",
        ],
    )
    assert bad_command["stderr"].startswith("UsageError: argument COMMAND: invalid choice: 'nope'")
    assert all(f"'{name}'" in bad_command["stderr"] for name in ("status", "explain", "models-from", "export"))
    assert bad_option["stderr"].startswith("UsageError: unrecognized arguments: --bogus")
    assert "no model named" in unknown["stderr"] and f"nearest names: {tmp_path / 'model.joblib'}" in unknown["stderr"]
    assert "'df' holds a DataFrame, not a model" in not_a_model["stderr"]
    assert HOSTILE not in hostile_listing["html"] and "&lt;img src=x onerror=alert(1)&gt;" in hostile_listing["html"]
    assert usage_cell["stderr"].startswith("UsageError: %%lineage takes no arguments but skip")
    for name in ("status", "datasets", "upstream", "downstream", "models-from", "path", "explain", "show", "export"):
        assert f"    {name}" in asked_help["stdout"]
    assert "my data.csv" in several["html"] and "capturing" in several["html"] and several["stderr"] == ""


def test_skip_off_on_and_export(tmp_path: Path) -> None:
    from spec import event_errors

    from nblineage.lineage.store import Store

    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    skipped, exported, off, status_off, on, status_on = run_cells(
        tmp_path,
        url,
        [
            "%%lineage skip\nsecret = pd.read_csv('my data.csv')\nsecret.to_csv('skipped.csv')",
            "%lineage export 'events out.jsonl'",
            "%lineage off",
            "%lineage status",
            "%lineage on",
            "%lineage status",
        ],
    )
    assert skipped["error"] == "" and (tmp_path / "skipped.csv").exists()
    with Store(url) as store, store.read() as conn:
        names = [row[0] for row in conn.exec_driver_sql("SELECT name FROM datasets")]
        sources = [json.loads(row[0]) for row in conn.exec_driver_sql("SELECT payload FROM events")]
    assert not any(name.endswith("skipped.csv") for name in names)
    assert not any(
        "secret" in event["job"].get("facets", {}).get("sourceCode", {}).get("sourceCode", "") for event in sources
    )

    assert "events of this session written to events out.jsonl" in exported["text"]
    lines = (tmp_path / "events out.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    session = [e for e in events if e["job"]["name"] == str(tmp_path / "magics.ipynb")]
    assert [e["eventType"] for e in session] == ["START"]
    session_id = session[0]["run"]["runId"]
    cells = [e for e in events if e not in session]
    assert cells and all(e["run"]["facets"]["parent"]["run"]["runId"] == session_id for e in cells)
    assert {e["job"]["name"].rsplit("#", 1)[1] for e in cells} == {"c1", "c2"}  # setup and train, not skip
    assert all(event_errors(event, "RunEvent") == [] for event in events)

    assert "capture is off in this kernel" in off["text"]
    assert "turned off with %lineage off" in status_off["text"] and "False" in status_off["text"]
    assert "capture is on" in on["text"] and "True" in status_on["text"]


def test_status_says_why_capture_is_off(tmp_path: Path) -> None:
    env = {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_DISABLED": "1"}
    notebook = run_notebook(tmp_path / "off.ipynb", ["%lineage status", "%lineage on"], env, allow_errors=True)
    status, on = (outputs(cell) for cell in notebook.cells[1:])
    assert "NBLINEAGE_DISABLED is set" in status["text"] and "False" in status["text"]
    assert "&lt;" not in status["html"] and "NBLINEAGE_DISABLED is set" in status["html"]
    assert "capture stays off: NBLINEAGE_DISABLED is set" in on["text"]


def test_show_opens_the_graph_on_what_a_variable_stands_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    centre = "c = widget.graph['center']\nprint([n['name'] for n in widget.graph['nodes'] if n['id'] == c])"
    by_variable, by_path = run_cells(
        tmp_path, url, [f"widget = %lineage show model\n{centre}", f"widget = %lineage show 'my data.csv'\n{centre}"]
    )
    assert by_variable["stdout"].strip() == repr([str(tmp_path / "model.joblib")]), by_variable
    assert by_path["stdout"].strip() == repr([str(tmp_path / "my data.csv")]), by_path
