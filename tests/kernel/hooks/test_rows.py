"""Row parts (hooks/rows.py): training and test rows stacked with ``pd.concat`` to engineer features once, then cut
apart again: the rows cut out derive from the file they came from, unless a transform mixed the rows first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PandasInstrumentor,)
pytestmark = pytest.mark.usefixtures("fresh_error_counts")
TRAIN, TEST, OTHER = (Source("file", f"/data/{name}.csv", "v1") for name in ("train", "test", "other"))


@pytest.fixture
def stacked(capture: Capture) -> pd.DataFrame:
    """Train (6 rows) and test (4 rows), each read from its file, marked and stacked (the index repeats)."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=6), "k": list("ababab"), "y": rng.normal(size=6)})
    test = pd.DataFrame({"x": rng.normal(size=4), "k": list("abab")})
    capture.read(TRAIN, train)
    capture.read(TEST, test)
    train["_data"], test["_data"] = "train", "test"
    return pd.concat([train, test])


def files(capture: Capture, obj: object) -> set[str]:
    return {Path(source.name).stem for source in capture.of(obj).sources}


def test_rows_taken_back_by_a_marker_column_derive_from_their_own_file(capture: Capture, stacked: pd.DataFrame) -> None:
    df = stacked
    assert files(capture, df) == {"train", "test"}
    df["x2"] = df["x"] ** 2  # row by row, in place
    df["hour"] = df["x"].round().astype(int)
    train = df[df["_data"] == "train"].copy()
    test = df.loc[df["_data"] == "test", ["x", "x2"]]
    assert len(train) == 6 and len(test) == 4
    assert files(capture, train) == files(capture, train[["x", "x2"]].values) == {"train"}
    assert files(capture, test) == {"test"}
    assert files(capture, df) == {"train", "test"}  # the stacked frame itself holds both


def test_rows_taken_back_by_position(capture: Capture, stacked: pd.DataFrame) -> None:
    all_data = pd.get_dummies(stacked.drop(columns=["_data", "y"]))
    assert files(capture, all_data[6:]) == files(capture, all_data.tail(4)) == {"test"}
    assert files(capture, all_data.iloc[4:8]) == {"train", "test"}  # rows of both
    numbered = all_data.reset_index(drop=True)  # labels 0..9: a label slice includes its end
    assert files(capture, numbered.loc[:5]) == files(capture, numbered.loc[0:5, ["x"]]) == {"train"}
    assert files(capture, numbered.loc[6:]) == {"test"}
    assert files(capture, all_data.loc[all_data.index < 3]) == {"train", "test"}  # labels 0-2 of both files
    all_data = all_data.fillna(all_data[:6].mean())  # the training rows' means: no test row in them
    for train_rows in (all_data[:6], all_data.iloc[:6], all_data.head(6), all_data.iloc[np.arange(6)]):
        assert files(capture, train_rows) == {"train"}
    assert files(capture, all_data[6:]) == {"train", "test"}  # the test rows got the training rows' means


def test_a_transform_mixing_the_rows_gives_every_row_both_files(capture: Capture, stacked: pd.DataFrame) -> None:
    filled = stacked.fillna(stacked.mean(numeric_only=True))  # the means of all rows, test rows too
    assert files(capture, filled[:6]) == {"train", "test"}
    grouped = stacked.copy()
    grouped["x"] = grouped.groupby("k")["x"].transform("mean")  # each group's mean over both files' rows
    assert files(capture, grouped[grouped["_data"] == "train"]) == {"train", "test"}
    shuffled = stacked.copy()
    with pytest.warns(Warning, match="inplace"):  # deprecated in pandas 3.1
        shuffled.sort_values("x", inplace=True)  # rows moved: which part a position is in is no longer known
    assert files(capture, shuffled[:6]) == {"train", "test"}


def test_a_mask_from_other_data_brings_its_own(capture: Capture, stacked: pd.DataFrame) -> None:
    keep = pd.Series([True] * 3 + [False] * 7, index=stacked.index)
    capture.read(OTHER, keep)
    assert files(capture, stacked[keep]) == {"train", "other"}


def test_stacking_frames_of_one_file_or_stacked_frames(capture: Capture, stacked: pd.DataFrame) -> None:
    same = pd.concat([stacked[:2], stacked[:3]])  # train rows twice: one part, nothing to tell apart
    assert files(capture, same) == files(capture, same[:2]) == {"train"}
    extra = pd.DataFrame({"x": [1.0, 2.0]})
    capture.read(OTHER, extra)
    again = pd.concat([stacked, extra], ignore_index=True)  # the stacked frame's parts, then the new one
    assert files(capture, again[:6]) == {"train"}
    assert files(capture, again[6:10]) == {"test"}
    assert files(capture, again.iloc[[0, 11]]) == {"train", "other"}
    side = pd.concat([stacked[["x"]], stacked["x"].rename("x_again")], axis=1)
    assert files(capture, side.head(6)) == {"train"}


