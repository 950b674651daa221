"""A real ``jupyter server`` in a subprocess, for clients that are not the test's own event loop (openlineage-python,
kernels): started on a fixed port with a known token, stopped and started again on the same port."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterServer:
    """``jupyter server`` with the nblineage extension, its store ``store_url``, under ``base_url``."""

    def __init__(self, store_url: str, root: Path, base_url: str = "/", port: int | None = None) -> None:
        self.store_url = store_url
        self.root = root
        self.base_path = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
        self.port = port or free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None
        self.log = root / "server.log"

    @property
    def url(self) -> str:
        """The server's base URL, ending with a slash (what an OpenLineage client's ``url`` is)."""
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def start(self, timeout: float = 60.0) -> JupyterServer:
        env = {**os.environ, "NBLINEAGE_URL": self.store_url}
        command = [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            "--no-browser",
            "--allow-root",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_path}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.jpserver_extensions=nblineage=True",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {self.log.read_text()[-3000:]}")
            try:
                request = urllib.request.Request(
                    self.url + "nblineage/api/status", headers={"Authorization": f"token {self.token}"}
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyter server did not answer in {timeout} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
