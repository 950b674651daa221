"""The ``nblineage`` command: ingest OpenLineage events and ask the lineage graph questions.

Every query command prints a table, or with ``--json`` a JSON array of objects with at least ``type``
(dataset, model or job), ``namespace``, ``name``, ``version`` (null when none) and ``depth``. Every command that
reads the store first says which one (``store: URL``, password hidden): on standard output before a table, on
standard error with ``--json``. A node is named the same way everywhere (governance/resolve.py).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from nblineage import __version__, commands

TYPE_CHECKING = False  # start-up: neither typing nor argparse is imported for ``--version``
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Sequence
    from typing import Any

EXIT_OK = 0
EXIT_FAILED, EXIT_ERROR = commands.EXIT_FAILED, commands.EXIT_ERROR
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for a writer whose reader went away
CONNECT_TIMEOUT = 10.0  # seconds to reach the store: a server that accepts and never answers ends the command


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status. Output cut short by its reader (``| head``) ends quietly."""
    try:
        status = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    return status


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit raises nothing (the Python docs' recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a real file (in-process callers): nothing will be flushed to a closed pipe


def _main(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:  # at once: nothing else to import
        print(f"nblineage {__version__}")
        return EXIT_OK
    parser = _parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        return _render(args.run(CommandLine(), args), getattr(args, "json", False))
    except Exception as error:
        said = commands.problem(error)
        if said is None:
            raise
        print(f"nblineage: {said[0]}", file=sys.stderr)
        return said[1]


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; given ``argv``, only the commands it names have their arguments built."""
    from nblineage.cli_parser import Parser

    only = None if argv is None else set(argv)
    parser = commands.parser(commands.CLI, "nblineage", Parser, only=only)
    parser.add_argument("--version", action="version", version=f"nblineage {__version__}")
    return parser


def _render(answer: Any, as_json: bool) -> int:
    """Print ``answer`` (a table or text, or JSON); the exit status it stands for. An answer that is missing
    (no path) is said on standard error."""
    from dataclasses import replace

    from nblineage.governance.lists import Nodes, Report
    from nblineage.governance.render import json_text, text

    missing = answer.missing if isinstance(answer, Nodes) and not answer.nodes else None
    if missing:
        answer = replace(answer, missing=None)
    print(json_text(answer.to_json()) if as_json else text(answer))
    if missing:
        print(f"nblineage: {_escape(missing)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if isinstance(answer, Report) and not answer.ok else EXIT_OK


class CommandLine(commands.Surface):
    """The command line: remarks on standard error; a reader announces its store and delivers what kernels left."""

    def note(self, text: str) -> None:
        print(text, file=sys.stderr)

    @contextmanager
    def store(self, args: argparse.Namespace, *, writer: bool = False) -> Iterator[Any]:
        """The store of ``--url`` (else NBLINEAGE_URL, else the default file). A reader announces it as
        ``store: URL`` and never creates it; the writer (``ingest``) creates it when it does not exist yet."""
        from nblineage import config
        from nblineage.lineage.store import Store

        url = args.url or config.store_url()
        create = writer or _kernels_left_records_for(url)  # kernels were configured with it: it is no typo
        with Store(url, create=create, connect_timeout=CONNECT_TIMEOUT) as store:
            if not writer:
                shown = f"store: {_cell(store.display_url)}"
                data = getattr(args, "json", False) or getattr(args, "raw", False)  # stdout holds only the data
                print(shown, file=sys.stderr if data else sys.stdout)
            _deliver_leftovers(store, url)
            yield store


def _kernels_left_records_for(url: str) -> bool:
    """Whether kernels configured with this very URL left records that wait for its store."""
    from nblineage.kernel_ext.delivery import outbox_folder
    from nblineage.lineage.urls import url_problem

    if url_problem(url):
        return False
    folder = outbox_folder(url.strip())
    return folder.is_dir() and next(folder.glob("*.jsonl"), None) is not None


def _deliver_leftovers(store, url: str) -> None:
    """Deliver the outboxes that kernels which are gone left for this store (a batch run's last records, a kernel
    stopped while the store was down); a store that fails here only leaves them for later."""
    from nblineage.kernel_ext import delivery

    if not delivery.anything_left():
        return
    try:
        store_id = delivery.store_id(store)
    except Exception:
        store_id = None  # a reader that may not write: the folders of this URL only
    try:
        where = delivery.leftovers(delivery.outbox_folder(url.strip()).name, store_id)
        count = delivery.deliver_leftovers(store, where)
    except Exception as error:
        print(f"nblineage: records that kernels left wait for later: {delivery.reason(error)}", file=sys.stderr)
        return
    if count:
        print(f"nblineage: delivered {count} records that kernels left in their outboxes", file=sys.stderr)


def _cell(value: Any) -> str:
    from nblineage.governance.text import clean

    return clean(value)


def _escape(value: Any) -> str:
    from nblineage.governance.text import printable

    return printable(value)


if __name__ == "__main__":
    sys.exit(main())
