"""The audit log's tables: records appended inside the store's write transaction, read back in index order.

Each record is stored as its canonical JSON with its RFC 6962 leaf hash and the Merkle tree root after it
(``lineage/merkle.py``); the ``audit_head`` row holds the size, the tree's right edge (frontier) and the log's id.
Appenders lock that row first (SQLite: the write transaction's lock from BEGIN IMMEDIATE; PostgreSQL: ``SELECT ...
FOR UPDATE``), so concurrent appenders take turns: no index is used twice and the log never forks.

``Store.append`` calls :func:`pending` on each batch: the records that the events' run facet ``nblineage_audit``
carries, and a ``model.saved`` record per MODEL output of a COMPLETE event; it locks the head before it looks for
events already stored, so an event two processes store at once appends its records once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nblineage.lineage import facets
from nblineage.lineage.derive import dataset_version, is_model
from nblineage.lineage.events import RUN, Event, canonical_json
from nblineage.lineage.merge import Sql
from nblineage.lineage.merkle import Frontier, leaf_hash
from nblineage.value import Value

if TYPE_CHECKING:
    from sqlalchemy import Connection

MODEL_SAVED = "model.saved"
UNKNOWN_ACTOR = "unknown"
BATCH = 2000


class Head:
    """The log's head, read under lock: its size, the frontier of its tree and its id."""

    def __init__(self, size: int, frontier: Frontier, log_id: str) -> None:
        self.size, self.frontier, self.log_id = size, frontier, log_id


class Row(Value):
    """One stored record: index, canonical JSON, leaf hash and tree root after it (hex), as stored."""

    FIELDS = ("index", "record", "leaf_hash", "tree_root")
    __slots__ = FIELDS

    def __init__(self, index: int, record: str, leaf_hash: str, tree_root: str) -> None:
        self.index, self.record, self.leaf_hash, self.tree_root = index, record, leaf_hash, tree_root


def iso_time(moment: datetime) -> str:
    """A naive UTC datetime as audit records write it."""
    return moment.isoformat(timespec="milliseconds") + "Z"


def lock(conn: Connection) -> Head:
    """Read the head inside a write transaction, locking it against other appenders until commit."""
    sql = Sql(conn)
    tail = "" if sql.sqlite else " FOR UPDATE"
    size, frontier, log_id = sql.all(f"SELECT size, frontier, log_id FROM audit_head WHERE id = 1{tail}")[0]
    hashes = [bytes.fromhex(part) for part in frontier.split(",")] if frontier else []
    return Head(size=size, frontier=Frontier(size, hashes), log_id=log_id)


def append(conn: Connection, head: Head, records: Sequence[dict[str, Any]]) -> list[int]:
    """Append ``records`` after ``head`` (locked by :func:`lock` in this transaction); their indexes."""
    if not records:
        return []
    rows = []
    start = head.size
    for record in records:
        text = canonical_json(record)
        leaf = leaf_hash(text.encode())
        head.frontier.append(leaf)
        rows.append((head.size, text, leaf.hex(), head.frontier.root().hex()))
        head.size += 1
    sql = Sql(conn)
    sql.many("INSERT INTO audit_log (idx, record, leaf_hash, tree_root) VALUES (?, ?, ?, ?)", rows)
    frontier = ",".join(part.hex() for part in head.frontier.hashes)
    sql.many("UPDATE audit_head SET size = ?, frontier = ? WHERE id = 1", [(head.size, frontier)])
    return list(range(start, head.size))


def snapshot(conn: Connection) -> None:
    """Make the rest of this read transaction see one state of the log (PostgreSQL: REPEATABLE READ; it must be
    the transaction's first statement; SQLite's read transactions already do)."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def head(conn: Connection) -> tuple[int, str]:
    """The size the head claims and the log's id, without locking."""
    size, log_id = Sql(conn).all("SELECT size, log_id FROM audit_head WHERE id = 1")[0]
    return size, log_id


def claimed_frontier(conn: Connection) -> list[str]:
    """The frontier the head holds (hex hashes), without locking."""
    frontier = Sql(conn).all("SELECT frontier FROM audit_head WHERE id = 1")[0][0]
    return frontier.split(",") if frontier else []


def rows(conn: Connection, start: int = 0, stop: int | None = None, batch: int = BATCH) -> Iterator[Row]:
    """Stored rows from index ``start`` (inclusive) to ``stop`` (exclusive), in index order, as stored."""
    sql = Sql(conn)
    last = start - 1
    while True:
        bound = "" if stop is None else f" AND idx < {int(stop)}"
        found = sql.all(
            f"SELECT idx, record, leaf_hash, tree_root FROM audit_log WHERE idx > ?{bound} ORDER BY idx LIMIT {batch}",
            (last,),
        )
        for row in found:
            yield Row(*row)
        if len(found) < batch:
            return
        last = found[-1][0]


