"""``quality``, ``policy``, ``audit/verify`` and ``audit/checkpoint`` of ``/nblineage/api/`` on a real Jupyter
server and store (SQLite, PostgreSQL): a dataset with a failed and a passed quality suite, a policy file with a PII
rule and a guard's decision in the audit log; what each route answers is what the command line and the audit report
answer, a damaged log is said so, and domain errors are JSON with their status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from events import run_event
from model_events import JOBS, M1, NOTEBOOK, RAW, rid, scenario
from sqlalchemy import create_engine, text

from nblineage import cli
from nblineage.governance import audit
from nblineage.governance.note import load_verifier
from nblineage.governance.quality import QualityResult, facets_of
from nblineage.governance.report import NO_POLICY, gather
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

pytestmark = pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning")

FAILED = [{"assertion": "expect_column_values_to_not_be_null", "success": False, "column": "age"}]
PASSED = [{"assertion": "expect_column_to_exist", "success": True, "column": "city"}]


def policy_text(raw: str) -> str:
    return f"""\
version: 1
datasets:
  - namespace: file
    name: "{raw}"
    owner: team:crm
    tags: [confidential]
    columns:
      city: [pii]
rules:
  - name: no-pii-features
    kind: pii_features
    action: warn
"""


def quality_run(raw: str) -> dict[str, Any]:
    """Two suites run on raw.csv@RAW by another producer: ``strict`` failed, ``columns`` passed."""
    event = run_event(("etl", "check raw"), [("file", raw, RAW)], run_id=rid(900), time="2026-03-01T09:30:00Z")
    results = [
        QualityResult("strict", False, "2026-03-01T09:30:00Z", FAILED, "https://example.com/gx"),
        QualityResult("columns", True, "2026-03-01T09:30:00Z", PASSED, "https://example.com/gx"),
    ]
    event["inputs"][0]["inputFacets"] = facets_of(results)
    return event


def decision(raw: str, model: str) -> dict[str, Any]:
    """What the kernel's guard records when the PII rule warns at a save of the model."""
    return {
        "time": "2026-03-01T10:02:29.000Z",
        "actor": "alice",
        "action": "policy.decision",
        "decision": "warn",
        "rule": "no-pii-features",
        "datasets": [{"namespace": "file", "name": raw, "version": RAW}],
        "outputs": [{"namespace": "file", "name": model, "version": M1}],
        "detail": "city (pii) reaches the model",
    }


