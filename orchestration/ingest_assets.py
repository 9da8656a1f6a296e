"""One Dagster asset per channel contract: landing files -> raw Parquet table, gated.

Assets are partitioned by landing day (orchestration/partitions.py): a run loads the files
that landed in its days; a run without partitions loads every new file. After loading, the
Great Expectations gates (expectations/raw.py) validate every file not gated yet; a file that
fails a blocking expectation is taken back out of the lake. The asset then fails, naming each
rejected file and the check, after committing the good files, so that dbt never builds on a
half-understood export. Gated files are then compacted once a table has enough small ones
(ingest/lake.py: per-file Parquet merged into segments, which dbt reads far faster). Besides
the GX checks, each asset has a blocking contract check (files the contract cannot read), a
blocking reconciliation check and a blocking privacy check. Transient errors (a file system
hiccup) are retried; rejections are not.

What the asset page shows is what the lake holds, per landing day:

* a run that refused a file records no materialisation for its range: the refused file's day
  stays unmaterialised and shows as a failed partition (Dagster marks the planned partitions a
  failed run did not materialise), every other day of the range is materialised by its own
  event, and the failed checks (``contract`` or the gx_* check that failed) name the file;
* a run without partitions (every new file) materialises each landing day whose files it saw
  in the lake, so days loaded by such a run, or by the CLI before, no longer show as missing;
* each day's materialisation says how many of its files the lake holds, or that nothing landed.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)

from expectations.checks import CHECKS
from expectations.gx_runner import build_data_docs, data_docs_index
from expectations.raw import RawGateResult
from expectations.raw import suites as raw_suites
from ingest.audit import raw_table_mobiles, reconcile
from ingest.contract import Contract
from ingest.engine import TableReport, load_table
from ingest.hash_keys import HashKeyError
from ingest.lake import heal
from ingest.pii import redact_text
from orchestration import gates
from orchestration.ingest_steps import gate_and_compact
from orchestration.partitions import (
    RELOAD_TAG,
    DayOutcome,
    daily_partitions,
    day_outcomes,
    files_in_days,
    key_of,
    run_days,
)
from orchestration.publish import cancel_prefetch
from orchestration.resources import WRITER_POOL, QuanyuPaths

RECONCILES = "reconciles_with_landing_files"
NO_RAW_MOBILES = "no_raw_mobile_numbers"
CONTRACT = "contract"


def raw_key(contract: Contract) -> AssetKey:
    return AssetKey(["raw", contract.table])


def _metadata(report: TableReport, gate: RawGateResult | None = None) -> dict:
    files = [f for f in report.files]
    rejected_by_gate = set(gate.rejected_files) if gate else set()
    table = "\n".join(
        ["| file | status | read | loaded | quarantined | note |", "|---|---|---|---|---|---|"]
        + [f"| {f.source_file} | {'rejected by gate' if f.source_file in rejected_by_gate else f.status} | "
           f"{f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | "
           f"{redact_text(f.message or ', '.join(f.unmapped_columns))[:200].replace('|', '/')} |" for f in files])
    metadata = {
        "files_loaded": len(report.with_status("loaded")) - len(rejected_by_gate),
        "files_skipped": len(report.with_status("skipped")),
        "files_rejected": len(report.with_status("rejected")) + len(rejected_by_gate),
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "rows_suppressed": report.rows_suppressed,  # rows of erased persons (ingest/suppression.py)
        "files": MetadataValue.md(table),
    }
    if gate is not None:
        metadata["files_gated"] = len(gate.gated_files)
        metadata["gate_warnings"] = len(gate.warnings)
    return metadata


def _unmapped_metadata(gate: RawGateResult) -> dict:
    """Code values of the gated files that no dbt seed lists: they load as 'unknown' until added."""
    return {"unmapped_code_values": len(gate.unmapped_codes),
            "unmapped_codes": MetadataValue.md(gates.markdown_table(
                gate.unmapped_codes, ["column", "value", "rows", "files", "example_file"]) if gate.unmapped_codes
                else "none")}


class IngestConfig(Config):
    """``reload``: parse the run's files again even if their content was loaded (after a contract fix)."""

    reload: bool = False


