"""The kernel's side of the command table (``%lineage``): this kernel's store and variables, and the commands only
a kernel answers (``status``, ``on``/``off``, ``export``, ``show``, ``help``).

Before a question reaches the store, this kernel's outbox is delivered, so the answer includes the cells just run.
A variable of the notebook stands for what it is: a model for the model saved from its fit (else the fit itself),
anything else for the dataset version it was read from.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from nblineage import commands, config, kernel_ext
from nblineage.governance.answers import Answer
from nblineage.governance.lists import Report
from nblineage.lineage.graph import DatasetRef

FLUSH_TIMEOUT = 10.0  # seconds to wait for this kernel's records to reach the store before answering


def deliver(shell: Any, timeout: float = FLUSH_TIMEOUT) -> None:
    """Wait until the outbox of ``shell``'s capture is in the store (not at all when the store is known to be
    unusable), so an answer includes the cells just run; say on standard error what did not arrive in time."""
    session = kernel_ext.current(shell)
    delivering = session is not None and not session.url_problem and not session.writer.problems.get("store")
    if delivering and not session.writer.flush(timeout):
        print(f"nblineage: {session.writer.waiting()} records of this kernel are not in the store yet", file=sys.stderr)


@dataclass(frozen=True)
class CaptureStatus(Answer):
    """What ``%lineage status`` says: capture on or off (and why off), the store (password hidden), the hooks,
    hook errors so far, and the records waiting in the outbox or set aside."""

    capturing: bool
    off_because: str | None = None
    notebook: str | None = None
    notebook_found: str | None = None
    store: str | None = None
    store_problem: str | None = None
    transport_problem: str | None = None
    outbox: str | None = None
    outbox_problem: str | None = None
    waiting: int = 0
    set_aside: int = 0
    hooks: tuple[str, ...] = ()
    hook_errors: dict[str, int] = field(default_factory=dict)


class Kernel(commands.Surface):
    """The commands as one kernel answers them."""

    def __init__(self, shell: Any, parser: argparse.ArgumentParser) -> None:
        self.shell = shell
        self.parser = parser

    @property
    def session(self) -> Any:
        return kernel_ext.current(self.shell)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr)

    def deliver(self) -> None:
        deliver(self.shell)

    @contextmanager
    def store(self, args: argparse.Namespace, *, writer: bool = False) -> Iterator[Any]:
        """The store this kernel writes to (or ``--url``), after delivering what this kernel's outbox holds."""
        from nblineage.lineage.store import Store

        self.deliver()
        session = self.session
        url = args.url or (session.store_url if session is not None else config.store_url())
        with Store(url, create=False) as opened:
            yield opened

    # variables

    def node(self, store: Any, text: str, namespace: str | None, version: str | None = None) -> Any:
        obj = self._variable(text, namespace)
        if obj is _NONE:
            return super().node(store, text, namespace, version)
        return self.node_of(store, obj, text, version)

    def node_of(self, store: Any, obj: Any, name: str | None, version: str | None = None) -> DatasetRef:
        """The node a Python object (held by the variable ``name``, when known) stands for: the model saved from
        its fit, else the dataset version it was read from."""
        from nblineage.governance.fit import saved_model

        what = repr(name) if name else f"this {type(obj).__name__}"
        if self.session is None:
            raise ValueError(f"capture is off in this kernel, so it knows no lineage of {what}")
        fit = self._fit(obj, name or type(obj).__name__)
        if fit is not None:
            saved = saved_model(store, fit.fit_id)
            if saved is None:
                raise ValueError(
                    f"{what} is a model that was never saved, so it is no node of the graph yet; "
                    f"`%lineage explain {name or 'NAME'}` answers for its fit"
                )
            return saved if version is None else DatasetRef(saved.namespace, saved.name, version)
        return self._dataset(obj, what, version)

    def model(self, store: Any, text: str, namespace: str | None, version: str | None = None) -> Any:
        obj = self._variable(text, namespace)
        if obj is _NONE:
            return super().model(store, text, namespace, version)
        fit = self._fit(obj, text)
        if fit is None:
            raise ValueError(f"{text!r} holds a {type(obj).__name__}, not a model")
        return fit

    def _variable(self, text: str, namespace: str | None) -> Any:
        """The value of the notebook variable ``text`` (no namespace given), else ``_NONE``."""
        if namespace is not None or not text.isidentifier() or text not in self.shell.user_ns:
            return _NONE
        if self.session is None:
            raise ValueError(f"capture is off in this kernel, so it knows no lineage of the variable {text!r}")
        return self.shell.user_ns[text]

    def _fit(self, obj: Any, label: str) -> Any:
        from nblineage.kernel_ext.variables import fit_of

        return fit_of(obj, label, self.session.capture)

    def _dataset(self, obj: Any, what: str, version: str | None) -> DatasetRef:
        from nblineage.kernel_ext.variables import sources_of

        sources = sources_of(obj, self.session.capture)
        if not sources:
            raise ValueError(f"the kernel saw no dataset that {what} was read or derived from")
        if len(sources) > 1:
            named = ", ".join(f"{s.name} ({s.namespace})" for s in sources)
            raise ValueError(f"{what} derives from {len(sources)} datasets: {named}; name the one you mean")
        [source] = sources
        return DatasetRef(source.namespace, source.name, version or source.version)

    # the commands only a kernel answers

    def status(self, args: argparse.Namespace) -> CaptureStatus:
        from nblineage.lineage.urls import shown_url

        session = self.session
        if session is None:
            return CaptureStatus(False, kernel_ext.off_because(self.shell), store=shown_url(config.store_url()))
        status = session.status()
        return CaptureStatus(**{f.name: getattr(status, f.name) for f in fields(status)})

    def capture_on(self, args: argparse.Namespace) -> Report:
        if self.session is None:
            kernel_ext.load(self.shell)
        if self.session is None:
            return Report((f"nblineage capture stays off: {kernel_ext.off_because(self.shell)}",), ok=False)
        return Report(("nblineage capture is on in this kernel",))

    def capture_off(self, args: argparse.Namespace) -> Report:
        kernel_ext.unload(self.shell, because="turned off with %lineage off")
        return Report(("nblineage capture is off in this kernel (%lineage on turns it on again)",))

    def export(self, args: argparse.Namespace) -> Report:
        from nblineage.governance.export import session_events, write_json_lines

        session = self.session
        if session is None:
            raise ValueError(f"capture is off in this kernel ({kernel_ext.off_because(self.shell)}): no session")
        with self.store(args) as store:
            events = session_events(store, session.run_id)
        target = Path(args.file).expanduser()
        write_json_lines(events, target)
        return Report((f"{len(events)} OpenLineage events of this session written to {target}",))

    def show(self, args: argparse.Namespace) -> Any:
        """The interactive graph (``nblineage.show``) centred on a node, or on what a variable stands for."""
        import nblineage

        if self._variable(args.node, args.namespace) is _NONE:
            self.deliver()
            return nblineage.show(args.node, args.depth, namespace=args.namespace, version=args.version)
        with self.store(args) as store:
            ref = self.node(store, args.node, None, args.version)
        return nblineage.show(ref, args.depth)

    def help(self, args: argparse.Namespace) -> None:
        print(self.parser.format_help())


_NONE = object()  # no such variable
