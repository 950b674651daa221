"""The graph follows the notebook: after a cell runs in the same kernel, the widget shows what it wrote."""

from __future__ import annotations

from pathlib import Path

from kernel.notebooks import run_notebook

CELLS = [
    "import pandas as pd\npd.DataFrame({'a': [1, 2]}).to_csv('a.csv', index=False)",
    "import nblineage\ngraph = nblineage.show('a.csv')\nbefore = {node['name'] for node in graph.graph['nodes']}",
    "pd.read_csv('a.csv').to_csv('b.csv', index=False)",
    "print(sorted(name.rpartition('/')[2] for name in {n['name'] for n in graph.graph['nodes']} - before))",
]


def test_graph_refreshes_after_a_cell(tmp_path: Path) -> None:
    notebook = run_notebook(tmp_path / "refresh.ipynb", CELLS, {"NBLINEAGE_URL": f"sqlite:///{tmp_path / 'l.db'}"})
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert "'b.csv'" in printed, printed