def rejection_message(contract: Contract, report: TableReport, gate: RawGateResult) -> str:
    """Which files were refused and why: one line per file and failed check."""
    # the engine's own refusals (undecodable text, a required column missing) come first
    lines = [f"{contract.table}: file {f.source_file}: check contract failed: {redact_text(f.message)}"
             for f in report.with_status("rejected")]
    lines += [redact_text(f.message()) for f in gate.blocking]
    count = len(report.with_status("rejected")) + len(gate.rejected_files)
    return gates.failure_message(
        f"{contract.table}: {count} landing file(s) rejected; fix or remove them (the lake keeps only "
        f"accepted files and the published warehouse is unchanged):", lines)


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
            AssetCheckSpec(CONTRACT, asset=key, blocking=True,
                           description="The contract reads every landing file of the run: text decodes, every "
                                       "required column is there (by one of its aliases), no column twice, "
                                       "sheets alike, JSON within limits."),
            *gates.check_specs(key),
        ],
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WRITER_POOL,  # one writer of the lake or the warehouse at a time (docs/serving.md)
        retry_policy=RetryPolicy(max_retries=2, delay=5),
    )
    def _load(context: AssetExecutionContext, config: IngestConfig, quanyu: QuanyuPaths):
        paths = quanyu.paths
        healed = heal(paths, [contract.table])  # a compaction killed in an earlier run is finished first
        if healed.recovered or healed.temps_removed:
            context.log.warning(str(healed))
        days = run_days(context)
        reload = config.reload or context.run.tags.get(RELOAD_TAG, "").lower() in ("1", "true", "yes")
        files = files_in_days(contract, paths, days)
        try:
            report = load_table(contract, paths, files=files, reload=reload)
        except HashKeyError as exc:  # another key than the lake's: nothing was written
            cancel_prefetch(paths, context.run_id)
            raise Failure(description=str(exc), allow_retries=False) from None
        for file in report.files:
            context.log.info(redact_text(f"{file.source_file}: {file.status} read={file.rows_read} loaded="
                                         f"{file.rows_loaded} quarantined={file.rows_quarantined} {file.message}"))
        gated = gate_and_compact(contract, paths, context.run_id)
        gate, compaction = gated.gate, gated.compaction
        context.log.info(str(compaction))
        refused = [f.source_file for f in report.with_status("rejected")] + gate.rejected_files
        stop = bool(refused or gate.blocking)
        docs = build_data_docs(paths.home, context.run_id) if stop else data_docs_index(paths.home)
        for finding in gate.findings:
            (context.log.error if finding.blocking else context.log.warning)(redact_text(finding.message()))
        days_seen = day_outcomes(paths, files, _in_lake(report, gate), set(refused), days)
        metadata = {**_metadata(report, gate), "files_compacted": compaction.files,
                    "segments_written": len(compaction.segments),
                    "landing_days": "all" if days is None else f"{days[0]} .. {days[1]}",
                    "failed_landing_days": ", ".join(key_of(d.day) for d in days_seen if d.failed) or "none",
                    "data_docs": MetadataValue.path(str(docs))}
        yield from _day_materializations(context, key, days_seen, days, metadata, stopped=stop)
        reconciliation = reconcile(paths, contract.table)
        yield AssetCheckResult(check_name=RECONCILES, asset_key=key, passed=reconciliation.ok,
                               severity=AssetCheckSeverity.ERROR,
                               metadata={"files": reconciliation.files,
                                         "problems": MetadataValue.md("\n".join(reconciliation.problems) or "none")})
        found = raw_table_mobiles(paths, contract.table)
        yield AssetCheckResult(check_name=NO_RAW_MOBILES, asset_key=key, passed=not found,
                               severity=AssetCheckSeverity.ERROR,
                               metadata={"columns_with_mobiles": MetadataValue.json(found)})
        yield _contract_result(key, contract, report)
        yield from gates.check_results(key, gate.findings, metadata={
            "files_gated": len(gate.gated_files), "suites": ", ".join(gate.suites),
            "data_docs": MetadataValue.path(str(docs))},
            per_check=_per_check_metadata(contract, gate, docs))
        if stop:
            cancel_prefetch(paths, context.run_id)  # the run's dbt step will not run: no copy for it
            raise Failure(description=rejection_message(contract, report, gate),
                          metadata={"rejected_files": MetadataValue.json(refused),
                                    "failed_landing_days": [key_of(d.day) for d in days_seen if d.failed],
                                    "files": metadata["files"], "data_docs": MetadataValue.path(str(docs))},
                          allow_retries=False)

    return _load


def _in_lake(report: TableReport, gate: RawGateResult) -> set[str]:
    """Landing files of the run whose content the lake holds now (loaded now or before, not refused)."""
    return {f.source_file for f in report.files if f.status in ("loaded", "skipped")} - set(gate.rejected_files)


def _day_materializations(context: AssetExecutionContext, key: AssetKey, days_seen: list[DayOutcome],
                          days, metadata: dict, stopped: bool):
    """The run's materialisations, so that each landing day's partition shows what the lake holds.

    A run over a range that refused nothing yields its output: Dagster records one materialisation
    per day of the range, each with that day's metadata. A run that stops (a file refused, a blocking
    gate failed) yields no output
    (no green materialisation over the refused day); each day without a refused file gets its own
    event, and the refused days stay unmaterialised, which Dagster shows as failed partitions. A run
    without partitions yields its output (unpartitioned) and an event per landing day it saw.
    """
    for outcome in days_seen:
        if outcome.failed:
            continue
        if days is not None and not stopped:
            context.add_asset_metadata(outcome.metadata(), asset_key=key, partition_key=key_of(outcome.day))
        else:
            context.log_event(AssetMaterialization(asset_key=key, partition=key_of(outcome.day),
                                                   metadata={**outcome.metadata(), "run_stopped": stopped}))
    if not stopped:
        yield MaterializeResult(asset_key=key, metadata=metadata)


def _contract_result(key: AssetKey, contract: Contract, report: TableReport) -> AssetCheckResult:
    """Files the engine refused before any gate (undecodable, a required column missing ...)."""
    rejected = report.with_status("rejected")
    rows = [{"file": f.source_file, "reason": redact_text(f.message)[:300]} for f in rejected]
    return AssetCheckResult(
        check_name=CONTRACT, asset_key=key, passed=not rejected, severity=AssetCheckSeverity.ERROR,
        description=(f"{contract.table}: file {rejected[0].source_file}: {redact_text(rejected[0].message)}"[:1000]
                     if rejected else None),
        metadata={"files_refused": len(rejected), "contract": MetadataValue.path(str(contract.path)),
                  "refused": MetadataValue.md(gates.markdown_table(rows, ["file", "reason"]) if rows else "none")})


def _per_check_metadata(contract: Contract, gate: RawGateResult, docs) -> dict[str, dict]:
    """Per gx_* check: a link to the Data Docs page of the validation that judged it in this run
    (the suite of its first failure, else the first suite holding its expectations)."""
    pages = {check: gates.check_page(check, gate.findings, raw_suites(contract), gate.pages)
             for check in CHECKS}
    per_check = {check: {"data_docs": MetadataValue.path(str(page or docs))} for check, page in pages.items()}
    per_check["gx_drift"].update(_unmapped_metadata(gate))
    return per_check


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
