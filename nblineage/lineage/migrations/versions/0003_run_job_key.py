"""A run's job and parent from its latest events, whatever their arrival order; ``runs.parent_key`` added.

Before this revision a run kept the job of whichever event reached the store first and the first parent it met, so
runs whose events disagree could differ from a rebuild. The job now follows the latest event (``state_key``) and the
parent the latest event that names one (its key in ``parent_key``); both are derived here from the stored events, so
an upgraded store needs no rebuild.

Revision ID: 0003_run_job_key
Revises: 0002_output_steps
"""

import json

import sqlalchemy as sa
from alembic import op

from nblineage.lineage.derive import facts_of
from nblineage.lineage.events import check

revision = "0003_run_job_key"
down_revision = "0002_output_steps"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column("runs", sa.Column("parent_key", sa.String(128)))
    _derive_from_stored_events(op.get_bind())


def _derive_from_stored_events(conn: sa.Connection) -> None:
    """Set each run's job, parent and ``parent_key`` from its latest events; then the job of its edges."""
    job: dict[str, tuple[str, tuple[str, str]]] = {}  # run id -> (event key, job)
    parent: dict[str, tuple[str, str]] = {}  # run id -> (event key, parent run id)
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, payload FROM events WHERE id > :last AND kind = 'RunEvent' ORDER BY id LIMIT :batch"),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            break
        for row in rows:
            run = facts_of(check(json.loads(row.payload))).run
            if run is None:
                continue
            if run.run_id not in job or job[run.run_id][0] < run.state_key:
                job[run.run_id] = (run.state_key, run.job)
            if run.parent_run_id and (run.run_id not in parent or parent[run.run_id][0] < run.state_key):
                parent[run.run_id] = (run.state_key, run.parent_run_id)
        last = rows[-1].id
    params = [
        {
            "run": run_id,
            "ns": namespace,
            "name": name,
            "parent": parent[run_id][1] if run_id in parent else None,
            "parent_key": parent[run_id][0] if run_id in parent else None,
        }
        for run_id, (_, (namespace, name)) in job.items()
    ]
    if params:
        conn.execute(
            sa.text(
                "UPDATE runs SET job_id = (SELECT id FROM jobs WHERE namespace = :ns AND name = :name), "
                "parent_run_id = :parent, parent_key = :parent_key WHERE run_id = :run"
            ),
            params,
        )
    conn.execute(
        sa.text("UPDATE edges SET job_pk = (SELECT job_id FROM runs WHERE runs.id = edges.run_pk) WHERE run_pk <> 0")
    )


def downgrade() -> None:
    op.drop_column("runs", "parent_key")
