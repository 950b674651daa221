"""Column lineage in real notebooks: feature engineering written the way public Titanic, House Prices and Telco
churn notebooks write it (titles from names, family size, masked updates, binning, imputation by group, encoders,
models fitted on ``.values``), run in real kernels on synthetic data with the real schemas. The model's features
answer must name exactly the source columns each feature came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from kaggle_data import house_prices, startups, telco_churn, titanic
from notebooks import run_notebook

from nblineage.governance import questions
from nblineage.lineage.store import Store

TITANIC_READ = """
import numpy as np
import pandas as pd
train_df = pd.read_csv("train.csv")
test_df = pd.read_csv("test.csv")
combine = [train_df, test_df]
"""
TITANIC_TITLES = """
train_df = train_df.drop(["Ticket", "Cabin"], axis=1)
test_df = test_df.drop(["Ticket", "Cabin"], axis=1)
combine = [train_df, test_df]
for dataset in combine:
    dataset["Title"] = dataset.Name.str.extract(r" ([A-Za-z]+)\\.", expand=False)
pd.crosstab(train_df["Title"], train_df["Sex"])
"""
TITANIC_RARE = """
for dataset in combine:
    dataset["Title"] = dataset["Title"].replace(
        ["Lady", "Countess", "Capt", "Col", "Don", "Dr", "Major", "Rev"], "Rare"
    )
    dataset["Title"] = dataset["Title"].replace("Mlle", "Miss")
    dataset["Title"] = dataset["Title"].replace("Ms", "Miss")
    dataset["Title"] = dataset["Title"].replace("Mme", "Mrs")
title_mapping = {"Mr": 1, "Miss": 2, "Mrs": 3, "Master": 4, "Rare": 5}
for dataset in combine:
    dataset["Title"] = dataset["Title"].map(title_mapping)
    dataset["Title"] = dataset["Title"].fillna(0)
train_df = train_df.drop(["Name", "PassengerId"], axis=1)
test_df = test_df.drop(["Name"], axis=1)
combine = [train_df, test_df]
for dataset in combine:
    dataset["Sex"] = dataset["Sex"].map({"female": 1, "male": 0}).astype(int)
"""
TITANIC_AGE = """
guess_ages = np.zeros((2, 3))
for dataset in combine:
    for i in range(0, 2):
        for j in range(0, 3):
            guess_df = dataset[(dataset["Sex"] == i) & (dataset["Pclass"] == j + 1)]["Age"].dropna()
            age_guess = guess_df.median() if len(guess_df) else 30.0
            guess_ages[i, j] = int(age_guess / 0.5 + 0.5) * 0.5
    for i in range(0, 2):
        for j in range(0, 3):
            dataset.loc[
                (dataset.Age.isnull()) & (dataset.Sex == i) & (dataset.Pclass == j + 1), "Age"
            ] = guess_ages[i, j]
    dataset["Age"] = dataset["Age"].astype(int)
train_df["AgeBand"] = pd.cut(train_df["Age"], 5)
for dataset in combine:
    dataset.loc[dataset["Age"] <= 16, "Age"] = 0
    dataset.loc[(dataset["Age"] > 16) & (dataset["Age"] <= 32), "Age"] = 1
    dataset.loc[(dataset["Age"] > 32) & (dataset["Age"] <= 48), "Age"] = 2
    dataset.loc[dataset["Age"] > 48, "Age"] = 3
train_df = train_df.drop(["AgeBand"], axis=1)
combine = [train_df, test_df]
"""
TITANIC_FAMILY = """
for dataset in combine:
    dataset["FamilySize"] = dataset["SibSp"] + dataset["Parch"] + 1
for dataset in combine:
    dataset["IsAlone"] = 0
    dataset.loc[dataset["FamilySize"] == 1, "IsAlone"] = 1
train_df = train_df.drop(["Parch", "SibSp", "FamilySize"], axis=1)
test_df = test_df.drop(["Parch", "SibSp", "FamilySize"], axis=1)
combine = [train_df, test_df]
for dataset in combine:
    dataset["Age*Class"] = dataset.Age * dataset.Pclass
"""
TITANIC_PORT_FARE = """
freq_port = train_df.Embarked.dropna().mode()[0]
for dataset in combine:
    dataset["Embarked"] = dataset["Embarked"].fillna(freq_port)
    dataset["Embarked"] = dataset["Embarked"].map({"S": 0, "C": 1, "Q": 2}).astype(int)
