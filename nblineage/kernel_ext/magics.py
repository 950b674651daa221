"""``%lineage`` and ``%%lineage``: the command table (``nblineage/commands.py``) in a notebook.

``%lineage COMMAND ...`` parses its line (shell-like quoting; IPython has already put ``{expr}`` values in) with the
same parser as the ``nblineage`` command and returns the answer object, which the notebook shows as an HTML table
and plain text. ``%%lineage skip`` runs its cell with capture off; ``%%lineage`` alone runs one command a line.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

# The command table (``nblineage.commands``) is imported by the first ``%lineage`` command, not at ``%load_ext``.


class _Parser(argparse.ArgumentParser):
    """argparse that raises IPython's ``UsageError`` (with the usage, and the valid choices argparse lists)."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{message}\n{self.format_usage()}".rstrip())

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if message:
            print(message, file=sys.stderr)
        raise _Done


class _Done(Exception):
    """The parser printed what was asked (``-h``): nothing to answer."""


def parser() -> argparse.ArgumentParser:
    from nblineage import commands

    return commands.parser(commands.KERNEL, "%lineage", _Parser)


@magics_class
class LineageMagics(Magics):
    @line_cell_magic
    def lineage(self, line: str, cell: str | None = None) -> Any:
        """Lineage and governance answers about this notebook's data and models: ``%lineage help`` lists them."""
        if cell is None:
            return self.run(line)
        if line.strip() == "skip":
            return self.skip(cell)
        if line.strip():
            raise UsageError("%%lineage takes no arguments but skip; alone, it runs one %lineage command a line")
        from IPython.display import display

        for command in cell.splitlines():
            answer = self.run(command) if command.strip() else None
            if answer is not None:
                display(answer)
        return None

    def run(self, line: str) -> Any:
        """Answer one command line; the answer object (None when only printed)."""
        from nblineage.kernel_ext.surface import Kernel

        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%lineage {line}: {error}") from None
        lineage_parser = parser()
        try:
            args = lineage_parser.parse_args(words)
        except _Done:
            return None
        if not args.command:
            from nblineage import commands

            raise UsageError(f"name a command: {', '.join(commands.names(commands.KERNEL))}")
        return _answer(args, Kernel(self.shell, lineage_parser))

    def skip(self, cell: str) -> None:
        """Run ``cell`` with capture off: nothing it reads, computes or writes is recorded."""
        from contextlib import nullcontext

        from nblineage import kernel_ext

        session = kernel_ext.current(self.shell)
        with session.skipping() if session is not None else nullcontext():
            self.shell.ex(self.shell.transform_cell(cell))


def _answer(args: argparse.Namespace, kernel: Any) -> Any:
    """Run the command; a lookup or store problem is said in one line (as the command line says it)."""
    try:
        answer = args.run(kernel, args)
    except Exception as error:
        from nblineage import commands

        said = commands.problem(error)
        if said is None:
            raise
        print(f"nblineage: {said[0]}", file=sys.stderr)
        return None
    if answer is not None and getattr(args, "json", False):
        from nblineage.governance.render import json_text

        print(json_text(answer.to_json()))
        return None
    return answer


def register(shell: Any) -> None:
    """Make ``%lineage`` available in ``shell`` (also when capture is off, so ``%lineage status`` says why)."""
    shell.register_magics(LineageMagics)
