"""Fixtures: a real store on SQLite and on PostgreSQL, and OpenLineage spec validation."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nblineage.lineage.store import Store

os.environ.setdefault("NBLINEAGE_STRICT", "1")
# The tests, their kernels and their commands never touch the Jupyter data dir of whoever runs them (its store,
# its outboxes): one fresh folder for the session, unless a test names its own.
os.environ["JUPYTER_DATA_DIR"] = tempfile.mkdtemp(prefix="nblineage-tests-jupyter-")
atexit.register(shutil.rmtree, os.environ["JUPYTER_DATA_DIR"], True)
# Nor its IPython profile: `nblineage enable --user` there would load capture into every test kernel.
os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="nblineage-tests-ipython-")
atexit.register(shutil.rmtree, os.environ["IPYTHONDIR"], True)

POSTGRES_ADMIN_URL = os.environ.get("NBLINEAGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


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


class postgres_database:
    """A fresh PostgreSQL database for one test, dropped afterwards."""

    def __enter__(self) -> str:
        self.name = f"nbl_test_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    def __exit__(self, *exc_info: object) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
