"""``nblineage audit ...`` as a user and a third party run it: exit codes, the key file, export, prove; the export
checked with nothing but the checkpoint and the public key (by the independent verifier of ``audit_rfc9162``)."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from pathlib import Path

import audit_rfc9162 as rfc
import pytest
from sqlalchemy import create_engine, text

from nblineage.cli import main
from nblineage.governance import audit
from nblineage.lineage.store import Store


@pytest.fixture
def logged(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store (NBLINEAGE_URL) whose audit log holds 7 records, a config dir of the test's own, cwd tmp_path."""
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with Store(store_url) as store:
        audit.append(store, [{"action": "policy.decision", "actor": "bob", "detail": f"d{n}"} for n in range(7)])
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_checkpoint_verify_export_prove_and_a_third_party_check(
    logged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "audit", "checkpoint", "-o", "cp.txt")
    assert status == 0 and "checkpoint of 7 records written to cp.txt" in out
    key = logged / "config" / "nblineage" / "audit.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert run(capsys, "audit", "checkpoint", "-o", "again.txt")[0] == 0
    assert key.read_text().startswith("PRIVATE+KEY+")  # the same key, kept

    status, out, _ = run(capsys, "audit", "verify", "--checkpoint", "cp.txt")
    assert status == 0 and "audit log verified: 7 records" in out and "consistent with the checkpoint of 7" in out

    status, out, err = run(capsys, "audit", "export")
    assert status == 0 and "store:" in err and "store:" not in out
    lines = out.splitlines()
    assert [json.loads(line)["index"] for line in lines] == list(range(7))
    assert run(capsys, "audit", "export", "-o", "log.jsonl")[1].startswith("7 audit records written")
    assert (logged / "log.jsonl").read_text().splitlines() == lines
    status, vkey, err = run(capsys, "audit", "key")
    assert status == 0 and vkey.count("+") >= 2 and "store:" not in vkey
    assert run(capsys, "audit", "key", "-o", "audit.vkey")[0] == 0

    status, note, _ = run(capsys, "audit", "checkpoint")
    assert status == 0 and note.split("\n")[1:3] == (logged / "cp.txt").read_text().split("\n")[1:3]

    # a third party: the export, the checkpoint and the public key, nothing of nblineage
    origin, size, root = rfc.open_checkpoint((logged / "cp.txt").read_text(), (logged / "audit.vkey").read_text())
    data = [json.loads(line)["data"].encode() for line in lines]
    assert origin.startswith("nblineage/audit/") and size == 7 and rfc.mth(data[:size]) == root

    # and nblineage's own check of an export, without the store
    arguments = ("audit", "verify", "--export", "log.jsonl", "--checkpoint", "cp.txt", "--public-key", "audit.vkey")
    assert run(capsys, "--url", "sqlite:////nonexistent/x.db", *arguments)[0] == 0
    edited = (logged / "log.jsonl").read_text().replace('"detail":"d3"', '"detail":"dX"', 1)
    (logged / "edited.jsonl").write_text(edited)
    status, out, _ = run(capsys, *arguments[:3], "edited.jsonl", *arguments[4:])
    assert status == 1 and "first bad record: 3" in out

    status, out, _ = run(capsys, "audit", "prove", "5", "--checkpoint", "cp.txt")
    assert status == 0
    proof = json.loads(out[out.index("{") :])
    _, size, root = rfc.open_checkpoint(proof["checkpoint"], vkey)
    path = [base64.b64decode(node) for node in proof["inclusionProof"]]
    assert rfc.verify_inclusion(5, size, rfc.leaf(proof["data"].encode()), path, root)

    status, out, _ = run(capsys, "audit", "consistency", "cp.txt")
    assert status == 0 and json.loads(out[out.index("{") :])["oldSize"] == 7

    assert run(capsys, "audit", "prove", "7", "--checkpoint", "cp.txt")[0] == 1
    status, _, err = run(capsys, "audit", "verify", "--export", "log.jsonl")
    assert status == 1 and "--checkpoint" in err
    status, _, err = run(capsys, "audit", "verify", "--export", "missing.jsonl", "--checkpoint", "cp.txt")
    assert status == 1 and "cannot read the export missing.jsonl" in err
    status, _, err = run(capsys, "audit", "verify", "--checkpoint", "missing.cp")
    assert status == 1 and "cannot read the checkpoint missing.cp" in err
    (logged / "bad.cp").write_text("not a checkpoint\n")
    status, out, _ = run(capsys, "audit", "verify", "--checkpoint", "bad.cp")
    assert status == 1 and "the checkpoint cannot be trusted" in out


