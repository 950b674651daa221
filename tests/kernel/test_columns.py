"""Column lineage read from a notebook's code: rules per cell, features followed to the columns they came from."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hooktools import capturing

from nblineage.kernel_ext import cellcode, columns, fallback
from nblineage.kernel_ext.hooks.describe import describe_model
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
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
    return cellcode.column_rules(ast.parse(source))


def test_the_rules_a_cell_states() -> None:
    stated = {name: read for name, read in rules(CELL).items() if not name.startswith(cellcode.NOT_COLUMN)}
    assert rules(CELL)[cellcode.VALUE + "df"] == frozenset()  # df = df.assign(...): a frame, no series
    assert stated == {
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
        assert capture.hooks.training.get(model)["featureLineage"] == {"half": ["age", "income"]}
        assert describe_model(model, capture)["featureLineage"] == {"half": ["age", "income"]}


def test_features_of_a_melted_frame_trace_through_the_melt_to_the_columns_melted() -> None:
    wide = pd.DataFrame({"id": ["a", "b", "c"], "d_1": [1, 2, 3], "d_2": [3, 4, 5], "d_3": [5, 6, 7]})
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LinearRegression

        cell = 'long["lag_1"] = long.groupby("id")["sales"].shift(1).fillna(0)'
        capture.cell_source = f'long = wide.melt(id_vars=["id"], value_name="sales")\n{cell}'
        long = wide.melt(id_vars=["id"], value_name="sales")
        long["lag_1"] = long.groupby("id")["sales"].shift(1).fillna(0)
        model = LinearRegression().fit(long[["lag_1", "sales"]], long["sales"])
        assert capture.hooks.training.get(model)["featureLineage"] == {
            "lag_1": ["d_1", "d_2", "d_3", "id"],
            "sales": ["d_1", "d_2", "d_3"],
        }


@pytest.mark.parametrize(
    ("source", "feature", "expected"),
    [
        # a rule reading its own column updates it: Title still comes from Name
        (
            'df["Title"] = df.Name.str.extract("([A-Za-z]+)")\ndf["Title"] = df["Title"].replace("Mlle", "Miss")',
            "Title",
            ["Name"],
        ),
        ('df["T"] = df["Name"].str[0]\ndf["T"] = df["T"].map(titles).fillna(0)', "T", ["Name"]),
        ('df["T"] = df["Name"].str[0]\ndf["T"] = df["Sex"]', "T", ["Sex"]),  # any other rule replaces it
        # a row mask is a source: FamilySize == 1 sets IsAlone, FamilySize = SibSp + Parch + 1
        (
            'df["F"] = df["SibSp"] + df["Parch"] + 1\ndf["IsAlone"] = 0\ndf.loc[df["F"] == 1, "IsAlone"] = 1',
            "IsAlone",
            ["Parch", "SibSp"],
        ),
        ('df.loc[(df.Age.isnull()) & (df.Sex == 1), "Age"] = 30', "Age", ["Age", "Sex"]),
        ('df.at[3, "Age"] = 30', "Age", ["Age"]),
        ('big = df["GrLivArea"] > 4000\ndf["Big"] = 0\ndf.loc[big, "Big"] = 1', "Big", ["GrLivArea"]),
        ('df.loc[:, "B"] = df["A"]', "B", ["A"]),  # every row: a replacement
        ('df["IsAlone"] = np.where(df["FamilySize"] == 1, 1, 0)', "IsAlone", ["FamilySize"]),
        ('df["y"] = df["x"].where(df["c"] > 0).mask(df.d < 0).fillna(df["e"])', "y", ["c", "d", "e", "x"]),
        ('df["Band"] = pd.qcut(df["Fare"], 4)', "Band", ["Fare"]),
        (
            'df["L"] = df.groupby("Neighborhood")["L"].transform(lambda x: x.fillna(x.median()))',
            "L",
            ["L", "Neighborhood"],
        ),
        ('df["Fare"].fillna(df["Pclass"].median(), inplace=True)', "Fare", ["Fare", "Pclass"]),
        ('df["Age"] = df["Age"] * np.pi + math.e', "Age", ["Age"]),  # module attributes are no columns
        ('cols = ["a", "b"]\ndf["s"] = df[cols].sum(axis=1)', "s", ["a", "b"]),
        ('for c in ("a", "b"):\n    df[c] = df[c].fillna(df["z"])', "a", ["a", "z"]),  # column by column
        ('cols = ["a", "b"]\ndf[cols] = df[cols].fillna(0)', "b", ["b"]),
        ('df[["Age", "Fare"]] = imputer.fit_transform(df[["Age", "Fare"]])', "Fare", ["Fare"]),  # column by column
        ('df[["p1", "p2"]] = pca.fit_transform(df[["Age", "Fare"]])', "p1", ["Age", "Fare"]),
        (
            'def person(row):\n    return row["Sex"] if row.Age > 16 else "child"\ndf["P"] = df.apply(person, axis=1)',
            "P",
            ["Age", "Sex"],
        ),
        ('df["P"] = df[["Age", "Sex"]].apply(lambda r: r.Sex if r.Age > 16 else "child", axis=1)', "P", ["Age", "Sex"]),
        ('df = df.rename(columns={"a": "b"})\ndf["c"] = df["b"] * 2', "c", ["a"]),
        ('df = df.assign(r=lambda d: d.a / d["b"])', "r", ["a", "b"]),
        ('title = df.Name.str.extract("([A-Za-z]+)")\ndf["Title"] = title', "Title", ["Name"]),
        ('alone = (df["F"] == 1).astype(int)\nflag = alone * 2\ndf["IsAlone"] = flag', "IsAlone", ["F"]),
        ('df = df[df["Fare"] < 500]\ndf["x"] = df.apply(lambda r: r["a"], axis=1)', "x", ["a"]),  # no Fare: a frame
    ],
)
def test_the_feature_engineering_idioms_of_public_notebooks(source: str, feature: str, expected: list[str]) -> None:
    assert columns.sources(feature, rules(source)) == expected


def test_rules_compose_across_cells_and_functions_defined_earlier() -> None:
    session: dict[str, frozenset[str]] = {}
    cells = [
        'df["Title"] = df.Name.str.extract("([A-Za-z]+)")',
        'def first(row):\n    return row["Cabin"][0]',
        'df["Title"] = df["Title"].replace("Ms", "Miss")\ndf["FamilySize"] = df["SibSp"] + df["Parch"] + 1',
        'df["IsAlone"] = 0',
        'df.loc[df["FamilySize"] == 1, "IsAlone"] = 1\ndf["Deck"] = df.apply(first, axis=1)',
        'df["Title"] = df["Title"].map(mapping)',
        'missing = df.Age.isnull() & (df["Pclass"] == 3)\ncount = len(df)',
        'df.loc[missing, "Age"] = 24',
        'title = df.Name.str.extract("([A-Za-z]+)")\nraw = pd.read_csv("x.csv")\ncut = raw[raw["Fare"] > 0]',
        'df["Title2"] = title.fillna("Mr")\ndf["Fare2"] = raw.apply(lambda r: r.x, axis=1)',
        'factor = df["Parch"] * 2',
        "factor = 3",
        'df["Fare3"] = df["Fare"] * factor',  # factor is no longer the series
    ]
    for cell in cells:
        columns.remember(session, rules(cell))
        columns.remember(session, rules(cell))  # a cell run twice says nothing new
    assert columns.sources("Title", session) == ["Name"]
    assert columns.sources("IsAlone", session) == ["Parch", "SibSp"]
    assert columns.sources("Deck", session) == ["Cabin"]
    assert columns.sources("mapping", session) == []
    assert columns.sources("Age", session) == ["Age", "Pclass"]  # the mask an earlier cell bound
    assert session[cellcode.VALUE + "count"] == frozenset()  # no mask, no series
    assert columns.sources("Title2", session) == ["Name"]  # a series an earlier cell computed
    assert columns.sources("Fare2", session) == ["x"]  # raw is a frame: nothing of it
    assert columns.sources("Fare3", session) == ["Fare"]
    assert not any(name.startswith(cellcode.NOT_COLUMN) for name in columns.sources("Deck", session))


def passengers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "Pclass": rng.choice([1, 2, 3], 40),
            "Sex": rng.choice(["male", "female"], 40),
            "Fare": rng.gamma(2, 10, 40),
            "Survived": np.tile([0, 1], 20),
        }
    )


@pytest.mark.parametrize(
    "convert",
    [
        lambda df: df[["Pclass", "Fare"]].values,
        lambda df: df[["Pclass", "Fare"]].to_numpy(),
        lambda df: df.drop(["Sex", "Survived"], axis=1).values,
        lambda df: np.array(df[["Pclass", "Fare"]]),
        lambda df: np.asarray(df[["Pclass", "Fare"]], dtype=np.float32),
    ],
)
def test_a_model_fitted_on_an_array_of_a_frame_has_its_columns(convert: Any) -> None:
    df = passengers()
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        X = convert(df)
        X_train, X_test, y_train, _ = train_test_split(X, df["Survived"].values, random_state=0)
        assert columns.array_columns(capture, X_test) == ["Pclass", "Fare"]
        assert columns.array_columns(capture, y_train) == ["Survived"]  # a series' values
        model = LogisticRegression().fit(X_train, y_train)
        assert capture.hooks.training.get(model)["featureNames"] == ["Pclass", "Fare"]
        assert describe_model(model, capture)["featureNames"] == ["Pclass", "Fare"]


def test_transformer_outputs_on_arrays_are_named_and_traced() -> None:
    df = passengers()
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        scaled = StandardScaler().fit_transform(df[["Pclass", "Fare"]])  # fitted on a frame, returns an array
        assert columns.array_columns(capture, scaled) == ["Pclass", "Fare"]
        encoder = OneHotEncoder(sparse_output=False).fit(df[["Sex"]].values)  # fitted on an array
        encoded = encoder.transform(df[["Sex"]].values)
        assert columns.array_columns(capture, encoded) == ["Sex_female", "Sex_male"]
        assert capture.column_rules["Sex_male"] == {"Sex"}
        model = LogisticRegression().fit(encoded, df["Survived"])
        assert capture.hooks.training.get(model)["featureLineage"] == {"Sex_female": ["Sex"], "Sex_male": ["Sex"]}


def test_arrays_bound_from_a_named_array_keep_its_columns_only_when_as_wide() -> None:
    df = passengers()
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LogisticRegression

        X = df[["Pclass", "Fare"]].values
        rows = np.arange(30)
        user_ns = {"X": X, "X_fit": X[rows], "X_log": np.log1p(X), "X_one": X[:, :1], "rows": rows}
        source = "X_fit = X[rows]\nX_log = np.log1p(X)\nX_one = X[:, :1]"
        capture.user_ns, capture.cell_source = user_ns, source
        model = LogisticRegression().fit(user_ns["X_fit"], df["Survived"][:30])  # in the cell that made X_fit
        assert capture.hooks.training.get(model)["featureNames"] == ["Pclass", "Fare"]
        fallback.apply(capture, source, user_ns)  # the cell ends
        assert columns.array_columns(capture, user_ns["X_log"]) == ["Pclass", "Fare"]
        assert columns.array_columns(capture, user_ns["X_one"]) == ["Pclass"]  # its first column
        unnamed = np.ones((4, 2))
        assert columns.fitted_columns(capture, unnamed) == []


def test_a_view_of_a_named_array_made_in_a_function_keeps_its_columns() -> None:
    df = passengers()
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LogisticRegression

        X = df[["Pclass", "Fare"]].to_numpy(copy=True)

        def fit_first_rows(rows: int) -> LogisticRegression:
            return LogisticRegression().fit(X[:rows], df["Survived"][:rows])

        model = fit_first_rows(30)
        assert capture.hooks.training.get(model)["featureNames"] == ["Pclass", "Fare"]
        copied = LogisticRegression().fit(X[np.arange(29, -1, -1)], df["Survived"][:30])  # rows reordered, unseen
        assert "featureNames" not in capture.hooks.training.get(copied)


def test_a_column_reshaped_into_a_matrix_is_named_by_its_series() -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame(rng.random((50, 3)), columns=["YearsExperience", "Age", "Salary"])  # one block of floats
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LinearRegression

        X = df["YearsExperience"].values.reshape(-1, 1)
        y = df["Salary"].values  # another view of the same block, made later
        ages = df[["Age"]].values[:, :1]
        model = LinearRegression().fit(X, y)
        assert capture.hooks.training.get(model)["featureNames"] == ["YearsExperience"]
        model = LinearRegression().fit(ages[:40], y[:40])
        assert capture.hooks.training.get(model)["featureNames"] == ["Age"]


class Lazy:
    """A user's object whose ``shape`` cannot be known without work that fails."""

    @property
    def shape(self) -> tuple[int, int]:
        raise RuntimeError("not loaded")


