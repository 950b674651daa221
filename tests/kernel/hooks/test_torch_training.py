"""Third-party PyTorch training code in a real kernel: each saved model derives from its training data only.

The cases copy public code (credited below), with data synthesized in the schema it reads (nothing downloaded) and
the splits in files of their own, so that a source wrongly linked to a model shows as a file:

1. Jason Brownlee's "PyTorch Tutorial: How to Develop Deep Learning Models with Python" (Machine Learning Mastery,
   https://machinelearningmastery.com/pytorch-tutorial-develop-deep-learning-models/; as copied in
   https://github.com/fhernand23/poc-biolab/blob/main/torch/tut.py): the ionosphere MLP, a ``CSVDataset`` class
   reading a CSV with pandas, ``train_model``/``evaluate_model`` functions, and evaluation in training mode without
   ``no_grad`` (as the tutorial does). Here the train and test rows come from two files, both read in one cell.
2. Daniel Voigt Godoy's "Deep Learning with PyTorch Step-by-Step", chapter 2 (as in
   https://github.com/mbassale/computer-science/tree/main/book18-pytorch-step-by-step/ch2: ``data/v2.py``,
   ``model/v4.py``, ``train/v4.py``): ``make_train_step_fn``/``make_validation_step_fn``, a ``mini_batch`` helper
   over ``train_loader`` and ``validation_loader`` (validation under ``torch.no_grad()`` and ``model.eval()``), a
   checkpoint dict saved with ``torch.save``. Here train and validation are two CSV files.
3. The training script of https://github.com/Arm-Sl/Masterial-Rules-Extractions (``main.py``): an MLP trained with
   Adam over a ``DataLoader`` whose batches are converted in the loop (``x.to(device).float()``), then tested on a
   test loader; a Titanic-shaped table (train, test) split by ``train_test_split`` read from two CSV files, and the
   model saved whole.

4. The data pipeline of Kaggle's "Dogs vs. Cats" PyTorch notebooks (a ``CatDogDataset`` class given a list of file
   names and their folder, opening each image with PIL in ``__getitem__``; cats and dogs joined with
   ``ConcatDataset``; loaders with ``num_workers``): here a validation part redrawn each epoch with ``random_split``
   and evaluated under ``model.eval()`` and ``torch.no_grad()`` (the loaders' worker processes read the images: the
   kernel never sees those reads), and a test folder scored after training. The model derives from exactly the
   images its training parts held over the epochs, none of the test folder's.

Recall and precision of source -> model links are both 100 %: every model's upstream files are exactly its
training files. Test metrics computed with scikit-learn on the models' predictions are labelled ``test``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebooks import run_notebook
from PIL import Image

from nblineage.governance import questions
from nblineage.lineage.graph import DatasetRef, upstream
from nblineage.lineage.store import Store

IONOSPHERE = """
from numpy import vstack
from pandas import read_csv
from sklearn.preprocessing import LabelEncoder
from sklearn.metrics import accuracy_score
import torch
from torch.utils.data import Dataset, DataLoader
from torch.nn import Linear, ReLU, Sigmoid, Module, BCELoss
from torch.optim import SGD
from torch.nn.init import kaiming_uniform_, xavier_uniform_

class CSVDataset(Dataset):
    def __init__(self, path):
        df = read_csv(path, header=None)
        self.X = df.values[:, :-1]
        self.y = df.values[:, -1]
        self.X = self.X.astype('float32')
        self.y = LabelEncoder().fit_transform(self.y)
        self.y = self.y.astype('float32')
        self.y = self.y.reshape((len(self.y), 1))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, idx):
        return [self.X[idx], self.y[idx]]

class MLP(Module):
    def __init__(self, n_inputs):
        super(MLP, self).__init__()
        self.hidden1 = Linear(n_inputs, 10)
        kaiming_uniform_(self.hidden1.weight, nonlinearity='relu')
        self.act1 = ReLU()
        self.hidden2 = Linear(10, 8)
        kaiming_uniform_(self.hidden2.weight, nonlinearity='relu')
        self.act2 = ReLU()
        self.hidden3 = Linear(8, 1)
        xavier_uniform_(self.hidden3.weight)
        self.act3 = Sigmoid()

    def forward(self, X):
        X = self.hidden1(X)
        X = self.act1(X)
        X = self.hidden2(X)
        X = self.act2(X)
        X = self.hidden3(X)
        X = self.act3(X)
        return X

