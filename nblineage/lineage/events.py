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
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from nblineage.lineage.facets import without_nulls
from nblineage.lineage.redact import json_may_hold_secrets, redact
from nblineage.value import Value

RUN, DATASET, JOB = "RunEvent", "DatasetEvent", "JobEvent"
# Limits of what the store's indexed text columns take on PostgreSQL (a B-tree entry holds at most ~2700 bytes).
MAX_NAME_BYTES = 2400  # namespace + name
MAX_VERSION_BYTES = 2400  # a dataset version
MAX_FACET_NAME_BYTES = 1000  # a facet's name
MAX_DEPTH = 254  # objects and lists nested in an event (orjson's own limit)
MAX_DIGITS = 4300  # digits of an integer (Python's default limit for reading one)

_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE | re.ASCII,
)
# The form most producers write (UTC, microseconds), read without the general pattern's groups.
_UTC_MICROS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(?:Z|\+00:00)", re.ASCII)
# The textual form of a UUID (RFC 9562): the store keys runs by it, so braces, "urn:uuid:" or missing hyphens,
# which uuid.UUID would also take, are refused rather than splitting one run into several.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE | re.ASCII)


_IO_FACETS = ("inputFacets", "outputFacets")
_STR = frozenset({str})
_FACET_TYPES = frozenset({dict, type(None)})


class InvalidEvent(ValueError):
    """An event the store cannot take; the message says which field and why."""


class Event(Value):
    """A checked event: its payload, its kind, UTC time, canonical JSON text and the hash of that text."""

    FIELDS = ("payload", "kind", "time", "hash", "text")
    __slots__ = FIELDS

    def __init__(self, payload: dict[str, Any], kind: str, time: datetime, hash: str, text: str) -> None:
        self.payload, self.kind, self.time, self.hash, self.text = payload, kind, time, hash, text

    @property
    def event_type(self) -> str | None:
        return self.payload.get("eventType")


def utc_now() -> str:
    """The time now as nblineage writes it in records and reports: UTC, milliseconds, ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime:
    """Parse an ISO-8601 event time into a naive UTC datetime (microseconds; nanoseconds are truncated)."""
    if type(value) is str and _UTC_MICROS.fullmatch(value):  # the common form: read as the general way reads it
        try:
            return datetime.fromisoformat(value[:26])
        except ValueError:
            pass  # out of range: the general way says why
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
        if not hours and not minutes:  # UTC already
            return moment
        offset = timedelta(hours=hours, minutes=minutes)
        try:
            moment = (moment.replace(tzinfo=timezone(sign * offset))).astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise InvalidEvent(f"eventTime {value[:60]!r} is out of range in UTC") from None
    return moment


class NestedTooDeeply(ValueError):
    """A JSON value nested deeper than ``MAX_DEPTH``."""


def canonical_json(payload: Any) -> str:
    """The one serialisation that is hashed and stored: sorted keys, no whitespace, unicode kept, integers exact.

    Raises ValueError for NaN or infinity, which JSON cannot hold, and NestedTooDeeply beyond ``MAX_DEPTH``.
    """
    text = _serialised(payload)
    return text if isinstance(text, str) else text.decode()


def _serialised(payload: Any) -> bytes | str:
    """:func:`canonical_json`'s text: orjson's UTF-8 bytes, or the standard library's string (its slow path)."""
    try:
        text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError as error:  # integers beyond 64 bits, non-string keys, lone surrogates: the standard library's way
        if str(error) == "Recursion limit reached" or _deeper_than(payload, MAX_DEPTH):
            raise NestedTooDeeply(f"the event is nested too deeply (more than {MAX_DEPTH} levels)") from None
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if b"null" in text and (b":null" in text or b"[null" in text or b",null" in text) and _has_non_finite(payload):
        raise ValueError("Out of range float values are not JSON compliant")  # orjson writes NaN as null
    return text


def _deeper_than(value: Any, limit: int) -> bool:
    """True when objects and lists nest more than ``limit`` levels deep (without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list | tuple):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _has_non_finite(value: Any) -> bool:
    """True when a float in ``value`` is NaN or infinite (orjson writes them as null), looked for without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def event_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON: the same event sent twice has the same hash."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def cleaned(payload: Any) -> tuple[Any, bytes | None]:
    """``facets.without_nulls(payload)`` and, when that would leave it as it is (no null anywhere, no empty object
    in a list: an event built here, mostly), ``payload`` itself with its canonical JSON, made once for
    :func:`check`. The canonical text of an event without nulls is orjson's with sorted keys (``_serialised``)."""
    try:
        text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, non-string keys, nested too deeply: the general way
        text = None
    if text is None or b"null" in text or b"[{}" in text or b",{}" in text:  # (possibly only inside a string)
        return without_nulls(payload), None
    return payload, text


