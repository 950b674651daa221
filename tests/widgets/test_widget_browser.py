"""The widget in a real browser: JupyterLab started by the test runs a notebook that reads a CSV, trains
scikit-learn and saves with joblib, then ``nblineage.show(model)``; headless Chromium must draw the
graph and open the details pane on a click, also after JupyterLab replaced the notebook's session (as it does on a
busy machine while the kernel starts). The saved page (``to_html``) must draw without a server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lab import chromium, jupyterlab, run_all_cells, screenshot, screenshot_on_failure
from lineage_data import RAW, fill

from nblineage.widgets.graph import open_graph

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext nblineage",
    "import pandas as pd\n"
    "pd.DataFrame({'age': [23, 35, 47, 51, 62, 29], 'income': [1, 3, 4, 5, 6, 2], 'churn': [0, 0, 1, 1, 1, 0]})"
    ".to_csv('customers.csv', index=False)",
    "df = pd.read_csv('customers.csv')",
    "from sklearn.linear_model import LogisticRegression\n"
    "model = LogisticRegression().fit(df[['age', 'income']], df['churn'])",
    "import joblib\njoblib.dump(model, 'model.joblib')",
    "import nblineage\ngraph = nblineage.show(model, depth=2)\ngraph",
]
# What JupyterLab does on a busy machine while a notebook's kernel starts: a new session connection to the same kernel,
# made while the old one (which handles the kernel's comms) is still open, then the old one disposed. Without
# nblineage's hand-over the notebook is left on a connection that drops comms, and widgets show "model not found".
KERNEL_CONNECTED = "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.connectionStatus"
KERNEL_CONNECTED += " === 'connected'"
REPLACE_SESSION = """() => {
  const context = window.jupyterapp.shell.currentWidget.sessionContext;
  const old = context.session.kernel;
  const session = window.jupyterapp.serviceManager.sessions.connectTo({ model: context.session.model });
  const made = session.kernel.handleComms;
  context._handleNewSession(session);
  return { made, now: context.session.kernel.handleComms, oldGone: old.isDisposed, same: old.id === session.kernel.id };
}"""
NOTEBOOK_TIMEOUT = (
    240_000  # ms: the kernel starts and imports pandas and scikit-learn on a busy machine (pytest-timeout: 300 s)
)


@pytest.fixture
def notebook_dir(tmp_path: Path) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "churn.ipynb")
    return tmp_path


def test_notebook_shows_the_graph_and_its_details(notebook_dir: Path) -> None:
    url = f"sqlite:///{notebook_dir / 'lineage.db'}"
    expose = ("--LabApp.expose_app_in_browser=True",)  # window.jupyterapp, to replace the session as JupyterLab does
    with jupyterlab(notebook_dir, {"NBLINEAGE_URL": url}, args=expose) as lab, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        with screenshot_on_failure(page, "widget-jupyterlab-failed.png"):
            page.goto(lab.open_url("/lab/tree/churn.ipynb"))
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=NOTEBOOK_TIMEOUT)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=NOTEBOOK_TIMEOUT)
            page.wait_for_function(KERNEL_CONNECTED, timeout=NOTEBOOK_TIMEOUT)
            replaced = page.evaluate(REPLACE_SESSION)
            assert replaced == {"made": False, "now": True, "oldGone": True, "same": True}, replaced
            run_all_cells(page, ".jp-Notebook .nbl-graph .nbl-node", NOTEBOOK_TIMEOUT)
            kinds = [
                node.get_attribute("class") or "" for node in page.locator(".jp-Notebook .nbl-graph .nbl-node").all()
            ]
            assert any("nbl-model" in kind for kind in kinds), kinds
            assert any("nbl-dataset" in kind for kind in kinds), kinds
            assert any("nbl-cell" in kind for kind in kinds), kinds
            assert page.locator(".jp-Notebook .nbl-graph .nbl-edge").count() >= len(kinds) - 1
            labels = page.locator(".jp-Notebook .nbl-graph .nbl-node .nbl-label").all_text_contents()
            assert "model.joblib" in labels and "customers.csv" in labels
            model = page.locator(".jp-Notebook .nbl-graph .nbl-model").first
            assert inside(model.bounding_box(), page.locator(".jp-Notebook .nbl-graph .nbl-canvas").bounding_box())
            model.click()
            pane = page.locator(".jp-Notebook .nbl-graph .nbl-details")
            pane.wait_for(state="visible")
            pane.get_by_text("3 · Performance").wait_for(timeout=60_000)
            assert "model.joblib" in pane.locator("h3").text_content()
            assert pane.get_by_text("Versions").count() == 1
            page.locator(".jp-Notebook .nbl-graph").scroll_into_view_if_needed()
        screenshot(page, "widget-jupyterlab.png")


def inside(box: dict[str, float] | None, frame: dict[str, float] | None) -> bool:
    """Whether a drawn element lies within the canvas, so it is seen (and not clipped away)."""
    assert box and frame
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    return (
        frame["x"] <= box["x"]
        and frame["y"] <= box["y"]
        and right <= frame["x"] + frame["width"]
        and (bottom <= frame["y"] + frame["height"])
    )


def test_saved_page_draws_without_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    fill(url)
    monkeypatch.setenv("NBLINEAGE_URL", url)
    widget = open_graph(RAW[1])  # read by 13 cells: a wide fan
    saved = widget.to_html(tmp_path / "graph.html")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: errors.append(request.url) if request.url.startswith("http") else None)
        page.goto(saved.as_uri())
        page.wait_for_selector(".nbl-graph .nbl-node")
        group = page.locator(".nbl-group")
        assert group.count() == 1 and group.text_content().startswith("3 more")
        drawn = page.locator(".nbl-graph .nbl-node:not(.nbl-group)").count()
        group.click()
        assert group.count() == 0
        # the three cells beyond the first ten, and what they wrote, are drawn now
        assert page.locator(".nbl-graph .nbl-node").count() == len(widget.graph["nodes"]) == drawn + 6
        page.get_by_role("button", name="fit the graph in the view").click()
        page.get_by_role("searchbox", name="search nodes").fill("report-1")
        assert page.locator(".nbl-search-count").text_content() == "4 found"  # report-10, report-11 and their files
        assert page.locator(".nbl-match").count() == 4
        page.get_by_role("searchbox", name="search nodes").fill("")
        assert page.locator(".nbl-match").count() == 0
        page.locator(".nbl-graph .nbl-node", has_text="report-00.csv").click()
        page.locator(".nbl-graph .nbl-node", has_text="features.parquet").click(modifiers=["Shift"])
        # no flow joins them: the path goes back from report-00.csv through its cell to the raw file, then on
        # through the features cell to features.parquet
        assert page.locator(".nbl-node.nbl-on-path").count() == 5
        assert page.locator(".nbl-edge.nbl-on-path").count() == 4
        assert page.locator(".nbl-node.nbl-selected").count() == 2
        details = page.locator(".nbl-details")
        details.get_by_text("Edges").wait_for()
        assert details.locator("h3").text_content() == "features.parquet"
        assert not errors, errors
        screenshot(page, "widget-saved-page.png")
