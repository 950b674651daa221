"""How far graph queries walk: cheap to import (the command line's parser reads it without SQLAlchemy)."""

DEFAULT_DEPTH = 20
MAX_DEPTH = 1000
DEFAULT_LIMIT = 2000  # nodes of a neighbourhood
