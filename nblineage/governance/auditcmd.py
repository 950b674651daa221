"""The ``audit`` command of the command table: ``audit verify|checkpoint|export|prove|consistency|key``.

One command with an action (argparse sub-commands), for the command line and ``%lineage`` alike. Actions that print
data meant for files or other programs (export, checkpoint, key) set ``raw``: the command line then says its
``store:`` line on standard error, so standard output holds only the data; ``prove`` and ``consistency`` print JSON.
Nothing heavy is imported to build the parser (not even ``argparse``, ``pathlib`` or ``typing``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

HELP = "the tamper-evident audit log: verify, checkpoint, export, prove (see README: Audit log)"


def arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action")
    actions.required = True

    verify = actions.add_parser("verify", help="check every record, and the log against a saved checkpoint")
    verify.add_argument("--checkpoint", metavar="FILE", help="a checkpoint saved earlier: the log must extend it")
    verify.add_argument("--public-key", metavar="VKEY|FILE", help="the key checkpoints are signed with")
    verify.add_argument("--export", metavar="FILE", help="verify this export (JSON lines) instead of the store")
    _key(verify)

    checkpoint = actions.add_parser("checkpoint", help="sign a checkpoint of the log as it is now")
    _output(checkpoint, "write the checkpoint to FILE (default: standard output)")
    _key(checkpoint)
    checkpoint.set_defaults(raw=True)

    export = actions.add_parser("export", help="the log's records as JSON lines")
    _output(export, "write them to FILE (default: standard output)")
    export.set_defaults(raw=True)

    prove = actions.add_parser("prove", help="the inclusion proof of record N, as JSON")
    prove.add_argument("index", metavar="N", type=int, help="the record's index (0-based)")
    prove.add_argument("--checkpoint", metavar="FILE", help="prove against this checkpoint (default: a new one)")
    _key(prove)
    prove.set_defaults(json=True)

    consistency = actions.add_parser("consistency", help="the proof that the log extends an older checkpoint, as JSON")
    consistency.add_argument("old", metavar="FILE", help="the older checkpoint")
    consistency.add_argument("--checkpoint", metavar="FILE", help="the newer checkpoint (default: a new one)")
    _key(consistency)
    consistency.set_defaults(json=True)

    key = actions.add_parser("key", help="the public key (vkey) that checks this machine's checkpoints")
    _output(key, "write it to FILE (default: standard output)")
    _key(key)
    key.set_defaults(raw=True)


def _key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        metavar="PATH",
        help="the signing key file (default: NBLINEAGE_AUDIT_KEY, else one in the Jupyter config dir)",
    )


def _output(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help=help_text)


def run(surface: Any, args: argparse.Namespace) -> Any:
    return _ACTIONS[args.action](surface, args)


def _report(lines: tuple[str, ...], ok: bool = True) -> Any:
    from nblineage.governance.lists import Report

    return Report(lines, ok=ok)


def _read(path: str, what: str) -> str:
    from pathlib import Path

    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the {what} {path}: {getattr(error, 'strerror', None) or error}") from None


def _write(path: str, text: str) -> None:
    from pathlib import Path

    try:
        Path(path).expanduser().write_text(text, encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror or error}") from None


def verify(surface: Any, args: argparse.Namespace) -> Any:
    from pathlib import Path

    from nblineage.governance import audit

    note = _read(args.checkpoint, "checkpoint") if args.checkpoint else None
    if args.export:
        if note is None:
            raise ValueError("verifying an export needs the checkpoint it is checked against (--checkpoint FILE)")
        try:
            with Path(args.export).expanduser().open(encoding="utf-8") as lines:
                result = audit.verify_export(lines, note, args.public_key, args.key)
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(
                f"cannot read the export {args.export}: {getattr(error, 'strerror', None) or error}"
            ) from None
    else:
        with surface.store(args) as store:
            result = audit.verify(store, note, args.public_key, args.key)
    return _report(result.lines(), ok=result.ok)


def checkpoint(surface: Any, args: argparse.Namespace) -> Any:
    from nblineage.governance import audit

    with surface.store(args) as store:
        note = audit.checkpoint(store, args.key)
    point = audit.parse_checkpoint(note)
    if args.output:
        _write(args.output, note)
        return _report((f"checkpoint of {point.size} records written to {args.output}",))
    return _report(tuple(note.rstrip("\n").split("\n")))


def export(surface: Any, args: argparse.Namespace) -> Any:
    from pathlib import Path

    from nblineage.governance import audit

    with surface.store(args) as store:
        if args.output:
            try:
                with Path(args.output).expanduser().open("w", encoding="utf-8") as out:
                    count = audit.export(store, out)
            except OSError as error:
                raise ValueError(f"cannot write {args.output}: {error.strerror or error}") from None
            return _report((f"{count} audit records written to {args.output}",))
        from io import StringIO

        out = StringIO()
        audit.export(store, out)
        return _report(tuple(out.getvalue().splitlines()))


def prove(surface: Any, args: argparse.Namespace) -> Any:
    from nblineage.governance import audit

    note = _read(args.checkpoint, "checkpoint") if args.checkpoint else None
    with surface.store(args) as store:
        return audit.Proof(audit.prove(store, args.index, note, args.key))


def consistency(surface: Any, args: argparse.Namespace) -> Any:
    from nblineage.governance import audit

    old = _read(args.old, "checkpoint")
    new = _read(args.checkpoint, "checkpoint") if args.checkpoint else None
    with surface.store(args) as store:
        return audit.Proof(audit.prove_consistency(store, old, new, args.key))


def key(surface: Any, args: argparse.Namespace) -> Any:
    from nblineage.governance import audit

    vkey = audit.public_key(args.key)
    if args.output:
        _write(args.output, vkey + "\n")
        return _report((f"public key written to {args.output}",))
    return _report((vkey,))


_ACTIONS = {
    "verify": verify,
    "checkpoint": checkpoint,
    "export": export,
    "prove": prove,
    "consistency": consistency,
    "key": key,
}
