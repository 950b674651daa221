"""Marquez node ids read back into refs: namespaces with schemes and ports, names with colons, depth in nodes."""

from __future__ import annotations

import pytest

from nblineage.lineage.graph import DatasetRef, JobRef
from nblineage.server.marquez import hops_for, parse_node_id


@pytest.mark.parametrize(
    ("node_id", "ref"),
    [
        ("dataset:file:/data/in.csv", DatasetRef("file", "/data/in.csv")),
        ("dataset:postgres://db:5432:shop.public.sales", DatasetRef("postgres://db:5432", "shop.public.sales")),
        ("dataset:s3://bucket:raw/orders.csv", DatasetRef("s3://bucket", "raw/orders.csv")),
        ("job:jupyter:work/nb.ipynb#c1", JobRef("jupyter", "work/nb.ipynb#c1")),
    ],
)
def test_node_ids_split_where_marquez_does(node_id: str, ref) -> None:
    assert parse_node_id(node_id) == ref


def test_the_store_decides_an_ambiguous_split() -> None:
    known = {("dataset", "sqlite:///tmp/a.db", "t:1")}
    ref = parse_node_id("dataset:sqlite:///tmp/a.db:t:1", lambda kind, ns, name: (kind, ns, name) in known)
    assert ref == DatasetRef("sqlite:///tmp/a.db", "t:1")


@pytest.mark.parametrize("node_id", ["table:a:b", "dataset:", "dataset:onlyname", "job:ns:"])
def test_malformed_node_ids_are_refused(node_id: str) -> None:
    with pytest.raises(ValueError, match=r"nodeId|namespace"):
        parse_node_id(node_id)


def test_depth_counts_nodes_as_marquez_does() -> None:
    assert [hops_for(depth) for depth in (0, 1, 2, 3, 4, 20)] == [1, 1, 1, 2, 2, 10]
    with pytest.raises(ValueError):
        hops_for(-1)
