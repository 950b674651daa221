"""The content of an audit report about one model or dataset version, gathered once from the store.

:func:`gather` returns a :class:`ReportContent` (a frozen dataclass with ``to_json()``); the HTML, JSON and PDF
surfaces (``report_html``, ``report_pdf``, ``report_export``) all render that one content. The parts owned by the
policy, quality and audit modules are read through them; where one has nothing to say (no policy file, no quality
results, no audit log in this store) the content says so plainly, and the Annex IV table counts it as missing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nblineage import __version__
from nblineage.governance import audit, quality
from nblineage.governance import policy as policy_module
from nblineage.governance.answers import Answer, Explanation, ModelSummary
from nblineage.governance.neighbourhood import GraphNodeAnswer, Neighbourhood, neighbourhood, node_details
from nblineage.governance.owners import owners
from nblineage.governance.questions import explain, models_derived_from
from nblineage.governance.read import Reader, as_dict, as_list, as_str, load_json
from nblineage.lineage.events import DATASET, canonical_json, utc_now
from nblineage.lineage.graph import DatasetRef, Ref
from nblineage.lineage.limits import DEFAULT_DEPTH
from nblineage.lineage.store import Store

TOOL = "nblineage"
GRAPH_DEPTH = 2  # dataset hops each way drawn in the report's picture
GRAPH_LIMIT = 120  # nodes drawn at most (a picture on one page stays readable)
NO_POLICY = "no policy"
NO_QUALITY = "no quality results"

Step = Callable[[str], None]


def _no_step(_label: str) -> None:
    """Progress that shows nothing."""


# --- the content --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetPolicy(Answer):
    """What the policy says of one dataset: its owner, classification tags, tagged columns, readers, retention."""

    namespace: str
    name: str
    owner: str | None
    tags: tuple[str, ...]
    columns: dict[str, list[str]]
    readers: tuple[str, ...]
    retention_days: int | None


@dataclass(frozen=True)
class Finding(Answer):
    """A policy finding. ``source``: ``audit log`` (a decision the kernel's guard recorded), ``policy`` (a rule of
    the policy in force applied to this lineage when the report was made) or ``lineage`` (what the report sees: a
    classified column behind a feature)."""

    rule: str
    decision: str
    text: str
    time: str | None = None
    source: str = "lineage"


@dataclass(frozen=True)
class PolicySection(Answer):
    """The policy in force when the report was made (``source`` its file); ``note`` says why there is none."""

    source: str | None
    note: str | None
    datasets: tuple[DatasetPolicy, ...] = ()
    findings: tuple[Finding, ...] = ()
    sha256: str | None = None


@dataclass(frozen=True)
class QualityEntry(Answer):
    """The latest quality results of one dataset version (each a ``QualityResult.to_json()``)."""

    namespace: str
    name: str
    version: str | None
    results: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class QualitySection(Answer):
    """Quality results of the subject and its input versions; ``note`` says why there are none."""

    note: str | None
    datasets: tuple[QualityEntry, ...] = ()


@dataclass(frozen=True)
class AuditEntry(Answer):
    """An audit record about the subject and its leaf index; in JSON reports, ``proof``: its inclusion proof in the
    checkpoint's tree, with the record as stored, so a verifier needs nothing but this, the checkpoint and the
    public key."""

    index: int
    record: dict[str, Any]
    proof: dict[str, Any] | None = None


@dataclass(frozen=True)
class AuditSection(Answer):
    """The signed checkpoint the report was made against (``size`` records, ``root`` hash) and the records about
    the subject; ``note`` says why there are none."""

    note: str | None
    checkpoint: str | None = None
    size: int | None = None
    root: str | None = None
    records: tuple[AuditEntry, ...] = ()


@dataclass(frozen=True)
class AnnexItem(Answer):
    """One item of EU AI Act Annex IV point 2: what the report holds for it and what is missing (``status``:
    recorded, partial, missing)."""

    item: str
    asks: str
    status: str
    recorded: str
    missing: str


@dataclass(frozen=True)
class ReportContent(Answer):
    """Everything a report shows, gathered once. ``kind`` is ``model`` or ``dataset``; ``explanation`` (a model's
    five answers) or ``derived_models``, ``versions`` and ``schema`` (a dataset's) are filled accordingly.
    ``events`` (the OpenLineage events behind the report) are gathered for JSON reports only."""

    kind: str
    namespace: str
    name: str
    version: str | None
    tool: str
    tool_version: str
    created: str
    store: str
    owners: tuple[str, ...]
    graph: Neighbourhood
    explanation: Explanation | None
    derived_models: tuple[ModelSummary, ...]
    versions: tuple[dict[str, Any], ...]
    schema: tuple[dict[str, Any], ...] | None
    quality: QualitySection
    policy: PolicySection
    audit: AuditSection
    annex: tuple[AnnexItem, ...] = ()
    events: tuple[dict[str, Any], ...] = field(default=())

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(self.namespace, self.name, self.version or "")


def gather(
    store: Store,
    node: Ref,
    *,
    depth: int = DEFAULT_DEPTH,
    evidence: bool = False,
    policy_file: str | Path | None = None,
    key_path: str | Path | None = None,
    step: Step = _no_step,
) -> ReportContent:
    """The report's content about ``node`` (a dataset or model, at its version or its newest). ``evidence`` adds
    the OpenLineage events behind it and the inclusion proofs of its audit records (JSON reports); ``step`` is told
    each stage as it starts (a progress bar)."""
    _check_subject(node)
    step("lineage graph")
    graph = neighbourhood(store, node, GRAPH_DEPTH, GRAPH_LIMIT)
    about = subject(store, node, depth, center=graph.node(graph.center), step=step)
    ref, explanation = about.ref, about.explanation
    is_model = explanation is not None
    derived = () if is_model else tuple(models_derived_from(store, ref, depth))
    details = node_details(store, ref) if not is_model else {"versions": [], "schema": None}
    quality = about.quality
    step("audit log")
    audit = _audit(store, ref, key_path, evidence)
    step("policy")
    policy = policy_section(store, about, policy_file=policy_file, records=[e.record for e in audit.records])
    events: tuple[dict[str, Any], ...] = ()
    if evidence:
        step("events")
        events = tuple(events_behind(store, graph, explanation))
    owners = _owners(store, ref, policy)
    content = ReportContent(
        kind="model" if is_model else "dataset",
        namespace=ref.namespace,
        name=ref.name,
        version=ref.version or None,
        tool=TOOL,
        tool_version=__version__,
        created=utc_now(),
        store=store.display_url,
        owners=owners,
        graph=graph,
        explanation=explanation,
        derived_models=derived,
        versions=tuple(details["versions"]),
        schema=tuple(details["schema"]) if details["schema"] else None,
        quality=quality,
        policy=policy,
        audit=audit,
        events=events,
    )
    from nblineage.governance.report_annex import annex_iv

    return _replace_annex(content, annex_iv(content))


@dataclass(frozen=True)
class Subject:
    """What a report or a policy answer is about, resolved once: the version (a dataset's newest when none was
    given), a model's five answers (None for a dataset), the versions it derives from (itself first) and their
    quality results."""

    ref: DatasetRef
    explanation: Explanation | None
    inputs: tuple[DatasetRef, ...]
    quality: QualitySection


def subject(
    store: Store, node: Ref, depth: int = DEFAULT_DEPTH, *, center: GraphNodeAnswer | None = None, step: Step = _no_step
) -> Subject:
    """The :class:`Subject` of ``node`` (``center``: the node as a neighbourhood already resolved it)."""
    _check_subject(node)
    if center is None:
        graph = neighbourhood(store, node, 1, 1)
        center = graph.node(graph.center)
    ref = DatasetRef(center.namespace, center.name, center.version or "")
    step("answers")
    explanation = explain(store, ref, depth) if center.kind == "model" else None
    inputs = (ref,) + (
        tuple(DatasetRef(d.namespace, d.name, d.version or "") for d in explanation.inputs.datasets)
        if explanation
        else ()
    )
    step("quality")
    return Subject(ref, explanation, inputs, _quality(store, list(inputs)))


def policy_section(
    store: Store,
    node: Ref | Subject,
    *,
    depth: int = DEFAULT_DEPTH,
    policy_file: str | Path | None = None,
    records: Iterable[dict[str, Any]] | None = None,
) -> PolicySection:
    """The policy findings about a dataset or model (at its version, or its newest): the policy in force (its file,
    ``policy_file`` or the one :func:`policy.current` finds) with what it says of the subject and the versions it
    derives from, its rules applied to this lineage now, classified columns behind features, and the decisions the
    kernel's guard recorded in the audit log about the subject. ``node`` may be a :class:`Subject` resolved
    already and ``records`` the audit records about it read already (a report's); nothing is signed."""
    about = node if isinstance(node, Subject) else subject(store, node, depth)
    policy = _policy(policy_file, list(about.inputs), about.explanation, about.quality)
    if records is None:
        records = [record for _, record in _records_about(store, about.ref)]
    return _with_decisions(policy, records)


def _check_subject(node: Ref | Subject) -> None:
    if not isinstance(node, (DatasetRef, Subject)):
        raise ValueError(f"{node.name!r} is a job; reports and policy findings are about a model or a dataset")


def _owners(store: Store, ref: DatasetRef, policy: PolicySection) -> tuple[str, ...]:
    """Who owns the dataset: the policy's owner of it, then the owners its ``ownership`` facet names."""
    found = [d.owner for d in policy.datasets if d.owner and (d.namespace, d.name) == (ref.namespace, ref.name)]
    with store.read() as conn:
        found += [owner.name for owner in owners(Reader(conn), [(ref.namespace, ref.name)])(ref.namespace, ref.name)]
    return tuple(dict.fromkeys(found))


def _replace_annex(content: ReportContent, annex: tuple[AnnexItem, ...]) -> ReportContent:
    from dataclasses import replace

    return replace(content, annex=annex)


# --- quality ------------------------------------------------------------------------------------------------------


def _quality(store: Store, datasets: list[DatasetRef]) -> QualitySection:
    keys = list(dict.fromkeys((ref.namespace, ref.name, ref.version or None) for ref in datasets))
    with store.read() as conn:
        found = quality.results_for(Reader(conn), keys)  # one read for every version
    entries = []
    for key in keys:
        ref, results = DatasetRef(key[0], key[1], key[2] or ""), found[key]
        if results:
            entries.append(
                QualityEntry(ref.namespace, ref.name, ref.version or None, tuple(r.to_json() for r in results))
            )
    if not entries:
        return QualitySection(f"{NO_QUALITY} for this version or the versions it derives from")
    return QualitySection(None, tuple(entries))


# --- policy -------------------------------------------------------------------------------------------------------


def _policy(
    policy_file: str | Path | None, datasets: list[DatasetRef], answer: Explanation | None, quality: QualitySection
) -> PolicySection:
    loaded = policy_module.load(policy_file) if policy_file is not None else policy_module.current()
    if loaded is None:
        return PolicySection(None, f"{NO_POLICY}: no policy file was found")
    facts = []
    for ref in dict.fromkeys((d.namespace, d.name) for d in datasets):
        rules = loaded.for_dataset(*ref)
        facts.append(
            DatasetPolicy(
                namespace=ref[0],
                name=ref[1],
                owner=rules.owner,
                tags=tuple(sorted(rules.tags)),
                columns={column: sorted(tags) for column, tags in sorted(rules.columns.items())},
                readers=tuple(sorted(rules.readers)),
                retention_days=rules.retention_days,
            )
        )
    findings = tuple(_rule_findings(loaded, datasets, answer, quality) + _feature_findings(facts, answer))
    return PolicySection(str(loaded.path), None, tuple(facts), findings, getattr(loaded, "sha256", None))


def _rule_findings(
    policy: Any, datasets: list[DatasetRef], answer: Explanation | None, quality: QualitySection
) -> list[Finding]:
    """The policy's flow rules applied now to the model and the versions it derives from (as the kernel's guard
    applies them at a save): which would allow, audit, warn or block it."""
    if answer is None or not hasattr(policy, "check_write"):
        return []
    model, *inputs = [(d.namespace, d.name, d.version or None) for d in datasets]
    columns = {column.field for feature in answer.inputs.features for column in feature.columns} or None
    latest = {(q.namespace, q.name, q.version): [r.get("success") for r in q.results] for q in quality.datasets}

    def passed(namespace: str, name: str, version: str | None) -> bool | None:
        found = latest.get((namespace, name, version))
        return None if not found else all(found)

    decisions = policy.check_write(model, inputs, model=True, columns=columns, quality=passed)
    return [Finding(d.rule, d.decision, f"{d.kind}: {d.detail}", None, "policy") for d in decisions]


def _feature_findings(facts: list[DatasetPolicy], answer: Explanation | None) -> list[Finding]:
    """A finding for each feature whose source column the policy tags (``pii`` and the rest)."""
    if answer is None:
        return []
    tagged = {(d.namespace, d.name, column): tags for d in facts for column, tags in d.columns.items() if tags}
    found = []
    for feature in answer.inputs.features:
        for column in feature.columns:
            tags = tagged.get((column.namespace, column.name, column.field))
            if tags:
                found.append(
                    Finding(
                        rule="classified column as a feature",
                        decision="seen",
                        text=f"feature {feature.name} derives from column {column.field} of {column.name} "
                        f"({', '.join(tags)})",
                    )
                )
    return found


def _with_decisions(policy: PolicySection, records: Iterable[dict[str, Any]]) -> PolicySection:
    """The policy decisions the guard recorded in the audit log about the subject (``records``), as findings."""
    from dataclasses import replace

    decisions = [
        Finding(
            rule=str(record.get("rule") or "-"),
            decision=str(record.get("decision") or "-"),
            text=str(record.get("detail") or record.get("action")),
            time=record.get("time"),
            source="audit log",
        )
        for record in records
        if record.get("action") in ("policy.decision", "override")
    ]
    return replace(policy, findings=policy.findings + tuple(decisions)) if decisions else policy


# --- audit --------------------------------------------------------------------------------------------------------


def _audit(store: Store, ref: DatasetRef, key_path: str | Path | None, evidence: bool) -> AuditSection:
    about = _records_about(store, ref)
    try:
        checkpoint = audit.checkpoint(store, key_path=key_path)
    except audit.AuditError as error:  # a damaged log is never signed: said plainly, its records still listed
        note = f"the audit log does not verify, so no checkpoint was signed and nothing is proven: {error}"
        return AuditSection(note, records=tuple(AuditEntry(index, record) for index, record in about))
    size, root = parse_checkpoint(checkpoint)
    about = [(index, record) for index, record in about if size is None or index < size]  # not appended since
    proofs = _proofs(store, [index for index, _ in about], size, root) if evidence else {}
    entries = tuple(AuditEntry(index, record, proofs.get(index)) for index, record in about)
    note = None if entries else f"the audit log holds no records about this version ({size or 0} records in all)"
    return AuditSection(note, checkpoint, size, root, entries)


def _records_about(store: Store, ref: DatasetRef) -> list[tuple[int, dict[str, Any]]]:
    """The audit records about this version (:func:`_about`) with their leaf indexes, oldest first."""
    writers = _writers(store, ref)
    return [(i, r) for i, r in audit.records_about(store, ref.namespace, ref.name, None) if _about(r, ref, writers)]


def _writers(store: Store, ref: DatasetRef) -> set[str]:
    """The runs that wrote this version."""
    with store.read() as conn:
        reader = Reader(conn)
        dataset = reader.dataset(ref.namespace, ref.name)
        row = reader.version(dataset[0], ref.version) if dataset else None
        return {run.run_id.lower() for run in reader.output_runs([row.id])[row.id]} if row is not None else set()


def _about(record: dict[str, Any], ref: DatasetRef, writers: set[str]) -> bool:
    """Whether an audit record is about this version: it names it, or names the dataset without a version (a
    decision taken before the write, when the version was not known yet) in a run that wrote this version."""
    for key in ("datasets", "outputs"):
        for named in as_list(record.get(key)):
            named = as_dict(named)
            if (named.get("namespace"), named.get("name")) != (ref.namespace, ref.name):
                continue
            version = as_str(named.get("version"))
            if version == (ref.version or None) or (version is None and str(record.get("run", "")).lower() in writers):
                return True
    return False


def _proofs(store: Store, indexes: list[int], size: int | None, root: str | None) -> dict[int, dict[str, Any]]:
    """Each record's inclusion proof in the checkpoint's tree, self-contained: the record as stored (``data``, the
    bytes its leaf hashes), ``leafHash``, ``treeSize``, ``rootHash`` and ``inclusionProof`` (base64), as
    ``nblineage audit prove`` gives them; the tree is read once."""
    if not indexes:
        return {}
    from nblineage.lineage import auditlog

    paths = audit.inclusion_proofs(store, indexes, size)
    proofs = {}
    with store.read() as conn:
        for index in indexes:
            row = next(auditlog.rows(conn, index, index + 1))
            proofs[index] = {
                "index": index,
                "data": row.record,
                "leafHash": base64.b64encode(bytes.fromhex(row.leaf_hash)).decode(),
                "treeSize": size,
                "rootHash": root,
                "inclusionProof": [base64.b64encode(node).decode() for node in paths[index]],
            }
    return proofs


def parse_checkpoint(text: str) -> tuple[int | None, str | None]:
    """The size and root hash (base64) of a C2SP checkpoint note: origin, size and root on its first lines."""
    lines = text.splitlines()
    try:
        return int(lines[1]), lines[2]
    except (IndexError, ValueError):
        return None, None


# --- the events behind it -----------------------------------------------------------------------------------------


def _dataset_events(reader: Reader, names: list[str], chunk: int = 50) -> list[tuple[int, str]]:
    """Dataset events whose stored text holds one of ``names`` (as canonical JSON writes it): found by the
    database in one pass per ``chunk`` names; the caller checks which dataset each is about."""
    find = "instr(payload, ?) > 0" if reader.sql.sqlite else "strpos(payload, ?) > 0"
    found: list[tuple[int, str]] = []
    for start in range(0, len(names), chunk):
        needles = [canonical_json(name)[1:-1] for name in names[start : start + chunk]]
        where = " OR ".join([find] * len(needles))
        found += reader.sql.all(f"SELECT id, payload FROM events WHERE kind = ? AND ({where})", (DATASET, *needles))
    return found


def events_behind(store: Store, graph: Neighbourhood, answer: Explanation | None) -> list[dict[str, Any]]:
    """The stored OpenLineage events of the runs that read or wrote the graph's versions (and, for a model, the runs
    its resources counted), with the dataset events about its datasets, oldest first."""
    keys = [(n.namespace, n.name, n.version or "") for n in graph.nodes if n.kind in ("dataset", "model")]
    names = {key[:2] for key in keys}
    with store.read() as conn:
        reader = Reader(conn)
        rows = reader.versions(keys)
        ids = sorted(row.id for row in rows.values())
        run_ids = {
            row[0]
            for row in reader.sql.where_in(
                "SELECT r.run_id FROM run_io io JOIN runs r ON r.id = io.run_pk WHERE io.version_id IN", ids
            )
        }
        if answer is not None:
            run_ids |= set(answer.resources.run_ids)
        found = reader.sql.where_in("SELECT id, payload FROM events WHERE run_id IN", sorted(run_ids))
        for event_id, payload in _dataset_events(reader, sorted({name for _, name in names})):
            dataset = load_json(payload).get("dataset") or {}
            if (dataset.get("namespace"), dataset.get("name")) in names:
                found.append((event_id, payload))
    return [load_json(payload) for _, payload in sorted(set(found))]
