"""Loads of saved objects (``pickle.load``/``loads``, ``joblib.load``, ``torch.load``, numpy's readers): each is a
dataset read of the file's version, and what was loaded carries it.

The object loaded is tagged with the read, and so are the parts a caller unpacks or indexes (the items of a tuple,
list or dict, one level; the object a 0-d object array holds, as ``np.load(..., allow_pickle=True).item()`` returns).
A list or dict cannot be weakly referenced: until the cell ends it is held by a one-item namespace of our own, then
by the names the cell bound it to (``provenance.Registry``'s bindings), so a list of texts loaded from a pickle keeps
its provenance across cells while nothing keeps it alive once the user drops it.

A loaded model remembers what it was loaded from (:func:`loaded_from`): a later ``fit`` of it (fine-tuning, or a
retraining of a model read from a file) derives from that file as well as from the new data. A loaded estimator the
hooks know nothing about gets a ``fitId``, so its predictions and metrics are attributed to it and to its re-saves;
the file is remembered as the fit's (``describe.remember_file``), whose predictions derive from it.

``pickle.loads(data)`` takes bytes, which carry no provenance: the bytes are matched by content (xxh3-128, the
dataset version itself) against the files the statement's cell names (string literals, and str or path variables of
the notebook it reads). A match is the file's version exactly; no match records nothing.
"""

from __future__ import annotations

import ast
import os
import sys
import uuid
from typing import Any

import xxhash

from nblineage.kernel_ext import fingerprint
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import remember_file
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.hookstate import ObjectFacts
from nblineage.kernel_ext.provenance import EMPTY, Provenance

__all__ = ["load_into", "loaded_from", "record_load", "record_loads", "settle", "tag_loaded"]

MAX_PARTS = 4096  # items of a loaded tuple, list or dict tagged
MAX_PENDING = 256  # loaded lists and dicts held until the cell ends
MAX_CANDIDATES = 32  # files a cell names that ``pickle.loads`` compares its bytes with
MAX_LOADS_BYTES = 1 << 30  # bytes larger than this are not hashed
MAX_FRAMES = 12  # frames looked through for the caller of a hooked call

_loaded = ObjectFacts()  # a loaded object -> {"provenance": the read}
_pending: list[tuple[dict[str, Any], Provenance]] = []  # ({"value": list or dict}, provenance) until the cell ends
_named: list[Any] = [None, []]  # [cell run id, the files its cell names]


def record_load(capture: Capture, target: Any, result: Any, facets: dict[str, Any] | None = None) -> bool:
    """``result`` was loaded from ``target`` (a path, path-like or open file): a read of the file's version. False
    when ``target`` names no file (a buffer, bytes)."""
    location = target if isinstance(target, Location) else locate(target)
    if location is None:
        return False
    source = location.source()
    provenance = capture.read(source, result, facets)
    tag_loaded(capture, result, provenance)
    return True


def load_into(capture: Capture, model: Any, target: Any) -> None:
    """Weights loaded into ``model`` from the file ``target`` (``safetensors.torch.load_model``): a read, which the
    model derives from besides what it had (as after ``load_state_dict`` of a load)."""
    location = target if isinstance(target, Location) else locate(target)
    if location is None:
        return
    had = capture.of(model)
    read = capture.read(location.source(), None)
    capture.registry.tag(model, (had | read).through(capture.cell_run_id))
    _loaded.remember(model, {"provenance": loaded_from(model) | read})


def tag_loaded(capture: Capture, result: Any, provenance: Provenance) -> None:
    """Tag ``result``, its parts and what it holds with ``provenance``; remember a model's origin."""
    _tag(capture, result, provenance)
    holds = _held_object(result)
    if holds is not None:
        _tag(capture, holds, provenance)
        result = holds
    if isinstance(result, (tuple, list)):
        parts: Any = result[:MAX_PARTS]
    elif isinstance(result, dict):
        parts = [value for _, value in zip(range(MAX_PARTS), result.values(), strict=False)]
    else:
        return
    for part in parts:
        _tag(capture, part, provenance)


def _tag(capture: Capture, obj: Any, provenance: Provenance) -> None:
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return
    if isinstance(obj, (list, dict, tuple)):
        if len(_pending) < MAX_PENDING:
            holder = {"value": obj}
            _pending.append((holder, provenance))
            capture.registry.tag(obj, provenance, binding=(holder, "value"))
        return
    capture.registry.tag(obj, provenance)
    _loaded.remember(obj, {"provenance": provenance})
    if _is_estimator(obj):
        training = capture.hooks.training
        if not training.get(obj).get("fitId"):
            training.remember(obj, {"fitId": uuid.uuid4().hex})
        for source in provenance.sources:  # its predictions derive from the file it was loaded from
            remember_file(capture, training.get(obj).get("fitId"), source)