def test_verify_exits_non_zero_naming_the_first_bad_record(
    logged: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "audit", "checkpoint", "-o", "cp.txt")[0] == 0
    engine = create_engine(store_url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_log SET record = replace(record, 'bob', 'eve') WHERE idx = 4"))
    engine.dispose()
    status, out, _ = run(capsys, "audit", "verify")
    assert status == 1 and "first bad record: 4" in out and "record 4 was changed" in out
    status, out, _ = run(capsys, "audit", "verify", "--checkpoint", "cp.txt")
    assert status == 1 and "first bad record: 4" in out
    status, _, err = run(capsys, "audit", "checkpoint", "-o", "new.txt")
    assert status == 1 and "damaged, not signing" in err and not (logged / "new.txt").exists()


def test_the_signing_key_given_by_path_or_variable(
    logged: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBLINEAGE_AUDIT_KEY", str(logged / "missing.key"))
    status, _, err = run(capsys, "audit", "checkpoint")
    assert status == 1 and "no audit signing key" in err
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY")
    from nblineage.governance.note import generate

    mine = logged / "team.key"
    mine.write_text(generate("team-audit").skey)
    mine.chmod(0o644)
    status, _, err = run(capsys, "audit", "checkpoint", "--key", str(mine))
    assert status == 1 and "chmod 600" in err
    mine.chmod(0o600)
    status, note, _ = run(capsys, "audit", "checkpoint", "--key", str(mine))
    assert status == 0 and "\u2014 team-audit " in note
    (logged / "cp.txt").write_text(note)
    monkeypatch.setenv("NBLINEAGE_AUDIT_KEY", str(mine))
    assert run(capsys, "audit", "verify", "--checkpoint", "cp.txt")[0] == 0
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY")
    status, out, _ = run(capsys, "audit", "verify", "--checkpoint", "cp.txt")
    assert status == 1 and "no public key to check" in out
    assert not (logged / "config").exists()  # a verifier never creates a key
    assert run(capsys, "audit", "key")[0] == 0  # creates the default key: another one
    status, out, _ = run(capsys, "audit", "verify", "--checkpoint", "cp.txt")
    assert status == 1 and "not signed by the key nblineage-audit/" in out


def test_the_standalone_check_in_the_docs_accepts_the_export_and_refuses_an_edit(
    logged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/audit.md's script for a third party, run as written on files the commands wrote."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    script = next(block for block in docs.split("```python\n")[1:] if "Ed25519PublicKey" in block).split("```")[0]
    (logged / "check.py").write_text(script)
    for argv in (("checkpoint", "-o", "cp"), ("export", "-o", "audit.jsonl"), ("key", "-o", "audit.vkey")):
        assert run(capsys, "audit", *argv)[0] == 0
    done = subprocess.run([sys.executable, "check.py"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "7 records as signed by nblineage-audit/" in done.stdout, done.stderr
    export = logged / "audit.jsonl"
    edited = export.read_text().replace('\\"detail\\":\\"d2\\"', '\\"detail\\":\\"d9\\"')
    assert edited != export.read_text()
    export.write_text(edited)
    done = subprocess.run([sys.executable, "check.py"], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "not the log the checkpoint signed" in done.stderr