def prepare_data(train_path, test_path):
    train, test = CSVDataset(train_path), CSVDataset(test_path)
    train_dl = DataLoader(train, batch_size=32, shuffle=True)
    test_dl = DataLoader(test, batch_size=1024, shuffle=False)
    return train_dl, test_dl

def train_model(train_dl, model):
    criterion = BCELoss()
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(10):
        for i, (inputs, targets) in enumerate(train_dl):
            optimizer.zero_grad()
            yhat = model(inputs)
            loss = criterion(yhat, targets)
            loss.backward()
            optimizer.step()

def evaluate_model(test_dl, model):
    predictions, actuals = list(), list()
    for i, (inputs, targets) in enumerate(test_dl):
        yhat = model(inputs)
        yhat = yhat.detach().numpy()
        actual = targets.numpy()
        actual = actual.reshape((len(actual), 1))
        yhat = yhat.round()
        predictions.append(yhat)
        actuals.append(actual)
    predictions, actuals = vstack(predictions), vstack(actuals)
    acc = accuracy_score(actuals, predictions)
    return acc

train_dl, test_dl = prepare_data('ionosphere/train.csv', 'ionosphere/test.csv')
model = MLP(34)
train_model(train_dl, model)
acc = evaluate_model(test_dl, model)
torch.save(model.state_dict(), 'ionosphere/mlp.pt')
"""

STEP_BY_STEP = """
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

device = 'cpu'
torch.manual_seed(13)

