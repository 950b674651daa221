"""PySpark: datasets named from Spark's own analyzed logical plan, Spark ML fits and saves as models.

A Spark DataFrame's provenance is never tracked transform by transform: it is read, when it is used, from the
leaf relations of its analyzed plan (``df._jdf.queryExecution().analyzed()`` through py4j): files and folders
(``file`` namespace, absolute path, or a URI's namespace), catalog tables by their location (as OpenLineage's
Spark integration names them). So joins, filters, SQL and every other Spark transform are exact at no cost.

- Reads: ``spark.read.csv/parquet/json/orc/text/load/table``, ``spark.table``, ``spark.sql``: inputs of the cell.
- Writes: ``df.write.save/csv/parquet/json/orc/text``, ``saveAsTable``, ``insertInto``: an output (the folder
  written, versioned by its content fingerprint) whose inputs are the leaves of the DataFrame written.
- ``toPandas``: the pandas frame carries the DataFrame's leaves.
- Spark ML: ``Estimator.fit`` (a ``Pipeline`` too) on a DataFrame: the model derives from its leaves;
  ``model.save(path)`` and ``model.write().save(path)``: a MODEL output; ``PipelineModel.load(path)`` (any Spark
  ML reader's ``load``): a read of the model's folder, which the model carries (Spark's own reads of its metadata
  record nothing); ``model.transform(df)``'s predictions derive from the model and ``df`` (that DataFrame only: a
  Spark plan does not hold the Python model).
- A session created (``SparkSession.builder.getOrCreate()``) while capturing gets the OpenLineage Spark listener's
  parent conf (``spark.openlineage.parentRunId``, ``parentJobName``, ``parentJobNamespace``): the cell run that
  created it; each recorded Spark write sets them again to the cell under way, so a listener's events join the
  notebook's cell runs.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from typing import Any

from nblineage import config
from nblineage.kernel_ext.capture import Capture, capturing, current
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import MODEL_FACETS, json_safe, qualified_name
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.instrument import After, Instrumentor, Patch, defining_class, intercept
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.kernel_ext.safety import report

__all__ = ["PARENT_CONF", "SparkInstrumentor", "plan_locations"]

# The OpenLineage Spark integration's parent run conf keys (openlineage.io/docs/integrations/spark/configuration).
PARENT_CONF = (
    "spark.openlineage.parentRunId",
    "spark.openlineage.parentJobName",
    "spark.openlineage.parentJobNamespace",
)
READS = ("load", "csv", "json", "parquet", "orc", "text", "table")
WRITES = {"save": "path", "csv": "path", "json": "path", "parquet": "path", "orc": "path", "text": "path"}
TABLE_WRITES = {"saveAsTable": "name", "insertInto": "tableName"}
_WRITER_OF = "_nblineage_instance"


class SparkInstrumentor(Instrumentor):
    """Patches PySpark's readers, writers, ``toPandas``, the session builder and Spark ML (module docstring)."""

    modules = ("pyspark.sql", "pyspark.sql.classic.dataframe", "pyspark.ml")
    requires = ("pyspark>=3.3",)

    def patches(self, module: Any) -> Iterator[Patch]:
        name = module.__name__
        if name == "pyspark.sql":
            from pyspark.sql.readwriter import DataFrameReader, DataFrameWriter
            from pyspark.sql.session import SparkSession

            for method in READS:
                yield DataFrameReader, method, intercept(f"pyspark.DataFrameReader.{method}", _read)
            yield SparkSession, "table", intercept("pyspark.SparkSession.table", _read)
            yield SparkSession, "sql", intercept("pyspark.SparkSession.sql", _read)
            for method, parameter in {**WRITES, **TABLE_WRITES}.items():
                yield DataFrameWriter, method, intercept(f"pyspark.DataFrameWriter.{method}", _write(method, parameter))
            yield SparkSession.Builder, "getOrCreate", _parent_conf
            if importlib.util.find_spec("pyspark.sql.classic") is None:  # PySpark 3: one DataFrame class
                owner = defining_class(module.DataFrame, "toPandas")
                if owner is not None:
                    yield owner, "toPandas", intercept("pyspark.DataFrame.toPandas", _to_pandas)
        elif name == "pyspark.sql.classic.dataframe":
            owner = defining_class(module.DataFrame, "toPandas")
            if owner is not None:
                yield owner, "toPandas", intercept("pyspark.DataFrame.toPandas", _to_pandas)
        elif name == "pyspark.ml":
            from pyspark.ml.base import Estimator, Transformer
            from pyspark.ml.util import JavaMLWriter, MLWritable, MLWriter

            yield Estimator, "fit", intercept("pyspark.ml.Estimator.fit", _fit)
            yield Transformer, "transform", intercept("pyspark.ml.Transformer.transform", _transform)
            yield MLWritable, "save", intercept("pyspark.ml.MLWritable.save", _save_model)
            yield JavaMLWriter, "__init__", _writer_made
            for cls in (MLWriter, JavaMLWriter):
                yield cls, "save", intercept(f"pyspark.ml.{cls.__name__}.save", _save_writer)
            for cls in _readers():
                yield cls, "load", intercept(f"pyspark.ml.{cls.__name__}.load", _load_model)


