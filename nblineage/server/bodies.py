"""Request bodies of the OpenLineage endpoint read safely: size bounded (raw and after gzip), JSON decoded with a
clear reason. No Tornado here: the handlers turn :class:`BodyError` into the status it carries."""

from __future__ import annotations

import json
import os
import re
import zlib
from typing import Any

import orjson

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # one request's body, as sent and once decompressed
# orjson reads integers beyond 64 bits as floats: a body with a number token of 19 digits or more (a digit run right
# after ``:``, ``[`` or ``,``, whitespace and a minus sign between them allowed) takes the exact way. Digits inside
# strings (versions, hashes) do not count, so batches keep the fast parser. The runs of 19 digits or more are found
# at memory speed (every digit made "0", then substring searches) and only the bytes before each are looked at:
# a regular expression over the whole body took about 30 % of parsing it.
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19
_NOT_A_DIGIT = re.compile(rb"[^0]")
_LONG_NUMBER = re.compile(rb"[:\[,]\s*-?[0-9]{19}")
_OPENERS = frozenset(b":[,")
_WHITESPACE = frozenset(b" \t\n\r\f\v")  # what ``\s`` matches in a bytes pattern
_MINUS = ord("-")
_ZERO = ord("0")


class BodyError(ValueError):
    """A body the endpoint refuses: ``status`` 400 (not JSON, bad encoding), 413 (too large) or 415."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def max_bytes() -> int:
    """The largest body accepted: ``NBLINEAGE_MAX_REQUEST_BYTES``, default 64 MiB."""
    raw = os.environ.get("NBLINEAGE_MAX_REQUEST_BYTES", "").strip()
    try:
        return max(1, int(raw)) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def too_large(limit: int, what: str = "the request body") -> BodyError:
    return BodyError(
        413,
        f"{what} is larger than {limit} bytes (NBLINEAGE_MAX_REQUEST_BYTES): send fewer events per request",
    )


def decoded(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body's bytes after its ``Content-Encoding`` (identity or gzip), at most ``limit`` of them."""
    if len(body) > limit:
        raise too_large(limit)
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "x-gzip"):
        raise BodyError(415, f"Content-Encoding {coding[:40]!r} is not supported: send identity or gzip")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
        if len(data) > limit or inflater.unconsumed_tail:
            raise too_large(limit, "the decompressed request body")
        data += inflater.flush()
    except zlib.error as error:
        raise BodyError(400, f"the body is not valid gzip ({error})") from None
    if not inflater.eof:
        raise BodyError(400, "the gzip body is truncated")
    if len(data) > limit:
        raise too_large(limit, "the decompressed request body")
    return data


def has_long_number(data: bytes) -> bool:
    """True when ``data`` may hold a JSON number of 19 digits or more, which orjson would not read exactly."""
    zeros = data.translate(_DIGITS_AS_ZEROS)
    at = zeros.find(_NINETEEN_DIGITS)
    for _ in range(1000):  # digit runs looked at one by one; a body with more takes the regular expression
        if at == -1:
            return False
        before = at - 1
        while before >= 0 and zeros[before] == _ZERO:  # the run's first digit (a number starts there)
            before -= 1
        if before >= 0 and data[before] == _MINUS:
            before -= 1
        stop = before - 64
        while before >= 0 and data[before] in _WHITESPACE:
            before -= 1
            if before < stop:  # much whitespace before it: the whole body's way, linear at C speed
                return _LONG_NUMBER.search(data) is not None
        if before >= 0 and data[before] in _OPENERS:
            return True
        after = _NOT_A_DIGIT.search(zeros, at + 19)  # past this run, at C speed however long it is
        if after is None:
            return False
        at = zeros.find(_NINETEEN_DIGITS, after.start())
    return _LONG_NUMBER.search(data) is not None


def parse_json(data: bytes) -> Any:
    """The JSON value of a body; BodyError(400) naming where it is malformed."""
    if not data.strip():
        raise BodyError(400, "the request body is empty: send an OpenLineage event as JSON")
    try:
        return json.loads(data) if has_long_number(data) else orjson.loads(data)
    except UnicodeDecodeError as error:
        raise BodyError(400, f"the body is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except (ValueError, RecursionError) as error:  # orjson.JSONDecodeError and json's are ValueErrors
        raise BodyError(400, f"malformed JSON: {str(error).splitlines()[0][:200]}") from None