def make_train_step_fn(model, loss_fn, optimizer):
    def perform_train_step_fn(x, y):
        model.train()
        yhat = model(x)
        loss = loss_fn(yhat, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()
    return perform_train_step_fn

def make_validation_step_fn(model, loss_fn):
    def perform_validation_step_fn(x, y):
        model.eval()
        yhat = model(x)
        loss = loss_fn(yhat, y)
        return loss.item()
    return perform_validation_step_fn

def mini_batch(device, data_loader, step_fn):
    mini_batch_losses = []
    for x_batch, y_batch in data_loader:
        x_batch = x_batch.to(device)
        y_batch = y_batch.to(device)
        mini_batch_loss = step_fn(x_batch, y_batch)
        mini_batch_losses.append(mini_batch_loss)
    loss = np.mean(mini_batch_losses)
    return loss

train_df = pd.read_csv('godoy/train.csv')
val_df = pd.read_csv('godoy/validation.csv')
x_train_tensor = torch.as_tensor(train_df[['x']].values).float()
y_train_tensor = torch.as_tensor(train_df[['y']].values).float()
x_val_tensor = torch.as_tensor(val_df[['x']].values).float()
y_val_tensor = torch.as_tensor(val_df[['y']].values).float()
train_data = TensorDataset(x_train_tensor, y_train_tensor)
validation_data = TensorDataset(x_val_tensor, y_val_tensor)
train_loader = DataLoader(dataset=train_data, batch_size=16, shuffle=True)
validation_loader = DataLoader(dataset=validation_data, batch_size=16)

lr = 0.1
model = nn.Sequential(nn.Linear(1, 1)).to(device)
optimizer = optim.SGD(model.parameters(), lr=lr)
loss_fn = nn.MSELoss(reduction='mean')
train_step_fn = make_train_step_fn(model, loss_fn, optimizer)
validation_step_fn = make_validation_step_fn(model, loss_fn)

n_epochs = 20
losses = []
val_losses = []
for epoch in range(n_epochs):
    loss = mini_batch(device, train_loader, train_step_fn)
    losses.append(loss)
    with torch.no_grad():
        val_loss = mini_batch(device, validation_loader, validation_step_fn)
        val_losses.append(val_loss)

checkpoint = {'epoch': n_epochs,
              'model_state_dict': model.state_dict(),
              'optimizer_state_dict': optimizer.state_dict(),
              'loss': losses,
              'val_loss': val_losses}
torch.save(checkpoint, 'godoy/model_checkpoint.pth')
"""

TITANIC = """
import pandas as pd
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.metrics import accuracy_score

features = ['Pclass', 'Age', 'SibSp', 'Parch', 'Fare']
train_set = pd.read_csv('titanic/train.csv')
test_set = pd.read_csv('titanic/test.csv')
training_data = TensorDataset(torch.tensor(train_set[features].values), torch.tensor(train_set['Survived'].values))
test_data = TensorDataset(torch.tensor(test_set[features].values), torch.tensor(test_set['Survived'].values))

class MLP(nn.Module):
    def __init__(self):
        super(MLP, self).__init__()
        self.layers = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
    def forward(self, x):
        return self.layers(x)

train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

model = MLP().to(device)
optimizer = torch.optim.Adam(model.parameters())
criterion = nn.CrossEntropyLoss()

epochs = 5

model.train()
for epoch in range(epochs):
    losses = []
    for batch_num, input_data in enumerate(train_dataloader):
        optimizer.zero_grad()
        x, y = input_data
        x = x.to(device).float()
        y = y.to(device)

        output = model(x)
        loss = criterion(output, y)
        loss.backward()
        losses.append(loss.item())

        optimizer.step()

model.eval()
predicted, expected = [], []
with torch.no_grad():
    for x, y in test_dataloader:
        predicted.append(model(x.float()).argmax(1))
        expected.append(y)
y_test = torch.cat(expected).numpy()
test_accuracy = accuracy_score(y_test, torch.cat(predicted).numpy())
torch.save(model, 'titanic/mlp.pt')
"""

DOGS_VS_CATS = """
import json
import os
import numpy as np
import torch
from torch import nn
from PIL import Image
from torch.utils.data import ConcatDataset, DataLoader, Dataset, random_split

train_dir, test_dir = 'dogcat/train', 'dogcat/test'

class CatDogDataset(Dataset):
    def __init__(self, file_list, dir, mode='train'):
        self.file_list = file_list
        self.dir = dir
        self.mode = mode
        if self.mode == 'train':
            self.label = 1 if 'dog' in self.file_list[0] else 0

    def __len__(self):
        return len(self.file_list)

    def __getitem__(self, idx):
        img = Image.open(os.path.join(self.dir, self.file_list[idx]))
        img = np.asarray(img.convert('RGB'), dtype=np.float32).transpose(2, 0, 1) / 255
        if self.mode == 'train':
            return img, self.label
        return img, self.file_list[idx]

train_files = sorted(os.listdir(train_dir))
cats = CatDogDataset([f for f in train_files if 'cat' in f], train_dir)
dogs = CatDogDataset([f for f in train_files if 'dog' in f], train_dir)
catdogs = ConcatDataset([cats, dogs])
files = [os.path.join(part.dir, name) for part in catdogs.datasets for name in part.file_list]

torch.manual_seed(0)
net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
trained_on = set()
for epoch in range(2):
    train_part, val_part = random_split(catdogs, [12, 4])
    trained_on.update(files[i] for i in train_part.indices)
    net.train()
    for x, y in DataLoader(train_part, batch_size=4, shuffle=True, num_workers=2):
        optimizer.zero_grad()
        loss = criterion(net(x), y)
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        for x, y in DataLoader(val_part, batch_size=4, num_workers=2):
            correct = (net(x).argmax(1) == y).sum().item()

testset = CatDogDataset(sorted(os.listdir(test_dir)), test_dir, mode='test')
net.eval()
predictions = {}
with torch.no_grad():
    for x, names in DataLoader(testset, batch_size=4):
        predictions.update(zip(names, net(x).argmax(1).tolist()))
torch.save(net.state_dict(), 'dogcat/catdog.pt')
print(json.dumps(sorted(trained_on)))
"""


def write_data(folder: Path) -> None:
    """Each case's files, in the schema its code reads."""
    rng = np.random.default_rng(0)
    (folder / "ionosphere").mkdir()
    for split, rows in (("train", 120), ("test", 40)):
        frame = pd.DataFrame(rng.uniform(-1, 1, size=(rows, 34)).round(5))
        frame[34] = rng.choice(["g", "b"], rows)
        frame.to_csv(folder / "ionosphere" / f"{split}.csv", header=False, index=False)
    (folder / "godoy").mkdir()
    for split, rows in (("train", 80), ("validation", 20)):
        x = rng.random(rows)
        pd.DataFrame({"x": x, "y": 1 + 2 * x + 0.1 * rng.normal(size=rows)}).to_csv(
            folder / "godoy" / f"{split}.csv", index=False
        )
    (folder / "titanic").mkdir()
    for split, rows in (("train", 200), ("test", 60)):
        pd.DataFrame(
            {
                "PassengerId": np.arange(rows),
                "Survived": rng.integers(0, 2, rows),
                "Pclass": rng.integers(1, 4, rows),
                "Age": rng.uniform(1, 80, rows).round(1),
                "SibSp": rng.integers(0, 5, rows),
                "Parch": rng.integers(0, 4, rows),
                "Fare": rng.uniform(5, 250, rows).round(2),
            }
        ).to_csv(folder / "titanic" / f"{split}.csv", index=False)
    for split, names in (("train", [f"{kind}.{i}.png" for kind in ("cat", "dog") for i in range(8)]), ("test", "0123")):
        (folder / "dogcat" / split).mkdir(parents=True)
        for name in names:
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / "dogcat" / split / (name if "." in name else f"{name}.png"))


