"""The event log and the graph derived from it.

Revision ID: 0001_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event_type", sa.Text),
        sa.Column("event_time", sa.DateTime, nullable=False),
        sa.Column("run_id", sa.String(36), index=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "datasets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("is_model", sa.Boolean, nullable=False),
        sa.UniqueConstraint("namespace", "name", name="uq_datasets_namespace_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("dataset_id", Id, sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.UniqueConstraint("namespace", "name", name="uq_jobs_namespace_name"),
    )
    op.create_table(
        "runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False, unique=True),
        sa.Column("job_id", Id, sa.ForeignKey("jobs.id"), nullable=False, index=True),
        sa.Column("parent_run_id", sa.String(36), index=True),
        sa.Column("state", sa.Text),
        sa.Column("state_key", sa.String(128)),
        sa.Column("started_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
    )
    op.create_table(
        "run_io",
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("version_id", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
    )
    op.create_index("ix_run_io_version", "run_io", ["version_id", "direction"])
    op.create_table(
        "declared_inputs",
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("output_version_id", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("input_dataset_id", Id, sa.ForeignKey("datasets.id"), primary_key=True),
        sa.Column("precision", sa.String(8)),
    )
    op.create_table(
        "edges",
        sa.Column("src", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("dst", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("run_pk", Id, primary_key=True),
        sa.Column("job_pk", Id, primary_key=True),
        sa.Column("derivation", sa.String(16), nullable=False),
        sa.Column("precision", sa.String(8)),
    )
    op.create_index("ix_edges_dst", "edges", ["dst", "src"])
    op.create_index("ix_edges_run", "edges", ["run_pk"])
    op.create_table(
        "facets",
        sa.Column("entity", sa.String(8), primary_key=True),
        sa.Column("entity_id", Id, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("event_key", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "graph_generation", "value": 0}])


def downgrade() -> None:
    for table in (
        "facets",
        "edges",
        "declared_inputs",
        "run_io",
        "runs",
        "jobs",
        "dataset_versions",
        "datasets",
    ):
        op.drop_table(table)
    op.drop_table("events")
    op.drop_table("counters")
