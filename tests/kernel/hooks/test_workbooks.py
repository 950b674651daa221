"""Excel workbooks opened with ``openpyxl.load_workbook``: a read of the workbook's version by the user's call, none
by pandas' (``read_excel`` is hooked itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import xxhash
from notebooks import model_source_names, run_notebook

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.hooks.workbooks import OpenpyxlInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PandasInstrumentor, OpenpyxlInstrumentor)


def workbook(path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.random(40), "y": rng.integers(0, 2, 40)})
    frame.to_excel(path, sheet_name="Data", index=False)
    return path


def source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def test_a_workbook_loaded_by_the_user_is_a_read_it_carries(capture: Capture, tmp_path: Path) -> None:
    path = workbook(tmp_path / "train.xlsx")
    capture.take_record()
    loaded = openpyxl.load_workbook(path, read_only=True)
    assert capture.of(loaded).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]
    capture.take_record()
    pd.read_excel(path, engine="openpyxl")  # pandas opens it through openpyxl: one read, read_excel's
    assert list(capture.record.inputs) == [source(path)]


def test_a_model_fit_on_a_sheets_rows_derives_from_the_workbook(tmp_path: Path, store_url: str) -> None:
    workbook(tmp_path / "train.xlsx")
    cells = [
        "import pandas as pd, joblib, openpyxl\nfrom sklearn.linear_model import LogisticRegression",
        'wb = openpyxl.load_workbook("train.xlsx", read_only=True)\nrows = list(wb["Data"].values)\n'
        "df = pd.DataFrame(rows[1:], columns=rows[0])\n"
        'joblib.dump(LogisticRegression().fit(df[["x1"]], df["y"]), "model.pkl")',
    ]
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "workbook.ipynb", cells, env)
    assert model_source_names(store_url, tmp_path / "model.pkl") == {"train.xlsx"}
