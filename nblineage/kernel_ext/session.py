"""The capture session of one kernel: hooks in, cell runs out, events to the background writer."""

from __future__ import annotations
import __future__

import ast
import atexit
import contextlib
import os
import random
import re
import signal
import threading
import traceback
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblineage import config
from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import cellcode, fallback, flow, imports, records, safety, scripts, warnsite
from nblineage.kernel_ext.capture import Capture, Record, blank_lead
from nblineage.kernel_ext.delivery import UNSENT, leftovers, outbox_folder
from nblineage.kernel_ext.guard import Guard
from nblineage.kernel_ext.instrument import Instrumentor, cell_enders
from nblineage.kernel_ext.notebook import CellIds, find_notebook
from nblineage.kernel_ext.outbox import MemoryOutbox, Outbox
from nblineage.kernel_ext.resources import Meter
from nblineage.kernel_ext.safety import report
from nblineage.kernel_ext.writer import Writer, reason
from nblineage.lineage.urls import delivery_problem, shown_url

if TYPE_CHECKING:
    from nblineage.kernel_ext.status import Status


class Session:
    """Installed by ``%load_ext nblineage``; removed by ``%unload_ext nblineage`` or at kernel exit."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.capture = Capture()
        self.namespace = config.namespace()
        self.found = find_notebook(shell.user_ns)
        self.notebook = self.found.path
        self.cell_ids = CellIds(*self.found.cell_files)
        self.run_id = _run_id()
        self.started = datetime.now(timezone.utc)
        self.store_url = config.store_url()
        self.url_problem = delivery_problem(self.store_url)
        self._notices: list[str] = []
        self._noticed: set[str] = set()  # delivery problems shown, until they end
        self._told_at_load: set[str] = set()  # problems a notice at load already explained
        folder = UNSENT if self.url_problem else outbox_folder(self.store_url).name
        self.outbox, self.outbox_problem = _open_outbox(folder)
        store = None if self.url_problem else self.store_url
        self.writer = Writer(self.outbox, store, _transport_factory(), lambda store_id: leftovers(folder, store_id))
        self._notice_load_problems()
        self.instrumentors = _instrumentors()
        self.guard = Guard(self.notebook)  # the policy (kernel_ext/guard.py)
        self._cell: dict[str, Any] | None = None
        self._closed = False
        self._next_count = shell.execution_count  # corrected by the post_run_cell of the cell that loads us
        self._unnumbered = 0
        self._enders: list[Any] = []  # the instrumentors with work at a cell's end (``instrument.cell_enders``)

    def status(self) -> Status:
        from nblineage.kernel_ext.status import Status

        writer = self.writer
        return Status(
            capturing=not self._closed,
            notebook=self.notebook,
            notebook_found=self.found.how,
            store=shown_url(self.store_url),
            store_problem=self.url_problem or writer.problems.get("store"),
            transport_problem=writer.problems.get("transport"),
            outbox=self.outbox.location,
            outbox_problem=self.outbox_problem,
            waiting=writer.waiting(),
            set_aside=writer.set_aside(),
            hooks=tuple(instrumentor.name for instrumentor in self.instrumentors),
            hook_errors=dict(safety.errors),
        )

    def start(self) -> None:
        self.capture.write_fallback = fallback.at_write
        self.capture.catch_up = fallback.catch_up
        self.capture.catch_up_in_function = fallback.catch_up_in_function
        self.capture.argument_reads = fallback.argument_reads
        capture_module.activate(self.capture)
        self._refresh_policy()
        warnsite.install()
        for instrumentor in self.instrumentors:
            instrumentor.instrument()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self._trees_kept = _keep_cell_trees(self.shell)
        scripts.install(self.shell)
        self.writer.start()
        self.writer.submit([records.session_line("START", self.run_id, self.namespace, self.notebook, self.started)])
        atexit.register(self._exiting)
        self._previous_sigterm = _on_sigterm(self._terminated)

    def _terminated(self, signum: int, frame: Any) -> None:
        """SIGTERM. While the kernel exits (Jupyter sends it 2.5 s after asking the kernel to stop), the exit flush
        goes on until its own deadline, before Jupyter's SIGKILL. Otherwise: stop delivering and die as SIGTERM
        would. What is left stays in the outbox, for this store's next kernel or ``nblineage`` command."""
        if self._closed:
            return
        self.writer.abandon()
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def close(self, exiting: bool = False) -> None:
        """Stop capturing, send the session's end and flush the writer. At the interpreter's exit (``exiting``) the
        patches stay in place, passing every call straight through (capture is off), rather than being undone one
        by one (milliseconds no one would see the end of)."""
        if self._closed:
            return
        self._closed = True
        for name, handler in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(name, handler)
        if getattr(self, "_trees_kept", False):
            _stop_keeping_cell_trees(self.shell)
        scripts.uninstall(self.shell)
        for instrumentor in self.instrumentors:
            if exiting:
                instrumentor.detach()
            else:
                instrumentor.uninstrument()
        warnsite.uninstall()
        capture_module.activate(None)
        try:
            end = records.session_line("COMPLETE", self.run_id, self.namespace, self.notebook, _now())
            self.writer.submit([end])
        except Exception as error:
            report("session end", error)
        self.writer.stop()
        atexit.unregister(self._exiting)
        if getattr(self, "_previous_sigterm", None) is not None:
            _on_sigterm(self._previous_sigterm)

    def _exiting(self) -> None:
        self.close(exiting=True)

    @contextlib.contextmanager
    def skipping(self) -> Iterator[None]:
        """Run the rest of the cell under way with capture off and record nothing of the cell (``%%lineage skip``).
        Under a policy, the policy is not enforced there either: an audit record ``override`` says so (in the next
        cell's record)."""
        cell, self._cell = self._cell, None
        if self.capture.guard is not None:
            try:
                self.guard.override("%%lineage skip: the cell ran without capture or policy checks", cell)
            except Exception as error:
                report("the policy guard (override)", error)
        capture_module.activate(None)
        try:
            yield
        finally:
            self.capture.take_record()
            if not self._closed:
                capture_module.activate(self.capture)

    def pre_run_cell(self, info: Any) -> None:
        self.writer.cell_started()
        self._show_notices()
        try:
            source = getattr(info, "raw_cell", "") or ""
            self.capture.take_record()
            count, fallback_id = self._count(info)
            cell_id = getattr(info, "cell_id", None) or self.cell_ids.find(source)
            cell_id = str(cell_id or fallback_id)
            code = _python_of(self.shell, source)
            self.capture.cell_source, self.capture.user_ns = code, self.shell.user_ns
            self.capture.names_at_start = flow.names_at_start(self.capture, code, self.shell.user_ns)
            self.capture.cell_job = f"{self.notebook}#{cell_id}"
            self.capture.cell_run_id = _run_id()
            self._refresh_policy()
            self._cell = {
                "run_id": self.capture.cell_run_id,
                "cell_id": cell_id,
                "source": source,
                "count": count,
                "started": _now(),
                "meter": Meter(),
            }
        except Exception as error:
            self._cell = None
            report("cell start", error)

    def _refresh_policy(self) -> None:
        """The policy file looked at again (reloaded when it changed); what that recorded goes to the cell under
        way."""
        try:
            self.guard.refresh(self.capture)
            if self._cell is not None or self.capture.cell_run_id is not None:
                self.guard.flush(self.capture)
        except Exception as error:
            report("the policy guard (the policy file)", error)

    def _count(self, info: Any) -> tuple[int | None, str]:
        """The execution count the cell runs as, and its id when nothing else names it: ``exec-<count>``, or
        ``unnumbered-<n>`` for the n-th cell run without history (it gets no count of its own). The count is the
        shell's counter as the previous cell left it: IPython increments it before ``pre_run_cell`` in some
        versions and after the cell in others, but always before ``post_run_cell``."""
        if getattr(info, "store_history", True):
            return self._next_count, f"exec-{self._next_count}"
        self._unnumbered += 1
        return None, f"unnumbered-{self._unnumbered}"

    def post_run_cell(self, result: Any) -> None:
        self._next_count = self.shell.execution_count
        cell, self._cell = self._cell, None
        if cell is None:
            self._show_notices()
            self.writer.cell_finished()
            return
        try:
            self._finish_cell(cell, result)
        except Exception as error:
            report("cell end", error)
        finally:
            self.guard.cell_over = False
            self.capture.cell_source = None
            self.writer.cell_finished()
            self._show_notices()

    def _finish_cell(self, cell: dict[str, Any], result: Any) -> None:
        """Submit the record of a finished cell. Each step is guarded on its own: a fault in one loses only what
        that step adds, never the cell's record, and leaves nothing behind for the next cell."""
        usage = None
        self.guard.cell_over = True  # reads found now happened already: recorded, never raised
        try:
            usage = cell["meter"].read()
        except Exception as error:
            report("cell resources", error)
        try:
            fallback.cell_ended(self.capture, self.capture.cell_source or cell["source"], self.shell.user_ns)
        except Exception as error:
            report("cell code reading", error)
        try:
            imports.fire_pending()  # a watched module that came in past the import hooks
        except Exception as error:
            report("patching at import", error)
        for ending in cell_enders(self.instrumentors, self._enders):  # most libraries have nothing to add
            try:
                ending.cell_ended(self.capture)
            except Exception as error:
                report(f"{ending.name} at cell end", error)
        self.capture.cell_source = None
        if self.capture.guard is not None:
            try:
                self.guard.cell_ended(self.capture)
            except Exception as error:
                report("the policy guard at cell end", error)
        try:
            record = self.capture.take_record()
        except Exception as error:
            report("cell end", error)
            record = Record()
        error = result.error_in_exec or result.error_before_exec
        finished = records.CellResult(
            run_id=cell["run_id"],
            cell_id=str(cell["cell_id"]),
            execution_count=cell["count"],
            source=cell["source"],
            started=cell["started"],
            ended=_now(),
            error=None if error is None else f"{type(error).__name__}: {error}",
            traceback=None if error is None else "".join(traceback.format_exception(error)),
            wall_seconds=usage.wall_seconds if usage else 0.0,
            cpu_seconds=usage.cpu_seconds if usage else 0.0,
            peak_memory=usage.peak_memory if usage else 0,
            gpus=usage.gpus if usage else [],
            record=record,
        )
        try:
            line = records.cell_line(finished, self.namespace, self.notebook, self.run_id)
        except Exception as error:  # the cell's lineage cannot be written: its run still is
            report("cell end", error)
            finished.record = Record()
            line = records.cell_line(finished, self.namespace, self.notebook, self.run_id)
        self.writer.submit([line])

    def _notice_load_problems(self) -> None:
        """What keeps lineage from its store from the start: a data dir it cannot write, a store URL it cannot use."""
        waits = f"the lineage waits in {self.outbox.location}"
        if self.outbox_problem:
            text = f"nblineage cannot write to the Jupyter data dir: {self.outbox_problem}. Capture goes on and {waits}"
            if not os.environ.get("NBLINEAGE_URL", "").strip():
                self._told_at_load.add("store")  # the default store is in that folder too: one notice says both
                text += (
                    f"; the default store {shown_url(self.store_url)} is in that folder too, so nothing is stored "
                    "until JUPYTER_DATA_DIR names a folder you can write or NBLINEAGE_URL a store elsewhere (a kernel "
                    "started then delivers what waits)."
                )
            else:
                text += " until the store takes it. Set JUPYTER_DATA_DIR to a folder you can write."
            self._notices.append(text)
        if self.url_problem:
            self._told_at_load.add("store")
            self._notices.append(
                f"nblineage cannot use the store NBLINEAGE_URL={shown_url(self.store_url)}: {self.url_problem}. "
                f"Capture goes on and nothing is lost: {waits} and goes to the store of the next kernel started "
                "with a usable NBLINEAGE_URL."
            )

    def _show_notices(self) -> None:
        """Show, in the cell output, the capture problems not shown yet (at most once each) and their end."""
        if not (self._notices or self._noticed or self.writer.problems):
            return  # nothing to show (the usual case): two looks at each cell
        try:
            problems = dict(self.writer.problems)
            for where, why in problems.items():
                if where not in self._noticed and where not in self._told_at_load:
                    self._noticed.add(where)
                    self._notices.append(self._unreachable(where, why))
            for where in [name for name in self._noticed if name not in problems]:
                self._noticed.discard(where)
                self._notices.append(f"nblineage reached the {_DESTINATIONS[where]} again: what waited is delivered.")
            notices, self._notices = self._notices, []
            for notice in notices:
                safety.notify(notice)
        except Exception as error:
            report("capture notices", error)

    def _unreachable(self, where: str, why: str) -> str:
        if where == "outbox":
            return (
                f"nblineage cannot write its outbox {self.outbox.location}: {why}. Capture goes on: "
                f"{self.writer.waiting()} records wait in memory until it can (free some space there)."
            )
        target = f"the store {shown_url(self.store_url)}" if where == "store" else "the OpenLineage transport"
        return (
            f"nblineage cannot reach {target}: {why}. Capture goes on and nothing is lost: "
            f"{self.writer.waiting()} records wait in {self.outbox.location} and are delivered once it can be "
            "reached (by this kernel, the next one with the same store, or any nblineage command)."
        )


