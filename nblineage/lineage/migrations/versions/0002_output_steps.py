"""The cell runs each output went through (``output_steps``), derived from the events already stored.

Revision ID: 0002_output_steps
Revises: 0001_initial
"""

import json

import sqlalchemy as sa
from alembic import op

from nblineage.lineage.derive import output_steps

revision = "0002_output_steps"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "output_steps",
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("version_id", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("step_run_id", sa.String(36), primary_key=True),
    )
    op.create_index("ix_output_steps_version", "output_steps", ["version_id"])
    op.create_index("ix_output_steps_step", "output_steps", ["step_run_id"])
    _derive_from_stored_events(op.get_bind())


def _derive_from_stored_events(conn: sa.Connection) -> None:
    """Fill ``output_steps`` from the run events that carry the facet, so an upgraded store needs no rebuild."""
    insert = sa.text(
        "INSERT INTO output_steps (run_pk, version_id, step_run_id) "
        "SELECT r.id, v.id, :step FROM runs r CROSS JOIN datasets d CROSS JOIN dataset_versions v "
        "WHERE r.run_id = :run AND d.namespace = :ns AND d.name = :name AND v.dataset_id = d.id "
        "AND v.version = :version ON CONFLICT DO NOTHING"
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, payload FROM events WHERE id > :last AND kind = 'RunEvent' "
                "AND payload LIKE '%nblineage_lineage%' ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            return
        params = []
        for row in rows:
            payload = json.loads(row.payload)
            run_id = payload["run"]["runId"].lower()
            for (namespace, name, version), step in output_steps(payload):
                params.append({"run": run_id, "ns": namespace, "name": name, "version": version, "step": step})
        if params:
            conn.execute(insert, params)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("output_steps")
