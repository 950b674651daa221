"""What a cell takes: wall time, CPU time, peak memory (per cell on Linux), and GPU memory where torch sees one.

Peak memory is read only for a cell that ran ``MEMORY_AFTER`` seconds or more: a shorter one reports 0 (unknown),
which saves the ``/proc`` read on every quick cell. The kernel's peak is reset as the cell after such a reading
begins, so a quick cell costs no system call for it either: a long cell's peak is the highest resident size since
the cell after the last long one began (the quick cells between, which held what they held for less than
``MEMORY_AFTER`` each, included).
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import time
from typing import Any

_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"
_clear_refs: list[int] = [-1, -1]  # (pid, fd): the file kept open by the process that opened it (a fork opens its own)
_peak_read = [True]  # the kernel's peak was read (or never reset) since it was last reset: reset it
MEMORY_AFTER = 0.05  # seconds


class Usage:
    """What a cell took."""

    def __init__(
        self, wall_seconds: float, cpu_seconds: float, peak_memory: int, gpus: list[dict[str, Any]] | None = None
    ) -> None:
        self.wall_seconds = wall_seconds
        self.cpu_seconds = cpu_seconds
        self.peak_memory = peak_memory
        self.gpus = [] if gpus is None else gpus


class Meter:
    """Started before a cell, read after it."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        if _peak_read[0]:
            _peak_read[0] = not _reset_peak()
        _reset_gpu_peaks()

    def read(self) -> Usage:
        wall = time.perf_counter() - self._wall
        return Usage(
            wall_seconds=wall,
            cpu_seconds=time.process_time() - self._cpu,
            peak_memory=_read_peak() if wall >= MEMORY_AFTER else 0,
            gpus=_gpu_peaks(),
        )


def _reset_peak() -> bool:
    """Reset the kernel's peak resident size (Linux), so the next reading is this cell's peak. The file stays open
    between cells: one write each, instead of an open, a write and a close."""
    try:
        pid = os.getpid()
        if _clear_refs[0] != pid:
            _clear_refs[:] = [pid, os.open(_CLEAR_REFS, os.O_WRONLY | os.O_CLOEXEC)]
        os.write(_clear_refs[1], b"5")
        return True
    except OSError:
        if _clear_refs[0] == os.getpid():
            with contextlib.suppress(OSError):
                os.close(_clear_refs[1])
        _clear_refs[:] = [-1, -1]
        return False


def _read_peak() -> int:
    _peak_read[0] = True  # reset as the next cell begins
    return _peak_memory()


def _peak_memory() -> int:
    try:
        with open(_STATUS) as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the process's peak: kB on Linux, bytes on macOS
    return peak if sys.platform == "darwin" else peak * 1024


def _cuda() -> Any:
    torch = sys.modules.get("torch")  # never import torch ourselves
    try:
        return torch.cuda if torch is not None and torch.cuda.is_available() else None
    except Exception:
        return None


def _reset_gpu_peaks() -> None:
    cuda = _cuda()
    if cuda is not None:
        for device in range(cuda.device_count()):
            cuda.reset_peak_memory_stats(device)


def _gpu_peaks() -> list[dict[str, Any]]:
    cuda = _cuda()
    if cuda is None:
        return []
    return [
        {"name": cuda.get_device_name(d), "peakMemoryBytes": int(cuda.max_memory_allocated(d))}
        for d in range(cuda.device_count())
    ]
