"""Write a report: gather its content once, render it as HTML, JSON or PDF, write the file (whole or not at all),
then append a ``report.exported`` record to the audit log. One function for the CLI and ``%lineage report``."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nblineage.governance import audit
from nblineage.governance.policy import identity
from nblineage.governance.report import ReportContent, gather
from nblineage.governance.report_progress import Progress
from nblineage.lineage.events import utc_now
from nblineage.lineage.graph import Ref
from nblineage.lineage.limits import DEFAULT_DEPTH
from nblineage.lineage.store import Store

FORMATS = ("html", "json", "pdf")
JSON_FORMAT = "nblineage-report/1"
STAGES = 8  # graph, answers, quality, policy, audit log (gather); rendering, writing, audit record (+ events: JSON)


@dataclass(frozen=True)
class Exported:
    """A report written: where, its format, size and SHA-256, and the audit record's index (None: no audit log)."""

    path: Path
    format: str
    size: int
    sha256: str
    audit_index: int | None
    content: ReportContent


def format_of(path: str | os.PathLike, given: str | None) -> str:
    """The format asked for, else the one the file's suffix names, else HTML."""
    if given:
        if given not in FORMATS:
            raise ValueError(f"unknown report format {given!r}: use one of {', '.join(FORMATS)}")
        return given
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "html"


def render(content: ReportContent, fmt: str) -> bytes:
    """The report's bytes in ``fmt``."""
    if fmt == "html":
        from nblineage.governance.report_html import render_html

        return render_html(content).encode("utf-8")
    if fmt == "pdf":
        from nblineage.governance.report_pdf import render_pdf

        return render_pdf(content)
    if fmt == "json":
        return (json.dumps({"format": JSON_FORMAT, **content.to_json()}, indent=2, ensure_ascii=False) + "\n").encode()
    raise ValueError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")


def export(
    store: Store,
    node: Ref,
    fmt: str,
    path: str | os.PathLike,
    *,
    depth: int = DEFAULT_DEPTH,
    policy_file: str | os.PathLike | None = None,
    key_path: str | os.PathLike | None = None,
    stream: TextIO | None = None,
) -> Exported:
    """Write the report about ``node`` to ``path`` in ``fmt`` (html, json, pdf); a progress bar on ``stream``
    (standard error) when it takes more than a second on a terminal."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    target = Path(path)
    if not target.parent.is_dir():
        raise ValueError(f"cannot write the report: no folder {target.parent}")
    evidence = fmt == "json"
    with Progress(STAGES + evidence, stream) as progress:
        content = gather(
            store, node, depth=depth, evidence=evidence, policy_file=policy_file, key_path=key_path, step=progress.step
        )
        progress.step(f"rendering {fmt}")
        data = render(content, fmt)
        progress.step("writing")
        _write(target, data)
        progress.step("audit record")
        index = record_export(store, content, fmt, str(target.resolve()), hashlib.sha256(data).hexdigest())
    return Exported(target, fmt, len(data), hashlib.sha256(data).hexdigest(), index, content)


def _write(path: Path, data: bytes) -> None:
    """``data`` in ``path``, whole or not at all (a temporary file beside it, renamed)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def record_export(
    store: Store, content: ReportContent, fmt: str, destination: str, digest: str, actor: str | None = None
) -> int | None:
    """Append the ``report.exported`` audit record (``destination``: the file written, or where it was sent; ``actor``:
    who asked, by default this process's user); its leaf index, or None when this store keeps no audit log."""
    record = {
        "time": utc_now(),
        "actor": actor or identity(),
        "action": "report.exported",
        "datasets": [{"namespace": content.namespace, "name": content.name, "version": content.version}],
        "outputs": [],
        "detail": f"{fmt} report {destination} sha256:{digest}",
    }
    return audit.append(store, [record])[0]
