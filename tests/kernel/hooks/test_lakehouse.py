"""Delta Lake and Iceberg hooks in process (no kernel): table versions and snapshot ids, appends derived from the
version before, time travel, user errors unchanged, and a fault in a hook raising only when strict."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import deltalake
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyiceberg.catalog.sql import SqlCatalog

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks import delta
from nblineage.kernel_ext.hooks.delta import DeltaInstrumentor
from nblineage.kernel_ext.hooks.iceberg import IcebergInstrumentor
from nblineage.kernel_ext.hooks.polars import PolarsInstrumentor
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import HookError

INSTRUMENTORS = (DeltaInstrumentor, IcebergInstrumentor, PolarsInstrumentor)
RAW, EXTRA = Source("file", "/data/raw.csv", "r1"), Source("file", "/data/extra.csv", "e1")
pytestmark = pytest.mark.usefixtures("fresh_error_counts")


def frames(capture: Capture) -> tuple[pd.DataFrame, pd.DataFrame]:
    first, second = pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [3]})
    capture.read(RAW, first)
    capture.read(EXTRA, second)
    return first, second


def test_delta_versions_written_and_read_back(capture: Capture, tmp_path: Path) -> None:
    first, second = frames(capture)
    table = tmp_path / "t"
    deltalake.write_deltalake(table, first)
    deltalake.write_deltalake(str(table), second, mode="append")
    v0, v1 = (Source("file", str(table), version) for version in ("0", "1"))
    assert [(output.source, set(output.provenance.sources)) for output in capture.record.outputs] == [
        (v0, {RAW}),
        (v1, {EXTRA, v0}),
    ]
    capture.take_record()
    old = DeltaTable(table, version=0).to_pandas()
    new = DeltaTable(f"file://{table}").to_pyarrow_table()
    assert capture.of(old).sources == {v0} and capture.of(new).sources == {v1}
    assert set(capture.record.inputs) == {v0, v1}
    assert capture.record.inputs[v0]["schema"]["fields"] == [{"name": "a", "type": "int64"}]


def test_iceberg_snapshots_written_and_time_travelled(capture: Capture, tmp_path: Path) -> None:
    first, second = frames(capture)
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=f"file://{tmp_path / 'wh'}")
    catalog.create_namespace("db")
    arrow = pa.table({"a": pa.array([1, 2], pa.int64())})
    capture.registry.tag(arrow, capture.of(first))
    table = catalog.create_table("db.t", schema=arrow.schema)
    table.append(arrow)
    snapshot_1 = table.current_snapshot().snapshot_id
    more = pa.table({"a": pa.array([3], pa.int64())})
    capture.registry.tag(more, capture.of(second))
    table.append(more)
    snapshot_2 = table.current_snapshot().snapshot_id
    name = str(tmp_path / "wh" / "db" / "t")
    s1, s2 = Source("file", name, str(snapshot_1)), Source("file", name, str(snapshot_2))
    assert [(output.source, set(output.provenance.sources)) for output in capture.record.outputs] == [
        (s1, {RAW}),
        (s2, {EXTRA, s1}),
    ]
    old = table.scan(snapshot_id=snapshot_1).to_pandas()
    assert len(old) == 2 and capture.of(old).sources == {s1}
    assert capture.of(table.scan().to_arrow()).sources == {s2}


def test_user_errors_unchanged_and_a_fault_raises_only_when_strict(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Exception, match=r"(?i)does not exist|not a delta table"):
        DeltaTable(tmp_path / "missing").to_pandas()
    deltalake.write_deltalake(tmp_path / "t", pd.DataFrame({"a": [1]}))
    capture.take_record()

    def boom(*args: object) -> None:
        raise ValueError("injected fault")

    monkeypatch.setattr(delta, "table_source", boom)
    with pytest.raises(HookError, match="injected fault"):
        DeltaTable(tmp_path / "t").to_pandas()
    safety.errors.clear()
    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)
    with pytest.warns(RuntimeWarning, match="deltalake"):
        frame = DeltaTable(tmp_path / "t").to_pandas()
    assert frame["a"].tolist() == [1]
    assert capture.record.inputs == {} and capture.record.outputs == []


def test_polars_delta_readers_record_the_version_they_read(capture: Capture, tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    deltalake.write_deltalake(tmp_path / "t", pd.DataFrame({"a": [1]}))
    deltalake.write_deltalake(tmp_path / "t", pd.DataFrame({"a": [2]}), mode="append")
    capture.take_record()
    assert pl.read_delta(str(tmp_path / "t"), version=0)["a"].to_list() == [1]
    assert set(capture.record.inputs) == {Source("file", str(tmp_path / "t"), "0")}
    assert len(pl.scan_delta(str(tmp_path / "t")).collect()) == 2
    assert set(capture.record.inputs) == {Source("file", str(tmp_path / "t"), version) for version in ("0", "1")}


def test_polars_frames_derive_from_the_delta_version_read(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polars resolves a Delta scan on its own threads: the collected frame (and ``read_delta``'s, which collects
    inside) still derives from the table at the version read, time travel from the version asked."""
    pl = pytest.importorskip("polars")
    monkeypatch.chdir(tmp_path)
    deltalake.write_deltalake("lake/t", pd.DataFrame({"a": [1]}))
    deltalake.write_deltalake("lake/t", pd.DataFrame({"a": [2]}), mode="append")
    v0, v1, v2 = (Source("file", str(tmp_path / "lake" / "t"), version) for version in "012")
    capture.take_record()
    old = pl.read_delta("lake/t", version=0)
    assert old["a"].to_list() == [1] and capture.of(old).sources == {v0}
    assert capture.of(pl.read_delta(DeltaTable("lake/t"))).sources == {v1}
    latest = pl.scan_delta("lake/t")
    assert capture.of(latest.filter(pl.col("a") > 0).collect()).sources == {v1}
    pinned = pl.scan_delta(tmp_path / "lake" / "t", version=0).select(pl.col("a") * 10)
    assert capture.of(pinned.collect()).sources == {v0}
    fresh = pl.scan_delta("lake/t")  # scanned before the write, collected after: the version then
    time.sleep(0.01)
    moment = datetime.now(timezone.utc)
    time.sleep(0.01)
    deltalake.write_deltalake("lake/t", pd.DataFrame({"a": [3]}), mode="append")
    assert capture.of(pl.read_delta("lake/t", version=moment)).sources == {v1}  # time travel by timestamp
    both = fresh.join(pinned, how="cross").collect()
    assert len(both) == 3 and capture.of(both).sources == {v0, v2}
    first, second = pl.collect_all([pl.scan_delta("lake/t", version=1), pl.scan_delta("lake/t")])
    assert capture.of(first).sources == {v1} and capture.of(second).sources == {v2}
    assert set(capture.record.inputs) == {v0, v1, v2}


