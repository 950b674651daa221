"""Cell-level provenance for what no hook saw.

Each statement that (re)binds names gives the objects it bound the provenance of the tracked objects that statement
read, followed in order by name (``flow.py``): never the whole cell's. An object that already has exact provenance
from a hook keeps it. This runs after each cell, and also in the middle of one when a write finds no provenance on
what it writes: then the statements that ran before are applied, and the writing statement's own reads give the
output's inputs. What the fallback adds is marked ``cell`` precision. Plain Python is followed too (loops, lists
filled by ``append``, files read inside a function a statement calls). An array bound from an array of named
columns holds them too (``columns.carry``). A ``train_test_split`` part keeps what the hook derived it from
(``HookState.split_parts``). At the end of a cell, the column rules its code states are kept for the session too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from nblineage.kernel_ext import cellcode, columns, flow
from nblineage.kernel_ext.capture import StatementReads, cell_line
from nblineage.kernel_ext.provenance import EMPTY, NO_SOURCES, Provenance, Source

if TYPE_CHECKING:
    from nblineage.kernel_ext.capture import Capture


def cell_ended(capture: Capture, source: str, user_ns: dict[str, Any]) -> None:
    """What the cell's code says once it has run: provenance for the objects it bound (:func:`apply`) and its column
    rules, kept for the session's next cells."""
    apply(capture, source, user_ns)
    capture.hooks.split_parts.clear()
    code = cellcode.parse(source)
    if code is not None:
        columns.remember(capture.column_rules, code.rules)


def apply(
    capture: Capture,
    source: str,
    user_ns: dict[str, Any],
    before_line: int | None = None,
    seeds: dict[int, set[Source]] | None = None,
) -> dict[str, Provenance]:
    """Tag the objects the cell's statements bound (or filled) with the provenance of the names those statements
    read, in order (``flow.py``; only the statements that end before ``before_line``, when given; ``seeds``: what
    each line read, when not all the cell's reads so far); what each name rebound got."""
    capture.registry.sweep()
    code = cellcode.parse(source)
    if code is None:
        return {}
    for binding in code.bindings:
        if before_line is None or binding.end_line < before_line:
            columns.carry(capture, binding.targets, binding.reads, user_ns)
    given = flow.follow(capture, code.tree, user_ns, before_line, seeds)
    if capture.hooks.split_parts:
        _keep_split_parts(capture, user_ns, given)
    return given


def _keep_split_parts(capture: Capture, user_ns: dict[str, Any], given: dict[str, Provenance]) -> None:
    """A name the flow bound to a ``train_test_split`` part keeps what the hook derived that part from, not all the
    statement read: ``X_tr, X_te, y_tr, y_te = split(X, y)``, where the user's ``split`` returns the split as it
    comes (no tuple the flow can follow), or inputs of cell precision."""
    parts = capture.hooks.split_parts
    for name, tagged in list(given.items()):
        obj = user_ns.get(name)
        found = parts.get(obj) if obj is not None else None
        if found is None or found.sources == tagged.sources:
            continue
        kept = found.through(capture.cell_run_id)
        capture.registry.tag(obj, kept, binding=(user_ns, name))
        given[name] = kept


def at_write(capture: Capture, written: Any = None) -> Provenance:
    """Inputs of an output written mid-cell by an object no hook tracked (``written``): the reads of the statement
    writing it; where the code does not say, every input of the cell run so far (:func:`inputs_so_far`)."""
    source, user_ns = capture.cell_source, capture.user_ns
    if not source or user_ns is None:
        return inputs_so_far(capture)
    line = cell_line(user_ns, source)
    if line is None or cellcode.parse(source) is None:
        return inputs_so_far(capture)
    made = _in_function(capture, flow.user_frame(sys._getframe(1)))
    if made:  # written in a function of the user's own: what its code made the object of, not what the cell's call
        return made.through(capture.cell_run_id)  # of it read
    if made is not None and plain(written):  # a dict of constants pickled in ``train_and_save(train, test,
        return NO_SOURCES  # "full")``; an estimator its code fitted on data the flow lost stays unknown
    apply(capture, source, user_ns, before_line=line)
    found = flow.under_way(capture)  # by name as the flow reads them: ``arrs[0]`` is the item, not the whole list
    if found:
        return found.through(capture.cell_run_id)
    return NO_SOURCES if plain(written) else inputs_so_far(capture)  # ``joblib.dump({"note": "baseline"}, f)``


