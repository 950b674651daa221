"""Per-output lineage names the exact input versions, in real kernels: two versions of one file read in a cell, and
one dataset written twice in a cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notebooks import run_notebook

from nblineage.kernel_ext.fingerprint import file_version
from nblineage.lineage.store import Store

CHANGE = """
import os
def replace(path, text):  # written below the hooks' sight: the file changes under the notebook
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, text.encode())
    os.close(fd)
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "other.csv").write_text("a,b\n5,6\n")
    return tmp_path


def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    return {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}


def edges(store: Store) -> set[tuple[str, str, str, str]]:
    """(source file, its version, output file, its version) of every edge between versions."""
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT ds.name, vs.version, dd.name, vd.version FROM edges e "
            "JOIN dataset_versions vs ON vs.id = e.src JOIN datasets ds ON ds.id = vs.dataset_id "
            "JOIN dataset_versions vd ON vd.id = e.dst JOIN datasets dd ON dd.id = vd.dataset_id "
            "WHERE e.derivation <> 'version'"
        ).all()
    return {(Path(src).name, src_version, Path(dst).name, dst_version) for src, src_version, dst, dst_version in rows}


def test_each_output_links_to_the_version_of_the_data_it_was_made_from(workdir: Path, store_url: str) -> None:
    before = file_version(workdir / "data.csv")
    cell = """
import pandas as pd
first = pd.read_csv("data.csv")
replace("data.csv", "x,y\\n10,20\\n30,40\\n50,60\\n")
second = pd.read_csv("data.csv")
first.to_csv("from_first.csv", index=False)
second.to_csv("from_second.csv", index=False)
"""
    run_notebook(workdir / "versions.ipynb", [CHANGE, cell], env(workdir, store_url))
    after = file_version(workdir / "data.csv")
    assert before and after and before != after
    first, second = file_version(workdir / "from_first.csv"), file_version(workdir / "from_second.csv")
    with Store(store_url) as store:
        assert edges(store) == {
            ("data.csv", before, "from_first.csv", first),
            ("data.csv", after, "from_second.csv", second),
        }


def test_a_dataset_written_twice_in_a_cell_keeps_both_versions_in_order(workdir: Path, store_url: str) -> None:
    cell = """
import pandas as pd
pd.read_csv("data.csv").to_csv("out.csv", index=False)
pd.read_csv("other.csv").to_csv("out.csv", index=False)
"""
    run_notebook(workdir / "twice.ipynb", [cell], env(workdir, store_url))
    data, other = file_version(workdir / "data.csv"), file_version(workdir / "other.csv")
    last = file_version(workdir / "out.csv")
    with Store(store_url) as store:
        found = edges(store)
        [first] = [version for src, _, dst, version in found if dst == "out.csv" and src == "data.csv"]
        assert found == {("data.csv", data, "out.csv", first), ("other.csv", other, "out.csv", last)}
        assert first != last
        with store.read() as conn:
            payloads = [json.loads(row[0]) for row in conn.exec_driver_sql("SELECT payload FROM events").all()]
    [complete] = [p for p in payloads if p.get("eventType") == "COMPLETE" and p["job"]["name"].endswith("#c1")]
    outputs = [
        (Path(o["name"]).name, o["facets"]["version"]["datasetVersion"], o["facets"]["nblineage_lineage"]["inputs"])
        for o in complete["outputs"]
    ]
    assert outputs == [
        ("out.csv", first, [{"namespace": "file", "name": str(workdir / "data.csv"), "version": data}]),
        ("out.csv", last, [{"namespace": "file", "name": str(workdir / "other.csv"), "version": other}]),
    ]
