"""scipy.io's MATLAB files: ``loadmat`` is a read whose dict and arrays carry the file's version (``.mat`` added as
scipy adds it); ``savemat`` a write with the arrays' provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import xxhash
from hooktools import RAW, only_output

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.scipy import ScipyInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (ScipyInstrumentor,)


def source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def test_loadmat_is_a_read_and_each_array_carries_it(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "ex3data1.mat"
    scipy.io.savemat(path, {"X": np.ones((4, 3)), "y": np.arange(4).reshape(-1, 1)})
    capture.take_record()
    data = scipy.io.loadmat(str(tmp_path / "ex3data1"))  # not there: scipy opens it with the suffix added
    assert list(capture.record.inputs) == [source(path)]
    for name in ("X", "y"):
        assert capture.of(data[name]).sources == {source(path)}, name


def test_savemat_writes_the_arrays_provenance(capture: Capture, tmp_path: Path) -> None:
    theta = np.zeros(3)
    capture.read(RAW, theta)
    scipy.io.savemat(tmp_path / "weights.mat", {"theta": theta, "note": "trained"})
    output = only_output(capture)
    assert output.source == source(tmp_path / "weights.mat")
    assert output.provenance.sources == {RAW}
