"""``check`` and ``parse_time``: as lenient as a real OpenLineage server, as strict as the graph needs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from events import PRODUCER, run_event
from openlineage.client import event_v2, facet_v2
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_new_uuid
from spec import event_errors, facet_errors

from nblineage.lineage.events import DATASET, JOB, RUN, InvalidEvent, check, event_hash, parse_time

RUN_ID = "0190d9a0-0000-7000-8000-000000000001"
TIME = "2026-03-04T05:06:07Z"


def a_run_event(**fields: Any) -> dict[str, Any]:
    """A RunEvent with one input and one output, each with a version."""
    payload = run_event(
        ("jupyter", "notebooks/train.ipynb"),
        [("file", "/data/raw.csv", "v1")],
        [("file", "/models/model.joblib", "m1")],
        run_id=RUN_ID,
        time=TIME,
        models={"/models/model.joblib"},
    )
    payload.update(fields)
    return payload


def a_job_event() -> dict[str, Any]:
    payload = a_run_event()
    del payload["run"], payload["eventType"]
    payload["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
    return payload


def a_dataset_event() -> dict[str, Any]:
    return {
        "eventTime": TIME,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "s3://bucket", "name": "raw/sales.csv", "facets": {}},
    }


# ---------------------------------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("build", "kind"), [(a_run_event, RUN), (a_job_event, JOB), (a_dataset_event, DATASET)], ids=[RUN, JOB, DATASET]
)
def test_each_kind_is_accepted_and_schema_valid(build: Callable[[], dict[str, Any]], kind: str) -> None:
    payload = build()
    assert event_errors(payload, kind) == []
    event = check(payload)
    assert event.kind == kind
    assert event.payload == build()
    assert event.time == datetime(2026, 3, 4, 5, 6, 7)


@pytest.mark.parametrize(
    ("build", "kind"), [(a_run_event, RUN), (a_job_event, JOB), (a_dataset_event, DATASET)], ids=[RUN, JOB, DATASET]
)
def test_kinds_are_told_apart_by_content_not_by_schema_url(build: Callable[[], dict[str, Any]], kind: str) -> None:
    for schema_url in (
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    ):
        assert check({**build(), "schemaURL": schema_url}).kind == kind
    without = build()
    del without["schemaURL"]
    assert check(without).kind == kind


@pytest.mark.parametrize(
    "schema_url",
    [
        "https://openlineage.io/spec/1-0-0/OpenLineage.json#/definitions/RunEvent",
        "https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/RunEvent",
        "https://openlineage.io/spec/2-0-0/OpenLineage.json#/$defs/RunEvent",
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "https://openlineage.io/spec/9-99-0/OpenLineage.json#/$defs/RunEvent",
        "https://example.com/my-own-fork/OpenLineage.json",
    ],
)
def test_any_spec_version_is_accepted(schema_url: str) -> None:
    event = check(a_run_event(schemaURL=schema_url))
    assert event.kind == RUN
    assert event.payload["schemaURL"] == schema_url


def test_event_type_may_be_missing() -> None:
    payload = a_run_event()
    del payload["eventType"]
    event = check(payload)
    assert event.kind == RUN
    assert event.event_type is None
    assert "eventType" not in event.payload


def test_run_ids_in_upper_case_are_uuids() -> None:
    assert check(a_run_event(run={"runId": RUN_ID.upper()})).payload["run"]["runId"] == RUN_ID.upper()


@pytest.mark.parametrize("event_type", ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER", "complete"])
def test_event_types_are_kept(event_type: str) -> None:
    assert check(a_run_event(eventType=event_type)).event_type == event_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04T05:06:07Z", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T05:06:07z", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04t05:06:07Z", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T05:06:07.123Z", datetime(2026, 3, 4, 5, 6, 7, 123000)),
        ("2026-03-04T05:06:07,5Z", datetime(2026, 3, 4, 5, 6, 7, 500000)),
        ("2026-03-04T05:06:07.123456Z", datetime(2026, 3, 4, 5, 6, 7, 123456)),
        # nanoseconds are truncated to microseconds, never rounded
        ("2026-03-04T05:06:07.123456789Z", datetime(2026, 3, 4, 5, 6, 7, 123456)),
        ("2026-03-04T05:06:07.999999999Z", datetime(2026, 3, 4, 5, 6, 7, 999999)),
        ("2026-03-04T07:06:07+02:00", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T07:06:07+0200", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T07:06:07+02", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-03T23:36:07-05:30", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-03T23:36:07-0530", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T05:06:07+00:00", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T05:06:07-00:00", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T10:51:07+05:45", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T07:06:07.123456789+02:00", datetime(2026, 3, 4, 5, 6, 7, 123456)),
        # no timezone: taken as UTC
        ("2026-03-04T05:06:07", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T05:06:07.123456789", datetime(2026, 3, 4, 5, 6, 7, 123456)),
        ("2026-03-04T05:06", datetime(2026, 3, 4, 5, 6)),
        ("2026-03-04T05:06Z", datetime(2026, 3, 4, 5, 6)),
        # a space instead of T
        ("2026-03-04 05:06:07", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04 05:06:07Z", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04 07:06:07.5+02:00", datetime(2026, 3, 4, 5, 6, 7, 500000)),
        ("2026-03-04 07:06:07 +02:00", datetime(2026, 3, 4, 5, 6, 7)),
        ("  2026-03-04T05:06:07Z  ", datetime(2026, 3, 4, 5, 6, 7)),
        # the offset moves the day, the month and the year
        ("2026-01-01T01:00:00+02:00", datetime(2025, 12, 31, 23, 0, 0)),
        ("2025-12-31T22:00:00-02:00", datetime(2026, 1, 1, 0, 0, 0)),
        ("2024-02-29T23:30:00-01:00", datetime(2024, 3, 1, 0, 30, 0)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.tzinfo is None
    event = check(a_run_event(eventTime=text))
    assert event.time == expected
    assert event.payload["eventTime"] == text  # the time is kept as it came


@pytest.mark.parametrize(
    "value",
    [
        None,
        1767225600,
        1767225600.5,
        ["2026-03-04T05:06:07Z"],
        "",
        "   ",
        "yesterday",
        "2026-03-04",
        "05:06:07",
        "2026/03/04 05:06:07",
        "04-03-2026T05:06:07Z",
        "2026-3-4T5:6:7Z",
        "2026-03-04T05:06:07.Z",
        "2026-03-04T05:06:07ZZ",
        "2026-03-04T05:06:07 UTC",
        "2026-03-04T05:06:07+2:00",
        "2026-13-04T05:06:07Z",
        "2026-02-30T05:06:07Z",
        "2025-02-29T05:06:07Z",
        "2026-03-04T24:00:00Z",
        "2026-03-04T05:60:07Z",
        "2026-03-04T05:06:61Z",
        "2026-03-04T05:06:07+24:00",
        "2026-03-04T05:06:07+25:00",
        "2026-03-04T05:06:07+02:60",
        "2026-03-04T05:06:07+0299",
        # the offset carries the moment out of the years a datetime holds
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        # digits of other scripts are not ISO-8601 digits
        "٢٠٢٦-٠٣-٠٤T05:06:07Z",
        "2026-03-04T05:06:07+٠٢:٠٠",
    ],
)
def test_parse_time_rejects(value: Any) -> None:
    with pytest.raises(InvalidEvent, match="eventTime"):
        parse_time(value)
    with pytest.raises(InvalidEvent, match="eventTime"):
        check(a_run_event(eventTime=value))


UNICODE_NAMES = [
    "📊 sales 🚀/2026 📈.csv",
    "👩‍👩‍👧‍👦 family.parquet",
    "数据/销售额（2026年）.csv",
    "データ/売上.csv",
    "데이터/매출.csv",
    "بيانات/المبيعات.csv",
    "נתונים/מכירות.csv",
    "mixed \u202eRTL override\u202c.csv",
    "cafe\u0301/nai\u0308ve.csv",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇.csv",
    "line\u2028separator\u2029paragraph\x85next.csv",
    "tab\there and bell \x07.csv",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral 𐍈.csv",
]


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_unicode_namespaces_and_names_are_kept_exactly(name: str) -> None:
    namespace = f"s3://{name.split('/')[0]}"
    payload = run_event((namespace, name), [(namespace, name, name)], [(namespace, name + ".out")], run_id=RUN_ID)
    dataset_payload = {**a_dataset_event(), "dataset": {"namespace": namespace, "name": name}}
    assert check(dataset_payload).payload["dataset"] == {"namespace": namespace, "name": name}
    event = check(payload)
    assert event.payload["job"] == {"namespace": namespace, "name": name}
    assert event.payload["inputs"][0]["name"] == name
    assert event.payload["inputs"][0]["facets"]["version"]["datasetVersion"] == name
    # the hash does not depend on how the text was escaped on the wire
    escaped = check(json.loads(json.dumps(payload, ensure_ascii=True)))
    raw = check(json.loads(json.dumps(payload, ensure_ascii=False)))
    assert escaped.hash == raw.hash == event.hash


def test_unicode_is_not_normalised() -> None:
    composed, decomposed = "caf\u00e9.csv", "cafe\u0301.csv"
    first = check(run_event(("file", composed), run_id=RUN_ID))
    second = check(run_event(("file", decomposed), run_id=RUN_ID))
    assert first.payload["job"]["name"] == composed
    assert second.payload["job"]["name"] == decomposed
    assert first.hash != second.hash


def test_five_thousand_inputs() -> None:
    inputs = [("file", f"/data/part-{index:05d}.parquet", f"v{index}") for index in range(5000)]
    payload = run_event(("jupyter", "wide.ipynb"), inputs, [("file", "/data/out.parquet")], run_id=RUN_ID)
    event = check(payload)
    assert len(event.payload["inputs"]) == 5000
    assert event.payload["inputs"][4999]["name"] == "/data/part-04999.parquet"
    assert event.hash == event_hash(copy.deepcopy(payload))
    broken = copy.deepcopy(payload)
    del broken["inputs"][4321]["namespace"]
    with pytest.raises(InvalidEvent, match=re.escape("inputs[4321].namespace")):
        check(broken)


def test_a_five_megabyte_facet() -> None:
    blob = "0123456789abcdef" * (5 * 1024 * 1024 // 16)
    payload = a_run_event()
    payload["job"]["facets"] = {"notebook": {"_producer": PRODUCER, "_schemaURL": "https://x/y.json", "source": blob}}
    event = check(payload)
    assert event.payload["job"]["facets"]["notebook"]["source"] == blob
    assert len(json.dumps(event.payload)) > 5 * 1024 * 1024
    changed = copy.deepcopy(payload)
    changed["job"]["facets"]["notebook"]["source"] = blob[:-1] + "F"
    assert check(changed).hash != event.hash


CUSTOM_FACET = {
    "_producer": "https://example.com/my-producer",
    "_schemaURL": "https://example.com/schemas/MyFacet.json#/$defs/MyFacet",
    "plain": "value",
    "with space and-dash.dot": 1,
    "$ref": "not a reference",
    "_deleted": False,
    "": "the empty key",
    "ключ 🔑": "値",
    "nested": {"list": [1, 2.5, -0.0, 1e308, 2**70, True, None, "x", [], {}], "deeper": {"a": {"b": {"c": None}}}},
    "null": None,
    "number as text": "1e3",
}


def test_custom_facets_are_kept_unchanged_everywhere() -> None:
    payload = a_run_event()
    payload["run"]["facets"] = {"myRun": copy.deepcopy(CUSTOM_FACET), "removed": None}
    payload["job"]["facets"] = {"myJob": copy.deepcopy(CUSTOM_FACET)}
    payload["inputs"][0]["facets"]["myDataset"] = copy.deepcopy(CUSTOM_FACET)
    payload["inputs"][0]["inputFacets"] = {"myInput": copy.deepcopy(CUSTOM_FACET)}
    payload["outputs"][0]["outputFacets"] = {"myOutput": copy.deepcopy(CUSTOM_FACET)}
    payload["customTopLevel"] = {"anything": ["goes"]}
    original = copy.deepcopy(payload)
    event = check(payload)
    assert event.payload == original
    assert json.dumps(event.payload, sort_keys=True) == json.dumps(original, sort_keys=True)
    for facets in (
        event.payload["run"]["facets"]["myRun"],
        event.payload["job"]["facets"]["myJob"],
        event.payload["inputs"][0]["facets"]["myDataset"],
        event.payload["inputs"][0]["inputFacets"]["myInput"],
        event.payload["outputs"][0]["outputFacets"]["myOutput"],
    ):
        assert facets == CUSTOM_FACET
        assert list(facets) == list(CUSTOM_FACET)  # key order too
    dataset_payload = a_dataset_event()
    dataset_payload["dataset"]["facets"] = {"myDataset": copy.deepcopy(CUSTOM_FACET)}
    assert check(dataset_payload).payload["dataset"]["facets"]["myDataset"] == CUSTOM_FACET


# ---------------------------------------------------------------------------------------------------- rejected


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets (or with ``...`` deletes) the value at a dotted path; digits index lists."""

    def change(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = payload
        for key in parents:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
        key: Any = int(last) if last.isdigit() else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return change


REJECTED = [
    ("no eventTime", a_run_event, _set("eventTime", ...), "eventTime is missing"),
    ("null eventTime", a_run_event, _set("eventTime", None), "eventTime is missing"),
    ("numeric eventTime", a_run_event, _set("eventTime", 1767225600), "eventTime must be an ISO-8601 string"),
    ("bad eventTime", a_run_event, _set("eventTime", "soon"), "eventTime 'soon' is not an ISO-8601 timestamp"),
    ("run not an object", a_run_event, _set("run", "run-1"), "run must be an object"),
    ("no runId", a_run_event, _set("run.runId", ...), "run.runId is missing"),
    ("numeric runId", a_run_event, _set("run.runId", 42), "run.runId must be a UUID string, not int"),
    ("runId not a UUID", a_run_event, _set("run.runId", "run-42"), "run.runId 'run-42' is not a UUID"),
    ("runId too short", a_run_event, _set("run.runId", RUN_ID[:-1]), "is not a UUID"),
    ("runId not hex", a_run_event, _set("run.runId", RUN_ID[:-1] + "g"), "is not a UUID"),
    ("runId in braces", a_run_event, _set("run.runId", "{" + RUN_ID + "}"), "is not a UUID"),
    ("runId as URN", a_run_event, _set("run.runId", "urn:uuid:" + RUN_ID), "is not a UUID"),
    ("runId without hyphens", a_run_event, _set("run.runId", RUN_ID.replace("-", "")), "is not a UUID"),
    ("runId with spaces", a_run_event, _set("run.runId", f" {RUN_ID} "), "is not a UUID"),
    ("run without job", a_run_event, _set("job", ...), "job must be an object"),
    ("job a string", a_run_event, _set("job", "train"), "job must be an object"),
    ("job without name", a_run_event, _set("job.name", ...), "job.name must be a non-empty string"),
    ("job with empty name", a_run_event, _set("job.name", ""), "job.name must be a non-empty string"),
    ("job without namespace", a_job_event, _set("job.namespace", ...), "job.namespace must be a non-empty string"),
    ("numeric job name", a_job_event, _set("job.name", 7), "job.name must be a non-empty string"),
    ("input without namespace", a_run_event, _set("inputs.0.namespace", ...), "inputs[0].namespace must be"),
    ("output without name", a_run_event, _set("outputs.0.name", ...), "outputs[0].name must be"),
    ("job event input", a_job_event, _set("inputs.0.namespace", None), "inputs[0].namespace must be"),
    ("dataset without namespace", a_dataset_event, _set("dataset.namespace", ...), "dataset.namespace must be"),
    ("dataset without name", a_dataset_event, _set("dataset.name", ""), "dataset.name must be"),
    ("dataset not an object", a_dataset_event, _set("dataset", ["x"]), "dataset must be an object"),
    ("inputs an object", a_run_event, _set("inputs", {"namespace": "file", "name": "/x"}), "inputs must be a list"),
    ("outputs a string", a_run_event, _set("outputs", "/x"), "outputs must be a list"),
    ("job event inputs", a_job_event, _set("inputs", "x"), "inputs must be a list"),
    ("input a string", a_run_event, _set("inputs.0", "file:/x"), "inputs[0] must be an object"),
    ("run facets a list", a_run_event, _set("run.facets", []), "run.facets must be an object"),
    ("run facet a string", a_run_event, _set("run.facets.parent", "x"), "run.facets.parent must be an object"),
    ("job facet a number", a_run_event, _set("job.facets.sql", 3), "job.facets.sql must be an object"),
    ("dataset facet a list", a_run_event, _set("inputs.0.facets.schema", [1]), "inputs[0].facets.schema must be"),
    ("input facet", a_run_event, _set("inputs.0.inputFacets.stats", "x"), "inputs[0].inputFacets.stats must be"),
    ("output facet", a_run_event, _set("outputs.0.outputFacets.stats", 1), "outputs[0].outputFacets.stats must be"),
    ("output facets", a_run_event, _set("outputs.0.outputFacets", "x"), "outputs[0].outputFacets must be"),
    ("static dataset facet", a_dataset_event, _set("dataset.facets.owner", True), "dataset.facets.owner must be"),
    ("numeric producer", a_run_event, _set("producer", 1), "producer must be a string"),
    ("schemaURL a list", a_run_event, _set("schemaURL", []), "schemaURL must be a string"),
    ("eventType a number", a_run_event, _set("eventType", 3), "eventType must be a string"),
    # hostile events: each gets a clear reason here rather than a traceback (or a lost batch) in the store
    ("parent run a string", a_run_event, _set("run.facets.parent", {"run": "x"}), "run.facets.parent.run must be"),
    ("parent run a list", a_run_event, _set("run.facets.parent", {"run": [1]}), "run.facets.parent.run must be"),
    ("parent runId", a_run_event, _set("run.facets.parent", {"run": {"runId": "x" * 99}}), "runId 'xxxx"),
    ("numeric parent runId", a_run_event, _set("run.facets.parent", {"run": {"runId": 7}}), "runId 7 is not a UUID"),
    ("lineage entries", a_run_event, _set("job.facets.lineage", {"entries": 5}), "lineage.entries must be a list"),
    ("job event lineage", a_job_event, _set("job.facets.lineage", {"entries": "x"}), "lineage.entries must be"),
    ("NUL in a name", a_run_event, _set("outputs.0.name", "/a\x00b"), "outputs[0].name holds a NUL character"),
    ("NUL in a job", a_run_event, _set("job.namespace", "a\x00"), "job.namespace holds a NUL character"),
    ("NUL in a dataset", a_dataset_event, _set("dataset.name", "\x00"), "dataset.name holds a NUL"),
    ("NUL in eventType", a_run_event, _set("eventType", "COMPLETE\x00"), "eventType holds a NUL"),
    (
        "NUL in a column lineage source",
        a_dataset_event,
        _set("dataset.facets.columnLineage", {"fields": {}, "dataset": [{"namespace": "file", "name": "\x00"}]}),
        "a dataset dataset.facets.columnLineage names: its name holds a NUL",
    ),
    (
        "NUL in a lineage facet source",
        a_run_event,
        _set("job.facets.lineage", {"entries": [{"namespace": "n\x00", "name": "t", "inputs": []}]}),
        "a dataset job.facets.lineage names: its namespace holds a NUL",
    ),
    ("NUL in a facet name", a_run_event, _set("run.facets", {"a\x00": {}}), "the facet name run.facets.'a\\x00'"),
    (
        "long version",
        a_run_event,
        _set("inputs.0.facets.version", {"datasetVersion": "v" * 10_000}),
        "inputs[0].facets.version.datasetVersion takes 10000 bytes; the store takes up to 2400",
    ),
    (
        "version an object",
        a_run_event,
        _set("inputs.0.facets.version", {"datasetVersion": {"v": 1}}),
        "datasetVersion must be a string",
    ),
    (
        "NUL in a version",
        a_dataset_event,
        _set("dataset.facets", {"version": {"datasetVersion": "1\x00"}}),
        "dataset.facets.version.datasetVersion holds a NUL",
    ),
    ("long facet name", a_run_event, _set("run.facets", {"k" * 6000: {}}), "is longer than 1000 bytes"),
    ("long input facet name", a_run_event, _set("inputs.0.inputFacets", {"é" * 501: {}}), "longer than 1000 bytes"),
]


@pytest.mark.parametrize(
    ("build", "change", "message"), [case[1:] for case in REJECTED], ids=[case[0] for case in REJECTED]
)
def test_rejected_with_a_message_naming_the_field(
    build: Callable[[], dict[str, Any]], change: Callable[[dict[str, Any]], None], message: str
) -> None:
    payload = build()
    check(payload)  # valid before the change
    change(payload)
    with pytest.raises(InvalidEvent, match=re.escape(message)):
        check(payload)


@pytest.mark.parametrize("payload", [None, [], [a_run_event()], "event", 42, 4.2, True])
def test_not_an_object_is_rejected(payload: Any) -> None:
    with pytest.raises(InvalidEvent, match=f"an event is a JSON object, not {type(payload).__name__}"):
        check(payload)


@pytest.mark.parametrize("payload", [{}, {"eventTime": TIME, "producer": PRODUCER}, {"runs": [], "jobs": []}])
def test_no_run_job_or_dataset_is_rejected(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent, match="it has no run, job or dataset"):
        check(payload)


def test_invalid_event_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"run\.runId"):
        check(a_run_event(run={"runId": "nope"}))


