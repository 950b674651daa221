"""Hostile events through `nblineage ingest`: one clear error each with FILE:LINE, every other event stored, the
summary always printed, on both stores; malformed input read in linear time; names escaped on the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from events import run_event
from sqlalchemy import text

from nblineage.cli import main
from nblineage.lineage.ingest import ingest_file, read_events
from nblineage.lineage.store import Store

NBLINEAGE = str(Path(sys.executable).with_name("nblineage"))


def valid(number: int) -> dict[str, Any]:
    return run_event(
        ("jupyter", f"job-{number}"),
        [("file", "/data/raw.csv", "v1")],
        [("file", f"/data/out-{number}.csv", f"v{number}")],
        run_id=str(uuid.UUID(int=number + 1)),
    )


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def hostile() -> list[tuple[str, str]]:
    """(JSON text of one event, the start of the reason it is rejected with)."""
    cases: list[tuple[dict[str, Any] | str, str]] = []
    event = valid(100)
    event["run"]["facets"] = {"parent": {"run": "not-an-object", "job": {"namespace": "a", "name": "b"}}}
    cases.append((event, "run.facets.parent.run must be an object"))
    event = valid(101)
    event["job"]["facets"] = {"lineage": {"entries": 42}}
    cases.append((event, "job.facets.lineage.entries must be a list"))
    for depth in (300, 600, 900):
        event = valid(102)
        event["run"]["facets"] = {"deep": nested(depth)}
        cases.append((event, "the event is nested too deeply"))
    event = valid(103)
    event["outputs"][0]["name"] = "/data/a\x00b.csv"
    cases.append((event, "outputs[0].name holds a NUL character"))
    event = valid(104)
    event["outputs"][0]["facets"]["version"]["datasetVersion"] = os.urandom(5000).hex()
    cases.append((event, "outputs[0].facets.version.datasetVersion takes 10000 bytes"))
    event = valid(105)
    event["run"]["facets"] = {os.urandom(3000).hex(): {"a": 1}}
    cases.append((event, "run.facets: the facet name"))
    event = json.dumps(valid(106))[:-1] + ', "huge": ' + "7" * 5000 + "}"
    cases.append((event, "malformed JSON: a number longer than 4300 digits"))
    return [(item if isinstance(item, str) else json.dumps(item), reason) for item, reason in cases]


def test_each_hostile_event_is_one_error_and_the_others_are_stored(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, expected = [], {}
    for index, (line, reason) in enumerate(hostile()):
        lines += [json.dumps(valid(index)), line]
        expected[len(lines)] = reason
    early = valid(50)
    early["eventTime"] = "0999-06-01T00:00:00Z"  # stored, and keyed in order
    big = valid(51)
    big["run"]["facets"] = {"counts": {"n": 2**70, "m": -(2**64) - 1}}  # kept exactly, not as floats
    lines += [json.dumps(early), json.dumps(big)]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n")

    status = main(["--url", store_url, "ingest", str(path)])
    out, err = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in out + err
    reported = {}
    for row in err.splitlines():
        assert row.startswith(f"error: {path}:"), row
        number, reason = row[len(f"error: {path}:") :].split(": ", 1)
        reported[int(number)] = reason
    assert sorted(reported) == sorted(expected)
    for number, reason in expected.items():
        assert reported[number].startswith(reason), (number, reported[number])
    valid_count = len(lines) - len(expected)
    assert out == f"{valid_count} events stored, 0 already stored, {len(expected)} rejected, from 1 files\n"
    with Store(store_url) as store:
        assert store.event_count() == valid_count
        with store.read() as conn:
            payloads = [row[0] for row in conn.execute(text("SELECT payload FROM events"))]
            facet = conn.execute(text("SELECT payload FROM facets WHERE name = 'counts'")).scalar_one()
            started = conn.execute(text("SELECT started_at FROM runs WHERE run_id = :r"), {"r": early["run"]["runId"]})
            assert str(started.scalar_one()).startswith("0999-06-01")
        assert any(f'"n":{2**70}' in payload and f'"m":{-(2**64) - 1}' in payload for payload in payloads)
        assert json.loads(facet) == {"n": 2**70, "m": -(2**64) - 1}
        assert store.rebuild() == valid_count


def test_a_folder_goes_on_past_hostile_files_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    for index, (line, _reason) in enumerate(hostile()):
        (folder / f"{index:02d}-bad.jsonl").write_text(line + "\n" + json.dumps(valid(index)) + "\n")
    (folder / "zz-good.json").write_text(json.dumps(valid(99)))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    status = main(["--url", url, "ingest", str(folder)])
    out, err = capsys.readouterr()
    files = len(hostile()) + 1
    assert status == 1
    assert len(err.splitlines()) == files - 1
    assert out == f"{files} events stored, 0 already stored, {files - 1} rejected, from {files} files\n"


@pytest.mark.postgres
def test_an_event_the_store_refuses_costs_only_that_event(tmp_path: Path) -> None:
    """Whatever a check misses and the database refuses (here a trigger) is one error; its batch is stored."""
    from postgres_db import postgres_database

    with postgres_database() as url, Store(url) as store:
        with store.write() as conn:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.name LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned name %', NEW.name; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON datasets FOR EACH ROW EXECUTE FUNCTION refuse()"))
        poison = valid(7)
        poison["outputs"][0]["name"] = "/data/poison.csv"
        path = tmp_path / "batch.jsonl"
        path.write_text("".join(json.dumps(item) + "\n" for item in [valid(1), valid(2), poison, valid(3)]))
        result = ingest_file(store, path, batch=2)
        assert (result.stored, result.duplicates) == (3, 0)
        assert [(error.line, error.reason.split(":")[0]) for error in result.errors] == [
            (3, "the store refused this event")
        ]
        assert "poisoned name /data/poison.csv" in result.errors[0].reason
        assert store.event_count() == 3


def _seconds(path: Path) -> float:
    """The least CPU time of three reads (CPU, not wall: a busy machine stretches wall time unevenly)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        assert sum(1 for _ in read_events(path)) > 0
        best = min(best, time.process_time() - started)
    return best


