"""``cellcode.walk`` visits exactly what ``ast.walk`` does, in the same order, for every kind of node; the column
rules a cell's code states (more of them in ``test_columns.py``)."""

from __future__ import annotations

import ast
import sys
import textwrap

import pytest

from nblineage.kernel_ext import columns
from nblineage.kernel_ext.cellcode import column_rules, walk

CODE = textwrap.dedent(
    """
    import os, numpy as np
    from pandas import read_csv as rc
    global g
    @decorate(1)
    async def f(a: int, /, b=2, *rest, c: "str" = "x", **more) -> list[int]:
        nonlocal_like = [x async for x in a if x]
        async with ctx() as (p, q):
            await g(p, *q, key=lambda y, z=3: y ** z)
        return {k: v for k, v in more.items()}
    class C(Base, metaclass=Meta):
        x: int = 1
        def m(self):
            del self.x[0], self.y
            yield from (i for i in range(3))
    try:
        df.loc[df["n"] == 1, "a"] = f"{df['b']!r:>{width}}" + b"raw".decode()
    except (KeyError, ValueError) as error:
        raise RuntimeError("no") from error
    else:
        x = -y if not z else ~w
    finally:
        assert a < b <= c, "message"
    while n := next(it, None):
        continue
    for i, (j, k) in enumerate(pairs):
        break
    match command:
        case {"action": "go", **rest} if rest:
            pass
        case [Point(x=0, y=yy), *others] | None:
            pass
        case str() as text:
            pass
        case True:
            pass
    s = {1, 2}; t = (1,); u = [*t, *s]; v = a[1:2:3, ...]
    """
)


def test_walk_is_ast_walk() -> None:
    trees = [
        ast.parse(CODE),
        ast.parse(CODE, type_comments=True),
        ast.parse("x = 1  # type: ignore", type_comments=True),
    ]
    if sys.version_info >= (3, 12):
        trees.append(ast.parse("type Pairs[T] = list[tuple[T, T]]\ndef g[U: int, *Ts, **P](u: U) -> U: ...\n"))
    for tree in trees:
        expected = list(ast.walk(tree))
        found = walk(tree)
        assert len(found) == len(expected)
        assert all(a is b for a, b in zip(found, expected, strict=True))


# Run in a fresh interpreter: a shell with nblineage loaded, ``ast.parse`` counted. Prints, per case, whether the
# session parsed the cell again and whether the code it read equals what ``ast.parse`` of the cell gives.
_TREES_PROBE = r"""
import ast, json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nblineage")
from nblineage.kernel_ext import cellcode
parsed, real = [], ast.parse
ast.parse = lambda source, *a, **k: (parsed.append(source), real(source, *a, **k))[1]

def case(source):
    parsed.clear()
    shell.run_cell(source)
    again = source in parsed
    code = cellcode.parse(source)
    cellcode._offered.clear()
    fresh = cellcode.parse.__wrapped__(source)
    same = ast.dump(code.tree, include_attributes=True) == ast.dump(fresh.tree, include_attributes=True)
    return {"again": again, "same": same and code.bindings == fresh.bindings and code.rules == fresh.rules}

found = {"plain": case("df = {'a': 1, 'b': 2}\nratio = df['a'] / df['b']")}
shell.ast_transformers.append(ast.NodeTransformer())
found["transformer"] = case("df2 = dict(df)\ndf2['c'] = df['a'] * 2")
shell.ast_transformers.clear()
shell.ast_node_interactivity = "last_expr_or_assign"
found["last_expr_or_assign"] = case("n = len(df)")
shell.ast_node_interactivity = "last_expr"
found["trailing newline"] = case("m = len(df)\n")
shell.run_line_magic("unload_ext", "nblineage")
found["unloaded"] = "ast_parse" not in vars(shell.compile)
print(json.dumps(found))
"""


