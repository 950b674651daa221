"""The REST answers about a model trained in a real notebook (a real kernel with ``%load_ext nblineage``, run by
nbclient) into the server's own store: what capture recorded, as the server answers it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "kernel"))
from graph_contract import contract
from notebooks import run_notebook

from nblineage.governance.neighbourhood import neighbourhood
from nblineage.governance.resolve import resolve_node
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.lineage.store import Store

CELLS = [
    "import pandas as pd\nraw = pd.read_csv('raw.csv')",
    "from sklearn.model_selection import train_test_split\n"
    "X_train, X_test, y_train, y_test = train_test_split(raw[['a', 'b']], raw['label'], random_state=0)",
    "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression(C=0.5).fit(X_train, y_train)",
    "import joblib\njoblib.dump(model, 'model.joblib')",
    "from sklearn.metrics import accuracy_score\ntest_accuracy = accuracy_score(y_test, model.predict(X_test))",
]


@pytest.fixture
def trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Path:
    """A notebook that read raw.csv, trained a model, saved it and scored it on the test split."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    rng = np.random.default_rng(7)
    raw = pd.DataFrame({"a": rng.random(200), "b": rng.random(200)})
    raw["label"] = (raw.a + raw.b > 1).astype(int)
    raw.to_csv(work / "raw.csv", index=False)
    run_notebook(work / "train.ipynb", CELLS, {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jd")})
    return work


async def test_the_server_answers_what_a_notebook_recorded(get: Any, trained: Path, store_url: str) -> None:
    raw, model, notebook = (str(trained / name) for name in ("raw.csv", "model.joblib", "train.ipynb"))
    found = await get("search", q="model.job")
    assert [(hit["kind"], hit["name"], hit["version"]) for hit in found["hits"]] == [
        ("model", model, file_version(model))
    ]
    notebooks = await get("search", q="train", kind="notebook")
    assert [hit["name"] for hit in notebooks["hits"]] == [notebook]

    hood = contract(await get("graph", node=model))
    with Store(store_url) as store:
        assert hood == neighbourhood(store, resolve_node(store, model)).to_json()
    assert {(node["kind"], node["label"]) for node in hood["nodes"] if node["kind"] != "cell"} == {
        ("model", "model.joblib"),
        ("dataset", "raw.csv"),
    }
    assert {edge["precision"] for edge in hood["edges"]} == {"exact"}

    assert [node["name"] for node in await get("upstream", node=model) if node["type"] == "dataset"] == [raw]
    assert [m["name"] for m in await get("models-from", node=raw)] == [model]
    inputs = await get("inputs", node=model)
    assert inputs["function"]["modelClass"].endswith("LogisticRegression")
    assert inputs["function"]["hyperParameters"]["C"] == 0.5
    assert [dataset["name"] for dataset in inputs["datasets"]] == [raw]
    performance = await get("performance", node=model)
    assert [(m["name"], m["split"]) for m in performance["metrics"]] == [("accuracy_score", "test")]
    resources = await get("resources", node=model)
    assert resources["wallTimeSeconds"] > 0 and resources["cpuTimeSeconds"] > 0
    location = await get("location", node=model)
    assert location["uri"].endswith("model.joblib") and location["contentHash"]
    explained = await get("explain", node=model)
    assert (explained["inputs"], explained["performance"]) == (inputs, performance)
    details = await get("node", node=model)
    assert [version["job"] for version in details["versions"]] == [f"{notebook}#c4"]
