"""A dataset of the user's own class reading one file per item in ``__getitem__`` (as image datasets do), in a
module outside site-packages (user code) that worker processes can import."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset


class FileRows(Dataset):
    """Each item is the one row of a CSV file of its folder, read when indexed."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)
        self.names = sorted(os.listdir(folder))

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> torch.Tensor:
        row = pd.read_csv(os.path.join(self.folder, self.names[index]))
        return torch.tensor(row.to_numpy()[0], dtype=torch.float32)


def write_rows(folder: Path, count: int) -> Path:
    """``count`` one-row CSV files of 4 columns in ``folder``."""
    folder.mkdir()
    rng = np.random.default_rng(len(str(folder)))
    for index in range(count):
        pd.DataFrame(rng.normal(size=(1, 4)), columns=list("abcd")).to_csv(folder / f"{index}.csv", index=False)
    return folder


class AnnotatedRows(Dataset):
    """The PyTorch tutorial's ``CustomImageDataset``: an annotations file names each item's file (its first column)
    in a folder, read when indexed; with ``as_array``, the names kept as a numpy array instead of the frame."""

    def __init__(self, annotations_file: Path, folder: Path, as_array: bool = False) -> None:
        self.labels = pd.read_csv(annotations_file)
        self.folder = str(folder)
        if as_array:
            self.names = self.labels["file"].to_numpy()
            self.labels = self.labels["label"].tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> torch.Tensor:
        name = self.names[index] if hasattr(self, "names") else self.labels.iloc[index, 0]
        row = pd.read_csv(os.path.join(self.folder, name))
        return torch.tensor(row.to_numpy()[0], dtype=torch.float32)


def write_annotations(folder: Path, path: Path) -> Path:
    """An annotations CSV naming each file of ``folder`` (``file``, ``label``)."""
    names = sorted(os.listdir(folder))
    pd.DataFrame({"file": names, "label": [index % 2 for index in range(len(names))]}).to_csv(path, index=False)
    return path
