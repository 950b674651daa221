"""MLflow: model saves, logs and registrations (``models``), the lineage nblineage logs into MLflow (``link``), and
what MLflow knows of the runs a cell touched, read back (``runs``). Nothing here imports MLflow."""
