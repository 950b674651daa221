"""The pyarrow hook: Parquet/CSV/Feather files and datasets read and written, Arrow <-> pandas provenance, and
that it never changes pyarrow."""

from __future__ import annotations

import inspect
import pickle
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow._csv
import pyarrow.csv as pcsv
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pyarrow.parquet.core
import pytest
import wrapt

from nblineage.kernel_ext import fingerprint, safety
from nblineage.kernel_ext.capture import Capture, activate
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.pyarrow import PyarrowInstrumentor
from nblineage.kernel_ext.instrument import Instrumentor, intercept
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.kernel_ext.safety import HookError

A = pa.table({"k": [1, 2, 3], "x": [10.0, 20.0, 30.0], "part": ["p", "q", "p"]})
B = pa.table({"k": [1, 2, 3], "y": ["u", "v", "w"]})


INSTRUMENTORS = (PyarrowInstrumentor,)
pytestmark = pytest.mark.usefixtures("fresh_error_counts")


@pytest.fixture
def capture(files: dict[str, Path], capture: Capture) -> Capture:
    """The capture, with pyarrow instrumented after ``files`` are written."""
    return capture


@pytest.fixture
def with_pandas(capture: Capture) -> Iterator[Capture]:
    """pandas instrumented too."""
    instrumentor = PandasInstrumentor()
    instrumentor.instrument()
    try:
        yield capture
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """a.parquet and b.parquet, and a partitioned folder of a, written before any hook is on."""
    paths = {"a": tmp_path / "a.parquet", "b": tmp_path / "b.parquet", "parts": tmp_path / "parts"}
    pq.write_table(A, paths["a"])
    pq.write_table(B, paths["b"])
    pq.write_to_dataset(A, paths["parts"], partition_cols=["part"])
    return paths


def file_source(path: Path) -> Source:
    return Source("file", str(path), fingerprint.file_version(path))


def exactly(*paths: Path) -> Provenance:
    return Provenance(frozenset(file_source(path) for path in paths), "exact")


# Reads ---------------------------------------------------------------------------------------------------------


def test_read_table_records_the_file_version_and_schema(capture: Capture, files: dict[str, Path]) -> None:
    table = pq.read_table(files["a"])
    source = file_source(files["a"])
    assert source.version is not None
    assert capture.record.inputs == {
        source: {
            "schema": {
                "fields": [
                    {"name": "k", "type": "int64"},
                    {"name": "x", "type": "double"},
                    {"name": "part", "type": "string"},
                ]
            }
        }
    }
    assert capture.of(table) == exactly(files["a"])


def test_a_partitioned_folder_is_one_dataset_versioned_by_its_files(capture: Capture, files: dict[str, Path]) -> None:
    folder = files["parts"]
    assert len(list(folder.rglob("*.parquet"))) == 2
    table = pq.read_table(folder)
    dataset = ds.dataset(folder, format="parquet", partitioning="hive")
    assert capture.of(table) == exactly(folder)
    assert capture.of(dataset) == exactly(folder)
    assert list(capture.record.inputs) == [file_source(folder)]
    assert capture.record.inputs[file_source(folder)]["schema"]["fields"][0] == {"name": "k", "type": "int64"}

    (folder / "part=p" / "extra.parquet").write_bytes((files["b"]).read_bytes())
    changed = ds.dataset(folder, format="parquet")
    assert capture.of(changed).sources != capture.of(dataset).sources  # a new file: a new version


def test_a_dataset_of_several_files_reads_each(capture: Capture, files: dict[str, Path]) -> None:
    dataset = ds.dataset([str(files["a"]), str(files["b"])], format="parquet")
    assert capture.of(dataset) == exactly(files["a"], files["b"])
    assert set(capture.record.inputs) == {file_source(files["a"]), file_source(files["b"])}
    table = pq.read_table([str(files["a"])])
    assert capture.of(table) == exactly(files["a"])


