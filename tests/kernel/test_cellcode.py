"""``cellcode.walk`` visits exactly what ``ast.walk`` does, in the same order, for every kind of node."""

from __future__ import annotations

import ast
import sys
import textwrap

from nblineage.kernel_ext.cellcode import walk

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
