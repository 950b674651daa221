"""The library hooks: one module (or package) per library, each an ``instrument.Instrumentor`` listed once here, in
install order, with the modules of its library it instruments. Importing this package imports no hook module, and a
hook module imports no library: a session's hooks (``deferred``) import their module when the first of those
library modules is imported."""

from __future__ import annotations

import importlib

from nblineage.kernel_ext.instrument import Deferred, Instrumentor

_MLFLOW_FLAVORS = ("sklearn", "pytorch", "xgboost", "lightgbm", "keras", "tensorflow", "transformers", "pyfunc", "onnx")
_MLFLOW = (
    *(f"mlflow.{flavor}" for flavor in (*_MLFLOW_FLAVORS, "statsmodels")),
    "mlflow.tracking.fluent",
    "mlflow.tracking._model_registry.fluent",
    "mlflow.tracking.client",
)
_PYARROW = ("pyarrow", "pyarrow.parquet", "pyarrow.csv", "pyarrow.feather", "pyarrow.dataset", "pyarrow.pandas_compat")
_TRANSFORMERS = (
    "transformers.modeling_utils",
    "transformers.tokenization_utils_base",
    "transformers.processing_utils",
    "transformers.trainer",
    "accelerate.data_loader",
    "tokenizers",
    "tokenizers.implementations.base_tokenizer",
)
_LIGHTNING = (
    "lightning.pytorch.trainer.trainer",
    "pytorch_lightning.trainer.trainer",
    "lightning.pytorch.core.module",
    "pytorch_lightning.core.module",
)

# (hook module under nblineage.kernel_ext.hooks, instrumentor class, the library modules it instruments: its
# ``modules``, which tests/kernel/hooks/test_registry.py keeps equal), in install order
REGISTRY: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pandas", "PandasInstrumentor", ("pandas",)),
    ("pyarrow", "PyarrowInstrumentor", _PYARROW),
    ("polars", "PolarsInstrumentor", ("polars",)),
    ("duckdb", "DuckdbInstrumentor", ("duckdb",)),
    ("numpy", "NumpyInstrumentor", ("numpy", "IPython")),
    ("scipy", "ScipyInstrumentor", ("scipy.io",)),
    ("pillow", "PillowInstrumentor", ("PIL.Image",)),
    ("images", "MatplotlibImagesInstrumentor", ("matplotlib.image", "matplotlib.pyplot")),
    ("images", "ImageioInstrumentor", ("imageio", "imageio.v2", "imageio.v3")),
    ("workbooks", "OpenpyxlInstrumentor", ("openpyxl",)),
    ("sql.engine", "SqlAlchemyInstrumentor", ("sqlalchemy",)),
    ("sql.pandas", "PandasSqlInstrumentor", ("pandas",)),
    ("sql.dbapi", "SqliteInstrumentor", ("sqlite3",)),
    ("sql.dbapi", "PsycopgInstrumentor", ("psycopg",)),
    ("sql.dbapi", "Psycopg2Instrumentor", ("psycopg2",)),
    ("sql.dbapi", "PymysqlInstrumentor", ("pymysql",)),
    ("sklearn", "SklearnInstrumentor", ("sklearn", "sklearn.model_selection", "sklearn.datasets", "sklearn.utils")),
    ("metrics", "MetricsInstrumentor", ("sklearn.metrics",)),
    ("optuna", "OptunaInstrumentor", ("optuna",)),
    ("models", "JoblibInstrumentor", ("joblib",)),
    ("models", "PickleInstrumentor", ("pickle",)),
    ("models", "TorchInstrumentor", ("torch",)),
    ("models", "SafetensorsInstrumentor", ("safetensors.torch",)),
    ("models", "SkopsInstrumentor", ("skops.io",)),
    ("models", "StatsmodelsInstrumentor", ("statsmodels.iolib.smpickle",)),
    ("keras", "KerasInstrumentor", ("keras",)),
    ("boosting", "XGBoostInstrumentor", ("xgboost",)),
    ("boosting", "LightGBMInstrumentor", ("lightgbm",)),
    ("boosting", "CatBoostInstrumentor", ("catboost",)),
    ("gensim", "GensimInstrumentor", ("gensim",)),
    ("transformers", "TransformersInstrumentor", _TRANSFORMERS),
    ("lightning", "LightningInstrumentor", _LIGHTNING),
    ("mlflow.models", "MlflowInstrumentor", _MLFLOW),
    ("pyfiles", "PyfilesInstrumentor", ("pathlib", "io", "gzip", "bz2", "lzma")),
    ("copies", "FileCopiesInstrumentor", ("os", "shutil", "pathlib")),
    ("ipython_store", "PickleshareInstrumentor", ("IPython.external.pickleshare", "pickleshare")),
    (
        "gx",
        "GreatExpectationsInstrumentor",
        ("great_expectations.validator.v1_validator", "great_expectations.validator.validator"),
    ),
    ("hf_datasets", "HfDatasetsInstrumentor", ("datasets",)),
    ("spark", "SparkInstrumentor", ("pyspark.sql", "pyspark.sql.classic.dataframe", "pyspark.ml")),
    ("delta", "DeltaInstrumentor", ("deltalake", "polars.io.delta._dataset", "polars.io.delta.functions")),
    (
        "iceberg",
        "IcebergInstrumentor",
        ("pyiceberg.table", "polars.io.iceberg._dataset", "polars.io.iceberg.functions"),
    ),
)


def instrumentor_class(module: str, name: str) -> type[Instrumentor]:
    """The class ``name`` of the hook module ``module`` (imported now)."""
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def instrumentors() -> list[Instrumentor]:
    """A fresh instance of every instrumentor (every hook module imported now; no library)."""
    return [instrumentor_class(module, name)() for module, name, _ in REGISTRY]


def deferred() -> list[Instrumentor]:
    """Every instrumentor as a session installs it: its hook module imported when the first of its library's modules
    is (at ``instrument()`` when one is imported already)."""
    return [
        Deferred(name, modules, lambda module=module, name=name: instrumentor_class(module, name)())
        for module, name, modules in REGISTRY
    ]