def test_results_are_pandas_own(capture: Capture, stacked: pd.DataFrame) -> None:
    mask = stacked["_data"] == "train"
    pd.testing.assert_frame_equal(stacked[mask], stacked.iloc[:6])
    pd.testing.assert_frame_equal(stacked.loc[mask, ["x"]], stacked[["x"]].head(6))
    assert stacked.iloc[3]["x"] == stacked["x"].to_numpy()[3]  # one row: a series, no parts


def test_new_row_labels_a_left_join_and_a_row_wise_apply_keep_the_parts(
    capture: Capture, stacked: pd.DataFrame
) -> None:
    # Kaggle's bike-sharing kernel: the hours as the index, per-season sums of the training rows joined back in,
    # flags computed row by row with apply(axis=1), then the training rows taken back by the marker column
    df = stacked.set_index(pd.DatetimeIndex(pd.date_range("2011-01-01", periods=10, freq="h")))
    by_k = df[df["_data"] == "train"].groupby("k")[["x"]].agg("sum")
    by_k.columns = ["x_by_k"]
    df = df.join(by_k, on="k")
    df["peak"] = df[["x", "x_by_k"]].apply(lambda row: int(row["x"] > row["x_by_k"]), axis=1)
    assert files(capture, df[df["_data"] == "train"]) == {"train"}
    assert files(capture, df[df["_data"] == "test"]) == {"train", "test"}  # the training rows' sums joined in
    assert files(capture, df[df.columns[:2]].head(6)) == {"train"}
    centred = df[["x"]].apply(lambda column: column - column.mean())  # each column over all its rows
    assert files(capture, centred[:6]) == {"train", "test"}
    numbered = stacked.reset_index(drop=True)
    years = pd.get_dummies(numbered["k"], drop_first=True)  # the bike kernel's dummies merged back on the index
    merged = numbered.merge(years, left_index=True, right_index=True)
    assert files(capture, merged[merged["_data"] == "train"]) == {"train"}
    inner = df.merge(by_k.reset_index(), on="k")  # an inner merge may drop and reorder rows: no parts
    assert files(capture, inner[:6]) == {"train", "test"}


def test_a_statistic_of_stacked_rows_put_in_rows_brings_the_rows_it_was_computed_on(
    capture: Capture, stacked: pd.DataFrame
) -> None:
    # the titanic habit: fillna with the median of the stacked frame; a number carries no provenance of its own
    filled = stacked.copy()
    filled["x"] = filled["x"].fillna(filled["x"].median())
    assert files(capture, filled[:6]) == {"train", "test"}
    scaled = stacked.copy()
    scaled["x"] = (scaled["x"] - np.mean(scaled["x"])) / scaled["x"].std()
    assert files(capture, scaled.head(6)) == {"train", "test"}
    moded = stacked.copy()
    moded.loc[moded["k"] == "b", "k"] = moded["k"].mode()[0]
    assert files(capture, moded.iloc[:6]) == {"train", "test"}
    ranked = stacked.copy()
    ranked["r"] = ranked["x"].rank()  # each row's rank among all rows
    assert files(capture, ranked[:6]) == {"train", "test"}
    by_training_rows = stacked.copy()
    by_training_rows["x"] = by_training_rows["x"].fillna(by_training_rows[:6]["x"].mean() + 1000.0)
    by_training_rows["x"] = by_training_rows["x"].fillna(stacked[:6]["x"].max())  # of the training rows only
    assert files(capture, by_training_rows[:6]) == {"train"}
    assert files(capture, by_training_rows[6:]) == {"train", "test"}
    constant = stacked.copy()
    constant["x"] = constant["x"].fillna(-1.0)  # a number the code wrote
    assert files(capture, constant[:6]) == {"train"}


def test_a_statistic_of_each_row_is_made_of_that_row_alone(capture: Capture, stacked: pd.DataFrame) -> None:
    """``(all_data == -1).sum(axis=1)`` on stacked training and test rows (a Santander stacking script): one value a
    row, from that row's values only; the test file stays out of the training rows. Down the columns it mixes them."""
    numbers = stacked[["x"]].assign(y=stacked["x"] * 2)
    for name, row_wise in {
        "count of -1": (numbers == -1).sum(axis=1),
        "mean": numbers.mean(axis=1),
        "max": numbers.max(axis="columns"),
        "numpy sum": np.sum(numbers, axis=1),
        "missing": numbers.isnull().sum(axis=1),
        "quantile": numbers.quantile(0.5, 1),
    }.items():
        added = numbers.assign(feature=row_wise)
        assert files(capture, added[:6]) == {"train"}, name
        assert files(capture, added[6:]) == {"test"}, name
    filled = numbers.assign(x=numbers["x"].fillna(numbers["x"].mean(axis=0)))  # a statistic of all rows: both
    assert files(capture, filled[:6]) == {"train", "test"}


