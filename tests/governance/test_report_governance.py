"""The governance sections of reports, filled from the policy, quality and audit modules on real stores: the
policy's owners, classification and findings, a failed quality check, and the audit checkpoint with inclusion
proofs checked by a verifier written here from RFC 9162 (section 2.1.3.2)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from events import run_event
from model_events import M1, RAW, rid, scenario

from nblineage.cli import main
from nblineage.governance import audit
from nblineage.governance.report import NO_POLICY, gather
from nblineage.governance.report_export import export, render
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

ASSERTIONS_URL = (
    "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json"
    "#/$defs/DataQualityAssertionsDatasetFacet"
)


def policy_text(base: Path) -> str:
    return f"""\
version: 1
datasets:
  - namespace: file
    name: "{base}/raw.csv"
    owner: team:crm
    tags: [confidential]
    columns:
      city: [pii]
    readers: [alice]
    retention_days: 30
rules:
  - name: no-pii-features
    kind: pii_features
    action: warn
  - name: quality-gate
    kind: quality
    action: block
"""


def quality_check(base: Path) -> dict:
    """Another producer's great-expectations run on raw.csv@RAW: age has nulls."""
    event = run_event(("etl", "check raw"), [("file", str(base / "raw.csv"), RAW)], run_id=rid(900),
                      time="2026-03-01T09:30:00Z")  # fmt: skip
    event["inputs"][0]["inputFacets"] = {
        "dataQualityAssertions": {
            "_producer": "https://example.com/gx",
            "_schemaURL": ASSERTIONS_URL,
            "assertions": [
                {"assertion": "expect_column_values_to_not_be_null", "success": False, "column": "age"},
                {"assertion": "expect_column_to_exist", "success": True, "column": "city"},
            ],
        }
    }
    return event


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2, written from the RFC."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


