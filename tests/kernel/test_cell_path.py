"""A notebook's in-memory steps are its pipeline: the cells that read, engineered, split and fit show in the graph."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, JobRef, downstream, path, upstream
from nblineage.lineage.store import Store

CELLS = [
    'import pandas as pd\ncustomers = pd.read_csv("customers.csv")',
    'features = pd.get_dummies(customers, columns=["region"])\nfeatures["ratio"] = features.income / features.age',
    "from sklearn.model_selection import train_test_split\n"
    'X_train, X_test, y_train, y_test = train_test_split(features.drop(columns="churn"), features.churn, '
    "test_size=0.5, random_state=0)",
    "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression().fit(X_train, y_train)",
    'import joblib\njoblib.dump(model, "churn.joblib")',
]


@pytest.fixture
def churn(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rows = [f"{20 + i},{1000 + 10 * i},{'east' if i % 2 else 'west'},{i % 2}" for i in range(8)]
    (tmp_path / "customers.csv").write_text("age,income,region,churn\n" + "\n".join(rows) + "\n")
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "churn.ipynb", CELLS, env)
    return tmp_path


def test_path_and_upstream_show_every_cell_in_order(churn: Path, store_url: str) -> None:
    notebook = str(churn / "churn.ipynb")
    cells = [f"{notebook}#c{i}" for i in range(1, 6)]  # c0 loads nblineage
    customers, model = DatasetRef("file", str(churn / "customers.csv")), DatasetRef("file", str(churn / "churn.joblib"))
    with Store(store_url) as store:
        chain = path(store, customers, model)
        assert [(n.type, n.name) for n in chain] == [
            ("dataset", customers.name),
            *(("job", cell) for cell in cells),
            ("model", model.name),
        ]
        assert [n.depth for n in chain] == list(range(7))
        assert {n.precision for n in chain if n.type == "job"} == {"exact"}

        above = upstream(store, model)
        assert [(n.type, n.name, n.depth) for n in above] == [
            *(("job", cell, 1) for cell in cells),
            ("dataset", customers.name, 1),
        ]
        below = downstream(store, customers)
        assert [(n.type, n.name, n.depth) for n in below] == [
            *(("job", cell, 1) for cell in cells),
            ("model", model.name, 1),
        ]
        fit = JobRef("jupyter", cells[3])
        assert [n.name for n in path(store, fit, model)] == [cells[3], cells[4], model.name]
        assert [n.name for n in path(store, customers, fit)] == [customers.name, *cells[:4]]
        assert [n.name for n in upstream(store, fit)] == [customers.name]
        assert [n.name for n in downstream(store, fit)] == [model.name]
