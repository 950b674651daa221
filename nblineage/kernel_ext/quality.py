"""Data quality in the kernel: the policy's expectation suites run on a frame read, and the outcomes the guard reads.

``on_read`` (called by the policy guard after a read of a dataset whose policy lists expectations) runs each suite
on the frame read, whole or sampled above the policy's ``sample_rows``:

- a blocking suite before the read returns; its result goes out with the cell run itself, as the
  ``dataQualityAssertions`` (and ``nblineage_quality``) input facets of that dataset in the cell's COMPLETE event;
- any other suite in the background writer once the kernel is quiet (``Writer.when_quiet``: the cell's time is
  unchanged), on a copy-on-write snapshot of the frame taken at the read (later edits of the frame do not change
  what is validated). Its result is an outbox record of its own (kind ``quality``) that the writer sends as an
  ``OTHER`` event of the same cell run, timed at the read, carrying the dataset version read with those input
  facets: OpenLineage's way to add facts to a run after it completed, which leaves the run's state and end as they
  were. ``flush`` and the kernel's exit wait for it, so an idle or exiting kernel does not lose it.

``latest(namespace, name, version)`` is what the guard's quality rule reads: True when every suite run on that
version in this kernel passed, False when one failed, None when none ran; a background suite on that version not
run yet runs at once when asked (a model saved right after the read is checked against it). Validations the user
runs with GX's own API are noted there too (``hooks/gx.py``). great-expectations is imported only when a suite runs.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import report
from nblineage.lineage import facets
from nblineage.lineage.facets import PRODUCER, standard

KEY = "quality"  # where a cell record's input keeps its results (plain JSON of QualityResult.to_json())

log = logging.getLogger("nblineage")
_outcomes: dict[tuple[str, str, str | None], dict[str, bool]] = {}
_pending: dict[tuple[str, str, str | None], list[Any]] = {}  # background suites not run yet, by dataset version
_lock = threading.Lock()


def on_read(frame: Any, source: Source, expectations: Iterable[Any]) -> None:
    """Validate ``frame`` (read from ``source``) against each expectation (``.suite``, ``.sample_rows``,
    ``.blocking``); see the module docstring. Fails open: a fault is reported, the read goes on. A pandas DataFrame
    or an Arrow table is validated; anything else read (a chunked reader, a dict of sheets) is not, and said once
    in the log."""
    if not _is_frame(frame) and not hasattr(frame, "to_pandas"):
        _skipped(frame, source)
        return
    for expectation in expectations:
        try:
            if getattr(expectation, "blocking", False):
                _validate_now(frame, source, expectation)
            else:
                _validate_later(frame, source, expectation)
        except Exception as error:
            report("data quality", error)


@contextmanager
def _own_work() -> Iterator[None]:
    """nblineage's own work: the pandas and GX calls made inside record nothing (on the writer's thread too, where a
    hooked call would otherwise be the outermost one and record into the cell under way)."""
    _, depth = capture_module.enter()
    capture_module.mute()
    try:
        yield
    finally:
        capture_module.unmute()
        capture_module.leave(depth)


def _is_frame(frame: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(frame, pandas.DataFrame)


_said: set[str] = set()


def _skipped(frame: Any, source: Source) -> None:
    kind = type(frame).__name__
    if kind not in _said:
        _said.add(kind)
        log.warning(
            "nblineage: expectation suites run on pandas DataFrames; a %s read from %s was not validated",
            kind,
            source.name,
        )


def _pandas(frame: Any) -> Any:
    """A DataFrame of what was read (an Arrow table converted)."""
    return frame if _is_frame(frame) else frame.to_pandas()


def _snapshot(frame: Any) -> Any:
    """The frame as it is now, whatever the cell does to it next: a copy-on-write view where pandas has copy on
    write (pandas 3, or turned on), else a full copy; an Arrow table is immutable already."""
    if not _is_frame(frame):
        return frame
    import pandas

    cow = int(pandas.__version__.split(".")[0]) >= 3
    if not cow:
        try:
            cow = pandas.get_option("mode.copy_on_write") is True
        except Exception:
            cow = False
    return frame.copy(deep=not cow)


def latest(namespace: str, name: str, version: str | None) -> bool | None:
    """This kernel's latest outcome for that dataset version: True passed, False failed, None unknown. Suites on
    that version still waiting for a quiet kernel run now, on the caller's thread: the guard's rule sees them."""
    with _lock:
        waiting = list(_pending.get((namespace, name, version), ()))
    for work in waiting:
        work()
    with _lock:
        found = _outcomes.get((namespace, name, version))
        if not found:
            return None
        return all(found.values())


def note(source: Source, result: Any) -> None:
    """Remember ``result`` (a QualityResult) for ``source``: the newest per suite counts."""
    with _lock:
        _outcomes.setdefault((source.namespace, source.name, source.version), {})[result.suite] = result.success


def add_to_record(capture: Any, source: Source, result: Any) -> None:
    """Put ``result`` on ``source`` as an input of the cell run under way (emitted as its input facets)."""
    found = capture.record.inputs.setdefault(source, {})
    found.setdefault(KEY, []).append(result.to_json())


def _validate_now(frame: Any, source: Source, expectation: Any) -> None:
    from nblineage.governance.quality import validate

    with _own_work():
        result = _with(validate(_pandas(frame), expectation.suite, expectation.sample_rows), blocking=True)
    note(source, result)
    capture = _capture()
    if capture is not None:
        add_to_record(capture, source, result)


def _validate_later(frame: Any, source: Source, expectation: Any) -> None:
    capture, session = _capture(), _session()
    if capture is None or session is None or not capture.cell_run_id or not capture.cell_job:
        # no writer to run it, or no cell run to add it to: validate now rather than never
        _validate_now(frame, source, expectation)
        return
    with _own_work():
        snapshot = _snapshot(frame)
    run = {
        "namespace": session.namespace,
        "notebook": session.notebook,
        "sessionRunId": session.run_id,
        "runId": capture.cell_run_id,
        "job": capture.cell_job,
        "time": datetime.now(timezone.utc).isoformat(),
        "dataset": {"namespace": source.namespace, "name": source.name, "version": source.version},
    }
    writer = session.writer
    key = (source.namespace, source.name, source.version)
    claimed: list[bool] = []
    finished = threading.Event()

    def work() -> None:
        """Run once, by whoever comes first (the writer when the kernel is quiet, or ``latest``); the other waits."""
        with _lock:
            first = not claimed
            claimed.append(True)
        if not first:
            finished.wait()
            return
        try:
            try:
                with writer.importing, _own_work():  # great-expectations' first import, while no cell starts
                    from nblineage.governance.quality import prepare, validate

                    prepare()
                with _own_work():
                    data = _pandas(snapshot)
                    result = _with(validate(data, expectation.suite, expectation.sample_rows), blocking=False)
            except Exception as error:
                report("data quality (background)", error)
                return
            note(source, result)
            writer.submit([record_line(run, [result])])
        finally:
            with _lock:
                _pending[key].remove(work)
            finished.set()

    with _lock:
        _pending.setdefault(key, []).append(work)
    writer.when_quiet(work)


def _with(result: Any, blocking: bool) -> Any:
    from dataclasses import replace

    return replace(result, blocking=blocking)


def _capture() -> Any:
    """The kernel's capture (the guard calls ``on_read`` inside a hooked read, where ``current()`` is None)."""
    return getattr(capture_module, "_current", None)


