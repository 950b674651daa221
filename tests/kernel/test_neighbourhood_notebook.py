"""The neighbourhood of a model trained in a real notebook (a real kernel with nblineage loaded, nbclient): the
file it read, the cells the data went through in the order they ran, and the model, with exact precision."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebooks import run_notebook

from nblineage.governance.neighbourhood import neighbourhood, node_details
from nblineage.governance.resolve import resolve_node
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.lineage.store import Store
from nblineage.widgets.static_svg import render_svg

CELLS = [
    "import pandas as pd\nraw = pd.read_csv('raw.csv')\nlookup = pd.read_csv('lookup.csv')",
    "from sklearn.model_selection import train_test_split\n"
    "X_train, X_test, y_train, y_test = train_test_split(raw[['a', 'b']], raw['label'], random_state=0)",
    "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression().fit(X_train, y_train)",
    "import joblib\njoblib.dump(model, 'model.joblib')",
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    raw = pd.DataFrame({"a": rng.random(200), "b": rng.random(200)})
    raw["label"] = (raw.a + raw.b > 1).astype(int)
    raw.to_csv(tmp_path / "raw.csv", index=False)
    (tmp_path / "lookup.csv").write_text("k,v\na,1\n")
    return tmp_path


def test_the_graph_around_a_model_from_a_notebook(workdir: Path, store_url: str) -> None:
    path = workdir / "train.ipynb"
    run_notebook(path, CELLS, {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter")})
    raw, model = str(workdir / "raw.csv"), str(workdir / "model.joblib")
    with Store(store_url) as store:
        hood = neighbourhood(store, resolve_node(store, model))
        short = {n.id: n.name.rpartition("#")[2] if n.kind == "cell" else n.label for n in hood.nodes}
        shape = {(n.kind, short[n.id], n.version, n.depth, n.precision, n.hidden.upstream) for n in hood.nodes}
        assert shape == {
            ("model", "model.joblib", file_version(model), 0, None, 0),
            ("dataset", "raw.csv", file_version(raw), -1, None, 0),
            ("cell", "c1", None, -1, "exact", 1),  # it also read lookup.csv, which nothing derives from
            ("cell", "c2", None, -1, "exact", 0),
            ("cell", "c3", None, -1, "exact", 0),
            ("cell", "c4", None, -1, "exact", 0),
        }
        cell_labels = {short[n.id]: n.label for n in hood.nodes if n.kind == "cell"}
        assert (
            cell_labels
            == {  # what each cell does: its first line that is not an import
                "c1": "raw = pd.read_csv('raw.csv')",
                "c2": CELLS[1].splitlines()[1][:80],  # a long line is cut at 80 characters
                "c3": "model = LogisticRegression().fit(X_train, y_train)",
                "c4": "joblib.dump(model, 'model.joblib')",
            }
        )
        assert [(short[e.source], short[e.target], e.precision) for e in hood.edges] == [
            ("raw.csv", "c1", "exact"),
            ("c1", "c2", "exact"),
            ("c2", "c3", "exact"),
            ("c3", "c4", "exact"),
            ("c4", "model.joblib", "exact"),
        ]
        read_cell = next(n for n in hood.nodes if short[n.id] == "c1")
        expanded = neighbourhood(store, hood.ref_of(read_cell.id))
        assert expanded.center == read_cell.id
        assert {n.label for n in expanded.nodes if n.depth < 0} == {"raw.csv", "lookup.csv"}
        assert {n.id for n in hood.nodes} <= {n.id for n in expanded.nodes}
        details = node_details(store, hood.ref_of(hood.center))
        assert details["explain"]["inputs"]["function"]["modelClass"].endswith("LogisticRegression")
        assert [v["job"] for v in details["versions"]] == [f"{path}#c4"]
        svg = render_svg(hood)
        assert all(html.escape(n.label[:20], quote=True) in svg for n in hood.nodes)
