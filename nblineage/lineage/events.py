"""Raw OpenLineage events: classify, check, time-stamp and hash them.

The check is deliberately as lenient as a real OpenLineage server (any spec version, ``eventType`` missing,
timestamps without a timezone or with nanoseconds, custom facets) and as strict as the graph needs: the
identifiers it derives from must be there and of the right type.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from nblineage.lineage.redact import may_hold_secrets, redact

RUN, DATASET, JOB = "RunEvent", "DatasetEvent", "JobEvent"
MAX_NAME_BYTES = 2400  # namespace + name, within what a PostgreSQL unique index takes

_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE | re.ASCII,
)
# The textual form of a UUID (RFC 9562): the store keys runs by it, so braces, "urn:uuid:" or missing hyphens,
# which uuid.UUID would also take, are refused rather than splitting one run into several.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE | re.ASCII)


class InvalidEvent(ValueError):
    """An event the store cannot take; the message says which field and why."""


@dataclass(frozen=True)
class Event:
    """A checked event: its payload, its kind, UTC time, canonical JSON text and the hash of that text."""

    payload: dict[str, Any]
    kind: str
    time: datetime
    hash: str
    text: str

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
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise InvalidEvent(f"eventTime {value[:60]!r}: the UTC offset {zone} is out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        try:
            moment = (moment.replace(tzinfo=timezone(sign * offset))).astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise InvalidEvent(f"eventTime {value[:60]!r} is out of range in UTC") from None
    return moment


def canonical_json(payload: Any) -> str:
    """The one serialisation that is hashed and stored: sorted keys, no whitespace, unicode kept.

    Raises ValueError for NaN or infinity, which JSON cannot hold.
    """
    try:
        text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, non-string keys, lone surrogates: the standard library's way
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if b"null" in text and _has_non_finite(payload):  # orjson writes NaN and infinity as null
        raise ValueError("Out of range float values are not JSON compliant")
    return text.decode()


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


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
    """Check one decoded event and return it, credentials removed, with its kind, time and hash.

    Raises InvalidEvent, naming the field, for anything the store cannot take.
    """
    if not isinstance(payload, dict):
        raise InvalidEvent(f"an event is a JSON object, not {type(payload).__name__}")
    kind = kind_of(payload)
    if payload.get("eventTime") is None:
        raise InvalidEvent("eventTime is missing")
    time = parse_time(payload["eventTime"])
    _optional_str(payload, "producer")
    _optional_str(payload, "schemaURL")
    if kind == RUN:
        run = _object(payload, "run")
        run_id = run.get("runId")
        if run_id is None:
            raise InvalidEvent("run.runId is missing")
        if not isinstance(run_id, str):
            raise InvalidEvent(f"run.runId must be a UUID string, not {type(run_id).__name__}")
        if not _UUID.match(run_id):
            raise InvalidEvent(f"run.runId {run_id[:60]!r} is not a UUID")
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
        text = canonical_json(payload)
        if may_hold_secrets(text):
            payload = redact(payload)
            text = canonical_json(payload)
        digest = hashlib.sha256(text.encode()).hexdigest()
    except ValueError as error:  # NaN or infinity (json.loads takes them), or a lone surrogate ("\ud800")
        try:
            reason = _not_json(payload, "")
        except RecursionError:
            reason = None
        raise InvalidEvent(reason or f"not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidEvent("not valid JSON: the event is nested too deeply") from None
    return Event(payload=payload, kind=kind, time=time, hash=digest, text=text)


def _not_json(value: Any, where: str) -> str | None:
    """Why the value at ``where`` cannot be JSON (NaN, infinity, lone surrogate), or None when it can."""
    if isinstance(value, float) and not math.isfinite(value):
        shown = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        return f"{where or 'the event'} is {shown}, which is not valid JSON"
    if isinstance(value, str) and not _encodable(value):
        return f"{where or 'the event'} holds a lone surrogate, which is not valid UTF-8 text"
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _encodable(key):
                return f"a key in {where or 'the event'} holds a lone surrogate, which is not valid UTF-8 text"
            found = _not_json(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, f"{where}[{index}]")
            if found:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


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
    size = len(entity["namespace"].encode("utf-8", "replace")) + len(entity["name"].encode("utf-8", "replace"))
    if size > MAX_NAME_BYTES:
        raise InvalidEvent(f"{where}: namespace and name take {size} bytes; the store takes up to {MAX_NAME_BYTES}")
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