@pytest.fixture
def jp_server_config(store_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    return {"ServerApp": {"jpserver_extensions": {"nblineage": True, "jupyter_server_terminals": False}}}


@pytest.fixture
def governed(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The store of the server: the model scenario, the quality run, the guard's decision and a read; the policy
    file in ``NBLINEAGE_POLICY``; the audit key in a config dir of the test's own."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY", raising=False)
    raw, model = str(tmp_path / "raw.csv"), str(tmp_path / "model.joblib")
    (tmp_path / "policy.yaml").write_text(policy_text(raw))
    monkeypatch.setenv("NBLINEAGE_POLICY", str(tmp_path / "policy.yaml"))
    read = {"time": "2026-03-01T11:00:00.000Z", "actor": "bob", "action": "read", "datasets": [
        {"namespace": "file", "name": raw, "version": RAW}]}  # fmt: skip
    with Store(store_url) as store:
        store.append([check(event) for event in [*scenario(tmp_path).events, quality_run(raw)]])
        recorded, _ = audit.append(store, [decision(raw, model), read])
    return {"raw": raw, "model": model, "url": store_url, "decision": recorded}


def damage(url: str, index: int) -> None:
    """Someone with write access to the database edits record ``index``, the append-only triggers dropped."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        edit = text("UPDATE audit_log SET record = replace(record, 'alice', 'mallory') WHERE idx = :index")
        conn.execute(edit, {"index": index})
    engine.dispose()


async def test_quality_answers_what_the_command_line_answers(
    get: Any, governed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert cli.main(["--url", governed["url"], "quality", governed["raw"], "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    answer = await get("quality", node=governed["raw"])
    assert answer == expected
    assert answer["version"] == RAW
    suites = {result["suite"]: result for result in answer["quality"]}
    assert (suites["strict"]["success"], suites["columns"]["success"]) == (False, True)
    assert suites["strict"]["assertions"][0]["column"] == "age"
    named = await get("quality", node=governed["raw"], namespace="file", version=RAW)
    assert named == expected
    assert (await get("quality", node=governed["model"]))["quality"] == []


async def test_policy_is_the_policy_section_of_the_report(
    get: Any, jp_fetch: Any, governed: dict[str, Any], store_url: str
) -> None:
    answer = await get("policy", node=governed["model"], version=M1)  # the version the guard's decision is about
    assert answer["note"] is None and answer["source"].endswith("policy.yaml") and answer["sha256"]
    raw = next(item for item in answer["datasets"] if item["name"] == governed["raw"])
    assert (raw["owner"], raw["tags"], raw["columns"]) == ("team:crm", ["confidential"], {"city": ["pii"]})
    findings = {(f["source"], f["rule"], f["decision"]) for f in answer["findings"]}
    assert ("audit log", "no-pii-features", "warn") in findings  # the guard's decision, recorded
    assert ("policy", "no-pii-features", "warn") in findings  # the rule applied to this lineage now
    assert ("lineage", "classified column as a feature", "seen") in findings
    recorded = next(f for f in answer["findings"] if f["source"] == "audit log")
    assert (recorded["text"], recorded["time"]) == ("city (pii) reaches the model", "2026-03-01T10:02:29.000Z")

    params = {"node": governed["model"], "version": M1, "format": "json"}
    response = await jp_fetch("nblineage", "api", "report", params=params)
    assert json.loads(response.body)["policy"] == answer  # the report the server exports says the same
    with Store(store_url) as store:
        assert gather(store, DatasetRef("file", governed["model"], M1)).policy.to_json() == answer
    assert await get("policy", node=governed["model"], namespace="file", version=M1, depth="3") == answer
    newest = await get("policy", node=governed["model"])  # M2: the guard decided nothing about it
    assert "audit log" not in {f["source"] for f in newest["findings"]} and newest["datasets"]

    dataset = await get("policy", node=governed["raw"])
    assert [item["name"] for item in dataset["datasets"]] == [governed["raw"]]
    recorded = [(f["source"], f["rule"]) for f in dataset["findings"]]
    assert recorded == [("audit log", "no-pii-features")]  # the guard's decision names raw.csv@RAW too


async def test_policy_without_a_policy_file_says_so(
    get: Any, governed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBLINEAGE_POLICY")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    answer = await get("policy", node=governed["model"], version=M1)
    assert answer["source"] is None and answer["note"].startswith(NO_POLICY) and answer["datasets"] == []
    assert [f["source"] for f in answer["findings"]] == ["audit log"]  # what the guard recorded is still said


async def test_audit_verify_answers_ok_then_the_damage(get: Any, governed: dict[str, Any]) -> None:
    with Store(governed["url"]) as store:
        expected = audit.verify(store)
    answer = await get("audit/verify")
    assert answer == expected.to_json()
    assert answer["ok"] is True and answer["size"] >= 3 and answer["problems"] == []
    damage(governed["url"], governed["decision"])
    damaged = await get("audit/verify")
    assert damaged["ok"] is False and damaged["firstBad"] == governed["decision"]
    assert f"record {governed['decision']} was changed" in damaged["problems"][0]


async def test_audit_checkpoint_verifies_with_its_public_key(get: Any, refused: Any, governed: dict[str, Any]) -> None:
    answer = await get("audit/checkpoint")
    point = audit.parse_checkpoint(answer["checkpoint"], load_verifier(answer["publicKey"]))
    verified = await get("audit/verify")
    assert (answer["size"], answer["root"]) == (point.size, verified["root"]) == (verified["size"], verified["root"])
    assert answer["origin"] == point.origin and point.origin.startswith("nblineage/audit/")
    assert answer["publicKey"] == audit.public_key()
    with Store(governed["url"]) as store:
        assert audit.verify(store, answer["checkpoint"], answer["publicKey"]).ok
    forged = answer["checkpoint"].replace(f"\n{point.size}\n", f"\n{point.size + 1}\n", 1)
    with pytest.raises(ValueError):
        audit.parse_checkpoint(forged, load_verifier(answer["publicKey"]))
    damage(governed["url"], governed["decision"])
    code, body = await refused("audit/checkpoint")
    assert code == body["code"] == 409 and "the audit log is damaged, not signing it" in body["message"]


async def test_errors_are_json(refused: Any, governed: dict[str, Any]) -> None:
    for route in ("quality", "policy"):
        code, body = await refused(route, node="/gone.csv")
        assert code == 404 and "no dataset or job named '/gone.csv'" in body["message"], route
        code, body = await refused(route)
        assert code == 400 and "node" in body["message"], route
        code, body = await refused(route, node=governed["raw"], kind="table")
        assert code == 400 and "kind must be one of" in body["message"], route
    code, body = await refused("policy", node=governed["raw"], version="nope")
    assert code == 404 and "has no version 'nope'" in body["message"]
    code, body = await refused("policy", node=governed["model"], depth="0")
    assert code == 400 and body["code"] == 400
    code, body = await refused("policy", node=governed["model"], depth="two")
    assert code == 400 and "whole number" in body["message"]
    for route in ("quality", "policy"):
        code, body = await refused(route, node=f"{NOTEBOOK}#c-prep", namespace=JOBS)
        assert code == 400 and "job" in body["message"], route
