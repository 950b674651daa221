"""One table of commands for every surface: the ``nblineage`` command line and the ``%lineage`` magic.

A command is a name, a help line, its arguments (argparse) and a function that returns an answer (an
``governance.answers.Answer``: ``to_json()``, text, HTML). Surfaces only parse with :func:`parser` and render.
A command added here works in both, with the same options and the same answers; ``where`` says which surfaces
offer it (``cli``, ``kernel``: kernel commands need a running kernel's capture, CLI ones change files or the store).

Nothing heavy (SQLAlchemy, pandas, IPython) is imported to build the parser: command functions import lazily.
Importing this module imports neither ``argparse`` nor ``typing`` (``nblineage --version`` needs neither).
"""

from __future__ import annotations

from collections.abc import Callable

from nblineage.governance import auditcmd as _audit
from nblineage.lineage.limits import DEFAULT_DEPTH

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Collection
    from contextlib import AbstractContextManager
    from typing import Any

    from nblineage.governance.answers import Answer
    from nblineage.lineage.graph import DatasetRef, Ref
    from nblineage.lineage.store import Store

CLI, KERNEL = "cli", "kernel"
BOTH = frozenset({CLI, KERNEL})


class Surface:
    """What a command needs from where it runs: the store, a place for remarks, and how typed names become nodes
    (the kernel also knows its variables)."""

    def store(self, args: argparse.Namespace, *, writer: bool = False) -> AbstractContextManager[Store]:
        raise NotImplementedError

    def note(self, text: str) -> None:
        """A remark besides the answer (the command line's standard error)."""
        raise NotImplementedError

    def node(self, store: Store, text: str, namespace: str | None, version: str | None = None) -> Ref:
        from nblineage.governance.resolve import resolve_node

        return resolve_node(store, text, namespace, version)

    def model(self, store: Store, text: str, namespace: str | None, version: str | None = None) -> Any:
        """The model version ``text`` names (a ``DatasetRef``), or, in a kernel, an unsaved fit."""
        from nblineage.governance.resolve import resolve_model

        return resolve_model(store, text, namespace, version)


Run = Callable[[Surface, "argparse.Namespace"], "Answer"]


class Command:
    """One command: ``arguments`` adds its options to its parser; ``run`` answers; ``where`` offers it."""

    __slots__ = ("arguments", "help", "name", "run", "where")

    def __init__(
        self,
        name: str,
        help: str,
        arguments: Callable[[argparse.ArgumentParser], None],
        run: Run,
        where: frozenset[str] = BOTH,
    ) -> None:
        self.name, self.help, self.arguments, self.run, self.where = name, help, arguments, run, where


EXIT_FAILED, EXIT_ERROR = 1, 2


def problem(error: BaseException) -> tuple[str, int] | None:
    """What to say, in one line, about an error a command raised and the exit status it stands for (1: what was
    asked for is not there; 2: the store cannot be used); None for an error that is no user's problem (a bug)."""
    import sqlite3
    import sys

    from nblineage.governance.text import printable

    lookup = sys.modules.get("nblineage.lineage.graph")
    stores = sys.modules.get("nblineage.lineage.store")
    database = sys.modules.get("sqlalchemy.exc")
    if isinstance(error, ValueError) or (lookup is not None and isinstance(error, lookup.NotFound)):
        return printable(error.args[0] if error.args else error), EXIT_FAILED
    if stores is not None and isinstance(error, stores.StoreError):
        return printable(error), EXIT_ERROR
    if database is not None and isinstance(error, database.DBAPIError):
        return f"the store failed: {printable(error.orig)}", EXIT_ERROR
    if isinstance(error, sqlite3.Error):  # a SQLite store's reads (lineage/sqlite_reader.py)
        return f"the store failed: {printable(error)}", EXIT_ERROR
    return None


# --- arguments ---------------------------------------------------------------------------------------------------


