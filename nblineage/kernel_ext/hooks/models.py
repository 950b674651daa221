"""Model saves and loads: each save is an output dataset whose inputs are the saved object's provenance; each load
(``joblib.load``, ``pickle.load``/``loads``, ``torch.load``) a read whose object carries it (``hooks/loads.py``). A
model saved is remembered as a file of its fit (``describe.remember_file``): the fit's predictions derive from it.

``describe.describe_model`` tells whether an object is a model and describes it; a save of something that is not a
model (a DataFrame, a dict) is recorded as a plain dataset. The version of a saved file is
the fingerprint of its bytes once the save returns.

Saves into an open file (``pickle.dump(obj, f)``, ``joblib.dump(obj, f)``...) are fingerprinted right after the
call: a plain binary file (``open(path, "wb")``, a named temporary file) is flushed first, which hands Python's
buffer to the operating system and changes no byte, so the fingerprint is that of everything written so far.
Several dumps into one still-open file within a cell merge into one output: the version of the whole file, the
union of the objects' provenance. A file that cannot be flushed harmlessly (gzip, bz2: a flush would add bytes)
is recorded without a version.
"""

from __future__ import annotations

import io
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import xxhash

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import guard
from nblineage.kernel_ext.capture import Capture, Output
from nblineage.kernel_ext.fingerprint import CHUNK, file_version, forget
from nblineage.kernel_ext.hooks import loads
from nblineage.kernel_ext.hooks.calls import MISSING, argument
from nblineage.kernel_ext.hooks.describe import MODEL_FACETS, describe_model, models_in, qualified_name, remember_file
from nblineage.kernel_ext.hooks.mlflow import runs
from nblineage.kernel_ext.hookstate import HookState
from nblineage.kernel_ext.instrument import Instrumentor, Listener, Patch, defining_class, intercept
from nblineage.kernel_ext.provenance import Source, union
from nblineage.kernel_ext.safety import report
from nblineage.lineage.naming import DatasetName, dataset_from_uri, file_dataset

__all__ = [
    "JoblibInstrumentor",
    "PickleInstrumentor",
    "SafetensorsInstrumentor",
    "SkopsInstrumentor",
    "StatsmodelsInstrumentor",
    "TorchInstrumentor",
    "method_saves",
    "record_save",
    "saves",
]

_PLAIN_FILES = (io.FileIO, io.BufferedWriter, io.BufferedRandom)


# --- recording a save --------------------------------------------------------------------------------------------


def record_save(capture: Capture, obj: Any, target: Any, file_format: str | None = None) -> None:
    """Record that ``obj`` was saved to ``target``: a path, a path-like, or an open binary file with a real path;
    ``file_format`` names the model file's format (``torchscript``, ``safetensors``...) when the call tells it.

    Targets that name no file (an in-memory buffer, a socket) are not recorded.
    """
    state = capture.hooks
    written: OpenWrite | None = None
    if isinstance(target, (str, bytes, os.PathLike)):
        name = _name_path(target)
        version = _fingerprint(name)
    else:
        path = open_file_path(target)
        if path is None:
            return
        name = file_dataset(path)
        written = _open_write(state, target)
        version = written.fingerprint(target, name.name) if flush_plain_file(target) else None
    model = describe_model(obj, capture)
    facets = dict(MODEL_FACETS) if model is not None else {}
    if model is not None:
        model.update(persisted_facts(name, version))
        if file_format:
            model["format"] = file_format
    provenance = capture.of(obj)
    if provenance and isinstance(obj, tuple) and len(obj) <= 16 and capture.untracked(obj) and capture.follow_so_far():
        provenance = capture.of(obj)  # ``(matrix, names)``: the matrix made where no hook saw, followed
    if model is not None and model.get("container"):  # a checkpoint: its model's inputs, not its validation losses
        provenance = union(capture.of(item) for item in models_in(obj)) or provenance
    outputs = capture.record.outputs
    if written is not None and written.output is not None:
        index = next((i for i, output in enumerate(outputs) if output is written.output), None)
        if index is not None:  # another dump into the same open file in this cell: one output
            earlier = outputs.pop(index)
            provenance = earlier.provenance | provenance
            model = earlier.model or model
            facets = {**earlier.facets, **facets}
    if model is not None and model.get("mlflowRunId"):
        runs.link_model(capture, model["mlflowRunId"], Source(name.namespace, name.name, version))
    # Nothing known of the object (fitted on data the cell made where no hook saw): the write falls back to the cell.
    known = provenance if provenance else None
    saved = Source(name.namespace, name.name, version)
    capture.write(saved, obj, facets=facets, model=model, provenance=known)
    if model is not None:
        remember_file(capture, model.get("fitId"), saved)  # the fit's predictions derive from this version
    if written is not None:
        written.output = outputs[-1]


