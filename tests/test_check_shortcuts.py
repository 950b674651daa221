"""``check`` skips what an event's canonical text shows cannot fail (NUL checks) and takes the common dataset entry
in one inline test: the entries that test lets through pass every check, and each it leaves to the checks one by
one gets the same answer as before, at the limits too."""

from __future__ import annotations

import pytest
from events import run_event

from nblineage.lineage.events import MAX_NAME_BYTES, MAX_VERSION_BYTES, InvalidEvent, check


def event_with(side: str, **entry: object) -> dict:
    """A RunEvent whose first entry of ``side`` (inputs or outputs) has ``entry``'s fields replaced."""
    payload = run_event(("jupyter", "nb.ipynb"), [("file", "/in.csv", "v1")], [("file", "/out.csv", "v2")])
    target = payload[side][0]
    for key, value in entry.items():
        if value is ...:
            target.pop(key, None)
        else:
            target[key] = value
    return payload


WIDE = "é"  # two bytes in UTF-8
ENTRIES = [
    # (fields of the entry, the message expected, or None when the event is valid)
    ({"name": "n" * (MAX_NAME_BYTES - 4)}, None),
    ({"name": WIDE * ((MAX_NAME_BYTES - 4) // 2)}, None),
    ({"name": WIDE * (MAX_NAME_BYTES // 2)}, "namespace and name take 2404 bytes; the store takes up to 2400"),
    ({"name": ""}, ".name must be a non-empty string"),
    ({"namespace": 3}, ".namespace must be a non-empty string"),
    ({"facets": []}, ".facets must be an object"),
    ({"facets": {"schema": ["x"]}}, ".facets.schema must be an object"),
    ({"facets": {"k" * 250: {}}}, None),
    ({"facets": {WIDE * 500: {}}}, None),
    ({"facets": {"😀" * 251: {}}}, "is longer than 1000 bytes"),
    ({"facets": {"version": {"datasetVersion": "😀" * (MAX_VERSION_BYTES // 4)}}}, None),
    ({"facets": {"version": {"datasetVersion": "😀" * (MAX_VERSION_BYTES // 4 + 1)}}}, "takes 2404 bytes"),
    ({"facets": {"version": {"datasetVersion": 7}}}, None),
    ({"facets": {"version": {"datasetVersion": [7]}}}, "datasetVersion must be a string"),
    ({"facets": {"version": None, "x": None}}, None),
    ({"inputFacets": "x"}, ".inputFacets must be an object"),
    ({"outputFacets": {"q": 3}}, ".outputFacets.q must be an object"),
    ({"namespace": "file\x00"}, "holds a NUL character"),
    ({"facets": {"version": {"datasetVersion": "v\x00"}}}, "holds a NUL character"),
    ({"facets": {"a\x00": {}}}, "holds a NUL character"),
]


@pytest.mark.parametrize("side", ["inputs", "outputs"])
@pytest.mark.parametrize(("entry", "message"), ENTRIES, ids=[f"case{index}" for index in range(len(ENTRIES))])
def test_dataset_entries_at_the_limits(side: str, entry: dict, message: str | None) -> None:
    payload = event_with(side, **entry)
    if message is None:
        assert check(payload).payload[side][0]["namespace"] == payload[side][0]["namespace"]
        return
    with pytest.raises(InvalidEvent) as raised:
        check(payload)
    assert message in str(raised.value)
    assert str(raised.value).startswith((f"{side}[0]", "the facet name "))