def test_malformed_lines_cost_linear_time(tmp_path: Path) -> None:
    good = json.dumps(valid(1))
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text("{bad json\n" * 10_000 + good + "\n")
    large.write_text("{bad json\n" * 80_000 + good + "\n")
    items = list(read_events(large))
    assert len(items) == 80_001 and str(items[0]).endswith(
        "malformed JSON: Expecting property name enclosed in double quotes (column 2)"
    )
    ratio = _seconds(large) / _seconds(small)
    assert ratio < 16, ratio  # 8 times the lines; quadratic reading took 64 times as long


def test_names_are_escaped_on_the_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "evil\x1b[2J\x07.jsonl").write_text("not json\n")
    name = "/data/bidi\u202egpj.exe\u009b31m.csv"
    (folder / "good.jsonl").write_text(json.dumps(run_event(("jupyter", "j"), [("file", name)], [("file", "/o")])))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    done = subprocess.run([NBLINEAGE, "--url", url, "ingest", str(folder)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "evil\ufffd[2J\ufffd.jsonl:1: malformed JSON" in done.stderr
    done = subprocess.run([NBLINEAGE, "--url", url, "upstream", "/o", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "\u202e" not in done.stdout and "\u009b" not in done.stdout
    assert "bidi\\u202egpj.exe\\u009b31m.csv" in done.stdout
    assert name in [node["name"] for node in json.loads(done.stdout)]  # the same data
    done = subprocess.run([NBLINEAGE, "--url", url, "upstream", "/o"], capture_output=True, text=True)
    assert "\u202e" not in done.stdout and "\u009b" not in done.stdout


def test_long_numbers_are_found_across_the_scan_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The look for 19 digits in a row reads the text a window at a time: a number cut by a window's end, or only
    in the last line, still takes the exact way (an integer, not a float); the request bodies' look likewise."""
    from nblineage.lineage import ingest
    from nblineage.server.bodies import has_long_number, parse_json

    monkeypatch.setattr(ingest, "_SCAN", 7)
    events = [valid(index) for index in range(3)]
    events[2]["run"]["facets"] = {"counts": {"_producer": "t", "_schemaURL": "t", "n": 2**70}}
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    read = list(read_events(path))
    assert read[2].payload["run"]["facets"]["counts"]["n"] == 2**70
    body = json.dumps(events).encode()
    assert has_long_number(body) and parse_json(body)[2]["run"]["facets"]["counts"]["n"] == 2**70
    assert not has_long_number(json.dumps(events[:2]).encode())
    assert not has_long_number(b'{"version": "1234567890123456789012345"}')  # digits in a string are no number


def test_a_bodys_long_numbers_are_told_from_digits_in_strings_as_the_token_pattern_does() -> None:
    """``has_long_number`` looks only before each run of 19 digits; it answers what the pattern of a number token
    (``:``, ``[`` or ``,``, whitespace, a minus sign, 19 digits) answers over the whole body, on random bodies and
    on long whitespace and many digit runs, where it takes the pattern's way."""
    import random
    import re

    from nblineage.server.bodies import has_long_number

    token = re.compile(rb"[:\[,]\s*-?[0-9]{19}")
    rng = random.Random(13)
    for _ in range(20_000):
        body = bytes(
            rng.choice(b' \t\n-:[,"a{}') if rng.random() < 0.35 else rng.choice(b"0123456789")
            for _ in range(rng.randint(0, 50))
        )
        assert has_long_number(body) == (token.search(body) is not None), body
    assert has_long_number(b":" + b" " * 1000 + b"-" + b"7" * 19)
    assert not has_long_number(b": -" + b" " * 1000 + b"7" * 19)
    many_runs = (b'"a' + b"1" * 30 + b'",') * 2000  # more digit runs than are looked at one by one
    assert has_long_number(many_runs + b"[" + b"2" * 19)
    assert not has_long_number(many_runs)
    assert has_long_number(b'{"n": ' + b"9" * 100_000 + b"}")
