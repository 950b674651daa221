"""Merge the facts of new events into the graph tables, with rules that ignore arrival order.

Keys are inserted once; flags only turn on; times keep their minimum or maximum; "latest" values (run state,
facets) keep the value of the greatest event key (time, state rank, hash). A run's edges are recomputed from its
inputs, outputs and declared lineage whenever an event of that run arrives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Table, and_, bindparam, select, tuple_, update

from nblineage.lineage import schema as s
from nblineage.lineage.derive import Facts, RunFacts, facts_of
from nblineage.lineage.events import Event

CHUNK = 400


class IdCache:
    """Ids of datasets, versions and jobs by natural key, kept across transactions of one process.

    Ids learnt in a transaction count only once it commits; the whole cache is dropped when the graph's
    generation changes (a rebuild, by this or another process, gives new ids).
    """

    def __init__(self) -> None:
        self.generation: int | None = None
        self.known: dict[str, dict[tuple, int]] = defaultdict(dict)
        self.pending: dict[str, dict[tuple, int]] = defaultdict(dict)

    def begin(self, conn: Connection) -> None:
        """Call at the start of a write transaction."""
        generation = conn.execute(select(s.counters.c.value).where(s.counters.c.name == "graph_generation")).scalar()
        if generation != self.generation:
            self.known.clear()
            self.generation = generation
        self.pending.clear()

    def commit(self) -> None:
        for table, ids in self.pending.items():
            self.known[table].update(ids)
        self.pending.clear()

    def rollback(self) -> None:
        self.pending.clear()

    def get(self, table: str, key: tuple) -> int | None:
        found = self.known[table].get(key)
        return found if found is not None else self.pending[table].get(key)


def apply_facts(conn: Connection, events: Iterable[Event], cache: IdCache | None = None) -> None:
    """Derive the graph rows of ``events`` (already stored) inside the caller's transaction."""
    cache = cache or IdCache()
    all_facts = [facts_of(event) for event in events]
    if not all_facts:
        return
    first_seen = {}
    for facts in all_facts:
        time = facts.event_key[:26]
        for key in facts.versions:
            first_seen[key] = min(first_seen.get(key, time), time)

    datasets: dict[tuple[str, str], bool] = {}
    for facts in all_facts:
        for key, model in facts.datasets.items():
            datasets[key] = datasets.get(key, False) or model
    dataset_ids = _ensure(conn, cache, s.datasets, ("namespace", "name"), {k: {"is_model": False} for k in datasets})
    models = [dataset_ids[key] for key, model in datasets.items() if model]
    for chunk in _chunked(models):
        conn.execute(update(s.datasets).where(s.datasets.c.id.in_(chunk)).values(is_model=True))

    version_rows = {(dataset_ids[key[:2]], key[2]): {"first_seen": _time(time)} for key, time in first_seen.items()}
    by_pair = _ensure(conn, cache, s.dataset_versions, ("dataset_id", "version"), version_rows)
    version_ids = {key: by_pair[(dataset_ids[key[:2]], key[2])] for key in first_seen}
    if first_seen:
        conn.execute(
            update(s.dataset_versions)
            .where(and_(s.dataset_versions.c.id == _bind("vid"), s.dataset_versions.c.first_seen > _bind("t")))
            .values(first_seen=_bind("t")),
            [{"vid": version_ids[key], "t": _time(time)} for key, time in first_seen.items()],
        )

    job_keys = {key for facts in all_facts for key in facts.jobs}
    job_ids = _ensure(conn, cache, s.jobs, ("namespace", "name"), {key: {} for key in job_keys})
    run_pks = _merge_runs(conn, [f.run for f in all_facts if f.run], job_ids)

    io_rows = {
        (run_pks[f.run.run_id], version_ids[version], direction)
        for f in all_facts
        if f.run
        for direction, version in f.io
    }
    _insert_ignore(conn, s.run_io, [dict(zip(("run_pk", "version_id", "direction"), r, strict=True)) for r in io_rows])
    declared = {
        (run_pks[f.run.run_id], version_ids[out], dataset_ids[source])
        for f in all_facts
        if f.run
        for out, source in f.declared
    }
    _insert_ignore(
        conn,
        s.declared_inputs,
        [dict(zip(("run_pk", "output_version_id", "input_dataset_id"), r, strict=True)) for r in declared],
    )
    static = {
        (version_ids[src], version_ids[dst], job_ids[job] if job else 0)
        for f in all_facts
        for src, dst, job in f.static_edges
    }
    _insert_ignore(
        conn,
        s.edges,
        [{"src": a, "dst": b, "run_pk": 0, "job_pk": j, "derivation": "declared"} for a, b, j in static],
    )
    _recompute_run_edges(conn, set(run_pks.values()))
    _link_unversioned(conn, {dataset_ids[key[:2]] for key in first_seen})
    _merge_facets(conn, all_facts, dataset_ids, job_ids, run_pks)


