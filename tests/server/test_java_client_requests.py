"""The OpenLineage Java client's requests (what Spark's integration sends) from a real JVM, emulated.

openlineage-java itself cannot be used here: its jar comes from Maven, which this environment cannot reach. So
``java/JavaClientRequests.java`` (run by ``java`` in source-launch mode, no build tool) sends each event as that
client's ``HttpTransport`` does, with the JDK's HTTP client: its endpoint rule, headers (``Authorization: Bearer``
with the api key, ``Content-Type`` and ``Accept`` JSON, ``Content-Encoding: gzip``) and body encodings (the JSON
with a length; gzip, chunked). First the request is captured off a raw socket and compared with that; then the
spec's sample events go to a real ``jupyter server`` plainly and gzip-compressed: every answer is 201 and every event
is in the store, once. This is an emulation of the client's requests, not the client.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import JupyterServer
from test_spec_samples import ALL

from nblineage.lineage.events import check
from nblineage.lineage.store import Store

JAVA = shutil.which("java")
PROGRAM = Path(__file__).with_name("java") / "JavaClientRequests.java"
JSON = "application/json; charset=UTF-8"

pytestmark = pytest.mark.skipif(JAVA is None, reason="needs a Java 11+ runtime (java on PATH)")


def send(url: str, api_key: str, compression: str, events: list[dict[str, Any]], folder: Path) -> tuple[int, str]:
    """Run the Java program: each event (as the client's Jackson writes it: compact JSON, UTF-8) one POST; its exit
    status and output (a status and body per line)."""
    lines = folder / f"events-{uuid.uuid4().hex}.jsonl"
    lines.write_text(
        "".join(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n" for event in events), "utf-8"
    )
    done = subprocess.run(
        [JAVA, str(PROGRAM), url, api_key, compression, str(lines)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert "Exception" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def stored_hashes(store_url: str) -> set[str]:
    with Store(store_url) as store, store.read() as conn:
        return {row[0] for row in conn.exec_driver_sql("SELECT hash FROM events")}


class Capture:
    """A bare HTTP/1.1 listener: keeps the first request it receives (line, headers, raw body) and answers 201."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.request: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, body = data.split(b"\r\n\r\n", 1)
            line, *fields = head.decode("latin-1").split("\r\n")
            headers = [tuple(part.strip() for part in field.split(":", 1)) for field in fields]
            names = {name.lower(): value for name, value in headers}
            if "content-length" in names:
                while len(body) < int(names["content-length"]):
                    body += conn.recv(65536)
            else:
                while not body.endswith(b"0\r\n\r\n"):
                    body += conn.recv(65536)
            self.request = {"line": line, "headers": headers, "raw_body": body}
            answer = b'{"status":"stored"}'
            conn.sendall(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer
            )

    def close(self) -> None:
        self.thread.join(timeout=60)
        self.sock.close()


def unchunked(body: bytes) -> bytes:
    """The data of a chunked body; fails unless it is well formed."""
    data, rest = b"", body
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert rest == b"\r\n"
            return data
        data += rest[:size]
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_request_is_the_java_clients(compression: str, tmp_path: Path) -> None:
    """Captured off the socket: POST /api/v1/lineage (the client's path for a URL without one), the Bearer api key,
    JSON content type, and the body: the event's JSON with a length, or gzip sent chunked."""
    event = ALL[0][2]
    capture = Capture()
    try:
        status, output = send(capture.url, "the-api-key", compression, [event], tmp_path)
    finally:
        capture.close()
    assert status == 0 and output.startswith("201\t"), output
    request = capture.request
    assert request["line"] == "POST /api/v1/lineage HTTP/1.1"
    headers = {name.lower(): value for name, value in request["headers"]}
    assert len(headers) == len(request["headers"]), "no header is sent twice"
    assert headers["authorization"] == "Bearer the-api-key"
    assert headers["content-type"] == JSON and headers["accept"] == JSON
    assert headers["user-agent"].startswith("Apache-HttpClient/5.")
    sent = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    if compression == "gzip":
        assert headers["content-encoding"] == "gzip"
        assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
        assert gzip.decompress(unchunked(request["raw_body"])) == sent
    else:
        assert "content-encoding" not in headers and "transfer-encoding" not in headers
        assert int(headers["content-length"]) == len(sent) and request["raw_body"] == sent


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[JupyterServer]:
    """A Jupyter server at the root of its host, as Spark's ``transport.url`` usually names one."""
    with JupyterServer(store_url, tmp_path) as running:
        yield running


def test_every_sample_is_stored_once_plain_or_gzip(server: JupyterServer, store_url: str, tmp_path: Path) -> None:
    """``url`` = ``http://host:port`` (the client adds /api/v1/lineage) and ``apiKey`` = the Jupyter token: each
    sample is answered 201 and stored; sent again gzip-compressed, nothing new is stored; new events sent gzipped
    are stored too."""
    events = [payload for _, _, payload in ALL]
    url = server.url.rstrip("/")
    status, output = send(url, server.token, "none", events, tmp_path)
    assert status == 0, output
    assert [line.split("\t")[0] for line in output.splitlines()] == ["201"] * len(events)
    distinct = {check(json.loads(json.dumps(payload))).hash for payload in events}
    assert stored_hashes(store_url) == distinct and len(distinct) >= 40
    status, output = send(url, server.token, "gzip", events, tmp_path)
    assert status == 0 and output.count("201\t") == len(events), output
    assert stored_hashes(store_url) == distinct
    runs = [payload for payload in events if "run" in payload][:10]
    renewed = [dict(payload, run={**payload["run"], "runId": str(uuid.uuid4())}) for payload in runs]
    status, output = send(url, server.token, "gzip", renewed, tmp_path)
    assert status == 0, output
    assert stored_hashes(store_url) == distinct | {check(json.loads(json.dumps(event))).hash for event in renewed}


def test_a_wrong_api_key_is_an_error_for_the_client(server: JupyterServer, store_url: str, tmp_path: Path) -> None:
    """The server refuses the request (401/403), which the client treats as an error: nothing is stored."""
    status, output = send(server.url.rstrip("/"), "not-the-token", "gzip", [ALL[0][2]], tmp_path)
    assert status == 1 and output.split("\t")[0] in ("401", "403"), output
    assert stored_hashes(store_url) == set()


def test_under_a_base_url_the_url_names_the_endpoint(store_url: str, tmp_path: Path) -> None:
    """Under JupyterHub (``/user/NAME/``) the client's ``url`` must name the whole endpoint: a URL with a path is
    used as it is."""
    with JupyterServer(store_url, tmp_path, base_url="/user/someone/") as running:
        status, output = send(running.url + "api/v1/lineage", running.token, "gzip", [ALL[0][2]], tmp_path)
    assert status == 0 and output.startswith("201\t"), output
    assert len(stored_hashes(store_url)) == 1
