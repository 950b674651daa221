"""Settings read from the environment (documented in README.md, "Configuration")."""

from __future__ import annotations

import os
from pathlib import Path

STORE_FILE = "lineage.db"


def store_url() -> str:
    """``NBLINEAGE_URL``, or a SQLite file under the Jupyter data dir."""
    url = os.environ.get("NBLINEAGE_URL", "").strip()
    if url:
        return url
    from jupyter_core.paths import jupyter_data_dir

    return f"sqlite:///{Path(jupyter_data_dir()) / 'nblineage' / STORE_FILE}"


def namespace() -> str:
    """The OpenLineage namespace of notebook jobs: ``NBLINEAGE_NAMESPACE``, default ``jupyter``."""
    return os.environ.get("NBLINEAGE_NAMESPACE", "").strip() or "jupyter"
