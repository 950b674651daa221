"""Reading the store for the governance answers: versions, runs, facets, and a version's own facets.

The ``facets`` table keeps the latest facet of each name per dataset, not per version, so a facet of one dataset
version (``nblineage_model``, ``nblineage_lineage``) is read from the stored events of the run that output that
version, and from the ``facets`` table only when no event has it. Every payload is untrusted: the ``as_*``
helpers turn a value of the wrong type into "nothing" instead of an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from nblineage.lineage.derive import TERMINAL, dataset_version
from nblineage.lineage.merge import Sql
from nblineage.lineage.tables import UNVERSIONED

if TYPE_CHECKING:
    from sqlalchemy import Connection

JsonDict = dict[str, Any]


def as_dict(value: Any) -> JsonDict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_id(value: Any) -> str | None:
    """A non-empty string, or an integer as text (versions and ids some producers send as numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return as_str(value)


def as_number(value: Any) -> float | None:
    """A finite number (booleans are not numbers here)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def as_int(value: Any) -> int | None:
    """A whole number (an integral float counts)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_strings(value: Any) -> list[str]:
    """The strings of a list, in order, without repeats."""
    seen: dict[str, None] = {}
    for item in as_list(value):
        if isinstance(item, str) and item:
            seen.setdefault(item, None)
    return list(seen)


def load_json(text: Any) -> Any:
    """Parsed JSON, or None when it is not."""
    try:
        return orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return None


def iso_time(value: Any) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with ``Z``; SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True)
class VersionRow:
    """One dataset version; ``version`` is ``""`` when unknown."""

    id: int
    dataset_id: int
    namespace: str
    name: str
    version: str
    is_model: bool

    @property
    def shown(self) -> str | None:
        return self.version or None


@dataclass(frozen=True)
class RunRow:
    """One run with its job."""

    pk: int
    run_id: str
    job_namespace: str
    job_name: str
    parent_run_id: str | None
    started_at: Any
    ended_at: Any


_RUN_FIELDS = "r.id, r.run_id, j.namespace, j.name, r.parent_run_id, r.started_at, r.ended_at"
_RUN_COLUMNS = f"{_RUN_FIELDS} FROM runs r JOIN jobs j ON j.id = r.job_id"


def _run(row: Any) -> RunRow:
    return RunRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


