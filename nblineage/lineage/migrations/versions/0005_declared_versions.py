"""The exact input versions of an output (``declared_versions``), where its producer names them.

Events stored before this revision name none (``nblineage_lineage.inputs`` came with it), so the table starts empty
and the edges stay as they were.

Revision ID: 0005_declared_versions
Revises: 0004_audit_log
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_declared_versions"
down_revision = "0004_audit_log"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "declared_versions",
        sa.Column("run_pk", Id, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("output_version_id", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
        sa.Column("input_version_id", Id, sa.ForeignKey("dataset_versions.id"), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("declared_versions")
