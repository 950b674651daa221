"""The policy file is looked for again only when a file changed where it is looked for (``dirwatch``: Linux's
inotify), and then seen at the next cell start whoever wrote it; where folders cannot be watched, at every one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from nblineage.governance import policy_file
from nblineage.kernel_ext import guard as guard_module
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.dirwatch import Watch
from nblineage.kernel_ext.guard import Guard

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")

POLICY = """
rules:
  - {name: inside, kind: locations, action: audit, allowed: [{name: "**/ok/**"}]}
"""


@linux
def test_a_watch_tells_what_happened_in_its_folders_once(tmp_path: Path) -> None:
    watch = Watch()
    watch.watch([str(tmp_path)])
    assert not watch.changed()
    (tmp_path / "a.txt").write_text("1")
    assert watch.changed()
    assert not watch.changed()  # told once
    (tmp_path / "a.txt").write_text("2")  # changed in place
    assert watch.changed()
    os.rename(tmp_path / "a.txt", tmp_path / "b.txt")
    assert watch.changed()
    (tmp_path / "sub").mkdir()
    assert watch.changed()
    (tmp_path / "sub" / "deeper.txt").write_text("x")  # a folder inside is not watched
    assert not watch.changed()
    (tmp_path / "sub").rename(tmp_path / "moved")
    assert watch.changed()
    watch.watch([str(tmp_path / "moved")])  # added to what is watched
    (tmp_path / "moved" / "deeper.txt").write_text("y")
    assert watch.changed()
    watch.close()


@linux
def test_a_folder_removed_and_made_again_is_watched_anew(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    watch = Watch()
    watch.watch([str(folder)])
    folder.rmdir()
    assert watch.changed()
    folder.mkdir()
    watch.watch([str(folder)])
    (folder / "new.yaml").write_text("x")
    assert watch.changed()
    watch.close()


def test_a_folder_that_cannot_be_watched_says_changed_every_time(tmp_path: Path) -> None:
    watch = Watch()
    watch.watch([str(tmp_path / "missing")])
    assert watch.changed() and watch.changed()


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebook folder of its own and a Jupyter config dir that does not exist yet; the looks counted."""
    notebook = tmp_path / "project" / "nb"
    notebook.mkdir(parents=True)
    monkeypatch.setenv("NBLINEAGE_POLICY", "")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(notebook)
    return notebook


@linux
def test_the_policy_file_is_looked_for_only_after_a_change(
    places: Path, tmp_path: Path, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    looks: list[str | None] = []
    find = guard_module.find
    monkeypatch.setattr(guard_module, "find", lambda notebook: looks.append(notebook) or find(notebook))
    guard = Guard(str(places / "analysis.ipynb"))
    for _ in range(3):
        guard.refresh(capture)
    assert capture.guard is None and len(looks) == 1  # nothing changed: one look
    (places / "data.csv").write_text("x\n1\n")  # a file the notebook writes: looked again, no policy still
    guard.refresh(capture)
    assert capture.guard is None and len(looks) == 2
    (tmp_path / "project" / policy_file.FILE_NAME).write_text(POLICY)  # a folder above, by someone else
    guard.refresh(capture)
    assert capture.guard is guard and guard.policy is not None and len(looks) == 3
    guard.refresh(capture)
    assert capture.guard is guard and len(looks) == 3
    (tmp_path / "project" / policy_file.FILE_NAME).unlink()
    with pytest.warns(UserWarning, match="is gone"):
        guard.refresh(capture)
    assert capture.guard is None


@linux
def test_a_policy_in_a_config_dir_made_later_is_found(places: Path, tmp_path: Path, capture: Capture) -> None:
    guard = Guard(str(places / "analysis.ipynb"))
    guard.refresh(capture)
    assert capture.guard is None
    (tmp_path / "config").mkdir()  # seen in the folder above it, which is watched for it
    guard.refresh(capture)
    (tmp_path / "config" / policy_file.FILE_NAME).write_text(POLICY)
    guard.refresh(capture)
    assert capture.guard is guard


def test_a_policy_named_by_the_variable_later_is_found(
    places: Path, tmp_path: Path, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = Guard(str(places / "analysis.ipynb"))
    guard.refresh(capture)
    assert capture.guard is None
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(POLICY)
    monkeypatch.setenv("NBLINEAGE_POLICY", str(elsewhere))  # %env in the notebook: no file changed where looked
    guard.refresh(capture)
    assert capture.guard is guard
