"""The resource meter reads memory only for a cell that ran long enough to matter."""

from __future__ import annotations

import time

from nblineage.kernel_ext.resources import MEMORY_AFTER, Meter


def test_a_quick_cell_reports_memory_unknown() -> None:
    usage = Meter().read()
    assert usage.wall_seconds < MEMORY_AFTER
    assert usage.peak_memory == 0


def test_a_long_cell_reports_its_peak_memory() -> None:
    meter = Meter()
    block = bytearray(64 << 20)  # touched: 64 MiB resident
    time.sleep(MEMORY_AFTER)
    usage = meter.read()
    assert usage.peak_memory >= len(block)
