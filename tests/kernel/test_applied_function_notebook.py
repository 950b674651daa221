"""A function of the user's own given to pandas (``df["text"].apply(expand)``) that reads a lookup table by name,
in a real kernel: the Quora question-pairs cleaning step expands abbreviations with a dict read from
``abbreviation.csv``. What the function reads from the notebook (the dict, a set in its closure, a helper it
calls, what a closure it returned holds, its defaults, a ``functools.partial``'s arguments, a bound method's object)
is a source of the result, wherever the cells that load, define and apply fall; so is what a function called in a
comprehension reads, or a vectorizer's ``analyzer``. A name only used as an attribute (``re.sub``) is no read of
the frame called ``sub``."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebooks import model_source_names as sources_of
from notebooks import run_notebook

LOAD = 'abbr = pd.read_csv("abbr.csv", header=None, index_col=0).squeeze("columns").to_dict()'
READ = 'df = pd.read_csv("texts.csv")'
DEFINE = r"""
def lookup(word):
    return abbr.get(word, word)

def expand(text):
    return " ".join(lookup(w) for w in text.split())

def dropper(words):
    return lambda text: " ".join(w for w in text.split() if w not in words)

def expand_with(text, table=abbr):  # the table as a default
    return " ".join(table.get(w, w) for w in text.split())

class Cleaner:
    def __init__(self, table):
        self.table = table

    def expand(self, text):
        return expand_with(text, self.table)

def stripped(text):
    return re.sub(r"\s+", " ", text).strip()  # ``sub`` an attribute here, not the frame named so
"""
APPLY = """
df["clean"] = df["text"].apply(expand)
df.to_csv("out.csv", index=False)
pd.read_csv("texts.csv")["text"].map(dropper(stop)).to_csv("short.csv", index=False)
plain = pd.read_csv("texts.csv")["text"].apply(str.upper)  # a function not of the user's: nothing more
plain.to_csv("plain.csv", index=False)
fresh = pd.read_csv("texts.csv")["text"]
fresh.apply(expand_with).to_csv("default.csv", index=False)
fresh.apply(functools.partial(expand_with, table=abbr)).to_csv("partial.csv", index=False)
fresh.apply(Cleaner(abbr).expand).to_csv("method.csv", index=False)
fresh.apply(stripped).to_csv("stripped.csv", index=False)
pd.DataFrame({"t": [" ".join(dropper(stop)(m).split()) for m in fresh]}).to_csv("listed.csv", index=False)
first, second = pd.read_csv("texts.csv"), pd.read_csv("texts.csv")
for part in (first, second):  # a length of the cleaned text, through the string accessor no hook follows
    part["n"] = part["text"].apply(expand).str.len()
first.to_csv("lengths.csv", index=False)
"""
FIT = """
import joblib
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline

def text_process(text):  # the SMS spam tutorial's analyzer: words that are no stopwords
    return [w for w in text.split() if w not in stop]

spam = Pipeline([("bow", CountVectorizer(analyzer=text_process)), ("classifier", MultinomialNB())])
joblib.dump(spam.fit(pd.read_csv("texts.csv")["text"], [0, 1, 0]), "spam.joblib")
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
    (tmp_path / "sub.csv").write_text("id,target\n1,0\n")  # the Kaggle submission template, named ``sub``
    store_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    setup = "\n".join(
        (
            "import functools, re",
            "import pandas as pd",
            'stop = set(pd.read_csv("stop.csv")["word"])',
            'sub = pd.read_csv("sub.csv")',
        )
    )
    run_notebook(tmp_path / "clean.ipynb", [setup, *LAYOUTS[layout], FIT], env, timeout=120)
    assert sources_of(store_url, tmp_path / "out.csv") == {"abbr.csv", "texts.csv"}
    assert sources_of(store_url, tmp_path / "short.csv") == {"stop.csv", "texts.csv"}
    assert sources_of(store_url, tmp_path / "plain.csv") == {"texts.csv"}
    for written in ("default.csv", "partial.csv", "method.csv"):
        assert sources_of(store_url, tmp_path / written) == {"abbr.csv", "texts.csv"}, written
    assert sources_of(store_url, tmp_path / "stripped.csv") == {"texts.csv"}
    assert sources_of(store_url, tmp_path / "listed.csv") == {"stop.csv", "texts.csv"}  # a comprehension's call
    assert sources_of(store_url, tmp_path / "lengths.csv") == {"abbr.csv", "texts.csv"}
    assert sources_of(store_url, tmp_path / "spam.joblib") == {"stop.csv", "texts.csv"}  # a vectorizer's analyzer
