"""XGBoost, LightGBM and CatBoost through their own APIs (``hooks/boosting.py``), with the real libraries: the data
objects they train on, native training (continued from a model file too), predictions, saves and loads."""

from __future__ import annotations

from pathlib import Path

import catboost
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
import xxhash
from hooktools import RAW

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.boosting import CatBoostInstrumentor, LightGBMInstrumentor, XGBoostInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PandasInstrumentor, XGBoostInstrumentor, LightGBMInstrumentor, CatBoostInstrumentor)
VALID = Source("file", "/data/valid.csv", "v1")
FEATURES = ["x1", "x2", "x3"]


def frame(capture: Capture, source: Source, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(120, 3)), columns=FEATURES)
    df["y"] = (df.x1 + rng.normal(scale=0.3, size=120) > 0).astype(int)
    capture.read(source, df)
    return df


def file_source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def saved(capture: Capture, path: Path) -> set[Source]:
    [output] = [out for out in capture.record.outputs if out.source.name == str(path)]
    assert output.model is not None and output.facets["datasetType"] == {"datasetType": "MODEL"}
    return set(output.provenance.sources)


def test_xgboost_native_training_predictions_saves_and_loads(capture: Capture, tmp_path: Path) -> None:
    train, valid = frame(capture, RAW, 0), frame(capture, VALID, 1)
    dtrain = xgb.DMatrix(train[FEATURES], label=train.y)
    dvalid = xgb.DMatrix(valid[FEATURES], label=valid.y)
    assert capture.of(dtrain).sources == {RAW}
    with pytest.warns(FutureWarning):  # the evaluation sets by position, as XGBoost's own demos still pass them
        booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, 5, [(dvalid, "valid")])
    assert capture.of(booster).sources == {RAW, VALID}  # the evaluation data decides where early stopping ends
    facts = capture.hooks.training.get(booster)
    assert facts["featureNames"] == FEATURES and facts["nSamples"] == 120 and facts["fitId"]
    assert facts["hyperParameters"] == {"objective": "binary:logistic", "max_depth": 2}
    assert capture.of(booster.predict(dvalid)).sources == {RAW, VALID}

    path = tmp_path / "model.json"
    booster.save_model(path)
    assert saved(capture, path) == {RAW, VALID}
    loaded = xgb.Booster(model_file=str(path))  # its load_model: a read of the file
    assert capture.of(loaded).sources == {file_source(path)}
    assert file_source(path) in capture.record.inputs

    more = frame(capture, Source("file", "/data/more.csv", "v1"), 2)
    continued = xgb.train({}, xgb.DMatrix(more[FEATURES], label=more.y), 2, xgb_model=str(path))
    assert capture.of(continued).sources == {file_source(path), Source("file", "/data/more.csv", "v1")}

    wrapper = xgb.XGBClassifier()
    wrapper.load_model(path)
    assert capture.of(wrapper).sources == {file_source(path)}


def test_a_dmatrix_of_a_file_the_library_parses_is_a_read(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame({"y": rng.integers(0, 2, 50), "x": rng.normal(size=50)}).to_csv(path, index=False, header=False)
    dtrain = xgb.DMatrix(f"{path}?format=csv&label_column=0")
    assert capture.of(dtrain).sources == {file_source(path)}
    booster = xgb.train({"objective": "binary:logistic"}, dtrain, 2)
    assert capture.of(booster).sources == {file_source(path)}


def test_lightgbm_native_training_continued_from_a_model_file(capture: Capture, tmp_path: Path) -> None:
    train, valid = frame(capture, RAW, 0), frame(capture, VALID, 1)
    data = lgb.Dataset(train[FEATURES], train.y)
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 5}
    booster = lgb.train(params, data, 5, lgb.Dataset(valid[FEATURES], valid.y, reference=data))  # valid_sets: one
    assert capture.of(booster).sources == {RAW, VALID}
    assert capture.hooks.training.get(booster)["featureNames"] == FEATURES
    assert capture.of(booster.predict(valid[FEATURES])).sources == {RAW, VALID}
    path = tmp_path / "model.txt"
    booster.save_model(path)
    assert saved(capture, path) == {RAW, VALID}

    loaded = lgb.Booster(model_file=path)
    assert capture.of(loaded).sources == {file_source(path)}
    more = frame(capture, Source("file", "/data/more.csv", "v1"), 2)
    continued = lgb.train(params, lgb.Dataset(more[FEATURES], more.y), 2, init_model=str(path))
    assert capture.of(continued).sources == {file_source(path), Source("file", "/data/more.csv", "v1")}


