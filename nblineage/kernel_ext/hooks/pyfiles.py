"""Plain Python file I/O in the user's own code: ``open()`` (and ``io.open``, the same function reached through
its module), ``gzip.open``, ``bz2.open`` and ``lzma.open`` (a compressed file, the dataset being that file), and
``pathlib.Path``'s ``open``, ``read_text``, ``read_bytes``, ``write_text`` and ``write_bytes``.

What counts: a regular file that the user's own code opens by path (a string, bytes or path-like; not
a file descriptor), whatever it holds (CSV, JSON lines, text, a config file): opened for reading (``r``, ``r+``),
it is a dataset read, versioned by its fingerprint when opened; opened for writing (``w``, ``a``, ``x``, ``+``), a
dataset written, recorded when the cell ends (versioned then if the file is closed; a file still open has no
version yet). ``Path.write_text``/``write_bytes`` record the write at once.

Only the user's calls: ``open`` is bound in the notebook's namespace (``shell.user_ns``, hidden from ``%who``),
never in ``builtins``, so the cells and the functions the notebook defines use it while the import system and
every library (whose modules see ``builtins.open``) pay nothing. The user's own modules (files outside
site-packages and the Python installation) imported in an earlier cell get it in their namespace too, at the end of
each cell that imported new modules, and as they are imported (a ``sys.path_hooks`` entry for the folders of the
user's code, whose loaders put it in the module first: a module imported and used in the same cell reads through
it; the import system asks the hook once per folder, so the imports of libraries cost nothing);
a ``%run`` script gets it while it runs (``give_open``, from ``scripts.py``).
``Path`` methods, ``io.open`` and the compressed files' ``open`` are patched, but record only when their caller is
the user's code (``capture.user_caller``); a library's call costs one frame look-up.

Provenance: the file object returned is tagged with the file read, so what a statement builds from it
(``rows = list(csv.DictReader(f))``, ``data = json.load(f)``) carries it (the cell fallback); a read inside a
function called by a statement (``rows = load_rows("train.csv")``) gives it to what that statement binds
(``Capture.statement_reads``). What is written derives from the names the opening statement reads (``with
open("out.csv", "w") as f: csv.writer(f).writerows(rows)``: ``rows``), or, for ``Path.write_text(data)``, the
writing statement's; opened in a function of the user's own, from what that function's statement reads (``with
open(log, "a") as f: f.write(str(y_pred))``: ``y_pred``, not every file the function loaded); a statement whose
names hold only plain values (a dict of strings parsed from files no hook sees) and read nothing writes a file made
of no dataset.
"""

from __future__ import annotations

import ast
import builtins
import functools
import io
import os
import sys
import types
import weakref
from collections.abc import Iterable, Iterator
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)
from typing import Any

from nblineage.kernel_ext import cellcode, columns, fallback, flow
from nblineage.kernel_ext.capture import Capture, capturing, cell_line, current, is_user_file, user_caller
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.instrument import After, Instrumentor, Listener, Patch, intercept
from nblineage.kernel_ext.provenance import EMPTY, NO_SOURCES, Provenance, Source, union
from nblineage.kernel_ext.safety import report

_builtin_open = builtins.open
WRITE_MODES = frozenset("wax+")
COMPRESSED = ("gzip", "bz2", "lzma")  # modules whose ``open`` opens a compressed file by path


class _Writing:
    """A file the user opened for writing, recorded when the cell ends."""

    def __init__(
        self,
        handle: weakref.ref,
        location: Location,
        line: int | None,
        source: str | None,
        in_function: tuple[Provenance, str, range] | None = None,
    ) -> None:
        self.handle, self.location = handle, location
        self.line = line  # the cell statement that opened it
        self.source = source  # that cell's code
        # opened in a function of the user's own: what its statement read there so far, its file and lines
        self.in_function = in_function


_writing: list[_Writing] = []