def _session() -> Any:
    """The capture session whose capture is active, or None."""
    from nblineage import kernel_ext

    capture = _capture()
    for session in list(kernel_ext._sessions.values()):
        if getattr(session, "capture", None) is capture and not getattr(session, "_closed", False):
            return session
    return None


# --- the outbox record and its event ---------------------------------------------------------------------------------


def record_line(run: dict[str, Any], results: list[Any]) -> str:
    """The outbox line of results finished after their cell's record went out (redacted like every record)."""
    from nblineage.kernel_ext.records import FORMAT, _dump

    return _dump({"nblineage": FORMAT, "kind": KEY, **run, "results": [result.to_json() for result in results]})


def input_facets(found: dict[str, Any]) -> dict[str, Any]:
    """The input facets of a cell record's input: its quality results, when it has any. Results it cannot turn into
    facets are left out (logged): never the cell's lineage."""
    results = found.get(KEY)
    if not results:
        return {}
    from nblineage.governance.quality import facets_of

    try:
        return facets_of(_result(item) for item in results if isinstance(item, dict))
    except Exception as error:
        log.warning("nblineage: data quality results left out of an event (%s: %s)", type(error).__name__, error)
        return {}


def _result(item: dict[str, Any]) -> Any:
    from nblineage.governance.quality import QualityResult

    return QualityResult(
        suite=str(item.get("suite") or "expectations"),
        success=bool(item.get("success")),
        time=item.get("time"),
        assertions=list(item.get("assertions") or []),
        producer=item.get("producer"),
        rows=item.get("rows"),
        total_rows=item.get("totalRows"),
        origin=item.get("origin"),
        blocking=item.get("blocking"),
    )


def events_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The OTHER event of the cell run that read the dataset, carrying the results as its input facets."""
    dataset = record["dataset"]
    found: dict[str, Any] = {}
    if dataset.get("version"):
        found["version"] = standard("version", datasetVersion=dataset["version"])
    entry = {
        "namespace": dataset["namespace"],
        "name": dataset["name"],
        "facets": found,
        "inputFacets": input_facets({KEY: record["results"]}),
    }
    session = {"runId": record["sessionRunId"], "facets": {}}
    parent_job = {"namespace": record["namespace"], "name": record["notebook"], "facets": {}}
    run = {"runId": record["runId"], "facets": {"parent": standard("parent", run=session, job=parent_job)}}
    event = {
        "eventType": "OTHER",
        "eventTime": _time(record["time"]),
        "run": run,
        "job": {"namespace": record["namespace"], "name": record["job"], "facets": {}},
        "inputs": [entry],
        "outputs": [],
        "producer": PRODUCER,
        "schemaURL": facets.RUN_EVENT_SCHEMA,
    }
    return [facets.without_nulls(event)]


def _time(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
