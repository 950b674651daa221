"""Data quality: great-expectations suites run on a frame, and the results stored events carry.

``validate`` runs a GX 1.x ExpectationSuite (a JSON file) on a pandas frame with GX's own API (an ephemeral context,
a pandas datasource, result format SUMMARY) and returns a ``QualityResult``. ``facets_of`` turns results into the
standard OpenLineage ``dataQualityAssertions`` input-dataset facet plus nblineage's ``nblineage_quality`` facet
(which suite each assertion belongs to, when it ran, on how many rows). ``latest_results`` reads the results stored
for one dataset version, ours and other producers' (GX's OpenLineage action, Airflow, dbt...) alike: the
``dataQualityAssertions`` facets of the input entries of every run that read that version (``inputFacets``, or
``facets`` where an older producer put it), and of the version's unknown-version node.

great-expectations is imported only by ``validate`` (a suite is configured or the user validated): never at load.
No data value reaches a result: GX's unexpected values and indexes are dropped, only counts and observed
aggregates are kept (cut to ``TEXT_LIMIT`` characters).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nblineage.governance.read import Reader, as_dict, as_list, as_str, load_json
from nblineage.lineage import facets
from nblineage.lineage.derive import dataset_version
from nblineage.lineage.events import utc_now
from nblineage.lineage.tables import UNVERSIONED

ASSERTIONS = facets.QUALITY_ASSERTIONS
TEXT_LIMIT = 200
# GX severities -> the facet's words ("error" blocks a pipeline, "warn" warns)
SEVERITY = {"critical": "error", "warning": "warn", "info": "info"}
# expectation kwargs that say nothing about what is expected
_PLUMBING = frozenset({"batch_id", "column", "result_format", "catch_exceptions", "meta", "include_config"})

_lock = threading.RLock()
_context: Any = None
_batches: Any = None
_local = threading.local()


@dataclass(frozen=True)
class QualityResult:
    """One suite's result on one dataset version. ``assertions``: dicts of the ``dataQualityAssertions`` facet
    (assertion, success, column, severity, expected, actual where known)."""

    suite: str
    success: bool
    time: str | None
    assertions: list[dict[str, Any]] = field(default_factory=list)
    producer: str | None = None
    version: str | None = None  # the dataset version it was run on (None: the producer did not say)
    run_id: str | None = None
    job: str | None = None
    rows: int | None = None  # rows validated
    total_rows: int | None = None  # rows the frame had (more than ``rows`` when a sample was validated)
    origin: str | None = None  # "policy" (a suite the policy names), "user" (the notebook's own GX call)
    blocking: bool | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [item for item in self.assertions if item.get("success") is False]

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "success": self.success,
            "time": self.time,
            "assertions": [dict(item) for item in self.assertions],
            "producer": self.producer,
            "version": self.version,
            "runId": self.run_id,
            "job": self.job,
            "rows": self.rows,
            "totalRows": self.total_rows,
            "origin": self.origin,
            "blocking": self.blocking,
        }


# --- validating -----------------------------------------------------------------------------------------------------


def validate(frame: Any, suite_path: str | Path, sample_rows: int | None = None) -> QualityResult:
    """Run the ExpectationSuite saved as JSON at ``suite_path`` on ``frame`` (a pandas DataFrame), on a sample of
    ``sample_rows`` rows when the frame is larger (fixed seed: the same rows each time)."""
    with warnings_kept():
        suite = load_suite(suite_path)
        total = len(frame)
        data = frame
        if sample_rows is not None and total > sample_rows:
            data = frame.sample(n=int(sample_rows), random_state=0)
        with ours(), _lock:  # one GX context, used by the cell's thread and the writer's: one validation at a time
            result = _batch(data).validate(suite, result_format="SUMMARY")
    return from_gx(result, rows=len(data), total_rows=total, origin="policy")


@contextmanager
def warnings_kept() -> Iterator[None]:
    """Leave the notebook's warnings shown: great-expectations' modules call ``logging.captureWarnings(True)`` when
    imported, which would route every later warning (the user's, and the policy's) to a logger nobody reads. Undone
    unless warnings were captured before."""
    captured = _captured()
    try:
        yield
    finally:
        if not captured and _captured():
            logging.captureWarnings(False)


def _captured() -> bool:
    return warnings.showwarning is getattr(logging, "_showwarning", None)


def load_suite(path: str | Path) -> Any:
    """The GX ExpectationSuite in a JSON file (as ``ExpectationSuite.to_json_dict()`` writes it; GX 0.x files, with
    ``expectation_suite_name`` and ``expectation_type``, are read too). A file GX refuses is a ValueError naming it."""
    gx = _great_expectations()

    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read the expectation suite: {error}") from error
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: not an ExpectationSuite (a JSON object with name and expectations)")
    spec.setdefault("name", spec.get("expectation_suite_name") or Path(path).stem)
    expectations = []
    for item in as_list(spec.get("expectations")):
        if isinstance(item, dict) and "type" not in item and "expectation_type" in item:
            item = {**{k: v for k, v in item.items() if k != "expectation_type"}, "type": item["expectation_type"]}
        expectations.append(item)
    spec["expectations"] = expectations
    known = {"name", "expectations", "suite_parameters", "meta", "notes"}
    try:
        suite = gx.ExpectationSuite(**{key: value for key, value in spec.items() if key in known})
    except Exception as error:
        raise ValueError(f"{path}: not a valid expectation suite: {error}") from error
    if len(suite.expectations) != len(expectations):  # GX logs a bad expectation and leaves it out: never pass so
        built = {getattr(item, "expectation_type", None) for item in suite.expectations}
        bad = [str(as_dict(item).get("type")) for item in expectations if as_dict(item).get("type") not in built]
        raise ValueError(f"{path}: great-expectations does not know the expectation(s) {', '.join(bad)}")
    return suite


def _great_expectations() -> Any:
    """great_expectations, imported (once) without showing in the user's cell the warnings its optional
    dependencies raise on import (pyspark's about pandas 3, when pyspark is installed)."""
    if "great_expectations" not in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import great_expectations  # noqa: F401
    return sys.modules["great_expectations"]


@contextmanager
def ours() -> Iterator[None]:
    """nblineage's own validation runs (the hook of the user's GX calls records nothing inside)."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


def running_ours() -> bool:
    return getattr(_local, "depth", 0) > 0


def prepare() -> None:
    """Import great-expectations and make nblineage's context now (a background thread does this while no cell
    runs: see ``kernel_ext.quality``)."""
    with warnings_kept():
        _great_expectations()
        _batch_definition()


def _batch(frame: Any) -> Any:
    """A GX batch of ``frame`` from nblineage's own context."""
    with _lock:
        return _batch_definition().get_batch(batch_parameters={"dataframe": frame})


