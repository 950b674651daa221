"""The stored OpenLineage events of one kernel session: its session run and its cell runs, oldest first."""

from __future__ import annotations

import json
from pathlib import Path

from nblineage.governance.read import Reader
from nblineage.lineage.store import Store


def session_events(store: Store, session_run_id: str) -> list[dict]:
    """The events of the run ``session_run_id`` and of the runs whose parent it is, as stored, oldest first."""
    run_id = session_run_id.lower()
    with store.read() as conn:
        rows = Reader(conn).sql.all(
            "SELECT payload FROM events WHERE run_id = ? "
            "OR run_id IN (SELECT run_id FROM runs WHERE parent_run_id = ?) ORDER BY event_time, id",
            (run_id, run_id),
        )
    return [json.loads(row[0]) for row in rows]


def write_json_lines(events: list[dict], path: Path) -> None:
    """``events`` as JSON lines (one event a line) in ``path``, replacing it."""
    path.write_text("".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events), encoding="utf-8")