def kind_of(payload: dict[str, Any]) -> str:
    """RunEvent, JobEvent or DatasetEvent, told apart by their content as the spec does."""
    if "run" in payload:
        return RUN
    if "job" in payload:
        return JOB
    if "dataset" in payload:
        return DATASET
    raise InvalidEvent("not an OpenLineage event: it has no run, job or dataset")


def check(payload: Any, canonical: bytes | None = None) -> Event:
    """Check one decoded event and return it, credentials removed, with its kind, time and hash.

    ``canonical`` is the payload's canonical JSON when the caller made it already (:func:`cleaned`), so it is not
    made again. Raises InvalidEvent, naming the field, for anything the store cannot take.
    """
    if not isinstance(payload, dict):
        raise InvalidEvent(f"an event is a JSON object, not {type(payload).__name__}")
    kind = kind_of(payload)
    # Serialised first (the structural checks below still come first in what is reported): the text tells whether
    # any string holds a NUL, so the NUL checks (and the walk over the datasets that facets name) are only needed
    # when one does.
    try:
        raw: bytes | str | None = _serialised(payload) if canonical is None else canonical
        failure: BaseException | None = None
    except Exception as error:  # reported below, after the structural checks
        raw, failure = None, error
    nul = raw is None or (
        b"\\" in raw and b"\\u0000" in raw  # a byte looked for first: at memchr's speed
        if isinstance(raw, bytes)
        else "\\u0000" in raw
    )
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
        _facets(run, "run", nul)
        _parent(run)
        _optional_str(payload, "eventType")
        if nul:
            _no_nul(payload.get("eventType"), "eventType")
    if kind in (RUN, JOB):
        job = _object(payload, "job")
        _named(job, "job", nul)
        _lineage(job)
        if nul:
            _references(job.get("facets"), "job.facets")
        for direction in ("inputs", "outputs"):
            datasets = payload.get(direction)
            if datasets is None:
                continue
            if not isinstance(datasets, list):
                raise InvalidEvent(f"{direction} must be a list")
            for index, dataset in enumerate(datasets):
                if not isinstance(dataset, dict):
                    raise InvalidEvent(f"{direction}[{index}] must be an object")
                if not nul and _plain_entry(dataset):
                    continue
                where = f"{direction}[{index}]"
                _named(dataset, where, nul)
                _facets(dataset, where, nul, _IO_FACETS)
                _version(dataset, where, nul)
                if nul:
                    _references(dataset.get("facets"), f"{where}.facets")
    if kind == DATASET:
        dataset = _object(payload, "dataset")
        _named(dataset, "dataset", nul)
        _version(dataset, "dataset", nul)
        if nul:
            _references(dataset.get("facets"), "dataset.facets")
    try:
        if failure is not None:
            raise failure
        text = raw if isinstance(raw, str) else raw.decode()  # type: ignore[union-attr]
        if json_may_hold_secrets(text):
            payload = redact(payload)
            text = canonical_json(payload)
            raw = text
        digest = hashlib.sha256(raw if isinstance(raw, bytes) else text.encode()).hexdigest()
    except NestedTooDeeply as error:
        raise InvalidEvent(str(error)) from None
    except TypeError as error:  # only from callers handing over Python objects: keys that are not strings
        raise InvalidEvent(f"not valid JSON: {error}") from None
    except ValueError as error:  # NaN or infinity (json.loads takes them), a lone surrogate ("\ud800"), a huge int
        try:
            reason = _not_json(payload, "")
        except RecursionError:
            reason = None
        raise InvalidEvent(reason or f"not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidEvent("not valid JSON: the event is nested too deeply") from None
    return Event(payload=payload, kind=kind, time=time, hash=digest, text=text)


def _not_json(value: Any, where: str) -> str | None:
    """Why the value at ``where`` cannot be JSON (NaN, infinity, lone surrogate, huge integer), or None."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_DIGITS * 3:
        return f"{where or 'the event'} is an integer of more than {MAX_DIGITS} digits"
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


def _named(entity: dict[str, Any], where: str, nul: bool = True) -> None:
    namespace, name = entity.get("namespace"), entity.get("name")
    if nul or type(namespace) is not str or type(name) is not str or not namespace or not name:
        for key in ("namespace", "name"):
            value = entity.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidEvent(f"{where}.{key} must be a non-empty string")
            if "\x00" in value:
                _no_nul(value, f"{where}.{key}")
    characters = len(entity["namespace"]) + len(entity["name"])
    size = characters if characters * 4 <= MAX_NAME_BYTES else _size(entity["namespace"]) + _size(entity["name"])
    if size > MAX_NAME_BYTES:
        raise InvalidEvent(f"{where}: namespace and name take {size} bytes; the store takes up to {MAX_NAME_BYTES}")
    _facets(entity, where, nul)


def _plain_entry(dataset: dict[str, Any]) -> bool:
    """True when a dataset entry of an event holding no NUL passes ``_named``, ``_facets`` and ``_version`` for
    sure (the common case, checked inline); False leaves it to them, which say what is wrong."""
    namespace, name, facets = dataset.get("namespace"), dataset.get("name"), dataset.get("facets")
    if not (type(namespace) is str and type(name) is str and namespace and name):
        return False
    if (len(namespace) + len(name)) * 4 > MAX_NAME_BYTES:
        return False
    if not (_plain_facets(facets) and _plain_facets(dataset.get("inputFacets"))):
        return False
    if not _plain_facets(dataset.get("outputFacets")):
        return False
    facet = facets.get("version") if facets else None
    version = facet.get("datasetVersion") if facet else None
    return version is None or (type(version) is str and len(version) * 4 <= MAX_VERSION_BYTES)


def _plain_facets(facets: Any) -> bool:
    """True for facets ``_facets`` takes for sure in an event holding no NUL: none, or an object whose names are
    strings of at most 250 characters (so at most 1,000 bytes) and whose facets are objects or null."""
    return facets is None or (
        type(facets) is dict
        and (
            not facets
            or (
                _STR.issuperset(map(type, facets))
                and max(map(len, facets)) * 4 <= MAX_FACET_NAME_BYTES
                and _FACET_TYPES.issuperset(map(type, facets.values()))
            )
        )
    )


def _facets(entity: dict[str, Any], where: str, nul: bool = True, keys: tuple[str, ...] = ("facets",)) -> None:
    for key in keys:
        facets = entity.get(key)
        if facets is None:
            continue
        if not isinstance(facets, dict):
            raise InvalidEvent(f"{where}.{key} must be an object")
        if not nul and _plain_facets(facets):  # no NUL anywhere (the event's text says so): at C speed
            continue
        for name, facet in facets.items():  # a name of at most 250 characters is at most 1,000 bytes: not encoded
            long = not isinstance(name, str) or (
                len(name) * 4 > MAX_FACET_NAME_BYTES and _size(name) > MAX_FACET_NAME_BYTES
            )
            if long:
                raise InvalidEvent(
                    f"{where}.{key}: the facet name {_shown(name)} is longer than {MAX_FACET_NAME_BYTES} bytes"
                )
            if "\x00" in name:
                _no_nul(name, f"the facet name {where}.{key}.{_shown(name)}")
            if facet is not None and not isinstance(facet, dict):
                raise InvalidEvent(f"{where}.{key}.{name} must be an object")


def _parent(run: dict[str, Any]) -> None:
    """The parent run the graph links to: ``run`` an object whose ``runId`` is a UUID, when there is one."""
    parent = (run.get("facets") or {}).get("parent")
    if parent is None or parent.get("run") is None:
        return
    if not isinstance(parent["run"], dict):
        raise InvalidEvent("run.facets.parent.run must be an object")
    run_id = parent["run"].get("runId")
    if run_id is not None and not (isinstance(run_id, str) and _UUID.match(run_id)):
        raise InvalidEvent(f"run.facets.parent.run.runId {_shown(run_id)} is not a UUID")


def _lineage(job: dict[str, Any]) -> None:
    """The entries of a job's ``lineage`` facet, which the graph follows, are a list."""
    lineage = (job.get("facets") or {}).get("lineage")
    if lineage is not None and lineage.get("entries") is not None and not isinstance(lineage["entries"], list):
        raise InvalidEvent("job.facets.lineage.entries must be a list")


def _version(dataset: dict[str, Any], where: str, nul: bool = True) -> None:
    """A dataset's ``version`` facet names the version the graph keys it by: a short string (or a number)."""
    facet = (dataset.get("facets") or {}).get("version")
    version = facet.get("datasetVersion") if facet else None
    if version is None:
        return
    if isinstance(version, dict | list):
        raise InvalidEvent(f"{where}.facets.version.datasetVersion must be a string")
    text = str(version)
    if nul:
        _no_nul(text, f"{where}.facets.version.datasetVersion")
    if len(text) * 4 > MAX_VERSION_BYTES and _size(text) > MAX_VERSION_BYTES:
        raise InvalidEvent(
            f"{where}.facets.version.datasetVersion takes {_size(text)} bytes; the store takes up to "
            f"{MAX_VERSION_BYTES}"
        )


def _references(facets: Any, where: str) -> None:
    """The datasets that ``columnLineage`` and ``lineage`` facets name as sources become nodes of the graph: their
    namespaces and names must hold no NUL either."""
    if not isinstance(facets, dict):
        return
    for name in ("columnLineage", "lineage"):
        stack = [facets.get(name)]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                for key in ("namespace", "name"):
                    _no_nul(value.get(key), f"a dataset {where}.{name} names: its {key}")
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)


def _no_nul(value: Any, where: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise InvalidEvent(f"{where} holds a NUL character, which the store cannot keep")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _shown(value: Any) -> str:
    """A short rendering of a value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
