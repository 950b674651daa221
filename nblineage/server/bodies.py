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
# orjson reads integers beyond 64 bits as floats: a body with a number token of 19 digits or more (a digit run after
# ``:``, ``[`` or ``,``; rarely one inside a string) takes the exact way. Digits inside strings (versions, hashes)
# do not match, so batches keep the fast parser.
_LONG_NUMBER = re.compile(rb"[:\[,]\s*-?[0-9]{19}")
# The regular expression scans a body at a few dozen MB/s; a run of 19 digits anywhere, which it needs, is looked for
# first at memory speed (every digit made "0", then one substring search).
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


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
    return _NINETEEN_DIGITS in data.translate(_DIGITS_AS_ZEROS) and _LONG_NUMBER.search(data) is not None


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
