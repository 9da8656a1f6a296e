"""One Dagster asset per channel contract: landing files -> raw Parquet table.

The asset loads every new file, then fails (after committing the good files) when any file
was rejected, so that dbt never builds on a half-understood export. Each asset has a
blocking reconciliation check and a blocking privacy check.
"""

import duckdb
import pyarrow.parquet as pq
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)

from ingest.audit import parquet_relation, raw_mobiles_in
from ingest.contract import Contract
from ingest.engine import TableReport, load_table
from ingest.settings import Paths, paths_from_env

RECONCILES = "reconciles_with_landing_files"
NO_RAW_MOBILES = "no_raw_mobile_numbers"


def raw_key(contract: Contract) -> AssetKey:
    return AssetKey(["raw", contract.table])


def reconciliation_problems(contract: Contract, paths: Paths) -> list[str]:
    """Compare the ledger with the Parquet files themselves, per loaded landing file.

    Counts are read back from the files, not from the loader's memory, so a crash between
    writes or a hand-edited lake shows up here.
    """
    problems = []
    ledger_dir = paths.ledger / contract.table
    for entry_path in sorted(ledger_dir.glob("*.parquet")):
        if entry_path.name == "_schema.parquet":
            continue
        for entry in pq.read_table(entry_path).to_pylist():
            stem = entry["file_sha256"][:20]
            raw_file = paths.raw / contract.table / f"{stem}.parquet"
            bad_file = paths.quarantine / contract.table / f"{stem}.parquet"
            loaded = pq.ParquetFile(raw_file).metadata.num_rows if raw_file.exists() else -1
            quarantined = pq.ParquetFile(bad_file).metadata.num_rows if bad_file.exists() else 0
            if entry["rows_read"] != entry["rows_loaded"] + entry["rows_quarantined"]:
                problems.append(f"{entry['source_file']}: read {entry['rows_read']} != loaded "
                                f"{entry['rows_loaded']} + quarantined {entry['rows_quarantined']}")
            if loaded != entry["rows_loaded"] or quarantined != entry["rows_quarantined"]:
                problems.append(f"{entry['source_file']}: ledger says {entry['rows_loaded']} loaded / "
                                f"{entry['rows_quarantined']} quarantined, files hold {loaded} / {quarantined}")
    return problems


def _metadata(report: TableReport) -> dict:
    files = [f for f in report.files]
    table = "\n".join(
        ["| file | status | read | loaded | quarantined | note |", "|---|---|---|---|---|---|"]
        + [f"| {f.source_file} | {f.status} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | "
           f"{(f.message or ', '.join(f.unmapped_columns))[:200].replace('|', '/')} |" for f in files])
    return {
        "files_loaded": len(report.with_status("loaded")),
        "files_skipped": len(report.with_status("skipped")),
        "files_rejected": len(report.with_status("rejected")),
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "files": MetadataValue.md(table),
    }


def build_raw_asset(contract: Contract) -> AssetsDefinition:
    key = raw_key(contract)

    @multi_asset(
        name=f"raw_{contract.table}",
        specs=[_spec(contract)],
        check_specs=[
            AssetCheckSpec(RECONCILES, asset=key, blocking=True,
                           description="Every landing file: rows read = rows loaded + rows quarantined, "
                                       "and the Parquet files hold exactly those rows."),
            AssetCheckSpec(NO_RAW_MOBILES, asset=key, blocking=True,
                           description="No text column of the raw table holds a raw mobile number."),
        ],
        retry_policy=RetryPolicy(max_retries=2, delay=5),
    )
    def _load(context: AssetExecutionContext):
        paths = paths_from_env().ensure()
        report = load_table(contract, paths)
        rejected = report.with_status("rejected")
        for file in report.files:
            context.log.info(f"{file.source_file}: {file.status} read={file.rows_read} "
                             f"loaded={file.rows_loaded} quarantined={file.rows_quarantined} {file.message}")
        if rejected:
            raise Failure(
                description=f"{contract.table}: {len(rejected)} landing file(s) rejected; fix or remove them. "
                            + " | ".join(f.message for f in rejected),
                metadata=_metadata(report),
                allow_retries=False,
            )
        yield MaterializeResult(asset_key=key, metadata=_metadata(report))
        problems = reconciliation_problems(contract, paths)
        yield AssetCheckResult(check_name=RECONCILES, asset_key=key, passed=not problems,
                               severity=AssetCheckSeverity.ERROR,
                               metadata={"problems": MetadataValue.md("\n".join(problems) or "none")})
        found = raw_mobiles_in(duckdb.connect(), parquet_relation(str(paths.raw / contract.table / "*.parquet")))
        yield AssetCheckResult(check_name=NO_RAW_MOBILES, asset_key=key, passed=not found,
                               severity=AssetCheckSeverity.ERROR,
                               metadata={"columns_with_mobiles": MetadataValue.json(found)})

    return _load


def _spec(contract: Contract):
    from dagster import AssetSpec

    return AssetSpec(
        key=raw_key(contract),
        group_name="raw",
        description=contract.description,
        kinds={"parquet", "python"},
        code_version=contract.sha256[:16],
        metadata={"contract": MetadataValue.path(str(contract.path)), "landing_glob": contract.glob,
                  "business_key": ", ".join(contract.key), "channel": contract.channel},
        tags={"channel": contract.channel},
    )
