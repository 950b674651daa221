"""The instrumentor base: the whole life of a library's hooks, from ``instrument()`` to ``uninstrument()``.

A hook module subclasses :class:`Instrumentor` and says only what it patches (``patches``) or listens to
(``listeners``) when each of its ``modules`` is imported; the base does the rest, as OpenTelemetry's
``BaseInstrumentor`` does: ``instrument()``/``uninstrument()`` guarded against doing either twice, the library's
declared ``requires`` checked with ``packaging`` (against the version the imported library reports), patches
applied when the user imports a module (never before: :func:`imports.when_imported`) and again after a
re-``instrument()``, and everything undone, last first, by ``uninstrument()`` or when patching a module fails.

:meth:`Instrumentor.patch` covers module functions (with every public alias of the function in the same library,
one wrapper shared, so it still pickles by reference), methods (a bound patched method pickles as the original
does, which joblib's loky and ``multiprocessing`` rely on), properties (the getter is wrapped) and descriptors
that delegate to a function (scikit-learn's ``available_if``: the function is wrapped, the descriptor kept).

A patch wraps the library's function with wrapt so that name, module, signature and picklability stay those of
the original; the user's call always runs, its result and exceptions pass through untouched, and the lineage
work after it is guarded (``safety.report``).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

import wrapt

from nblineage.kernel_ext import imports
from nblineage.kernel_ext.capture import (
    Capture,
    boundary,
    capturing,
    enter,
    leave,
    mute,
    outputs_before,
    reads_within,
    unmute,
)
from nblineage.kernel_ext.safety import report

After = Callable[[Capture, Any, tuple, dict], None]
Before = Callable[[Capture, tuple, dict], None]  # a check before the user's call (the policy guard's, at a write)
Patch = tuple[Any, str, Callable[..., Any]]  # (owner, attribute, wrapt wrapper)
Listener = tuple[Callable[[], None], Callable[[], None]]  # (subscribe, unsubscribe)
_MISSING: Any = object()
_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")  # a final release: compared without importing ``packaging.specifiers``


_changes = [0]  # counts what changed which instrumentors have work at a cell's end (``cell_enders``)


def _changed() -> None:
    _changes[0] += 1


def cell_enders(instrumentors: Iterable[Instrumentor], cached: list[Any]) -> tuple[Instrumentor, ...]:
    """The instrumentors among ``instrumentors`` with work at a cell's end (``at_cell_end``), remembered in ``cached``
    (the caller's list) until an instrumentor is instrumented, undone or loads its library's hooks."""
    if not cached or cached[0] != _changes[0]:
        found = tuple(ending for ending in (each.at_cell_end() for each in instrumentors) if ending is not None)
        cached[:] = [_changes[0], found]
    return cached[1]


def intercept(where: str, after: After, nested: bool = False, before: Before | None = None) -> Callable[..., Any]:
    """A wrapt wrapper: run the call, then ``after(capture, result, args, kwargs)`` when the call records: the
        outermost hooked call, one nested in it that is the user's own (``capture.enter``), or any call with ``nested``
        (an MLflow log inside a fit that ``autolog`` wrapped). The hooked calls ``after`` makes record nothing. What the
        calls nested in a recording call read is added to its result's provenance; what they wrote is dropped when the
    call writes too (the same output, by its outer name). What an ``after`` deferred
        (``Capture.defer``) runs when the outermost call ends.

        For methods, ``args`` starts with the instance.

        ``before(capture, args, kwargs)`` runs before the user's call when the call records and a policy applies
        (``capture.guard``): a write hook's check, whose ``PolicyViolation`` stops the call before anything is
        written; any other error of it is reported and the call runs.
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not capturing():  # capture off: the call, and nothing else
            return wrapped(*args, **kwargs)
        try:
            capture, depth = enter(nested, wrapped, args, kwargs)
        except Exception as error:  # the hook's own bookkeeping failed: the call, and nothing else
            report(where, error)
            return wrapped(*args, **kwargs)
        try:
            if before is not None and capture is not None and capture.guard is not None:
                mute()
                try:
                    before(capture, (instance, *args) if instance is not None else args, kwargs)
                except Exception as error:
                    report(where, error)  # a PolicyViolation goes on to the user: the call never runs
                finally:
                    unmute()
            result = wrapped(*args, **kwargs)
            if capture is not None:
                mute()
                try:
                    within, first, outputs = reads_within(depth), outputs_before(depth), capture.record.outputs
                    mid = len(outputs)
                    after(capture, result, (instance, *args) if instance is not None else args, kwargs)
                    if within and result is not None:
                        capture.registry.tag(result, capture.of(result) | capture.exact(within))
                    if first is not None and first < mid < len(outputs) and outputs is capture.record.outputs:
                        del outputs[first:mid]  # the nested calls wrote what this call wrote: one output
                except Exception as error:
                    report(where, error)
                finally:
                    unmute()
        finally:
            try:
                leave(depth)
                if depth == 0 and capture is not None and capture.deferred:
                    capture.run_deferred()
            except Exception as error:
                report(where, error)
        return result

    return wrapper


boundary(intercept("", lambda *_: None).__code__)  # current() looks no further up than a hooked call


class FunctionWrapper(wrapt.FunctionWrapper):
    """A patched function; it pickles by reference and copies as itself, as the function it wraps does (a scorer
    made of a patched metric is deep-copied by scikit-learn's ``clone``)."""

    def __reduce_ex__(self, protocol: int) -> str:
        return self.__qualname__

    def __copy__(self) -> FunctionWrapper:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FunctionWrapper:
        return self


class BoundMethod(wrapt.BoundFunctionWrapper):
    """A patched method bound to an instance (or looked up on its class); it pickles as the original does."""

    def __reduce_ex__(self, protocol: int) -> tuple[Any, tuple[Any, str]]:
        owner = self._self_instance if self._self_instance is not None else self._self_owner
        return getattr, (owner, self._self_parent._self_attribute)


class MethodWrapper(FunctionWrapper):
    """The wrapper of a method in a class ``__dict__``; binds to a :class:`BoundMethod`."""

    __bound_function_wrapper__ = BoundMethod

    def __init__(self, wrapped: Any, wrapper: Callable[..., Any], attribute: str) -> None:
        super().__init__(wrapped, wrapper)
        self._self_attribute = attribute


class Instrumentor:
    """The hooks of one library. Subclasses set ``modules`` (the imports that trigger them, a library's submodules
    included: ``pyarrow.parquet`` is imported long after ``pyarrow``), optionally ``requires`` (requirements such as
    ``"pandas>=2.0"``), and implement ``patches`` or ``listeners``; ``cell_ended`` runs after each
    cell."""

    modules: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._instrumented = False
        self._watched: set[str] = set()
        self._done: set[str] = set()  # modules patched
        self._undo: list[Callable[[], None] | tuple[Any, str, Any]] = []  # unsubscribes; (owner, attribute, previous)
        self._wrappers: dict[int, FunctionWrapper] = {}  # id(function) -> its one wrapper, shared by every alias
        self._supported: bool | None = None
        self._aliases: _Aliases | None = None  # public homes of functions, while one module is being patched

    # --- what a hook module implements ---------------------------------------------------------------------------

    def patches(self, module: Any) -> Iterable[Patch]:
        """(owner, attribute, wrapper) for each function, method or property to patch now that ``module`` is
        imported. A module function is patched in every public module of its library that exports it too."""
        return ()

    def listeners(self, module: Any) -> Iterable[Listener]:
        """(subscribe, unsubscribe) for each library event to listen to now that ``module`` is imported."""
        return ()

    def cell_ended(self, capture: Capture) -> None:
        """Called when a cell ends, before its record is taken (add what the cell's library calls left)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def at_cell_end(self) -> Instrumentor | None:
        """The instrumentor whose ``cell_ended`` has work to do (itself, unless it kept the base's), else None."""
        return None if type(self).cell_ended is Instrumentor.cell_ended else self

    # --- the life cycle ------------------------------------------------------------------------------------------

    @property
    def instrumented(self) -> bool:
        return self._on

    @property
    def _instrumented(self) -> bool:
        return self._on

    @_instrumented.setter
    def _instrumented(self, on: bool) -> None:
        self._on = on
        _changed()  # which instrumentors have work at a cell's end may change (``cell_enders``)

    def instrument(self) -> None:
        """Patch every module of ``modules`` imported already, and each other one when it is imported."""
        if self._instrumented:
            return
        self._instrumented = True
        for name in self.modules:
            if name not in self._watched:
                self._watched.add(name)
                imports.when_imported(name, self._on_import)  # runs now if imported already
                continue
            module = sys.modules.get(name)  # instrumented again: the import's hook has fired already
            if module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False):
                self._on_import(module)

    def notified(self, module: Any) -> None:
        """``module``, one of ``modules``, is imported: patch it now, instrumented from now on, the imports watched
        for it (a :class:`Deferred` watches them: the hooks of a module it names fire when that module is imported,
        never while a package importing it is still being initialized)."""
        self._instrumented = True
        self._watched.update(self.modules)
        self._on_import(module)

    def uninstrument(self) -> None:
        """Undo everything, last first."""
        if not self._instrumented:
            return
        self._instrumented = False
        self._undo_to(0)
        self._done.clear()
        self._wrappers.clear()

    def detach(self) -> None:
        """Patch no module imported from now on, and leave the patches made in place (the interpreter is exiting
        and capture is off: they pass every call straight through, and undoing them would only cost time)."""
        self._instrumented = False

    # --- patching ------------------------------------------------------------------------------------------------

    def patch(self, owner: Any, attribute: str, wrapper: Callable[..., Any]) -> bool:
        """Wrap ``owner.attribute`` (a class's own attribute, or a module's and its aliases') unless it is absent,
        wrapped already, or a static or class method. True when something was patched."""
        if isinstance(owner, type):
            return self._patch_class_attribute(owner, attribute, wrapper)
        original = getattr(owner, attribute, None)
        if original is None or isinstance(original, wrapt.FunctionWrapper):
            return False
        proxy = self._wrappers.get(id(original))
        if proxy is None:
            proxy = self._wrappers[id(original)] = FunctionWrapper(original, wrapper)
        homes = [owner]
        if inspect.ismodule(owner) and self._aliases is not None:
            homes += [home for home in self._aliases.homes(owner, attribute, original) if home is not owner]
        for home in homes:
            self.replace(home, attribute, proxy)
        return True

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        """Set ``owner.attribute`` to ``value``, and put back what was there (or nothing) on undo."""
        previous = owner.__dict__.get(attribute, _MISSING) if isinstance(owner, type) else getattr(owner, attribute)
        setattr(owner, attribute, value)
        self._undo.append((owner, attribute, previous))  # a tuple, not a closure: hundreds a library, kept all along

    def _patch_class_attribute(self, owner: type, attribute: str, wrapper: Callable[..., Any]) -> bool:
        original = owner.__dict__.get(attribute)
        if original is None or isinstance(original, (staticmethod, classmethod, wrapt.FunctionWrapper)):
            return False
        if isinstance(original, property):
            if original.fget is None or isinstance(original.fget, wrapt.FunctionWrapper):
                return False
            getter = FunctionWrapper(original.fget, wrapper)
            self.replace(owner, attribute, property(getter, original.fset, original.fdel, original.__doc__))
            return True
        if _is_delegating_descriptor(original):  # scikit-learn's available_if: its function is patched
            self.replace(original, "fn", FunctionWrapper(original.fn, wrapper))
            return True
        self.replace(owner, attribute, MethodWrapper(original, wrapper, attribute))
        return True

    def _on_import(self, module: Any) -> None:
        name = getattr(module, "__name__", "")
        if not self._instrumented or name in self._done or not self._requirements_met():
            return
        self._done.add(name)
        start = len(self._undo)
        self._aliases = _Aliases(name)
        try:
            for owner, attribute, wrapper in self.patches(module):
                self.patch(owner, attribute, wrapper)
            for subscribe, unsubscribe in self.listeners(module):
                subscribe()
                self._undo.append(unsubscribe)
        except Exception as error:  # this module's hooks are off; the others stay
            self._undo_to(start)
            self._done.discard(name)
            report(f"{name} instrumentation", error)
        finally:
            self._aliases = None

    def _undo_to(self, length: int) -> None:
        while len(self._undo) > length:
            step = self._undo.pop()
            if not isinstance(step, tuple):
                step()  # a listener's unsubscribe
                continue
            owner, attribute, previous = step
            if previous is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, previous)

    def _requirements_met(self) -> bool:
        if self._supported is None:
            self._supported = all(_installed(requirement) for requirement in self.requires)
        return self._supported


