"""An event's canonical text, and so its hash, never changes: hashes already in stores must keep matching.

``event_hashes.json`` holds the hashes the code before issue 13's ingest work gave every sample event of the
OpenLineage specification (wrapped as ``test_spec_samples.py`` wraps them) and a few of the benchmarks' events
(notebook and platform) with odd values added: floats, integers at and beyond 64 bits, unicode, escapes, a NUL,
credentials (hashed after redaction) and deep nesting.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_spec_samples import ALL

from nblineage.lineage.events import canonical_json, check
from nblineage.server.bodies import parse_json

GOLDEN = json.loads((Path(__file__).with_name("event_hashes.json")).read_text())
EVENTS = GOLDEN["events"]


def test_every_spec_sample_keeps_its_hash() -> None:
    found = {f"{path.parent.name}/{path.name}:{kind}": check(payload).hash for path, kind, payload in ALL}
    assert set(GOLDEN["spec"]) <= set(found)
    assert {name: found[name] for name in GOLDEN["spec"]} == GOLDEN["spec"]


@pytest.mark.parametrize("index", range(len(EVENTS)))
def test_events_keep_their_canonical_text_and_hash(index: int) -> None:
    line, expected = EVENTS[index]["json"], EVENTS[index]["hash"]
    for payload in (json.loads(line), parse_json(line.encode())):  # the standard library's reading, the endpoint's
        event = check(payload)
        assert event.hash == expected
        assert event.text == canonical_json(event.payload)
        assert hashlib.sha256(event.text.encode()).hexdigest() == expected
