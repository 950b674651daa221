"""The policy guard: the kernel's side of ``governance/policy.py``, enforcing the policy where data flows.

The session keeps one :class:`Guard` per kernel. It loads the policy file at load and looks at it again at the
start of each cell (one ``stat``), reloading it when it changed; a change, and the first load, is an audit record
``policy.changed`` with the file's sha256. A file that cannot be used is said once in the notebook and never means
"no policy": the policy loaded before stays in force. With no policy, ``Capture.guard`` is None and the hooks pay
one attribute test.

- At a read (``Capture.read``): the ``readers`` rules decide, a read of classified data is an audit record ``read``,
  and a dataset whose policy lists expectation suites is handed to ``kernel_ext.quality.on_read``.
- Before a write or a model save (the ``before`` of the write hooks, ``instrument.intercept``): the rules decide
  about the object's provenance and the columns that reach the output (a frame's columns; a model's features
  followed back to their source columns), before the user's call, so a block leaves nothing written.
- At the end of a cell: each input and output the policy knows gets its owner and tags (``ownership`` and
  ``tags`` facets on the events, ``emit.py``).

Every decision is an audit record in the cell's record (the run facet ``nblineage_audit``); ``warn`` shows one
notebook warning per rule and dataset; ``block`` raises :class:`PolicyViolation`. A fault of the guard itself fails
open like any hook's (``safety.report``), saying the policy was not enforced for that call.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nblineage.governance import policy_file
from nblineage.governance.policy_file import PolicyError, PolicyViolation, find, identity
from nblineage.kernel_ext import quality, safety, warnsite
from nblineage.kernel_ext.dirwatch import Watch
from nblineage.lineage.events import utc_now

if TYPE_CHECKING:
    from nblineage.governance.policy import Decision, Policy, Ref
    from nblineage.kernel_ext.capture import Capture
    from nblineage.kernel_ext.provenance import Source

FAULT = "the policy guard (the policy was not enforced for this call)"
MAX_RECORDS = 1_000  # audit records one cell keeps


class PolicyWarning(UserWarning):
    """A policy rule with action ``warn`` saw a flow it does not allow."""


class Guard:
    """One kernel's policy: loaded, reloaded when its file changes, and applied to reads and writes."""

    def __init__(self, notebook: str | None) -> None:
        self.notebook = notebook
        self.user = identity()
        self.policy: Policy | None = None
        self.path: Path | None = None
        self._digest: str | None = None  # sha256 of the policy file's content last looked at
        self._told: set[str] = set()  # problems with the policy file shown already
        self._warned: set[tuple[str, tuple[Ref, ...]]] = set()  # (rule, datasets) warned about
        self.pending: list[dict[str, Any]] = []  # audit records made between cells (the first load)
        self._seen: tuple[list | None, set[tuple]] = (None, set())  # the cell's audit list and the records in it
        # Set while the session finishes a cell: what hooks report then (reads found at the cell's end) happened
        # already, so a block is recorded but raises nothing (it would lose the cell's record, not stop the read).
        self.cell_over = False
        self._watch = Watch()  # the folders where the policy file is looked for (one read a cell start)
        self._looked_up_with: tuple[str | None, ...] | None = None

    # --- the policy file ---------------------------------------------------------------------------------------

    def refresh(self, capture: Capture) -> None:
        """Load the policy file when it is new or its content changed; ``capture.guard`` is this guard when there is a
        policy. It is looked for again, read and hashed (so a change within the file system's time resolution is
        seen too) at the first cell start after a file changed in a folder where it is looked for
        (``dirwatch``: one system call a cell start otherwise), or after what says where it is looked for changed;
        at each cell start where folders cannot be watched."""
        looked_up_with = policy_file.looked_up_with(self.notebook)
        if looked_up_with == self._looked_up_with and not self._watch.changed():
            capture.guard = self if self.policy is not None else None
            return  # no file changed where the policy file is looked for, nor what says where that is
        self._watch.watch(policy_file.places(self.notebook))  # first: a change while looking is seen next time
        self._looked_up_with = looked_up_with
        path = find(self.notebook)
        if path is None:
            if self.policy is not None:
                safety.notify(f"nblineage: the policy file {self.policy.path} is gone; no policy is enforced now.")
            self.policy, self.path, self._digest, self._told = None, None, None, set()
        else:
            try:
                data = path.read_bytes()
            except OSError as error:
                self._problem(f"{path}:1: cannot read the policy file ({error.strerror or error})")
            else:
                digest = hashlib.sha256(data).hexdigest()
                if path != self.path or digest != self._digest:
                    self._load(path, data)
                    self.path, self._digest = path, digest
        capture.guard = self if self.policy is not None else None

    def _load(self, path: Path, data: bytes) -> None:
        from nblineage.governance.policy import loads  # with a policy file only

        try:
            policy = loads(data, path)
        except PolicyError as error:
            self._problem(str(error))
            return
        if self.policy is None or policy.sha256 != self.policy.sha256 or policy.path != self.policy.path:
            self.pending.append(self._record("policy.changed", detail=policy.sha256))
        self.policy, self._told = policy, set()

    def _problem(self, message: str) -> None:
        if message in self._told:
            return
        self._told.add(message)
        keeps = (
            f"the policy loaded before ({self.policy.path}, sha256 {self.policy.sha256[:12]}) stays in force"
            if self.policy is not None
            else "no policy is enforced until it is fixed"
        )
        safety.notify(f"nblineage cannot use the policy file: {message}. Capture goes on; {keeps}.")

    def flush(self, capture: Capture) -> None:
        """Put the records made between cells into the cell under way's record."""
        if self.pending:
            records, self.pending = self.pending, []
            for record in records:
                self._add(capture, record)

    def override(self, detail: str, cell: dict[str, Any] | None) -> None:
        """The policy is not enforced for a cell (``%%lineage skip``): an audit record ``override``, kept for the
        next cell's record."""
        record = self._record("override", detail=detail)
        if cell:
            record["cell"], record["run"] = str(cell.get("cell_id") or ""), str(cell.get("run_id") or "")
        self.pending.append(record)

    # --- reads -------------------------------------------------------------------------------------------------

    def on_read(self, capture: Capture, source: Source, result: Any) -> None:
        """``source`` was read into ``result``: readers rules, the audit record of a classified read, quality."""
        try:
            policy = self.policy
            if policy is None:
                return
            dataset = policy.for_dataset(source.namespace, source.name)
            ref = (source.namespace, source.name, source.version)
            decisions = policy.check_read(self.user, ref)
            if dataset.classification():
                tags = ", ".join(sorted(dataset.classification()))
                self._add(capture, self._record("read", datasets=[ref], detail=f"classified: {tags}", capture=capture))
            self._decide(capture, decisions, "the data read is not handed to your code")
            if dataset.expectations and result is not None:
                quality.on_read(result, source, dataset.expectations)
        except PolicyViolation:
            raise
        except Exception as error:
            safety.report(FAULT, error)

    # --- writes ------------------------------------------------------------------------------------------------

    def before_write(self, capture: Capture, obj: Any, target: tuple[str, str], model: bool | None = None) -> None:
        """``obj`` is about to be written to ``target`` (namespace, name): the rules decide first. ``model``: a
        model save (None: whether ``obj`` is a model)."""
        try:
            policy = self.policy
            if policy is None:
                return
            provenance = _provenance(capture, obj)
            inputs = [(s.namespace, s.name, s.version) for s in provenance.sources]
            if not inputs:
                return
            description = None
            if model is None or model:
                from nblineage.kernel_ext.hooks.describe import describe_model

                description = describe_model(obj, capture) if obj is not None else None
                model = model or description is not None
            needs_columns = any(policy.for_dataset(ns, name).columns for ns, name, _ in inputs)
            reaching = _reaching(capture, obj, description) if needs_columns else None
            decisions = policy.check_write(
                (target[0], target[1], None), inputs, model=bool(model), columns=reaching, quality=quality.latest
            )
            self._decide(capture, decisions, "nothing was written")
        except PolicyViolation:
            raise
        except Exception as error:
            safety.report(FAULT, error)

    # --- the end of a cell -------------------------------------------------------------------------------------

    def cell_ended(self, capture: Capture) -> None:
        """Owner and tags of every input and output the policy knows, for the events' ``ownership`` and ``tags``."""
        policy = self.policy
        if policy is None:
            return
        for source, found in capture.record.inputs.items():
            facet = _policy_facet(policy, source)
            if facet:
                found["policy"] = facet
        for output in capture.record.outputs:
            facet = _policy_facet(policy, output.source)
            if facet:
                output.facets["policy"] = facet

    # --- decisions and records ---------------------------------------------------------------------------------

    def _decide(self, capture: Capture, decisions: list[Decision], stopped: str) -> None:
        """Record each decision; warn once per rule and datasets; raise for the first block."""
        blocked: Decision | None = None
        for decision in decisions:
            self._add(
                capture,
                self._record(
                    "policy.decision",
                    decision=decision.decision,
                    rule=decision.rule,
                    datasets=list(decision.datasets),
                    outputs=list(decision.outputs),
                    detail=decision.detail,
                    capture=capture,
                ),
            )
            if decision.decision == "warn":
                key = (decision.rule, tuple((ns, name, None) for ns, name, _ in decision.datasets))
                if key not in self._warned:
                    self._warned.add(key)
                    _warn(decision.message(self.user))
            elif decision.decision == "block" and blocked is None:
                blocked = decision
        if blocked is not None and not self.cell_over:
            raise PolicyViolation(
                f"Blocked by the nblineage policy ({stopped}): " + blocked.message(self.user), blocked
            )

    def _record(
        self,
        action: str,
        *,
        decision: str | None = None,
        rule: str | None = None,
        datasets: list[Ref] | None = None,
        outputs: list[Ref] | None = None,
        detail: str = "",
        capture: Capture | None = None,
    ) -> dict[str, Any]:
        """An audit record (GOVERNANCE.md: time, actor, action, decision, rule, datasets, outputs, notebook, cell,
        run, detail)."""
        record: dict[str, Any] = {"time": utc_now(), "actor": self.user, "action": action}
        if decision is not None:
            record["decision"], record["rule"] = decision, rule
        record["datasets"] = [_ref(ref) for ref in datasets or ()]
        record["outputs"] = [_ref(ref) for ref in outputs or ()]
        record["notebook"] = self.notebook or ""
        job = capture.cell_job if capture is not None else None
        record["cell"] = job.rpartition("#")[2] if job else ""
        record["run"] = (capture.cell_run_id if capture is not None else None) or ""
        record["detail"] = detail
        return record

    def name_output(self, capture: Capture, placeholder: tuple[str, str], real: Ref, since: int) -> None:
        """A save checked under a placeholder name (an MLflow model is logged before its id exists: ``models:/``)
        now has its real name: the cell's records made since the check (index ``since``) name it instead."""
        audit = capture.record.audit
        for record in audit[since:]:
            outputs = record.get("outputs") or []
            if not any((o.get("namespace"), o.get("name")) == placeholder for o in outputs):
                continue
            self._seen[1].discard(_key(record))
            named = [_ref(real) if (o.get("namespace"), o.get("name")) == placeholder else o for o in outputs]
            record["outputs"] = named
            self._seen[1].add(_key(record))

    def _add(self, capture: Capture, record: dict[str, Any]) -> None:
        """Add ``record`` to the cell's record, once per cell (a loop reading a file a thousand times is one read)."""
        run = capture.cell_run_id
        audit = capture.record.audit
        if self._seen[0] is not audit:  # a new cell record
            self._seen = (audit, set())
        key = _key(record)
        if key in self._seen[1] or len(audit) >= MAX_RECORDS:
            return
        self._seen[1].add(key)
        record["run"] = record["run"] or (run or "")
        if not record["cell"] and capture.cell_job:  # made between cells: it belongs to the cell under way
            record["cell"] = capture.cell_job.rpartition("#")[2]
        audit.append(record)


