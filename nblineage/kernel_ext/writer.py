"""The background writer: turns the outbox's records into OpenLineage events and delivers them to the store and to
any OpenLineage transport.

The cell's thread only appends to the outbox; this thread delivers once no cell is running and the kernel has been
quiet for a moment (``QUIET`` seconds), or at once on ``flush``, so its work never competes with the user's. A store
or backend that is down costs the user nothing: delivery is retried with back-off and the records wait on disk.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (see below)
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from nblineage.kernel_ext.outbox import MemoryOutbox, Outbox, orphans
from nblineage.lineage.urls import shown_url

# Delivery may first happen at interpreter exit (a notebook run top to bottom, then shut down). openlineage-python
# imports concurrent.futures, whose import registers an exit hook, which Python refuses once exit has begun: so it
# is imported here, at load, for about 20 ms.
log = logging.getLogger("nblineage")
MAX_BACKOFF = 30.0
QUIET = 1.0


class Writer(threading.Thread):
    """Delivers this kernel's outbox (and orphaned outboxes of dead kernels) to the store and the transport.

    ``store_url`` None means there is no usable store (a misconfigured URL): the records stay in the outbox for a
    later kernel. ``problems`` holds, per destination (``store``, ``transport``), why delivery is failing now.
    """

    def __init__(
        self,
        outbox: Outbox | MemoryOutbox,
        store_url: str | None,
        transport: Callable[[], Any] | None = None,
        replay: Iterable[Path] = (),
    ) -> None:
        super().__init__(name="nblineage-writer", daemon=True)
        self.store_url = store_url
        self.outbox = outbox
        self.replay = list(replay)
        self._transport_factory = transport
        self._transport: Any = None
        self._store: Any = None
        self._wake = threading.Event()
        self._urgent = threading.Event()
        self._stopping = threading.Event()
        self._last_submit = 0.0
        self._cell_running = threading.Event()
        self._idle = threading.Condition()
        self.stored_offset = 0
        self.sent_offset = 0
        self.failures = 0
        self.delivered = 0
        self.problems: dict[str, str] = {}

    def submit(self, lines: list[str]) -> None:
        """Called on the cell's thread: durable once this returns."""
        self.outbox.append(lines)
        self._last_submit = time.monotonic()
        self._wake.set()

    def cell_started(self) -> None:
        """While a cell runs the writer keeps still, so that it never competes with the user's work."""
        self._cell_running.set()

    def cell_finished(self) -> None:
        self._cell_running.clear()
        self._last_submit = time.monotonic()
        self._wake.set()

    def run(self) -> None:
        backoff = 0.5
        self._wait_until_quiet()
        self._replay_orphans()
        while not self._stopping.is_set():
            self._wake.wait(timeout=backoff if self.failures else 5.0)
            self._wake.clear()
            self._wait_until_quiet()
            backoff = 0.5 if self._deliver() else min(backoff * 2, MAX_BACKOFF)
        self._deliver()

    def _wait_until_quiet(self) -> None:
        """Let cells that run back to back finish first, unless someone is waiting for delivery."""
        while not (self._urgent.is_set() or self._stopping.is_set()):
            quiet_for = time.monotonic() - self._last_submit
            if quiet_for >= QUIET and not self._cell_running.is_set():
                return
            self._wake.wait(QUIET if self._cell_running.is_set() else QUIET - quiet_for)
            self._wake.clear()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is delivered; False on time-out (it stays in the outbox)."""
        deadline = time.monotonic() + timeout
        self._urgent.set()
        self._wake.set()
        try:
            with self._idle:
                while not self._caught_up():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self.is_alive():
                        return self._caught_up()
                    self._wake.set()
                    self._idle.wait(min(remaining, 0.2))
            return True
        finally:
            self._urgent.clear()

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what can be delivered, then stop; an undelivered outbox stays on disk for replay."""
        delivered = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        self.join(timeout=2.0)
        self.outbox.close(delete=delivered and self._caught_up() and (self.store_url is not None or not self.waiting()))
        if self._store is not None:
            self._store.close()

    def _caught_up(self) -> bool:
        """Everything submitted is delivered (to the store unless there is none, and to the transport)."""
        size = self.outbox.size()
        stored = self.store_url is None or self.stored_offset >= size
        return stored and (self._transport_factory is None or self.sent_offset >= size)

    def waiting(self) -> int:
        """How many records wait in the outbox for the store."""
        try:
            return len(self.outbox.read_from(self.stored_offset)[0])
        except (OSError, ValueError):
            return 0

    def _deliver(self) -> bool:
        """One delivery pass; False when the store or the transport failed."""
        ok = True
        lines, end = self.outbox.read_from(self.stored_offset) if self.store_url else ([], 0)
        if lines:
            try:
                self._append(lines)
                self.stored_offset = end
                self.delivered += len(lines)
                self.problems.pop("store", None)
            except Exception as error:
                ok = False
                self._failed("store", error)
        if self._transport_factory is not None:
            lines, end = self.outbox.read_from(self.sent_offset)
            try:
                for line in lines:
                    self._send(line)
                self.sent_offset = end
                self.problems.pop("transport", None)
            except Exception as error:
                ok = False
                self._failed("transport", error)
        offset = min(self.stored_offset, self.sent_offset if self._transport_factory else self.stored_offset)
        if ok and offset and self.store_url and self.outbox.compact(offset):
            self.stored_offset = self.sent_offset = 0
        if ok:
            self.failures = 0
        with self._idle:
            self._idle.notify_all()
        return ok

    def _append(self, lines: list[str]) -> None:
        from nblineage.lineage.events import check
        from nblineage.lineage.store import Store

        events = [event for line in lines for event in _events(line)]
        if self._store is None:
            self._store = Store(self.store_url)
        self._store.append(check(event) for event in events)

    def _send(self, line: str) -> None:
        if self._transport is None:
            self._transport = self._transport_factory()
        for event in _events(line):
            self._transport.emit(event)

    def _failed(self, where: str, error: Exception) -> None:
        self.failures += 1
        self.problems[where] = reason(error)
        if self.failures == 1:
            log.warning("nblineage: the %s is unreachable (%s); events wait in %s", where, error, self.outbox.location)
        if self._store is not None and where == "store":
            self._store.close()
            self._store = None

    def _replay_orphans(self) -> None:
        """Deliver the outboxes that dead kernels left behind in the replay folders, then delete them."""
        if not self.store_url:
            return
        for folder in self.replay:
            for path in orphans(folder):
                if str(path) == self.outbox.location:
                    continue
                try:
                    lines = [line for line in path.read_text().splitlines() if line.strip()]
                    if lines:
                        self._append(lines)
                    path.unlink(missing_ok=True)
                except Exception as error:
                    self._failed("store", error)
                    return


def reason(error: BaseException) -> str:
    """The first line of an error, with any URL password masked, for a notice."""
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    name = type(error).__name__
    return shown_url(first if name == "StoreError" or not first else f"{name}: {first}") or name


def _events(line: str) -> list[dict[str, Any]]:
    """The OpenLineage events (as JSON objects) of one outbox line: a record of ours, or an event as it is."""
    item = orjson.loads(line)
    if not (isinstance(item, dict) and item.get("nblineage") and "kind" in item):
        return [item]
    try:
        from nblineage.kernel_ext import emit

        return [orjson.loads(emit.to_json(event)) for event in emit.events_of(item)]
    except (KeyError, TypeError, ValueError) as error:  # a record this version cannot read: not worth retrying
        log.warning("nblineage: skipped an outbox record it cannot turn into events (%r)", error)
        return []