def test_encodings_over_all_rows_mix_them_and_elementwise_ones_do_not(capture: Capture, stacked: pd.DataFrame) -> None:
    stacked["x"].median()  # a statistic remembered: arrays put in rows are no statistic's value
    numbered = stacked.copy()
    numbered["n"] = np.arange(10)
    assert files(capture, numbered[:6]) == {"train"}
    coded = stacked.copy()
    coded["k"] = coded["k"].astype("category").cat.codes  # the categories of all rows number each row's
    assert files(capture, coded[:6]) == {"train", "test"}
    factorized = stacked.copy()
    factorized["k"] = pd.factorize(factorized["k"])[0]
    assert files(capture, factorized[:6]) == {"train", "test"}
    logged = stacked.copy()
    logged[["x"]] = np.log1p(logged[["x"]].abs())  # a numpy ufunc: value by value
    floats = logged.dtypes[logged.dtypes == "float64"].index  # column names: no data
    logged[floats] = np.log1p(logged[floats].abs())
    logged["bin"] = pd.cut(logged["x"], [0.0, 0.5, 10.0], labels=False)  # edges the code gives
    logged.loc[logged["k"] == "a", "x"] = 0.0  # a mask of the frame's own rows, a number the code wrote
    assert files(capture, logged[:6]) == {"train"}
    spread = stacked.copy()
    spread["bin"] = pd.cut(spread["x"], 3, labels=False)  # three bins over all rows' range
    assert files(capture, spread[:6]) == {"train", "test"}


def test_rows_kept_by_their_labels_derive_from_their_own_file(capture: Capture, stacked: pd.DataFrame) -> None:
    all_data = stacked.reset_index(drop=True)  # labels 0..9; test rows have no target
    assert files(capture, all_data.dropna(subset=["y"])) == {"train"}
    assert files(capture, all_data.query("_data == 'test'")) == {"test"}
    assert files(capture, all_data.drop(index=range(6, 10))) == {"train"}
    assert files(capture, all_data.drop(columns=["k"])[6:]) == {"test"}  # columns dropped: the parts stay
    assert files(capture, all_data.drop(index=[0, 9])) == {"train", "test"}  # rows of both kept
    for method, kwargs in (("dropna", {"subset": ["y"]}), ("query", {"expr": "_data == 'train'"})):
        frame = all_data.copy()
        with pytest.warns(Warning, match="inplace"):  # deprecated in pandas 3.1
            getattr(frame, method)(inplace=True, **kwargs)
        assert len(frame) == 6 and files(capture, frame) == {"train"}, method


def test_rows_kept_by_labels_that_repeat_keep_both_files(capture: Capture, stacked: pd.DataFrame) -> None:
    assert files(capture, stacked.dropna(subset=["y"])) == {"train", "test"}  # concat's labels 0..5 and 0..3


def test_numpy_views_of_the_rows_derive_from_their_own_file(capture: Capture, stacked: pd.DataFrame) -> None:
    all_data = pd.get_dummies(stacked.drop(columns=["_data", "y"]))  # mixed types: .values is a new array
    assert files(capture, all_data.values[:6]) == files(capture, all_data.to_numpy()[:6]) == {"train"}
    assert files(capture, all_data.values[6:]) == {"test"}
    assert files(capture, all_data.values[4:8]) == {"train", "test"}
    numbers = stacked[["x"]].values  # one type: a view of pandas' own block
    assert files(capture, numbers[:6]) == files(capture, numbers[::2][:3]) == {"train"}
    assert files(capture, numbers[7:, 0]) == {"test"}  # a column of some rows: every column of them
    assert files(capture, np.array(all_data)[6:]) == {"test"}
    assert files(capture, all_data.values.T[:1]) == {"train", "test"}  # a column of every row


def test_a_statistic_of_other_data_put_in_a_frame_brings_that_data(capture: Capture) -> None:
    train = pd.DataFrame({"age": [20.0, None, 40.0, 35.0], "sex": ["m", "f", None, "m"]})
    test = pd.DataFrame({"age": [None, 30.0, 40.0], "sex": [None, "f", "f"]})
    capture.read(TRAIN, train)
    capture.read(TEST, test)
    assert files(capture, test["age"].fillna(train["age"].mean())) == {"train", "test"}
    assert files(capture, (test["age"] - train["age"].mean()) / train["age"].std()) == {"train", "test"}
    median = train["age"].median()
    assert files(capture, test["age"].fillna({1: median}).fillna(median)) == {"train", "test"}
    guess = test["age"].median()  # test's statistic: equal in value to train's, another object
    assert guess == median and files(capture, train["age"].fillna(float(guess))) == {"train"}
    assert files(capture, train["age"].fillna(train["age"].median())) == {"train"}  # its own data
    assert train["age"].max() == 40  # a statistic of train's rows: 40.0
    # numbers the code wrote are no statistic, even of the same value
    assert files(capture, test["age"].fillna(40) * 1) == files(capture, test["age"] + 40.0) == {"test"}
