"""A MariaDB server for the tests that need MySQL (pymysql): started on a free port in a temporary folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class mariadb_server:
    """``mariadbd`` on 127.0.0.1 and a free port, user root without password, until the context ends."""

    def __enter__(self) -> tuple[str, int]:
        server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        install = shutil.which("mariadb-install-db")
        if install is None or not Path(server).exists():
            raise RuntimeError("MariaDB is not installed (apt-get install mariadb-server; .ci/run does it)")
        self.folder = Path(tempfile.mkdtemp(prefix="nbl-mariadb-"))
        data = self.folder / "data"
        subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db",
             "--auth-root-authentication-method=normal"],
            check=True, capture_output=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        self.port = _free_port()
        self.process = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", "--user=root", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.folder / 'sock'}", f"--pid-file={self.folder / 'pid'}",
             f"--log-error={self.folder / 'error.log'}", "--skip-log-bin"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return "127.0.0.1", self.port
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"MariaDB did not start; see {self.folder / 'error.log'}")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def fresh_database(host: str, port: int) -> str:
    """A new empty database on the server; its name."""
    import pymysql

    name = f"nbl_test_{uuid.uuid4().hex[:12]}"
    with pymysql.connect(host=host, port=port, user="root") as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    return name
