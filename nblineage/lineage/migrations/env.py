"""Alembic environment: runs on the connection nblineage hands over (see ``store.migrate``)."""

from alembic import context

from nblineage.lineage.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
