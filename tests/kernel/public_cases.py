"""Public notebooks and scripts reproduced as notebooks for `test_public_pipelines.py`: each case is one or more
kernels (a multi-script pipeline runs each script in a kernel of its own), helper modules written beside them, the
data synthesized in the schema the code expects (no downloads), and the truth read from the code: each saved model
with exactly the datasets it came from (files by their path under the work folder, tables as ``table:NAME``).

Each case is written anew after the code credited in its comment, keeping what matters for lineage: the calls that
read, transform, train and save, the functions and classes they run in, the loops and the files; what differs is
said where it does: paths instead of ``sys.argv`` or downloads, sizes scaled down, a model step or save where the
original ends before one."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Case:
    """A public pipeline: its kernels (each a list of cells), helper files, data and the truth."""

    name: str
    kernels: tuple[tuple[str, ...], ...]
    synthesize: Callable[[Path], None]
    truth: dict[str, set[str]]
    helpers: dict[str, str] = field(default_factory=dict)
    postgres: bool = False


# 1. DVC's get-started pipeline (https://github.com/iterative/example-get-started, src/prepare.py,
#    src/featurization.py, src/train.py, src/evaluate.py): Stack Overflow posts read line by line with io.open and
#    split at random into two TSV files written line by line; TF-IDF fit on the train split only, each split's
#    sparse matrix pickled with its feature names; a forest fit on the train matrix and pickled; the test matrix
#    scored. sys.argv replaced by the paths dvc.yaml passes; train.py's save is the pickle.dump of its DVC 2 version
#    (later versions use mlem); evaluate.py's metrics written with json as its DVC 2 version did (no dvclive).
DVC_PREPARE = r"""
import io
import os
import random
import re
import sys
import xml.etree.ElementTree

SPLIT = 0.20
random.seed(20170426)
source = "data/data.xml"
train_path = os.path.join("data", "prepared", "train.tsv")
test_path = os.path.join("data", "prepared", "test.tsv")


def write_posts(posts, train_out, test_out, tag):
    number = 1
    for line in posts:
        try:
            out = train_out if random.random() > SPLIT else test_out
            attributes = xml.etree.ElementTree.fromstring(line).attrib
            post_id = attributes.get("Id", "")
            label = 1 if tag in attributes.get("Tags", "") else 0
            title = re.sub(r"\s+", " ", attributes.get("Title", "")).strip()
            body = re.sub(r"\s+", " ", attributes.get("Body", "")).strip()
            out.write("{}\t{}\t{}\n".format(post_id, label, title + " " + body))
            number += 1
        except Exception as error:
            sys.stderr.write("skipped line {}: {}\n".format(number, error))


os.makedirs(os.path.join("data", "prepared"), exist_ok=True)
with io.open(source, encoding="utf8") as posts:
    with io.open(train_path, "w", encoding="utf8") as train_out:
        with io.open(test_path, "w", encoding="utf8") as test_out:
            write_posts(posts, train_out, test_out, "<python>")
"""
DVC_FEATURIZE = r"""
import os
import pickle
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sparse
import yaml
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

params = yaml.safe_load(open("params.yaml"))["featurize"]
train_in = os.path.join("data/prepared", "train.tsv")
test_in = os.path.join("data/prepared", "test.tsv")
train_out = os.path.join("data/features", "train.pkl")
test_out = os.path.join("data/features", "test.pkl")
max_features = params["max_features"]
ngrams = params["ngrams"]


def read_split(path):
    frame = pd.read_csv(path, encoding="utf-8", header=None, delimiter="\t", names=["id", "label", "text"])
    sys.stderr.write(f"{path}: {frame.shape}\n")
    return frame


def save_matrix(frame, matrix, names, path):
    ids = sparse.csr_matrix(frame.id.astype(np.int64)).T
    labels = sparse.csr_matrix(frame.label.astype(np.int64)).T
    stacked = sparse.hstack([ids, labels, matrix], format="csr")
    with open(path, "wb") as handle:
        pickle.dump((stacked, names), handle)


os.makedirs("data/features", exist_ok=True)
train_frame = read_split(train_in)
train_text = np.array(train_frame.text.str.lower().values)
counts = CountVectorizer(stop_words="english", max_features=max_features, ngram_range=(1, ngrams))
counts.fit(train_text)
train_counts = counts.transform(train_text)
vocabulary = counts.get_feature_names_out()
tfidf = TfidfTransformer(smooth_idf=False)
tfidf.fit(train_counts)
save_matrix(train_frame, tfidf.transform(train_counts), vocabulary, train_out)

test_frame = read_split(test_in)
test_text = np.array(test_frame.text.str.lower().values)
save_matrix(test_frame, tfidf.transform(counts.transform(test_text)), vocabulary, test_out)
"""
DVC_TRAIN = r"""
import os
import pickle

import numpy as np
import yaml
from sklearn.ensemble import RandomForestClassifier

params = yaml.safe_load(open("params.yaml"))["train"]
features_dir = "data/features"
model_path = "model.pkl"
seed, n_est, min_split = params["seed"], params["n_est"], params["min_split"]

with open(os.path.join(features_dir, "train.pkl"), "rb") as handle:
    matrix, _ = pickle.load(handle)

labels = np.squeeze(matrix[:, 1].toarray())
x = matrix[:, 2:]
forest = RandomForestClassifier(n_estimators=n_est, min_samples_split=min_split, n_jobs=2, random_state=seed)
forest.fit(x, labels)
with open(model_path, "wb") as handle:
    pickle.dump(forest, handle)
"""
DVC_EVALUATE = r"""
import json
import os
import pickle

from sklearn import metrics

with open("model.pkl", "rb") as handle:
    forest = pickle.load(handle)
with open(os.path.join("data/features", "test.pkl"), "rb") as handle:
    matrix, names = pickle.load(handle)

labels = matrix[:, 1].toarray().astype(int)
scores = forest.predict_proba(matrix[:, 2:])[:, 1]
with open("scores.json", "w") as handle:
    json.dump(
        {"avg_prec": metrics.average_precision_score(labels, scores), "roc_auc": metrics.roc_auc_score(labels, scores)},
        handle,
        indent=4,
    )
"""


def _dvc_data(root: Path) -> None:
    rng = random.Random(20170426)
    words = [
        "pandas",
        "numpy",
        "loop",
        "list",
        "dict",
        "string",
        "error",
        "install",
        "java",
        "class",
        "thread",
        "async",
        "regex",
        "file",
    ]
    tags = ["&lt;python&gt;&lt;pandas&gt;", "&lt;java&gt;", "&lt;python&gt;", "&lt;c#&gt;&lt;linq&gt;"]
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<posts>"]
    for i in range(1, 161):
        title = " ".join(rng.choice(words) for _ in range(5))
        body = "&lt;p&gt;" + " ".join(rng.choice(words) for _ in range(20)) + "&lt;/p&gt;"
        lines.append(f'  <row Id="{i}" PostTypeId="1" Tags="{tags[i % 4]}" Title="{title}" Body="{body}" />')
    lines.append("</posts>")
    (root / "data").mkdir()
    (root / "data/data.xml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "params.yaml").write_text(
        "prepare:\n  split: 0.20\n  seed: 20170426\nfeaturize:\n  max_features: 200\n  ngrams: 2\n"
        "train:\n  seed: 20170428\n  n_est: 20\n  min_split: 2\n"
    )


DVC = Case(
    "dvc-get-started",
    ((DVC_PREPARE,), (DVC_FEATURIZE,), (DVC_TRAIN,), (DVC_EVALUATE,)),
    _dvc_data,
    {"model.pkl": {"data/features/train.pkl", "data/prepared/train.tsv", "data/data.xml"}},
)


# 2. Sebastian Raschka's "Python Machine Learning" (3rd ed., ch08 out-of-core learning and ch09
#    movieclassifier_with_update/update.py, https://github.com/rasbt/python-machine-learning-book-3rd-edition): the
#    IMDb reviews streamed from a CSV by a generator of the user's own, an SGDClassifier trained by partial_fit on
#    minibatches (and at the end on the test batch too, as the book does), pickled with its stop words; a SQLite
#    table of review feedback; update.py loads the classifier, fetches the reviews with fetchmany in a function
#    and trains the classifier further, pickling it over the old file. nltk's stop words replaced by a short list;
#    the stream's batch sizes scaled down 100 times; update.py's __file__ folder named.
MOVIE_TRAIN = r"""
import os
import pickle
import re

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier

stop = ["i", "me", "my", "a", "an", "the", "and", "is", "was", "of", "to", "in", "it", "this", "that"]


def tokens(text):
    text = re.sub("<[^>]*>", "", text)
    faces = re.findall(r"(?::|;|=)(?:-)?(?:\)|\(|D|P)", text.lower())
    text = re.sub(r"[\W]+", " ", text.lower()) + " ".join(faces).replace("-", "")
    return [word for word in text.split() if word not in stop]


