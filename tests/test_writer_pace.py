"""The writer delivers what cells submit without being woken for each record: a record submitted while it delivers
is found by looking, never left for its idle time-out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from test_delivery import line, names

from nblineage.kernel_ext import writer as writers
from nblineage.kernel_ext.outbox import Outbox
from nblineage.kernel_ext.writer import Writer
from nblineage.lineage.store import Store


def test_records_of_back_to_back_cells_are_delivered_without_a_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "IDLE", 120.0)  # a record missed would wait this long
    monkeypatch.setattr(writers, "QUIET", 0.2)
    monkeypatch.setattr(writers, "KEEP_UP", 0.3)
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    Store(url).close()
    writer = Writer(Outbox(tmp_path / "outbox"), url)
    writer.start()
    try:
        sent = []
        for burst in range(3):
            for index in range(40):  # cells back to back, some submitted while a delivery runs
                writer.cell_started()
                sent.append(f"r{burst}-{index}")
                writer.submit([line(sent[-1])])
                writer.cell_finished()
                time.sleep(0.01)
            deadline = time.monotonic() + 30
            while len(names(url)) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(names(url)) == sorted(sent)  # delivered long before the idle time-out
        assert writer.attempts >= 3 and writer.problems == {}
    finally:
        writer.stop()
