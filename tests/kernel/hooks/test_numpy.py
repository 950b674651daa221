"""numpy files: np.load (.npy, .npz, pickles), loadtxt, genfromtxt, fromfile are reads; save, savez(_compressed),
savetxt and ndarray.tofile (through the cell's AST) are writes with the arrays' provenance."""

from __future__ import annotations

import ast
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xxhash
from hooktools import RAW, only_output
from sqlalchemy import text

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import numpy as numpy_hooks
from nblineage.kernel_ext.hooks.numpy import NumpyInstrumentor, TofileCalls
from nblineage.kernel_ext.provenance import Source
from nblineage.lineage.store import Store

INSTRUMENTORS = (NumpyInstrumentor,)


def version(path: Path) -> str:
    return xxhash.xxh3_128(path.read_bytes()).hexdigest()


def source(path: Path) -> Source:
    return Source("file", str(path), version(path))


def test_np_load_of_an_npy_file_is_a_read(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "features.npy"
    np.save(path, np.arange(12.0).reshape(4, 3))
    capture.take_record()
    for target in (str(path), path, os.fsencode(path)):
        array = np.load(target)
        assert capture.of(array).sources == {source(path)}
        assert capture.of(array).precision == "exact"
    with open(path, "rb") as handle:
        assert capture.of(np.load(handle)).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]
    mapped = np.load(path, mmap_mode="r")
    assert isinstance(mapped, np.memmap) and capture.of(mapped).sources == {source(path)}


def test_npz_arrays_carry_the_file(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "train.npz"
    np.savez_compressed(path, X=np.ones((5, 2)), y=np.arange(5))
    capture.take_record()
    with np.load(path) as data:
        X, y, also = data["X"], data.f.y, dict(data)
    for array in (X, y, *also.values()):
        assert capture.of(array).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]
    np.testing.assert_array_equal(y, np.arange(5))


def test_text_and_raw_readers(capture: Capture, tmp_path: Path) -> None:
    table = tmp_path / "pima.csv"
    table.write_text("6,148,72,1\n1,85,66,0\n8,183,64,1\n")
    zipped = tmp_path / "values.txt.gz"
    with gzip.open(zipped, "wt") as handle:
        handle.write("1 2\n3 4\n")
    raw = tmp_path / "signal.bin"
    np.arange(6, dtype=np.float32).tofile(raw)
    named = tmp_path / "named.csv"
    named.write_text("a,b\n1,2.5\n3,4.5\n")
    assert capture.of(np.loadtxt(table, delimiter=",")).sources == {source(table)}
    assert capture.of(np.loadtxt(str(zipped))).sources == {source(zipped)}
    assert capture.of(np.genfromtxt(table, delimiter=",")).sources == {source(table)}
    assert capture.of(np.fromfile(raw, dtype=np.float32)).sources == {source(raw)}
    structured = np.genfromtxt(named, delimiter=",", names=True)
    assert capture.record.inputs[source(named)] == {
        "schema": {"fields": [{"name": "a", "type": "float64"}, {"name": "b", "type": "float64"}]}
    }
    assert capture.of(structured).sources == {source(named)}


def test_text_that_is_no_file_records_nothing(capture: Capture, tmp_path: Path) -> None:
    assert np.loadtxt(io.StringIO("1 2\n3 4")).shape == (2, 2)
    assert np.loadtxt(["1 2", "3 4"]).shape == (2, 2)
    assert np.genfromtxt(io.BytesIO(b"1,2\n3,4"), delimiter=",").shape == (2, 2)
    assert np.load(io.BytesIO(_npy_bytes(np.arange(3)))).tolist() == [0, 1, 2]
    assert not capture.record.inputs and not capture.record.outputs


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_writes_derive_from_the_arrays_written(capture: Capture, tmp_path: Path) -> None:
    X, y = np.ones((4, 2)), np.arange(4)
    other = Source("file", "/data/labels.csv", "v9")
    capture.read(RAW, X)
    capture.read(other, y)
    np.save(tmp_path / "X", X)  # numpy adds .npy
    np.save(str(tmp_path / "X2.npy"), X)
    np.savez(str(tmp_path / "both"), X, labels=y)  # numpy adds .npz
    np.savez_compressed(tmp_path / "small.npz", X=X)
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    outputs = {Path(output.source.name).name: output for output in capture.record.outputs}
    assert sorted(outputs) == ["X.npy", "X2.npy", "both.npz", "small.npz", "y.csv"]
    for name, expected in {
        "X.npy": {RAW},
        "X2.npy": {RAW},
        "both.npz": {RAW, other},
        "small.npz": {RAW},
        "y.csv": {other},
    }.items():
        assert outputs[name].provenance.sources == expected, name
        assert outputs[name].source == source(tmp_path / name)


