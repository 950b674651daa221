"""Synthetic data with the schemas of public Kaggle data sets (Titanic, House Prices, Telco customer churn), for
notebooks written in the style of public feature-engineering notebooks. Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TITLES = ["Mr", "Mrs", "Miss", "Master", "Dr", "Rev", "Col", "Mlle", "Countess", "Ms", "Mme"]
TITLE_SHARES = [0.5, 0.15, 0.15, 0.05, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02, 0.01]


def titanic(path: Path, rows: int, seed: int, survived: bool = True) -> None:
    """``train.csv`` / ``test.csv`` of Kaggle's Titanic competition (``survived``: with the label)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], rows)
    titles = rng.choice(TITLES, rows, p=TITLE_SHARES)
    surnames = rng.choice(["Braund", "Cumings", "Heikkinen", "Futrelle", "Allen", "Moran"], rows)
    frame = pd.DataFrame(
        {
            "PassengerId": np.arange(1, rows + 1),
            "Pclass": rng.choice([1, 2, 3], rows, p=[0.25, 0.2, 0.55]),
            "Name": [f"{s}, {t}. John" for s, t in zip(surnames, titles, strict=True)],
            "Sex": sex,
            "Age": np.where(rng.random(rows) < 0.2, np.nan, rng.uniform(1, 75, rows).round()),
            "SibSp": rng.choice([0, 0, 0, 1, 2, 4], rows),
            "Parch": rng.choice([0, 0, 0, 1, 2], rows),
            "Ticket": [f"A/{n}" for n in rng.integers(1000, 9999, rows)],
            "Fare": np.where(rng.random(rows) < 0.02, np.nan, rng.gamma(2, 15, rows).round(2)),
            "Cabin": np.where(rng.random(rows) < 0.7, None, rng.choice(["C85", "E46", "B28"], rows)),
            "Embarked": np.where(rng.random(rows) < 0.02, None, rng.choice(["S", "C", "Q"], rows)),
        }
    )
    if survived:
        frame.insert(1, "Survived", ((sex == "female") | (rng.random(rows) < 0.2)).astype(int))
    frame.to_csv(path, index=False)


HOUSE_CATEGORIES = {
    "MSZoning": ["RL", "RM", "FV"],
    "Neighborhood": ["CollgCr", "Veenker", "Crawfor", "NoRidge"],
    "GarageType": ["Attchd", "Detchd", None],
    "GarageFinish": ["RFn", "Unf", None],
    "FireplaceQu": ["Gd", "TA", None],
    "KitchenQual": ["Gd", "TA", "Ex"],
}


def house_prices(path: Path, rows: int, seed: int, price: bool = True) -> None:
    """``train.csv`` / ``test.csv`` of Kaggle's House Prices competition (a subset of its 80 columns)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "Id": np.arange(1, rows + 1),
            "MSSubClass": rng.choice([20, 60, 70], rows),
            "LotFrontage": np.where(rng.random(rows) < 0.2, np.nan, rng.uniform(40, 120, rows).round()),
            "LotArea": rng.integers(5000, 20000, rows),
            "OverallQual": rng.integers(1, 11, rows),
            "YearBuilt": rng.integers(1900, 2008, rows),
            "YrSold": rng.integers(2006, 2011, rows),
            "TotalBsmtSF": rng.integers(0, 2000, rows),
            "1stFlrSF": rng.integers(500, 2000, rows),
            "2ndFlrSF": rng.integers(0, 1500, rows),
            "GrLivArea": rng.integers(700, 4500, rows),
            "FullBath": rng.integers(1, 4, rows),
            "HalfBath": rng.integers(0, 2, rows),
            **{name: rng.choice(np.array(values, dtype=object), rows) for name, values in HOUSE_CATEGORIES.items()},
        }
    )
    if price:
        frame["SalePrice"] = (frame.GrLivArea * 90 + frame.OverallQual * 8000 + rng.normal(0, 9000, rows)).round()
    frame.to_csv(path, index=False)


def telco_churn(path: Path, rows: int, seed: int) -> None:
    """``WA_Fn-UseC_-Telco-Customer-Churn.csv`` (IBM's Telco customer churn sample, a subset of its columns)."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    monthly = rng.uniform(18, 120, rows).round(2)
    total = (monthly * tenure).round(2).astype(str)
    total[tenure == 0] = " "  # as in the real file: blank for new customers
    frame = pd.DataFrame(
        {
            "customerID": [f"{n:04d}-ABCDE" for n in range(rows)],
            "gender": rng.choice(["Male", "Female"], rows),
            "SeniorCitizen": rng.choice([0, 1], rows),
            "Partner": rng.choice(["Yes", "No"], rows),
            "tenure": tenure,
            "InternetService": rng.choice(["DSL", "Fiber optic", "No"], rows),
            "Contract": rng.choice(["Month-to-month", "One year", "Two year"], rows),
            "PaymentMethod": rng.choice(["Electronic check", "Mailed check", "Credit card (automatic)"], rows),
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "Churn": rng.choice(["Yes", "No"], rows, p=[0.27, 0.73]),
        }
    )
    frame.to_csv(path, index=False)


def startups(path: Path, rows: int, seed: int) -> None:
    """``50_Startups.csv`` of a popular machine learning course (R&D, administration and marketing spend, state,
    profit)."""
    rng = np.random.default_rng(seed)
    research = rng.uniform(0, 170000, rows).round(2)
    marketing = rng.uniform(0, 480000, rows).round(2)
    frame = pd.DataFrame(
        {
            "R&D Spend": research,
            "Administration": rng.uniform(50000, 185000, rows).round(2),
            "Marketing Spend": marketing,
            "State": rng.choice(["New York", "California", "Florida"], rows),
            "Profit": (50000 + 0.8 * research + 0.03 * marketing + rng.normal(0, 8000, rows)).round(2),
        }
    )
    frame.to_csv(path, index=False)