# --- helpers -----------------------------------------------------------------------------------------------------


def _key(record: dict[str, Any]) -> tuple:
    """What makes two records of one cell the same (their time aside)."""
    return tuple((k, str(v)) for k, v in record.items() if k != "time")


def target_name(target: Any, filesystem: Any = None) -> tuple[str, str] | None:
    """(namespace, name) of where a write is about to go (a path, URI or open file); None when it names no dataset.
    Unlike ``hooks.files.locate`` the file need not exist yet."""
    from nblineage.kernel_ext.hooks.files import named

    found = named(target, filesystem)
    return None if found is None else (found[0].namespace, found[0].name)


def check_write(capture: Capture, obj: Any, target: Any, model: bool | None = None, filesystem: Any = None) -> None:
    """A write hook's ``before``: the guard's decision about writing ``obj`` to ``target`` (a path, URI or file)."""
    guard = capture.guard
    if guard is None:
        return
    name = target_name(target, filesystem)
    if name is None:
        return
    try:
        guard.before_write(capture, obj, name, model)
    except PolicyViolation as error:
        if not isinstance(target, (str, bytes, os.PathLike)):  # an open file: the notebook's open may have made it
            from nblineage.kernel_ext.hooks.pyfiles import remove_if_created_empty

            removed = remove_if_created_empty(target)
            if removed is not None:
                error.args = (f"{error.args[0]} The empty file {removed} that your open() created was removed.",)
        raise


