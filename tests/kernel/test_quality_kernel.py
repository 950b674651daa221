"""Data quality in a real kernel with real great-expectations: the policy's suites run on a read (blocking in the
cell, others in the background writer), the user's own GX validations recorded against the frame's dataset
version, the results in the store and in explain, and a background validation still queued when the kernel exits
is not lost. Plus the writer's quiet work, in process: it waits for the cell to end."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pandas as pd
from notebooks import run_notebook
from spec import event_errors, facet_errors

from nblineage.governance import questions, text
from nblineage.governance.quality import latest_results
from nblineage.kernel_ext.outbox import MemoryOutbox
from nblineage.kernel_ext.writer import QUIET, Writer
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store


def suite(folder: Path, name: str, expectations: list[dict]) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations}))
    return path


def test_quality_in_a_kernel(tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    pd.DataFrame({"age": [18 + i % 50 for i in range(200)], "label": [i % 2 for i in range(200)]}).to_csv(csv)
    ok = suite(tmp_path, "customers_ok", [{"type": "expect_column_to_exist", "kwargs": {"column": "age"}}])
    strict = suite(
        tmp_path,
        "customers_strict",
        [{"type": "expect_column_max_to_be_between", "kwargs": {"column": "age", "min_value": 0, "max_value": 30}}],
    )
    late = suite(tmp_path, "at_exit", [{"type": "expect_table_row_count_to_equal", "kwargs": {"value": 200}}])
    orders = tmp_path / "orders.csv"
    pd.DataFrame({"age": [70, 80]}).to_csv(orders)
    model = tmp_path / "model.joblib"
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    cells = [
        f"""import sys, time
import pandas as pd
gx_at_load = "great_expectations" in sys.modules
df = pd.read_csv({str(csv)!r})
print("gx imported at load:", gx_at_load)""",
        f"""from types import SimpleNamespace as Expectation
from nblineage.kernel_ext import capture, quality
(source,) = capture._current.of(df).sources
started = time.perf_counter()
quality.on_read(df, source, [
    Expectation(suite={str(ok)!r}, sample_rows=None, blocking=True),
    Expectation(suite={str(strict)!r}, sample_rows=50, blocking=False),
])
print("gx import and blocking validation:", round(time.perf_counter() - started, 2), "s")
import nblineage.kernel_ext as extension
session = next(iter(extension._sessions.values()))
print("waiting for a quiet kernel:", session.writer.quiet_work())""",
        """import great_expectations as gx
context = gx.get_context(mode="ephemeral")
frames = context.data_sources.add_pandas("mine").add_dataframe_asset("frame")
whole = frames.add_batch_definition_whole_dataframe("whole")
adults = df[df.age >= 18]
users = gx.ExpectationSuite(name="user_suite", expectations=[
    gx.expectations.ExpectColumnValuesToBeBetween(column="age", min_value=0, max_value=120)])
mine = whole.get_batch(batch_parameters={"dataframe": adults}).validate(users)
checks = context.suites.add(gx.ExpectationSuite(name="user_definition", expectations=[
    gx.expectations.ExpectColumnToExist(column="income")]))
definition = context.validation_definitions.add(gx.ValidationDefinition(name="vd", data=whole, suite=checks))
theirs = definition.run(batch_parameters={"dataframe": df})
print("user results:", mine.success, theirs.success)""",
        f"""import joblib
from sklearn.linear_model import LogisticRegression
joblib.dump(LogisticRegression().fit(adults[["age"]], adults.label), {str(model)!r})""",
        f"%lineage explain {model}",
        "print('latest after flush:', quality.latest(source.namespace, source.name, source.version))",
        f"""orders = pd.read_csv({str(orders)!r})
