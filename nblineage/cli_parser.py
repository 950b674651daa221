"""The command line's argparse parser: argparse's own, its help as wide as the terminal.

argparse finds the terminal's width with ``shutil``, whose import (zlib, bz2, lzma) is an eighth of ``nblineage
--help``'s start-up; :func:`columns` finds the same width without it.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # nor is typing imported
if TYPE_CHECKING:
    from typing import Any


def columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size()`` finds it: ``COLUMNS``, else the width of the terminal
    of standard output, else 80."""
    try:
        width = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        width = 0
    if width > 0:
        return width
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter at the width argparse itself would take (the terminal's, less 2)."""

    def __init__(self, prog: str, **options: Any) -> None:
        if options.get("width") is None:
            options["width"] = columns() - 2
        super().__init__(prog, **options)


class Parser(argparse.ArgumentParser):
    """argparse's parser with :class:`HelpFormatter`; its sub-commands' parsers are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
