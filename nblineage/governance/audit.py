"""The tamper-evident audit log: append and read records, signed checkpoints, inclusion and consistency proofs,
verification, export (docs/audit.md).

The log is a Merkle tree in the style of Certificate Transparency (RFC 6962/9162 hashing, ``lineage/merkle.py``),
stored by ``lineage/auditlog.py``. A checkpoint is a C2SP tlog-checkpoint: a signed note (``governance/note.py``)
whose text is the log's origin, its size and its root hash (base64). :func:`verify` recomputes every leaf hash and
tree root from the stored records and, given a checkpoint saved earlier, checks its signature and that the log
still extends the tree it signed. :func:`verify_export` does the same with nothing but an export, a checkpoint and a
public key.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from nblineage.governance.answers import Answer
from nblineage.governance.note import NoteError, Verifier, load_signer, load_verifier, open_note
from nblineage.lineage import auditlog
from nblineage.lineage.auditlog import Row
from nblineage.lineage.events import canonical_json, utc_now
from nblineage.lineage.merkle import EMPTY_ROOT, Frontier, Tree, leaf_hash, verify_consistency, verify_inclusion
from nblineage.lineage.redact import may_hold_secrets, redact

ORIGIN_PREFIX = "nblineage/audit/"
KeyPath = str | os.PathLike[str] | None


class AuditError(ValueError):
    """The audit log cannot answer: damaged, or a checkpoint or proof that does not fit; the message says why."""


# --- records -----------------------------------------------------------------------------------------------------


def append(store: Any, records: Iterable[dict[str, Any]]) -> list[int]:
    """Append ``records`` (JSON objects; ``time`` filled in when missing; credentials cut out as from events) in
    one transaction; their 0-based indexes. Safe when several processes append at once."""
    prepared = []
    for record in records:
        if not isinstance(record, dict):
            raise AuditError(f"an audit record is a JSON object, not {type(record).__name__}")
        record = {"time": utc_now(), **record} if "time" not in record else record
        try:
            if may_hold_secrets(canonical_json(record)):  # credentials never reach the log (events: check did it)
                record = redact(record)
                canonical_json(record)
        except (TypeError, ValueError) as error:
            raise AuditError(f"an audit record must be JSON: {error}") from None
        prepared.append(record)
    if not prepared:
        return []
    with store.write() as conn:
        return auditlog.append(conn, auditlog.lock(conn), prepared)


def records(store: Any, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, record) in index order from ``start`` up to ``stop`` (exclusive)."""
    with store.read() as conn:
        for row in auditlog.rows(conn, start, stop):
            yield row.index, json.loads(row.record)


def records_about(store: Any, namespace: str, name: str, version: str | None = None) -> list[tuple[int, dict]]:
    """The records whose ``datasets`` or ``outputs`` name this dataset (and this version, when given)."""
    needle = canonical_json(name)[1:-1]
    with store.read() as conn:
        candidates = auditlog.matching(conn, needle)
    found = []
    for index, text in candidates:
        record = json.loads(text)
        refs = [ref for key in ("datasets", "outputs") for ref in record.get(key) or () if isinstance(ref, dict)]
        if any(_names(ref, namespace, name, version) for ref in refs):
            found.append((index, record))
    return found


def _names(ref: dict[str, Any], namespace: str, name: str, version: str | None) -> bool:
    return (
        ref.get("namespace") == namespace
        and ref.get("name") == name
        and (version is None or ref.get("version") == version)
    )


def export(store: Any, out: IO[str]) -> int:
    """Write the log as JSON lines (``index``, ``data``: the exact text hashed, ``record``, ``leafHash``,
    ``treeRoot``); the number written."""
    count = 0
    with store.read() as conn:
        auditlog.snapshot(conn)
        for row in auditlog.rows(conn):
            out.write(export_line(row) + "\n")
            count += 1
    return count


def export_line(row: Row) -> str:
    entry = {
        "index": row.index,
        "data": row.record,
        "record": json.loads(row.record),
        "leafHash": row.leaf_hash,
        "treeRoot": row.tree_root,
    }
    return json.dumps(entry, ensure_ascii=True, separators=(",", ":"))