test_df["Fare"] = test_df["Fare"].fillna(test_df["Fare"].dropna().median())
train_df["Fare"] = train_df["Fare"].fillna(train_df["Fare"].dropna().median())
train_df["FareBand"] = pd.qcut(train_df["Fare"], 4)
for dataset in combine:
    dataset.loc[dataset["Fare"] <= 7.91, "Fare"] = 0
    dataset.loc[(dataset["Fare"] > 7.91) & (dataset["Fare"] <= 14.454), "Fare"] = 1
    dataset.loc[dataset["Fare"] > 14.454, "Fare"] = 2
    dataset["Fare"] = dataset["Fare"].astype(int)
train_df = train_df.drop(["FareBand"], axis=1)
"""
TITANIC_MODEL = """
import joblib
from sklearn.ensemble import RandomForestClassifier
X_train = train_df.drop("Survived", axis=1)
Y_train = train_df["Survived"]
random_forest = RandomForestClassifier(n_estimators=20, random_state=0)
random_forest.fit({X}, Y_train)
joblib.dump(random_forest, "titanic.joblib")
"""
TITANIC_CELLS = [TITANIC_READ, TITANIC_TITLES, TITANIC_RARE, TITANIC_AGE, TITANIC_FAMILY, TITANIC_PORT_FARE]
TITANIC_FEATURES = {
    "Pclass": {"Pclass"},
    "Sex": {"Sex"},
    "Age": {"Age", "Sex", "Pclass"},  # imputed by sex and class (a row mask)
    "Fare": {"Fare"},
    "Embarked": {"Embarked"},
    "Title": {"Name"},  # extracted, then replaced, mapped and filled: still the name
    "IsAlone": {"SibSp", "Parch"},  # 1 where FamilySize == 1, FamilySize = SibSp + Parch + 1
    "Age*Class": {"Age", "Sex", "Pclass"},
}


def env(workdir: Path) -> dict[str, str]:
    return {
        "NBLINEAGE_URL": f"sqlite:///{workdir / 'lineage.db'}",
        "JUPYTER_DATA_DIR": str(workdir / "jupyter"),
        "NBLINEAGE_STRICT": "1",
    }


def features_of(workdir: Path, model_file: str) -> tuple[list[str], dict[str, set[tuple[str, str]]]]:
    """The model's input datasets (file names) and, per feature, the (dataset file name, column) pairs behind it."""
    with Store(f"sqlite:///{workdir / 'lineage.db'}") as store:
        inputs = questions.model_inputs(store, questions.resolve_model(store, str(workdir / model_file)))
    datasets = sorted(Path(d.name).name for d in inputs.datasets)
    return datasets, {f.name: {(Path(c.name).name, c.field) for c in f.columns} for f in inputs.features}


@pytest.mark.parametrize("X", ["X_train", "X_train.values", "X_train.to_numpy()", "np.array(X_train)"])
def test_titanic_features_trace_to_their_source_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, X: str
) -> None:
    monkeypatch.chdir(tmp_path)
    titanic(tmp_path / "train.csv", 300, seed=1)
    titanic(tmp_path / "test.csv", 120, seed=2, survived=False)
    cells = [*TITANIC_CELLS, TITANIC_MODEL.format(X=X)]
    run_notebook(tmp_path / "titanic.ipynb", cells, env(tmp_path))
    datasets, features = features_of(tmp_path, "titanic.joblib")
    assert datasets == ["train.csv"]
    assert features == {name: {("train.csv", c) for c in columns} for name, columns in TITANIC_FEATURES.items()}


