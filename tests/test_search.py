"""``lineage.search``: datasets, models, notebooks, cells and jobs by part of their name, ranked and paged, the
same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from events import run_event

from nblineage.lineage.events import check
from nblineage.lineage.search import KINDS, search
from nblineage.lineage.store import Store

NOTEBOOK_FACET = {
    "jobType": {
        "_producer": "https://example.com",
        "_schemaURL": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
        "processingType": "BATCH",
        "integration": "JUPYTER",
        "jobType": "NOTEBOOK",
    }
}


@pytest.fixture
def filled(store: Store) -> Store:
    """Datasets, a model, a notebook found by its facet, one by its name, cells and other jobs."""
    events = [
        run_event(
            ("jupyter", "/nb/sales"),
            [("file", "/d/sales.csv", "v1")],
            [("file", "/d/Sales_2024.parquet")],
            job_facets=NOTEBOOK_FACET,
        ),
        run_event(
            ("jupyter", "/nb/sales#c1"),
            [("file", "/d/sales.csv")],
            [("file", "/m/sales.joblib")],
            models={"/m/sales.joblib"},
        ),
        run_event(("jupyter", "/nb/report.ipynb"), [("file", "/d/sales.csv")], [("s3://b", "reports/sales")]),
        run_event(("jupyter", "/nb/report.ipynb#c9"), [], [("file", "/d/100%_sales.csv")]),
        run_event(("airflow", "daily_sales"), [("file", "/d/sales.csv")], [("postgres://h:5432", "db.s.sales")]),
        run_event(("airflow", "#odd"), [], [("file", "/d/x.csv")]),
    ]
    store.append([check(event) for event in events])
    return store


def names(page) -> list[tuple[str, str]]:
    return [(hit.kind, hit.name) for hit in page.hits]


def test_kinds(filled: Store) -> None:
    everything = search(filled, "", KINDS, limit=500)
    kinds = dict((hit.name, hit.kind) for hit in everything.hits)
    assert kinds["/nb/sales"] == "notebook"  # its jobType facet says so
    assert kinds["/nb/report.ipynb"] == "notebook"  # its name does
    assert kinds["/nb/sales#c1"] == kinds["/nb/report.ipynb#c9"] == "cell"
    assert kinds["daily_sales"] == kinds["#odd"] == "job"  # no notebook before the '#'
    assert kinds["/m/sales.joblib"] == "model" and kinds["/d/sales.csv"] == "dataset"
    for chosen in [(kind,) for kind in KINDS] + [
        ("notebook", "job"),
        ("cell", "job"),
        ("notebook", "cell"),
        ("dataset", "cell"),
    ]:
        page = search(filled, "", chosen, limit=500)
        assert sorted(names(page)) == sorted((kind, name) for name, kind in kinds.items() if kind in chosen), chosen
        assert page.total == len(page.hits)


def test_ranking_and_case(filled: Store) -> None:
    page = search(filled, "SALES", ("dataset", "model"))
    assert [hit.name for hit in page.hits] == [
        "/d/Sales_2024.parquet",  # a last part starts with it, whatever the case; by name within a rank
        "/d/sales.csv",
        "/m/sales.joblib",
        "db.s.sales",
        "reports/sales",
        "/d/100%_sales.csv",  # only contains it
    ]
    assert search(filled, "db.s.sales", ("dataset",)).hits[0].name == "db.s.sales"
    newest = next(hit for hit in page.hits if hit.name == "/d/sales.csv")
    assert (newest.version, newest.versions) == ("v1", 1)


def test_wildcards_are_plain_text(filled: Store) -> None:
    assert [hit.name for hit in search(filled, "100%_", KINDS).hits] == ["/d/100%_sales.csv"]
    assert [hit.name for hit in search(filled, "%", KINDS).hits] == ["/d/100%_sales.csv"]
    assert search(filled, "0_", KINDS).hits == ()  # "_" is no single-character wildcard
    assert search(filled, "_", KINDS).total == 3  # Sales_2024, 100%_sales, daily_sales


def test_pages_and_totals(filled: Store) -> None:
    every = search(filled, "s", KINDS, limit=500)
    assert every.total == len(every.hits) > 6
    pages = [search(filled, "s", KINDS, limit=3, offset=offset) for offset in range(0, every.total + 3, 3)]
    assert [hit for page in pages for hit in page.hits] == list(every.hits)
    assert {page.total for page in pages} == {every.total}
    assert search(filled, "nothing-like-it", KINDS).total == 0
    assert search(filled, "", KINDS, namespace="airflow").total == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"kinds": ("table",)},
        {"kinds": ()},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"query": "x" * 1001},
        {"query": "a\x00"},
    ],
)
def test_bad_input(filled: Store, bad: dict) -> None:
    with pytest.raises(ValueError):
        search(filled, **bad)
