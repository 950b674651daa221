"""A function of the user's own given to pandas (``df["text"].apply(expand)``) that reads a lookup table by name,
in a real kernel: the Quora question-pairs cleaning step expands abbreviations with a dict read from
``abbreviation.csv``. What the function reads from the notebook (the dict, a set in its closure, a helper it
calls, what a closure it returned holds) is a source of the result, wherever the cells that load, define and apply
fall."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebooks import model_source_names as sources_of
from notebooks import run_notebook

LOAD = 'abbr = pd.read_csv("abbr.csv", header=None, index_col=0).squeeze("columns").to_dict()'
READ = 'df = pd.read_csv("texts.csv")'
DEFINE = """
def lookup(word):
    return abbr.get(word, word)

def expand(text):
    return " ".join(lookup(w) for w in text.split())

def dropper(words):
    return lambda text: " ".join(w for w in text.split() if w not in words)
"""
APPLY = """
df["clean"] = df["text"].apply(expand)
df.to_csv("out.csv", index=False)
pd.read_csv("texts.csv")["text"].map(dropper(stop)).to_csv("short.csv", index=False)
plain = pd.read_csv("texts.csv")["text"].apply(str.upper)  # a function not of the user's: nothing more
plain.to_csv("plain.csv", index=False)
"""
LAYOUTS = {
    "apart": [LOAD, READ, DEFINE, APPLY],
    "defined with the apply": [LOAD, READ, DEFINE + APPLY],
    "all in one": [LOAD + "\n" + READ + "\n" + DEFINE + APPLY],
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_what_an_applied_function_reads_is_a_source(tmp_path: Path, layout: str) -> None:
    (tmp_path / "abbr.csv").write_text("u,you\nml,machine learning\n")
    (tmp_path / "texts.csv").write_text("text\nu like ml\ni like u\nok\n")
    (tmp_path / "stop.csv").write_text("word\nlike\n")
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    setup = 'import pandas as pd\nstop = set(pd.read_csv("stop.csv")["word"])'
    run_notebook(tmp_path / "clean.ipynb", [setup, *LAYOUTS[layout]], env, timeout=120)
    assert sources_of(store_url, tmp_path / "out.csv") == {"abbr.csv", "texts.csv"}
    assert sources_of(store_url, tmp_path / "short.csv") == {"stop.csv", "texts.csv"}
    assert sources_of(store_url, tmp_path / "plain.csv") == {"texts.csv"}
