"""Lineage queries: upstream, downstream, models derived from a dataset, the path between two nodes, and the
neighbourhood of one node (its nodes and the edges between them, for the graph views).

Each walks the version graph with one recursive SQL query (the same on SQLite and PostgreSQL) that de-duplicates
on (node, depth) and stops at a depth cap, so cycles and diamonds cost at most ``depth`` visits per node. Hops from
a dataset's unversioned node to its versions cost no depth. A hop's jobs are the job of the run that wrote its
output and, before it in flow order, the cells that output went through in memory (``output_steps``, run ids
mapped to jobs through ``runs`` when the query runs): they share the hop's depth and its edge's precision. Joins
are written ``CROSS JOIN ... WHERE`` so that SQLite keeps the walk as the outer loop (it does not reorder CROSS
JOIN) whatever its statistics say. The neighbourhood walks the same way each way, then reads the hops of the
versions it reached (edges with their cells and writer) to draw every node and edge of a hop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from nblineage.lineage.limits import DEFAULT_DEPTH, DEFAULT_LIMIT, MAX_DEPTH
from nblineage.lineage.merge import Sql, weaker
from nblineage.lineage.sqlite_reader import text
from nblineage.lineage.store import Store
from nblineage.lineage.tables import UNVERSIONED

if TYPE_CHECKING:
    from sqlalchemy import Connection

Direction = Literal["upstream", "downstream"]


class NotFound(LookupError):
    """The store has no dataset or job of that name."""


@dataclass(frozen=True)
class DatasetRef:
    """A dataset, or one version of it."""

    namespace: str
    name: str
    version: str | None = None


@dataclass(frozen=True)
class JobRef:
    """A job (a notebook, a cell, a pipeline task)."""

    namespace: str
    name: str


Ref = DatasetRef | JobRef


@dataclass(frozen=True)
class Node:
    """A node of a query's answer. ``type`` is dataset, model or job; ``version`` is None when unknown.
    ``precision`` (jobs only) is how the lineage through the job is known: ``exact`` or ``cell`` (the weaker where
    the job is on several edges), None when the producer does not say."""

    type: str
    namespace: str
    name: str
    version: str | None
    depth: int
    precision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset with its newest version and how many versions the store knows."""

    type: str
    namespace: str
    name: str
    version: str | None
    versions: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def resolve(store: Store, namespace: str, name: str, version: str | None = None) -> Ref:
    """The dataset of that name, else the job; raise NotFound with a hint when neither exists."""
    with store.read() as conn:
        if _dataset_id(conn, namespace, name) is not None:
            return DatasetRef(namespace, name, version)
        if version is None and _job_id(conn, namespace, name) is not None:
            return JobRef(namespace, name)
    raise NotFound(f"no dataset or job named {name!r} in namespace {namespace!r}")


def upstream(store: Store, ref: Ref, depth: int = DEFAULT_DEPTH) -> list[Node]:
    """Datasets, models and jobs that ``ref`` derives from, nearest first."""
    return _walk(store, ref, "upstream", depth)


def downstream(store: Store, ref: Ref, depth: int = DEFAULT_DEPTH) -> list[Node]:
    """Datasets, models and jobs derived from ``ref``, nearest first."""
    return _walk(store, ref, "downstream", depth)


def models_from(store: Store, dataset: DatasetRef, depth: int = DEFAULT_DEPTH) -> list[Node]:
    """Models derived from any version of ``dataset``, or from ``dataset.version`` only when it is set."""
    return [node for node in downstream(store, dataset, depth) if node.type == "model"]


def datasets(store: Store) -> list[DatasetSummary]:
    """Every dataset and model the store knows, by namespace and name."""
    sql = text(
        f"""
        SELECT d.namespace, d.name, d.is_model, SUM(CASE WHEN v.version = '' THEN 0 ELSE 1 END) AS versions,
               (SELECT v2.version FROM dataset_versions v2 WHERE v2.dataset_id = d.id
                {_newest_first("v2")} LIMIT 1) AS latest
        FROM datasets d JOIN dataset_versions v ON v.dataset_id = d.id
        GROUP BY d.id, d.namespace, d.name, d.is_model
        ORDER BY d.namespace, d.name
        """
    )
    with store.read() as conn:
        return [
            DatasetSummary(
                type="model" if row.is_model else "dataset",
                namespace=row.namespace,
                name=row.name,
                version=row.latest or None,
                versions=row.versions,
            )
            for row in conn.execute(sql)
        ]


def path(store: Store, source: Ref, target: Ref, depth: int = DEFAULT_DEPTH) -> list[Node]:
    """The shortest lineage path between two nodes, in flow order (upstream first); empty when none."""
    found = _path(store, source, target, depth)
    if found:
        return found
    return _path(store, target, source, depth)


def _check_depth(depth: int) -> int:
    if not 0 < depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    return depth