def plain(obj: Any, budget: int = 200) -> bool:
    """Whether ``obj`` is text, numbers and None in dicts, lists and tuples (``budget`` items at most): what code
    building it from no tracked data made of constants (no data a hook or the flow lost: that is arrays, frames,
    estimators)."""
    if obj is None:
        return False
    pending = [obj]
    while pending:
        item = pending.pop()
        budget -= 1
        if budget < 0:
            return False
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif item is not None and not isinstance(item, (str, bytes, int, float)):
            return False
    return True


def inputs_so_far(capture: Capture) -> Provenance:
    """What an object no hook or flow explains may derive from: every input of the cell run so far, at cell
    precision; none when there is none yet. Left empty, the store would give the output every input of its run,
    those read after it was written too (``np.save("a.npy", np.arange(5))``, then ``np.loadtxt("X.txt")``)."""
    inputs = capture.record.inputs
    return Provenance(frozenset(inputs), "cell").through(capture.cell_run_id) if inputs else NO_SOURCES


def argument_reads(capture: Capture, nothing_known: bool = False) -> Provenance:
    """What the arguments of the user's call under way read (``Capture.argument_reads``: ``flow.argument_reads``);
    when a name they read holds data no hook tracked (``Xs = X / 255.`` then ``fit(Xs, y)``), the code so far is
    followed first (:func:`catch_up`, in a function of the user's own :func:`catch_up_in_function`).
    ``nothing_known``: no input of the call has provenance (a fit on rows bound to locals in a loop)."""
    frame = sys._getframe(1)
    found, unknown = flow.argument_reads(capture, frame, nothing_known)
    if unknown:
        catch_up(capture)
        catch_up_in_function(capture)
        found, _ = flow.argument_reads(capture, frame, nothing_known)
    return found


# The last catch-up: cell run, line, inputs, what the flow gave each name rebound (by line reached), and where the
# log of the cell's reads stood at the last catch-up at each line (``marks``).
_caught_up: dict[str, Any] = {"run": None, "line": 0, "inputs": 0, "given": {}, "marks": {}}


def forget_catch_up() -> None:
    """Start :func:`catch_up` afresh: the code under way changed (a ``%run`` script began or ended)."""
    _caught_up.update(run=None, line=0, inputs=0, given={}, marks={})


def catch_up(capture: Capture) -> None:
    """Follow the cell's statements that ran before the one under way (``Capture.catch_up``), so that what they
    bound from the data read so far carries it before a hooked call uses it: once per statement reached further
    down the cell, or after a new read. Inside a loop, a statement reached again gets the new objects the names hold
    tagged as the first time (``X_sel = X[:, idx]`` made anew by each turn), without following the cell again; after
    a new read, the loop's body is followed with what this turn read alone (``X, y = load(f"{name}.csv")``: not
    the files of the turns before)."""
    if not capture.cell_source or capture.user_ns is None:
        return
    line = cell_line(capture.user_ns, capture.cell_source)
    if line is None:
        return
    last, inputs, reads = _caught_up, len(capture.record.inputs), capture.statement_reads
    same_run = last["run"] == capture.cell_run_id
    marks = last["marks"] if same_run else {}
    mark, marks[line] = marks.get(line), len(reads.log)
    read_since = mark is not None and marks[line] > mark  # this turn of a loop read data (the same files perhaps)
    if same_run and line <= last["line"] and inputs == last["inputs"] and not read_since:
        given = last["given"].get(line)
        if given:
            flow.retag(capture, given, capture.user_ns)
        return
    if not same_run or inputs != last["inputs"] or read_since:
        last["given"] = {}
    last.update(run=capture.cell_run_id, line=max(line, last["line"]) if same_run else line, inputs=inputs, marks=marks)
    seeds = _this_turn(capture, reads, line, mark) if mark is not None else None
    given = last["given"][line] = apply(capture, capture.cell_source, capture.user_ns, before_line=line, seeds=seeds)
    capture.note_followed(capture.user_ns.get(name) for name in given)


