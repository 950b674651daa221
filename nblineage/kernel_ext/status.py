"""What ``%lineage status`` shows about a kernel's capture (``Session.status``): a module of its own, imported when
first asked for, so that ``%load_ext`` does not build this dataclass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    """What ``%lineage status`` shows about this kernel's capture."""

    capturing: bool
    notebook: str
    notebook_found: str  # "from NBLINEAGE_NOTEBOOK", ..., "not found: using <cwd>/ipython-<kernel id> (...)"
    store: str  # the store URL, password masked
    store_problem: str | None  # why the store cannot be used or reached right now
    transport_problem: str | None
    outbox: str  # where records wait: a file, or memory
    outbox_problem: str | None  # why the outbox is not under the Jupyter data dir
    waiting: int  # records in the outbox that the store has not taken yet
    set_aside: int  # records the store could not take, kept in the dead-letter file (`nblineage replay`)
    hooks: tuple[str, ...]
    hook_errors: dict[str, int]
