"""The background writer: moves events from the outbox to the store and to any OpenLineage transport.

The cell's thread only appends to the outbox; this thread delivers. A store or backend that is down costs the
user nothing: delivery is retried with back-off and the events wait in the outbox, on disk.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from nblineage.kernel_ext.outbox import Outbox, orphans

log = logging.getLogger("nblineage")
MAX_BACKOFF = 30.0


class Writer(threading.Thread):
    """Delivers this kernel's outbox (and orphaned outboxes of dead kernels) to the store and the transport."""

    def __init__(self, folder: Path, store_url: str, transport: Callable[[], Any] | None = None) -> None:
        super().__init__(name="nblineage-writer", daemon=True)
        self.folder = folder
        self.store_url = store_url
        self.outbox = Outbox(folder)
        self._transport_factory = transport
        self._transport: Any = None
        self._store: Any = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self.stored_offset = 0
        self.sent_offset = 0
        self.failures = 0
        self.delivered = 0

    def submit(self, lines: list[str]) -> None:
        """Called on the cell's thread: durable once this returns."""
        self.outbox.append(lines)
        self._wake.set()

    def run(self) -> None:
        backoff = 0.5
        self._replay_orphans()
        while not self._stopping.is_set():
            self._wake.wait(timeout=backoff if self.failures else 5.0)
            self._wake.clear()
            backoff = 0.5 if self._deliver() else min(backoff * 2, MAX_BACKOFF)
        self._deliver()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is delivered; False on time-out (it stays in the outbox)."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while not self._caught_up():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.is_alive():
                    return self._caught_up()
                self._wake.set()
                self._idle.wait(min(remaining, 0.2))
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what can be delivered, then stop; an undelivered outbox stays on disk for replay."""
        delivered = self.flush(timeout)
        self._stopping.set()
        self._wake.set()
        self.join(timeout=2.0)
        self.outbox.close(delete=delivered and self._caught_up())
        if self._store is not None:
            self._store.close()

    def _caught_up(self) -> bool:
        size = os.path.getsize(self.outbox.path) if self.outbox.path.exists() else 0
        return self.stored_offset >= size and (self._transport_factory is None or self.sent_offset >= size)

    def _deliver(self) -> bool:
        """One delivery pass; False when the store or the transport failed."""
        ok = True
        lines, end = self.outbox.read_from(self.stored_offset)
        if lines:
            try:
                self._append(lines)
                self.stored_offset = end
                self.delivered += len(lines)
            except Exception as error:
                ok = False
                self._failed("store", error)
        if self._transport_factory is not None:
            lines, end = self.outbox.read_from(self.sent_offset)
            try:
                for line in lines:
                    self._send(line)
                self.sent_offset = end
            except Exception as error:
                ok = False
                self._failed("transport", error)
        offset = min(self.stored_offset, self.sent_offset if self._transport_factory else self.stored_offset)
        if ok and offset and self.outbox.compact(offset):
            self.stored_offset = self.sent_offset = 0
        if ok:
            self.failures = 0
        with self._idle:
            self._idle.notify_all()
        return ok

    def _append(self, lines: list[str]) -> None:
        from nblineage.lineage.events import check
        from nblineage.lineage.store import Store

        if self._store is None:
            self._store = Store(self.store_url)
        self._store.append(check(orjson.loads(line)) for line in lines)

    def _send(self, line: str) -> None:
        if self._transport is None:
            self._transport = self._transport_factory()
        self._transport.emit(orjson.loads(line))

    def _failed(self, where: str, error: Exception) -> None:
        self.failures += 1
        if self.failures == 1:
            log.warning("nblineage: the %s is unreachable (%s); events wait in %s", where, error, self.outbox.path)
        if self._store is not None and where == "store":
            self._store.close()
            self._store = None

    def _replay_orphans(self) -> None:
        """Deliver the outboxes that dead kernels left behind, then delete them."""
        for path in orphans(self.folder):
            if path == self.outbox.path:
                continue
            try:
                lines = [line for line in path.read_text().splitlines() if line.strip()]
                if lines:
                    self._append(lines)
                path.unlink(missing_ok=True)
            except Exception as error:
                self._failed("store", error)
                return
