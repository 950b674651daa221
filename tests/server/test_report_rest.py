"""``/nblineage/api/report`` on a real Jupyter server and store: the report `nblineage report` writes, as a download,
its export in the audit log with the Jupyter user who asked, and bad requests refused as JSON."""

from __future__ import annotations

import json
from typing import Any

from model_events import Scenario

from nblineage.governance import audit
from nblineage.lineage.store import Store


async def test_a_model_report_downloads_as_html_pdf_and_json(jp_fetch: Any, lineage: Scenario, store_url: str) -> None:
    response = await jp_fetch("nblineage", "api", "report", params={"node": lineage.model})
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Disposition"] == 'attachment; filename="model.joblib-report.html"'
    page = response.body.decode()
    assert "<svg" in page and "model.joblib" in page and "Annex IV" in page
    pdf = await jp_fetch("nblineage", "api", "report", params={"node": lineage.model, "format": "pdf"})
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.body.startswith(b"%PDF-")
    as_json = await jp_fetch("nblineage", "api", "report", params={"node": lineage.raw, "format": "json"})
    content = json.loads(as_json.body)
    assert content["kind"] == "dataset" and content["name"] == lineage.raw and content["events"]
    with Store(store_url) as store:
        exported = [record for _, record in audit.records(store) if record["action"] == "report.exported"]
    assert [record["detail"].split(" ")[0] for record in exported] == ["html", "pdf", "json"]
    assert all("downloaded from the Jupyter server" in record["detail"] for record in exported)
    assert all(record["actor"] for record in exported)  # the Jupyter user (a token alone: the server names one)


async def test_a_report_of_a_job_or_in_another_format_is_refused(refused: Any, lineage: Scenario) -> None:
    code, body = await refused("report", node=lineage.model, format="docx")
    assert code == 400 and "format must be one of html, pdf, json" in body["message"]
    code, body = await refused("report", node="/nowhere/at/all.csv")
    assert code == 404 and "/nowhere/at/all.csv" in body["message"]
