"""Command line for ingest without Dagster: ``python -m orchestration.cli [--table T ...] [--reload]
[--gate | --compact | --compact-ungated] [--compact-only] [--heal]``.

Useful to debug one channel's files. It loads with the same ``load_tables`` as the raw assets
(all tables in one pool of workers); ``--gate`` then runs what each raw asset runs after its
load (``gate_and_compact``: the raw gate, then compaction of what passed); ``--compact``
compacts only files an earlier gate passed; ``--compact-ungated`` compacts every loaded file
(a lake that is never gated, such as the benchmark's). Every command heals the tables it
reads first (``ingest.lake.heal``: a compaction killed half-way is finished, orphaned temporary
files removed); ``--heal`` heals every table and stops, e.g. before a hand-run ``dbt build``.
"""
from __future__ import annotations

import argparse
import sys
import uuid

from expectations.raw import gated
from ingest.contract import Contract, load_contracts
from ingest.engine import TableReport, load_tables
from ingest.hash_keys import HashKeyError
from ingest.lake import compact_table, heal, ledger_entries
from ingest.pii import redact_text
from ingest.settings import Paths, paths_from_env
from orchestration.ingest_steps import gate_and_compact

COLUMNS = (f"{'table':28} {'files':>5} {'skipped':>7} {'rejected':>8} {'read':>9} {'loaded':>9} {'quarant.':>8} "
           f"{'suppr.':>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", action="append", help="table to load (default: all contracts)")
    parser.add_argument("--reload", action="store_true", help="reload files already in the ledger")
    parser.add_argument("--workers", type=int, help="worker processes (default QUANYU_INGEST_WORKERS or the cores)")
    after = parser.add_mutually_exclusive_group()
    after.add_argument("--gate", action="store_true",
                       help="then gate every file not gated yet and compact what passed, as the raw assets do")
    after.add_argument("--compact", action="store_true",
                       help="then merge the tables' small files that passed the raw gate into segments")
    after.add_argument("--compact-ungated", action="store_true",
                       help="then merge small files the gate has not seen too (a lake that is not gated, e.g. "
                            "the benchmark; a segment is written back per file if its files are gated later)")
    parser.add_argument("--compact-only", action="store_true", help="compact (or gate) without loading new files")
    parser.add_argument("--heal", action="store_true",
                        help="only finish or undo interrupted compactions and remove orphaned temporary files, "
                             "in every table (what every command does first for its tables)")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    if args.heal:
        print(heal(paths))
        return 0
    contracts = load_contracts()
    unknown = set(args.table or []) - set(contracts)
    if unknown:
        parser.error(f"unknown tables {sorted(unknown)}; known: {sorted(contracts)}")
    chosen = [contracts[t] for t in args.table or sorted(contracts)]
    healed = heal(paths, [c.table for c in chosen])
    if healed.recovered or healed.temps_removed:
        print(healed)
    try:
        reports = {} if args.compact_only else load_tables(chosen, paths, reload=args.reload, workers=args.workers)
    except HashKeyError as exc:
        print(f"NOT LOADED: {exc}", file=sys.stderr)
        return 2
    rejected = print_reports(reports)
    if args.gate:
        rejected += gate(chosen, paths)
    elif args.compact or args.compact_ungated or args.compact_only:
        compact(chosen, paths, ungated=args.compact_ungated)
    return 1 if rejected else 0


def print_reports(reports: dict[str, TableReport]) -> int:
    """One line per table; rejected files named on stderr. Returns how many were rejected."""
    rejected = 0
    print(COLUMNS)
    for table, report in reports.items():
        rejected += len(report.with_status("rejected"))
        print(f"{table:28} {len(report.with_status('loaded')):>5} {len(report.with_status('skipped')):>7} "
              f"{len(report.with_status('rejected')):>8} {report.rows_read:>9} {report.rows_loaded:>9} "
              f"{report.rows_quarantined:>8} {report.rows_suppressed:>6}")
        for file in report.with_status("rejected"):
            print(redact_text(f"  REJECTED {file.source_file}: {file.message}"), file=sys.stderr)
    return rejected


def gate(contracts: list[Contract], paths: Paths) -> int:
    """The raw gate and compaction per table (as the raw assets run them); returns files rejected."""
    run_name = f"cli-{uuid.uuid4().hex[:12]}"
    rejected = 0
    for contract in contracts:
        done = gate_and_compact(contract, paths, run_name)
        rejected += len(done.gate.rejected_files)
        for finding in done.gate.findings:
            print(redact_text(("  BLOCKING " if finding.blocking else "  warning ") + finding.message()),
                  file=sys.stderr if finding.blocking else sys.stdout)
        print(done.compaction)
    return rejected


def compact(contracts: list[Contract], paths: Paths, ungated: bool) -> None:
    """Compact each table (see ingest.lake); prints what it merged."""
    for contract in contracts:
        eligible = (ledger_entries(paths, contract.table)["file_sha256"].tolist() if ungated
                    else gated(paths, contract.table))
        print(compact_table(paths, contract.table, eligible))


if __name__ == "__main__":
    sys.exit(main())
