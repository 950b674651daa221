"""Data splits: train, validation and test, and what names and MLflow dataset contexts say about them.

Shared by the kernel hooks (which label a metric when it is computed) and the answers (which label metrics other
producers sent): one reading of ``X_val``, ``training_score`` or an MLflow ``eval`` context everywhere.
"""

from __future__ import annotations

import re
from typing import Any

SPLITS = ("train", "validation", "test")
_WORDS = {
    "train": "train",
    "training": "train",
    "trn": "train",
    "test": "test",
    "tst": "test",
    "holdout": "test",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
}
_CONTEXTS = {
    "train": "train",
    "training": "train",
    "eval": "test",
    "evaluation": "test",
    "test": "test",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
}


def split_of_name(name: str) -> str | None:
    """The split a variable, file or metric name says, by its first telling word: ``X_val``, ``y_valid2``,
    ``yvalid`` and ``val_df`` are validation, ``test.csv`` and ``accuracy_score_X_test`` test, ``training_score``
    train; else None."""
    for word in re.split(r"[^a-z]+", name.lower()):
        if word in _WORDS:
            return _WORDS[word]
        if len(word) > 3 and word[0] in "xy" and word[1:] in _WORDS:  # ``xtrain``, ``yvalid``
            return _WORDS[word[1:]]
    return None


def split_of_context(value: Any) -> str | None:
    """The split of a recorded split label or an MLflow dataset context (``train``, ``eval``...); else None."""
    return _CONTEXTS.get(value.strip().lower()) if isinstance(value, str) else None
