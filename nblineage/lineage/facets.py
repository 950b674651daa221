"""The facets nblineage writes and reads, as plain JSON: their names, schema URLs and shapes (docs/facets.md).

Capture builds its events from these functions (``kernel_ext/emit.py``) and governance reads facets by these names,
so the two cannot drift apart. The standard OpenLineage facets are built here too, with the schema URLs of the
OpenLineage spec they follow (the ones openlineage-python's generated classes send), without importing
openlineage-python: the kernel's delivery then costs no quarter-second import (``tests/test_emit.py`` checks every
built event against the official schemas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nblineage._version import __version__

PRODUCER = f"https://github.com/nblineage/nblineage/tree/{__version__}"
FACETS_URL = "https://github.com/nblineage/nblineage/blob/main/docs/facets.md"
SPEC_URL = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA = f"{SPEC_URL}/2-0-2/OpenLineage.json#/$defs/RunEvent"
DATASET_EVENT_SCHEMA = f"{SPEC_URL}/2-0-2/OpenLineage.json#/$defs/DatasetEvent"

# The names of nblineage's own facets.
RESOURCES = "nblineage_resources"  # run: what a cell took
CELL = "nblineage_cell"  # run: which cell ran
METRICS = "nblineage_metrics"  # run: model metrics the cell computed
MODEL = "nblineage_model"  # dataset: the model an output holds
LINEAGE = "nblineage_lineage"  # dataset: how an output's inputs are known
MLFLOW = "nblineage_mlflow"  # dataset: MLflow's view of a model
AUDIT = "nblineage_audit"  # run: audit records the store appends to its audit log (docs/audit.md)

# The schema files of the standard facets used, by facet name.
STANDARD = {
    "jobType": "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "sourceCode": "1-0-1/SourceCodeJobFacet.json#/$defs/SourceCodeJobFacet",
    "ownership": "1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet",  # from the policy file
    "tags": "1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",  # from the policy file
    "parent": "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "version": "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "schema": "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "datasetType": "1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
    "lineage": "1-0-0/LineageFacet.json#/$defs/LineageDatasetFacet",
    "dataQualityAssertions": "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
}


# The shapes of our facets, for type checkers: they are annotations only, and making these six classes at import
# ran some 3 M instructions in every kernel (typing turns each field's annotation into a compiled ForwardRef).
if TYPE_CHECKING:
    from typing import NotRequired, TypedDict

    class Resources(TypedDict):
        """``nblineage_resources``: wall and CPU time, peak memory (0 when unknown), GPU memory."""

        wallTimeSeconds: float
        cpuTimeSeconds: float
        peakMemoryBytes: int
        gpus: list[dict[str, Any]]

    class Cell(TypedDict, total=False):
        """``nblineage_cell``: the cell's id and execution count."""

        cellId: str
        executionCount: int

    class LineageInput(TypedDict, total=False):
        """An input version of an output: the dataset, and its version when known."""

        namespace: str
        name: str
        version: str

    class Lineage(TypedDict):
        """``nblineage_lineage``: ``exact`` or ``cell``, the cell runs the written object went through, and the exact
        input versions it was made from."""

        precision: str
        runs: list[str]
        inputs: list[LineageInput]
        noInputs: NotRequired[bool]  # made of no dataset (constants): not of every input of its run

    class Model(TypedDict, total=False):
        """``nblineage_model``: the model a dataset holds."""

        framework: str
        modelClass: str
        hyperParameters: dict[str, Any]
        featureNames: list[str]
        featureLineage: dict[str, list[str]]  # derived feature -> the columns it came from
        trainingJob: str
        trainingRunId: str
        fitId: str
        frameworkVersion: str
        sizeBytes: int
        contentHash: str  # a fingerprint of what was persisted, where the dataset version is none
        mlflow: dict[str, Any]  # runId, experimentId, modelId, modelName, flavor, artifactUri, registeredModel
        details: dict[str, Any]  # anything else the save hook knew

    class Mlflow(TypedDict, total=False):
        """``nblineage_mlflow``: MLflow's view of a model (its run, logged model metrics, registry versions)."""

        runId: str
        runName: str
        status: str
        experimentId: str
        experimentName: str
        params: dict[str, Any]
        metrics: dict[str, Any]
        systemMetrics: dict[str, Any]
        datasets: list[dict[str, Any]]
        modelId: str
        modelMetrics: list[dict[str, Any]]
        registeredVersions: list[dict[str, Any]]


# The fields of Mlflow (tests/test_facets.py keeps the two equal)
MLFLOW_FIELDS = frozenset(
    (
        "runId",
        "runName",
        "status",
        "experimentId",
        "experimentName",
        "params",
        "metrics",
        "systemMetrics",
        "datasets",
        "modelId",
        "modelMetrics",
        "registeredVersions",
    )
)
_SCHEMA_OF = {RESOURCES: "resources", CELL: "cell", METRICS: "metrics", MODEL: "model", LINEAGE: "lineage"}
_SCHEMA_OF[MLFLOW] = "mlflow"
_SCHEMA_OF[AUDIT] = "audit"
# Data quality (governance/quality.py): the standard input facet, and ours saying which suite each assertion is of.
QUALITY_ASSERTIONS = "dataQualityAssertions"
QUALITY = "nblineage_quality"  # input dataset: the suites validated, when, on how many rows (docs/facets.md#quality)
_SCHEMA_OF[QUALITY] = "quality"
# read only: what GX's own OpenLineage action (openlineage-common) sends, an input facet and a run facet
GX_ASSERTIONS = "greatExpectations_assertions"  # {"assertions": [{"expectationType", "success", "column"}]}
GX_META = "great_expectations_meta"  # run facet; its expectation_suite_name names the suite


def ours(name: str, fields: Any) -> dict[str, Any]:
    """One of nblineage's facets: ``fields`` (a mapping of the facet's shape) with producer and schema URL."""
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS_URL}#{_SCHEMA_OF[name]}", **fields}


def standard(name: str, **fields: Any) -> dict[str, Any]:
    """A standard OpenLineage facet, by its usual key (``version``, ``schema``, ``parent``...)."""
    return {"_producer": PRODUCER, "_schemaURL": f"{SPEC_URL}/facets/{STANDARD[name]}", **fields}


def without_nulls(value: Any) -> Any:
    """``value`` with null fields left out, and null or empty-object items of lists, as OpenLineage clients send."""
    if isinstance(value, dict):
        return _dict_without_nulls(value)
    if isinstance(value, list):
        return _list_without_nulls(value)
    return value


# The writer cleans every event it delivers: the two loops below recurse only into dicts and lists (no call per
# scalar), which made this a third of what it did.


def _dict_without_nulls(value: dict) -> dict:
    cleaned = {}
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict):
            item = _dict_without_nulls(item)
        elif isinstance(item, list):
            item = _list_without_nulls(item)
        cleaned[key] = item
    return cleaned


def _list_without_nulls(value: list) -> list:
    cleaned = []
    for item in value:
        if item is None:
            continue
        if isinstance(item, dict):
            item = _dict_without_nulls(item)
            if not item:  # an empty object
                continue
        elif isinstance(item, list):
            item = _list_without_nulls(item)
        elif item == {}:  # a mapping of another kind that equals an empty object
            continue
        cleaned.append(item)
    return cleaned
