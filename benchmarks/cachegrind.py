"""Cost per step of a program run under Valgrind's cachegrind: instructions and estimated cycles, which a loaded
machine does not change (the work is simulated, not timed).

A program's cost per step is the difference between a long run and a short one divided by the steps between them,
so start-up, imports and warm-up cancel out. Estimated cycles weigh the simulated cache: an L1 hit 1, a last-level
hit 5, a memory access 35 (the weights of the iai and CodSpeed benchmark harnesses).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

EVENTS = ("Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw")


@dataclass(frozen=True)
class Cost:
    """Instructions executed and cycles estimated from the simulated cache."""

    instructions: float
    cycles: float


def totals(out_file: Path) -> dict[str, int]:
    """The ``summary:`` counts of a cachegrind output file, by event name."""
    text = out_file.read_text()
    names = next(line.split()[1:] for line in text.splitlines() if line.startswith("events:"))
    counts = next(line.split()[1:] for line in text.splitlines() if line.startswith("summary:"))
    return dict(zip(names, map(int, counts), strict=True))


def cost(counts: dict[str, int]) -> Cost:
    """Instructions and estimated cycles of ``counts`` (cachegrind's events with ``--cache-sim=yes``)."""
    accesses = counts["Ir"] + counts["Dr"] + counts["Dw"]
    l1_misses = counts["I1mr"] + counts["D1mr"] + counts["D1mw"]
    memory = counts["ILmr"] + counts["DLmr"] + counts["DLmw"]
    return Cost(counts["Ir"], (accesses - l1_misses) + 5 * (l1_misses - memory) + 35 * memory)


def simulated(command: list[str], env: dict[str, str] | None = None) -> dict[str, int]:
    """Run ``command`` under cachegrind with the cache simulated; its summary counts. Raises CalledProcessError
    with the program's output when it fails."""
    with tempfile.TemporaryDirectory() as folder:
        out_file = Path(folder) / "cachegrind.out"
        valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out_file}"]
        subprocess.run([*valgrind, *command], env={**os.environ, **(env or {})}, capture_output=True, check=True)
        return totals(out_file)


def per_step(command: Callable[[int], list[str]], short: int, long: int, env: dict[str, str] | None = None) -> Cost:
    """One step's cost: ``command(long)`` less ``command(short)``, over ``long - short`` steps; both run at once."""
    with ThreadPoolExecutor(2) as pool:
        few, many = pool.map(lambda steps: simulated(command(steps), env), (short, long))
    difference = {event: many[event] - few[event] for event in EVENTS}
    whole = cost(difference)
    return Cost(whole.instructions / (long - short), whole.cycles / (long - short))