@pytest.mark.parametrize("through_pool", [False, True])
def test_catboost_fits_predictions_saves_and_loads(capture: Capture, tmp_path: Path, through_pool: bool) -> None:
    train, test = frame(capture, RAW, 0), frame(capture, VALID, 1)
    model = catboost.CatBoostClassifier(iterations=5, verbose=False, allow_writing_files=False)
    if through_pool:
        pool = catboost.Pool(train[FEATURES], train.y)
        assert capture.of(pool).sources == {RAW}
        model.fit(pool)
    else:
        model.fit(train[FEATURES].values, train.y)  # fit and predict in one cell: the model is tracked at once
    assert capture.of(model).sources == {RAW}
    assert capture.hooks.training.get(model)["fitId"]
    assert capture.of(model.predict(test[FEATURES])).sources == {RAW, VALID}
    path = tmp_path / "model.cbm"
    model.save_model(str(path))
    assert saved(capture, path) == {RAW}
    # its probabilities are a view of an array of CatBoost's: a column of them keeps the model file too
    assert capture.of(model.predict_proba(test[FEATURES])[:, 1]).sources == {RAW, VALID, file_source(path)}

    loaded = catboost.CatBoostClassifier()
    loaded.load_model(str(path))
    assert capture.of(loaded).sources == {file_source(path)}


def test_labels_given_by_position_and_binary_files(capture: Capture, tmp_path: Path) -> None:
    """``Pool(tr_x, tr_y)``, ``lgb.Dataset(va_x, va_y)``: labels from a file of their own (MoA's
    ``train_targets_scored.csv``) by position; ``save_binary`` then a Dataset of the file (the M5 kernels)."""
    features = frame(capture, RAW, 0)[FEATURES]
    labels = pd.Series(np.arange(120) % 2, name="target")
    capture.read(VALID, labels)
    for made in (xgb.DMatrix(features, labels), lgb.Dataset(features, labels), catboost.Pool(features, labels)):
        assert capture.of(made).sources == {RAW, VALID}, type(made)

    for path, data in ((tmp_path / "train.bin", lgb.Dataset(features, labels)), (tmp_path / "dtrain.buffer", None)):
        if data is None:
            xgb.DMatrix(features, labels).save_binary(path)
        else:
            data.save_binary(path)
        [output] = [out for out in capture.record.outputs if out.source.name == str(path)]
        assert output.provenance.sources == {RAW, VALID}
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(str(tmp_path / "train.bin")), 2)
    assert capture.of(booster).sources == {file_source(tmp_path / "train.bin")}


def test_native_training_records_which_columns_its_features_came_from(capture: Capture) -> None:
    """``lgb.train`` and ``xgb.train`` on a column the cell computed: the Booster's features trace to its columns,
    as a scikit-learn wrapper's fit on the same frame does."""
    df = frame(capture, RAW, 0)
    capture.cell_source = 'df["ratio"] = df["x1"] / df["x2"]'
    df["ratio"] = df["x1"] / df["x2"]
    boosters = (
        lgb.train({"verbose": -1}, lgb.Dataset(df[["ratio", "x3"]], df.y), 2),
        xgb.train({}, xgb.DMatrix(df[["ratio", "x3"]], df.y), 2),
    )
    for booster in boosters:
        assert capture.hooks.training.get(booster)["featureLineage"] == {"ratio": ["x1", "x2"]}, type(booster)