def _node(metavar: str, help_text: str = "a local path, a URI (s3://..., models:/..., runs:/...), or a name with -n"):
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("node", metavar=metavar, help=help_text)
        parser.add_argument("-n", "--namespace", help=f"{metavar} is a name in this namespace, not a path or URI")

    return add


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (see README: CLI output)")


def _depth_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help=f"hops to follow (default {DEFAULT_DEPTH})")


def _all(*parts: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
    def add(parser: argparse.ArgumentParser) -> None:
        for part in parts:
            part(parser)

    return add


def _version_flag(help_text: str) -> Callable[[argparse.ArgumentParser], None]:
    return lambda parser: parser.add_argument("--version", help=help_text)


def _none(parser: argparse.ArgumentParser) -> None:
    """A command without arguments."""


def _path_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="A", help="a local path, a URI (s3://..., models:/..., runs:/...) or a name")
    parser.add_argument("target", metavar="B", help="the same for the other end")
    parser.add_argument("-n", "--namespace", help="A and B are names in this namespace (unless set per end)")
    parser.add_argument("--from-namespace", metavar="NS", help="A is a name in NS (overrides -n for A)")
    parser.add_argument("--to-namespace", metavar="NS", help="B is a name in NS (overrides -n for B)")
    _depth_flag(parser)
    _json_flag(parser)


def _ingest_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR")


