"""numpy: arrays read from and written to files.

Reads (``np.load`` of ``.npy``, ``.npz`` and pickles, ``np.loadtxt``, ``np.genfromtxt``, ``np.fromfile``) are
dataset reads of the file's version (``hooks/files.py``), and the array returned carries it. ``np.load`` of an
``.npz`` returns an ``NpzFile``: it carries the read, and each array taken from it (``data["X"]``, ``data.f.X``,
``dict(data)``) derives from it. An object ``np.load`` unpickles (``allow_pickle=True``) is tagged as a load
(``hooks/loads.py``). ``np.memmap(path, mode=...)`` called by the user's code is a read of the file when the mode
maps its data (``r``, ``r+``, the default, ``c``; not ``w+``, which makes it), and the memmap carries it. Writes
(``np.save``, ``np.savez``, ``np.savez_compressed``, ``np.savetxt``, ``ndarray.tofile``, and ``flush()`` of a memmap
opened to write, ``r+`` or ``w+``) are outputs with the provenance of the arrays written (of several, some made where
no hook saw, ``np.savez(f, X=X, y=y - 1)``: what the call's arguments read by name too, ``Capture.write``; what is
assigned into a memmap that carries its file already is not added: an in-place update, as for any tracked array);
``np.save("x")`` writes ``x.npy`` and ``np.savez("x")`` ``x.npz``, as numpy does. Paths may be str, bytes,
path-likes or open files; a buffer, a stream or anything else that names no file records nothing (the call is
untouched).

``ndarray`` is a C type whose methods cannot be patched, and nblineage never replaces a library's type. The
notebook's own calls ``x.tofile(...)`` are seen instead: an IPython AST transformer (ready from the extension's
load, so that it sees the very cell that imports numpy, and put among IPython's only while a cell whose text says
``tofile`` runs: any other cell costs a substring test) rewrites each call ``x.tofile(...)`` into ``tofile(x, ...)``
of this module, which calls ``x.tofile`` exactly as written and records the write when ``x`` is an ndarray. Calls
made by other modules (a library, a ``.py`` file the notebook imports) are not seen.

Nothing of numpy is patched before the user imports it, and importing it costs a handful of attribute replacements
(no scanning).
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import fingerprint, guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import locate
from nblineage.kernel_ext.hooks.loads import record_load, settle
from nblineage.kernel_ext.hooks.models import flush_plain_file
from nblineage.kernel_ext.hooks.pyfiles import user_only
from nblineage.kernel_ext.instrument import After, Before, Instrumentor, Listener, Patch, intercept, wrap_class_method
from nblineage.kernel_ext.provenance import Provenance, Source, union
from nblineage.kernel_ext.safety import report

__all__ = ["NumpyInstrumentor", "tofile"]

MAX_ARRAYS = 4096  # arrays of one savez looked at for provenance
MEMMAP_READS = frozenset({"r", "r+", "c", "readonly", "readwrite", "copyonwrite"})  # modes mapping the file's data
MEMMAP_WRITES = frozenset({"r+", "w+"})  # modes whose changes ``flush`` writes to the file (as ``memmap.mode`` says)
_HELPER = "nblineage.kernel_ext.hooks.numpy"


class NumpyInstrumentor(Instrumentor):
    """numpy's file readers and writers (module docstring)."""

    modules = ("numpy", "IPython")  # IPython: the tofile transformer must be there before the cell importing numpy

    def patches(self, module: Any) -> Iterator[Patch]:
        if module.__name__ != "numpy":
            return
        for name, index, parameter in (
            ("load", 0, "file"),
            ("loadtxt", 0, "fname"),
            ("genfromtxt", 0, "fname"),
            ("fromfile", 0, "file"),
        ):
            yield module, name, intercept(f"numpy.{name}", _reads(index, parameter))
        yield module, "save", intercept("numpy.save", _writes(".npy", _one_array), before=_check(".npy", _one_array))
        for name in ("savez", "savez_compressed"):
            yield (
                module,
                name,
                intercept(f"numpy.{name}", _writes(".npz", _savez_arrays), before=_check(".npz", _savez_arrays)),
            )
        yield module, "savetxt", intercept("numpy.savetxt", _writes(None, _one_array), before=_check(None, _one_array))
        memmap = getattr(module, "memmap", None)
        if isinstance(memmap, type):
            wrap_class_method(self, memmap, "__new__", user_only("numpy.memmap", _memmap_opened))
            yield memmap, "flush", user_only("numpy memmap.flush", _memmap_flushed)
        npz = getattr(getattr(module, "load", None), "__globals__", {}).get("NpzFile")
        if isinstance(npz, type):
            yield npz, "__getitem__", intercept("numpy NpzFile.__getitem__", _from_npz)

    def listeners(self, module: Any) -> Iterator[Listener]:
        shell = _shell() if module.__name__ == "IPython" else None
        if shell is not None:
            placer = _Placer(shell, TofileCalls())
            yield placer.subscribe, placer.unsubscribe

    def cell_ended(self, capture: Capture) -> None:
        settle(capture)