def leaf_hashes(conn: Connection, size: int) -> list[bytes]:
    """The stored leaf hashes of the first ``size`` records; ValueError when some are missing."""
    found = Sql(conn).all("SELECT idx, leaf_hash FROM audit_log WHERE idx < ? ORDER BY idx", (size,))
    if len(found) != size or (found and found[-1][0] != size - 1):
        raise ValueError(f"the audit log is damaged (records are missing below {size}): run `nblineage audit verify`")
    return [bytes.fromhex(leaf) for _, leaf in found]


def matching(conn: Connection, needle: str) -> list[tuple[int, str]]:
    """(index, record) of the records whose JSON text contains ``needle`` (a prefilter; case may be ignored)."""
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return Sql(conn).all("SELECT idx, record FROM audit_log WHERE record LIKE ? ESCAPE '\\' ORDER BY idx", (pattern,))


# --- records carried by events -----------------------------------------------------------------------------------


def pending(events: Sequence[Event]) -> dict[str, list[dict[str, Any]]]:
    """The audit records each event appends when it is stored for the first time, by event hash (most events:
    none, found with a few dictionary lookups)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.kind != RUN:
            continue
        payload = event.payload
        run_facets = payload["run"].get("facets")
        facet = run_facets.get(facets.AUDIT) if run_facets else None
        complete = payload.get("eventType") == "COMPLETE" and payload.get("outputs")
        if not facet and not complete:
            continue
        records = _facet_records(facet) if facet else []
        if complete:
            records += _model_records(event, records)
        if records:
            found[event.hash] = records
    return found


def _facet_records(facet: Any) -> list[dict[str, Any]]:
    """The records of an ``nblineage_audit`` facet: its ``records`` that are JSON objects."""
    records = facet.get("records") if isinstance(facet, dict) else None
    if not isinstance(records, list):
        return []
    return [record for record in records if isinstance(record, dict)]


def _model_records(event: Event, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``model.saved`` record per MODEL output, unless the event's own records already say it was saved."""
    models = [output for output in event.payload["outputs"] if isinstance(output, dict) and is_model(output)]
    if not models:
        return []
    said = {
        (ref.get("namespace"), ref.get("name"), ref.get("version"))
        for record in records
        if record.get("action") == MODEL_SAVED
        for ref in record.get("outputs") or ()
        if isinstance(ref, dict)
    }
    payload = event.payload
    run_facets = payload["run"].get("facets") or {}
    cell = run_facets.get(facets.CELL) if isinstance(run_facets.get(facets.CELL), dict) else {}
    common = {
        "time": iso_time(event.time),
        "actor": _actor(payload, records, cell),
        "action": MODEL_SAVED,
        "datasets": [_ref(entry) for entry in payload.get("inputs") or () if isinstance(entry, dict)],
        "notebook": _notebook(payload),
        "cell": cell.get("cellId") if isinstance(cell.get("cellId"), str) else None,
        "run": payload["run"]["runId"].lower(),
    }
    made = []
    for output in models:
        ref = _ref(output)
        if (ref["namespace"], ref["name"], ref["version"]) not in said:
            made.append({**common, "outputs": [ref]})
    return made


def _ref(entry: dict[str, Any]) -> dict[str, Any]:
    return {"namespace": entry["namespace"], "name": entry["name"], "version": dataset_version(entry) or None}


def _actor(payload: dict[str, Any], records: list[dict[str, Any]], cell: dict[str, Any]) -> str:
    """Who: the actor of the event's own audit records, the cell facet's ``user``, the job's first owner, or
    ``unknown``."""
    for record in records:
        if isinstance(record.get("actor"), str) and record["actor"]:
            return record["actor"]
    if isinstance(cell.get("user"), str) and cell["user"]:
        return cell["user"]
    ownership = ((payload.get("job") or {}).get("facets") or {}).get("ownership")
    owners = ownership.get("owners") if isinstance(ownership, dict) else None
    if isinstance(owners, list) and owners and isinstance(owners[0], dict) and isinstance(owners[0].get("name"), str):
        return owners[0]["name"]
    return UNKNOWN_ACTOR


def _notebook(payload: dict[str, Any]) -> str | None:
    """The notebook of a cell run: its parent job, else its job's name before ``#``."""
    parent = (payload["run"].get("facets") or {}).get("parent")
    job = parent.get("job") if isinstance(parent, dict) else None
    if isinstance(job, dict) and isinstance(job.get("name"), str):
        return job["name"]
    name = (payload.get("job") or {}).get("name")
    return name.split("#", 1)[0] if isinstance(name, str) else None
