"""``%lineage report`` in a real kernel: a notebook's own model and data reported on, as HTML and PDF, from the
store the kernel writes to (its outbox delivered first)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "kernel"))

from notebooks import run_notebook

CELLS = [
    """\
import pandas as pd, joblib
from sklearn.linear_model import LogisticRegression
pd.DataFrame({"a": range(20), "b": [i % 3 for i in range(20)], "y": [i % 2 for i in range(20)]}).to_csv(
    "data.csv", index=False)
""",
    """\
df = pd.read_csv("data.csv")
model = LogisticRegression(C=0.5).fit(df[["a", "b"]], df.y)
joblib.dump(model, "model.joblib")
""",
    "%lineage report model -o model.html",
    '%lineage report data.csv --format pdf -o "data report.pdf"',
    "%lineage report nothing.csv -o nothing.html",
]


def test_lineage_report_magic(tmp_path: Path) -> None:
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "NBLINEAGE_STRICT": "1",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),  # its own audit key; no policy of whoever runs the tests
    }
    notebook = run_notebook(tmp_path / "report.ipynb", CELLS, env, True)
    model, data, nothing = notebook.cells[-3:]
    text = "".join(out.get("data", {}).get("text/plain", "") for out in model.outputs)
    assert "html report about the model" in text and "model.joblib" in text, model.outputs
    page = (tmp_path / "model.html").read_text(encoding="utf-8")
    assert "Model card: " in page and "sklearn.linear_model._logistic.LogisticRegression" in page
    assert "C=0.5" in page and "data.csv" in page
    assert (tmp_path / "data report.pdf").read_bytes().startswith(b"%PDF-"), data.outputs
    said = "".join(out.get("text", "") for out in nothing.outputs if out.output_type == "stream")
    assert "nothing.csv" in said, nothing.outputs  # said as a usage error; no file
    assert not (tmp_path / "nothing.html").exists()


GOVERNED = [
    """\
import pandas as pd, joblib
from sklearn.linear_model import LogisticRegression
pd.DataFrame({"age": range(20), "city": [i % 3 for i in range(20)], "y": [i % 2 for i in range(20)]}).to_csv(
    "people.csv", index=False)
""",
    """\
people = pd.read_csv("people.csv")
model = LogisticRegression().fit(people[["age", "city"]], people.y)
joblib.dump(model, "model.joblib")
""",
    "%lineage report model -o model.json",
]


def test_report_of_a_governed_notebook(tmp_path: Path) -> None:
    """A policy tags a column PII; the kernel's guard records its decision when the model is saved with it as a
    feature; the report shows the owner, the classification and that decision, against a signed checkpoint."""
    import json

    (tmp_path / "nblineage-policy.yaml").write_text(
        f"""\
version: 1
datasets:
  - namespace: file
    name: "{tmp_path}/people.csv"
    owner: team:people
    columns:
      city: [pii]
rules:
  - name: pii-features-audited
    kind: pii_features
    action: audit
"""
    )
    env = {
        "NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "NBLINEAGE_POLICY": str(tmp_path / "nblineage-policy.yaml"),
        "NBLINEAGE_STRICT": "1",
    }
    notebook = run_notebook(tmp_path / "governed.ipynb", GOVERNED, env, True)
    assert not [out for out in notebook.cells[-1].outputs if out.output_type == "error"], notebook.cells[-1].outputs
    report = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    people = next(d for d in report["policy"]["datasets"] if d["name"] == str(tmp_path / "people.csv"))
    assert people["owner"] == "team:people" and people["columns"] == {"city": ["pii"]}
    rules = {finding["rule"] for finding in report["policy"]["findings"]}
    assert "pii-features-audited" in rules, report["policy"]["findings"]  # the guard's decision, from the log
    assert report["audit"]["checkpoint"].startswith("nblineage/audit/")
    actions = {entry["record"]["action"] for entry in report["audit"]["records"]}
    assert {"model.saved", "policy.decision"} <= actions
    assert all(entry["proof"]["inclusionProof"] is not None for entry in report["audit"]["records"])
