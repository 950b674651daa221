"""PyTorch training: data into tensors, through datasets and loaders, into exactly the module trained on it.

- ``torch.from_numpy``: the tensor derives from the array it shares. ``torch.tensor`` and ``torch.as_tensor`` are
  left alone (TorchScript compiles them by identity: a wrapper breaks scripted code); a tensor they make, or a tensor
  op makes, gets at the end of the statement binding it the provenance of the names it read (the cell fallback).
- ``TensorDataset(*tensors)`` derives from its tensors, a ``Dataset`` class of the user's own from what its
  ``__init__`` reads or is given (``Dataset.__init_subclass__``); iterating a ``DataLoader`` gives each batch's
  tensors the provenance of the loader's dataset (a ``random_split`` part: its dataset's; else the data a dataset
  holds as attributes).
- Training is followed by gradients, not by the module's mode. An optimizer's first step (torch's
  ``register_optimizer_step_post_hook``) finds the outermost modules holding its parameters (notebook variables,
  else through the garbage collector) and their class's ``__call__`` is followed from then on (nothing is added to
  what an instance pickles; no global module hook, which would slow every module call). Each call of such a module
  on tracked data under grad mode leaves its output's autograd node pending; ``torch.autograd.backward`` (which
  ``Tensor.backward`` calls) puts a hook on it, so only outputs whose gradients a backward computes report their
  data; the next step gives the modules it updates the provenance of exactly those. A forward pass whose result
  reaches no backward (``model.eval()``, ``torch.no_grad()``, ``inference_mode``, or a validation loss computed in
  training mode) adds nothing: a validation or test split never becomes a source of the model. An optimizer's first
  step counts the latest loader batch.
- The rule is resolved once per fit, not per batch: once a module's fit in the cell has been trained on some data, a
  forward pass on data it already derives from (the next batch of the same loader) arms no gradient hook (a Python
  hook run by autograd costs more than a small model's step allows); the backward after it and the step of an
  optimizer updating the module count the step. A batch from data the module was not trained on takes the exact
  path again. Per batch, the hooks allocate nothing: the loader's batch is held as it came (until the next one or
  the end of the cell), not copied or weakly referenced, its iterator's provenance is looked up once an iterator,
  and a module called on the latest batch's tensor knows it without a registry lookup. The batch before is held too
  when another iterator drew it (two loaders zipped: the first one's batch is still its own data's).
- A module trained gets training facts (cell, run, a ``fitId``, its optimizer, steps; ``featureNames`` when exactly
  one column list reached its first input: a tensor made from an array of a frame's columns, by
  ``torch.tensor(df.values)`` or ``from_numpy``, holds them, and so does a loader's batch drawn from a
  ``TensorDataset`` of it); its outputs on tracked data when evaluated (or on other data than it was trained on) are
  its predictions, so that a scikit-learn metric of them is the fit's metric, labelled by split
  (``hooks/metrics.py``; the split the data's files name when the labels say nothing).
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import uuid
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import wrapt

from nblineage.governance.splits import split_of_name
from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import columns, flow
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.describe import qualified_name
from nblineage.kernel_ext.hooks.files import locate
from nblineage.kernel_ext.instrument import Listener, Patch, intercept
from nblineage.kernel_ext.provenance import EMPTY, Provenance, union
from nblineage.kernel_ext.safety import report

_MISSING = object()
_NONE: Any = lambda: None  # noqa: E731 (what a dead weak reference returns)
MAX_NESTING = 32  # levels of modules walked up from a parameter to the outermost one
MAX_ATTRIBUTES = 64  # attributes of a dataset of the user's own class looked at for provenance
_MAX_NAME_COLUMNS = 8  # text columns of a frame a dataset holds looked at for the files its items name
MAX_OUTPUTS = 8  # items of a module's tuple or dict output looked at for the tensor gradients flow back through
MAX_LOSS_NODES = 16  # autograd nodes from a loss's root looked at for the targets it was computed against


class TorchState:
    """What the training hooks hold during a capture (``capture.hooks.torch``)."""

    def __init__(self) -> None:
        self.pending: list[Any] | None = None  # [module, data, id(input), output's grad_fn, the input's columns]:
        # the latest, not armed
        self.reached: list[tuple[Any, Provenance, Any]] = []  # (module, data, its columns) whose outputs a backward
        # reached
        self.last_batch: Provenance = EMPTY  # the latest loader batch's, for inputs a tensor op made from it
        self.batch: tuple | list = ()  # the latest loader batch's items (held until the next batch or the cell's end)
        self.train_last: Provenance = EMPTY  # the same for the latest batch drawn under grad mode (a validation
        self.train_batch: tuple | list = ()  # loop draws under ``no_grad``): what a forward under grad mode falls to
        self.train_drawn = 0  # training batches drawn so far, and calls of followed modules: each optimizer's step
        self.calls = 0  # remembers both (``steps_saw``), so that a step with no followed call since is told apart
        self.steps_saw: dict[int, tuple[int, int]] = {}  # id(optimizer) -> (``train_drawn``, ``calls``) at its step
        self.other_last: Provenance = EMPTY  # the same for the batch before, when another iterator drew it (two
        self.other_batch: tuple | list = ()  # loaders zipped: ``for (xa, ya), (xb, yb) in zip(a, b)``)
        self.fits: dict[int, str | None] = {}  # id(module) -> the cell run its current fit began in
        self.owns: dict[int, dict[int, bool]] = {}  # id(module) -> id(optimizer) -> whether it updates it
        self.known: dict[int, tuple[Provenance, frozenset, dict]] = {}  # id(module) -> its provenance, sources and
        # training facts after its latest step in this cell: a forward on data within them takes the fast path
        self.fast: Any = None  # the latest module called on data it was already trained on, under grad mode
        self.fast_reached: list[Any] = []  # such modules a backward ran after, waiting for their optimizer's step
        self.params: dict[int, frozenset[int]] = {}  # id(optimizer) -> ids of its parameters (this cell)
        self.rows: int = 0  # rows predicted so far from the batches of the latest loader
        self.trained_on: frozenset = frozenset()  # the data of the latest step
        self.functions: dict[tuple, Any] = {}  # (code, instruction, reads) -> ``flow.function_flow`` there (this cell)
        self.iterator: Any = _NONE  # a weak reference to the loader iterator of the latest batch, and its provenance
        self.iterated: Provenance = EMPTY  # (looked up once an iterator, not once a batch)
        # A fit's steady state: the module :func:`_on_known_batch` last found called on the latest batch of data it
        # was trained on, that batch's provenance (the same object for every batch of one iterator), its sources and
        # the registry's serial then (no tag since: the module's provenance is unchanged); the next call on the
        # latest batch while these hold is decided by identity checks (:func:`listeners`' ``__call__``).
        self.steady: Any = None
        self.steady_seen: Provenance = EMPTY
        self.steady_sources: frozenset = frozenset()
        self.steady_serial = -1
        # The optimizer whose step last counted a step of the steady module (:func:`_fast_stepped`), and the fit's
        # training facts: its next step after a backward from that module only adds one to their steps.
        self.steady_optimizer: Any = None
        self.steady_facts: dict[str, Any] = {}


def state_of(capture: Capture) -> TorchState:
    state = capture.hooks.torch
    if state is None:
        state = capture.hooks.torch = TorchState()
    return state


_TENSOR: list[type] = [object]  # torch.Tensor once torch is imported
_GRAD: list[Any] = [lambda: True]  # torch.is_grad_enabled once torch is imported


def patches(torch: Any) -> Iterator[Patch]:
    """``from_numpy``, ``TensorDataset`` and the loader's iteration."""
    _TENSOR[0] = torch.Tensor
    _GRAD[0] = torch.is_grad_enabled
    yield torch, "from_numpy", intercept("torch.from_numpy", _derive_from_data)
    data = sys.modules.get("torch.utils.data")
    loader_module = sys.modules.get("torch.utils.data.dataloader")
    if data is not None and isinstance(getattr(data, "TensorDataset", None), type):
        yield data.TensorDataset, "__init__", intercept("torch TensorDataset", _dataset_made)
    if loader_module is not None:
        yield loader_module.DataLoader, "__iter__", intercept("torch DataLoader.__iter__", _iterating)


