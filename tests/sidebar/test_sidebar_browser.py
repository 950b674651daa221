"""The lineage sidebar in a real browser: JupyterLab started by the test with the wheel's prebuilt extension and
the server extension, headless Chromium opening the panel from the keyboard, in the light and the dark theme; and
the panel saying how to fix it when the server extension is off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from events import run_event
from lab import chromium, jupyterlab, open_sidebar, screenshot, screenshot_on_failure
from notebooks import run_notebook

from nblineage.lineage.events import check
from nblineage.lineage.store import Store

pytestmark = pytest.mark.browser

TIMEOUT = 120_000  # ms
FACET = {"_producer": "https://example.com/steward", "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/F.json"}


def filled_store(root: Path) -> str:
    url = f"sqlite:///{root / 'lineage.db'}"
    event = run_event(
        ("jupyter", "/work/churn.ipynb#train"),
        [("file", "/data/customers.csv")],
        [("file", "/models/churn.joblib")],
        models={"/models/churn.joblib"},
    )
    # the policy's classification and a failed data-quality check of the CSV: the badges
    tags = [{"key": "pii", "value": "true", "source": "nblineage-policy", "field": "email"}]
    event["inputs"][0]["facets"] = {"tags": {**FACET, "tags": tags}}
    assertion = {"assertion": "expect_column_values_to_not_be_null", "column": "email", "success": False}
    event["inputs"][0]["inputFacets"] = {"dataQualityAssertions": {**FACET, "assertions": [assertion]}}
    with Store(url) as store:
        store.append([check(event)])
    return url


def open_panel(page, lab) -> None:
    page.goto(lab.open_url("/lab"))
    open_sidebar(page, TIMEOUT)


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_panel_opens_from_the_keyboard_and_reads_the_store(tmp_path: Path, theme: str) -> None:
    url = filled_store(tmp_path)
    with jupyterlab(tmp_path, {"NBLINEAGE_URL": url}, theme=theme) as lab, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        name = theme.split()[-1].lower()
        with screenshot_on_failure(page, f"sidebar-{name}-failed.png"):
            open_panel(page, lab)
            message = page.locator("#nblineage-sidebar .nbl-sidebar-message")
            message.filter(has_text="1 event in").wait_for(timeout=TIMEOUT)
            assert "lineage.db" in message.inner_text()
            search = page.get_by_role("searchbox", name="search datasets, models and notebooks")
            assert search.is_visible()
            dark = page.evaluate("document.body.dataset.jpThemeLight") == "false"
            assert dark == (name == "dark")
            screenshot(page, f"sidebar-{name}.png")


def test_panel_says_how_to_fix_a_missing_server_extension(tmp_path: Path) -> None:
    config = tmp_path / "config"  # the user's config turns it off, over the one installed with the package
    config.mkdir()
    off = {"ServerApp": {"jpserver_extensions": {"nblineage": False}}}
    (config / "jupyter_server_config.json").write_text(json.dumps(off))
    env = {"NBLINEAGE_URL": filled_store(tmp_path), "JUPYTER_CONFIG_DIR": str(config)}
    with jupyterlab(tmp_path, env) as lab, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        with screenshot_on_failure(page, "sidebar-no-server-extension-failed.png"):
            open_panel(page, lab)
            message = page.locator("#nblineage-sidebar .nbl-sidebar-message.nbl-problem")
            message.wait_for(timeout=TIMEOUT)
            assert "jupyter server extension enable nblineage" in message.inner_text()
            screenshot(page, "sidebar-no-server-extension.png")


def test_search_then_graph_of_the_hit(tmp_path: Path) -> None:
    url = filled_store(tmp_path)
    with jupyterlab(tmp_path, {"NBLINEAGE_URL": url}) as lab, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        with screenshot_on_failure(page, "sidebar-search-failed.png"):
            open_panel(page, lab)
            page.get_by_role("searchbox", name="search datasets, models and notebooks").fill("customers")
            hit = page.locator("#nblineage-sidebar .nbl-hit").filter(has_text="customers.csv")
            hit.wait_for(timeout=TIMEOUT)
            hit.click()
            graph = page.locator("#nblineage-sidebar .nbl-graph")
            graph.locator(".nbl-node.nbl-model").wait_for(timeout=TIMEOUT)
            labels = graph.locator(".nbl-node .nbl-label").all_text_contents()
            assert "customers.csv" in labels and "churn.joblib" in labels, labels
            assert_readable_down(page, graph)
            dataset = graph.locator(".nbl-node.nbl-dataset")
            assert dataset.locator(".nbl-tags").text_content() == "pii"  # badges: its tag, its failed check
            assert dataset.locator(".nbl-quality-failed").count() == 1
            assert "quality failed" in (dataset.get_attribute("aria-label") or "")
            hit_box, bar_box = hit.bounding_box(), page.get_by_role("button", name="Open in a tab").bounding_box()
            assert hit_box["y"] + hit_box["height"] <= bar_box["y"] + 1, (hit_box, bar_box)  # no hit under the bar
            graph.locator(".nbl-node.nbl-model").click()
            graph.locator(".nbl-details").wait_for(state="visible", timeout=TIMEOUT)
            assert "churn.joblib" in graph.locator(".nbl-details").inner_text()
            screenshot(page, "sidebar-search.png")
            with page.expect_download(timeout=TIMEOUT) as caught:
                graph.get_by_role("button", name="Export report (HTML)").click()
            assert caught.value.suggested_filename == "churn.joblib-report.html"
            report = Path(caught.value.path()).read_text()
            assert "churn.joblib" in report and "<svg" in report  # the model's report, its graph drawn
            page.get_by_role("button", name="Open in a tab").click()
            tab = page.locator(".nbl-graph-tab .nbl-graph")
            tab.locator(".nbl-node.nbl-model").wait_for(timeout=TIMEOUT)
            assert tab.locator(".nbl-node .nbl-label").filter(has_text="churn.joblib").is_visible()
            screenshot(page, "sidebar-graph-tab.png")


TRAIN = [
    "import pandas as pd\n"
    "pd.DataFrame({'age': [23, 35, 47, 51], 'income': [1, 3, 4, 5], 'churn': [0, 0, 1, 1]})"
    ".to_csv('customers.csv', index=False)",
    "df = pd.read_csv('customers.csv')",
    "from sklearn.linear_model import LogisticRegression\n"
    "model = LogisticRegression().fit(df[['age', 'income']], df['churn'])",
    "import joblib\njoblib.dump(model, 'model.joblib')",
]


def test_a_model_opens_the_cell_that_saved_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    notebook = run_notebook(tmp_path / "train.ipynb", TRAIN, {"NBLINEAGE_URL": url})
    saving = notebook.cells[-1].id
    with jupyterlab(tmp_path, {"NBLINEAGE_URL": url}) as lab, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        with screenshot_on_failure(page, "sidebar-open-cell-failed.png"):
            open_panel(page, lab)
            page.get_by_role("searchbox", name="search datasets, models and notebooks").fill("model.joblib")
            page.locator("#nblineage-sidebar .nbl-hit").filter(has_text="model.joblib").first.click()
            graph = page.locator("#nblineage-sidebar .nbl-graph")
            graph.locator(".nbl-node.nbl-model").first.click()
            graph.get_by_role("button", name="Open the cell that wrote it").first.click()
            cell = page.locator(".jp-Notebook .jp-Cell.nbl-highlighted-cell")
            cell.wait_for(timeout=TIMEOUT)
            assert "joblib.dump" in cell.inner_text()
            assert cell.get_attribute("data-jp-cell-id") in (saving, None)
            assert "jp-mod-active" in (cell.get_attribute("class") or "")
            screenshot(page, "sidebar-open-cell.png")
            # the panel follows the active cell: the cell that wrote customers.csv, with what it wrote
            page.locator(".jp-Notebook .jp-Cell").filter(has_text="to_csv").click()
            graph.locator(".nbl-node.nbl-cell").filter(has_text="pd.DataFrame").wait_for(timeout=TIMEOUT)
            assert graph.locator(".nbl-node.nbl-dataset").filter(has_text="customers.csv").count() == 1
            assert graph.locator(".nbl-node.nbl-model").count() == 0  # the model's graph is gone
            assert graph.locator(".nbl-details").is_hidden()  # and so are its details
            screenshot(page, "sidebar-follows-cell.png")


def assert_readable_down(page, graph) -> None:
    """In the narrow panel data flows down and labels keep a legible size."""
    heights = [box["height"] for box in (label.bounding_box() for label in graph.locator(".nbl-node .nbl-label").all())]
    assert heights and min(heights) >= 8, heights
    dataset = graph.locator(".nbl-node.nbl-dataset").first.bounding_box()
    model = graph.locator(".nbl-node.nbl-model").first.bounding_box()
    assert dataset["y"] + dataset["height"] < model["y"], (dataset, model)