def _held_object(result: Any) -> Any:
    """The object a 0-d numpy object array holds (``np.save`` of a dict), else None."""
    if getattr(result, "shape", None) == () and getattr(getattr(result, "dtype", None), "kind", None) == "O":
        try:
            return result.item()
        except Exception:
            return None
    return None


def _is_estimator(obj: Any) -> bool:
    try:
        return callable(getattr(obj, "get_params", None)) and (
            callable(getattr(obj, "predict", None)) or callable(getattr(obj, "transform", None))
        )
    except Exception:  # an object whose __getattr__ fails is no estimator
        return False


def loaded_from(obj: Any) -> Provenance:
    """The read ``obj`` was loaded by (empty when it was not loaded)."""
    return _loaded.get(obj).get("provenance", EMPTY)


def settle(capture: Capture) -> None:
    """At the end of a cell: the lists and dicts loaded in it are known by the names the cell bound them to."""
    if not _pending:
        return
    pending = _pending[:]
    _pending.clear()
    user_ns = capture.user_ns or {}
    for holder, provenance in pending:
        obj = holder.get("value")
        names = [name for name, value in user_ns.items() if value is obj] if obj is not None else []
        for name in names:
            capture.registry.tag(obj, provenance, binding=(user_ns, name))
        holder.clear()


# --- pickle.loads: bytes matched with the files the cell names --------------------------------------------------


def record_loads(capture: Capture, data: Any, result: Any) -> None:
    """``pickle.loads(data)``: when ``data`` is the content of a file the cell names, a read of that file."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not capture.cell_source:
        return
    size = memoryview(data).nbytes
    if size > MAX_LOADS_BYTES or not _called_by_user(capture):
        return
    candidates = [path for path in _named_files(capture) if _size(path) == size]
    if not candidates:
        return
    version = xxhash.xxh3_128(data).hexdigest()
    for path in candidates:
        if fingerprint.file_version(path) == version:
            location = locate(path)
            if location is not None:
                record_load(capture, location, result)
            return


def _called_by_user(capture: Capture) -> bool:
    """Whether the hooked call was made by the notebook's code (not by a library, which loads its own bytes)."""
    frame = sys._getframe(1)
    for _ in range(MAX_FRAMES):
        if frame is None:
            return False
        module = frame.f_globals.get("__name__", "")
        if not (isinstance(module, str) and module.partition(".")[0] in ("nblineage", "wrapt")):
            return frame.f_globals is capture.user_ns
        frame = frame.f_back
    return False


def _named_files(capture: Capture) -> list[str]:
    """Files named in the cell under way: its string literals, and the str or path variables it reads (looked
    up once per cell)."""
    if _named[0] == capture.cell_run_id and capture.cell_run_id is not None:
        return _named[1]
    try:
        tree = ast.parse(capture.cell_source or "")
    except (SyntaxError, ValueError):
        return []
    user_ns = capture.user_ns or {}
    found: list[str] = []
    for node in ast.walk(tree):
        value: Any = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
        elif isinstance(node, ast.Name):
            value = user_ns.get(node.id)
        if isinstance(value, (str, os.PathLike)):
            path = _existing_file(value)
            if path is not None and path not in found:
                found.append(path)
                if len(found) >= MAX_CANDIDATES:
                    break
    _named[:] = [capture.cell_run_id, found]
    return found


def _existing_file(value: str | os.PathLike) -> str | None:
    try:
        path = os.fspath(value)
        if not isinstance(path, str) or not path or len(path) > 4096 or "\n" in path:
            return None
        return os.path.abspath(path) if os.path.isfile(path) else None
    except (OSError, ValueError, TypeError):
        return None


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


# --- afters for the instrumentors ------------------------------------------------------------------------------


def loads_from(index: int, name: str) -> Any:
    """The ``after`` step of a load whose file is the argument at ``index`` or keyword ``name``."""

    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, index, name, None)
        if target is not None:
            record_load(capture, target, result)

    return after


def pickle_loads(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The ``after`` step of ``pickle.loads(data)``."""
    record_loads(capture, argument(args, kwargs, 0, "data", None), result)


def load_state_dict(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``module.load_state_dict(state)``: the module now derives from the state too (a checkpoint's weights)."""
    if len(args) < 2:
        state = kwargs.get("state_dict")
        args = (*args, state)
    module, state = args[0], args[1]
    provenance = capture.of(state)
    if not provenance and isinstance(state, dict):  # a big state dict: its tensors carry it
        tensors = [value for _, value in zip(range(MAX_PARTS), state.values(), strict=False)]
        for tensor in tensors:
            provenance = provenance | capture.of(tensor)
    if provenance:
        capture.registry.tag(module, capture.of(module) | provenance.through(capture.cell_run_id))
        _loaded.remember(module, {"provenance": loaded_from(module) | provenance})
