"""``%lineage impact`` in a real kernel (one run): a CSV read, a feature file written from it, two models fit on
the features and saved; the answer object, its HTML, the CSV export, and an unknown dataset said in one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kernel.notebooks import run_notebook

CELLS = [
    """\
import json
import joblib, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
pd.DataFrame({"a": range(30), "b": [i % 4 for i in range(30)], "y": [i % 2 for i in range(30)]}).to_csv(
    "applicants.csv", index=False)
""",
    """\
df = pd.read_csv("applicants.csv")
df["ratio"] = df.a / (df.b + 1)
df.to_csv("features.csv", index=False)
""",
    """\
features = pd.read_csv("features.csv")
joblib.dump(LogisticRegression().fit(features[["a", "ratio"]], features.y), "model_a.joblib")
joblib.dump(DecisionTreeClassifier().fit(features[["a", "ratio"]], features.y), "model_b.joblib")
""",
    """\
answer = %lineage impact applicants.csv --csv impact.csv
print(json.dumps(answer.to_json()))
answer
""",
    "%lineage impact nowhere.csv",
    "by_variable = %lineage impact features\n"
    "print(json.dumps([by_variable.dataset.version, [(i.name, i.derived_from) for i in by_variable.items]]))",
]


def test_impact_in_a_kernel(tmp_path: Path, store_url: str) -> None:
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    notebook = run_notebook(tmp_path / "impact.ipynb", CELLS, env, allow_errors=True)
    asked, unknown, variable = notebook.cells[4], notebook.cells[5], notebook.cells[6]
    streams = {out.name: out.text for out in asked.outputs if out.output_type == "stream"}
    assert not [out for out in asked.outputs if out.output_type == "error"]
    answer = json.loads(streams["stdout"])
    found = {item["name"]: item for item in answer["items"]}
    features, model_a, model_b = (str(tmp_path / name) for name in ("features.csv", "model_a.joblib", "model_b.joblib"))
    assert set(found) == {features, model_a, model_b}
    assert (found[features]["action"], found[features]["depth"]) == ("delete", 1)
    assert [(found[m]["action"], found[m]["type"], found[m]["depth"]) for m in (model_a, model_b)] == [
        ("retrain", "model", 2)
    ] * 2
    notebook_path = str(tmp_path / "impact.ipynb")
    assert [(m["notebook"], m["cell"]) for m in found[features]["madeBy"]] == [(notebook_path, "c2")]
    assert {(m["notebook"], m["cell"]) for m in found[model_a]["madeBy"]} == {(notebook_path, "c3")}
    assert all(m["precision"] in ("exact", "cell") for item in answer["items"] for m in item["madeBy"])
    assert answer["summary"] == {"retrain": 2, "regenerate": 0, "delete": 1}
    assert answer["dataset"]["name"] == str(tmp_path / "applicants.csv")
    [version] = {v for item in answer["items"] for v in item["derivedFrom"]}
    assert version  # the file's content fingerprint
    # the answer shows as an HTML table, and the CSV holds one row per item
    [shown] = [out for out in asked.outputs if out.output_type == "execute_result"]
    page = shown.data["text/html"]
    assert "Withdrawing dataset file" in page and page.count("<tr>") == 4 and "retrain" in page
    assert streams["stderr"].strip().endswith(f"wrote 3 rows to {tmp_path / 'impact.csv'}")
    with open(tmp_path / "impact.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert {(row["name"], row["action"], row["derived_from"]) for row in rows} == {
        (features, "delete", version),
        (model_a, "retrain", version),
        (model_b, "retrain", version),
    }
    said = "".join(out.text for out in unknown.outputs if out.output_type == "stream")
    assert said.startswith("nblineage: no dataset or job named") and "nowhere.csv" in said
    assert not [out for out in unknown.outputs if out.output_type == "error"]
    # a variable names the dataset version it was read from
    [printed] = [out.text for out in variable.outputs if out.output_type == "stream" and out.name == "stdout"]
    read_version, derived = json.loads(printed)
    assert read_version and sorted(derived) == [[model_a, [read_version]], [model_b, [read_version]]]
