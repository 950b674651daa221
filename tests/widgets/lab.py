"""A real JupyterLab server and headless Chromium for the browser tests."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".ci" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
START_TIMEOUT = 120
LOG_TAIL = 120  # lines of the server's log a failure prints (a kernel that died says why there)
PORT_ATTEMPTS = 3  # a free port found may be taken by another program before JupyterLab binds it


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def open_url(self, path: str) -> str:
        return f"{self.url}{path}?token={self.token}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, env: dict[str, str], theme: str | None = None, args: tuple[str, ...] = ()) -> Iterator[Lab]:
    """JupyterLab serving ``root`` on a random port with a random token, stopped afterwards; ``theme`` names a
    JupyterLab theme to start in ("JupyterLab Dark"), ``args`` are more command-line options."""
    token = secrets.token_hex(16)
    settings = root / ".lab-settings"  # the user's JupyterLab settings stay out; no news pop-up over the notebook
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')
    # the notebook's own kernel started without asking (under load JupyterLab asked again and again, each answer
    # starting a new kernel and shutting down the one the cells had gone to)
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"autoStartDefaultKernel": true}')
    if theme:
        themes = settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        themes.write_text(json.dumps({"theme": theme}))
    # kernels talk over Unix sockets, in a short runtime folder (a socket's path has at most 107 bytes): no kernel
    # port for a test running beside this one to take first ("Address already in use")
    runtime = tempfile.mkdtemp(prefix="nbl-runtime-")
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(settings),
        "JUPYTER_RUNTIME_DIR": runtime,
        **env,
    }
    log = (root / "jupyterlab.log").open("w")
    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1"]
        command += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
        command += ["--ServerApp.open_browser=False", "--ServerApp.port_retries=0", "--KernelManager.transport=ipc"]
        command += args
        if hasattr(os, "getuid") and os.getuid() == 0:
            command.append("--allow-root")
        log.flush()
        since = log.tell()
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        lab = Lab(f"http://127.0.0.1:{port}", token, root)
        try:
            if _wait_ready(lab, server, since, last=attempt == PORT_ATTEMPTS - 1):
                break
        except BaseException:
            _stop(server)
            log.close()
            shutil.rmtree(runtime, ignore_errors=True)
            raise
    try:
        yield lab
    except BaseException:
        log.flush()
        sys.stderr.write(f"--- JupyterLab's log (kernels' output included), last {LOG_TAIL} lines ---\n")
        sys.stderr.write("\n".join((root / "jupyterlab.log").read_text(errors="replace").splitlines()[-LOG_TAIL:]))
        raise
    finally:
        _stop(server)
        log.close()
        shutil.rmtree(runtime, ignore_errors=True)


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()


def _wait_ready(lab: Lab, server: subprocess.Popen, since: int, last: bool) -> bool:
    """True once the server answers; False when it exited because its port was taken (and this is not the ``last``
    attempt); an error otherwise. Anything that is not JupyterLab answering on the port is waited through."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            text = (lab.root / "jupyterlab.log").read_text()[since:]
            if "already in use" in text and not last:
                return False
            raise RuntimeError(f"JupyterLab exited: {text}")
        try:
            with urllib.request.urlopen(lab.open_url("/api/status"), timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (OSError, http.client.HTTPException):  # not up yet, or another program on the port
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not start: {(lab.root / 'jupyterlab.log').read_text()}")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Keep a screenshot as a CI artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def screenshot_on_failure(page: Any, name: str) -> Iterator[None]:
    """Keep a screenshot of what the page showed when the block failed."""
    try:
        yield
    except Exception:
        screenshot(page, name)
        raise


def open_sidebar(page: Any, timeout: float) -> Any:
    """Open the lineage sidebar with its shortcut (Alt+Shift+L), as a user would: once nblineage's plugin is active
    (its panel is in the page, so its key binding is too), and again if the key went unheard; the panel. (The
    command waits for JupyterLab's layout restore, which would otherwise put the left area back as it was saved.)"""
    from playwright.sync_api import TimeoutError as NotYet

    panel = page.locator("#nblineage-sidebar")
    panel.wait_for(state="attached", timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    while True:
        page.keyboard.press("Alt+Shift+L")
        try:
            panel.wait_for(state="visible", timeout=5_000)
            return panel
        except NotYet:
            if time.monotonic() > deadline:
                raise


def run_all_cells(page: Any, until: str, timeout: float, quiet: float = 15_000) -> None:
    """Run every cell of the open notebook from the Run menu until ``until`` (a selector) shows. While its kernel
    session starts, JupyterLab may ask for the kernel (the proposed one is chosen) or start two kernels and shut one
    down, dropping the cells sent to it: the cells are run again once none is running or waiting (``[*]``) for
    ``quiet`` ms and ``until`` has not shown."""
    dialog = page.locator(".jp-Dialog")
    choose = dialog.get_by_role("button", name="Select")
    done = page.locator(until)
    prompts = page.locator(".jp-Notebook .jp-InputPrompt")
    started = prompts.filter(has_text=re.compile(r"\[(\*|\d+)\]"))
    pending = prompts.filter(has_text="[*]")
    deadline = time.monotonic() + timeout / 1000
    requested, requests, answered, busy = None, 0, [], time.monotonic()
    while time.monotonic() < deadline:
        if done.first.is_visible():
            return
        if pending.count():
            busy = time.monotonic()
        if dialog.first.is_visible():
            answered.append(_dialog_text(dialog))
            # Once cells have started, their kernel runs them: a new one chosen now would leave them unfinished
            _answer_dialog(page, dialog, choose if started.count() == 0 else None)
        elif requested is None or time.monotonic() - max(requested, busy) > quiet / 1000:
            page.get_by_role("menuitem", name="Run").click()
            page.locator("li[data-command='runmenu:run-all']").click()
            requested, requests = time.monotonic(), requests + 1
        page.wait_for_timeout(250)
    raise AssertionError(
        f"running the notebook's cells did not show {until} in {timeout / 1000:.0f} s "
        f"(Run All asked {requests} times, {started.count()} cells started, {len(answered)} dialogs answered: "
        f"{answered})"
    )


def _dialog_text(dialog: Any) -> str:
    """What a dialog said, shortened, for the failure message (a dialog after cells started means trouble)."""
    try:
        return " ".join(dialog.first.inner_text(timeout=2_000).split())[:200]
    except Exception as error:  # gone before it could be read
        return f"({type(error).__name__})"


def _answer_dialog(page: Any, dialog: Any, choose: Any | None, tries: int = 3) -> None:
    """Take the proposed kernel if JupyterLab asks for one (through ``choose``, the dialog's button, when given);
    close any other dialog that stands over the page. A busy JupyterLab may miss the first click (or ask again):
    answered up to ``tries`` times, then left to the caller's next try."""
    from playwright.sync_api import TimeoutError as StillThere

    for _ in range(tries):
        if not dialog.first.is_visible():
            return
        if choose is not None and choose.is_visible():
            choose.click()
        else:
            page.keyboard.press("Escape")
        try:
            dialog.first.wait_for(state="hidden", timeout=10_000)
            return
        except StillThere:
            continue