# --- the plan's leaves ------------------------------------------------------------------------------------------


def plan_locations(df: Any) -> list[Location]:
    """The files, folders and tables the analyzed plan of Spark DataFrame ``df`` reads (its leaf relations)."""
    jdf = getattr(df, "_jdf", None)
    if jdf is None:
        return []
    leaves = jdf.queryExecution().analyzed().collectLeaves()
    found: list[Location] = []
    for index in range(leaves.size()):
        for uri in _leaf_uris(leaves.apply(index)):
            location = locate(uri)
            if location is not None and location not in found:
                found.append(location)
    return found


def _leaf_uris(leaf: Any) -> list[str]:
    """Where one leaf relation's data is: a catalog table's location, else a file relation's root paths."""
    for attribute in ("catalogTable", "tableMeta"):
        try:
            table = getattr(leaf, attribute)()
        except Exception:  # not a relation of this kind (py4j: no such method)
            continue
        if hasattr(table, "isDefined"):
            table = table.get() if table.isDefined() else None
        if table is not None and table.location() is not None:
            return [table.location().toString()]
    try:
        paths = leaf.relation().location().rootPaths()
    except Exception:  # a local relation, a range, a V2 relation: no file
        return []
    return [paths.apply(index).toString() for index in range(paths.size())]


def provenance_of(capture: Capture, df: Any) -> tuple[list[Source], Provenance]:
    """The dataset versions DataFrame ``df`` reads now, and its provenance (with what a hook tagged on it)."""
    sources = [location.source() for location in plan_locations(df)]
    return sources, capture.exact(sources) | capture.of(df)


def _tag_read(capture: Capture, df: Any, target: Any) -> None:
    """``target`` (``df`` or what was made from it) reads the leaves of ``df``: inputs of the cell."""
    sources, provenance = provenance_of(capture, df)
    for source in sources:
        capture.read(source, target, _schema(df))
    if provenance:
        capture.registry.tag(target, provenance)


def _read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    if hasattr(result, "_jdf"):
        _tag_read(capture, result, result)


