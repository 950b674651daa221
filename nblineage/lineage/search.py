"""Search the store's datasets, models and jobs by name: the same SQL on SQLite and PostgreSQL.

Matching is case-insensitive (SQLite's ``LIKE``: ASCII letters only; PostgreSQL's ``ILIKE``), substring anywhere in
the name; hits are ranked exact name first, then names that start with the text, then names whose last part (after
``/``, ``.`` or ``#``) starts with it, then the rest, each by name. A page costs one scan of the names
(``datasets`` and ``jobs``) keeping the best ``offset + limit`` hits, with no function applied to a row that does
not match, and a second one counting the hits only when the page is full or empty; the kind of a job, a dataset's
newest version and its version count are read for the page's hits only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nblineage.lineage.merge import Sql
from nblineage.lineage.store import Store

KINDS = ("dataset", "model", "notebook", "cell", "job")
DEFAULT_KINDS = ("dataset", "model", "notebook", "job")  # cells only when asked: a notebook has many
JOB_KINDS = ("notebook", "cell", "job")
MAX_LIMIT = 500
MAX_QUERY = 1000  # characters of search text

# A cell is a job named NOTEBOOK#CELL, both parts non-empty (as governance.neighbourhood.node_kind says); a notebook
# is another job that says so in its jobType facet (nblineage's capture does) or is named *.ipynb.
_CELL = "({t}.name LIKE '_%#%' AND {t}.name NOT LIKE '%#')"
_NOTEBOOK = """({t}.name {like} '%.ipynb' OR EXISTS (
    SELECT 1 FROM facets f WHERE f.entity = 'job' AND f.entity_id = {t}.id AND f.name = 'jobType'
    AND f.payload LIKE '%"jobType":"NOTEBOOK"%'))"""
_KIND = f"""CASE WHEN {{t}}.job = 0 THEN (CASE WHEN {{t}}.is_model THEN 'model' ELSE 'dataset' END)
    WHEN {_CELL} THEN 'cell' WHEN {_NOTEBOOK} THEN 'notebook' ELSE 'job' END"""

_HITS = """SELECT 0 AS job, d.id, d.namespace, d.name, d.is_model FROM datasets d WHERE d.name {like} ? ESCAPE '\\'
    UNION ALL SELECT 1 AS job, j.id, j.namespace, j.name, FALSE FROM jobs j WHERE j.name {like} ? ESCAPE '\\'"""

_RANK = """CASE WHEN h.name {like} ? ESCAPE '\\' THEN 0 WHEN h.name {like} ? ESCAPE '\\' THEN 1
    WHEN h.name {like} ? ESCAPE '\\' OR h.name {like} ? ESCAPE '\\' OR h.name {like} ? ESCAPE '\\' THEN 2
    ELSE 3 END"""

_NEWEST = (
    "SELECT v.version FROM dataset_versions v WHERE v.dataset_id = p.id "
    "ORDER BY CASE WHEN v.version = '' THEN 1 ELSE 0 END, v.first_seen DESC, v.id DESC LIMIT 1"
)
_VERSIONS = "SELECT COUNT(*) FROM dataset_versions v WHERE v.dataset_id = p.id AND v.version <> ''"


@dataclass(frozen=True)
class SearchHit:
    """A dataset, model or job whose name matched: for a dataset or model its newest version and how many versions
    the store knows (None and 0 for jobs)."""

    kind: str
    namespace: str
    name: str
    version: str | None
    versions: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchPage:
    """One page of hits, best first; ``total`` is how many matched in all."""

    query: str
    kinds: tuple[str, ...]
    limit: int
    offset: int
    total: int
    hits: tuple[SearchHit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kinds": list(self.kinds),
            "limit": self.limit,
            "offset": self.offset,
            "total": self.total,
            "hits": [hit.to_json() for hit in self.hits],
        }


def search(
    store: Store,
    query: str = "",
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    *,
    namespace: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SearchPage:
    """Datasets, models, notebooks, cells and jobs (``kinds``) whose name contains ``query`` (every one when it is
    empty), in ``namespace`` when given, ranked as the module says, ``limit`` from ``offset``.

    Raises ValueError for a kind not in KINDS, a limit outside 1..MAX_LIMIT, a negative offset or a query longer
    than MAX_QUERY."""
    _check(query, kinds, limit, offset)
    kinds = tuple(dict.fromkeys(kinds))
    like = _escape(query)
    with store.read() as conn:
        sql = Sql(conn)
        op = "LIKE" if sql.sqlite else "ILIKE"  # SQLite's LIKE ignores ASCII case
        hits = f"SELECT * FROM ({_HITS.format(like=op)}) h WHERE {_wanted(kinds, namespace, op)}"
        params = [f"%{like}%", f"%{like}%", *([namespace] if namespace is not None else [])]
        rank = _RANK.format(like=op)
        ranks = [like, f"{like}%", *(f"%{mark}{like}%" for mark in ("/", ".", "#"))]
        rows = sql.all(
            f"""SELECT {_KIND.format(t="p", like=op)}, p.namespace, p.name,
                   CASE WHEN p.job = 0 THEN ({_NEWEST}) END, CASE WHEN p.job = 0 THEN ({_VERSIONS}) ELSE 0 END
            FROM (SELECT h.*, {rank} AS rank FROM ({hits}) h ORDER BY rank, h.name, h.namespace, h.job
                  LIMIT ? OFFSET ?) p
            ORDER BY p.rank, p.name, p.namespace, p.job""",
            [*ranks, *params, limit, offset],
        )
        if len(rows) < limit and (rows or not offset):  # the last page: the count is known without counting
            total = offset + len(rows)
        else:
            total = sql.all(f"SELECT COUNT(*) FROM ({hits}) h", params)[0][0]
    found = tuple(SearchHit(kind, ns, name, version or None, int(count)) for kind, ns, name, version, count in rows)
    return SearchPage(query, kinds, limit, offset, int(total), found)


def _wanted(kinds: tuple[str, ...], namespace: str | None, op: str) -> str:
    """The condition on a hit ``h`` that keeps ``kinds`` (the job facet read only when notebooks and other jobs
    must be told apart) in ``namespace`` when given."""
    parts = []
    if "dataset" in kinds or "model" in kinds:
        models = "" if {"dataset", "model"} <= set(kinds) else f" AND {'' if 'model' in kinds else 'NOT '}h.is_model"
        parts.append(f"(h.job = 0{models})")
    jobs = [kind for kind in JOB_KINDS if kind in kinds]
    if jobs:
        cell, notebook = _CELL.format(t="h"), _NOTEBOOK.format(t="h", like=op)
        which = {
            ("notebook", "cell", "job"): "",
            ("notebook", "job"): f" AND NOT {cell}",
            ("cell",): f" AND {cell}",
            ("notebook",): f" AND NOT {cell} AND {notebook}",
            ("job",): f" AND NOT {cell} AND NOT {notebook}",
            ("notebook", "cell"): f" AND ({cell} OR {notebook})",
            ("cell", "job"): f" AND ({cell} OR NOT {notebook})",
        }[tuple(jobs)]
        parts.append(f"(h.job = 1{which})")
    where = " OR ".join(parts)
    return f"({where})" + (" AND h.namespace = ?" if namespace is not None else "")


def _check(query: str, kinds: tuple[str, ...], limit: int, offset: int) -> None:
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        raise ValueError(f"search text must be at most {MAX_QUERY} characters")
    if "\x00" in query:
        raise ValueError("search text cannot hold a NUL character")
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kind must be some of {', '.join(KINDS)}, not {', '.join(map(repr, unknown)) or 'none'}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number from 0, not {offset!r}")


def _escape(text: str) -> str:
    """``text`` for LIKE: its wildcards and the escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
