"""Mart gates and publication: the last two steps of a build.

``mart_gates`` is one multi-asset check over every mart the dbt manifest knows (so a new mart
gets its checks by existing); it validates the run's build file with the generated suites of
expectations/marts.py and builds the run's Data Docs. ``warehouse/published`` depends on every
dbt model, so Dagster skips it when dbt fails, when a dbt test with error severity fails, or
when a blocking mart check fails; it also refuses a build whose dbt run or mart gates did not
happen or did not pass in this very run. Only then is the build published (publish.py).
"""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
    multi_asset_check,
)

from expectations.marts import MartGateResult, gate_marts, mart_models
from ingest.contract import load_contracts
from ingest.coverage import absent_exports
from orchestration import gates
from orchestration.dbt_assets import QuanyuTranslator, load_manifest
from orchestration.publish import Build, publish
from orchestration.resources import WRITER_POOL, QuanyuPaths

PUBLISHED = AssetKey(["warehouse", "published"])


def mart_keys(manifest: dict[str, Any]) -> dict[str, AssetKey]:
    """``marts.<table>`` -> the dbt asset key of that mart."""
    translator = QuanyuTranslator()
    return {model.table: translator.get_asset_key(model.node) for model in mart_models(manifest)}


def build_mart_gates():
    keys = mart_keys(load_manifest())
    specs = [spec for key in keys.values() for spec in gates.check_specs(key)]

    @multi_asset_check(specs=specs, name="mart_gates", can_subset=True, pool=WRITER_POOL,
                       description="Great Expectations suites for every table of the build's marts schema.")
    def mart_gates(context: AssetCheckExecutionContext, quanyu: QuanyuPaths):
        paths = quanyu.paths
        build = Build(paths, context.run.run_id)
        if not build.file.exists():
            raise Failure(f"no build file for run {context.run.run_id} at {build.file}: run the dbt assets in the "
                          f"same run as the mart gates", allow_retries=False)
        manifest = load_manifest()
        absent = absent_exports(paths, load_contracts().values())
        for table, why in sorted(absent.items()):
            context.log.info(f"export {table} absent: {why}; marts built only from it may be empty")
        result = gate_marts(build.file, paths.warehouse if paths.warehouse.exists() else None, manifest,
                            paths.home, context.run.run_id, absent=absent)
        build.update_stamp(marts_gated=True, gate_blocking=[f.message() for f in result.blocking],
                           gate_warnings=len(result.warnings), data_docs=str(result.docs))
        for finding in result.findings:
            (context.log.error if finding.blocking else context.log.warning)(finding.message())
        context.log.info(f"Great Expectations Data Docs: {result.docs}")
        selected: set[AssetCheckKey] = set(context.selected_asset_check_keys)
        for table, key in keys.items():
            wanted = {k.name for k in selected if k.asset_key == key}
            if not wanted:
                continue
            findings = [f for f in result.findings if f.table == table]
            yield from gates.check_results(key, findings, only=wanted, metadata={
                "data_docs": MetadataValue.path(str(result.docs)), "build": str(build.file)},
                per_check=_per_check(result, table))
        if result.blocking:
            raise Failure(description=gates.failure_message(
                f"{len(result.blocking)} blocking mart check(s) failed; the build is not published and the "
                f"served warehouse is unchanged:", [f.message() for f in result.blocking]),
                metadata={"data_docs": MetadataValue.path(str(result.docs))}, allow_retries=False)

    return mart_gates


def _per_check(result: MartGateResult, table: str) -> dict[str, dict]:
    """What a data engineer acts on, beside the findings: the rows of a quality mart (unmapped
    codes ...) and the exports the brand does not have, in the warning check gx_drift."""
    metadata: dict[str, Any] = {"absent_exports": MetadataValue.md(gates.markdown_table(
        [{"export": t, "why": why} for t, why in sorted(result.absent_exports.items())], ["export", "why"])
        if result.absent_exports else "none")}
    rows = result.problems.get(table)
    if rows:
        metadata["rows_to_fix"] = MetadataValue.md(gates.markdown_table(rows, list(rows[0])))
    return {"gx_drift": metadata}


def build_published_asset(dbt_assets: AssetsDefinition):
    @asset(key=PUBLISHED, deps=list(dbt_assets.keys), group_name="serving", kinds={"duckdb"}, pool=WRITER_POOL,
           retry_policy=RetryPolicy(max_retries=2, delay=10),
           description="The served warehouse ($QUANYU_WAREHOUSE): this run's build, moved into place atomically "
                       "after dbt, its tests and every blocking gate passed. BI tools read it read-only.")
    def published(context: AssetExecutionContext, quanyu: QuanyuPaths) -> MaterializeResult:
        paths = quanyu.paths
        build = Build(paths, context.run.run_id)
        stamp = build.stamp()
        refusal = ("dbt did not build this run's copy" if not stamp.get("dbt_ok") else
                   "the mart gates did not run on this build" if not stamp.get("marts_gated") else
                   "blocking mart checks failed" if stamp.get("gate_blocking") else None)
        if refusal or not build.file.exists():
            raise Failure(f"not publishing {build.file}: {refusal or 'the build file is missing'}; the served "
                          f"warehouse {paths.warehouse} is unchanged", allow_retries=False)
        info = publish(build, {"gate_warnings": stamp.get("gate_warnings", 0), "data_docs": stamp.get("data_docs")})
        context.log.info(f"published build {info['build_id']} to {paths.warehouse}")
        return MaterializeResult(metadata={
            "path": MetadataValue.path(str(paths.warehouse)), "build_id": info["build_id"],
            "tables": info["tables"], "rows": info["rows"], "gate_warnings": info["gate_warnings"],
            "data_docs": MetadataValue.path(str(stamp.get("data_docs") or ""))})

    return published

