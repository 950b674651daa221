"""The Jupyter Server extension: nblineage's answers over authenticated REST (``/nblineage/api/``) and an
OpenLineage endpoint (``POST /api/v1/lineage``) that Spark, Airflow, dbt and remote kernels send events to.

Enabled for every Jupyter server by ``jupyter-config/server-config/nblineage.json``, installed with the package.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """One extension app, :class:`nblineage.server.app.NblineageApp`: its handlers, its store, its shutdown."""
    from nblineage.server.app import NblineageApp

    return [{"module": "nblineage.server", "app": NblineageApp}]
