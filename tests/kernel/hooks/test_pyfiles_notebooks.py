"""Plain Python file I/O and nested reads in real notebooks: every model links to exactly the files it came from.

The cells follow public examples: an iris classifier read with ``csv.reader`` into lists (pmatigakis/classifier),
rows of ``csv.DictReader`` into a DataFrame, a JSON-lines corpus loaded by a function the notebook defines
(dok-malee/classification-nn), a folder of CSVs concatenated with ``pd.concat(map(pd.read_csv, glob(...)))`` (the
well-known cheat sheet idiom) and with a generator, a cleaned CSV written with ``csv.writer``, a dataset bundled
with scikit-learn (the library's own files: nothing), ``pathlib`` reads and writes. The data is synthesized.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, datasets, upstream
from nblineage.lineage.store import Store

IRIS = """
import csv, glob, json, pickle
import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

data = []
target = []
with open("iris.data") as f:
    csv_reader = csv.reader(f, delimiter=",")
    for row in csv_reader:
        record = [float(item) for item in row[:4]]
        data.append(record)
        target.append(row[4])
data = np.array(data)
clf = LogisticRegression(max_iter=500)
clf.fit(data, target)
joblib.dump(clf, "iris.joblib")
"""
CONFIG = """
with open("config.json") as f:
    cfg = json.load(f)
"""
HOUSES = """
with open("houses.csv", newline="") as f:
    rows = list(csv.DictReader(f))
houses = pd.DataFrame(rows).astype(float)
reg = LinearRegression(**cfg["params"]).fit(houses[["area", "rooms"]], houses["price"])
pickle.dump(reg, open("houses.pkl", "wb"))
"""
NEWS = """
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.pipeline import make_pipeline

def load_data(file_path):
    with open(file_path, "r", encoding="utf-8") as file:
        data = [json.loads(line) for line in file]
    assert len(data) > 0, "No data loaded"
    return data

