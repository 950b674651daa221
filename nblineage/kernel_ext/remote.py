"""A Jupyter server's OpenLineage endpoint in place of a store: what a kernel of a JupyterHub or of a remote
machine delivers to (``NBLINEAGE_URL=http(s)://HOST:PORT/BASE_URL/``, the token in ``NBLINEAGE_TOKEN`` or the
hub's ``JUPYTERHUB_API_TOKEN``).

It answers the writer and :mod:`.delivery` as a store does (``append``, ``close``, ``identity``, ``probe``), with
plain urllib and the batch endpoint (``POST api/v1/lineage/batch``): no heavy import in the kernel. The server
stores each event once (by its hash), so a batch sent again after a lost answer changes nothing. A server that
cannot be reached, or that refuses the token, raises :class:`~.delivery.Unreachable` (the outbox keeps
everything); an event it refuses raises :class:`Refused`, which delivery sets aside.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from nblineage import config
from nblineage.kernel_ext.delivery import Unreachable
from nblineage.lineage.urls import shown_url

BATCH_EVENTS = 1000
BATCH_BYTES = 8 * 1024 * 1024
GZIP_FROM = 64 * 1024  # bodies larger than this are sent gzip-compressed
ENDPOINT = "api/v1/lineage/batch"


class Refused(ValueError):
    """The Jupyter server refused events of a batch (invalid, or too large on their own): the first one's reason
    (delivery sets each aside as "the store refused it: Refused: REASON")."""


@dataclass(frozen=True)
class Delivered:
    """How many events the server stored, and how many it had already."""

    stored: int
    duplicates: int


class RemoteStore:
    """The OpenLineage endpoint of the Jupyter server at ``url``, as the writer's store."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0) -> None:
        base = url.strip()
        self.url = base if base.endswith("/") else base + "/"
        self.endpoint = self.url + ENDPOINT
        self._token = token if token is not None else config.server_token(self.url)
        self.timeout = timeout

    @property
    def display_url(self) -> str:
        return shown_url(self.url)

    @property
    def identity(self) -> str:
        """What marks this kernel's outbox folder: the server's URL, hashed."""
        return "server-" + hashlib.sha256(self.url.encode()).hexdigest()[:16]

    def close(self) -> None:
        """Nothing to close: each request is its own connection."""

    def append(self, events: Iterable[Any]) -> Delivered:
        """Send checked events (``Event``: their canonical ``text``) in batches; Refused when the server refused
        any (the others are stored), Unreachable when it cannot be reached or refuses the token."""
        stored = duplicates = 0
        refused: list[str] = []
        for chunk in _chunks(event.text.encode() for event in events):
            done = self._send(chunk, refused)
            stored, duplicates = stored + done.stored, duplicates + done.duplicates
        if refused:
            more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
            raise Refused(f"{refused[0]}{more}")
        return Delivered(stored, duplicates)

    def probe(self) -> None:
        """Raise Unreachable unless the server answers an (empty) authenticated batch."""
        self._post(b"[]")

    def _send(self, chunk: list[bytes], refused: list[str]) -> Delivered:
        status, answer = self._post(b"[" + b",".join(chunk) + b"]")
        if status == 413 and len(chunk) > 1:  # the server takes less per request than this: halve the batch
            half = len(chunk) // 2
            first, second = self._send(chunk[:half], refused), self._send(chunk[half:], refused)
            return Delivered(first.stored + second.stored, first.duplicates + second.duplicates)
        if status in (200, 201, 422) and isinstance(answer, dict) and "received" in answer:
            refused.extend(str(error.get("message")) for error in answer.get("errors") or [])
            if answer.get("failed") and not answer.get("errors"):
                refused.append("no reason given")
            return Delivered(int(answer.get("stored") or 0), int(answer.get("duplicates") or 0))
        refused.append(f"HTTP {status}: {_message(answer)}")
        return Delivered(0, 0)

    def _post(self, body: bytes) -> tuple[int, Any]:
        """(status, decoded answer) for statuses that judge the events; Unreachable for the others."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"token {self._token}"
        if len(body) > GZIP_FROM:
            body = gzip.compress(body, compresslevel=3)
            headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status, answer = response.status, _decoded(response.read())
        except urllib.error.HTTPError as error:
            status, answer = error.code, _decoded(error.read())
        except (OSError, http.client.HTTPException) as error:  # URLError and time-outs are OSErrors
            why = getattr(error, "reason", None) or error
            raise Unreachable(f"the Jupyter server {self.display_url} cannot be reached: {why}") from None
        ours = isinstance(answer, dict) and ("received" in answer or "message" in answer)  # not a proxy's page
        if ours and (status in (200, 201, 400, 413, 415, 422)):
            return status, answer
        if 300 <= status < 400:
            raise Unreachable(
                f"the Jupyter server {self.display_url} redirects (HTTP {status}; not followed, so the token stays "
                "there): is it running, and is the URL its base URL?"
            )
        if status in (401, 403):
            hint = "set NBLINEAGE_TOKEN to a token of that server" if not self._token else "check NBLINEAGE_TOKEN"
            raise Unreachable(f"the Jupyter server {self.display_url} refused the token (HTTP {status}): {hint}")
        if status == 404:
            raise Unreachable(
                f"the Jupyter server {self.display_url} has no OpenLineage endpoint (HTTP 404): is nblineage "
                "installed there, and is the URL the server's base URL?"
            )
        raise Unreachable(f"the Jupyter server {self.display_url} answered HTTP {status}: {_message(answer)}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answers, not followed: a POST never goes, with its token, where it was not sent."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _chunks(texts: Iterator[bytes]) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    size = 0
    for text in texts:
        if chunk and (len(chunk) >= BATCH_EVENTS or size + len(text) > BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        yield chunk


def _decoded(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data[:200].decode(errors="replace")


def _message(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer)[:300]
    return str(answer)[:300]
