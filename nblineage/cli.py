"""The ``nblineage`` command: ingest OpenLineage events and ask the lineage graph questions.

Every query command prints a table, or with ``--json`` a JSON array of objects with at least ``type``
(dataset, model or job), ``namespace``, ``name``, ``version`` (null when none) and ``depth``. Every command that
reads the store first says which one (``store: URL``, password hidden): on standard output before a table, on
standard error with ``--json``. A node is named the same way everywhere (governance/resolve.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from nblineage import __version__, config

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for a writer whose reader went away
SKIPPED_SHOWN = 5
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
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_ERROR
    from sqlalchemy.exc import DBAPIError

    from nblineage.lineage.graph import NotFound
    from nblineage.lineage.store import StoreError

    try:
        return args.run(args)
    except (NotFound, ValueError) as error:
        print(f"nblineage: {_escape(error.args[0] if error.args else error)}", file=sys.stderr)
        return EXIT_FAILED
    except StoreError as error:
        print(f"nblineage: {_escape(error)}", file=sys.stderr)
        return EXIT_ERROR
    except DBAPIError as error:
        print(f"nblineage: the store failed: {_escape(error.orig)}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nblineage", description="Lineage and governance for Jupyter notebooks.")
    parser.add_argument("--version", action="version", version=f"nblineage {__version__}")
    parser.add_argument("--url", help="SQLAlchemy URL of the store (default: NBLINEAGE_URL, else a SQLite file)")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    ingest = commands.add_parser("ingest", help="store OpenLineage events from JSON or JSON-lines files")
    ingest.add_argument("paths", nargs="+", metavar="FILE|DIR")
    ingest.set_defaults(run=_ingest)

    listing = commands.add_parser("datasets", help="list datasets and models with their newest version")
    _json_flag(listing)
    listing.set_defaults(run=_datasets)

    for name, help_text in (("upstream", "what NODE derives from"), ("downstream", "what derives from NODE")):
        walk = commands.add_parser(name, help=help_text)
        _node_args(walk, "NODE")
        walk.add_argument("--version", help="start from this version of the dataset only")
        _depth_flag(walk)
        _json_flag(walk)
        walk.set_defaults(run=_walk, direction=name)

    models = commands.add_parser("models-from", help="models derived from DATASET (any version, or one)")
    _node_args(models, "DATASET")
    models.add_argument("--version", help="only models derived from this version")
    _depth_flag(models)
    _json_flag(models)
    models.set_defaults(run=_models_from)

    explain = commands.add_parser("explain", help="everything known about MODEL: inputs, metrics, resources, location")
    explain.add_argument(
        "node", metavar="MODEL", help="a local path, a models:/ or runs:/ URI, another URI, or a name with -n"
    )
    explain.add_argument("-n", "--namespace", help="MODEL is a name in this namespace (e.g. an MLflow tracking store)")
    explain.add_argument("--version", help="this version of the model (default: its newest)")
    _json_flag(explain)
    explain.set_defaults(run=_explain)

    route = commands.add_parser("path", help="the lineage path between two nodes")
    route.add_argument("source", metavar="A", help="a local path, a URI (s3://..., models:/..., runs:/...) or a name")
    route.add_argument("target", metavar="B", help="the same for the other end")
    route.add_argument("-n", "--namespace", help="A and B are names in this namespace (unless set per end)")
    route.add_argument("--from-namespace", metavar="NS", help="A is a name in NS (overrides -n for A)")
    route.add_argument("--to-namespace", metavar="NS", help="B is a name in NS (overrides -n for B)")
    _depth_flag(route)
    _json_flag(route)
    route.set_defaults(run=_path)

    rebuild = commands.add_parser("rebuild", help="re-derive the graph from the stored events")
    rebuild.set_defaults(run=_rebuild)

    replay = commands.add_parser("replay", help="store again the records kernels set aside (see README: Delivery)")
    replay.set_defaults(run=_replay)

    for name, help_text in (("enable", "capture lineage in every IPython kernel"), ("disable", "stop doing so")):
        switch = commands.add_parser(name, help=help_text)
        scope = switch.add_mutually_exclusive_group()
        scope.add_argument("--user", dest="scope", action="store_const", const="user", help="your kernels (default)")
        scope.add_argument(
            "--sys-prefix", dest="scope", action="store_const", const="sys-prefix", help="this environment's kernels"
        )
        switch.set_defaults(run=_switch, scope="user", enabled=name == "enable")
    return parser


def _node_args(parser: argparse.ArgumentParser, metavar: str) -> None:
    parser.add_argument(
        "node", metavar=metavar, help="a local path, a URI (s3://..., models:/..., runs:/...), or a name with -n"
    )
    parser.add_argument("-n", "--namespace", help=f"{metavar} is a name in this namespace, not a path or URI")


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (see README: CLI output)")


def _depth_flag(parser: argparse.ArgumentParser) -> None:
    from nblineage.lineage.graph import DEFAULT_DEPTH

    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help=f"hops to follow (default {DEFAULT_DEPTH})")


@contextmanager
def _store(args: argparse.Namespace, *, writer: bool = False) -> Iterator[Any]:
    """The store of ``--url`` (else NBLINEAGE_URL, else the default file). A reader announces it as
    ``store: URL`` and never creates it; the writer (``ingest``) creates it when it does not exist yet."""
    from nblineage.lineage.store import Store

    url = args.url or config.store_url()
    create = writer or _kernels_left_records_for(url)  # kernels were configured with it: it is no typo
    with Store(url, create=create, connect_timeout=CONNECT_TIMEOUT) as store:
        if not writer:
            print(f"store: {_cell(store.display_url)}", file=sys.stderr if getattr(args, "json", False) else sys.stdout)
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


def _ref(store, node: str, namespace: str | None, version: str | None = None):
    from nblineage.governance.resolve import resolve_node

    return resolve_node(store, node, namespace, version)


def _ingest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nblineage.lineage.ingest import SUFFIXES, event_files, ingest_file

    skipped: list[Path] = []
    files = list(event_files(args.paths, skipped))
    stored = duplicates = errors = 0
    kinds = ", ".join(SUFFIXES)
    with _store(args, writer=True) as store:
        try:
            for path in files:
                result = ingest_file(store, path)
                for error in result.errors:
                    print(f"error: {_escape(error)}", file=sys.stderr)
                stored, duplicates = stored + result.stored, duplicates + result.duplicates
                errors += len(result.errors)
        finally:  # also when the store fails part way: what was stored is said
            ignored = f"; {len(skipped)} other files skipped (not {kinds})" if skipped else ""
            print(
                f"{stored} events stored, {duplicates} already stored, {errors} rejected, "
                f"from {len(files)} files{ignored}"
            )
    if skipped:
        shown = ", ".join(_cell(str(path)) for path in skipped[:SKIPPED_SHOWN])
        more = f" and {len(skipped) - SKIPPED_SHOWN} more" if len(skipped) > SKIPPED_SHOWN else ""
        print(f"skipped (only {kinds} files in a folder are read): {shown}{more}", file=sys.stderr)
    return EXIT_FAILED if errors or not files else EXIT_OK


def _datasets(args: argparse.Namespace) -> int:
    from nblineage.lineage.graph import datasets

    with _store(args) as store:
        rows = [summary.to_json() for summary in datasets(store)]
    _print(rows, args.json, ("type", "namespace", "name", "version", "versions"))
    return EXIT_OK


def _walk(args: argparse.Namespace) -> int:
    from nblineage.lineage import graph

    with _store(args) as store:
        ref = _ref(store, args.node, args.namespace, args.version)
        nodes = getattr(graph, args.direction)(store, ref, args.depth)
    _print([node.to_json() for node in nodes], args.json)
    return EXIT_OK


def _models_from(args: argparse.Namespace) -> int:
    from nblineage.governance.questions import models_derived_from
    from nblineage.lineage.graph import DatasetRef

    with _store(args) as store:
        ref = _ref(store, args.node, args.namespace, args.version)
        if not isinstance(ref, DatasetRef):
            raise ValueError(f"{args.node!r} is a job, not a dataset")
        models = models_derived_from(store, ref, args.depth)
    rows = [{"type": "model", **model.to_json()} for model in models]
    _print(rows, args.json, _MODEL_COLUMNS, [_model_row(row) for row in rows])
    return EXIT_OK


_MODEL_COLUMNS = ("kind", "namespace", "name", "version", "depth", "framework", "class", "mlflow_run", "registered")


def _model_row(model: dict[str, Any]) -> dict[str, Any]:
    """A ``models-from`` row for the table: the class without its module, the registry version as name/version."""
    model_class, name, version = model.get("modelClass"), model.get("registeredName"), model.get("registeredVersion")
    return {
        **model,
        "class": model_class.rsplit(".", 1)[-1] if isinstance(model_class, str) else None,
        "mlflow_run": model.get("mlflowRunId"),
        "registered": f"{name}/{version}" if name and version else name,
    }


def _explain(args: argparse.Namespace) -> int:
    from nblineage.governance import text
    from nblineage.governance.questions import explain
    from nblineage.governance.resolve import resolve_model

    with _store(args) as store:
        answer = explain(store, resolve_model(store, args.node, args.namespace, args.version))
    if args.json:
        print(_json(answer.to_json()))
    else:
        print(text.explanation(answer))
    return EXIT_OK


def _path(args: argparse.Namespace) -> int:
    from nblineage.lineage.graph import path

    with _store(args) as store:
        source = _ref(store, args.source, args.from_namespace or args.namespace)
        target = _ref(store, args.target, args.to_namespace or args.namespace)
        nodes = path(store, source, target, args.depth)
    _print([node.to_json() for node in nodes], args.json)
    if not nodes:
        print(f"nblineage: no lineage path between {args.source} and {args.target}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _rebuild(args: argparse.Namespace) -> int:
    with _store(args) as store:
        count = store.rebuild()
    print(f"graph rebuilt from {count} events")
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from nblineage.kernel_ext import delivery
    from nblineage.kernel_ext.outbox import DEAD_LETTERS, set_aside_count

    url = args.url or config.store_url()
    with _store(args, writer=True) as store:
        try:
            store_id = delivery.store_id(store)
        except Exception:
            store_id = None
        where = delivery.leftovers(delivery.outbox_folder(url.strip()).name, store_id)
        delivered, kept = delivery.replay(store, where)
    print(f"{delivered} set-aside records stored, {kept} still set aside")
    for folder in where:
        if kept and set_aside_count(folder):
            print(f"still set aside (each with its reason): {_cell(str(folder / DEAD_LETTERS))}", file=sys.stderr)
    return EXIT_FAILED if kept else EXIT_OK


def _switch(args: argparse.Namespace) -> int:
    from nblineage.kernel_ext.startup import set_enabled

    path = set_enabled(args.scope, args.enabled)
    state = "on" if args.enabled else "off"
    print(f"nblineage capture is {state} for {args.scope} kernels ({path})")
    if args.enabled and config.disabled():
        print("note: NBLINEAGE_DISABLED is set here, and it wins", file=sys.stderr)
    return EXIT_OK


def _print(
    rows: list[dict[str, Any]],
    as_json: bool,
    columns: Sequence[str] = (),
    table: list[dict[str, Any]] | None = None,
) -> None:
    """``rows`` as JSON, or as a table of ``columns`` (of ``table``, the rows made for reading, when given)."""
    if as_json:
        print(_json(rows))
        return
    columns = columns or ("type", "namespace", "name", "version", "depth", "precision")
    if not rows:
        print("(none)")
        return
    cells = [[_cell(row.get(column)) for column in columns] for row in (rows if table is None else table)]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    print("  ".join(column.upper().ljust(width) for column, width in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    from nblineage.governance.text import clean

    return clean(value)


def _escape(value: Any) -> str:
    from nblineage.governance.text import printable

    return printable(value)


def _json(value: Any) -> str:
    """JSON for a terminal: the same data, with control and format characters written as \\u escapes."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(char if char.isprintable() or char == "\n" else _u_escape(char) for char in text)


def _u_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


if __name__ == "__main__":
    sys.exit(main())