def _batch_definition() -> Any:
    """The whole-dataframe batch definition of nblineage's own ephemeral context (made once, without analytics or
    progress bars)."""
    global _context, _batches
    with _lock:
        if _batches is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
                store_backend_defaults=InMemoryStoreBackendDefaults(),
            )
            _context = gx.get_context(mode="ephemeral", project_config=config)
            asset = _context.data_sources.add_pandas("nblineage").add_dataframe_asset("frame")
            _batches = asset.add_batch_definition_whole_dataframe("whole frame")
        return _batches


# --- GX results as assertions ----------------------------------------------------------------------------------------


def from_gx(result: Any, rows: int | None = None, total_rows: int | None = None, origin: str = "user") -> QualityResult:
    """A QualityResult from GX's ExpectationSuiteValidationResult (or one ExpectationValidationResult)."""
    from great_expectations import __version__ as gx_version

    items = getattr(result, "results", None)
    single = items is None
    items = [result] if single else list(items)
    assertions = [assertion(item) for item in items]
    suite = getattr(result, "suite_name", None) if not single else None
    if not suite and single and assertions:
        suite = assertions[0]["assertion"]
    return QualityResult(
        suite=str(suite or "expectations"),
        success=bool(getattr(result, "success", False)),
        time=utc_now(),
        assertions=assertions,
        producer=f"great_expectations {gx_version}",
        rows=rows,
        total_rows=total_rows,
        origin=origin,
    )


