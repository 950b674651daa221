"""The governance layer used as a new user would: public third-party notebooks (their steps rewritten as cells, each
source credited below), synthetic data with their datasets' columns, and a policy written by a data steward from
the README (PII columns, owners, readers, an approved models folder, a GX suite that the credit data fails, warn and
block rules). Each notebook runs in one real kernel; the `nblineage` command is then run as a subprocess.

Sources (the cells follow their steps; nothing is downloaded):
- ksando3/Titanic-API, app/train.py (https://github.com/ksando3/Titanic-API): Titanic, get_dummies, random forest,
  joblib; and dvalp/coding-practice, kaggle/titanic/preproccess.py (https://github.com/dvalp/coding-practice): a
  Title feature taken from the passenger's Name.
- ashishpradeep14/Credit-score-prediction, credit_score.py (https://github.com/ashishpradeep14/Credit-score-prediction):
  Kaggle's credit score classification data (Name, SSN, Customer_ID), train and test concatenated, every text column
  label-encoded, the identifiers dropped before the fit, StandardScaler, random forest, joblib.
- pygah/Telcochurnpridiction, utils.py and main.py (https://github.com/pygah/Telcochurnpridiction): Telco churn,
  customerID dropped, MLflow autolog and log_model (the hyperopt search left out).
- DataTalksClub/machine-learning-zoomcamp, 05-deployment/workshop/mlzoomcamp-fastapi-uv/train.py
  (https://github.com/DataTalksClub/machine-learning-zoomcamp): Telco churn, columns lowercased, a DictVectorizer
  pipeline fitted on ``to_dict(orient="records")``, pickled into a file opened in a function (adapted to pandas 3's
  string dtype and to scikit-learn 1.9's liblinear, which refuses the sparse matrix: ``sparse=False``).
- AnnaVinnik/Forecast, credit_scoring_logreg_model.py (https://github.com/AnnaVinnik/Forecast): the headerless
  german.data-numeric file, columns named after the read, logistic regression, joblib.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kernel.kaggle_data import telco_churn, titanic
from kernel.notebooks import run_notebook

from nblineage.governance.policy import PolicyError, loads

POLICY = """\
# yaml-language-server: $schema=https://github.com/nblineage/nblineage/blob/main/nblineage/governance/policy.schema.json
version: 1
groups:
  data-science: [alice, bob]
  risk: [carol]
datasets:
  - namespace: file
    name: "{root}/data/raw/train.csv"
    owner: team:passenger-data
    columns:
      Name: [pii]
    readers: [data-science]
    expectations:
      - suite: suites/titanic_raw.json
  - namespace: file
    name: "{root}/data/raw/credit_*.csv"
    owner: team:credit-risk
    tags: [confidential]
    columns:
      Name: [pii]
      SSN: [pii]
      Customer_ID: [pii]
      Age: [protected]
    readers: [data-science, risk]
    retention_days: 730
    expectations:
      - suite: suites/credit_raw.json
  - namespace: file
    name: "{root}/data/raw/telco_churn.csv"
    owner: team:crm
    columns:
      customerID: [pii]
  - namespace: file
    name: "{root}/data/raw/german.data-numeric"
    owner: team:credit-risk
    columns:
      PersonalStatusSex: [pii]
  - namespace: file
    name: "{root}/models/**"
    owner: team:ml-platform
rules:
  - name: models-stay-in-registry
    kind: locations
    action: block
    tags: [pii, confidential]
    allowed:
      - namespace: file
        name: "{root}/models/**"
      - namespace: "mlflow://*"
        name: "**"
  - name: quality-gate
    kind: quality
    action: warn
  - name: named-readers
    kind: readers
    action: block
  - name: no-pii-features
    kind: pii_features
    action: block
  - name: protected-attributes
    kind: pii_features
    action: warn
    tags: [protected]
