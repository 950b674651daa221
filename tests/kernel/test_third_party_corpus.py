"""A small third-party corpus: public scripts that read data the everyday ways issue 11 lists (numpy files, plain
``open``/``csv``/``json``, DB-API ``sqlite3``, ``pickle``/``joblib`` loads, ``pd.concat`` of a folder's CSVs, fits
on ``.values``), each modelled on the script named in its comment (adapted: paths, a missing model step, outdated
imports), with data synthesized in the schema the script expects. Two kernels: one prepares (a table written by
``to_sql``, a folder merged), the other trains. The truth is written down from reading the code; every model must
link to exactly its sources (recall and precision 100 %), printed as a summary."""

from __future__ import annotations

import json
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from notebooks import run_notebook

from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

# Kernel 1: preparation scripts.
PREPARE = [
    # The iris table written with to_sql (the table that github.com/candresrocharuiz/Acamica update.py reads).
    """
import sqlite3
import pandas as pd
iris = pd.read_csv("iris/iris.csv")
with sqlite3.connect("iris/iris.db") as con:
    iris.to_sql("iris", con, if_exists="replace")
""",
    # github.com/damnqse05820/t data/merge_csv.py: every CSV of a folder appended to a list, concatenated, saved.
    """
import pandas as pd
from glob import glob
interesting_files = glob("merge/parts/*.csv")
df_list = []
for filename in sorted(interesting_files):
    df_list.append(pd.read_csv(filename, low_memory=False))
full_df = pd.concat(df_list)
full_df.to_csv("merge/dataset.csv", index=False)
""",
]

