"""The command line starts fast: building its parser imports nothing heavy, and a query on a SQLite store imports
no SQLAlchemy (timings: benchmarks/bench_cli.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nblineage.lineage.events import check
from nblineage.lineage.store import Store

HEAVY = (
    "sqlalchemy",
    "alembic",
    "openlineage",
    "pandas",
    "IPython",
    "mlflow",
    "great_expectations",
    "cryptography",
    "yaml",
    "numpy",
)


def imported_modules(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules ``python -X importtime -m nblineage.cli ARGV`` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nblineage.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(sys.path)},
        check=True,
    )
    lines = [line.split("|")[-1] for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.strip() for line in lines}


def imported(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages ``python -X importtime -m nblineage.cli ARGV`` imports."""
    return {module.split(".")[0] for module in imported_modules(*argv, env=env)}


# Standard modules that cost milliseconds each at start-up: building the parser needs none of them.
SLOW_STDLIB = ("typing", "dataclasses", "logging", "pathlib", "json", "sqlite3", "threading", "shutil")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["explain", "--help"],
        ["path", "--help"],
        ["datasets", "--help"],
        ["policy", "--help"],
        ["audit", "--help"],
    ],
)
def test_the_parser_imports_nothing_heavy(argv: list[str]) -> None:
    modules = imported(*argv)
    assert "nblineage" in modules and "argparse" in modules  # the list is real
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert not modules & set(SLOW_STDLIB), sorted(modules & set(SLOW_STDLIB))


def test_the_version_imports_no_parser() -> None:
    modules = imported_modules("--version")
    assert "nblineage" in modules and "nblineage._version" in modules  # the list is real
    assert not {module.split(".")[0] for module in modules} & {"argparse", "typing", *HEAVY, *SLOW_STDLIB}


QUERIES = [["datasets"], ["datasets", "--json"], ["upstream", "/d/m.pkl"], ["path", "/d/raw.csv", "/d/m.pkl"]]


@pytest.mark.parametrize("argv", QUERIES)
def test_a_query_on_a_sqlite_store_imports_no_sqlalchemy(store: Store, argv: list[str]) -> None:
    """A query on a SQLite store reads it through sqlite3; on PostgreSQL, through SQLAlchemy (the same SQL)."""
    from tests.events import run_event

    store.append([check(run_event(("jupyter", "nb.ipynb#c1"), [("file", "/d/raw.csv")], [("file", "/d/m.pkl")]))])
    url = store.url.render_as_string(hide_password=False)
    modules = imported_modules("--url", url, *argv, env={"NBLINEAGE_URL": ""})
    assert "nblineage.lineage.store" in modules and "nblineage.lineage.graph" in modules  # it ran: the list is real
    heavy = {module.split(".")[0] for module in modules} & set(HEAVY)
    if store.is_sqlite:
        assert not heavy, sorted(heavy)
    else:
        assert heavy == {"sqlalchemy"}


# Modules of answers and questions a listing or a walk does not give: the command line imports them only for the
# commands that answer with them (explain, impact, quality, reports, policy).
OTHER_ANSWERS = {
    f"nblineage.governance.{name}"
    for name in ("answers", "questions", "models", "quality", "quality_answer", "impact", "owners", "policy", "fit")
}
NOT_FOR_QUERIES = {"difflib", "html"}  # nearest names (an unknown node), HTML rendering (notebooks)


@pytest.mark.parametrize("argv", QUERIES)
def test_a_query_imports_only_the_answers_it_gives(store: Store, argv: list[str]) -> None:
    from tests.events import run_event

    store.append([check(run_event(("jupyter", "nb.ipynb#c1"), [("file", "/d/raw.csv")], [("file", "/d/m.pkl")]))])
    url = store.url.render_as_string(hide_password=False)
    modules = imported_modules("--url", url, *argv, env={"NBLINEAGE_URL": ""})
    assert "nblineage.governance.lists" in modules and "nblineage.governance.render" in modules  # the list is real
    assert not modules & OTHER_ANSWERS, sorted(modules & OTHER_ANSWERS)
    assert not modules & NOT_FOR_QUERIES, sorted(modules & NOT_FOR_QUERIES)


def test_the_startup_benchmark_runs() -> None:
    root = Path(__file__).resolve().parents[1]
    script = root / "benchmarks" / "bench_cli.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--compare", str(root)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for label in ("baseline: python -c pass", "nblineage --version", "nblineage --help", "nblineage datasets"):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+\s+[\d.]+\s+[\d.]+x$", done.stdout, re.MULTILINE), label
    name = re.escape(root.name)  # --compare: the same commands by that checkout's nblineage
    assert re.search(rf"^nblineage datasets \({name}\)\s+[\d.]+\s+[\d.]+\s+[\d.]+x$", done.stdout, re.M)
    assert re.search(rf"^vs {name}: nblineage datasets overhead [\d.-]+ ms CPU against [\d.-]+ ms$", done.stdout, re.M)
    assert re.search(
        r"^target: nblineage datasets \(overhead\) <= 150 ms: [\d.-]+ ms CPU \([\d.-]+ ms wall\), (met|NOT met)$",
        done.stdout,
        re.M,
    )


def test_only_the_command_run_has_its_arguments_built() -> None:
    from nblineage import cli, commands

    built = cli._parser(["explain", "--help"])
    chosen = next(action for action in built._actions if action.dest == "command").choices
    assert set(chosen) == set(commands.names(commands.CLI))  # every command is named (help, choices)
    assert chosen["explain"]._actions[1:] and not chosen["datasets"]._actions[1:]  # only explain's are built
    assert cli._parser(["--url", "x", "datasets"]).parse_args(["--url", "x", "datasets"]).run is not None


@pytest.mark.parametrize("columns", ["", "30", "57", "200", "x"])
def test_the_help_is_as_wide_as_argparse_makes_it(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    """The command line's parser finds the terminal's width without shutil, and finds the same one."""
    import argparse

    from nblineage import cli, commands

    monkeypatch.setenv("COLUMNS", columns)
    ours = cli._parser(["audit", "--help"])
    theirs = commands.parser(commands.CLI, "nblineage", argparse.ArgumentParser, only={"audit"})
    theirs.add_argument("--version", action="version", version="x")
    assert ours.format_help() == theirs.format_help()
    audit = next(action for action in ours._actions if action.dest == "command").choices["audit"]
    assert audit.format_help() == (
        next(action for action in theirs._actions if action.dest == "command").choices["audit"].format_help()
    )
    assert type(audit) is type(ours)  # sub-commands' parsers too