@pytest.mark.parametrize(("literal", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity")])
def test_nan_and_infinity_are_rejected_with_their_place(literal: str, shown: str) -> None:
    payload = a_run_event()
    payload["outputs"][0]["facets"]["quality"] = {"_producer": PRODUCER, "_schemaURL": "x", "metrics": [1.0, 0.5]}
    text = json.dumps(payload).replace("0.5", literal)
    decoded = json.loads(text)  # json.loads takes them; they are not JSON
    with pytest.raises(InvalidEvent, match=re.escape(f"outputs[0].facets.quality.metrics[1] is {shown}")):
        check(decoded)


def test_a_lone_surrogate_is_rejected_with_its_place() -> None:
    text = json.dumps(a_run_event()).replace('"notebooks/train.ipynb"', '"notebooks/\\ud800.ipynb"')
    decoded = json.loads(text)
    with pytest.raises(InvalidEvent, match=re.escape("job.name holds a lone surrogate")):
        check(decoded)


@pytest.mark.parametrize("depth", [255, 300, 600, 900])
def test_facets_nested_hundreds_of_levels_deep_are_rejected(depth: int) -> None:
    deep: Any = {}
    for _ in range(depth):
        deep = {"a": deep}
    payload = a_run_event()
    payload["run"]["facets"] = {"deep": deep}
    with pytest.raises(InvalidEvent, match=re.escape("nested too deeply (more than 254 levels)")):
        check(payload)
    payload["run"]["facets"] = {"deep": deep, "big": {"n": 2**70}}  # the exact-integer way checks depth too
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        check(payload)


def test_integers_beyond_64_bits_are_kept_exactly() -> None:
    payload = a_run_event()
    payload["run"]["facets"] = {"big": {"n": 2**70, "m": -(2**64) - 1, "digits": int("9" * 4000)}}
    event = check(payload)
    assert json.loads(event.text)["run"]["facets"]["big"] == {"n": 2**70, "m": -(2**64) - 1, "digits": int("9" * 4000)}
    assert event.hash == check(json.loads(json.dumps(payload))).hash


def test_an_integer_of_thousands_of_digits_is_rejected_with_its_place() -> None:
    import sys

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        huge = int("9" * 5000)
    finally:
        sys.set_int_max_str_digits(limit)
    payload = a_run_event()
    payload["run"]["facets"] = {"big": {"n": [1, huge]}}
    with pytest.raises(InvalidEvent, match=re.escape("run.facets.big.n[1] is an integer of more than 4300 digits")):
        check(payload)


def test_years_below_1000_are_kept_and_sort_first() -> None:
    from nblineage.lineage.derive import event_key

    early = check(a_run_event(eventTime="0999-01-01T00:00:00Z"))
    late = check(a_run_event(eventTime="1000-01-01T00:00:00Z"))
    assert early.time == datetime(999, 1, 1)
    assert event_key(early).startswith("0999-01-01T00:00:00.000000|")
    assert event_key(early) < event_key(late)


def test_keys_that_are_not_strings_are_rejected() -> None:
    payload = a_run_event()
    payload["run"]["facets"] = {"custom": {1: "a", "b": 2}}
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        check(payload)


def test_an_event_nested_too_deeply_is_rejected() -> None:
    deep: Any = "bottom"
    for _ in range(100_000):
        deep = [deep]
    payload = a_run_event()
    payload["job"]["facets"] = {"deep": {"_producer": PRODUCER, "_schemaURL": "x", "value": deep}}
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        check(payload)


# ---------------------------------------------------------------------------------------------------- hash


def _reordered(value: Any) -> Any:
    """The same JSON value with the keys of every object in reverse order."""
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return -value  # 1e308 + 1 == 1e308; -0.0 and 0.0 are different JSON
    if isinstance(value, str):
        return value + "x"
    return "was null"


def _rich_event() -> dict[str, Any]:
    payload = a_run_event()
    payload["run"]["facets"] = {"custom": copy.deepcopy(CUSTOM_FACET)}
    return payload


def test_hash_ignores_key_order_and_whitespace() -> None:
    payload = _rich_event()
    reordered = _reordered(payload)
    assert list(reordered) != list(payload)
    assert list(reordered["run"]["facets"]["custom"]) != list(payload["run"]["facets"]["custom"])
    event = check(payload)
    assert len(event.hash) == 64 and int(event.hash, 16) >= 0
    assert check(reordered).hash == event.hash
    assert check(json.loads(json.dumps(payload, indent=4))).hash == event.hash
    assert check(json.loads(json.dumps(reordered, separators=(",", ":")))).hash == event.hash
    assert event_hash(payload) == event.hash


def test_hash_changes_when_any_value_changes() -> None:
    payload = _rich_event()
    original = check(payload).hash
    seen = {original}
    leaves = list(_leaves(payload))
    assert len(leaves) > 30
    for path in leaves:
        changed = copy.deepcopy(payload)
        node = changed
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = _changed(node[path[-1]])
        digest = event_hash(changed)
        assert digest not in seen, path
        seen.add(digest)


@pytest.mark.parametrize(
    "change",
    [
        _set("run.facets.custom.plain", ["value"]),  # a string becomes a list
        _set("run.facets.custom.nested.list.0", 1.0),  # 1 and 1.0 are different JSON
        _set("run.facets.custom.nested.list.0", "1"),
        _set("run.facets.custom.nested.list.5", 1),  # True and 1 too
        _set("run.facets.custom.null", False),
        _set("run.facets.custom.extra", None),  # a key added, even with null
        _set("run.facets.custom.null", ...),  # a key removed
        _set("inputs", []),
        _set("eventType", ...),
    ],
)
def test_hash_changes_with_types_and_keys(change: Callable[[dict[str, Any]], None]) -> None:
    payload = _rich_event()
    changed = copy.deepcopy(payload)
    change(changed)
    assert json.dumps(changed, sort_keys=True) != json.dumps(payload, sort_keys=True)
    assert check(changed).hash != check(payload).hash


def test_hash_depends_on_list_order() -> None:
    payload = run_event(("jupyter", "nb"), [("file", "/a"), ("file", "/b")], run_id=RUN_ID)
    swapped = copy.deepcopy(payload)
    swapped["inputs"].reverse()
    assert check(swapped).hash != check(payload).hash


# -------------------------------------------------------------------------------------------------- openlineage-python


def _openlineage_events() -> list[tuple[str, Any]]:
    """Events built with openlineage-python's generated classes, as a producer would send them."""
    parent = facet_v2.parent_run.ParentRunFacet(
        run=facet_v2.parent_run.Run(runId=str(generate_new_uuid())),
        job=facet_v2.parent_run.Job(namespace="jupyter", name="notebooks/train.ipynb"),
    )
    run = event_v2.Run(
        runId=str(generate_new_uuid()),
        facets={
            "parent": parent,
            "nominalTime": facet_v2.nominal_time_run.NominalTimeRunFacet(nominalStartTime="2026-03-04T05:06:07Z"),
            "errorMessage": facet_v2.error_message_run.ErrorMessageRunFacet(
                message="boom", programmingLanguage="python", stackTrace="Traceback ..."
            ),
        },
    )
    job = event_v2.Job(
        namespace="jupyter",
        name="notebooks/train.ipynb#cell-3",
        facets={
            "jobType": facet_v2.job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="JUPYTER", jobType="CELL"
            ),
            "sourceCode": facet_v2.source_code_job.SourceCodeJobFacet(language="python", sourceCode="model.fit(X, y)"),
        },
    )
    source = event_v2.InputDataset(
        namespace="file",
        name="/data/raw 数据 📊.csv",
        facets={
            "version": facet_v2.dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="9f2c01"),
            "schema": facet_v2.schema_dataset.SchemaDatasetFacet(
                fields=[
                    facet_v2.schema_dataset.SchemaDatasetFacetFields(name="age", type="int64"),
                    facet_v2.schema_dataset.SchemaDatasetFacetFields(name="income", type="float64"),
                ]
            ),
        },
        inputFacets={
            "inputStatistics": facet_v2.input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=100)
        },
    )
    model = event_v2.OutputDataset(
        namespace="file",
        name="/models/model.joblib",
        facets={
            "datasetType": facet_v2.dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL"),
            "version": facet_v2.dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="a1b2c3"),
            "columnLineage": facet_v2.column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "prediction": facet_v2.column_lineage_dataset.Fields(
                        inputFields=[
                            facet_v2.column_lineage_dataset.InputField(
                                namespace="file", name="/data/raw 数据 📊.csv", field="age"
                            )
                        ]
                    )
                }
            ),
        },
        outputFacets={
            "outputStatistics": facet_v2.output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=1, size=2048
            )
        },
    )
    start = event_v2.RunEvent(
        eventType=event_v2.RunState.START,
        eventTime="2026-03-04T05:06:07.123456+00:00",
        run=run,
        job=job,
        producer=PRODUCER,
        inputs=[source],
    )
    complete = event_v2.RunEvent(
        eventType=event_v2.RunState.COMPLETE,
        eventTime="2026-03-04T05:07:07.5+01:00",
        run=run,
        job=job,
        producer=PRODUCER,
        inputs=[source],
        outputs=[model],
    )
    job_event = event_v2.JobEvent(
        eventTime="2026-03-04T05:06:07Z", producer=PRODUCER, job=job, inputs=[source], outputs=[model]
    )
    dataset_event = event_v2.DatasetEvent(
        eventTime="2026-03-04T05:06:07Z",
        producer=PRODUCER,
        dataset=event_v2.StaticDataset(
            namespace="s3://bucket",
            name="raw/sales.csv",
            facets={"version": facet_v2.dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="7")},
        ),
    )
    return [(RUN, start), (RUN, complete), (JOB, job_event), (DATASET, dataset_event)]