@pytest.fixture
def governed(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch):
    """The scenario, a quality check, a policy decision in the audit log, a policy file and a signing key."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.yaml").write_text(policy_text(tmp_path))
    monkeypatch.setenv("NBLINEAGE_POLICY", str(tmp_path / "policy.yaml"))
    raw, model = str(tmp_path / "raw.csv"), str(tmp_path / "model.joblib")
    with Store(store_url) as store:
        store.append([check(event) for event in [*scenario(tmp_path).events, quality_check(tmp_path)]])
        audit.append(
            store,
            [
                {
                    "time": "2026-03-01T10:02:29.000Z",
                    "actor": "alice",
                    "action": "policy.decision",
                    "decision": "warn",
                    "rule": "no-pii-features",
                    "datasets": [{"namespace": "file", "name": raw, "version": RAW}],
                    "outputs": [{"namespace": "file", "name": model, "version": M1}],
                    "detail": "<b>city</b> (pii) reaches the model",
                },
                {"time": "2026-03-01T11:00:00.000Z", "actor": "bob", "action": "read", "datasets": [
                    {"namespace": "file", "name": raw, "version": RAW}]},
            ],
        )  # fmt: skip
        yield store, tmp_path, store_url


def test_quality_section_from_any_producer(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no policy file: the failed check is reported."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("NBLINEAGE_POLICY", raising=False)
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with Store(store_url) as store:
        store.append([check(event) for event in [*scenario(tmp_path).events, quality_check(tmp_path)]])
        content = gather(store, DatasetRef("file", str(tmp_path / "raw.csv"), RAW))
    [entry] = content.quality.datasets
    assert (entry.name, entry.version, content.quality.note) == (str(tmp_path / "raw.csv"), RAW, None)
    assert [result["success"] for result in entry.results] == [False]
    assert "quality results" in next(item for item in content.annex if item.item == "2(d)").recorded
    assert content.policy.note.startswith(NO_POLICY)
    page = render(content, "html").decode()
    assert "FAILED" in page and "expect_column_values_to_not_be_null age" in page


def test_sections_from_policy_quality_and_audit(governed) -> None:
    store, base, _ = governed
    model = DatasetRef("file", str(base / "model.joblib"), M1)
    content = gather(store, model, evidence=True)

    quality = {(entry.name, entry.version): entry.results for entry in content.quality.datasets}
    results = quality[(str(base / "raw.csv"), RAW)]
    assert content.quality.note is None and [r["success"] for r in results] == [False]
    policy = content.policy
    assert policy.note is None and policy.source == str(base / "policy.yaml") and policy.sha256
    raw = next(d for d in policy.datasets if d.name == str(base / "raw.csv"))
    assert (raw.owner, raw.tags, raw.columns, raw.readers, raw.retention_days) == (
        "team:crm", ("confidential",), {"city": ["pii"]}, ("alice",), 30)  # fmt: skip
    findings = {(f.source, f.rule, f.decision) for f in policy.findings}
    assert ("lineage", "classified column as a feature", "seen") in findings  # city_code derives from city (pii)
    assert ("audit log", "no-pii-features", "warn") in findings  # the guard's decision, recorded
    assert ("policy", "no-pii-features", "warn") in findings  # the rule applied to this lineage now
    assert ("policy", "quality-gate", "block") in findings  # raw.csv@RAW failed its latest check
    applied = next(f for f in policy.findings if f.source == "policy" and f.rule == "no-pii-features")
    assert applied.text == "pii_features: PII columns would be model features: city"
    assert any("city_code" in f.text and "pii" in f.text for f in policy.findings)

    checkpoint = content.audit.checkpoint
    assert checkpoint.startswith("nblineage/audit/") and content.audit.size >= 3
    root = base64.b64decode(checkpoint.splitlines()[2])
    actions = [entry.record["action"] for entry in content.audit.records]
    assert "policy.decision" in actions and "model.saved" in actions and "read" not in actions  # about M1 only
    for entry in content.audit.records:
        proof = entry.proof
        assert json.loads(proof["data"]) == entry.record
        leaf = hashlib.sha256(b"\x00" + proof["data"].encode()).digest()
        path = [base64.b64decode(node) for node in proof["inclusionProof"]]
        assert verify_inclusion(leaf, entry.index, content.audit.size, path, root)
        assert not verify_inclusion(leaf, entry.index ^ 1, content.audit.size, path, root)

    statuses = {item.item: item for item in content.annex}
    assert (
        "quality results of" in statuses["2(d)"].recorded and "owners and classification" in statuses["2(d)"].recorded
    )
    assert statuses["2(h)"].status == "partial"

    page = render(content, "html").decode()
    assert "FAILED" in page and "expect_column_values_to_not_be_null" in page and "team:crm" in page
    assert "&lt;b&gt;city&lt;/b&gt; (pii) reaches the model" in page and "<b>city" not in page
    assert checkpoint.splitlines()[2] in page


def test_export_appends_its_audit_record(governed) -> None:
    store, base, _ = governed
    model = DatasetRef("file", str(base / "model.joblib"), M1)
    first = export(store, model, "pdf", base / "model.pdf")
    records = dict(audit.records_about(store, "file", str(base / "model.joblib"), M1))
    record = records[first.audit_index]
    assert record["action"] == "report.exported" and record["actor"]
    assert record["datasets"] == [{"namespace": "file", "name": str(base / "model.joblib"), "version": M1}]
    assert f"sha256:{hashlib.sha256((base / 'model.pdf').read_bytes()).hexdigest()}" in record["detail"]
    second = export(store, model, "json", base / "model.json")
    report = json.loads((base / "model.json").read_text())
    assert first.audit_index in [entry["index"] for entry in report["audit"]["records"]]
    assert second.audit_index == first.audit_index + 1
    assert audit.verify(store).ok


def test_dataset_report_names_its_owner(governed) -> None:
    store, base, _ = governed
    content = gather(store, DatasetRef("file", str(base / "raw.csv"), ""))
    assert content.owners == ("team:crm",)
    page = render(content, "html").decode()
    assert "team:crm" in page and "retention days" in page


def test_a_broken_policy_or_key_is_an_error_not_an_empty_section(
    governed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base, url = governed
    monkeypatch.setenv("NBLINEAGE_URL", url)
    (base / "bad.yaml").write_text("version: 1\ndatasets:\n  - namespace: file\n    nmae: x\n")
    capsys.readouterr()
    assert main(["report", "model.joblib", "--policy", "bad.yaml", "-o", "r.html"]) == 1
    assert "bad.yaml:4" in capsys.readouterr().err and not (base / "r.html").exists()
    assert main(["report", "model.joblib", "--key", str(base / "no-key"), "-o", "r.html"]) == 1
    assert "no-key" in capsys.readouterr().err and not (base / "r.html").exists()


def test_a_damaged_audit_log_is_said_not_signed(governed) -> None:
    """A log edited behind nblineage's back: the report is still made, says the log does not verify, signs and
    proves nothing, and lists the records it has."""
    from sqlalchemy import create_engine, text

    store, base, url = governed
    engine = create_engine(url)  # someone with write access to the database, the append-only triggers dropped
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_log SET record = replace(record, 'alice', 'mallory')"))
    engine.dispose()
    model = DatasetRef("file", str(base / "model.joblib"), M1)
    content = gather(store, model, evidence=True)
    assert content.audit.checkpoint is None and "does not verify" in content.audit.note
    assert content.audit.records and all(entry.proof is None for entry in content.audit.records)
    assert {item.item: item.status for item in content.annex}["2(h)"] == "missing"
    page = render(content, "html").decode()
    assert "does not verify" in page and "policy.decision" in page
