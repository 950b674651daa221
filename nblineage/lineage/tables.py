"""Names from the store's schema that code without SQLAlchemy needs (the tables themselves: ``schema.py``)."""

VERSION_TABLE = "nblineage_schema_version"
HEAD = "0005_declared_versions"  # the newest migration; a test checks it against migrations/
UNVERSIONED = ""
