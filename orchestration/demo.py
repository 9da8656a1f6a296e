"""Run the whole pipeline on the demo brand and print what each layer holds.

``python -m orchestration.demo [--members N] [--regenerate]``: generates the demo exports
into the landing folder (once), runs the ``build_all`` job in process (the same job the
nightly schedule runs), and prints row counts per layer. Runs are recorded in
``$DAGSTER_HOME`` (default ``var/dagster_home``), so ``make dev`` shows them in the UI.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ingest.settings import paths_from_env


def _prepare_dagster_home(home: Path) -> None:
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)


def generate_if_needed(members: int, regenerate: bool) -> None:
    paths = paths_from_env()
    has_files = paths.landing.exists() and any(p.is_file() for p in paths.landing.rglob("*"))
    if has_files and not regenerate:
        print(f"landing folder {paths.landing} already has exports; using them (--regenerate to rebuild)")
        return
    from demo.generate import generate

    if paths.landing != paths.home / "landing":
        raise SystemExit("the demo generator writes to $QUANYU_HOME/landing; unset QUANYU_LANDING")
    started = time.perf_counter()
    generate(paths.home, members=members)
    print(f"generated demo exports for {members} members in {time.perf_counter() - started:.1f}s "
          f"-> {paths.landing}")


def _open_read_only(path: Path, attempts: int = 20):
    """Open the warehouse read-only, waiting for a dbt process that is still closing it."""
    import duckdb

    for attempt in range(attempts):
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def layer_counts() -> list[tuple[str, str, int]]:
    """(layer, table, rows) for the lake and every table of the warehouse."""
    import duckdb

    paths = paths_from_env()
    rows: list[tuple[str, str, int]] = []
    lake = duckdb.connect()
    loads = lake.sql(
        f"select table_name, count(*) files, sum(rows_read) r, sum(rows_loaded) l, sum(rows_quarantined) q "
        f"from read_parquet('{paths.ledger}/*/*.parquet', union_by_name=true) group by 1 order by 1").fetchall()
    for table, files, read, loaded, quarantined in loads:
        rows.append(("landing rows read", table, int(read)))
        rows.append(("raw rows loaded", table, int(loaded)))
        rows.append(("quarantined", table, int(quarantined)))
    if not paths.warehouse.exists():
        return rows
    with _open_read_only(paths.warehouse) as con:
        tables = con.sql("select table_schema, table_name from information_schema.tables "
                         "where table_schema not in ('information_schema', 'pg_catalog') "
                         "order by 1, 2").fetchall()
        for schema, table in tables:
            count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
            rows.append((schema, table, int(count)))
    return rows


def print_summary(rows: list[tuple[str, str, int]]) -> None:
    by_layer: dict[str, list[tuple[str, int]]] = {}
    for layer, table, count in rows:
        by_layer.setdefault(layer, []).append((table, count))
    for layer, items in by_layer.items():
        total = sum(c for _, c in items)
        print(f"\n== {layer}: {len(items)} tables, {total:,} rows")
        for table, count in items:
            print(f"   {table:40} {count:>10,}")


def print_identity_score(paths) -> None:
    """OneID against the generator's ground truth (the demo knows who is who)."""
    truth = paths.home / "truth" / "records.parquet"
    if not truth.exists() or not paths.warehouse.exists():
        return
    from demo.score_identity import score

    result, _ = score(truth.parent, paths.warehouse)
    print(f"\n== OneID vs ground truth: {result.persons:,} true persons -> {result.members:,} members; "
          f"pairwise precision {result.precision:.4f}, recall {result.recall:.4f} "
          f"(linkable pairs: {result.linkable_recall:.4f}), F1 {result.f1:.4f}  "
          f"[python -m demo.score_identity for details]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    _prepare_dagster_home(paths.home)
    generate_if_needed(args.members, args.regenerate)

    from dagster import DagsterInstance

    from orchestration.definitions import defs

    started = time.perf_counter()
    result = defs.resolve_job_def("build_all").execute_in_process(instance=DagsterInstance.get(),
                                                               raise_on_error=False)
    print(f"\nbuild_all {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f}s "
          f"(run {result.run_id})")
    for event in result.all_events:
        if event.is_failure:
            print(f"  failed: {event.step_key}: {event.event_specific_data.error.message.strip()[:2000]}"
                  if getattr(event.event_specific_data, "error", None) else f"  failed: {event.step_key}")
    print_summary(layer_counts())
    print_identity_score(paths)
    print(f"\nwarehouse: {paths.warehouse}\nlake: {paths.lake}\nDagster UI: make dev, then http://127.0.0.1:3000")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
