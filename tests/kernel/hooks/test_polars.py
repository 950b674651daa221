"""The Polars hook: reads, lazy scans resolved at collect, transforms, conversions and writes, and that it never
changes what polars returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from engine_files import names, source, write_files

from nblineage.kernel_ext import columns, fingerprint, safety
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.polars import PolarsInstrumentor
from nblineage.kernel_ext.safety import HookError

INSTRUMENTORS = (PolarsInstrumentor, PandasInstrumentor)
pytestmark = pytest.mark.usefixtures("fresh_error_counts")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return write_files(tmp_path)


@pytest.fixture
def capture(files: dict[str, Path], capture: Capture) -> Capture:
    return capture


def test_reads_record_each_file_and_tag_the_frame(capture: Capture, files: dict[str, Path]) -> None:
    a = pl.read_csv(files["a"])
    b = pl.read_parquet(str(files["b"]))
    parts = pl.read_csv(str(files["parts"] / "*.csv"))
    assert a.shape == (3, 2) and parts.height == 2
    assert capture.of(a).sources == {source(files["a"])}
    assert capture.of(b).sources == {source(files["b"])}
    assert names(capture, parts) == {"p0.csv", "p1.csv"}  # a glob: each file it matched
    assert set(capture.record.inputs) >= {source(files["a"]), source(files["b"])}
    fields = capture.record.inputs[source(files["a"])]["schema"]["fields"]
    assert fields == [{"name": "k", "type": "Int64"}, {"name": "x", "type": "Float64"}]


def test_a_lazy_scan_reads_at_collect_with_the_version_then(capture: Capture, files: dict[str, Path]) -> None:
    lazy = pl.scan_csv(files["a"]).with_columns(pl.col("x") * 2)
    assert capture.record.inputs == {}  # a scan reads nothing
    pl.DataFrame({"k": [9], "x": [9.0]}).write_csv(files["a"])  # changed before it is read
    fingerprint.forget(files["a"])
    frame = lazy.collect()
    assert frame["x"].to_list() == [18.0]
    assert capture.of(frame).sources == {source(files["a"])}  # the version collected, not the one scanned
    assert set(capture.record.inputs) == {source(files["a"])}
    lazy2 = pl.scan_parquet(files["b"])
    first, second = pl.collect_all([lazy2, lazy2.select("k")])
    assert names(capture, first) == names(capture, second) == {"b.parquet"}


def test_transforms_and_joins_derive_from_every_input(capture: Capture, files: dict[str, Path]) -> None:
    a, b = pl.read_csv(files["a"]), pl.read_parquet(files["b"])
    joined = a.join(b, on="k").with_columns((pl.col("x") + pl.col("y")).alias("s")).filter(pl.col("k") > 1)
    grouped = joined.group_by("k").agg(pl.col("s").sum())
    stacked = pl.concat([a.select("k"), b.select("k")])
    assert names(capture, joined) == names(capture, grouped) == names(capture, stacked) == {"a.csv", "b.parquet"}
    assert names(capture, a.rename({"x": "w"})) == {"a.csv"}
    assert names(capture, a.lazy().join(b.lazy(), on="k").collect()) == {"a.csv", "b.parquet"}
    assert names(capture, a.select("x")) == {"a.csv"}
    assert names(capture, b["y"]) == {"b.parquet"}


def test_conversions_carry_provenance(capture: Capture, files: dict[str, Path]) -> None:
    a = pl.read_csv(files["a"])
    array, frame, table = a.to_numpy(), a.to_pandas(), a.to_arrow()
    column = a["x"].to_numpy()
    assert isinstance(array, np.ndarray) and isinstance(frame, pd.DataFrame)
    for converted in (array, frame, table, column):
        assert names(capture, converted) == {"a.csv"}
    back = pl.from_pandas(frame.assign(extra=1))
    assert names(capture, back) == {"a.csv"}


def test_writes_and_sinks_have_exactly_the_frames_inputs(
    capture: Capture, files: dict[str, Path], tmp_path: Path
) -> None:
    a, b = pl.read_csv(files["a"]), pl.read_parquet(files["b"])
    a.write_parquet(tmp_path / "a_out.parquet")
    assert a.write_csv() is not None  # to text: no output
    pl.scan_parquet(files["b"]).filter(pl.col("k") > 1).sink_csv(tmp_path / "b_out.csv")
    b.join(a, on="k").write_ipc(tmp_path / "j.arrow")
    outputs = {
        Path(out.source.name).name: {Path(s.name).name for s in out.provenance.sources}
        for out in capture.record.outputs
    }
    assert outputs == {"a_out.parquet": {"a.csv"}, "b_out.csv": {"b.parquet"}, "j.arrow": {"a.csv", "b.parquet"}}
    written = capture.record.outputs[0].source
    assert written == source(tmp_path / "a_out.parquet") and written.version is not None


def test_a_fault_in_the_hook_never_changes_the_read(
    capture: Capture, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(fingerprint, "file_version", boom)
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    with pytest.raises(HookError, match="injected fault"):
        pl.read_csv(files["a"])
    safety.errors.clear()
    monkeypatch.delenv("NBLINEAGE_STRICT")
    with pytest.warns(RuntimeWarning, match="polars.read_csv"):
        frame = pl.read_csv(files["a"])
    assert frame["x"].to_list() == [1.0, 2.0, 3.0]


def test_column_lineage_of_with_columns_select_and_rename(capture: Capture, files: dict[str, Path]) -> None:
    a = pl.read_csv(files["a"])
    derived = a.with_columns((pl.col("x") / pl.col("k")).alias("ratio"), doubled=pl.col("x") * 2).rename({"k": "key"})
    chosen = derived.select("ratio", "doubled", (pl.col("key") + 1).alias("next_key"))
    array = chosen.to_numpy()
    assert columns.array_columns(capture, array) == ["ratio", "doubled", "next_key"]
    assert columns.feature_lineage(capture, ["ratio", "doubled", "next_key", "x"]) == {
        "ratio": ["k", "x"],
        "doubled": ["x"],
        "next_key": ["k"],
    }