def _seeds(conn: Connection, ref: Ref, direction: Direction) -> tuple[str, dict[str, Any]]:
    """SQL selecting (node, depth) rows where a walk starts, and its parameters."""
    if isinstance(ref, DatasetRef):
        dataset_id = _dataset_id(conn, ref.namespace, ref.name)
        if dataset_id is None:
            raise NotFound(f"no dataset named {ref.name!r} in namespace {ref.namespace!r}")
        params: dict[str, Any] = {"seed_dataset": dataset_id}
        sql = "SELECT id AS node, 0 AS depth FROM dataset_versions WHERE dataset_id = :seed_dataset"
        if ref.version is not None:
            version = UNVERSIONED if ref.version == "" else ref.version
            if (
                conn.execute(
                    text("SELECT 1 FROM dataset_versions WHERE dataset_id = :d AND version = :v"),
                    {"d": dataset_id, "v": version},
                ).first()
                is None
            ):
                raise NotFound(f"dataset {ref.name!r} has no version {ref.version!r}")
            sql += " AND version = :seed_version"
            params["seed_version"] = version
        return sql, params
    job_id = _job_id(conn, ref.namespace, ref.name)
    if job_id is None:
        raise NotFound(f"no job named {ref.name!r} in namespace {ref.namespace!r}")
    io, end = ("output", "dst") if direction == "downstream" else ("input", "src")
    step = (
        "SELECT s.version_id, 1 FROM runs r CROSS JOIN output_steps s "
        "WHERE r.job_id = :seed_job AND s.step_run_id = r.run_id"
        if direction == "downstream"
        else "SELECT e.src, 1 FROM runs r CROSS JOIN output_steps s CROSS JOIN edges e "
        "WHERE r.job_id = :seed_job AND s.step_run_id = r.run_id AND e.run_pk = s.run_pk AND e.dst = s.version_id"
    )
    sql = f"""
        SELECT io.version_id AS node, 1 AS depth FROM run_io io JOIN runs r ON r.id = io.run_pk
        WHERE r.job_id = :seed_job AND io.direction = '{io}'
        UNION SELECT e.{end}, 1 FROM edges e WHERE e.job_pk = :seed_job AND e.run_pk = 0
        UNION {step}
    """
    return sql, {"seed_job": job_id}


def _walk_sql(seeds: str, direction: Direction) -> str:
    near, far = ("src", "dst") if direction == "downstream" else ("dst", "src")
    return f"""
        WITH RECURSIVE walk(node, depth) AS (
            {seeds}
            UNION
            SELECT e.{far}, w.depth + CASE WHEN e.derivation = 'version' THEN 0 ELSE 1 END
            FROM walk w CROSS JOIN edges e
            WHERE e.{near} = w.node AND (w.depth < :max_depth OR e.derivation = 'version')
        ),
        reach(node, depth) AS (SELECT node, MIN(depth) FROM walk GROUP BY node)
    """


def _walk(store: Store, ref: Ref, direction: Direction, depth: int) -> list[Node]:
    _check_depth(depth)
    io = "input" if direction == "downstream" else "output"
    near = "src" if direction == "downstream" else "dst"
    with store.read() as conn:
        seeds, params = _seeds(conn, ref, direction)
        sql = (
            _walk_sql(seeds, direction)
            + f"""
            SELECT 'version' AS kind, d.namespace, d.name, v.version, d.is_model, r.depth, NULL AS flow,
                   NULL AS precision
            FROM reach r CROSS JOIN dataset_versions v CROSS JOIN datasets d
            WHERE v.id = r.node AND d.id = v.dataset_id
            UNION ALL
            SELECT 'job', j.namespace, j.name, NULL, NULL, x.depth, x.flow, x.precision FROM (
                SELECT job, MIN(depth) + 1 AS depth, MIN(started) AS flow, MIN(precision) AS precision FROM (
                    SELECT ru.job_id AS job, r.depth, ru.started_at AS started,
                           (SELECT MIN(e.precision) FROM edges e WHERE e.{near} = r.node AND e.run_pk = ru.id)
                           AS precision
                    FROM reach r CROSS JOIN run_io io CROSS JOIN runs ru
                    WHERE io.version_id = r.node AND io.direction = '{io}' AND ru.id = io.run_pk
                      AND r.depth < :max_depth
                    UNION ALL
                    SELECT e.job_pk, r.depth, NULL, NULL FROM reach r CROSS JOIN edges e
                    WHERE e.{near} = r.node AND e.run_pk = 0 AND e.job_pk <> 0 AND r.depth < :max_depth
                    UNION ALL
                    {_STEP_HOPS[direction]}
                ) AS hops GROUP BY job
            ) AS x CROSS JOIN jobs j WHERE j.id = x.job
        """
        )
        rows = conn.execute(text(sql), params | {"max_depth": depth}).all()
    start_job = (ref.namespace, ref.name) if isinstance(ref, JobRef) else None
    flow = {}
    nodes = []
    for row in rows:
        if row.depth <= 0 if row.kind != "job" else (row.namespace, row.name) == start_job:
            continue
        node = Node(
            type="job" if row.kind == "job" else ("model" if row.is_model else "dataset"),
            namespace=row.namespace,
            name=row.name,
            version=row.version or None,
            depth=row.depth,
            precision=row.precision if row.kind == "job" else None,
        )
        flow[node] = "" if row.flow is None else str(row.flow)
        nodes.append(node)
    return sorted(
        _fold_unversioned(nodes),
        key=lambda n: (n.depth, n.type != "job", not flow[n], flow[n], n.namespace, n.name, n.version or ""),
    )


# The cells a hop's output went through, at the hop's depth: upstream from the output a walk reached, downstream
# from the input it reached (through the edges of the run that wrote the output).
_STEP_HOPS: dict[str, str] = {
    "upstream": """
        SELECT sr.job_id, r.depth, sr.started_at,
               (SELECT MIN(e.precision) FROM edges e WHERE e.dst = s.version_id AND e.run_pk = s.run_pk)
        FROM reach r CROSS JOIN output_steps s CROSS JOIN runs sr
        WHERE s.version_id = r.node AND sr.run_id = s.step_run_id AND r.depth < :max_depth
    """,
    "downstream": """
        SELECT sr.job_id, r.depth, sr.started_at, e.precision
        FROM reach r CROSS JOIN edges e CROSS JOIN output_steps s CROSS JOIN runs sr
        WHERE e.src = r.node AND e.run_pk <> 0 AND s.run_pk = e.run_pk AND s.version_id = e.dst
          AND sr.run_id = s.step_run_id AND r.depth < :max_depth
    """,
}