HOUSE_CELLS = [
    """
import numpy as np
import pandas as pd
train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
train_ID = train["Id"]
train.drop("Id", axis=1, inplace=True)
test.drop("Id", axis=1, inplace=True)
""",
    """
train = train.drop(train[(train["GrLivArea"] > 4000) & (train["SalePrice"] < 300000)].index)
train["SalePrice"] = np.log1p(train["SalePrice"])
ntrain = train.shape[0]
y_train = train.SalePrice.values
all_data = pd.concat((train, test)).reset_index(drop=True)
all_data.drop(["SalePrice"], axis=1, inplace=True)
""",
    """
all_data["FireplaceQu"] = all_data["FireplaceQu"].fillna("None")
for col in ("GarageType", "GarageFinish"):
    all_data[col] = all_data[col].fillna("None")
all_data["LotFrontage"] = all_data.groupby("Neighborhood")["LotFrontage"].transform(lambda x: x.fillna(x.median()))
all_data["MSSubClass"] = all_data["MSSubClass"].apply(str)
all_data["YrSold"] = all_data["YrSold"].astype(str)
""",
    """
from sklearn.preprocessing import LabelEncoder
cols = ("FireplaceQu", "KitchenQual", "GarageFinish", "MSSubClass", "YrSold")
for c in cols:
    lbl = LabelEncoder()
    lbl.fit(list(all_data[c].values))
    all_data[c] = lbl.transform(list(all_data[c].values))
""",
    """
all_data["TotalSF"] = all_data["TotalBsmtSF"] + all_data["1stFlrSF"] + all_data["2ndFlrSF"]
all_data["HouseAge"] = 2011 - all_data["YearBuilt"]
all_data["Total_Bathrooms"] = all_data["FullBath"] + 0.5 * all_data["HalfBath"]
luxury = (all_data["GrLivArea"] > 3000) & (all_data["OverallQual"] >= 8)
all_data["Luxury"] = 0
all_data.loc[luxury, "Luxury"] = 1
skewed = ["LotArea", "GrLivArea"]
all_data[skewed] = np.log1p(all_data[skewed])
all_data = pd.get_dummies(all_data)
""",
    """
import joblib
from sklearn.linear_model import Lasso
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler
train = all_data[:ntrain]
test = all_data[ntrain:]
lasso = make_pipeline(RobustScaler(), Lasso(alpha=0.0005, random_state=1))
lasso.fit(train.values, y_train)
joblib.dump(lasso, "lasso.joblib")
""",
]
HOUSE_DERIVED = {
    "LotFrontage": {"LotFrontage", "Neighborhood"},  # the median of its neighbourhood where missing
    "TotalSF": {"TotalBsmtSF", "1stFlrSF", "2ndFlrSF"},
    "HouseAge": {"YearBuilt"},
    "Total_Bathrooms": {"FullBath", "HalfBath"},
    "Luxury": {"GrLivArea", "OverallQual"},  # set where a mask (a name bound in the cell) holds
}
HOUSE_ENCODED = ("MSZoning", "Neighborhood", "GarageType")  # pd.get_dummies


def test_house_prices_features_trace_to_their_source_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    house_prices(tmp_path / "train.csv", 300, seed=3)
    house_prices(tmp_path / "test.csv", 100, seed=4, price=False)
    run_notebook(tmp_path / "house.ipynb", HOUSE_CELLS, env(tmp_path))
    datasets, features = features_of(tmp_path, "lasso.joblib")
    assert datasets == ["test.csv", "train.csv"]  # all_data is both
    kept = ["MSSubClass", "LotArea", "OverallQual", "YearBuilt", "YrSold", "TotalBsmtSF", "1stFlrSF", "2ndFlrSF"]
    kept += ["GrLivArea", "FullBath", "HalfBath", "FireplaceQu", "GarageFinish", "KitchenQual"]
    expected = {name: {name} for name in kept} | HOUSE_DERIVED
    for name in features:
        encoded = [column for column in HOUSE_ENCODED if name.startswith(f"{column}_")]
        if encoded:
            expected[name] = set(encoded)
    assert sum(name.startswith("Neighborhood_") for name in features) == 4
    assert features == {name: {(d, c) for d in datasets for c in columns} for name, columns in expected.items()}