def persisted_facts(name: DatasetName, version: str | None) -> dict[str, Any]:
    """What a model description gains once the model is written to ``name``: its size on disk (a file, or a
    folder's files) and the MLflow run it was saved in, when one is active."""
    facts: dict[str, Any] = {}
    if name.namespace == "file" and version is not None:
        size = size_on_disk(name.name)
        if size is not None:
            facts["sizeBytes"] = size
    return facts | runs.active_run_facts()


def size_on_disk(path: str) -> int | None:
    """Bytes of a file, or of all files under a folder; None when it cannot be read."""
    try:
        if not os.path.isdir(path):
            return os.path.getsize(path)
        return sum(os.path.getsize(os.path.join(root, file)) for root, _dirs, files in os.walk(path) for file in files)
    except OSError:
        return None


class OpenWrite:
    """Saves into one open file: the output recorded for it, and the fingerprint of its bytes hashed so far.

    Dumps appended one after another to the same file (a stream of pickles) are hashed incrementally, so N dumps
    cost one pass over the file rather than N.
    """

    def __init__(self, ref: weakref.ref) -> None:
        self.ref = ref
        self.output: Output | None = None
        self.digest = xxhash.xxh3_128()
        self.hashed = 0

    def fingerprint(self, handle: Any, path: str) -> str | None:
        """The fingerprint of the file's bytes now (the file is flushed)."""
        try:
            position = handle.tell()
        except (OSError, ValueError, AttributeError):
            position = 0
        if position < self.hashed:  # the file was rewound and rewritten: start again
            self.digest, self.hashed = xxhash.xxh3_128(), 0
        try:
            with open(path, "rb") as source:
                source.seek(self.hashed)
                while chunk := source.read(CHUNK):
                    self.digest.update(chunk)
                    self.hashed += len(chunk)
        except OSError:
            return None
        return self.digest.hexdigest()


def _open_write(state: HookState, handle: Any) -> OpenWrite:
    """What earlier saves into ``handle`` left (a fresh entry for a file seen for the first time)."""
    key = id(handle)
    written = state.open_writes.get(key)
    if not isinstance(written, OpenWrite) or written.ref() is not handle:
        ref = weakref.ref(handle, lambda _, key=key: state.open_writes.pop(key, None))
        written = state.open_writes[key] = OpenWrite(ref)
    return written


def _name_path(target: str | bytes | os.PathLike) -> DatasetName:
    if isinstance(target, bytes):
        return file_dataset(os.fsdecode(target))
    if isinstance(target, str):
        return dataset_from_uri(target)
    return file_dataset(target)


def _fingerprint(name: DatasetName) -> str | None:
    if name.namespace != "file":
        return None
    forget(name.name)
    return file_version(name.name)


def open_file_path(file: Any) -> str | None:
    """The absolute path of an open file, when its ``name`` is a path to the very file it has open."""
    name = getattr(file, "name", None)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str) or not name:
        return None
    try:
        on_disk = os.stat(name)
    except (OSError, ValueError):
        return None
    fileno = getattr(file, "fileno", None)
    if callable(fileno):
        try:
            opened = os.fstat(fileno())
        except (OSError, ValueError, AttributeError):  # closed, or a file-like without a descriptor
            opened = None
        if opened is not None and not os.path.samestat(opened, on_disk):
            return None
    return os.path.abspath(name)


def flush_plain_file(file: Any) -> bool:
    """Flush a plain binary file, a text file over one, or the one a temporary-file wrapper holds (a flush that
    writes no byte of its own); False for any other file-like."""
    for candidate in (file, getattr(file, "file", None)):
        plain = getattr(candidate, "buffer", None) if isinstance(candidate, io.TextIOWrapper) else candidate
        if isinstance(plain, _PLAIN_FILES):
            if not candidate.closed:
                candidate.flush()
            return True
    return False


# --- instrumentors -----------------------------------------------------------------------------------------------