def _provenance(capture: Capture, obj: Any) -> Any:
    """What ``obj`` derives from, found as ``Capture.write`` would find it (the cell followed so far, the writing
    statement's reads)."""
    provenance = capture.of(obj)
    if provenance or obj is None:
        return provenance
    if capture.record.inputs and capture.catch_up is not None:
        capture.catch_up(capture)
        provenance = capture.of(obj)
    if not provenance and capture.write_fallback is not None:
        provenance = capture.write_fallback(capture, obj)
    return provenance


def _reaching(capture: Capture, obj: Any, description: dict[str, Any] | None) -> frozenset[str] | None:
    """The source columns that reach an output: a model's features followed back to the columns they came from, or
    a frame's columns and theirs; None when unknown."""
    from nblineage.kernel_ext import columns

    if description is not None:
        names = [str(name) for name in description.get("featureNames") or ()]
        if not names:
            return None
        lineage = description.get("featureLineage") or columns.feature_lineage(capture, names)
    else:
        found = getattr(obj, "columns", None)
        if found is None:
            schema = getattr(obj, "schema", None)
            found = getattr(schema, "names", None)
        if found is None:
            found = columns.array_columns(capture, obj) or None  # an array converted from a frame
        if found is None:
            return None
        names = [str(name) for name in found]
        lineage = columns.feature_lineage(capture, names)
    reaching = set(names)
    for name in names:
        reaching.update(lineage.get(name, ()))
    return frozenset(reaching)


def _warn(message: str) -> None:
    """A ``PolicyWarning`` shown in the notebook, even when ``logging.captureWarnings(True)`` (which importing
    great-expectations calls) would hand it to a logger nobody reads."""
    import logging

    shown = warnings.showwarning
    original = getattr(logging, "_warnings_showwarning", None)
    captured = shown is getattr(logging, "_showwarning", None) and original is not None
    if captured:
        warnings.showwarning = original
    try:
        warnings.warn(message, PolicyWarning, stacklevel=warnsite.user_level(sys._getframe()))  # the cell's line
    finally:
        if captured:
            warnings.showwarning = shown


def _policy_facet(policy: Policy, source: Source) -> dict[str, Any]:
    dataset = policy.for_dataset(source.namespace, source.name)
    facet: dict[str, Any] = {}
    if dataset.owner:
        facet["owner"] = dataset.owner
    if dataset.tags:
        facet["tags"] = sorted(dataset.tags)
    if dataset.columns:
        facet["columns"] = {column: sorted(tags) for column, tags in sorted(dataset.columns.items()) if tags}
    return facet


def _ref(ref: Ref) -> dict[str, Any]:
    return {"namespace": ref[0], "name": ref[1], "version": ref[2]}