"""


def _credit(path: Path, rows: int, seed: int, label: bool) -> None:
    """Kaggle's credit score classification file (a subset of its columns), with its dirty ages (-500)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, rows)
    age[::17] = -500
    frame = pd.DataFrame(
        {
            "ID": [f"0x{1600 + i:x}" for i in range(rows)],
            "Customer_ID": [f"CUS_0x{i:04x}" for i in range(rows)],
            "Month": rng.choice(["January", "February", "March"], rows),
            "Name": rng.choice(["Aaron Maashoh", "Rick Rothackerj", "Langep", "Jasond"], rows),
            "Age": age,
            "SSN": [f"{100 + i % 800}-{10 + i % 89}-{1000 + i}" for i in range(rows)],
            "Occupation": rng.choice(["Scientist", "Teacher", "Engineer"], rows),
            "Annual_Income": rng.uniform(7000, 180000, rows).round(2),
            "Num_of_Loan": rng.integers(0, 9, rows),
            "Num_of_Delayed_Payment": rng.integers(0, 25, rows),
            "Outstanding_Debt": rng.uniform(0, 5000, rows).round(2),
        }
    )
    if label:
        frame["Credit_Score"] = rng.choice(["Good", "Standard", "Poor"], rows)
    frame.to_csv(path, index=False)


def _german(path: Path, rows: int, seed: int) -> None:
    """UCI's german.data-numeric: 24 integer attributes and the class, space separated, no header."""
    rng = np.random.default_rng(seed)
    values, target = rng.integers(1, 5, (rows, 24)), rng.choice([1, 2], rows)
    lines = (" ".join(f"{v:3d}" for v in row) + f" {t:3d}" for row, t in zip(values, target, strict=True))
    path.write_text("\n".join(lines) + "\n")


def _suite(path: Path, expectations: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"name": path.stem, "expectations": expectations}))


def _workspace(root: Path) -> dict[str, str]:
    """The data, the suites and the policy a steward wrote; the kernel's environment."""
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    (root / "models").mkdir()
    (root / "suites").mkdir()
    titanic(raw / "train.csv", 120, 1)
    telco_churn(raw / "telco_churn.csv", 150, 2)
    _credit(raw / "credit_train.csv", 150, 3, label=True)
    _credit(raw / "credit_test.csv", 50, 4, label=False)
    _german(raw / "german.data-numeric", 100, 5)
    in_set = {"column": "Sex", "value_set": ["male", "female"]}
    _suite(root / "suites" / "titanic_raw.json", [{"type": "expect_column_values_to_be_in_set", "kwargs": in_set}])
    ages = {"column": "Age", "min_value": 14, "max_value": 100}
    _suite(root / "suites" / "credit_raw.json", [{"type": "expect_column_values_to_be_between", "kwargs": ages}])
    (root / "nblineage-policy.yaml").write_text(POLICY.format(root=root))
    return {
        "NBLINEAGE_URL": f"sqlite:///{root / 'lineage.db'}",
        "NBLINEAGE_POLICY": str(root / "nblineage-policy.yaml"),
        "JUPYTER_DATA_DIR": str(root / "jupyter"),
        "JUPYTERHUB_USER": "alice",
        "NBLINEAGE_STRICT": "1",
        "GX_ANALYTICS_ENABLED": "False",
    }


def _cli(env: dict[str, str], *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``nblineage ARGV`` as a user runs it, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "nblineage.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **env},
    )