def _fold_unversioned(nodes: list[Node]) -> list[Node]:
    """Drop a dataset's "version unknown" node where the answer names a version of that dataset."""
    versioned = {(n.namespace, n.name) for n in nodes if n.type != "job" and n.version is not None}
    return [n for n in nodes if n.type == "job" or n.version is not None or (n.namespace, n.name) not in versioned]


@dataclass(frozen=True)
class _Hop:
    """A version on a backtracked path and the edge into it (no edge: ``run_pk`` and ``job_pk`` are 0)."""

    version_id: int
    job_pk: int = 0
    run_pk: int = 0
    precision: str | None = None


def _path(store: Store, source: Ref, target: Ref, depth: int) -> list[Node]:
    """Walk downstream from ``source`` and backtrack from the nearest node of ``target``."""
    _check_depth(depth)
    with store.read() as conn:
        seeds, params = _seeds(conn, source, "downstream")
        targets, target_params = _seeds(conn, target, "upstream")
        reach = {
            row.node: row.depth
            for row in conn.execute(
                text(_walk_sql(seeds, "downstream") + "SELECT node, depth FROM reach"),
                params | {"max_depth": depth},
            )
        }
        goals = {row.node for row in conn.execute(text(targets), target_params)} & set(reach)
        if not goals:
            return []
        names = _version_rows(conn, goals)
        current = min(goals, key=lambda node: (reach[node], names[node][2] == UNVERSIONED, names[node]))
        hops: list[_Hop] = []
        while True:
            here = reach[current]
            step = None
            for src, job_pk, derivation, run_pk, precision in conn.execute(
                text(
                    "SELECT e.src, e.job_pk, e.derivation, e.run_pk, e.precision FROM edges e "
                    f"{_NATURAL_ORDER} WHERE e.dst = :dst ORDER BY {_NATURAL_KEYS}"
                ),
                {"dst": current},
            ):
                cost = 0 if derivation == "version" else 1
                if src != current and reach.get(src) == here - cost and (here > 0 or cost == 0):
                    step = (src, _Hop(current, job_pk, run_pk, precision))
                    break
            if step is None:
                hops.append(_Hop(current))
                break
            hops.append(step[1])
            current = step[0]
        hops.reverse()
        nodes = _describe(conn, hops)
        if isinstance(source, JobRef):
            leading = [hop.version_id for hop in hops[: next((i for i, h in enumerate(hops) if h.job_pk), None)]]
            jobs = _end_hop(conn, source, leading, "output")
            nodes[:0] = jobs[next(i for i, job in enumerate(jobs) if _same(job, source)) :]
        if isinstance(target, JobRef):
            jobs = _end_hop(conn, target, [hops[-1].version_id], "input")
            nodes.extend(jobs[: next(i for i, job in enumerate(jobs) if _same(job, target)) + 1])
    chain = [node for i, node in enumerate(nodes) if i == 0 or node.type != "job" or _key(node) != _key(nodes[i - 1])]
    return [replace(node, depth=i) for i, node in enumerate(chain)]


def _describe(conn: Connection, hops: list[_Hop]) -> list[Node]:
    """Nodes for a backtracked chain: each dataset version, preceded by the jobs of the edge into it."""
    nodes: list[Node] = []
    for index, hop in enumerate(hops):
        if index and hop.job_pk:
            nodes.extend(_hop_jobs(conn, hop.run_pk, hop.version_id, hop.job_pk, hop.precision))
        row = conn.execute(
            text(
                "SELECT d.namespace, d.name, d.is_model, v.version FROM dataset_versions v "
                "JOIN datasets d ON d.id = v.dataset_id WHERE v.id = :id"
            ),
            {"id": hop.version_id},
        ).one()
        node = Node("model" if row.is_model else "dataset", row.namespace, row.name, row.version or None, 0)
        if nodes and (nodes[-1].namespace, nodes[-1].name) == (node.namespace, node.name) and nodes[-1].type != "job":
            if node.version is None:
                continue
            nodes.pop()  # the hop from the unversioned node to this version
        nodes.append(node)
    return nodes


def _hop_jobs(conn: Connection, run_pk: int, version_id: int, job_pk: int, precision: str | None) -> list[Node]:
    """The jobs of one hop in flow order: the cells its output went through, then the job that wrote it."""
    job_ids = [*_steps(conn, {(run_pk, version_id)}).get((run_pk, version_id), []), job_pk]
    names = _job_names(conn, job_ids)
    return [Node("job", *names[job_id], None, 0, precision) for job_id in job_ids]