def upstream_files(store: Store, path: Path) -> set[str]:
    return {
        str(Path(node.name).relative_to(path.parent.parent))
        for node in upstream(store, DatasetRef("file", str(path)))
        if node.type != "job" and node.name.endswith((".csv", ".png"))
    }


def test_third_party_training_code_links_each_model_to_its_training_data_only(tmp_path: Path, store_url: str) -> None:
    write_data(tmp_path)
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    shown = "print(repr(acc), repr(test_accuracy))"
    cells = [IONOSPHERE, STEP_BY_STEP, TITANIC, DOGS_VS_CATS, shown]
    notebook = run_notebook(tmp_path / "training.ipynb", cells, env, timeout=300)
    ionosphere_accuracy, titanic_accuracy = map(float, notebook.cells[-1].outputs[0]["text"].split())
    printed = [output for output in notebook.cells[-2].outputs if output.get("name") == "stdout"]
    trained_on = {str(Path(name)) for name in json.loads(printed[-1]["text"])}
    assert 8 <= len(trained_on) < 16  # the training parts held some of the 16 images, not all
    expected = {
        "ionosphere/mlp.pt": {"ionosphere/train.csv"},
        "godoy/model_checkpoint.pth": {"godoy/train.csv"},
        "titanic/mlp.pt": {"titanic/train.csv"},
        "dogcat/catdog.pt": trained_on,
    }
    with Store(store_url) as store:
        found = {model: upstream_files(store, tmp_path / model) for model in expected}
        performance = {
            model: {
                (metric.name, metric.split): metric.value
                for metric in questions.model_performance(store, DatasetRef("file", str(tmp_path / model))).metrics
            }
            for model in ("ionosphere/mlp.pt", "titanic/mlp.pt")
        }
        described = questions.model_inputs(store, DatasetRef("file", str(tmp_path / "ionosphere/mlp.pt")))
    assert found == expected  # 100 % recall and 100 % precision of source -> model links
    assert performance == {
        "ionosphere/mlp.pt": {("accuracy_score", "test"): pytest.approx(ionosphere_accuracy)},
        "titanic/mlp.pt": {("accuracy_score", "test"): pytest.approx(titanic_accuracy)},
    }
    function = described.function
    assert (function.framework, function.model_class) == ("pytorch", "__main__.MLP")
    assert (
        function.details["nParameters"] == 34 * 10 + 10 + 10 * 8 + 8 + 8 + 1
        and function.details["format"] == "state_dict"
    )
