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


def test_a_long_cell_after_quick_ones_reports_its_own_peak_not_an_earlier_one() -> None:
    """The kernel's peak is reset as the cell after a long one begins (quick cells cost no reset): what an
    earlier long cell held and freed is not the next long cell's peak."""
    meter = Meter()
    first = bytearray(256 << 20)  # touched: 256 MiB resident, then freed
    time.sleep(MEMORY_AFTER)
    assert meter.read().peak_memory >= len(first)
    del first
    for _ in range(3):
        assert Meter().read().peak_memory == 0  # quick cells
    resident = _resident()  # the process's own size (pytest's imports), the freed block gone
    meter = Meter()
    second = bytearray(16 << 20)
    time.sleep(MEMORY_AFTER)
    peak = meter.read().peak_memory
    assert len(second) and resident <= peak < resident + (128 << 20)  # (16 MiB may come from memory freed before)


def _resident() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
