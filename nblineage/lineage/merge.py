"""Merge the facts of new events into the graph tables, with rules that ignore arrival order.

Keys are inserted once; flags only turn on; times keep their minimum or maximum; "latest" values (a run's job,
parent and state, facets) keep the value of the greatest event key (time, state rank, hash). A run's edges are
recomputed from its inputs, outputs and declared lineage whenever an event of that run arrives. The cell runs an
output went through are kept as run ids (``output_steps``), never resolved here: a run's job may arrive after its
steps.

This is the ingest hot path, so it speaks plain SQL through the driver in batches (the same statements on SQLite
and PostgreSQL) instead of compiling SQLAlchemy expressions row by row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from nblineage.lineage.derive import Facts, RunFacts, weaker
from nblineage.lineage.events import Event, canonical_json
from nblineage.lineage.tables import UNVERSIONED

if TYPE_CHECKING:
    from sqlalchemy import Connection

CHUNK = 500
MAX_CACHED_IDS = 250_000  # ids and times an IdCache holds before it starts afresh (some 40 MB)


class Sql:
    """Batched plain SQL on one connection; statements use ``?`` placeholders whatever the driver."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"

    def _text(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("%", "%%").replace("?", "%s")

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.exec_driver_sql(self._text(sql), list(rows))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        result = self.conn.exec_driver_sql(self._text(sql), tuple(params))
        return list(result) if result.returns_rows else []

    def where_in(self, sql: str, values: Sequence[Any], width: int = 1, tail: str = "") -> list[Any]:
        """Run ``sql`` (ending in ``IN``, then ``tail``) once per chunk of ``values``; ``width`` > 1 takes tuples
        (row values)."""
        found: list[Any] = []
        one = "?" if width == 1 else "(" + ",".join("?" * width) + ")"
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            marks = ",".join([one] * len(chunk))
            inside = f"(VALUES {marks})" if width > 1 else f"({marks})"
            params = [part for value in chunk for part in value] if width > 1 else chunk
            found.extend(self.all(f"{sql} {inside} {tail}", params))
        return found

    def joined(self, head: str, join: str, keys: Sequence[tuple[Any, Any]]) -> list[Any]:
        """``head (VALUES ...) AS k join``, once per chunk of ``keys`` (pairs, named ``k.column1`` and ``k.column2``
        on both backends): each key is looked up in the joined table's index, where SQLite scans the whole table
        for ``(a, b) IN (VALUES ...)``."""
        found: list[Any] = []
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            marks = ",".join(["(?,?)"] * len(chunk))
            found.extend(self.all(f"{head} (VALUES {marks}) AS k {join}", [part for key in chunk for part in key]))
        return found

    def time(self, value: str | datetime | None) -> Any:
        """A time (ISO text or naive UTC datetime) as DateTime columns hold it (SQLite: SQLAlchemy's text form)."""
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.isoformat(" ", "microseconds") if self.sqlite else moment


class _Writer(Sql):
    """Sql for the append path: rows come back as plain tuples, fetched by the driver's cursor in one call (no
    per-row result objects); statements still go through SQLAlchemy, so its errors are raised as before."""

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        result = self.conn.exec_driver_sql(self._text(sql), tuple(params))
        if not result.returns_rows:
            return []
        rows = result.cursor.fetchall()
        result.close()
        return rows

    def key_time(self, key_time: str) -> Any:
        """An event key's time part (``YYYY-MM-DDTHH:MM:SS.ffffff``, always microseconds) as ``time`` gives it."""
        return f"{key_time[:10]} {key_time[11:26]}" if self.sqlite else datetime.fromisoformat(key_time)


class IdCache:
    """Ids of datasets, versions and jobs by natural key, and the earliest ``first_seen`` known of versions, kept
    across transactions of one process.

    What a transaction learns counts only once it commits; the whole cache is dropped when the graph's generation
    changes (a rebuild, by this or another process, gives new ids), and when it holds more than ``limit`` entries
    (a long-lived writer, such as each of a server's ingest processes, would otherwise keep an id of everything it
    ever stored). A cached ``first_seen`` is never earlier than the stored one, which only ever moves earlier.
    """

    def __init__(self, limit: int = MAX_CACHED_IDS) -> None:
        self.generation: int | None = None
        self.limit = limit
        self.known: dict[str, dict[Any, Any]] = defaultdict(dict)
        self.pending: dict[str, dict[Any, Any]] = defaultdict(dict)

    def begin(self, conn: Connection) -> None:
        """Call at the start of a write transaction."""
        generation = Sql(conn).all("SELECT value FROM counters WHERE name = 'graph_generation'")[0][0]
        if generation != self.generation:
            self.known.clear()
            self.generation = generation
        self.pending.clear()

    def commit(self) -> None:
        for table, ids in self.pending.items():
            self.known[table].update(ids)
        self.pending.clear()
        if sum(len(ids) for ids in self.known.values()) > self.limit:
            self.known.clear()  # looked up again as transactions need them

    def rollback(self) -> None:
        self.pending.clear()

    def get(self, table: str, key: Any) -> Any:
        found = self.pending[table].get(key)
        return found if found is not None else self.known[table].get(key)


def apply_facts(conn: Connection, events: Iterable[Event], cache: IdCache | None = None) -> None:
    """Derive the graph rows of ``events`` (already stored) inside the caller's transaction."""
    cache = cache or IdCache()
    sql = _Writer(conn)
    facts = Facts()
    for event in events:
        facts.add(event)
    if not facts.events:
        return
    datasets = facts.datasets
    dataset_ids = _ensure(
        sql, cache, "datasets", ("namespace", "name"), dict.fromkeys(datasets, ()), ("is_model",), "FALSE"
    )
    models = [dataset_ids[key] for key, model in datasets.items() if model]
    sql.where_in("UPDATE datasets SET is_model = TRUE WHERE NOT is_model AND id IN", models)

    key_time = sql.key_time
    times = {key: key_time(time) for key, time in facts.first_seen.items()}
    version_rows = {(dataset_ids[key[:2]], key[2]): (time,) for key, time in times.items()}
    stored_first: dict[int, Any] = {}
    looked_up: set[int] = set()
    by_pair = _ensure(
        sql,
        cache,
        "dataset_versions",
        ("dataset_id", "version"),
        version_rows,
        ("first_seen",),
        found=stored_first,
        looked_up=looked_up,
    )
    version_ids = {key: by_pair[(dataset_ids[key[:2]], key[2])] for key in times}
    earlier = []
    cached_first, pending_first = cache.known["first_seen"], cache.pending["first_seen"]
    for key, time in times.items():
        version_id = version_ids[key]
        stored = stored_first.get(version_id)
        if stored is None:
            stored = pending_first.get(version_id)
            if stored is None:
                stored = cached_first.get(version_id)
        if stored is None or stored > time:  # unknown, or later than this batch's: the store keeps the minimum
            earlier.append((time, version_id, time))
            stored = time if stored is None else min(stored, time)
        pending_first[version_id] = stored
    sql.many("UPDATE dataset_versions SET first_seen = ? WHERE id = ? AND first_seen > ?", earlier)

    job_ids = _ensure(sql, cache, "jobs", ("namespace", "name"), dict.fromkeys(facts.jobs, ()))
    run_pks, fresh = _merge_runs(sql, facts.runs, job_ids)

    run_io = {(run_pks[run], version_ids[version], direction) for run, direction, version in facts.io}
    sql.many(
        "INSERT INTO run_io (run_pk, version_id, direction) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", sorted(run_io)
    )
    declared = {
        (run_pks[run], version_ids[out], dataset_ids[source]): claim
        for (run, out, source), claim in facts.declared.items()
    }
    sql.many(
        "INSERT INTO declared_inputs (run_pk, output_version_id, input_dataset_id, precision) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (run_pk, output_version_id, input_dataset_id) DO UPDATE SET precision = CASE "
        "WHEN declared_inputs.precision IS NULL THEN excluded.precision "
        "WHEN excluded.precision IS NULL THEN declared_inputs.precision "
        "WHEN declared_inputs.precision < excluded.precision THEN declared_inputs.precision "
        "ELSE excluded.precision END",
        [(*key, precision) for key, precision in sorted(declared.items())],
    )
    declared_versions = {
        (run_pks[run], version_ids[out], version_ids[src], dataset_ids[src[:2]])
        for run, out, src in facts.declared_versions
    }
    sql.many(
        "INSERT INTO declared_versions (run_pk, output_version_id, input_version_id) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        sorted(row[:3] for row in declared_versions),
    )
    sql.many(
        "INSERT INTO output_steps (run_pk, version_id, step_run_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        sorted({(run_pks[run], version_ids[out], step) for run, out, step in facts.steps}),
    )
    sql.many(
        "INSERT INTO edges (src, dst, run_pk, job_pk, derivation) VALUES (?, ?, 0, ?, 'declared') "
        "ON CONFLICT DO NOTHING",
        sorted(
            {(version_ids[src], version_ids[dst], job_ids[job] if job else 0) for src, dst, job in facts.static_edges}
        ),
    )
    # A run first seen in this transaction has no rows but this batch's (SQLite: the write lock is held since BEGIN),
    # so its edges are computed from them without reading them back.
    dataset_of = {version_ids[key]: dataset_ids[key[:2]] for key in times}
    unversioned = {dataset_ids[key[:2]]: version_ids[key] for key in times if key[2] == UNVERSIONED}
    known = _Known(
        io=[(run_pk, version, direction, dataset_of[version]) for run_pk, version, direction in run_io],
        declared=[(*key, claim) for key, claim in declared.items()],
        declared_versions=list(declared_versions),
        jobs=fresh,
        unversioned=unversioned,
    )
    _recompute_run_edges(sql, sorted(set(run_pks.values())), known if sql.sqlite else None)
    if sql.sqlite:
        _link_new_versions(sql, dataset_of, unversioned, looked_up)
    else:
        _link_unversioned(sql, sorted(set(dataset_of.values())))
    _merge_facets(sql, facts, dataset_ids, job_ids, run_pks)


def _ensure(
    sql: Sql,
    cache: IdCache,
    table: str,
    key_columns: tuple[str, str],
    rows: dict[tuple, tuple],
    value_columns: tuple[str, ...] = (),
    value_sql: str = "",
    found: dict[int, Any] | None = None,
    looked_up: set[int] | None = None,
) -> dict[tuple, int]:
    """Ids of the rows with these natural keys, inserting the missing ones (with ``rows[key]`` as values): one
    insert (existing keys left alone) and one look-up for the keys the cache does not know. With ``found``, the
    first value column of each row looked up is put there by id; with ``looked_up``, the ids looked up."""
    ids: dict[tuple, int] = {}
    unknown = []
    known, pending = cache.known[table], cache.pending[table]
    for key in rows:
        hit = known.get(key)
        if hit is None:
            hit = pending.get(key)
        if hit is None:
            unknown.append(key)
        else:
            ids[key] = hit
    if not unknown:
        return ids
    unknown.sort()
    columns = ", ".join((*key_columns, *value_columns))
    marks = ", ".join(["?"] * (2 + (0 if value_sql else len(value_columns))) + ([value_sql] if value_sql else []))
    sql.many(
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",
        [(*key, *rows[key]) for key in unknown],
    )
    extra = f", t.{value_columns[0]}" if found is not None else ""
    first, second = key_columns
    for row in sql.joined(
        f"SELECT t.id, t.{first}, t.{second}{extra} FROM",
        f"JOIN {table} t ON t.{first} = k.column1 AND t.{second} = k.column2",
        unknown,
    ):
        ids[(row[1], row[2])] = pending[(row[1], row[2])] = row[0]
        if found is not None:
            found[row[0]] = row[3]
        if looked_up is not None:
            looked_up.add(row[0])
    return ids


def _merge_runs(sql: _Writer, facts: list[RunFacts], job_ids: dict) -> tuple[dict[str, int], dict[int, int]]:
    """Insert or update runs, whatever order their events arrive in: the job and state of the latest event (greatest
    event key, as for facets), the parent of the latest event that names one (its key kept in ``parent_key``), the
    earliest start and the latest end. Returns the runs' ids, and the job of each run inserted here by id."""
    merged: dict[str, dict[str, Any]] = {}
    for run in sorted(facts, key=lambda r: r.state_key):
        row = merged.setdefault(run.run_id, {"parent": None, "parent_key": None, "start": run.time_key, "end": None})
        row["job_id"], row["state"], row["key"] = job_ids[run.job], run.state, run.state_key
        if run.parent_run_id:
            row["parent"], row["parent_key"] = run.parent_run_id, run.state_key
        if run.ended:
            row["end"] = max(row["end"] or run.time_key, run.time_key)
    existing = {
        row[0]: row[1:]
        for row in sql.where_in(
            "SELECT run_id, id, job_id, parent_run_id, parent_key, state, state_key, started_at, ended_at FROM runs "
            "WHERE run_id IN",
            list(merged),
        )
    }
    inserts, updates = [], []
    ids: dict[str, int] = {}

    def at(key_time: str | None) -> Any:
        return None if key_time is None else sql.key_time(key_time)

    for run_id, row in merged.items():
        if run_id not in existing:
            inserts.append(
                (
                    run_id,
                    row["job_id"],
                    row["parent"],
                    row["parent_key"],
                    row["state"],
                    row["key"],
                    at(row["start"]),
                    at(row["end"]),
                )
            )
            continue
        pk, job_id, parent, parent_key, state, key, started, ended = existing[run_id]
        ids[run_id] = pk
        if (key or "") < row["key"]:
            job_id, state, key = row["job_id"], row["state"], row["key"]
        if row["parent_key"] and (parent_key or "") < row["parent_key"]:
            parent, parent_key = row["parent"], row["parent_key"]
        started = min(at(row["start"]), started or at(row["start"]))
        ends = [t for t in (at(row["end"]), ended) if t is not None]
        updates.append((job_id, parent, parent_key, state, key, started, max(ends) if ends else None, pk))
    sql.many(
        "INSERT INTO runs (run_id, job_id, parent_run_id, parent_key, state, state_key, started_at, ended_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        inserts,
    )
    sql.many(
        "UPDATE runs SET job_id = ?, parent_run_id = ?, parent_key = ?, state = ?, state_key = ?, started_at = ?, "
        "ended_at = ? WHERE id = ?",
        updates,
    )
    added = dict(sql.where_in("SELECT run_id, id FROM runs WHERE run_id IN", [row[0] for row in inserts]))
    ids.update(added)
    return ids, {added[row[0]]: row[1] for row in inserts if row[0] in added}


class _Known:
    """What this transaction wrote for the runs it inserted: their rows of ``run_io`` (with each version's dataset)
    and ``declared_inputs``, their jobs by run id, and the unversioned node of the datasets it touched."""

    def __init__(
        self,
        io: list[tuple[int, int, str, int]],
        declared: list[tuple[int, int, int, str | None]],
        declared_versions: list[tuple[int, int, int, int]],  # run, output, input version, its dataset
        jobs: dict[int, int],
        unversioned: dict[int, int],
    ) -> None:
        self.io, self.declared, self.declared_versions = io, declared, declared_versions
        self.jobs, self.unversioned = jobs, unversioned


def _recompute_run_edges(sql: Sql, run_pks: list[int], known: _Known | None = None) -> None:
    """A run's edges: declared sources for outputs that have them (of a source whose exact versions the output
    names, those versions; else the versions of it the run read), none for an output made of no dataset (its one
    declared version itself), every input otherwise. The rows of runs in
    ``known.jobs`` are taken from ``known`` (they have no other rows, and no edges yet); the others' are read."""
    if not run_pks:
        return
    fresh = known.jobs if known else {}
    stored = [pk for pk in run_pks if pk not in fresh]
    inputs: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    outputs: dict[int, set[int]] = defaultdict(set)
    declared: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    jobs = dict(fresh)
    jobs.update(sql.where_in("SELECT id, job_id FROM runs WHERE id IN", stored))
    io_rows = [row for row in known.io if row[0] in fresh] if known else []
    io_rows += sql.where_in(
        "SELECT io.run_pk, io.version_id, io.direction, v.dataset_id FROM run_io io "
        "JOIN dataset_versions v ON v.id = io.version_id WHERE io.run_pk IN",
        stored,
    )
    for run_pk, version_id, direction, dataset_id in io_rows:
        if direction == "input":
            inputs[run_pk][dataset_id].append(version_id)
        else:
            outputs[run_pk].add(version_id)
    precision: dict[tuple[int, int], str | None] = {}
    declared_rows = [row for row in known.declared if row[0] in fresh] if known else []
    declared_rows += sql.where_in(
        "SELECT run_pk, output_version_id, input_dataset_id, precision FROM declared_inputs WHERE run_pk IN", stored
    )
    for run_pk, out, source, claim in declared_rows:
        declared[run_pk][out].add(source)
        precision[(run_pk, out)] = weaker(precision.get((run_pk, out)), claim)
    exact: dict[tuple[int, int, int], list[int]] = defaultdict(list)  # (run, output, dataset) -> input versions
    exact_rows = [row for row in known.declared_versions if row[0] in fresh] if known else []
    exact_rows += sql.where_in(
        "SELECT d.run_pk, d.output_version_id, d.input_version_id, v.dataset_id FROM declared_versions d "
        "JOIN dataset_versions v ON v.id = d.input_version_id WHERE d.run_pk IN",
        stored,
    )
    sourceless = set()  # (run, output) made of no dataset: its declared version is itself (``noInputs``)
    for run_pk, out, version_id, dataset_id in exact_rows:
        if version_id == out:
            sourceless.add((run_pk, out))
        else:
            exact[(run_pk, out, dataset_id)].append(version_id)
    sources = {d for per_run in declared.values() for ds in per_run.values() for d in ds}
    unversioned = {d: known.unversioned[d] for d in sources if d in known.unversioned} if known else {}
    unversioned.update(
        sql.where_in(
            f"SELECT dataset_id, id FROM dataset_versions WHERE version = '{UNVERSIONED}' AND dataset_id IN",
            sorted(sources - set(unversioned)),
        )
    )
    rows = []
    for run_pk in run_pks:
        run_inputs = inputs.get(run_pk, {})
        every_input = [v for versions in run_inputs.values() for v in versions]
        run_declared = declared.get(run_pk, {})
        for out in sorted(outputs.get(run_pk, set()) | set(run_declared)):
            if out in run_declared or (run_pk, out) in sourceless:
                srcs = [
                    v
                    for d in run_declared.get(out, ())
                    for v in (exact.get((run_pk, out, d)) or run_inputs.get(d) or [unversioned[d]])
                ]
                derivation, claim = "explicit", precision.get((run_pk, out))
            else:
                srcs, derivation, claim = every_input, "inferred", None
            rows.extend((src, out, run_pk, jobs[run_pk], derivation, claim) for src in sorted(set(srcs)) if src != out)
    sql.where_in("DELETE FROM edges WHERE run_pk IN", stored)
    sql.many("INSERT INTO edges (src, dst, run_pk, job_pk, derivation, precision) VALUES (?, ?, ?, ?, ?, ?)", rows)


def _link_unversioned(sql: Sql, dataset_ids: list[int]) -> None:
    """Edges from a dataset's unversioned node to each of its versions, so version-less lineage joins in."""
    pairs = sql.where_in(
        "SELECT u.id, v.id FROM dataset_versions u JOIN dataset_versions v ON v.dataset_id = u.dataset_id "
        f"WHERE u.version = '{UNVERSIONED}' AND v.version <> '{UNVERSIONED}' AND u.dataset_id IN",
        dataset_ids,
    )
    sql.many(
        "INSERT INTO edges (src, dst, run_pk, job_pk, derivation) VALUES (?, ?, 0, 0, 'version') "
        "ON CONFLICT DO NOTHING",
        [tuple(pair) for pair in pairs],
    )


def _link_new_versions(sql: Sql, dataset_of: dict[int, int], unversioned: dict[int, int], looked_up: set[int]) -> None:
    """``_link_unversioned`` on SQLite, for the versions this transaction looked up only: each version is made by a
    transaction that links it to every version of its dataset there is then (the write lock is held from BEGIN), and
    the cache holds only versions that committed, so the pairs of two cached versions exist already."""
    if not looked_up:
        return
    pairs: set[tuple[int, int]] = set()
    fresh = {dataset: node for dataset, node in unversioned.items() if node in looked_up}  # unversioned nodes
    for dataset, version in sql.where_in(
        f"SELECT dataset_id, id FROM dataset_versions WHERE version <> '{UNVERSIONED}' AND dataset_id IN",
        sorted(fresh),
    ):
        pairs.add((fresh[dataset], version))
    versions = [version for version in looked_up if unversioned.get(dataset_of[version]) != version]
    nodes = dict(unversioned)
    missing = sorted({dataset_of[version] for version in versions} - set(nodes))
    nodes.update(
        sql.where_in(
            f"SELECT dataset_id, id FROM dataset_versions WHERE version = '{UNVERSIONED}' AND dataset_id IN", missing
        )
    )
    pairs.update((nodes[dataset_of[version]], version) for version in versions if dataset_of[version] in nodes)
    sql.many(
        "INSERT INTO edges (src, dst, run_pk, job_pk, derivation) VALUES (?, ?, 0, 0, 'version') "
        "ON CONFLICT DO NOTHING",
        sorted(pairs),
    )


def _merge_facets(sql: Sql, facts: Facts, dataset_ids: dict, job_ids: dict, run_pks: dict) -> None:
    """Keep, per entity and facet name, the facet of the latest event (``Facts`` kept that one already)."""
    ids = {"dataset": dataset_ids, "job": job_ids, "run": run_pks}
    rows = [
        (entity, ids[entity][key], name, event_key, _facet_json(facet))
        for (entity, key), named in facts.facets.items()
        for name, (event_key, facet) in named.items()
    ]
    rows.sort()
    sql.many(
        "INSERT INTO facets (entity, entity_id, name, event_key, payload) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (entity, entity_id, name) DO UPDATE SET event_key = excluded.event_key, "
        "payload = excluded.payload WHERE facets.event_key < excluded.event_key",
        rows,
    )


def _facet_json(facet: Any) -> str:
    """A facet of a checked event as canonical JSON. The event's own canonical JSON was made already, so nothing in
    it is NaN, infinite or nested too deeply: only integers beyond 64 bits need ``canonical_json``'s slow path."""
    try:
        return orjson.dumps(facet, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return canonical_json(facet)  # integers beyond 64 bits kept exact