# Kernel 2: training scripts, one per cell.
TRAIN = [
    # github.com/Dadajon/dl-with-big-data practice/week3/language/lang_train_save.py: json.load, SVC, joblib.dump.
    """
from sklearn import svm
import joblib
import json
with open("lang/freq.json", "r", encoding="utf-8") as fp:
    d = json.load(fp)
    data = d[0]
clf = svm.SVC()
clf.fit(data["freqs"], data["labels"])
joblib.dump(clf, "lang/freq.pkl")
""",
    # github.com/codeBlooded29/stackoverflow.com-answer-and-time-predictor Train_3.py: two pickles, np.array, RF.
    """
import pickle
import numpy as np
import joblib
from sklearn.ensemble import RandomForestClassifier
with open("so/features_train1", "rb") as fp:
    features_train = pickle.load(fp)
with open("so/labels_train1", "rb") as fp:
    labels_train = pickle.load(fp)
X_train = np.array(features_train)
y_train = np.array(labels_train)
clf = RandomForestClassifier(n_estimators=10)
clf.fit(X_train, y_train, sample_weight=None)
joblib.dump(clf, "so/trained_3.pkl")
""",
    # github.com/ahmed-elghazi/California-Wildfire-Predictor MLProject/Scripts/train_logistic.py: np.load.
    """
import numpy as np
import joblib
from sklearn.linear_model import LogisticRegression
X_train = np.load("fire/X_train.npy")
y_train = np.load("fire/y_train.npy")
X_test = np.load("fire/X_test.npy")
logreg = LogisticRegression(max_iter=200, random_state=42, class_weight="balanced")
logreg.fit(X_train, y_train)
joblib.dump(logreg, "fire/saved_model_logistic.joblib")
print(logreg.score(X_test, np.zeros(len(X_test))))
""",
    # github.com/SheldonHH/KL_Divergence user_gauss_params/py/combine_csv.py: pd.concat(map(pd.read_csv, glob)),
    # then a regression on the joined sales (the model step added); and the generator form of the same.
    """
import glob
import os
import pandas as pd
from sklearn.linear_model import Ridge
files = os.path.join("sales", "sales*.csv")
files = glob.glob(files)
df = pd.concat(map(pd.read_csv, files), ignore_index=True)
ridge = Ridge().fit(df[["price", "units"]], df["revenue"])
joblib.dump(ridge, "sales/ridge.joblib")
again = pd.concat((pd.read_csv(f) for f in glob.glob("sales/sales*.csv")), ignore_index=True)
ridge2 = Ridge().fit(again[["units"]].values, again["revenue"].values)
joblib.dump(ridge2, "sales/ridge2.joblib")
""",
    # The merged dataset of damnqse05820/t trained on with .values (the shape of a public train.py that drops the
    # target and fits on .values).
    """
import pandas as pd
from sklearn.linear_model import LogisticRegression
train_dataset = pd.read_csv("merge/dataset.csv")
y = train_dataset.loc[:, "target"].values.astype("float32")
X = train_dataset.drop("target", axis=1).values
clf = LogisticRegression(C=0.01, solver="lbfgs", max_iter=100)
clf.fit(X, y)
joblib.dump(clf, "merge/model.joblib")
""",
    # github.com/candresrocharuiz/Acamica update.py: the old model loaded (and not used), the iris table read with
    # read_sql on a sqlite3 connection, a new forest pickled over the old one (their X = datos[:, :2] fixed).
    """
import pickle
import sqlite3
from sklearn.ensemble import RandomForestClassifier
with open("iris/model.pkl", "rb") as m:
    model = pickle.load(m)
con = sqlite3.connect("iris/iris.db")
cursorObj = con.cursor()
datos = pd.read_sql("SELECT * FROM iris", con)
X = datos.iloc[:, 1:3]
y = datos.target
clf = RandomForestClassifier(max_depth=100, random_state=0, n_estimators=10)
clf.fit(X, y)
with open("iris/model.pkl", "wb") as modelo:
    pickle.dump(clf, modelo)
""",
    # A public results script (reformat_as_dataframe: cursor, SELECT * FROM a table, fetchall, np.array of rows,
    # a random forest pickled), on the table the preparation kernel wrote with to_sql.
    """
import sqlite3 as sql
def reformat_as_dataframe(db_filename, table="iris"):
    con = sql.connect(db_filename)
    cur = con.cursor()
    cur.execute("SELECT * FROM %s" % table)
    rows = cur.fetchall()
    np_features = np.array([[r[1], r[2], r[3], r[4]] for r in rows])
    labels = np.array([r[5] for r in rows])
    con.close()
    return np_features, labels
features, labels = reformat_as_dataframe("iris/iris.db")
forest = RandomForestClassifier(n_estimators=10).fit(features, labels)
with open("iris/forest.pkl", "wb") as f:
    pickle.dump(forest, f)
""",
    # github.com/enuguru/artificial_intelligence_and_machine_learning machine_learning_algorithms_from_scratch/
    # code/load_csv/load_csv_better.py: csv.reader in a function; the rows made floats and fit (the model added).
    """
from csv import reader
def load_csv(filename):
    dataset = list()
    with open(filename, "r") as file:
        csv_reader = reader(file)
        for row in csv_reader:
            if not row:
                continue
            dataset.append(row)
    return dataset
filename = "pima/pima-indians-diabetes.csv"
dataset = load_csv(filename)
for i in range(len(dataset)):
    dataset[i] = [float(x) for x in dataset[i]]
pima = LogisticRegression(max_iter=500).fit([row[:8] for row in dataset], [row[8] for row in dataset])
joblib.dump(pima, "pima/pima.joblib")
""",
    # A public traffic-sign notebook's "Load pickled data" cell (train.p and test.p, dicts of features and labels),
    # then a classifier fit on the training half only (the model step added).
    """
training_file = "signs/train.p"
testing_file = "signs/test.p"
with open(training_file, mode="rb") as f:
    train = pickle.load(f)
with open(testing_file, mode="rb") as f:
    test = pickle.load(f)
x_train, y_train = train["features"], train["labels"]
x_test, y_test = test["features"], test["labels"]
signs = LogisticRegression(max_iter=300).fit(x_train.reshape(len(x_train), -1), y_train)
print(signs.score(x_test.reshape(len(x_test), -1), y_test))
joblib.dump(signs, "signs/signs.joblib")
""",
    # A public decision-tree script (read_training_data: csv.reader, header left out, numpy arrays; fit_classifier
    # calls it), the classifier saved.
    """
import csv
import numpy
from sklearn import tree
def read_training_data(filename):
    with open(filename, "r") as data:
        reader = csv.reader(data)
        rows = [r for r in reader][1:]
        X = numpy.array([[float(f) for f in r] for r in rows])
        Y = numpy.array([int(float(r[0])) for r in rows])
        return X, Y
def fit_classifier(training_data):
    X, Y = read_training_data(training_data)
    clf = tree.DecisionTreeClassifier()
    clf = clf.fit(X, Y)
    return clf
dtree = fit_classifier("dtree/training.csv")
joblib.dump(dtree, "dtree/tree.joblib")
""",
]


def truth(workdir: Path) -> dict[str, set[str]]:
    """Each model's sources, from reading the code: files by their path under the work folder, tables by name."""
    parts = {f"merge/parts/part{i}.csv" for i in range(3)}
    return {
        "lang/freq.pkl": {"lang/freq.json"},
        "so/trained_3.pkl": {"so/features_train1", "so/labels_train1"},
        "fire/saved_model_logistic.joblib": {"fire/X_train.npy", "fire/y_train.npy"},
        "sales/ridge.joblib": {f"sales/sales{i}.csv" for i in range(3)},
        "sales/ridge2.joblib": {f"sales/sales{i}.csv" for i in range(3)},
        "merge/model.joblib": {"merge/dataset.csv", *parts},
        "iris/model.pkl": {"table:iris", "iris/iris.csv"},
        "iris/forest.pkl": {"table:iris", "iris/iris.csv"},
        "pima/pima.joblib": {"pima/pima-indians-diabetes.csv"},
        "dtree/tree.joblib": {"dtree/training.csv"},
        "signs/signs.joblib": {"signs/train.p"},
    }


