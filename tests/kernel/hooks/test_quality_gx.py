"""The great-expectations hook, in process with real GX 1.x: each way a user validates a tracked frame is recorded
on the frame's dataset versions; nblineage's own validations and untracked frames record nothing."""

from __future__ import annotations

import json
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest
from hooktools import RAW

from nblineage.governance.quality import validate
from nblineage.kernel_ext import quality
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.gx import GreatExpectationsInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (GreatExpectationsInstrumentor,)
OTHER = Source("file", "/data/other.csv", "v9")


@pytest.fixture
def whole() -> object:
    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    return (
        context.data_sources.add_pandas("mine").add_dataframe_asset("frame").add_batch_definition_whole_dataframe("w")
    )


def tracked(capture: Capture) -> pd.DataFrame:
    raw = pd.DataFrame({"age": [20, 30, 40, None], "city": ["a", "b", "c", "d"]})
    capture.read(RAW, raw)
    joined = raw.copy()
    capture.derive(joined, raw, capture_other(capture))
    return joined


def capture_other(capture: Capture) -> pd.DataFrame:
    other = pd.DataFrame({"x": [1]})
    capture.read(OTHER, other)
    return other


def results(capture: Capture, source: Source) -> list[dict]:
    return capture.record.inputs.get(source, {}).get(quality.KEY, [])


def test_user_validations_are_recorded_on_the_frames_versions(capture: Capture, whole) -> None:
    frame = tracked(capture)
    suite = gx.ExpectationSuite(name="mine", expectations=[gx.expectations.ExpectColumnValuesToNotBeNull(column="age")])
    outcome = whole.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    assert outcome.success is False  # the user's call returns GX's own result, untouched
    single = whole.get_batch(batch_parameters={"dataframe": frame}).validate(
        gx.expectations.ExpectColumnToExist(column="city")
    )
    assert single.success is True
    for source in (RAW, OTHER):  # the frame derives from both files
        found = results(capture, source)
        assert [(r["suite"], r["success"], r["origin"]) for r in found] == [
            ("mine", False, "user"),
            ("expect_column_to_exist", True, "user"),
        ]
        assert found[0]["assertions"][0] | {"actual": None} == {
            "assertion": "expect_column_values_to_not_be_null",
            "success": False,
            "column": "age",
            "severity": "error",
            "actual": None,
        }
    assert quality.latest(RAW.namespace, RAW.name, RAW.version) is False


def test_checkpoints_and_the_legacy_validator(capture: Capture, whole) -> None:
    frame = tracked(capture)
    context = whole.data_asset.datasource.data_context
    suite = context.suites.add(
        gx.ExpectationSuite(name="rows", expectations=[gx.expectations.ExpectTableRowCountToEqual(value=4)])
    )
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="vd", data=whole, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(name="cp", validation_definitions=[definition]))
    assert checkpoint.run(batch_parameters={"dataframe": frame}).success
    legacy = context.get_validator(
        batch_request=whole.build_batch_request(batch_parameters={"dataframe": frame}), expectation_suite=suite
    )
    assert legacy.validate().success
    assert [(r["suite"], r["success"]) for r in results(capture, RAW)] == [("rows", True), ("rows", True)]


def test_nblineage_own_validations_and_untracked_frames_record_nothing(capture: Capture, whole, tmp_path: Path) -> None:
    frame = tracked(capture)
    path = tmp_path / "suite.json"
    path.write_text(
        json.dumps({"name": "ours", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "age"}}]})
    )
    assert validate(frame, path).success  # the guard's validation: kernel_ext/quality records it, not the hook
    untracked = pd.DataFrame({"age": [1]})
    whole.get_batch(batch_parameters={"dataframe": untracked}).validate(
        gx.expectations.ExpectColumnToExist(column="age")
    )
    assert results(capture, RAW) == [] and results(capture, OTHER) == []
