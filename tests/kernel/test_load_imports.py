"""``%load_ext nblineage`` stays cheap: what it imports (its background writer's start included) holds no heavy
library, no store machinery the kernel never uses, no hook of a library the notebook has not imported, and
compiles none of the credential patterns a notebook without credentials never needs (the CPU it costs:
benchmarks/bench_capture.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nblineage.lineage.store import Store

# Imported at load, each of these would cost every kernel milliseconds it gets nothing for.
HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "sklearn",
    "torch",
    "mlflow",
    "great_expectations",
    "duckdb",
    "polars",
    "sqlalchemy",  # the kernel writes a plain SQLite store through sqlite3 (deliverer.py)
    "alembic",
    "openlineage",  # events are plain JSON (emit.py)
    "yaml",  # the policy loader, only when a policy file exists
    "jsonschema",
    "cryptography",
    "packaging.specifiers",
    "nblineage.lineage.schema",
    "nblineage.governance.policy",
    "nblineage.governance.answers",
    "nblineage.commands",  # the command table, at the first %lineage command
    "nblineage.kernel_ext.surface",  # %lineage's answers, when a command runs
    "nblineage.kernel_ext.status",  # %lineage status
    "nblineage.kernel_ext.remote",  # a Jupyter server's endpoint as the store
    "nblineage.kernel_ext.hooks.pandas",  # hook modules of libraries not imported
    "nblineage.kernel_ext.hooks.sklearn",
    "nblineage.kernel_ext.hooks.pyarrow",
    "nblineage.kernel_ext.hooks.polars",
    "nblineage.kernel_ext.hooks.tensors",
    # IPython imports sqlite3 at start, so the DB-API hook is loaded: it patches sqlite3.connect and no more, what
    # recording a statement needs comes with the first statement
    "nblineage.kernel_ext.hooks.sql.parsing",
    "nblineage.kernel_ext.hooks.sql.engine",
    "nblineage.kernel_ext.hooks.sql.rowversion",
    "nblineage.kernel_ext.hooks.sql.tableversion",
    "nblineage.kernel_ext.hooks.sql.rowloops",
)

SQL = "nblineage.kernel_ext.hooks.sql."

PROBE = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nblineage")
from nblineage.kernel_ext import _sessions

settled = all(session.writer.flush(timeout=60) for session in _sessions.values())
loaded = sorted(sys.modules)
shell.run_cell("import pandas\nimport sklearn.metrics")
shell.run_cell("x = 1")
with_pandas = sorted(sys.modules)
shell.run_cell("import sqlite3\nwith sqlite3.connect(':memory:') as db:\n    rows = db.execute('select 1').fetchall()")
used = sorted(sys.modules)
from nblineage.lineage import redact

patterns = [name for name, value in vars(redact).items() if isinstance(value, redact._Pattern)]
compiled = [name for name in patterns if "search" in vars(getattr(redact, name))]
print(json.dumps({"sessions": len(_sessions), "settled": settled, "modules": loaded, "used": used,
                  "with_pandas": with_pandas, "patterns": patterns, "compiled": compiled}))
"""


def _probe(tmp_path: Path, probe: str) -> Any:
    """What ``probe`` prints last (JSON), run in a fresh process on a store that exists, as a user's does (the
    writer opens it at load)."""
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    with Store(url):
        pass
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NBLINEAGE_", "OPENLINEAGE"))}
    env |= {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "IPYTHONDIR": str(tmp_path / "ip")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_load_ext_imports_nothing_heavy_and_compiles_no_credential_pattern(tmp_path: Path) -> None:
    found = _probe(tmp_path, PROBE)
    assert found["sessions"] == 1 and found["settled"]  # capture is on and its START reached the store
    modules = set(found["modules"])
    assert "nblineage.kernel_ext.session" in modules  # the probe sees what loading imported
    assert sorted(name for name in HEAVY if name in modules) == []
    assert "nblineage.kernel_ext.hooks.sql.dbapi" in modules  # sqlite3's hook is there, without what it defers
    assert "nblineage.kernel_ext.hooks.sql.parsing" in found["used"]  # a statement run brings it
    with_pandas = set(found["with_pandas"]) - modules
    assert {"nblineage.kernel_ext.hooks.pandas", "nblineage.kernel_ext.hooks.sql.pandas"} <= with_pandas
    # pandas' SQL hook patches read_sql and to_sql, the metrics hook knows pending SQL versions: the SQL machinery
    # comes with the first SQL statement, not with them or at the end of a cell that ran none
    assert sorted(name for name in with_pandas if name in HEAVY and name.startswith(SQL)) == []
    assert len(found["patterns"]) >= 10  # redact's patterns are there, and none was compiled
    assert found["compiled"] == []


CLASSES_PROBE = r"""
import dataclasses, json, sys, typing
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nblineage")
from nblineage.kernel_ext import _sessions

assert all(session.writer.flush(timeout=60) for session in _sessions.values())
made = []
for name, module in sorted(sys.modules.items()):
    if name.startswith("nblineage"):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == name:
                if dataclasses.is_dataclass(value) or typing.is_typeddict(value):
                    made.append(f"{name}.{value.__qualname__}")
print(json.dumps(sorted(set(made))))
"""

# Made at load, and worth it: ``dataclasses.replace`` is how hooks change a version or a provenance's sources.
GENERATED_AT_LOAD = {"nblineage.kernel_ext.provenance.Source", "nblineage.kernel_ext.provenance.Provenance"}


def test_load_ext_makes_no_other_dataclass_or_typeddict(tmp_path: Path) -> None:
    """A dataclass runs 2-3.5 M instructions of generated code when its module is imported (about 0.5 ms), a
    TypedDict about 0.1 M a field: the records that loading imports are ``value.Value`` classes (see
    benchmarks/README.md)."""
    made = set(_probe(tmp_path, CLASSES_PROBE))
    assert made >= GENERATED_AT_LOAD  # the probe sees them
    assert sorted(made - GENERATED_AT_LOAD) == []
