"""Shared pieces of the hook tests: an active capture with some instrumentors, and a model trained on raw.csv."""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from nblineage.kernel_ext.capture import Capture, Output, activate
from nblineage.kernel_ext.provenance import Source

RAW = Source("file", "/data/raw.csv", "v1")


@contextmanager
def capturing(instrumentor_classes: Iterable[type]) -> Iterator[Capture]:
    """A fresh capture, active with these instrumentors installed; everything undone afterwards."""
    instrumentors = [cls() for cls in instrumentor_classes]
    for instrumentor in instrumentors:
        instrumentor.instrument()
    active = Capture()
    activate(active)
    try:
        yield active
    finally:
        activate(None)
        for instrumentor in reversed(instrumentors):
            instrumentor.uninstrument()


def trained(capture: Capture) -> tuple[LogisticRegression, pd.DataFrame]:
    """A model fit on features derived from a tracked frame (raw.csv)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(40, 9, 50), "income": rng.normal(9, 2, 50), "label": np.tile([0, 1], 25)})
    capture.read(RAW, df)
    X = df[["age", "income"]]
    capture.derive(X, df)
    return LogisticRegression(C=0.5).fit(X, df["label"]), X


def only_output(capture: Capture) -> Output:
    assert len(capture.record.outputs) == 1, capture.record.outputs
    return capture.record.outputs[0]


def shipped_image() -> str:
    """A PNG file matplotlib ships inside the Python installation: an image no user's read."""
    folder = os.path.join(sysconfig.get_paths()["purelib"], "matplotlib")
    return next(os.path.join(top, name) for top, _, names in os.walk(folder) for name in names if name.endswith(".png"))
