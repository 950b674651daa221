"""Lineage queries: upstream, downstream, models derived from a dataset, and the path between two nodes.

Each walks the version graph with one recursive SQL query (the same on SQLite and PostgreSQL) that de-duplicates
on (node, depth) and stops at a depth cap, so cycles and diamonds cost at most ``depth`` visits per node. Hops from
a dataset's unversioned node to its versions cost no depth. A hop's jobs are the job of the run that wrote its
output and, before it in flow order, the cells that output went through in memory (``output_steps``, run ids
mapped to jobs through ``runs`` when the query runs): they share the hop's depth and its edge's precision. Joins
are written ``CROSS JOIN ... WHERE`` so that SQLite keeps the walk as the outer loop (it does not reorder CROSS
JOIN) whatever its statistics say.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, text

from nblineage.lineage.schema import UNVERSIONED
from nblineage.lineage.store import Store

DEFAULT_DEPTH = 20
MAX_DEPTH = 1000
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
        """
        SELECT d.namespace, d.name, d.is_model, SUM(CASE WHEN v.version = '' THEN 0 ELSE 1 END) AS versions,
               (SELECT v2.version FROM dataset_versions v2 WHERE v2.dataset_id = d.id
                ORDER BY CASE WHEN v2.version = '' THEN 1 ELSE 0 END, v2.first_seen DESC, v2.id DESC
                LIMIT 1) AS latest
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
            WHERE e.{near} = w.node AND w.depth < :max_depth
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
        names = _version_names(conn, goals)
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
    names = []
    if run_pk:
        names = conn.execute(
            text(
                "SELECT j.namespace, j.name FROM output_steps s CROSS JOIN runs sr CROSS JOIN jobs j "
                "WHERE s.run_pk = :run AND s.version_id = :version AND sr.run_id = s.step_run_id "
                "AND j.id = sr.job_id ORDER BY sr.started_at, sr.run_id"
            ),
            {"run": run_pk, "version": version_id},
        ).all()
    writer = conn.execute(text("SELECT namespace, name FROM jobs WHERE id = :id"), {"id": job_pk}).one()
    return [Node("job", row.namespace, row.name, None, 0, precision) for row in [*names, writer]]


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


def _version_names(conn: Connection, ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """(namespace, name, version) of dataset versions by id."""
    rows = conn.execute(
        text(
            "SELECT v.id, d.namespace, d.name, v.version FROM dataset_versions v "
            "JOIN datasets d ON d.id = v.dataset_id WHERE v.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": sorted(ids)},
    )
    return {row.id: (row.namespace, row.name, row.version) for row in rows}


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