_DESTINATIONS = {"store": "store", "transport": "OpenLineage transport", "outbox": "outbox"}


def _on_sigterm(handler: Any) -> Any:
    """Install ``handler`` for SIGTERM (from the main thread only); the handler it replaces, or None."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, TypeError):
        return None


def _open_outbox(folder: str) -> tuple[Outbox | MemoryOutbox, str | None]:
    """This kernel's outbox under the Jupyter data dir; else under the private temp folder, else in memory; with
    why it is not under the data dir."""
    data_dir = config.data_dir()
    try:
        return Outbox(data_dir / "outbox" / folder), None
    except OSError as error:
        problem = f"{data_dir} ({reason(error)})"
    try:
        return Outbox(config.private_temp_dir() / "outbox" / folder), problem
    except OSError:
        return MemoryOutbox(), problem


# Compiler flags under which IPython's parse of a cell gives the tree ``ast.parse`` gives: incomplete input
# allowed, no implied dedent, top-level ``await``, and every ``__future__`` feature but the one that changes the
# grammar (``barry_as_FLUFL``).
_SAME_TREE_FLAGS = (
    0x200  # PyCF_DONT_IMPLY_DEDENT
    | 0x4000  # PyCF_ALLOW_INCOMPLETE_INPUT
    | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    | sum(
        {getattr(__future__, name).compiler_flag for name in __future__.all_feature_names if name != "barry_as_FLUFL"}
    )
)


def _keep_cell_trees(shell: Any) -> bool:
    """Hand the tree IPython parses of each cell to ``cellcode`` (``cellcode.offer``), so the cell is not parsed a
    second time for what its code says, when IPython runs that tree as it is: no AST transformer (which may change
    it), interactivity not ``last_expr_or_assign`` (which adds a statement to it), the compiler's flags those of
    ``ast.parse``. True when the shell's compiler is wrapped (undone by ``_stop_keeping_cell_trees``)."""
    compiler = getattr(shell, "compile", None)
    parse = getattr(compiler, "ast_parse", None)
    if parse is None or "ast_parse" in getattr(compiler, "__dict__", {}):
        return False

    def ast_parse(source: str, filename: str = "<unknown>", symbol: str = "exec") -> Any:
        tree = parse(source, filename, symbol)
        try:
            if (
                symbol == "exec"
                and type(source) is str
                and not shell.ast_transformers
                and shell.ast_node_interactivity != "last_expr_or_assign"
                and not (compiler.flags & ~_SAME_TREE_FLAGS)
            ):
                cellcode.offer(source, tree)
        except Exception as error:
            report("cell code reading", error)
        return tree

    ast_parse.nblineage_keeps_trees = True  # type: ignore[attr-defined]
    compiler.ast_parse = ast_parse
    return True