def test_a_dataset_of_tables_in_memory_derives_from_them(capture: Capture, files: dict[str, Path]) -> None:
    table = pq.read_table(files["a"])
    capture.take_record()
    dataset = ds.dataset(table)
    assert capture.of(dataset) == exactly(files["a"])
    assert capture.record.inputs == {}


def test_parquet_file_records_when_it_is_read(capture: Capture, files: dict[str, Path]) -> None:
    parquet_file = pq.ParquetFile(files["a"])
    assert isinstance(parquet_file, pq.ParquetFile)
    assert capture.record.inputs == {}  # opening reads no data
    results = [
        parquet_file.read(),
        parquet_file.read(columns=["x"]),
        parquet_file.read_row_group(0),
        parquet_file.read_row_groups([0]),
        parquet_file.iter_batches(batch_size=1),
    ]
    assert all(capture.of(result) == exactly(files["a"]) for result in results)
    assert list(capture.record.inputs) == [file_source(files["a"])]
    assert len(list(results[-1])) == 3


def test_parquet_dataset_records_when_it_is_read(capture: Capture, files: dict[str, Path]) -> None:
    dataset = pq.ParquetDataset(files["parts"])
    table = dataset.read()
    assert capture.of(table) == exactly(files["parts"])
    frame = dataset.read_pandas()
    assert capture.of(frame) == exactly(files["parts"])


def test_csv_and_feather_round_trips(capture: Capture, files: dict[str, Path], tmp_path: Path) -> None:
    table = pq.read_table(files["a"])
    outputs = {"csv": tmp_path / "a.csv", "feather": tmp_path / "a.feather"}
    pcsv.write_csv(table, outputs["csv"])
    feather.write_feather(table, outputs["feather"])
    assert [(output.source, output.provenance) for output in capture.record.outputs] == [
        (file_source(outputs["csv"]), exactly(files["a"])),
        (file_source(outputs["feather"]), exactly(files["a"])),
    ]
    capture.take_record()
    assert capture.of(pcsv.read_csv(outputs["csv"])) == exactly(outputs["csv"])
    assert capture.of(pcsv.open_csv(outputs["csv"])) == exactly(outputs["csv"])
    assert capture.of(feather.read_table(outputs["feather"])) == exactly(outputs["feather"])
    assert capture.of(feather.read_feather(outputs["feather"])) == exactly(outputs["feather"])
    assert set(capture.record.inputs) == {file_source(outputs["csv"]), file_source(outputs["feather"])}


# Writes --------------------------------------------------------------------------------------------------------


def test_an_output_has_exactly_the_provenance_of_the_table_written(
    capture: Capture, files: dict[str, Path], tmp_path: Path
) -> None:
    a = pq.read_table(files["a"])
    pq.read_table(files["b"])
    pq.write_table(a, tmp_path / "out.parquet")
    pq.write_to_dataset(a, tmp_path / "out_parts", partition_cols=["part"])
    ds.write_dataset(ds.dataset(files["parts"]), tmp_path / "copied", format="parquet")
    first, second, third = capture.record.outputs
    assert (first.source, first.provenance) == (file_source(tmp_path / "out.parquet"), exactly(files["a"]))
    assert (second.source, second.provenance) == (file_source(tmp_path / "out_parts"), exactly(files["a"]))
    assert (third.source, third.provenance) == (file_source(tmp_path / "copied"), exactly(files["parts"]))
    assert set(capture.record.inputs) == {file_source(p) for p in (files["a"], files["b"], files["parts"])}