class _Placer:
    """Keeps the ``tofile`` transformer in the shell's AST transformers only for a cell whose text says ``tofile``
    (decided when the cell starts, ``pre_run_cell``): while any transformer is there, IPython runs
    ``ast.fix_missing_locations`` over every cell's tree, tens of microseconds a small cell. A silent cell (no
    ``pre_run_cell``) finds the transformer as the last cell left it, and the transformer looks at that cell's text,
    as it always did."""

    def __init__(self, shell: Any, transformer: TofileCalls) -> None:
        self.shell, self.transformer = shell, transformer

    def subscribe(self) -> None:
        self.shell.events.register("pre_run_cell", self.pre_run_cell)

    def unsubscribe(self) -> None:
        with contextlib.suppress(ValueError):  # not registered
            self.shell.events.unregister("pre_run_cell", self.pre_run_cell)
        self._place(False)

    def pre_run_cell(self, info: Any) -> None:
        try:
            self._place("tofile" in (getattr(info, "raw_cell", "") or ""))
        except Exception as error:
            report("numpy tofile calls", error)

    def _place(self, wanted: bool) -> None:
        transformers = self.shell.ast_transformers
        if wanted and self.transformer not in transformers:
            transformers.append(self.transformer)
        elif not wanted and self.transformer in transformers:
            transformers.remove(self.transformer)


def _shell() -> Any:
    """The IPython shell running this kernel, if any (IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get() if callable(get) else None


# --- reads ---------------------------------------------------------------------------------------------------------


def _reads(index: int, parameter: str) -> After:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, index, parameter, None)
        if isinstance(target, (list, tuple)) or target is None:
            return  # lines of text, not a file
        record_load(capture, target, result, _array_facets(result))

    return after


def _from_npz(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``npz[key]``: the array derives from the file the NpzFile read."""
    if args:
        capture.derive(result, args[0])