def _end_hop(conn: Connection, job: JobRef, version_ids: list[int], side: Literal["input", "output"]) -> list[Node]:
    """The jobs of a hop that ``job`` takes part in (as writer or as a cell the output went through) and whose
    ``side`` is one of ``version_ids``; just ``job`` when it is in none."""
    job_id = _job_id(conn, job.namespace, job.name)
    near = "dst" if side == "output" else "src"
    for version_id in version_ids:
        hop = conn.execute(
            text(
                f"""
                SELECT e.run_pk, e.dst, e.job_pk, e.precision FROM edges e
                {_NATURAL_ORDER}
                WHERE e.{near} = :version AND e.run_pk <> 0 AND (e.job_pk = :job OR EXISTS (
                    SELECT 1 FROM output_steps s CROSS JOIN runs sr
                    WHERE s.run_pk = e.run_pk AND s.version_id = e.dst AND sr.run_id = s.step_run_id
                      AND sr.job_id = :job))
                ORDER BY {_NATURAL_KEYS}
                """
            ),
            {"version": version_id, "job": job_id},
        ).first()
        if hop is not None:
            return _hop_jobs(conn, hop.run_pk, hop.dst, hop.job_pk, hop.precision)
    return [Node("job", job.namespace, job.name, None, 0)]


# Edges in the order of their names (never of surrogate ids), so a path does not depend on the order events came in.
_NATURAL_ORDER = """
    JOIN dataset_versions nv ON nv.id = e.src JOIN datasets nd ON nd.id = nv.dataset_id
    JOIN dataset_versions ov ON ov.id = e.dst JOIN datasets od ON od.id = ov.dataset_id
    LEFT JOIN jobs nj ON nj.id = e.job_pk LEFT JOIN runs nr ON nr.id = e.run_pk
"""
_NATURAL_KEYS = (
    "nd.namespace, nd.name, nv.version, od.namespace, od.name, ov.version, "
    "COALESCE(nj.namespace, ''), COALESCE(nj.name, ''), COALESCE(nr.run_id, '')"
)


def _same(node: Node, job: JobRef) -> bool:
    return node.type == "job" and (node.namespace, node.name) == (job.namespace, job.name)


def _key(node: Node) -> tuple[str, str, str, str | None]:
    return (node.type, node.namespace, node.name, node.version)


def _dataset_id(conn: Connection, namespace: str, name: str) -> int | None:
    return conn.execute(
        text("SELECT id FROM datasets WHERE namespace = :ns AND name = :name"), {"ns": namespace, "name": name}
    ).scalar()


def _job_id(conn: Connection, namespace: str, name: str) -> int | None:
    return conn.execute(
        text("SELECT id FROM jobs WHERE namespace = :ns AND name = :name"), {"ns": namespace, "name": name}
    ).scalar()


# Everything derived from a dataset, with the versions of it each derives from and the jobs that made it


@dataclass(frozen=True)
class Maker:
    """A job on a hop into a derived version: a cell the output went through, or the job that wrote it (``run_id``
    the run), with the hop's precision (``exact``, ``cell``; None when the producer does not say)."""

    namespace: str
    name: str
    run_id: str | None
    precision: str | None


@dataclass(frozen=True)
class Derived:
    """A dataset or model version derived from a start dataset: ``sources`` are the versions of the start dataset
    it derives from (``""``: its "version unknown" node), ``makers`` the jobs of the hops into it from what derives
    from the start dataset (flow order), ``only_derived`` whether everything it was made from derives from the
    start dataset too (nothing else is left to make it from)."""

    node: Node
    sources: tuple[str, ...]
    makers: tuple[Maker, ...]
    only_derived: bool


def derived(store: Store, dataset: DatasetRef, depth: int = DEFAULT_DEPTH) -> list[Derived]:
    """Every dataset and model version downstream of any version of ``dataset`` (of ``dataset.version`` only when
    set), nearest first, each with the start versions it derives from and the jobs that made it.

    One recursive query walks from each start version, carrying it, with the depth cap of :func:`downstream` (a
    start dataset's "version unknown" node does not pass its tag on to its own versions, which are walked
    themselves); one more reads the edges into the versions reached, and one the cells their outputs went through.
    A "version unknown" node is folded into the versions of its dataset the answer has (its makers stand for
    theirs when they have none of their own).
    """
    _check_depth(depth)
    with store.read() as conn:
        found, starts = _derived_walk(conn, dataset, depth)
        reached = set(found) | starts
        edges = Sql(conn).where_in(
            "SELECT e.dst, e.src, e.run_pk, e.job_pk, e.precision, e.derivation, r.run_id FROM edges e "
            "LEFT JOIN runs r ON r.id = e.run_pk WHERE e.dst IN",
            sorted(found),
        )
        hops = [edge for edge in edges if edge[5] != "version" and edge[1] in reached]
        makers = _makers(conn, hops)
    inputs: dict[int, set[int]] = {}
    for dst, src, *_, derivation, _ in edges:
        if derivation != "version":
            inputs.setdefault(dst, set()).add(src)
    unknown = {(n.namespace, n.name): vid for vid, (n, _) in found.items() if n.version is None}
    answer = []
    for vid, (node, sources) in found.items():
        folded = unknown.get((node.namespace, node.name))
        own = makers.get(vid) or (makers.get(folded, []) if folded is not None and node.version else [])
        made_from = inputs.get(vid) or (inputs.get(folded, set()) if folded is not None else set())
        answer.append(Derived(node, tuple(sorted(sources)), tuple(own), bool(made_from) and made_from <= reached))
    return sorted(_fold_derived(answer), key=lambda d: (d.node.depth, d.node.type != "model", _natural(d.node)))