def assertion(item: Any) -> dict[str, Any]:
    """One ExpectationValidationResult as a ``dataQualityAssertions`` assertion (no data values kept)."""
    config = getattr(item, "expectation_config", None)
    kind = str(getattr(config, "type", None) or "expectation")
    kwargs = dict(getattr(config, "kwargs", None) or {})
    found: dict[str, Any] = {"assertion": kind, "success": bool(getattr(item, "success", False))}
    column = kwargs.get("column")
    if isinstance(column, str):
        found["column"] = column
    severity = getattr(getattr(config, "severity", None), "value", getattr(config, "severity", None))
    if severity is not None:
        found["severity"] = SEVERITY.get(str(severity).lower(), str(severity).lower())
    expected = {key: value for key, value in kwargs.items() if key not in _PLUMBING and value is not None}
    if expected:
        found["expected"] = _text(expected)
    actual = _actual(as_dict(getattr(item, "result", None)), getattr(item, "exception_info", None))
    if actual is not None:
        found["actual"] = actual
    for key in ("id", "description"):
        value = getattr(config, key, None)
        if isinstance(value, str) and value:
            found["name" if key == "id" else key] = value[:TEXT_LIMIT]
    return found


def _actual(result: dict[str, Any], exception: Any) -> str | None:
    info = as_dict(exception.to_json_dict() if hasattr(exception, "to_json_dict") else exception)
    if info.get("raised_exception"):
        return _text(f"error: {info.get('exception_message') or 'the expectation raised'}")
    if "observed_value" in result:
        return _text(result["observed_value"])
    if "unexpected_count" in result:
        total = result.get("element_count")
        return f"{result['unexpected_count']} unexpected" + (f" of {total}" if total is not None else "")
    return None


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "\N{HORIZONTAL ELLIPSIS}"


# --- results as facets ---------------------------------------------------------------------------------------------


def facets_of(results: Iterable[QualityResult]) -> dict[str, Any]:
    """The input facets for ``results`` on one dataset: ``dataQualityAssertions`` (every suite's assertions, in
    order) and ``nblineage_quality`` (one entry per suite, saying how many of those assertions are its own)."""
    results = list(results)
    if not results:
        return {}
    assertions = [item for result in results for item in result.assertions]
    suites = []
    for result in results:
        entry = {
            "suite": result.suite,
            "success": result.success,
            "validatedAt": result.time,
            "assertions": len(result.assertions),
            "rows": result.rows,
            "totalRows": result.total_rows,
            "origin": result.origin,
            "blocking": result.blocking,
            "validator": result.producer,
        }
        suites.append({key: value for key, value in entry.items() if value is not None})
    return {
        ASSERTIONS: facets.standard(ASSERTIONS, assertions=assertions),
        facets.QUALITY: facets.ours(facets.QUALITY, {"suites": suites}),
    }


