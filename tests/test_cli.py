"""The nblineage command, run as a user would (in-process for speed, and once as a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from events import run_event
from postgres_db import postgres_database
from sqlalchemy import create_engine, inspect

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


def test_tables_for_people(lineage: Path, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["models-from", "raw.csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"store: {store_url}"
    assert lines[1].split() == MODEL_HEADER
    assert len(lines) == 4 and all(line.split()[:2] == ["file", "file"] for line in lines[2:])


MODEL_HEADER = ["KIND", "NAMESPACE", "NAME", "VERSION", "DEPTH", "FRAMEWORK", "CLASS", "MLFLOW_RUN", "REGISTERED"]


def test_not_found_and_no_path(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["upstream", "missing.csv"]) == 1
    assert "no dataset or job named" in capsys.readouterr().err
    assert main(["upstream", "models:/churn/1"]) == 1
    err = capsys.readouterr().err
    assert "no MLflow model 'models:/churn/1'" in err and "knows no MLflow tracking store" in err
    assert "mlflow://..." not in err
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


def test_every_command_names_the_store_it_read(lineage: Path, store_url: str, capsys) -> None:
    """Text output starts with the store; with --json the store goes to stderr and stdout stays pure JSON."""
    shown = store_url
    if store_url.startswith("postgresql"):  # the server trusts the user: a password is accepted, and never shown
        shown, store_url = store_url, store_url.replace("://postgres@", "://postgres:s3cret@")
        shown = shown.replace("://postgres@", "://postgres:***@")
    for argv in (
        ["datasets"],
        ["upstream", "model.joblib"],
        ["downstream", "raw.csv"],
        ["models-from", "raw.csv"],
        ["path", "raw.csv", "model.joblib"],
        ["explain", "model.joblib"],
        ["rebuild"],
    ):
        capsys.readouterr()
        assert main(["--url", store_url, *argv]) == 0, argv
        captured = capsys.readouterr()
        assert captured.out.splitlines()[0] == f"store: {shown}", argv
        assert "s3cret" not in captured.out + captured.err
        if argv[0] == "rebuild":
            continue
        assert main(["--url", store_url, *argv, "--json"]) == 0, argv
        captured = capsys.readouterr()
        assert captured.err.splitlines() == [f"store: {shown}"], argv
        json.loads(captured.out)


def nblineage(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("nblineage")), *argv]
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlte:///tmp/x.db", "unknown store scheme 'sqlte'"),
        ("postgres://postgres@127.0.0.1:5432/lineage", "not postgres://"),
        ("/tmp/lineage.db", "is not a store URL (for a SQLite file write sqlite:////tmp/lineage.db)"),
        ("postgresql+nosuchdriver://h/db", "unknown driver"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432", "names no database"),
    ],
)
def test_a_mistyped_store_url_is_one_clear_line(url: str, says: str, tmp_path: Path) -> None:
    for argv in (["--url", url, "datasets"], ["datasets"]):
        done = nblineage(*argv, env={**os.environ, "NBLINEAGE_URL": url}, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert says in done.stderr
        assert "sqlite:///ABSOLUTE/PATH/lineage.db or postgresql+psycopg://USER@HOST:PORT/DATABASE" in done.stderr
    assert not list(tmp_path.iterdir())


def test_a_query_never_creates_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing_folder = tmp_path / "no" / "such" / "dir" / "x.db"
    missing_file = tmp_path / "x.db"
    (tmp_path / "events.json").write_text(json.dumps(run_event(("j", "n"), [("s3://b", "in")], [("s3://b", "out")])))
    queries = (
        ["datasets"],
        ["upstream", "s3://b/out"],
        ["downstream", "s3://b/in"],
        ["models-from", "s3://b/in"],
        ["path", "s3://b/in", "s3://b/out"],
        ["explain", "s3://b/out"],
        ["rebuild"],
    )
    for path in (missing_folder, missing_file):
        for argv in queries:
            capsys.readouterr()
            assert main(["--url", f"sqlite:///{path}", *argv]) == 2, argv
            err = capsys.readouterr().err
            assert f"there is no lineage store at {path}" in err and "nothing was created" in err
        assert not path.exists()
    assert not (tmp_path / "no").exists()
    missing_file.touch()  # an empty file is no store either, and stays empty
    assert main(["--url", f"sqlite:///{missing_file}", "datasets"]) == 2
    assert missing_file.stat().st_size == 0 and [p.name for p in tmp_path.iterdir()] == ["events.json", "x.db"]
    missing_file.unlink()
    assert main(["--url", f"sqlite:///{missing_folder}", "ingest", str(tmp_path / "events.json")]) == 0  # the writer
    assert main(["--url", f"sqlite:///{missing_folder}", "upstream", "s3://b/out"]) == 0


@pytest.mark.postgres
def test_a_query_against_an_empty_postgres_database_creates_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with postgres_database() as url:
        assert main(["--url", url, "datasets"]) == 2
        assert "there is no lineage store in" in capsys.readouterr().err
        engine = create_engine(url)
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
        engine.dispose()


def test_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    outputs = [("s3://bucket", f"exports/{'x' * 60}/{n:05d}.parquet", f"v{n}") for n in range(3000)]
    (tmp_path / "big.json").write_text(json.dumps(run_event(("etl", "export"), [("s3://bucket", "in")], outputs)))
    assert nblineage("--url", url, "ingest", str(tmp_path / "big.json")).returncode == 0
    for argv in (["datasets"], ["downstream", "s3://bucket/in"], ["datasets", "--json"]):
        command = [str(Path(sys.executable).with_name("nblineage")), "--url", url, *argv]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            first = process.stdout.readline()  # like `| head -1`: read one line, then go away
            process.stdout.close()
            err = process.stderr.read()
            assert process.wait(60) == 141, err
        assert first.startswith(("store:", "[")) and err in ("", f"store: {url}\n"), err


def test_ingest_says_which_files_it_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "events"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps(run_event(("j", "n"), [("s3://b", "in")], [("s3://b", "out")])))
    for name in ("notes.txt", "sub/events.json.gz", "sub/README", *(f"x{n}.csv" for n in range(5))):
        (folder / name).write_text("not read")
    capsys.readouterr()
    assert main(["--url", f"sqlite:///{tmp_path / 's.db'}", "ingest", str(folder)]) == 0
    captured = capsys.readouterr()
    summary = captured.out.splitlines()[-1]
    assert summary == (
        "1 events stored, 0 already stored, 0 rejected, from 1 files; "
        "8 other files skipped (not .json, .jsonl, .ndjson)"
    )
    assert captured.err.splitlines() == [
        f"skipped (only .json, .jsonl, .ndjson files in a folder are read): {folder / 'notes.txt'}, "
        f"{folder / 'sub' / 'README'}, {folder / 'sub' / 'events.json.gz'}, {folder / 'x0.csv'}, "
        f"{folder / 'x1.csv'} and 3 more"
    ]


def test_an_unknown_name_gets_the_nearest_names(lineage: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["upstream", "raw.cvs"]) == 1
    err = capsys.readouterr().err
    assert f"no dataset or job named {str(lineage / 'raw.cvs')!r} in namespace 'file'" in err
    assert f"nearest names: {lineage / 'raw.csv'}" in err
    assert main(["explain", "modl.joblib"]) == 1
    err = capsys.readouterr().err
    assert f"no model named {str(lineage / 'modl.joblib')!r}" in err
    assert err.rstrip().endswith(f"nearest names: {lineage / 'model.joblib'}")  # models only
    assert main(["upstream", "zzzzzz"]) == 1
    assert "nearest names" not in capsys.readouterr().err
