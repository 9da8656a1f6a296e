"""What lake compaction buys dbt: staging built from the loose lake and from a compacted copy.

``python -m bench.compaction --home DIR [--repeat 2]`` takes an ingested installation (for
example one left by ``bench.run --members 1000000``; its lake is not changed), copies its lake,
compacts the copy as the raw assets do (``orchestration.cli --compact-only --compact-ungated``), then
builds dbt staging from each lake in turn (loose, compacted, loose, ...), each into its own
warehouse, and prints per lake the median wall time and peak memory, and the files read. Both
staging builds must hold the same rows (compared table by table, except-all both ways): the
comparison fails otherwise. Alternating the two keeps a noisy machine's drift out of the ratio.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

import duckdb

from bench.run import DBT_DIR, DBT_LAYERS, dbt_build, lake_files, run_stage


def staging(home: Path) -> tuple[float, float]:
    """Build seeds + staging from ``home``'s lake into a fresh warehouse; (seconds, peak MB)."""
    shutil.rmtree(home / "warehouse", ignore_errors=True)
    (home / "warehouse").mkdir(parents=True)
    seconds, rss, _ = run_stage(dbt_build(DBT_LAYERS["dbt staging"], home), home, cwd=DBT_DIR)
    return seconds, rss


def differing_tables(left: Path, right: Path) -> list[str]:
    """Staging tables whose rows differ between the two warehouses (lineage of the lake itself aside)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as a (read_only)")
        con.execute(f"attach '{right}' as b (read_only)")
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = 'a' "
                                            "and schema_name = 'staging' order by 1").fetchall()]
        differ = []
        for table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where database_name = 'a' and schema_name = 'staging' "
                f"and table_name = '{table}' and column_name <> 'filename'").fetchall()]
            listing = ", ".join(f'"{c}"' for c in columns)
            for first, second in (("a", "b"), ("b", "a")):
                if con.execute(f'select count(*) from (select {listing} from {first}.staging."{table}" except all '
                               f'select {listing} from {second}.staging."{table}")').fetchall()[0][0]:
                    differ.append(table)
                    break
        return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="an installation with an ingested lake")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    loose = args.home.resolve() / "compaction-loose"
    packed = args.home.resolve() / "compaction-packed"
    for target in (loose, packed):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(args.home / "lake", target / "lake")
    seconds, rss, _ = run_stage([sys.executable, "-m", "orchestration.cli", "--compact-only", "--compact-ungated"],
                                packed)
    print(f"compaction: {seconds:.1f} s, peak {rss:,.0f} MB; lake files (raw + ledger) "
          f"{lake_files(loose):,} -> {lake_files(packed):,}", flush=True)
    timings: dict[str, list[tuple[float, float]]] = {"loose": [], "compacted": []}
    for _ in range(args.repeat):
        for name, home in (("loose", loose), ("compacted", packed)):
            timings[name].append(staging(home))
            print(f"  staging from the {name} lake: {timings[name][-1][0]:.1f} s, "
                  f"{timings[name][-1][1]:,.0f} MB", flush=True)
    differ = differing_tables(loose / "warehouse" / "quanyu.duckdb", packed / "warehouse" / "quanyu.duckdb")
    print(f"\n{'lake':10} {'files':>8} {'staging s (median)':>19} {'peak MB (median)':>17}")
    for name, home in (("loose", loose), ("compacted", packed)):
        print(f"{name:10} {lake_files(home):>8,} {statistics.median(t for t, _ in timings[name]):>19.1f} "
              f"{statistics.median(m for _, m in timings[name]):>17,.0f}")
    ratio = statistics.median(t for t, _ in timings["compacted"]) / statistics.median(t for t, _ in timings["loose"])
    print(f"compacted / loose wall time: {ratio:.2f}; staging tables that differ: {differ or 'none'}")
    for target in (loose, packed):
        shutil.rmtree(target, ignore_errors=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