def test_rewriting_a_file_gives_a_new_version(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(A, path)
    pq.write_table(A.set_column(1, "x", pa.array([1.0, 2.0, 3.0])), path)
    first, second = capture.record.outputs
    assert first.source.version != second.source.version
    assert second.source == file_source(path)


# Arrow <-> pandas ----------------------------------------------------------------------------------------------


def test_to_pandas_and_back_keep_provenance(capture: Capture, files: dict[str, Path], tmp_path: Path) -> None:
    frame = pq.read_table(files["a"]).to_pandas()
    assert capture.of(frame) == exactly(files["a"])
    assert capture.of(pa.table(frame)) == exactly(files["a"])
    feather.write_feather(frame, tmp_path / "frame.feather")
    (output,) = capture.record.outputs
    assert output.provenance == exactly(files["a"])


def test_pandas_reading_through_pyarrow_records_once(with_pandas: Capture, files: dict[str, Path]) -> None:
    frame = pd.read_parquet(files["parts"])
    assert list(with_pandas.record.inputs) == [file_source(files["parts"])]
    assert with_pandas.of(frame) == exactly(files["parts"])
    frame.head(1).to_parquet(files["a"].with_name("head.parquet"))
    (output,) = with_pandas.record.outputs  # DataFrame.to_parquet, not also the nested pq.write_table
    assert output.provenance == exactly(files["parts"])


# Naming --------------------------------------------------------------------------------------------------------


class FakeFileSystem:
    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def test_remote_locations_are_named_by_uri_without_credentials_or_version(tmp_path: Path) -> None:
    assert locate("s3://user:secret@bucket/dir/a.parquet?X-Amz-Signature=abc") == Location(
        "s3://bucket", "dir/a.parquet"
    )
    assert locate("bucket/dir/a.parquet", FakeFileSystem("s3")) == Location("s3://bucket", "dir/a.parquet")
    assert locate("bucket/a.parquet", FakeFileSystem("gcs")) == Location("gs://bucket", "a.parquet")
    assert locate("/a.parquet", FakeFileSystem("mystery")) is None
    assert Location("s3://bucket", "a.parquet").source() == Source("s3://bucket", "a.parquet", None)
    local = tmp_path / "x.parquet"
    local.write_bytes(b"x")
    subtree = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())
    assert locate("x.parquet", subtree) == Location("file", str(local), str(local))
    assert locate(str(local), pafs.LocalFileSystem()) == Location("file", str(local), str(local))
    assert locate(str(tmp_path / "missing.parquet")) is None
    assert locate("/dev/stdin") is None  # no fingerprinting of streams
    assert locate('[{"url": "http://example.com"}]') is None  # literal text is no URI


# Safety --------------------------------------------------------------------------------------------------------


def test_patches_keep_name_module_signature_pickle_and_are_undone() -> None:
    functions = {
        "pq.read_table": (pq, "read_table"),
        "core.read_table": (pyarrow.parquet.core, "read_table"),
        "csv.read_csv": (pcsv, "read_csv"),
        "_csv.read_csv": (pyarrow._csv, "read_csv"),
        "ds.dataset": (ds, "dataset"),
        "feather.write_feather": (feather, "write_feather"),
    }
    originals = {key: getattr(owner, name) for key, (owner, name) in functions.items()}
    init = pq.ParquetFile.__dict__["__init__"]
    parquet_file_signature = inspect.signature(pq.ParquetFile)
    instrumentor = PyarrowInstrumentor()
    instrumentor.instrument()
    try:
        for key, (owner, name) in functions.items():
            patched, original = getattr(owner, name), originals[key]
            assert isinstance(patched, wrapt.FunctionWrapper), key
            assert (patched.__name__, patched.__qualname__, patched.__module__, patched.__doc__) == (
                original.__name__,
                original.__qualname__,
                original.__module__,
                original.__doc__,
            )
            assert str(inspect.signature(patched)) == str(inspect.signature(original))
            assert pickle.loads(pickle.dumps(patched)) is patched
        assert pq.read_table is pyarrow.parquet.core.read_table and pcsv.read_csv is pyarrow._csv.read_csv
        assert inspect.signature(pq.ParquetFile) == parquet_file_signature
    finally:
        instrumentor.uninstrument()
    for key, (owner, name) in functions.items():
        assert getattr(owner, name) is originals[key], key
    assert pq.ParquetFile.__dict__["__init__"] is init


