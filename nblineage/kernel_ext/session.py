"""The capture session of one kernel: hooks in, cell runs out, events to the background writer."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import sys
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nblineage import config
from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import columns, fallback, records
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.notebook import CellIds, notebook_path
from nblineage.kernel_ext.resources import Meter
from nblineage.kernel_ext.safety import report
from nblineage.kernel_ext.writer import Writer


def outbox_folder(store_url: str) -> Path:
    """Outboxes live under the Jupyter data dir, one folder per store."""
    digest = hashlib.sha256(store_url.encode()).hexdigest()[:16]
    return config.data_dir() / "outbox" / digest


class Session:
    """Installed by ``%load_ext nblineage``; removed by ``%unload_ext nblineage`` or at kernel exit."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.capture = Capture()
        self.namespace = config.namespace()
        self.notebook = notebook_path(shell.user_ns)
        self.cell_ids = CellIds(self.notebook)
        self.run_id = _run_id()
        self.started = datetime.now(timezone.utc)
        store_url = config.store_url()
        self.writer = Writer(outbox_folder(store_url), store_url, _transport_factory())
        self.instrumentors = _instrumentors()
        self._cell: dict[str, Any] | None = None
        self._closed = False

    def start(self) -> None:
        capture_module.activate(self.capture)
        for instrumentor in self.instrumentors:
            instrumentor.instrument()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self.writer.start()
        self.writer.submit([records.session_line("START", self.run_id, self.namespace, self.notebook, self.started)])
        atexit.register(self.close)

    def close(self) -> None:
        """Stop capturing, send the session's end and flush the writer."""
        if self._closed:
            return
        self._closed = True
        for name, handler in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(name, handler)
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        capture_module.activate(None)
        try:
            end = records.session_line("COMPLETE", self.run_id, self.namespace, self.notebook, _now())
            self.writer.submit([end])
        except Exception as error:
            report("session end", error)
        self.writer.stop()
        atexit.unregister(self.close)

    def pre_run_cell(self, info: Any) -> None:
        self.writer.cell_started()
        try:
            source = getattr(info, "raw_cell", "") or ""
            self.capture.take_record()
            cell_id = getattr(info, "cell_id", None) or self.cell_ids.find(source)
            cell_id = str(cell_id or f"exec-{self.shell.execution_count}")
            self.capture.cell_source, self.capture.user_ns = source, self.shell.user_ns
            self.capture.cell_job = f"{self.notebook}#{cell_id}"
            self.capture.cell_run_id = _run_id()
            self._cell = {
                "run_id": self.capture.cell_run_id,
                "cell_id": cell_id,
                "source": source,
                "started": _now(),
                "meter": Meter(),
            }
        except Exception as error:
            self._cell = None
            report("cell start", error)

    def post_run_cell(self, result: Any) -> None:
        cell, self._cell = self._cell, None
        if cell is None:
            self.writer.cell_finished()
            return
        try:
            usage = cell["meter"].read()
            fallback.apply(self.capture, cell["source"], self.shell.user_ns)
            tree = fallback.parse(cell["source"])
            if tree is not None:
                columns.remember(self.capture.column_rules, columns.column_rules(tree))
            if "mlflow" in sys.modules:
                self._read_mlflow_runs()
            self.capture.cell_source = None
            record = self.capture.take_record()
            error = result.error_in_exec or result.error_before_exec
            count = getattr(result, "execution_count", None)
            cell_id = cell["cell_id"]
            finished = records.CellResult(
                run_id=cell["run_id"],
                cell_id=str(cell_id),
                execution_count=count,
                source=cell["source"],
                started=cell["started"],
                ended=_now(),
                error=None if error is None else f"{type(error).__name__}: {error}",
                traceback=None if error is None else "".join(traceback.format_exception(error)),
                wall_seconds=usage.wall_seconds,
                cpu_seconds=usage.cpu_seconds,
                peak_memory=usage.peak_memory,
                gpus=usage.gpus,
                record=record,
            )
            self.writer.submit([records.cell_line(finished, self.namespace, self.notebook, self.run_id)])
        except Exception as error:
            report("cell end", error)
        finally:
            self.writer.cell_finished()

    def _read_mlflow_runs(self) -> None:
        """The MLflow runs the cell touched, read back for the models linked to them (mlflow_runs.py)."""
        from nblineage.kernel_ext import mlflow_runs
        from nblineage.kernel_ext.hooks.mlflow_link import note_active_run

        try:
            note_active_run(self.capture)
            record = self.capture.record
            record.mlflow = mlflow_runs.snapshots(self.capture, record.mlflow_runs)
        except Exception as error:
            report("MLflow run read-back", error)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _run_id() -> str:
    return str(uuid.uuid4())


def _instrumentors() -> list[Any]:
    from nblineage.kernel_ext.hooks import instrumentors

    return instrumentors()


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