def saves(
    where: str, obj_at: tuple[int, str], target_at: tuple[int, str], file_format: str | None = None
) -> Callable[..., Any]:
    """A wrapper recording a save of the argument at ``obj_at`` to the one at ``target_at`` (position, keyword), in
    ``file_format`` when the function tells it."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        obj = argument(args, kwargs, *obj_at)
        target = argument(args, kwargs, *target_at)
        if obj is not MISSING and target is not MISSING:
            record_save(capture, obj, target, file_format)

    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        obj = argument(args, kwargs, *obj_at)
        target = argument(args, kwargs, *target_at)
        if obj is not MISSING and target is not MISSING:
            guard.check_write(capture, obj, target)

    return intercept(where, after, before=before)


class JoblibInstrumentor(Instrumentor):
    """``joblib.dump(value, filename)`` and ``joblib.load(filename)`` (and their aliases in ``joblib.numpy_pickle``)."""

    modules = ("joblib",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "dump", saves("joblib.dump", (0, "value"), (1, "filename"))
        yield module, "load", intercept("joblib.load", loads.loads_from(0, "filename"))

    def cell_ended(self, capture: Capture) -> None:
        loads.settle(capture)


class PickleInstrumentor(Instrumentor):
    """``pickle.dump(obj, file)`` into a file with a real path; ``pickle.load(file)`` from one, and
    ``pickle.loads(data)`` of a file's bytes (``hooks/loads.py``)."""

    modules = ("pickle",)

    def patches(self, module: Any) -> Iterable[Patch]:
        accelerated = sys.modules.get("_pickle")
        for name, wrapper in (
            ("dump", saves("pickle.dump", (0, "obj"), (1, "file"))),
            ("load", intercept("pickle.load", loads.loads_from(0, "file"))),
            ("loads", intercept("pickle.loads", loads.pickle_loads)),
        ):
            shared = accelerated is not None and getattr(accelerated, name, None) is getattr(module, name)
            yield module, name, wrapper
            if shared:
                yield accelerated, name, wrapper  # pickle.dump pickles by reference as _pickle.dump

    def cell_ended(self, capture: Capture) -> None:
        loads.settle(capture)


