"""docs/rest.md and the README document every REST route of the extension."""

from __future__ import annotations

from pathlib import Path

from nblineage.server import rest

ROOT = Path(__file__).resolve().parents[2]


def test_every_rest_route_is_documented() -> None:
    reference = (ROOT / "docs" / "rest.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for pattern, _ in rest.ROUTES:
        route = pattern.removeprefix(f"{rest.PREFIX}/")
        assert f"\n| `{route}` |" in reference, route
        assert f"`{route}" in readme, route