(ordered,) = capture._current.of(orders).sources
quality.on_read(orders, ordered, [Expectation(suite={str(strict)!r}, sample_rows=None, blocking=False)])
print("asked at once:", quality.latest(ordered.namespace, ordered.name, ordered.version))""",
        f"""quality.on_read(df, source, [Expectation(suite={str(late)!r}, sample_rows=None, blocking=False)])""",
    ]
    notebook = run_notebook(
        tmp_path / "quality.ipynb", cells, {"NBLINEAGE_URL": url, "GX_ANALYTICS_ENABLED": "False"}, timeout=300
    )
    out = [
        "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in c.outputs)
        for c in notebook.cells
    ]
    assert "gx imported at load: False" in out[1]
    assert "waiting for a quiet kernel: 1" in out[2]  # the blocking suite ran; the strict one waits
    print(out[2])  # the GX import and a first validation, for the lead
    assert "user results: True False" in out[3]
    assert "customers_strict: FAILED" in out[5]  # explain waited for the background validation
    assert "user_suite: passed" in out[5] and "user_definition: FAILED" in out[5]
    assert "latest after flush: False" in out[6]
    assert "asked at once: False" in out[7]  # the guard asking about a version runs its waiting suites (else None)

    with Store(url) as store:
        version = next(iter({v for v in _versions(store, str(csv))}))
        results = {r.suite: r for r in latest_results(store, "file", str(csv), version)}
        assert set(results) == {"customers_ok", "customers_strict", "user_suite", "user_definition", "at_exit"}
        assert results["customers_ok"].success and results["customers_ok"].blocking is True
        assert not results["customers_strict"].success and results["customers_strict"].blocking is False
        assert (results["customers_strict"].rows, results["customers_strict"].total_rows) == (50, 200)
        assert results["at_exit"].success  # queued in the last cell: validated and delivered as the kernel exited
        assert results["user_suite"].origin == "user" and results["user_suite"].rows == 200
        assert {a["column"] for a in results["user_definition"].assertions} == {"income"}
        answer = questions.explain(store, DatasetRef("file", str(model), None))
        (dataset,) = [d for d in answer.inputs.datasets if d.name == str(csv)]
        assert {r.suite for r in dataset.quality} == set(results)
        assert text.quality_word(dataset) == "FAILED"
        with store.read() as conn:
            stored = [json.loads(row[0]) for row in conn.exec_driver_sql("SELECT payload FROM events").all()]
    (validating,) = [e for e in stored if e["job"]["name"].endswith("#c2") and e.get("eventType") == "COMPLETE"]
    assert [i["name"] for i in validating["inputs"]] == [str(csv)] and validating["outputs"] == []  # GX's own work
    others = [event for event in stored if event.get("eventType") == "OTHER"]
    # the three background results, each an OTHER event of the cell run that read
    assert sorted(event["job"]["name"].rsplit("#", 1)[1] for event in others) == ["c2", "c7", "c8"]
    for event in stored:
        assert event_errors(event, "DatasetEvent" if "dataset" in event else "RunEvent") == []
        for entry in event.get("inputs", []):
            if "dataQualityAssertions" in entry.get("inputFacets", {}):
                assert facet_errors(entry["inputFacets"], "DataQualityAssertionsDatasetFacet") == []


def _versions(store: Store, name: str) -> list[str]:
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT v.version FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id "
            f"WHERE d.name = '{name}' AND v.version <> ''"
        ).all()
    return [row[0] for row in rows]


def test_quiet_work_waits_for_the_cell_and_flush_waits_for_it(tmp_path: Path) -> None:
    writer = Writer(MemoryOutbox(), f"sqlite:///{tmp_path / 'lineage.db'}")
    ran = threading.Event()
    writer.start()
    try:
        writer.cell_started()
        writer.when_quiet(ran.set)
        assert writer.quiet_work() == 1
        assert not ran.wait(QUIET + 0.5)  # a cell runs: the work waits
        writer.cell_finished()
        assert ran.wait(QUIET + 5)  # quiet: it runs
        done = threading.Event()
        writer.cell_started()
        writer.when_quiet(lambda: (time.sleep(0.2), done.set()))
        assert writer.flush(10) and done.is_set()  # someone waits: it runs even while a cell runs
        writer.cell_finished()
    finally:
        writer.stop()


def test_on_read_without_a_session_arrow_tables_and_what_it_cannot_validate(tmp_path: Path) -> None:
    """No writer to wait for: a background suite runs at once; an Arrow table is validated as a DataFrame; a chunked
    reader is not validated, and nothing fails."""
    import pyarrow as pa
    from hooktools import capturing

    from nblineage.kernel_ext import quality
    from nblineage.kernel_ext.provenance import Source

    rows = suite(tmp_path, "rows", [{"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3}}])
    source = Source("file", str(tmp_path / "t.parquet"), "arrow-v1")
    later = type("Expectation", (), {"suite": str(rows), "sample_rows": 2, "blocking": False})()
    with capturing(()) as capture:
        quality.on_read(pa.table({"a": [1, 2, 3]}), source, [later])
        quality.on_read(iter([1, 2]), Source("file", "/chunks.csv", "c1"), [later])
        found = capture.record.inputs[source][quality.KEY]
        assert [(r["suite"], r["rows"], r["totalRows"], r["success"]) for r in found] == [("rows", 2, 3, False)]
        assert list(capture.record.inputs) == [source]
    assert quality.latest(source.namespace, source.name, source.version) is False
    assert quality.latest("file", "/chunks.csv", "c1") is None


def test_quiet_work_runs_at_exit_while_the_store_is_down(tmp_path: Path) -> None:
    """Its records wait in the outbox with the others, for the next kernel or command."""
    outbox = MemoryOutbox()
    (tmp_path / "a-file").write_text("not a folder")
    writer = Writer(outbox, f"sqlite:///{tmp_path / 'a-file' / 'lineage.db'}")
    writer.start()
    deadline = time.monotonic() + 10
    while "store" not in writer.problems and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "store" in writer.problems
    writer.cell_started()  # a cell runs: the writer's thread leaves the work alone
    writer.when_quiet(lambda: writer.submit(['{"late": 1}']))
    writer.stop()
    assert '{"late": 1}' in outbox.read_from(0)[0]
