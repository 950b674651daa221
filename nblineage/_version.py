"""The version of nblineage, in one place: the package, the producer URI of its events and hatch read it here."""

__version__ = "0.1.0"