def listeners(torch: Any) -> Iterator[Listener]:
    """A loader's batches; ``torch.autograd.backward`` (which ``Tensor.backward`` calls); torch's global optimizer
    step hook, and forward hooks on the modules optimizers train."""
    loader_module = sys.modules.get("torch.utils.data.dataloader")
    iterator_class = getattr(loader_module, "_BaseDataLoaderIter", None)
    if isinstance(iterator_class, type) and callable(iterator_class.__dict__.get("__next__")):
        yield _batches(iterator_class, torch.is_grad_enabled)
    autograd = getattr(torch, "autograd", None)
    if callable(getattr(autograd, "backward", None)):
        yield _backwards(autograd)
    optimizers = sys.modules.get("torch.optim.optimizer")
    on_step = getattr(optimizers, "register_optimizer_step_post_hook", None)
    if not callable(on_step):
        return
    handles: list[Any] = []
    hooked: dict[int, Any] = {}  # id(module) -> a weak reference to it: the modules followed
    classes: dict[type, Any] = {}  # the classes whose __call__ is wrapped -> what their own __call__ was
    optimizers: dict[int, Any] = {}  # id(optimizer) -> a weak reference: those whose modules are hooked
    compiling = getattr(getattr(torch, "compiler", None), "is_compiling", lambda: False)
    tracing = getattr(torch._C, "_get_tracing_state", lambda: None)  # torch.jit.trace running the module
    grad_enabled = torch.is_grad_enabled
    tensor = torch.Tensor

    def forward_hook(module: Any, args: Any, output: Any) -> None:
        active = capture_module._current
        if active is None or not args:
            return
        tracks = active.registry.tracks
        first = args[0]
        state = active.hooks.torch
        batch = state.batch if state is not None else ()
        if len(args) == 1 and batch and batch[0] is first:
            # the latest loader batch's inputs (the usual training step): tracked, through the batch held
            try:
                if _on_known_batch(active, state, module, first, output, tensor, grad_enabled, compiling):
                    return
            except Exception as error:  # the forward pass returns what it computed
                report("torch module call", error)
                return
        elif len(args) == 1:
            if not tracks(first):
                if not isinstance(first, tensor):
                    return
                base = first._base  # a batch sliced from data (X[i:i + 10]) is tracked through it
                if (base is None or not tracks(base)) and (first.grad_fn is not None or not _leaf_input(active, first)):
                    return  # an activation, never tracked
        elif not any(
            tracks(item) or (isinstance(item, tensor) and tracks(item._base)) or _in_batch(active, item)
            for item in args
        ):
            return
        if compiling() or tracing() is not None:
            return
        try:
            _called(active, state or state_of(active), module, args, output, tensor, grad_enabled())
        except Exception as error:  # the forward pass returns what it computed
            report("torch module call", error)

    def hook(module: Any) -> None:
        """Follow ``module``'s calls: its class's ``__call__`` is wrapped (once; what an instance pickles, its
        ``__dict__`` and hooks, is left alone, so a saved model never refers to nblineage)."""
        key = id(module)
        known = hooked.get(key)
        if known is not None and known() is module:
            return
        hooked[key] = weakref.ref(module, lambda _, key=key: hooked.pop(key, None))
        cls = type(module)
        if cls in classes:
            return
        classes[cls] = cls.__dict__.get("__call__", _MISSING)
        original = cls.__call__

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            active = capture_module._current
            if active is not None and id(self) in hooked:
                try:
                    state = active.hooks.torch
                    if state is not None:
                        state.calls += 1
                    if (  # the steady state of a fit: what _on_known_batch found for this module still holds
                        state is not None
                        and state.steady is self
                        and len(args) == 1
                        and state.last_batch is state.steady_seen
                        and state.pending is None
                        and state.batch
                        and state.batch[0] is args[0]
                        and type(result) is tensor
                        and result.requires_grad
                        and self.training
                        and active.registry.serial == state.steady_serial
                        and grad_enabled()
                        and not compiling()
                    ):
                        state.fast = self
                        state.trained_on = state.steady_sources
                        return result
                except Exception as error:  # the forward pass returns what it computed
                    report("torch module call", error)
                    return result
                forward_hook(self, args or _keyword_tensors(kwargs, tensor), result)
            return result

        __call__.__wrapped__ = original  # type: ignore[attr-defined]
        cls.__call__ = __call__

    def step_hook(optimizer: Any, args: Any, kwargs: Any) -> None:
        active = capture_module._current
        if active is None:
            return
        try:
            state = active.hooks.torch
            if state is not None and optimizer is state.steady_optimizer:
                reached = state.fast_reached
                if len(reached) == 1 and reached[0] is state.steady and not state.reached:
                    # the steady state of a fit: a backward from its module, and the optimizer that counted its
                    # last step (found by _fast_stepped, which this is the case of)
                    reached.clear()
                    facts = state.steady_facts
                    facts["steps"] = facts.get("steps", 0) + 1
                    return
            if state is None:
                state = state_of(active)
            known = optimizers.get(id(optimizer))
            if known is None or known() is not optimizer:
                optimizers[id(optimizer)] = weakref.ref(optimizer)
                _discover(active, state, optimizer, hook)
            elif not state.reached and not state.fast_reached:
                _unseen_step(active, state, optimizer)
            state.steps_saw[id(optimizer)] = (state.train_drawn, state.calls)
            if state.reached:
                _stepped(active, state, optimizer)
            if state.fast_reached:
                _fast_stepped(state, optimizer)
        except Exception as error:  # the step has been taken
            report("torch optimizer step", error)

    data = sys.modules.get("torch.utils.data")
    dataset_class = getattr(data, "Dataset", None)
    init_subclass = dataset_class.__dict__.get("__init_subclass__", _MISSING) if dataset_class else _MISSING

    def dataset_defined(cls: type, **kwargs: Any) -> None:
        """A ``Dataset`` class of the user's own: what its ``__init__`` reads or is given, its instance holds."""
        super(dataset_class, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type]
        init = cls.__dict__.get("__init__")
        if (
            init is not None
            and not isinstance(init, wrapt.FunctionWrapper)
            and capture_module.is_user_file(getattr(getattr(init, "__code__", None), "co_filename", "<library>"))
        ):
            cls.__init__ = wrapt.FunctionWrapper(init, _DATASET_INIT)

    def subscribe() -> None:
        handles.append(on_step(step_hook))
        if dataset_class is not None:
            dataset_class.__init_subclass__ = classmethod(dataset_defined)

    def unsubscribe() -> None:
        while handles:
            handles.pop().remove()
        for cls, previous in classes.items():
            if previous is _MISSING:
                del cls.__call__
            else:
                cls.__call__ = previous
        classes.clear()
        hooked.clear()
        if dataset_class is not None:
            if init_subclass is _MISSING:
                dataset_class.__dict__.get("__init_subclass__") and delattr(dataset_class, "__init_subclass__")
            else:
                dataset_class.__init_subclass__ = init_subclass
        optimizers.clear()

    yield subscribe, unsubscribe


