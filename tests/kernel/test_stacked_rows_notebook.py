"""Training and test rows stacked to make features once, then cut apart again, in a real kernel: a model fit on the
training rows derives from the test file too exactly when a feature mixed the rows before the cut (a median of
all rows filled in, a label encoder fit on all rows' values as a list, as Serigne's house-prices kernel does),
and from the training file alone when every feature was made row by row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from notebooks import model_source_names, run_notebook

STACK = """
import joblib
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import LabelEncoder

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
ntrain = train.shape[0]
all_data = pd.concat((train.drop(columns="y"), test)).reset_index(drop=True)
"""
MEDIAN = """
filled = all_data.copy()
filled["b"] = filled["b"].fillna(filled["b"].median())
joblib.dump(LinearRegression().fit(filled[:ntrain][["a", "b"]], train.y), "median.joblib")
"""
ENCODED = """
encoded = all_data.copy()
for c in ["c"]:
    lbl = LabelEncoder()
    lbl.fit(list(encoded[c].values))
    encoded[c] = lbl.transform(list(encoded[c].values))
joblib.dump(LinearRegression().fit(encoded[:ntrain][["a", "c"]], train.y), "encoded.joblib")
"""
ROW_BY_ROW = """
rows = all_data.copy()
rows["a2"] = rows["a"] ** 2
rows["b"] = rows["b"].fillna(0)
rows = pd.get_dummies(rows)
joblib.dump(LinearRegression().fit(rows[:ntrain], train.y), "row_by_row.joblib")
"""


def test_a_model_fit_on_the_training_rows_derives_from_what_shaped_them(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [1.0, None, 3, 4, 2], "c": list("xyxyx"), "y": [0, 1, 0, 1, 1]}).to_csv(
        tmp_path / "train.csv", index=False
    )
    pd.DataFrame({"a": [5.0, 6, 7], "b": [None, 2.0, 9], "c": list("xzy")}).to_csv(tmp_path / "test.csv", index=False)
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "stacked.ipynb", [STACK, MEDIAN, ENCODED, ROW_BY_ROW], env, timeout=180)
    both = {"train.csv", "test.csv"}
    assert model_source_names(store_url, tmp_path / "median.joblib") == both
    assert model_source_names(store_url, tmp_path / "encoded.joblib") == both
    assert model_source_names(store_url, tmp_path / "row_by_row.joblib") == {"train.csv"}
