"""The guard with the real pandas and joblib hooks in this process: no policy costs nothing and changes nothing, a
fault in the guard fails open (or raises under NBLINEAGE_STRICT), and the quality seam (``kernel_ext.quality``:
``on_read`` after a read, ``latest`` for the quality rule)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from nblineage.governance.policy import PolicyViolation
from nblineage.kernel_ext import guard as guard_module
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.guard import Guard
from nblineage.kernel_ext.hooks.models import JoblibInstrumentor
from nblineage.kernel_ext.hooks.pandas import PandasInstrumentor
from nblineage.kernel_ext.safety import HookError

INSTRUMENTORS = (PandasInstrumentor, JoblibInstrumentor)


def _guarded(capture: Capture, folder: Path, policy: str, monkeypatch: pytest.MonkeyPatch) -> Guard:
    (folder / "p.yaml").write_text(policy)
    monkeypatch.setenv("NBLINEAGE_POLICY", str(folder / "p.yaml"))
    guard = Guard(None)
    guard.refresh(capture)
    assert capture.guard is guard
    return guard


def test_no_policy_no_guard(capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBLINEAGE_POLICY", "")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    Guard(None).refresh(capture)
    assert capture.guard is None
    (tmp_path / "a.csv").write_text("x\n1\n")
    pd.read_csv(tmp_path / "a.csv").to_csv(tmp_path / "b.csv")
    assert (tmp_path / "b.csv").exists() and capture.record.audit == []


LOCATIONS = """
datasets:
  - {name: "**/a.csv", tags: [confidential]}
rules:
  - {name: inside, kind: locations, action: block, allowed: [{name: "**/ok/**"}]}
"""


def test_a_guard_fault_fails_open_or_raises_when_strict(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_error_counts: None
) -> None:
    _guarded(capture, tmp_path, LOCATIONS, monkeypatch)
    (tmp_path / "a.csv").write_text("x\n1\n")
    frame = pd.read_csv(tmp_path / "a.csv")
    with pytest.raises(PolicyViolation, match="inside"):
        frame.to_csv(tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()

    def broken(capture: Capture, obj: object) -> None:
        raise RuntimeError("guard bug")

    monkeypatch.setattr(guard_module, "_provenance", broken)
    monkeypatch.setenv("NBLINEAGE_STRICT", "1")
    with pytest.raises(HookError, match="policy was not enforced"):
        frame.to_csv(tmp_path / "strict.csv")
    monkeypatch.setenv("NBLINEAGE_STRICT", "0")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        frame.to_csv(tmp_path / "open.csv")
    assert (tmp_path / "open.csv").exists()  # failed open: the user's write ran
    assert any("policy was not enforced" in str(w.message) for w in seen)


QUALITY = """
datasets:
  - name: "**/q.csv"
    expectations: [{{suite: {suite}, blocking: true}}]
rules:
  - {{name: gate, kind: quality, action: block}}
"""


def test_a_broken_policy_at_load_is_said_once_and_never_means_no_policy(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nblineage.kernel_ext.safety import CaptureWarning

    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - {name: r, kind: readers, actoin: block}\n")
    monkeypatch.setenv("NBLINEAGE_POLICY", str(path))
    guard = Guard("/work/nb.ipynb")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        guard.refresh(capture)
        guard.refresh(capture)
    said = [str(w.message) for w in seen if issubclass(w.category, CaptureWarning)]
    assert len(said) == 1 and f"{path}:2: unknown key 'actoin'" in said[0]
    assert "no policy is enforced until it is fixed" in said[0] and capture.guard is None
    path.write_text("rules:\n  - {name: r, kind: readers, action: block}\n")
    guard.refresh(capture)
    assert capture.guard is guard
    (changed,) = guard.pending
    assert changed["action"] == "policy.changed" and changed["notebook"] == "/work/nb.ipynb"
    import hashlib

    assert changed["detail"] == hashlib.sha256(path.read_bytes()).hexdigest()
    guard.flush(capture)
    assert capture.record.audit == [changed] and guard.pending == []


def test_a_read_found_at_the_cell_end_is_recorded_not_raised(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hooks may find reads when the cell has ended (rows fetched in a loop): raising then would lose the cell's
    record and stop nothing."""
    from nblineage.kernel_ext.provenance import Source

    guard = _guarded(
        capture,
        tmp_path,
        "datasets:\n  - {name: /s/*, readers: [nobody]}\nrules:\n  - {name: r, kind: readers, action: block}\n",
        monkeypatch,
    )
    with pytest.raises(PolicyViolation, match="'r'"):
        capture.read(Source("file", "/s/a", "v1"), object())
    guard.cell_over = True
    capture.read(Source("file", "/s/b", "v1"), object())
    blocked = [r["datasets"][0]["name"] for r in capture.record.audit if r.get("decision") == "block"]
    assert blocked == ["/s/a", "/s/b"]


def test_a_cell_records_each_distinct_decision_once(capture: Capture, tmp_path: Path, monkeypatch) -> None:
    """A loop reading a classified file a hundred times, and saving within the allowed folder each time, is one read
    record and one decision in the cell's audit; the next cell records them again."""
    _guarded(capture, tmp_path, LOCATIONS, monkeypatch)
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "ok").mkdir()
    for _ in range(100):
        pd.read_csv(tmp_path / "a.csv").to_csv(tmp_path / "ok" / "copy.csv")
    actions = [(record["action"], record.get("decision")) for record in capture.record.audit]
    assert sorted(actions) == [("policy.decision", "allow"), ("read", None)]
    capture.take_record()
    pd.read_csv(tmp_path / "a.csv")
    assert [record["action"] for record in capture.record.audit] == ["read"]