def test_the_session_reads_the_tree_ipython_parsed(tmp_path) -> None:
    """A cell is parsed once: the session takes IPython's tree of it for what its code says (``cellcode.offer``),
    the same tree and the same bindings and rules as ``ast.parse`` gives, except where IPython changes the tree it
    runs (an AST transformer, ``last_expr_or_assign``); unloading gives IPython its compiler back."""
    import json
    import os
    import subprocess

    env = {"NBLINEAGE_URL": f"sqlite:///{tmp_path / 'x.db'}", "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    done = subprocess.run(
        [sys.executable, "-c", _TREES_PROBE], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["plain"] == {"again": False, "same": True}
    assert found["trailing newline"] == {"again": False, "same": True}
    assert found["transformer"] == {"again": True, "same": True}
    assert found["last_expr_or_assign"] == {"again": True, "same": True}
    assert found["unloaded"] is True


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'for lag in [7, 28]:\n    df[f"lag_{lag}"] = df.groupby("g")["x"].shift(lag)',
            {"lag_7": ["g", "x"], "lag_28": ["g", "x"], "lag_{lag}": []},
        ),
        (  # each turn reads its own column
            'for col in ["g", "h"]:\n    df[f"freq_{col}"] = df[col].map(df[col].value_counts())',
            {"freq_g": ["g"], "freq_h": ["h"]},
        ),
        (
            'windows = (3, 7)\nfor w in windows:\n    df[f"mean_{w:02d}"] = df["x"].rolling(w).mean()',
            {"mean_03": ["x"], "mean_07": ["x"]},
        ),
        (
            'for i in range(1, 3):\n    for c in ("a", "b"):\n        df[f"{c}_{i}"] = df[c].shift(i)',
            {"a_1": ["a"], "b_2": ["b"], "a_3": []},
        ),
        ('for lag in [7]:\n    pass\ndf[f"lag_{lag}"] = df["y"]', {"lag_7": []}),  # after the loop: not its turns
        ('cols = ["a", "b"]\nfor c in cols:\n    df[c] = df[c].fillna(df["z"])', {"a": ["a", "z"], "b": ["b", "z"]}),
    ],
)
def test_columns_named_by_an_f_string_in_a_literal_loop_get_a_rule_per_turn(
    source: str, expected: dict[str, list[str]]
) -> None:
    """``for lag in [7, 28]: df[f"lag_{lag}"] = ...`` (lag, rolling and frequency-encoded features): the loop's
    statements read once per value, its name bound to it."""
    rules = column_rules(ast.parse(source))
    assert {feature: columns.sources(feature, rules) for feature in expected} == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'df = df.set_index("Datetime")\ndf.index = pd.to_datetime(df.index)\ndf["hour"] = df.index.hour\n'
            'df["doy"] = df.index.day_of_year',
            {"hour": ["Datetime"], "doy": ["Datetime"]},
        ),
        ('df = pd.read_csv("x.csv", index_col="Date", parse_dates=True)\ndf["m"] = df.index.month', {"m": ["Date"]}),
        ('df.set_index("Date", inplace=True)\nmonths = df.index.month\ndf["m"] = months', {"m": ["Date"]}),
        ('df = df.set_index("Date").sort_index()\ndf["lag"] = df.index.shift(1)', {"lag": ["Date"]}),
        ('df["hour"] = df.index.hour', {"hour": []}),  # no index set: no column
        ('df = df.set_index("Date")\ndf.index = range(len(df))\ndf["n"] = df.index * 2', {"n": []}),  # replaced
        ('df = df.set_index("Date").reset_index()\ndf["n"] = df.index', {"n": []}),
        ('df = df.set_index("Date")\ndf = pd.read_csv("y.csv")\ndf["n"] = df.index', {"n": []}),  # a new frame
        ('other = other.set_index("Date")\ndf["hour"] = df.index.hour', {"hour": []}),  # another frame's index
    ],
)
def test_a_frame_index_set_from_a_column_stands_for_it(source: str, expected: dict[str, list[str]]) -> None:
    """Calendar features of a DatetimeIndex (``df = df.set_index("Datetime"); df["hour"] = df.index.hour``) come
    from the column the index was set from; ``index`` is no column otherwise."""
    rules = column_rules(ast.parse(source))
    assert {feature: columns.sources(feature, rules) for feature in expected} == expected


def test_an_index_set_in_an_earlier_cell_stands_for_its_column() -> None:
    session: dict[str, frozenset[str]] = {}
    for cell in ('df = df.set_index("Datetime")', "df.index = pd.to_datetime(df.index)", 'df["hour"] = df.index.hour'):
        columns.remember(session, column_rules(ast.parse(cell)))
    assert columns.sources("hour", session) == ["Datetime"]
