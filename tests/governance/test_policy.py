"""The policy file: the README's example is valid for the loader and the JSON Schema alike, every kind of mistake is
one clear error with its line, and the rules decide as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from nblineage.governance import policy as policy_module
from nblineage.governance.policy import PolicyError, PolicyViolation, find, identity, load, loads

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "nblineage" / "governance" / "policy.schema.json").read_text())


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Policy") :]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)


def write(folder: Path, text: str, name: str = "nblineage-policy.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "customers.json").write_text('{"name": "customers", "expectations": []}')
    return write(tmp_path, readme_example())


def schema_errors(text: str) -> list[str]:
    return [error.message for error in Draft202012Validator(SCHEMA).iter_errors(yaml.safe_load(text))]


def test_the_readme_example_is_valid_for_the_schema_and_the_loader(example: Path) -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert schema_errors(example.read_text()) == []
    policy = load(example)
    assert policy.groups["analysts"] == {"alice", "bob"}
    customers = policy.for_dataset("file", "/data/customers/2024/jan.csv")
    assert customers.owner == "team:customer-data"
    assert customers.tags == {"confidential"}
    assert customers.columns == {"email": {"pii"}, "birth_date": {"pii"}}
    assert customers.readers == {"analysts", "ml-engineers"}
    assert customers.retention_days == 365
    (suite,) = customers.expectations
    assert suite.suite == str(example.parent / "suites" / "customers.json")
    assert (suite.sample_rows, suite.blocking) == (100000, False)
    assert not policy.for_dataset("file", "/data/other.csv")
    assert policy.for_dataset("postgres://db:5432", "sales.public.orders").owner == "team:sales"
    assert not policy.for_dataset("postgres://db:5432", "sales.private.orders")
    assert [rule.kind for rule in policy.rules] == ["locations", "quality", "readers", "pii_features"]
    assert len(policy.sha256) == 64
    assert "valid" in policy.summary()[0]


def test_the_schema_ships_in_the_package() -> None:
    from importlib.resources import files

    shipped = files("nblineage.governance").joinpath("policy.schema.json")
    assert json.loads(shipped.read_text())["title"].startswith("nblineage policy")


# (policy text, the line the loader names, words its message holds); the schema rejects each too
BAD = [
    ("datasets:\n  - name: /a/*\n    ownr: me\n", 3, ["unknown key 'ownr'", "did you mean 'owner'"]),
    ("rules:\n  - name: r\n    kind: readers\n    acton: warn\n", 4, ["unknown key 'acton'", "'action'"]),
    ("datasets:\n  - name: /a/[bc\n", 2, ["bad glob", "never closed"]),
    ("datasets:\n  - name: /a/***\n", 2, ["bad glob", "'***'"]),
    ("datasets:\n  - name: /a/*\n    retention_days: ten\n", 3, ["retention_days must be a whole number", "'ten'"]),
    ("datasets:\n  - name: /a/*\n    tags: {pii: true}\n", 3, ["tags must be a list of names"]),
    (
        "rules:\n  - name: r\n    kind: readers\n    action: deny\n",
        4,
        ["action 'deny' is not one of audit, warn, block"],
    ),
    ("rules:\n  - name: r\n    kind: pii\n    action: warn\n", 3, ["kind 'pii'", "pii_features"]),
    ("rules:\n  - name: r\n    kind: quality\n    action: warn\n    allowed: []\n", 5, ["does not apply to a quality"]),
    ("datasets:\n  - owner: me\n", 2, ["needs 'name'"]),
    ("grups:\n  a: [b]\n", 1, ["unknown key 'grups'", "did you mean 'groups'"]),
    ("version: 2\n", 1, ["version must be 1"]),
    (
        "datasets:\n  - name: /a/*\n    expectations:\n      - suite: s.json\n        blocking: yes please\n",
        5,
        ["true or false"],
    ),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_a_mistake_is_one_error_with_its_line_and_the_schema_agrees(
    tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    (tmp_path / "s.json").write_text("{}")
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as raised:
        load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message, message
    assert isinstance(raised.value, ValueError)
    assert schema_errors(text), f"the schema accepts what the loader refuses: {text!r}"


def test_other_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.yaml:1: cannot read the policy file"):
        load(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match=r":3: not valid YAML"):
        loads("a:\n  - b\n c: [\n", tmp_path / "p.yaml")
    with pytest.raises(PolicyError, match=r":1: the policy file is empty"):
        loads("", tmp_path / "p.yaml")
    with pytest.raises(PolicyError, match=r":2: the key 'groups' appears twice"):
        loads("groups: {}\ngroups: {}\n", tmp_path / "p.yaml")
    with pytest.raises(PolicyError, match=r":4: the expectation suite 'nope.json' is not a file"):
        loads("datasets:\n  - name: x\n    expectations:\n      - suite: nope.json\n", tmp_path / "p.yaml")
    with pytest.raises(PolicyError, match=r":5: a second rule named 'r'"):
        loads("rules:\n  - {name: r, kind: readers, action: warn}\n\n\n  - {name: r, kind: quality, action: warn}\n")


def test_globs() -> None:
    policy = loads(
        "datasets:\n"
        "  - {name: '/d/*.csv', tags: [a]}\n"
        "  - {name: '/d/**', tags: [b]}\n"
        "  - {namespace: 'mlflow://*', name: 'models:/churn/*', tags: [c]}\n"
        "  - {name: '/e/[ab]?.txt', tags: [d]}\n"
    )
    assert policy.for_dataset("file", "/d/x.csv").tags == {"a", "b"}
    assert policy.for_dataset("file", "/d/sub/x.csv").tags == {"b"}
    assert policy.for_dataset("mlflow:///tmp/mlruns", "models:/churn/3").tags == {"c"}
    assert policy.for_dataset("file", "/e/a1.txt").tags == {"d"}
    assert not policy.for_dataset("file", "/e/c1.txt")


RULES = """
groups:
  analysts: [alice]