def _to_pandas(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    _tag_read(capture, args[0], result)


def _write(method: str, parameter: str) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        df = getattr(args[0], "_df", None)
        target = argument(args, kwargs, 1, parameter, None)
        if df is None or target is None:
            return
        if method in TABLE_WRITES:
            locations = plan_locations(df.sparkSession.table(target))
        else:
            located = locate(target)
            locations = [located] if located is not None else []
        if not locations:
            return
        _, provenance = provenance_of(capture, df)
        _name_parent_run(capture, df.sparkSession)
        capture.write(locations[0].source(written=True), df, _schema(df), provenance=provenance or None)

    return after


def _schema(df: Any) -> dict[str, Any]:
    try:
        fields = [{"name": field.name, "type": field.dataType.simpleString()} for field in df.schema.fields]
    except Exception:  # no schema to hand (an unresolvable plan): no facet
        return {}
    return {"schema": {"fields": fields}}


# --- the OpenLineage listener's parent run ------------------------------------------------------------------------


def _parent_values(capture: Capture) -> dict[str, str]:
    if not capture.cell_run_id or not capture.cell_job:
        return {}
    values = (capture.cell_run_id, capture.cell_job, config.namespace())
    return dict(zip(PARENT_CONF, values, strict=True))


def _parent_conf(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """``SparkSession.builder.getOrCreate()``: the parent run conf goes in before the session starts (the listener
    reads it then) and is set on the session returned (one that existed already)."""
    capture = current() if capturing() else None
    values: dict[str, str] = {}
    if capture is not None:
        try:
            values = _parent_values(capture)
            for key, value in values.items():
                instance.config(key, value)
        except Exception as error:
            report("pyspark.SparkSession.Builder.getOrCreate", error)
    session = wrapped(*args, **kwargs)
    if values:
        try:
            for key, value in values.items():
                session.conf.set(key, value)
        except Exception as error:
            report("pyspark.SparkSession.Builder.getOrCreate", error)
    return session


def _name_parent_run(capture: Capture, session: Any) -> None:
    for key, value in _parent_values(capture).items():
        session.conf.set(key, value)


# --- Spark ML ------------------------------------------------------------------------------------------------------


def _fit(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    dataset = argument(args, kwargs, 1, "dataset", None)
    if dataset is None or not hasattr(dataset, "_jdf"):
        return
    models = result if isinstance(result, list) else [result]
    sources, provenance = provenance_of(capture, dataset)
    for source in sources:
        capture.record.add_input(source)
    facts = {"fitId": uuid.uuid4().hex}
    if capture.cell_job:
        facts["trainingJob"] = capture.cell_job
    if capture.cell_run_id:
        facts["trainingRunId"] = capture.cell_run_id
    for model in models:
        if provenance:
            capture.registry.tag(model, provenance.through(capture.cell_run_id))
        capture.hooks.training.remember(model, facts)


def _transform(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``model.transform(df)``: the predictions derive from the model and ``df`` (this DataFrame itself: what is
    selected from it later has only its plan's leaves)."""
    dataset = argument(args, kwargs, 1, "dataset", None)
    if dataset is not None and hasattr(result, "_jdf"):
        _, provenance = provenance_of(capture, dataset)
        capture.registry.tag(result, (provenance | capture.of(args[0])).through(capture.cell_run_id))


def _writer_made(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> None:
    """``JavaMLWriter(model)`` (``model.write()``): the writer holds its model, for ``writer.save(path)`` (as a
    Python writer does: ``pipeline.fit(df).write().save(path)`` has no other reference to the model)."""
    wrapped(*args, **kwargs)
    model = argument(args, kwargs, 0, "instance", None)
    if model is not None and capturing():
        try:
            setattr(instance, _WRITER_OF, model)
        except (AttributeError, TypeError) as error:
            report("pyspark.ml.JavaMLWriter", error)


def _readers() -> list[type]:
    """Spark ML's readers that load a saved model or estimator themselves (``PipelineModel.load(path)`` is
    ``PipelineModel.read().load(path)``): ``MLReader``'s subclasses with a ``load`` of their own."""
    from pyspark.ml.util import MLReader

    found, pending = [], list(MLReader.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "load" in cls.__dict__ and cls.__module__.startswith("pyspark.ml") and cls not in found:
            found.append(cls)
    return found


def _load_model(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """A saved model (or pipeline) loaded from its folder: a read of the folder's version, which the loaded model
    carries, so its predictions derive from it. Spark's own reads of the model's metadata record nothing."""
    from nblineage.kernel_ext.hooks.loads import record_load

    path = argument(args, kwargs, 1, "path", None)
    if path is not None:
        record_load(capture, path, result)


def _save_model(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    _record_model(capture, args[0], argument(args, kwargs, 1, "path", None))


def _save_writer(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    model = getattr(args[0], _WRITER_OF, None)
    if model is None:
        model = getattr(args[0], "instance", None)  # DefaultParams, PipelineModel writers
    if model is not None:
        _record_model(capture, model, argument(args, kwargs, 1, "path", None))


def _record_model(capture: Capture, model: Any, path: Any) -> None:
    location = locate(path) if path is not None else None
    if location is None:
        return
    source = location.source(written=True)
    capture.write(source, model, dict(MODEL_FACETS), model=describe_spark_model(capture, model))


def describe_spark_model(capture: Capture, model: Any) -> dict[str, Any]:
    """Framework, class, hyper-parameters (each stage's for a pipeline) and training facts of a Spark ML model."""
    import pyspark

    stages = getattr(model, "stages", None)
    description: dict[str, Any] = {
        "framework": "pyspark",
        "frameworkVersion": pyspark.__version__,
        "class": qualified_name(type(model)),
        "hyperParameters": _params(model)
        if not isinstance(stages, list)
        else {f"{index}:{type(stage).__name__}": _params(stage) for index, stage in enumerate(stages)},
        "featureNames": [],
    }
    for stage in stages if isinstance(stages, list) else [model]:
        names = _input_columns(stage)
        if names:
            description["featureNames"] = names
            break
    training = dict(capture.hooks.training.get(model))
    for key in ("fitId", "trainingJob", "trainingRunId"):
        if training.get(key):
            description[key] = training[key]
    return description


def _params(stage: Any) -> dict[str, Any]:
    try:
        return {param.name: json_safe(value) for param, value in stage.extractParamMap().items()}
    except Exception:  # a stage without params
        return {}


def _input_columns(stage: Any) -> list[str]:
    try:
        if stage.hasParam("inputCols") and stage.isDefined("inputCols"):
            return [str(name) for name in stage.getOrDefault("inputCols")]
    except Exception:  # not a Params stage
        return []
    return []