_previous_open: list[Any] = [_builtin_open]  # the ``open`` the notebook had before: IPython's guards fds 0-2


_created: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()  # handle -> the file its open created


@functools.wraps(_builtin_open)
def user_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    """``open`` as the notebook sees it: the ``open`` it had (IPython's), and the file recorded as read or written."""
    new = _new_file(file, mode) if capturing() else None
    handle = _previous_open[0](file, mode, *args, **kwargs)
    if capturing():
        try:
            if new is not None:
                _created[handle] = new
            _opened(handle, file, mode, current())
        except Exception as error:
            report("open", error)
    return handle


def _new_file(file: Any, mode: Any) -> str | None:
    """The absolute path of the file an ``open`` for writing is about to create (None: it exists, or not a path)."""
    try:
        if isinstance(mode, str) and WRITE_MODES.intersection(mode) and isinstance(file, (str, bytes, os.PathLike)):
            path = os.path.abspath(os.fsdecode(os.fspath(file)))
            return None if os.path.lexists(path) else path
    except (OSError, ValueError, TypeError):
        pass
    return None


def remove_if_created_empty(handle: Any) -> str | None:
    """A save into ``handle`` was blocked: when the notebook's ``open`` created its file and nothing is in it yet,
    remove the file (a block leaves nothing written) and forget the write; its path, else None."""
    try:
        path = _created.get(handle)
    except TypeError:
        return None
    if path is None:
        return None
    try:
        if (
            handle.tell() != 0
            or os.path.getsize(path) != 0
            or not os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        ):
            return None
        os.unlink(path)
    except (OSError, ValueError, AttributeError):
        return None
    del _created[handle]
    _writing[:] = [writing for writing in _writing if writing.handle() is not handle]
    return path


# Named where it lives, so that pickle (joblib's workers, multiprocessing) finds it by reference.
user_open.__module__, user_open.__qualname__ = __name__, "user_open"


def _opened(handle: Any, file: Any, mode: Any, capture: Capture | None) -> None:
    """``file`` opened as ``handle``: a read, or a write remembered until the cell ends."""
    if capture is None or isinstance(file, int) or not isinstance(mode, str):
        return
    location = locate(file)
    if location is None or location.local is None or os.path.isdir(location.local):
        return
    if "r" in mode:
        _read(capture, location, handle)
    if WRITE_MODES.intersection(mode):
        _remember_write(capture, handle, location)


def _read(capture: Capture, location: Location, result: Any) -> None:
    """A file read whose data only the cell's code carries on from here (``Capture.catch_up``)."""
    capture.read(location.source(), result)
    capture.untracked_reads = True


def _remember_write(capture: Capture, handle: Any, location: Location) -> None:
    try:
        ref = weakref.ref(handle)
    except TypeError:
        return
    line = cell_line(capture.user_ns, capture.cell_source) if capture.user_ns is not None else None
    frame = flow.user_frame(sys._getframe(1))
    found = flow.statement_in_function(capture, frame) if frame is not None else None
    in_function = (found[0], frame.f_code.co_filename, found[1]) if found is not None else None
    _writing.append(_Writing(ref, location, line, capture.cell_source, in_function))


def _record_writes(capture: Capture) -> None:
    """The files opened for writing since the last cell ended: outputs whose inputs are what the opening statement
    read."""
    pending, _writing[:] = list(_writing), []
    saved = {(output.source.namespace, output.source.name) for output in capture.record.outputs}
    for writing in pending:
        if (writing.location.namespace, writing.location.name) in saved:
            continue  # a hook saved into it (``pickle.dump(model, open(path, "wb"))``) and named what it holds
        handle = writing.handle()
        closed = handle is None or getattr(handle, "closed", True)
        location = writing.location
        source = location.source(written=True) if closed else Source(location.namespace, location.name)
        capture.write(source, None, provenance=_statement_provenance(capture, writing, handle))