def test_polars_iceberg_and_arrow_dataset_scans_carry_the_snapshot_read(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pl.scan_iceberg(table)`` (resolved on Polars' threads too) and ``pl.scan_pyarrow_dataset`` of a Delta
    version: the collected frame derives from the snapshot or version read."""
    pl = pytest.importorskip("polars")
    monkeypatch.setenv("POLARS_ICEBERG_PLANNER", "pyiceberg")  # no polars_iceberg plugin here: no warning
    catalog = SqlCatalog("t", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=f"file://{tmp_path / 'wh'}")
    catalog.create_namespace("db")
    arrow = pa.table({"a": pa.array([1, 2], pa.int64())})
    table = catalog.create_table("db.t", schema=arrow.schema)
    table.append(arrow)
    first = table.current_snapshot().snapshot_id
    table.append(arrow)
    second = table.current_snapshot().snapshot_id
    name = str(tmp_path / "wh" / "db" / "t")
    capture.take_record()
    old = pl.scan_iceberg(table, snapshot_id=first).filter(pl.col("a") > 0).collect()
    assert len(old) == 2 and capture.of(old).sources == {Source("file", name, str(first))}
    assert capture.of(pl.scan_iceberg(table).collect()).sources == {Source("file", name, str(second))}
    assert set(capture.record.inputs) == {Source("file", name, str(first)), Source("file", name, str(second))}
    deltalake.write_deltalake(tmp_path / "d", pd.DataFrame({"a": [1]}))
    dataset = DeltaTable(tmp_path / "d").to_pyarrow_dataset()
    frame = pl.scan_pyarrow_dataset(dataset).select("a").collect()
    assert capture.of(frame).sources == {Source("file", str(tmp_path / "d"), "0")}
