"""The pandas hook: files read and written, provenance through transforms, and that it never changes pandas."""

from __future__ import annotations

import copy
import inspect
import io
import pickle
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandas.io.api
import pandas.io.parsers
import pandas.io.parsers.readers
import pytest
import wrapt
import xxhash
from pandas.core.arraylike import OpsMixin
from pandas.core.generic import NDFrame
from pandas.core.indexing import _LocationIndexer

from nblineage.kernel_ext import fingerprint, safety
from nblineage.kernel_ext.capture import Capture, activate
from nblineage.kernel_ext.hooks.files import locate, record_read
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.kernel_ext.safety import HookError

INSTRUMENTORS = (PandasInstrumentor,)
pytestmark = pytest.mark.usefixtures("fresh_error_counts")


@pytest.fixture
def a_csv(tmp_path: Path) -> Path:
    path = tmp_path / "a.csv"
    path.write_text("k,x\n1,10\n2,20\n3,\n")
    return path


@pytest.fixture
def b_csv(tmp_path: Path) -> Path:
    path = tmp_path / "b.csv"
    path.write_text("k,y\n1,1.5\n2,2.5\n3,3.5\n")
    return path


def file_source(path: Path) -> Source:
    return Source("file", str(path), fingerprint.file_version(path))


def names(provenance: Provenance) -> set[str]:
    return {Path(source.name).name for source in provenance.sources}


# Reads ---------------------------------------------------------------------------------------------------------


def test_read_csv_records_the_file_version_and_schema_and_tags_the_frame(capture: Capture, a_csv: Path) -> None:
    frame = pd.read_csv(a_csv)
    source = file_source(a_csv)
    assert source.version is not None
    assert capture.record.inputs == {
        source: {"schema": {"fields": [{"name": "k", "type": "int64"}, {"name": "x", "type": "float64"}]}}
    }
    assert capture.of(frame) == Provenance(frozenset({source}), "exact")
    assert capture.record.outputs == []


# Readers are looked up when called: the hook patches the pandas module's attributes.
WRITE_AND_READ: dict[str, tuple[Callable[[pd.DataFrame, Path], Any], Callable[[Path], Any]]] = {
    "csv": (lambda df, p: df.to_csv(p, index=False), lambda p: pd.read_csv(p)),
    "table": (lambda df, p: df.to_csv(p, sep="\t", index=False), lambda p: pd.read_table(p)),
    "parquet": (lambda df, p: df.to_parquet(p), lambda p: pd.read_parquet(p)),
    "json": (lambda df, p: df.to_json(p), lambda p: pd.read_json(p)),
    "feather": (lambda df, p: df.to_feather(p), lambda p: pd.read_feather(p)),
    "orc": (lambda df, p: df.to_orc(p), lambda p: pd.read_orc(p)),
    "pickle": (lambda df, p: df.to_pickle(p), lambda p: pd.read_pickle(p)),
    "excel": (lambda df, p: df.to_excel(p, index=False), lambda p: pd.read_excel(p)),
    "stata": (lambda df, p: df.to_stata(p, write_index=False), lambda p: pd.read_stata(p)),
    "xml": (lambda df, p: df.to_xml(p, index=False, parser="etree"), lambda p: pd.read_xml(p, parser="etree")),
    "hdf": (lambda df, p: df.to_hdf(p, key="frame", mode="w"), lambda p: pd.read_hdf(p, "frame")),
}


@pytest.mark.parametrize("fmt", list(WRITE_AND_READ))
def test_every_format_records_its_write_and_its_read(capture: Capture, a_csv: Path, tmp_path: Path, fmt: str) -> None:
    if fmt == "excel":
        pytest.importorskip("openpyxl")
    write, read = WRITE_AND_READ[fmt]
    frame = pd.read_csv(a_csv)
    path = tmp_path / f"out.{fmt}"
    write(frame, path)
    (output,) = capture.record.outputs
    assert output.source == file_source(path)
    assert output.provenance == Provenance(frozenset({file_source(a_csv)}))
    assert [field["name"] for field in output.facets["schema"]["fields"]] == ["k", "x"]

    capture.take_record()
    again = read(path)
    assert list(capture.record.inputs) == [file_source(path)]
    assert capture.of(again) == Provenance(frozenset({file_source(path)}))


