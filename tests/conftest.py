"""Fixtures: a real store on SQLite and on PostgreSQL, and OpenLineage spec validation."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_db import postgres_database

from nblineage.lineage.store import Store

pytest_plugins = ["pytest_jupyter.jupyter_server"]  # jp_serve, jp_fetch: a real Jupyter server for tests/server/

os.environ.setdefault("NBLINEAGE_STRICT", "1")
# No test talks to the internet: libraries' telemetry and hub lookups stay off (a network that drops packets instead
# of refusing them would stall them).
for _name, _value in {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}.items():
    os.environ.setdefault(_name, _value)
# A pytest-xdist worker's __main__ has neither file nor spec (and must keep it so: multiprocessing's spawn re-runs
# __main__ from them): pyspark's Spark Connect client, imported by great-expectations when pyspark is installed,
# then takes the process for a doctest run and exits it, unless it looks interactive.
if os.environ.get("PYTEST_XDIST_WORKER") and not hasattr(sys, "ps1"):
    sys.ps1 = ">>> "
# The tests, their kernels and their commands never touch the Jupyter data dir of whoever runs them (its store,
# its outboxes): one fresh folder for the session, unless a test names its own.
os.environ["JUPYTER_DATA_DIR"] = tempfile.mkdtemp(prefix="nblineage-tests-jupyter-")
atexit.register(shutil.rmtree, os.environ["JUPYTER_DATA_DIR"], True)
# Nor its IPython profile: `nblineage enable --user` there would load capture into every test kernel.
os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="nblineage-tests-ipython-")
atexit.register(shutil.rmtree, os.environ["IPYTHONDIR"], True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lineage.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'lineage.db'}") as opened:
        yield opened