def _statement_provenance(capture: Capture, writing: _Writing, handle: Any) -> Provenance:
    """What the statement that opened a file for writing read: in a function of the user's own, what that
    function's statement reads (when it reads data; with the datasets its lines read in any call of the cell); else
    the cell statement's: the tracked objects of the names it reads, and the datasets read while it ran (the handle
    written to excepted); when it writes there (not ``f = open(path, "w")``) and its names hold only plain values
    (``json.dump(meta, f)`` of a dict of strings), what they read by name (the cell's code followed), and nothing
    when that is nothing."""
    if writing.in_function is not None:
        found, file, lines = writing.in_function
        later = {source for number in lines for source in capture.code_reads.get((file, number), ())}  # in its body
        found = (found | capture.exact(later).at_cell_precision() if later else found).without(*_dataset(writing))
        if found:
            return found.through(capture.cell_run_id)
    user_ns, line = capture.user_ns, writing.line
    code = cellcode.parse(writing.source) if writing.source else None
    if user_ns is None or line is None or code is None:
        return EMPTY
    for statement in code.tree.body:
        end = statement.end_lineno or statement.lineno
        if statement.lineno <= line <= end:
            names = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}
            values = [user_ns[name] for name in names if name in user_ns and user_ns[name] is not handle]
            found = union(capture.of(value) for value in values if not _is_writing(value))
            read = {
                source
                for number in range(statement.lineno, end + 1)
                for source in capture.statement_reads.get(number, ())
                if source.name != writing.location.name
            }
            if read:
                found = found | capture.exact(read).at_cell_precision()
            # the statement writes there (not ``f = open(path, "w")``), in the cell's own code (not a ``%run``
            # script's, whose reads by line are gone)
            followed = writing.source == capture.cell_source and not isinstance(statement, (ast.Assign, ast.AnnAssign))
            if not found and followed and writing.source and all(_plain(capture, value) for value in values):
                found = flow.statement_reads(capture, writing.source, user_ns, line)
                found = found.without(*_dataset(writing)) if found is not None else None
                if found is not None and not found:
                    return NO_SOURCES
            return found.at_cell_precision().through(capture.cell_run_id) if found else EMPTY
    return EMPTY


def _dataset(writing: _Writing) -> tuple[str, str]:
    """The dataset a file being written is (what it is written from leaves it out)."""
    return writing.location.namespace, writing.location.name


_NOT_DATA = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)


def _plain(capture: Capture, value: Any) -> bool:
    """A module, function or class, a file no read tagged (one written: no data), or text and numbers in dicts and
    lists (``fallback.plain``)."""
    if isinstance(value, io.IOBase):
        return not capture.of(value)
    return isinstance(value, _NOT_DATA) or fallback.plain(value)


def _is_writing(value: Any) -> bool:
    return any(writing.handle() is value for writing in _writing)


def user_only(where: str, after: After) -> Any:
    """``intercept`` for calls made by the user's code; a library's call is left alone."""
    inner = intercept(where, after)

    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        if not capturing() or not user_caller(sys._getframe(1)):
            return wrapped(*args, **kwargs)
        return inner(wrapped, instance, args, kwargs)

    return wrapper


def _path_read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    location = locate(args[0])
    if location is not None and location.local is not None:
        _read(capture, location, result)


