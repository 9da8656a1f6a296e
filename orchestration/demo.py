"""Run the whole pipeline on the demo brand and print what each layer holds.

``python -m orchestration.demo [--members N] [--regenerate]``: generates the demo exports
into the landing folder (once), runs the ``build_all`` job in process (the same job, with the
same landing days, as the nightly schedule), and prints row counts per layer, the data-quality
gates' verdicts, where the published warehouse and the Great Expectations Data Docs are.
Runs are recorded in ``$DAGSTER_HOME`` (default ``var/dagster_home``), so ``make dev`` shows
them in the UI.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from ingest.pii import redact_text
from ingest.settings import paths_from_env
from orchestration.resources import INSTANCE_SETTINGS

# One run at a time writes the lake or the warehouse (docs/serving.md, "Serialising writers").
DAGSTER_CONFIG = "telemetry:\n  enabled: false\n" + INSTANCE_SETTINGS


def prepare_dagster_home(home: Path | None = None) -> None:
    """Write $DAGSTER_HOME/dagster.yaml if there is none; say what an existing one lacks (runs
    launched from the UI refuse to start on an instance that would let two writers overlap).
    ``make demo`` and ``make dev`` call it, so a fresh UI can launch runs."""
    home = home or paths_from_env().home
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    dagster_home = Path(os.environ["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_CONFIG)
        return
    from dagster import DagsterInstance

    from orchestration.resources import serialisation_problems

    problems = serialisation_problems(DagsterInstance.get())
    if problems:
        print(f"warning: {config}: " + "; ".join(problems) + f". Runs launched from the UI will refuse to start "
              f"until it has:\n{INSTANCE_SETTINGS}")


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


def lake_counts() -> list[tuple]:
    """(table, files, rows read, loaded, quarantined) from the load ledger."""
    from ingest.lake import all_ledger_rows

    return all_ledger_rows(paths_from_env(), "table_name, count(*), sum(rows_read), sum(rows_loaded), "
                                             "sum(rows_quarantined)", "group by 1 order by 1")


def print_compaction(paths, landing_files: int) -> None:
    """How many Parquet files dbt reads for the landing files (ingest/lake.py merges small gated ones)."""
    from ingest.lake import RAW, is_data_file, is_segment, manifests, table_dir, table_names

    tables = table_names(paths, RAW)
    raw = [p for t in tables for p in table_dir(paths, RAW, t).glob("*.parquet") if is_data_file(p)]
    merged = sum(len(m.raw_members) for t in tables for m in manifests(paths, t))
    print(f"   raw Parquet files dbt reads: {len(raw):,} for {landing_files:,} landing files "
          f"({sum(map(is_segment, raw)):,} compacted segments hold {merged:,} of them)")


def gate_summary(result) -> None:
    """The asset checks of the run: how many, which blocked, which warned (and why)."""
    evaluations = [e.event_specific_data for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    gx = [e for e in evaluations if e.check_name.startswith("gx_")]
    blocked = [e for e in evaluations if not e.passed and e.severity.value == "ERROR"]
    warned = [e for e in evaluations if not e.passed and e.severity.value != "ERROR"]
    print(f"\n== gates: {len(evaluations):,} asset checks ({len(gx):,} Great Expectations, the rest dbt tests, "
          f"reconciliation and privacy): {len(blocked)} blocking failed, {len(warned)} warning(s)")
    for evaluation in blocked + warned:
        kind = "BLOCKING" if evaluation in blocked else "warning"
        text = evaluation.description or evaluation.check_name
        print(redact_text(f"   {kind:8} {evaluation.asset_key.to_user_string()}: {text}")[:232])


def print_published(paths) -> None:
    from expectations.gx_runner import data_docs_index
    from orchestration.publish import read_build_info

    info = read_build_info(paths.warehouse) if paths.warehouse.exists() else None
    if info:
        print(f"\npublished warehouse: {paths.warehouse}\n   build {info['build_id']}, published "
              f"{info['published_at']} (Beijing time), {info['tables']} tables, {info['rows']:,} rows; "
              f"BI tools read it read-only (docs/serving.md)")
    else:
        print(f"\npublished warehouse: none yet at {paths.warehouse}")
    docs = data_docs_index(paths.home)
    print(f"Great Expectations Data Docs: {docs if docs.exists() else 'not generated'}")


def warehouse_counts() -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table of the warehouse."""
    paths = paths_from_env()
    if not paths.warehouse.exists():
        return []
    rows = []
    with _open_read_only(paths.warehouse) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema not in ('information_schema', 'pg_catalog') "
                             "order by 1, 2").fetchall()
        for schema, table in tables:
            count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
            rows.append((schema, table, int(count)))
    return rows


def print_summary() -> None:
    lake = lake_counts()
    print(f"\n== landing -> lake: {sum(r[1] for r in lake):,} files, {sum(r[2] for r in lake):,} rows read, "
          f"{sum(r[3] for r in lake):,} loaded, {sum(r[4] for r in lake):,} quarantined (read = loaded + quarantined)")
    print(f"   {'raw table':32} {'files':>6} {'read':>10} {'loaded':>10} {'quarantined':>11}")
    for table, files, read, loaded, quarantined in lake:
        print(f"   {table:32} {files:>6,} {read:>10,} {loaded:>10,} {quarantined:>11,}")
    print_compaction(paths_from_env(), sum(r[1] for r in lake))
    by_schema: dict[str, list[tuple[str, int]]] = {}
    for schema, table, count in warehouse_counts():
        by_schema.setdefault(schema, []).append((table, count))
    for schema, items in by_schema.items():
        print(f"\n== warehouse schema {schema}: {len(items)} tables, {sum(c for _, c in items):,} rows")
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
          f"(linkable pairs: {result.linkable_recall:.4f}), F1 {result.f1:.4f}; exact keys alone "
          f"{result.deterministic_precision:.4f} / {result.deterministic_recall:.4f}; receiver matches added "
          f"{result.probabilistic_pairs:,} pairs, precision {result.probabilistic_precision:.4f}; recall ceilings: "
          f"records with an identifier {result.ceiling_recall:.4f}, pairs any identifier or receiver data "
          f"could join {result.evidence_recall:.4f}  [python -m demo.score_identity for details]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    prepare_dagster_home(paths.home)
    generate_if_needed(args.members, args.regenerate)

    from dagster import DagsterInstance

    from orchestration.dbt_assets import prepare_manifest

    prepare_manifest(paths)
    from orchestration.definitions import build_all_tags, defs
    from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG

    started = time.perf_counter()
    tags = build_all_tags()
    build_log = paths.home / "logs" / "build_all.log"
    build_log.parent.mkdir(parents=True, exist_ok=True)
    print(f"running job build_all for landing days {tags[RANGE_START_TAG]} .. {tags[RANGE_END_TAG]} "
          f"(ingest and gate, dbt build into a copy, gate the marts, publish); dbt's output goes to "
          f"{build_log} ...", flush=True)
    with build_log.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        result = defs.resolve_job_def("build_all").execute_in_process(
            instance=DagsterInstance.get(), raise_on_error=False, tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    print(f"\nbuild_all {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f}s "
          f"(run {result.run_id})")
    for event in result.all_events:
        if event.is_failure:
            print(f"  failed: {event.step_key}: {redact_text(event.event_specific_data.error.message.strip())[:2000]}"
                  if getattr(event.event_specific_data, "error", None) else f"  failed: {event.step_key}")
    print_summary()
    print_identity_score(paths)
    gate_summary(result)
    print_published(paths)
    print(f"lake: {paths.lake}\nDagster UI: make dev, then http://127.0.0.1:3000")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
