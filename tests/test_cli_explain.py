"""``nblineage explain`` and the model kinds of ``nblineage models-from``, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from events import run_event
from model_events import FEAT, M1, M2, MLFLOW_RUN, MODEL_ID, NOTEBOOK, OTHER_TRACKING, R1, R2, R5, TRACKING, scenario

from nblineage.cli import main

NODE_FIELDS = {"type", "namespace", "name", "version", "depth"}


@pytest.fixture
def lineage(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store (via NBLINEAGE_URL) holding tests/model_events.py's scenario, with tmp_path the current folder."""
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in scenario(tmp_path).events))
    assert main(["ingest", str(tmp_path / "events.jsonl")]) == 0
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> tuple[str, str]:
    capsys.readouterr()
    assert main(list(argv)) == status
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_explain_prints_the_five_answers(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run(capsys, "explain", "model.joblib", "--version", M1)
    lines = out.splitlines()
    assert lines[0].startswith("store: ")
    assert lines[1] == f"Model {lineage / 'model.joblib'} (file)"
    for heading in ("Derived models", "Datasets", "Features", "Function", "Performance", "Resources", "Location"):
        assert heading in lines, heading
    section = lines[lines.index("Datasets") + 1 :]
    assert section[0].split() == ["DEPTH", "NAMESPACE", "NAME", "VERSION", "SOURCE", "QUALITY"]
    assert section[1].split() == ["1", "file", str(lineage / "features.parquet"), FEAT]
    assert "    <- city in postgres://db.example.com:5432 crm.public.customers [columnLineage] (source)" in lines
    assert "  class:            sklearn.ensemble._forest.RandomForestClassifier" in lines
    assert "  hyper-parameters: max_depth=5, n_estimators=100" in lines
    assert f"  training job:     {NOTEBOOK}#c-train" in lines
    assert "    | joblib.dump(model, 'model.joblib')" in lines
    performance = lines[lines.index("Performance") + 1 :]
    assert performance[0].split() == ["SPLIT", "METRIC", "VALUE", "ORIGIN", "RUN"]
    assert performance[1].split() == ["train", "accuracy_score", "0.99", "sklearn", R2]
    assert "  cell runs:   2" in lines and f"  cells:       {NOTEBOOK}: c-prep, c-train" in lines
    assert "  wall time:   11.500 s" in lines
    assert "  GPUs:        NVIDIA A100 (peak 4.7 GiB), Tesla T4 (peak 190.7 MiB)" in lines
    assert f"  uri:          {lineage / 'model.joblib'}" in lines
    assert "  size:         2.0 KiB" in lines


def test_explain_json(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run(capsys, "explain", f"models:/{MODEL_ID}", "--json")
    data = json.loads(out)
    assert list(data) == ["model", "derivedModels", "inputs", "performance", "resources", "location"]
    assert data["model"]["kind"] == "mlflow-model" and data["model"]["version"] == MODEL_ID
    assert [(m["kind"], m["name"]) for m in data["derivedModels"]] == [
        ("mlflow-registry", "models:/churn/3"),
        ("mlflow-registry", "models:/churn/4"),
    ]
    assert [d["name"].rsplit("/", 1)[-1] for d in data["inputs"]["datasets"]] == [
        "features.parquet",
        "raw.csv",
        "crm.public.customers",
    ]
    assert data["inputs"]["function"]["trainingRunId"] == R2
    assert {(m["split"], m["name"], m["origin"]) for m in data["performance"]["metrics"]} >= {
        ("test", "accuracy_score", "sklearn"),
        ("test", "accuracy", "mlflow"),
    }
    assert data["resources"]["runIds"] == [R1, R2, R5]
    location = data["location"]
    assert (location["uri"], location["tracking"], location["savedBy"]) == (
        f"models:/{MODEL_ID}",
        "/srv/mlruns",
        f"{NOTEBOOK}#c-log",
    )
    assert location["mlflow"]["runId"] == MLFLOW_RUN
    assert location["mlflow"]["registeredVersions"] == [
        {"name": "churn", "version": "3"},
        {"name": "churn", "version": "4"},
    ]
    newest = json.loads(run(capsys, "explain", "model.joblib", "--json")[0])
    assert newest["model"]["version"] == M2
    by_run = json.loads(run(capsys, "explain", f"runs:/{MLFLOW_RUN}/model", "--json")[0])
    assert by_run["model"]["name"] == f"models:/{MODEL_ID}"


def test_explain_errors(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, err = run(capsys, "explain", "missing.joblib", status=1)
    assert "no model named" in err
    _, err = run(capsys, "explain", "raw.csv", status=1)
    assert "is a dataset, not a model" in err
    _, err = run(capsys, "explain", "model.joblib", "--version", "nope", status=1)
    assert "has no version 'nope'" in err
    other = lineage / "other.json"
    other.write_text(
        json.dumps(
            run_event(("x", "register"), [], [(OTHER_TRACKING, "models:/churn/3", "3")], models={"models:/churn/3"})
        )
    )
    assert main(["ingest", str(other)]) == 0
    _, err = run(capsys, "explain", "models:/churn/3", status=1)
    assert TRACKING in err and OTHER_TRACKING in err and "--namespace" in err
    out, _ = run(capsys, "explain", "models:/churn/3", "-n", OTHER_TRACKING, "--json")
    assert json.loads(out)["model"]["namespace"] == OTHER_TRACKING


def test_explain_on_a_broken_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database at all")
    _, err = run(capsys, "--url", f"sqlite:///{broken}", "explain", "model.joblib", status=2)
    assert "not a SQLite database" in err


def test_explain_shows_no_terminal_escapes(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = lineage / "hostile.json"
    name = "evil\x1b[2J\x07.pkl"
    hostile.write_text(
        json.dumps(run_event(("x", "train\x1b]0;pwned\x07"), [], [("s3://b", name, "v")], models={name}))
    )
    assert main(["ingest", str(hostile)]) == 0
    out, _ = run(capsys, "explain", name, "-n", "s3://b")
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\N{REPLACEMENT CHARACTER}[2J\N{REPLACEMENT CHARACTER}.pkl" in out


def test_models_from_shows_kinds(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run(capsys, "models-from", "raw.csv")
    lines = out.splitlines()[1:]
    assert lines[0].split() == [
        "KIND",
        "NAMESPACE",
        "NAME",
        "VERSION",
        "DEPTH",
        "FRAMEWORK",
        "CLASS",
        "MLFLOW_RUN",
        "REGISTERED",
    ]
    assert [line.split()[:1] + line.split()[5:] for line in lines[1:]] == [
        ["file", "sklearn", "RandomForestClassifier", "-", "-"],
        ["file", "sklearn", "LogisticRegression", "-", "-"],
        ["mlflow-model", "sklearn", "RandomForestClassifier", MLFLOW_RUN, "churn/3"],
        ["mlflow-registry", "sklearn", "RandomForestClassifier", MLFLOW_RUN, "churn/3"],
        ["mlflow-registry", "sklearn", "RandomForestClassifier", MLFLOW_RUN, "churn/4"],
    ]
    rows = json.loads(run(capsys, "models-from", "raw.csv", "--json")[0])
    assert all(row.keys() >= NODE_FIELDS | {"kind"} and row["type"] == "model" for row in rows)
    assert [(r["kind"], r["name"].rsplit("/", 1)[-1], r["depth"]) for r in rows] == [
        ("file", "model.joblib", 2),
        ("file", "model.joblib", 2),
        ("mlflow-model", MODEL_ID, 2),
        ("mlflow-registry", "3", 3),
        ("mlflow-registry", "4", 3),
    ]
    logged = rows[2]
    assert (logged["mlflowRunId"], logged["registeredName"], logged["registeredVersion"]) == (MLFLOW_RUN, "churn", "3")
    assert rows[0]["modelClass"] == "sklearn.ensemble._forest.RandomForestClassifier"


def names(out: str) -> list[str]:
    return [node["name"].rsplit("/", 1)[-1] for node in json.loads(out)]


def test_every_command_takes_every_model_address(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """upstream, downstream, models-from, path and explain resolve models:/ and runs:/ URIs alike."""
    up = names(run(capsys, "upstream", "models:/churn/3", "--json")[0])
    assert {"train.ipynb#c-reg", MODEL_ID, "raw.csv"} <= set(up) and "register" not in up
    latest = names(run(capsys, "upstream", "models:/churn/latest", "--json")[0])  # churn/4, registered elsewhere
    assert {"register", MODEL_ID, "raw.csv"} <= set(latest) and "train.ipynb#c-reg" not in latest
    down = json.loads(run(capsys, "downstream", f"models:/{MODEL_ID}", "--json")[0])
    assert {node["name"] for node in down if node["type"] == "model"} == {"models:/churn/3", "models:/churn/4"}
    by_run = json.loads(run(capsys, "downstream", f"runs:/{MLFLOW_RUN}/model", "--json")[0])
    assert by_run == down
    models = json.loads(run(capsys, "models-from", f"models:/{MODEL_ID}", "--json")[0])
    assert [(m["kind"], m["name"]) for m in models] == [
        ("mlflow-registry", "models:/churn/3"),
        ("mlflow-registry", "models:/churn/4"),
    ]
    steps = json.loads(run(capsys, "path", "raw.csv", "models:/churn/3", "--json")[0])
    assert (steps[0]["name"], steps[-1]["name"]) == (str(lineage / "raw.csv"), "models:/churn/3")
    assert [s["name"] for s in steps if s["type"] == "model"] == [f"models:/{MODEL_ID}", "models:/churn/3"]
    latest = json.loads(run(capsys, "explain", "models:/churn/latest", "--json")[0])
    assert latest["model"]["name"] == "models:/churn/4"


def test_path_takes_a_namespace_per_end(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = str(lineage / "raw.csv")
    argv = ("path", "--from-namespace", "file", raw, "--to-namespace", TRACKING, "models:/churn/3", "--json")
    steps = json.loads(run(capsys, *argv)[0])
    assert (steps[0]["name"], steps[-1]["name"], steps[-1]["namespace"]) == (raw, "models:/churn/3", TRACKING)
    _, err = run(capsys, "path", "-n", "file", raw, "models:/churn/3", status=1)  # -n still means both ends
    assert "no dataset or job named 'models:/churn/3' in namespace 'file'" in err
    steps = json.loads(
        run(capsys, "path", "-n", "file", raw, "--to-namespace", TRACKING, "models:/churn/3", "--json")[0]
    )
    assert steps[-1]["name"] == "models:/churn/3"


def test_unknown_model_addresses_say_what_is_known(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("upstream", "downstream", "models-from", "explain"):
        _, err = run(capsys, command, "models:/churn/9", status=1)
        assert (
            f"no MLflow model 'models:/churn/9' in the MLflow tracking stores the lineage store knows ({TRACKING})"
            in err
        )
        assert "versions of 'churn' it knows: 3, 4" in err and "mlflow://..." not in err
    _, err = run(capsys, "upstream", "models:/churn@champion", status=1)
    assert "MLflow alias 'champion' of 'churn' is unknown" in err and f"versions known: 3, 4 in {TRACKING}" in err
    _, err = run(capsys, "path", "raw.csv", "models:/nope/latest", status=1)
    assert "no registry version of MLflow model 'nope'" in err


def test_latest_in_several_tracking_stores(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = lineage / "other.json"
    registered = [(OTHER_TRACKING, "models:/churn/3", "3")]
    other.write_text(json.dumps(run_event(("x", "register"), [], registered, models={"models:/churn/3"})))
    assert main(["ingest", str(other)]) == 0
    _, err = run(capsys, "upstream", "models:/churn/latest", status=1)
    assert f"registered in several tracking stores: {TRACKING}, {OTHER_TRACKING}" in err and "--namespace" in err
    out, _ = run(capsys, "explain", "models:/churn/latest", "-n", OTHER_TRACKING, "--json")
    assert (json.loads(out)["model"]["namespace"], json.loads(out)["model"]["name"]) == (
        OTHER_TRACKING,
        "models:/churn/3",
    )
    out, _ = run(capsys, "downstream", "models:/churn/latest", "-n", TRACKING, "--json")
    assert json.loads(out) == []  # churn/4, which nothing derives from
