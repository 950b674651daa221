"""The background writer: turns the outbox's records into OpenLineage events and delivers them to the store and to
any OpenLineage transport.

The cell's thread only appends to the outbox; this thread delivers once no cell is running and the kernel has been
quiet for a moment (``QUIET`` seconds), or once records have waited ``KEEP_UP`` seconds (cells run back to back,
as in a batch run), or at once on ``flush``. It opens the store as soon as it starts (imports, migration), so that
the kernel's exit only has its last records to deliver (``EXIT_FLUSH``), well within the time Jupyter gives a
kernel to stop. A store that is down costs the user nothing: delivery is retried with back-off, the records wait on
disk, and a kernel stopping then leaves at once. Records the store cannot take are set aside (delivery.py).

Work that can wait for a quiet kernel (``when_quiet``: a data-quality suite run on a frame read) runs on this thread
once no cell runs (or at once when someone waits in ``flush``, or when the kernel stops), after the records waiting
are delivered; ``flush`` and ``stop`` wait for it too, so its records are not lost when the kernel goes idle or exits.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (see below)
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nblineage.kernel_ext import deliverer, delivery
from nblineage.kernel_ext.delivery import reason
from nblineage.kernel_ext.outbox import DEAD_LETTERS, MemoryOutbox, Outbox, mark, set_aside_count, set_aside_in

# Delivery may first happen at interpreter exit (a notebook run top to bottom, then shut down). A configured
# OpenLineage transport imports openlineage-python, which imports concurrent.futures, whose import registers an exit
# hook, which Python refuses once exit has begun: so it is imported here, at load, for about 20 ms.
log = logging.getLogger("nblineage")
MAX_BACKOFF = 30.0
QUIET = 1.0
KEEP_UP = 2.0  # records never wait longer than this for a pause between cells
IDLE = 5.0  # seconds between two looks at the store when nothing comes (leftovers, a store back)
# What a stopping kernel waits for delivery, when the store is up: Jupyter asks a kernel to stop, sends SIGTERM
# 2.5 s later (which the session lets the exit flush finish through) and SIGKILL at 5 s (a kill mid-delivery is
# safe: the store's transaction rolls back and the outbox is delivered again, idempotently).
EXIT_FLUSH = 4.0
CONNECT_TIMEOUT = 5.0  # the writer's time-out to reach the store: it tries again later
STORE_TIMEOUT = 30.0  # its time-out for SQLite's write lock and one statement (a migration other kernels run first)
LEFTOVERS_EVERY = 30.0  # seconds between two looks for leftover outboxes of kernels that are gone

__all__ = ["Writer", "reason"]


class Writer(threading.Thread):
    """Delivers this kernel's outbox (and leftover outboxes of dead kernels) to the store and the transport.

    ``store_url`` None means there is no usable store (a misconfigured URL): the records stay in the outbox for a
    later kernel. ``leftovers(store_id)`` names the folders where leftover outboxes for this store may be.
    ``problems`` holds, per destination (``store``, ``transport``), why delivery is failing now.
    """

    def __init__(
        self,
        outbox: Outbox | MemoryOutbox,
        store_url: str | None,
        transport: Callable[[], Any] | None = None,
        leftovers: Callable[[str | None], Iterable[Path]] | None = None,
    ) -> None:
        super().__init__(name="nblineage-writer", daemon=True)
        self.store_url = store_url
        self.outbox = outbox
        self._leftovers = leftovers
        self._transport_factory = transport
        self._transport: Any = None
        self._store: Any = None
        self.store_id: str | None = None
        self._wake = threading.Event()
        self._listening = True  # waiting for ``_wake`` to look at the outbox again (``run``)
        self._seen_size = 0  # the outbox's size when the last delivery pass began
        self._urgent = threading.Event()
        self._stopping = threading.Event()
        self._last_submit = 0.0
        self._waiting_since: float | None = None
        self._cell_running = threading.Event()
        self._idle = threading.Condition()
        self._unwritten: list[str] = []  # lines the outbox could not take (disk full): kept here, retried
        self._set_aside_here: list[tuple[str, str]] = []  # records set aside while the outbox is in memory
        self._leftovers_at = 0.0
        self.stored_offset = 0
        self.sent_offset = 0
        self.failures = 0
        self.attempts = 0  # delivery passes to the store that ended, either way
        self.delivered = 0
        self.problems: dict[str, str] = {}
        self._quiet_work: deque[Callable[[], None]] = deque()
        self._working = 0  # pieces of quiet work running (on this thread, or on the one stopping the kernel)
        self._submitting = threading.Lock()
        # Held by background work while it imports a library for the first time; a cell waits for it before it
        # starts: an import on this thread beside one on the cell's thread can deadlock on a library's import-hook
        # lock (mlflow.autolog holds its own while it imports).
        self.importing = threading.Lock()
        _preload(store_url)

    def when_quiet(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the writer's thread once no cell runs (it may ``submit`` records)."""
        self._quiet_work.append(work)
        self._wake.set()

    def quiet_work(self) -> int:
        """How many pieces of ``when_quiet`` work wait or run."""
        return len(self._quiet_work) + self._working

    def _run_quiet_work(self) -> bool:
        """Run the waiting ``when_quiet`` work while no cell runs (or someone waits); True when some ran."""
        ran = False
        while self._quiet_work and (not self._cell_running.is_set() or self._urgent.is_set()):
            with self._submitting:  # counted before it leaves the queue: flush never misses it
                self._working += 1
                work = self._quiet_work.popleft() if self._quiet_work else None
            try:
                if work is not None:
                    ran = True
                    work()
            except Exception as error:  # the work reports its own faults; this keeps the writer alive
                log.warning("nblineage: background work failed (%s)", reason(error))
            finally:
                with self._submitting:
                    self._working -= 1
        return ran

    def submit(self, lines: list[str]) -> None:
        """Called on the cell's thread: durable once this returns (in memory, and said, when the disk is full)."""
        self._last_submit = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = self._last_submit
        with self._submitting:  # the cell's thread and quiet work on this one
            self._write(lines)
        if self._listening:  # otherwise it is about to look at the outbox anyway (see ``run``)
            self._wake.set()

    def _write(self, lines: list[str]) -> None:
        pending, self._unwritten = self._unwritten + lines, []
        try:
            self.outbox.append(pending)
            self.problems.pop("outbox", None)
        except OSError as error:
            self._unwritten = pending
            self.problems["outbox"] = reason(error)

    def cell_started(self) -> None:
        """While a cell runs the writer keeps still (unless records have waited ``KEEP_UP``); an import under way
        in the background ends first."""
        with self.importing:
            self._cell_running.set()

    def cell_finished(self) -> None:
        self._cell_running.clear()
        self._last_submit = time.monotonic()
        if self._quiet_work:  # work that waited for no cell to run; records were nudged about by ``submit``
            self._wake.set()

    def run(self) -> None:
        backoff = 0.5
        self._connect()  # at once, in the background: the imports and the migration are done before they are needed
        while not self._stopping.is_set():
            # Woken only while it listens: records submitted meanwhile are found by looking (after ``_listening``
            # is set, so none is missed); cells that run back to back then cost no thread switch each.
            self._listening = True
            if self.failures or not self._pending():
                self._wake.wait(timeout=backoff if self.failures else IDLE)
            self._listening = False
            self._wake.clear()
            self._wait_until_due()
            if self._stopping.is_set():
                break
            delivered = self._deliver()
            if self._quiet_work and self._run_quiet_work():
                delivered = self._deliver() and delivered
            backoff = 0.5 if delivered else min(backoff * 2, MAX_BACKOFF)

    def _pending(self) -> bool:
        """Whether something came for this thread since its last delivery pass: records appended, or quiet work.
        (What a pass could not deliver waits for the next wake or time-out, as before.)"""
        return bool(self._quiet_work) or self.outbox.size() > self._seen_size

    def _wait_until_due(self) -> None:
        """Let cells that run back to back finish first, unless records have waited ``KEEP_UP`` seconds or someone
        is waiting for delivery."""
        while not (self._urgent.is_set() or self._stopping.is_set()):
            now = time.monotonic()
            quiet_for = now - self._last_submit
            if quiet_for >= QUIET and not self._cell_running.is_set():
                return
            if self._waiting_since is not None and now - self._waiting_since >= KEEP_UP:
                return
            self._wake.wait(0.25 if self._cell_running.is_set() else max(0.05, QUIET - quiet_for))
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
                    self._idle.wait(min(remaining, 0.05))
            return True
        finally:
            self._urgent.clear()

    def stop(self, timeout: float = EXIT_FLUSH) -> None:
        """Deliver what can be delivered in ``timeout`` (nothing is waited for while the store is failing: the
        outbox holds it), then stop; an undelivered outbox stays on disk for replay."""
        failing = "store" in self.problems and self.store_url is not None
        if failing and self._quiet_work:  # no delivery to wait for, but the work's records go to the outbox
            self._urgent.set()
            try:
                self._run_quiet_work()
            finally:
                self._urgent.clear()
        delivered = self.flush(0.0 if failing else timeout)
        self.abandon()
        self.join(timeout=0.2)
        caught_up = delivered and self._caught_up() and not self._unwritten
        self.outbox.close(delete=caught_up and (self.store_url is not None or not self.waiting()))
        if self._store is not None and not self.is_alive():
            self._store.close()

    def abandon(self) -> None:
        """Stop delivering (the kernel is being stopped): what is left stays in the outbox."""
        self._stopping.set()
        self._wake.set()

    def _caught_up(self) -> bool:
        """Everything submitted is delivered (to the store unless there is none, and to the transport)."""
        size = self.outbox.size()
        stored = self.store_url is None or self.stored_offset >= size
        if self._quiet_work or self._working:
            return False
        return stored and (self._transport_factory is None or self.sent_offset >= size) and not self._unwritten

    def waiting(self) -> int:
        """How many records wait in the outbox for the store."""
        try:
            return len(self.outbox.read_from(self.stored_offset)[0]) + len(self._unwritten)
        except (OSError, ValueError):
            return 0

    def set_aside(self) -> int:
        """How many records of this kernel's outbox folder the store could not take (see ``nblineage replay``)."""
        return set_aside_count(self.outbox.folder) + len(self._set_aside_here)

    def _connect(self) -> Any:
        """The store, opened now if it is not open; None when it cannot be (the failure is noted)."""
        if self._store is None and self.store_url:
            try:
                self._store = _open(self.store_url)
                self.store_id = delivery.store_id(self._store)
                if self.outbox.folder is not None:
                    mark(self.outbox.folder, self.store_id)
            except Exception as error:
                self._failed("store", error)
                return None
            self._deliver_leftovers()
        return self._store

    def _deliver(self) -> bool:
        """One delivery pass; False when the store or the transport failed."""
        ok = True
        if self._unwritten:
            self._write([])
        recovering = "store" in self.problems
        self._seen_size = self.outbox.size()
        lines, end = self.outbox.read_from(self.stored_offset) if self.store_url else ([], 0)
        self._waiting_since = None
        if lines:
            try:
                store = self._connect()
                if store is None:
                    raise delivery.Unreachable(self.problems.get("store", "the store cannot be opened"))
                self.delivered += delivery.deliver(store, lines, self._aside)
                self.stored_offset = end
                self.problems.pop("store", None)
            except Exception as error:
                ok = False
                self._failed("store", error)
            self.attempts += 1
        if ok and self.store_url and (recovering or time.monotonic() - self._leftovers_at > LEFTOVERS_EVERY):
            ok = self._deliver_leftovers() and ok
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
            self.stored_offset = self.sent_offset = self._seen_size = 0
        if ok:
            self.failures = 0
        with self._idle:
            self._idle.notify_all()
        return ok

    def _aside(self, line: str, why: str) -> None:
        folder = self.outbox.folder
        first = not self.set_aside()
        (log.warning if first else log.debug)(
            "nblineage: set aside a record the store cannot take (%s), in %s; `nblineage replay` stores it once "
            "the cause is fixed",
            why,
            folder / DEAD_LETTERS if folder else "memory",
        )
        if folder is None:
            self._set_aside_here.append((line, why))
        else:
            set_aside_in(folder, self.outbox.location)(line, why)

    def _deliver_leftovers(self) -> bool:
        """Deliver the outboxes that kernels which are gone left for this store; False when the store failed."""
        self._leftovers_at = time.monotonic()
        if self._leftovers is None or self._store is None:
            return True
        try:
            found = list(self._leftovers(self.store_id))
            delivery.deliver_leftovers(self._store, found, skip=self.outbox.location)
        except delivery.Unreachable as error:
            self._failed("store", error)
            return False
        except Exception as error:  # a leftover file it cannot read: it stays, for a command to try
            log.warning("nblineage: could not deliver a leftover outbox (%s)", reason(error))
        return True

    def _send(self, line: str) -> None:
        if self._transport is None:
            self._transport = self._transport_factory()
        for event in delivery.events_of(line):
            self._transport.emit(event)

    def _failed(self, where: str, error: Exception) -> None:
        self.failures += 1
        self.problems[where] = reason(error)
        if self.failures == 1:
            log.warning("nblineage: the %s is unreachable (%s); events wait in %s", where, error, self.outbox.location)
        if self._store is not None and where == "store":
            store, self._store = self._store, None
            store.close()


