"""A small notebook's lineage in a store, for the widget tests: a CSV read, a feature cell, a fit and a save, and
a dataset whose name is markup."""

from __future__ import annotations

from typing import Any

from events import run_event

from nblineage.lineage.events import check
from nblineage.lineage.store import Store

NB = "/home/ana/churn.ipynb"
RAW = ("file", "/data/customers.csv", "xxh3:00000000000000000000000000000001")
FEATURES = ("file", "/data/features.parquet", "xxh3:00000000000000000000000000000002")
MODEL = ("file", "/data/churn.joblib", "xxh3:00000000000000000000000000000003")
HOSTILE = ("file", "/data/<img src=x onerror=alert(1)>.csv", "xxh3:00000000000000000000000000000004")
FAN = 12  # readers of the raw file: more than the view's FAN_LIMIT


def events() -> list[dict[str, Any]]:
    """Cells in the order they ran: read + features, fit + save, the markup-named export, and a wide fan."""
    cells = [
        run_event(("jupyter", f"{NB}#features"), [RAW], [FEATURES], time="2026-01-01T00:01:00Z"),
        run_event(("jupyter", f"{NB}#fit"), [FEATURES], [MODEL], models={MODEL[1]}, time="2026-01-01T00:02:00Z"),
        run_event(("jupyter", f"{NB}#export"), [FEATURES], [HOSTILE], time="2026-01-01T00:03:00Z"),
    ]
    cells += [
        run_event(("jupyter", f"{NB}#report-{n:02d}"), [RAW], [("file", f"/data/report-{n:02d}.csv", f"xxh3:{n:032x}")])
        for n in range(FAN)
    ]
    return cells


def fill(url: str) -> None:
    with Store(url) as store:
        store.append([check(event) for event in events()])
