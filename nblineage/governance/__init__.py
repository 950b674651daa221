"""Governance: the answers every surface (CLI, magics, widgets, REST) gives about models, from the lineage store.

Nothing here imports IPython or Jupyter; it reads the store through ``nblineage.lineage``.
"""
