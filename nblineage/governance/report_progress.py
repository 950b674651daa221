"""A small progress bar on standard error for reports: drawn only on a terminal, and only once the report has
taken more than a second (a quick report prints nothing)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from nblineage.governance.text import printable

DELAY = 1.0  # seconds before the bar shows
WIDTH = 24


class Progress:
    """``step(label)`` as each of ``total`` stages starts; ``close()`` at the end clears the bar's line."""

    def __init__(
        self, total: int, stream: TextIO | None = None, delay: float | None = None, title: str = "report"
    ) -> None:
        self.total, self.done, self.title = max(total, 1), 0, title
        self.delay = DELAY if delay is None else delay
        self.stream = sys.stderr if stream is None else stream
        self.started = time.monotonic()
        self.drawn = 0  # characters of the line last drawn
        self.label = ""

    @property
    def terminal(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):  # no isatty, or closed
            return False

    def step(self, label: str) -> None:
        """Stage ``label`` starts (the stages before it are done)."""
        self.label = label
        self.draw()
        self.done = min(self.done + 1, self.total)

    def draw(self) -> None:
        if not self.terminal or time.monotonic() - self.started < self.delay:
            return
        filled = WIDTH * self.done // self.total
        line = f"{self.title} [{'#' * filled}{'-' * (WIDTH - filled)}] {self.done}/{self.total} {printable(self.label)}"
        self.stream.write("\r" + line.ljust(self.drawn))
        self.stream.flush()
        self.drawn = len(line)

    def close(self) -> None:
        """The bar's line cleared, when one was drawn."""
        if self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
