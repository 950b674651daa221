"""What versioning DB-API reads by their rows costs: psycopg reads of one table (``fetchall``, a ``fetchmany`` loop,
iteration, a ``fetchone`` loop, a server-side cursor) with the hooks off, on without versions (rows tagged with the
unversioned tables, as before results were versioned), and on. Rounds interleave the three; the medians of the CPU
time each read took are printed, with the ratios and the CPU versioning adds per row, against the target. No
timed assertion.

    python benchmarks/bench_dbapi.py [--quick] [--rows N] [--rounds N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_NS_PER_ROW = 200  # versioning a read by its rows adds at most 200 ns of CPU per row fetched
POSTGRES = os.environ.get("NBLINEAGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
QUERY = "SELECT id, price, qty, name FROM items"


def reads(connect: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    import psycopg

    def fetchall() -> Any:
        with psycopg.connect(**connect) as conn, conn.cursor() as cur:
            cur.execute(QUERY)
            return cur.fetchall()

    def fetchmany() -> Any:
        with psycopg.connect(**connect) as conn, conn.cursor() as cur:
            cur.execute(QUERY)
            rows = []
            while chunk := cur.fetchmany(1000):
                rows.extend(chunk)
            return rows

    def iterated() -> Any:
        with psycopg.connect(**connect) as conn, conn.cursor() as cur:
            cur.execute(QUERY)
            return [row for row in cur]

    def fetchone() -> Any:
        with psycopg.connect(**connect) as conn, conn.cursor() as cur:
            cur.execute(QUERY)
            rows = []
            while (row := cur.fetchone()) is not None:
                rows.append(row)
            return rows

    def server_side() -> Any:
        with psycopg.connect(**connect) as conn, conn.cursor(name="bench") as cur:
            cur.execute(QUERY)
            rows = []
            while chunk := cur.fetchmany(5000):
                rows.extend(chunk)
            return rows

    return {
        "fetchall": fetchall,
        "fetchmany(1000)": fetchmany,
        "iteration": iterated,
        "fetchone loop": fetchone,
        "server-side": server_side,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows, 3 rounds")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--postgres", default=POSTGRES, help="SQLAlchemy URL of a server's admin database")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rounds = 5_000, 3
    os.environ.setdefault("NBLINEAGE_STRICT", "1")

    import psycopg
    from sqlalchemy.engine import make_url

    from nblineage.kernel_ext.capture import Capture, activate
    from nblineage.kernel_ext.hooks.sql import dbapi
    from nblineage.kernel_ext.hooks.sql.dbapi import PsycopgInstrumentor
    from nblineage.kernel_ext.hooks.sql.rowversion import Result

    url = make_url(args.postgres)
    admin = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database, "autocommit": True}
    if url.password:
        admin["password"] = url.password
    name = f"nbl_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    connect = {**admin, "dbname": name}
    connect.pop("autocommit")
    try:
        with psycopg.connect(**connect, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id INTEGER, price DOUBLE PRECISION, qty INTEGER, name TEXT)")
            conn.execute(
                "INSERT INTO items SELECT i, i * 0.37, i %% 17, 'item ' || i FROM generate_series(1, %s) AS i",
                (args.rows,),
            )
        ways = reads(connect)
        instrumentor = PsycopgInstrumentor()
        versioned = Result.__init__

        def unversioned(self: Result, tables: Any, capture: Any, client_side: bool, hashed: bool) -> None:
            versioned(self, tables, capture, client_side, False)  # nothing to hash: the tables as read

        times: dict[tuple[str, str], list[float]] = {}

        def timed(mode: str) -> None:
            for way, read in ways.items():
                capture = Capture() if mode != "off" else None
                activate(capture)
                start = time.process_time()
                rows = read()
                times.setdefault((way, mode), []).append(time.process_time() - start)
                assert len(rows) == args.rows
                if capture is not None:
                    dbapi.cut(capture)
                    dbapi._held.release(None, None)
                activate(None)

        instrumentor.instrument()
        try:
            for _ in range(args.rounds):
                for mode in ("off", "unversioned", "on"):
                    Result.__init__ = unversioned if mode == "unversioned" else versioned  # type: ignore[method-assign]
                    timed(mode)
        finally:
            Result.__init__ = versioned  # type: ignore[method-assign]
            instrumentor.uninstrument()
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"psycopg reads of {args.rows:,} rows, CPU ms (median of {args.rounds} interleaved rounds)")
    print(f"{'read':<16} {'off':>9} {'unversioned':>12} {'on':>9} {'on/off':>7} {'on/unversioned':>15} {'ns/row':>7}")
    worst = 0.0
    for way in ways:
        off, bare, on = (statistics.median(times[(way, mode)]) * 1000 for mode in ("off", "unversioned", "on"))
        added = (on - bare) * 1e6 / args.rows
        worst = max(worst, added)
        print(f"{way:<16} {off:9.1f} {bare:12.1f} {on:9.1f} {on / off:7.2f} {on / bare:15.2f} {added:7.0f}")
    verdict = "met" if worst <= TARGET_NS_PER_ROW else "NOT met"
    print(f"target: versions add <= {TARGET_NS_PER_ROW} ns of CPU per row for every read: worst {worst:.0f}, {verdict}")


if __name__ == "__main__":
    main()