def results_of_facets(found: dict[str, Any], event_time: str | None = None) -> list[QualityResult]:
    """The results one dataset entry's facets hold: split by suite with ``nblineage_quality``, else one result
    (another producer's) whose success is that of all its assertions. GX's own OpenLineage action sends
    ``greatExpectations_assertions`` instead (``expectationType``, ``success``, ``column``): read alike."""
    facet = as_dict(found.get(ASSERTIONS))
    if not facet and isinstance(found.get(facets.GX_ASSERTIONS), dict):
        facet = _from_gx_action(found[facets.GX_ASSERTIONS])
    assertions = [_clean_assertion(item) for item in as_list(facet.get("assertions")) if isinstance(item, dict)]
    assertions = [item for item in assertions if item is not None]
    if not facet:
        return []
    producer = as_str(facet.get("_producer"))
    suites = [as_dict(item) for item in as_list(as_dict(found.get(facets.QUALITY)).get("suites"))]
    counts = [suite.get("assertions") for suite in suites]
    if suites and all(isinstance(n, int) and n >= 0 for n in counts) and sum(counts) == len(assertions):
        results, start = [], 0
        for suite, count in zip(suites, counts, strict=True):
            own = assertions[start : start + count]
            start += count
            success = suite.get("success")
            results.append(
                QualityResult(
                    suite=as_str(suite.get("suite")) or "expectations",
                    success=success if isinstance(success, bool) else all(a["success"] for a in own),
                    time=as_str(suite.get("validatedAt")) or event_time,
                    assertions=own,
                    producer=as_str(suite.get("validator")) or producer,
                    rows=_count(suite.get("rows")),
                    total_rows=_count(suite.get("totalRows")),
                    origin=as_str(suite.get("origin")),
                    blocking=suite.get("blocking") if isinstance(suite.get("blocking"), bool) else None,
                )
            )
        return results
    return [
        QualityResult(
            suite="",
            success=all(item["success"] for item in assertions),
            time=event_time,
            assertions=assertions,
            producer=producer,
        )
    ]


def _from_gx_action(facet: dict[str, Any]) -> dict[str, Any]:
    """``greatExpectations_assertions`` as a ``dataQualityAssertions`` facet."""
    assertions = []
    for item in as_list(facet.get("assertions")):
        item = as_dict(item)
        converted = {"assertion": item.get("expectationType"), "success": item.get("success")}
        column = item.get("column", item.get("columnId"))
        if column is not None:
            converted["column"] = column
        assertions.append(converted)
    return {"_producer": facet.get("_producer"), "assertions": assertions}


def _clean_assertion(item: dict[str, Any]) -> dict[str, Any] | None:
    """An untrusted assertion with the facet's fields only, of the facet's types; None without a name or success."""
    name, success = item.get("assertion"), item.get("success")
    if not isinstance(name, str) or not isinstance(success, bool):
        return None
    kept: dict[str, Any] = {"assertion": name, "success": success}
    for key in ("column", "severity", "expected", "actual", "name", "description"):
        value = item.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            kept[key] = _text(str(value))
    return kept


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- reading the store -----------------------------------------------------------------------------------------------


def latest_results(store: Any, namespace: str, name: str, version: str | None) -> list[QualityResult]:
    """The newest result of each suite (per producer) stored for that dataset version, newest first; results sent
    without a version (other producers often send none) count for every version."""
    with store.read() as conn:
        return results_for(Reader(conn), [(namespace, name, version)])[(namespace, name, version)]