def _memmap_opened(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``np.memmap(file, mode=...)`` (``args`` starts with the class): a read of the file unless the mode creates it
    (``w+``)."""
    if argument(args, kwargs, 3, "mode", "r+") in MEMMAP_READS:
        record_load(capture, argument(args, kwargs, 1, "filename", None), result, _array_facets(result))


def _array_facets(result: Any) -> dict[str, Any]:
    """The schema of a structured array (its field names and types); {} for any other result."""
    names = getattr(getattr(result, "dtype", None), "names", None)
    if not names:
        return {}
    fields = result.dtype.fields
    return {"schema": {"fields": [{"name": str(name), "type": str(fields[name][0])} for name in names]}}


# --- writes --------------------------------------------------------------------------------------------------------


def _one_array(args: tuple, kwargs: dict) -> list[Any]:
    found = argument(args, kwargs, 1, "arr", None)
    if found is None:
        found = kwargs.get("X")
    return [found] if found is not None else []


def _savez_arrays(args: tuple, kwargs: dict) -> list[Any]:
    named = [value for key, value in kwargs.items() if key not in ("file", "allow_pickle")]
    return [*args[1:], *named][:MAX_ARRAYS]


def _target(args: tuple, kwargs: dict, suffix: str | None) -> Any:
    """The file a numpy writer was given (argument 0), ``suffix`` added to a path without it as numpy does."""
    target = argument(args, kwargs, 0, "file", None)
    if target is None:
        target = kwargs.get("fname")
    if suffix is not None and isinstance(target, (str, bytes, os.PathLike)):
        path = os.fsdecode(os.fspath(target))
        target = path if path.endswith(suffix) else path + suffix
    return target


def _writes(suffix: str | None, arrays: Any) -> After:
    """The ``after`` step of a write to the file at argument 0."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        record_array_write(capture, _target(args, kwargs, suffix), arrays(args, kwargs))

    return after


def _check(suffix: str | None, arrays: Any) -> Before:
    """The policy guard's decision before the arrays are written (a block writes nothing)."""

    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        target, written = _target(args, kwargs, suffix), arrays(args, kwargs)
        if target is not None and written:
            guard.check_write(capture, written[0] if len(written) == 1 else tuple(written), target, model=False)

    return before


def record_array_write(capture: Capture, target: Any, written: list[Any]) -> None:
    """``written`` (arrays) went to ``target``: an output with their provenance (or, when no hook tracked them, what
    the cell's statement read: the fallback)."""
    location = locate(target)
    if location is None or not written:
        return
    source = location.source(written=True)
    if location.through_handle and location.local is not None and flush_plain_file(target):
        fingerprint.forget(location.local)
        source = Source(source.namespace, source.name, fingerprint.file_version(location.local))
    provenance: Provenance | None = union(capture.of(item) for item in written) or None
    obj = written[0] if len(written) == 1 else tuple(written)
    capture.write(source, obj, _array_facets(written[0]) if len(written) == 1 else {}, provenance=provenance)


def _memmap_flushed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``mm.flush()`` of a memmap opened to write (``r+``, ``w+``): a write of its file with the memmap's
    provenance."""
    memmap = args[0]
    if getattr(memmap, "mode", None) in MEMMAP_WRITES and getattr(memmap, "filename", None):
        record_array_write(capture, memmap.filename, [memmap])


# --- ndarray.tofile ------------------------------------------------------------------------------------------------


def _record_tofile(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    if args:
        record_array_write(capture, argument(args, kwargs, 1, "fid", None), [args[0]])


def _check_tofile(capture: Capture, args: tuple, kwargs: dict) -> None:
    target = argument(args, kwargs, 1, "fid", None)
    if args and target is not None:
        guard.check_write(capture, args[0], target, model=False)


_TOFILE = intercept("numpy ndarray.tofile", _record_tofile, before=_check_tofile)


def tofile(obj: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``obj.tofile(*args, **kwargs)`` as the notebook wrote it, recorded as a write when ``obj`` is an ndarray."""
    method = obj.tofile
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(obj, numpy.ndarray):
        return method(*args, **kwargs)
    return _TOFILE(method, obj, args, kwargs)


class TofileCalls(ast.NodeTransformer):
    """Rewrites ``x.tofile(...)`` in a cell into this module's :func:`tofile` ``(x, ...)`` (only in cells whose text
    says ``tofile``, while capture is on)."""

    def visit(self, node: ast.AST) -> ast.AST:
        if not isinstance(node, ast.Module):
            return super().visit(node)
        active = capture_module.current()
        if active is None or "tofile" not in (active.cell_source or ""):
            return node
        try:
            return ast.fix_missing_locations(super().visit(node))
        except Exception as error:  # the cell runs as written
            report("numpy tofile calls", error)
            return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "tofile" and isinstance(func.ctx, ast.Load)):
            return node
        helper = ast.Attribute(
            value=ast.Call(
                func=ast.Name(id="__import__", ctx=ast.Load()),
                args=[ast.Constant(_HELPER)],
                keywords=[ast.keyword(arg="fromlist", value=ast.Tuple(elts=[ast.Constant("tofile")], ctx=ast.Load()))],
            ),
            attr="tofile",
            ctx=ast.Load(),
        )
        call = ast.Call(func=helper, args=[func.value, *node.args], keywords=node.keywords)
        return ast.copy_location(call, node)