def test_tables_are_unchanged_and_pickle(capture: Capture, files: dict[str, Path]) -> None:
    table = pq.read_table(files["a"])
    assert table.equals(A)
    assert pickle.loads(pickle.dumps(table)).equals(A)
    frame = table.to_pandas()
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(frame)), A.to_pandas())


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


def test_with_capture_off_nothing_is_recorded(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(None)
    instrumentor = PyarrowInstrumentor()
    instrumentor.instrument()
    try:
        with monkeypatch.context() as patches:
            patches.setattr(fingerprint, "file_version", _boom)
            patches.setattr(Capture, "derive", _boom)
            table = pq.read_table(files["parts"])
            pq.write_table(table, tmp_path / "out.parquet")
            frame = table.to_pandas()
        session = Capture()
        activate(session)
        assert not session.of(table) and not session.of(frame)
    finally:
        instrumentor.uninstrument()
        activate(None)
    assert table.sort_by("k").equals(pq.read_table(files["parts"]).sort_by("k"))
    assert session.record.inputs == {} and session.record.outputs == []


def test_a_fault_in_a_hook_raises_only_when_strict(
    capture: Capture, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fingerprint, "file_version", _boom)
    with pytest.raises(HookError, match="injected fault"):
        pq.read_table(files["a"])
    safety.errors.clear()
    monkeypatch.delenv("NBLINEAGE_STRICT")
    with pytest.warns(RuntimeWarning, match="pyarrow.parquet.read_table"):
        table = pq.read_table(files["a"])
    assert table.equals(A)
    assert pq.write_table(table, tmp_path / "out.parquet") is None  # the same fault: warned once, then only logged
    assert sum(safety.errors.values()) == 2
    assert pq.read_table(tmp_path / "out.parquet").equals(A)
    assert capture.record.inputs == {} and capture.record.outputs == []


def test_user_errors_propagate_unchanged_and_record_nothing(capture: Capture, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        pq.read_table(tmp_path / "missing.parquet")
    assert type(missing.value) is FileNotFoundError
    with pytest.raises(FileNotFoundError):
        pcsv.read_csv(str(tmp_path / "missing.csv"))
    with pytest.raises(pa.ArrowInvalid):
        pa.table({"a": [1, 2], "b": [1]})
    assert capture.record.inputs == {} and capture.record.outputs == []


# Instrumenting a library's submodules --------------------------------------------------------------------------


def test_submodules_are_patched_when_imported_and_never_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "nbl_fake_lib"
    package.mkdir()
    (package / "__init__.py").write_text("def load(path):\n    return [path]\n")
    (package / "later.py").write_text(textwrap.dedent("def load(path):\n    return [path]\n"))
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[Any] = []

    class Fake(Instrumentor):
        modules = ("nbl_fake_lib", "nbl_fake_lib.later")

        def patches(self, module: Any) -> Iterator[tuple[Any, str, Any]]:
            yield module, "load", intercept(f"{module.__name__}.load", lambda c, r, a, k: seen.append(r))

    session = Capture()
    activate(session)
    instrumentor = Fake()
    try:
        instrumentor.instrument()
        assert "nbl_fake_lib" not in sys.modules  # nothing imported early
        import nbl_fake_lib

        assert isinstance(nbl_fake_lib.load, wrapt.FunctionWrapper)
        nbl_fake_lib.load("a")
        import nbl_fake_lib.later

        nbl_fake_lib.later.load("b")
        assert seen == [["a"], ["b"]]
        instrumentor.uninstrument()
        assert not isinstance(nbl_fake_lib.later.load, wrapt.FunctionWrapper)
        instrumentor.instrument()
        assert isinstance(nbl_fake_lib.later.load, wrapt.FunctionWrapper)
    finally:
        instrumentor.uninstrument()
        activate(None)
        for name in ("nbl_fake_lib.later", "nbl_fake_lib"):
            sys.modules.pop(name, None)
