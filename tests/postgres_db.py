"""The PostgreSQL server the tests use (``NBLINEAGE_TEST_POSTGRES``), and a fresh database on it per test."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text

POSTGRES_ADMIN_URL = os.environ.get("NBLINEAGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


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
