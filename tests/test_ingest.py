"""Reading events from files (``read_events``, ``event_files``) and the ``nblineage ingest`` command."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from events import run_event

from nblineage.cli import main
from nblineage.lineage.events import Event
from nblineage.lineage.ingest import IngestError, event_files, read_events
from nblineage.lineage.store import Store


def event(number: int, **fields: Any) -> dict[str, Any]:
    """A distinct valid RunEvent: job ``job-{number}`` reads raw.csv and writes out-{number}.csv."""
    payload = run_event(
        ("jupyter", f"job-{number}"),
        [("file", "/data/raw.csv", "v1")],
        [("file", f"/data/out-{number}.csv", f"v{number}")],
        run_id=str(uuid.UUID(int=number + 1)),
        time=f"2026-01-01T00:00:{number % 60:02d}Z",
    )
    payload.update(fields)
    return payload


def line(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def jsonl(*payloads: Any) -> str:
    return "".join(line(payload) + "\n" for payload in payloads)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def read(path: Path) -> tuple[list[Event], list[IngestError]]:
    items = list(read_events(path))
    events = [item for item in items if isinstance(item, Event)]
    errors = [item for item in items if isinstance(item, IngestError)]
    assert len(events) + len(errors) == len(items)
    return events, errors


def jobs(events: list[Event]) -> list[str]:
    return [item.payload["job"]["name"] for item in events]


def ingest(capsys: pytest.CaptureFixture[str], url: str, *paths: Path | str) -> tuple[int, str, str]:
    status = main(["--url", url, "ingest", *map(str, paths)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/x.db"


def count(url: str) -> int:
    with Store(url) as store:
        return store.event_count()


# ---------------------------------------------------------------------------------------------------- formats


def test_a_file_with_one_event(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "one.json", json.dumps(event(1), indent=2))
    events, errors = read(path)
    assert errors == []
    assert [item.payload for item in events] == [event(1)]
    assert events[0].kind == "RunEvent"
    status, out, err = ingest(capsys, url, path)
    assert (status, err) == (0, "")
    assert out == "1 events stored, 0 already stored, 0 rejected, from 1 files\n"
    assert count(url) == 1


@pytest.mark.parametrize("indent", [None, 2, "\t"])
def test_a_json_array(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], indent: Any) -> None:
    path = write(tmp_path / "events.json", json.dumps([event(n) for n in range(5)], indent=indent))
    events, errors = read(path)
    assert errors == []
    assert [item.payload for item in events] == [event(n) for n in range(5)]
    status, out, _ = ingest(capsys, url, path)
    assert status == 0
    assert out.startswith("5 events stored, 0 already stored, 0 rejected")
    assert count(url) == 5


def test_an_empty_json_array_and_an_empty_file(tmp_path: Path) -> None:
    for name, text in (
        ("empty.json", "[]"),
        ("spaces.json", " [ \n ] \n"),
        ("nothing.jsonl", ""),
        ("blank.json", "\n \n"),
    ):
        assert read(write(tmp_path / name, text)) == ([], [])


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_json_lines(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], suffix: str) -> None:
    path = write(tmp_path / f"events{suffix}", jsonl(*(event(n) for n in range(4))))
    events, errors = read(path)
    assert errors == []
    assert jobs(events) == ["job-0", "job-1", "job-2", "job-3"]
    status, out, _ = ingest(capsys, url, tmp_path)
    assert status == 0
    assert out == "4 events stored, 0 already stored, 0 rejected, from 1 files\n"
    assert count(url) == 4


def test_json_lines_with_crlf_and_no_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", "\r\n".join(line(event(n)) for n in range(3)))
    events, errors = read(path)
    assert errors == []
    assert jobs(events) == ["job-0", "job-1", "job-2"]


def test_pretty_printed_events_one_after_another(tmp_path: Path) -> None:
    path = write(tmp_path / "stream.json", "\n".join(json.dumps(event(n), indent=2) for n in range(3)) + "\n")
    events, errors = read(path)
    assert errors == []
    assert jobs(events) == ["job-0", "job-1", "job-2"]


def test_a_folder_is_searched_recursively(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    write(root / "a.json", line(event(1)))
    write(root / "sub" / "deeper" / "b.jsonl", jsonl(event(2), event(3)))
    write(root / "sub" / "c.ndjson", jsonl(event(4)))
    write(root / "sub" / "D.JSON", line(event(5)))
    write(root / "notes.txt", line(event(90)))
    write(root / "events.json.bak", line(event(91)))
    write(root / "sub" / "jsonl", line(event(92)))
    write(root / "README.md", "# not events\n")
    (root / "empty-folder.json").mkdir()
    files = list(event_files([root]))
    assert files == sorted(files)
    assert {path.relative_to(root).as_posix() for path in files} == {
        "a.json",
        "sub/deeper/b.jsonl",
        "sub/c.ndjson",
        "sub/D.JSON",
    }
    status, out, err = ingest(capsys, url, root)
    assert status == 0
    assert out == (
        "5 events stored, 0 already stored, 0 rejected, from 4 files; "
        "4 other files skipped (not .json, .jsonl, .ndjson)\n"
    )
    skipped = ", ".join(str(root / name) for name in ("README.md", "events.json.bak", "notes.txt", "sub/jsonl"))
    assert err == f"skipped (only .json, .jsonl, .ndjson files in a folder are read): {skipped}\n"
    assert count(url) == 5


def test_files_given_by_name_are_read_whatever_their_suffix(tmp_path: Path) -> None:
    text_file = write(tmp_path / "notes.txt", line(event(1)))
    folder = tmp_path / "folder"
    write(folder / "x.json", line(event(2)))
    assert list(event_files([text_file, str(folder), folder / "x.json"])) == [text_file, *[folder / "x.json"] * 2]
    events, errors = read(text_file)
    assert errors == [] and jobs(events) == ["job-1"]


def test_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    for name, text in (
        ("one.json", line(event(1))),
        ("array.json", json.dumps([event(1), event(2)], indent=2)),
        ("lines.jsonl", jsonl(event(1), event(2))),
    ):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        events, errors = read(path)
        assert errors == [], name
        assert jobs(events)[0] == "job-1"


def test_byte_order_marks_of_concatenated_files(tmp_path: Path) -> None:
    path = tmp_path / "cat.jsonl"
    path.write_bytes(b"".join(b"\xef\xbb\xbf" + jsonl(event(n)).encode() for n in range(3)))
    events, errors = read(path)
    assert errors == []
    assert jobs(events) == ["job-0", "job-1", "job-2"]


def test_blank_lines(tmp_path: Path) -> None:
    text = "\n\n" + line(event(1)) + "\n\n   \n\t\n" + line(event(2)) + "\n  \n\n" + "{broken\n" + "\n\n"
    events, errors = read(write(tmp_path / "events.jsonl", text))
    assert jobs(events) == ["job-1", "job-2"]
    assert [(error.line, error.reason.split(":")[0]) for error in errors] == [(10, "malformed JSON")]


def test_unicode_line_separators_inside_json_lines(tmp_path: Path) -> None:
    """U+2028, U+2029 and U+0085 may appear raw inside JSON strings; they do not end a JSON line."""
    names = ["a\u2028b", "c\u2029d", "e\x85f", "📊 数据 بيانات cafe\u0301"]
    payloads = [event(n, job={"namespace": "jupyter", "name": name}) for n, name in enumerate(names)]
    path = write(tmp_path / "unicode.jsonl", jsonl(*payloads) + "{bad\n")
    events, errors = read(path)
    assert jobs(events) == names
    assert [(error.line, error.reason.split(":")[0]) for error in errors] == [(5, "malformed JSON")]


# ---------------------------------------------------------------------------------------------------- bad input


def test_a_malformed_line_in_the_middle(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [line(event(n)) for n in range(5)]
    lines[2] = lines[2][:40] + "}}garbage"
    path = write(tmp_path / "events.jsonl", "\n".join(lines) + "\n")
    events, errors = read(path)
    assert jobs(events) == ["job-0", "job-1", "job-3", "job-4"]
    assert len(errors) == 1
    assert (errors[0].file, errors[0].line) == (str(path), 3)
    assert errors[0].reason.startswith("malformed JSON: ")
    status, out, err = ingest(capsys, url, path)
    assert status == 1
    assert err.splitlines() == [f"error: {path}:3: {errors[0].reason}"]
    assert out == "4 events stored, 0 already stored, 1 rejected, from 1 files\n"
    assert count(url) == 4


@pytest.mark.parametrize(
    "bad",
    [
        "{",
        "}",
        "[",
        "not json",
        '{"eventTime": }',
        '{"a": 1,}',
        "{'single': 'quotes'}",
        '{"a": 1} trailing',
        '{"a": 1}{"b": 2}',
        '{"a": 1},',
        '{"a": 1}\u00a0',
        '{"text": "unterminated',
    ],
)
def test_each_kind_of_malformed_line_is_one_error(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path / "events.jsonl", line(event(1)) + "\n" + bad + "\n" + line(event(2)) + "\n")
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-2"]
    assert [error.line for error in errors] == [2]


def test_a_malformed_pretty_printed_event_among_others(tmp_path: Path) -> None:
    broken = json.dumps(event(2), indent=2).replace('"eventType": "COMPLETE"', '"eventType": COMPLETE')
    text = json.dumps(event(1), indent=2) + "\n" + broken + "\n" + json.dumps(event(3), indent=2) + "\n"
    path = write(tmp_path / "stream.json", text)
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-3"]
    assert len(errors) == 1
    assert errors[0].line == text[: text.index(broken)].count("\n") + 1
    assert "Expecting value" in errors[0].reason


def test_a_truncated_json_lines_file(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = jsonl(event(1), event(2), event(3))
    path = write(tmp_path / "events.jsonl", text[: len(text) - 60])
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-2"]
    assert [(error.line, error.reason) for error in errors] == [(3, "truncated: the file ends inside this event")]
    status, out, err = ingest(capsys, url, path)
    assert status == 1
    assert f"{path}:3: truncated" in err
    assert out.startswith("2 events stored")
    assert count(url) == 2


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9])
def test_a_truncated_json_array(tmp_path: Path, cut: float) -> None:
    events_in = [event(n) for n in range(3)]
    text = json.dumps(events_in, indent=2)
    third = text.index('"job-2"')
    start = text.rindex("\n  {", 0, third) + 1
    end = text.index("\n  }", third)
    path = write(tmp_path / "events.json", text[: start + int((end - start) * cut)])
    events, errors = read(path)
    assert jobs(events) == ["job-0", "job-1"]
    assert [error.line for error in errors] == [text[:start].count("\n") + 1]
    assert errors[0].reason.startswith("truncated")


def test_a_json_array_cut_between_elements(tmp_path: Path) -> None:
    text = json.dumps([event(0), event(1)], indent=2)
    path = write(tmp_path / "events.json", text[: text.rindex("}") + 1] + ",\n")
    events, errors = read(path)
    assert jobs(events) == ["job-0", "job-1"]
    assert [(error.line, error.reason) for error in errors] == [
        (text.count("\n") + 1, "truncated: the JSON array is not closed")
    ]


def test_a_truncated_pretty_printed_event_is_one_error(tmp_path: Path) -> None:
    text = json.dumps(event(1), indent=2)
    path = write(tmp_path / "one.json", text[: len(text) // 2])
    events, errors = read(path)
    assert events == []
    assert [(error.line, error.reason) for error in errors] == [(1, "truncated: the file ends inside this event")]


def test_a_json_array_with_an_invalid_element(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    elements = [event(0), event(1, run={"runId": "run-one"}), event(2)]
    path = write(tmp_path / "events.json", "[\n" + ",\n".join(line(item) for item in elements) + "\n]\n")
    events, errors = read(path)
    assert jobs(events) == ["job-0", "job-2"]
    assert [(error.line, error.reason) for error in errors] == [(3, "run.runId 'run-one' is not a UUID")]
    status, out, err = ingest(capsys, url, path)
    assert status == 1
    assert err == f"error: {path}:3: run.runId 'run-one' is not a UUID\n"
    assert out == "2 events stored, 0 already stored, 1 rejected, from 1 files\n"


def test_a_json_array_with_a_malformed_element(tmp_path: Path) -> None:
    text = json.dumps([event(n) for n in range(4)], indent=2)
    broken = text.replace('"job-1"', "job-1")
    path = write(tmp_path / "events.json", broken)
    events, errors = read(path)
    assert jobs(events) == ["job-0", "job-2", "job-3"]
    element_line = text[: text.rindex("\n  {", 0, text.index('"job-1"')) + 1].count("\n") + 1
    assert [error.line for error in errors] == [element_line]
    assert errors[0].reason.startswith("malformed JSON: Expecting value (line ")


def test_a_json_array_of_one_line_elements_with_a_malformed_one(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", "[" + line(event(0)) + ",\n {oops},\n " + line(event(2)) + "]")
    events, errors = read(path)
    assert jobs(events) == ["job-0", "job-2"]
    assert [error.line for error in errors] == [2]


def test_text_after_a_json_array(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", json.dumps([event(0)]) + "\n\nextra")
    events, errors = read(path)
    assert jobs(events) == ["job-0"]
    assert [(error.line, error.reason) for error in errors] == [(3, "unexpected text after the JSON array")]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"run": {"runId": "not-a-uuid"}}, "run.runId 'not-a-uuid' is not a UUID"),
        ({"eventTime": "yesterday"}, "eventTime 'yesterday' is not an ISO-8601 timestamp"),
        ({"job": {"namespace": "jupyter"}}, "job.name must be a non-empty string"),
        ({"inputs": [{"name": "/x"}]}, "inputs[0].namespace must be a non-empty string"),
        ({"inputs": "raw.csv"}, "inputs must be a list"),
    ],
)
def test_a_schema_invalid_event(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], change: dict[str, Any], reason: str
) -> None:
    path = write(tmp_path / "events.jsonl", jsonl(event(1), event(2, **change), event(3)))
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-3"]
    assert [(error.file, error.line, error.reason) for error in errors] == [(str(path), 2, reason)]
    assert str(errors[0]) == f"{path}:2: {reason}"
    status, _out, err = ingest(capsys, url, path)
    assert status == 1
    assert err == f"error: {path}:2: {reason}\n"
    assert count(url) == 2


def test_nan_in_a_json_line(tmp_path: Path) -> None:
    bad = line(event(2, run={"runId": str(uuid.uuid4()), "facets": {"m": {"score": 0.5}}})).replace("0.5", "NaN")
    events, errors = read(write(tmp_path / "events.jsonl", line(event(1)) + "\n" + bad + "\n"))
    assert jobs(events) == ["job-1"]
    assert [(error.line, error.reason) for error in errors] == [
        (2, "run.facets.m.score is NaN, which is not valid JSON")
    ]


def test_values_that_are_not_events(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", '"text"\n42\nnull\n[1, 2]\n{}\n' + line(event(1)) + "\n")
    events, errors = read(path)
    assert jobs(events) == ["job-1"]
    assert [(error.line, error.reason) for error in errors] == [
        (1, "an event is a JSON object, not str"),
        (2, "an event is a JSON object, not int"),
        (3, "an event is a JSON object, not NoneType"),
        (4, "an event is a JSON object, not list"),
        (5, "not an OpenLineage event: it has no run, job or dataset"),
    ]


def test_json_nested_too_deeply(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.jsonl", line(event(1)) + "\n" + "[" * 200_000 + "\n" + line(event(2)) + "\n")
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-2"]
    assert [(error.line, error.reason) for error in errors] == [(2, "malformed JSON: nested too deeply")]
    events, errors = read(write(tmp_path / "deep.json", "[" * 200_000))
    assert events == []
    assert [error.reason for error in errors] == ["malformed JSON: nested too deeply"]


def test_exit_status(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(event(1), event(2)))
    bad = write(tmp_path / "bad.jsonl", jsonl(event(3)) + "{oops\n")
    assert ingest(capsys, url, good)[0] == 0
    assert ingest(capsys, url, good)[0] == 0  # nothing new is not an error
    status, out, _ = ingest(capsys, url, good, bad)
    assert status == 1
    assert out == "1 events stored, 2 already stored, 1 rejected, from 2 files\n"
    assert count(url) == 3


def test_the_same_file_twice_stores_nothing_new(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "events.jsonl", jsonl(*(event(n) for n in range(3))))
    status, out, _ = ingest(capsys, url, path)
    assert (status, out) == (0, "3 events stored, 0 already stored, 0 rejected, from 1 files\n")
    assert count(url) == 3
    status, out, _ = ingest(capsys, url, path)
    assert (status, out) == (0, "0 events stored, 3 already stored, 0 rejected, from 1 files\n")
    assert count(url) == 3
    # the same events written differently: another order of keys, pretty-printed, in an array
    reordered = [dict(reversed(list(event(n).items()))) for n in range(3)]
    other = write(tmp_path / "again.json", json.dumps(reordered, indent=2, ensure_ascii=True))
    status, out, _ = ingest(capsys, url, other, path, tmp_path)
    assert status == 0
    assert out.startswith("0 events stored, 12 already stored, 0 rejected")
    assert count(url) == 3


def test_a_missing_file(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "events.jsonl"
    good = write(tmp_path / "good.jsonl", jsonl(event(1)))
    events, errors = read(missing)
    assert events == []
    assert [(error.file, error.reason) for error in errors] == [
        (str(missing), "cannot read: no such file or directory")
    ]
    status, out, err = ingest(capsys, url, missing, good)
    assert status == 1
    assert err == f"error: {missing}:0: cannot read: no such file or directory\n"
    assert "Traceback" not in err + out
    assert out == "1 events stored, 0 already stored, 1 rejected, from 2 files\n"
    assert count(url) == 1


def test_a_folder_read_as_a_file(tmp_path: Path) -> None:
    events, errors = read(tmp_path)
    assert events == []
    assert [(error.file, error.line, error.reason) for error in errors] == [
        (str(tmp_path), 0, "cannot read: Is a directory")
    ]


def test_a_binary_file(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "image.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00")
    good = write(tmp_path / "good.jsonl", jsonl(event(1)))
    events, errors = read(binary)
    assert events == []
    assert [(error.line, error.reason) for error in errors] == [
        (1, "cannot read: not UTF-8 text (byte 0x89 at column 1); nothing was read")
    ]
    status, _out, err = ingest(capsys, url, binary, good)
    assert status == 1
    assert err.startswith(f"error: {binary}:1: cannot read: not UTF-8 text")
    assert "Traceback" not in err
    assert count(url) == 1


def test_a_json_lines_file_with_a_latin1_byte_rejects_that_line_only(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    latin1 = line(event(2, job={"namespace": "j", "name": "café"})).encode("latin-1")
    path.write_bytes(jsonl(event(1)).encode() + latin1 + b"\n" + jsonl(event(3)).encode())
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-3"]
    column = latin1.index(b"\xe9") + 1
    assert [(error.line, error.reason) for error in errors] == [
        (2, f"cannot read: not UTF-8 text (byte 0xe9 at column {column})")
    ]


def test_a_bad_byte_inside_a_pretty_printed_event_rejects_that_event_once(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    bad = json.dumps(event(2, job={"namespace": "j", "name": "café"}), indent=2, ensure_ascii=False)
    text = json.dumps(event(1), indent=2).encode() + b"\n" + bad.encode("latin-1") + b"\n"
    path.write_bytes(text + json.dumps(event(3), indent=2).encode())
    events, errors = read(path)
    assert jobs(events) == ["job-1", "job-3"]
    line_of_bad_byte = text[: text.index(b"\xe9")].count(b"\n") + 1
    assert [(error.line, error.reason.split(" (")[0]) for error in errors] == [
        (line_of_bad_byte, "cannot read: not UTF-8 text")
    ]


def test_utf16_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "utf16.json"
    path.write_bytes(line(event(1)).encode("utf-16"))
    events, errors = read(path)
    assert events == []
    assert [error.reason.split(" (")[0] for error in errors] == ["cannot read: not UTF-8 text"]


def test_a_store_that_is_not_a_sqlite_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "notes.db"
    content = b"my precious notes, not a database\n" + bytes(range(256)) * 64
    store.write_bytes(content)
    events = write(tmp_path / "events.jsonl", jsonl(event(1)))
    status, out, err = ingest(capsys, f"sqlite:///{store}", events)
    assert status == 2
    assert out == ""
    assert err == (
        f"nblineage: {store} is not a SQLite database; nblineage leaves it untouched. "
        "Set NBLINEAGE_URL to another file.\n"
    )
    assert store.read_bytes() == content
    assert sorted(path.name for path in tmp_path.iterdir()) == ["events.jsonl", "notes.db"]
