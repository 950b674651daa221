"""``%run script.py`` (and ``%run -m module``) followed as a cell is: the script's statements are the code under way.

IPython runs a script (``%run``: in a fresh ``__main__`` namespace, or the notebook's with ``-i``) through
``shell.safe_execfile``, which the session wraps on its shell (an instance attribute, removed at unload). While the
script runs, the capture takes the script's source and namespace for the cell's (``Capture.script``: the statement
under way is the script's, counted in its file), the script's own ``open()`` records files as a cell's does, and
when it ends its statements are followed as a cell's are (:func:`fallback.cell_ended`) before the cell's come back.
What the script read counts as read by the cell's ``%run`` statement.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from nblineage.kernel_ext import fallback
from nblineage.kernel_ext.capture import Capture, StatementReads, cell_line, current
from nblineage.kernel_ext.safety import report

MARK = "_nblineage_script"  # on the wrapper, so that it is installed once and removed only if it is ours


class _Outer:
    """The cell's code and namespace, put back when the script ends."""

    def __init__(
        self,
        source: str | None,
        user_ns: dict[str, Any] | None,
        script: str | None,
        statement_reads: StatementReads,
        line: int | None,  # the cell's statement running the script
    ) -> None:
        self.source, self.user_ns, self.script = source, user_ns, script
        self.statement_reads, self.line = statement_reads, line


def install(shell: Any) -> None:
    """Follow the scripts ``%run`` runs on ``shell``."""
    original = shell.safe_execfile
    if getattr(original, MARK, False):
        return

    def safe_execfile(fname: Any, *where: Any, **kwargs: Any) -> Any:
        capture = current()
        outer = None
        if capture is not None and where and isinstance(where[0], dict):
            try:
                outer = _enter(capture, fname, where[0], shell.user_ns)
            except Exception as error:  # the script runs as it would without nblineage
                report("%run script", error)
        try:
            return original(fname, *where, **kwargs)
        finally:
            if outer is not None:
                _leave(capture, outer)  # type: ignore[arg-type]

    setattr(safe_execfile, MARK, True)
    shell.safe_execfile = safe_execfile
    shell.safe_run_module = _following_modules(shell)


def _following_modules(shell: Any) -> Any:
    """``%run -m package.module``: IPython's ``safe_run_module`` runs it with ``runpy``, in a namespace runpy makes;
    while it runs, ``runpy._run_code`` is wrapped to follow that namespace as a script's (put back after)."""
    original = shell.safe_run_module

    def safe_run_module(mod_name: Any, where: Any) -> Any:
        import runpy  # here: a kernel imports it only for ``%run -m``

        capture = current()
        run_code = getattr(runpy, "_run_code", None)
        if capture is None or not callable(run_code):
            return original(mod_name, where)

        def followed(code: Any, run_globals: Any, *args: Any, **kwargs: Any) -> Any:
            outer = None
            try:
                if isinstance(run_globals, dict) and isinstance(code.co_filename, str):
                    outer = _enter(capture, code.co_filename, run_globals, shell.user_ns)
            except Exception as error:  # the module runs as it would without nblineage
                report("%run -m module", error)
            try:
                return run_code(code, run_globals, *args, **kwargs)
            finally:
                if outer is not None:
                    _leave(capture, outer)

        runpy._run_code = followed
        try:
            return original(mod_name, where)
        finally:
            runpy._run_code = run_code

    setattr(safe_run_module, MARK, True)
    return safe_run_module


def uninstall(shell: Any) -> None:
    for name in ("safe_execfile", "safe_run_module"):
        if getattr(vars(shell).get(name), MARK, False):
            delattr(shell, name)


def _enter(capture: Capture, fname: Any, namespace: dict[str, Any], user_ns: dict[str, Any]) -> _Outer | None:
    """The script's code becomes the code under way (None when its file cannot be read: IPython says so)."""
    from nblineage.kernel_ext.hooks import pyfiles

    path = Path(fname).expanduser().resolve()  # the file name IPython compiles the script under
    try:
        source = importlib.util.decode_source(path.read_bytes())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    line = cell_line(capture.user_ns, capture.cell_source) if capture.user_ns is not None else None
    outer = _Outer(capture.cell_source, capture.user_ns, capture.script, capture.statement_reads, line)
    capture.cell_source, capture.user_ns, capture.script = source, namespace, str(path)
    capture.statement_reads = StatementReads()
    fallback.forget_catch_up()
    pyfiles.give_open(namespace, user_ns)
    return outer


def _leave(capture: Capture, outer: _Outer) -> None:
    """The script's statements followed as a cell's at its end; the cell's code back, with what the script read."""
    try:
        fallback.cell_ended(capture, capture.cell_source or "", capture.user_ns or {})
    except Exception as error:
        report("%run script code reading", error)
    finally:
        read = set().union(*capture.statement_reads.values())
        capture.cell_source, capture.user_ns, capture.script = outer.source, outer.user_ns, outer.script
        capture.statement_reads = outer.statement_reads
        fallback.forget_catch_up()
        if outer.line is not None and read:
            capture.statement_reads.add(outer.line, read)