def _preload(store_url: str | None) -> None:
    """Import now, on the thread loading the extension, the modules this thread will need to deliver. An import on
    this thread while the user's code holds an import hook's lock (``mlflow.autolog`` registers its hooks under one,
    and imports under it) would wait for that lock while the user's import waits for a module this import holds."""
    from nblineage.kernel_ext import emit, jsonsafe  # noqa: F401
    from nblineage.lineage import events, urls  # noqa: F401

    if store_url and urls.is_server_url(store_url):
        from nblineage.kernel_ext import remote  # noqa: F401
    elif store_url and deliverer.plain_sqlite(store_url):
        from nblineage.lineage import sqlite_writer  # noqa: F401


def _open(url: str) -> Any:
    """The store at ``url``: a plain SQLite file of the newest schema written here through ``sqlite3``, any other
    written by a separate delivery process (no SQLAlchemy in the kernel either way); or the OpenLineage endpoint of
    the Jupyter server an http(s) URL names."""
    from nblineage.lineage.urls import is_server_url

    if is_server_url(url):
        from nblineage.kernel_ext.remote import RemoteStore

        return RemoteStore(url, timeout=STORE_TIMEOUT)
    if os.environ.get(deliverer.IN_KERNEL) != "1":
        store = deliverer.sqlite_here(url, timeout=STORE_TIMEOUT, connect_timeout=CONNECT_TIMEOUT)
        if store is not None:
            return store
        return deliverer.ProcessStore(url, timeout=STORE_TIMEOUT, connect_timeout=CONNECT_TIMEOUT)
    from nblineage.lineage.store import Store

    return Store(url, timeout=STORE_TIMEOUT, connect_timeout=CONNECT_TIMEOUT)
