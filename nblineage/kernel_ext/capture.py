"""What the hooks report to: the kernel's capture session and the cell run under way.

Hooks never talk to the store. They call ``read``, ``write`` and ``derive`` on ``current()`` (None when capture is
off), which tag objects with their provenance and add inputs and outputs to the cell run; the run becomes
OpenLineage events when the cell ends.

Which hooked calls record (``enter``): the outermost hooked call on a thread always does. A hooked call made while
another is under way (nested) records when it is the user's own call, not the library's: its caller is user code
(the cell, a function the notebook defined, a module outside the Python installation and site-packages), or it is
a hooked function the user handed to the enclosing recording call (``pd.concat(map(pd.read_csv, files))``,
``paths.map(pd.read_csv)``, also through ``functools.partial``). A library calling its own hooked functions
(``read_parquet`` calling pyarrow, ``Pipeline.fit`` each step's ``fit``) records nothing, and neither does
nblineage's own work inside a hook (``mute``). What nested calls read flows into the result of the call they ran
in (``reads_within``): ``pd.concat(pd.read_csv(f) for f in files)`` derives from every file. A write nested in a
call that writes too is the same output, named by the outer call (``outputs_before``): a save of the user's inside
``log_model`` is not a second model.
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nblineage.kernel_ext.hookstate import HookState
from nblineage.kernel_ext.provenance import EMPTY, NO_SOURCES, Provenance, Registry, Source
from nblineage.value import Value

# The inputs of an output written mid-cell whose object no hook tracked (``fallback.at_write``, set by the session).
WriteFallback = Callable[["Capture", Any], Provenance]  # (capture, the object written)

_current: Capture | None = None
# The packages whose arrays, frames, tensors and matrices are data (``Capture.untracked_data``).
_DATA_MODULES = frozenset({"numpy", "pandas", "torch", "scipy", "polars", "pyarrow", "tensorflow", "jax", "jaxlib"})
_data_types: dict[type, bool] = {}  # whether a type's instances are data, by its package


class _Local(threading.local):
    """A thread's hooked calls under way. The class holds the defaults, so that reading an attribute a thread has
    not set yet finds them rather than raising and catching an ``AttributeError`` (on every batch of a loop)."""

    depth = 0  # hooked calls under way on this thread
    muted = 0  # > 0: the hooked calls made now record nothing
    calls: list[_Call] | None = None  # the recording calls under way, outermost first


_local = _Local()


class Output(Value):
    """A dataset or model the cell wrote, with the inputs of exactly the object written; ``model``: framework,
    class, hyperParameters, featureNames."""

    FIELDS = ("source", "provenance", "facets", "model")
    __slots__ = FIELDS
    __hash__ = None  # type: ignore[assignment]  # compared by value, and changed in place

    def __init__(
        self,
        source: Source,
        provenance: Provenance,
        facets: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
    ) -> None:
        self.source, self.provenance, self.model = source, provenance, model
        self.facets: dict[str, Any] = {} if facets is None else facets


class Record(Value):
    """Inputs and outputs of one run (a cell execution): ``metrics``, the model metrics computed
    (docs/facets.md#metrics); ``mlflow_runs``, the MLflow runs the cell logged to or ran in, and ``mlflow`` those
    runs read back (hooks/mlflow/runs.py); ``audit``, governance records (kernel_ext/guard.py)."""

    FIELDS = ("inputs", "outputs", "metrics", "mlflow_runs", "mlflow", "audit")
    __slots__ = FIELDS
    __hash__ = None  # type: ignore[assignment]  # compared by value, and changed in place

    def __init__(self) -> None:
        self.inputs: dict[Source, dict[str, Any]] = {}
        self.outputs: list[Output] = []
        self.metrics: list[dict[str, Any]] = []
        self.mlflow_runs: list[str] = []
        self.mlflow: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []

    def add_input(self, source: Source, facets: dict[str, Any] | None = None) -> None:
        known = self.inputs.setdefault(source, {})
        if facets and "schema" in facets and "schema" in known:  # two sheets of a workbook, two column subsets
            facets = {**facets, "schema": merged_schema(known["schema"], facets["schema"])}
        known.update(facets or {})

    def add_mlflow_run(self, run_id: str | None) -> None:
        if run_id and run_id not in self.mlflow_runs:
            self.mlflow_runs.append(run_id)


def merged_schema(first: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """The schema of one dataset version read twice (or of a dict of frames): every field either read saw, the
    first read's first."""
    fields = list(first.get("fields", ()))
    seen = {field.get("name") for field in fields}
    fields += [field for field in then.get("fields", ()) if field.get("name") not in seen]
    return {**first, "fields": fields}


class StatementReads(dict[int, set[Source]]):
    """Line of the cell statement under way -> the datasets read while it ran; ``log``: each (line, dataset, turn)
    in the order read, repeats kept, so that a loop's turn can be told from the turns before it (:meth:`since`), and
    a comprehension's turns apart (``turn``: what its variables held, :func:`_turn`)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[int, Source, Any]] = []

    def add(self, line: int, sources: Iterable[Source], turn: Any = None) -> None:
        found = self.get(line)
        if found is None:
            found = self[line] = set()
        for source in sources:
            found.add(source)
            self.log.append((line, source, turn))

    def since(self, mark: int, first: int, last: int) -> dict[int, set[Source]]:
        """These reads, but for the lines ``first`` to ``last`` (a loop's body) only those read from ``log[mark]`` on
        (the loop's turn under way, ``mark`` taken in the turn before)."""
        seeds = {line: sources for line, sources in self.items() if not first <= line <= last}
        for line, source, _ in self.log[mark:]:
            if first <= line <= last:
                seeds.setdefault(line, set()).add(source)
        return seeds

    def turns(self, first: int, last: int) -> list[set[Source]] | None:
        """What each turn of the comprehension on lines ``first`` to ``last`` read, in order (``[load(p) for p in
        paths]``); None when a read there was made outside one."""
        found: list[set[Source]] = []
        previous: Any = None
        for line, source, turn in self.log:
            if first <= line <= last:
                if turn is None:
                    return None
                if turn != previous:
                    found.append(set())
                    previous = turn
                found[-1].add(source)
        return found


class Capture:
    """One kernel's capture: the provenance registry and the record of the cell run under way."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.record = Record()
        self.cell_source: str | None = None  # the cell under way and the namespace it runs in, for the fallback
        self.user_ns: dict[str, Any] | None = None
        self.script: str | None = None  # the file of the ``%run`` script under way, whose code the cell's then is
        # name the cell mentions -> (the object it held when the cell began, weakly; its provenance): a statement
        # reading a name the cell binds anew later (``X = X / 255.``) read the object it held then (``flow``)
        self.names_at_start: dict[str, tuple[Any, Provenance]] = {}
        self.cell_job: str | None = None  # the job name of the cell under way (which cell trained a model)
        self.cell_run_id: str | None = None  # the run id of the cell under way
        self.deferred: list[Callable[[], None]] = []  # work waiting for the outermost hooked call to end
        self.column_rules: dict[str, frozenset[str]] = {}  # derived column -> columns read (columns.py)
        self.hooks = HookState()
        self.write_fallback: WriteFallback | None = None
        # line of the cell statement under way -> datasets read while it ran (the fallback gives them to what the
        # statement binds: ``rows = load_rows("train.csv")`` reads the file inside a function)
        self.statement_reads = StatementReads()
        # (file, line) of each user function running -> datasets read while that line ran: which of a function's
        # statements read what (``flow``: what each item of ``train, test = loader.split()`` got)
        self.code_reads: dict[tuple[str, int], set[Source]] = {}
        # each call of a user function under way (its frame; let go once off the stack) -> line -> datasets read while
        # that line ran in this call (``X_tr, y_tr = load("train.csv")`` in ``def main()``: not another call's)
        self.call_reads: dict[Any, dict[int, set[Source]]] = {}
        # every read of the cell in order, repeats kept: what a call read is what it added (a loader's batch, whose
        # dataset reads its files as it is indexed)
        self.reads_log: list[Source] = []
        # Once the cell has read data, a hooked call given objects with no provenance first follows the cell's
        # statements so far (``catch_up``, the fallback up to the statement under way): ``a = np.delete(a, 0, 0)``
        # then ``fit(a, b)`` in one cell. ``untracked_reads``: a read whose data only the cell's code carries on.
        self.catch_up: Callable[[Capture], None] | None = None
        self._followed: tuple[str | None, set[int]] = (None, set())  # cell run, ids ``catch_up`` tagged in it
        # The same inside a function of the user's own: its locals made from tracked data (``fallback``).
        self.catch_up_in_function: Callable[[Capture], Provenance] | None = None
        # A hooked call given tracked data and data no hook tracked (``fit(X / 255., y)``: numpy's ops are not
        # followed): what the arguments of the user's call under way read by name (``fallback.argument_reads``,
        # which follows the code so far first when a name they read holds data no hook tracked: ``Xs = X / 255.``).
        self.argument_reads: Callable[..., Provenance] | None = None
        # line of the cell statement under way -> (cell code, instruction, blank lines IPython dropped) of the call
        # the statement was making -> datasets read while it ran: which call of ``a, b = load("a"), load("b")`` read
        # what (``flow``)
        self.call_sites: dict[int, dict[tuple[Any, int, int], set[Source]]] = {}
        self.untracked_reads = False
        self.guard: Any = None  # the policy guard (kernel_ext/guard.py) when a policy applies, else None

    def defer(self, work: Callable[[], None]) -> None:
        """Run ``work`` when the outermost hooked call under way ends (an MLflow log inside a fit that autolog
        wrapped is recorded once the fit has tagged the model)."""
        self.deferred.append(work)

    def run_deferred(self) -> None:
        work, self.deferred = self.deferred, []
        for item in work:
            item()

    def take_record(self) -> Record:
        """The record so far, replaced by an empty one (called when a cell ends)."""
        record, self.record = self.record, Record()
        self.names_at_start = {}
        self.statement_reads = StatementReads()
        self.code_reads = {}
        self.call_reads = {}
        self.call_sites = {}
        self.reads_log = []
        self.untracked_reads = False
        return record

    def read(self, source: Source, result: Any, facets: dict[str, Any] | None = None) -> Provenance:
        """A hook read ``source``: it is an input of the run, and ``result`` derives from it (exactly)."""
        self.record.add_input(source, facets)
        self.reads_log.append(source)
        _note_read(source)
        self._note_statement((source,), sys._getframe(1))
        provenance = self.exact({source})
        self.registry.tag(result, provenance)
        if self.guard is not None:
            self.guard.on_read(self, source, result)  # may raise PolicyViolation (a readers rule's block)
        return provenance

    def rows_read(self, sources: Iterable[Source]) -> None:
        """Rows of ``sources`` came to the cell statement under way (a DB-API fetch): what it binds or fills holds
        them (``flow``), though no hook tags what it makes of them (``arr = np.array(cur.fetchall())``)."""
        self._note_statement(tuple(sources), sys._getframe(1))

    def _note_statement(self, sources: tuple[Source, ...], caller: Any) -> None:
        """``sources`` were read while the cell statement under way (and the user function lines under way) ran."""
        if self.user_ns is None or not sources:
            return
        frame = _cell_frame(self.user_ns)
        if frame is None:
            return
        lead = blank_lead(self.cell_source) if self.cell_source and self.script is None else 0
        line = frame.f_lineno + lead
        self.statement_reads.add(line, sources, _turn(frame))
        site = (frame.f_code, frame.f_lasti, lead)
        for source in sources:
            self.call_sites.setdefault(line, {}).setdefault(site, set()).add(source)
            _note_function_reads(self, caller, source)

    def read_input(self, source: Source, result: Any = None) -> None:
        """A read no object carries yet, or one the hook tags itself (a SQL statement run, rows fetched): an input
        of the run, which the policy guard checks like any read."""
        self.record.add_input(source)
        self.reads_log.append(source)
        if self.guard is not None:
            self.guard.on_read(self, source, result)  # may raise PolicyViolation (a readers rule's block)

    def exact(self, sources: Iterable[Source]) -> Provenance:
        """Provenance a hook saw in the cell under way: exactly ``sources``."""
        return Provenance(frozenset(sources)).through(self.cell_run_id)

    def write(
        self,
        source: Source,
        obj: Any,
        facets: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        provenance: Provenance | None = None,
    ) -> None:
        """A hook wrote ``obj`` to ``source``: an output whose inputs are ``obj``'s provenance (``NO_SOURCES``: made
        of no dataset; of a tuple of several objects, some of which no hook tracked, with what the call's arguments
        read by name too)."""
        if provenance is None or (not provenance and provenance is not NO_SOURCES and self.untracked_reads):
            if self.record.inputs and self.catch_up is not None and obj is not None and not self.registry.of(obj):
                self.catch_up(self)  # the cell read files only its code carries on: follow it so far
                if self.catch_up_in_function is not None and not self.registry.of(obj):
                    self.catch_up_in_function(self)  # and so far in the user's function writing it, if one is
            provenance = self.registry.of(obj)
            if not provenance and obj is not None and self.write_fallback is not None:
                provenance = self.write_fallback(self, obj)
        elif type(obj) is tuple:  # several objects written (``np.savez(f, X=X, y=y - 1)``): some perhaps untracked
            provenance = self._with_argument_reads(provenance, obj)
        for input_source in provenance.sources:
            self.record.add_input(input_source)
        self.record.outputs.append(Output(source, provenance, dict(facets or {}), model))

    def derive(self, result: Any, *inputs: Any) -> Provenance:
        """``result`` was computed from ``inputs`` in the cell under way: it carries their provenance. When they have
        none and the cell read files whose data only its code carries on, the statements so far are followed first
        (``rows`` built from ``csv.reader(f)`` gets the file before ``pd.DataFrame(rows)`` derives from it)."""
        provenance = self.registry.derive(result, *inputs, run_id=self.cell_run_id)
        if self.catch_up is not None and (
            (self.record.inputs and self.untracked(inputs))
            or self.untracked_numbers(inputs)
            or self.followed_earlier(inputs)
        ):
            self.catch_up(self)
            given = EMPTY
            if self.catch_up_in_function is not None and self.untracked(inputs):
                given = self.catch_up_in_function(self)
            provenance = self.registry.derive(result, *inputs, run_id=self.cell_run_id)
            if given and self.untracked(inputs):  # a list a function of the user's own built, which no registry
                # holds: what the call's arguments read there
                provenance = (provenance | given).through(self.cell_run_id)
                self.registry.tag(result, provenance)
        widened = self._with_argument_reads(provenance, inputs)
        if widened is not provenance:
            provenance = widened
            self.registry.tag(result, provenance)
        return provenance

    def _with_argument_reads(self, provenance: Provenance, inputs: tuple) -> Provenance:
        """``provenance`` of the tracked ``inputs`` of a hooked call, with what the call's arguments read by name
        when some input is data no hook tracked (``fit(X / 255., y)``: ``y``'s exact provenance alone would hide
        ``X``'s), at cell precision; ``provenance`` itself when that adds nothing."""
        if not provenance or self.argument_reads is None or not self.untracked_data(inputs):
            return provenance
        found = self.argument_reads(self)
        return provenance if found.sources <= provenance.sources else (provenance | found).through(self.cell_run_id)

    def follow_so_far(self) -> bool:
        """When the cell read data, follow its code so far (``catch_up``, and in a function of the user's own its
        statements too); whether it did."""
        if not self.record.inputs or self.catch_up is None:
            return False
        self.catch_up(self)
        if self.catch_up_in_function is not None:
            self.catch_up_in_function(self)
        return True

    def untracked(self, inputs: tuple) -> bool:
        """Whether some input has no provenance (None and plain numbers or text do not count)."""
        return any(
            item is not None and not isinstance(item, (int, float, str, bytes)) and not self.registry.of(item)
            for item in inputs
        )

    def note_followed(self, objects: Iterable[Any]) -> None:
        """``objects`` got their provenance from following this cell's code so far (``catch_up``)."""
        run, ids = self._followed
        if run != self.cell_run_id:
            ids = set()
            self._followed = (self.cell_run_id, ids)
        ids.update(id(obj) for obj in objects if obj is not None)

    def followed_earlier(self, inputs: tuple) -> bool:
        """Whether an input (or a small dict's value) got its provenance from following this cell's code earlier in
        the cell: what the flow knew then, which the statements run since may have added to (``preds =
        np.zeros(n)``, then ``preds += model.predict(X) / k`` in a loop of folds, then a frame of it)."""
        run, ids = self._followed
        return run == self.cell_run_id and bool(ids) and any(id(item) in ids for item in _opened(inputs))

    def untracked_numbers(self, inputs: tuple) -> bool:
        """Whether an input is a list of numbers with no provenance, or a small dict's value is: what the cell's
        code made of data read before (``pd.DataFrame({"Id": test.Id, "y": preds})``, ``preds`` predictions
        rounded in a loop or a comprehension of the cell)."""
        return any(
            type(item) is list and item and type(item[0]) in (int, float) and not self.registry.of(item)
            for item in _opened(inputs)
        )

    def untracked_data(self, inputs: tuple) -> bool:
        """Whether some input is an array, frame, tensor or sparse matrix (not a number) with no provenance, or a
        small dict's value is (``pd.DataFrame({"Id": ids, "y": preds})``)."""
        registry = self.registry
        for item in inputs:
            if type(item) is dict:
                if len(item) <= 64 and self.untracked_data(tuple(item.values())):
                    return True
                continue
            data = _data_types.get(type(item))
            if data is None:
                data = _data_types[type(item)] = _is_data(type(item))
            if data and not registry.tracks(item) and not registry.of(item):
                return True
        return False

    def of(self, obj: Any) -> Provenance:
        return self.registry.of(obj) if obj is not None else EMPTY


def _opened(inputs: tuple) -> Iterator[Any]:
    """The inputs, a small dict given as the values it holds (``pd.DataFrame({"Id": ids, "y": preds})``)."""
    for item in inputs:
        if type(item) is dict:
            if len(item) <= 64:
                yield from _opened(tuple(item.values()))
        else:
            yield item


def is_data(obj: Any) -> bool:
    """Whether ``obj`` is an array, frame, tensor or sparse matrix (not a number)."""
    data = _data_types.get(type(obj))
    if data is None:
        data = _data_types[type(obj)] = _is_data(type(obj))
    return data


def _is_data(kind: type) -> bool:
    """Whether instances of ``kind`` are data: of a data package, not numpy's numbers (``guess[i, j]``)."""
    if kind.__module__.partition(".")[0] not in _DATA_MODULES:
        return False
    numpy = sys.modules.get("numpy")
    return numpy is None or not issubclass(kind, numpy.generic)


def current() -> Capture | None:
    """The active capture, unless capture is off or a hook is already recording on this thread. Inside a hooked call,
    code the user's own code runs (a function the hooked call calls back) records again: an event a library fires
    there (a SQLAlchemy statement) sees the capture."""
    if _current is None:
        return None
    if not _local.depth:
        return _current
    if _local.muted:
        return None
    frame = sys._getframe(1)
    while frame is not None and frame.f_code not in _BOUNDARIES:
        if _kind(frame.f_code.co_filename) is _USER:
            return _current
        frame = frame.f_back
    return None


def cell_line(user_ns: dict[str, Any], source: str | None = None) -> int | None:
    """The line of the cell statement under way: of the outermost frame running module code in ``user_ns``,
    counted in the cell's ``source`` as typed (IPython runs it without its leading blank lines). While a ``%run``
    script runs (``Capture.script``), the line of its statement under way, in its file."""
    frame = _cell_frame(user_ns)
    if frame is None:
        return None
    script = _current.script if _current is not None else None
    return frame.f_lineno + blank_lead(source) if source and script is None else frame.f_lineno


def _cell_frame(user_ns: dict[str, Any]) -> Any:
    """The outermost frame running module code in ``user_ns`` (the cell's, or the ``%run`` script's), or None."""
    frame: Any = sys._getframe(1)
    script = _current.script if _current is not None else None
    found = None
    while frame is not None:
        code = frame.f_code
        if frame.f_globals is user_ns and code.co_name == "<module>" and (script is None or code.co_filename == script):
            found = frame
        frame = frame.f_back
    return found


_COMPREHENSIONS = frozenset({"<listcomp>", "<genexpr>", "<dictcomp>", "<setcomp>"})


def _turn(cell: Any) -> tuple[int, ...] | None:
    """When the cell's frame ``cell`` reads through a comprehension of its own (``[load(p) for p in paths]``), which
    turn of it: the identities of what its variables hold (two turns in a row never hold the same objects)."""
    frame: Any = sys._getframe(2)
    while frame is not None and frame.f_back is not cell:
        frame = frame.f_back
    if frame is None or frame.f_code.co_name not in _COMPREHENSIONS:
        return None
    return tuple(id(value) for name, value in sorted(frame.f_locals.items()) if name != ".0")


@functools.lru_cache(maxsize=8)
def blank_lead(source: str) -> int:
    """How many blank lines the cell's ``source`` starts with (IPython drops them before it runs the cell)."""
    count = 0
    for text in source.splitlines():
        if text.strip():
            break
        count += 1
    return count


def activate(capture: Capture | None) -> None:
    global _current
    _current = capture


def enter(
    nested: bool = False, wrapped: Any = None, args: tuple = (), kwargs: dict | None = None
) -> tuple[Capture | None, int]:
    """Start an intercepted call of ``wrapped`` with ``args`` and ``kwargs``: (the capture if this call records, else
    None; the depth before). It records when it is the outermost hooked call, ``nested`` is set, or it is the
    user's own call (module docstring). Call from the hook's wrapper, so that the caller is the frame above it."""
    depth = _local.depth
    _local.depth = depth + 1
    capture = _current
    if capture is None:
        return None, depth
    try:
        if depth and not nested:
            if _local.muted:
                return None, depth
            if not _user_caller(sys._getframe(1)) and not _handed(wrapped):
                return None, depth
        calls = _local.calls
        if calls is None:
            calls = _local.calls = []
        calls.append(_Call(depth, args, kwargs or {}, len(capture.record.outputs)))
    except BaseException:
        _local.depth = depth  # as if never entered: the caller runs the call alone
        raise
    return capture, depth


def leave(depth: int) -> None:
    """End the intercepted call that ``enter`` started at ``depth``; what it read counts for the call it ran in."""
    _local.depth = depth
    calls = _local.calls
    while calls and calls[-1].depth >= depth:
        done = calls.pop()
        if done.reads and calls:
            parent = calls[-1]
            if parent.reads is None:
                parent.reads = set()
            parent.reads.update(done.reads)


def reads_within(depth: int) -> frozenset[Source]:
    """The datasets read so far by the recording call entered at ``depth`` (by the calls nested in it)."""
    calls = _local.calls
    if calls and calls[-1].depth == depth and calls[-1].reads:
        return frozenset(calls[-1].reads)
    return frozenset()


def outputs_before(depth: int) -> int | None:
    """How many outputs the record had when the recording call entered at ``depth`` began (None: no such call)."""
    calls = _local.calls
    return calls[-1].outputs if calls and calls[-1].depth == depth else None


def mute() -> None:
    """nblineage's own work begins (a hook's ``after``): the hooked calls it makes record nothing."""
    _local.muted = _local.muted + 1


def unmute() -> None:
    _local.muted -= 1


def depth() -> int:
    """How many hooked calls are under way on this thread (1 inside the outermost one)."""
    return _local.depth


def capturing() -> bool:
    """True when capture is on (cheap: hooks skip all work otherwise)."""
    return _current is not None


def boundary(code: Any) -> None:
    """``code`` is a hook wrapper's: ``current()`` looks for the user's code no further up than it."""
    _BOUNDARIES.add(code)


def user_caller(frame: Any) -> bool:
    """Whether the first frame from ``frame`` up that is no hook wrapper's (nblineage, wrapt) is the user's code: a
    cell, or a file outside the Python installation, site-packages and nblineage."""
    return _user_caller(frame)


def _note_function_reads(capture: Capture, frame: Any, source: Source) -> None:
    """``source`` was read now: by each function of the user's own on the stack from ``frame``, at the line it
    runs (``code_reads``), and by each of those calls (``call_reads``); the calls no longer on the stack are let go
    (their frames hold their locals)."""
    calls = capture.call_reads
    live: list[Any] = []
    while frame is not None:
        code = frame.f_code
        if code.co_name != "<module>" and _kind(code.co_filename) is _USER:
            live.append(frame)
            capture.code_reads.setdefault((code.co_filename, frame.f_lineno), set()).add(source)
            calls.setdefault(frame, {}).setdefault(frame.f_lineno, set()).add(source)
        frame = frame.f_back
    if len(calls) > len(live):
        for gone in [known for known in calls if not any(known is frame for frame in live)]:
            del calls[gone]


def is_user_file(filename: str) -> bool:
    """Whether code in ``filename`` is the user's (a cell, or a file outside the Python installation, site-packages
    and nblineage)."""
    return _kind(filename) is _USER


def in_installation(path: str) -> bool:
    """Whether the file at ``path`` lies in the Python installation or a site-packages (a library's own data)."""
    return _classify_in_folder(path) is not _USER


# --- which code is the user's ---------------------------------------------------------------------------------------

_USER, _LIBRARY, _TRANSPARENT = "user", "library", "transparent"
_BOUNDARIES: set[Any] = set()
_kinds: dict[str, str] = {}
_folder_kinds: dict[str, str] = {}


class _Call:
    """A recording hooked call under way: its depth, its arguments (for what the user handed it), what was read
    inside it, and the functions it was handed (found when first needed)."""

    __slots__ = ("args", "depth", "handed", "kwargs", "outputs", "reads")

    def __init__(self, depth: int, args: tuple, kwargs: dict, outputs: int) -> None:
        self.depth = depth
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs  # outputs the record had when the call began
        self.reads: set[Source] | None = None
        self.handed: frozenset[int] | None = None


def _note_read(source: Source) -> None:
    calls = _local.calls
    if calls:
        call = calls[-1]
        if call.reads is None:
            call.reads = set()
        call.reads.add(source)


def _user_caller(frame: Any) -> bool:
    """Whether the first frame from ``frame`` up that is not a hook wrapper (nblineage, wrapt) is the user's code."""
    while frame is not None:
        filename = frame.f_code.co_filename
        kind = _kinds.get(filename) or _kind(filename)
        if kind is not _TRANSPARENT:
            return kind is _USER
        frame = frame.f_back
    return False


def _handed(wrapped: Any) -> bool:
    """Whether ``wrapped`` is a function the user handed to the innermost recording call under way (as an argument,
    the function of a ``map`` or a ``functools.partial``)."""
    if wrapped is None:
        return False
    calls = _local.calls
    if not calls:
        return False
    call = calls[-1]
    if call.handed is None:
        try:
            call.handed = _functions_in((*call.args, *call.kwargs.values()))
        except Exception:  # an argument that cannot be looked at: nothing handed
            call.handed = frozenset()
    return bool(call.handed) and id(getattr(wrapped, "__func__", wrapped)) in call.handed


def _functions_in(values: tuple) -> frozenset[int]:
    found: set[int] = set()
    for value in values:
        if type(value) is map:
            value = value.__reduce__()[1][0]
        if isinstance(value, functools.partial):
            value = value.func
        if not callable(value) or isinstance(value, type):
            continue
        inner = getattr(value, "__wrapped__", value)
        found.add(id(getattr(inner, "__func__", inner)))
    return frozenset(found)


def _kind(filename: str) -> str:
    kind = _kinds.get(filename)
    if kind is None:
        kind = _kinds[filename] = _classify_in_folder(filename)
    return kind


def _classify_in_folder(filename: str) -> str:
    """``_classify``, once per folder: its roots are folders, so every file of a folder is of one kind (the import
    of a library's thousand modules classifies each of its folders once)."""
    if filename.startswith("<"):
        return _classify(filename)
    folder = os.path.dirname(filename)
    kind = _folder_kinds.get(folder)
    if kind is None:
        kind = _folder_kinds[folder] = _classify(filename)
    return kind


def _classify(filename: str) -> str:
    if filename.startswith("<"):  # a cell in plain IPython is <ipython-input-...>; <frozen ...>, <string>: not user's
        return _USER if filename.startswith("<ipython-input-") else _LIBRARY
    path = os.path.normcase(os.path.abspath(filename))
    if path.startswith(_transparent_roots()):
        return _TRANSPARENT
    if path.startswith(_library_roots()) or f"{os.sep}site-packages{os.sep}" in path:
        return _LIBRARY
    if f"{os.sep}dist-packages{os.sep}" in path:
        return _LIBRARY
    return _USER


@functools.lru_cache(maxsize=1)
def _transparent_roots() -> tuple[str, ...]:
    """Where the hook wrappers live: nblineage, and wrapt when it runs without its C extension."""
    roots = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    wrapt = sys.modules.get("wrapt")
    if wrapt is not None and getattr(wrapt, "__file__", None):
        roots.append(os.path.dirname(os.path.abspath(wrapt.__file__)))
    return tuple(os.path.normcase(root) + os.sep for root in roots)


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    """The Python installation's library folders and every site-packages."""
    paths = sysconfig.get_paths()
    roots = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # a virtualenv's old site module
        pass
    return tuple(os.path.normcase(os.path.abspath(root)) + os.sep for root in roots if root)
