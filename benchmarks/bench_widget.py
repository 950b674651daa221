"""Layout and first render of the lineage graph view in headless Chromium, for 200 and 2,000 synthetic nodes.

The graph is a layered notebook pipeline (datasets and cells alternating, each cell reading two datasets of the
layer before, about one dataset in ten a model), with no fan wider than the view's limit, so every node is drawn.
Baseline, in the same page: the same number of plain SVG rects with a text label each, appended and painted.
Both are timed from the call to the second animation frame after it (the drawing painted).

    python benchmarks/bench_widget.py [--quick] [--reps N]
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
from typing import Any

from nblineage.widgets import bundle

SIZES = (200, 2000)
TARGET_MS = 2000.0
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

IMPORT = "code => import('data:text/javascript;base64,' + code).then(module => { window.nblineage = module; })"
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
BASELINE = """async n => {
  const host = document.createElement('div');
  host.style.cssText = 'width: 1200px; height: 480px; overflow: hidden';
  document.body.appendChild(host);
  const started = performance.now();
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', '1200'); svg.setAttribute('height', '480');
  const layer = document.createElementNS('http://www.w3.org/2000/svg', 'g');
  for (let i = 0; i < n; i++) {
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    const x = (i % 40) * 30, y = Math.floor(i / 40) * 9;
    rect.setAttribute('x', x); rect.setAttribute('y', y);
    rect.setAttribute('width', 28); rect.setAttribute('height', 8);
    const text = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    text.setAttribute('x', x); text.setAttribute('y', y + 8); text.textContent = 'node ' + i;
    layer.append(rect, text);
  }
  svg.appendChild(layer);
  host.appendChild(svg);
  host.getBoundingClientRect();
  await (PAINTED)();
  const took = performance.now() - started;
  host.remove();
  return took;
}""".replace("PAINTED", PAINTED)
VIEW = """async graph => {
  const host = document.createElement('div');
  host.style.width = '1200px';
  document.body.appendChild(host);
  const started = performance.now();
  const view = window.nblineage.renderStatic(host, {graph, details: {}});
  await (PAINTED)();
  const took = performance.now() - started;
  const drawn = host.querySelectorAll('.nbl-node').length;
  host.remove();
  return {took, drawn, layout: view.timings.layout, draw: view.timings.draw};
}""".replace("PAINTED", PAINTED)


def synthetic(size: int, seed: int = 7) -> dict[str, Any]:
    """A layered pipeline of ``size`` nodes in the docs/graph.md shape."""
    rng = random.Random(seed)
    width = max(2, int(size**0.5))
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    previous: list[str] = []
    while len(nodes) < size:
        cells = len(nodes) // width % 2 == 1
        layer = []
        for _ in range(min(width, size - len(nodes))):
            index = len(nodes)
            kind = "cell" if cells else ("model" if rng.random() < 0.1 else "dataset")
            name = f"/nb/pipeline.ipynb#exec-{index}" if cells else f"/data/table_{index}.parquet"
            nodes.append(
                {
                    "id": f"n{index}",
                    "kind": kind,
                    "namespace": "jupyter" if cells else "file",
                    "name": name,
                    "label": name.rpartition("#" if cells else "/")[2],
                    "version": None if cells else f"xxh3:{rng.getrandbits(128):032x}",
                    "depth": len(nodes) // width,
                    "precision": rng.choice(["exact", "cell"]) if cells else None,
                    "hidden": {"upstream": 0, "downstream": 0},
                }
            )
            for source in rng.sample(previous, min(2, len(previous))):
                edges.append({"source": source, "target": f"n{index}", "precision": rng.choice(["exact", "cell"])})
            layer.append(f"n{index}")
        previous = layer
    return {"center": "n0", "depth": 1, "nodes": nodes, "edges": edges, "truncated": False}


def measure(reps: int) -> dict[int, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    code = base64.b64encode(bundle.script().encode()).decode()
    results: dict[int, dict[str, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_content(f"<style>{bundle.style()}</style>")
        page.evaluate(IMPORT, code)
        for size in SIZES:
            graph = synthetic(size)
            page.evaluate(VIEW, synthetic(50))  # warm-up: the first call compiles the code
            base, view, layout, draw = [], [], [], []
            for _ in range(reps):
                base.append(page.evaluate(BASELINE, size))
                timed = page.evaluate(VIEW, graph)
                assert timed["drawn"] == size, f"{timed['drawn']} of {size} nodes drawn"
                view.append(timed["took"])
                layout.append(timed["layout"])
                draw.append(timed["draw"])
            results[size] = {
                "baseline": statistics.median(base),
                "view": statistics.median(view),
                "layout": statistics.median(layout),
                "draw": statistics.median(draw),
            }
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="one repetition (the smoke test)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions; the median is printed (default 5)")
    args = parser.parse_args()
    bundle.check_built()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"headless Chromium ({CHROMIUM}), load average {load:.2f}, median of {1 if args.quick else args.reps}")
    results = measure(1 if args.quick else args.reps)
    print(f"{'row':<44}{'nodes':>7}{'ms':>10}{'ratio':>9}")
    for size, row in results.items():
        print(f"{'baseline: plain SVG rects + labels':<44}{size:>7,}{row['baseline']:>10.1f}{1:>8.2f}x")
        ratio = row["view"] / row["baseline"]
        print(f"{'graph view: layout + first render':<44}{size:>7,}{row['view']:>10.1f}{ratio:>8.2f}x")
        print(f"{'  of which layout (script)':<44}{size:>7,}{row['layout']:>10.1f}")
        print(f"{'  of which drawing (script)':<44}{size:>7,}{row['draw']:>10.1f}")
    largest = results[max(SIZES)]["view"]
    met = "met" if largest < TARGET_MS else "NOT met"
    print(f"target: 2,000 nodes laid out and rendered < 2 s: {largest:,.0f} ms, {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