class Deferred(Instrumentor):
    """An instrumentor whose hook module is not imported yet: ``make()`` (which imports it) runs when the first of
    ``modules`` is imported, or at ``instrument()`` when one is imported already. It watches the imports of
    ``modules`` (the made one's) as the base does, in install order, and hands each to the instrumentor made
    (``notified``), which patches it and undoes its patches on ``uninstrument()``."""

    def __init__(self, name: str, modules: tuple[str, ...], make: Callable[[], Instrumentor]) -> None:
        super().__init__()
        self._name, self.modules, self._make = name, modules, make
        self.loaded: Instrumentor | None = None

    @property
    def name(self) -> str:
        return self._name

    def uninstrument(self) -> None:
        if not self._instrumented:
            return
        self._instrumented = False
        if self.loaded is not None:
            self.loaded.uninstrument()

    def detach(self) -> None:
        self._instrumented = False
        if self.loaded is not None:
            self.loaded.detach()

    def cell_ended(self, capture: Capture) -> None:
        if self.loaded is not None and self._instrumented:
            self.loaded.cell_ended(capture)

    def at_cell_end(self) -> Instrumentor | None:
        return self.loaded.at_cell_end() if self.loaded is not None and self._instrumented else None

    def _on_import(self, module: Any) -> None:
        """One of ``modules`` is imported: make the real instrumentor (importing its hook module), hand it over."""
        if not self._instrumented:
            return
        try:
            if self.loaded is None:
                self.loaded = self._make()
                _changed()
            self.loaded.notified(module)
        except Exception as error:  # this library's hooks are off; the others stay
            report(f"{self._name} hooks", error)


