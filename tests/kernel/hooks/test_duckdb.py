"""The DuckDB hook: files, globs, frames scanned by name or registered, database-file tables, results and fetches,
writes, and that DuckDB's own behaviour (replacement scans, results) is unchanged."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import wrapt
from engine_files import names, source, write_files

from nblineage.kernel_ext import fingerprint, safety
from nblineage.kernel_ext.capture import Capture, activate
from nblineage.kernel_ext.hooks import duckdb as duckdb_hook
from nblineage.kernel_ext.hooks.duckdb import DuckdbInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.polars import PolarsInstrumentor
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import HookError
from nblineage.lineage.naming import duckdb_table_dataset

INSTRUMENTORS = (PandasInstrumentor, PolarsInstrumentor, DuckdbInstrumentor)
pytestmark = pytest.mark.usefixtures("fresh_error_counts")


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    return write_files(tmp_path)


@pytest.fixture
def capture(files: dict[str, Path], capture: Capture) -> Capture:
    return capture


def test_a_query_reads_its_files_and_its_results_carry_them(capture: Capture, files: dict[str, Path]) -> None:
    relation = duckdb.sql("SELECT * FROM 'a.csv' JOIN read_parquet('b.parquet') USING (k) WHERE x > 1")
    assert set(capture.record.inputs) == {source(files["a"]), source(files["b"])}
    results = [relation.df(), relation.pl(), relation.fetchnumpy()["x"], relation.fetchall(), relation.arrow()]
    assert isinstance(results[0], pd.DataFrame) and isinstance(results[1], pl.DataFrame)
    assert isinstance(results[4], (pa.Table, pa.RecordBatchReader)) and isinstance(results[2], np.ndarray)
    assert len(results[3]) == 2
    for result in (relation, *results):
        assert names(capture, result) == {"a.csv", "b.parquet"}
    assert names(capture, relation.filter("k > 2").project("x")) == {"a.csv", "b.parquet"}


def test_globs_lists_and_reader_functions(capture: Capture, files: dict[str, Path]) -> None:
    globbed = duckdb.sql("SELECT * FROM read_csv('parts/*.csv')")
    listed = duckdb.read_parquet([str(files["b"])])
    read = duckdb.connect().read_csv(str(files["a"]))
    assert names(capture, globbed) == {"p0.csv", "p1.csv"}
    assert names(capture, listed) == {"b.parquet"}
    assert names(capture, read.df()) == {"a.csv"}


def test_a_reader_function_gives_its_files_schema(capture: Capture, files: dict[str, Path]) -> None:
    duckdb.read_csv(str(files["a"]))
    duckdb.connect().read_parquet(str(files["b"]))
    schemas = {
        Path(source.name).name: [(field["name"], field["type"]) for field in facets["schema"]["fields"]]
        for source, facets in capture.record.inputs.items()
    }
    assert schemas == {"a.csv": [("k", "BIGINT"), ("x", "DOUBLE")], "b.parquet": [("k", "BIGINT"), ("y", "BIGINT")]}


def test_execute_then_fetch_on_the_connection_and_the_module(capture: Capture, files: dict[str, Path]) -> None:
    con = duckdb.connect()
    rows = con.execute("SELECT count(*) FROM 'a.csv'").fetchall()
    frame = con.execute("SELECT * FROM 'b.parquet'").df()
    assert rows == [(3,)]
    assert names(capture, rows) == {"a.csv"} and names(capture, frame) == {"b.parquet"}
    assert duckdb.execute("SELECT * FROM 'b.parquet'").fetchnumpy()["y"].tolist() == [4, 5, 6]
    arrays = duckdb.execute("SELECT * FROM 'a.csv'").fetchnumpy()
    assert names(capture, arrays["x"]) == {"a.csv"}


def test_frames_scanned_by_name_or_registered_carry_their_provenance(capture: Capture, files: dict[str, Path]) -> None:
    a_frame = pl.read_csv(files["a"])  # noqa: F841 (DuckDB reads it by its name)
    b_frame = pd.read_parquet(files["b"])
    joined = duckdb.sql("SELECT * FROM a_frame JOIN b_frame USING (k)")  # DuckDB finds them as it always did
    assert joined.fetchall() == [(1, 1.0, 4), (2, 2.0, 5), (3, 3.0, 6)]
    assert names(capture, joined) == {"a.csv", "b.parquet"}
    con = duckdb.connect()
    con.register("registered", b_frame)
    assert names(capture, con.sql("SELECT y FROM registered").pl()) == {"b.parquet"}
    assert names(capture, duckdb.from_df(b_frame)) == {"b.parquet"}


def test_database_file_tables_are_datasets(capture: Capture, files: dict[str, Path], tmp_path: Path) -> None:
    con = duckdb.connect("shop.duckdb")
    con.execute("CREATE TABLE orders AS SELECT * FROM 'a.csv'")
    con.sql("INSERT INTO orders SELECT k, y FROM 'b.parquet'")
    table = duckdb_table_dataset(str(tmp_path / "shop.duckdb"), "orders")
    assert table.namespace == f"duckdb://{tmp_path / 'shop.duckdb'}"
    orders = Source(table.namespace, table.name)
    written = [(out.source, names_of(out.provenance.sources)) for out in capture.record.outputs]
    assert written == [(orders, {"a.csv"}), (orders, {"b.parquet"})]
    capture.take_record()
    result = con.sql("SELECT * FROM orders").df()
    assert capture.of(result).sources == {orders}
    assert set(capture.record.inputs) == {orders}


def names_of(sources: frozenset[Source]) -> set[str]:
    return {Path(s.name).name for s in sources}


def test_in_memory_tables_carry_what_was_written_into_them(capture: Capture, files: dict[str, Path]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM 'b.parquet'")
    assert capture.record.outputs == []  # no dataset: it dies with the kernel
    assert names(capture, con.sql("SELECT * FROM t").df()) == {"b.parquet"}


def test_writes(capture: Capture, files: dict[str, Path], tmp_path: Path) -> None:
    duckdb.sql("COPY (SELECT * FROM 'a.csv' WHERE k > 1) TO 'copied.parquet' (FORMAT parquet)")
    duckdb.sql("SELECT * FROM 'b.parquet'").write_csv(str(tmp_path / "b.csv"))
    duckdb.sql("SELECT * FROM 'parts/*.csv'").to_parquet(str(tmp_path / "parts.parquet"))
    outputs = {Path(out.source.name).name: names_of(out.provenance.sources) for out in capture.record.outputs}
    assert outputs == {"copied.parquet": {"a.csv"}, "b.csv": {"b.parquet"}, "parts.parquet": {"p0.csv", "p1.csv"}}
    assert all(out.source.version == fingerprint.file_version(out.source.name) for out in capture.record.outputs)


def test_bad_sql_raises_as_before_and_the_connection_still_works(files: dict[str, Path]) -> None:
    with pytest.raises(duckdb.Error):
        duckdb.sql("SELEC nonsense")
    assert duckdb.sql("SELECT 42").fetchall() == [(42,)]


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected fault")


def test_a_fault_in_the_hook_never_changes_the_query(
    capture: Capture, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(duckdb_hook, "_tables", _boom)
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    with pytest.raises(HookError, match="injected fault"):
        duckdb.sql("SELECT * FROM 'a.csv'")
    safety.errors.clear()
    monkeypatch.delenv("NBLINEAGE_STRICT")
    with pytest.warns(RuntimeWarning, match="duckdb.sql"):
        relation = duckdb.sql("SELECT * FROM 'a.csv'")
    assert relation.fetchall() == [(1, 1.0), (2, 2.0), (3, 3.0)]


def test_capture_off_records_nothing_and_returns_the_same(files: dict[str, Path]) -> None:
    instrumentor = DuckdbInstrumentor()
    instrumentor.instrument()
    try:
        frame = duckdb.sql("SELECT * FROM 'a.csv'").df()
    finally:
        instrumentor.uninstrument()
    session = Capture()
    assert not session.of(frame)
    assert frame["x"].tolist() == [1.0, 2.0, 3.0]
    assert not isinstance(duckdb.sql, wrapt.FunctionWrapper)  # undone


def test_copy_into_and_out_of_a_database_table(capture: Capture, files: dict[str, Path], tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "copy.duckdb"))
    con.execute("CREATE TABLE loaded (k BIGINT, y BIGINT)")
    con.execute("COPY loaded FROM 'b.parquet' (FORMAT parquet)")
    con.execute("COPY loaded TO 'loaded.csv' (HEADER)")
    loaded = Source(f"duckdb://{tmp_path / 'copy.duckdb'}", "loaded")
    outputs = [(out.source, names_of(out.provenance.sources)) for out in capture.record.outputs]
    assert (loaded, {"b.parquet"}) in outputs
    assert (source(tmp_path / "loaded.csv"), {"loaded"}) in outputs
    assert [row for row in con.execute("SELECT count(*) FROM loaded").fetchall()] == [(3,)]


def test_a_connection_opened_before_capture_knows_its_file(
    capture: Capture, files: dict[str, Path], tmp_path: Path
) -> None:
    activate(None)
    try:
        con = duckdb.connect(str(tmp_path / "early.duckdb"))
    finally:
        activate(capture)
    pending = con.execute("SELECT 7")
    con.execute("CREATE TABLE t AS SELECT * FROM 'a.csv'")
    for i in range(3):  # the same write again: one output
        con.execute("INSERT INTO t VALUES (?, ?)", [i, 1.0])
    table = Source(f"duckdb://{tmp_path / 'early.duckdb'}", "t")
    assert [(out.source, names_of(out.provenance.sources)) for out in capture.record.outputs] == [
        (table, {"a.csv"}),
        (table, set()),
    ]
    assert pending is con


def test_a_lazy_polars_frame_queried_by_name_reads_its_files_then(capture: Capture, files: dict[str, Path]) -> None:
    lazy_b = pl.scan_parquet(files["b"])  # noqa: F841 (DuckDB reads it by its name)
    assert capture.record.inputs == {}
    frame = duckdb.sql("SELECT y FROM lazy_b WHERE k > 1").df()
    assert frame["y"].tolist() == [5, 6]
    assert names(capture, frame) == {"b.parquet"}
    assert set(capture.record.inputs) == {source(files["b"])}


def test_a_query_teaches_its_computed_columns(capture: Capture, files: dict[str, Path]) -> None:
    frame = duckdb.sql("SELECT k, sum(x) AS total, max(x) - min(x) AS spread FROM 'a.csv' GROUP BY k").df()
    assert list(frame.columns) == ["k", "total", "spread"]
    assert capture.column_rules["total"] == frozenset({"x"})
    assert capture.column_rules["spread"] == frozenset({"x"})
    assert "k" not in capture.column_rules  # passed through: the column itself