def test_writes_into_open_files_are_versioned(capture: Capture, tmp_path: Path) -> None:
    X = np.ones((3, 3))
    capture.read(RAW, X)
    with open(tmp_path / "binary.npy", "wb") as handle:
        np.save(handle, X)
        assert only_output(capture).source == source(tmp_path / "binary.npy")  # flushed: on disk while open
    capture.take_record()
    with open(tmp_path / "text.csv", "w") as handle:
        np.savetxt(handle, X, delimiter=",")
        assert only_output(capture).source == source(tmp_path / "text.csv")
    capture.take_record()
    with gzip.open(tmp_path / "zipped.npy.gz", "wb") as handle:
        np.save(handle, X)
    output = only_output(capture)  # gzip would add bytes on flush: named, not versioned
    assert output.source == Source("file", str(tmp_path / "zipped.npy.gz"), None)
    assert output.provenance.sources == {RAW}


def test_writes_to_no_file_record_nothing(capture: Capture, capsys: pytest.CaptureFixture[str]) -> None:
    X = np.ones((2, 2))
    capture.read(RAW, X)
    buffer = io.BytesIO()
    np.save(buffer, X)
    np.savez(buffer, X=X)
    np.savetxt(sys.stdout, X)
    assert "1.000000000000000000e+00" in capsys.readouterr().out
    assert not capture.record.outputs