def _ensure(conn: Connection, cache: IdCache, table: Table, columns: tuple[str, ...], rows: dict[tuple, dict]) -> dict:
    """Ids of the rows with these natural keys, inserting the missing ones."""
    key_cols = [table.c[name] for name in columns]
    ids: dict[tuple, int] = {}
    unknown = []
    for key in rows:
        found = cache.get(table.name, key)
        if found is None:
            unknown.append(key)
        else:
            ids[key] = found

    def look_up(keys: list[tuple]) -> None:
        for chunk in _chunked(keys):
            query = select(table.c.id, *key_cols).where(tuple_(*key_cols).in_(chunk))
            for row in conn.execute(query):
                ids[tuple(row[1:])] = cache.pending[table.name][tuple(row[1:])] = row[0]

    look_up(unknown)
    missing = [key for key in unknown if key not in ids]
    if missing:
        conn.execute(
            upsert(conn, table).on_conflict_do_nothing(index_elements=list(columns)),
            [dict(zip(columns, key, strict=True)) | rows[key] for key in missing],
        )
        look_up(missing)
    return ids


def _merge_runs(conn: Connection, facts: list[RunFacts], job_ids: dict) -> dict[str, int]:
    """Insert or update runs: job and parent of the earliest event, state of the latest, start and end times."""
    merged: dict[str, dict[str, Any]] = {}
    for run in sorted(facts, key=lambda r: r.state_key):
        row = merged.setdefault(
            run.run_id,
            {
                "run_id": run.run_id,
                "job_id": job_ids[run.job],
                "parent_run_id": None,
                "state": None,
                "state_key": None,
                "started_at": run.time_key,
                "ended_at": None,
            },
        )
        row["parent_run_id"] = row["parent_run_id"] or run.parent_run_id
        row["state"], row["state_key"] = run.state, run.state_key
        if run.ended:
            row["ended_at"] = max(row["ended_at"] or run.time_key, run.time_key)
    existing = {}
    for chunk in _chunked(list(merged)):
        for row in conn.execute(select(s.runs).where(s.runs.c.run_id.in_(chunk))).mappings():
            existing[row["run_id"]] = row
    inserts, updates = [], []
    for run_id, row in merged.items():
        old = existing.get(run_id)
        if old is None:
            inserts.append(row | {"started_at": _time(row["started_at"]), "ended_at": _time(row["ended_at"])})
            continue
        new = {
            "pk": old["id"],
            "parent_run_id": old["parent_run_id"] or row["parent_run_id"],
            "started_at": min(_time(row["started_at"]), old["started_at"] or _time(row["started_at"])),
            "ended_at": max(filter(None, (_time(row["ended_at"]), old["ended_at"])), default=None),
            "state": old["state"],
            "state_key": old["state_key"],
        }
        if (old["state_key"] or "") < row["state_key"]:
            new["state"], new["state_key"] = row["state"], row["state_key"]
        updates.append(new)
    if inserts:
        conn.execute(upsert(conn, s.runs).on_conflict_do_nothing(index_elements=["run_id"]), inserts)
    if updates:
        conn.execute(
            update(s.runs)
            .where(s.runs.c.id == _bind("pk"))
            .values({name: _bind(name) for name in ("parent_run_id", "started_at", "ended_at", "state", "state_key")}),
            updates,
        )
    pks: dict[str, int] = {}
    for chunk in _chunked(list(merged)):
        pks.update(conn.execute(select(s.runs.c.run_id, s.runs.c.id).where(s.runs.c.run_id.in_(chunk))).all())
    return pks