class Reader:
    """Queries of one read transaction, with the parsed events of runs cached."""

    def __init__(self, conn: Connection) -> None:
        self.sql = Sql(conn)
        self._events: dict[str, list[tuple[Any, ...]]] = {}
        self._parsed: dict[int, Any] = {}
        self._entries: dict[int, JsonDict | None] = {}
        self._output_runs: dict[int, list[RunRow]] = {}

    # datasets and versions

    def dataset(self, namespace: str, name: str) -> tuple[int, bool] | None:
        """(id, is_model) of a dataset, or None."""
        rows = self.sql.all("SELECT id, is_model FROM datasets WHERE namespace = ? AND name = ?", (namespace, name))
        return (rows[0][0], bool(rows[0][1])) if rows else None

    def version(self, dataset_id: int, version: str | None) -> VersionRow | None:
        """That version of the dataset (``""``: version unknown), or its newest when ``version`` is None."""
        sql = (
            "SELECT v.id, v.dataset_id, d.namespace, d.name, v.version, d.is_model FROM dataset_versions v "
            "JOIN datasets d ON d.id = v.dataset_id WHERE v.dataset_id = ?"
        )
        if version is None:
            rows = self.sql.all(
                sql + " ORDER BY CASE WHEN v.version = '' THEN 1 ELSE 0 END, v.first_seen DESC, v.id DESC LIMIT 1",
                (dataset_id,),
            )
        else:
            rows = self.sql.all(sql + " AND v.version = ?", (dataset_id, version))
        return VersionRow(*rows[0][:5], bool(rows[0][5])) if rows else None

    def versions(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], VersionRow]:
        """Versions by (namespace, name, version)."""
        wanted = sorted(set(keys))
        found: dict[tuple[str, str, str], VersionRow] = {}
        for row in self.sql.joined(
            "SELECT v.id, v.dataset_id, d.namespace, d.name, v.version, d.is_model FROM",
            "JOIN datasets d ON d.namespace = k.column1 AND d.name = k.column2 "
            "JOIN dataset_versions v ON v.dataset_id = d.id",
            sorted({key[:2] for key in wanted}),
        ):
            key = (row[2], row[3], row[4])
            if key in wanted:
                found[key] = VersionRow(*row[:5], bool(row[5]))
        return found

    def dataset_versions(self, dataset_id: int) -> list[VersionRow]:
        """The dataset's known versions, newest first."""
        rows = self.sql.all(
            "SELECT v.id, v.dataset_id, d.namespace, d.name, v.version, d.is_model FROM dataset_versions v "
            f"JOIN datasets d ON d.id = v.dataset_id WHERE v.dataset_id = ? AND v.version <> '{UNVERSIONED}' "
            "ORDER BY v.first_seen DESC, v.id DESC",
            (dataset_id,),
        )
        return [VersionRow(*row[:5], bool(row[5])) for row in rows]

    def version_count(self, dataset_id: int) -> int:
        """How many known versions the dataset has (the unknown version not counted)."""
        sql = f"SELECT COUNT(*) FROM dataset_versions WHERE dataset_id = ? AND version <> '{UNVERSIONED}'"
        return int(self.sql.all(sql, (dataset_id,))[0][0])

    def unversioned(self, dataset_ids: Iterable[int]) -> dict[int, int]:
        """The id of each dataset's "version unknown" node, by dataset id (when it has one)."""
        return dict(
            self.sql.where_in(
                f"SELECT dataset_id, id FROM dataset_versions WHERE version = '{UNVERSIONED}' AND dataset_id IN",
                sorted(set(dataset_ids)),
            )
        )

    def feeders(self, version_ids: Iterable[int]) -> dict[int, set[tuple[int, int]]]:
        """The (dataset, version) pairs with an edge into each version (the unknown-to-known version links left
        out)."""
        found: dict[int, set[tuple[int, int]]] = {}
        for dst, dataset_id, version_id in self.sql.where_in(
            "SELECT e.dst, v.dataset_id, v.id FROM edges e JOIN dataset_versions v ON v.id = e.src "
            "WHERE e.derivation <> 'version' AND e.dst IN",
            sorted(set(version_ids)),
        ):
            found.setdefault(dst, set()).add((dataset_id, version_id))
        return found

    def direct_sources(self, version: VersionRow) -> list[VersionRow]:
        """The versions with an edge into ``version`` or into its dataset's "version unknown" node."""
        unknown = self.unversioned([version.dataset_id]).get(version.dataset_id, version.id)
        rows = self.sql.all(
            "SELECT DISTINCT v.id, v.dataset_id, d.namespace, d.name, v.version, d.is_model FROM edges e "
            "JOIN dataset_versions v ON v.id = e.src JOIN datasets d ON d.id = v.dataset_id "
            "WHERE e.derivation <> 'version' AND e.dst IN (?, ?) ORDER BY v.id",
            (version.id, unknown),
        )
        return [VersionRow(*row[:5], bool(row[5])) for row in rows]

    def fed_by(self, version_ids: Iterable[int]) -> list[VersionRow]:
        """The versions with an edge from one of ``version_ids`` (the unknown-to-known version links left out)."""
        rows = self.sql.where_in(
            "SELECT DISTINCT v.id, v.dataset_id, d.namespace, d.name, v.version, d.is_model FROM edges e "
            "JOIN dataset_versions v ON v.id = e.dst JOIN datasets d ON d.id = v.dataset_id "
            "WHERE e.derivation <> 'version' AND e.src IN",
            sorted(set(version_ids)),
        )
        return sorted((VersionRow(*row[:5], bool(row[5])) for row in rows), key=lambda v: v.id)

    def mlflow_datasets(self, name: str) -> list[tuple[str, bool]]:
        """(namespace, is_model) of the datasets of that name in MLflow tracking stores (``mlflow://...``)."""
        rows = self.sql.all(
            "SELECT namespace, is_model FROM datasets WHERE name = ? AND namespace LIKE 'mlflow://%' "
            "ORDER BY namespace",
            (name,),
        )
        return [(row[0], bool(row[1])) for row in rows]

    def models_mentioning(self, text: str, facets: tuple[str, ...]) -> list[tuple[str, str, str, Any]]:
        """(namespace, name, facet name, parsed facet) of models whose facets ``facets`` contain ``text``."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        names = ", ".join(f"'{_literal(facet)}'" for facet in facets)
        rows = self.sql.all(
            "SELECT d.namespace, d.name, f.name, f.payload FROM datasets d JOIN facets f "
            f"ON f.entity = 'dataset' AND f.entity_id = d.id AND f.name IN ({names}) "
            "WHERE d.is_model AND f.payload LIKE ? ESCAPE '\\' ORDER BY d.namespace, d.name",
            (f"%{escaped}%",),
        )
        return [(row[0], row[1], row[2], load_json(row[3])) for row in rows]

    # runs

    def output_runs(self, version_ids: Iterable[int]) -> dict[int, list[RunRow]]:
        """The runs that output each version, newest (by end, then start) first."""
        asked = list(dict.fromkeys(version_ids))
        wanted = [v for v in asked if v not in self._output_runs]
        for version_id in wanted:
            self._output_runs[version_id] = []
        for row in self.sql.where_in(
            f"SELECT io.version_id, {_RUN_COLUMNS} JOIN run_io io ON io.run_pk = r.id "
            f"WHERE io.direction = 'output' AND io.version_id IN",
            wanted,
        ):
            self._output_runs[row[0]].append(_run(row[1:]))
        for version_id in wanted:
            self._output_runs[version_id] = newest_first(self._output_runs[version_id])
        return {v: self._output_runs[v] for v in asked}

    def runs(self, run_ids: Iterable[str]) -> dict[str, RunRow]:
        """Runs by run id (lower case, as the store keeps them)."""
        ids = sorted({run_id.lower() for run_id in run_ids})
        return {row[1]: _run(row) for row in self.sql.where_in(f"SELECT {_RUN_COLUMNS} WHERE r.run_id IN", ids)}

    def child_runs_with_facet(self, parent_ids: Iterable[str], facet: str) -> list[tuple[RunRow, Any]]:
        """Runs whose parent is one of ``parent_ids``, with their parsed run facet ``facet`` (runs without it
        are left out)."""
        ids = sorted({run_id.lower() for run_id in parent_ids})
        rows = self.sql.where_in(
            f"SELECT {_RUN_FIELDS}, f.payload FROM runs r JOIN jobs j ON j.id = r.job_id "
            "JOIN facets f ON f.entity = 'run' AND f.entity_id = r.id "
            f"AND f.name = '{_literal(facet)}' WHERE r.parent_run_id IN",
            ids,
        )
        return [(_run(row), load_json(row[7])) for row in rows]

    def run_facets(self, runs: Iterable[RunRow], facet: str) -> dict[int, Any]:
        """The parsed run facet ``facet`` of each run that has one, by run pk."""
        pks = sorted({run.pk for run in runs})
        return {
            row[0]: load_json(row[1])
            for row in self.sql.where_in(
                f"SELECT entity_id, payload FROM facets WHERE entity = 'run' AND name = '{_literal(facet)}' "
                "AND entity_id IN",
                pks,
            )
        }

    # facets

    def dataset_facet(self, dataset_id: int, name: str) -> Any:
        """The latest facet ``name`` of a dataset (any version), parsed; None when absent."""
        return self._facet("dataset", dataset_id, name)

    def job_facet(self, namespace: str, job: str, name: str) -> Any:
        rows = self.sql.all("SELECT id FROM jobs WHERE namespace = ? AND name = ?", (namespace, job))
        return self._facet("job", rows[0][0], name) if rows else None

    def jobs_named(self, name: str) -> list[str]:
        """Namespaces of the jobs with that name."""
        return [row[0] for row in self.sql.all("SELECT namespace FROM jobs WHERE name = ? ORDER BY id", (name,))]

    def _facet(self, entity: str, entity_id: int, name: str) -> Any:
        rows = self.sql.all(
            "SELECT payload FROM facets WHERE entity = ? AND entity_id = ? AND name = ?", (entity, entity_id, name)
        )
        return load_json(rows[0][0]) if rows else None

    # events

    def load_events(self, run_ids: Iterable[str]) -> None:
        """Fetch the stored events of these runs at once (later lookups are then free)."""
        ids = sorted({run_id.lower() for run_id in run_ids} - set(self._events))
        for run_id in ids:
            self._events[run_id] = []
        for row in self.sql.where_in(
            "SELECT run_id, event_type, event_time, id, payload FROM events WHERE run_id IN", ids
        ):
            self._events[row[0]].append(tuple(row))
        for run_id in ids:
            self._events[run_id].sort(key=lambda e: (str(e[1] or "").upper() in TERMINAL, e[2], e[3]), reverse=True)

    def events(self, run_id: str) -> Iterable[JsonDict]:
        """The run's events, terminal (COMPLETE, FAIL, ABORT) first, then newest first; unparsable ones skipped."""
        self.load_events([run_id])
        for row in self._events[run_id.lower()]:
            if row[3] not in self._parsed:
                self._parsed[row[3]] = load_json(row[4])
            if isinstance(self._parsed[row[3]], dict):
                yield self._parsed[row[3]]

    def output_entry(self, run_id: str, version: VersionRow) -> JsonDict | None:
        """The output entry for ``version`` in the run's terminal event (else its latest event that has one)."""
        for event in self.events(run_id):
            for entry in as_list(event.get("outputs")):
                if (
                    isinstance(entry, dict)
                    and entry.get("namespace") == version.namespace
                    and entry.get("name") == version.name
                    and dataset_version(entry) == version.version
                ):
                    return entry
        return None

    def run_job_facet(self, run_id: str, name: str) -> Any:
        """A job facet as the run's own events carried it (terminal event first)."""
        for event in self.events(run_id):
            facets = as_dict(as_dict(event.get("job")).get("facets"))
            if facets.get(name) is not None:
                return facets[name]
        return None

    def version_entry(self, version: VersionRow) -> JsonDict | None:
        """The output entry of the newest run that output ``version``, or None."""
        if version.id not in self._entries:
            entry = None
            runs = self.output_runs([version.id])[version.id]
            self.load_events(run.run_id for run in runs)
            for run in runs:
                entry = self.output_entry(run.run_id, version)
                if entry is not None:
                    break
            self._entries[version.id] = entry
        return self._entries[version.id]

    def version_facet(self, version: VersionRow, name: str) -> Any:
        """Facet ``name`` of this dataset version: from the output entry of the run that wrote it; else from the
        ``facets`` table when no run's event has an entry for it, or the dataset has one version only (so the
        latest facet of the dataset cannot belong to another version)."""
        entry = self.version_entry(version)
        facets = as_dict(entry.get("facets")) if entry is not None else {}
        if facets.get(name) is not None:
            return facets[name]
        if entry is None or self.version_count(version.dataset_id) <= 1:
            return self.dataset_facet(version.dataset_id, name)
        return None


def _literal(name: str) -> str:
    """A facet name safe to write into SQL (ours are constants; anything else is refused)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a facet name: {name!r}")
    return name


def newest_first(runs: Iterable[RunRow]) -> list[RunRow]:
    """Runs sorted ended first, then by newest end, newest start, highest pk."""
    return sorted(
        runs,
        key=lambda r: (r.ended_at is not None, iso_time(r.ended_at) or "", iso_time(r.started_at) or "", r.pk),
        reverse=True,
    )
