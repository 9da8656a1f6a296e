"""Two lakes loaded from the same landing hold the same rows: every table's raw, quarantine and ledger
rows compared as multisets (DuckDB ``EXCEPT ALL`` both ways, columns by name), leaving out the columns
that name the run (load time, seconds).

``python -m bench.compare_lakes LAKE_A LAKE_B [-v]``; exit code 1 when any table differs.
``python -m bench.compare_lakes --load HOME LAKE``: load HOME's landing into a fresh LAKE first
(``ingest.engine.load_tables``, every contract, the cores as workers; no gate, no compaction).

Used to check that a change of the loader (issue 20: group segments, Arrow readers) changes how
fast a landing loads, never what lands: load one landing with each version of ``ingest`` into its
own lake, then compare.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from ingest.lake import KINDS, RUN_COLUMNS


def _relation(lake: Path, kind: str, table: str) -> str:
    return f"read_parquet('{lake / kind / table}/*.parquet', union_by_name = true)"


def compare(a: Path, b: Path, verbose: bool = False) -> int:
    """Print each table that differs (every table with ``verbose``); return how many differ."""
    con = duckdb.connect()
    differ = checked = 0
    for kind in KINDS:
        tables = sorted({p.name for lake in (a, b) if (lake / kind).exists() for p in (lake / kind).iterdir()
                         if p.is_dir()})
        for table in tables:
            ra, rb = _relation(a, kind, table), _relation(b, kind, table)
            columns = [{r[0] for r in con.execute(f"describe select * from {r}").fetchall()} for r in (ra, rb)]
            checked += 1
            if columns[0] != columns[1]:
                differ += 1
                print(f"DIFF {kind}/{table}: columns only on one side {sorted(columns[0] ^ columns[1])}")
                continue
            listing = ", ".join(f'"{c}"' for c in sorted(columns[0] - RUN_COLUMNS))
            rows = [con.execute(f"select count(*) from {r}").fetchone()[0] for r in (ra, rb)]
            only = [con.execute(f"select count(*) from (select {listing} from {x} except all "
                                f"select {listing} from {y})").fetchone()[0] for x, y in ((ra, rb), (rb, ra))]
            same = rows[0] == rows[1] and only == [0, 0]
            differ += not same
            if verbose or not same:
                print(f"{'same' if same else 'DIFF'} {kind}/{table}: rows {rows[0]:,} and {rows[1]:,}, "
                      f"only in A {only[0]:,}, only in B {only[1]:,}")
    print(f"{checked} lake tables compared, {differ} differ")
    return differ


def load(home: Path, lake: Path) -> None:
    """Load every contract's files of ``home``'s landing into ``lake`` (emptied first)."""
    import shutil
    import time

    from ingest.contract import load_contracts
    from ingest.engine import load_tables
    from ingest.settings import Paths

    shutil.rmtree(lake, ignore_errors=True)
    paths = Paths(home=home, landing=home / "landing", lake=lake, warehouse=lake.parent / "compare.duckdb").ensure()
    started = time.perf_counter()
    reports = load_tables(sorted(load_contracts().values(), key=lambda c: c.table), paths)
    print(f"loaded {sum(len(r.with_status('loaded')) for r in reports.values()):,} files, "
          f"{sum(r.rows_read for r in reports.values()):,} rows in {time.perf_counter() - started:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lake_a", type=Path, help="a lake, or with --load: the home whose landing to load")
    parser.add_argument("lake_b", type=Path, help="a lake, or with --load: the lake to load into")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--load", action="store_true", help="load LAKE_A's landing into LAKE_B, compare nothing")
    args = parser.parse_args(argv)
    if args.load:
        load(args.lake_a.resolve(), args.lake_b.resolve())
        return 0
    return 1 if compare(args.lake_a, args.lake_b, args.verbose) else 0


if __name__ == "__main__":
    raise SystemExit(main())
