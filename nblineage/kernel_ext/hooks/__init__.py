"""One instrumentor per library (``HOOKS``). Importing a hook module never imports its library."""

from __future__ import annotations

import importlib
from typing import Any

# (module under nblineage.kernel_ext.hooks, instrumentor class names), in install order.
HOOKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pandas", ("PandasInstrumentor",)),
    ("pyarrow", ("PyarrowInstrumentor",)),
    ("sqlalchemy", ("SqlAlchemyInstrumentor", "PandasSqlInstrumentor")),
    ("sklearn", ("SklearnInstrumentor",)),
    ("metrics", ("MetricsInstrumentor",)),
    (
        "models",
        (
            "JoblibInstrumentor",
            "PickleInstrumentor",
            "TorchInstrumentor",
            "SkopsInstrumentor",
            "KerasInstrumentor",
            "XGBoostInstrumentor",
            "LightGBMInstrumentor",
            "TransformersInstrumentor",
        ),
    ),
    ("mlflow", ("MlflowInstrumentor",)),
)


def instrumentors() -> list[Any]:
    """A fresh instance of every instrumentor."""
    found = []
    for module_name, class_names in HOOKS:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{module_name}":
                raise
            continue
        found.extend(getattr(module, name)() for name in class_names if hasattr(module, name))
    return found
