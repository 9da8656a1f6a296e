"""Print the generated suites, or rebuild the Data Docs.

    python -m expectations [TABLE ...]      raw suites (all contracts, or the named tables)
    python -m expectations --marts          mart suites of the published warehouse (needs the dbt manifest)
    python -m expectations --docs           rebuild the Data Docs and print their location
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expectations.raw import suites
from ingest.contract import load_contracts
from ingest.settings import REPO_ROOT, business_now, paths_from_env

MANIFEST = REPO_ROOT / "dbt_project" / "target" / "manifest.json"


def _print_marts(manifest: Path) -> int:
    import duckdb

    from expectations.marts import MARTS_SCHEMA, _columns, load_manifest, mart_models, rows_suite, tables_suite

    paths = paths_from_env()
    if not paths.warehouse.exists():
        print(f"no published warehouse at {paths.warehouse}", file=sys.stderr)
        return 1
    if not manifest.exists():
        print(f"no dbt manifest at {manifest}: run `make manifest` (dbt parse) first", file=sys.stderr)
        return 1
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        columns = _columns(con, MARTS_SCHEMA)
    print(tables_suite().describe())
    for model in mart_models(load_manifest(manifest)):
        spec = rows_suite(model, columns.get(model.relation, {}), business_now()) if model.relation in columns else None
        print(spec.describe() if spec else f"suite marts.{model.name}: no column rules (table-level checks only)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tables", nargs="*")
    parser.add_argument("--marts", action="store_true")
    parser.add_argument("--docs", action="store_true")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help=f"dbt manifest (default {MANIFEST})")
    args = parser.parse_args(argv)
    if args.docs:
        from expectations.gx_runner import build_data_docs

        print(build_data_docs(paths_from_env().home, run_name="manual"))
        return 0
    if args.marts:
        return _print_marts(args.manifest)
    contracts = load_contracts()
    for table in args.tables or sorted(contracts):
        for spec in suites(contracts[table]):
            print(spec.describe())
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