def _recompute_run_edges(conn: Connection, run_pks: set[int]) -> None:
    """A run's edges: declared sources for outputs that have them, every input otherwise."""
    if not run_pks:
        return
    inputs: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    outputs: dict[int, set[int]] = defaultdict(set)
    declared: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    jobs: dict[int, int] = {}
    unversioned: dict[int, int] = {}
    chunks = _chunked(sorted(run_pks))
    for chunk in chunks:
        jobs.update(conn.execute(select(s.runs.c.id, s.runs.c.job_id).where(s.runs.c.id.in_(chunk))).all())
        rows = conn.execute(
            select(
                s.run_io.c.run_pk,
                s.run_io.c.version_id,
                s.run_io.c.direction,
                s.dataset_versions.c.dataset_id,
            )
            .join(s.dataset_versions, s.dataset_versions.c.id == s.run_io.c.version_id)
            .where(s.run_io.c.run_pk.in_(chunk))
        )
        for run_pk, version_id, direction, dataset_id in rows:
            if direction == "input":
                inputs[run_pk][dataset_id].append(version_id)
            else:
                outputs[run_pk].add(version_id)
        for run_pk, out, source in conn.execute(select(s.declared_inputs).where(s.declared_inputs.c.run_pk.in_(chunk))):
            declared[run_pk][out].add(source)
    sources = sorted({d for per_run in declared.values() for ds in per_run.values() for d in ds})
    for chunk in _chunked(sources):
        unversioned.update(
            conn.execute(
                select(s.dataset_versions.c.dataset_id, s.dataset_versions.c.id).where(
                    s.dataset_versions.c.dataset_id.in_(chunk), s.dataset_versions.c.version == s.UNVERSIONED
                )
            ).all()
        )
    rows = []
    for run_pk in run_pks:
        run_inputs = inputs.get(run_pk, {})
        every_input = [v for versions in run_inputs.values() for v in versions]
        run_declared = declared.get(run_pk, {})
        for out in outputs.get(run_pk, set()) | set(run_declared):
            if out in run_declared:
                srcs = [v for d in run_declared[out] for v in (run_inputs.get(d) or [unversioned[d]])]
                derivation = "explicit"
            else:
                srcs, derivation = every_input, "inferred"
            rows.extend(
                {"src": src, "dst": out, "run_pk": run_pk, "job_pk": jobs[run_pk], "derivation": derivation}
                for src in set(srcs)
                if src != out
            )
    for chunk in chunks:
        conn.execute(s.edges.delete().where(s.edges.c.run_pk.in_(chunk)))
    if rows:
        conn.execute(s.edges.insert(), rows)


def _link_unversioned(conn: Connection, dataset_ids: set[int]) -> None:
    """Edges from a dataset's unversioned node to each of its versions, so version-less lineage joins in."""
    unversioned = s.dataset_versions.alias("u")
    versioned = s.dataset_versions.alias("v")
    for chunk in _chunked(sorted(dataset_ids)):
        pairs = conn.execute(
            select(unversioned.c.id, versioned.c.id)
            .join(versioned, versioned.c.dataset_id == unversioned.c.dataset_id)
            .where(
                unversioned.c.dataset_id.in_(chunk),
                unversioned.c.version == s.UNVERSIONED,
                versioned.c.version != s.UNVERSIONED,
            )
        ).all()
        _insert_ignore(
            conn,
            s.edges,
            [{"src": u, "dst": v, "run_pk": 0, "job_pk": 0, "derivation": "version"} for u, v in pairs],
        )


def _merge_facets(conn: Connection, all_facts: list[Facts], dataset_ids, job_ids, run_pks) -> None:
    """Keep, per entity and facet name, the facet of the latest event."""
    ids = {"dataset": dataset_ids, "job": job_ids, "run": {(k,): v for k, v in run_pks.items()}}
    latest: dict[tuple[str, int, str], tuple[str, Any]] = {}
    for facts in all_facts:
        for entity, key, name, facet in facts.facets:
            slot = (entity, ids[entity][key], name)
            if slot not in latest or latest[slot][0] < facts.event_key:
                latest[slot] = (facts.event_key, facet)
    if not latest:
        return
    statement = upsert(conn, s.facets)
    statement = statement.on_conflict_do_update(
        index_elements=["entity", "entity_id", "name"],
        set_={"event_key": statement.excluded.event_key, "payload": statement.excluded.payload},
        where=s.facets.c.event_key < statement.excluded.event_key,
    )
    conn.execute(
        statement,
        [
            {
                "entity": e,
                "entity_id": i,
                "name": n,
                "event_key": k,
                "payload": orjson.dumps(f, option=orjson.OPT_SORT_KEYS).decode(),
            }
            for (e, i, n), (k, f) in latest.items()
        ],
    )


def upsert(conn: Connection, table: Table):
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _insert_ignore(conn: Connection, table: Table, rows: list[dict]) -> None:
    if rows:
        conn.execute(upsert(conn, table).on_conflict_do_nothing(), rows)


def _chunked(items: list) -> list[list]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def _bind(name: str):
    return bindparam(name)


def _time(key: str | None) -> datetime | None:
    return datetime.fromisoformat(key) if key else None