_MAGIC_LINE = re.compile(r"^[ \t]*[%!]", re.MULTILINE)


def _python_of(shell: Any, source: str) -> str:
    """The Python a cell runs: for a cell with line magics or shell escapes (``%matplotlib inline`` above the
    imports, ``%store -r X``), IPython's transformation of it, line for line, which its compiler parses (the tree
    ``cellcode`` is offered); the cell itself otherwise, or when the transformation changes its lines (a ``%%``
    cell magic runs its body elsewhere)."""
    if ("%" not in source and "!" not in source) or not _MAGIC_LINE.search(source):
        return source
    try:
        code = shell.transform_cell(source)
    except Exception:
        return source
    same_lines = code.count("\n") == len(source.splitlines()) - blank_lead(source)  # IPython drops leading blanks
    return code if same_lines else source


def _stop_keeping_cell_trees(shell: Any) -> None:
    compiler = getattr(shell, "compile", None)
    if getattr(getattr(compiler, "__dict__", {}).get("ast_parse"), "nblineage_keeps_trees", False):
        del compiler.ast_parse
    cellcode.offer("", ast.Module(body=[], type_ignores=[]))  # the last cell's tree is not kept


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _run_id() -> str:
    """A random (version 4) UUID, as ``uuid.uuid4()`` makes, from a generator seeded once per process from
    ``os.urandom``: a run id needs to be unique, not secret, and this costs a cell no system call."""
    return str(uuid.UUID(int=_generator.getrandbits(128), version=4))


_generator = random.Random(os.urandom(32))  # this module's own: a user's ``random.seed(0)`` leaves it alone


if hasattr(os, "register_at_fork"):  # a forked child (a multiprocessing worker) draws ids of its own
    os.register_at_fork(after_in_child=lambda: _generator.seed(os.urandom(32)))


def _instrumentors() -> list[Instrumentor]:
    from nblineage.kernel_ext.hooks import deferred

    return deferred()


def _transport_factory() -> Any:
    """An OpenLineage client factory when the user configured one the OpenLineage way; None (off) otherwise."""
    import os

    configured = os.environ.get("OPENLINEAGE_URL") or os.environ.get("OPENLINEAGE_CONFIG")
    configured = configured or any(key.startswith("OPENLINEAGE__TRANSPORT") for key in os.environ)
    configured = configured or Path("openlineage.yml").exists()
    if not configured:
        return None

    def make() -> Any:
        from openlineage.client import OpenLineageClient

        return OpenLineageClient().transport

    return make