def _this_turn(capture: Capture, reads: StatementReads, line: int, mark: int) -> dict[int, set[Source]] | None:
    """What each line of the cell read, the body of the loop ``line`` is in having only what it read since ``mark``
    (the catch-up at ``line`` in the loop's turn before); None when ``line`` is in no loop."""
    code = cellcode.parse(capture.cell_source or "")
    around = flow.loop_body_around(code.tree, line) if code is not None else None
    if around is None:
        return None
    return reads.since(mark, *around)


# What ``flow.function_flow`` found at a call site of a user function (code, instruction, reads so far): per cell run.
_function_flows: dict[str, Any] = {"run": None, "found": {}}


def catch_up_in_function(capture: Capture) -> Provenance:
    """A hooked call made in a function of the user's own (the nearest user frame), given objects no hook tracked
    (``Capture.derive``, a save): the function's locals made from tracked data before the call (``data =
    np.array(rows)`` of rows a cursor fetched, ``X = vect.transform(data[:, 0])``, then ``model.partial_fit(X,
    y)``) get what flowed into them, at cell precision; the statements followed once per call site and new read in
    the cell. Returns what the arguments of the call under way read there (a list no registry holds has it)."""
    return _in_function(capture, flow.user_frame(sys._getframe(1))) or EMPTY


def _in_function(capture: Capture, frame: Any) -> Provenance | None:
    """:func:`catch_up_in_function` in ``frame``; None when it is no function's, or its call under way is not
    found."""
    if frame is None or frame.f_code.co_name == "<module>":
        return None
    cache = _function_flows
    if cache["run"] != capture.cell_run_id:
        cache.update(run=capture.cell_run_id, found={})
    callers = []  # functions of the user's own calling this one (``get_oof`` calling a wrapper's ``train(x_tr, y)``)
    caller = flow.user_frame(frame.f_back)
    while caller is not None and caller.f_code.co_name != "<module>" and len(callers) < MAX_CALLERS:
        callers.append(caller)
        caller = flow.user_frame(caller.f_back)
    for outer in reversed(callers):  # the outermost first: what it made is what it passed in
        _follow_function(capture, outer)
    return _follow_function(capture, frame)


MAX_CALLERS = 3  # functions of the user's own up the stack followed so far too


def _follow_function(capture: Capture, frame: Any) -> Provenance | None:
    """Tag the locals a function of the user's own running in ``frame`` made so far from tracked data; what the
    arguments of its call under way read (None when the function or that call is not found)."""
    cache = _function_flows
    # anew after any read (the seeds are per call) and for each call (``train(Xa, ya)`` then ``train(Xb, yb)``: its
    # parameters), not for each turn of a loop in one call
    code = frame.f_code
    local = frame.f_locals
    given_to = tuple(id(local.get(name)) for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    key = (code, frame.f_lasti, len(capture.reads_log), id(frame), given_to)
    if key not in cache["found"]:
        cache["found"][key] = flow.function_flow(capture, frame)
    found = cache["found"][key]
    if found is None:
        return None
    env, given = found
    for name, provenance in env.items():
        base, _, attribute = name.partition(".")  # ``self.y``: the object the attribute holds
        value = local.get(base) if not attribute else flow.attribute_of(local.get(base), (attribute,))
        if value is not None and not capture.of(value):
            capture.registry.tag(value, provenance.through(capture.cell_run_id))
    return given
