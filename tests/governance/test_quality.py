"""Data quality with real great-expectations: suites run, results as facets (valid against the official schemas),
stored, read back with other producers' results, and shown by explain."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pandas as pd
import pytest
from events import run_event
from spec import event_errors, facet_errors
from sqlalchemy import text as text_sql

from nblineage.governance import questions, render, text
from nblineage.governance.quality import QualityResult, facets_of, latest_results, validate
from nblineage.kernel_ext import delivery, records
from nblineage.kernel_ext import quality as kernel_quality
from nblineage.kernel_ext.capture import Output, Record
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

EMAIL = "alice.secret@example.com"


def write_suite(folder: Path, name: str, expectations: list[dict]) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations, "meta": {}}))
    return path


def suites(folder: Path) -> tuple[Path, Path]:
    passing = write_suite(
        folder,
        "customers_ok",
        [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 1000}},
        ],
    )
    failing = write_suite(
        folder,
        "customers_strict",
        [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}, "severity": "warning"},
            {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "age", "min_value": 50, "max_value": 60}},
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        ],
    )
    return passing, failing


def frame(rows: int = 100) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(rows),
            "age": [20 + i % 30 for i in range(rows)],
            "email": [None if i % 10 == 0 else EMAIL for i in range(rows)],
        }
    )


def test_validate_passing_and_failing_suites(tmp_path: Path) -> None:
    passing, failing = suites(tmp_path)
    ok = validate(frame(), passing)
    assert ok.success and ok.suite == "customers_ok" and ok.rows == ok.total_rows == 100
    assert [a["assertion"] for a in ok.assertions] == [
        "expect_column_values_to_not_be_null",
        "expect_table_row_count_to_be_between",
    ]
    assert ok.assertions[0]["column"] == "id" and ok.assertions[1]["actual"] == "100"
    assert ok.producer.startswith("great_expectations 1.")

    bad = validate(frame(), failing, sample_rows=40)
    assert not bad.success and (bad.rows, bad.total_rows) == (40, 100)
    by_kind = {a["assertion"]: a for a in bad.assertions}
    nulls = by_kind["expect_column_values_to_not_be_null"]
    assert nulls["success"] is False and nulls["severity"] == "warn" and nulls["actual"].endswith("unexpected of 40")
    mean = by_kind["expect_column_mean_to_be_between"]
    assert mean["success"] is False and mean["severity"] == "error"
    assert json.loads(mean["expected"]) == {"max_value": 60.0, "min_value": 50.0}
    assert 20 <= float(mean["actual"]) <= 50
    assert by_kind["expect_column_values_to_be_unique"]["success"] is True
    # SUMMARY's unexpected values (data) never reach the facet
    assert EMAIL not in json.dumps(facets_of([ok, bad]))


def test_suite_files_bad_and_old(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not an ExpectationSuite"):
        validate(frame(), broken)
    typo = write_suite(tmp_path, "typo", [{"type": "expect_column_to_exits", "kwargs": {"column": "id"}}])
    with pytest.raises(ValueError, match=r"does not know the expectation\(s\) expect_column_to_exits"):
        validate(frame(), typo)  # GX alone would drop it and pass the suite
    with pytest.raises(ValueError, match="cannot read the expectation suite"):
        validate(frame(), tmp_path / "missing.json")
    legacy = tmp_path / "legacy.json"  # a GX 0.x suite file
    legacy.write_text(
        json.dumps(
            {
                "expectation_suite_name": "old",
                "expectations": [{"expectation_type": "expect_column_to_exist", "kwargs": {"column": "id"}}],
            }
        )
    )
    assert (validate(frame(), legacy).suite, validate(frame(), legacy).success) == ("old", True)


CSV = ("file", "/data/customers.csv")
MODEL = ("file", "/models/churn.pkl")
NOTEBOOK, NAMESPACE = "/work/churn.ipynb", "jupyter"


def cell_with_results(session_run: str, results: list[QualityResult], when: datetime) -> tuple[list[dict], str]:
    """A cell run that read the CSV (with blocking results on it) and saved a model from it, through the real
    record and emit code; and its run id."""
    source = Source(*CSV, "v1")
    record = Record()
    record.add_input(source, {kernel_quality.KEY: [result.to_json() for result in results]})
    model = {"framework": "sklearn", "class": "LogisticRegression"}
    record.outputs.append(Output(Source(*MODEL, "m1"), Provenance(frozenset({source})), {}, model))
    run_id = str(uuid.uuid4())
    result = records.CellResult(run_id, "c1", 1, "fit()", when, when + timedelta(seconds=1), record=record)
    line = records.cell_line(result, NAMESPACE, NOTEBOOK, session_run)
    return delivery.events_of(line), run_id


def other_producer(version: str | None, success: bool, time: str) -> dict:
    """A run of another producer (GX's OpenLineage action, Airflow) whose input carries dataQualityAssertions."""
    facet = {
        "_producer": "https://github.com/great-expectations/great_expectations",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/DataQualityAssertionsDatasetFacet.json",
        "assertions": [
            {"assertion": "expect_column_values_to_be_unique", "column": "id", "success": True},
            {"assertion": "expect_table_row_count_to_equal", "success": success, "expected": "5", "actual": "7"},
        ],
    }
    event = run_event(("airflow", "quality_dag.check_customers"), inputs=[(*CSV, version)], time=time)
    event["inputs"][0]["inputFacets"] = {"dataQualityAssertions": facet}
    return event


def test_results_stored_and_read_back_with_other_producers(store: Store, tmp_path: Path) -> None:
    passing, failing = suites(tmp_path)
    ok, bad = replace(validate(frame(), passing), blocking=True), replace(validate(frame(), failing), blocking=False)
    start = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    session = str(uuid.uuid4())
    events, cell_run = cell_with_results(session, [ok], start)
    # the failing suite ran in the background: its own outbox record, sent as an OTHER event of the same cell run
    run = {
        "namespace": NAMESPACE,
        "notebook": NOTEBOOK,
        "sessionRunId": session,
        "runId": cell_run,
        "job": f"{NOTEBOOK}#c1",
        "time": (start + timedelta(milliseconds=300)).isoformat(),
        "dataset": {"namespace": CSV[0], "name": CSV[1], "version": "v1"},
    }
    later = delivery.events_of(kernel_quality.record_line(run, [bad]))
    assert [e["eventType"] for e in later] == ["OTHER"] and later[0]["run"]["runId"] == cell_run
    events += later
    events.append(other_producer(None, False, "2026-05-01T11:00:00Z"))
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    events.append(other_producer("v1", True, soon))  # newer than ours: listed first
    for event in events:
        kind = "DatasetEvent" if "dataset" in event else "RunEvent"
        assert event_errors(event, kind) == []
        for entry in event.get("inputs", []):
            if "dataQualityAssertions" in entry.get("inputFacets", {}):
                assert facet_errors(entry["inputFacets"], "DataQualityAssertionsDatasetFacet") == []
    store.append([check(event) for event in events])

    with store.read() as conn:
        state = conn.execute(text_sql("SELECT state FROM runs WHERE run_id = :r"), {"r": cell_run}).scalar()
    assert state == "COMPLETE"  # the later OTHER event left the cell run as it was

    results = latest_results(store, *CSV, "v1")
    assert {(r.suite, r.success) for r in results} == {
        ("customers_ok", True),
        ("customers_strict", False),
        ("quality_dag.check_customers", True),
    }
    assert results[0].suite == "quality_dag.check_customers"  # newest first
    strict = next(r for r in results if r.suite == "customers_strict")
    assert strict.blocking is False and strict.run_id == cell_run and strict.version == "v1"
    assert len(strict.assertions) == 3 and strict.assertions == bad.assertions
    assert next(r for r in results if r.suite == "customers_ok").blocking is True
    # another version (or none): only the result sent without a version counts
    assert [(r.suite, r.success, r.version) for r in latest_results(store, *CSV, "v2")] == [
        ("quality_dag.check_customers", False, None)
    ]
    assert latest_results(store, *CSV, None) == latest_results(store, *CSV, "v2")
    assert latest_results(store, "file", "/nothing", None) == []

    answer = questions.explain(store, DatasetRef(*MODEL, "m1"))
    (dataset,) = answer.inputs.datasets
    assert {r.suite for r in dataset.quality} == {r.suite for r in results}
    data = answer.to_json()
    shown = data["inputs"]["datasets"][0]["quality"]
    assert json.loads(orjson.dumps(data)) == data
    assert {item["suite"] for item in shown} == {r.suite for r in results}
    rendered = text.explanation(answer)
    assert "FAILED" in rendered and "customers_strict: FAILED (2 of 3 assertions failed)" in rendered
    assert "x expect_column_mean_to_be_between on age expected" in rendered
    assert EMAIL not in rendered
    page = render.html(answer)
    assert "<h5>Quality</h5>" in page and "expect_column_mean_to_be_between(age)" in page


def test_hostile_quality_facets_are_inert(store: Store) -> None:
    """Wrong types are dropped; terminal escapes in names are not printed raw."""
    event = other_producer("v1", False, "2026-05-01T13:00:00Z")
    assertions = event["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assertions += [{"assertion": 3, "success": "no"}, "junk", {"assertion": "\x1b[31mred", "success": False}]
    store.append([check(event)])
    (result,) = latest_results(store, *CSV, "v1")
    assert [a["assertion"] for a in result.assertions][-1] == "\x1b[31mred" and len(result.assertions) == 3
    lines = text.quality(
        [questions.InputDataset(*CSV, "v1", 0, True, (result,))]  # type: ignore[attr-defined]
    )
    assert all("\x1b" not in line for line in lines) and any("FAILED" in line for line in lines)
    hostile = replace(result, suite="<script>alert(1)</script>")
    rows = text.quality_rows([questions.InputDataset(*CSV, "v1", 0, True, (hostile,))])  # type: ignore[attr-defined]
    page = render._table(text.QUALITY_COLUMNS, rows)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_gx_openlineage_action_results_are_read_alike(store: Store) -> None:
    """GX's own OpenLineage action (openlineage-common) sends greatExpectations_assertions and names the suite in
    its great_expectations_meta run facet: one result, failed when an expectation failed, shown by explain."""
    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/common/openlineage/provider/great_expectations"
    gx_facet = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/BaseFacet",
        "assertions": [
            {"expectationType": "expect_column_values_to_not_be_null", "success": True, "column": "id"},
            {"expectationType": "expect_table_row_count_to_be_between", "success": False},
            {"expectationType": "expect_column_values_to_be_unique", "success": True, "columnId": "email"},
        ],
    }
    event = run_event(("default", "customers_suite.20260501"), inputs=[(*CSV, "v1")], time="2026-05-01T10:00:00Z")
    event["inputs"][0]["inputFacets"] = {"greatExpectations_assertions": gx_facet}
    meta = {"_producer": producer, "_schemaURL": gx_facet["_schemaURL"], "expectation_suite_name": "customers_suite"}
    event["run"]["facets"] = {"great_expectations_meta": meta}
    model_run = run_event(("jupyter", "/nb#c1"), inputs=[(*CSV, "v1")], outputs=[(*MODEL, "m1")], models={MODEL[1]})
    store.append([check(event), check(model_run)])
    (result,) = latest_results(store, *CSV, "v1")
    assert (result.suite, result.success, result.producer, result.job) == (
        "customers_suite",
        False,
        producer,
        "customers_suite.20260501",
    )
    assert [(a["assertion"], a["success"], a.get("column")) for a in result.assertions] == [
        ("expect_column_values_to_not_be_null", True, "id"),
        ("expect_table_row_count_to_be_between", False, None),
        ("expect_column_values_to_be_unique", True, "email"),
    ]
    (dataset,) = questions.explain(store, DatasetRef(*MODEL, "m1")).inputs.datasets
    assert dataset.quality == (result,)


def test_the_quality_command(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`nblineage quality DATASET [--version] [--json]`: the newest version's results by default."""
    from nblineage.cli import main

    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    events = [
        other_producer("v1", False, "2026-05-01T11:00:00Z"),
        run_event(("airflow", "load"), inputs=[(*CSV, "v2")]),
    ]
    events[1]["eventTime"] = "2026-05-02T00:00:00Z"
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(event) for event in events))
    assert main(["ingest", str(tmp_path / "events.jsonl")]) == 0
    capsys.readouterr()
    assert main(["quality", CSV[1], "--version", "v1"]) == 0
    out = capsys.readouterr().out
    assert "quality_dag.check_customers: FAILED (1 of 2 assertions failed)" in out
    assert "x expect_table_row_count_to_equal expected 5 actual 7" in out
    assert main(["quality", CSV[1], "--json"]) == 0  # newest version: v2, no result
    data = json.loads(capsys.readouterr().out)
    assert (data["version"], data["quality"]) == ("v2", [])
    assert main(["quality", CSV[1], "--version", "v1", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["quality"]
    assert result["success"] is False and result["job"] == "quality_dag.check_customers"
