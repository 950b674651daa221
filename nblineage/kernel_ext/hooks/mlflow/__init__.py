"""MLflow: model saves, logs and registrations (``models``), the lineage nblineage logs into MLflow (``link``), and
what MLflow knows of the runs a cell touched, read back (``runs``). Nothing here imports MLflow."""

from __future__ import annotations

from typing import Any

MAX_CALLER_FRAMES = 32


def called_by_mlflow(frame: Any, passed: tuple[str, ...] = ("nblineage.", "wrapt")) -> bool:
    """Whether the code that made the call running in ``frame`` (the first frame up from it whose module is not one of
    ``passed``) is MLflow's: autolog computing its own metrics, writing its own scratch files."""
    for _ in range(MAX_CALLER_FRAMES):
        if frame is None:
            return False
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith(passed):
            return module == "mlflow" or module.startswith("mlflow.")
        frame = frame.f_back
    return False
