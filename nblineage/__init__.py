"""nblineage: version-exact lineage and governance for Jupyter notebooks.

``%load_ext nblineage`` turns capture on in a notebook; ``nblineage enable`` turns it on for every kernel.
"""

from __future__ import annotations

from nblineage._version import __version__ as __version__

TYPE_CHECKING = False  # typing is not imported at run time: every command line run starts here
if TYPE_CHECKING:
    from typing import Any


def load_ipython_extension(shell: Any) -> None:
    """Start capturing lineage in this kernel (nothing when ``NBLINEAGE_DISABLED`` is set)."""
    from nblineage.kernel_ext import load

    load(shell)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter Server extension (REST answers and the OpenLineage endpoint) lives in ``nblineage.server``."""
    from nblineage.server import _jupyter_server_extension_points as points

    return points()


def unload_ipython_extension(shell: Any) -> None:
    from nblineage.kernel_ext import unload

    unload(shell)


def show(target: Any, depth: int = 1, *, namespace: str | None = None, version: str | None = None) -> Any:
    """An interactive lineage graph centred on ``target``: a local path, a dataset URI (``s3://...``), an MLflow
    model (``models:/...``, ``runs:/...``), a name in ``namespace``, or a node ref; ``depth`` dataset hops each way.
    The store is the one the command line reads (``NBLINEAGE_URL``)."""
    from nblineage.widgets.graph import open_graph

    return open_graph(target, depth, namespace=namespace, version=version)


def __getattr__(name: str) -> Any:
    """``nblineage.PolicyViolation``: what a policy rule with action ``block`` raises (imported when first asked)."""
    if name == "PolicyViolation":
        from nblineage.governance.policy import PolicyViolation

        return PolicyViolation
    raise AttributeError(f"module 'nblineage' has no attribute {name!r}")
