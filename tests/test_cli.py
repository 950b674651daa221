"""The nblineage command, run as a user would (in-process for speed, and once as a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from events import run_event

from nblineage.cli import main

NODE_FIELDS = {"type", "namespace", "name", "version", "depth"}


@pytest.fixture
def lineage(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store (via NBLINEAGE_URL) holding raw.csv -> features.parquet -> model.joblib, twice, in tmp_path."""
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    monkeypatch.chdir(tmp_path)
    raw, features, model = (str(tmp_path / n) for n in ("raw.csv", "features.parquet", "model.joblib"))
    events = []
    for n in (1, 2):
        events.append(run_event(("jupyter", "prep.ipynb#c1"), [("file", raw, f"r{n}")], [("file", features, f"f{n}")]))
        events.append(
            run_event(
                ("jupyter", "train.ipynb#c2"), [("file", features, f"f{n}")], [("file", model, f"m{n}")], models={model}
            )
        )
    events.append(run_event(("spark", "export"), [("file", model, "m1")], [("s3://bucket", "exports/model.bin")]))
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events))
    assert main(["ingest", str(tmp_path / "events.jsonl")]) == 0
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(row.keys() >= NODE_FIELDS for row in rows) or argv[0] == "datasets"
    return rows


def test_models_from_a_relative_path(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "models-from", "raw.csv")
    assert {(r["type"], r["name"], r["version"]) for r in rows} == {
        ("model", str(lineage / "model.joblib"), "m1"),
        ("model", str(lineage / "model.joblib"), "m2"),
    }
    rows = run_json(capsys, "models-from", "raw.csv", "--version", "r2")
    assert [(r["version"], r["depth"]) for r in rows] == [("m2", 2)]


def test_upstream_and_downstream(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    up = run_json(capsys, "upstream", "s3://bucket/exports/model.bin")
    assert {(r["type"], r["name"], r["version"]) for r in up} >= {
        ("job", "export", None),
        ("model", str(lineage / "model.joblib"), "m1"),
        ("dataset", str(lineage / "raw.csv"), "r1"),
    }
    assert ("dataset", str(lineage / "raw.csv"), "r2") not in {(r["type"], r["name"], r["version"]) for r in up}
    down = run_json(capsys, "downstream", "--namespace", "jupyter", "prep.ipynb#c1", "--depth", "1")
    assert {(r["type"], r["version"]) for r in down} == {("dataset", "f1"), ("dataset", "f2")}


def test_path_and_datasets(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = run_json(capsys, "path", "raw.csv", "s3://bucket/exports/model.bin")
    assert [r["name"].rsplit("/", 1)[-1] for r in steps] == [
        "raw.csv",
        "prep.ipynb#c1",
        "features.parquet",
        "train.ipynb#c2",
        "model.joblib",
        "export",
        "model.bin",
    ]
    listing = run_json(capsys, "datasets")
    assert {(r["type"], r["name"].rsplit("/", 1)[-1], r["version"], r["versions"]) for r in listing} == {
        ("dataset", "raw.csv", "r2", 2),
        ("dataset", "features.parquet", "f2", 2),
        ("model", "model.joblib", "m2", 2),
        ("dataset", "model.bin", None, 0),
    }


def test_tables_for_people(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["models-from", "raw.csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TYPE", "KIND", "NAMESPACE", "NAME", "VERSION", "DEPTH"]
    assert len(lines) == 3 and all(line.split()[:2] == ["model", "file"] for line in lines[1:])


def test_not_found_and_no_path(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["upstream", "missing.csv"]) == 1
    assert "no dataset or job named" in capsys.readouterr().err
    (lineage / "other.json").write_text(json.dumps(run_event(("x", "y"), [("s3://other", "a")], [("s3://other", "b")])))
    assert main(["ingest", str(lineage / "other.json")]) == 0
    assert main(["path", "raw.csv", "s3://other/b", "--json"]) == 1
    assert "no lineage path" in capsys.readouterr().err
    assert main(["models-from", "raw.csv", "--version", "nope"]) == 1
    assert main(["upstream", "raw.csv", "--depth", "0"]) == 1


def test_rebuild(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = run_json(capsys, "upstream", "s3://bucket/exports/model.bin")
    assert main(["rebuild"]) == 0
    assert "graph rebuilt from 5 events" in capsys.readouterr().out
    assert run_json(capsys, "upstream", "s3://bucket/exports/model.bin") == before


def test_the_installed_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    events = tmp_path / "e.json"
    events.write_text(json.dumps(run_event(("j", "n"), [("s3://b", "in")], [("s3://b", "out")])))
    command = [str(Path(sys.executable).with_name("nblineage")), "--url", url]
    done = subprocess.run([*command, "ingest", str(events)], capture_output=True, text=True, check=True)
    assert "1 events stored" in done.stdout
    done = subprocess.run([*command, "downstream", "s3://b/in", "--json"], capture_output=True, text=True, check=True)
    assert [(r["name"], r["type"]) for r in json.loads(done.stdout)] == [("n", "job"), ("out", "dataset")]
