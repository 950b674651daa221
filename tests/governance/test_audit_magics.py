"""``%lineage audit ...`` in a real kernel, and the ``model.saved`` record a model saved there leaves in the log."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from nblineage.governance import audit
from nblineage.lineage.store import Store

# tests/kernel/notebooks.py, loaded by path: sys.path stays as pytest made it
_NOTEBOOKS = Path(__file__).resolve().parents[1] / "kernel" / "notebooks.py"
_spec = importlib.util.spec_from_file_location("audit_kernel_notebooks", _NOTEBOOKS)
_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_notebooks)
run_notebook = _notebooks.run_notebook

CELLS = [
    """\
import joblib, pandas as pd
from sklearn.linear_model import LogisticRegression
frame = pd.DataFrame({"a": range(20), "y": [i % 2 for i in range(20)]})
frame.to_csv("data.csv", index=False)
df = pd.read_csv("data.csv")
joblib.dump(LogisticRegression().fit(df[["a"]], df.y), "model.joblib")
""",
    "%lineage audit verify",
    "%lineage audit checkpoint -o cp.txt",
    "%lineage audit prove 0 --checkpoint cp.txt",
    "%lineage audit forge",
]


def test_audit_in_a_kernel(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "NBLINEAGE_URL": store_url,
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "NBLINEAGE_STRICT": "1",
    }
    notebook = run_notebook(tmp_path / "audit.ipynb", CELLS, env, allow_errors=True)
    texts = [
        "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in cell.outputs)
        for cell in notebook.cells[1:]
    ]
    errors = [
        next((f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"), "")
        for cell in notebook.cells[1:]
    ]
    assert errors[:4] == ["", "", "", ""], errors
    assert "audit log verified: 1 records" in texts[1]
    assert (tmp_path / "cp.txt").read_text().split("\n")[1] == "1"
    proof = json.loads(texts[3])
    assert proof["index"] == 0 and json.loads(proof["data"])["action"] == "model.saved"
    assert "invalid choice: 'forge'" in texts[4] + errors[4]

    monkeypatch.setenv("JUPYTER_CONFIG_DIR", env["JUPYTER_CONFIG_DIR"])
    with Store(store_url) as store:
        model = str(tmp_path / "model.joblib")
        ((index, saved),) = audit.records_about(store, "file", model)
        assert index == 0 and saved["action"] == "model.saved" and saved["cell"] == "c1"
        assert saved["notebook"] == str(tmp_path / "audit.ipynb")
        assert any(ref["name"] == str(tmp_path / "data.csv") for ref in saved["datasets"])
        assert audit.verify(store, (tmp_path / "cp.txt").read_text()).ok