def test_objects_whose_attributes_raise_are_no_arrays() -> None:
    with capturing([PandasInstrumentor]) as capture:
        X = passengers()[["Pclass", "Fare"]].values
        user_ns = {"X": X, "lazy": Lazy()}
        fallback.apply(capture, "lazy = X", user_ns)  # the cell ends, no error
        assert columns.fitted_columns(capture, user_ns["lazy"]) == []


def test_the_best_estimator_of_a_search_has_the_features_of_the_search() -> None:
    df = passengers()
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV

        capture.column_rules = rules('df["Fare2"] = df["Fare"] * df.Pclass')
        df["Fare2"] = df["Fare"] * df.Pclass
        search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(df[["Fare2"]].values, df["Survived"])
        described = describe_model(search.best_estimator_, capture)
        assert described["featureNames"] == ["Fare2"]
        assert described["featureLineage"] == {"Fare2": ["Fare", "Pclass"]}


@pytest.mark.parametrize("order", ["C", "F"])
def test_columns_cut_from_a_named_array_keep_their_names(order: str) -> None:
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.linear_model import LinearRegression
        from sklearn.model_selection import train_test_split

        data = passengers().drop(columns="Sex")  # Pclass, Fare, Survived
        train = pd.DataFrame(np.asarray(data, dtype=float, order=order), columns=data.columns)
        X_train, y_train = train.values[:, :-1], train.values[:, -1]  # the last column is the target
        model = LinearRegression().fit(X_train, y_train)
        assert capture.hooks.training.get(model)["featureNames"] == ["Pclass", "Fare"]
        model = LinearRegression().fit(train.values[10:, 1:2], y_train[10:])
        assert capture.hooks.training.get(model)["featureNames"] == ["Fare"]
        model = LinearRegression().fit(train.values[:, 1].reshape(-1, 1), y_train)
        assert capture.hooks.training.get(model)["featureNames"] == ["Fare"]
        parts = train_test_split(train.values[:, :-1], y_train, random_state=0)
        assert columns.array_columns(capture, parts[1]) == ["Pclass", "Fare"]
        model = LinearRegression().fit(train.values[:, ::-1], y_train)  # reversed: not said
        assert "featureNames" not in capture.hooks.training.get(model)


def test_copies_of_named_arrays_and_passed_through_columns_keep_their_names() -> None:
    df = passengers()
    with capturing([PandasInstrumentor, SklearnInstrumentor]) as capture:
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder

        encoder = ColumnTransformer([("encoder", OneHotEncoder(), ["Sex"])], remainder="passthrough")
        encoded = np.array(encoder.fit_transform(df[["Pclass", "Sex", "Fare"]]))  # a copy of the named output
        names = ["encoder__Sex_female", "encoder__Sex_male", "remainder__Pclass", "remainder__Fare"]
        assert columns.fitted_columns(capture, encoded) == names
        assert capture.column_rules["remainder__Fare"] == {"Fare"}  # passed through: itself only
        other = encoded.copy()
        other[len(other) // 2, 0] += 1  # changed where a copy is compared
        assert columns.fitted_columns(capture, other) == []
