"""Small files the DuckDB and Polars hook tests read: a CSV, a Parquet file and a folder of CSV parts sharing a key,
and how the tests name what an object derives from."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nblineage.kernel_ext import fingerprint
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.provenance import Source


def write_files(folder: Path) -> dict[str, Path]:
    paths = {"a": folder / "a.csv", "b": folder / "b.parquet", "parts": folder / "parts"}
    pl.DataFrame({"k": [1, 2, 3], "x": [1.0, 2.0, 3.0]}).write_csv(paths["a"])
    pl.DataFrame({"k": [1, 2, 3], "y": [4, 5, 6]}).write_parquet(paths["b"])
    paths["parts"].mkdir()
    for i in range(2):
        pl.DataFrame({"k": [i], "z": [i * 10]}).write_csv(paths["parts"] / f"p{i}.csv")
    return paths


def source(path: Path) -> Source:
    return Source("file", str(path), fingerprint.file_version(path))


def names(capture: Capture, obj: object) -> set[str]:
    return {Path(s.name).name for s in capture.of(obj).sources}
