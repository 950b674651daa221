"""nblineage: version-exact lineage and governance for Jupyter notebooks."""

__version__ = "0.1.0"