def read_export(lines: Iterable[str]) -> Iterator[Row]:
    """The rows of an export (blank lines skipped); AuditError naming the line of one that cannot be read."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            data = entry["data"]
            if "record" in entry and json.loads(data) != entry["record"]:
                data = canonical_json(entry["record"])  # the shown record was edited: hash what is shown
            yield Row(int(entry["index"]), data, str(entry["leafHash"]), str(entry["treeRoot"]))
        except (ValueError, KeyError, TypeError) as error:
            raise AuditError(f"line {number} of the export is not an audit log entry ({error})") from None


# --- checkpoints -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's origin, tree size and root hash; ``note`` is the signed text."""

    origin: str
    size: int
    root: bytes
    note: str

    @property
    def body(self) -> str:
        return checkpoint_body(self.origin, self.size, self.root)


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def origin(store: Any) -> str:
    """The log's origin line: ``nblineage/audit/`` and the log's random id."""
    with store.read() as conn:
        return ORIGIN_PREFIX + auditlog.head(conn)[1]


def checkpoint(store: Any, key_path: KeyPath = None) -> str:
    """A signed checkpoint (C2SP tlog-checkpoint note) of the log as it is now. The log is verified first: a damaged
    log is never signed (AuditError)."""
    scan = _scan_store(store)
    if scan.problems:
        raise AuditError(f"the audit log is damaged, not signing it: {scan.problems[0]}")
    signer = load_signer(key_path)
    return signer.sign(checkpoint_body(scan.origin, len(scan.leaves), scan.root))


def parse_checkpoint(note: str, verifier: Verifier | None = None) -> Checkpoint:
    """The checkpoint in ``note``; its signature is checked when ``verifier`` is given (NoteError otherwise)."""
    text = open_note(note, verifier) if verifier is not None else note.partition("\n\n")[0] + "\n"
    lines = text.split("\n")
    if len(lines) < 4 or not lines[0]:
        raise AuditError("not a checkpoint: it needs an origin, a size and a root hash line")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise AuditError("not a checkpoint: the size or the root hash cannot be read") from None
    if size < 0 or len(root) != 32 or lines[1] != str(size):
        raise AuditError("not a checkpoint: the size or the root hash is malformed")
    return Checkpoint(lines[0], size, root, note)


def public_key(key_path: KeyPath = None) -> str:
    """The signing key's verifier key (vkey) to hand to whoever checks checkpoints; creates the default key."""
    return load_signer(key_path).verifier.vkey


# --- proofs ------------------------------------------------------------------------------------------------------


def _tree(store: Any, size: int | None = None) -> Tree:
    with store.read() as conn:
        auditlog.snapshot(conn)
        claimed, _ = auditlog.head(conn)
        size = claimed if size is None else size
        if not 0 <= size <= claimed:
            raise AuditError(f"the audit log has {claimed} records, not {size}")
        return Tree(auditlog.leaf_hashes(conn, size))


def inclusion_proof(store: Any, index: int, size: int | None = None) -> list[bytes]:
    """The RFC 9162 inclusion proof of record ``index`` in the tree of the first ``size`` records (default: all)."""
    tree = _tree(store, size)
    if not 0 <= index < tree.size:
        raise AuditError(f"there is no record {index} in a log of {tree.size} records")
    return tree.inclusion_proof(index)


def inclusion_proofs(store: Any, indexes: Iterable[int], size: int | None = None) -> dict[int, list[bytes]]:
    """The inclusion proofs of several records at once (the tree is read and hashed once), by index."""
    tree = _tree(store, size)
    wanted = sorted(set(indexes))
    missing = [index for index in wanted if not 0 <= index < tree.size]
    if missing:
        raise AuditError(f"there is no record {missing[0]} in a log of {tree.size} records")
    return {index: tree.inclusion_proof(index) for index in wanted}


def consistency_proof(store: Any, old_size: int, new_size: int | None = None) -> list[bytes]:
    """The RFC 9162 consistency proof that the tree of ``new_size`` records (default: all) extends the one of
    ``old_size``."""
    tree = _tree(store, new_size)
    if not 0 <= old_size <= tree.size:
        raise AuditError(f"a log of {old_size} records cannot grow into one of {tree.size}")
    return tree.consistency_proof(old_size)