def _switch_args(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--user", dest="scope", action="store_const", const="user", help="your kernels (default)")
    scope.add_argument(
        "--sys-prefix", dest="scope", action="store_const", const="sys-prefix", help="this environment's kernels"
    )
    parser.set_defaults(scope="user")


# --- the questions -----------------------------------------------------------------------------------------------


def datasets(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.lists import Datasets
    from nblineage.lineage.graph import datasets as all_datasets

    with surface.store(args) as store:
        return Datasets(tuple(all_datasets(store)))


def walk(direction: str) -> Run:
    def run(surface: Surface, args: argparse.Namespace) -> Answer:
        from nblineage.governance.lists import Nodes
        from nblineage.lineage import graph

        with surface.store(args) as store:
            ref = surface.node(store, args.node, args.namespace, args.version)
            return Nodes(tuple(getattr(graph, direction)(store, ref, args.depth)))

    return run


def models_from(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.lists import Models
    from nblineage.governance.questions import models_derived_from

    with surface.store(args) as store:
        return Models(tuple(models_derived_from(store, _dataset(surface, store, args), args.depth)))


def _dataset(surface: Surface, store: Store, args: argparse.Namespace) -> DatasetRef:
    """The dataset ``args.node`` names (at ``args.version``); ValueError for a job."""
    from nblineage.lineage.graph import DatasetRef

    ref = surface.node(store, args.node, args.namespace, args.version)
    if not isinstance(ref, DatasetRef):
        raise ValueError(f"{args.node!r} is a job, not a dataset")
    return ref


def explain(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.fit import Fit, explain_fit
    from nblineage.governance.questions import explain as explain_model

    with surface.store(args) as store:
        model: DatasetRef | Fit = surface.model(store, args.node, args.namespace, args.version)
        return explain_fit(store, model) if isinstance(model, Fit) else explain_model(store, model)


def path(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.lists import Nodes
    from nblineage.lineage.graph import path as find_path

    with surface.store(args) as store:
        source = surface.node(store, args.source, args.from_namespace or args.namespace)
        target = surface.node(store, args.target, args.to_namespace or args.namespace)
        nodes = tuple(find_path(store, source, target, args.depth))
    return Nodes(nodes, missing=f"no lineage path between {args.source} and {args.target}")


# --- the store and the machine (command line) --------------------------------------------------------------------


def ingest(surface: Surface, args: argparse.Namespace) -> Answer:
    from pathlib import Path

    from nblineage.governance.lists import Report
    from nblineage.governance.text import clean, printable
    from nblineage.lineage.ingest import SUFFIXES, event_files, ingest_file

    skipped: list[Path] = []
    files = list(event_files(args.paths, skipped))
    stored = duplicates = errors = 0
    kinds = ", ".join(SUFFIXES)
    with surface.store(args, writer=True) as store:
        try:
            for file in files:
                result = ingest_file(store, file)
                for error in result.errors:
                    surface.note(f"error: {printable(error)}")
                stored, duplicates = stored + result.stored, duplicates + result.duplicates
                errors += len(result.errors)
        except BaseException:  # the store failed part way: what was stored is said
            surface.note(_ingested(stored, duplicates, errors, files, skipped, kinds))
            raise
    if skipped:
        shown = ", ".join(clean(str(file)) for file in skipped[:SKIPPED_SHOWN])
        more = f" and {len(skipped) - SKIPPED_SHOWN} more" if len(skipped) > SKIPPED_SHOWN else ""
        surface.note(f"skipped (only {kinds} files in a folder are read): {shown}{more}")
    return Report((_ingested(stored, duplicates, errors, files, skipped, kinds),), ok=not errors and bool(files))


SKIPPED_SHOWN = 5


def _ingested(stored: int, duplicates: int, errors: int, files: list, skipped: list, kinds: str) -> str:
    ignored = f"; {len(skipped)} other files skipped (not {kinds})" if skipped else ""
    return f"{stored} events stored, {duplicates} already stored, {errors} rejected, from {len(files)} files{ignored}"


def rebuild(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.lists import Report

    with surface.store(args) as store:
        count = store.rebuild()
    return Report((f"graph rebuilt from {count} events",))


def replay(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage import config
    from nblineage.governance.lists import Report
    from nblineage.governance.text import clean
    from nblineage.kernel_ext import delivery
    from nblineage.kernel_ext.outbox import DEAD_LETTERS, set_aside_count

    url = args.url or config.store_url()
    with surface.store(args, writer=True) as store:
        try:
            store_id = delivery.store_id(store)
        except Exception:
            store_id = None
        where = delivery.leftovers(delivery.outbox_folder(url.strip()).name, store_id)
        delivered, kept = delivery.replay(store, where)
    for folder in where:
        if kept and set_aside_count(folder):
            surface.note(f"still set aside (each with its reason): {clean(str(folder / DEAD_LETTERS))}")
    return Report((f"{delivered} set-aside records stored, {kept} still set aside",), ok=not kept)


def switch(enabled: bool) -> Run:
    def run(surface: Surface, args: argparse.Namespace) -> Answer:
        from nblineage import config
        from nblineage.governance.lists import Report
        from nblineage.kernel_ext.startup import set_enabled

        where = set_enabled(args.scope, enabled)
        if enabled and config.disabled():
            surface.note("note: NBLINEAGE_DISABLED is set here, and it wins")
        state = "on" if enabled else "off"
        return Report((f"nblineage capture is {state} for {args.scope} kernels ({where})",))

    return run


# --- this kernel (%lineage) --------------------------------------------------------------------------------------


def kernel(method: str) -> Run:
    """A command only a kernel answers: the kernel surface's method of that name."""
    return lambda surface, args: getattr(surface, method)(args)


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the JSON-lines file to write (replaced if it exists)")


def _show_args(parser: argparse.ArgumentParser) -> None:
    _node("NODE", "a variable, a local path, a URI (s3://..., models:/..., runs:/...), or a name with -n")(parser)
    _version_flag("centre on this version")(parser)
    parser.add_argument("--depth", type=int, default=1, help="dataset hops shown each way at first (default 1)")


# --- impact (governance) -----------------------------------------------------------------------------------------


def _impact_args(parser: argparse.ArgumentParser) -> None:
    _node("DATASET")(parser)
    _version_flag("only what derives from this version")(parser)
    _depth_flag(parser)
    _json_flag(parser)
    parser.add_argument("--csv", metavar="FILE", help="also write one row per affected item to FILE (CSV)")


def impact(surface: Surface, args: argparse.Namespace) -> Answer:
    import os

    from nblineage.governance.impact import impact as find_impact
    from nblineage.governance.impact import write_csv
    from nblineage.governance.text import clean

    with surface.store(args) as store:
        answer = find_impact(store, _dataset(surface, store, args), args.version, args.depth)
    if getattr(args, "csv", None):
        try:
            count = write_csv(answer, args.csv)
        except OSError as error:
            raise ValueError(f"cannot write {clean(args.csv)}: {error.strerror or error}") from None
        surface.note(f"wrote {count} rows to {clean(os.path.abspath(args.csv))}")
    return answer


# --- reports -----------------------------------------------------------------------------------------------------


def _report_args(parser: argparse.ArgumentParser) -> None:
    _node("MODEL|DATASET", "a local path, a URI (s3://..., models:/..., runs:/...), or a name with -n")(parser)
    _version_flag("this version (default: the newest)")(parser)
    parser.add_argument("--format", choices=("html", "json", "pdf"), help="default: from FILE's suffix, else html")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write (replaced)")
    parser.add_argument("--policy", metavar="FILE", help="the policy file (default: the one capture finds)")
    parser.add_argument("--key", metavar="FILE", help="the audit log's signing key (default: yours)")
    _depth_flag(parser)


def report(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.lists import Report
    from nblineage.governance.report_export import export, format_of

    fmt = format_of(args.output, args.format)
    with surface.store(args) as store:
        ref = surface.node(store, args.node, args.namespace, args.version)
        done = export(store, ref, fmt, args.output, depth=args.depth, policy_file=args.policy, key_path=args.key)
    content = done.content
    audit = f"audit record {done.audit_index} appended" if done.audit_index is not None else content.audit.note
    return Report(
        (
            f"{fmt} report about the {content.kind} {content.name} @ {content.version or '-'} written to "
            f"{done.path} ({done.size} bytes, sha256 {done.sha256})",
            str(audit),
        )
    )


def quality(surface: Surface, args: argparse.Namespace) -> Answer:
    from nblineage.governance.quality_answer import dataset_quality
    from nblineage.lineage.graph import DatasetRef

    with surface.store(args) as store:
        ref = surface.node(store, args.node, args.namespace, args.version)
        if not isinstance(ref, DatasetRef):
            raise ValueError(f"{args.node!r} is a job, not a dataset")
        return dataset_quality(store, ref)


COMMANDS: tuple[Command, ...] = (
    Command(
        "status",
        "capture in this kernel: on or off, the store, hooks, hook errors, records waiting",
        _none,
        kernel("status"),
        frozenset({KERNEL}),
    ),
    Command("ingest", "store OpenLineage events from JSON or JSON-lines files", _ingest_args, ingest, frozenset({CLI})),
    Command("datasets", "list datasets and models with their newest version", _json_flag, datasets),
    Command(
        "upstream",
        "what NODE derives from",
        _all(_node("NODE"), _version_flag("start from this version of the dataset only"), _depth_flag, _json_flag),
        walk("upstream"),
    ),
    Command(
        "downstream",
        "what derives from NODE",
        _all(_node("NODE"), _version_flag("start from this version of the dataset only"), _depth_flag, _json_flag),
        walk("downstream"),
    ),
    Command(
        "models-from",
        "models derived from DATASET (any version, or one)",
        _all(_node("DATASET"), _version_flag("only models derived from this version"), _depth_flag, _json_flag),
        models_from,
    ),
    Command(
        "explain",
        "everything known about MODEL: inputs, metrics, resources, location",
        _all(
            _node("MODEL", "a local path, a models:/ or runs:/ URI, another URI, or a name with -n"),
            _version_flag("this version of the model (default: its newest)"),
            _json_flag,
        ),
        explain,
    ),
    Command("path", "the lineage path between two nodes", _path_args, path),
    Command("show", "an interactive lineage graph centred on NODE", _show_args, kernel("show"), frozenset({KERNEL})),
    Command("on", "capture lineage in this kernel", _none, kernel("capture_on"), frozenset({KERNEL})),
    Command("off", "stop capturing lineage in this kernel", _none, kernel("capture_off"), frozenset({KERNEL})),
    Command(
        "export",
        "this kernel session's OpenLineage events as JSON lines to FILE",
        _export_args,
        kernel("export"),
        frozenset({KERNEL}),
    ),
    Command("help", "the commands and their options", _none, kernel("help"), frozenset({KERNEL})),
    Command("rebuild", "re-derive the graph from the stored events", _none, rebuild, frozenset({CLI})),
    Command(
        "replay", "store again the records kernels set aside (see README: Delivery)", _none, replay, frozenset({CLI})
    ),
    Command("enable", "capture lineage in every IPython kernel", _switch_args, switch(True), frozenset({CLI})),
    Command("disable", "stop doing so", _switch_args, switch(False), frozenset({CLI})),
    Command("audit", _audit.HELP, _audit.arguments, _audit.run),
    Command(  # defined at the end of this module
        "policy",
        "check a policy file: policy check [FILE] (see README: Policy)",
        lambda parser: _policy_args(parser),
        lambda surface, args: policy_check(surface, args),
    ),
    Command(
        "impact", "what to retrain, regenerate or delete if DATASET (or a version) is withdrawn", _impact_args, impact
    ),
    Command("report", "an audit report (model card or datasheet) about MODEL or DATASET", _report_args, report),
    Command(
        "quality",
        "the latest data-quality result of each suite on DATASET (great-expectations and other producers)",
        _all(_node("DATASET"), _version_flag("this version of the dataset (default: its newest)"), _json_flag),
        quality,
    ),
)


def parser(
    where: str,
    prog: str,
    parser_class: type[argparse.ArgumentParser] | None = None,
    only: Collection[str] | None = None,
) -> argparse.ArgumentParser:
    """The parser of the commands ``where`` (``cli`` or ``kernel``) offers; each sets ``run`` and ``command``.
    ``parser_class`` defaults to ``argparse.ArgumentParser``. With ``only``, the other commands are named (for help
    and choices) but their arguments are not built: the command line builds just the one it runs."""
    import argparse

    make = parser_class or argparse.ArgumentParser
    top = make(prog=prog, description="Lineage and governance for Jupyter notebooks.")
    top.add_argument("--url", help="SQLAlchemy URL of the store (default: NBLINEAGE_URL, else a SQLite file)")
    commands = top.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for command in COMMANDS:
        if where in command.where:
            sub = commands.add_parser(command.name, help=command.help, description=command.help)
            if only is None or command.name in only:
                command.arguments(sub)
                sub.set_defaults(run=command.run)
    return top


def names(where: str) -> list[str]:
    """The commands ``where`` offers, in table order."""
    return [command.name for command in COMMANDS if where in command.where]


# --- the policy (governance/policy.py) ------------------------------------------------------------------------------


def _policy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["check"], help="check: read and check the policy file")
    parser.add_argument("file", nargs="?", metavar="FILE", help="the policy file (default: the one that applies)")


def policy_check(surface: Surface, args: argparse.Namespace) -> Answer:
    """``policy check [FILE]``: the policy file read and checked (a ``PolicyError``, a ValueError, exits 1 with
    ``file:line: what is wrong``), summed up when valid."""
    from nblineage.governance.lists import Report
    from nblineage.governance.policy import find, load
    from nblineage.governance.text import printable

    path = args.file or find()
    if path is None:
        raise ValueError(
            "no policy file: NBLINEAGE_POLICY is not set and there is no nblineage-policy.yaml here, above, or in "
            "the Jupyter config dir"
        )
    return Report(tuple(printable(line) for line in load(path).summary()))
