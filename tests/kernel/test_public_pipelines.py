"""Public notebooks and scripts (tests/kernel/public_cases.py) run in real kernels with nblineage: every saved model
links to exactly the datasets it came from (100 % recall and 100 % precision of source -> model links)."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebooks import run_notebook
from postgres_db import postgres_database
from public_cases import CASES, Case, pg_seed

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store


def found_sources(store: Store, workdir: Path, model: str) -> set[str]:
    """The datasets and models upstream of a model file: paths under ``workdir``, other datasets as ``table:NAME``."""
    found = set()
    for node in upstream(store, DatasetRef("file", str(workdir / model))):
        if node.type not in ("dataset", "model"):
            continue
        name = node.name.removeprefix("file://")
        if node.namespace == "file" or node.namespace.startswith("file"):
            path = Path(name)
            found.add(str(path.relative_to(workdir)) if path.is_relative_to(workdir) else name)
        else:
            found.add(f"table:{node.name.rsplit('.', 1)[-1]}")
    found.discard(model)
    return found


def run_case(case: Case, workdir: Path, env: dict[str, str]) -> dict[str, set[str]]:
    """Run a case's kernels one after the other; each model's recorded sources."""
    case.synthesize(workdir)
    for path, text in case.helpers.items():
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).write_text(text)
    for number, cells in enumerate(case.kernels):
        run_notebook(workdir / f"{case.name}-{number}.ipynb", list(cells), env, timeout=240)
    with Store(env["NBLINEAGE_URL"]) as store:
        return {model: found_sources(store, workdir, model) for model in case.truth}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_model_links_to_exactly_its_sources(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
    }
    if case.postgres:
        with postgres_database() as url:
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            pg_seed(dsn)
            found = run_case(case, tmp_path, {**env, "PG_DSN": dsn})
    else:
        found = run_case(case, tmp_path, env)
    links = {(model, source) for model, sources in case.truth.items() for source in sources}
    recorded = {(model, source) for model, sources in found.items() for source in sources}
    print(f"{case.name}: expected {sorted(links)}, recorded {sorted(recorded)}")
    assert found == case.truth