def _derived_walk(
    conn: Connection, dataset: DatasetRef, depth: int
) -> tuple[dict[int, tuple[Node, set[str]]], set[int]]:
    """The versions downstream of the start versions, each with its nearest depth and the start versions it
    derives from (by version text), and the start versions' ids."""
    seeds, params = _seeds(conn, dataset, "downstream")
    walked = conn.execute(
        text(
            f"""
            WITH RECURSIVE start(node) AS (SELECT node FROM ({seeds}) AS s),
            walk(node, seed, depth) AS (
                SELECT node, node, 0 FROM start
                UNION
                SELECT e.dst, w.seed, w.depth + CASE WHEN e.derivation = 'version' THEN 0 ELSE 1 END
                FROM walk w CROSS JOIN edges e
                WHERE e.src = w.node AND w.depth < :max_depth
                  AND NOT (e.derivation = 'version' AND e.src = w.seed)
            )
            SELECT node, seed, MIN(depth) FROM walk WHERE node NOT IN (SELECT node FROM start)
            GROUP BY node, seed
            """
        ),
        params | {"max_depth": depth},
    ).all()
    starts = {row[0] for row in conn.execute(text(seeds), params)}
    depths: dict[int, int] = {}
    tags: dict[int, set[int]] = {}
    for node, seed, hops in walked:
        depths[node] = min(depths.get(node, hops), hops)
        tags.setdefault(node, set()).add(seed)
    names = _version_rows(conn, set(depths) | starts)
    found = {}
    for node, hops in depths.items():
        namespace, name, version, is_model = names[node]
        shown = Node("model" if is_model else "dataset", namespace, name, version or None, hops)
        found[node] = (shown, {names[seed][2] for seed in tags[node]})
    return found, starts


def _makers(conn: Connection, hops: list[tuple]) -> dict[int, list[Maker]]:
    """The jobs of each version's hops (edge rows: dst, src, run pk, job pk, precision, derivation, run id) in
    flow order, each job once with the weaker precision of its hops."""
    steps = _step_runs(conn, {(edge[2], edge[0]) for edge in hops if edge[2]})
    jobs = _job_names(conn, [edge[3] for edge in hops if edge[3]] + [j for runs in steps.values() for j, _ in runs])
    makers: dict[int, dict[tuple[str, str], Maker]] = {}
    for dst, _, run_pk, job_pk, precision, _, run_id in sorted(hops, key=lambda e: (e[0], e[2], e[1])):
        made = makers.setdefault(dst, {})
        for job, job_run in [*steps.get((run_pk, dst), []), *([(job_pk, run_id)] if job_pk else [])]:
            known = made.get(jobs[job])
            claim = precision if known is None else weaker(known.precision, precision)
            made[jobs[job]] = Maker(*jobs[job], job_run if known is None else known.run_id, claim)
    return {dst: list(made.values()) for dst, made in makers.items()}


def _fold_derived(items: list[Derived]) -> list[Derived]:
    """Drop a dataset's "version unknown" node where the answer names a version of that dataset."""
    versioned = {(d.node.namespace, d.node.name) for d in items if d.node.version is not None}
    return [d for d in items if d.node.version is not None or (d.node.namespace, d.node.name) not in versioned]


# The neighbourhood: nodes and edges around one node

Key = tuple[str, int]  # ("version", dataset version id) or ("job", job id)
VersionInfo = tuple[str, str, str, bool]  # namespace, name, version ("" unknown), is model


@dataclass(frozen=True)
class Hop:
    """One step of lineage in flow order: version ``src`` -> ``jobs`` -> version ``dst``. ``jobs`` are the cells
    the output went through, then the job that wrote it (none for a dataset's own lineage or the link from its
    "version unknown" node). A run's input that none of its outputs derives from has no ``dst``; an output of a
    run that read nothing has no ``src``."""

    src: int | None
    dst: int | None
    jobs: tuple[int, ...]
    precision: str | None
    link: bool = False  # the link from a dataset's "version unknown" node to one of its versions

    def chain(self) -> list[Key]:
        """The hop's nodes in flow order."""
        ends = [("version", self.src)] if self.src is not None else []
        tail = [("version", self.dst)] if self.dst is not None else []
        return [*ends, *(("job", job) for job in self.jobs), *tail]


@dataclass(frozen=True)
class GraphNode:
    """A node of a neighbourhood: ``node.depth`` is signed (upstream negative); ``hidden_*`` count its neighbours
    each way that are not in the answer."""

    node: Node
    hidden_upstream: int
    hidden_downstream: int


