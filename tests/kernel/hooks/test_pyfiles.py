"""The plain-file hook: ``open`` in the notebook's namespace and ``pathlib.Path``'s file methods.

Cells are run as IPython runs them: code compiled as a module and executed in the notebook's namespace, with the
capture knowing the cell's source and namespace.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import _modified_open  # imported before any hook, as in a kernel

from nblineage.kernel_ext import columns, fallback
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import pyfiles
from nblineage.kernel_ext.hooks.pyfiles import PyfilesInstrumentor, user_open

INSTRUMENTORS = (PyfilesInstrumentor,)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "train.csv", "w", newline="") as f:
        csv.writer(f).writerows([["x", "y"], [1, 2], [3, 4]])
    (tmp_path / "data.json").write_text(json.dumps({"rows": [1, 2, 3]}))
    (tmp_path / "notes.txt").write_text("a b c\n")
    return tmp_path


def run_cell(capture: Capture, source: str, namespace: dict[str, Any]) -> None:
    """Run ``source`` as a cell in ``namespace`` (with ``open`` bound as in a notebook), then end it as the
    session does (fallback, then the instrumentor's end of cell)."""
    namespace.setdefault("open", user_open)
    capture.cell_source, capture.user_ns = source, namespace
    capture.write_fallback = fallback.at_write
    exec(compile(source, "/tmp/ipykernel_0/cell.py", "exec"), namespace)
    fallback.cell_ended(capture, source, namespace)
    pyfiles._record_writes(capture)  # what the instrumentor's cell_ended does with the files written


def names(sources: Any) -> set[str]:
    return {os.path.basename(source.name) for source in sources}


def test_a_file_read_with_csv_is_an_input_and_its_rows_carry_it(folder: Path, capture: Capture) -> None:
    namespace: dict[str, Any] = {}
    run_cell(
        capture,
        "import csv\nrows = []\nwith open('train.csv', newline='') as f:\n"
        "    for row in csv.DictReader(f):\n        rows.append([float(row['x']), float(row['y'])])\n",
        namespace,
    )
    assert names(capture.record.inputs) == {"train.csv"}
    (source,) = capture.record.inputs
    assert source.version  # fingerprinted like any read
    assert names(capture.of(namespace["rows"]).sources) == {"train.csv"}
    assert capture.of(namespace["rows"]).precision == "cell"


def test_json_load_and_a_read_inside_a_function(folder: Path, capture: Capture) -> None:
    namespace: dict[str, Any] = {}
    run_cell(
        capture,
        "import json\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n\n"
        "data = load('data.json')\nsize = len(data['rows'])\ntext = open('notes.txt').read().split()\n",
        namespace,
    )
    assert names(capture.record.inputs) == {"data.json", "notes.txt"}
    assert names(capture.of(namespace["data"]).sources) == {"data.json"}
    assert names(capture.of(namespace["text"]).sources) == {"notes.txt"}


def test_a_write_derives_from_what_the_opening_statement_reads(folder: Path, capture: Capture) -> None:
    namespace: dict[str, Any] = {}
    run_cell(capture, "import json\nwith open('data.json') as f:\n    data = json.load(f)\n", namespace)
    capture.take_record()
    run_cell(
        capture,
        "other = [9]\nwith open('out.json', 'w') as g:\n    json.dump(data, g)\nwith open('log.txt', 'a') as h:\n"
        "    h.write(str(other))\n",
        namespace,
    )
    outputs = {os.path.basename(o.source.name): o for o in capture.record.outputs}
    assert set(outputs) == {"out.json", "log.txt"}
    assert names(outputs["out.json"].provenance.sources) == {"data.json"}
    assert outputs["out.json"].source.version  # closed when the cell ended: fingerprinted
    assert not outputs["log.txt"].provenance  # what it wrote came from no dataset
    assert names(capture.record.inputs) == {"data.json"}  # the write's input; out.json is not read


def test_modes_binary_both_ways_descriptors_and_folders(folder: Path, capture: Capture) -> None:
    namespace: dict[str, Any] = {}
    run_cell(capture, "raw = open('train.csv', 'rb').read()\n", namespace)
    assert names(capture.record.inputs) == {"train.csv"}
    capture.take_record()
    run_cell(capture, "with open('notes.txt', 'r+') as f:\n    f.write('z')\n", namespace)
    assert names(capture.record.inputs) == {"notes.txt"}
    assert [os.path.basename(o.source.name) for o in capture.record.outputs] == ["notes.txt"]
    capture.take_record()
    fd = os.open(folder / "train.csv", os.O_RDONLY)
    namespace["fd"] = fd
    run_cell(capture, "handle = open(fd)\nhandle.close()\n", namespace)
    assert not capture.record.inputs and not capture.record.outputs


def test_compressed_files_opened_by_path_are_read_and_written(folder: Path, capture: Capture) -> None:
    """``gzip.open`` (and bz2's, lzma's): the compressed file is the dataset, as with ``open``; the bytes a
    statement makes from the handle carry it (an MNIST loader's ``np.frombuffer(f.read(), ...)``)."""
    import bz2
    import gzip

    (folder / "labels.gz").write_bytes(gzip.compress(bytes(range(12))))
    capture.take_record()  # the test's own write (test code counts as the user's)
    namespace: dict[str, Any] = {}
    run_cell(
        capture,
        "import gzip, bz2\nwith gzip.open('labels.gz', 'rb') as f:\n    labels = list(f.read()[8:])\n"
        "with bz2.open('labels.bz2', 'wt') as out:\n    out.write(str(labels))\n",
        namespace,
    )
    assert names(capture.record.inputs) == {"labels.gz"}
    assert names(capture.of(namespace["labels"]).sources) == {"labels.gz"}
    (output,) = capture.record.outputs
    assert os.path.basename(output.source.name) == "labels.bz2" and output.source.version
    assert names(output.provenance.sources) == {"labels.gz"}
    assert bz2.decompress((folder / "labels.bz2").read_bytes()) == b"[8, 9, 10, 11]"


def test_a_file_still_open_at_the_end_of_the_cell_has_no_version(folder: Path, capture: Capture) -> None:
    namespace: dict[str, Any] = {}
    run_cell(capture, "log = open('run.log', 'w')\nlog.write('x')\n", namespace)
    (output,) = capture.record.outputs
    assert output.source.version is None
    namespace["log"].close()


def test_pathlib_from_the_user_records_and_from_a_library_does_not(folder: Path, capture: Capture) -> None:
    namespace: dict[str, Any] = {}
    run_cell(
        capture,
        "from pathlib import Path\nwords = Path('notes.txt').read_text().split()\n"
        "Path('words.txt').write_text(' '.join(words))\nblob = Path('train.csv').read_bytes()\n",
        namespace,
    )
    assert names(capture.record.inputs) == {"notes.txt", "train.csv"}
    (output,) = capture.record.outputs
    assert os.path.basename(output.source.name) == "words.txt"
    assert names(output.provenance.sources) == {"notes.txt"}
    capture.take_record()
    library = os.path.join(sysconfig.get_paths()["purelib"], "nbl_fake_reader.py")
    code = compile("from pathlib import Path\ntext = Path(path).read_text()\n", library, "exec")
    exec(code, {"path": str(folder / "notes.txt")})
    importlib.metadata.version("pytest")  # the library reads its metadata files with pathlib
    assert not capture.record.inputs and not capture.record.outputs


def test_libraries_and_the_import_system_see_the_builtin_open(folder: Path, capture: Capture) -> None:
    json.loads((folder / "data.json").read_text())  # test code here is user code: Path records
    capture.take_record()
    with open(folder / "train.csv") as f:  # the module's own open is builtins.open: nothing
        f.read()
    import email.mime.text  # noqa: F401  an import reads files: nothing

    assert not capture.record.inputs


def test_open_is_bound_in_the_notebook_namespace_and_put_back(capture: Capture) -> None:
    class Shell:
        def __init__(self) -> None:
            self.user_ns: dict[str, Any] = {}
            self.user_ns_hidden: dict[str, Any] = {}

    shell = Shell()
    ipython_open = shell.user_ns["open"] = shell.user_ns_hidden["open"] = _ipython_like_open()
    pyfiles._bind_open(shell)
    assert shell.user_ns["open"] is user_open and pyfiles._previous_open[0] is ipython_open
    with pytest.raises(ValueError):
        user_open(1)  # IPython's guard of fds 0-2 still holds
    pyfiles._unbind_open(shell)
    assert shell.user_ns["open"] is ipython_open
    shell.user_ns["open"] = own = lambda *a: None  # the user's own open is left alone
    pyfiles._bind_open(shell)
    assert shell.user_ns["open"] is own
    pyfiles._previous_open[0] = pyfiles._builtin_open


def _ipython_like_open() -> Any:
    """IPython's ``open`` (imported at the top: imported while the hooks are on, it would wrap the patched
    ``io.open``, which no kernel sees, since IPython is there before nblineage loads)."""
    return _modified_open


def test_capture_off_costs_nothing_but_the_call(folder: Path) -> None:
    with user_open(folder / "train.csv") as f:
        assert f.readline().strip() == "x,y"
    assert not pyfiles._writing


def test_open_and_notebook_functions_using_it_pickle(folder: Path) -> None:
    import pickle

    import cloudpickle

    assert pickle.loads(pickle.dumps(user_open)) is user_open  # by reference, as joblib's workers need
    namespace: dict[str, Any] = {"open": user_open, "__name__": "notebook"}
    exec("def head(path):\n    with open(path) as f:\n        return f.readline()\n", namespace)
    copy = cloudpickle.loads(cloudpickle.dumps(namespace["head"]))
    assert copy(folder / "train.csv").strip() == "x,y"


def test_the_finder_leaves_library_submodules_to_the_import_system(tmp_path: Path, monkeypatch) -> None:
    """A submodule of a package loaded from a library folder is left to the other finders at once; one of the user's
    own package (or a top-level module) is looked at."""
    package = tmp_path / "mine_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    import json.decoder  # noqa: F401

    import mine_pkg  # noqa: F401

    try:
        assert pyfiles._in_library("json.decoder") and pyfiles._in_library("json.anything")
        assert not pyfiles._in_library("mine_pkg.sub")
        assert not pyfiles._in_library("json")  # top level: looked at
    finally:
        sys.modules.pop("mine_pkg", None)


def test_a_user_modules_column_rules_are_kept_for_the_session(tmp_path: Path, monkeypatch, capture: Capture) -> None:
    """A feature function in a module beside the notebook states its columns' rules as a cell would: a model fitted
    on the frame it made has features traced to the columns they came from (only cells were read for rules)."""

    class Shell:
        def __init__(self) -> None:
            self.user_ns: dict[str, Any] = {}
            self.user_ns_hidden: dict[str, Any] = {}

    (tmp_path / "mine_features.py").write_text(
        "def add_features(df):\n"
        "    df = df.copy()\n"
        '    df["hour"] = df["start"].dt.hour\n'
        '    df["dur_roll"] = df.groupby("job")["duration_sec"].transform(lambda s: s.rolling(7).mean())\n'
        "    return df\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    shell = Shell()
    pyfiles._bind_open(shell)
    try:
        assert not capture.column_rules
        import mine_features  # noqa: F401
    finally:
        pyfiles._unbind_open(shell)
        sys.modules.pop("mine_features", None)
        pyfiles._previous_open[0] = pyfiles._builtin_open
    assert columns.feature_lineage(capture, ["hour", "dur_roll", "job"]) == {
        "hour": ["start"],
        "dur_roll": ["duration_sec", "job"],
    }


def test_a_user_module_imported_later_runs_with_the_notebook_open(tmp_path: Path, monkeypatch) -> None:
    """A module of the user's own, imported once ``open`` is bound, has it before its code runs; a library module
    imported then does not; unbinding takes the hook, its finders and the name away."""

    class Shell:
        def __init__(self) -> None:
            self.user_ns: dict[str, Any] = {}
            self.user_ns_hidden: dict[str, Any] = {}

    (tmp_path / "mine_helpers.py").write_text("SEEN_AT_IMPORT = open\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    shell = Shell()
    pyfiles._bind_open(shell)
    try:
        import mine_helpers

        assert mine_helpers.SEEN_AT_IMPORT is user_open
        assert sys.path_importer_cache[str(tmp_path)] in pyfiles._user_finders
        import csv as library_module  # imported already: nothing to give

        assert "open" not in vars(library_module)
        assert sys.path_importer_cache.get(sysconfig.get_paths()["stdlib"]) not in pyfiles._user_finders
    finally:
        pyfiles._unbind_open(shell)
        sys.modules.pop("mine_helpers", None)
    assert "open" not in vars(mine_helpers)
    assert pyfiles._user_folder_finder not in sys.path_hooks
    assert not [finder for finder in sys.path_importer_cache.values() if finder in pyfiles._user_finders]
    pyfiles._previous_open[0] = pyfiles._builtin_open
