"""Command line for ingest without Dagster: ``python -m ingest.cli [--table T ...] [--reload] [--compact]``.

Useful to debug one channel's files; Dagster runs the same ``load_table`` (and compacts gated
files after its gate).
"""
from __future__ import annotations

import argparse
import sys

from ingest.contract import Contract, load_contracts
from ingest.engine import load_tables
from ingest.lake import compact_table
from ingest.settings import Paths, paths_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", action="append", help="table to load (default: all contracts)")
    parser.add_argument("--reload", action="store_true", help="reload files already in the ledger")
    parser.add_argument("--workers", type=int, help="worker processes (default QUANYU_INGEST_WORKERS or the cores)")
    parser.add_argument("--compact", action="store_true",
                        help="then merge the tables' small files that passed the raw gate into segments")
    parser.add_argument("--compact-ungated", action="store_true",
                        help="then merge small files the gate has not seen too (a lake that is not gated, e.g. "
                             "the benchmark; a segment is written back per file if its files are gated later)")
    parser.add_argument("--compact-only", action="store_true", help="compact without loading new files")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    contracts = load_contracts()
    unknown = set(args.table or []) - set(contracts)
    if unknown:
        parser.error(f"unknown tables {sorted(unknown)}; known: {sorted(contracts)}")
    rejected = 0
    print(f"{'table':28} {'files':>5} {'skipped':>7} {'rejected':>8} {'read':>9} {'loaded':>9} {'quarant.':>8}")
    chosen = [contracts[t] for t in args.table or sorted(contracts)]
    reports = {} if args.compact_only else load_tables(chosen, paths, reload=args.reload, workers=args.workers)
    for table, report in reports.items():
        rejected += len(report.with_status("rejected"))
        print(f"{table:28} {len(report.with_status('loaded')):>5} {len(report.with_status('skipped')):>7} "
              f"{len(report.with_status('rejected')):>8} {report.rows_read:>9} {report.rows_loaded:>9} "
              f"{report.rows_quarantined:>8}")
        for file in report.with_status("rejected"):
            print(f"  REJECTED {file.source_file}: {file.message}", file=sys.stderr)
    if args.compact or args.compact_ungated or args.compact_only:
        compact(chosen, paths, ungated=args.compact_ungated)
    return 1 if rejected else 0


def compact(contracts: list[Contract], paths: Paths, ungated: bool) -> None:
    """Compact each table (see ingest.lake); prints what it merged."""
    from expectations.raw import gated, ledger_entries  # the verdicts are the gate's

    for contract in contracts:
        eligible = (ledger_entries(paths, contract.table)["file_sha256"].tolist() if ungated
                    else gated(paths, contract.table))
        print(compact_table(paths, contract.table, eligible))


if __name__ == "__main__":
    sys.exit(main())