def _path_write(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    location = locate(args[0])
    if location is not None and location.local is not None:
        data = args[1] if len(args) > 1 else kwargs.get("data")
        capture.write(location.source(written=True), data)


def _path_open(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
    _opened(result, args[0], mode, capture)


class PyfilesInstrumentor(Instrumentor):
    """``open`` in the notebook's namespace and ``pathlib.Path``'s file methods (module docstring)."""

    modules = ("pathlib", "io", *COMPRESSED)

    def patches(self, module: Any) -> Iterator[Patch]:
        if module.__name__ == "io":  # ``io.open`` (``open`` itself, reached through the module: io.open(path))
            yield module, "open", user_only("io.open", _path_open)
            return
        if module.__name__ in COMPRESSED:  # ``gzip.open(path, "rb")``: the compressed file, read or written
            yield module, "open", user_only(f"{module.__name__}.open", _path_open)
            return
        path = module.Path
        yield path, "open", user_only("pathlib.Path.open", _path_open)
        for name in ("read_text", "read_bytes"):
            yield path, name, user_only(f"pathlib.Path.{name}", _path_read)
        for name in ("write_text", "write_bytes"):
            yield path, name, user_only(f"pathlib.Path.{name}", _path_write)

    def listeners(self, module: Any) -> Iterable[Listener]:
        shell = _shell()
        if shell is not None:
            yield (lambda: _bind_open(shell), lambda: _unbind_open(shell))

    def cell_ended(self, capture: Capture) -> None:
        if _writing:
            _record_writes(capture)
        shell = _shell()
        if shell is not None and _active[0]:
            if shell.user_ns.get("open") is not user_open:  # %reset put IPython's back
                _bind_open(shell)
            if len(sys.modules) != _modules_seen[0]:
                _bind_user_modules()


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get() if get is not None else None


def _replaceable(value: Any) -> bool:
    """Whether the notebook's ``open`` is one nblineage may stand in for: none, the built-in, or IPython's."""
    if value is None or value is _builtin_open:
        return True
    return getattr(value, "__wrapped__", None) is _builtin_open and "IPython" in getattr(value, "__globals__", {}).get(
        "__name__", ""
    )


def _in_library(name: str) -> bool:
    """Whether ``name`` is a submodule of a package loaded from outside the user's code (site-packages, the Python
    installation): no user module, so the end-of-cell look passes it by (most modules are such). Answered once per
    package (the module object it was for kept with the answer)."""
    parent, dot, _ = name.rpartition(".")
    if not dot:
        return False
    module = sys.modules.get(parent)
    known = _packages.get(parent)
    if known is not None and known[0] is module:
        return known[1]
    filename = getattr(module, "__file__", None)
    library = isinstance(filename, str) and not is_user_file(filename)
    if module is not None:
        _packages[parent] = (module, library)
    return library


_packages: dict[str, tuple[Any, bool]] = {}  # package name -> (its module, whether it is a library's)


class _GivingOpen:
    """Loaders of the user's own modules: the module gets the notebook's ``open`` before its code runs."""

    def exec_module(self, module: Any) -> None:
        namespace = getattr(module, "__dict__", None)
        if _active[0] and isinstance(namespace, dict) and "open" not in namespace:
            namespace["open"] = user_open
            _bound_modules.append(namespace)
            _looked.add(module.__name__)
        super().exec_module(module)  # type: ignore[misc]
        if _active[0]:
            _learn_column_rules(self, module)


def _learn_column_rules(loader: Any, module: Any) -> None:
    """The column rules a user module's code states (``df["hour"] = df["start"].dt.hour`` in a feature function),
    kept for the session as a cell's are: a frame its functions made has features traced to their columns."""
    capture = current()
    if capture is None or not hasattr(loader, "get_source"):
        return
    try:
        source = loader.get_source(module.__name__)
        if source:
            columns.learn(capture, cellcode.column_rules(ast.parse(source)))
    except Exception as error:  # a module that does not parse ran anyway: its rules are only missing
        report("column rules of a user module", error)


class _SourceGivingOpen(_GivingOpen, SourceFileLoader):
    pass


class _SourcelessGivingOpen(_GivingOpen, SourcelessFileLoader):
    pass


def _user_folder_finder(path: str) -> FileFinder:
    """A ``sys.path_hooks`` entry: the finder of a folder of the user's own code (outside site-packages and the
    Python installation), whose Python modules load with the notebook's ``open`` (a module imported and used in
    the same cell reads through it). Any other folder is the next hook's: the import system asks this once per
    folder, so a library's imports cost nothing."""
    if not _active[0] or not _is_user_folder(path):
        raise ImportError("not a folder of the user's own code")
    finder = FileFinder(
        path,
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (_SourceGivingOpen, SOURCE_SUFFIXES),
        (_SourcelessGivingOpen, BYTECODE_SUFFIXES),
    )
    _user_finders.add(finder)
    return finder


_user_finders: weakref.WeakSet[FileFinder] = weakref.WeakSet()


def _drop_cached_finders(user_folders: bool) -> None:
    """Make the import system find its finders again: with ``user_folders``, the standard finders it made for the
    user's folders (the hook then makes ours); without, ours (made again without the hook)."""
    for entry, finder in list(sys.path_importer_cache.items()):
        if user_folders:
            drop = type(finder) is FileFinder and finder not in _user_finders and _is_user_folder(entry)
        else:
            drop = finder in _user_finders
        if drop:
            sys.path_importer_cache.pop(entry, None)


def _is_user_folder(entry: Any) -> bool:
    if not isinstance(entry, str):
        return False
    folder = entry or os.getcwd()
    return is_user_file(os.path.join(folder, "__init__.py")) and os.path.isdir(folder)  # a library's: no stat


def _bind_open(shell: Any) -> None:
    _active[0] = True
    if _user_folder_finder not in sys.path_hooks:
        sys.path_hooks.insert(0, _user_folder_finder)
        _drop_cached_finders(user_folders=True)
    previous = shell.user_ns.get("open")
    if previous is user_open or not _replaceable(previous):
        return  # the user's own ``open`` (``from gzip import open``) stays
    _previous_open[0] = previous or _builtin_open
    shell.user_ns["open"] = user_open
    shell.user_ns_hidden["open"] = user_open


_active = [False]  # the notebook's open is in place (between subscribe and unsubscribe)


def give_open(namespace: dict[str, Any], user_ns: dict[str, Any]) -> None:
    """Give a namespace the user's code runs in (a ``%run`` script's) the notebook's ``open`` when the notebook
    (``user_ns``) has it, unless the namespace has an ``open`` of its own."""
    if _active[0] and "open" not in namespace and user_ns.get("open") is user_open:
        namespace["open"] = user_open


_modules_seen = [0]  # how many modules were loaded when they were last looked at
_looked: set[str] = set()  # modules looked at
_bound_modules: list[dict[str, Any]] = []  # namespaces of the user's modules given the notebook's open


def _bind_user_modules() -> None:
    """Give the user's own modules imported so far (files outside site-packages and the Python installation)
    the notebook's ``open``, unless they define one."""
    _modules_seen[0] = len(sys.modules)
    for name, module in list(sys.modules.items()):
        if name in _looked:
            continue
        _looked.add(name)
        if _in_library(name):
            continue  # a submodule of a library's package (most of them): no file of the user's
        filename = getattr(module, "__file__", None)
        namespace = getattr(module, "__dict__", None)
        if not isinstance(filename, str) or not isinstance(namespace, dict) or "open" in namespace:
            continue
        if is_user_file(filename):
            namespace["open"] = user_open
            _bound_modules.append(namespace)


def _unbind_open(shell: Any) -> None:
    _active[0] = False
    if _user_folder_finder in sys.path_hooks:
        sys.path_hooks.remove(_user_folder_finder)
        _drop_cached_finders(user_folders=False)
    for namespace in _bound_modules:
        if namespace.get("open") is user_open:
            del namespace["open"]
    _bound_modules.clear()
    _looked.clear()
    _packages.clear()
    _modules_seen[0] = 0
    previous = _previous_open[0]
    for space in (shell.user_ns, shell.user_ns_hidden):
        if space.get("open") is user_open:
            if previous is _builtin_open:
                del space["open"]
            else:
                space["open"] = previous
    _writing.clear()
