"""nblineage: version-exact lineage and governance for Jupyter notebooks.

``%load_ext nblineage`` turns capture on in a notebook; ``nblineage enable`` turns it on for every kernel.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(shell: Any) -> None:
    """Start capturing lineage in this kernel (nothing when ``NBLINEAGE_DISABLED`` is set)."""
    from nblineage.kernel_ext import load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    from nblineage.kernel_ext import unload

    unload(shell)
