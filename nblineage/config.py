"""Settings read from the environment (documented in README.md, "Configuration")."""

from __future__ import annotations

import os
from pathlib import Path

STORE_FILE = "lineage.db"


def data_dir() -> Path:
    """nblineage's folder under the Jupyter data dir (the default store, kernel outboxes)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "nblineage"


def private_temp_dir(create: bool = True) -> Path:
    """A folder under the system temp dir that only this user can use (created on first use, unless ``create`` is
    False); where a kernel keeps its outbox when the Jupyter data dir cannot be written. Raises OSError when it is
    not safe to use, or (``create=False``) does not exist."""
    import stat
    import tempfile

    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    folder = Path(tempfile.gettempdir()) / f"nblineage-{user}"
    if create:
        folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    private = not hasattr(os, "getuid") or (info.st_uid == os.getuid() and not info.st_mode & 0o077)
    if not stat.S_ISDIR(info.st_mode) or not private:
        raise PermissionError(f"{folder} is not a private folder of this user")
    return folder


def store_url() -> str:
    """``NBLINEAGE_URL``, or a SQLite file under the Jupyter data dir."""
    url = os.environ.get("NBLINEAGE_URL", "").strip()
    return url or f"sqlite:///{data_dir() / STORE_FILE}"


HUB_TOKENS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")


def server_token(url: str) -> str | None:
    """The token a kernel sends to the Jupyter server at ``url`` (``NBLINEAGE_URL=http(s)://...``):
    ``NBLINEAGE_TOKEN``, else the JupyterHub token of its single-user server, which is only sent to that server
    (a URL under ``JUPYTERHUB_SERVICE_PREFIX``, or on this machine when no prefix is set). Never logged or stored."""
    token = os.environ.get("NBLINEAGE_TOKEN", "").strip()
    if token:
        return token
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "").strip()
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if prefix and not path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
        return None
    if not prefix and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    for name in HUB_TOKENS:
        token = os.environ.get(name, "").strip()
        if token:
            return token
    return None


def disabled() -> bool:
    """``NBLINEAGE_DISABLED`` switches capture off, whatever enabled it."""
    return os.environ.get("NBLINEAGE_DISABLED", "").strip().lower() not in ("", "0", "false", "no")


def namespace() -> str:
    """The OpenLineage namespace of notebook jobs: ``NBLINEAGE_NAMESPACE``, default ``jupyter``."""
    return os.environ.get("NBLINEAGE_NAMESPACE", "").strip() or "jupyter"


def mlflow_sync() -> bool:
    """Whether tracked models' datasets and metrics are logged to MLflow: on unless ``NBLINEAGE_MLFLOW_SYNC=0``."""
    return os.environ.get("NBLINEAGE_MLFLOW_SYNC", "").strip().lower() not in ("0", "false", "no", "off")