def defining_class(cls: Any, name: str) -> type | None:
    """The class of ``cls``'s MRO whose own ``__dict__`` holds ``name`` (where a patch must go), else None."""
    for klass in getattr(cls, "__mro__", ()):
        if name in klass.__dict__:
            return klass
    return None


def wrap_class_method(instrumentor: Instrumentor, cls: type, name: str, wrapper: Any) -> None:
    """Wrap a class's class or static method (which ``Instrumentor.patch`` leaves alone), undone with the rest; the
    wrapped function gets the class as its first argument. Lightning's ``_restricted_classmethod`` calls the function
    it holds as ``method``: that is wrapped."""
    original = cls.__dict__.get(name)
    held = getattr(original, "method", None)
    if isinstance(original, classmethod) and callable(held) and not isinstance(held, wrapt.FunctionWrapper):
        instrumentor.replace(original, "method", FunctionWrapper(held, wrapper))
    elif isinstance(original, (staticmethod, classmethod)) and not isinstance(original.__func__, wrapt.FunctionWrapper):
        instrumentor.replace(cls, name, type(original)(FunctionWrapper(original.__func__, wrapper)))


def _installed(requirement: str) -> bool:
    """True when the library of ``requirement`` (``"pandas>=2.0"``: imported already, else its distribution) has a
    version it allows. ``packaging.requirements`` would import far more than the specifier this needs."""
    library, specifier = _REQUIREMENT.fullmatch(requirement.strip()).groups()  # type: ignore[union-attr]
    version = getattr(sys.modules.get(library), "__version__", None)
    if isinstance(version, str):
        version = version.partition(" ")[0]  # psycopg2's: "2.9.10 (dt dec pq3 ext lo64)"
    else:
        try:
            version = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            return False
    at_least = _at_least(specifier, version)
    if at_least is not None:
        return at_least
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(specifier).contains(version, prereleases=True)


