"""A real kernel driven message by message (jupyter_client), for what nbclient cannot send: a front end's ``cellId``,
``store_history=False``, pauses between cells."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from notebooks import start_kernel

HIDDEN = ("NBLINEAGE_NOTEBOOK", "JPY_SESSION_NAME")  # what would name the notebook for the kernel


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what names a notebook, plus ``extra``."""
    return {key: value for key, value in os.environ.items() if key not in HIDDEN} | extra


class Kernel:
    """A kernel started in ``cwd`` with exactly ``env``; ``run`` executes one cell and returns its output."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.manager, self.client = start_kernel(env, cwd)

    def run(self, code: str, store_history: bool = True, cell_id: str | None = None) -> dict[str, Any]:
        """Execute ``code`` like a front end (with ``cellId`` in the metadata when given); the reply's status and
        the cell's stdout and stderr."""
        content = {
            "code": code,
            "silent": False,
            "store_history": store_history,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        message = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
        self.client.shell_channel.send(message)
        output = {"stdout": "", "stderr": "", "error": None}
        while True:
            msg = self.client.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != message["header"]["msg_id"]:
                continue
            kind, body = msg["msg_type"], msg["content"]
            if kind == "stream":
                output[body["name"]] += body["text"]
            elif kind == "error":
                output["error"] = f"{body['ename']}: {body['evalue']}"
            elif kind == "status" and body["execution_state"] == "idle":
                break
        while True:
            reply = self.client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == message["header"]["msg_id"]:
                return output | {"status": reply["content"]["status"]}

    def evaluate(self, expression: str) -> str:
        """The repr of ``expression`` evaluated in the kernel without running a cell (no cell events, no count)."""
        content = {"code": "", "silent": True, "user_expressions": {"x": expression}}
        message = self.client.session.msg("execute_request", content)
        self.client.shell_channel.send(message)
        while True:
            reply = self.client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == message["header"]["msg_id"]:
                value = reply["content"]["user_expressions"]["x"]
                assert value["status"] == "ok", value
                return value["data"]["text/plain"]

    def wait_for(self, expression: str, timeout: float = 60) -> None:
        """Wait, without running cells, until ``expression`` is true in the kernel."""
        deadline = time.monotonic() + timeout
        while self.evaluate(f"bool({expression})") != "True":
            assert time.monotonic() < deadline, f"{expression} stayed false"
            time.sleep(0.3)

    def close(self) -> None:
        """Shut the kernel down the way a front end does (so the extension flushes at exit)."""
        self.client.stop_channels()
        self.manager.shutdown_kernel()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
