"""The derived graph as sets of natural keys, to compare two stores (or one store twice) exactly."""

from __future__ import annotations

from sqlalchemy import text

from nblineage.lineage.store import Store

QUERIES = {
    "datasets": "SELECT namespace, name, is_model FROM datasets",
    "versions": "SELECT d.namespace, d.name, v.version, v.first_seen FROM dataset_versions v "
    "JOIN datasets d ON d.id = v.dataset_id",
    "jobs": "SELECT namespace, name FROM jobs",
    "runs": "SELECT r.run_id, j.namespace, j.name, r.parent_run_id, r.state, r.state_key, r.started_at, r.ended_at "
    "FROM runs r JOIN jobs j ON j.id = r.job_id",
    "run_io": "SELECT r.run_id, d.namespace, d.name, v.version, io.direction FROM run_io io "
    "JOIN runs r ON r.id = io.run_pk JOIN dataset_versions v ON v.id = io.version_id "
    "JOIN datasets d ON d.id = v.dataset_id",
    "edges": "SELECT ds.namespace, ds.name, vs.version, dd.namespace, dd.name, vd.version, r.run_id, j.namespace, "
    "j.name, e.derivation, e.precision FROM edges e "
    "JOIN dataset_versions vs ON vs.id = e.src JOIN datasets ds ON ds.id = vs.dataset_id "
    "JOIN dataset_versions vd ON vd.id = e.dst JOIN datasets dd ON dd.id = vd.dataset_id "
    "LEFT JOIN runs r ON r.id = e.run_pk LEFT JOIN jobs j ON j.id = e.job_pk",
    "output_steps": "SELECT r.run_id, d.namespace, d.name, v.version, s.step_run_id FROM output_steps s "
    "JOIN runs r ON r.id = s.run_pk JOIN dataset_versions v ON v.id = s.version_id "
    "JOIN datasets d ON d.id = v.dataset_id",
    "declared_versions": "SELECT r.run_id, dso.namespace, dso.name, vo.version, dsi.namespace, dsi.name, vi.version "
    "FROM declared_versions x JOIN runs r ON r.id = x.run_pk "
    "JOIN dataset_versions vo ON vo.id = x.output_version_id JOIN datasets dso ON dso.id = vo.dataset_id "
    "JOIN dataset_versions vi ON vi.id = x.input_version_id JOIN datasets dsi ON dsi.id = vi.dataset_id",
    "facets": "SELECT f.entity, COALESCE(d.namespace, j.namespace, r.run_id), COALESCE(d.name, j.name), f.name, "
    "f.event_key, f.payload FROM facets f "
    "LEFT JOIN datasets d ON f.entity = 'dataset' AND d.id = f.entity_id "
    "LEFT JOIN jobs j ON f.entity = 'job' AND j.id = f.entity_id "
    "LEFT JOIN runs r ON f.entity = 'run' AND r.id = f.entity_id",
}


def snapshot(store: Store) -> dict[str, set[tuple]]:
    """Every derived row, identified by names rather than by surrogate ids."""
    with store.read() as conn:
        return {table: {tuple(row) for row in conn.execute(text(sql))} for table, sql in QUERIES.items()}