def stream_docs(path):
    with open(path, "r", encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            yield line[:-3], int(line[-2])


def get_minibatch(stream, size):
    docs, y = [], []
    try:
        for _ in range(size):
            text, label = next(stream)
            docs.append(text)
            y.append(label)
    except StopIteration:
        return None, None
    return docs, y


vect = HashingVectorizer(decode_error="ignore", n_features=2**21, preprocessor=None, tokenizer=tokens)
clf = SGDClassifier(loss="log_loss", random_state=1)
stream = stream_docs(path="movie_data.csv")
classes = np.array([0, 1])
for _ in range(45):
    X_train, y_train = get_minibatch(stream, size=10)
    if not X_train:
        break
    clf.partial_fit(vect.transform(X_train), y_train, classes=classes)

X_test, y_test = get_minibatch(stream, size=50)
X_test = vect.transform(X_test)
print("accuracy %.3f" % clf.score(X_test, y_test))
clf = clf.partial_fit(X_test, y_test)
"""
MOVIE_PICKLE = r"""
dest = os.path.join("movieclassifier", "pkl_objects")
os.makedirs(dest, exist_ok=True)
pickle.dump(stop, open(os.path.join(dest, "stopwords.pkl"), "wb"), protocol=4)
pickle.dump(clf, open(os.path.join(dest, "classifier.pkl"), "wb"), protocol=4)
"""
MOVIE_DB = r"""
import sqlite3

conn = sqlite3.connect("movieclassifier/reviews.sqlite")
c = conn.cursor()
c.execute("DROP TABLE IF EXISTS review_db")
c.execute("CREATE TABLE review_db (review TEXT, sentiment INTEGER, date TEXT)")
for text, label in (("I love this movie", 1), ("I disliked this movie", 0)):
    c.execute("INSERT INTO review_db (review, sentiment, date) VALUES (?, ?, DATETIME('now'))", (text, label))
conn.commit()
conn.close()
"""
MOVIE_VECTORIZER = r"""
import os
import pickle
import re

from sklearn.feature_extraction.text import HashingVectorizer

here = os.path.dirname(__file__)
stop = pickle.load(open(os.path.join(here, "pkl_objects", "stopwords.pkl"), "rb"))


def tokens(text):
    text = re.sub("<[^>]*>", "", text)
    faces = re.findall(r"(?::|;|=)(?:-)?(?:\)|\(|D|P)", text.lower())
    text = re.sub(r"[\W]+", " ", text.lower()) + " ".join(faces).replace("-", "")
    return [word for word in text.split() if word not in stop]


vect = HashingVectorizer(decode_error="ignore", n_features=2**21, preprocessor=None, tokenizer=tokens)
"""
MOVIE_UPDATE = r"""
import sys

sys.path.insert(0, "movieclassifier")
import os
import pickle
import sqlite3

import numpy as np
from vectorizer import vect


def update_model(db_path, model, batch_size=10000):
    conn = sqlite3.connect(db_path)
    c = conn.cursor()
    c.execute("SELECT * from review_db")
    results = c.fetchmany(batch_size)
    while results:
        data = np.array(results)
        X = data[:, 0]
        y = data[:, 1].astype(int)
        model.partial_fit(vect.transform(X), y, classes=np.array([0, 1]))
        results = c.fetchmany(batch_size)
    conn.close()
    return model


folder = "movieclassifier"
clf = pickle.load(open(os.path.join(folder, "pkl_objects", "classifier.pkl"), "rb"))
clf = update_model(db_path=os.path.join(folder, "reviews.sqlite"), model=clf, batch_size=10000)
pickle.dump(clf, open(os.path.join(folder, "pkl_objects", "classifier.pkl"), "wb"), protocol=4)
"""


def _movie_data(root: Path) -> None:
    rng = random.Random(8)
    good = ["great", "wonderful", "loved", "brilliant", "moving", "superb"]
    bad = ["awful", "boring", "hated", "dull", "terrible", "waste"]
    neutral = ["movie", "film", "plot", "actor", "scene", "story", "the", "was"]
    with open(root / "movie_data.csv", "w", encoding="utf-8") as handle:
        handle.write("review,sentiment\n")
        for i in range(500):
            label = i % 2
            words = [rng.choice(good if label else bad) for _ in range(3)] + rng.sample(neutral, 4)
            rng.shuffle(words)
            handle.write(f'"{" ".join(words)} <br />",{label}\n')
    (root / "movieclassifier").mkdir()


MOVIES = Case(
    "raschka-sentiment-update",
    ((MOVIE_TRAIN, MOVIE_PICKLE, MOVIE_DB), (MOVIE_UPDATE,)),
    _movie_data,
    {"movieclassifier/pkl_objects/classifier.pkl": {"movie_data.csv", "table:review_db"}},
    helpers={"movieclassifier/vectorizer.py": MOVIE_VECTORIZER},
)


# 3. Raschka's "Python Machine Learning" (3rd ed., ch12 load_mnist): MNIST's idx files read with struct.unpack and
#    np.fromfile on the open handles inside a function returning (images, labels), for the training and the t10k
#    files; the scaled arrays saved with np.savez_compressed (as the book does). The book's NeuralNetMLP replaced
#    by scikit-learn's MLPClassifier fit on the first 55,000 (here 150) training images, as the book splits them,
#    the model saved with joblib (the model step added).
MNIST = r"""
import os
import struct

import numpy as np


def load_mnist(path, kind="train"):
    labels_path = os.path.join(path, "%s-labels-idx1-ubyte" % kind)
    images_path = os.path.join(path, "%s-images-idx3-ubyte" % kind)
    with open(labels_path, "rb") as label_file:
        magic, count = struct.unpack(">II", label_file.read(8))
        labels = np.fromfile(label_file, dtype=np.uint8)
    with open(images_path, "rb") as image_file:
        magic, count, rows, cols = struct.unpack(">IIII", image_file.read(16))
        images = np.fromfile(image_file, dtype=np.uint8).reshape(len(labels), 784)
        images = ((images / 255.0) - 0.5) * 2
    return images, labels


X_train, y_train = load_mnist("", kind="train")
X_test, y_test = load_mnist("", kind="t10k")
np.savez_compressed("mnist_scaled.npz", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
"""
MNIST_FIT = r"""
import joblib
from sklearn.neural_network import MLPClassifier

mlp = MLPClassifier(hidden_layer_sizes=(100,), alpha=0.01, max_iter=20, batch_size=100, random_state=1)
mlp.fit(X_train[:150], y_train[:150])
print("test accuracy %.2f" % (np.sum(y_test == mlp.predict(X_test)) / X_test.shape[0]))
joblib.dump(mlp, "mnist_mlp.joblib")
"""


def _mnist_data(root: Path) -> None:
    rng = np.random.default_rng(12)
    for kind, count in (("train", 200), ("t10k", 60)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 256, (count, 784)).astype(np.uint8)
        (root / f"{kind}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, count) + labels.tobytes())
        (root / f"{kind}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, count, 28, 28) + images.tobytes())


MNIST_CASE = Case(
    "raschka-mnist-fromfile",
    ((MNIST, MNIST_FIT),),
    _mnist_data,
    {"mnist_mlp.joblib": {"train-labels-idx1-ubyte", "train-images-idx3-ubyte"}},
)


# 4. A public PyTorch training utility (getDataLoader, train(train_loader, val_loader, test_loader, ...), val, test,
#    and the early-stopping class copied from Bjarten's early-stopping-pytorch) over train, validation and test
#    CSV files: every epoch scores the validation and the test loader, and EarlyStopping saves the state dict to
#    model.pt from inside its __call__ when the validation loss improves; test() reloads model.pt and writes
#    result.txt. The dataset class (the utility imports one of its own) reads a CSV with pandas here.
EARLY = r"""
import time

import numpy as np
import torch
from torch.utils.data import DataLoader


def getDataLoader(dataset, batch_size=32, flag="train"):
    if flag == "train":
        shuffle, drop_last = True, True
    elif flag == "pred":
        batch_size, shuffle, drop_last = 1, False, False
    else:
        batch_size, shuffle, drop_last = 1, False, True
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)


def train(train_loader, val_loader, test_loader, model, epochs, criterion, optimizer, device, patience=3):
    model.train()
    stopper = EarlyStopping(patience=patience, verbose=True)
    for epoch in range(epochs):
        losses = []
        started = time.time()
        for i, (data, label) in enumerate(train_loader):
            data = data.to(torch.float32).to(device)
            label = label.long().to(device)
            loss = criterion(model(data), label)
            losses.append(loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_loss = val(val_loader, model, criterion, device)
        test_loss = val(test_loader, model, criterion, device)
        print(f"epoch {epoch + 1} ({time.time() - started:.2f}s): {np.mean(losses)} {val_loss} {test_loss}")
        stopper(val_loss, model, "./")
        if stopper.early_stop:
            break


def val(loader, model, criterion, device):
    model.eval()
    losses = []
    with torch.no_grad():
        for data, label in loader:
            data = data.to(torch.float32).to(device)
            losses.append(criterion(model(data), label.long().to(device)).detach().cpu())
    model.train()
    return np.mean(losses)


def test(test_set, loader, model, device):
    results = []
    model.load_state_dict(torch.load("model.pt"))
    model.eval()
    with torch.no_grad():
        for data, label in loader:
            output = torch.softmax(model(data.to(torch.float32).to(device)), dim=-1)
            results.append(torch.argmax(output).item())
    out = open("result.txt", "a")
    out.write("\n".join(f"{test_set.data_names[i]}\t{r}" for i, r in enumerate(results)))
    out.close()


class EarlyStopping:
    def __init__(self, patience=7, verbose=False, delta=0):
        self.patience, self.verbose, self.delta = patience, verbose, delta
        self.counter, self.best_score, self.early_stop = 0, None, False
        self.val_loss_min = np.inf

    def __call__(self, val_loss, model, path):
        score = -val_loss
        if self.best_score is None:
            self.best_score = score
            self.save_checkpoint(val_loss, model, path)
        elif score < self.best_score + self.delta:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
        else:
            self.best_score = score
            self.save_checkpoint(val_loss, model, path)
            self.counter = 0

    def save_checkpoint(self, val_loss, model, path):
        if self.verbose:
            print(f"validation loss {self.val_loss_min:.6f} -> {val_loss:.6f}, saving")
        torch.save(model.state_dict(), f"{path}/model.pt")
        self.val_loss_min = val_loss
"""
EARLY_MAIN = r"""
import pandas as pd
from torch import nn
from torch.utils.data import Dataset


class SensorSet(Dataset):
    def __init__(self, path):
        df = pd.read_csv(path)
        self.data_names = list(df["name"])
        self.x = df.drop(columns=["name", "label"]).values.astype(np.float32)
        self.y = df["label"].values

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


train_set = SensorSet("sensors/train.csv")
val_set = SensorSet("sensors/val.csv")
test_set = SensorSet("sensors/test.csv")
train_loader = getDataLoader(train_set, batch_size=16, flag='train')
val_loader = getDataLoader(val_set, flag='val')
test_loader = getDataLoader(test_set, flag='val')

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
train(train_loader, val_loader, test_loader, model, 6, criterion, optimizer, 'cpu', patience=3)
test(test_set, getDataLoader(test_set, flag='pred'), model, 'cpu')
"""


def _sensor_data(root: Path) -> None:
    rng = np.random.default_rng(4)
    (root / "sensors").mkdir()
    for split, count in (("train", 96), ("val", 30), ("test", 30)):
        label = rng.integers(0, 3, count)
        frame = pd.DataFrame(rng.normal(size=(count, 6)) + label[:, None], columns=[f"s{i}" for i in range(6)])
        frame.insert(0, "name", [f"{split}_{i}" for i in range(count)])
        frame["label"] = label
        frame.to_csv(root / f"sensors/{split}.csv", index=False)


EARLY_CASE = Case(
    "torch-early-stopping-train-val-test",
    ((EARLY, EARLY_MAIN),),
    _sensor_data,
    {"model.pt": {"sensors/train.csv"}},
)


# 5. A public PyTorch helper module (make_loader: TensorDataset(torch.Tensor(input), torch.Tensor(target)); an
#    EarlyStopping class saving the state dict to the path it is given), imported by a training notebook over .npy
#    splits: a regression trained on the training arrays, the validation arrays deciding when to save, the test
#    arrays scored once at the end after the best checkpoint is loaded back.
TORCH_UTILS = r"""
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset


def make_loader(input, target, batch_size, shuffle=True):
    return DataLoader(TensorDataset(torch.Tensor(input), torch.Tensor(target)), shuffle=shuffle, batch_size=batch_size)


class EarlyStopping:
    def __init__(self, patience, verbose=0, delta=0):
        self.patience, self.verbose, self.delta = patience, verbose, delta
        self.counter, self.best_score, self.early_stop = 0, None, False
        self.val_loss_min = np.inf

    def __call__(self, val_loss, model, path):
        score = -val_loss
        if self.best_score is None:
            self.best_score = score
            self.save_checkpoint(val_loss, model, path)
        elif score < self.best_score + self.delta:
            self.counter += 1
            self.early_stop = self.counter >= self.patience
        else:
            self.best_score = score
            self.save_checkpoint(val_loss, model, path)
            self.counter = 0

    def save_checkpoint(self, val_loss, model, path):
        torch.save(model.state_dict(), path)
        self.val_loss_min = val_loss
"""
TORCH_NPY = r"""
import numpy as np
import torch
from torch import nn
from torch_utils import make_loader, EarlyStopping

X_train, y_train = np.load("power/X_train.npy"), np.load("power/y_train.npy")
X_valid, y_valid = np.load("power/X_valid.npy"), np.load("power/y_valid.npy")
X_test, y_test = np.load("power/X_test.npy"), np.load("power/y_test.npy")

train_loader = make_loader(X_train, y_train[:, None], batch_size=32)
valid_loader = make_loader(X_valid, y_valid[:, None], batch_size=64, shuffle=False)

torch.manual_seed(1)
model = nn.Sequential(nn.Linear(X_train.shape[1], 32), nn.Tanh(), nn.Linear(32, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
loss_fn = nn.MSELoss()
stopper = EarlyStopping(patience=5)
for epoch in range(30):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        valid_loss = np.mean([loss_fn(model(xb), yb).item() for xb, yb in valid_loader])
    stopper(valid_loss, model, "power/checkpoint.pt")
    if stopper.early_stop:
        break

model.load_state_dict(torch.load("power/checkpoint.pt"))
with torch.no_grad():
    test_mse = loss_fn(model(torch.Tensor(X_test)), torch.Tensor(y_test[:, None])).item()
print(test_mse)
"""


def _power_data(root: Path) -> None:
    rng = np.random.default_rng(5)
    (root / "power").mkdir()
    weights = rng.normal(size=4)
    for split, count in (("train", 160), ("valid", 40), ("test", 40)):
        x = rng.normal(size=(count, 4)).astype(np.float32)
        np.save(root / f"power/X_{split}.npy", x)
        np.save(root / f"power/y_{split}.npy", (x @ weights + rng.normal(0, 0.1, count)).astype(np.float32))


TORCH_NPY_CASE = Case(
    "torch-make-loader-npy-splits",
    ((TORCH_NPY,),),
    _power_data,
    {"power/checkpoint.pt": {"power/X_train.npy", "power/y_train.npy"}},
    helpers={"torch_utils.py": TORCH_UTILS},
)


# 6. A lakehouse Titanic with torch, Delta: the Kaggle CSVs written as Delta tables with deltalake's
#    write_deltalake (delta-rs' pandas guide), read back with DeltaTable(...).to_pandas in another kernel, features
#    made in a preprocess function of the user's own (map, fillna, a row mask, get_dummies), a full-batch logistic
#    network in torch on .values tensors, the test table scored into a submission and the state dict saved.
DELTA_PREPARE = r"""
import pandas as pd
from deltalake import write_deltalake

train = pd.read_csv("titanic/train.csv")
write_deltalake("lake/titanic_train", train, mode="overwrite")
test = pd.read_csv("titanic/test.csv")
write_deltalake("lake/titanic_test", test, mode="overwrite")
"""
DELTA_TRAIN = r"""
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from deltalake import DeltaTable

dt = DeltaTable("lake/titanic_train")
df = dt.to_pandas()
test_df = DeltaTable("lake/titanic_test").to_pandas()


def preprocess(df):
    df = df.copy()
    df["Sex"] = df["Sex"].map({"male": 0, "female": 1})
    df["Age"] = df["Age"].fillna(df["Age"].median())
    df["Embarked"] = df["Embarked"].fillna("S")
    df.loc[df["Fare"].isnull(), "Fare"] = df["Fare"].median()
    df = pd.get_dummies(df, columns=["Embarked"], dtype=float)
    return df


train_df = preprocess(df)
test_p = preprocess(test_df)
features = ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked_C", "Embarked_Q", "Embarked_S"]
X = torch.tensor(train_df[features].values, dtype=torch.float32)
y = torch.tensor(train_df["Survived"].values, dtype=torch.float32).unsqueeze(1)

torch.manual_seed(42)
model = nn.Sequential(nn.Linear(len(features), 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.BCELoss()
for epoch in range(50):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()

with torch.no_grad():
    X_test = torch.tensor(test_p[features].values, dtype=torch.float32)
    preds = (model(X_test) > 0.5).int().squeeze().numpy()
pd.DataFrame({"PassengerId": test_df["PassengerId"], "Survived": preds}).to_csv("submission.csv", index=False)
torch.save(model.state_dict(), "titanic_torch.pt")
"""


def titanic_frame(rng: np.random.Generator, first: int, count: int, survived: bool) -> pd.DataFrame:
    """Rows in the schema of Kaggle's Titanic CSVs (test without Survived), with missing ages, fares, ports."""
    frame = pd.DataFrame(
        {
            "PassengerId": range(first, first + count),
            "Pclass": rng.integers(1, 4, count),
            "Name": [f"Passenger {i}" for i in range(first, first + count)],
            "Sex": rng.choice(["male", "female"], count),
            "Age": np.where(rng.random(count) < 0.2, np.nan, rng.uniform(1, 80, count).round(1)),
            "SibSp": rng.integers(0, 4, count),
            "Parch": rng.integers(0, 3, count),
            "Ticket": [f"T{i}" for i in range(count)],
            "Fare": np.where(rng.random(count) < 0.05, np.nan, rng.gamma(2, 15, count).round(2)),
            "Cabin": None,
            "Embarked": rng.choice(["S", "C", "Q", None], count),
        }
    )
    if survived:
        frame.insert(1, "Survived", rng.integers(0, 2, count))
    return frame


def _titanic_data(root: Path) -> None:
    rng = np.random.default_rng(1912)
    (root / "titanic").mkdir()
    titanic_frame(rng, 1, 120, True).to_csv(root / "titanic/train.csv", index=False)
    titanic_frame(rng, 121, 40, False).to_csv(root / "titanic/test.csv", index=False)


DELTA_CASE = Case(
    "lakehouse-titanic-delta-torch",
    ((DELTA_PREPARE,), (DELTA_TRAIN,)),
    _titanic_data,
    {"titanic_torch.pt": {"lake/titanic_train", "titanic/train.csv"}},
)


# 7. A lakehouse Titanic with torch, Iceberg: pyiceberg's SQL catalog on a local warehouse (as in
#    https://github.com/elephantum/talks demo/main.py: load_catalog type sql, create_table with the frame's schema,
#    append), the CSVs read with Polars and appended; another kernel loads the catalog, scans the train table into
#    Polars (to_polars) and the test table into Arrow, features with Polars expressions, a torch MLP trained from a
#    TensorDataset of from_numpy tensors through a DataLoader, the whole model saved.
ICEBERG_PREPARE = r"""
import os
import polars as pl
from pyiceberg.catalog import load_catalog

warehouse_path = os.path.abspath("warehouse")
os.makedirs(warehouse_path, exist_ok=True)
catalog = load_catalog(
    "default",
    **{
        "type": "sql",
        "uri": f"sqlite:///{warehouse_path}/pyiceberg_catalog.db",
        "warehouse": f"file://{warehouse_path}",
    },
)
catalog.create_namespace("titanic")
for split in ("train", "test"):
    df = pl.read_csv(f"titanic/{split}.csv").to_arrow()
    table = catalog.create_table(f"titanic.{split}", schema=df.schema)
    table.append(df)
"""
ICEBERG_TRAIN = r"""
import os
import numpy as np
import polars as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from pyiceberg.catalog import load_catalog

warehouse_path = os.path.abspath("warehouse")
catalog = load_catalog(
    "default",
    **{
        "type": "sql",
        "uri": f"sqlite:///{warehouse_path}/pyiceberg_catalog.db",
        "warehouse": f"file://{warehouse_path}",
    },
)
train = catalog.load_table("titanic.train").scan().to_polars()
test = pl.from_arrow(catalog.load_table("titanic.test").scan().to_arrow())


def features(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col("Age").fill_null(pl.col("Age").median()),
        pl.col("Fare").fill_null(0.0),
        (pl.col("Sex") == "female").cast(pl.Float32).alias("is_female"),
        (pl.col("SibSp") + pl.col("Parch") + 1).alias("family_size"),
    )


cols = ["Pclass", "Age", "Fare", "is_female", "family_size"]
train_f = features(train)
X_train = torch.from_numpy(train_f.select(cols).to_numpy().astype(np.float32))
y_train = torch.from_numpy(train_f["Survived"].to_numpy().astype(np.float32)).unsqueeze(1)
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(len(cols), 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.BCEWithLogitsLoss()
for epoch in range(10):
    for xb, yb in loader:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    X_test = torch.from_numpy(features(test).select(cols).to_numpy().astype(np.float32))
    survived = (torch.sigmoid(model(X_test)) > 0.5).int().numpy().ravel()
torch.save(model, "iceberg_titanic.pt")
"""

ICEBERG_CASE = Case(
    "lakehouse-titanic-iceberg-polars-torch",
    ((ICEBERG_PREPARE,), (ICEBERG_TRAIN,)),
    _titanic_data,
    {"iceberg_titanic.pt": {"warehouse/titanic/train", "titanic/train.csv"}},
)


# 8. DuckDB's "Basic Feature Engineering with DuckDB" (https://duckdb.org/2025/08/15/ml-data-preprocessing.html):
#    the fraud data loaded with CREATE TABLE ... AS FROM read_csv, a train/test split in SQL, missing values imputed
#    and amounts scaled with the train split's statistics, one-hot encoding with CASE expressions; the train split
#    fetched into Polars (.pl()), features to numpy, a scikit-learn model saved (the model step added). New
#    transactions from another file scored with the same SQL and their predictions written with Polars.
FRAUD = r"""
import duckdb
import joblib
import polars as pl
from sklearn.linear_model import LogisticRegression

duckdb_conn = duckdb.connect()
duckdb_conn.sql("CREATE TABLE financial_trx AS FROM read_csv('financial_fraud_detection_dataset.csv')")
duckdb_conn.sql(
    "CREATE TABLE trx_train AS FROM financial_trx WHERE hash(transaction_id) % 10 < 8"
)
duckdb_conn.sql(
    "CREATE TABLE trx_test AS FROM financial_trx WHERE hash(transaction_id) % 10 >= 8"
)
stats = duckdb_conn.sql(
    "SELECT avg(amount) AS mean_amount, stddev_pop(amount) AS std_amount, "
    "avg(time_since_last_transaction) AS mean_gap FROM trx_train"
).pl()

FEATURES = '''
SELECT
    (amount - {mean_amount}) / {std_amount} AS amount_scaled,
    coalesce(time_since_last_transaction, {mean_gap}) AS gap_imputed,
    CASE WHEN transaction_type = 'withdrawal' THEN 1 ELSE 0 END AS type_withdrawal,
    CASE WHEN transaction_type = 'transfer' THEN 1 ELSE 0 END AS type_transfer,
    CASE WHEN payment_channel = 'card' THEN 1 ELSE 0 END AS channel_card,
    is_fraud::INTEGER AS is_fraud
FROM {table}
'''
params = stats.row(0, named=True)
train_df = duckdb_conn.sql(FEATURES.format(table="trx_train", **params)).pl()
feature_cols = [c for c in train_df.columns if c != "is_fraud"]
model = LogisticRegression(max_iter=500).fit(train_df.select(feature_cols).to_numpy(), train_df["is_fraud"].to_numpy())
test_df = duckdb_conn.sql(FEATURES.format(table="trx_test", **params)).pl()
print(model.score(test_df.select(feature_cols).to_numpy(), test_df["is_fraud"].to_numpy()))
joblib.dump(model, "fraud_model.joblib")

duckdb_conn.sql("CREATE TABLE new_trx AS FROM read_csv('new_transactions.csv')")
new_df = duckdb_conn.sql(FEATURES.format(table="new_trx", **params)).pl()
scores = model.predict_proba(new_df.select(feature_cols).to_numpy())[:, 1]
new_df.with_columns(pl.Series("fraud_score", scores)).write_parquet("scored.parquet")
"""


def _fraud_rows(rng: np.random.Generator, first: int, count: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": [f"T{i}" for i in range(first, first + count)],
            "amount": rng.gamma(2, 120, count).round(2),
            "transaction_type": rng.choice(["deposit", "withdrawal", "transfer", "payment"], count),
            "payment_channel": rng.choice(["card", "wire", "ACH", "UPI"], count),
            "time_since_last_transaction": np.where(rng.random(count) < 0.1, np.nan, rng.uniform(0, 48, count)),
            "is_fraud": rng.random(count) < 0.3,
        }
    )


def _fraud_data(root: Path) -> None:
    rng = np.random.default_rng(7)
    _fraud_rows(rng, 0, 200).to_csv(root / "financial_fraud_detection_dataset.csv", index=False)
    _fraud_rows(rng, 1000, 30).to_csv(root / "new_transactions.csv", index=False)


FRAUD_CASE = Case(
    "duckdb-feature-engineering-polars",
    ((FRAUD,),),
    _fraud_data,
    {"fraud_model.joblib": {"financial_fraud_detection_dataset.csv"}},
)


# 9. psycopg 3's documented idioms (https://www.psycopg.org/psycopg3/docs/basic/usage.html, advanced/rows.html): a
#    connection with row_factory=dict_row, conn.execute(...).fetchall() into a DataFrame of dicts, a training
#    table and a holdout table read in the same cell, and a server-side cursor (conn.cursor(name=...)) iterated in
#    a loop filling lists; a gradient-boosted model fit on np.array(df), scores written back with executemany.
PG = r"""
import os
import joblib
import numpy as np
import pandas as pd
import psycopg
from psycopg.rows import dict_row
from sklearn.ensemble import GradientBoostingClassifier

with psycopg.connect(os.environ["PG_DSN"], row_factory=dict_row) as conn:
    rows = conn.execute("SELECT tenure, monthly, support_calls, churned FROM customers_train").fetchall()
    train = pd.DataFrame(rows)
    with conn.cursor(name="holdout_cursor") as cur:
        cur.execute("SELECT id, tenure, monthly, support_calls FROM customers_holdout")
        ids, holdout = [], []
        for record in cur:
            ids.append(record["id"])
            holdout.append([record["tenure"], record["monthly"], record["support_calls"]])

X = np.array(train[["tenure", "monthly", "support_calls"]])
y = np.array(train["churned"])
gbc = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
joblib.dump(gbc, "churn_gbc.joblib")
scores = gbc.predict_proba(np.array(holdout, dtype=float))[:, 1]
with psycopg.connect(os.environ["PG_DSN"]) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS churn_scores (id int, score float)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO churn_scores VALUES (%s, %s)", list(zip(ids, scores.tolist())))
"""


def pg_seed(dsn: str) -> None:
    """The two tables the psycopg case reads."""
    import psycopg

    rng = np.random.default_rng(9)
    with psycopg.connect(dsn) as conn:
        for table, count in (("customers_train", 80), ("customers_holdout", 20)):
            conn.execute(f"CREATE TABLE {table} (id int, tenure int, monthly float, support_calls int, churned int)")
            rows = [
                (i, int(rng.integers(1, 72)), float(rng.uniform(20, 120)), int(rng.integers(0, 8)), i % 2)
                for i in range(count)
            ]
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)", rows)


PG_CASE = Case(
    "psycopg-dict-row-named-cursor",
    ((PG,),),
    lambda root: None,
    {"churn_gbc.joblib": {"table:customers_train"}},
    postgres=True,
)


# 10. Andrew Ng's machine-learning course exercise 2 as ported to Python (dibgerge/ml-coursera-python-assignments,
#     Exercise2: np.loadtxt of ex2data2.txt, a polynomial feature map): the features and labels saved with
#     np.savetxt by one kernel, loaded with np.loadtxt by another and fit with scikit-learn's regularised logistic
#     regression; a holdout file read with np.genfromtxt(names=True) and only scored. The feature map is written
#     here; the model step stands for the exercise's own optimiser.
EX2_PREPARE = r"""
import os
import numpy as np


def map_feature(x1, x2, degree=6):
    columns = [np.ones(x1.shape[0])]
    for i in range(1, degree + 1):
        for j in range(i + 1):
            columns.append((x1 ** (i - j)) * (x2 ** j))
    return np.stack(columns, axis=1)


data = np.loadtxt(os.path.join("Data", "ex2data2.txt"), delimiter=",")
X, y = data[:, :2], data[:, 2]
X = map_feature(X[:, 0], X[:, 1])
np.savetxt("features.csv", X, delimiter=",")
np.savetxt("labels.csv", y)
"""
EX2_TRAIN = r"""
import pickle
import numpy as np
from sklearn.linear_model import LogisticRegression

X = np.loadtxt("features.csv", delimiter=",")
y = np.loadtxt("labels.csv")
clf = LogisticRegression(C=1.0, max_iter=1000).fit(X[:, 1:], y)

holdout = np.genfromtxt("Data/holdout.csv", delimiter=",", names=True)
H = np.column_stack([holdout["test1"], holdout["test2"]])
powers = [(i - j, j) for i in range(1, 7) for j in range(i + 1)]
print(clf.predict(np.stack([(H[:, 0] ** a) * (H[:, 1] ** b) for a, b in powers], axis=1))[:5])
with open("microchips.pkl", "wb") as f:
    pickle.dump(clf, f)
"""


def _ex2_data(root: Path) -> None:
    rng = np.random.default_rng(2)
    (root / "Data").mkdir()
    points = rng.uniform(-1, 1.2, (118, 2))
    labels = (points[:, 0] ** 2 + points[:, 1] ** 2 < 0.6).astype(int)
    np.savetxt(root / "Data/ex2data2.txt", np.column_stack([points, labels]), delimiter=",", fmt="%.6f")
    holdout = rng.uniform(-1, 1.2, (20, 2))
    np.savetxt(root / "Data/holdout.csv", holdout, delimiter=",", header="test1,test2", comments="", fmt="%.6f")


EX2_CASE = Case(
    "numpy-savetxt-loadtxt-two-kernels",
    ((EX2_PREPARE,), (EX2_TRAIN,)),
    _ex2_data,
    {"microchips.pkl": {"features.csv", "labels.csv", "Data/ex2data2.txt"}},
)


# 11. The everyday Kaggle sales notebook: monthly CSVs concatenated by a generator of read_csv over a glob inside a
#     loader function, rows of closed stores dropped with a mask built from another file, stores merged in, a
#     missing promo flag set with a masked .loc assignment, a log target; the model fit on np.array(frame) and
#     to_numpy(); a holdout file read in the same cell and only scored.
SALES = r"""
import glob
import os
import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge


def load_sales(folder):
    return pd.concat((pd.read_csv(f) for f in sorted(glob.glob(os.path.join(folder, "*.csv")))), ignore_index=True)


sales = load_sales("sales")
stores = pd.read_csv("stores.csv")
closed = pd.read_csv("closed_stores.csv")
holdout = pd.read_csv("holdout.csv")

sales = sales[~sales.store_id.isin(closed.store_id)]
sales = sales.merge(stores, on="store_id", how="left")
sales.loc[sales.promo.isnull(), "promo"] = 0
sales["log_units"] = np.log1p(sales["units"])

X = np.array(sales[["price", "promo", "size"]])
y = sales["log_units"].to_numpy()
ridge = Ridge(alpha=1.0).fit(X, y)
holdout = holdout.merge(stores, on="store_id", how="left").fillna({"promo": 0})
print(ridge.predict(np.array(holdout[["price", "promo", "size"]]))[:3])
joblib.dump(ridge, "sales_ridge.joblib")
"""


def _sales_data(root: Path) -> None:
    rng = np.random.default_rng(6)
    (root / "sales").mkdir()
    for month in range(1, 4):
        count = 40
        pd.DataFrame(
            {
                "store_id": rng.integers(1, 9, count),
                "price": rng.uniform(1, 9, count).round(2),
                "promo": np.where(rng.random(count) < 0.2, np.nan, rng.integers(0, 2, count)),
                "units": rng.integers(1, 80, count),
            }
        ).to_csv(root / f"sales/2024-{month:02d}.csv", index=False)
    pd.DataFrame({"store_id": range(1, 9), "size": rng.integers(100, 900, 8)}).to_csv(root / "stores.csv", index=False)
    pd.DataFrame({"store_id": [3, 7]}).to_csv(root / "closed_stores.csv", index=False)
    pd.DataFrame(
        {"store_id": rng.integers(1, 9, 10), "price": rng.uniform(1, 9, 10).round(2), "promo": rng.integers(0, 2, 10)}
    ).to_csv(root / "holdout.csv", index=False)


SALES_CASE = Case(
    "sales-glob-concat-row-masks",
    ((SALES,),),
    _sales_data,
    {
        "sales_ridge.joblib": {
            "sales/2024-01.csv",
            "sales/2024-02.csv",
            "sales/2024-03.csv",
            "stores.csv",
            "closed_stores.csv",
        }
    },
)


# 12. A course project's soccer-player regression (https://github.com/myamout/596GroupProject, main.py): the Kaggle
#     European Soccer database opened with sqlite3, one cursor executing SELECT * FROM Player and then FROM
#     Player_Attributes, each fetchall() made a DataFrame with the columns named by hand; only the attributes are
#     used (dropna, columns dropped in a loop with inplace=True, iloc), an MLP and a k-NN regressor fit on a split.
#     The plots left out; the two models saved with joblib (the model step added); the rows scaled down.
PLAYER_COLUMNS = ["id", "player_api_id", "player_name", "player_fifa_api_id", "birthday", "height", "weight"]
ATTRIBUTE_SKILLS = [
    "crossing", "finishing", "heading_accuracy", "short_passing", "volleys", "dribbling", "curve",
    "free_kick_accuracy", "long_passing", "ball_control", "acceleration", "sprint_speed", "agility", "reactions",
    "balance", "shot_power", "jumping", "stamina", "strength", "long_shots", "aggression", "interceptions",
    "positioning", "vision", "penalties", "marking", "standing_tackle", "sliding_tackle", "gk_diving",
    "gk_handling", "gk_kicking", "gk_positioning", "gk_reflexes",
]  # fmt: skip
ATTRIBUTE_COLUMNS = [
    "id", "player_fifa_api_id", "player_api_id", "date", "overall_rating", "potential", "preferred_foot",
    "attacking_work_rate", "defensive_work_rate", *ATTRIBUTE_SKILLS,
]  # fmt: skip
PLAYERS = (
    r"""import sqlite3

import joblib
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
"""
    + f"\nPLAYER_COLUMNS = {PLAYER_COLUMNS!r}\nATTRIBUTE_COLUMNS = {ATTRIBUTE_COLUMNS!r}\n"
    + r"""


def main():
    connection = sqlite3.connect("database.sqlite")
    cursor = connection.cursor()

    cursor.execute("SELECT * FROM Player")
    players = pd.DataFrame(cursor.fetchall(), columns=PLAYER_COLUMNS)

    cursor.execute("SELECT * FROM Player_Attributes")
    players_attributes = pd.DataFrame(cursor.fetchall(), columns=ATTRIBUTE_COLUMNS)

    players_attributes = players_attributes.dropna()
    labels = players_attributes["overall_rating"].values
    drop_list = ["id", "player_fifa_api_id", "player_api_id", "date", "overall_rating", "preferred_foot",
                 "attacking_work_rate", "defensive_work_rate"]
    for attribute in drop_list:
        players_attributes.drop(attribute, axis=1, inplace=True)

    features = players_attributes.iloc[:, :players_attributes.shape[0] - 1]
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.33, random_state=5)

    mlpr = MLPRegressor(hidden_layer_sizes=100, activation="relu", solver="adam", learning_rate_init=0.0001)
    fnn_model = mlpr.fit(x_train, y_train)
    print("FFN - MLPRegressor", fnn_model.score(x_test, y_test))
    print("Error:", mean_absolute_error(fnn_model.predict(x_test), y_test))

    kn = KNeighborsRegressor(n_neighbors=12, weights="distance", n_jobs=-1)
    kn_model = kn.fit(x_train, y_train)
    y_pred = kn_model.predict(x_test)
    print("K Nearest Neighbors Regression", r2_score(y_test, y_pred), mean_absolute_error(y_test, y_pred))
    print(len(players), "players")

    joblib.dump(fnn_model, "players_mlp.joblib")
    joblib.dump(kn_model, "players_knn.joblib")


main()
"""
)


def _players_data(root: Path) -> None:
    rng = np.random.default_rng(12)
    count = 120
    with sqlite3.connect(root / "database.sqlite") as connection:
        connection.execute(f"CREATE TABLE Player ({', '.join(PLAYER_COLUMNS)})")
        connection.executemany(
            "INSERT INTO Player VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (i, 1000 + i, f"player {i}", 2000 + i, "1990-01-01", 170.0 + i % 20, 150 + i % 40)
                for i in range(count // 3)
            ],
        )
        connection.execute(f"CREATE TABLE Player_Attributes ({', '.join(ATTRIBUTE_COLUMNS)})")
        rows = []
        for i in range(count):
            skills = rng.integers(20, 95, len(ATTRIBUTE_SKILLS)).astype(float)
            if i % 17 == 0:
                skills[3] = np.nan
            rating = float(skills[:10].mean())
            head = (i, 2000 + i % 40, 1000 + i % 40, "2015-09-21", rating, rating + 3, "right", "medium", "high")
            rows.append((*head, *(None if np.isnan(v) else v for v in skills)))
        marks = ", ".join("?" * len(ATTRIBUTE_COLUMNS))
        connection.executemany(f"INSERT INTO Player_Attributes VALUES ({marks})", rows)


PLAYERS_CASE = Case(
    "sqlite-cursor-fetchall-players",
    ((PLAYERS,),),
    _players_data,
    {"players_mlp.joblib": {"table:player_attributes"}, "players_knn.joblib": {"table:player_attributes"}},
)


# 13. A Kubeflow pipeline's Boston housing steps (https://github.com/gnovack/kubeflow-pipelines, boston_housing/
#     preprocess_data/preprocess.py, train/train.py, test/test.py), each step a kernel of its own: the split saved
#     as four .npy files with np.save, the regressor trained from np.load of the train pair and saved with joblib,
#     then loaded back with joblib and scored on the test pair. load_boston (gone from scikit-learn) replaced by a
#     CSV of the same columns read with pandas; argparse replaced by the paths the pipeline passes.
BOSTON_PREPROCESS = r"""
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


def _preprocess_data():
    frame = pd.read_csv("housing.csv")
    X, y = frame.drop(columns="MEDV").values, frame["MEDV"].values
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.33)
    np.save("x_train.npy", X_train)
    np.save("x_test.npy", X_test)
    np.save("y_train.npy", y_train)
    np.save("y_test.npy", y_test)


print("Preprocessing data...")
_preprocess_data()
"""
BOSTON_TRAIN = r"""
import joblib
import numpy as np
from sklearn.linear_model import SGDRegressor


def train_model(x_train, y_train):
    x_train_data = np.load(x_train)
    y_train_data = np.load(y_train)

    model = SGDRegressor(verbose=1)
    model.fit(x_train_data, y_train_data)

    joblib.dump(model, "model.pkl")


train_model("x_train.npy", "y_train.npy")
"""
BOSTON_TEST = r"""
import joblib
import numpy as np


def test_model(x_test, y_test, model_path):
    x_test_data = np.load(x_test)
    y_test_data = np.load(y_test)

    model = joblib.load(model_path)
    score = model.score(x_test_data, y_test_data)
    print(f"R^2 score: {score}")


test_model("x_test.npy", "y_test.npy", "model.pkl")
"""


def _boston_data(root: Path) -> None:
    rng = np.random.default_rng(13)
    names = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT"]
    features = rng.normal(size=(90, len(names)))
    frame = pd.DataFrame(features.round(4), columns=names)
    frame["MEDV"] = (22 + features @ rng.normal(size=len(names))).round(2)
    frame.to_csv(root / "housing.csv", index=False)


BOSTON_CASE = Case(
    "kubeflow-npy-steps",
    ((BOSTON_PREPROCESS,), (BOSTON_TRAIN,), (BOSTON_TEST,)),
    _boston_data,
    {"model.pkl": {"x_train.npy", "y_train.npy", "housing.csv"}},
)


# 14. A course's news-category SVM (https://github.com/wodemaster-NJUSE/NJUSE-BigDataAnalysis,
#     newsCategories_homework05/svm/main_svm.py and src/preprocess_svm.py): the JSON-lines file read with
#     json.loads line by line in a helper module, a class whose __init__ loads it and whose run() makes a DataFrame,
#     drops missing rows, splits the headline and category Series, fits TF-IDF on the train half and an SVC. The
#     Windows path made POSIX; the classifier saved with joblib at the end of run() (the model step added).
NEWS_PREPROCESS = r"""
import json


def load_data(file_path):
    with open(file_path, "r", encoding="utf-8") as file:
        data = [json.loads(line) for line in file]
    return data
"""
NEWS = r"""
import joblib
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
from src.preprocess_svm import load_data


class MyTextSVM:
    def __init__(self):
        self.data = load_data("data/News_Category.json")

    def preprocess_data(self, data):
        df = pd.DataFrame(data)
        df = df.dropna()
        return df

    def split_data(self, df):
        return train_test_split(df["headline"], df["category"], test_size=0.2, random_state=42)

    def tfidf_transform(self, X_train, X_test):
        tfidf_vectorizer = TfidfVectorizer(max_features=5000)
        X_train_tfidf = tfidf_vectorizer.fit_transform(X_train)
        X_test_tfidf = tfidf_vectorizer.transform(X_test)
        return X_train_tfidf, X_test_tfidf

    def train_svm(self, X_train_tfidf, y_train, kernel="linear", C=1.0):
        svm_classifier = SVC(C=C, kernel=kernel, decision_function_shape="ovr")
        svm_classifier.fit(X_train_tfidf, y_train)
        return svm_classifier

    def run(self, kernel="linear", C=1.0):
        df = self.preprocess_data(self.data)
        X_train, X_test, y_train, y_test = self.split_data(df)
        X_train_tfidf, X_test_tfidf = self.tfidf_transform(X_train, X_test)
        svm_classifier = self.train_svm(X_train_tfidf, y_train, kernel, C)
        print("kernel:" + kernel + ", C:" + str(C))
        print("train accuracy:", svm_classifier.score(X_train_tfidf, y_train))
        print("test accuracy:", svm_classifier.score(X_test_tfidf, y_test))
        joblib.dump(svm_classifier, "news_svm.joblib")


my_text_svm = MyTextSVM()
my_text_svm.run()
"""


def _news_data(root: Path) -> None:
    rng = random.Random(14)
    topics = {
        "POLITICS": ["senate", "vote", "bill", "president", "campaign"],
        "SPORTS": ["match", "goal", "league", "coach", "season"],
        "TECH": ["startup", "phone", "software", "chip", "cloud"],
    }
    lines = []
    for i in range(90):
        category = list(topics)[i % 3]
        words = [rng.choice(topics[category]) for _ in range(4)] + [rng.choice(["the", "new", "big", "today"])]
        record = {"category": category, "headline": " ".join(words), "authors": "staff", "date": "2018-05-26"}
        if i % 29 == 0:
            record["headline"] = None
        lines.append(json.dumps(record))
    (root / "data").mkdir()
    (root / "data/News_Category.json").write_text("\n".join(lines) + "\n", encoding="utf-8")


NEWS_CASE = Case(
    "json-lines-class-helper",
    ((NEWS,),),
    _news_data,
    {"news_svm.joblib": {"data/News_Category.json"}},
    helpers={"src/preprocess_svm.py": NEWS_PREPROCESS},
)


# 15. A hackathon's OASIS dementia classifier (https://github.com/zzj0402/hack-aotearoa, svm.py): the CSV read
#     whole with open().read().splitlines() in a function, each line cut by hand into values (empty ones made -9)
#     and its last character as the label, an SVC fit on the lists and pickled by a save_model function, as a
#     later version of the script does; a new patient predicted.
OASIS = r"""
import pickle


def read_csv(filename):
    with open(filename) as f:
        return f.read().splitlines()


oasis_input_list = read_csv("oasis+_dev.csv")
print(oasis_input_list[0])


def num(s):
    if s == "":
        return -9
    try:
        return int(s)
    except ValueError:
        return float(s)


data = [o[0:-2].split(",") for o in oasis_input_list]
labels = [o[-1] for o in oasis_input_list]
converted_data = []
for d in data:
    num_arrray = []
    for each_num in d:
        n = num(each_num)
        num_arrray.append(n)
    converted_data.append(num_arrray)
print(converted_data[0])
print(labels[0])
from sklearn import svm

X = converted_data
y = labels
clf = svm.SVC()
clf.fit(X, y)


def save_model(model, filename):
    with open(filename, "wb") as f:
        pickle.dump(model, f)


save_model(clf, "svm_model_9.pkl")
print(clf.predict([[19, 0, 15, 176, 49, 30.5, 39.28, 5535, 1, 0]]))
"""


def _oasis_data(root: Path) -> None:
    rng = random.Random(15)
    lines = []
    for i in range(60):
        values = [
            rng.randint(60, 95), i % 2, rng.randint(8, 20), rng.randint(1, 5) if i % 7 else "",
            rng.randint(20, 30), round(rng.uniform(0, 2), 1), round(rng.uniform(1100, 1900), 2),
            round(rng.uniform(0.6, 0.85), 3), round(rng.uniform(0.9, 1.6), 3), rng.randint(0, 1),
        ]  # fmt: skip
        lines.append(",".join(str(v) for v in values) + f",{i % 2}")
    (root / "oasis+_dev.csv").write_text("\n".join(lines) + "\n")


OASIS_CASE = Case(
    "open-read-splitlines-svm",
    ((OASIS,),),
    _oasis_data,
    {"svm_model_9.pkl": {"oasis+_dev.csv"}},
)


# 16. An IMDb reader (https://github.com/cold122/winter_train, work1/R_T_IMDB.py): read_imdb walks the pos and neg
#     folders of a split with os.listdir and reads each .txt file whole into a list with its label; build_vocab
#     counts the words of the training texts (a global). The script stops at the vocabulary; here a bag of words
#     over that vocabulary and a logistic regression are fit on the training split, scored on the test split and
#     saved with joblib (the model step added). Three reviews a folder instead of 12,500.
IMDB = r"""
import os
import string
from collections import Counter

import joblib
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression


def read_imdb(data_dir):
    texts = []
    labels = []
    for label_type in ["pos", "neg"]:
        label = 1 if label_type == "pos" else 0
        dir_path = os.path.join(data_dir, label_type)
        for filename in os.listdir(dir_path):
            if filename.endswith(".txt"):
                with open(os.path.join(dir_path, filename), "r", encoding="utf-8") as file:
                    text = file.read()
                    texts.append(text)
                    labels.append(label)
    return texts, labels


def build_vocab(max_vocab_size=None):
    counter = Counter()
    for text in train_text:
        text = text.lower()
        text = text.translate(str.maketrans("", "", string.punctuation))
        token = text.split()
        counter.update(token)
    voc = [word for word, _ in counter.most_common(max_vocab_size)]
    return voc


train_text, train_label = read_imdb("aclImdb/train")
test_text, test_label = read_imdb("aclImdb/test")
vocab = build_vocab(max_vocab_size=10000)
"""
IMDB_MODEL = r"""
bag = CountVectorizer(vocabulary=vocab)
classifier = LogisticRegression(max_iter=500).fit(bag.transform(train_text), train_label)
print(classifier.score(bag.transform(test_text), test_label))
joblib.dump((bag, classifier), "imdb_bow.joblib")
"""
IMDB_TRAIN_FILES = {
    f"aclImdb/train/{label}/{i}_{9 if label == 'pos' else 2}.txt" for label in ("pos", "neg") for i in range(3)
}


def _imdb_data(root: Path) -> None:
    rng = random.Random(16)
    good, bad, plain = ["superb", "moving", "loved"], ["dull", "awful", "hated"], ["film", "plot", "the", "cast"]
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                words = [rng.choice(good if label == "pos" else bad) for _ in range(3)] + rng.sample(plain, 3)
                rng.shuffle(words)
                rating = 9 if label == "pos" else 2
                (folder / f"{i}_{rating}.txt").write_text(" ".join(words).capitalize() + ".", encoding="utf-8")
            (folder / "urls.lst").write_text("http://www.imdb.com/title/tt0000000/usercomments\n")


IMDB_CASE = Case(
    "listdir-folder-of-texts",
    ((IMDB, IMDB_MODEL),),
    _imdb_data,
    {"imdb_bow.joblib": IMDB_TRAIN_FILES},
)


# 17. An MLOps course project's retraining step (https://github.com/veereshju/mlops_project, model/model_func.py,
#     retrain.py and evaluate.py at commit c8a49eb): helpers in a module of their own read a CSV with pandas into
#     .values, split and scale it; a model pickled by model_save is loaded by model_load, trained further with
#     partial_fit on another CSV and pickled over the same file; evaluate loads it and scores it. The first
#     training is written from the project's later app/train.py (preprocess, train, model_save); retrain() returns
#     the model (the original returns None and so pickles None).
MLOPS_FUNCS = r"""
import pickle

import pandas as pd
from sklearn.linear_model import SGDRegressor
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def preprocess(path):
    dataset = pd.read_csv(path)
    X = dataset.iloc[:, :-1].values
    y = dataset.iloc[:, -1].values
    X_train, X_test, y_train, y_test = train_test_split(X, y)
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    return X_train, X_test, y_train, y_test


def train(X_train, y_train):
    model = SGDRegressor(max_iter=1000, tol=1e-3, random_state=42)
    model.fit(X_train, y_train)
    return model


def evaluate(model, X_test, y_test):
    return mean_squared_error(y_test, model.predict(X_test))


def retrain(model, X_train, y_train):
    model.partial_fit(X_train, y_train)
    return model


def model_save(model, path):
    with open(path, "wb") as f:
        pickle.dump(model, f)


def model_load(path):
    with open(path, "rb") as f:
        model = pickle.load(f)
    return model
"""
MLOPS_TRAIN = r"""
import os

from model_func import model_save, preprocess, train

os.makedirs("trained_model", exist_ok=True)
X_train, X_test, y_train, y_test = preprocess("data/trigo.csv")
model = train(X_train, y_train)
model_save(model, "trained_model/model.pkl")
"""
MLOPS_RETRAIN = r"""
from model_func import preprocess, retrain, model_save, model_load

model = model_load("trained_model/model.pkl")
X_train, X_test, y_train, y_test = preprocess("data/elementary.csv")
model = retrain(model, X_train, y_train)
model_save(model, "trained_model/model.pkl")
"""
MLOPS_EVALUATE = r"""
from model_func import preprocess, model_load, evaluate


def test_performace():
    model = model_load("trained_model/model.pkl")
    X_train, X_test, y_train, y_test = preprocess("data/trigo.csv")
    mse = evaluate(model, X_test, y_test)
    print("Mean Square Error of the model is {}".format(mse))


test_performace()
"""


def _mlops_data(root: Path) -> None:
    rng = np.random.default_rng(17)
    (root / "data").mkdir()
    for name in ("trigo", "elementary"):
        x = rng.normal(size=(80, 5))
        target = x @ np.array([1.5, -2.0, 0.5, 0.0, 1.0]) + rng.normal(scale=0.1, size=80)
        np.savetxt(root / f"data/{name}.csv", np.column_stack([x, target]), delimiter=",", fmt="%.6f")


MLOPS_CASE = Case(
    "pickle-load-partial-fit-resave",
    ((MLOPS_TRAIN,), (MLOPS_RETRAIN,), (MLOPS_EVALUATE,)),
    _mlops_data,
    {"trained_model/model.pkl": {"data/trigo.csv", "data/elementary.csv"}},
    helpers={"model_func.py": MLOPS_FUNCS},
)


# 18. The lazily reading IMDb dataset of a PyTorch sentiment tutorial (https://github.com/jyqyc/PythonProject,
#     文本情感分类/dataset.py and word_sequence.py): ImdbDataset lists the review files of a split with os.listdir
#     in __init__ and opens and tokenizes one in __getitem__, so the files are read while a DataLoader draws its
#     batches; a Word2Sequence vocabulary fit on the training loader's tokens. The Windows paths made relative and
#     the label taken with os.sep; Word2Sequence's unfinished transform and build_vocab completed; the tutorial's
#     later steps written here: a collate_fn making index tensors, an embedding model trained two epochs on the
#     training loader, the test loader scored under no_grad, the state dict saved with torch.save.
LAZY_IMDB = r"""
import os
import re

import torch
from torch.utils.data import DataLoader, Dataset


def tokenlize(content):
    content = re.sub("<.*?>", " ", content)
    filters = ["\\.", ":", "\t", "\n", "\x97", "\x96", "#", "$", "%", "&"]
    content = re.sub("|".join(filters), " ", content)
    return [i.strip().lower() for i in content.split()]


class ImdbDataset(Dataset):
    def __init__(self, train=True):
        data_path = os.path.join("aclImdb", "train" if train else "test")
        temp_data_path = [os.path.join(data_path, "pos"), os.path.join(data_path, "neg")]
        self.total_file_path = []
        for path in temp_data_path:
            file_name_list = os.listdir(path)
            file_path_list = [os.path.join(path, i) for i in file_name_list if i.endswith(".txt")]
            self.total_file_path.extend(file_path_list)

    def __getitem__(self, index):
        file_path = self.total_file_path[index]
        label_str = file_path.split(os.sep)[-2]
        label = 0 if label_str == "neg" else 1
        tokens = tokenlize(open(file_path).read())
        return tokens, label

    def __len__(self):
        return len(self.total_file_path)


def collate_fn(batch):
    content, label = list(zip(*batch))
    return content, label


def get_dataloader(train=True):
    imdb_dataset = ImdbDataset(train)
    return DataLoader(imdb_dataset, batch_size=2, shuffle=True, collate_fn=collate_fn)
"""
LAZY_VOCAB = r"""
class Word2Sequence:
    UNK_TAG, PAD_TAG = "UNK", "PAD"
    UNK, PAD = 0, 1

    def __init__(self):
        self.dict = {self.UNK_TAG: self.UNK, self.PAD_TAG: self.PAD}
        self.count = {}

    def fit(self, sentence):
        for word in sentence:
            self.count[word] = self.count.get(word, 0) + 1

    def build_vocab(self, min=0, max=None, max_features=None):
        if min is not None:
            self.count = {word: value for word, value in self.count.items() if value > min}
        if max is not None:
            self.count = {word: value for word, value in self.count.items() if value < max}
        if max_features is not None:
            self.count = dict(sorted(self.count.items(), key=lambda x: x[-1], reverse=True)[:max_features])
        for word in self.count:
            self.dict[word] = len(self.dict)

    def transform(self, sentence, max_len=None):
        if max_len is not None:
            sentence = (sentence + [self.PAD_TAG] * max_len)[:max_len]
        return [self.dict.get(word, self.UNK) for word in sentence]


ws = Word2Sequence()
for tokens, _ in get_dataloader(train=True):
    for sentence in tokens:
        ws.fit(sentence)
ws.build_vocab(min=0)
print(len(ws.dict))
"""
LAZY_TRAIN = r"""
MAX_LEN = 8


def index_collate(batch):
    content, label = list(zip(*batch))
    return torch.LongTensor([ws.transform(i, max_len=MAX_LEN) for i in content]), torch.LongTensor(label)


class ImdbModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(len(ws.dict), 16, padding_idx=ws.PAD)
        self.fc = torch.nn.Linear(MAX_LEN * 16, 2)

    def forward(self, input):
        x = self.embedding(input)
        return torch.nn.functional.log_softmax(self.fc(x.view(-1, MAX_LEN * 16)), dim=-1)


model = ImdbModel()
optimizer = torch.optim.Adam(model.parameters(), 0.01)
train_loader = DataLoader(ImdbDataset(train=True), batch_size=2, shuffle=True, collate_fn=index_collate)
for epoch in range(2):
    for idx, (input, target) in enumerate(train_loader):
        optimizer.zero_grad()
        loss = torch.nn.functional.nll_loss(model(input), target)
        loss.backward()
        optimizer.step()

test_loader = DataLoader(ImdbDataset(train=False), batch_size=2, collate_fn=index_collate)
correct = 0
with torch.no_grad():
    for input, target in test_loader:
        correct += (model(input).argmax(-1) == target).sum().item()
print("test accuracy", correct / len(test_loader.dataset))
torch.save(model.state_dict(), "imdb_model.pkl")
"""

LAZY_IMDB_CASE = Case(
    "torch-dataset-reading-lazily",
    ((LAZY_IMDB, LAZY_VOCAB, LAZY_TRAIN),),
    _imdb_data,
    {"imdb_model.pkl": IMDB_TRAIN_FILES},
)


# 19. Fashion-MNIST's reader and benchmark (https://github.com/zalandoresearch/fashion-mnist, utils/mnist_reader.py
#     and benchmark/runner.py): load_mnist opens the gzipped idx files with gzip.open inside the function and
#     makes arrays with np.frombuffer of what it read; the benchmark's worker scales the training images with a
#     StandardScaler fit on them, makes each classifier from its name in globals() with its parameters, fits it on
#     a shuffle of the training set and scores it on the t10k set. The process queue replaced by a loop over two
#     classifiers; each fit saved with joblib (the model step added); 60 training and 20 test images.
MNIST_READER = r"""
def load_mnist(path, kind="train"):
    import os
    import gzip
    import numpy as np

    labels_path = os.path.join(path, "%s-labels-idx1-ubyte.gz" % kind)
    images_path = os.path.join(path, "%s-images-idx3-ubyte.gz" % kind)

    with gzip.open(labels_path, "rb") as lbpath:
        labels = np.frombuffer(lbpath.read(), dtype=np.uint8, offset=8)

    with gzip.open(images_path, "rb") as imgpath:
        images = np.frombuffer(imgpath.read(), dtype=np.uint8, offset=16).reshape(len(labels), 784)

    return images, labels
"""
FASHION = r"""
import joblib
import numpy as np
from sklearn import preprocessing
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import shuffle

from utils import mnist_reader

DATA_DIR = "data/fashion"


class JobWorker:
    def __init__(self):
        X, self.Y = mnist_reader.load_mnist(path=DATA_DIR, kind="train")
        Xt, self.Yt = mnist_reader.load_mnist(path=DATA_DIR, kind="t10k")
        scaler = preprocessing.StandardScaler().fit(X)
        self.X = scaler.transform(X)
        self.Xt = scaler.transform(Xt)

    def get_accuracy(self, clf_name, clf_par, id):
        clf = globals()[clf_name](**clf_par)
        Xs, Ys = shuffle(self.X, self.Y)
        cur_score = clf.fit(Xs, Ys).score(self.Xt, self.Yt)
        print("#test: %d acc: %0.3f classifier: %s parameter: %s" % (id, cur_score, clf_name, clf_par))
        joblib.dump(clf, "%s.joblib" % clf_name)
        return cur_score


worker = JobWorker()
for number, (name, parameters) in enumerate(
    [("LogisticRegression", {"C": 1.0, "max_iter": 200}), ("DecisionTreeClassifier", {"max_depth": 5})]
):
    worker.get_accuracy(name, parameters, number)
"""


def _fashion_data(root: Path) -> None:
    import gzip

    rng = np.random.default_rng(19)
    (root / "data/fashion").mkdir(parents=True)
    for kind, count in (("train", 60), ("t10k", 20)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = (rng.random((count, 784)) * 255).astype(np.uint8)
        header = struct.pack(">II", 2049, count)
        (root / f"data/fashion/{kind}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header + labels.tobytes()))
        header = struct.pack(">IIII", 2051, count, 28, 28)
        (root / f"data/fashion/{kind}-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))


FASHION_TRAIN = {"data/fashion/train-labels-idx1-ubyte.gz", "data/fashion/train-images-idx3-ubyte.gz"}
FASHION_CASE = Case(
    "gzip-idx-frombuffer-fashion",
    ((FASHION,),),
    _fashion_data,
    {"LogisticRegression.joblib": FASHION_TRAIN, "DecisionTreeClassifier.joblib": FASHION_TRAIN},
    helpers={"utils/mnist_reader.py": MNIST_READER},
)


# 20. A weather-tweets classifier for Kaggle's "Partly Sunny with a Chance of Hashtags"
#     (https://github.com/jramcast/ml_weather, example9/train.py, classifier.py and test.py): train.py's main() opens
#     the CSV without closing it, reads it whole with csv.DictReader and hands the rows to classifier.train, which
#     fits one pipeline per class (cross_val_score, then fit) and saves each with joblib in a loop; test.py loads
#     the models back with joblib and predicts two sentences. The FeatureUnion's own extractors (sentiment,
#     temperature, wind, from the project's preprocessing module) left out, the CountVectorizer kept with
#     scikit-learn's tokenizer and min_df lowered for the small data; three of the 22 classes; sklearn.externals'
#     joblib is joblib.
WEATHER_CLASSIFIER = r"""
import math
import time

import joblib
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

CLASSES = ["k1", "s2", "w1"]
MODELS = {}

vectorizer = CountVectorizer(min_df=2, max_df=0.5, ngram_range=(1, 3), max_features=10000, lowercase=True)


def train(data):
    x_train = [row["tweet"] for row in data]
    for classname in CLASSES:
        print("--------------------------> Training " + classname)
        start_time = time.time()
        y_train = filter_class(data, classname)
        classifier = train_class(x_train, y_train)
        joblib.dump(classifier, "models/{}.pkl".format(classname))
        print("Time elapsed:", time.time() - start_time)


def load():
    for classname in CLASSES:
        MODELS[classname] = joblib.load("models/{}.pkl".format(classname))


def predict(data):
    if MODELS == {}:
        load()
    return {classname: MODELS[classname].predict(data) for classname in CLASSES}


def train_class(x_train, y_train):
    svm = LinearSVC(C=0.3, max_iter=300, loss="hinge")
    pipeline = Pipeline([("union", FeatureUnion([("vect", vectorizer)])), ("cls", svm)])
    accuracy = cross_val_score(pipeline, x_train, y_train, scoring="accuracy", cv=3)
    print("=== Accuracy ===", np.mean(accuracy))
    pipeline.fit(x_train, y_train)
    return pipeline


def filter_class(data, classname):
    classes = []
    for row in data:
        value = float(row[classname])
        classes.append(math.ceil(value))
    return classes
"""
WEATHER_TRAIN = r"""
import csv
import os

import classifier


def main():
    print("Reading CSV...")
    csvfile = open("data/train.csv", newline="")
    datareader = csv.DictReader(csvfile)
    data = list(datareader)
    print("Training...")
    classifier.train(data)


os.makedirs("models", exist_ok=True)
main()
"""
WEATHER_TEST = r"""
import pprint

import classifier


def main():
    result = classifier.predict(
        [
            "Another warm day inland with increasing sunshine after early morning clouds",
            "Canceled a doctors appointment because it is too cold outside",
        ]
    )
    pprint.pprint(result)


main()
"""


def _weather_data(root: Path) -> None:
    rng = random.Random(20)
    kinds = {
        "k1": ["clouds", "cloudy", "overcast", "grey"],
        "s2": ["sunny", "warm", "sunshine", "hot"],
        "w1": ["wind", "windy", "gusts", "breeze"],
    }
    filler = ["today", "the", "outside", "morning", "again", "so", "really", "weather"]
    columns = ["id", "tweet", "state", "location", "k1", "s2", "w1"]
    (root / "data").mkdir()
    with open(root / "data/train.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(60):
            topic = list(kinds)[i % 3]
            words = [rng.choice(kinds[topic]) for _ in range(2)] + rng.sample(filler, 4)
            rng.shuffle(words)
            scores = [f"{rng.uniform(0.6, 1.0):.3f}" if name == topic else "0" for name in kinds]
            writer.writerow([i, " ".join(words), "oklahoma", "tulsa", *scores])


WEATHER_CASE = Case(
    "csv-dictreader-main-per-class-models",
    ((WEATHER_TRAIN,), (WEATHER_TEST,)),
    _weather_data,
    {f"models/{name}.pkl": {"data/train.csv"} for name in ("k1", "s2", "w1")},
    helpers={"classifier.py": WEATHER_CLASSIFIER},
)


# 21. Andrew Ng's exercise 6 in a notebook of Jordi Warmenhoven's (https://github.com/JWarmenhoven/Coursera-Machine-
#     Learning, notebooks/Programming Exercise 6 - Support Vector Machines.ipynb): three MATLAB files read with
#     scipy's loadmat, X and y taken from each dict, an SVC fit on each (the first twice, with C=1 then C=100 by
#     set_params), the vocabulary read with pd.read_table and only looked at. The plots and seaborn left out; each
#     classifier saved with joblib (the model step added); the datasets scaled down.
EX6 = r"""
import joblib
import numpy as np
import pandas as pd
from scipy.io import loadmat
from sklearn.svm import SVC

data1 = loadmat("data/ex6data1.mat")
print(data1.keys())
y1 = data1["y"]
X1 = data1["X"]
print("X1:", X1.shape, "y1:", y1.shape)
clf = SVC(C=1.0, kernel="linear")
clf.fit(X1, y1.ravel())
clf.set_params(C=100)
clf.fit(X1, y1.ravel())
joblib.dump(clf, "svc_linear.joblib")
"""
EX6_MORE = r"""
data2 = loadmat("data/ex6data2.mat")
y2 = data2["y"]
X2 = data2["X"]
clf2 = SVC(C=50, kernel="rbf", gamma=6)
clf2.fit(X2, y2.ravel())
joblib.dump(clf2, "svc_rbf.joblib")

data3 = loadmat("data/ex6data3.mat")
y3 = data3["y"]
X3 = data3["X"]
clf3 = SVC(C=1.0, kernel="poly", degree=3, gamma=10)
clf3.fit(X3, y3.ravel())
joblib.dump(clf3, "svc_poly.joblib")

data4 = pd.read_table("data/vocab.txt", header=None)
print(data4.head())
"""


def _ex6_data(root: Path) -> None:
    import scipy.io

    rng = np.random.default_rng(21)
    (root / "data").mkdir()
    for number in (1, 2, 3):
        X = rng.uniform(0, 1, (40, 2))
        y = (X[:, 0] + X[:, 1] ** number > 0.8).astype(np.uint8).reshape(-1, 1)
        mdict = {"X": X, "y": y}
        if number == 3:
            mdict.update(Xval=rng.uniform(0, 1, (20, 2)), yval=rng.integers(0, 2, (20, 1)).astype(np.uint8))
        scipy.io.savemat(root / f"data/ex6data{number}.mat", mdict)
    (root / "data/vocab.txt").write_text("".join(f"{i}\tword{i}\n" for i in range(1, 30)))


EX6_CASE = Case(
    "loadmat-svc-exercise6",
    ((EX6, EX6_MORE),),
    _ex6_data,
    {
        "svc_linear.joblib": {"data/ex6data1.mat"},
        "svc_rbf.joblib": {"data/ex6data2.mat"},
        "svc_poly.joblib": {"data/ex6data3.mat"},
    },
)


# 22. An Alzheimer's MRI classifier (https://github.com/spangy22/MEREDITH, classifier.py): resizer() opens each image
#     of a class's file list with PIL's Image.open, resizes it, flattens np.array(img) into a global list and appends
#     the class's label by comparing the list it was given with each class's; the four classes' images split with
#     train_test_split and a linear SVC fit on the training part. The file lists (defined elsewhere in the project)
#     made with glob over the Kaggle dataset's folders; 16x16 instead of 256x256, three images a class; the
#     classifier saved with joblib (the model step added).
ALZHEIMER = r"""
import glob

import joblib
import numpy as np
from PIL import Image
from sklearn import metrics, svm
from sklearn.model_selection import train_test_split

folder = "Alzheimer_s Dataset/train"
non = sorted(glob.glob(folder + "/NonDemented/*.jpg"))
very_mild = sorted(glob.glob(folder + "/VeryMildDemented/*.jpg"))
mild = sorted(glob.glob(folder + "/MildDemented/*.jpg"))
moderate = sorted(glob.glob(folder + "/ModerateDemented/*.jpg"))

resized_image_array = []
resized_image_array_label = []

width = 16
height = 16
new_size = (width, height)


def resizer(image_directory):
    for file in image_directory:
        img = Image.open(file)
        img = img.resize(new_size)
        array_temp = np.array(img)
        shape_new = width * height
        img_wide = array_temp.reshape(1, shape_new)
        resized_image_array.append(img_wide[0])
        if image_directory == non:
            resized_image_array_label.append(0)
        elif image_directory == very_mild:
            resized_image_array_label.append(1)
        elif image_directory == mild:
            resized_image_array_label.append(2)
        else:
            resized_image_array_label.append(3)


resizer(non)
resizer(very_mild)
resizer(mild)
resizer(moderate)
"""
ALZHEIMER_TRAIN = r"""
train_x, test_x, train_y, test_y = train_test_split(resized_image_array, resized_image_array_label, test_size=0.2)
clf = svm.SVC(kernel="linear")
clf.fit(train_x, train_y)
y_pred = clf.predict(train_x)
print("Accuracy : ", metrics.accuracy_score(train_y, y_pred))
y_pred = clf.predict(test_x)
print("Accuracy : ", metrics.accuracy_score(test_y, y_pred))
joblib.dump(clf, "alzheimer_svc.joblib")
"""
ALZHEIMER_CLASSES = ("NonDemented", "VeryMildDemented", "MildDemented", "ModerateDemented")
ALZHEIMER_IMAGES = {
    f"Alzheimer_s Dataset/train/{name}/{name.lower()}_{i}.jpg" for name in ALZHEIMER_CLASSES for i in range(3)
}


def _alzheimer_data(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(22)
    for level, name in enumerate(ALZHEIMER_CLASSES):
        (root / f"Alzheimer_s Dataset/train/{name}").mkdir(parents=True)
        (root / f"Alzheimer_s Dataset/test/{name}").mkdir(parents=True)
        for i in range(3):
            pixels = np.clip(rng.normal(60 + 40 * level, 20, (32, 32)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(root / f"Alzheimer_s Dataset/train/{name}/{name.lower()}_{i}.jpg")
            Image.fromarray(pixels[::-1], mode="L").save(root / f"Alzheimer_s Dataset/test/{name}/{i}.jpg")


ALZHEIMER_CASE = Case(
    "pil-images-from-class-folders",
    ((ALZHEIMER, ALZHEIMER_TRAIN),),
    _alzheimer_data,
    {"alzheimer_svc.joblib": ALZHEIMER_IMAGES},
)


# 23. The review-polarity text classifier of a well-copied tutorial (https://github.com/mattmoore/ai-ml-examples,
#     supervised/text-sentiment/scikit-learn/train.py, after stackabuse.com's "Text Classification with Python and
#     Scikit-Learn"): the txt_sentoken folder read with scikit-learn's load_files, each document cleaned with
#     regular expressions in a loop appending to a list, CountVectorizer then TfidfTransformer, a split, a random
#     forest fit and pickled with pickle.dump(model, open(...)); the test part scored. nltk's lemmatizer and stop
#     words (not installed) replaced by no lemmatizing and a short list; 1,000 trees made 20, min_df 5 made 1; two
#     dozen reviews.
POLARITY = r"""
import pickle
import re

import numpy as np
from sklearn.datasets import load_files
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.model_selection import train_test_split

stop_words = ["the", "a", "and", "is", "it", "this", "of", "to", "was"]

movie_data = load_files(r"txt_sentoken")
X, y = movie_data.data, movie_data.target

documents = []

for sen in range(0, len(X)):
    document = re.sub(r"\W", " ", str(X[sen]))
    document = re.sub(r"\s+[a-zA-Z]\s+", " ", document)
    document = re.sub(r"\^[a-zA-Z]\s+", " ", document)
    document = re.sub(r"\s+", " ", document, flags=re.I)
    document = re.sub(r"^b\s+", "", document)
    document = document.lower()
    document = document.split()
    document = " ".join(document)
    documents.append(document)

vectorizer = CountVectorizer(max_features=1500, min_df=1, max_df=0.7, stop_words=stop_words)
X = vectorizer.fit_transform(documents).toarray()

tfidfconverter = TfidfTransformer()
X = tfidfconverter.fit_transform(X).toarray()

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

model = RandomForestClassifier(n_estimators=20, random_state=0)
model.fit(X_train, y_train)

pickle.dump(model, open("model.pkl", "wb"))

y_pred = model.predict(X_test)
print("Prediction: ", y_pred)
"""
POLARITY_FILES = {f"txt_sentoken/{label}/cv{i:03d}_{label}.txt" for label in ("neg", "pos") for i in range(12)}


def _polarity_data(root: Path) -> None:
    rng = random.Random(23)
    words = {"pos": ["wonderful", "gripping", "superb"], "neg": ["tedious", "awful", "bland"]}
    plain = ["the", "plot", "film", "cast", "a", "ending", "script", "music"]
    for label in ("neg", "pos"):
        (root / "txt_sentoken" / label).mkdir(parents=True)
        for i in range(12):
            text = " ".join([rng.choice(words[label]) for _ in range(3)] + rng.sample(plain, 5))
            (root / f"txt_sentoken/{label}/cv{i:03d}_{label}.txt").write_text(text + " .\n")


POLARITY_CASE = Case("sklearn-load-files-folder", ((POLARITY,),), _polarity_data, {"model.pkl": POLARITY_FILES})

# 24. Will Koehrsen's "Start Here: A Gentle Introduction" (Kaggle, Home Credit Default Risk): label encoding of the
#     two-valued columns in a loop, get_dummies of both files, train and test aligned on their columns with
#     align(join="inner", axis=1) (twice), the DAYS_EMPLOYED anomaly flag, polynomial features of four columns made
#     from a median SimpleImputer's output and merged back on the id (the shared columns renamed with merge's
#     suffixes), domain ratios; each model fit on the imputed and scaled training frame and scored on the test
#     file. The submissions are written as the notebook does; the models saved with joblib (the model step added),
#     the LightGBM part left out; the rows scaled down.
HOME_CREDIT = r"""
import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder, MinMaxScaler, PolynomialFeatures

app_train = pd.read_csv("application_train.csv")
app_test = pd.read_csv("application_test.csv")
le = LabelEncoder()
for col in app_train:
    if app_train[col].dtype == "object" and len(list(app_train[col].unique())) <= 2:
        le.fit(app_train[col])
        app_train[col] = le.transform(app_train[col])
        app_test[col] = le.transform(app_test[col])
app_train = pd.get_dummies(app_train)
app_test = pd.get_dummies(app_test)
train_labels = app_train["TARGET"]
app_train, app_test = app_train.align(app_test, join="inner", axis=1)
app_train["TARGET"] = train_labels
app_train["DAYS_EMPLOYED_ANOM"] = app_train["DAYS_EMPLOYED"] == 365243
app_train["DAYS_EMPLOYED"] = app_train["DAYS_EMPLOYED"].replace({365243: np.nan})
app_test["DAYS_EMPLOYED_ANOM"] = app_test["DAYS_EMPLOYED"] == 365243
app_test["DAYS_EMPLOYED"] = app_test["DAYS_EMPLOYED"].replace({365243: np.nan})
"""
HOME_CREDIT_POLY = r"""
poly_features = app_train[["EXT_SOURCE_1", "EXT_SOURCE_2", "DAYS_BIRTH", "TARGET"]]
poly_features_test = app_test[["EXT_SOURCE_1", "EXT_SOURCE_2", "DAYS_BIRTH"]]
imputer = SimpleImputer(strategy="median")
poly_target = poly_features["TARGET"]
poly_features = poly_features.drop(columns=["TARGET"])
poly_features = imputer.fit_transform(poly_features)
poly_features_test = imputer.transform(poly_features_test)
poly_transformer = PolynomialFeatures(degree=3)
poly_transformer.fit(poly_features)
poly_features = poly_transformer.transform(poly_features)
poly_features_test = poly_transformer.transform(poly_features_test)
names = poly_transformer.get_feature_names_out(["EXT_SOURCE_1", "EXT_SOURCE_2", "DAYS_BIRTH"])
poly_features = pd.DataFrame(poly_features, columns=names)
poly_features_test = pd.DataFrame(poly_features_test, columns=names)
poly_features["SK_ID_CURR"] = app_train["SK_ID_CURR"]
app_train_poly = app_train.merge(poly_features, on="SK_ID_CURR", how="left")
poly_features_test["SK_ID_CURR"] = app_test["SK_ID_CURR"]
app_test_poly = app_test.merge(poly_features_test, on="SK_ID_CURR", how="left")
app_train_poly, app_test_poly = app_train_poly.align(app_test_poly, join="inner", axis=1)
"""
HOME_CREDIT_MODELS = r"""
train = app_train.drop(columns=["TARGET"])
imputer = SimpleImputer(strategy="median")
scaler = MinMaxScaler(feature_range=(0, 1))
imputer.fit(train)
train = imputer.transform(train)
test = imputer.transform(app_test)
scaler.fit(train)
train = scaler.transform(train)
test = scaler.transform(test)
log_reg = LogisticRegression(C=0.0001)
log_reg.fit(train, train_labels)
submit = app_test[["SK_ID_CURR"]].copy()
submit["TARGET"] = log_reg.predict_proba(test)[:, 1]
submit.to_csv("log_reg_baseline.csv", index=False)

poly_features = scaler.fit_transform(imputer.fit_transform(app_train_poly))
poly_features_test = scaler.transform(imputer.transform(app_test_poly))
random_forest_poly = RandomForestClassifier(n_estimators=10, random_state=50)
random_forest_poly.fit(poly_features, train_labels)
submit = app_test[["SK_ID_CURR"]].copy()
submit["TARGET"] = random_forest_poly.predict_proba(poly_features_test)[:, 1]
submit.to_csv("random_forest_baseline_engineered.csv", index=False)
joblib.dump(log_reg, "log_reg.joblib")
joblib.dump(random_forest_poly, "random_forest_poly.joblib")
"""


def _home_credit_data(root: Path) -> None:
    rng = np.random.default_rng(24)
    for name, rows, start in (("application_train.csv", 120, 100_000), ("application_test.csv", 40, 500_000)):
        frame = pd.DataFrame(
            {
                "SK_ID_CURR": np.arange(start, start + rows),
                "NAME_CONTRACT_TYPE": rng.choice(["Cash loans", "Revolving loans"], rows),
                "FLAG_OWN_CAR": rng.choice(["Y", "N"], rows),
                "NAME_INCOME_TYPE": rng.choice(["Working", "Pensioner", "Commercial associate"], rows),
                "AMT_INCOME_TOTAL": rng.uniform(3e4, 3e5, rows).round(),
                "AMT_CREDIT": rng.uniform(5e4, 1e6, rows).round(),
                "DAYS_BIRTH": -rng.integers(7000, 25000, rows),
                "DAYS_EMPLOYED": np.where(rng.random(rows) < 0.15, 365243, -rng.integers(0, 15000, rows)),
                "EXT_SOURCE_1": np.where(rng.random(rows) < 0.4, np.nan, rng.random(rows)),
                "EXT_SOURCE_2": rng.random(rows),
            }
        )
        if name == "application_train.csv":
            frame.insert(1, "TARGET", (rng.random(rows) < 0.2).astype(int))
        frame.to_csv(root / name, index=False)


HOME_CREDIT_CASE = Case(
    "home-credit-align-imputer-poly",
    ((HOME_CREDIT, HOME_CREDIT_POLY, HOME_CREDIT_MODELS),),
    _home_credit_data,
    {"log_reg.joblib": {"application_train.csv"}, "random_forest_poly.joblib": {"application_train.csv"}},
)


# 25. A cats-vs-dogs SVM notebook (public, in the code index without its repository's name): images read in a loop
#     over os.listdir of each class folder (cv2.imread in grayscale, cv2.resize, flatten, append), X = np.array(X)
#     in the next cell, X = X / 255.0 in the one after, a train/test split, a linear SVC saved with joblib, then a
#     PCA and RBF SVC pipeline saved too. OpenCV is not installed here: a cv2 module of two functions over Pillow
#     stands in; the plots left out; PCA's 150 components made 10; twelve images a class.
CATS_DOGS_LOAD = r"""
import os
import cv2
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

DATADIR = "dataset"
CATEGORIES = ["cats", "dogs"]
IMG_SIZE = 100
X = []
y = []
for category in CATEGORIES:
    path = os.path.join(DATADIR, category)
    class_num = CATEGORIES.index(category)
    for img in os.listdir(path):
        try:
            img_array = cv2.imread(os.path.join(path, img), cv2.IMREAD_GRAYSCALE)
            if img_array is not None:
                resized_array = cv2.resize(img_array, (IMG_SIZE, IMG_SIZE))
                X.append(resized_array.flatten())
                y.append(class_num)
        except Exception as e:
            pass
"""
CATS_DOGS_TRAIN = (
    "X = np.array(X)\ny = np.array(y)",
    "X = X / 255.0",
    r"""
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
model = SVC(kernel="linear", probability=True, random_state=42)
model.fit(X_train, y_train)
y_pred = model.predict(X_test)
import joblib
joblib.dump(model, "svm_face_model.pkl")
""",
    r"""
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
pca = PCA(n_components=10, whiten=True, random_state=42)
svc = SVC(kernel="rbf", C=10, gamma="scale", probability=True, random_state=42)
model = make_pipeline(pca, svc)
model.fit(X_train, y_train)
joblib.dump(model, "svm_advanced_model.pkl")
""",
)
CV2_STAND_IN = r"""
# OpenCV stands in: the two functions the notebook calls, over Pillow
import numpy as np
from PIL import Image

IMREAD_GRAYSCALE = 0


def imread(path, flags=1):
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L" if flags == IMREAD_GRAYSCALE else "RGB"))
    except OSError:
        return None


def resize(array, size):
    return np.asarray(Image.fromarray(array).resize(size))
"""
CATS_DOGS_IMAGES = {f"dataset/{folder}/{folder[:-1]}.{i}.jpg" for folder in ("cats", "dogs") for i in range(12)}


def _cats_dogs_data(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(25)
    for label, folder in enumerate(("cats", "dogs")):
        (root / "dataset" / folder).mkdir(parents=True)
        for i in range(12):
            pixels = (rng.random((120, 120)) * 90).astype(np.uint8)
            if label:
                pixels[40:80, 30:90] = 220
            Image.fromarray(pixels).save(root / "dataset" / folder / f"{folder[:-1]}.{i}.jpg")
    (root / "dataset" / "cats" / "notes.txt").write_text("not an image\n")


CATS_DOGS_CASE = Case(
    "image-loop-array-rebound",
    ((CATS_DOGS_LOAD, *CATS_DOGS_TRAIN),),
    _cats_dogs_data,
    {"svm_face_model.pkl": CATS_DOGS_IMAGES, "svm_advanced_model.pkl": CATS_DOGS_IMAGES},
    helpers={"cv2.py": CV2_STAND_IN},
)


# 26. A Kaggle "Bike Sharing Demand" kernel with random forest and gradient boosting (public, in the code index
#     without its repository's name): train.csv and test.csv read in a loop, each marked in a _data column, stacked
#     with pd.concat (DataFrame.append in the original, gone in pandas 2) to engineer features once: lower-case
#     columns, the hours as the index, log targets, date parts, per-season sums of the training rows joined back,
#     holidays fixed with masked .loc assignments, flags made with apply(axis=1); then the training rows taken back
#     by the marker inside functions, validated on a split by day, refit, the test rows scored into a submission.
#     Each model is fit on training rows only: it derives from train.csv alone (the test rows got the training
#     rows' sums, not the other way round). weekofyear replaced by isocalendar().week; fewer flags; the two models
#     saved with joblib (the model step added); the rows scaled down.
BIKES_FEATURES = r"""
import pandas as pd
import numpy as np
from sklearn.ensemble import RandomForestRegressor, GradientBoostingRegressor

dfs = {}
for name in ['train', 'test']:
    df = pd.read_csv('input/bike-sharing-demand/%s.csv' % name)
    df['_data'] = name
    dfs[name] = df
# combine train and test data into one df
df = pd.concat([dfs['train'], dfs['test']])
# lowercase column names
df.columns = map(str.lower, df.columns)
# parse datetime colum & add new time related columns
dt = pd.DatetimeIndex(df['datetime'])
df.set_index(dt, inplace=True)
"""
BIKES_CELLS = (
    r"""
# logarithmic transformation of dependent cols
for col in ['casual', 'registered', 'count']:
    df['%s_log' % col] = np.log(df[col] + 1)
df['day'] = dt.day
df['month'] = dt.month
df['year'] = dt.year
df['hour'] = dt.hour
df['dow'] = dt.dayofweek
df['woy'] = dt.isocalendar().week.values
""",
    r"""
# add a count_season column using join
by_season = df[df['_data'] == 'train'].groupby('season')[['count']].agg('sum')
by_season.columns = ['count_season']
df = df.join(by_season, on='season')

def get_day(day_start):
    day_end = day_start + pd.offsets.DateOffset(hours=23)
    return pd.date_range(day_start, day_end, freq="h")
# tax day
df.loc[df.index.isin(get_day(pd.Timestamp(2011, 4, 15))), "workingday"] = 1
# thanksgiving friday
df.loc[df.index.isin(get_day(pd.Timestamp(2011, 11, 25))), "workingday"] = 0
df['peak'] = df[['hour', 'workingday']].apply(lambda x: (0, 1)[int((x['workingday'] == 1 and (
    x['hour'] == 8 or 17 <= x['hour'] <= 18 or x['hour'] == 12)) or (x['workingday'] == 0 and 10 <= x['hour'] <= 19))],
    axis=1)
df['ideal'] = df[['temp', 'windspeed']].apply(lambda x: (0, 1)[int(x['temp'] > 27 and x['windspeed'] < 30)], axis=1)
""",
    r"""
def get_data():
    data = df[df['_data'] == 'train'].copy()
    return data

def train_test_split_custom(data, midway_day=15):
    train = data[data['day'] <= midway_day]
    val = data[data['day'] > midway_day]
    return train, val

def prepare_distributed_data(data, input_cols):
    X = data[input_cols].values
    y_registered = data['registered_log'].values
    y_casual = data['casual_log'].values
    return X, y_registered, y_casual

def predict_on_validation_set(model, input_cols):
    data = get_data()
    train, val = train_test_split_custom(data)
    X_train, y_train_registered, y_train_casual = prepare_distributed_data(train, input_cols)
    X_val, y_val_registered, y_val_casual = prepare_distributed_data(val, input_cols)
    model_registered = model.fit(X_train, y_train_registered)
    y_pred_registered = np.exp(model_registered.predict(X_val)) - 1
    model_casual = model.fit(X_train, y_train_casual)
    y_pred_casual = np.exp(model_casual.predict(X_val)) - 1
    return y_pred_registered + y_pred_casual

df_test = df[df['_data'] == 'test'].copy()

def predict_on_test_data(model, x_cols):
    df_train = df[df['_data'] == 'train'].copy()
    X_train = df_train[x_cols].values
    y_train_cas = df_train['casual_log'].values
    y_train_reg = df_train['registered_log'].values
    X_test = df_test[x_cols].values
    casual_model = model.fit(X_train, y_train_cas)
    y_pred_cas = np.exp(casual_model.predict(X_test)) - 1
    registered_model = model.fit(X_train, y_train_reg)
    y_pred_reg = np.exp(registered_model.predict(X_test)) - 1
    return y_pred_cas + y_pred_reg
""",
    r"""
rf_model = RandomForestRegressor(n_estimators=20, min_samples_split=5, min_samples_leaf=2, random_state=0)
rf_cols = ['weather', 'temp', 'atemp', 'windspeed', 'workingday', 'season', 'holiday', 'hour', 'dow', 'woy', 'peak']
rf_p = predict_on_validation_set(rf_model, rf_cols)
gbm_model = GradientBoostingRegressor(n_estimators=20, max_depth=5, random_state=0)
gbm_cols = ['weather', 'temp', 'atemp', 'humidity', 'windspeed', 'holiday', 'workingday', 'season', 'hour', 'dow',
            'year', 'ideal', 'count_season']
gbm_p = predict_on_validation_set(gbm_model, gbm_cols)
""",
    r"""
rf_pred = predict_on_test_data(rf_model, rf_cols)
gbm_pred = predict_on_test_data(gbm_model, gbm_cols)
y_pred = np.round(.2*rf_pred + .8*gbm_pred)
df_test['count'] = y_pred
final_df = df_test[['datetime', 'count']].copy()
final_df.to_csv('submit.csv', index=False)
import joblib
joblib.dump(rf_model, 'rf_model.joblib')
joblib.dump(gbm_model, 'gbm_model.joblib')
""",
)


def _bikes_data(root: Path) -> None:
    rng = np.random.default_rng(26)
    hours = pd.date_range("2011-01-01", "2012-12-31 23:00", freq="h")
    hours = hours[rng.random(len(hours)) < 0.03]
    folder = root / "input" / "bike-sharing-demand"
    folder.mkdir(parents=True)
    for name, picked in (("train", hours[hours.day <= 19]), ("test", hours[hours.day >= 20])):
        n = len(picked)
        frame = pd.DataFrame(
            {
                "datetime": picked.strftime("%Y-%m-%d %H:%M:%S"),
                "season": picked.month % 12 // 3 + 1,
                "holiday": 0,
                "workingday": (picked.dayofweek < 5).astype(int),
                "weather": rng.integers(1, 4, n),
                "temp": rng.uniform(0, 40, n).round(2),
                "atemp": rng.uniform(0, 45, n).round(3),
                "humidity": rng.integers(10, 100, n),
                "windspeed": rng.uniform(0, 50, n).round(4),
            }
        )
        if name == "train":
            frame["casual"] = rng.integers(0, 100, n)
            frame["registered"] = rng.integers(0, 400, n)
            frame["count"] = frame["casual"] + frame["registered"]
        frame.to_csv(folder / f"{name}.csv", index=False)


BIKES_TRAIN = {"input/bike-sharing-demand/train.csv"}
BIKES_CASE = Case(
    "bikes-stacked-then-split",
    ((BIKES_FEATURES, *BIKES_CELLS),),
    _bikes_data,
    {"rf_model.joblib": BIKES_TRAIN, "gbm_model.joblib": BIKES_TRAIN},
)


CASES = (
    DVC,
    MOVIES,
    MNIST_CASE,
    EARLY_CASE,
    TORCH_NPY_CASE,
    DELTA_CASE,
    ICEBERG_CASE,
    FRAUD_CASE,
    PG_CASE,
    EX2_CASE,
    SALES_CASE,
    PLAYERS_CASE,
    BOSTON_CASE,
    NEWS_CASE,
    OASIS_CASE,
    IMDB_CASE,
    MLOPS_CASE,
    LAZY_IMDB_CASE,
    FASHION_CASE,
    WEATHER_CASE,
    EX6_CASE,
    ALZHEIMER_CASE,
    POLARITY_CASE,
    HOME_CREDIT_CASE,
    CATS_DOGS_CASE,
    BIKES_CASE,
)