def _keyword_tensors(kwargs: dict, tensor: type) -> tuple:
    """The tensors a call passes by keyword (``model(**batch)``, the Hugging Face way), when it passes none by
    position."""
    return tuple(value for value in kwargs.values() if isinstance(value, tensor))


def _discover(active: Capture, state: TorchState, optimizer: Any, hook: Any) -> None:
    """An optimizer's first step: the outermost modules it trains (notebook variables, else found through the
    garbage collector's referrers of a parameter) get the forward hook; this step's data is the latest batch."""
    params = [p for group in optimizer.param_groups for p in group.get("params", ())]
    if not params:
        return
    roots = _roots(active, params[0])
    for module in roots:
        hook(module)
    if roots and state.train_last and not state.reached:
        found = {
            tuple(named)
            for item in state.train_batch
            if getattr(item, "ndim", 0) == 2
            if (named := _columns_of(active, state, item))
        }
        names = list(found.pop()) if len(found) == 1 else None  # the module's input unseen: the batch's one 2-D list
        _trained(active, state, roots, state.train_last, optimizer, {id(module): names for module in roots})


def _unseen_step(active: Capture, state: TorchState, optimizer: Any) -> None:
    """A step after which no followed module call reached a backward (the model called as ``model.forward(x)``, or
    through a submodule's own call): the training batch drawn since the optimizer's last step, if one was, is its
    data, as for a first step."""
    drawn, calls = state.steps_saw.get(id(optimizer), (-1, -1))
    if not state.train_last or drawn >= state.train_drawn or calls != state.calls:
        return
    params = [p for group in optimizer.param_groups for p in group.get("params", ())]
    roots = _roots(active, params[0]) if params else []
    if roots:
        _trained(active, state, roots, state.train_last, optimizer)


def _roots(active: Capture, parameter: Any) -> list[Any]:
    """The outermost modules holding ``parameter``: notebook variables first, else any module that holds it."""
    found: list[Any] = []
    namespace = active.user_ns or {}
    for value in list(namespace.values()):
        held = _is_module(value) and all(value is not other for other in found)
        if held and any(p is parameter for p in value.parameters()):
            found.append(value)
    if not found:
        found = _holders(parameter)
    if len(found) > 1:
        inner = {id(sub) for module in found for sub in module.modules() if sub is not module}
        found = [module for module in found if id(module) not in inner]
    return found


