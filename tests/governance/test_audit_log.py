"""The audit log on SQLite and PostgreSQL: records appended with events, proofs checked by an independent RFC 9162
verifier, tampering found (edit, delete, swap, truncate and re-grow against a checkpoint), concurrent appenders."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import audit_rfc9162 as rfc
import pytest
from events import run_event
from sqlalchemy import create_engine, text

from nblineage.governance import audit
from nblineage.lineage.events import check
from nblineage.lineage.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The signing key goes to a config dir of the test's own."""
    folder = tmp_path / "jupyter-config"
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(folder))
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY", raising=False)
    return folder


def record(n: int, name: str = "/data/raw.csv", **extra: Any) -> dict[str, Any]:
    return {
        "time": f"2026-12-02T10:00:{n % 60:02d}.000Z",
        "actor": "alice",
        "action": "read",
        "datasets": [{"namespace": "file", "name": name, "version": f"v{n}"}],
        "detail": f"record {n}",
        **extra,
    }


def audited_event(records: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    event = run_event(("jupyter", "/home/alice/train.ipynb#c1"), **kwargs)
    event["run"]["facets"] = {"nblineage_audit": {"_producer": "t", "_schemaURL": "t#audit", "records": records}}
    return event


def exported(store: Store) -> list[dict[str, Any]]:
    lines: list[str] = []

    class Out:
        def write(self, part: str) -> None:
            lines.append(part)

    audit.export(store, Out())  # type: ignore[arg-type]
    return [json.loads(line) for line in "".join(lines).splitlines()]


def tamper(url: str, *statements: str) -> None:
    """Run SQL as someone with write access to the database would, append-only triggers out of the way."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_records_with_events_proofs_and_checkpoints_hold_for_an_independent_verifier(store_url: str) -> None:
    with Store(store_url) as store:
        model = "/home/alice/model.joblib"
        event = audited_event(
            [record(0), record(1, name="/data/other.csv")],
            inputs=[("file", "/data/raw.csv", "v0")],
            outputs=[("file", model, "m1"), ("file", "/home/alice/out.csv", "o1")],
            models={model},
        )
        result = store.append([check(event)])
        assert result.stored == 1
        got = list(audit.records(store))
        assert [index for index, _ in got] == [0, 1, 2]
        assert [r["action"] for _, r in got] == ["read", "read", "model.saved"]
        saved = got[2][1]
        assert saved["outputs"] == [{"namespace": "file", "name": model, "version": "m1"}]
        assert saved["datasets"] == [{"namespace": "file", "name": "/data/raw.csv", "version": "v0"}]
        assert saved["actor"] == "alice"  # from the event's own records
        assert saved["run"] == event["run"]["runId"]
        assert saved["notebook"] == "/home/alice/train.ipynb"

        # the same event again (and in another batch) appends nothing
        assert store.append([check(event), check(event)]).duplicates == 2
        assert len(list(audit.records(store))) == 3
        # a START event with a model output appends no model.saved; an event without audit facets nothing
        start = run_event(("jupyter", "nb#c2"), outputs=[("file", model, "m2")], models={model}, event_type="START")
        store.append([check(start), check(run_event(("jupyter", "nb#c3"), [("file", "/a", "1")]))])
        assert len(list(audit.records(store))) == 3

        assert audit.append(store, [record(n) for n in range(3, 12)]) == list(range(3, 12))
        secret = record(12, name="postgres://report:hunter2@db:5432/sales")
        assert audit.append(store, [secret]) == [12]
        assert "hunter2" not in json.dumps(list(audit.records(store, 12)))
        with pytest.raises(audit.AuditError, match="JSON object"):
            audit.append(store, ["not a record"])  # type: ignore[list-item]
        assert [i for i, _ in audit.records_about(store, "file", "/data/other.csv")] == [1]
        assert [i for i, _ in audit.records_about(store, "file", "/data/raw.csv", "v5")] == [5]
        assert [i for i, _ in audit.records_about(store, "file", model)] == [2]

        vkey = audit.public_key()
        notes = {}
        entries: list[bytes] = []
        for size in (13,):
            notes[size] = audit.checkpoint(store)
        data = [line["data"].encode() for line in exported(store)]
        assert len(data) == 13
        origin, size, root = rfc.open_checkpoint(notes[13], vkey)
        assert origin == audit.origin(store) and size == 13 and root == rfc.mth(data)
        together = audit.inclusion_proofs(store, [12, 0, 5, 5], 13)
        assert list(together) == [0, 5, 12] and together[5] == audit.inclusion_proof(store, 5)
        for index in range(13):
            path = audit.inclusion_proof(store, index)
            assert rfc.verify_inclusion(index, 13, rfc.leaf(data[index]), path, root)
            assert not rfc.verify_inclusion(index, 13, rfc.leaf(data[index] + b" "), path, root)
        # grow to every size up to 21 and prove consistency with every earlier size
        for n in range(13, 21):
            audit.append(store, [record(n)])
        entries = [line["data"].encode() for line in exported(store)]
        for new in range(1, 22):
            for index in range(new):
                path = audit.inclusion_proof(store, index, new)
                assert rfc.verify_inclusion(index, new, rfc.leaf(entries[index]), path, rfc.mth(entries[:new]))
            for old in range(1, new):
                proof = audit.consistency_proof(store, old, new)
                assert rfc.verify_consistency(old, new, rfc.mth(entries[:old]), rfc.mth(entries[:new]), proof)
                assert not rfc.verify_consistency(
                    old, new, rfc.mth(entries[1 : old + 1]), rfc.mth(entries[:new]), proof
                )

        # the prove answer is self-contained: checkpoint, data, path
        proof = audit.prove(store, 7, notes[13])
        origin, size, root = rfc.open_checkpoint(proof["checkpoint"], vkey)
        path = [base64.b64decode(p) for p in proof["inclusionProof"]]
        assert size == proof["treeSize"] == 13
        assert rfc.verify_inclusion(7, size, rfc.leaf(proof["data"].encode()), path, root)
        assert json.loads(proof["data"])["detail"] == "record 7"
        later = audit.prove_consistency(store, notes[13])
        _, new_size, new_root = rfc.open_checkpoint(later["checkpoint"], vkey)
        proof_path = [base64.b64decode(p) for p in later["consistencyProof"]]
        assert new_size == 21 and rfc.verify_consistency(13, 21, root, new_root, proof_path)

        before = exported(store)
        store.rebuild()  # the graph is derived again; the audit log is no part of it
        assert exported(store) == before
        good = audit.verify(store, notes[13])
        assert good.ok and good.size == 21 and good.checkpoint_size == 13 and good.first_bad is None, good
        assert base64.b64decode(good.root) == rfc.mth(entries)
        assert audit.verify(store, checkpoint=notes[13]).checkpoint_size == 13


def test_the_log_refuses_updates_and_deletes(store_url: str) -> None:
    with Store(store_url) as store:
        audit.append(store, [record(0)])
        engine = create_engine(store_url)
        for statement in ("UPDATE audit_log SET record = '{}'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        engine.dispose()
        assert audit.verify(store).ok


@pytest.mark.parametrize(
    "kind", ["edit", "edit-rehashed", "delete", "delete-renumbered", "swap", "swap-rows", "insert", "tail"]
)
def test_tampering_is_found_and_the_first_bad_record_named(store_url: str, kind: str) -> None:
    with Store(store_url) as store:
        audit.append(store, [record(n) for n in range(10)])
        note = audit.checkpoint(store)
        rows = {row["index"]: row for row in exported(store)}
        forged = json.dumps(record(99)).replace("'", "''")
        forged_leaf = rfc.leaf(json.dumps(record(99)).encode()).hex()
        statements, first_bad = {
            "edit": (["UPDATE audit_log SET record = replace(record, 'record 4', 'record X') WHERE idx = 4"], 4),
            "edit-rehashed": (
                [f"UPDATE audit_log SET record = '{forged}', leaf_hash = '{forged_leaf}' WHERE idx = 6"],
                6,
            ),
            "delete": (["DELETE FROM audit_log WHERE idx = 3"], 3),
            "delete-renumbered": (
                [
                    "DELETE FROM audit_log WHERE idx = 2",
                    "UPDATE audit_log SET idx = idx + 100 WHERE idx > 2",
                    "UPDATE audit_log SET idx = idx - 101 WHERE idx > 100",
                    "UPDATE audit_head SET size = 9",
                ],
                2,
            ),
            "swap": (
                [
                    f"UPDATE audit_log SET record = '{rows[5]['data']}', leaf_hash = '{rows[5]['leafHash']}' "
                    "WHERE idx = 2",
                    f"UPDATE audit_log SET record = '{rows[2]['data']}', leaf_hash = '{rows[2]['leafHash']}' "
                    "WHERE idx = 5",
                ],
                2,
            ),
            "swap-rows": (  # whole rows, tree roots too: each record keeps all it was stored with
                [
                    "UPDATE audit_log SET idx = 100 WHERE idx = 3",
                    "UPDATE audit_log SET idx = 3 WHERE idx = 8",
                    "UPDATE audit_log SET idx = 8 WHERE idx = 100",
                ],
                3,
            ),
            "insert": (
                [
                    "UPDATE audit_log SET idx = idx + 100 WHERE idx >= 7",
                    "UPDATE audit_log SET idx = idx - 99 WHERE idx >= 100",
                    f"INSERT INTO audit_log VALUES (7, '{forged}', '{forged_leaf}', '{rows[7]['treeRoot']}')",
                    "UPDATE audit_head SET size = 11",
                ],
                7,
            ),
            "tail": (["DELETE FROM audit_log WHERE idx >= 8"], 8),
        }[kind]
        tamper(store_url, *statements)
        result = audit.verify(store)
        assert not result.ok and result.first_bad == first_bad, result
        against = audit.verify(store, note)
        assert not against.ok and against.first_bad == first_bad, against
        with pytest.raises(audit.AuditError, match="damaged"):
            audit.checkpoint(store)  # a tampered log is never signed


@pytest.mark.parametrize("regrow", [3, 10, 14])
def test_a_truncated_and_regrown_log_fails_against_a_saved_checkpoint(store_url: str, regrow: int) -> None:
    with Store(store_url) as store:
        audit.append(store, [record(n) for n in range(10)])
        note = audit.checkpoint(store)
        tamper(store_url, "DELETE FROM audit_log", "UPDATE audit_head SET size = 0, frontier = ''")
        audit.append(store, [record(n, detail="rewritten") for n in range(regrow)])
        assert audit.verify(store).ok  # consistent in itself: only a checkpoint saved earlier tells
        result = audit.verify(store, note)
        assert not result.ok, result
        expected = "fewer than the 10" if regrow < 10 else "do not hash to the root the checkpoint signed"
        assert any(expected in problem for problem in result.problems), result.problems
        assert (
            audit.verify(store, note.replace("\n10\n", "\n9\n"))
            .problems[0]
            .startswith("the checkpoint cannot be trusted")
        )


def test_a_checkpoint_needs_the_right_key(store_url: str, tmp_path: Path) -> None:
    with Store(store_url) as store:
        audit.append(store, [record(0)])
        note = audit.checkpoint(store)
        other = tmp_path / "other.key"
        from nblineage.governance.note import generate

        other.write_text(generate("someone-else").skey)
        other.chmod(0o600)
        result = audit.verify(store, note, public_key=audit.public_key(other))
        assert not result.ok and "not signed by the key someone-else" in result.problems[0]
        assert audit.verify(store, note, public_key=audit.public_key()).ok


APPENDER = textwrap.dedent(
    """
    import sys, uuid
    from nblineage.governance import audit
    from nblineage.lineage.events import check
    from nblineage.lineage.store import Store
    sys.path.insert(0, sys.argv[3])
    from events import run_event

    url, worker = sys.argv[1], sys.argv[2]
    shared = run_event(("jupyter", "shared#c"), run_id="6f1c7a4e-4b5a-4c47-9d6e-000000000001")
    shared["run"]["facets"] = {"nblineage_audit": {"records": [{"action": "read", "detail": "shared"}]}}
    with Store(url) as store:
        for n in range(15):
            audit.append(store, [{"action": "read", "detail": f"{worker}-direct-{n}"}])
            event = run_event(("jupyter", f"{worker}#c"), run_id=str(uuid.uuid4()))
            records = [{"action": "read", "detail": f"{worker}-event-{n}-{k}"} for k in range(2)]
            event["run"]["facets"] = {"nblineage_audit": {"records": records}}
            store.append([check(event), check(shared)])
    """
)


def test_concurrent_appenders_never_fork_the_log(store_url: str, tmp_path: Path) -> None:
    Store(store_url).close()  # created and migrated once
    script = tmp_path / "appender.py"
    script.write_text(APPENDER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    workers = [
        subprocess.Popen([sys.executable, str(script), store_url, f"w{n}", str(ROOT / "tests")], env=env)
        for n in range(4)
    ]
    try:
        with Store(store_url) as store:  # a verifier while they append sees one state of the log each time
            checks = 0
            while any(worker.poll() is None for worker in workers) or not checks:
                result = audit.verify(store)
                assert result.ok, result
                checks += 1
        assert [worker.wait(timeout=240) for worker in workers] == [0, 0, 0, 0]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    with Store(store_url) as store:
        got = list(audit.records(store))
        assert [index for index, _ in got] == list(range(len(got)))
        details = [r["detail"] for _, r in got]
        assert details.count("shared") == 1  # the event all four stored appended its record once
        assert len(details) == len(set(details)) == 4 * 15 * 3 + 1
        assert audit.verify(store).ok


def test_a_store_from_before_the_audit_log_gets_one_on_open_and_an_empty_log_checkpoints(store_url: str) -> None:
    with Store(store_url) as store:
        store.append([check(run_event(("jupyter", "nb#c1"), [("file", "/a", "1")]))])
        empty = audit.checkpoint(store)
        assert empty.split("\n")[1] == "0" and audit.verify(store, empty).ok
        with store.write() as conn:  # what revision 0003 left
            conn.execute(text("DROP TABLE audit_log"))
            conn.execute(text("DROP TABLE audit_head"))
            conn.execute(text("DROP TABLE declared_versions"))  # (0005)
            conn.execute(text("UPDATE nblineage_schema_version SET version_num = '0003_run_job_key'"))
    with Store(store_url) as store:
        assert store.event_count() == 1 and list(audit.records(store)) == []
        assert audit.append(store, [record(0)]) == [0]
        assert audit.origin(store) != rfc.open_checkpoint(empty, audit.public_key())[0]  # a new log, a new origin
        result = audit.verify(store, empty)
        assert not result.ok and "another log" in result.problems[0]
        with pytest.raises(Exception, match="append-only"), store.write() as conn:
            conn.execute(text("DELETE FROM audit_log"))