def results_for(
    reader: Reader, keys: Iterable[tuple[str, str, str | None]]
) -> dict[tuple[str, str, str | None], list[QualityResult]]:
    """``latest_results`` for many dataset versions in one read transaction (the answers use it)."""
    keys = list(dict.fromkeys(keys))
    found: dict[tuple[str, str, str | None], list[QualityResult]] = {key: [] for key in keys}
    wanted: dict[tuple[str, str], set[str]] = {}
    for namespace, name, version in keys:
        wanted.setdefault((namespace, name), set()).update({version or UNVERSIONED, UNVERSIONED})
    version_ids: dict[int, tuple[str, str, str]] = {}
    for (namespace, name), versions in wanted.items():
        dataset = reader.dataset(namespace, name)
        if dataset is None:
            continue
        for version in versions:
            row = reader.version(dataset[0], version)
            if row is not None:
                version_ids[row.id] = (namespace, name, version)
    if not version_ids:
        return found
    # only the events of those runs that hold a quality facet are fetched and parsed (a dataset read by thousands
    # of cells costs one indexed join, not thousands of parsed events)
    rows = reader.sql.where_in(
        "SELECT e.id, e.run_id, e.payload FROM run_io io JOIN runs r ON r.id = io.run_pk "
        f"JOIN events e ON e.run_id = r.run_id WHERE (e.payload LIKE '%{ASSERTIONS}%' "
        f"OR e.payload LIKE '%{facets.GX_ASSERTIONS}%') "
        "AND io.direction = 'input' AND io.version_id IN",
        sorted(version_ids),
    )
    events = {row[0]: (row[1], row[2]) for row in rows}
    stored: dict[tuple[str, str, str], list[QualityResult]] = {}
    seen: set[tuple[Any, ...]] = set()
    for _, (run_id, payload) in sorted(events.items()):
        event = load_json(payload)
        if isinstance(event, dict):
            job = as_dict(event.get("job"))
            meta = as_dict(as_dict(as_dict(event.get("run")).get("facets")).get(facets.GX_META))
            job_name, suite = as_str(job.get("name")), as_str(meta.get("expectation_suite_name"))
            for entry in as_list(event.get("inputs")):
                entry = as_dict(entry)
                key = (entry.get("namespace"), entry.get("name"), dataset_version(entry))
                if (key[0], key[1]) not in wanted or key[2] not in wanted[(key[0], key[1])]:
                    continue
                for holder in (as_dict(entry.get("inputFacets")), as_dict(entry.get("facets"))):
                    for result in results_of_facets(holder, as_str(event.get("eventTime"))):
                        result = _placed(result, key[2], run_id, job_name, suite)
                        ident = (key, result.suite, result.producer, result.time, run_id)
                        if ident not in seen:
                            seen.add(ident)
                            stored.setdefault(key, []).append(result)  # type: ignore[arg-type]
    for namespace, name, version in keys:
        candidates = stored.get((namespace, name, version or UNVERSIONED), [])
        if version:
            candidates = candidates + stored.get((namespace, name, UNVERSIONED), [])
        found[(namespace, name, version)] = newest_per_suite(candidates)
    return found


def _placed(result: QualityResult, version: str, run_id: str, job: str | None, suite: str | None) -> QualityResult:
    """``result`` as found in a run's event; one without a suite of its own is named by the producer's suite (GX's
    run facet), else by the run's job."""
    return QualityResult(
        suite=result.suite or suite or job or "expectations",
        success=result.success,
        time=result.time,
        assertions=result.assertions,
        producer=result.producer,
        version=version or None,
        run_id=run_id,
        job=job,
        rows=result.rows,
        total_rows=result.total_rows,
        origin=result.origin,
        blocking=result.blocking,
    )


def newest_per_suite(results: Iterable[QualityResult]) -> list[QualityResult]:
    """The newest result of each (suite, producer), newest first."""
    newest: dict[tuple[str, str | None], QualityResult] = {}
    for result in sorted(results, key=_when, reverse=True):
        newest.setdefault((result.suite, _producer_key(result.producer)), result)
    return sorted(newest.values(), key=_when, reverse=True)


def _producer_key(producer: str | None) -> str | None:
    """Producers compared without their version (``great_expectations 1.24.1`` and ``1.25.0`` are one)."""
    return producer.split(" ")[0].rsplit("/tree/", 1)[0] if producer else None


def _when(result: QualityResult) -> str:
    """A sortable UTC time (``Z`` and ``+00:00`` forms compared alike)."""
    text = result.time or ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def summary(results: list[QualityResult]) -> bool | None:
    """True when every latest result passed, False when one failed, None when there is none."""
    if not results:
        return None
    return all(result.success for result in results)


__all__ = [
    "QualityResult",
    "facets_of",
    "from_gx",
    "latest_results",
    "results_for",
    "summary",
    "validate",
]
