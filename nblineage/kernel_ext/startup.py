"""``nblineage enable`` / ``disable``: load the extension in every IPython kernel of a scope.

It adds ``nblineage`` to ``InteractiveShellApp.extensions`` in the scope's ``ipython_kernel_config.json``: the user's
IPython profile (``--user``) or the environment's ``etc/ipython`` (``--sys-prefix``). Other settings in that file
are kept; a file that is not valid JSON is reported and left untouched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Literal

Scope = Literal["user", "sys-prefix"]
EXTENSION = "nblineage"
CONFIG_FILE = "ipython_kernel_config.json"


def config_file(scope: Scope) -> Path:
    if scope == "sys-prefix":
        return Path(sys.prefix) / "etc" / "ipython" / CONFIG_FILE
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir()) / "profile_default" / CONFIG_FILE


def set_enabled(scope: Scope, enabled: bool) -> Path:
    """Add or remove nblineage in the scope's kernel extensions; returns the file changed."""
    path = config_file(scope)
    config: dict = {}
    if path.exists():
        try:
            config = json.loads(path.read_text() or "{}")
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); fix or remove it first") from None
        if not isinstance(config, dict):
            raise ValueError(f"{path} does not hold a JSON object; fix or remove it first")
    section = config.setdefault("InteractiveShellApp", {})
    extensions = [name for name in section.get("extensions", []) if name != EXTENSION]
    if enabled:
        extensions.append(EXTENSION)
    section["extensions"] = extensions
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(temporary, path)
    return path


def is_enabled(scope: Scope) -> bool:
    path = config_file(scope)
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return EXTENSION in config.get("InteractiveShellApp", {}).get("extensions", [])