class TorchInstrumentor(Instrumentor):
    """``torch.save(obj, f)`` and ``torch.load(f)``; TorchScript (``torch.jit.save``, ``ScriptModule.save``,
    ``torch.jit.load``) and ``torch.export`` (``save``, ``load``) files the same way, a module scripted, traced or
    exported carrying its module's provenance and description; ``Module.state_dict()`` carries the module's
    provenance to the dict it returns (and ``copy.deepcopy`` of it, the best-weights pattern), ``load_state_dict``
    the state's to the module; training data into the module (``hooks/tensors.py``)."""

    modules = ("torch",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "save", saves("torch.save", (0, "obj"), (1, "f"))
        yield module, "load", intercept("torch.load", loads.loads_from(0, "f"))
        owner = defining_class(module.nn.Module, "state_dict")
        if owner is not None:
            yield owner, "state_dict", intercept("torch Module.state_dict", _state_dict)
        owner = defining_class(module.nn.Module, "load_state_dict")
        if owner is not None:
            yield owner, "load_state_dict", intercept("torch Module.load_state_dict", loads.load_state_dict)
        yield from _compiled_saves(module)
        yield from _tensors().patches(module)

    def listeners(self, module: Any) -> Iterable[Listener]:
        yield _state_dict_copies()
        yield from _tensors().listeners(module)

    def cell_ended(self, capture: Capture) -> None:
        _tensors().cell_ended(capture)
        loads.settle(capture)


def _compiled_saves(torch: Any) -> Iterable[Patch]:
    """TorchScript and ``torch.export``: their saves and loads, and the modules they convert."""
    jit = getattr(torch, "jit", None)
    if jit is not None:
        yield jit, "save", saves("torch.jit.save", (0, "m"), (1, "f"), "torchscript")
        yield jit, "load", intercept("torch.jit.load", loads.loads_from(0, "f"))
        for name in ("script", "trace"):
            yield jit, name, intercept(f"torch.jit.{name}", _converted)
        for class_name in ("ScriptModule", "RecursiveScriptModule"):  # ``torch.jit.save`` calls it: one output
            cls = getattr(jit, class_name, None)
            if isinstance(cls, type) and "save" in cls.__dict__:
                yield cls, "save", saves(f"torch {class_name}.save", (0, "self"), (1, "f"), "torchscript")
    export = sys.modules.get("torch.export")
    if export is not None:
        yield export, "export", intercept("torch.export.export", _converted)
        yield export, "save", saves("torch.export.save", (0, "ep"), (1, "f"), "torch.export")
        yield export, "load", intercept("torch.export.load", loads.loads_from(0, "f"))


def _converted(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``torch.jit.script(module)``, ``torch.jit.trace(module, ...)``, ``torch.export.export(module, ...)``: what it
    returns derives from the module and is described as the module (its class, training facts)."""
    module = args[0] if args else next(iter(kwargs.values()), None)
    torch = sys.modules.get("torch")
    if torch is None or result is None or not isinstance(module, torch.nn.Module):
        return
    capture.derive(result, module)
    facts = dict(capture.hooks.training.get(module))
    facts.setdefault("moduleClass", qualified_name(type(module)))
    capture.hooks.training.remember(result, facts)


def _tensors() -> Any:
    """``hooks/tensors.py``, imported with torch's hooks (``pickle``'s, which share this module, are installed in
    every kernel)."""
    from nblineage.kernel_ext.hooks import tensors

    return tensors


def _state_dict(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``module.state_dict()``: the dict derives from the module, and a save of it describes the module (its class,
    parameter count and training facts)."""
    if not args:
        return
    capture.derive(result, args[0])
    facts = dict(capture.hooks.training.get(args[0]))
    facts["moduleClass"] = qualified_name(type(args[0]))
    capture.hooks.training.remember(result, facts)


def _state_dict_copies() -> Listener:
    """``copy.deepcopy(module.state_dict())`` (the best-weights pattern, saved once training has gone on): the copy
    derives from the state dict and is described as it. ``deepcopy`` of an ``OrderedDict`` gets an entry in
    ``copy``'s dispatch table (only that exact type, never anything ``deepcopy`` copies inside it) doing what
    ``deepcopy`` does without one, then noting the copy when the original is a state dict."""
    import copy
    import copyreg
    from collections import OrderedDict

    table: dict[type, Any] | None = getattr(copy, "_deepcopy_dispatch", None)
    reconstruct = getattr(copy, "_reconstruct", None)
    if not isinstance(table, dict) or not callable(reconstruct):  # another Python's copy module: left alone
        return lambda: None, lambda: None

    def copier(x: Any, memo: dict[int, Any]) -> Any:
        own = getattr(x, "__deepcopy__", None)
        if own is not None:
            y = own(memo)
        else:
            reductor = copyreg.dispatch_table.get(type(x))
            reduced = reductor(x) if reductor is not None else x.__reduce_ex__(4)
            y = x if isinstance(reduced, str) else reconstruct(x, memo, *reduced)
        active = capture_module._current
        if active is not None and y is not x:
            try:
                facts = active.hooks.training.get(x)
                if facts.get("moduleClass"):
                    active.derive(y, x)
                    active.hooks.training.remember(y, dict(facts))
            except Exception as error:  # the copy is made all the same
                report("copy.deepcopy of a state dict", error)
        return y

    def subscribe() -> None:
        if OrderedDict not in table:
            table[OrderedDict] = copier

    def unsubscribe() -> None:
        if table.get(OrderedDict) is copier:
            del table[OrderedDict]

    return subscribe, unsubscribe


class SafetensorsInstrumentor(Instrumentor):
    """``safetensors.torch``: ``save_file(state_dict, filename)`` and ``save_model(model, filename)`` are model saves
    (format ``safetensors``), ``load_file(filename)`` a load whose dict carries the file, ``load_model(model,
    filename)`` a load into the module (as ``load_state_dict`` of a ``torch.load``)."""

    modules = ("safetensors.torch",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "save_file", saves("safetensors save_file", (0, "tensors"), (1, "filename"), "safetensors")
        yield module, "save_model", saves("safetensors save_model", (0, "model"), (1, "filename"), "safetensors")
        yield module, "load_file", intercept("safetensors load_file", loads.loads_from(0, "filename"))
        yield module, "load_model", intercept("safetensors load_model", _loaded_into)

    def cell_ended(self, capture: Capture) -> None:
        loads.settle(capture)


def _loaded_into(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``load_model(model, filename)``: the module now derives from the file too."""
    model, target = argument(args, kwargs, 0, "model", None), argument(args, kwargs, 1, "filename", None)
    if model is not None and target is not None:
        loads.load_into(capture, model, target)


class StatsmodelsInstrumentor(Instrumentor):
    """``statsmodels``' own load (``sm.load``, ``ARIMAResults.load``, any model's or results' ``load``: all
    ``iolib.smpickle.load_pickle``), which opens the file and unpickles it inside the library; its saves go through
    ``pickle.dump``, patched already."""

    modules = ("statsmodels.iolib.smpickle",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "load_pickle", intercept("statsmodels load_pickle", loads.loads_from(0, "fname"))


class SkopsInstrumentor(Instrumentor):
    """``skops.io.dump(obj, file)``."""

    modules = ("skops.io",)

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "dump", saves("skops.io.dump", (0, "obj"), (1, "file"))


def method_saves(
    module: Any, methods: Iterable[tuple[str, str, str]], file_format: str | None = None
) -> Iterator[Patch]:
    """Saves through methods of the model itself: (class attribute of ``module``, method, target parameter), in
    ``file_format`` when the methods tell it."""
    for class_name, method, target in methods:
        owner = defining_class(getattr(module, class_name, None), method)
        if owner is not None:
            where = f"{module.__name__} {class_name}.{method}"
            yield owner, method, saves(where, (0, "self"), (1, target), file_format)
