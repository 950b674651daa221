"""The store's tables (SQLAlchemy Core). Alembic migrations under ``migrations/`` create and change them.

``events`` is the append-only record; every other table is derived from it and can be rebuilt.
A dataset version ``""`` stands for "this dataset, version unknown". An edge's ``derivation`` says where it comes
from (explicit lineage, a run's inputs, a declaration, or the unversioned-to-version link); its ``precision`` is
nblineage's own claim for notebook edges: ``exact`` (a hook followed the data) or ``cell`` (the statement's reads).
``audit_log`` is the governance audit log (``lineage/auditlog.py``): append-only, never derived, never rebuilt;
``audit_head`` its one row of size, right edge of the Merkle tree and log id, which appenders lock.
``output_steps`` lists the cell runs an output went through before the run that wrote it (the ``runs`` of its
``nblineage_lineage`` facet), by run id: queries map them to jobs through ``runs``, so they may arrive in any order.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nblineage.lineage.tables import HEAD as HEAD  # defined without SQLAlchemy, for readers
from nblineage.lineage.tables import UNVERSIONED as UNVERSIONED
from nblineage.lineage.tables import VERSION_TABLE as VERSION_TABLE

metadata = MetaData()
Id = BigInteger().with_variant(Integer, "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("event_type", Text),
    Column("event_time", DateTime, nullable=False),
    Column("run_id", String(36), index=True),
    Column("received_at", DateTime, nullable=False),
    Column("payload", Text, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("is_model", Boolean, nullable=False, default=False),
    UniqueConstraint("namespace", "name", name="uq_datasets_namespace_name"),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dataset_id", Id, ForeignKey("datasets.id"), nullable=False),
    Column("version", Text, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("namespace", "name", name="uq_jobs_namespace_name"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, unique=True),
    Column("job_id", Id, ForeignKey("jobs.id"), nullable=False, index=True),
    Column("parent_run_id", String(36), index=True),
    Column("parent_key", String(128)),  # event key of the latest event that named the parent
    Column("state", Text),
    Column("state_key", String(128)),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
)

run_io = Table(
    "run_io",
    metadata,
    Column("run_pk", Id, ForeignKey("runs.id"), primary_key=True),
    Column("version_id", Id, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("direction", String(8), primary_key=True),
    Index("ix_run_io_version", "version_id", "direction"),
)

declared_inputs = Table(
    "declared_inputs",
    metadata,
    Column("run_pk", Id, ForeignKey("runs.id"), primary_key=True),
    Column("output_version_id", Id, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("input_dataset_id", Id, ForeignKey("datasets.id"), primary_key=True),
    Column("precision", String(8)),
)

# The exact input versions an output was made from, where its producer names them (``nblineage_lineage.inputs``):
# its edges from those datasets come from these versions only, not from every version of them the run read.
declared_versions = Table(
    "declared_versions",
    metadata,
    Column("run_pk", Id, ForeignKey("runs.id"), primary_key=True),
    Column("output_version_id", Id, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("input_version_id", Id, ForeignKey("dataset_versions.id"), primary_key=True),
)

edges = Table(
    "edges",
    metadata,
    Column("src", Id, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("dst", Id, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("run_pk", Id, primary_key=True),
    Column("job_pk", Id, primary_key=True),
    Column("derivation", String(16), nullable=False),
    Column("precision", String(8)),
    Index("ix_edges_dst", "dst", "src"),
    Index("ix_edges_run", "run_pk"),
)

output_steps = Table(
    "output_steps",
    metadata,
    Column("run_pk", Id, ForeignKey("runs.id"), primary_key=True),
    Column("version_id", Id, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("step_run_id", String(36), primary_key=True),
    Index("ix_output_steps_version", "version_id"),
    Index("ix_output_steps_step", "step_run_id"),
)

facets = Table(
    "facets",
    metadata,
    Column("entity", String(8), primary_key=True),
    Column("entity_id", Id, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("event_key", String(128), nullable=False),
    Column("payload", Text, nullable=False),
)

# Counters of the store; "graph_generation" changes whenever the derived tables are rebuilt (ids change then).
counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The audit log: record ``idx`` (0-based) as canonical JSON, its RFC 6962 leaf hash and the tree root after it (hex).
audit_log = Table(
    "audit_log",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("record", Text, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Column("tree_root", String(64), nullable=False),
)

# One row (id 1): the log's size, the hex hashes of its Merkle frontier (comma-separated) and its random id.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", Text, nullable=False),
    Column("log_id", String(32), nullable=False),
)

DERIVED = (
    facets,
    output_steps,
    edges,
    declared_versions,
    declared_inputs,
    run_io,
    runs,
    jobs,
    dataset_versions,
    datasets,
)