def synthesize(workdir: Path) -> None:
    rng = np.random.default_rng(2026)
    for folder in ("iris", "merge/parts", "lang", "so", "fire", "sales", "pima", "dtree", "signs"):
        (workdir / folder).mkdir(parents=True, exist_ok=True)
    species = ("setosa", "versicolor", "virginica")
    rows = [
        f"{5 + i % 3 * 0.6:.1f},{3 + i % 2 * 0.3:.1f},{1 + i % 3 * 2.1:.1f},{0.2 + i % 3 * 0.8:.1f},{i % 3}"
        for i in range(90)
    ]
    (workdir / "iris/iris.csv").write_text(
        "sepal_length,sepal_width,petal_length,petal_width,target\n" + "\n".join(rows) + "\n"
    )
    with open(workdir / "iris/model.pkl", "wb") as handle:  # an older model, saved before capture
        pickle.dump({"old": "model"}, handle)
    del species
    for i in range(3):
        a, b = rng.normal(size=40), rng.normal(size=40)
        lines = [f"{x:.3f},{z:.3f},{int(x + z > 0)}" for x, z in zip(a, b, strict=True)]
        (workdir / f"merge/parts/part{i}.csv").write_text("f1,f2,target\n" + "\n".join(lines) + "\n")
        price, units = rng.uniform(1, 20, 30), rng.integers(1, 50, 30)
        sales = [f"{p:.2f},{u},{p * u:.2f}" for p, u in zip(price, units, strict=True)]
        (workdir / f"sales/sales{i}.csv").write_text("price,units,revenue\n" + "\n".join(sales) + "\n")
    freqs = rng.uniform(0, 0.2, (30, 26)).round(4).tolist()
    (workdir / "lang/freq.json").write_text(json.dumps([{"freqs": freqs, "labels": ["en", "fr", "id"] * 10}]))
    (workdir / "lang/other.json").write_text(json.dumps({"unused": True}))
    for name, value in (("features_train1", rng.normal(size=(40, 4)).tolist()), ("labels_train1", [0, 1] * 20)):
        with open(workdir / "so" / name, "wb") as handle:
            pickle.dump(value, handle)
    for name, shape in (("X_train", (60, 6)), ("X_test", (20, 6))):
        np.save(workdir / f"fire/{name}.npy", rng.normal(size=shape))
    np.save(workdir / "fire/y_train.npy", np.array([0, 1] * 30))
    pima = rng.uniform(0, 100, (50, 8)).round(1)
    (workdir / "pima/pima-indians-diabetes.csv").write_text(
        "\n".join(",".join(f"{v}" for v in row) + f",{i % 2}" for i, row in enumerate(pima)) + "\n"
    )
    for name, count in (("train", 40), ("test", 16)):
        block = {"features": rng.uniform(0, 1, (count, 4, 4)), "labels": np.array([0, 1, 2, 3] * (count // 4))}
        with open(workdir / f"signs/{name}.p", "wb") as handle:
            pickle.dump(block, handle)
    lines = [f"{i % 2},{v[0]:.2f},{v[1]:.2f}" for i, v in enumerate(rng.normal(size=(40, 2)))]
    (workdir / "dtree/training.csv").write_text("label,a,b\n" + "\n".join(lines) + "\n")


def found_sources(store_url: str, workdir: Path, model: str) -> set[str]:
    with Store(store_url) as store:
        nodes = upstream(store, DatasetRef("file", str(workdir / model)))
    found = set()
    for node in nodes:
        if node.type not in ("dataset", "model"):
            continue
        if node.namespace == "file":
            path = Path(node.name)
            found.add(str(path.relative_to(workdir)) if path.is_relative_to(workdir) else node.name)
        else:
            found.add(f"table:{node.name}")
    return found


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_third_party_corpus_links_every_model_to_exactly_its_sources(workdir: Path) -> None:
    synthesize(workdir)
    store_url = f"sqlite:///{workdir / 'lineage.db'}"
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(workdir / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(workdir / "prepare.ipynb", PREPARE, env, timeout=180)
    run_notebook(workdir / "train.ipynb", TRAIN, env, timeout=180)
    with sqlite3.connect(workdir / "iris/iris.db") as con:
        assert con.execute("SELECT count(*) FROM iris").fetchone() == (90,)
    con.close()
    expected = truth(workdir)
    found = {model: found_sources(store_url, workdir, model) for model in expected}
    links = {(model, source) for model, sources in expected.items() for source in sources}
    recorded = {(model, source) for model, sources in found.items() for source in sources}
    hits = len(links & recorded)
    recall, precision = hits / len(links), hits / max(len(recorded), 1)
    counts = f"{len(expected)} models, {len(links)} links"
    print(f"third-party corpus: {counts}, recall {recall:.1%}, precision {precision:.1%}")
    assert found == expected