def test_sheets_parsed_from_an_excel_file_are_reads_of_the_workbook(
    capture: Capture, a_csv: Path, tmp_path: Path
) -> None:
    """``xl = pd.ExcelFile(path)``, then ``xl.parse(sheet)`` (business notebooks' way with workbooks): each sheet
    parsed is a read of the workbook, as ``read_excel`` of it is."""
    pytest.importorskip("openpyxl")
    path = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.read_csv(a_csv).to_excel(writer, sheet_name="Data", index=False)
    capture.take_record()
    workbook = pd.ExcelFile(path)
    sheets = {name: workbook.parse(name) for name in workbook.sheet_names}
    assert list(capture.record.inputs) == [file_source(path)]
    assert capture.of(sheets["Data"]) == Provenance(frozenset({file_source(path)}))
    assert list(sheets["Data"].columns) == ["k", "x"]


def test_a_workbooks_schema_holds_the_columns_of_every_sheet_read(capture: Capture, tmp_path: Path) -> None:
    """Two sheets of one workbook read in a cell, parsed one by one or as a dict: the workbook's schema has the
    columns of both (the second sheet's replaced the first's, and a model's features found no source column)."""
    pytest.importorskip("openpyxl")
    path = tmp_path / "telco.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"id": [1, 2], "tenure": [3, 4]}).to_excel(writer, sheet_name="Customers", index=False)
        pd.DataFrame({"id": [1, 2], "churn": ["y", "n"]}).to_excel(writer, sheet_name="Churn", index=False)
    for read in (
        lambda: [pd.ExcelFile(path).parse(sheet) for sheet in ("Customers", "Churn")],
        lambda: pd.read_excel(path, sheet_name=None),
    ):
        capture.take_record()
        read()
        fields = capture.record.inputs[file_source(path)]["schema"]["fields"]
        assert [field["name"] for field in fields] == ["id", "tenure", "churn"]


@pytest.mark.parametrize("fmt", ["spss", "sas"])
def test_statistics_packages_files_are_read(capture: Capture, tmp_path: Path, fmt: str) -> None:
    """SPSS ``.sav`` and SAS transport files (written by pyreadstat, as those packages would)."""
    import pyreadstat

    data = pd.DataFrame({"age": [31.0, 45.0], "score": [2.5, 3.0]})
    path = tmp_path / ("survey.sav" if fmt == "spss" else "survey.xpt")
    if fmt == "spss":
        pyreadstat.write_sav(data, str(path))
    else:
        pyreadstat.write_xport(data, str(path), file_format_version=5)  # the version pandas reads
    capture.take_record()
    frame = pd.read_spss(path) if fmt == "spss" else pd.read_sas(path, format="xport")
    assert capture.of(frame).sources == {file_source(path)} and list(capture.record.inputs) == [file_source(path)]