OPENLINEAGE_EVENTS = _openlineage_events()


@pytest.mark.parametrize(
    ("kind", "built"), OPENLINEAGE_EVENTS, ids=["RunEvent START", "RunEvent COMPLETE", "JobEvent", "DatasetEvent"]
)
def test_openlineage_python_events_pass_check_and_the_official_schema(kind: str, built: Any) -> None:
    payload = json.loads(Serde.to_json(built))
    assert event_errors(payload, kind) == []
    event = check(payload)
    assert event.kind == kind
    assert event.payload == json.loads(Serde.to_json(built))
    assert event.hash == event_hash(json.loads(Serde.to_json(built)))
    assert event.time == parse_time(payload["eventTime"])


def test_openlineage_python_events_keep_their_facets() -> None:
    (_, start), (_, complete), _, _ = OPENLINEAGE_EVENTS
    payload = json.loads(Serde.to_json(complete))
    event = check(payload)
    assert event.time == datetime(2026, 3, 4, 4, 7, 7, 500000)
    assert event.event_type == "COMPLETE"
    assert event.payload["run"]["runId"] == complete.run.runId
    output = event.payload["outputs"][0]
    assert output["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 1
    assert event.payload["inputs"][0]["name"] == "/data/raw 数据 📊.csv"
    assert facet_errors({"schema": event.payload["inputs"][0]["facets"]["schema"]}, "SchemaDatasetFacet") == []
    assert facet_errors({"columnLineage": output["facets"]["columnLineage"]}, "ColumnLineageDatasetFacet") == []
    assert facet_errors({"parent": event.payload["run"]["facets"]["parent"]}, "ParentRunFacet") == []
    assert check(json.loads(Serde.to_json(start))).hash != event.hash


def test_the_official_schema_catches_what_check_catches() -> None:
    """The schema validation used above can fail: a broken generated event fails both."""
    payload = json.loads(Serde.to_json(OPENLINEAGE_EVENTS[1][1]))
    del payload["run"]["runId"]
    assert event_errors(payload, RUN) == ["run: 'runId' is a required property"]
    with pytest.raises(InvalidEvent, match=r"run\.runId is missing"):
        check(payload)
    payload = json.loads(Serde.to_json(OPENLINEAGE_EVENTS[2][1]))
    del payload["job"]["name"]
    assert event_errors(payload, JOB) == ["job: 'name' is a required property"]
    with pytest.raises(InvalidEvent, match=r"job\.name must be a non-empty string"):
        check(payload)