news_data = load_data(file_path="news_train.jsonl")
texts = [item["text"] for item in news_data]
labels = [item["label"] for item in news_data]
text_clf = make_pipeline(CountVectorizer(), LogisticRegression())
text_clf.fit(texts, labels)
joblib.dump(text_clf, "news.joblib")
"""
SALES = """
sales = pd.concat(map(pd.read_csv, sorted(glob.glob("sales/*.csv"))), ignore_index=True)
sales_model = LinearRegression().fit(sales[["x"]], sales["y"])
joblib.dump(sales_model, "sales.joblib")
"""
EXTRA = """
extra = pd.concat((pd.read_csv(p) for p in sorted(glob.glob("extra/*.csv"))), ignore_index=True)
sizes = pd.Series(sorted(glob.glob("extra/*.csv"))).apply(lambda p: len(pd.read_csv(p)))
assert sizes.sum() == len(extra)
extra_model = LinearRegression().fit(extra[["x"]], extra["y"])
joblib.dump(extra_model, "extra.joblib")
"""
CLEAN_WRITE = """
with open("clean.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["x", "y"])
    for r in rows:
        writer.writerow([r["area"], r["price"]])
"""
CLEAN_TRAIN = """
clean = pd.read_csv("clean.csv")
joblib.dump(LinearRegression().fit(clean[["x"]], clean["y"]), "clean.joblib")
"""
BUNDLED = """
from sklearn.datasets import load_iris
X_iris, y_iris = load_iris(return_X_y=True)
joblib.dump(LogisticRegression(max_iter=500).fit(X_iris, y_iris), "bundled.joblib")
"""
PATHLIB = """
from pathlib import Path
vocab = sorted(set(Path("words.txt").read_text().split()))
Path("vocab.txt").write_text("\\n".join(vocab))
"""
CELLS = [IRIS, CONFIG, HOUSES, NEWS, SALES, EXTRA, CLEAN_WRITE, CLEAN_TRAIN, BUNDLED, PATHLIB]


def _synthesize(folder: Path) -> None:
    rng = random.Random(7)
    species = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    with open(folder / "iris.data", "w", newline="") as f:
        writer = csv.writer(f)
        for i in range(60):
            kind = i % 3
            writer.writerow([round(4.5 + kind + rng.random(), 1) for _ in range(4)] + [species[kind]])
    (folder / "config.json").write_text(json.dumps({"params": {"fit_intercept": True}}))
    with open(folder / "houses.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["area", "rooms", "price"])
        writer.writeheader()
        for _ in range(40):
            area, rooms = rng.randint(40, 200), rng.randint(1, 6)
            writer.writerow({"area": area, "rooms": rooms, "price": 3 * area + 10 * rooms + rng.random()})
    with open(folder / "news_train.jsonl", "w", encoding="utf-8") as f:
        for i in range(30):
            label = ["sports", "business"][i % 2]
            words = ["match goal team", "market stock price"][i % 2]
            f.write(json.dumps({"text": f"{words} {i}", "label": label}) + "\n")
    for sub, count in (("sales", 3), ("extra", 2)):
        (folder / sub).mkdir()
        for i in range(count):
            rows = "\n".join(f"{x},{2 * x + i}" for x in range(5))
            (folder / sub / f"part-{i}.csv").write_text(f"x,y\n{rows}\n")
    (folder / "words.txt").write_text("the cat sat on the mat\n")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _synthesize(tmp_path)
    return tmp_path


def _sources(store: Store, path: Path) -> set[str]:
    """The files (datasets and models) upstream of ``path``, relative to its folder."""
    nodes = upstream(store, DatasetRef("file", str(path)))
    return {str(Path(n.name).relative_to(path.parent)) for n in nodes if n.type in ("dataset", "model")}


def test_every_model_links_to_exactly_its_files(workdir: Path, store_url: str) -> None:
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "plain.ipynb", CELLS, env, timeout=180)
    with Store(store_url) as store:
        assert _sources(store, workdir / "iris.joblib") == {"iris.data"}
        assert _sources(store, workdir / "houses.pkl") == {"houses.csv"}  # not config.json: only hyper-parameters
        assert _sources(store, workdir / "news.joblib") == {"news_train.jsonl"}
        assert _sources(store, workdir / "sales.joblib") == {f"sales/part-{i}.csv" for i in range(3)}
        assert _sources(store, workdir / "extra.joblib") == {f"extra/part-{i}.csv" for i in range(2)}
        assert _sources(store, workdir / "clean.joblib") == {"clean.csv", "houses.csv"}
        assert _sources(store, workdir / "bundled.joblib") == set()
        assert _sources(store, workdir / "vocab.txt") == {"words.txt"}
        names = {summary.name for summary in datasets(store)}
        assert not [name for name in names if "site-packages" in name or name.endswith(".py")]
        assert str(workdir / "config.json") in names  # read by the user: a dataset, even if no model used it


HELPERS = """
import csv


def load_rows(path):
    with open(path, newline="") as f:
        return [[float(value) for value in row] for row in csv.reader(f)]
"""
IMPORT_HELPERS = "import helpers"
USE_HELPERS = """
from sklearn.linear_model import LinearRegression
table = np.array(helpers.load_rows("table.csv"))
helper_model = LinearRegression().fit(table[:, :1], table[:, 1])
pickle.dump(helper_model, open("helper_model.pkl", "wb"))
"""
SCRIPT_STYLE = """
import pickle
import numpy as np
from sklearn.linear_model import LogisticRegression

workdata = "measurements.txt"
dataset = open(workdata, "r")
mat = dataset.readlines()
time = []
for row in mat:
    pres = row.split()
    pres = [float(ro) for ro in pres]
    time.append(pres)
time = np.array(time)
X = time[:, :-1]
y = time[:, -1]
classifier = LogisticRegression()
classifier.fit(X, y)
pickle.dump(classifier, open("attributes.p", "wb"), protocol=2)
"""
JSONL_ROUND_TRIP = """
import json

def read_jsonl(infile):
    dictlist = []
    with open(infile) as f:
        for line in f:
            lines = json.loads(line)
            for lin in lines["rows"]:
                dictlist.append({"text": lin["row"]["text"], "label": lin["row"]["label"]})
    return dictlist

def write_in_jsonl(items, outfile):
    with open(outfile, "w") as f:
        for entry in items:
            json.dump(entry, f)
            f.write("\\n")

dictlist = read_jsonl("pages.jsonl")
write_in_jsonl(dictlist, "flat.jsonl")
"""
RELOAD = """
with open("attributes.p", "rb") as f:
    reloaded = pickle.load(f)
with open("flat.jsonl") as f:
    flat = [json.loads(line) for line in f]
from sklearn.feature_extraction.text import TfidfVectorizer
vectorizer = TfidfVectorizer().fit([item["text"] for item in flat])
with open("vectorizer.pkl", "wb") as out:
    pickle.dump(vectorizer, out)
with open("reloaded.pkl", "wb") as out:
    pickle.dump(reloaded, out)
"""


def test_script_style_reads_writes_and_reloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rng = random.Random(3)
    rows = [f"{rng.random():.3f} {rng.random():.3f} {i % 2}" for i in range(40)]
    (tmp_path / "measurements.txt").write_text("\n".join(rows) + "\n")
    with open(tmp_path / "pages.jsonl", "w") as f:
        for page in range(3):
            items = [{"row": {"text": f"word{page} item{i}", "label": i % 2}} for i in range(4)]
            f.write(json.dumps({"rows": items}) + "\n")
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "table.csv").write_text("".join(f"{x},{3 * x + 1}\n" for x in range(10)))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = [SCRIPT_STYLE, JSONL_ROUND_TRIP, RELOAD, IMPORT_HELPERS, USE_HELPERS]
    run_notebook(tmp_path / "scripts.ipynb", cells, env, timeout=180)
    with Store(url) as store:
        assert _sources(store, tmp_path / "attributes.p") == {"measurements.txt"}
        assert _sources(store, tmp_path / "flat.jsonl") == {"pages.jsonl"}
        assert _sources(store, tmp_path / "vectorizer.pkl") == {"flat.jsonl", "pages.jsonl"}
        # a model loaded from its file and saved again derives from that file (and what it came from)
        assert _sources(store, tmp_path / "reloaded.pkl") == {"attributes.p", "measurements.txt"}
        assert _sources(store, tmp_path / "helper_model.pkl") == {"table.csv"}  # read by a module of the user's
        kinds = {summary.name: summary.type for summary in datasets(store)}
        assert kinds[str(tmp_path / "attributes.p")] == "model"  # the pickle hook's output, not a second plain one


PREDICTOR = """
import joblib
import pandas as pd


def log_prediction(country, y_pred, logfile):
    with open(logfile, "a") as f:
        f.write(",".join(map(str, [country, y_pred])) + "\\n")


def predict_and_log(country):
    models = {c: joblib.load(f"m_{c}.joblib") for c in ["a", "b"]}
    data = {c: pd.read_csv(f"{c}.csv") for c in ["a", "b"]}
    y_pred = models[country].predict(data[country][["x"]].iloc[[0]])
    with open("direct.log", "a") as f:
        f.write(",".join(map(str, [country, y_pred])) + "\\n")
    log_prediction(country, y_pred, "nested.log")
"""
MODELS = """
import joblib
import pandas as pd
from sklearn.linear_model import LinearRegression

for c in ["a", "b"]:
    df = pd.read_csv(f"{c}.csv")
    joblib.dump(LinearRegression().fit(df[["x"]], df["y"]), f"m_{c}.joblib")
"""


def test_a_file_written_in_a_function_derives_from_what_its_statement_writes(tmp_path: Path) -> None:
    """A log written with ``open`` inside a function of the user's own module (the ``predict`` helper of a served
    model, as the AI workflow capstone's ``model.py`` does) derives from the model and the rows its prediction used,
    not from every file the function loaded into its dicts."""
    rng = random.Random(5)
    for c in ("a", "b"):
        rows = "".join(f"{rng.random():.3f},{rng.random():.3f}\n" for _ in range(20))
        (tmp_path / f"{c}.csv").write_text(f"x,y\n{rows}")
    (tmp_path / "predictor.py").write_text(PREDICTOR)
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = [
        f"import os; os.chdir({str(tmp_path)!r})",
        MODELS,
        "from predictor import predict_and_log",
        'predict_and_log("a")',
    ]
    run_notebook(tmp_path / "serve.ipynb", cells, env, timeout=180)
    with Store(url) as store:
        assert _sources(store, tmp_path / "direct.log") == {"a.csv", "m_a.joblib"}
        assert _sources(store, tmp_path / "nested.log") == {"a.csv", "m_a.joblib"}


METADATA_LOOP = """
import json, os
import xml.etree.ElementTree as ET

docs, metadata = [], {}
for i, (xml_file, txt_file) in enumerate(zip(sorted(os.listdir("meta")), sorted(os.listdir("ngram")))):
    root = ET.parse("meta/" + xml_file).getroot()
    metadata["doc_" + str(i)] = {"title": root.find("title").text.lower()}
    with open("ngram/" + txt_file) as f:
        docs.append(f.read().split())
with open("metadata.json", "w") as out:
    json.dump(metadata, out)
with open("docs.json", "w") as out:
    json.dump(docs, out)
"""


def test_plain_values_written_derive_from_what_their_names_read_only(tmp_path: Path) -> None:
    """A dict of strings parsed from files no hook sees (ElementTree opens them itself), written as JSON, derives
    from no file, not from the text files the same loop read into another list (iliff/jstor-topic-model's
    ``prepare_corpus.py``); that list's JSON derives from them."""
    for sub in ("meta", "ngram"):
        (tmp_path / sub).mkdir()
    for i in range(3):
        (tmp_path / "meta" / f"a{i}.xml").write_text(f"<article><title>T{i}</title></article>")
        (tmp_path / "ngram" / f"a{i}.txt").write_text(f"church\t3\nprayer\t{i}\n")
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "corpus.ipynb", [f"import os; os.chdir({str(tmp_path)!r})", METADATA_LOOP], env)
    with Store(url) as store:
        assert _sources(store, tmp_path / "metadata.json") == set()
        assert _sources(store, tmp_path / "docs.json") == {f"ngram/a{i}.txt" for i in range(3)}


PICKLE_PUT = """
data = pd.read_csv("{name}.csv")
b = pickle.dumps(data)
with open("{name}.pkl", "wb") as f:
    f.write(b)
"""


def test_a_with_statement_binds_its_own_name_before_its_body_reads_it(tmp_path: Path) -> None:
    """Two cells alike (an Airflow task's ``pickle.dumps`` then a write, repeated per file): the second cell's
    ``f.write(b)`` read ``f`` as the first cell left it (the file written from x.csv), so y.pkl got x.csv too."""
    for name in ("x", "y"):
        (tmp_path / f"{name}.csv").write_text("a\n1\n2\n")
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    env = {"NBLINEAGE_URL": url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    cells = [f"import os, pickle; os.chdir({str(tmp_path)!r})\nimport pandas as pd"]
    cells += [PICKLE_PUT.format(name=name) for name in ("x", "y")]
    run_notebook(tmp_path / "put.ipynb", cells, env)
    with Store(url) as store:
        assert _sources(store, tmp_path / "x.pkl") == {"x.csv"}
        assert _sources(store, tmp_path / "y.pkl") == {"y.csv"}
