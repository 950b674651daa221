"""Reports (``nblineage report``): one content, rendered as HTML, JSON and PDF, on real SQLite and PostgreSQL
stores holding tests/model_events.py's scenario; hostile names inert; the PDF's first page looked at as pixels."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from model_events import FEAT, M1, NOTEBOOK, R2, RAW, S1, cell, dataset_event, entry, rf_model, scenario, schema

from nblineage.cli import main
from nblineage.governance.neighbourhood import neighbourhood
from nblineage.governance.questions import explain
from nblineage.governance.report import NO_POLICY, NO_QUALITY, gather
from nblineage.governance.report_doc import document
from nblineage.governance.report_export import export, render
from nblineage.governance.report_progress import Progress
from nblineage.lineage.events import check
from nblineage.lineage.graph import DatasetRef
from nblineage.lineage.store import Store

HOSTILE = "<script>alert(1)</script>\"onerror=alert(2) x='<img src=x onerror=alert(3)>\x1b[31m"
MODEL_SECTIONS = [
    "Lineage graph",
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Resources",
    "Ethical considerations",
    "Caveats and recommendations",
    "Data quality",
    "Policy",
    "EU AI Act Annex IV, point 2",
    "Audit",
]
DATASHEET_SECTIONS = [
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing, cleaning, labelling",
    "Uses",
    "Distribution",
    "Maintenance",
]


class Page(HTMLParser):
    """An HTML page parsed: its tags with their attributes, the text of each heading level, all text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": []}
        self.text: list[str] = []
        self._open: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in self.headings:
            self._open = tag
            self.headings[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open:
            self.headings[self._open][-1] += data


@pytest.fixture(autouse=True)
def own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No policy file and no audit signing key of whoever runs the tests: a fresh config dir, this folder."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("NBLINEAGE_POLICY", raising=False)
    monkeypatch.delenv("NBLINEAGE_AUDIT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def lineage(tmp_path: Path, store_url: str) -> tuple[Store, Path]:
    with Store(store_url) as store:
        store.append([check(event) for event in scenario(tmp_path).events])
        yield store, tmp_path


def model_ref(base: Path) -> DatasetRef:
    return DatasetRef("file", str(base / "model.joblib"), M1)


def test_content_holds_the_five_answers_graph_and_sections(lineage: tuple[Store, Path]) -> None:
    store, base = lineage
    content = gather(store, model_ref(base))
    assert (content.kind, content.version, content.tool) == ("model", M1, "nblineage")
    assert content.explanation == explain(store, model_ref(base))
    assert content.graph == neighbourhood(store, model_ref(base), 2, 120)
    assert content.events == ()  # gathered for JSON only
    assert [item.item for item in content.annex] == [f"2({c})" for c in "abcdefgh"]
    statuses = {item.item: item.status for item in content.annex}
    assert statuses["2(e)"] == statuses["2(f)"] == "missing"
    assert statuses["2(b)"] == "partial" and "RandomForestClassifier" in content.annex[1].recorded
    # the governance sections say plainly what they hold: no policy file, no quality results here; the store's
    # audit log (every store keeps one) checkpointed
    assert content.policy.note.startswith(NO_POLICY)
    assert content.quality.note.startswith(NO_QUALITY)
    assert content.audit.checkpoint is not None and content.audit.size is not None
    as_json = content.to_json()
    assert as_json["explanation"]["inputs"]["function"]["modelClass"].endswith("RandomForestClassifier")
    assert json.loads(json.dumps(as_json)) == as_json


def test_html_report_is_self_contained_and_follows_the_model_card(lineage: tuple[Store, Path]) -> None:
    store, base = lineage
    done = export(store, model_ref(base), "html", base / "report.html")
    text = (base / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    assert page.headings["h1"] == [f"Model card: {base / 'model.joblib'}"]
    assert page.headings["h2"] == MODEL_SECTIONS
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert tags.count("svg") == 1 and "style" in tags
    assert not any(
        value and ("http://" in value or "https://" in value)
        for tag, attrs in page.tags
        if tag != "svg"
        for _, value in attrs
    )
    csp = [dict(attrs) for tag, attrs in page.tags if tag == "meta" and dict(attrs).get("http-equiv")]
    assert csp[0]["content"].startswith("default-src 'none'")
    words = " ".join(page.text)
    for expected in (
        "0.93",
        "accuracy_score",
        "max_depth=5, n_estimators=100",
        "NVIDIA A100",
        RAW,
        FEAT,
        "crm.public.customers",
        "2(h)",
        "human oversight measures: nblineage does not record them",
    ):
        assert expected in words, expected
    assert done.size == len(text.encode()) and done.format == "html"


def test_dataset_report_is_a_datasheet(lineage: tuple[Store, Path]) -> None:
    store, base = lineage
    export(store, DatasetRef("file", str(base / "raw.csv"), ""), "html", base / "raw.html")
    page = Page((base / "raw.html").read_text(encoding="utf-8"))
    assert page.headings["h1"] == [f"Datasheet: {base / 'raw.csv'}"]
    sections = page.headings["h2"]
    assert sections[1 : 1 + len(DATASHEET_SECTIONS)] == DATASHEET_SECTIONS
    words = " ".join(page.text)
    assert "models:/m-abc123" in words and str(base / "model.joblib") in words  # models derived from it
    assert "income" in words and "churned" in words  # its schema
    annex = gather(store, DatasetRef("file", str(base / "raw.csv"), "")).annex
    assert {item.item: item.status for item in annex}["2(d)"] == "partial"
    assert {item.status for item in annex if item.item != "2(d)" and item.item != "2(g)"} == {"not applicable"}


def test_json_report_has_the_content_and_the_events_behind_it(lineage: tuple[Store, Path]) -> None:
    store, base = lineage
    content = gather(store, model_ref(base))  # before the export appends its audit record
    export(store, model_ref(base), "json", base / "report.json")
    report = json.loads((base / "report.json").read_text(encoding="utf-8"))
    assert report["format"] == "nblineage-report/1"
    for key in ("kind", "namespace", "name", "version", "explanation", "graph", "annex", "quality", "policy"):
        assert report[key] == content.to_json()[key], key
    run_ids = {event["run"]["runId"] for event in report["events"] if "run" in event}
    assert R2 in run_ids and S1 not in run_ids  # the training run; not the session's own events
    training = [e for e in report["events"] if e.get("run", {}).get("runId") == R2]
    assert [e["eventType"] for e in training] == ["START", "COMPLETE"]
    assert any("dataset" in event for event in report["events"])  # the dataset event about raw.csv
    for entry_ in report["audit"]["records"]:
        assert entry_["proof"]["index"] == entry_["index"]


def test_pdf_first_page_shows_the_graph(lineage: tuple[Store, Path], caplog: pytest.LogCaptureFixture) -> None:
    import pypdfium2

    store, base = lineage
    export(store, model_ref(base), "pdf", base / "report.pdf")
    assert not [record.getMessage() for record in caplog.records if record.name.startswith("fpdf")]  # no noise
    data = (base / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    document_ = pypdfium2.PdfDocument(data)
    try:
        assert len(document_) >= 2
        page = document_[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=2).to_pil().convert("RGB")
    finally:
        document_.close()
    image.save(base / "page1.png")
    assert "Model card" in text and "Lineage graph" in text and "model.joblib" in text
    colours = image.getcolors(maxcolors=1 << 20)
    counts = {rgb: n for n, rgb in colours}
    white = counts.get((255, 255, 255), 0)
    assert white < 0.97 * image.width * image.height  # not blank
    # the graph's boxes: datasets drawn in #dbeafe, the model in #fef3c7, cells in #dcfce7
    for fill in ((0xDB, 0xEA, 0xFE), (0xFE, 0xF3, 0xC7), (0xDC, 0xFC, 0xE7)):
        assert counts.get(fill, 0) > 500, fill


def hostile_events(base: Path) -> list[dict]:
    """A notebook whose file, column, feature, code and cell names are markup and terminal escapes."""
    raw = str(base / f"{HOSTILE}.csv")
    model = str(base / f"{HOSTILE}.joblib")
    facet = rf_model(
        featureNames=[HOSTILE], hyperParameters={HOSTILE: HOSTILE}, modelClass=HOSTILE, trainingJob=f"{NOTEBOOK}#x"
    )
    return cell(
        "x",
        "00000000-0000-4000-8000-000000000777",
        S1,
        "2026-03-02T10:00:00Z",
        "2026-03-02T10:00:10Z",
        source=f"# {HOSTILE}\nmodel = fit('{HOSTILE}')",
        inputs=[entry("file", raw, RAW, output=False)],
        outputs=[entry("file", model, M1, model=facet, inputs=[("file", raw)], runs=[])],
        metrics=[{"name": HOSTILE, "value": 1.0, "split": "test", "fitId": "fit-1", "datasets": []}],
    )


def test_hostile_names_are_inert(tmp_path: Path, store_url: str) -> None:
    with Store(store_url) as store:
        store.append([check(event) for event in hostile_events(tmp_path)])
        model = DatasetRef("file", str(tmp_path / f"{HOSTILE}.joblib"), M1)
        dataset = DatasetRef("file", str(tmp_path / f"{HOSTILE}.csv"), RAW)
        for ref, name in ((model, "m"), (dataset, "d")):
            export(store, ref, "html", tmp_path / f"{name}.html")
            text = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
            page = Page(text)
            assert [tag for tag, _ in page.tags if tag in ("script", "img", "iframe", "object", "embed")] == []
            handlers = [name for _, attrs in page.tags for name, _ in attrs if name.lower().startswith("on")]
            assert handlers == []
            assert "\x1b" not in text
            shown = HOSTILE.replace("\x1b", "\N{REPLACEMENT CHARACTER}")
            assert any(shown in part for part in page.text)  # the name is there, as text
            export(store, ref, "pdf", tmp_path / f"{name}.pdf")  # drawable: Latin-1 stand-ins
            assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF-")
        about = dataset_event("file", dataset.name, "2026-03-02T09:00:00Z", {"schema": schema("a")})
        store.append([check(about)])
        report = json.loads(render(gather(store, model, evidence=True), "json"))
        assert report["name"] == str(tmp_path / f"{HOSTILE}.joblib")  # JSON keeps the name exactly
        assert about in report["events"]  # the dataset event about the hostile name, found by its text


def test_every_surface_renders_the_same_document(lineage: tuple[Store, Path]) -> None:
    import pypdfium2

    store, base = lineage
    content = gather(store, model_ref(base))
    pdf = pypdfium2.PdfDocument(render(content, "pdf"))
    try:
        pdf_text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()
    html_page = Page(render(content, "html").decode())
    headings = [block.text for block in document(content) if block.kind == "h2"]
    assert html_page.headings["h2"] == headings
    for heading in headings:
        assert heading in pdf_text.replace("\r\n", " ").replace("\n", " "), heading


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli_store(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in scenario(tmp_path).events))
    assert main(["ingest", str(tmp_path / "events.jsonl")]) == 0
    return tmp_path


def test_cli_report_formats_and_exit_codes(cli_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = cli_store
    capsys.readouterr()
    assert main(["report", "model.joblib", "--version", M1, "-o", "r.pdf"]) == 0  # format from the suffix
    out = capsys.readouterr().out
    assert "pdf report about the model" in out and (base / "r.pdf").read_bytes().startswith(b"%PDF-")
    assert main(["report", "raw.csv", "--format", "json", "-o", "raw.out"]) == 0
    assert json.loads((base / "raw.out").read_text())["kind"] == "dataset"
    assert main(["report", "model.joblib", "-o", "r.html"]) == 0
    assert Page((base / "r.html").read_text()).headings["h1"][0].startswith("Model card")
    capsys.readouterr()
    assert main(["report", "nowhere.csv", "-o", "x.html"]) == 1  # no such dataset
    assert "nowhere.csv" in capsys.readouterr().err and not (base / "x.html").exists()
    assert main(["report", "model.joblib", "-o", str(base / "no" / "folder.html")]) == 1
    assert "no folder" in capsys.readouterr().err
    assert main(["report", f"{NOTEBOOK}#c-train", "-n", "jupyter", "-o", "job.html"]) == 1  # a job
    assert not (base / "job.html").exists()
    missing_store = f"sqlite:///{base / 'none' / 'lineage.db'}"
    assert main(["--url", missing_store, "report", "model.joblib", "-o", "s.html"]) == 2  # no store there
    assert not (base / "s.html").exists()
    with pytest.raises(SystemExit) as exited:
        main(["report", "model.joblib", "--format", "docx", "-o", "r.docx"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["report", "model.joblib"])  # -o is required
    assert exited.value.code == 2


# --- progress -----------------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    """Standard error as a terminal would be: text written, and isatty() true."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_after_the_delay() -> None:
    quick, slow, piped = Terminal(), Terminal(), io.StringIO()
    with Progress(4, quick, delay=60.0) as bar:
        for label in "abcd":
            bar.step(label)
    assert quick.getvalue() == ""  # a report under the delay shows nothing
    with Progress(4, piped, delay=0.0) as bar:
        bar.step("a")
    assert piped.getvalue() == ""  # not a terminal
    with Progress(4, slow, delay=0.0) as bar:
        bar.step("lineage graph")
        bar.step("answers")
        shown = slow.getvalue()
    assert "report [" in shown and "1/4 answers" in shown and "######" in shown
    assert slow.getvalue().endswith("\r")  # cleared at the end


def test_a_slow_report_draws_its_bar(lineage: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from nblineage.governance import report_progress

    store, base = lineage
    monkeypatch.setattr(report_progress, "DELAY", 0.0)  # every report counts as slow
    stream = Terminal()
    export(store, model_ref(base), "html", base / "r.html", stream=stream)
    for stage in ("lineage graph", "answers", "quality", "policy", "audit log", "rendering html", "audit record"):
        assert stage in stream.getvalue(), stage
    assert "7/8 audit record" in stream.getvalue()  # every stage counted once
