"""Raw OpenLineage events: classify, check, time-stamp and hash them.

The check is deliberately as lenient as a real OpenLineage server (any spec version, ``eventType`` missing,
timestamps without a timezone or with nanoseconds, custom facets) and as strict as the graph needs: the
identifiers it derives from must be there and of the right type.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

RUN, DATASET, JOB = "RunEvent", "DatasetEvent", "JobEvent"

_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


class InvalidEvent(ValueError):
    """An event the store cannot take; the message says which field and why."""


@dataclass(frozen=True)
class Event:
    """A checked event: its payload as it came, its kind, UTC time and content hash."""

    payload: dict[str, Any]
    kind: str
    time: datetime
    hash: str

    @property
    def event_type(self) -> str | None:
        return self.payload.get("eventType")


def parse_time(value: Any) -> datetime:
    """Parse an ISO-8601 event time into a naive UTC datetime (microseconds; nanoseconds are truncated)."""
    if not isinstance(value, str):
        raise InvalidEvent(f"eventTime must be an ISO-8601 string, not {type(value).__name__}")
    match = _TIME.match(value.strip())
    if not match:
        raise InvalidEvent(f"eventTime {value[:60]!r} is not an ISO-8601 timestamp")
    day, clock, fraction, zone = match.groups()
    if clock.count(":") == 1:
        clock += ":00"
    micros = (fraction or "").ljust(6, "0")[:6]
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}.{micros}")
    except ValueError as error:
        raise InvalidEvent(f"eventTime {value[:60]!r}: {error}") from None
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment = (moment.replace(tzinfo=timezone(sign * offset))).astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def canonical_json(payload: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no whitespace, unicode kept."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON: the same event sent twice has the same hash."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def kind_of(payload: dict[str, Any]) -> str:
    """RunEvent, JobEvent or DatasetEvent, told apart by their content as the spec does."""
    if "run" in payload:
        return RUN
    if "job" in payload:
        return JOB
    if "dataset" in payload:
        return DATASET
    raise InvalidEvent("not an OpenLineage event: it has no run, job or dataset")


def check(payload: Any) -> Event:
    """Check one decoded event and return it with its kind, time and hash, or raise InvalidEvent."""
    if not isinstance(payload, dict):
        raise InvalidEvent(f"an event is a JSON object, not {type(payload).__name__}")
    kind = kind_of(payload)
    time = parse_time(payload.get("eventTime"))
    _optional_str(payload, "producer")
    _optional_str(payload, "schemaURL")
    if kind == RUN:
        run = _object(payload, "run")
        run_id = run.get("runId")
        if not isinstance(run_id, str):
            raise InvalidEvent("run.runId is missing")
        try:
            uuid.UUID(run_id)
        except ValueError:
            raise InvalidEvent(f"run.runId {run_id[:60]!r} is not a UUID") from None
        _facets(run, "run")
        _optional_str(payload, "eventType")
    if kind in (RUN, JOB):
        _named(_object(payload, "job"), "job")
        for direction in ("inputs", "outputs"):
            datasets = payload.get(direction)
            if datasets is None:
                continue
            if not isinstance(datasets, list):
                raise InvalidEvent(f"{direction} must be a list")
            for index, dataset in enumerate(datasets):
                if not isinstance(dataset, dict):
                    raise InvalidEvent(f"{direction}[{index}] must be an object")
                _named(dataset, f"{direction}[{index}]")
                _facets(dataset, f"{direction}[{index}]", ("facets", "inputFacets", "outputFacets"))
    if kind == DATASET:
        _named(_object(payload, "dataset"), "dataset")
    try:
        digest = event_hash(payload)
    except ValueError as error:  # NaN or infinity
        raise InvalidEvent(f"not valid JSON: {error}") from None
    return Event(payload=payload, kind=kind, time=time, hash=digest)


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise InvalidEvent(f"{key} must be an object")
    return value


def _optional_str(parent: dict[str, Any], key: str) -> None:
    if key in parent and parent[key] is not None and not isinstance(parent[key], str):
        raise InvalidEvent(f"{key} must be a string")


def _named(entity: dict[str, Any], where: str) -> None:
    for key in ("namespace", "name"):
        value = entity.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidEvent(f"{where}.{key} must be a non-empty string")
    _facets(entity, where)


def _facets(entity: dict[str, Any], where: str, keys: tuple[str, ...] = ("facets",)) -> None:
    for key in keys:
        facets = entity.get(key)
        if facets is None:
            continue
        if not isinstance(facets, dict):
            raise InvalidEvent(f"{where}.{key} must be an object")
        for name, facet in facets.items():
            if facet is not None and not isinstance(facet, dict):
                raise InvalidEvent(f"{where}.{key}.{name} must be an object")
