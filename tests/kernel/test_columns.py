"""Column lineage read from a notebook's code: rules per cell, features followed to the columns they came from."""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd
import pytest
from hooktools import capturing

from nblineage.kernel_ext import columns
from nblineage.kernel_ext.hooks._common import hook_state
from nblineage.kernel_ext.hooks.models import describe_model
from nblineage.kernel_ext.hooks.sklearn import SklearnInstrumentor

CELL = """
df["ratio"] = df["income"] / df.age
df = df.assign(score=lambda d: d.ratio * 2 + d["bonus"], log_income=np.log(df.income))
df.loc[:, "age2"] = df.age ** 2
df["income"] += 1
df.insert(0, "total", df.values.sum(axis=1) + df["bonus"])
df = df.rename(columns={"city": "town"})
df[["p", "q"]] = df[["m", "n"]].fillna(0)
config["path"] = "x"
"""


def rules(source: str) -> dict[str, frozenset[str]]:
    return columns.column_rules(ast.parse(source))


def test_the_rules_a_cell_states() -> None:
    assert rules(CELL) == {
        "ratio": {"income", "age"},
        "score": {"ratio", "bonus"},
        "log_income": {"income"},
        "age2": {"age"},
        "income": {"income"},
        "total": {"bonus"},  # df.values is no column
        "town": {"city"},
        "p": {"m", "n"},
        "q": {"m", "n"},
        "path": frozenset(),
    }


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ("ratio", ["age", "income"]),
        ("score", ["age", "bonus", "income"]),  # through ratio
        ("income", ["income"]),  # x = f(x): its own earlier column
        ("town", ["city"]),
        ("age", []),  # no rule: not derived in the notebook
        ("path", []),
    ],
)
def test_features_are_followed_to_the_columns_they_came_from(feature: str, expected: list[str]) -> None:
    assert columns.sources(feature, rules(CELL)) == expected


def test_a_later_rule_replaces_an_earlier_one_and_cycles_end() -> None:
    session: dict[str, frozenset[str]] = {}
    columns.remember(session, rules('df["x"] = df["a"]'))
    columns.remember(session, rules('df["x"] = df["b"] + df["y"]\ndf["y"] = df["x"]'))
    assert columns.sources("x", session) == ["b"]  # the first rule for x is gone; x <- y <- x adds nothing


def test_a_fit_records_which_columns_its_derived_features_came_from() -> None:
    df = pd.DataFrame({"income": np.arange(1.0, 21.0), "age": np.arange(20, 40), "label": np.tile([0, 1], 10)})
    with capturing([SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LogisticRegression

        capture.column_rules = rules('df["ratio"] = df.income / df["age"]')  # an earlier cell
        capture.cell_source = 'df["half"] = df["ratio"] / 2\nmodel = LogisticRegression().fit(df[["age", "half"]], y)'
        df["ratio"] = df.income / df["age"]
        df["half"] = df["ratio"] / 2
        model = LogisticRegression().fit(df[["age", "half"]], df["label"])
        assert hook_state(capture).training.get(model)["featureLineage"] == {"half": ["age", "income"]}
        assert describe_model(model, capture)["featureLineage"] == {"half": ["age", "income"]}