def _is_module(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and issubclass(type(value), torch.nn.Module)  # a weak proxy is none


def _holders(parameter: Any) -> list[Any]:
    """The modules holding ``parameter`` directly (``_parameters``), among every module the garbage collector tracks,
    with every module above them."""
    import gc

    modules = [obj for obj in gc.get_objects() if _is_module(obj)]
    holders = [module for module in modules if any(p is parameter for p in module._parameters.values())]
    found: list[Any] = []
    while holders:
        found += holders
        ids = {id(module) for module in holders}
        holders = [module for module in modules if any(id(sub) in ids for sub in module._modules.values())]
        if len(found) > MAX_NESTING * 8:
            break
    return found


def _holds(items: tuple | list, obj: Any) -> bool:
    """Whether ``obj`` itself is one of ``items`` (by identity, without allocating)."""
    for item in items:  # noqa: SIM110 (a generator allocates on every call; this runs for every batch)
        if item is obj:
            return True
    return False


def _in_batch(active: Capture, item: Any) -> bool:
    state = active.hooks.torch
    return state is not None and (
        _holds(state.batch, item) or _holds(state.train_batch, item) or _holds(state.other_batch, item)
    )


def provenance_of(capture: Capture, obj: Any) -> Provenance:
    """``obj``'s provenance, a tensor of the latest loader batch included (tagged only at the end of the cell)."""
    found = capture.of(obj)
    state = capture.hooks.torch
    if not found and state is not None:
        if _holds(state.batch, obj):
            return state.last_batch
        if _holds(state.train_batch, obj):
            return state.train_last
        if _holds(state.other_batch, obj):
            return state.other_last
    return found


def _leaf_input(active: Capture, first: Any) -> bool:
    """An untracked tensor no computation on parameters made: the latest batch's own; else the cell's statements so
    far may make it from tracked data, read in this cell or an earlier one (``X_t = torch.tensor(X_test.values)``,
    followed by the fallback); else, made from a batch (``xb.float()``), it stands for the latest batch a loader
    gave."""
    if _in_batch(active, first):
        return True
    if active.catch_up is not None:  # data read in this cell or an earlier one (``X = torch.tensor(splits["train"])``)
        active.catch_up(active)
        if active.of(first):
            return True
    if _made_in_function(active, first):
        return True
    state = active.hooks.torch
    return state is not None and bool(state.last_batch or state.train_last)


def _made_in_function(active: Capture, obj: Any) -> bool:
    """Whether ``obj``, given to a module in a function of the user's own, was made there from tracked data
    (``X = torch.tensor(vectorizer.transform(df.text).toarray())``, then ``model(X)``): it is tagged with what flowed
    into the local names holding it (else what the call's arguments read), the function's statements followed once
    per call site and new read in the cell (``flow.function_flow``)."""
    frame = flow.user_frame(sys._getframe(1))
    if frame is None or frame.f_code.co_name == "<module>":
        return False
    state = state_of(active)
    key = (frame.f_code, frame.f_lasti, len(active.record.inputs))
    found = state.functions.get(key, _MISSING)
    if found is _MISSING:
        found = state.functions[key] = flow.function_flow(active, frame)
    if found is None:
        return False
    env, given = found
    provenance = union(env.get(name, EMPTY) for name, value in frame.f_locals.items() if value is obj) or given
    if not provenance:
        return False
    active.registry.tag(obj, provenance.through(active.cell_run_id))
    return True


def _called(
    active: Capture, state: TorchState, module: Any, args: tuple, output: Any, tensor: type, grad: bool
) -> None:
    """``module(*args)`` returned ``output``: a gradient hook on it under grad mode, its predictions when evaluated."""
    first, batch = args[0], state.batch
    if len(args) == 1:
        in_batch = (batch and batch[0] is first) or _holds(batch, first)
        seen = state.last_batch if in_batch else provenance_of(active, first)
    else:
        seen = union(provenance_of(active, item) for item in args)
    if not seen.sources:  # _leaf_input: made from a batch; under grad mode, one drawn under grad mode (not validation)
        seen = state.train_last if grad else state.last_batch
        if not seen:
            return
    if grad and _known(active, state, module, seen, id(first)):
        if output.requires_grad if type(output) is tensor else _grad_tensor(output, tensor) is not None:
            state.fast = module  # the backward after it and the step count; the data adds nothing new
            state.trained_on = seen.sources  # what the exact path's step would say: training, not predicting
    elif grad:
        flowing = _grad_tensor(output, tensor)
        node = flowing.grad_fn if flowing is not None else None
        if node is not None:
            pending, key = state.pending, id(args[0])
            if pending is not None and pending[2] == key:  # the module holding the one just called on that input
                pending[0], pending[1], pending[3] = module, seen, node
            else:
                _arm(state)
                state.pending = [module, seen, key, node, _columns_of(active, state, first)]
    # evaluated, or called on data other than what it was trained on (the tutorial's test loop in training mode)
    if len(args) == 1 and (not grad or not module.training or seen.sources != state.trained_on):
        _predicted(active, state, module, args[0], output, seen)


def _on_known_batch(
    active: Capture, state: TorchState, module: Any, first: Any, output: Any, tensor: type, grad: Any, compiling: Any
) -> bool:
    """The step of a fit after its first ones, in one go: ``module``, in training mode and under grad mode, called
    on the latest loader batch, whose data it was already trained on (:func:`_known`), returned a tensor gradients
    flow back through: the backward after it and its optimizer's step count the step (what :func:`_called` would
    decide, without its general checks). False: not that case, :func:`_called` decides."""
    known = state.known.get(id(module))
    if known is None or type(output) is not tensor or not output.requires_grad or not module.training:
        return False
    pending, sources = state.pending, state.last_batch.sources
    if (pending is not None and pending[2] == id(first)) or not sources or not sources <= known[1]:
        return False
    if not grad() or compiling() or active.registry.of(module) is not known[0]:
        return False
    state.fast = module
    state.trained_on = sources
    if state.steady is not module:
        state.steady, state.steady_optimizer, state.steady_facts = module, None, {}  # its optimizer: the next step's
    state.steady_seen, state.steady_sources, state.steady_serial = state.last_batch, sources, active.registry.serial
    return True


def _known(active: Capture, state: TorchState, module: Any, seen: Provenance, key: int) -> bool:
    """Whether ``module``'s fit in this cell was already trained on all of ``seen`` (and nothing re-tagged the
    module since): its output on that data needs no gradient hook."""
    known = state.known.get(id(module))
    if known is None or not seen.sources <= known[1]:
        return False
    pending = state.pending
    if pending is not None and pending[2] == key:  # an inner module followed on the same input: the exact path
        return False
    return active.registry.of(module) is known[0]


def _backwards(autograd: Any) -> Listener:
    """``torch.autograd.backward``: the latest output on tracked data gets its gradient hook before it runs; a
    module called on data it was already trained on waits for its optimizer's step. It runs for every batch, so the
    function is replaced by a plain function calling it (with its name, module and ``__wrapped__``: it pickles by
    reference), not wrapped with wrapt; the original is put back on unsubscribe."""
    original = autograd.backward
    if getattr(original, "__nblineage__", False):  # another instrumentor's, installed already: once is enough
        return (lambda: None), (lambda: None)

    def backward(*args: Any, **kwargs: Any) -> Any:
        active = capture_module._current
        if active is not None:
            state = active.hooks.torch
            if state is not None and (state.pending is not None or state.fast is not None):
                try:
                    reached = state.fast_reached
                    if state.pending is None and not reached:  # the usual step: no call
                        reached.append(state.fast)
                        state.fast = None
                    else:
                        if state.pending is not None:
                            _with_targets(active, state, args[0] if args else kwargs.get("tensors"))
                        _backward(state)
                except Exception as error:  # the gradients are computed as they would be
                    report("torch backward", error)
        return original(*args, **kwargs)

    functools.update_wrapper(backward, original)
    backward.__nblineage__ = True  # type: ignore[attr-defined]

    def subscribe() -> None:
        autograd.backward = backward

    def unsubscribe() -> None:
        if autograd.__dict__.get("backward") is backward:
            autograd.backward = original

    return subscribe, unsubscribe


def _with_targets(active: Capture, state: TorchState, loss: Any) -> None:
    """The pending output's data joined by what the loss was computed against (``mse(model(x), y)``: ``y``, a
    tensor of a file of its own the module never saw): the ``_saved_target`` of the loss's autograd nodes nearest
    its root, a few nodes looked at, on the exact path only (once per fit and new data)."""
    nodes, looked, found = [getattr(loss, "grad_fn", None)], 0, EMPTY
    while nodes and looked < MAX_LOSS_NODES:
        node = nodes.pop(0)
        looked += 1
        if node is None:
            continue
        target = getattr(node, "_saved_target", None)
        if isinstance(target, _TENSOR[0]):
            found |= _target_provenance(active, target)
        else:
            nodes.extend(following for following, _ in getattr(node, "next_functions", ()))
    pending = state.pending
    if found and pending is not None and not found.sources <= pending[1].sources:
        pending[1] = pending[1] | found


def _target_provenance(active: Capture, target: Any) -> Provenance:
    """A loss target's data: a loader batch's, a tracked tensor's (or the one it is a view of), else what the cell's
    statements so far (or the user's function's) made it of (``yt = torch.tensor(y)``)."""
    found = provenance_of(active, target)
    if not found and active.catch_up is not None:
        active.catch_up(active)
        found = active.of(target)
    if not found and _made_in_function(active, target):
        found = active.of(target)
    return found


def _backward(state: TorchState) -> None:
    """A backward: the pending output's gradient hook armed, the module called on data it knew reached."""
    if state.pending is not None:
        _arm(state)
    fast = state.fast
    if fast is not None:
        state.fast = None
        reached = state.fast_reached
        if not reached or not _holds(reached, fast):  # empty after each step: no call then
            reached.append(fast)


def _arm(state: TorchState) -> None:
    """A hook on the autograd node of the pending output: when a backward runs it, its module and data report.
    (A node, not the tensor: the output of ``loss_fn(model(x), y)`` is gone by the time ``backward()`` runs.)"""
    pending, state.pending = state.pending, None
    if pending is not None:
        reached, entry = state.reached, (pending[0], pending[1], pending[4])
        pending[3].register_prehook(lambda _grads: reached.append(entry))


def _batches(iterator_class: type, grad: Any) -> Listener:
    """``next(iterator)`` of a loader: its batch noted. It runs for every batch, so the class's ``__next__`` is
    replaced by a plain function calling the original, not wrapped with wrapt (whose descriptor makes a bound
    wrapper object at each call); iterators are not pickled, and the original is put back on unsubscribe."""
    original = iterator_class.__dict__["__next__"]
    local = capture_module._local

    def __next__(self: Any) -> Any:
        active = capture_module._current
        if active is None or local.depth:
            return original(self)
        log = active.reads_log
        before = len(log)
        result = original(self)
        try:
            state = active.hooks.torch
            if (
                state is not None
                and state.iterator() is self
                and len(log) == before
                and ((kind := type(result)) is tuple or kind is list)
            ):  # the same iterator's next batch (what _batch does then, without a call)
                provenance = state.iterated
                state.batch, state.last_batch = result, provenance
                if grad():
                    state.train_batch, state.train_last = result, provenance
                    state.train_drawn += 1
                return result
            if len(log) != before:  # the dataset read files for this batch (its ``__getitem__`` opens them)
                _read_for_batch(active, self, log[before:])
            _batch(active, result, self)
        except Exception as error:  # the batch is returned as it is
            report("torch DataLoader batch", error)
        return result

    __next__.__wrapped__ = original  # type: ignore[attr-defined]
    __next__.__name__, __next__.__qualname__ = original.__name__, original.__qualname__
    __next__.__doc__, __next__.__module__ = original.__doc__, original.__module__

    def subscribe() -> None:
        iterator_class.__next__ = __next__  # type: ignore[attr-defined]

    def unsubscribe() -> None:
        if iterator_class.__dict__.get("__next__") is __next__:
            iterator_class.__next__ = original  # type: ignore[attr-defined]

    return subscribe, unsubscribe


def _grad_tensor(output: Any, tensor: type) -> Any:
    """The tensor of ``output`` (a tensor, or the first in a tuple, list or dict) gradients flow back through."""
    if isinstance(output, tensor):
        return output if output.requires_grad else None
    items = output.values() if isinstance(output, dict) else output if isinstance(output, (tuple, list)) else ()
    for _, item in zip(range(MAX_OUTPUTS), items, strict=False):
        if isinstance(item, tensor) and item.requires_grad:
            return item
    return None


def _predicted(active: Capture, state: TorchState, module: Any, data: Any, output: Any, seen: Provenance) -> None:
    """A trained module evaluated on tracked data: its output is the fit's predictions (rows counted across the
    batches of one loader, so that predictions gathered from them match the labels), and the split the data's
    files name (``test.csv``) labels their metrics when the labels say nothing."""
    facts = active.hooks.training.get(module)
    fit_id = facts.get("fitId")
    if not fit_id:
        return
    made = {"fitId": fit_id, "estimator": qualified_name(type(module))}
    splits = {split_of_name(os.path.basename(source.name)) for source in seen.sources}
    if len(splits) == 1 and None not in splits:
        made["split"] = splits.pop()
    elif not _holds(state.batch, data) and (split := _named_split(active, data)):
        made["split"] = split
    active.hooks.predictions.remember(output, made)
    rows = len(output) if hasattr(output, "__len__") and getattr(output, "ndim", 1) else 1
    from_batch = _holds(state.batch, data)
    state.rows = state.rows + rows if from_batch else rows
    active.hooks.last_prediction = (state.rows if from_batch else rows, made)


def _named_split(active: Capture, data: Any) -> str | None:
    """The split the name of the variable holding ``data`` says (``X_test``): a notebook variable, else a local of
    the user's function calling the module."""
    names = [name for name, value in list((active.user_ns or {}).items()) if value is data]
    if not names:
        frame = flow.user_frame(sys._getframe(1))
        if frame is not None and frame.f_code.co_name != "<module>":
            names = [name for name, value in frame.f_locals.items() if value is data]
    splits = {split_of_name(name) for name in names if not name.startswith("_")} - {None}
    return splits.pop() if len(splits) == 1 else None


def _stepped(active: Capture, state: TorchState, optimizer: Any) -> None:
    """An optimizer step: the modules it updates whose outputs gradients came back through derive from the data
    of every output they came back through since the last step."""
    reached = list(state.reached)  # the gradient hooks append to this very list
    state.reached.clear()
    modules: dict[int, Any] = {}
    for module, *_ in reached:
        if _owns(state, module, optimizer):
            modules[id(module)] = module
    if not modules:
        if len(reached) <= 4096:  # gradients kept for another optimizer's step
            state.reached.extend(reached)
        return
    _trained(active, state, list(modules.values()), union(seen for _, seen, _ in reached), optimizer, _names(reached))
    if state.fast_reached:  # called on data it knew as well (a batch of each of two zipped loaders): one step
        state.fast_reached[:] = [module for module in state.fast_reached if id(module) not in modules]


def _owns(state: TorchState, module: Any, optimizer: Any) -> bool:
    """Whether ``optimizer`` updates parameters of ``module`` (worked out once per cell)."""
    by_optimizer = state.owns.get(id(module))
    if by_optimizer is None:
        by_optimizer = state.owns[id(module)] = {}
    owns = by_optimizer.get(id(optimizer))
    if owns is None:
        params = state.params.get(id(optimizer))
        if params is None:
            params = state.params[id(optimizer)] = frozenset(
                id(p) for group in optimizer.param_groups for p in group.get("params", ())
            )
        owns = by_optimizer[id(optimizer)] = any(id(p) in params for p in module.parameters())
    return owns


def _fast_stepped(state: TorchState, optimizer: Any) -> None:
    """An optimizer step after forward passes on data the modules were already trained on: a step of the fits of
    those it updates (their provenance has it all already); the others wait for their own optimizer."""
    reached = state.fast_reached
    kept = 0
    for module in reached:
        owns = state.owns.get(id(module))  # what _owns answers, without a call for each step once known
        owns = owns.get(id(optimizer)) if owns is not None else None
        if owns if owns is not None else _owns(state, module, optimizer):
            known = state.known.get(id(module))
            if known is not None:
                facts = known[2]
                facts["steps"] = facts.get("steps", 0) + 1
                if module is state.steady:  # the next such step is counted by the step hook directly
                    state.steady_optimizer, state.steady_facts = optimizer, facts
        else:
            reached[kept] = module
            kept += 1
    if not kept:
        reached.clear()
    elif kept < len(reached):
        del reached[kept:]


def _trained(
    active: Capture,
    state: TorchState,
    modules: list[Any],
    seen: Provenance,
    optimizer: Any,
    names: dict[int, list[str] | None] | None = None,
) -> None:
    """``modules`` were trained on ``seen``: the outermost of them derive from it (besides what they had) and
    remember the fit; ``names``: the columns that reached each one's first input (None: not exactly one list)."""
    if len(modules) > 1:
        inner = {id(sub) for module in modules for sub in module.modules() if sub is not module}
        modules = [module for module in modules if id(module) not in inner]
    state.trained_on = seen.sources
    _unsteady(state)  # what the modules know and their facts change: found again
    for module in modules:
        own = active.of(module)
        if seen and not seen.sources <= own.sources:
            active.registry.tag(module, (own | seen).through(active.cell_run_id))
        facts = active.hooks.training.get(module)
        if id(module) not in state.fits or state.fits[id(module)] != active.cell_run_id or not facts.get("fitId"):
            state.fits[id(module)] = active.cell_run_id
            facts = {"fitId": uuid.uuid4().hex, "steps": 0}
            if active.cell_job:
                facts["trainingJob"] = active.cell_job
            if active.cell_run_id:
                facts["trainingRunId"] = active.cell_run_id
            if optimizer is not None:
                facts["optimizer"] = qualified_name(type(optimizer))
            active.hooks.training.remember(module, facts)
            if named := (names or {}).get(id(module)):
                facts["featureNames"] = named
                if derived := columns.feature_lineage(active, named):
                    facts["featureLineage"] = derived
        elif names is not None and id(module) in names and names[id(module)] != facts.get("featureNames"):
            facts.pop("featureNames", None)  # other columns (or none known) reached it within the fit: not one list
            facts.pop("featureLineage", None)
        facts["steps"] = facts.get("steps", 0) + (optimizer is not None)
        provenance = active.of(module)
        state.known[id(module)] = (provenance, provenance.sources, facts)


def _unsteady(state: TorchState) -> None:
    """No fit in its steady state: the next call and step take the general path."""
    state.steady, state.steady_seen, state.steady_sources, state.steady_serial = None, EMPTY, frozenset(), -1
    state.steady_optimizer, state.steady_facts = None, {}


def _names(reached: list[tuple[Any, Provenance, Any]]) -> dict[int, list[str] | None]:
    """The columns that reached each module's first input through ``reached``: None unless exactly one list."""
    found: dict[int, set[tuple[str, ...] | None]] = {}
    for module, _, named in reached:
        found.setdefault(id(module), set()).add(tuple(named) if named else None)
    return {
        key: list(next(iter(lists))) if len(lists) == 1 and None not in lists else None for key, lists in found.items()
    }


def _columns_of(active: Capture, state: TorchState, data: Any) -> list[str]:
    """The columns a module's input holds: a tensor's own (:func:`tensor_columns`); an item of the latest loader
    batch, those of the ``TensorDataset`` tensor it was drawn from ([] when none is known)."""
    if not _holds(state.batch, data):
        return [] if _holds(state.train_batch, data) else tensor_columns(active, data)
    dataset = getattr(state.iterator(), "_dataset", None)
    for _ in range(MAX_NESTING):  # a ``random_split`` part (``Subset``): its dataset's tensors
        if dataset is None or hasattr(dataset, "tensors"):
            break
        dataset = getattr(dataset, "dataset", None)
    held = getattr(dataset, "tensors", ())
    for item, tensor in zip(state.batch, held if isinstance(held, tuple) else (), strict=False):
        if item is data:
            return tensor_columns(active, tensor)
    return []


def tensor_columns(capture: Capture, tensor: Any) -> list[str]:
    """The columns a 2-D tensor holds: named (``from_numpy`` of a named array), else those of the one array of named
    columns lately named it is a copy of (``torch.tensor(df.values, dtype=torch.float32)``, ``.float()`` or
    ``.to(...)`` of it: ``columns.converted_columns``); found once a tensor (none found is remembered too)."""
    if not isinstance(tensor, _TENSOR[0]) or tensor.ndim != 2 or not len(tensor):
        return []
    facts = capture.hooks.arrays.get(tensor)
    if "columns" in facts:
        return list(facts["columns"])
    size = len(tensor)
    try:
        rows = [tensor[row].detach().cpu().numpy() for row in (0, size // 2, size - 1)]
    except (TypeError, RuntimeError, NotImplementedError):  # a type NumPy has not (bfloat16), a sparse or meta tensor
        return []
    found = columns.converted_columns(capture, tuple(tensor.shape), rows)
    capture.hooks.arrays.remember(tensor, {"columns": found})  # by itself: ``columns`` takes no tensor for an array
    return found


def cell_ended(capture: Capture) -> None:
    """Gradients that reached followed modules and were left without a step count for those modules; the cell's
    caches go."""
    state = capture.hooks.torch
    if state is None:
        return
    _arm(state)
    held = (state.batch, state.last_batch), (state.train_batch, state.train_last), (state.other_batch, state.other_last)
    for items, provenance in held:
        for item in items:  # the latest batches' tensors, for the cells after
            if isinstance(item, _TENSOR[0]) and not capture.of(item):
                capture.registry.tag(item, provenance)
    state.batch = state.train_batch = state.other_batch = ()
    state.last_batch = state.train_last = state.other_last = EMPTY  # a later cell's untracked tensor is no batch
    state.iterator, state.iterated = _NONE, EMPTY
    reached = list(state.reached)
    state.reached.clear()
    if reached:
        modules = {id(module): module for module, *_ in reached if any(True for _ in module.parameters())}
        if modules:
            seen = union(seen for _, seen, _ in reached)
            _trained(capture, state, list(modules.values()), seen, None, _names(reached))
    state.fast = None
    state.fast_reached.clear()  # trained on that data already: a backward without a step adds nothing
    _unsteady(state)
    state.known.clear()
    state.owns.clear()
    state.params.clear()
    state.functions.clear()


def _dataset_init(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``MyDataset(...)``: the instance derives from what it was given and what its ``__init__`` read."""
    if not args:
        return
    within = capture_module.reads_within(capture_module.depth() - 1)
    provenance = union(capture.of(item) for item in (*args[1:], *kwargs.values()))
    if within:
        provenance = provenance | capture.exact(within)
    if not provenance and not capture.of(args[0]):  # given tensors no hook tracked: what the calling statement reads
        provenance = flow.caller_reads(capture, sys._getframe(1))
    if provenance:
        capture.registry.tag(args[0], capture.of(args[0]) | provenance.through(capture.cell_run_id))


_DATASET_INIT = intercept("torch Dataset.__init__", _dataset_init)


def _derive_from_data(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``torch.from_numpy(array)``: the tensor derives from the array and holds its columns, if named."""
    array = args[0] if args else kwargs.get("data", _MISSING)
    if array is not _MISSING:
        capture.derive(result, array)
        if getattr(array, "ndim", 0) == 2 and (named := columns.array_columns(capture, array)):
            capture.hooks.arrays.remember(result, {"columns": named})


def _dataset_made(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``TensorDataset(*tensors)``: from its tensors; tensors no hook tracked (``torch.tensor(frame.values)``), from
    what the calling statement reads (in a cell, or in a function of the user's own: its locals)."""
    if args and not capture.derive(args[0], *args[1:]):
        provenance = flow.caller_reads(capture, sys._getframe(1))
        if provenance:
            capture.registry.tag(args[0], provenance.through(capture.cell_run_id))
    unnamed = [  # the columns each holds, found while the arrays they were made from are recent
        index
        for index, tensor in enumerate(args[1:])
        if getattr(tensor, "ndim", 0) == 2 and not tensor_columns(capture, tensor)
    ]
    if unnamed:
        _columns_by_code(capture, args[1:], unnamed)


def _columns_by_code(capture: Capture, tensors: tuple, unnamed: list[int]) -> None:
    """Tensors a ``TensorDataset(...)`` call made from a tensor of named columns by operations that keep each column
    where it is (``TensorDataset((X - mean) / std, y)``: arithmetic with numbers and row vectors, casts, elementwise
    functions): that tensor's columns, as the call's code says."""
    found = flow.call_under_way(capture, sys._getframe(2))
    if found is None:
        return
    call, names = found
    if any(isinstance(node, ast.Starred) for node in call.args):
        return
    for index in unnamed:
        if index < len(call.args):
            tensor = tensors[index]
            bases = _column_bases(call.args[index], names, tuple(tensor.shape))
            base = bases[0] if bases and all(other is bases[0] for other in bases) else None
            if base is not None and (named := _named_columns(capture, base)):
                capture.hooks.arrays.remember(tensor, {"columns": named})


_ELEMENTWISE = frozenset(
    [
        "abs",
        "clamp",
        "clip",
        "clone",
        "contiguous",
        "cpu",
        "detach",
        "double",
        "exp",
        "float",
        "half",
        "log",
        "log1p",
        "nan_to_num",
        "neg",
        "round",
        "sigmoid",
        "sqrt",
        "tanh",
        "to",
        "type",
    ]
)
_REDUCTIONS = frozenset(["amax", "amin", "max", "mean", "median", "min", "norm", "std", "sum", "var"])
_NOT_ONE = [object(), object()]  # two objects: what makes _column_bases give no one base


def _column_bases(node: ast.AST, names: Any, shape: tuple[int, ...]) -> list[Any]:
    """The objects of ``shape`` an expression keeping columns in place computes from (one, maybe named several
    times), or more than one when it is not such an expression: numbers and row vectors (a reduction of a tensor, a
    1-D name) only broadcast; ``@`` or any other operation mixes columns."""
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
        return _column_bases(node.left, names, shape) + _column_bases(node.right, names, shape)
    if isinstance(node, ast.UnaryOp):
        return _column_bases(node.operand, names, shape)
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Attribute) and node.attr == "values" and isinstance(node.value, ast.Call):
        node = node.value  # ``X.min(0).values``
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, owner = node.func.attr, node.func.value
        if method in _REDUCTIONS:
            return []
        if (
            method in _ELEMENTWISE
            and isinstance(owner, ast.Name)
            and owner.id in ("torch", "np", "numpy")
            and node.args
        ):
            return _column_bases(node.args[0], names, shape)  # torch.log1p(X)
        if method in _ELEMENTWISE:
            return _column_bases(owner, names, shape)
        return _NOT_ONE
    if isinstance(node, ast.Name):
        value = names.get(node.id, _MISSING)
        value_shape = tuple(getattr(value, "shape", ()) or ())
        if value_shape == shape:
            return [value]
        if isinstance(value, (int, float)) or (value_shape and (len(value_shape) == 1 or value_shape[0] == 1)):
            return []  # broadcast along the rows
    return _NOT_ONE


def _named_columns(capture: Capture, data: Any) -> list[str]:
    """The columns a tensor or an array holds, when known."""
    if isinstance(data, _TENSOR[0]):
        return tensor_columns(capture, data)
    return columns.fitted_columns(capture, data) if getattr(data, "ndim", 0) == 2 else []


def _iterating(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``iter(loader)``: the iterator carries the provenance of the loader's dataset."""
    if not args:
        return
    state = state_of(capture)
    state.rows = 0
    state.iterator = _NONE  # a loader with persistent workers gives its iterator again, tagged anew
    dataset = getattr(args[0], "dataset", None)
    # the dataset's own first: the loader's may be the cell fallback's (``train_dl, test_dl = prepare_data()``)
    provenance = capture.of(dataset) or (_held(capture, dataset) if dataset is not None else EMPTY)
    if not provenance:
        provenance = capture.of(args[0])
    workers = getattr(args[0], "num_workers", 0)
    if isinstance(workers, int) and workers > 0 and dataset is not None:
        # its items are made in worker processes, where no read is seen: the files its items name are its data
        provenance = provenance | _item_files_read(capture, dataset)
    if provenance:
        capture.registry.tag(result, provenance.through(capture.cell_run_id))


def _held(capture: Capture, dataset: Any) -> Provenance:
    """What a dataset of the user's own class holds as attributes (``random_split``'s ``Subset``: its dataset's)."""
    inner = getattr(dataset, "dataset", None)
    if inner is not None and inner is not dataset:
        found = capture.of(inner) or _held(capture, inner)
        if found:
            return found
    attributes = list(getattr(dataset, "__dict__", {}).values())[:MAX_ATTRIBUTES]
    return union(capture.of(value) for value in attributes)


def _item_files_read(capture: Capture, dataset: Any) -> Provenance:
    """The files the items of ``dataset`` name (:func:`item_files`), each a read of the cell."""
    paths = item_files(dataset)
    if not paths:
        return EMPTY
    sources = []
    for path in dict.fromkeys(paths):
        location = locate(path)
        if location is not None:
            source = location.source()
            capture.read_input(source)
            sources.append(source)
    return capture.exact(sources) if sources else EMPTY


def item_files(dataset: Any, picks: list[int] | None = None) -> list[str]:
    """The files the items ``picks`` (all when None) of a dataset name: a ``Dataset`` class of the user's own holding
    one path per item (a list of paths, or of names in a folder it holds, or of ``(path, label)`` pairs), through
    ``Subset`` (``random_split``) and ``ConcatDataset``; [] where a dataset names none."""
    data = sys.modules.get("torch.utils.data")
    subset, concat = getattr(data, "Subset", None), getattr(data, "ConcatDataset", None)
    if isinstance(subset, type) and isinstance(dataset, subset):
        indices = list(dataset.indices)
        return item_files(dataset.dataset, indices if picks is None else [indices[i] for i in picks])
    if isinstance(concat, type) and isinstance(dataset, concat):
        found: list[str] = []
        start = 0
        for part, end in zip(dataset.datasets, dataset.cumulative_sizes, strict=False):
            local = None if picks is None else [i - start for i in picks if start <= i < end]
            if local is None or local:
                found += item_files(part, local)
            start = end
        return found
    paths = _paths_held(dataset)
    if not paths:
        return []
    return paths if picks is None else [paths[i] for i in picks if 0 <= i < len(paths)]


def _paths_held(dataset: Any) -> list[str]:
    """The path of each item of a dataset of the user's own class: an attribute holding one file per item (a list
    or tuple, of paths or of ``(path, label)`` pairs; a numpy array or pandas Series of names; a column of a frame
    held, the PyTorch tutorial's ``self.img_labels = pd.read_csv(annotations_file)``), in a folder it holds or not."""
    getitem = getattr(type(dataset), "__getitem__", None)
    if not capture_module.is_user_file(getattr(getattr(getitem, "__code__", None), "co_filename", "<library>")):
        return []
    try:
        size = len(dataset)
    except Exception:  # a dataset without a length names no files per item
        return []
    if not size:
        return []
    attributes = list(getattr(dataset, "__dict__", {}).values())[:MAX_ATTRIBUTES]
    folders = [""] + [value for value in attributes if isinstance(value, (str, os.PathLike)) and os.path.isdir(value)]
    for names in _name_lists(attributes, size):
        for folder in folders:
            paths = [os.path.join(folder, name) for name in names]
            if os.path.isfile(paths[0]) and all(os.path.isfile(path) for path in paths):
                return [os.path.abspath(path) for path in paths]
    return []


def _name_lists(attributes: list[Any], size: int) -> Iterator[list[Any]]:
    """The lists of ``size`` names (text or paths) the attributes hold: one item each."""
    for value in attributes:
        kind = type(value)
        if kind is list or kind is tuple:
            candidates = [[item[0] if isinstance(item, (tuple, list)) and item else item for item in value]]
        elif kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas"):
            text = [name for name, dtype in value.dtypes.items() if dtype.kind in "OUT"][:_MAX_NAME_COLUMNS]
            candidates = [value[name].tolist() for name in text] if len(value) == size else []
        elif kind.__name__ in ("Series", "ndarray") and getattr(value, "ndim", 0) == 1 and value.dtype.kind in "OUT":
            candidates = [value.tolist()] if len(value) == size else []
        else:
            continue
        for names in candidates:
            if len(names) == size and all(isinstance(name, (str, os.PathLike)) for name in names):
                yield names


def _read_for_batch(capture: Capture, iterator: Any, sources: list) -> None:
    """Files a dataset of the user's own read while a batch was drawn (lazily, in ``__getitem__``): the loader's
    data from then on, for this iterator and the ones drawn from the dataset later (the next epoch's), unless its
    sampler draws a subset of the dataset's items (then another loader's sampler may draw the rest)."""
    read = capture.exact(sources)
    dataset = getattr(iterator, "_dataset", None)
    sampler = getattr(getattr(iterator, "_index_sampler", None), "sampler", None)
    if dataset is not None and not hasattr(sampler, "indices"):  # a ``SubsetRandomSampler`` draws part of a dataset
        # other loaders share (train and validation samplers): only this iterator read it
        capture.registry.tag(dataset, (capture.of(dataset) or _held(capture, dataset)) | read)
    provenance = capture.of(iterator) | read
    capture.registry.tag(iterator, provenance)
    state = capture.hooks.torch
    if state is not None and state.iterator() is iterator:
        state.iterated = provenance


def _batch(capture: Capture, result: Any, iterator: Any) -> None:
    """``next(iterator)``: each tensor of the batch derives from what the loader iterates. The batch is held as it
    came rather than tagged (this runs for every batch: tagging costs more than a small model's step allows); its
    tensors are tagged at the end of the cell, and :func:`provenance_of` sees them meanwhile."""
    state = capture.hooks.torch
    if state is not None and state.iterator() is iterator:
        provenance = state.iterated  # the same iterator's next batch
    else:
        provenance = capture.of(iterator)
        if state is not None and state.batch:  # another iterator's batch (zipped loaders): still its own data's
            state.other_batch, state.other_last = state.batch, state.last_batch
        if state is not None and provenance.sources:  # an untracked one is looked up again (the fallback may tag it)
            try:
                state.iterator, state.iterated = weakref.ref(iterator), provenance
            except TypeError:  # no weak reference to it: looked up each batch
                state.iterator = _NONE
    if not provenance.sources:
        if state is not None and state.last_batch:  # a batch of data no hook knows: no earlier batch stands for it
            state.last_batch = state.train_last = state.other_last = EMPTY
            state.batch = state.train_batch = state.other_batch = ()
        return
    if state is None:
        state = state_of(capture)
    state.last_batch = provenance
    kind = type(result)
    if kind is list or kind is tuple:
        state.batch = result  # held as it came: no copy for each batch
    else:
        # a dict, or a Mapping such as transformers' ``BatchEncoding`` (a ``UserDict``)
        state.batch = tuple(result.values()) if isinstance(result, Mapping) else (result,)
    if _GRAD[0]():  # drawn for training (evaluation loops draw under ``no_grad``)
        state.train_last = provenance
        state.train_batch = state.batch
        state.train_drawn += 1