@dataclass(frozen=True)
class Subgraph:
    """The graph around one node: nodes nearest first (the centre first), edges in flow order as indexes into
    ``nodes`` with their precision; ``truncated`` when the node limit left out nodes within the depth."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int, str | None], ...]
    truncated: bool


def neighbours(store: Store, ref: Ref, depth: int = 1, limit: int = DEFAULT_LIMIT) -> Subgraph:
    """The nodes within ``depth`` dataset hops of ``ref`` each way (a dataset without a version: its newest), at
    most ``limit`` of them, nearest first, and every edge between them.

    Each way the walk is the recursive query of :func:`upstream` and :func:`downstream`, cut at ``limit`` versions;
    then whole hops (a version and the jobs between it and the nearer one) are taken nearest first while they fit,
    each from a version already taken, so the answer is connected.
    """
    _check_depth(depth)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    with store.read() as conn:
        ref, center = _one_node(conn, ref)
        reach = {direction: _reach(conn, ref, center, direction, depth, limit + 1) for direction in _DIRECTIONS}
        versions = sorted(set(reach["upstream"]) | set(reach["downstream"]))
        hops, unseen = _version_hops(conn, versions, limit + 1)
        rows = _version_rows(conn, {*versions, *([center[1]] if center[0] == "version" else [])})
        taken = _Taken(center, limit, rows)
        taken.truncated = any(len(found) > limit for found in reach.values())
        if center[0] == "job":
            for hop in sorted(_job_hops(conn, [center[1]]), key=_hop_order):
                taken.add_through_center(hop, reach)
        for _, hop, depths, near in sorted(_walked(hops, reach, depth), key=lambda found: found[0]):
            if taken.reached(near):  # else the hop to it did not fit
                taken.add(hop.chain(), depths)
        kept_jobs = sorted(key[1] for key in taken.depth if key[0] == "job")
        hops = hops | _job_hops(conn, kept_jobs)
        return _subgraph(conn, taken, hops, unseen, rows)


def _one_node(conn: Connection, ref: Ref) -> tuple[Ref, Key]:
    """The ref of exactly one node (a dataset's newest version when it names none) and its key."""
    if isinstance(ref, JobRef):
        job_id = _job_id(conn, ref.namespace, ref.name)
        if job_id is None:
            raise NotFound(f"no job named {ref.name!r} in namespace {ref.namespace!r}")
        return ref, ("job", job_id)
    dataset_id = _dataset_id(conn, ref.namespace, ref.name)
    if dataset_id is None:
        raise NotFound(f"no dataset named {ref.name!r} in namespace {ref.namespace!r}")
    where = "AND v.version = :version" if ref.version is not None else ""
    row = conn.execute(
        text(
            f"SELECT v.id, v.version FROM dataset_versions v WHERE v.dataset_id = :d {where} {_newest_first()} LIMIT 1"
        ),
        {"d": dataset_id, "version": ref.version},
    ).first()
    if row is None:
        raise NotFound(f"dataset {ref.name!r} has no version {ref.version!r}")
    return DatasetRef(ref.namespace, ref.name, row.version), ("version", row.id)


def _newest_first(table: str = "v") -> str:
    """Versions newest first (the "version unknown" node last): what a dataset without a version stands for."""
    return f"ORDER BY CASE WHEN {table}.version = '' THEN 1 ELSE 0 END, {table}.first_seen DESC, {table}.id DESC"


_DIRECTIONS: tuple[Direction, Direction] = ("upstream", "downstream")


def _reach(conn: Connection, ref: Ref, center: Key, direction: Direction, depth: int, cap: int) -> dict[int, int]:
    """The versions a walk from ``ref`` (node ``center``) reaches, with their depth: the nearest ``cap`` of them."""
    if center[0] == "version":
        seeds, params = "SELECT id AS node, 0 AS depth FROM dataset_versions WHERE id = :center", {"center": center[1]}
    else:
        seeds, params = _seeds(conn, ref, direction)
    sql = _walk_sql(seeds, direction) + "SELECT node, depth FROM reach ORDER BY depth, node LIMIT :cap"
    return {row.node: row.depth for row in conn.execute(text(sql), params | {"max_depth": depth, "cap": cap})}


def _walked(hops: set[Hop], reach: dict[str, dict[int, int]], depth: int) -> list[tuple[tuple, Hop, list[int], Key]]:
    """The hops each walk took, with a sort key (from the nearest version first), the signed depth of each node of
    the hop (a hop's jobs share the depth of its far version), and its near version."""
    found = []
    for direction, sign in (("upstream", -1), ("downstream", 1)):
        depths = reach[direction]
        for hop in hops:
            near, far = (hop.src, hop.dst) if direction == "downstream" else (hop.dst, hop.src)
            beyond = depths.get(near, depth) >= depth and not hop.link  # a version link costs no depth
            if near not in depths or beyond or (far is not None and far not in depths):
                continue
            far_depth = depths[near] + 1 if far is None else depths[far]
            signed = [sign * (depths[key[1]] if key[0] == "version" else far_depth) for key in hop.chain()]
            found.append(((depths[near], far_depth, sign, *_hop_order(hop)), hop, signed, ("version", near)))
    return found


def _hop_order(hop: Hop) -> tuple:
    return (hop.src or 0, hop.dst or 0, hop.jobs)


class _Taken:
    """The nodes taken into a neighbourhood, with their signed depth, at most ``limit``. A dataset's "version
    unknown" node met once a version of that dataset is taken is folded into that version (``alias``), as the
    other answers drop it where they name a version."""

    def __init__(self, center: Key, limit: int, versions: dict[int, VersionInfo]) -> None:
        self.center = center
        self.limit = limit
        self.versions = versions
        self.depth: dict[Key, int] = {center: 0}
        self.alias: dict[Key, Key] = {}
        self.known: dict[tuple[str, str], Key] = {}  # the first version taken of each dataset
        self.truncated = False
        self._note(center)

    def add(self, chain: list[Key], depths: list[int]) -> None:
        """Take a whole hop, or nothing of it when it does not fit."""
        chain = [self._alias_of(key) for key in chain]
        new = {key for key in chain if key not in self.depth}
        if len(self.depth) + len(new) > self.limit:
            self.truncated = True
            return
        for key, depth in zip(chain, depths, strict=True):
            if key not in self.depth:
                self.depth[key] = depth
                self._note(key)

    def reached(self, key: Key) -> bool:
        """Whether ``key`` was taken, itself or folded into a version (a "version unknown" node whose writer, a
        pipeline that names no version, is lineage beyond it)."""
        return key in self.depth or key in self.alias

    def _alias_of(self, key: Key) -> Key:
        if key in self.depth or key[0] != "version" or self.versions[key[1]][2] != UNVERSIONED:
            return self.alias.get(key, key)
        known = self.known.get(self.versions[key[1]][:2])
        if known is not None:
            self.alias[key] = known
        return self.alias.get(key, key)

    def _note(self, key: Key) -> None:
        if key[0] == "version" and self.versions[key[1]][2] != UNVERSIONED:
            self.known.setdefault(self.versions[key[1]][:2], key)

    def add_through_center(self, hop: Hop, reach: dict[str, dict[int, int]]) -> None:
        """A hop the centre job is on: what comes before it is upstream (-1), what comes after downstream (1)."""
        chain = hop.chain()
        if (hop.src is not None and hop.src not in reach["upstream"]) or (
            hop.dst is not None and hop.dst not in reach["downstream"]
        ):
            self.truncated = True  # an end was cut by the limit
            return
        at = chain.index(self.center)
        self.add(chain, [-1] * at + [0] + [1] * (len(chain) - at - 1))


def _subgraph(
    conn: Connection,
    taken: _Taken,
    hops: set[Hop],
    unseen: dict[tuple[Key, str], int],
    versions: dict[int, VersionInfo],
) -> Subgraph:
    """The answer: the taken nodes described, every edge between them, and what each has beyond them (``unseen``:
    hops not fetched, each counted as one neighbour)."""
    fold = _folded(taken.depth, versions) | taken.alias
    fold.pop(taken.center, None)  # the node asked about stays itself
    kept = {key: depth for key, depth in taken.depth.items() if key not in fold}
    edges: dict[tuple[Key, Key], str | None] = {}
    job_precision: dict[Key, str | None] = {}
    upstream_of: dict[Key, set[Key]] = {key: set() for key in kept}
    downstream_of: dict[Key, set[Key]] = {key: set() for key in kept}
    for hop in hops:
        if hop.link and ("version", hop.src) in fold:
            continue
        chain = [fold.get(key, key) for key in hop.chain()]
        for key in chain:
            if key[0] == "job" and key in kept:
                job_precision[key] = weaker(job_precision.get(key), hop.precision)
        for source, target in pairwise(chain):
            if source == target:
                continue
            if source in kept and not hop.link:  # a version link is no lineage to expand
                downstream_of[source].add(target)
            if target in kept and not hop.link:
                upstream_of[target].add(source)
            if source in kept and target in kept:
                edges[(source, target)] = weaker(edges.get((source, target)), hop.precision)
    jobs = _job_names(conn, [key[1] for key in kept if key[0] == "job"])

    def describe(key: Key) -> GraphNode:
        if key[0] == "job":
            node = Node("job", *jobs[key[1]], None, kept[key], job_precision.get(key))
        else:
            namespace, name, version, is_model = versions[key[1]]
            node = Node("model" if is_model else "dataset", namespace, name, version or None, kept[key])
        return GraphNode(
            node,
            _outside(upstream_of[key], kept) + unseen.get((key, "upstream"), 0),
            _outside(downstream_of[key], kept) + unseen.get((key, "downstream"), 0),
        )

    described = {key: describe(key) for key in kept}
    order = sorted(
        kept,
        key=lambda k: (k != taken.center, abs(kept[k]), kept[k], k[0] != "version", _natural(described[k].node)),
    )
    index = {key: i for i, key in enumerate(order)}
    return Subgraph(
        nodes=tuple(described[key] for key in order),
        edges=tuple(sorted((index[s], index[t], precision) for (s, t), precision in edges.items())),
        truncated=taken.truncated,
    )


def _outside(keys: set[Key], kept: dict[Key, int]) -> int:
    return sum(1 for key in keys if key not in kept)


def _folded(taken: dict[Key, int], versions: dict[int, VersionInfo]) -> dict[Key, Key]:
    """Each taken "version unknown" node, taken before any version of its dataset, to drop into the one version
    of its dataset taken after; one beside several versions, or none, stays."""
    known: dict[tuple[str, str], list[Key]] = {}
    for key in taken:
        if key[0] == "version" and versions[key[1]][2] != UNVERSIONED:
            known.setdefault(versions[key[1]][:2], []).append(key)
    fold = {}
    for key in taken:
        if key[0] == "version" and versions[key[1]][2] == UNVERSIONED:
            found = known.get(versions[key[1]][:2], [])
            if len(found) == 1:
                fold[key] = found[0]
    return fold


def _natural(node: Node) -> tuple[str, str, str]:
    return (node.namespace, node.name, node.version or "")


def _version_hops(conn: Connection, version_ids: list[int], cap: int) -> tuple[set[Hop], dict[tuple[Key, str], int]]:
    """The hops into and out of these versions, at most ``cap`` each way per version (nearest ids first), and how
    many hops each way were left out for a version that has more."""
    sql = Sql(conn)
    edges: set[tuple] = set()
    unseen: dict[tuple[Key, str], int] = {}
    for near, far, side in (("src", "dst", "downstream"), ("dst", "src", "upstream")):
        rows = sql.where_in(
            "SELECT src, dst, run_pk, job_pk, precision, derivation, lineage, rank FROM ("
            "SELECT e.src, e.dst, e.run_pk, e.job_pk, e.precision, e.derivation, "
            f"ROW_NUMBER() OVER (PARTITION BY e.{near} ORDER BY e.{far}, e.run_pk, e.job_pk) AS rank, "
            f"SUM(CASE WHEN e.derivation = 'version' THEN 0 ELSE 1 END) OVER (PARTITION BY e.{near}) AS lineage "
            f"FROM edges e WHERE e.{near} IN",
            version_ids,
            tail=f") AS ranked WHERE rank <= {int(cap)}",
        )
        fetched: dict[int, int] = {}
        totals: dict[int, int] = {}
        for row in rows:
            edges.add(tuple(row[:6]))
            version = row[0] if side == "downstream" else row[1]
            fetched[version] = fetched.get(version, 0) + (row[5] != "version")
            totals[version] = row[6]
        for version, total in totals.items():
            if total > fetched[version]:
                unseen[(("version", version), side)] = total - fetched[version]
    io = sql.where_in(
        "SELECT version_id, direction, run_pk, job_id FROM (SELECT io.version_id, io.direction, io.run_pk, "
        "r.job_id, ROW_NUMBER() OVER (PARTITION BY io.version_id, io.direction ORDER BY io.run_pk) AS rank "
        f"FROM run_io io CROSS JOIN runs r WHERE r.id = io.run_pk AND {_NO_EDGE} AND io.version_id IN",
        version_ids,
        tail=f") AS ranked WHERE rank <= {int(cap)}",
    )
    return _hops(conn, edges, io), unseen


def _job_hops(conn: Connection, job_ids: list[int]) -> set[Hop]:
    """Every hop these jobs are on: as the writer, or as a cell the output went through."""
    sql = Sql(conn)
    columns = "SELECT e.src, e.dst, e.run_pk, e.job_pk, e.precision, e.derivation"
    edges = {
        tuple(row)
        for sql_text in (
            f"{columns} FROM runs r CROSS JOIN edges e WHERE e.run_pk = r.id AND r.job_id IN",  # the job's runs
            f"{columns} FROM edges e WHERE e.run_pk = 0 AND e.job_pk IN",  # a job's own lineage facet
            f"{columns} FROM runs sr CROSS JOIN output_steps s CROSS JOIN edges e WHERE s.step_run_id = sr.run_id "
            "AND e.run_pk = s.run_pk AND e.dst = s.version_id AND sr.job_id IN",  # outputs it was a step of
        )
        for row in sql.where_in(sql_text, job_ids)
    }
    io = sql.where_in(
        "SELECT io.version_id, io.direction, io.run_pk, r.job_id FROM runs r CROSS JOIN run_io io "
        f"WHERE io.run_pk = r.id AND {_NO_EDGE} AND r.job_id IN",
        job_ids,
    )
    return _hops(conn, edges, io)


# A run's input or output that no edge of the run has (``io`` a row of run_io).
_NO_EDGE = (
    "NOT EXISTS (SELECT 1 FROM edges ne WHERE ne.run_pk = io.run_pk AND ("
    "(io.direction = 'input' AND ne.src = io.version_id) OR (io.direction = 'output' AND ne.dst = io.version_id)))"
)


def _hops(conn: Connection, edges: set[tuple], io: list[tuple]) -> set[Hop]:
    """Hops of edge rows (src, dst, run_pk, job_pk, precision, derivation), and of rows (version, direction,
    run_pk, job) of a run's inputs and outputs that no edge of the run has: a read nothing derived from, an output
    of a run that read nothing."""
    steps = _steps(conn, {(run_pk, dst) for _, dst, run_pk, *_ in edges if run_pk})
    hops = {
        Hop(
            src,
            dst,
            _flow([*steps.get((run_pk, dst), []), *([job_pk] if job_pk else [])]),
            precision,
            derivation == "version",
        )
        for src, dst, run_pk, job_pk, precision, derivation in edges
    }
    for version_id, direction, _, job_id in io:
        hops.add(
            Hop(version_id, None, (job_id,), None) if direction == "input" else Hop(None, version_id, (job_id,), None)
        )
    return hops


def _flow(job_ids: list[int]) -> tuple[int, ...]:
    """Jobs in flow order, a job repeated in a row kept once."""
    return tuple(job for i, job in enumerate(job_ids) if i == 0 or job != job_ids[i - 1])


def _steps(conn: Connection, outputs: set[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
    """The jobs of the cell runs each output (run pk, version id) went through, in flow order."""
    return {key: [job for job, _ in runs] for key, runs in _step_runs(conn, outputs).items()}


def _step_runs(conn: Connection, outputs: set[tuple[int, int]]) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """The (job, run id) of the cell runs each output (run pk, version id) went through, in flow order."""
    found: dict[tuple[int, int], list[tuple[int, str]]] = {}
    rows = Sql(conn).where_in(
        "SELECT s.run_pk, s.version_id, sr.job_id, sr.started_at, sr.run_id FROM output_steps s CROSS JOIN runs sr "
        "WHERE sr.run_id = s.step_run_id AND s.run_pk IN",
        sorted({run_pk for run_pk, _ in outputs}),
    )
    for run_pk, version_id, job_id, _, run_id in sorted(rows, key=lambda row: (row[3] is None, row[3], row[4])):
        if (run_pk, version_id) in outputs:
            found.setdefault((run_pk, version_id), []).append((job_id, run_id))
    return found


def _version_rows(conn: Connection, ids: set[int]) -> dict[int, VersionInfo]:
    """(namespace, name, version, is model) of dataset versions by id."""
    rows = Sql(conn).where_in(
        "SELECT v.id, d.namespace, d.name, v.version, d.is_model FROM dataset_versions v "
        "CROSS JOIN datasets d WHERE d.id = v.dataset_id AND v.id IN",
        sorted(ids),
    )
    return {row[0]: (row[1], row[2], row[3], bool(row[4])) for row in rows}


def _job_names(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    """(namespace, name) of jobs by id."""
    rows = Sql(conn).where_in("SELECT id, namespace, name FROM jobs WHERE id IN", sorted(set(ids)))
    return {row[0]: (row[1], row[2]) for row in rows}