def test_a_fixed_width_file_is_read(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "housing.data"
    path.write_text(" 0.00632  18.00   2.310\n 0.02731   0.00   7.070\n")  # the UCI Boston housing layout
    frame = pd.read_fwf(path, header=None)
    assert capture.of(frame).sources == {file_source(path)} and list(capture.record.inputs) == [file_source(path)]


@pytest.mark.parametrize("module", [pandas.io.parsers.readers, pandas.io.parsers, pandas.io.api, pd])
def test_every_alias_of_a_reader_is_patched(capture: Capture, a_csv: Path, module: Any) -> None:
    assert module.read_csv is pd.read_csv  # one wrapper for every alias, so that it pickles by reference
    frame = module.read_csv(a_csv)
    assert capture.of(frame).sources == {file_source(a_csv)}


def test_chunked_reads_tag_every_chunk(capture: Capture, a_csv: Path, tmp_path: Path) -> None:
    with pd.read_csv(a_csv, chunksize=1) as reader:
        chunks = list(reader)
    assert len(chunks) == 3
    assert all(capture.of(chunk).sources == {file_source(a_csv)} for chunk in chunks)
    assert list(capture.record.inputs) == [file_source(a_csv)]

    lines = tmp_path / "a.jsonl"
    lines.write_text('{"k": 1}\n{"k": 2}\n')
    with pd.read_json(lines, lines=True, chunksize=1) as json_reader:
        json_chunks = list(json_reader)
    assert len(json_chunks) == 2
    assert all(capture.of(chunk).sources == {file_source(lines)} for chunk in json_chunks)


def test_file_objects_are_named_by_their_path_and_buffers_record_nothing(
    capture: Capture, a_csv: Path, tmp_path: Path
) -> None:
    with open(a_csv) as handle:
        frame = pd.read_csv(handle)
    assert capture.of(frame).sources == {file_source(a_csv)}
    capture.take_record()

    buffered = pd.read_csv(io.StringIO(a_csv.read_text()))
    assert not capture.of(buffered)
    assert capture.record.inputs == {}

    out = tmp_path / "handle.csv"
    with open(out, "w") as handle:
        frame.to_csv(handle)
    (output,) = capture.record.outputs
    assert output.source == Source("file", str(out), None)  # maybe unflushed when written: no version
    assert names(output.provenance) == {"a.csv"}


def test_a_member_of_a_zip_or_tar_archive_is_named_by_its_archive(
    capture: Capture, a_csv: Path, tmp_path: Path
) -> None:
    zipped, tarred = tmp_path / "parts.zip", tmp_path / "parts.tar"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(a_csv, "inner/a.csv")
    with tarfile.open(tarred, "w") as archive:
        archive.add(a_csv, "inner/a.csv")
    with zipfile.ZipFile(zipped) as archive, archive.open("inner/a.csv") as member:
        from_zip = pd.read_csv(member)
    with tarfile.open(tarred) as archive, archive.extractfile("inner/a.csv") as member:
        from_tar = pd.read_csv(member)
    assert capture.of(from_zip).sources == {file_source(zipped)}
    assert capture.of(from_tar).sources == {file_source(tarred)}


def test_file_uris_name_the_local_file(capture: Capture, a_csv: Path) -> None:
    frame = pd.read_csv(a_csv.as_uri())
    assert capture.of(frame).sources == {file_source(a_csv)}


# Writes --------------------------------------------------------------------------------------------------------


def test_an_output_has_exactly_the_provenance_of_the_frame_written(
    capture: Capture, a_csv: Path, b_csv: Path, tmp_path: Path
) -> None:
    a = pd.read_csv(a_csv)
    b = pd.read_csv(b_csv)
    both = a.merge(b, on="k")
    only_a = a[a["x"] > 10].assign(double=lambda frame: frame["x"] * 2)
    only_a.to_parquet(tmp_path / "only_a.parquet")
    both.to_csv(tmp_path / "both.csv")
    first, second = capture.record.outputs
    assert first.source == file_source(tmp_path / "only_a.parquet")
    assert first.provenance == Provenance(frozenset({file_source(a_csv)}), "exact")
    assert second.source == file_source(tmp_path / "both.csv")
    assert second.provenance.sources == {file_source(a_csv), file_source(b_csv)}
    assert set(capture.record.inputs) == {file_source(a_csv), file_source(b_csv)}


def test_rows_appended_to_a_file_make_a_version_that_holds_the_one_before(
    capture: Capture, a_csv: Path, b_csv: Path, tmp_path: Path
) -> None:
    merged = tmp_path / "merged.csv"
    pd.read_csv(a_csv).to_csv(merged, index=False)  # written anew: from a alone
    first = file_source(merged)
    pd.read_csv(b_csv).to_csv(merged, mode="a", index=False, header=False)
    second = file_source(merged)
    assert first.version != second.version
    written, appended = capture.record.outputs
    assert written.source == first and written.provenance.sources == {file_source(a_csv)}
    assert appended.source == second and appended.provenance.sources == {file_source(b_csv), first}
    assert first in capture.record.inputs
    pd.read_csv(a_csv).to_csv(tmp_path / "new.csv", mode="a", index=False)  # appended to no file: a new one
    assert capture.record.outputs[-1].provenance.sources == {file_source(a_csv)}


def test_a_series_holding_a_model_pickled_is_a_model_save(capture: Capture, a_csv: Path, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    frame = pd.read_csv(a_csv).fillna(0)
    model = LinearRegression().fit(frame[["x"]], frame["x"])
    capture.derive(model, frame)  # as the fit hook does (not installed here)
    pd.Series({"modelo": model, "features_fit": ["x"], "cutoff": 0.7}).to_pickle(tmp_path / "model.pkl")
    frame.to_pickle(tmp_path / "frame.pkl")
    saved, written = capture.record.outputs
    assert saved.source == file_source(tmp_path / "model.pkl") and saved.provenance.sources == {file_source(a_csv)}
    assert saved.model is not None and saved.model["class"] == "sklearn.linear_model._base.LinearRegression"
    assert saved.model["container"].startswith("pandas")
    assert written.source == file_source(tmp_path / "frame.pkl") and written.model is None


def test_to_csv_without_a_path_records_nothing(capture: Capture, a_csv: Path) -> None:
    frame = pd.read_csv(a_csv)
    capture.take_record()
    text = frame.to_csv(index=False)
    assert text.startswith("k,x")
    assert frame.to_json() and frame.to_parquet() is not None
    assert capture.record.outputs == [] and capture.record.inputs == {}


def test_rewriting_a_file_gives_a_new_version(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forgotten: list[str] = []
    forget = fingerprint.forget
    monkeypatch.setattr(fingerprint, "forget", lambda path: (forgotten.append(str(path)), forget(path)))
    path = tmp_path / "same_size.csv"
    pd.DataFrame({"v": [1, 2]}).to_csv(path, index=False)
    pd.DataFrame({"v": [3, 4]}).to_csv(path, index=False)  # same size, maybe the same mtime tick and inode
    first, second = capture.record.outputs
    assert first.source.version != second.source.version
    assert second.source.version == xxhash.xxh3_128(path.read_bytes()).hexdigest()
    assert forgotten == [str(path), str(path)]  # a cached fingerprint is never trusted after a write

    frame = pd.read_csv(path)
    assert capture.of(frame).sources == {second.source}


def test_a_partitioned_parquet_folder_is_one_dataset(capture: Capture, a_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    pd.read_csv(a_csv).to_parquet(folder, partition_cols=["k"])
    (output,) = capture.record.outputs
    assert output.source == file_source(folder)
    frame = pd.read_parquet(folder)
    assert capture.of(frame).sources == {file_source(folder)}


# Transforms ----------------------------------------------------------------------------------------------------

A, AB = {"a.csv"}, {"a.csv", "b.csv"}
TRANSFORMS: list[tuple[str, Callable[[pd.DataFrame, pd.DataFrame], Any], set[str]]] = [
    ("column", lambda a, b: a["x"], A),
    ("columns", lambda a, b: a[["k", "x"]], A),
    ("mask", lambda a, b: a[a["x"] > 10], A),
    ("assign", lambda a, b: a.assign(z=1), A),
    ("assign-other", lambda a, b: a.assign(y=b["y"]), AB),
    ("merge", lambda a, b: a.merge(b, on="k"), AB),
    ("pd.merge", lambda a, b: pd.merge(a, b, on="k"), AB),
    ("join", lambda a, b: a.join(b.set_index("k"), on="k"), AB),
    ("align-columns", lambda a, b: a.align(b, join="inner", axis=1)[0], A),  # b names the columns kept: no data
    ("align-columns-other", lambda a, b: a.align(other=b, axis="columns")[1], {"b.csv"}),
    ("align-rows", lambda a, b: a.align(b, join="inner", axis=0)[0], AB),  # b's index picks the rows
    ("concat", lambda a, b: pd.concat([a, b]), AB),
    ("concat-many", lambda a, b: pd.concat([a] * 100 + [b]), AB),
    ("concat-dict", lambda a, b: pd.concat({"a": a, "b": b}), AB),
    ("groupby-agg", lambda a, b: a.groupby("k").agg({"x": "sum"}), A),
    ("groupby-sum", lambda a, b: a.groupby("k").sum(), A),
    ("groupby-column-mean", lambda a, b: a.groupby("k")["x"].mean(), A),
    ("groupby-transform", lambda a, b: a.groupby("k")["x"].transform("max"), A),
    ("groupby-by-other", lambda a, b: a.groupby(b["y"]).size(), AB),
    ("rolling", lambda a, b: a["x"].rolling(2).mean(), A),
    ("get_dummies", lambda a, b: pd.get_dummies(a, columns=["k"]), A),
    ("dropna", lambda a, b: a.dropna(), A),
    ("fillna", lambda a, b: a.fillna(0), A),
    ("fillna-other", lambda a, b: a["x"].fillna(b["y"]), AB),
    ("drop", lambda a, b: a.drop(columns=["x"]), A),
    ("rename", lambda a, b: a.rename(columns={"x": "z"}), A),
    ("astype", lambda a, b: a.astype("float32"), A),
    ("copy", lambda a, b: a.copy(), A),
    ("head", lambda a, b: a.head(2), A),
    ("sample", lambda a, b: a.sample(2, random_state=0), A),
    ("query", lambda a, b: a.query("x > 10"), A),
    ("loc-mask", lambda a, b: a.loc[a["x"] > 10], A),
    ("loc-column", lambda a, b: a.loc[:, "x"], A),
    ("iloc", lambda a, b: a.iloc[:2], A),
    ("series-iloc", lambda a, b: a["x"].iloc[1:], A),
    ("add", lambda a, b: a["x"] + b["y"], AB),
    ("scalar", lambda a, b: a["x"] * 2, A),
    ("reflected", lambda a, b: 2 - a["x"], A),
    ("compare", lambda a, b: a["x"] > b["y"], AB),
    ("negate", lambda a, b: -a["x"], A),
    ("frame-add", lambda a, b: a[["k"]] + b[["k"]], AB),
    ("to_numpy", lambda a, b: a.to_numpy(), A),
    ("values", lambda a, b: a.values, A),
    ("series-values", lambda a, b: a["x"].values, A),
    ("asarray", lambda a, b: np.asarray(a), A),
    ("transpose", lambda a, b: a.T, A),
    ("reset_index", lambda a, b: a.set_index("k").reset_index(), A),
    ("sort_values", lambda a, b: a.sort_values("x"), A),
    ("map", lambda a, b: a["k"].map(b.set_index("k")["y"]), AB),
    ("constructor", lambda a, b: pd.DataFrame({"x": a["x"], "y": b["y"]}), AB),
    ("from-numpy", lambda a, b: pd.Series(b["y"].to_numpy()), {"b.csv"}),
    ("to_datetime", lambda a, b: pd.to_datetime(a["k"], unit="D"), A),
]


@pytest.mark.parametrize(
    ("transform", "expected"), [(t, e) for _, t, e in TRANSFORMS], ids=[i for i, _, _ in TRANSFORMS]
)
def test_transforms_carry_provenance(
    capture: Capture,
    a_csv: Path,
    b_csv: Path,
    transform: Callable[[pd.DataFrame, pd.DataFrame], Any],
    expected: set[str],
) -> None:
    a, b = pd.read_csv(a_csv), pd.read_csv(b_csv)
    result = transform(a, b)
    provenance = capture.of(result)
    assert names(provenance) == expected
    assert provenance.precision == "exact"


@pytest.mark.parametrize("transform", [t for _, t, _ in TRANSFORMS], ids=[i for i, _, _ in TRANSFORMS])
def test_transforms_return_exactly_what_pandas_returns(
    a_csv: Path, b_csv: Path, transform: Callable[[pd.DataFrame, pd.DataFrame], Any]
) -> None:
    expected = transform(pd.read_csv(a_csv), pd.read_csv(b_csv))
    activate(Capture())
    instrumentor = PandasInstrumentor()
    instrumentor.instrument()
    try:
        got = transform(pd.read_csv(a_csv), pd.read_csv(b_csv))
    finally:
        instrumentor.uninstrument()
        activate(None)
    assert type(got) is type(expected)
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
    elif isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected)
    else:
        np.testing.assert_array_equal(got, expected)


def test_each_frame_of_a_dict_read_is_tagged(capture: Capture, a_csv: Path) -> None:
    """``read_excel(sheet_name=None)`` returns a dict of frames (openpyxl may be missing here, so directly)."""
    sheets = {"one": pd.DataFrame({"v": [1]}), "two": pd.DataFrame({"v": [2]})}
    location = locate(a_csv)
    assert location is not None
    record_read(capture, [location], sheets)
    assert all(capture.of(frame).sources == {file_source(a_csv)} for frame in sheets.values())
    assert list(capture.record.inputs) == [file_source(a_csv)]


def test_changes_in_place_add_the_provenance_of_what_was_put_in(capture: Capture, a_csv: Path, b_csv: Path) -> None:
    a, b = pd.read_csv(a_csv), pd.read_csv(b_csv)
    a["y"] = b["y"]
    assert names(capture.of(a)) == AB

    a2, b2 = pd.read_csv(a_csv), pd.read_csv(b_csv)
    a2.loc[:, "w"] = b2["y"].to_numpy()
    assert names(capture.of(a2)) == AB

    a3, b3 = pd.read_csv(a_csv), pd.read_csv(b_csv)
    a3["x"] += b3["y"]
    assert names(capture.of(a3)) == AB

    a4, b4 = pd.read_csv(a_csv), pd.read_csv(b_csv)
    a4.fillna({"x": b4["y"].mean()}, inplace=True)
    assert names(capture.of(a4)) == AB  # a statistic of b's rows brings b (hooks/rows.py: known by its value)
    a5 = pd.read_csv(a_csv)
    a5.fillna({"x": 0.5}, inplace=True)
    assert names(capture.of(a5)) == A  # a number the code wrote carries nothing


def test_frames_from_no_file_have_no_provenance(capture: Capture) -> None:
    left = pd.DataFrame({"k": [1, 2], "x": [1.0, 2.0]})
    right = pd.DataFrame({"k": [1, 2], "y": [3.0, 4.0]})
    merged = left.merge(right, on="k").groupby("k").sum()
    assert not capture.of(merged)
    assert capture.record.inputs == {} and capture.record.outputs == []


# Safety --------------------------------------------------------------------------------------------------------

PATCHED = [
    (pd, "read_csv"),
    (pd, "read_parquet"),
    (pd, "merge"),
    (pd, "concat"),
    (pd.DataFrame, "merge"),
    (pd.DataFrame, "to_parquet"),
    (pd.DataFrame, "__getitem__"),
    (NDFrame, "to_csv"),
    (NDFrame, "head"),
    (OpsMixin, "__add__"),
    (_LocationIndexer, "__getitem__"),
]


def test_patches_keep_name_module_signature_and_are_undone() -> None:
    originals = {(owner, name): getattr(owner, name) for owner, name in PATCHED}
    static = {(owner, name): inspect.getattr_static(owner, name) for owner, name in PATCHED}
    values = pd.DataFrame.__dict__["values"]
    frame_signature = inspect.signature(pd.DataFrame)
    instrumentor = PandasInstrumentor()
    instrumentor.instrument()
    try:
        for (owner, name), original in originals.items():
            patched = getattr(owner, name)
            assert isinstance(inspect.getattr_static(owner, name), wrapt.FunctionWrapper), name
            assert patched.__name__ == original.__name__
            assert patched.__qualname__ == original.__qualname__
            assert patched.__module__ == original.__module__
            assert patched.__doc__ == original.__doc__
            assert inspect.signature(patched) == inspect.signature(original)
        assert inspect.signature(pd.DataFrame) == frame_signature
        assert pd.DataFrame.__dict__["values"] is not values
        assert pd.DataFrame.values.__doc__ == values.__doc__
    finally:
        instrumentor.uninstrument()
    for key, original in static.items():
        assert inspect.getattr_static(*key) is original, key
    assert pd.read_csv is originals[(pd, "read_csv")]
    assert pandas.io.parsers.readers.read_csv is originals[(pd, "read_csv")]
    assert pd.DataFrame.__dict__["values"] is values
    for cls in (pd.DataFrame, pd.Series, NDFrame, OpsMixin, _LocationIndexer):
        leftovers = [key for key, value in vars(cls).items() if isinstance(value, wrapt.ObjectProxy)]
        assert leftovers == [], cls

    instrumentor.instrument()  # again after uninstrument
    try:
        assert isinstance(pd.read_csv, wrapt.FunctionWrapper)
    finally:
        instrumentor.uninstrument()
    assert pd.read_csv is originals[(pd, "read_csv")]


def test_functions_methods_and_frames_still_pickle(capture: Capture, a_csv: Path, b_csv: Path) -> None:
    assert pickle.loads(pickle.dumps(pd.read_csv)) is pd.read_csv
    assert pickle.loads(pickle.dumps(pd.concat)) is pd.concat
    a, b = pd.read_csv(a_csv), pd.read_csv(b_csv)
    head = pickle.loads(pickle.dumps(a.head))
    pd.testing.assert_frame_equal(head(1), a.head(1))
    assert pickle.loads(pickle.dumps(pd.DataFrame.merge))(a, b, on="k").shape == (3, 3)
    derived = a.merge(b, on="k").assign(z=lambda frame: frame["x"] * frame["y"]).groupby("k").sum()
    restored = pickle.loads(pickle.dumps(derived))
    pd.testing.assert_frame_equal(restored, derived)
    pd.testing.assert_frame_equal(copy.deepcopy(derived), derived)
    assert restored.equals(derived)


def test_with_capture_off_nothing_is_recorded_and_results_are_identical(
    a_csv: Path, b_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pipeline(out: Path) -> pd.DataFrame:
        a, b = pd.read_csv(a_csv), pd.read_csv(b_csv)
        result = a.merge(b, on="k").assign(z=lambda frame: frame["x"] * 2).groupby("k").agg("sum")
        result.to_csv(out)
        np.asarray(result)
        return result

    expected = pipeline(tmp_path / "plain.csv")
    activate(None)
    instrumentor = PandasInstrumentor()
    instrumentor.instrument()
    try:
        with monkeypatch.context() as patches:  # the hooks must not even try
            patches.setattr(fingerprint, "file_version", _boom)
            patches.setattr(Capture, "derive", _boom)
            got = pipeline(tmp_path / "hooked.csv")
        session = Capture()
        activate(session)
        assert not session.of(got)
    finally:
        instrumentor.uninstrument()
        activate(None)
    pd.testing.assert_frame_equal(got, expected)
    assert (tmp_path / "hooked.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert session.record.inputs == {} and session.record.outputs == []


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


def test_a_fault_in_a_read_hook_raises_only_when_strict(
    capture: Capture, a_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = pd.read_csv(a_csv)
    capture.take_record()
    monkeypatch.setattr(fingerprint, "file_version", _boom)
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    with pytest.raises(HookError, match="injected fault"):
        pd.read_csv(a_csv)
    safety.errors.clear()
    monkeypatch.delenv("NBLINEAGE_STRICT")
    with pytest.warns(RuntimeWarning, match="pandas.read_csv"):
        got = pd.read_csv(a_csv)
    pd.testing.assert_frame_equal(got, expected)
    got_again = pd.read_csv(a_csv)  # further failures are only logged
    pd.testing.assert_frame_equal(got_again, expected)
    assert safety.errors["pandas.read_csv"] == 2
    assert capture.record.inputs == {}


def test_a_fault_in_a_write_or_transform_hook_leaves_the_result(
    capture: Capture, a_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.read_csv(a_csv)
    expected_values = frame.to_numpy()
    monkeypatch.setattr(capture, "derive", _boom)
    monkeypatch.setattr(capture, "write", _boom)
    with pytest.raises(HookError):
        frame.merge(frame, on="k")
    with pytest.raises(HookError):
        frame.to_csv(tmp_path / "strict.csv")
    assert (tmp_path / "strict.csv").exists()  # the write itself happened

    safety.errors.clear()
    monkeypatch.delenv("NBLINEAGE_STRICT")
    with pytest.warns(RuntimeWarning):
        merged = frame.merge(frame, on="k")
    assert merged.shape == (3, 3)
    assert frame.to_csv(tmp_path / "lenient.csv", index=False) is None  # the same fault: warned once, then logged
    assert (tmp_path / "lenient.csv").read_text() == "k,x\n1,10.0\n2,20.0\n3,\n"
    values = frame.values
    assert sum(safety.errors.values()) == 3
    np.testing.assert_array_equal(values, expected_values)


def test_user_errors_propagate_unchanged_and_record_nothing(capture: Capture, a_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        pd.read_csv(tmp_path / "missing.csv")
    assert type(missing.value) is FileNotFoundError
    frame = pd.read_csv(a_csv)
    capture.take_record()
    with pytest.raises(KeyError) as key_error:
        frame["nope"]
    assert type(key_error.value) is KeyError
    with pytest.raises(KeyError):
        frame.merge(frame, on="nope")
    with pytest.raises(pd.errors.MergeError):
        frame.merge(frame, left_on="k")
    with pytest.raises(OSError):
        frame.to_csv(tmp_path / "no" / "such" / "dir.csv")
    assert capture.record.inputs == {} and capture.record.outputs == []


def test_columns_a_join_renames_trace_to_the_column_both_sides_had(capture: Capture) -> None:
    left = pd.DataFrame({"k": [1, 2], "a": [1.0, 2.0], "b": [3, 4]})
    right = pd.DataFrame({"k": [1, 2], "a": [5.0, 6.0], "c": [7, 8]})
    assert list(left.merge(right, on="k").columns) == ["k", "a_x", "b", "a_y", "c"]
    assert capture.column_rules == {"a_x": {"a"}, "a_y": {"a"}}
    pd.merge(left, right, on="k", suffixes=("", "_right"))
    assert capture.column_rules["a_right"] == {"a"} and "a" not in capture.column_rules
    left.set_index("k").join(right.set_index("k"), suffixes=("_l", "_r"))
    assert capture.column_rules["a_l"] == capture.column_rules["a_r"] == {"a"}
    with pytest.warns(Warning, match="lsuffix"):  # deprecated in pandas 3
        left.set_index("k").join(right.set_index("k"), rsuffix="_other")
    assert capture.column_rules["a_other"] == {"a"}
    assert not {"b", "c", "k"} & set(capture.column_rules)


def test_get_dummies_columns_trace_to_the_column_they_encode(capture: Capture) -> None:
    df = pd.DataFrame({"age": [30, 40, 50], "region": ["east", "west", "east"], "plan": ["a", "b", "a"]})
    capture.read(Source("file", "/data/customers.csv", "v1"), df)
    dummies = pd.get_dummies(df, columns=["region"])
    assert capture.of(dummies).sources == {Source("file", "/data/customers.csv", "v1")}
    assert capture.column_rules == {"region_east": {"region"}, "region_west": {"region"}}
    pd.get_dummies(df, prefix={"region": "r", "plan": "p"}, prefix_sep="=")
    assert capture.column_rules["r=west"] == {"region"} and capture.column_rules["p=b"] == {"plan"}
    pd.get_dummies(df["plan"], prefix="plan_kind")
    assert capture.column_rules["plan_kind_a"] == {"plan"}
    assert "age" not in capture.column_rules  # kept as it was


def test_reshaped_columns_trace_to_the_columns_whose_values_they_hold(capture: Capture) -> None:
    wide = pd.DataFrame({"id": ["a", "b"], "store": ["s1", "s2"], "d_1": [1, 2], "d_2": [3, 4], "d_3": [5, 6]})
    capture.read(Source("file", "/data/sales.csv", "v1"), wide)
    long = wide.melt(id_vars=["id", "store"], var_name="d", value_name="sales")
    assert capture.of(long).sources == {Source("file", "/data/sales.csv", "v1")}
    assert capture.column_rules == {"sales": {"d_1", "d_2", "d_3"}}  # not "d": it holds their names
    pd.melt(wide, id_vars=("id", "store"), value_vars=wide.columns[2:4])
    assert capture.column_rules["value"] == {"d_1", "d_2"}
    orders = pd.DataFrame({"cust": [1, 1, 2], "cat": ["food", "toys", "food"], "amount": [1.0, 2.0, 3.0]})
    orders["qty"] = [1, 2, 3]
    capture.column_rules.clear()
    orders.pivot_table(index="cust", columns="cat", values="amount", aggfunc="sum", margins=True)
    assert capture.column_rules == {key: {"amount", "cat"} for key in ("food", "toys", "All")}
    pd.pivot(orders, index="cust", columns="cat")  # every other column, each its own: ('qty', 'food')
    assert capture.column_rules["('qty', 'food')"] == {"qty", "cat"}
    assert capture.column_rules["('amount', 'toys')"] == {"amount", "cat"}
    pd.pivot_table(orders, values="amount", index="cust", aggfunc=["sum", "mean"])  # no columns: renamed only
    assert capture.column_rules["('mean', 'amount')"] == {"amount"}
    orders.pivot_table(index="cust", columns=orders["cat"].str.upper(), values="qty")  # a key of data names none
    assert capture.column_rules["FOOD"] == {"qty"}
    capture.column_rules.clear()
    capture.read(Source("file", "/data/orders.csv", "v1"), orders)
    spend = orders.groupby(["cust", "cat"])["amount"].mean().unstack(fill_value=0)
    assert capture.of(spend).sources == {Source("file", "/data/orders.csv", "v1")}
    assert capture.column_rules == {key: {"amount", "cat"} for key in ("food", "toys")}
    both = orders.set_index(["cust", "cat"]).unstack("cat")  # a frame: ('qty', 'toys') holds qty
    assert capture.column_rules["('qty', 'toys')"] == {"qty", "cat"}
    both.stack(0, future_stack=True)  # the value columns' level into the rows: food holds amount and qty
    assert capture.column_rules["food"] == {"amount", "qty", "cat"}
    both.stack("cat", future_stack=True)  # and back: amount is amount (no cycle through ('amount', 'food'))
    assert capture.column_rules["amount"] == {"amount", "cat"} and capture.column_rules["qty"] == {"qty", "cat"}
    made = set(capture.column_rules)
    orders.stack()  # a series: no columns made
    orders.groupby("cust")[["amount", "qty"]].sum().unstack()  # a series again
    assert set(capture.column_rules) == made


def test_columns_set_by_position_trace_to_the_columns_they_replace(capture: Capture) -> None:
    df = pd.DataFrame({"Cement (kg in a m^3 mixture)": [1.0, 2.0], "Age (day)": [3.0, 4.0], "strength": [5.0, 6.0]})
    df.columns = ["Cement", "Age", "strength"]  # the UCI concrete data's names, shortened
    assert list(df.columns) == ["Cement", "Age", "strength"]
    renamed = df.set_axis(["c", "a", "strength"], axis=1)
    assert list(renamed.columns) == ["c", "a", "strength"] and list(df.columns) == ["Cement", "Age", "strength"]
    df.index = ["first", "second"]  # the index: no column rule
    df.T.reset_index()  # pandas' own axes set inside its calls: none either
    df.columns = list(df.columns)  # the same names again: nothing renamed
    assert capture.column_rules == {
        "Cement": {"Cement (kg in a m^3 mixture)"},
        "Age": {"Age (day)"},
        "c": {"Cement"},
        "a": {"Age"},
    }
    with pytest.raises(ValueError, match="Length mismatch"):
        df.columns = ["only", "two"]  # pandas refuses it, as before; nothing learned
    assert "only" not in capture.column_rules