def test_user_errors_pass_through(capture: Capture, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        np.load(tmp_path / "missing.npy")
    with pytest.raises(ValueError):
        np.load(io.BytesIO(b"not an array"))
    with pytest.raises((TypeError, ValueError)):
        np.save(12.5, np.ones(2))  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        np.savetxt(tmp_path / "no" / "folder.txt", np.ones(2))
    assert not capture.record.inputs and not capture.record.outputs


def test_an_object_array_holds_what_was_saved(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "settings.npy"
    tracked = np.zeros(3)
    np.save(path, np.array({"weights": tracked, "names": ["a", "b"]}, dtype=object), allow_pickle=True)
    loaded = np.load(path, allow_pickle=True).item()
    assert capture.of(loaded).sources == {source(path)}  # a dict: held by name until the cell ends
    assert capture.of(loaded["weights"]).sources == {source(path)}


def run_cell(code: str, capture: Capture, namespace: dict) -> None:
    """Run ``code`` as IPython does with the transformer installed: parse, transform, compile, execute."""
    capture.cell_source, capture.user_ns = code, namespace
    tree = TofileCalls().visit(ast.parse(code))
    exec(compile(tree, "<cell>", "exec"), namespace)


def test_tofile_of_the_notebook_is_a_write(capture: Capture, tmp_path: Path) -> None:
    signal = np.arange(8, dtype=np.float32)
    capture.read(RAW, signal)
    namespace = {"np": np, "signal": signal, "folder": str(tmp_path)}
    code = (
        "import os\n"
        "signal.tofile(os.path.join(folder, 'signal.bin'))\n"
        "def dump(a, path):\n"
        "    a.tofile(path, sep=',')\n"
        "dump(signal, os.path.join(folder, 'signal.txt'))\n"
        "class Other:\n"
        "    def tofile(self, path):\n"
        "        return 'mine'\n"
        "result = Other().tofile('x')\n"
    )
    run_cell(code, capture, namespace)
    assert namespace["result"] == "mine"
    written = {Path(output.source.name).name: output for output in capture.record.outputs}
    assert sorted(written) == ["signal.bin", "signal.txt"]
    assert written["signal.bin"].source == source(tmp_path / "signal.bin")
    assert written["signal.bin"].provenance.sources == {RAW}
    np.testing.assert_array_equal(np.fromfile(tmp_path / "signal.bin", dtype=np.float32), signal)
    assert (tmp_path / "signal.txt").read_text().startswith("0.0,1.0,2.0")


def test_tofile_rewrite_only_where_the_cell_says_so(capture: Capture) -> None:
    tree = ast.parse("x = 1")
    capture.cell_source = "x = 1"
    assert TofileCalls().visit(tree) is tree
    capture.cell_source = "a.tofile(p)"
    rewritten = ast.unparse(TofileCalls().visit(ast.parse("a.tofile(p)")))
    assert rewritten == "__import__('nblineage.kernel_ext.hooks.numpy', fromlist=('tofile',)).tofile(a, p)"
    with pytest.raises(AttributeError):
        numpy_hooks.tofile(object(), "p")


def test_tofile_to_a_buffer_or_odd_target(capture: Capture) -> None:
    array = np.arange(3)
    capture.read(RAW, array)
    with pytest.raises((OSError, TypeError, ValueError, io.UnsupportedOperation)):
        numpy_hooks.tofile(array, io.BytesIO())
    assert not capture.record.outputs


def test_patches_are_undone_and_lazy() -> None:
    originals = (np.load, np.save, np.savez, np.fromfile, np.lib.npyio.NpzFile.__getitem__)
    instrumentor = NumpyInstrumentor()
    instrumentor.instrument()
    assert np.load is not originals[0] and np.fromfile is not originals[3]
    assert np.load.__name__ == "load" and np.save.__doc__ == originals[1].__doc__
    instrumentor.uninstrument()
    assert (np.load, np.save, np.savez, np.fromfile, np.lib.npyio.NpzFile.__getitem__) == originals
    source_text = Path(numpy_hooks.__file__).read_text()
    assert "import numpy" not in source_text  # the hook module never imports numpy itself


def test_arguments_by_keyword(capture: Capture, tmp_path: Path) -> None:
    X = np.ones((2, 2))
    capture.read(RAW, X)
    np.save(file=tmp_path / "kw", arr=X)
    np.savetxt(fname=tmp_path / "kw.txt", X=X)
    assert [Path(output.source.name).name for output in capture.record.outputs] == ["kw.npy", "kw.txt"]
    assert all(output.provenance.sources == {RAW} for output in capture.record.outputs)
    assert capture.of(np.load(file=tmp_path / "kw.npy")).sources == {source(tmp_path / "kw.npy")}
    assert capture.of(np.loadtxt(fname=tmp_path / "kw.txt")).sources == {source(tmp_path / "kw.txt")}
    assert capture.of(np.fromfile(file=tmp_path / "kw.txt", sep=" ")).sources == {source(tmp_path / "kw.txt")}


def test_unpacked_columns_carry_the_file(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "xy.csv"
    path.write_text("1,2\n3,4\n5,6\n")
    x, y = np.loadtxt(path, delimiter=",", unpack=True)
    assert capture.of(x).sources == capture.of(y).sources == {source(path)}
    features = np.loadtxt(path, delimiter=",").reshape(2, 3)[:, :2]  # views of what was read
    assert capture.of(features).sources == {source(path)}


KERNEL_PROBE = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nblineage")
seen = {}
for name, code in (
    ("plain", "import numpy as np\nsignal = np.arange(4.0)\n"),
    ("tofile", "signal.tofile(sys.argv[1])\n"),
    ("after", "total = signal.sum()\n"),
):
    shell.run_cell("import sys\n" + code, store_history=True)
    seen[name] = [type(transformer).__name__ for transformer in shell.ast_transformers]
shell.run_line_magic("unload_ext", "nblineage")
seen["unloaded"] = [type(transformer).__name__ for transformer in shell.ast_transformers]
print(json.dumps(seen))
"""


def test_the_transformer_is_in_ipython_only_for_cells_saying_tofile(tmp_path: Path) -> None:
    """IPython runs ``ast.fix_missing_locations`` over every cell while any AST transformer is installed: the
    ``tofile`` one is there only while a cell whose text says ``tofile`` runs, and that cell's write is recorded."""
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NBLINEAGE_", "OPENLINEAGE"))}
    env |= {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "IPYTHONDIR": str(tmp_path / "ip")}
    env |= {"PYTHONPATH": os.pathsep.join(sys.path), "NBLINEAGE_STRICT": "1"}
    target = tmp_path / "signal.bin"
    done = subprocess.run(
        [sys.executable, "-c", KERNEL_PROBE, str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"plain": [], "tofile": ["TofileCalls"], "after": [], "unloaded": []}
    with Store(url) as store, store.read() as conn:
        payloads = [json.loads(row[0]) for row in conn.execute(text("SELECT payload FROM events"))]
    outputs = {output["name"] for payload in payloads for output in payload.get("outputs", [])}
    assert str(target) in outputs


def test_a_memmap_opened_on_a_file_is_a_read(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "train.dat"
    np.arange(24, dtype="float32").tofile(path)
    capture.take_record()
    for mode in ("r", "r+", "c", "readonly"):
        mapped = np.memmap(path, dtype="float32", mode=mode, shape=(4, 6))
        assert capture.of(mapped).sources == {source(path)}, mode
        assert capture.of(mapped).precision == "exact"
    assert capture.of(np.memmap(str(path), dtype="float32")).sources == {source(path)}  # mode "r+" by default
    with open(path, "rb") as handle:
        assert capture.of(np.memmap(handle, dtype="float32", mode="r")).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]
    capture.take_record()
    np.memmap(tmp_path / "new.dat", dtype="float32", mode="w+", shape=(3,))  # made, not read
    assert not capture.record.inputs


def test_a_flushed_writable_memmap_is_a_write(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "features.dat"
    np.zeros(6, dtype="float64").tofile(path)
    read = source(path)
    mapped = np.memmap(path, dtype="float64", mode="r+", shape=(6,))
    mapped[:] = 1.0
    mapped.flush()
    output = only_output(capture)
    assert output.source == source(path) and output.source != read
    assert output.provenance.sources == {read}
    capture.take_record()
    np.memmap(path, dtype="float64", mode="r").flush()  # opened to read: nothing written
    np.memmap(path, dtype="float64", mode="c").flush()
    assert not capture.record.outputs
    made = np.memmap(tmp_path / "made.dat", dtype="float64", mode="w+", shape=(2,))
    made[:] = 2.0
    made.flush()
    assert only_output(capture).source == source(tmp_path / "made.dat")