def prove(store: Any, index: int, checkpoint_text: str | None = None, key_path: KeyPath = None) -> dict[str, Any]:
    """Record ``index`` with its inclusion proof against ``checkpoint_text`` (default: a new checkpoint, signed
    now): everything a verifier needs besides the public key (docs/audit.md)."""
    note = checkpoint_text if checkpoint_text is not None else checkpoint(store, key_path)
    point = parse_checkpoint(note)
    tree = _tree(store, point.size)
    if tree.root() != point.root:
        raise AuditError(f"the audit log's first {point.size} records do not hash to the checkpoint's root")
    if not 0 <= index < point.size:
        raise AuditError(f"there is no record {index} in the checkpoint's {point.size} records")
    with store.read() as conn:
        row = next(auditlog.rows(conn, index, index + 1))
    proof = tree.inclusion_proof(index)
    return {
        "index": index,
        "data": row.record,
        "leafHash": _b64(tree.leaves[index]),
        "treeSize": point.size,
        "rootHash": _b64(point.root),
        "inclusionProof": [_b64(node) for node in proof],
        "checkpoint": note,
    }


def prove_consistency(
    store: Any, old_checkpoint: str, checkpoint_text: str | None = None, key_path: KeyPath = None
) -> dict[str, Any]:
    """The RFC 9162 consistency proof from the tree of ``old_checkpoint`` to the one of ``checkpoint_text``
    (default: a new checkpoint, signed now), with both checkpoints (docs/audit.md)."""
    old = parse_checkpoint(old_checkpoint)
    note = checkpoint_text if checkpoint_text is not None else checkpoint(store, key_path)
    new = parse_checkpoint(note)
    if old.size > new.size:
        raise AuditError(f"the older checkpoint has {old.size} records, more than the newer one's {new.size}")
    tree = _tree(store, new.size)
    if tree.root() != new.root:
        raise AuditError(f"the audit log's first {new.size} records do not hash to the newer checkpoint's root")
    if tree.root(old.size) != old.root:
        raise AuditError(f"the audit log's first {old.size} records do not hash to the older checkpoint's root")
    return {
        "oldSize": old.size,
        "oldRootHash": _b64(old.root),
        "treeSize": new.size,
        "rootHash": _b64(new.root),
        "consistencyProof": [_b64(node) for node in tree.consistency_proof(old.size)],
        "oldCheckpoint": old_checkpoint,
        "checkpoint": note,
    }


@dataclass(frozen=True)
class Proof(Answer):
    """A proof of :func:`prove` or :func:`prove_consistency` as an answer: its JSON is the proof."""

    value: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.value


def check_proof(proof: dict[str, Any], verifier: Verifier) -> bool:
    """Whether a proof from :func:`prove` holds: signed checkpoint, leaf hash of ``data``, inclusion path."""
    point = parse_checkpoint(proof["checkpoint"], verifier)
    leaf = leaf_hash(proof["data"].encode())
    path = [base64.b64decode(node) for node in proof["inclusionProof"]]
    return point.size == proof["treeSize"] and verify_inclusion(leaf, proof["index"], point.size, path, point.root)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# --- verification ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult(Answer):
    """What :func:`verify` found: ``ok``, the records read, the root they hash to, the first bad record (None when
    none can be named) and every problem, first first; the checkpoint checked against, if any."""

    ok: bool
    size: int
    root: str
    first_bad: int | None = None
    problems: tuple[str, ...] = ()
    checkpoint_size: int | None = None
    signed_by: str | None = None

    def lines(self) -> tuple[str, ...]:
        if self.ok:
            against = (
                f"; consistent with the checkpoint of {self.checkpoint_size} records signed by {self.signed_by}"
                if self.checkpoint_size is not None
                else ""
            )
            return (f"audit log verified: {self.size} records, root {self.root}{against}",)
        where = f"first bad record: {self.first_bad}" if self.first_bad is not None else "first bad record: unknown"
        return (f"audit log FAILED verification ({where})", *(f"- {problem}" for problem in self.problems))


@dataclass
class _Scan:
    origin: str
    leaves: list[bytes]
    first_bad: int | None = None
    problems: list[str] | None = None
    root: bytes = EMPTY_ROOT

    def fail(self, index: int | None, problem: str) -> None:
        if self.first_bad is None and index is not None:
            self.first_bad = index
        self.problems.append(problem)


