"""Rows picked by a mask made of other data, in a real kernel: the clients of an aggregate table with a known
target and the others (``agg[agg.index.isin(train_target.index)]``, ``agg[~agg.index.isin(...)]``, the age
prediction tutorial of dllllb/pyspark-score-tutorial), in cells that read nothing themselves. ``Index.isin`` gives
a plain numpy mask no hook tags: the rows kept derive from the table the mask was made of too."""

from __future__ import annotations

from pathlib import Path

from notebooks import model_source_names as sources_of
from notebooks import run_notebook

READ = """
import pandas as pd
agg = pd.read_csv("agg.csv", index_col="client_id")
train_target = pd.read_csv("target.csv", index_col="client_id")
"""
SPLIT = 'agg[agg.index.isin(train_target.index)].to_csv("agg_train.csv")'
INVERTED = 'agg[~agg.index.isin(train_target.index)].to_csv("agg_test.csv")'
NAMED = "known = agg.index.isin(train_target.index)\nagg[known].to_csv('agg_known.csv')"


def test_rows_picked_by_a_mask_of_another_table_derive_from_it(tmp_path: Path) -> None:
    (tmp_path / "agg.csv").write_text("client_id,v\n" + "".join(f"{i},{i * 1.5}\n" for i in range(10)))
    (tmp_path / "target.csv").write_text("client_id,bins\n" + "".join(f"{i},{i % 3}\n" for i in range(5)))
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "split.ipynb", [READ, SPLIT, INVERTED, NAMED], env, timeout=120)
    for written in ("agg_train.csv", "agg_test.csv", "agg_known.csv"):
        assert sources_of(store_url, tmp_path / written) == {"agg.csv", "target.csv"}, written
