"""Hooks run when an import completes (``imports.when_imported``): once, after the module's code, never for a failed
import, and with the module's code run exactly as deep as without a hook."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

import pytest

from nblineage.kernel_ext import imports

NAME = "nbl_watched_mod"


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on ``sys.path`` for a module named ``NAME``; the module and its pending hooks gone afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop(NAME, None)
    imports._hooks.pop(NAME, None)


def write_module(folder: Path, body: str) -> None:
    (folder / f"{NAME}.py").write_text(textwrap.dedent(body))
    importlib.invalidate_caches()


DEPTH_MODULE = """
    import sys

    def _frames_from_import():
        frame, names = sys._getframe(1), []
        while frame is not None and frame.f_code.co_name != "import_module":
            names.append(frame.f_code.co_name)
            frame = frame.f_back
        return names

    frames = _frames_from_import()  # this module's code up to importlib.import_module
    done = True
"""


def test_the_hook_runs_once_after_the_module_code(module_dir: Path) -> None:
    write_module(module_dir, DEPTH_MODULE)
    seen: list[Any] = []
    imports.when_imported(NAME, lambda module: seen.append((module.__name__, getattr(module, "done", False))))
    assert seen == []
    module = importlib.import_module(NAME)
    assert seen == [(NAME, True)]
    assert type(module.__spec__) is ModuleSpec and module.__spec__._initializing is False
    importlib.reload(module)
    assert seen == [(NAME, True)]  # once
    imports.when_imported(NAME, lambda module: seen.append("now"))  # imported already: at once
    assert seen == [(NAME, True), "now"]


def test_the_module_code_runs_as_deep_as_without_a_hook(module_dir: Path) -> None:
    write_module(module_dir, DEPTH_MODULE)
    plain = importlib.import_module(NAME).frames
    assert plain[0] == "<module>" and "exec_module" in plain
    sys.modules.pop(NAME)
    fired: list[Any] = []
    imports.when_imported(NAME, fired.append)
    watched = importlib.import_module(NAME).frames
    assert fired and watched == plain


def test_a_failed_import_runs_no_hook_and_keeps_it(module_dir: Path) -> None:
    write_module(module_dir, "raise RuntimeError('broken module')\n")
    seen: list[Any] = []
    imports.when_imported(NAME, seen.append)
    with pytest.raises(RuntimeError, match="broken module"):
        importlib.import_module(NAME)
    assert seen == [] and NAME not in sys.modules
    write_module(module_dir, "fixed = True\n")
    module = importlib.import_module(NAME)
    assert seen == [module]


def test_a_module_that_came_in_another_way_is_caught_at_cell_end(module_dir: Path) -> None:
    seen: list[Any] = []
    imports.when_imported(NAME, seen.append)
    planted = type(sys)(NAME)
    sys.modules[NAME] = planted  # past the finders
    assert seen == []
    imports.fire_pending()
    assert seen == [planted]
    imports.fire_pending()
    assert seen == [planted]
