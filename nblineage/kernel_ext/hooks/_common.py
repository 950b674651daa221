"""What the library hooks share: patching that keeps methods picklable, argument access, per-capture facts.

``PatchingInstrumentor`` patches like :class:`~nblineage.kernel_ext.instrument.Instrumentor` with three
differences: a patched *method* bound to an instance pickles as the original bound method does
(``pickle.dumps(estimator.predict)``, which joblib's loky and ``multiprocessing`` rely on), every alias of one
function (``joblib.dump`` and ``joblib.numpy_pickle.dump``) shares one wrapper so that the function still pickles
by reference, and ``instrument()`` after ``uninstrument()`` patches again.
"""

from __future__ import annotations

import inspect
import sys
import weakref
from collections.abc import Callable
from typing import Any

import wrapt

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.instrument import Instrumentor, _Wrapper
from nblineage.kernel_ext.safety import report

MISSING: Any = object()


class BoundMethod(wrapt.BoundFunctionWrapper):
    """A patched method bound to an instance (or looked up on its class)."""

    def __reduce_ex__(self, protocol: int) -> tuple[Any, tuple[Any, str]]:
        owner = self._self_instance if self._self_instance is not None else self._self_owner
        return getattr, (owner, self._self_parent._self_attribute)


class MethodWrapper(_Wrapper):
    """The wrapper of a method in a class ``__dict__``; binds to a :class:`BoundMethod`."""

    __bound_function_wrapper__ = BoundMethod

    def __init__(self, wrapped: Any, wrapper: Callable[..., Any], attribute: str) -> None:
        super().__init__(wrapped, wrapper)
        self._self_attribute = attribute


class PatchingInstrumentor(Instrumentor):
    """An instrumentor that applies its patches with :meth:`patch` (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._wrappers: dict[int, Any] = {}

    def instrument(self) -> None:
        """Patch now if the library is imported, else when it is (again after ``uninstrument``)."""
        registered = self._registered
        super().instrument()
        module = sys.modules.get(self.library)
        if registered and module is not None:
            self._on_import(module)

    def uninstrument(self) -> None:
        super().uninstrument()
        self._wrappers.clear()

    def _on_import(self, module: Any) -> None:
        if not self.enabled or self._applied or not self._supported():
            return
        try:
            for owner, attribute, wrapper in self.patches(module):
                self.patch(owner, attribute, wrapper)
        except Exception as error:
            self.uninstrument()
            report(f"{self.library} instrumentation", error)

    def patch(self, owner: Any, attribute: str, wrapper: Callable[..., Any]) -> bool:
        """Wrap ``owner.attribute`` (a class's own attribute, or a module's) unless absent or wrapped already."""
        if isinstance(owner, type):
            original = owner.__dict__.get(attribute)
            if isinstance(original, (staticmethod, classmethod)):
                return False
            if _is_delegating_descriptor(original):  # scikit-learn's available_if: its function is patched
                return self.patch(original, "fn", wrapper)
        else:
            original = getattr(owner, attribute, None)
        if original is None or isinstance(original, wrapt.FunctionWrapper):
            return False
        if isinstance(owner, type):
            proxy: Any = MethodWrapper(original, wrapper, attribute)
        else:
            proxy = self._wrappers.get(id(original))
            if proxy is None:
                proxy = self._wrappers[id(original)] = _Wrapper(original, wrapper)
        setattr(owner, attribute, proxy)
        self._applied.append((owner, attribute, original))
        return True


def _is_delegating_descriptor(obj: Any) -> bool:
    """A descriptor that binds a function it holds as ``fn`` (scikit-learn's ``available_if``). Its function is
    patched rather than the descriptor, so that the class keeps the descriptor MLflow's autolog looks for."""
    return (
        not inspect.isfunction(obj) and hasattr(type(obj), "__get__") and inspect.isfunction(getattr(obj, "fn", None))
    )


def argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = MISSING) -> Any:
    """The call's argument at position ``index`` or keyword ``name``."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def qualified_name(cls: type) -> str:
    """``module.QualName`` of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


class ObjectFacts:
    """Facts about live objects (what an estimator was trained on), forgotten when the object is collected."""

    def __init__(self) -> None:
        self._facts: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}

    def remember(self, obj: Any, facts: dict[str, Any]) -> None:
        key = id(obj)
        try:
            ref = weakref.ref(obj, lambda _, key=key: self._facts.pop(key, None))
        except TypeError:
            return
        self._facts[key] = (ref, facts)

    def get(self, obj: Any) -> dict[str, Any]:
        entry = self._facts.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        return {}


class HookState:
    """What hooks remember per capture, beside provenance."""

    def __init__(self) -> None:
        self.training = ObjectFacts()  # estimator -> what it was fit on, and the fit's id
        self.splits = ObjectFacts()  # data -> {"split": train|test|validation}
        self.predictions = ObjectFacts()  # predictions -> {"fitId", "estimator"} of the model that made them
        self.last_prediction: tuple[int, dict[str, Any]] | None = None  # (length, facts) of the latest predictions
        self.fit_metrics: dict[str, list[dict[str, Any]]] = {}  # fitId -> metrics computed so far
        self.fit_models: dict[str, list[tuple[str, str]]] = {}  # fitId -> MLflow (run id, logged model id)
        self.logged_models: dict[str, tuple[dict[str, Any], Any]] = {}  # MLflow model id -> (description, Source)
        self.run_models: dict[str, list[Any]] = {}  # MLflow run id -> the model Sources linked to it
        # id(open file) -> what saves into that file left (models.OpenWrite)
        self.open_writes: dict[int, Any] = {}


def hook_state(capture: Capture) -> HookState:
    """The hooks' state kept with ``capture`` (created on first use)."""
    state = capture.__dict__.get("_nblineage_hook_state")
    if state is None:
        state = capture.__dict__["_nblineage_hook_state"] = HookState()
    return state