def _scan(rows: Iterable[Row], origin: str, claimed: tuple[int, list[str]] | None = None) -> _Scan:
    """Recompute leaf hashes and tree roots from the records, in stored order; note the first problem of each kind
    (gaps, edits, misplaced records, a head that disagrees)."""
    scan = _Scan(origin, [], problems=[])
    frontier = Frontier()
    expected = 0
    misplaced = changed = False
    for row in rows:
        if row.index != expected and not misplaced:
            what = "missing (deleted)" if row.index > expected else "duplicated"
            scan.fail(expected, f"record {expected} is {what}: the next stored index is {row.index}")
            misplaced = True
        leaf = leaf_hash(row.record.encode())
        frontier.append(leaf)
        scan.leaves.append(leaf)
        if leaf.hex() != row.leaf_hash and not changed:
            scan.fail(row.index, f"record {row.index} was changed: its content does not match its leaf hash")
            changed = True
        elif frontier.root().hex() != row.tree_root and not (misplaced or changed):
            scan.fail(
                expected,
                f"record {expected} is not the record appended there: the tree root after it differs (records at or "
                "before it were edited, inserted, deleted or reordered)",
            )
            misplaced = True
        expected += 1
    scan.root = frontier.root()
    if claimed is not None:
        size, frontier_hex = claimed
        if size != expected:
            scan.fail(
                min(size, expected),
                f"the log holds {expected} records but its head says {size}: records were "
                + ("deleted from its end" if expected < size else "added around the append path"),
            )
        elif frontier_hex != [part.hex() for part in frontier.hashes] and not scan.problems:
            scan.fail(None, "the log's head does not match its records")
    return scan


def _scan_store(store: Any) -> _Scan:
    with store.read() as conn:
        auditlog.snapshot(conn)  # the head and every row as one appender left them
        size, log_id = auditlog.head(conn)
        return _scan(auditlog.rows(conn), ORIGIN_PREFIX + log_id, (size, auditlog.claimed_frontier(conn)))


def verify(
    store: Any,
    checkpoint_text: str | None = None,
    public_key: str | None = None,
    key_path: KeyPath = None,
    *,
    checkpoint: str | None = None,
) -> VerifyResult:
    """Check the whole log: every record against its leaf hash and the tree root after it, indexes without gaps,
    the head; with ``checkpoint_text`` (or ``checkpoint=``), its signature (``public_key``: a vkey or a file
    holding one; default the signing key's own) and that the log still extends the tree it signed (an RFC 9162
    consistency proof)."""
    note = checkpoint_text if checkpoint_text is not None else checkpoint
    return _verify(_scan_store(store), note, public_key, key_path)


def verify_export(
    lines: Iterable[str], checkpoint_text: str, public_key: str | None = None, key_path: KeyPath = None
) -> VerifyResult:
    """Verify an export (JSON lines of :func:`export`) against a signed checkpoint, without the store."""
    note = checkpoint_text
    origin_line = parse_checkpoint(note).origin
    return _verify(_scan(read_export(lines), origin_line), note, public_key, key_path)


def _verify(scan: _Scan, note: str | None, public_key: str | None, key_path: KeyPath) -> VerifyResult:
    size_at = signed_by = None
    if note is not None:
        tree = Tree(scan.leaves)
        size_at, signed_by = _against(scan, tree, note, public_key, key_path)
    return VerifyResult(
        ok=not scan.problems,
        size=len(scan.leaves),
        root=_b64(scan.root),
        first_bad=scan.first_bad,
        problems=tuple(scan.problems),
        checkpoint_size=size_at,
        signed_by=signed_by,
    )


def _against(scan: _Scan, tree: Tree, note: str, public_key: str | None, key_path: KeyPath):
    """Check the checkpoint's signature and the log's consistency with it; (its size, signer) or Nones."""
    try:
        verifier = load_verifier(public_key, key_path)
        if verifier is None:
            scan.fail(None, "no public key to check the checkpoint's signature with (give --public-key)")
            return None, None
        point = parse_checkpoint(note, verifier)
    except (NoteError, AuditError, OSError) as error:
        scan.fail(None, f"the checkpoint cannot be trusted: {error}")
        return None, None
    if point.origin != scan.origin:
        scan.fail(None, f"the checkpoint is of another log ({point.origin}, this one is {scan.origin})")
        return point.size, verifier.name
    if point.size > tree.size:
        scan.fail(
            tree.size,
            f"the log holds {tree.size} records, fewer than the {point.size} the checkpoint signed: records were "
            "deleted",
        )
        return point.size, verifier.name
    proof = tree.consistency_proof(point.size)
    if not verify_consistency(point.size, tree.size, point.root, tree.root(), proof):
        why = (
            ""
            if scan.problems
            else ": the log was rewritten (compare with an export taken at the checkpoint to find the record)"
        )
        scan.fail(None, f"the log's first {point.size} records do not hash to the root the checkpoint signed{why}")
    return point.size, verifier.name
