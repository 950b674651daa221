"""The widgets' JavaScript bundle and stylesheet, built from ``labextension/`` into ``static/``."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"
SCRIPT = STATIC / "widget.js"
STYLE = STATIC / "widget.css"


class BundleMissing(RuntimeError):
    """The JavaScript was not built (a source checkout where ``jlpm build`` never ran)."""


def check_built() -> None:
    """Raise BundleMissing, saying how to build it, when the bundle is not there."""
    missing = [path.name for path in (SCRIPT, STYLE) if not path.is_file()]
    if missing:
        raise BundleMissing(
            f"nblineage's widget bundle is missing ({', '.join(missing)} in {STATIC}); build it with "
            "`jlpm install && jlpm build` in labextension/, or `pip install -e .`"
        )


def script() -> str:
    check_built()
    return SCRIPT.read_text(encoding="utf-8")


def style() -> str:
    check_built()
    return STYLE.read_text(encoding="utf-8")