datasets:
  - name: /data/**
    tags: [confidential]
    columns: {email: [pii], age: [pii]}
    readers: [analysts, dave]
    expectations: []
  - name: /open/**
    columns: {email: [pii]}
rules:
  - {name: stay-inside, kind: locations, action: block, allowed: [{namespace: file, name: /secure/**}]}
  - {name: gate, kind: quality, action: warn}
  - {name: who-reads, kind: readers, action: block}
  - {name: no-pii, kind: pii_features, action: warn, allow_columns: [age]}
"""


def test_rule_decisions() -> None:
    policy = loads(RULES)
    data = ("file", "/data/a.csv", "v1")
    assert [d.decision for d in policy.check_read("alice", data)] == ["allow"]
    assert [d.decision for d in policy.check_read("dave", data)] == ["allow"]
    (refused,) = policy.check_read("eve", data)
    assert refused.decision == "block" and "eve may not read" in refused.detail
    assert "who-reads" in refused.message("eve") and "readers" in refused.message("eve")
    assert policy.check_read("eve", ("file", "/open/a.csv", "v")) == []

    outside = ("file", "/tmp/out.csv", "v2")
    (decision,) = policy.check_write(outside, [data], model=False, columns=["x"])
    assert decision.decision == "block" and decision.rule == "stay-inside"  # confidential reaches it always
    (decision,) = policy.check_write(("file", "/secure/out.csv", "v2"), [data], model=False, columns=["x"])
    assert decision.decision == "allow"
    open_data = ("file", "/open/a.csv", "v1")
    assert policy.check_write(outside, [open_data], model=False, columns=["x"]) == []  # pii column dropped
    (decision,) = policy.check_write(outside, [open_data], model=False, columns=["email"])
    assert decision.decision == "block" and "pii" in decision.detail  # pii column kept

    model = ("file", "/secure/m.pkl", "v3")
    failed = policy.check_write(model, [open_data], model=True, columns=["email", "x"], quality=lambda *_: False)
    assert {(d.rule, d.decision) for d in failed} == {("stay-inside", "allow"), ("gate", "warn"), ("no-pii", "warn")}
    both = policy.check_write(model, [data], model=True, columns=["age"], quality=lambda *_: False)
    assert {(d.rule, d.decision) for d in both} == {("stay-inside", "allow"), ("gate", "warn"), ("no-pii", "allow")}
    unknown = policy.check_write(model, [data], model=True, columns=None, quality=lambda *_: None)
    assert {(d.rule, d.decision) for d in unknown} == {("stay-inside", "allow"), ("no-pii", "warn")}


def test_quality_rule_with_suites(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{}")
    policy = loads(
        "datasets:\n  - {name: /q/**, expectations: [{suite: s.json}]}\n"
        "rules:\n  - {name: gate, kind: quality, action: block}\n",
        tmp_path / "p.yaml",
    )
    src = ("file", "/q/a.csv", "v1")
    (decision,) = policy.check_write(("file", "/m", None), [src], model=True, quality=lambda *_: False)
    assert decision.decision == "block" and decision.datasets == (src,)
    (decision,) = policy.check_write(("file", "/m", None), [src], model=True, quality=lambda *_: True)
    assert decision.decision == "allow"
    assert policy.check_write(("file", "/m", None), [src], model=False, quality=lambda *_: False) == []


def test_find_and_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBLINEAGE_POLICY", raising=False)
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    nested = tmp_path / "project" / "notebooks"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find(str(nested / "a.ipynb")) is None
    assert policy_module.current(str(nested / "a.ipynb")) is None
    user_wide = write(config, "groups: {a: [b]}\n")
    assert find(str(nested / "a.ipynb")) == user_wide
    project = write(tmp_path / "project", "groups: {c: [d]}\n")
    assert find(str(nested / "a.ipynb")) == project
    assert find(None) == project  # from the working folder
    first = policy_module.current(str(nested / "a.ipynb"))
    assert first is policy_module.current(str(nested / "a.ipynb"))  # cached
    project.write_text("groups: {c: [d, e]}\n")
    assert policy_module.current(str(nested / "a.ipynb")).groups["c"] == {"d", "e"}
    named = write(tmp_path, "rules: [\n", "other.yaml")
    monkeypatch.setenv("NBLINEAGE_POLICY", str(named))
    assert find(str(nested / "a.ipynb")) == named
    with pytest.raises(PolicyError, match="not valid YAML"):
        policy_module.current()
    monkeypatch.setenv("NBLINEAGE_POLICY", str(tmp_path / "gone.yaml"))
    with pytest.raises(PolicyError, match="cannot read"):
        policy_module.current()


def test_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    assert identity() == "hubuser"
    monkeypatch.delenv("JUPYTERHUB_USER")
    import getpass

    assert identity() == getpass.getuser()


def test_policy_violation_is_exported_and_not_a_hook_error() -> None:
    import nblineage
    from nblineage.kernel_ext.safety import HookError

    assert nblineage.PolicyViolation is PolicyViolation
    assert issubclass(PolicyViolation, Exception) and not issubclass(PolicyViolation, HookError)


def test_policy_check_command(tmp_path: Path, example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nblineage.cli import main

    assert main(["policy", "check", str(example)]) == 0
    out = capsys.readouterr().out
    assert "valid (sha256" in out and "4 rules" in out and "no-pii-features (pii_features, block)" in out
    bad = write(tmp_path, "datasets:\n  - name: /a/*\n    tagz: [pii]\n", "bad.yaml")
    assert main(["policy", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: unknown key 'tagz'" in err and "did you mean 'tags'" in err
    assert main(["policy", "check", str(tmp_path / "none.yaml")]) == 1
    assert "cannot read the policy file" in capsys.readouterr().err