def _shown(notebook: Any, index: int) -> str:
    """What cell ``index`` (0: the load cell) showed: streams, results and errors."""
    parts = []
    for output in notebook.cells[index].outputs:
        parts.append(output.get("text", "") + output.get("evalue", ""))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def _decisions(root: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(root / "lineage.db") as conn:
        rows = conn.execute("SELECT record FROM audit_log ORDER BY idx").fetchall()
    conn.close()
    return [record for record in (json.loads(row) for (row,) in rows) if record["action"] == "policy.decision"]


def _decided(root: Path, rule: str, output: str) -> list[str]:
    return [d["decision"] for d in _decisions(root) if d["rule"] == rule and d["outputs"][0]["name"].endswith(output)]


TITANIC = [
    """\
import joblib
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
from nblineage import PolicyViolation
df = pd.read_csv("data/raw/train.csv")
""",
    """\
train_data, test_data = train_test_split(df)
y = train_data["Survived"]
features = ["Pclass", "Sex", "SibSp", "Parch"]
X = pd.get_dummies(train_data[features])
model = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=1)
model.fit(X, y)
joblib.dump(model, "model.pkl")
""",
    """\
df['Title'] = df['Name'].apply(lambda x: x.split(',')[1].split('.')[0].strip())
df['FamSize'] = df['Parch'] + df['SibSp']
title_dummies = pd.get_dummies(df['Title'])
X2 = pd.concat([df[['Pclass', 'FamSize']], title_dummies], axis=1)
model2 = RandomForestClassifier(n_estimators=10, random_state=1).fit(X2, df['Survived'])
try:
    joblib.dump(model2, "models/title_model.pkl")
except PolicyViolation as e:
    print("BLOCKED:", e)
""",
]


def test_titanic_pii_dropped_or_kept_and_a_tampered_audit_log(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    notebook = run_notebook(tmp_path / "titanic.ipynb", TITANIC, env, timeout=300)

    # Name is not among the features: the model may be saved anywhere (only Name is classified)
    assert (tmp_path / "model.pkl").exists()
    assert _decided(tmp_path, "no-pii-features", "/model.pkl") == ["allow"]
    # a Title taken from Name is a feature: blocked, naming the rule, the dataset and what to do; no file
    blocked = _shown(notebook, 3)
    assert (
        "BLOCKED" in blocked
        and "'no-pii-features'" in blocked
        and "PII columns would be model features: Name" in blocked
    )
    assert f"{tmp_path}/data/raw/train.csv" in blocked and "Drop the PII columns before the fit" in blocked
    assert not (tmp_path / "models" / "title_model.pkl").exists()
    assert _decided(tmp_path, "no-pii-features", "/title_model.pkl") == ["block"]

    verified = _cli(env, "audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0 and "verified" in verified.stdout, verified
    with sqlite3.connect(tmp_path / "lineage.db") as conn:  # hide the block, as someone editing the store would
        conn.execute("DROP TRIGGER audit_log_no_update")
        (index,) = conn.execute('SELECT idx FROM audit_log WHERE record LIKE \'%"decision":"block"%\'').fetchone()
        conn.execute("UPDATE audit_log SET record = replace(record, '\"block\"', '\"allow\"') WHERE idx = ?", (index,))
    conn.close()
    tampered = _cli(env, "audit", "verify", cwd=tmp_path)
    assert tampered.returncode == 1 and f"first bad record: {index}" in tampered.stdout + tampered.stderr, tampered


CREDIT = [
    """\
import warnings
import numpy as np, pandas as pd, joblib
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler, LabelEncoder
from sklearn.ensemble import RandomForestClassifier
from nblineage import PolicyViolation
train_data = pd.read_csv("data/raw/credit_train.csv")
test_data = pd.read_csv("data/raw/credit_test.csv")
train_data['source'] = 'train'
test_data['source'] = 'test'
data = pd.concat([train_data, test_data], ignore_index=True)
""",
    """\
for col in data.select_dtypes(include=['float64', 'int64']).columns:
    data[col] = data[col].fillna(data[col].median())
for col in ['Age', 'Annual_Income', 'Outstanding_Debt']:
    data[col] = pd.to_numeric(data[col], errors='coerce')
    q1 = data[col].quantile(0.25)
    q3 = data[col].quantile(0.75)
    iqr = q3 - q1
    lower_bound = q1 - 1.5 * iqr
    upper_bound = q3 + 1.5 * iqr
    data[col] = np.where(data[col] < lower_bound, lower_bound, data[col])
    data[col] = np.where(data[col] > upper_bound, upper_bound, data[col])
le = LabelEncoder()
for col in data.select_dtypes(include=['object']).columns:
    if col not in ['source', 'Credit_Score']:
        data[col] = le.fit_transform(data[col])
data['Debt_to_Income_Ratio'] = data['Outstanding_Debt'] / (data['Annual_Income'] + 1e-5)
data['Payment_Delay_Ratio'] = data['Num_of_Delayed_Payment'] / (data['Num_of_Loan'] + 1)
train_data = data[data['source'] == 'train'].drop(['source'], axis=1)
X = train_data.drop(['Credit_Score', 'ID', 'Customer_ID', 'Name', 'SSN'], axis=1)
y = LabelEncoder().fit_transform(train_data['Credit_Score'])
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
best_model = RandomForestClassifier(n_estimators=10, random_state=42).fit(X_train, y_train)
""",
    """\
try:
    joblib.dump(best_model, 'credit_score_model.pkl')
except PolicyViolation as e:
    print("BLOCKED:", e)
""",
    """\
joblib.dump(best_model, 'models/credit_score_model.pkl')
joblib.dump(scaler, 'models/scaler.pkl')
warnings.warn("the user's own warning")
""",
    """\
X_fair = train_data.drop(['Credit_Score', 'ID', 'Customer_ID', 'Name', 'SSN', 'Age'], axis=1)
X_fair = StandardScaler().fit_transform(X_fair)
joblib.dump(RandomForestClassifier(n_estimators=10, random_state=42).fit(X_fair, y), 'models/without_age.pkl')
""",
]


def test_credit_score_block_quality_warn_explain_and_impact(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    notebook = run_notebook(tmp_path / "credit.ipynb", CREDIT, env, timeout=300)

    # saved outside the approved folder: blocked (the data is confidential), nothing written
    blocked = _shown(notebook, 3)
    assert "BLOCKED" in blocked and "'models-stay-in-registry'" in blocked and "nothing was written" in blocked
    assert "credit_train.csv" in blocked and "credit_test.csv" in blocked and "Save it under a location" in blocked
    assert not (tmp_path / "credit_score_model.pkl").exists()
    # the suite fails on the dirty ages; the cells ran back to back (the kernel was never quiet), yet the quality
    # rule saw the check at the first save, and warned once for three saves, at the user's line
    shown = _shown(notebook, 3) + _shown(notebook, 4) + _shown(notebook, 5)
    assert shown.count("PolicyWarning") == 2 and shown.count("'quality-gate'") == 1, shown
    assert "joblib.dump(best_model, 'credit_score_model.pkl')" in shown and "kernel_ext" not in shown
    assert _decided(tmp_path, "quality-gate", "/credit_score_model.pkl") == ["warn", "warn"]
    assert _decided(tmp_path, "quality-gate", "/scaler.pkl") == ["warn"]
    # PII columns dropped before the fit (label-encoded first): the PII rule passes; Age, a protected attribute,
    # is a feature: warned once; dropped, it is not (the outlier loop over Age and the incomes keeps them apart)
    assert set(_decided(tmp_path, "no-pii-features", "/credit_score_model.pkl")) == {"allow"}
    assert shown.count("'protected-attributes'") == 1 and "PII columns would be model features: Age" in shown
    assert _decided(tmp_path, "protected-attributes", "/without_age.pkl") == ["allow"]
    # running a suite (importing great-expectations) leaves the notebook's own warnings shown
    assert "the user's own warning" in _shown(notebook, 4)
    assert (tmp_path / "models" / "credit_score_model.pkl").exists()

    explained = _cli(env, "explain", "models/credit_score_model.pkl", cwd=tmp_path)
    assert explained.returncode == 0, explained
    assert "FAILED" in explained.stdout and "expect_column_values_to_be_between on Age" in explained.stdout

    impact = _cli(env, "impact", "data/raw/credit_train.csv", "--json", cwd=tmp_path)
    assert impact.returncode == 0, impact
    answer = json.loads(impact.stdout)
    assert {owner["name"] for owner in answer["owners"]} == {"team:credit-risk"}
    items = {Path(item["name"]).name: item for item in answer["items"]}
    assert set(items) == {"credit_score_model.pkl", "scaler.pkl", "without_age.pkl"}
    for item in items.values():
        assert item["action"] == "retrain" and [o["name"] for o in item["owners"]] == ["team:ml-platform"]
        assert {made["cell"] for made in item["madeBy"]} >= {"c2"}

    typo = tmp_path / "typo.yaml"
    typo.write_text((tmp_path / "nblineage-policy.yaml").read_text().replace("      SSN: [pii]", "      SSN: [PII]"))
    checked = _cli(env, "policy", "check", str(typo), cwd=tmp_path)
    line = next(n for n, text in enumerate(typo.read_text().splitlines(), 1) if "SSN: [PII]" in text)
    assert checked.returncode == 1 and f"{typo}:{line}: 'PII'" in checked.stderr + checked.stdout, checked


TELCO = [
    """\
import os
import mlflow, mlflow.sklearn
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
mlflow.set_tracking_uri("sqlite:///" + os.path.abspath("mlflow.db"))

def load_data():
    return pd.read_csv("data/raw/telco_churn.csv")

def preprocess_data(df):
    df = df.dropna()
    df['TotalCharges'] = pd.to_numeric(df['TotalCharges'], errors='coerce')
    df = df.dropna()
    for col in df.select_dtypes(include='object').columns:
        if col != 'customerID':
            df[col] = LabelEncoder().fit_transform(df[col])
    X = df.drop(['customerID', 'Churn'], axis=1)
    y = df['Churn']
    return train_test_split(X, y, test_size=0.2, random_state=42)

df = load_data()
X_train, X_test, y_train, y_test = preprocess_data(df)
""",
    """\
mlflow.sklearn.autolog()
mlflow.set_experiment("Telco_Churn_Experiment")
with mlflow.start_run(run_name="RF"):
    final_model = RandomForestClassifier(n_estimators=10, max_depth=5)
    final_model.fit(X_train, y_train)
    mlflow.log_metric("accuracy", accuracy_score(y_test, final_model.predict(X_test)))
    info = mlflow.sklearn.log_model(final_model, name="model", serialization_format="cloudpickle")
print(info.model_id)
""",
]


def test_telco_churn_logged_to_mlflow(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    notebook = run_notebook(tmp_path / "telco.ipynb", TELCO, env, timeout=300)
    model_id = _shown(notebook, 2).strip().splitlines()[-1]
    assert model_id.startswith("m-")
    # customerID dropped before the fit: allowed, and MLflow is an approved location
    pii = [d for d in _decisions(tmp_path) if d["rule"] == "no-pii-features"]
    assert pii and {d["decision"] for d in pii} == {"allow"}
    assert all(d["datasets"][0]["name"].endswith("telco_churn.csv") for d in pii)
    # each logged model (autolog's and the explicit one) has its own decision, naming it rather than "models:/"
    named = [d["outputs"][0]["name"] for d in pii]
    assert f"models:/{model_id}" in named and len(set(named)) == 2 and "models:/" not in named, named
    impact = _cli(env, "impact", "data/raw/telco_churn.csv", "--json", cwd=tmp_path)
    assert impact.returncode == 0, impact
    names = {item["name"] for item in json.loads(impact.stdout)["items"]}
    assert f"models:/{model_id}" in names


ZOOMCAMP = [
    """\
import pickle
import pandas as pd
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from nblineage import PolicyViolation

def load_data():
    df = pd.read_csv("data/raw/telco_churn.csv")
    df.columns = df.columns.str.lower().str.replace(' ', '_')
    for c in list(df.select_dtypes(include=['object', 'string']).columns):
        df[c] = df[c].str.lower().str.replace(' ', '_')
    df.totalcharges = pd.to_numeric(df.totalcharges, errors='coerce').fillna(0)
    df.churn = (df.churn == 'yes').astype(int)
    return df

def train_model(df, categorical):
    numerical = ['tenure', 'monthlycharges', 'totalcharges']
    train_dict = df[categorical + numerical].to_dict(orient='records')
    pipeline = make_pipeline(DictVectorizer(sparse=False), LogisticRegression(solver='liblinear'))
    pipeline.fit(train_dict, df.churn)
    return pipeline

def save_model(pipeline, output_file):
    with open(output_file, 'wb') as f_out:
        pickle.dump(pipeline, f_out)

df = load_data()
pipeline = train_model(df, ['gender', 'seniorcitizen', 'partner', 'internetservice', 'contract', 'paymentmethod'])
save_model(pipeline, 'model.bin')
""",
    """\
leaky = train_model(df, ['customerid', 'contract'])
try:
    save_model(leaky, 'models/leaky.bin')
except PolicyViolation as e:
    print("BLOCKED:", e)
""",
]


def test_zoomcamp_dict_vectorizer_pickled_into_an_open_file(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    notebook = run_notebook(tmp_path / "zoomcamp.ipynb", ZOOMCAMP, env, timeout=300)
    # the features are the DictVectorizer's: customerid is not one, so the PII rule passes and the file is saved
    assert (tmp_path / "model.bin").stat().st_size > 0
    assert _decided(tmp_path, "no-pii-features", "/model.bin") == ["allow"]
    # customerid (customerID lowercased) as a feature: blocked, and the empty file open() created is gone
    blocked = _shown(notebook, 2)
    assert "BLOCKED" in blocked and "PII columns would be model features: customerID" in blocked, blocked
    assert f"The empty file {tmp_path}/models/leaky.bin that your open() created was removed." in blocked
    assert not (tmp_path / "models" / "leaky.bin").exists()


GERMAN = [
    textwrap.dedent("""\
    import pandas as pd, joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from nblineage import PolicyViolation
    df = pd.read_csv("data/raw/german.data-numeric", sep=r"\\s+", header=None)
    df.columns = [
        "Status", "Duration", "CreditHistory", "Purpose", "Amount",
        "Savings", "EmploymentDuration", "InstallmentRate", "PersonalStatusSex",
        "OtherDebtors", "ResidenceDuration", "Property", "Age", "OtherInstallmentPlans",
        "Housing", "ExistingCredits", "Job", "PeopleLiable", "Telephone", "ForeignWorker",
        "Unknown1", "Unknown2", "Unknown3", "Unknown4", "Target"]
    X = df.drop("Target", axis=1)
    y = df["Target"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    try:
        joblib.dump(model, "models/logreg_model.pkl")
    except PolicyViolation as e:
        print("BLOCKED:", e)
    """),
    """\
fair = LogisticRegression(max_iter=5000).fit(X_train.drop(columns=["PersonalStatusSex"]), y_train)
joblib.dump(fair, "models/logreg_model.pkl")
""",
]


def test_german_credit_headerless_file(tmp_path: Path) -> None:
    env = _workspace(tmp_path)
    notebook = run_notebook(tmp_path / "german.ipynb", GERMAN, env, timeout=300)
    blocked = _shown(notebook, 1)
    assert "BLOCKED" in blocked and "PII columns would be model features: PersonalStatusSex" in blocked
    assert _decided(tmp_path, "no-pii-features", "/logreg_model.pkl") == ["block", "allow"]
    assert (tmp_path / "models" / "logreg_model.pkl").exists()


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("      SSN: [pii]", "      SSN: [PII]", "'PII' in the tags of column 'SSN': no rule looks for it"),
        ("    tags: [pii, confidential]", "    tags: [pii, confidental]", "did you mean 'confidential'?"),
        ("    readers: [data-science]\n", "    readers: [data-scince]\n", "did you mean 'data-science'?"),
    ],
)
def test_policy_typos_that_would_disable_a_rule(tmp_path: Path, old: str, new: str, said: str) -> None:
    (tmp_path / "suites").mkdir()
    for name in ("titanic_raw", "credit_raw"):
        _suite(tmp_path / "suites" / f"{name}.json", [])
    text = POLICY.format(root=tmp_path)
    assert loads(text, tmp_path / "p.yaml").rules  # the steward's file is valid
    assert old in text
    with pytest.raises(PolicyError) as raised:
        loads(text.replace(old, new), tmp_path / "p.yaml")
    line = next(n for n, line in enumerate(text.replace(old, new).splitlines(), 1) if new.strip() in line)
    assert str(raised.value).startswith(f"{tmp_path / 'p.yaml'}:{line}: ") and said in str(raised.value)
    # free tags no rule looks for, and readers who are users, stay valid
    free = text.replace("    tags: [confidential]\n", "    tags: [confidential, finance]\n")
    assert loads(free.replace("readers: [data-science]\n", "readers: [dave]\n"), tmp_path / "p.yaml").datasets
