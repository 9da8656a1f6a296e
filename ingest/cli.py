"""Command line for ingest without Dagster: ``python -m ingest.cli [--table T ...] [--reload]``.

Useful to debug one channel's files; Dagster runs the same ``load_table``.
"""
from __future__ import annotations

import argparse
import sys

from ingest.contract import load_contracts
from ingest.engine import load_tables
from ingest.settings import paths_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", action="append", help="table to load (default: all contracts)")
    parser.add_argument("--reload", action="store_true", help="reload files already in the ledger")
    parser.add_argument("--workers", type=int, help="worker processes (default QUANYU_INGEST_WORKERS or the cores)")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    contracts = load_contracts()
    unknown = set(args.table or []) - set(contracts)
    if unknown:
        parser.error(f"unknown tables {sorted(unknown)}; known: {sorted(contracts)}")
    rejected = 0
    print(f"{'table':28} {'files':>5} {'skipped':>7} {'rejected':>8} {'read':>9} {'loaded':>9} {'quarant.':>8}")
    reports = load_tables([contracts[t] for t in args.table or sorted(contracts)], paths, reload=args.reload,
                          workers=args.workers)
    for table, report in reports.items():
        rejected += len(report.with_status("rejected"))
        print(f"{table:28} {len(report.with_status('loaded')):>5} {len(report.with_status('skipped')):>7} "
              f"{len(report.with_status('rejected')):>8} {report.rows_read:>9} {report.rows_loaded:>9} "
              f"{report.rows_quarantined:>8}")
        for file in report.with_status("rejected"):
            print(f"  REJECTED {file.source_file}: {file.message}", file=sys.stderr)
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