CHURN_CELLS = [
    """
import numpy as np
import pandas as pd
df = pd.read_csv("WA_Fn-UseC_-Telco-Customer-Churn.csv")
""",
    """
df["TotalCharges"] = pd.to_numeric(df["TotalCharges"], errors="coerce")
df["TotalCharges"] = df["TotalCharges"].fillna(df["MonthlyCharges"] * df["tenure"])
df["Churn"] = df["Churn"].map({"Yes": 1, "No": 0})
df["gender"] = df["gender"].map({"Male": 1, "Female": 0})
df["Partner"] = np.where(df["Partner"] == "Yes", 1, 0)
""",
    """
df["tenure_group"] = pd.cut(df.tenure, bins=[-1, 12, 24, 48, 80], labels=False)
df["AvgCharges"] = np.where(df["tenure"] > 0, df["TotalCharges"] / df["tenure"].clip(lower=1), df["MonthlyCharges"])
df["HasInternet"] = (df["InternetService"] != "No").astype(int)
df = df.drop("InternetService", axis=1)
df.rename(columns={"tenure": "Tenure"}, inplace=True)
df = pd.get_dummies(df, columns=["Contract", "PaymentMethod"], drop_first=True, dtype=int)
""",
    """
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
X = df.drop(["customerID", "Churn"], axis=1).values
y = df["Churn"].values
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)
X_fit, y_fit = X_train[:300], y_train[:300]
""",
    """
import joblib
from sklearn.linear_model import LogisticRegression
model = LogisticRegression(max_iter=500).fit(X_fit, y_fit)
joblib.dump(model, "churn.joblib")
""",
]
CHURN_FEATURES = {
    "gender": {"gender"},
    "SeniorCitizen": {"SeniorCitizen"},
    "Partner": {"Partner"},
    "Tenure": {"tenure"},  # renamed
    "MonthlyCharges": {"MonthlyCharges"},
    "TotalCharges": {"TotalCharges", "MonthlyCharges", "tenure"},  # filled from the monthly charges and tenure
    "tenure_group": {"tenure"},
    "AvgCharges": {"tenure", "TotalCharges", "MonthlyCharges"},
    "HasInternet": {"InternetService"},
    "Contract_One year": {"Contract"},
    "Contract_Two year": {"Contract"},
    "PaymentMethod_Electronic check": {"PaymentMethod"},
    "PaymentMethod_Mailed check": {"PaymentMethod"},
}


def test_churn_features_of_a_model_fitted_on_arrays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    telco_churn(tmp_path / source, 500, seed=5)
    run_notebook(tmp_path / "churn.ipynb", CHURN_CELLS, env(tmp_path))
    datasets, features = features_of(tmp_path, "churn.joblib")
    assert datasets == [source]
    assert features == {name: {(source, c) for c in columns} for name, columns in CHURN_FEATURES.items()}


LOWERED = """
import joblib
import pandas as pd
from sklearn.tree import DecisionTreeClassifier
df = pd.read_csv("WA_Fn-UseC_-Telco-Customer-Churn.csv")
df.columns = df.columns.str.lower()
df["totalcharges"] = pd.to_numeric(df["totalcharges"], errors="coerce").fillna(0)
df["charges_per_month"] = df["totalcharges"] / (df["tenure"] + 1)
X = df[["seniorcitizen", "monthlycharges", "charges_per_month"]]
y = (df["churn"] == "Yes").astype(int)
joblib.dump(DecisionTreeClassifier(max_depth=3).fit(X, y), "tree.joblib")
"""


def test_columns_renamed_to_lower_case_still_trace_to_their_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    telco_churn(tmp_path / source, 200, seed=6)
    run_notebook(tmp_path / "lowered.ipynb", [LOWERED], env(tmp_path))
    _, features = features_of(tmp_path, "tree.joblib")
    assert features == {
        "seniorcitizen": {(source, "SeniorCitizen")},
        "monthlycharges": {(source, "MonthlyCharges")},
        "charges_per_month": {(source, "TotalCharges"), (source, "tenure")},
    }


STARTUPS_CELLS = [
    """
import numpy as np
import pandas as pd
dataset = pd.read_csv("50_Startups.csv")
X = dataset.iloc[:, :-1].values
y = dataset.iloc[:, -1].values
""",
    """
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder
ct = ColumnTransformer(transformers=[("encoder", OneHotEncoder(), [3])], remainder="passthrough")
X = np.array(ct.fit_transform(X))
""",
    """
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
""",
    """
import pickle
from sklearn.linear_model import LinearRegression
regressor = LinearRegression()
regressor.fit(X_train, y_train)
with open("regressor.pkl", "wb") as file:
    pickle.dump(regressor, file)
""",
]


def test_a_course_notebook_of_iloc_values_and_an_encoded_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    startups(tmp_path / "50_Startups.csv", 50, seed=7)
    run_notebook(tmp_path / "startups.ipynb", STARTUPS_CELLS, env(tmp_path))
    datasets, features = features_of(tmp_path, "regressor.pkl")
    assert datasets == ["50_Startups.csv"]
    source = "50_Startups.csv"
    states = {f"encoder__State_{state}": {(source, "State")} for state in ("California", "Florida", "New York")}
    spends = {f"remainder__{name}": {(source, name)} for name in ("R&D Spend", "Administration", "Marketing Spend")}
    assert features == states | spends