def _at_least(specifier: str, version: str) -> bool | None:
    """``version`` against ``>=X.Y``, both final releases (what ``packaging`` answers), else None (ask it)."""
    minimum = specifier.strip().removeprefix(">=").strip()
    if not specifier.strip().startswith(">=") or not _RELEASE.fullmatch(minimum) or not _RELEASE.fullmatch(version):
        return None
    have, need = [int(part) for part in version.split(".")], [int(part) for part in minimum.split(".")]
    width = max(len(have), len(need))
    return have + [0] * (width - len(have)) >= need + [0] * (width - len(need))


def _is_delegating_descriptor(obj: Any) -> bool:
    """A descriptor that binds a function it holds as ``fn`` (scikit-learn's ``available_if``). Its function is
    patched rather than the descriptor, so that the class keeps the descriptor MLflow's autolog looks for."""
    return (
        not inspect.isfunction(obj) and hasattr(type(obj), "__get__") and inspect.isfunction(getattr(obj, "fn", None))
    )


class _Aliases:
    """The public modules of one library loaded now (its packages and ``api`` modules), looked up once for all the
    functions a module's hooks patch."""

    def __init__(self, module_name: str) -> None:
        self.root = module_name.partition(".")[0]
        self._public: list[Any] | None = None

    def homes(self, module: Any, name: str, function: Any) -> list[Any]:
        """Modules that hold ``function`` as ``name`` and are public homes of it: the module that defines it, the
        module it claims (``__module__``) and any package or ``api`` module of the library. Internal modules that
        merely import it are left alone."""
        if self._public is None:
            self._public = public_modules(self.root)
        defined_in = getattr(function, "__globals__", {}).get("__name__")
        claimed = getattr(function, "__module__", None)
        named = [
            sys.modules.get(home)
            for home in (defined_in, claimed)
            if isinstance(home, str) and home.partition(".")[0] == self.root
        ]
        found: list[Any] = []
        for candidate in (*named, *self._public):
            holds = candidate is not None and getattr(candidate, "__dict__", {}).get(name) is function
            if holds and candidate is not module and candidate not in found:
                found.append(candidate)
        return found


_looked_at: set[str] = set()  # the names in ``sys.modules`` that ``public_modules`` has looked at
_public_names: dict[str, list[str]] = {}  # library -> the names of its public modules seen so far


def public_modules(library: str) -> list[Any]:
    """The public modules of ``library`` loaded now: its packages and ``api`` modules. Each module is looked at
    once, when first seen in ``sys.modules`` (a copy: other threads import meanwhile): a library's import patches
    several of its modules, each of them once another thousand modules are loaded, and a look at all of them
    each time was half the cost of finding aliases."""
    modules = sys.modules.copy()
    for name in sorted(modules.keys() - _looked_at):
        candidate = modules[name]
        if candidate is None:  # an import blocked (``sys.modules[name] = None``), for now
            continue
        _looked_at.add(name)
        # a package is a module with its own ``__path__``: ``hasattr`` would call the module ``__getattr__`` of
        # the library's other modules, an AttributeError raised each (10 M instructions importing pandas, sklearn)
        if "__path__" in getattr(candidate, "__dict__", ()) or name.endswith(".api"):
            _public_names.setdefault(name.partition(".")[0], []).append(name)
    return [module for name in _public_names.get(library, ()) if (module := modules.get(name)) is not None]
