"""The library hooks: one module (or package) per library, each an ``instrument.Instrumentor`` listed once here, in
install order. Importing a hook module never imports its library."""

from __future__ import annotations

from nblineage.kernel_ext.hooks.delta import DeltaInstrumentor
from nblineage.kernel_ext.hooks.duckdb import DuckdbInstrumentor
from nblineage.kernel_ext.hooks.gx import GreatExpectationsInstrumentor
from nblineage.kernel_ext.hooks.hf_datasets import HfDatasetsInstrumentor
from nblineage.kernel_ext.hooks.iceberg import IcebergInstrumentor
from nblineage.kernel_ext.hooks.lightning import LightningInstrumentor
from nblineage.kernel_ext.hooks.metrics import MetricsInstrumentor
from nblineage.kernel_ext.hooks.mlflow.models import MlflowInstrumentor
from nblineage.kernel_ext.hooks.models import (
    JoblibInstrumentor,
    KerasInstrumentor,
    LightGBMInstrumentor,
    PickleInstrumentor,
    SkopsInstrumentor,
    TorchInstrumentor,
    XGBoostInstrumentor,
)
from nblineage.kernel_ext.hooks.numpy import NumpyInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.polars import PolarsInstrumentor
from nblineage.kernel_ext.hooks.pyarrow import PyarrowInstrumentor
from nblineage.kernel_ext.hooks.pyfiles import PyfilesInstrumentor
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor
from nblineage.kernel_ext.hooks.spark import SparkInstrumentor
from nblineage.kernel_ext.hooks.sql.dbapi import PsycopgInstrumentor, PymysqlInstrumentor, SqliteInstrumentor
from nblineage.kernel_ext.hooks.sql.engine import SqlAlchemyInstrumentor
from nblineage.kernel_ext.hooks.sql.pandas import PandasSqlInstrumentor
from nblineage.kernel_ext.hooks.transformers import TransformersInstrumentor
from nblineage.kernel_ext.instrument import Instrumentor

INSTRUMENTORS: tuple[type[Instrumentor], ...] = (
    PandasInstrumentor,
    PyarrowInstrumentor,
    PolarsInstrumentor,
    DuckdbInstrumentor,
    NumpyInstrumentor,
    SqlAlchemyInstrumentor,
    PandasSqlInstrumentor,
    SqliteInstrumentor,
    PsycopgInstrumentor,
    PymysqlInstrumentor,
    SklearnInstrumentor,
    MetricsInstrumentor,
    JoblibInstrumentor,
    PickleInstrumentor,
    TorchInstrumentor,
    SkopsInstrumentor,
    KerasInstrumentor,
    XGBoostInstrumentor,
    LightGBMInstrumentor,
    TransformersInstrumentor,
    LightningInstrumentor,
    MlflowInstrumentor,
    PyfilesInstrumentor,
    GreatExpectationsInstrumentor,
    HfDatasetsInstrumentor,
    SparkInstrumentor,
    DeltaInstrumentor,
    IcebergInstrumentor,
)


def instrumentors() -> list[Instrumentor]:
    """A fresh instance of every instrumentor."""
    return [cls() for cls in INSTRUMENTORS]
