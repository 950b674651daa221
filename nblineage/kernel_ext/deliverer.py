"""The kernel's store without SQLAlchemy in the kernel: a plain SQLite file of the newest schema is written in the
kernel itself through ``sqlite3`` (:func:`sqlite_here`); any other store by a small separate process.

The kernel's writer (writer.py) keeps everything that makes delivery safe (the outbox, its offsets, setting aside,
leftovers); only the store's own calls cross to this process. :class:`ProcessStore` answers the writer and
:mod:`.delivery` as a store does (``append``, ``probe``, ``close``, ``identity``), like the Jupyter server's
endpoint (remote.py). The process (``python -m nblineage.kernel_ext.deliverer``, the URL in its environment, never
on its command line) opens the store, and answers one JSON line per request on its standard output. It is started
in its own session (an interrupt of the kernel does not reach it), ends when its standard input closes (the kernel
is gone, even killed), and a process that dies mid-request is the store being unreachable: the records stay in the
outbox and are delivered again (the store takes each event once, by its hash).

``NBLINEAGE_DELIVER_IN_KERNEL=1`` opens the store in the kernel instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from nblineage.kernel_ext.delivery import Unreachable
from nblineage.lineage.urls import shown_url

URL_VARIABLE = "NBLINEAGE_DELIVER_URL"
IN_KERNEL = "NBLINEAGE_DELIVER_IN_KERNEL"


def plain_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite file plainly (``sqlite:///PATH``, no query): one ``sqlite_here`` may write."""
    text = url.strip()
    return text.startswith("sqlite:///") and not any(char in text for char in "?#%") and ":memory:" not in text


def sqlite_here(url: str, timeout: float = 30.0, connect_timeout: float = 5.0) -> Any:
    """A plain SQLite store of the newest schema, written in this process through ``sqlite3``
    (``lineage/sqlite_writer.py``: no SQLAlchemy, no delivery process to start); None for any other store (a
    server, a store to create or migrate: the delivery process opens those)."""
    if not plain_sqlite(url):
        return None
    from nblineage.lineage import store as stores
    from nblineage.lineage.sqlite_writer import SqliteStore

    if stores._plain_sqlite_path(url) is None:  # the store's own test, exactly (``file:`` and empty paths too)
        return None
    store = SqliteStore(url, migrate=False, timeout=timeout, connect_timeout=connect_timeout)
    try:
        if store.current():
            return store
    except BaseException:
        store.close()
        raise
    store.close()
    return None


class StoreRefused(ValueError):
    """The store refused an event of a batch: its reason (delivery then finds which, one line at a time)."""


class ProcessStore:
    """The store at ``url``, written by a separate delivery process."""

    def __init__(self, url: str, timeout: float = 30.0, connect_timeout: float = 5.0) -> None:
        self.display_url = shown_url(url)
        root = str(Path(__file__).resolve().parents[2])  # where this nblineage is, for the child to import it
        env = {
            **os.environ,
            URL_VARIABLE: url,
            "NBLINEAGE_DELIVER_TIMEOUT": f"{timeout},{connect_timeout}",
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        env.pop("NBLINEAGE_URL", None)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "nblineage.kernel_ext.deliverer"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            raise Unreachable(f"the delivery process cannot start: {error}") from None
        self.identity: str = self._ask({"op": "open"})["identity"]

    def append(self, events: Iterable[Any]) -> int:
        """Store checked events (``Event``); how many were new. They cross as the check left them (canonical text,
        kind, time, hash), so the process does not check them again."""
        checked = [[event.text, event.kind, event.time.isoformat(), event.hash] for event in events]
        return int(self._ask({"op": "append", "checked": checked})["stored"])

    def probe(self) -> None:
        """Raise Unreachable unless the store answers."""
        self._ask({"op": "probe"})

    def close(self) -> None:
        """End the process (it ends on its own once its input closes)."""
        process = self._process
        try:
            process.stdin.close()  # type: ignore[union-attr]
            process.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()

    def _ask(self, request: dict[str, Any] | bytes) -> dict[str, Any]:
        body = request if isinstance(request, bytes) else orjson.dumps(request)
        process = self._process
        try:
            process.stdin.write(body + b"\n")  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
            line = process.stdout.readline()  # type: ignore[union-attr]
        except (OSError, ValueError) as error:
            line = b""
            why = str(error)
        else:
            why = "it ended"
        if not line:
            self.close()
            raise Unreachable(f"the delivery process for {self.display_url} stopped ({why})")
        answer = orjson.loads(line)
        if "unreachable" in answer:
            raise Unreachable(answer["unreachable"])
        if "refused" in answer:
            raise StoreRefused(answer["refused"])
        return answer


def serve() -> None:
    """The delivery process: open the store, then answer requests until standard input closes."""
    from nblineage.kernel_ext import delivery
    from nblineage.lineage.sqlite_writer import SqliteStore

    timeout, connect_timeout = (float(part) for part in os.environ["NBLINEAGE_DELIVER_TIMEOUT"].split(","))
    url = os.environ.pop(URL_VARIABLE)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    store = None
    for line in requests:
        request = orjson.loads(line)
        try:
            if store is None:
                store = SqliteStore(url, timeout=timeout, connect_timeout=connect_timeout)
            if request["op"] == "open":
                answer: dict[str, Any] = {"identity": delivery.store_id(store)}
            elif request["op"] == "append":
                events = [_checked(*item) for item in request["checked"]]
                answer = {"stored": getattr(store.append(events), "stored", len(events))}
            else:
                store.probe()
                answer = {}
        except Exception as error:
            answer = _failure(store, error)
            if "unreachable" in answer and store is not None:
                store.close()
                store = None  # opened again for the next request
        try:
            answers.write(orjson.dumps(answer) + b"\n")
            answers.flush()
        except BrokenPipeError:  # the kernel is gone: what it sent is stored, what it did not is in its journal
            break
    if store is not None:
        store.close()


def _checked(text: str, kind: str, time: str, digest: str) -> Any:
    """An event the kernel checked (``events.check``), rebuilt from what that check gave: its canonical text, kind,
    UTC time and hash."""
    from datetime import datetime

    from nblineage.lineage.events import Event

    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson does not read (integers beyond 64 bits): the standard library does
        payload = json.loads(text)
    return Event(payload=payload, kind=kind, time=datetime.fromisoformat(time), hash=digest, text=text)


def _failure(store: Any, error: Exception) -> dict[str, str]:
    """How a request failed: the store unreachable (or busy), or refusing what it was given."""
    from nblineage.kernel_ext import delivery

    if store is None:
        return {"unreachable": delivery.reason(error)}
    try:
        delivery._raise_if_unreachable(store, error)
    except Unreachable as unreachable:
        return {"unreachable": delivery.reason(unreachable)}
    return {"refused": delivery.reason(error)}


if __name__ == "__main__":
    serve()  # the store is closed (SQLite checkpointed): nothing is left to clean up
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: it would cost the kernel a tenth of a second of CPU at exit
