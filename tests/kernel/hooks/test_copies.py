"""Files the user's code copies, moves or renames derive from the file they were: a frame pickled under a temporary
name then renamed keeps its lineage under the new name; libraries' own renames record nothing, unless of a file the
cell wrote."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import xxhash
from notebooks import model_source_names, run_notebook

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.copies import FileCopiesInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (FileCopiesInstrumentor,)


def version(path: Path) -> str:
    return xxhash.xxh3_128(path.read_bytes()).hexdigest()


def test_each_copy_and_move_derives_from_its_source(capture: Capture, tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    (tmp_path / "data").mkdir()
    moves = [
        (lambda: shutil.copy(raw, tmp_path / "data"), tmp_path / "data" / "raw.csv"),
        (lambda: shutil.copyfile(raw, tmp_path / "copy.csv"), tmp_path / "copy.csv"),
        (lambda: shutil.copy2(str(raw), str(tmp_path / "copy2.csv")), tmp_path / "copy2.csv"),
        (lambda: os.rename(tmp_path / "copy.csv", tmp_path / "renamed.csv"), tmp_path / "renamed.csv"),
        (lambda: os.replace(tmp_path / "copy2.csv", tmp_path / "replaced.csv"), tmp_path / "replaced.csv"),
        (lambda: shutil.move(str(tmp_path / "renamed.csv"), tmp_path / "moved.csv"), tmp_path / "moved.csv"),
        (lambda: (tmp_path / "moved.csv").rename(tmp_path / "path_renamed.csv"), tmp_path / "path_renamed.csv"),
    ]
    froms = [raw, raw, raw, tmp_path / "copy.csv", tmp_path / "copy2.csv", tmp_path / "renamed.csv"]
    froms.append(tmp_path / "moved.csv")
    content = version(raw)
    for (move, destination), origin in zip(moves, froms, strict=True):
        move()
        [output] = capture.take_record().outputs
        assert output.source == Source("file", str(destination), content)
        assert output.provenance.sources == {Source("file", str(origin), content)}


def test_a_librarys_renames_are_left_alone(capture: Capture, tmp_path: Path) -> None:
    """A library's atomic write (a temporary file renamed), as code in the Python installation runs it; but a file
    the cell wrote, renamed by a library, keeps its lineage."""
    (tmp_path / "part.tmp").write_bytes(b"x")
    library_code = compile("os.replace(src, dst)", shutil.__file__, "exec")  # code of the standard library's
    exec(library_code, {"os": os, "src": tmp_path / "part.tmp", "dst": tmp_path / "done"})
    assert (tmp_path / "done").exists() and not capture.take_record().outputs
    os.replace(tmp_path / "done", tmp_path / "again")  # the same call by the user's code records
    assert len(capture.take_record().outputs) == 1
    (tmp_path / "cached.tmp").write_bytes(b"y")  # a file the cell wrote (joblib.Memory's result), renamed by it
    capture.write(Source("file", str(tmp_path / "cached.tmp"), version(tmp_path / "cached.tmp")), None)
    exec(library_code, {"os": os, "src": tmp_path / "cached.tmp", "dst": tmp_path / "cached"})
    assert [out.source.name for out in capture.take_record().outputs] == [
        str(tmp_path / "cached.tmp"),
        str(tmp_path / "cached"),
    ]


PICKLE_THEN_RENAME = """
import os
import pandas as pd
df = pd.read_csv("train.csv")
df.to_pickle("frame.pkl.tmp")
os.replace("frame.pkl.tmp", "frame.pkl")
"""
TRAIN = """
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
df = pd.read_pickle("frame.pkl")
joblib.dump(LogisticRegression().fit(df[["a", "b"]], df["y"]), "model.joblib")
"""


def test_a_file_renamed_after_its_write_keeps_its_lineage(tmp_path: Path) -> None:
    """Written under a temporary name and renamed (the atomic-write idiom): the model trained from it in another
    notebook derives from the data it was made of (it had only the renamed file)."""
    (tmp_path / "train.csv").write_text("a,b,y\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(20)) + "\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "prepare.ipynb", [PICKLE_THEN_RENAME], env, timeout=180)
    run_notebook(tmp_path / "train.ipynb", [TRAIN], env, timeout=180)
    assert model_source_names(store_url, tmp_path / "model.joblib") == {"frame.pkl", "frame.pkl.tmp", "train.csv"}
